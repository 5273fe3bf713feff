"""Payments (issue 11): a partial payment leaves a balance and "partially paid", the balance reaching zero
makes the invoice "paid" on that payment's date, deleting a payment recomputes both, and every bad amount
or state is refused with a message and nothing stored. Overdue is past the due date with a balance."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from extensions import db
from models import Invoice, Payment, User
from services import payments


def _sent(logged_in, *, quantity="2", rate="50") -> int:
    """A sent invoice of 100.00 USD (2 h x 50, no tax)."""
    invoice_id = logged_in.invoice(logged_in.customer())
    logged_in.line(invoice_id, quantity=quantity, rate=rate)
    assert logged_in.client.post(f"/invoices/{invoice_id}/send").status_code == 303
    return invoice_id


def _pay(client, invoice_id, amount, paid_on="2026-11-20", method="Bank transfer", note="", **kwargs):
    return client.post(f"/invoices/{invoice_id}/payments",
                       data={"paid_on": paid_on, "amount": amount, "method": method, "note": note}, **kwargs)


def _state(app, invoice_id):
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        amounts = sorted(payment.amount_minor for payment in invoice.payments)
        return invoice.status, invoice.paid_minor, invoice.paid_at, amounts


def _page(client, invoice_id) -> str:
    return client.get(f"/invoices/{invoice_id}").get_data(as_text=True)


def _status_badge(page: str) -> str:
    return re.search(r'data-testid="status">([^<]*)<', page).group(1)


def test_a_partial_then_a_final_payment_make_the_invoice_partially_paid_then_paid_on_that_date(client, logged_in, app):
    invoice_id = _sent(logged_in)
    response = _pay(client, invoice_id, "40", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Invoice INV-0001 is partially paid: $60.00 still due." in page
    assert _status_badge(page) == "partially paid"
    assert re.search(r'data-testid="balance">\$60.00<', page)
    assert _state(app, invoice_id) == ("partially_paid", 4000, None, [4000])

    page = _pay(client, invoice_id, "60.00", paid_on="2026-11-25", follow_redirects=True).get_data(as_text=True)
    assert "Invoice INV-0001 is paid in full." in page
    assert _status_badge(page) == "paid"
    assert re.search(r'data-testid="balance">\$0.00<', page)
    assert "Record a payment" not in page and "Mark as paid" not in page
    status, paid, paid_at, amounts = _state(app, invoice_id)
    assert (status, paid, amounts) == ("paid", 10000, [4000, 6000])
    assert paid_at.date() == date(2026, 11, 25)


def test_deleting_a_payment_recomputes_the_balance_and_the_status(client, logged_in, app):
    invoice_id = _sent(logged_in)
    _pay(client, invoice_id, "30")
    _pay(client, invoice_id, "70")
    assert _state(app, invoice_id)[0] == "paid"
    with app.app_context():
        first, second = db.session.scalars(db.select(Payment.id).order_by(Payment.id)).all()
    page = client.post(f"/invoices/{invoice_id}/payments/{second}/delete", follow_redirects=True).get_data(as_text=True)
    assert "Payment deleted. Invoice INV-0001 is partially paid now." in page
    assert _state(app, invoice_id) == ("partially_paid", 3000, None, [3000])
    client.post(f"/invoices/{invoice_id}/payments/{first}/delete")
    assert _state(app, invoice_id) == ("sent", 0, None, [])
    assert _status_badge(_page(client, invoice_id)) == "sent"
    # The same payment deleted again (a second tab): a message, and nothing counted twice.
    page = client.post(f"/invoices/{invoice_id}/payments/{first}/delete", follow_redirects=True)
    assert page.status_code == 404 and _state(app, invoice_id) == ("sent", 0, None, [])


@pytest.mark.parametrize("amount, message", [
    ("0", "Enter an amount above zero."),
    ("-5", "Enter an amount above zero."),
    ("100.01", "That is more than the balance due ($100.00): nothing was recorded."),
    ("1e9", "That is more than the balance due ($100.00)"),
    ("ten", "Enter a number, like 7.5."),
    ("7,5", "Enter a number, like 7.5."),
    ("1.005", "USD amounts have at most 2 decimal places."),
    ("", "This is required."),
])
def test_a_bad_amount_is_refused_with_a_message_and_nothing_is_stored(client, logged_in, app, amount, message):
    invoice_id = _sent(logged_in)
    response = _pay(client, invoice_id, amount)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _state(app, invoice_id) == ("sent", 0, None, [])


def test_a_bad_date_or_an_overlong_method_is_refused(client, logged_in, app):
    invoice_id = _sent(logged_in)
    assert "Not a valid date value." in _pay(client, invoice_id, "10", paid_on="20.11.2026").get_data(as_text=True)
    assert _pay(client, invoice_id, "10", method="x" * 41).status_code == 422
    assert _state(app, invoice_id) == ("sent", 0, None, [])


def test_a_payment_dated_after_today_in_the_users_zone_is_refused_at_the_date_field(client, logged_in, app):
    # UTC+14: its today is tomorrow in UTC for ten hours a day, and never yesterday.
    zone = "Pacific/Kiritimati"
    with app.app_context():
        db.session.scalar(db.select(User).where(User.email == "ada@example.com")).time_zone = zone
        db.session.commit()
    today = datetime.now(ZoneInfo(zone)).date()
    invoice_id = _sent(logged_in)

    refused = _pay(client, invoice_id, "10", paid_on=(today + timedelta(days=1)).isoformat())
    assert refused.status_code == 422
    assert re.search(r'<p class="error" id="paid_on-error">A payment cannot be dated later than today '
                     rf'\({today.isoformat()}\)', refused.get_data(as_text=True))
    assert _state(app, invoice_id) == ("sent", 0, None, [])

    assert _pay(client, invoice_id, "10", paid_on=today.isoformat()).status_code == 303
    assert _state(app, invoice_id)[3] == [1000]


def test_a_draft_or_a_void_invoice_takes_no_payment(client, logged_in, app):
    draft = logged_in.invoice(logged_in.customer())
    logged_in.line(draft)
    page = _pay(client, draft, "10", follow_redirects=True).get_data(as_text=True)
    assert "A draft takes no payments: send it first" in page
    assert _state(app, draft) == ("draft", 0, None, [])

    void = _sent(logged_in)
    client.post(f"/invoices/{void}/void")
    page = _pay(client, void, "10", follow_redirects=True).get_data(as_text=True)
    assert "This invoice is void: it takes no payments." in page
    assert _state(app, void)[0::3] == ("void", [])


def test_mark_as_paid_records_a_payment_of_the_balance_dated_today(client, logged_in, app):
    invoice_id = _sent(logged_in)
    _pay(client, invoice_id, "25")
    page = client.post(f"/invoices/{invoice_id}/paid", follow_redirects=True).get_data(as_text=True)
    assert "Invoice INV-0001 is marked as paid" in page
    status, paid, paid_at, amounts = _state(app, invoice_id)
    assert (status, paid, amounts) == ("paid", 10000, [2500, 7500])
    assert paid_at.date() == datetime.now(timezone.utc).date()  # the user's zone is UTC
    again = client.post(f"/invoices/{invoice_id}/paid", follow_redirects=True).get_data(as_text=True)
    assert "This invoice is paid in full already" in again
    assert _state(app, invoice_id)[3] == [2500, 7500]


def test_a_partially_paid_invoice_cannot_be_voided_until_its_payments_are_deleted(client, logged_in, app):
    invoice_id = _sent(logged_in)
    _pay(client, invoice_id, "10")
    page = client.post(f"/invoices/{invoice_id}/void", follow_redirects=True).get_data(as_text=True)
    assert "This invoice has payments recorded: delete them first" in page
    assert _state(app, invoice_id)[0] == "partially_paid"


def test_the_printable_page_lists_payments_and_a_paid_invoice_says_paid_not_payment_due(client, logged_in, app):
    invoice_id = _sent(logged_in)
    _pay(client, invoice_id, "40", method="Cash")
    page = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    assert "Nov 20, 2026</time> · Cash" in page and "Balance due (USD)" in page and "$60.00" in page
    assert "Payment due by" in page
    _pay(client, invoice_id, "60", paid_on="2026-11-22")
    page = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    assert "Paid on Nov 22, 2026" in page and "PAID" in page
    assert "Payment due by" not in page and "Balance due" not in page


def test_overdue_is_past_the_due_date_with_a_balance_in_the_list_and_on_the_page(client, logged_in, app):
    late, paid, in_time = _sent(logged_in), _sent(logged_in), _sent(logged_in)
    yesterday = datetime.now(timezone.utc).date() - timedelta(days=1)
    with app.app_context():
        for invoice_id in (late, paid):
            db.session.get(Invoice, invoice_id).due_date = yesterday
        db.session.commit()
    _pay(client, late, "10")
    _pay(client, paid, "100")
    listing = client.get("/invoices/").get_data(as_text=True)
    rows = dict(re.findall(r'<tr[^>]*>\s*<td[^>]*><a [^>]*>(INV-\d+)</a>.*?<span class="badge[^"]*">([^<]*)<', listing,
                           re.S))
    assert rows == {"INV-0001": "overdue", "INV-0002": "paid", "INV-0003": "sent"}
    assert _status_badge(_page(client, late)) == "overdue"


def test_is_overdue_counts_the_due_date_itself_as_in_time(app):
    invoice = Invoice(status="sent", due_date=date(2026, 11, 30), total_minor=100, paid_minor=0)
    assert not payments.is_overdue(invoice, date(2026, 11, 30))
    assert payments.is_overdue(invoice, date(2026, 12, 1))
    assert payments.shown_status(invoice, date(2026, 12, 1)) == "overdue"
    invoice.paid_minor = 100
    invoice.status = "paid"
    assert not payments.is_overdue(invoice, date(2027, 1, 1))
    assert payments.shown_status(invoice, date(2027, 1, 1)) == "paid"
    draft = Invoice(status="draft", due_date=date(2020, 1, 1), total_minor=None, paid_minor=0, lines=[],
                    tax_rate=0, discount_minor=0)
    assert payments.shown_status(draft, date(2026, 1, 1)) == "draft"


def test_a_viewer_sees_payments_but_no_form_to_record_or_delete(client, logged_in, app):
    invoice_id = _sent(logged_in)
    _pay(client, invoice_id, "10")
    logged_in.add_member("vera@example.com", "viewer")
    logged_in.logout()
    logged_in.login("vera@example.com")
    page = _page(client, invoice_id)
    assert "$10.00" in page and "Record a payment" not in page and "/delete" not in page
    assert _pay(client, invoice_id, "10").status_code == 403
    assert _state(app, invoice_id)[3] == [1000]
