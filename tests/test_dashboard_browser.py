"""In Chromium, as a person: the first page before logging in, the checklist after registering, and the
dashboard's figures changing as a sent invoice is paid in two payments."""
import re

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot
from tests.test_browser_invoicing import register

pytestmark = pytest.mark.browser


def card(page, heading: str):
    return page.locator("section", has=page.get_by_role("heading", name=heading, exact=True))


def record_payment(page, amount: str):
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Record payment").click()
    page.wait_for_load_state()


def test_a_visitor_signs_up_follows_the_checklist_and_sees_payments_change_the_dashboard(page, accounts):
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

    # A customer and a draft through the test client, logged in as the same person: the dashboard is the test.
    assert accounts.login().status_code == 303
    invoice = accounts.invoice(accounts.customer())
    assert accounts.line(invoice, description="Discovery workshop", quantity="1", rate="500").status_code < 400
    page.goto(f"/invoices/{invoice}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_text("is marked as sent").wait_for()
    invoice_url = page.url

    page.goto("/")
    expect(card(page, "Outstanding")).to_contain_text("$500.00")
    expect(card(page, "Outstanding")).to_contain_text("1 invoice")
    expect(card(page, "Who owes most")).to_contain_text("Northwind Traders")

    page.goto(invoice_url)
    record_payment(page, "200")
    page.goto("/")
    expect(card(page, "Outstanding")).to_contain_text("$300.00")
    expect(card(page, "Paid this month")).to_contain_text("$200.00")
    received = page.get_by_role("table", name=re.compile("Received per month in USD"))
    expect(received.get_by_role("row").last).to_contain_text("$200.00")
    bar = page.locator("svg rect.bar").last
    assert int(bar.get_attribute("height")) == 120  # this month is the tallest bar

    page.goto(invoice_url)
    record_payment(page, "300")
    page.goto("/")
    expect(card(page, "Outstanding")).to_contain_text("Nothing is owed to you.")
    expect(card(page, "Paid this month")).to_contain_text("$500.00")
    expect(card(page, "Paid this month")).to_contain_text("2 payments")
    expect(card(page, "Who owes most")).to_contain_text("Nobody owes you anything.")
    screenshot(page, "dashboard-paid")
