"""The customer's view link (issue 11): an unguessable token opens one sent invoice as a page and its PDF
with no log-in, says noindex and no-referrer, shows nothing beyond that invoice and the seller's public
details, records the first view ("Viewed"), and can be replaced or turned off; anything else is a
plain 404. And the per-business mail templates, whose placeholders are checked when saved."""
from __future__ import annotations

import re
import threading

import pytest

from extensions import db
from models import Business, Invoice
from tests.smtp import smtp  # noqa: F401  (fixture)
from tests.test_email import draft, flashes, invoice_row, pdf_text, send  # noqa: F401  (draft: fixture)


@pytest.fixture
def sent(app, client, draft, smtp):
    assert send(client, draft).status_code == 303
    return invoice_row(app, draft)


def test_the_view_link_opens_the_invoice_without_a_login_and_tells_no_one(app, sent):
    stranger = app.test_client()
    response = stranger.get(f"/v/{sent.view_token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["X-Robots-Tag"].startswith("noindex") and response.headers["Referrer-Policy"] == "no-referrer"
    assert '<meta name="robots" content="noindex">' in page
    assert "INV-0001" in page and "Ada Studio" in page and "Design work" in page and "$100.00" in page
    # Nothing of the business beyond this invoice: no links into the app, no internal id, no log-in form.
    assert "/invoices/" not in page and "Back to the invoice" not in page and "csrf" not in page.lower()
    pdf = stranger.get(f"/v/{sent.view_token}/pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.headers["Referrer-Policy"] == "no-referrer" and "INV-0001" in pdf_text(pdf.data)


def test_the_token_has_at_least_128_bits(sent):
    assert len(sent.view_token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", sent.view_token)


def test_the_first_view_is_recorded_once_and_shown_as_viewed(app, client, sent):
    page = client.get(f"/invoices/{sent.id}").get_data(as_text=True)
    assert 'data-testid="viewed"' not in page
    client.get(f"/v/{sent.view_token}")  # the owner checking the link is not the customer viewing it
    assert invoice_row(app, sent.id).viewed_at is None
    stranger = app.test_client()
    assert stranger.get(f"/v/{sent.view_token}").status_code == 200
    first = invoice_row(app, sent.id).viewed_at
    assert first is not None
    stranger.get(f"/v/{sent.view_token}")
    assert invoice_row(app, sent.id).viewed_at == first
    assert 'data-testid="viewed"' in client.get(f"/invoices/{sent.id}").get_data(as_text=True)


def test_a_new_link_replaces_the_old_one_and_turning_it_off_closes_it(app, client, sent):
    old = sent.view_token
    page = client.get(f"/invoices/{sent.id}").get_data(as_text=True)
    assert f"http://localhost/v/{old}" in page  # to copy
    assert client.post(f"/invoices/{sent.id}/view-link", data={"action": "regenerate"}).status_code == 303
    new = invoice_row(app, sent.id).view_token
    stranger = app.test_client()
    assert new != old and stranger.get(f"/v/{new}").status_code == 200
    gone = stranger.get(f"/v/{old}")
    assert gone.status_code == 404 and "Invoice not found" in gone.get_data(as_text=True)
    assert stranger.get(f"/v/{old}/pdf").status_code == 404
    assert client.post(f"/invoices/{sent.id}/view-link", data={"action": "disable"}).status_code == 303
    assert invoice_row(app, sent.id).view_token is None and stranger.get(f"/v/{new}").status_code == 404
    assert "The view link is off" in client.get(f"/invoices/{sent.id}").get_data(as_text=True)


@pytest.mark.parametrize("token", ["nope", "x" * 43, "x" * 500, "%00"])
def test_an_unknown_token_is_a_plain_404_that_names_no_invoice(app, sent, token):
    response = app.test_client().get(f"/v/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and "Invoice not found" in page and "INV-" not in page
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_draft_has_no_view_link(app, client, draft):
    with app.app_context():
        db.session.get(Invoice, draft).view_token = "t" * 43
        db.session.commit()
    assert app.test_client().get("/v/" + "t" * 43).status_code == 404
    assert client.post(f"/invoices/{draft}/view-link", data={"action": "regenerate"}).status_code == 303
    assert invoice_row(app, draft).view_token == "t" * 43  # unchanged: nothing to regenerate on a draft


def test_many_first_views_at_once_record_one_time(app, sent):
    from services import sending

    won = []

    def view():
        with app.app_context():
            invoice = db.session.get(Invoice, sent.id)
            if sending.record_first_view(invoice):
                won.append(1)
            db.session.commit()

    threads = [threading.Thread(target=view) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 1


# --- the mail templates ---------------------------------------------------------------------------------

def settings_data(**overrides):
    data = {"invoice_subject": "Invoice {number}", "invoice_body": "Total {total}", "reminders_enabled": "",
            **{f"stages-{i}-{name}": "" for i in range(5) for name in ("days", "subject", "body")}}
    return data | overrides


def test_unknown_placeholders_are_refused_at_the_field_and_nothing_is_saved(app, client, logged_in):
    response = client.post("/settings/email", data=settings_data(invoice_subject="Invoice {numbr}",
                                                                  **{"stages-0-days": "3",
                                                                     "stages-0-body": "Pay {totl} {x}"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Unknown placeholder {numbr}: use {number}, {total}, {balance}, {due_date}, {view_link}, {business}." in page
    assert "Unknown placeholders {totl}, {x}" in page
    with app.app_context():
        assert db.session.scalar(db.select(Business.invoice_mail_subject)) == ""


def test_the_saved_template_is_what_the_customer_receives(app, client, draft, smtp):
    response = client.post("/settings/email", data=settings_data(
        invoice_subject="{business}: invoice {number} ({total})",
        invoice_body="Dear customer,\n{number} is due on {due_date}: {view_link}\nA brace {not a placeholder}."))
    assert response.status_code == 303
    send(client, draft)
    ((_, message),) = smtp.messages
    invoice = invoice_row(app, draft)
    assert message["Subject"] == "Ada Studio: invoice INV-0001 ($100.00)"
    body = message.get_body(("plain",)).get_content()
    due = f"{invoice.due_date:%b} {invoice.due_date.day}, {invoice.due_date.year}"  # in the customer's language
    assert f"INV-0001 is due on {due}: http://localhost/v/{invoice.view_token}" in body
    assert "A brace {not a placeholder}." in body


def test_the_credit_note_mail_has_its_own_template_with_the_corrected_invoice_and_checked_placeholders(
        app, client, sent, smtp):
    refused = client.post("/settings/email", data=settings_data(credit_note_subject="Credit {number}",
                                                                 credit_note_body="Corrects {invoice}: {totl}"))
    assert refused.status_code == 422
    assert ("Unknown placeholder {totl}: use {number}, {total}, {balance}, {due_date}, {view_link}, {business}, "
            "{invoice}.") in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Business.credit_note_mail_subject)) == ""
    saved = client.post("/settings/email", data=settings_data(
        credit_note_subject="{business}: credit {number} for {invoice}",
        credit_note_body="This corrects {invoice} by {total}: {view_link}"))
    assert saved.status_code == 303
    assert 'value="{business}: credit {number} for {invoice}"' in client.get("/settings/email").get_data(as_text=True)

    note_id = int(client.post(f"/invoices/{sent.id}/credit-note", data={"scope": "full"}).headers["Location"]
                  .rsplit("/", 1)[1])
    assert client.post(f"/invoices/{note_id}/email", data={"to": "billing@northwind.example", "cc": ""}).status_code == 303
    note = invoice_row(app, note_id)
    message = smtp.messages[-1][1]
    assert message["Subject"] == f"Ada Studio: credit {note.number} for INV-0001"
    assert (message.get_body(("plain",)).get_content().strip()
            == f"This corrects INV-0001 by $100.00: http://localhost/v/{note.view_token}")


def test_reminder_stages_are_saved_and_two_with_the_same_days_are_refused(app, client, logged_in):
    response = client.post("/settings/email", data=settings_data(
        reminders_enabled="y", **{"stages-0-days": "14", "stages-0-subject": "Late {number}",
                                  "stages-1-days": "14", "stages-1-subject": "Later"}))
    assert response.status_code == 422 and "Two reminders have the same number of days" in response.get_data(as_text=True)
    response = client.post("/settings/email", data=settings_data(
        reminders_enabled="y", **{"stages-0-days": "30", "stages-0-subject": "Very late {number}",
                                  "stages-1-days": "3", "stages-1-subject": "Late {number}",
                                  "stages-2-days": "0"}))
    assert response.status_code == 422 and "Use 1 to 365 days." in response.get_data(as_text=True)
    response = client.post("/settings/email", data=settings_data(
        reminders_enabled="y", **{"stages-0-days": "30", "stages-0-subject": "Very late {number}",
                                  "stages-1-days": "3", "stages-1-subject": "Late {number}"}))
    assert response.status_code == 303
    page = client.get("/settings/email").get_data(as_text=True)
    assert re.search(r'name="stages-0-days"[^>]*value="3"', page) and re.search(r'name="stages-1-days"[^>]*value="30"', page)
    with app.app_context():
        assert db.session.scalar(db.select(Business.reminders_enabled)) is True


def test_with_a_base_url_the_link_in_the_mail_and_on_the_page_is_on_it(app, client, draft, smtp):
    app.config["HOURBILL_BASE_URL"] = "https://billing.ada.example/"
    send(client, draft)
    token = invoice_row(app, draft).view_token
    body = smtp.messages[0][1].get_body(("plain",)).get_content()
    assert f"https://billing.ada.example/v/{token}" in body
    page = client.get(f"/invoices/{draft}").get_data(as_text=True)
    assert f'value="https://billing.ada.example/v/{token}"' in page
