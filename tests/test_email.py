"""Send by email (issue 11): a draft is numbered as "Mark as sent" numbers it and mailed, with its PDF, to
the customer through a real SMTP server on 127.0.0.1 (tests/smtp.py); every attempt is logged on the
invoice; a server that refuses, drops the connection or never answers keeps the number and says what
happened, and "Send again" is one click; without a server the page says how to set one up."""
from __future__ import annotations

import io
import re

import pytest
from pypdf import PdfReader

from extensions import db
from models import Business, Invoice, MailAttempt
from tests.smtp import BadServer, point_at, smtp  # noqa: F401  (fixture)

FLASH = re.compile(r'<p class="flash flash-(\w+)"[^>]*>([^<]*)</p>')


def flashes(page: str) -> list[tuple[str, str]]:
    return FLASH.findall(page)


@pytest.fixture
def draft(logged_in, client):
    """Ada's business "Ada Studio" and a draft for Northwind (billing@northwind.example) of 2 h x $50."""
    client.post("/settings/profile", data={"business_name": "Ada Studio", "business_email": "ada@ada.example",
                                           "default_currency": "USD", "next_invoice_number": "1",
                                           "payment_terms_days": "30", "invoice_prefix": "INV-"})
    customer_id = logged_in.customer(email="billing@northwind.example")
    invoice_id = logged_in.invoice(customer_id)
    assert logged_in.line(invoice_id, description="Design work", quantity="2", rate="50").status_code == 303
    return invoice_id


def invoice_row(app, invoice_id) -> Invoice:
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        db.session.expunge(invoice)
        return invoice


def attempts(app) -> list[MailAttempt]:
    with app.app_context():
        rows = db.session.scalars(db.select(MailAttempt).order_by(MailAttempt.id)).all()
        db.session.expunge_all()
        return rows


def send(client, invoice_id, **data):
    return client.post(f"/invoices/{invoice_id}/email",
                       data={"to": "billing@northwind.example", "cc": "", **data})


def pdf_text(content: bytes) -> str:
    assert content.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_send_by_email_numbers_the_draft_and_mails_its_pdf_to_the_customer(app, client, draft, smtp):
    response = send(client, draft, cc="boss@northwind.example, ap@northwind.example")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("success", "Invoice INV-0001 was emailed to billing@northwind.example.") in flashes(page)
    invoice = invoice_row(app, draft)
    assert (invoice.status, invoice.number) == ("sent", "INV-0001")

    ((envelope, message),) = smtp.messages
    assert sorted(envelope) == ["ap@northwind.example", "billing@northwind.example", "boss@northwind.example"]
    assert message["To"] == "billing@northwind.example"
    assert message["Cc"] == "boss@northwind.example, ap@northwind.example"
    assert message["From"] == "Hourbill <billing@ada.example>"
    assert message["Reply-To"] == "ada@ada.example"
    assert message["Subject"] == "Invoice INV-0001 from Ada Studio"
    body = message.get_body(("plain",)).get_content()
    link = f"http://localhost/v/{invoice.view_token}"
    due = f"{invoice.due_date:%b} {invoice.due_date.day}, {invoice.due_date.year}"  # the customer's language: English
    assert "invoice INV-0001 for $100.00, due on " + due in body and link in body
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "invoice-INV-0001.pdf" and attachment.get_content_type() == "application/pdf"
    text = pdf_text(attachment.get_content())
    assert "INV-0001" in text and "Design work" in text and "$100.00" in text

    # The send log on the invoice: when, to whom, by whom, what the server said.
    assert 'data-testid="send-log"' in page and "billing@northwind.example" in page and "accepted the mail (250)" in page
    (attempt,) = attempts(app)
    assert (attempt.kind, attempt.outcome, attempt.invoice_id) == ("invoice", "sent", draft)
    assert attempt.cc_addresses == "boss@northwind.example, ap@northwind.example"


def test_a_copy_to_the_sender_goes_blind(app, client, draft, smtp):
    send(client, draft, copy_to_me="y")
    ((envelope, message),) = smtp.messages
    assert "ada@example.com" in envelope
    assert "ada@example.com" not in str(message)  # no Bcc header: the customer does not see the copy


def test_the_mail_holds_no_api_key_no_internal_id_and_no_other_invoices_token(app, client, draft, smtp, clockify):
    from tests.test_connections import connect
    from sandbox import MAIN_KEY

    assert connect(client).status_code == 303
    other = client.post(f"/invoices/{draft}/duplicate").headers["Location"].rstrip("/").split("/")[-1]
    send(client, other)  # the first invoice sent: it has its own token
    send(client, draft)
    first, second = (message.as_string() for _, message in smtp.messages)
    other_token, token = invoice_row(app, int(other)).view_token, invoice_row(app, draft).view_token
    assert token in second and other_token not in second
    for raw in (first, second):
        assert MAIN_KEY not in raw and MAIN_KEY[-8:] not in raw
        assert f"/invoices/{draft}" not in raw and f"/invoices/{other}" not in raw


@pytest.mark.parametrize("bad, said", [
    ("", "Enter at least one email address."),
    ("billing@northwind.example, not-an-address", "“not-an-address” is not an email address"),
])
def test_bad_recipients_are_refused_at_the_field_and_nothing_is_numbered(app, client, draft, smtp, bad, said):
    response = send(client, draft, to=bad)
    assert response.status_code == 422
    assert said in response.get_data(as_text=True)
    assert invoice_row(app, draft).status == "draft" and smtp.messages == [] and attempts(app) == []


def test_a_bad_cc_is_refused_too(app, client, draft, smtp):
    response = send(client, draft, cc="boss@northwind")
    assert response.status_code == 422 and "is not an email address" in response.get_data(as_text=True)
    assert invoice_row(app, draft).number is None


def _numbered_and_said(app, client, draft, response) -> str:
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    invoice = invoice_row(app, draft)
    assert (invoice.status, invoice.number) == ("sent", "INV-0001")  # the number is kept
    (attempt,) = attempts(app)
    assert attempt.outcome == "failed" and attempt.to_addresses == "billing@northwind.example"
    (error,) = [text for kind, text in flashes(page) if kind == "error"]
    assert error.startswith("Invoice INV-0001 is numbered and kept, but the mail was not sent: ")
    assert 'data-testid="send-again"' in page
    return error


def test_a_server_that_refuses_keeps_the_number_says_its_answer_and_send_again_is_one_click(app, client, draft, smtp):
    smtp.inbox.refuse = "554 5.7.1 Message rejected as spam"
    error = _numbered_and_said(app, client, draft, send(client, draft, cc="boss@northwind.example"))
    assert "554 5.7.1 Message rejected as spam" in error
    smtp.inbox.refuse = None
    page = client.get(f"/invoices/{draft}").get_data(as_text=True)
    form = re.search(r'<form method="post" action="([^"]+)" class="card send-again".*?</form>', page, re.S).group(0)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form))
    assert fields["to"] == "billing@northwind.example" and fields["cc"] == "boss@northwind.example"
    response = client.post(f"/invoices/{draft}/email", data=fields)  # the one click
    assert response.status_code == 303
    ((envelope, message),) = smtp.messages
    assert message["Subject"] == "Invoice INV-0001 from Ada Studio" and "boss@northwind.example" in envelope
    with app.app_context():
        assert db.session.scalar(db.select(Business.next_invoice_number)) == 2  # numbered once
    assert [attempt.outcome for attempt in attempts(app)] == ["failed", "sent"]


def test_a_server_that_drops_the_connection_keeps_the_number_and_says_so(app, client, draft):
    with BadServer("drop") as server:
        point_at(app, server.port)
        error = _numbered_and_said(app, client, draft, send(client, draft))
    assert "closed the connection before it took the mail" in error


def test_a_server_that_never_answers_times_out_keeps_the_number_and_says_so(app, client, draft):
    with BadServer("hang") as server:
        point_at(app, server.port, timeout=0.5)
        error = _numbered_and_said(app, client, draft, send(client, draft))
    assert "did not answer within 0.5 seconds" in error


def test_no_server_there_at_all_keeps_the_number_and_says_so(app, client, draft):
    from tests.smtp import free_port

    point_at(app, free_port())
    error = _numbered_and_said(app, client, draft, send(client, draft))
    assert "Could not reach the mail server 127.0.0.1:" in error


def test_without_a_mail_server_the_button_explains_how_to_set_one_up(app, client, draft):
    page = client.get(f"/invoices/{draft}").get_data(as_text=True)
    assert 'data-testid="no-mail-server"' in page and "MAIL_SERVER" in page and "Send by email" not in page
    response = send(client, draft)
    assert response.status_code == 200 and "No mail server is set up" in response.get_data(as_text=True)
    assert invoice_row(app, draft).status == "draft" and attempts(app) == []


def test_lines_that_bill_nothing_are_named_before_sending_by_email_or_marking_sent(app, client, logged_in, draft, smtp):
    logged_in.line(draft, description="Free consultation", quantity="1", rate="0")
    for path, data in ((f"/invoices/{draft}/email", {"to": "billing@northwind.example"}),
                       (f"/invoices/{draft}/send", {})):
        response = client.post(path, data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and 'data-testid="confirm-send"' in page
        assert "Line 2: “Free consultation”" in page and "Design work" not in page
        assert invoice_row(app, draft).status == "draft" and smtp.messages == []
    response = client.post(f"/invoices/{draft}/email", data={"to": "billing@northwind.example", "confirmed": "1"})
    assert response.status_code == 303 and invoice_row(app, draft).number == "INV-0001" and len(smtp.messages) == 1


def test_a_total_of_zero_is_asked_about_too(app, client, logged_in):
    customer_id = logged_in.customer(email="billing@northwind.example")
    invoice_id = logged_in.invoice(customer_id)
    logged_in.line(invoice_id, description="Credit", quantity="-1", rate="50")
    logged_in.line(invoice_id, description="Work", quantity="1", rate="50")
    page = client.post(f"/invoices/{invoice_id}/send").get_data(as_text=True)
    assert 'data-testid="confirm-send"' in page and "The invoice's total is $0.00." in page
    assert client.post(f"/invoices/{invoice_id}/send", data={"confirmed": "1"}).status_code == 303
    assert invoice_row(app, invoice_id).status == "sent"


def test_a_viewer_may_not_send_and_sees_no_button(app, client, accounts, draft, smtp):
    accounts.add_member("vera@example.com", "viewer")
    accounts.logout()
    accounts.login("vera@example.com")
    assert "Send by email" not in client.get(f"/invoices/{draft}").get_data(as_text=True)
    assert send(client, draft).status_code == 403
    assert invoice_row(app, draft).status == "draft" and smtp.messages == []


# --- invitations ----------------------------------------------------------------------------------------

def test_an_invitation_is_mailed_when_a_server_is_set_up_and_the_link_still_shown(app, client, logged_in, smtp):
    response = client.post("/business/members/invite", data={"email": "Bob@Example.com", "role": "viewer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 201 and 'data-testid="invitation-mailed"' in page
    shown = re.search(r'value="(http://localhost/invitations/[\w-]+)" data-testid="invitation-link"', page).group(1)
    ((envelope, message),) = smtp.messages
    assert envelope == ["bob@example.com"] and message["Reply-To"] == "ada@example.com"
    assert "Ada invites you to" in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    assert shown in body and "as viewer" in body
    (attempt,) = attempts(app)
    assert (attempt.kind, attempt.outcome, attempt.invoice_id) == ("invitation", "sent", None)


def test_an_invitation_mail_the_server_refuses_says_so_and_the_link_is_still_there_to_copy(app, client, logged_in, smtp):
    smtp.inbox.refuse = "550 5.1.1 No such user"
    page = client.post("/business/members/invite", data={"email": "bob@example.com", "role": "member"}).get_data(as_text=True)
    assert 'data-testid="invitation-mail-failed"' in page and "550 5.1.1 No such user" in page
    assert 'data-testid="invitation-link"' in page


# --- configuration ----------------------------------------------------------------------------------------

def test_mail_settings_come_from_the_environment_under_their_own_names_or_hourbill_ones(tmp_path, monkeypatch):
    from app import create_app

    monkeypatch.setenv("MAIL_SERVER", "smtp.example.com")
    monkeypatch.setenv("MAIL_PORT", "587")
    monkeypatch.setenv("MAIL_USE_TLS", "true")
    monkeypatch.setenv("HOURBILL_MAIL_DEFAULT_SENDER", "Ada <billing@ada.example>")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"},
                     instance_path=str(tmp_path / "instance"))
    config = app.config
    assert (config["MAIL_SERVER"], config["MAIL_PORT"], config["MAIL_USE_TLS"]) == ("smtp.example.com", 587, True)
    assert config["MAIL_DEFAULT_SENDER"] == "Ada <billing@ada.example>" and config["MAIL_TIMEOUT"] == 20


def test_the_draft_form_sent_twice_mails_once(app, client, draft, smtp):
    page = client.get(f"/invoices/{draft}/email").get_data(as_text=True)
    assert '<input type="hidden" name="was_draft" value="1">' in page
    first = send(client, draft, was_draft="1")
    second = send(client, draft, was_draft="1")  # a double click, or the same form in a second tab
    assert first.status_code == second.status_code == 303
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert ("info", "Invoice INV-0001 was sent already (in another tab?): nothing was sent again. "
                    "To mail it once more, use “Email the invoice again”.") in flashes(page)
    assert len(smtp.messages) == 1 and len(attempts(app)) == 1


def test_an_over_long_recipient_is_refused_by_its_length_without_reading_it_as_an_address(monkeypatch):
    """A To or Cc part longer than an address can be is refused at once, with the usual message, before
    email_validator reads it (it spent ~36 ms on 100,000 characters)."""
    from services import mail

    read = []
    real = mail.validate_email
    monkeypatch.setattr(mail, "validate_email", lambda part, **kw: read.append(part) or real(part, **kw))
    with pytest.raises(mail.AddressError, match="is not an email address"):
        mail.parse_addresses("ada@example.com, " + "a" * 100_000 + "@example.com")
    assert read == ["ada@example.com"]
    assert mail.parse_addresses("a" * 64 + "@example.com") == ["a" * 64 + "@example.com"]
