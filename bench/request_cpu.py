"""CPU per request of the pages every session opens, in this process with Flask's test client on SQLite: what
each request costs the app whatever the page (the login's user and memberships, the before/after hooks, the
layout, CSRF) plus the page's own work. Prints CPU (time.process_time) and wall per request, median of RUNS, and
the queries each asks; `--profile NAME` prints cProfile's top functions over RUNS requests of one page (`--only NAME`: that page
alone, for a sampling profiler: `py-spy record -f raw -- python -m bench.request_cpu --only dashboard`).

    .venv/bin/python -m bench.request_cpu [--runs 200] [--profile dashboard]

The app is configured as in production but for a one-round password hash (as bench/einvoice.py), so the log-in
POST measures the app around the hash, not scrypt. Not the test suite's fixtures: importing them would bring
their test-only changes to SQLAlchemy and SQLite (a compiled-SQL cache shared by engines, no fsync)."""
from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import event, select

from bench.inprocess import PASSWORD
from tests.client import BrowserLikeClient

EMAIL = "bench@example.com"
PAGES = ("dashboard", "invoices", "draft", "customer", "customers", "not-found", "login")  # measure's names


def _make(workdir: Path):
    from app import create_app
    from extensions import db
    from models import Customer
    app = create_app({"HOURBILL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'app.db'}",
                      "SECRET_KEY": "bench-" * 8}, instance_path=str(workdir / "instance"))
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        db.create_all()
    client = app.test_client()

    def ok(response, status=303):
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
        return response

    ok(client.post("/register", data={"display_name": "Bench", "email": EMAIL, "password": PASSWORD,
                                      "confirm": PASSWORD}))
    ok(client.post("/customers/new", data={"name": "Northwind Traders", "currency": "USD"}))
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id))
    invoices = []
    for _ in range(3):
        response = ok(client.post("/invoices/new", data={"customer_id": customer_id}))
        invoices.append(int(response.headers["Location"].rstrip("/").split("/")[-1]))
    for invoice_id in invoices:
        for number in range(3):
            ok(client.post(f"/invoices/{invoice_id}/lines", data={"description": f"Design work {number}",
                                                                  "quantity": "2", "rate": "50", "unit": "h"}))
    return app, client, customer_id, invoices


def _login_post(app):
    """A log-in POST from a browser that has the log-in page open (its client and CSRF token made untimed)."""
    ready = app.test_client()
    ready.csrf_token()
    return lambda: ready.post("/login", data={"email": EMAIL, "password": PASSWORD})


def measure(runs: int, profile: str | None = None, only: str | None = None) -> list[tuple[str, float, float, int]]:
    from extensions import db

    with tempfile.TemporaryDirectory(prefix="hourbill-bench-requests-") as folder:
        app, client, customer_id, invoices = _make(Path(folder))
        pages = {
            "dashboard": ("GET /", lambda: client.get("/"), 200),
            "invoices": ("GET /invoices/", lambda: client.get("/invoices/"), 200),
            "draft": ("GET /invoices/<draft>", lambda: client.get(f"/invoices/{invoices[0]}"), 200),
            "customer": ("GET /customers/<id>", lambda: client.get(f"/customers/{customer_id}"), 200),
            "customers": ("GET /customers/", lambda: client.get("/customers/"), 200),
            "not-found": ("GET /no-such-page (404)", lambda: client.get("/no-such-page"), 404),
            "login": ("POST /login", None, 303),
        }
        statements: list[str] = []
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
        results = []
        for name, (label, call, status) in pages.items():
            if (profile or only) and name != (profile or only):
                continue
            calls = [_login_post(app) for _ in range(runs + 3)] if name == "login" else None

            def one(index: int):
                response = calls[index]() if calls else call()
                assert response.status_code == status, (label, response.status_code)

            for index in range(3):  # warm: templates compiled, statements cached
                one(index)
            queries, cpu, wall = 0, [], []
            profiler = cProfile.Profile() if profile else None
            for index in range(runs):
                at = len(statements)
                began_cpu, began = time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                one(index + 3 if calls else index)
                if profiler:
                    profiler.disable()
                cpu.append(time.process_time() - began_cpu)
                wall.append(time.perf_counter() - began)
                if index == 0:
                    queries = len(statements) - at
            results.append((label, statistics.median(cpu) * 1000, statistics.median(wall) * 1000, queries))
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
                pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--profile", default=None, choices=PAGES, help="cProfile's top functions for this page")
    parser.add_argument("--only", default=None, choices=PAGES, help="this page alone, without cProfile (for a "
                                                                   "sampling profiler such as py-spy)")
    arguments = parser.parse_args()
    results = measure(arguments.runs, arguments.profile, arguments.only)
    print(f"{'request':32} {'CPU ms':>8} {'wall ms':>8} {'queries':>8}")
    for label, cpu, wall, queries in results:
        print(f"{label:32} {cpu:8.2f} {wall:8.2f} {queries:8d}")


if __name__ == "__main__":
    main()
