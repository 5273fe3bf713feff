"""In Chromium, with 300 ms added to every request: typing into every autosaving field of a draft (details
and lines), one after the other without waiting, keeps exactly what was typed, on screen and in the
database (issue 9, item 5: "125" typed into Discount right after Tab became 1250.00, and a changed due
date was lost, because an autosave's answer re-rendered the form being typed in)."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from extensions import db
from models import Invoice
from tests.browser import logged_in, screenshot, settled

pytestmark = pytest.mark.browser

LATENCY = 0.3


class Slow:
    """WSGI middleware: every request waits LATENCY before the app sees it (a slow network, a busy server)."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        time.sleep(LATENCY)
        return self.wsgi_app(environ, start_response)


def _type(page, locator, text: str) -> None:
    """As a person does: click into the field, select what is there, type over it, Tab on."""
    locator.click()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type(text, delay=30)
    page.keyboard.press("Tab")


def _row(page, index: int, name: str):
    return page.locator("form.line-row:not(.add-line)").nth(index).locator(f'[name="{name}"]')


def test_typing_through_every_autosaving_field_with_latency_keeps_what_was_typed(page, app, accounts):
    # A draft with two lines, made through the test client: the typing is what this test is about.
    accounts.register(name="Ada Lovelace")
    invoice_id = accounts.invoice(accounts.customer())
    for description in ("First", "Second"):
        assert accounts.line(invoice_id, description=description, quantity="1", rate="10").status_code < 400
    logged_in(page, accounts)
    page.goto(f"/invoices/{invoice_id}")
    expect(page.get_by_test_id("total")).to_have_text("$20.00")

    app.wsgi_app = Slow(app.wsgi_app)
    typed = {"Tax rate (%)": "19", "Discount": "125", "Notes": "Net 30. Thank you!"}
    # Each Tab sends a save; the next field is typed into while that answer is still on its way.
    page.get_by_label("Issue date").fill("2025-11-03")
    page.get_by_label("Due date").fill("2025-12-03")
    for label, text in typed.items():
        _type(page, page.get_by_label(label), text)
    lines = [{"description": "Workshop day", "quantity": "3", "unit": "day", "rate": "850"},
             {"description": "Travel", "quantity": "1.5", "unit": "trip", "rate": "120.50"}]
    for index, values in enumerate(lines):
        for name, text in values.items():
            _type(page, _row(page, index, name), text)
    page.get_by_label("Due date").fill("2025-12-17")  # changed again, last: the newest value must win
    page.get_by_label("Notes").focus()  # a blur sends the change

    settled(page)
    expect(page.get_by_label("Issue date")).to_have_value("2025-11-03")
    expect(page.get_by_label("Due date")).to_have_value("2025-12-17")
    for label, text in typed.items():
        expect(page.get_by_label(label)).to_have_value(text)
    for index, values in enumerate(lines):
        for name, text in values.items():
            expect(_row(page, index, name)).to_have_value(text)
    # 3 x 850 + 1.5 x 120.50 = 2,730.75; less 125 = 2,605.75; plus 19% = 3,100.84
    expect(page.get_by_test_id("total")).to_have_text("$3,100.84")
    screenshot(page, "invoice-autosave-with-latency")

    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.issue_date.isoformat(), invoice.due_date.isoformat()) == ("2025-11-03", "2025-12-17")
        assert (invoice.tax_rate, invoice.discount_minor, invoice.notes) == (Decimal(19), 12500, "Net 30. Thank you!")
        assert [(line.description, line.quantity, line.unit, line.rate_minor) for line in invoice.lines] == [
            ("Workshop day", Decimal(3), "day", 85000), ("Travel", Decimal("1.5"), "trip", 12050)]
    page.reload()
    expect(page.get_by_label("Discount")).to_have_value("125.00")
    expect(page.get_by_label("Due date")).to_have_value("2025-12-17")
    expect(_row(page, 1, "rate")).to_have_value("120.50")
    expect(page.get_by_test_id("total")).to_have_text("$3,100.84")
