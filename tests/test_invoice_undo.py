"""Removing a line shows "Undo", which puts the line back exactly (text, amounts, position, its Clockify
entries) under the draft lock; deleting a draft and voiding ask first on a page of their own (issue 13)."""
from __future__ import annotations

import html
import re

import pytest

from blueprints import invoices as invoices_view
from extensions import db
from models import ImportedEntry, Invoice, LineItem
from tests.test_invoice_races import _invoice, _race, ada  # noqa: F401  (ada: a fixture)


def _undo_token(page: str) -> str:
    return html.unescape(re.search(r'name="undo" value="([^"]+)"', page).group(1))


def _lines(app, invoice_id):
    with app.app_context():
        rows = db.session.scalars(db.select(LineItem).where(LineItem.invoice_id == invoice_id)
                                  .order_by(LineItem.position)).all()
        return [(line.id, line.position, line.description, str(line.quantity), line.unit, line.rate_minor,
                 line.amount_minor, line.source, sorted((entry.workspace_id, entry.entry_id, entry.seconds,
                                                         entry.rate_minor) for entry in line.imported_entries))
                for line in rows]


@pytest.fixture
def imported_draft(app, logged_in):
    """A draft of three imported lines, each with its Clockify entry: its id."""
    logged_in.customer()
    return _invoice(app, 7, lines=3, imported=True)


def test_undo_puts_an_imported_line_back_exactly_with_its_entries(app, client, imported_draft):
    before = _lines(app, imported_draft)
    middle = before[1][0]
    removed = client.post(f"/invoices/{imported_draft}/lines/{middle}/delete", hx=True)
    assert removed.status_code == 200 and "Undo" in removed.get_data(as_text=True)
    assert [line[0] for line in _lines(app, imported_draft)] == [before[0][0], before[2][0]]
    with app.app_context():  # the entry is free while the line is gone
        assert db.session.scalar(db.select(db.func.count(ImportedEntry.id))) == 2

    restored = client.post(f"/invoices/{imported_draft}/lines/undo", hx=True,
                           data={"undo": _undo_token(removed.get_data(as_text=True))})
    assert restored.status_code == 200 and "Line restored." in restored.get_data(as_text=True)
    assert _lines(app, imported_draft) == before


def test_undo_twice_gives_the_line_once(app, client, imported_draft):
    before = _lines(app, imported_draft)
    removed = client.post(f"/invoices/{imported_draft}/lines/{before[0][0]}/delete", hx=True)
    token = _undo_token(removed.get_data(as_text=True))
    for _ in range(2):
        assert client.post(f"/invoices/{imported_draft}/lines/undo", hx=True, data={"undo": token}).status_code == 200
    assert _lines(app, imported_draft) == before


def test_undo_says_why_when_an_entry_was_billed_again_meanwhile(app, client, imported_draft):
    line = _lines(app, imported_draft)[0]
    removed = client.post(f"/invoices/{imported_draft}/lines/{line[0]}/delete", hx=True)
    other = _invoice(app, 8, status="sent", lines=1)
    with app.app_context():  # the freed entry goes onto another invoice meanwhile
        invoice = db.session.get(Invoice, other)
        workspace, entry, seconds, rate = line[8][0]
        db.session.add(ImportedEntry(business_id=invoice.business_id, invoice_id=other, line_item=invoice.lines[0],
                                     workspace_id=workspace, entry_id=entry, seconds=seconds, rate_minor=rate))
        db.session.commit()
    refused = client.post(f"/invoices/{imported_draft}/lines/undo", hx=True,
                          data={"undo": _undo_token(removed.get_data(as_text=True))})
    assert refused.status_code == 422
    assert "1 of its Clockify entries is billed again meanwhile, on invoice OLD-0008" in refused.get_data(as_text=True)
    assert len(_lines(app, imported_draft)) == 2


def test_undo_is_refused_in_words_when_too_late_or_tampered(app, client, imported_draft, monkeypatch):
    line = _lines(app, imported_draft)[0]
    removed = client.post(f"/invoices/{imported_draft}/lines/{line[0]}/delete", hx=True)
    token = _undo_token(removed.get_data(as_text=True))
    tampered = client.post(f"/invoices/{imported_draft}/lines/undo", hx=True, data={"undo": token[:-3] + "AAA"})
    assert tampered.status_code == 422 and "That undo is not valid" in tampered.get_data(as_text=True)
    monkeypatch.setattr(invoices_view, "UNDO_SECONDS", -1)
    late = client.post(f"/invoices/{imported_draft}/lines/undo", data={"undo": token}, follow_redirects=True)
    assert "Too late to undo" in late.get_data(as_text=True)
    assert len(_lines(app, imported_draft)) == 2


def test_without_javascript_removing_a_line_offers_undo_on_the_next_page(app, client, imported_draft):
    before = _lines(app, imported_draft)
    removed = client.post(f"/invoices/{imported_draft}/lines/{before[2][0]}/delete")
    assert removed.status_code == 303
    page = client.get(removed.headers["Location"]).get_data(as_text=True)
    assert "Removed the line “Work 3”" in page
    back = client.post(f"/invoices/{imported_draft}/lines/undo", data={"undo": _undo_token(page)})
    assert back.status_code == 303 and "Line restored." in client.get(back.headers["Location"]).get_data(as_text=True)
    assert _lines(app, imported_draft) == before
    assert "Removed the line" not in client.get(f"/invoices/{imported_draft}").get_data(as_text=True)


def test_undo_and_mark_as_sent_at_once_never_add_a_line_to_a_sent_invoice(app, live_server, ada):  # noqa: F811
    restored_count = 0
    for trial in range(3):  # each of the three requests writes first once (_race's turns)
        invoice_id = _invoice(app, trial, lines=2, imported=True)
        first = _lines(app, invoice_id)[0][0]
        removed = ada.post(f"{live_server}/invoices/{invoice_id}/lines/{first}/delete", headers={"HX-Request": "true"})
        token = _undo_token(removed.text)
        said = _race(ada, live_server,
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/lines/undo", data={"undo": token},
                                      allow_redirects=False),
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/lines/undo", data={"undo": token},
                                      allow_redirects=False),
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/send", allow_redirects=False), first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            status, lines = invoice.status, len(invoice.lines)
            total, summed = invoice.total_minor, sum(line.amount_minor for line in invoice.lines)
            entries = db.session.scalar(db.select(db.func.count(ImportedEntry.id))
                                        .where(ImportedEntry.invoice_id == invoice_id))
        assert status == "sent" and total == summed, (trial, said, total, summed)  # no line after the send
        assert (lines, entries) in {(1, 1), (2, 2)}, (trial, said, lines, entries)  # once or not at all
        restored_count += lines == 2
    assert restored_count == 2  # an undo writing first restores the line once; the send writing first refuses both


def test_deleting_a_draft_and_voiding_ask_first_on_a_page_that_needs_no_javascript(app, client, logged_in):
    customer = logged_in.customer()
    draft, sent = logged_in.invoice(customer), logged_in.invoice(customer)
    logged_in.line(sent)
    client.post(f"/invoices/{sent}/send")

    show = client.get(f"/invoices/{draft}").get_data(as_text=True)
    assert f'href="/invoices/{draft}/delete"' in show
    ask = client.get(f"/invoices/{draft}/delete").get_data(as_text=True)
    assert "Delete this draft?" in ask and f'action="/invoices/{draft}/delete"' in ask
    assert client.post(f"/invoices/{draft}/delete").status_code == 303
    assert client.get(f"/invoices/{draft}").status_code == 404

    ask = client.get(f"/invoices/{sent}/void").get_data(as_text=True)
    assert "Void Invoice INV-0001?" in ask and f'action="/invoices/{sent}/void"' in ask
    assert "Only a draft can be deleted" in client.get(f"/invoices/{sent}/delete").get_data(as_text=True)
    client.post(f"/invoices/{sent}/void")
    with app.app_context():
        assert db.session.get(Invoice, sent).status == "void"
