"""Numbering as accountants expect it (issue 11): a format with the year, an optional restart of the
sequence each year, the profile's hint from the rule that numbers invoices, and numbers that stay
gapless and unique when drafts are sent at once."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from extensions import db
from models import Business, Invoice
from tests.test_invoice_races import TRIALS, _invoice, _race, ada  # noqa: F401  (ada: a fixture)

PROFILE = {"business_name": "Dana Design", "default_currency": "EUR", "default_tax_rate": "0",
           "payment_terms_days": "30", "next_invoice_number": "1", "invoice_prefix": "DD-"}


def _set(app, **values):
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        for name, value in values.items():
            setattr(business, name, value)
        db.session.commit()


def _business(app) -> tuple:
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        return (business.invoice_number_format, business.number_restarts_yearly, business.next_invoice_number,
                business.invoice_number_year)


def _draft_dated(logged_in, issued: date) -> int:
    invoice_id = logged_in.invoice(logged_in.customer())
    logged_in.line(invoice_id)
    response = logged_in.client.post(f"/invoices/{invoice_id}/details", data={
        "issue_date": issued.isoformat(), "due_date": (issued + timedelta(days=14)).isoformat(), "tax_rate": "0",
        "discount": "0", "notes": ""})
    assert response.status_code == 303, response.get_data(as_text=True)
    return invoice_id


def _send(client, invoice_id):
    return client.post(f"/invoices/{invoice_id}/send", follow_redirects=True).get_data(as_text=True)


def _number(app, invoice_id):
    with app.app_context():
        return db.session.get(Invoice, invoice_id).number


def test_the_profile_saves_the_format_and_its_hint_shows_the_real_next_number(client, logged_in, app):
    year = datetime.now(timezone.utc).year
    response = client.post("/settings/profile", data={**PROFILE, "invoice_number_format": "{year}-{seq:04}",
                                                      "number_restarts_yearly": "y"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Business profile saved." in page
    assert _business(app)[:2] == ("{year}-{seq:04}", True)
    hint = re.search(r'data-testid="next-number">(.*?)</p>', page, re.S).group(1)
    assert f"<strong>DD-{year}-0001</strong>" in hint
    assert f">DD-{year}-001</option>" in page  # each format reads as a number
    # The hint is what the next send gives.
    invoice_id = _draft_dated(logged_in, datetime.now(timezone.utc).date())
    _send(client, invoice_id)
    assert _number(app, invoice_id) == f"DD-{year}-0001"
    assert f"<strong>DD-{year}-0002</strong>" in client.get("/settings/profile").get_data(as_text=True)


def test_a_yearly_restart_needs_a_format_with_the_year(client, logged_in, app):
    response = client.post("/settings/profile", data={**PROFILE, "invoice_number_format": "{seq:04}",
                                                      "number_restarts_yearly": "y"})
    assert response.status_code == 422
    assert "Choose a number format with the year" in response.get_data(as_text=True)
    assert _business(app)[:2] == ("{seq:04}", False)


def test_an_unknown_format_is_refused(client, logged_in, app):
    response = client.post("/settings/profile", data={**PROFILE, "invoice_number_format": "{seq.__class__}"})
    assert response.status_code == 422 and "Not a valid choice" in response.get_data(as_text=True)
    assert _business(app)[0] == "{seq:04}"


def test_the_first_invoice_of_a_new_year_restarts_at_one_and_the_old_year_is_closed(client, logged_in, app):
    _set(app, invoice_prefix="INV-", invoice_number_format="{year}-{seq:03}", number_restarts_yearly=True,
         next_invoice_number=42, invoice_number_year=2025)
    late_2025 = _draft_dated(logged_in, date(2025, 12, 30))
    first_2026, second_2026 = _draft_dated(logged_in, date(2026, 1, 2)), _draft_dated(logged_in, date(2026, 1, 3))
    _send(client, late_2025)
    assert _number(app, late_2025) == "INV-2025-042"
    _send(client, first_2026)
    _send(client, second_2026)
    assert (_number(app, first_2026), _number(app, second_2026)) == ("INV-2026-001", "INV-2026-002")
    assert _business(app)[2:] == (3, 2026)
    backdated = _draft_dated(logged_in, date(2025, 12, 31))
    page = _send(client, backdated)
    assert "This invoice is dated 2025, but numbering restarts each year and has moved on to 2026" in page
    assert _number(app, backdated) is None and _business(app)[2:] == (3, 2026)


def test_without_a_restart_the_year_changes_and_the_sequence_goes_on(client, logged_in, app):
    _set(app, invoice_number_format="{year}{seq:04}", next_invoice_number=7)
    december, january = _draft_dated(logged_in, date(2025, 12, 30)), _draft_dated(logged_in, date(2026, 1, 2))
    _send(client, december)
    _send(client, january)
    assert (_number(app, december), _number(app, january)) == ("INV-20250007", "INV-20260008")


def test_switching_the_restart_off_and_on_again_goes_on_counting_in_the_current_year(client, logged_in, app):
    _set(app, invoice_number_format="{year}-{seq:04}", number_restarts_yearly=True, next_invoice_number=5,
         invoice_number_year=2024)
    client.post("/settings/profile", data={**PROFILE, "invoice_number_format": "{year}-{seq:04}",
                                           "next_invoice_number": "5"})
    client.post("/settings/profile", data={**PROFILE, "invoice_number_format": "{year}-{seq:04}",
                                           "next_invoice_number": "5", "number_restarts_yearly": "y"})
    invoice_id = _draft_dated(logged_in, date(2026, 3, 1))
    _send(client, invoice_id)
    assert _number(app, invoice_id) == "DD-2026-0005"


def test_two_drafts_sent_at_once_in_a_new_year_get_one_and_two(app, live_server, ada):
    """Both sends see last year's counter: under the business's row lock exactly one restarts it at 1,
    the other takes 2. Nothing skipped, nothing given twice."""
    for trial in range(TRIALS):
        _set(app, invoice_prefix=f"T{trial}-", invoice_number_format="{year}-{seq:04}", number_restarts_yearly=True,
             next_invoice_number=9, invoice_number_year=2024)
        drafts = [_invoice(app, trial), _invoice(app, trial)]  # dated 2025
        said = _race(ada, live_server, *(lambda s, invoice_id=invoice_id: s.post(
            f"{live_server}/invoices/{invoice_id}/send", allow_redirects=False) for invoice_id in drafts), first=trial)
        numbers = sorted(_number(app, invoice_id) for invoice_id in drafts)
        assert numbers == [f"T{trial}-2025-0001", f"T{trial}-2025-0002"], (trial, said)
        assert _business(app)[2:] == (3, 2025)
