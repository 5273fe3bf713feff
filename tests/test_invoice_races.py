"""Two requests changing one invoice at the same moment, through a real threaded server (issue 9, item 4):
exactly one wins, the other is told what happened (never a 500), and the invoice is never left half-way:
no paid invoice without its Clockify entry links, no numbered invoice deleted or number burned, no sent
invoice without its lines. `_race` holds each request at its first write until both have read what they
decide on, then lets them write in turn (tests/test_concurrency.py, _FirstWrites): every trial is the race,
and TRIALS lets each request write first once."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

import pytest
import requests

from extensions import db
from models import Business, Customer, ImportedEntry, Invoice, LineItem
from tests.test_concurrency import _all_at_once, _copies, _session

TRIALS = 2  # each of the two requests writes first once
LOST = "already (in another tab?)"


@pytest.fixture
def ada(app, live_server) -> requests.Session:
    session = _session(live_server)
    assert session.post(f"{live_server}/customers/new", data={"name": "Northwind", "currency": "USD"},
                        allow_redirects=False).status_code == 303
    session.get(f"{live_server}/customers/")  # shows (and so clears) the welcome messages
    return session


def _invoice(app, trial: int, *, status: str = "draft", lines: int = 1, imported: bool = False) -> int:
    """An invoice written straight into the database (fast: a race needs a fresh one per trial)."""
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        invoice = Invoice(business_id=business.id, customer=db.session.scalar(db.select(Customer)), status=status,
                          issue_date=date(2025, 10, 31), due_date=date(2025, 11, 30), currency="USD",
                          tax_rate=Decimal(0), discount_minor=0,
                          number=None if status == "draft" else f"OLD-{trial:04d}",
                          total_minor=None if status == "draft" else 5000 * lines)
        for position in range(1, lines + 1):
            line = LineItem(position=position, description=f"Work {position}", unit="h",
                            source="clockify" if imported else "manual")
            line.set_amounts(Decimal(1), 5000)
            invoice.lines.append(line)
        db.session.add(invoice)
        db.session.flush()
        if imported:
            for line in invoice.lines:
                db.session.add(ImportedEntry(business_id=business.id, invoice_id=invoice.id, line_item=line,
                                             workspace_id="ws", entry_id=f"entry-{trial}-{line.position}",
                                             seconds=3600, rate_minor=5000))
        db.session.commit()
        return invoice.id


def _said(session: requests.Session, base: str, response) -> str:
    """What the user is told: the 409 page itself, a refused form's problem (a 422 whose page names one), or
    the message on the page a 303 leads to."""
    problem = re.search(r'data-testid="problem">([^<]*)<', response.text) if response.status_code == 422 else None
    if problem:
        return "422: " + " ".join(problem.group(1).split())
    if response.status_code == 409:
        return "LOST: " + re.search(r'<section class="error-page">\s*<h1>[^<]*</h1>\s*<p>([^<]*)</p>',
                                    response.text).group(1)
    if response.status_code == 303:
        page = session.get(base + response.headers["Location"]).text
        return " | ".join(f"{kind}: {text}" for kind, text in
                          re.findall(r'<p class="flash flash-(\w+)"[^>]*>([^<]*)</p>', page))
    return f"{response.status_code}: {response.text[:200]}"


def _race(session, base, *calls, first: int | None = None) -> list[str]:
    """The calls at once, each held at its first write until all have read (_FirstWrites); with `first`,
    they then write in turn from call `first` (modulo their number: pass the trial to vary the winner)."""
    copies = _copies(session, len(calls))
    turns = None if first is None else [(first + n) % len(calls) for n in range(len(calls))]
    results = _all_at_once([lambda s=s, call=call: call(s) for s, call in zip(copies, calls)], turns=turns)
    for result in results:
        assert not isinstance(result, Exception), result
        assert result.status_code < 500, result.text[:500]
    return [_said(s, base, result) for s, result in zip(copies, results)]


def _posting(base: str, path: str, **kwargs):
    """One of _race's calls: a POST to ``path`` whose answer is not followed (_said reads it)."""
    return lambda session: session.post(base + path, allow_redirects=False, **kwargs)


def _draft_and_its_line(app, trial: int) -> tuple[int, int]:
    invoice_id = _invoice(app, trial)
    with app.app_context():
        return invoice_id, db.session.scalar(db.select(LineItem.id).where(LineItem.invoice_id == invoice_id))


def test_paid_and_void_at_once_one_wins_and_void_releases_the_entries_only_when_it_won(app, live_server, ada):
    outcomes = set()
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial, status="sent", lines=2, imported=True)
        said = _race(ada, live_server, _posting(live_server, f"/invoices/{invoice_id}/paid"),
                     _posting(live_server, f"/invoices/{invoice_id}/void"), first=trial)
        with app.app_context():
            status = db.session.get(Invoice, invoice_id).status
            links = db.session.scalar(db.select(db.func.count(ImportedEntry.id))
                                      .where(ImportedEntry.invoice_id == invoice_id))
        assert (status, links) in {("paid", 2), ("void", 0)}, (trial, status, links, said)
        winner = 0 if status == "paid" else 1
        assert said[winner].startswith("success:"), said
        loser = said[1 - winner]
        assert (loser.startswith("LOST: ") and LOST in loser or loser.startswith("error: A ")
                or loser == "error: This invoice is void: it takes no payments."
                or loser.startswith("error: This invoice has payments recorded")), said
        outcomes.add(status)
    assert outcomes == {"paid", "void"}  # each wins when it writes first


def test_sending_and_deleting_a_draft_at_once_never_deletes_a_numbered_invoice(app, live_server, ada):
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial)
        with app.app_context():
            next_number = db.session.scalar(db.select(Business.next_invoice_number))
        said = _race(ada, live_server, _posting(live_server, f"/invoices/{invoice_id}/send"),
                     _posting(live_server, f"/invoices/{invoice_id}/delete"), first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            now_next = db.session.scalar(db.select(Business.next_invoice_number))
            numbers = db.session.scalars(db.select(Invoice.number).where(Invoice.number.like("INV-%"))).all()
        if invoice is None:  # the delete won: no number was given, none burned
            assert now_next == next_number and len(numbers) == next_number - 1, (trial, said)
            assert said[1] == "success: Draft deleted.", said
            assert said[0].startswith("LOST: This invoice was deleted meanwhile") or said[0].startswith("404"), said
        else:  # the send won: numbered, kept, and the delete was refused
            assert invoice.status == "sent" and invoice.number == f"INV-{next_number:04d}", (trial, said)
            assert now_next == next_number + 1
            assert said[0].startswith("success: Invoice INV-"), said
            assert said[1].startswith("LOST: Invoice INV-") and LOST in said[1], said


def test_sending_while_the_last_line_is_removed_never_sends_an_invoice_without_lines(app, live_server, ada):
    for trial in range(TRIALS):
        invoice_id, line_id = _draft_and_its_line(app, trial)
        said = _race(ada, live_server, _posting(live_server, f"/invoices/{invoice_id}/send"),
                     _posting(live_server, f"/invoices/{invoice_id}/lines/{line_id}/delete"), first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            status, lines = invoice.status, len(invoice.lines)
        assert (status, lines) in {("sent", 1), ("draft", 0)}, (trial, status, lines, said)
        if status == "sent":
            assert said[1].startswith("LOST: Invoice INV-") and LOST in said[1], said
        else:
            assert said == ["error: Add at least one line before sending the invoice.", "success: Line removed."], said


def test_editing_a_draft_while_it_is_sent_is_refused_with_words_not_half_saved(app, live_server, ada):
    for trial in range(TRIALS):
        invoice_id, line_id = _draft_and_its_line(app, trial)
        said = _race(ada, live_server, _posting(live_server, f"/invoices/{invoice_id}/send"),
                     _posting(live_server, f"/invoices/{invoice_id}/lines/{line_id}", headers={"HX-Request": "true"},
                              data={"description": "Changed", "quantity": "3", "unit": "h", "rate": "70"}),
                     first=trial)
        with app.app_context():
            line = db.session.get(LineItem, line_id)
            edited = (line.description, line.amount_minor) == ("Changed", 21000)
            invoice = db.session.get(Invoice, invoice_id)
            sent_at, total = invoice.status, invoice.total_minor
        assert sent_at == "sent" and said[0].startswith("success: Invoice INV-"), said
        assert edited != said[1].startswith("LOST: "), (trial, edited, said)  # refused means not written
        assert total == line.amount_minor, (trial, total, said)  # an edit lands before the send or not at all
