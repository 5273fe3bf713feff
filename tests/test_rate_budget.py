"""Clockify's 10 requests a second per key hold across processes (issue 15): the key's budget lives in the
database, which every worker and host shares (services/rate_budget.py). Proven at the sandbox, which logs
when each request arrived: two processes, each its own app and client, calling with one key at once."""
from __future__ import annotations

import multiprocessing
import time

import pytest
from sqlalchemy import select, text

from extensions import db
from models import ClockifyRateBudget
from sandbox import MAIN_KEY
from services import connections, rate_budget
from bench.shared_budget import Outcome, two_processes_at_once
from services.rate_budget import ANSWERED, WINDOW, DatabaseBudget, LocalBudget, key_hash



class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_a_full_second_sends_the_next_request_a_window_after_the_oldest():
    clock = Clock()
    budget = LocalBudget(clock=clock)
    assert [budget.reserve("k").wait for _ in range(10)] == [0.0] * 10
    assert budget.reserve("k").wait == pytest.approx(WINDOW)
    assert budget.reserve("other key").wait == 0.0  # keys do not share
    clock.now += 2 * WINDOW
    assert budget.reserve("k").wait == 0.0  # the window has slid past every slot


def test_a_slot_counts_from_the_answer_so_a_late_arrival_cannot_crowd_the_next_second():
    """Clockify counts a request when it arrives, at the latest when its answer leaves: a request whose
    answer came 0.3 s after its booked time holds its slot until then, and a second from then (ANSWERED:
    no margin for jitter, which cannot move an arrival past its answer)."""
    clock = Clock()
    budget = LocalBudget(clock=clock)
    slots = [budget.reserve("k") for _ in range(10)]
    clock.now += 0.3
    budget.finished("k", slots[0].at)  # the first answer is in, 0.3 s late
    for slot in slots[1:]:
        budget.finished("k", slot.at)  # the others are too, the same moment
    assert budget.reserve("k").wait == pytest.approx(ANSWERED)  # a window from the answers, not the bookings
    assert 1.0 < ANSWERED < WINDOW
    clock.now += 2 * WINDOW
    slots = [budget.reserve("k") for _ in range(10)]
    for slot in slots:
        budget.finished("k", slot.at)  # answered at once: the booking, WINDOW before the next, is later
    assert budget.reserve("k").wait == pytest.approx(WINDOW)


def test_two_processes_share_the_database_budget(app):
    """Two DatabaseBudgets on one database stand for two processes: the second process's eleventh request
    in the second waits, although it has sent nothing itself."""
    clock = Clock()
    with app.app_context():
        engine = rate_budget.for_database(db.engine)._engine
        first, second = DatabaseBudget(engine, clock=clock), DatabaseBudget(engine, clock=clock)
        assert [first.reserve("k").wait for _ in range(10)] == [0.0] * 10
        assert second.reserve("k").wait == pytest.approx(WINDOW)
        assert second.reserve("another key").wait == 0.0
        clock.now += 0.5
        first.finished("k", 5000.0)  # one of the first ten answered half a second late: its slot moves
        assert second.reserve("k").wait == pytest.approx(WINDOW - 0.5)  # eight slots are still at 5000
        for _ in range(8):
            first.finished("k", 5000.0)
        assert second.reserve("k").wait == pytest.approx(ANSWERED)  # counted from the answers now


def test_the_budget_names_a_key_by_a_hash_and_never_stores_the_key(app):
    with app.app_context():
        budget = rate_budget.for_database(db.engine)
        budget.reserve(key_hash(MAIN_KEY))
        with budget._engine.connect() as connection:
            rows = connection.execute(select(ClockifyRateBudget.__table__)).all()
    assert [row.key_hash for row in rows] == [key_hash(MAIN_KEY)]
    assert MAIN_KEY not in repr(rows) and key_hash(MAIN_KEY) != key_hash(MAIN_KEY + "x")
    assert len(rows[0].slots.split()) == 1


def test_a_request_that_has_begun_writing_can_still_call_clockify(app):
    """The budget's transaction is its own: a request holding a write (a guarded claim before fetching
    the rest of a preview) neither blocks it nor sees its work committed or rolled back by it. On SQLite
    a budget in the database file itself would wait here for the request's own lock until it timed out."""
    with app.app_context():
        db.session.execute(text("UPDATE users SET display_name = display_name"))  # takes SQLite's write lock
        started = time.monotonic()
        assert rate_budget.for_database(db.engine).reserve(key_hash(MAIN_KEY)).wait == 0.0
        assert time.monotonic() - started < 5  # the file's lock timeout is 10 s
        assert db.session().in_transaction()  # the request's unit of work is untouched
        db.session.rollback()



def test_threads_of_one_process_take_turns_on_one_kept_connection_to_the_sqlite_side_file(app):
    """The preview fetches report pages from several threads at once: each books its own slot (ten a
    window, whatever the interleaving), queued on the process's lock rather than sleeping in SQLite's busy
    handler, over one connection kept open (one per transaction made every commit the file's last:
    SQLite folded the WAL back and deleted it, fsyncs twice per call)."""
    import threading

    from sqlalchemy import event

    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("the side file is SQLite's")
        shared = rate_budget.for_database(db.engine)
        connects = []
        event.listen(shared._engine, "connect", lambda *_: connects.append(1))
        clock = Clock()
        budget = DatabaseBudget(shared._engine, clock=clock, lock=shared._lock)
        waits, errors = [], []

        def book():
            try:
                for _ in range(5):
                    slot = budget.reserve("k")
                    waits.append(round(slot.wait, 6))
                    budget.finished("k", slot.at)
            except Exception as error:  # noqa: BLE001 - reported below
                errors.append(error)

        threads = [threading.Thread(target=book) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert rate_budget.for_database(db.engine)._engine is shared._engine  # the process keeps it
    assert errors == []
    assert sorted(waits) == [round(n * WINDOW, 6) for n in range(4) for _ in range(10)]
    assert len(connects) <= 1


def test_the_budget_hears_of_a_call_when_its_answer_begins_not_when_its_body_has_been_read():
    """Clockify has counted a request once it answers: a slot held until a report page's 0.7 MB had been
    read (in many reads, each waiting for the interpreter while the request thread stores the page
    before) delayed every call after it. Here the body follows the answer's first line 0.6 s later."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from services.clockify import ClockifyClient
    from services.rate_budget import Slot

    body = json.dumps([{"id": "5e0000000000000000000001", "name": "Acme"}]).encode()

    class SlowBody(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.flush()
            time.sleep(0.6)
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    class Recording:
        heard = None

        def reserve(self, key):
            return Slot(time.monotonic(), 0.0)

        def finished(self, key, at):
            self.heard = time.monotonic()

    server = ThreadingHTTPServer(("127.0.0.1", 0), SlowBody)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        budget = Recording()
        client = ClockifyClient(MAIN_KEY, api_url=f"http://127.0.0.1:{server.server_port}/api/v1", budget=budget)
        workspaces = client.workspaces()
        returned = time.monotonic()
    finally:
        server.shutdown()
        server.server_close()
    assert [workspace.name for workspace in workspaces] == ["Acme"]
    assert returned - budget.heard >= 0.4  # heard at the answer's first line, the body read after

CALLS_EACH = 8  # 16 calls with one key: more than a second's 10, so the shared budget must spread them


@pytest.fixture(scope="module")
def processes():
    """Processes that start as fresh ones do (nothing inherited from this one, which runs threads), forked
    from one server that imported the app and the client once: a spawned process imported them itself (~1 s
    of CPU each, four in this module)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["app", "services.connections", "services.clockify", "services.rate_budget",
                                    "bench.shared_budget"])
    return context


def _two_processes(tmp_path, database_url, clockify_sandbox, processes, shared: bool) -> Outcome:
    def arrivals():
        return [(call.at, call.status) for call in clockify_sandbox.sandbox.calls("*/workspaces")]

    return two_processes_at_once(database_url, tmp_path, clockify_sandbox.api_url, clockify_sandbox.reports_url,
                                 MAIN_KEY, arrivals, shared=shared, calls=CALLS_EACH, context=processes)


def test_two_app_processes_with_one_key_never_exceed_10_a_second_at_clockify(app, tmp_path, database_url,
                                                                             clockify_sandbox, processes):
    clockify_sandbox.sandbox.rate_limit = 10  # Clockify's limit, refusing what passes it (the tests' sandboxes do not)
    outcome = _two_processes(tmp_path, database_url, clockify_sandbox, processes, shared=True)
    assert outcome.exit_codes == [0, 0]
    assert outcome.status_429 == 0 and outcome.calls == 2 * CALLS_EACH  # every call went once, none refused
    assert outcome.busiest_second <= 10


def test_the_control_two_processes_each_with_its_own_budget_overrun_clockify(app, tmp_path, database_url,
                                                                            clockify_sandbox, processes):
    """Without the shared budget (each process its own, as before) the same run breaks the limit: the
    test above can fail."""
    clockify_sandbox.sandbox.rate_limit = None  # count what arrives, without refusing it
    outcome = _two_processes(tmp_path, database_url, clockify_sandbox, processes, shared=False)
    assert outcome.exit_codes == [0, 0]
    assert outcome.busiest_second > 10


def test_the_sites_settings_come_from_the_app_config_with_defaults_for_the_rest():
    site = connections.ClockifySite.from_config({"HOURBILL_CLOCKIFY_TIMEOUT": [2, 3.5],  # as JSON from the environment
                                                 "HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND": 50,
                                                 "HOURBILL_CLOCKIFY_API_URL": None})
    assert site == connections.ClockifySite(timeout=(2.0, 3.5), requests_per_second=50)
    assert (site.retry_backoff, site.api_url) == (0.5, None)
