"""The import wizard raced through a real threaded server: ten "load more" of one preview at once fetch
its next page once; a confirm racing "Mark as sent" or "Delete draft" never adds lines to an invoice
that left draft. Each request is held at its first write until all have read (tests/test_concurrency.py,
_FirstWrites), so every trial is the race: a few trials, each request writing first in one."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from extensions import db
from models import ImportedEntry, ImportPreview, ImportPreviewPage, Invoice
from sandbox import ACME_ID, NORTHWIND_ID, create_sandbox
from tests.test_concurrency import _all_at_once, _copies, _new_invoice, _session


TRIALS = 2  # the confirm writes first, then the other request
LOADERS = 10
# No order to vary among the loaders: held at their first writes, all ten have read the preview's pages
# unclaimed before any claims one, so the one trial is the race (a second repeated it on a new preview).
LOAD_TRIALS = 1
HX = {"HX-Request": "true"}


def _connect(app, session, base: str, running) -> int:
    app.config.update(HOURBILL_CLOCKIFY_API_URL=running.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=running.reports_url)
    connected = session.post(f"{base}/settings/integrations/clockify/new", allow_redirects=False,
                             data={"name": "Clockify", "region": "global", "api_key": "sandbox-demo-key"})
    assert connected.status_code == 303
    with app.app_context():
        return db.session.scalar(db.text("SELECT id FROM clockify_connections"))


def _preview(session, base, invoice_id, connection_id, **fields) -> str:
    response = session.post(f"{base}/invoices/{invoice_id}/import/preview", headers=HX, data={
        "connection": connection_id, "workspace": ACME_ID, "submitted": "1", "range": "custom",
        "start": "2025-10-01", "end": "2025-10-31", **fields})
    assert response.status_code == 200, response.text[:300]
    return re.search(r"/import/([\w-]+)/lines", response.text).group(1)


def _draft_to_confirm(session, base, connection_id) -> tuple[int, str, str]:
    """A new draft with one line of its own and a preview of Northwind's billable entries: the draft's id,
    the preview's token and its confirm URL."""
    invoice_id = _new_invoice(session, base)
    session.post(f"{base}/invoices/{invoice_id}/lines", allow_redirects=False,
                 data={"description": "Set-up", "quantity": "1", "rate": "10", "unit": "h"})
    token = _preview(session, base, invoice_id, connection_id, client=NORTHWIND_ID, billable="on")
    return invoice_id, token, f"{base}/invoices/{invoice_id}/import/{token}/confirm"


def _turns(trial: int) -> list[int]:
    """The order two racing tabs write in (_FirstWrites): the first tab first in trial 0, then the other."""
    return [trial % 2, 1 - trial % 2]


@pytest.fixture(scope="module")
def three_pages():
    """A month of 2,500 entries (three report pages), each report answered after 50 ms."""
    with create_sandbox(members=5, entries_per_member=500, rate_limit=None, latency=0.05).serve_in_thread() as running:
        yield running


def test_ten_load_more_of_one_preview_at_once_fetch_the_next_page_once(app, live_server, three_pages):
    session = _session(live_server)
    connection_id = _connect(app, session, live_server, three_pages)
    invoice_id = _new_invoice(session, live_server)
    for trial in range(LOAD_TRIALS):
        token = _preview(session, live_server, invoice_id, connection_id)
        more = f"{live_server}/invoices/{invoice_id}/import/{token}/more"
        three_pages.sandbox.clear_requests()

        results = _all_at_once([lambda s=s: s.post(more, headers=HX) for s in _copies(session, LOADERS)])

        assert [getattr(result, "status_code", repr(result)) for result in results] == [200] * LOADERS, trial
        rows = [entry for result in results for entry in re.findall(r'name="entry" value="([^"]+)"', result.text)]
        assert len(rows) == len(set(rows))  # no entry appended twice to the page
        reports = [call.json["detailedFilter"]["page"] for call in three_pages.sandbox.requests if call.path.endswith("/reports/detailed")]
        # The pages after the first, each asked for once: the winner asks for the rest (at once, as the
        # report's totals counted them), or on a busy machine a straggler may start after the winner has
        # stopped and rightly take the third page.
        assert sorted(reports) in ([2], [2, 3]), trial
        reports = sorted(reports)
        with app.app_context():
            preview = db.session.scalar(select(ImportPreview).where(ImportPreview.token == token))
            pages = db.session.scalars(select(ImportPreviewPage).where(ImportPreviewPage.preview_id == preview.id)
                                       .order_by(ImportPreviewPage.number)).all()
            assert [page.number for page in pages] == [1, *reports] and preview.pages_loaded == len(pages)
            assert preview.entry_count == sum(len(page.entries) for page in pages)
            assert [len(page.entries) for page in pages[:2]] == [1000] * min(2, len(pages))  # full pages, then the rest
            assert preview.loading_until is None and preview.complete == (len(pages) == 3)
        # A loser's loader asks again later; that request takes the third page, once.
        assert any('hx-trigger="load delay:1s"' in result.text for result in results)


@pytest.fixture
def lines_added_to(app):
    """The status of the invoice at the moment lines were inserted into it (in the inserting transaction),
    for the confirm's plain INSERTs: anything but "draft" means lines were added to a sent invoice."""
    seen: list[str | None] = []

    def on_execute(state):
        table = getattr(state.statement, "table", None)
        if state.is_insert and getattr(table, "name", None) == "line_items":
            rows = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
            for invoice_id in {row.get("invoice_id") for row in rows} - {None}:
                seen.append(state.session.execute(select(Invoice.status).where(Invoice.id == invoice_id)).scalar())

    event.listen(Session, "do_orm_execute", on_execute)
    yield seen
    event.remove(Session, "do_orm_execute", on_execute)


# The small sandbox: the order of the racing writes is set by _turns, not by how long the confirm takes, so a
# few dozen entries race as hundreds did.
@pytest.mark.small_sandbox
@pytest.mark.parametrize("action", ["send", "delete"])
def test_confirm_racing_send_or_delete_never_adds_lines_to_an_invoice_that_left_draft(
        app, live_server, clockify_sandbox, lines_added_to, action):
    clockify_sandbox.sandbox.rate_limit = None
    app.config["HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND"] = 1000  # timing only: nothing to pace with the limit off
    session = _session(live_server)
    connection_id = _connect(app, session, live_server, clockify_sandbox)
    form = {"selection": "all", "grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up",
            "details": ["date", "description"], "unit": "h", "max_description": "300"}
    outcomes = set()
    for trial in range(TRIALS):
        invoice_id, _, confirm_url = _draft_to_confirm(session, live_server, connection_id)
        other_url = f"{live_server}/invoices/{invoice_id}/{action}"
        importer, other = _copies(session, 2)

        confirmed, _ = _all_at_once([lambda: importer.post(confirm_url, data=form, headers=HX),
                                     lambda: other.post(other_url, allow_redirects=False)], turns=_turns(trial))

        # 409: the draft was sent before the request began; 404: it was deleted before
        assert getattr(confirmed, "status_code", None) in (200, 404, 409), (trial, confirmed)
        text = confirmed.text
        refused = re.search(r"was (sent|deleted) .*nothing was changed", text)
        assert confirmed.status_code != 200 or "Imported" in text or refused, \
            (trial, text[:300])
        outcomes.add("imported" if "Imported" in text else "refused")
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            orphans = db.session.scalar(select(db.func.count(ImportedEntry.id))
                                        .where(ImportedEntry.invoice_id == invoice_id)) if invoice is None else 0
            assert orphans == 0
        assert set(lines_added_to) <= {"draft"}, (trial, lines_added_to)
        # Free the entries for the next trial: a sent invoice keeps them, so void it.
        with app.app_context():
            db.session.execute(db.delete(ImportedEntry))
            db.session.commit()
    assert outcomes == {"imported", "refused"}  # the confirm wins when it writes first, else it is refused
