"""In Chromium, as a person: send a draft by email through a real SMTP server, then open the customer's
view link in a fresh browser with no session, see the invoice and get its PDF; the owner sees "Viewed"."""
import pytest
from playwright.sync_api import expect

from tests.browser import browser_page, logged_in, screenshot
from tests.smtp import smtp  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser


def test_send_by_email_then_the_customer_opens_the_view_link_without_a_session(page, chromium, live_server, smtp,
                                                                               accounts):
    # A draft for a customer with an email address, made through the test client: the sending is the test.
    accounts.register(name="Ada Lovelace")
    profile = accounts.client.post("/settings/profile", data={"business_name": "Lovelace Analytics", "default_currency": "USD",
                                                              "next_invoice_number": "1", "payment_terms_days": "30"})
    assert profile.status_code == 303, profile.get_data(as_text=True)
    invoice = accounts.invoice(accounts.customer("Northwind Traders", email="billing@northwind.example"))
    assert accounts.line(invoice, description="Discovery workshop", quantity="3", rate="120").status_code < 400
    logged_in(page, accounts)
    page.goto(f"/invoices/{invoice}")
    page.get_by_role("link", name="Send by email").click()
    expect(page.get_by_label("To")).to_have_value("billing@northwind.example")
    page.get_by_label("Cc").fill("boss@northwind.example")
    page.get_by_role("button", name="Send by email").click()
    page.get_by_text("was emailed to billing@northwind.example").wait_for()
    expect(page.locator("h1")).to_contain_text("Invoice INV-0001")
    expect(page.get_by_test_id("send-log")).to_contain_text("accepted the mail (250)")
    link = page.get_by_test_id("view-link").input_value()
    ((envelope, message),) = smtp.messages
    assert sorted(envelope) == ["billing@northwind.example", "boss@northwind.example"]
    assert link.startswith(f"{live_server}/v/") and link in message.get_body(("plain",)).get_content()
    screenshot(page, "email-sent")

    view = browser_page(chromium)  # no cookies: a stranger's browser
    response = view.goto(link)
    assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
    expect(view.locator("body")).to_contain_text("INV-0001")
    expect(view.locator("body")).to_contain_text("Discovery workshop")
    expect(view.locator("body")).not_to_contain_text("Log out")
    with view.expect_download() as download:
        view.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == "invoice-INV-0001.pdf"
    with open(download.value.path(), "rb") as pdf:
        assert pdf.read(5) == b"%PDF-"
    screenshot(view, "email-view-link")

    page.reload()
    expect(page.get_by_test_id("viewed")).to_have_text("Viewed")
