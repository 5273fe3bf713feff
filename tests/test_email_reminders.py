"""Reminders (issue 11): off by default; stages N days after the due date, each with its template;
`flask send-reminders` mails each overdue invoice's latest due stage once, even when two runs race; a
failed send is tried again on the next run; "Send a reminder now" on the invoice."""
from __future__ import annotations

import threading
from datetime import date, timedelta
from decimal import Decimal

import pytest

from extensions import db
from models import Business, Customer, Invoice, LineItem, MailAttempt, ReminderClaim, ReminderStage
from services import reminders
from tests.smtp import smtp  # noqa: F401  (fixture)
from tests.test_email import flashes

DUE = date(2026, 10, 1)


@pytest.fixture
def business(app, logged_in, smtp):
    """Ada's business with reminders at 3, 14 and 30 days, a customer with an address, and the app's base URL."""
    app.config["HOURBILL_BASE_URL"] = "https://billing.ada.example"
    logged_in.customer(email="billing@northwind.example")
    with app.app_context():
        found = db.session.scalar(db.select(Business))
        found.name, found.reminders_enabled = "Ada Studio", True
        for days in (3, 14, 30):
            db.session.add(ReminderStage(business_id=found.id, days=days, subject=f"{days} days late: {{number}}",
                                         body=f"Stage {days}. {{number}} for {{total}} was due {{due_date}}: {{view_link}}"))
        db.session.commit()
        return found.id


def overdue_invoice(app, number: str, status: str = "sent", due: date = DUE, rate_minor: int = 5000) -> int:
    """An invoice of 2 h at rate_minor, its total stored as sending stores it (a draft has none)."""
    with app.app_context():
        invoice = Invoice(business_id=db.session.scalar(db.select(Business.id)), status=status, number=number,
                          customer=db.session.scalar(db.select(Customer)), issue_date=due - timedelta(days=30),
                          due_date=due, currency="USD", tax_rate=Decimal(0), discount_minor=0,
                          total_minor=None if status == "draft" else 2 * rate_minor)
        line = LineItem(position=1, description="Work", unit="h", source="manual")
        line.set_amounts(Decimal(2), rate_minor)
        invoice.lines.append(line)
        db.session.add(invoice)
        db.session.commit()
        return invoice.id


def run(runner, day: date):
    return runner.invoke(args=["send-reminders", "--date", day.isoformat()])


def subjects(smtp) -> list[str]:
    return [message["Subject"] for _, message in smtp.messages]


def test_each_stage_goes_once_when_it_is_due(app, runner, business, smtp):
    overdue_invoice(app, "INV-0007")
    assert run(runner, DUE + timedelta(days=2)).exit_code == 0 and smtp.messages == []  # not due yet
    result = run(runner, DUE + timedelta(days=3))
    assert result.exit_code == 0, result.output
    assert "1 reminder sent" in result.output
    assert run(runner, DUE + timedelta(days=5)).exit_code == 0  # again: nothing new
    assert subjects(smtp) == ["3 days late: INV-0007"]
    run(runner, DUE + timedelta(days=14))
    assert subjects(smtp) == ["3 days late: INV-0007", "14 days late: INV-0007"]
    (envelope, message) = smtp.messages[-1]
    body = message.get_body(("plain",)).get_content()
    with app.app_context():
        token = db.session.scalar(db.select(Invoice.view_token))
    assert envelope == ["billing@northwind.example"]
    assert f"Stage 14. INV-0007 for $100.00 was due Oct 1, 2026: https://billing.ada.example/v/{token}" in body
    assert [part.get_filename() for part in message.iter_attachments()] == ["invoice-INV-0007.pdf"]


def test_a_partly_paid_invoice_is_reminded_of_its_balance_not_its_total(app, runner, business, smtp):
    invoice_id = overdue_invoice(app, "INV-0009")
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        invoice.total_minor, invoice.paid_minor, invoice.status = 10000, 2500, "partially_paid"
        db.session.scalars(db.select(ReminderStage)).all()[0].body = "{number}: {balance} of {total} still due."
        db.session.commit()
    assert run(runner, DUE + timedelta(days=3)).exit_code == 0
    (_, message), = smtp.messages
    assert "INV-0009: $75.00 of $100.00 still due." in message.get_body(("plain",)).get_content()


def test_an_invoice_found_late_gets_only_its_latest_stage(app, runner, business, smtp):
    overdue_invoice(app, "INV-0008")
    run(runner, DUE + timedelta(days=40))
    run(runner, DUE + timedelta(days=41))
    assert subjects(smtp) == ["30 days late: INV-0008"]


def test_off_by_default_and_never_for_drafts_paid_or_void_invoices(app, runner, business, smtp):
    for number, status in (("INV-0001", "paid"), ("INV-0002", "void")):
        overdue_invoice(app, number, status=status)
    overdue_invoice(app, None, status="draft")
    run(runner, DUE + timedelta(days=40))
    assert smtp.messages == []
    overdue_invoice(app, "INV-0003")
    with app.app_context():
        db.session.scalar(db.select(Business)).reminders_enabled = False
        db.session.commit()
    run(runner, DUE + timedelta(days=40))
    assert smtp.messages == []


def test_a_sent_invoice_with_nothing_to_pay_gets_no_reminder(app, runner, business, smtp):
    overdue_invoice(app, "INV-0011", rate_minor=0)  # a total of zero: sent, but nothing is owed
    overdue_invoice(app, "INV-0012")
    result = run(runner, DUE + timedelta(days=40))
    assert result.exit_code == 0, result.output
    assert subjects(smtp) == ["30 days late: INV-0012"]


def test_a_failed_send_is_tried_again_on_the_next_run(app, runner, business, smtp):
    overdue_invoice(app, "INV-0009")
    smtp.inbox.refuse = "451 4.3.0 Try again later"
    result = run(runner, DUE + timedelta(days=3))
    assert result.exit_code == 1 and "451 4.3.0 Try again later" in result.output
    smtp.inbox.refuse = None
    assert run(runner, DUE + timedelta(days=4)).exit_code == 0
    run(runner, DUE + timedelta(days=5))
    assert subjects(smtp) == ["3 days late: INV-0009"]
    with app.app_context():
        outcomes = db.session.scalars(db.select(MailAttempt.outcome).order_by(MailAttempt.id)).all()
        assert outcomes == ["failed", "sent"]
        assert db.session.scalar(db.select(ReminderClaim.state)) == "sent"


def test_without_a_base_url_or_a_server_it_says_what_to_set_and_sends_nothing(app, runner, business, smtp):
    overdue_invoice(app, "INV-0010")
    app.config["HOURBILL_BASE_URL"] = ""
    result = run(runner, DUE + timedelta(days=3))
    assert result.exit_code != 0 and "Set HOURBILL_BASE_URL" in result.output
    app.config.update(HOURBILL_BASE_URL="https://billing.ada.example", MAIL_SERVER="")
    result = run(runner, DUE + timedelta(days=3))
    assert result.exit_code != 0 and "No mail server" in result.output
    assert smtp.messages == []


TRIALS = 20  # two invoices a trial: 40 races for a claim


def test_two_runs_at_the_same_moment_send_each_stage_once(app, business, smtp, monkeypatch):
    """Two hosts running send-reminders at once: each has its own database session; every (invoice,
    stage) is claimed by one of them, so each customer gets one mail. The race is the claim's: each mail
    carries a stand-in PDF (laying out 40 real ones was most of the test's time; other tests check the
    reminder's PDF)."""
    from services import invoice_document

    monkeypatch.setattr(invoice_document, "pdf", lambda invoice, pdf_variant=None: b"%PDF-1.7 stand-in")
    barrier = threading.Barrier(2)
    for trial in range(TRIALS):
        numbers = [f"R-{trial}-a", f"R-{trial}-b"]
        for number in numbers:
            overdue_invoice(app, number)
        results, errors = [], []

        def one_run():
            try:
                with app.app_context():
                    barrier.wait(timeout=10)
                    results.append(reminders.run(DUE + timedelta(days=3), lambda token: f"https://x.example/v/{token}",
                                                 commit=db.session.commit))
            except Exception as error:  # noqa: BLE001  (reported below)
                errors.append(error)

        threads = [threading.Thread(target=one_run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert errors == [], errors
        sent = sorted(line.split(" ")[0] for result in results for line in result.sent)
        assert sent == numbers, (trial, [vars(result) for result in results])
    mailed = [message["Subject"].split(": ")[1] for _, message in smtp.messages]
    assert len(mailed) == 2 * TRIALS and len(set(mailed)) == 2 * TRIALS


def test_send_a_reminder_now_from_the_invoice(app, client, business, smtp):
    invoice_id = overdue_invoice(app, "INV-0011")
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Send a reminder now" in page
    response = client.post(f"/invoices/{invoice_id}/reminder")
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("success", "A reminder for invoice INV-0011 was emailed to billing@northwind.example.") in flashes(page)
    assert subjects(smtp) == ["3 days late: INV-0011"]
    assert "reminder" in page and 'data-testid="send-log"' in page


def test_no_reminder_for_a_paid_invoice_or_a_credit_note(app, client, business, smtp):
    invoice_id = overdue_invoice(app, "INV-0012", status="paid")
    response = client.post(f"/invoices/{invoice_id}/reminder")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("error", "Invoice INV-0012 is paid: it needs no reminder.") in flashes(page) and smtp.messages == []

    note_id = overdue_invoice(app, "CN-0001", status="issued")
    with app.app_context():
        db.session.get(Invoice, note_id).kind, db.session.get(Invoice, note_id).corrects_id = "credit_note", invoice_id
        db.session.commit()
    assert client.post(f"/invoices/{note_id}/reminder").status_code == 303
    with client.session_transaction() as session:  # (this bare credit note has no page of its own to show it on)
        assert ("error", "Credit note CN-0001 asks for no payment: it needs no reminder.") in session["_flashes"]
    assert smtp.messages == []


def test_no_reminder_now_for_a_sent_invoice_with_nothing_to_pay(app, client, business, smtp):
    invoice_id = overdue_invoice(app, "INV-0014", rate_minor=0)  # sent, overdue, a total of zero
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "Send a reminder now" not in page
    response = client.post(f"/invoices/{invoice_id}/reminder")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert ("error", "Invoice INV-0014 has nothing left to pay: it needs no reminder.") in flashes(page)
    assert smtp.messages == []


def test_deleting_the_business_deletes_its_mail_log_stages_and_claims(app, client, business, smtp):
    from services.businesses import delete_business

    invoice_id = overdue_invoice(app, "INV-0013")
    assert client.post(f"/invoices/{invoice_id}/reminder").status_code == 303
    with app.app_context():
        reminders.claim(invoice_id, 3)
        db.session.commit()
        delete_business(db.session.get(Business, business))
        db.session.commit()
        for model in (MailAttempt, ReminderStage, ReminderClaim):
            assert db.session.scalar(db.select(db.func.count()).select_from(model)) == 0, model
