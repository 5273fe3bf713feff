"""In Chromium, as a person: a wrong value in a line, and register, add a customer, build an invoice and send
it without JavaScript. (Building one in place with JavaScript, sending it and its PDF are the new user's
journey's: tests/test_browser_journey.py.) The helpers here serve both."""
import pytest
from playwright.sync_api import expect

from tests.browser import browser_page, logged_in

pytestmark = pytest.mark.browser


def register(page, email="ada@example.com"):
    page.goto("/register")
    page.get_by_label("Your name").fill("Ada Lovelace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("correct horse battery")
    page.get_by_label("Repeat password").fill("correct horse battery")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/settings/profile")


def add_customer(page, name="Northwind Traders", currency="USD"):
    page.get_by_role("link", name="Customers").click()
    page.get_by_role("link", name="Add customer").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Currency").fill(currency)
    page.get_by_role("button", name="Add customer").click()
    page.get_by_role("cell", name=name).wait_for()


def add_line(page, description: str, quantity: str, rate: str):
    page.get_by_label("New line description").fill(description)
    page.get_by_label("New line quantity").fill(quantity)
    page.get_by_label("New line rate").fill(rate)
    page.get_by_role("button", name="Add line").click()
    page.locator("form.line-row:not(.add-line) textarea", has_text=description).last.wait_for()


def test_a_wrong_value_shows_its_error_in_the_row_and_keeps_the_totals(page, accounts):
    accounts.register(name="Ada Lovelace")
    invoice = accounts.invoice(accounts.customer())
    assert accounts.line(invoice, description="Design", quantity="2", rate="50").status_code < 400
    logged_in(page, accounts)
    page.goto(f"/invoices/{invoice}")
    expect(page.get_by_test_id("total")).to_have_text("$100.00")
    rate = page.locator('form.line-row:not(.add-line) input[name="rate"]').first
    rate.fill("fifty")
    rate.press("Tab")
    page.get_by_text("Enter a number, like 7.5.").wait_for()
    expect(page.get_by_test_id("total")).to_have_text("$100.00")


def test_everything_works_without_javascript(chromium, live_server):
    page = browser_page(chromium, javascript=False)
    register(page)
    add_customer(page)
    page.goto("/invoices/new")
    page.get_by_role("button", name="Create draft").click()
    add_line(page, "Consulting", "2", "75")
    expect(page.get_by_test_id("total")).to_have_text("$150.00")
    row_quantity = page.locator('form.line-row:not(.add-line) input[name="quantity"]').first
    row_quantity.fill("3")
    page.locator("form.line-row:not(.add-line)").first.get_by_role("button", name="Save").click()
    expect(page.get_by_test_id("total")).to_have_text("$225.00")
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_role("heading", name="Invoice INV-0001").wait_for()
