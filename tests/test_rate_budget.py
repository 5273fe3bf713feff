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
from services.clockify import ClockifyClient
from services.rate_budget import WINDOW, DatabaseBudget, LocalBudget, key_hash

pytest_plugins = ["tests.conftest_sandbox"]
CALLS_EACH = 15


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def busiest_second(times: list[float]) -> int:
    """The most requests that arrived within any one second."""
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0)


def test_a_full_second_sends_the_next_request_a_window_after_the_oldest():
    clock = Clock()
    budget = LocalBudget(clock=clock)
    assert [budget.reserve("k") for _ in range(10)] == [0.0] * 10
    assert budget.reserve("k") == pytest.approx(WINDOW)
    assert budget.reserve("other key") == 0.0  # keys do not share
    clock.now += 2 * WINDOW
    assert budget.reserve("k") == 0.0  # the window has slid past every slot


def test_two_processes_share_the_database_budget(app):
    """Two DatabaseBudgets on one database stand for two processes: the second process's eleventh request
    in the second waits, although it has sent nothing itself."""
    clock = Clock()
    with app.app_context():
        engine = rate_budget.for_database(db.engine)._engine
        first, second = DatabaseBudget(engine, clock=clock), DatabaseBudget(engine, clock=clock)
        assert [first.reserve("k") for _ in range(10)] == [0.0] * 10
        assert second.reserve("k") == pytest.approx(WINDOW)
        assert second.reserve("another key") == 0.0


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
        assert rate_budget.for_database(db.engine).reserve(key_hash(MAIN_KEY)) == 0.0
        assert time.monotonic() - started < 5  # the file's lock timeout is 10 s
        assert db.session().in_transaction()  # the request's unit of work is untouched
        db.session.rollback()


def _fetch_with_its_own_app(database_url: str, instance: str, api_url: str, reports_url: str, shared: bool,
                            ready) -> None:
    """One app process: its own app and client (built the way the app builds it), CALLS_EACH calls."""
    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=instance)
    with app.app_context():
        if shared:
            client = connections.client_for_key(MAIN_KEY, "global", None, connections.ClockifySite(api_url, reports_url))
        else:  # the control: each process keeps its own budget, as before issue 15
            client = ClockifyClient(MAIN_KEY, api_url=api_url, reports_url=reports_url, budget=LocalBudget())
        ready.wait(timeout=60)
        with client:
            for _ in range(CALLS_EACH):
                client.workspaces()


def _two_processes_at_once(app, tmp_path, database_url, clockify_sandbox, shared: bool):
    context = multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    processes = [context.Process(target=_fetch_with_its_own_app, args=(
        database_url, str(tmp_path / f"instance-{n}"), clockify_sandbox.api_url, clockify_sandbox.reports_url,
        shared, ready)) for n in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=90)
    return [process.exitcode for process in processes], clockify_sandbox.sandbox.calls("*/workspaces")


def test_two_app_processes_with_one_key_never_exceed_10_a_second_at_clockify(app, tmp_path, database_url,
                                                                             clockify_sandbox):
    exits, calls = _two_processes_at_once(app, tmp_path, database_url, clockify_sandbox, shared=True)
    assert exits == [0, 0]
    assert len(calls) == 2 * CALLS_EACH  # every call went, none retried
    assert [call.status for call in calls] == [200] * len(calls)  # no 429
    assert busiest_second([call.at for call in calls]) <= 10


def test_the_control_two_processes_each_with_its_own_budget_overrun_clockify(app, tmp_path, database_url,
                                                                            clockify_sandbox):
    """Without the shared budget (each process its own, as before) the same run breaks the limit: the
    test above can fail."""
    clockify_sandbox.sandbox.rate_limit = None  # count what arrives, without refusing it
    exits, calls = _two_processes_at_once(app, tmp_path, database_url, clockify_sandbox, shared=False)
    assert exits == [0, 0]
    assert busiest_second([call.at for call in calls]) > 10
