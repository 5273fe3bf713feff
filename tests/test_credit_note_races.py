"""Credit notes issued at the same moment, through a real threaded server: two full credit notes of one
invoice credit it once (the other is told why, never a 500), credit notes of different invoices issued at
once get distinct numbers, in sequence, with none skipped, and an invoice voided while it is credited is
either void or credited, never both. Each trial is the race, its requests writing in turn from a
different one each trial (tests/test_concurrency.py, _FirstWrites)."""
from __future__ import annotations

from datetime import date

from extensions import db
from models import ImportedEntry, Invoice
from tests.test_invoice_races import _invoice, _race, ada  # noqa: F401  (ada: a fixture)

TRIALS = 3  # each of three racing requests writes first once


def test_credit_notes_issued_at_once_credit_an_invoice_once_and_never_share_a_number(app, live_server, ada):
    numbers, outcomes = [], set()
    for trial in range(TRIALS):
        twice, other = _invoice(app, trial * 2, status="sent", lines=2), _invoice(app, trial * 2 + 1, status="sent")
        full = {"scope": "full"}
        said = _race(ada, live_server,
                     lambda s: s.post(f"{live_server}/invoices/{twice}/credit-note", data=full, allow_redirects=False),
                     lambda s: s.post(f"{live_server}/invoices/{twice}/credit-note", data=full, allow_redirects=False),
                     lambda s: s.post(f"{live_server}/invoices/{other}/credit-note", data=full, allow_redirects=False),
                     first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, twice)
            notes = db.session.scalars(db.select(Invoice).where(Invoice.corrects_invoice_id == twice)).all()
            assert (invoice.status, invoice.credited_minor, len(notes)) == ("credited", 10000, 1), (trial, said)
            assert db.session.get(Invoice, other).status == "credited", (trial, said)
            numbers += db.session.scalars(db.select(Invoice.number).where(
                Invoice.corrects_invoice_id.in_([twice, other]))).all()
        assert said[2].startswith("success: Credit note"), said
        winners = [each for each in said[:2] if each.startswith("success: Credit note")]
        losers = [each for each in said[:2] if each not in winners]
        assert len(winners) == 1 and len(losers) == 1, said
        assert losers[0].startswith(("LOST: ", "422: ")) and "credited in full already" in losers[0], said
        outcomes.add(losers[0][:5])
    print("losers:", outcomes)
    year = date.today().year
    assert sorted(numbers) == [f"CN-{year}-{n:04d}" for n in range(1, 2 * TRIALS + 1)]


def test_void_and_a_credit_note_at_once_leave_the_invoice_void_or_credited_never_both(app, live_server, ada):
    outcomes = set()
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial, status="sent", lines=2, imported=True)
        with app.app_context():
            first_line = db.session.get(Invoice, invoice_id).lines[0].id
        part = {"scope": "partial", "lines-0-line_id": str(first_line), "lines-0-chosen": "y", "lines-0-quantity": "1",
                "lines-0-rate": "50"}
        said = _race(ada, live_server,
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/void", allow_redirects=False),
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/credit-note", data=part,
                                      allow_redirects=False), first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            notes = db.session.scalar(db.select(db.func.count()).where(Invoice.corrects_invoice_id == invoice_id))
            links = db.session.scalar(db.select(db.func.count()).where(ImportedEntry.invoice_id == invoice_id))
            outcome = (invoice.status, invoice.credited_minor, notes, links)
        assert outcome in {("void", 0, 0, 0), ("sent", 5000, 1, 2)}, (trial, outcome, said)
        if outcome[0] == "void":
            assert said[0].startswith("success:") and ("is void: nothing is owed on it" in said[1]
                                                       or said[1].startswith("LOST: ") and "voided already" in said[1]), said
        else:
            assert said[1].startswith("success: Credit note") and (
                said[0].startswith("error: This invoice has credit notes") or "was issued meanwhile" in said[0]), said
        outcomes.add(outcome[0])
    assert outcomes == {"void", "sent"}  # each wins when it writes first


def test_two_credit_notes_of_one_line_at_once_credit_it_once(app, live_server, ada):
    outcomes = set()
    for trial in range(2):
        invoice_id = _invoice(app, trial, status="sent", lines=2)  # two lines of 1 x 50.00: room for both credits
        with app.app_context():
            first_line = db.session.get(Invoice, invoice_id).lines[0].id
        line = {"scope": "partial", "lines-0-line_id": str(first_line), "lines-0-chosen": "y", "lines-0-quantity": "1",
                "lines-0-rate": "50"}
        said = _race(ada, live_server, *[lambda s: s.post(f"{live_server}/invoices/{invoice_id}/credit-note", data=line,
                                                          allow_redirects=False)] * 2, first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            notes = db.session.scalar(db.select(db.func.count()).where(Invoice.corrects_invoice_id == invoice_id))
            outcome = (invoice.status, invoice.credited_minor, invoice.lines[0].credited_minor, notes)
        assert outcome == ("sent", 5000, 5000, 1), (trial, outcome, said)
        assert sorted(each[:8] for each in said) == ["422: Not", "success:"], said
        assert "Line 1 is credited in full already" in min(said), said  # the guard, or the form's own check
        outcomes.add(min(said))
    print("losers:", outcomes)
