"""In Chromium, as a person: number invoices with the year, send one, record a partial and a final
payment, see the status and the balance follow, and undo a payment."""
from datetime import datetime, timezone

import pytest
from playwright.sync_api import expect

from tests.browser import screenshot
from tests.test_browser_a11y_pages import log_in

pytestmark = pytest.mark.browser


def record(page, amount: str, paid_on: str, method: str = ""):
    form = page.locator("form.record-payment")
    form.get_by_label("Date received").fill(paid_on)
    form.get_by_label("Amount").fill(amount)
    form.get_by_label("Method (optional)").fill(method)
    form.get_by_role("button", name="Record payment").click()


def test_number_with_the_year_then_record_a_partial_and_a_final_payment(page, accounts):
    year = datetime.now(timezone.utc).year
    accounts.register(name="Ada Lovelace")
    log_in(page)
    page.goto("/settings/profile")
    page.get_by_label("Invoice number prefix").fill("DD-")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Business profile saved.").wait_for()
    page.get_by_label("Number format").select_option(label=f"DD-{year}-0001")
    page.get_by_label("Start again at 1 each year").check()
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_test_id("next-number")).to_contain_text(f"DD-{year}-0001")
    # The draft through the test client: the numbering and the payments are the test.
    invoice = accounts.invoice(accounts.customer())
    assert accounts.line(invoice, description="Design", quantity="2", rate="50").status_code < 400
    page.goto(f"/invoices/{invoice}")
    expect(page.get_by_test_id("total")).to_have_text("$100.00")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_role("heading", name=f"Invoice DD-{year}-0001").wait_for()

    record(page, "250", "2026-11-20")
    page.get_by_text("That is more than the balance due ($100.00)").wait_for()
    record(page, "40", "2026-11-20", "Bank transfer")
    page.get_by_text("is partially paid: $60.00 still due.").wait_for()
    expect(page.get_by_test_id("status")).to_have_text("partially paid")
    expect(page.get_by_test_id("balance")).to_have_text("$60.00")
    # The form offers the balance: the final payment is one click.
    expect(page.locator("form.record-payment").get_by_label("Amount")).to_have_value("60.00")
    page.locator("form.record-payment").get_by_role("button", name="Record payment").click()
    page.get_by_text("is paid in full.").wait_for()
    expect(page.get_by_test_id("status")).to_have_text("paid")
    expect(page.get_by_test_id("balance")).to_have_text("$0.00")
    expect(page.get_by_test_id("payment")).to_have_count(2)
    screenshot(page, "invoice-paid")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("payment").last.get_by_role("button", name="Delete").click()
    page.get_by_text("Payment deleted.").wait_for()
    expect(page.get_by_test_id("status")).to_have_text("partially paid")
    expect(page.get_by_test_id("balance")).to_have_text("$60.00")
