"""Two app processes calling Clockify with one key at once (issue 15): each its own app and client, built
the way the app builds them, so their requests count against the key's budget in the shared database.
The sandbox's request log (arrival times) says whether the key stayed within 10 requests a second.

Used by `make bench` (bench/run.py) and by tests/test_rate_budget.py."""
from __future__ import annotations

import multiprocessing
from dataclasses import dataclass

CALLS_EACH = 15


@dataclass
class Outcome:
    exit_codes: list[int | None]
    calls: int
    busiest_second: int  # the most requests that arrived within any one second
    status_429: int


def busiest_second(times: list[float]) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times)), default=0)


def _fetch_with_its_own_app(database_url: str, instance: str, api_url: str, reports_url: str, key: str,
                            shared: bool, calls: int, ready) -> None:
    from app import create_app
    from services import connections
    from services.clockify import ClockifyClient
    from services.rate_budget import LocalBudget

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=instance)
    with app.app_context():
        if shared:
            client = connections.client_for_key(key, "global", None, connections.ClockifySite(api_url, reports_url))
        else:  # each process its own budget, as before issue 15
            client = ClockifyClient(key, api_url=api_url, reports_url=reports_url, budget=LocalBudget())
        ready.wait(timeout=60)
        with client:
            for _ in range(calls):
                client.workspaces()


def two_processes_at_once(database_url: str, workdir, api_url: str, reports_url: str, key: str,
                          arrivals, shared: bool = True, calls: int = CALLS_EACH,
                          context: multiprocessing.context.BaseContext | None = None) -> Outcome:
    """Run the two processes and judge what arrived; ``arrivals()`` returns the sandbox's log of their
    requests as (arrival time, status) pairs. The database must have its tables. The processes start
    fresh (spawn) unless ``context`` says otherwise (the tests fork them from a server that imported the app)."""
    context = context or multiprocessing.get_context("spawn")
    ready = context.Barrier(2)
    processes = [context.Process(target=_fetch_with_its_own_app, args=(
        database_url, str(workdir / f"instance-{n}"), api_url, reports_url, key, shared, calls, ready))
        for n in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    seen = arrivals()
    return Outcome([process.exitcode for process in processes], len(seen), busiest_second([at for at, _ in seen]),
                   sum(1 for _, status in seen if status == 429))


def run(workdir, sandbox_url: str, api_url: str, reports_url: str, key: str) -> Outcome:
    """`make bench`: the two processes against a running sandbox (its log read over its control API), on
    a new SQLite database in ``workdir`` (the budget in a file beside it, as on one host)."""
    import requests

    from app import create_app
    from extensions import db

    workdir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{workdir / 'shared-budget.db'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(workdir / "instance"))
    with app.app_context():
        db.create_all()
    requests.delete(f"{sandbox_url}/__sandbox/requests", timeout=10)

    def arrivals():
        log = requests.get(f"{sandbox_url}/__sandbox/requests", timeout=10).json()
        return [(call["at"], call["status"]) for call in log if call["path"].endswith("/workspaces")]

    return two_processes_at_once(database_url, workdir, api_url, reports_url, key, arrivals)
