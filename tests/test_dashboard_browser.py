"""In Chromium, as a person: the first page before logging in, the checklist after registering, invoices
numbered with the year, a sent invoice paid in a partial and a final payment (one too big refused first)
with its status and balance following, the dashboard's figures following each payment, and a payment
undone."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot
from tests.clock import today  # noqa: F401  (fixture: the date the app records payments on)
from tests.test_browser_invoicing import register

pytestmark = pytest.mark.browser


def card(page, heading: str):
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


def record(page, amount: str, paid_on: str, method: str = ""):
    form = page.locator("form.record-payment")
    form.get_by_label("Date received").fill(paid_on)
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Method (optional)").fill(method)
    form.get_by_role("button", name="Record payment").click()


def test_a_visitor_signs_up_numbers_with_the_year_and_payments_change_the_invoice_and_the_dashboard(page, accounts,
                                                                                                   today):
    year = today.year
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("turns your Clockify hours into invoices")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    expect(page.get_by_text("make demo")).to_be_visible()
    screenshot(page, "landing")

    register(page)
    page.get_by_role("link", name="Hourbill").click()
    checklist = card(page, "First steps")
    expect(checklist.get_by_role("link")).to_have_text(["Fill in your business profile", "Connect Clockify",
                                                        "Add your first customer",
                                                        "Create your first invoice and import its hours"])
    expect(card(page, "Outstanding")).to_contain_text("Nothing is owed to you.")

    # Numbers with the year, starting again at 1 each year.
    page.goto("/settings/profile")
    page.get_by_label("Invoice number prefix").fill("DD-")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Business profile saved.").wait_for()
    page.get_by_label("Number format").select_option(label=f"DD-{year}-0001")
    page.get_by_label("Start again at 1 each year").check()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_test_id("next-number")).to_contain_text(f"DD-{year}-0001")

    # A customer and a draft through the test client, logged in as the same person: the numbering, the
    # payments and the dashboard are the test.
    assert accounts.login().status_code == 303
    invoice = accounts.invoice(accounts.customer())
    assert accounts.line(invoice, description="Discovery workshop", quantity="1", rate="500").status_code < 400
    page.goto(f"/invoices/{invoice}")
    expect(page.get_by_test_id("total")).to_have_text("$500.00")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_text("is marked as sent").wait_for()
    page.get_by_role("heading", name=f"Invoice DD-{year}-0001").wait_for()
    invoice_url = page.url

    page.goto("/")
    expect(card(page, "Outstanding")).to_contain_text("$500.00")
    expect(card(page, "Outstanding")).to_contain_text("1 invoice")
    expect(card(page, "Who owes most")).to_contain_text("Northwind Traders")

    # More than the balance is refused; a partial payment leaves the rest due.
    page.goto(invoice_url)
    record(page, "650", today.isoformat())
    page.get_by_text("That is more than the balance due ($500.00)").wait_for()
    record(page, "200", today.isoformat(), "Bank transfer")
    page.get_by_text("is partially paid: $300.00 still due.").wait_for()
    expect(page.get_by_test_id("status")).to_have_text("partially paid")
    expect(page.get_by_test_id("balance")).to_have_text("$300.00")
    page.goto("/")
    expect(card(page, "Outstanding")).to_contain_text("$300.00")
    expect(card(page, "Paid this month")).to_contain_text("$200.00")
    received = page.get_by_role("table", name=re.compile("Received per month in USD"))
    expect(received.get_by_role("row").last).to_contain_text("$200.00")
    bar = page.locator("svg rect.bar").last
    assert int(bar.get_attribute("height")) == 120  # this month is the tallest bar

    # The form offers the balance: the final payment is one click.
    page.goto(invoice_url)
    expect(page.locator("form.record-payment").get_by_label("Amount")).to_have_value("300.00")
    page.locator("form.record-payment").get_by_role("button", name="Record payment").click()
    page.get_by_text("is paid in full.").wait_for()
    expect(page.get_by_test_id("status")).to_have_text("paid")
    expect(page.get_by_test_id("balance")).to_have_text("$0.00")
    expect(page.get_by_test_id("payment")).to_have_count(2)
    screenshot(page, "invoice-paid")
    page.goto("/")
    expect(card(page, "Outstanding")).to_contain_text("Nothing is owed to you.")
    expect(card(page, "Paid this month")).to_contain_text("$500.00")
    expect(card(page, "Paid this month")).to_contain_text("2 payments")
    expect(card(page, "Who owes most")).to_contain_text("Nobody owes you anything.")
    screenshot(page, "dashboard-paid")

    # A payment undone: partially paid again.
    page.goto(invoice_url)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("payment").last.get_by_role("button", name="Delete").click()
    page.get_by_text("Payment deleted.").wait_for()
    expect(page.get_by_test_id("status")).to_have_text("partially paid")
    expect(page.get_by_test_id("balance")).to_have_text("$300.00")
