"""Many requests at once, through a real threaded server: one import confirmed by ten requests at
once gives one set of lines; ten drafts sent at once get ten distinct numbers in sequence. The race
harness of every such test is here: _all_at_once (with _FirstWrites, which makes each trial the race)."""
from __future__ import annotations

import re
import threading

import pytest
import requests
from flask import current_app, g, has_request_context, request, request_tearing_down
from sqlalchemy import event
from sqlalchemy.engine import Engine

from extensions import db
from models import Business, ImportedEntry, Invoice, LineItem, User
from sandbox import ACME_ID, NORTHWIND_ID
from tests.fixtures import PASSWORD


# As many as _FirstWrites holds (AT_MOST): each has read before any writes, so every run is the race. (It
# was 20, of which the ten past AT_MOST were never held: they wrote as they came, adding requests, not races.)
THREADS = 10


def _session(base: str, email="ada@example.com") -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/register").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = session.post(f"{base}/register", data={"display_name": "Ada", "email": email, "password": PASSWORD,
                                                       "confirm": PASSWORD, "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 303
    session.headers["X-CSRFToken"] = token
    return session


def _copies(session: requests.Session, count: int) -> list[requests.Session]:
    """Sessions sharing one log-in (as tabs of one browser would), each with its own connections. Each
    names its tab in a header (ignored by the app): _FirstWrites lets them write in a chosen order."""
    copies = []
    for tab in range(count):
        copy = requests.Session()
        copy.cookies.update(session.cookies)
        copy.headers.update(session.headers)
        copy.headers[TAB_HEADER] = str(tab)
        copies.append(copy)
    return copies


TAB_HEADER = "X-Test-Tab"


class _FirstWrites:
    """Holds each racing request at its first write (an INSERT, UPDATE or DELETE, a SELECT ... FOR UPDATE;
    not the Clockify rate budget's) until every racing request has reached its own or ended: each has then read what it
    decides on before any of them writes, so the interleaving a guard is for happens in every trial, not
    in the 1 of 40 where released threads happened to overlap. With `turns` (tab numbers, _copies) they
    then write one after the other in that order, each once the one before has ended: the check-then-write
    a guard prevents, in a known order. Runs in the live server's threads (this process)."""

    WRITES = ("INSERT", "UPDATE", "DELETE")
    TIMEOUT = 30  # seconds; only a request stuck behind another's lock waits this long (see `late`)
    # Each held request holds a pooled database connection (the pool gives 15 at most on SQLite and
    # PostgreSQL alike): of many racing requests the first ten are held, the rest go on as they come.
    AT_MOST = 10

    def __init__(self, parties: int, turns: list[int] | None = None):
        self.parties, self.turns = min(parties, self.AT_MOST), turns
        self.arrived, self.ended, self.late = 0, set(), []
        self.ready = threading.Condition()

    def __enter__(self):
        event.listen(Engine, "before_cursor_execute", self._statement)
        request_tearing_down.connect(self._ended)
        return self

    def __exit__(self, *exc):
        event.remove(Engine, "before_cursor_execute", self._statement)
        request_tearing_down.disconnect(self._ended)

    def _statement(self, connection, cursor, statement, parameters, context, executemany):
        words = statement.lstrip().upper()
        if "clockify_rate_budget" in statement or words.startswith("BEGIN"):  # the budget's, under a lock of this
            return  # process (services/rate_budget.py): holding it would hold every request's Clockify calls
        if (words.startswith(self.WRITES) or " FOR UPDATE" in words) and self._racing() and self._arrive():
            self._wait(lambda: self.arrived >= self.parties, "the others' first writes")
            if self.turns is not None and self._tab() in self.turns:
                before = set(self.turns[:self.turns.index(self._tab())])
                self._wait(lambda: before <= self.ended, f"tabs {sorted(before)} to end")

    def _ended(self, sender, **extra):
        if self._racing():
            with self.ready:
                self._arrive()
                self.ended.add(self._tab())
                self.ready.notify_all()

    @staticmethod
    def _racing() -> bool:
        # The app's requests (not the Clockify sandbox's, also a Flask app)
        return has_request_context() and "SQLALCHEMY_DATABASE_URI" in current_app.config

    @staticmethod
    def _tab() -> int | None:
        tab = request.headers.get(TAB_HEADER)
        return int(tab) if tab is not None else None

    def _arrive(self) -> bool:
        """Count this request once; False when it was counted already."""
        if g.get("_race_arrived"):
            return False
        g._race_arrived = True
        with self.ready:
            self.arrived += 1
            self.ready.notify_all()
        return True

    def _wait(self, done, what: str) -> None:
        with self.ready:
            if not self.ready.wait_for(done, timeout=self.TIMEOUT):
                self.late.append(f"{request.method} {request.path} waited {self.TIMEOUT} s for {what}")


def _all_at_once(calls, *, turns: list[int] | None = None) -> list:
    """Run the calls (each one request to the live server) in threads released together, each request held
    at its first write until all have reached theirs, then written all at once or, with `turns`, in that
    order of tabs (_FirstWrites); return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    with _FirstWrites(len(calls), turns) as held:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not held.late, held.late  # a request held behind another's lock: a deadlock
    return results


def _new_invoice(session, base) -> int:
    customer = session.post(f"{base}/customers/new", data={"name": "Northwind", "currency": "USD"},
                            allow_redirects=False)
    assert customer.status_code == 303
    page = session.get(f"{base}/invoices/new").text
    customer_id = re.search(r'<option value="(\d+)"', page).group(1)
    created = session.post(f"{base}/invoices/new", data={"customer_id": customer_id}, allow_redirects=False)
    return int(created.headers["Location"].rstrip("/").split("/")[-1])


@pytest.mark.small_sandbox  # one set of lines or several: a few dozen entries tell as well as hundreds
def test_ten_requests_confirming_the_same_import_give_one_set_of_lines(app, live_server, clockify_sandbox):
    app.config.update(HOURBILL_CLOCKIFY_API_URL=clockify_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=clockify_sandbox.reports_url)
    session = _session(live_server)
    connected = session.post(f"{live_server}/settings/integrations/clockify/new", allow_redirects=False, data={
        "name": "Clockify", "region": "global", "api_key": "sandbox-demo-key"})
    assert connected.status_code == 303
    invoice_id = _new_invoice(session, live_server)
    with app.app_context():
        connection_id = db.session.scalar(db.text("SELECT id FROM clockify_connections"))
    preview = session.post(f"{live_server}/invoices/{invoice_id}/import/preview", headers={"HX-Request": "true"}, data={
        "connection": connection_id, "workspace": ACME_ID, "client": NORTHWIND_ID, "submitted": "1",
        "billable": "on", "range": "custom", "start": "2025-10-01", "end": "2025-10-31"})
    token = re.search(r"/import/([\w-]+)/lines", preview.text).group(1)
    confirm = f"{live_server}/invoices/{invoice_id}/import/{token}/confirm"
    form = {"selection": "all", "grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up",
            "details": ["date", "description"], "unit": "h", "max_description": "300"}

    results = _all_at_once([lambda s=s: s.post(confirm, data=form, headers={"HX-Request": "true"})
                            for s in _copies(session, THREADS)])

    assert [getattr(result, "status_code", repr(result)) for result in results] == [200] * THREADS
    said = sorted("Imported" if "Imported" in result.text else "already imported" if "already imported"
                  in result.text else result.text[:200] for result in results)
    assert said == ["Imported"] + ["already imported"] * (THREADS - 1), said
    with app.app_context():
        lines = db.session.scalar(db.select(db.func.count(LineItem.id)).where(LineItem.invoice_id == invoice_id))
        entries = db.session.scalar(db.select(db.func.count(ImportedEntry.id)))
        distinct = db.session.scalar(db.select(db.func.count(db.distinct(ImportedEntry.entry_id))))
    assert lines > 0 and entries == distinct == lines  # one line per entry, each entry once


def test_ten_drafts_sent_at_once_get_ten_distinct_numbers_in_sequence(app, live_server):
    session = _session(live_server)
    invoice_ids = []
    customer = session.post(f"{live_server}/customers/new", data={"name": "Acme", "currency": "EUR"},
                            allow_redirects=False)
    assert customer.status_code == 303
    customer_id = re.search(r'<option value="(\d+)"', session.get(f"{live_server}/invoices/new").text).group(1)
    for _ in range(THREADS):
        created = session.post(f"{live_server}/invoices/new", data={"customer_id": customer_id}, allow_redirects=False)
        invoice_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
        session.post(f"{live_server}/invoices/{invoice_id}/lines", allow_redirects=False,
                     data={"description": "Work", "quantity": "1", "rate": "10", "unit": "h"})
        invoice_ids.append(invoice_id)

    results = _all_at_once([lambda s=s, i=i: s.post(f"{live_server}/invoices/{i}/send", allow_redirects=False)
                            for s, i in zip(_copies(session, THREADS), invoice_ids)])

    assert [getattr(result, "status_code", repr(result)) for result in results] == [303] * THREADS
    with app.app_context():
        numbers = sorted(db.session.scalars(db.select(Invoice.number)).all())
        statuses = set(db.session.scalars(db.select(Invoice.status)).all())
        next_number = db.session.scalar(db.select(Business.next_invoice_number))
    assert numbers == [f"INV-{n:04d}" for n in range(1, THREADS + 1)]
    assert statuses == {"sent"} and next_number == THREADS + 1
