"""Server time per wizard step (warm cache) and invoice/PDF render time, measured in this process with
Flask's test client: the time of app.wsgi_app for one request (the handler, templates, database), with the
time spent inside ClockifyClient._request (the round trip to the sandbox, and any client-side rate-limit
wait) subtracted and counted apart. The sandbox (rate limit off) runs in a child process on loopback."""
from __future__ import annotations

import gc
import re
import threading
import time
from decimal import Decimal
from pathlib import Path

from sqlalchemy import delete, select

from sandbox import ACME_ID, MAIN_KEY, NORTHWIND_ID, PRIYA_ID
from tests.client import BrowserLikeClient

PASSWORD = "correct horse battery"
MONTH = {"range": "custom", "start": "2025-10-01", "end": "2025-10-31"}
OPTIONS = {"grouping": "project", "rounding_minutes": "0", "rounding_direction": "up", "details": ["project"],
           "unit": "h", "max_description": "300", "fallback_rate": "90"}


class ClockifyTimer:
    """Wraps ClockifyClient._request to add up the seconds spent talking to Clockify, per thread."""

    def __init__(self):
        from services.clockify import ClockifyClient

        self.local = threading.local()
        self.cls, self.original = ClockifyClient, ClockifyClient._request
        timer = self

        def timed(client, *args, **kwargs):
            began = time.perf_counter()
            try:
                return timer.original(client, *args, **kwargs)
            finally:
                timer.local.seconds = getattr(timer.local, "seconds", 0.0) + time.perf_counter() - began
                timer.local.calls = getattr(timer.local, "calls", 0) + 1

        ClockifyClient._request = timed

    def reset(self):
        self.local.seconds, self.local.calls = 0.0, 0

    def restore(self):
        self.cls._request = self.original


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


class Series:
    def __init__(self, name: str):
        self.name, self.server, self.clockify_calls = name, [], 0

    @property
    def median(self) -> float:
        return percentile(self.server, 50)

    @property
    def p95(self) -> float:
        return percentile(self.server, 95)


def timed(timer: ClockifyTimer | None, series: Series, call, expect_status=200):
    """One request: its time minus the time inside ClockifyClient._request (None: nothing to subtract)."""
    if timer:
        timer.reset()
    began = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - began
    if response.status_code != expect_status:
        raise RuntimeError(f"{series.name}: HTTP {response.status_code}: {response.get_data(as_text=True)[:300]!r}")
    series.server.append(elapsed - (timer.local.seconds if timer else 0.0))
    series.clockify_calls += timer.local.calls if timer else 0
    return response


def make_app(workdir: Path, running):
    from app import create_app
    from extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'app.db'}", "SECRET_KEY": "bench-" * 8,
                      "HOURBILL_CLOCKIFY_API_URL": running.api_url,
                      "HOURBILL_CLOCKIFY_REPORTS_URL": running.reports_url},
                     instance_path=str(workdir / "instance"))
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        db.create_all()
    return app


def set_up(app, client) -> tuple[int, str, int]:
    """Register, connect, a customer: (customer id, connection id, a draft invoice id)."""
    from extensions import db
    from models import ClockifyConnection, Customer

    def ok(response, status=303):
        assert response.status_code == status, response.get_data(as_text=True)[:300]

    ok(client.post("/register", data={"display_name": "Bench", "email": "bench@example.com", "password": PASSWORD,
                                      "confirm": PASSWORD}))
    ok(client.post("/settings/integrations/clockify/new", data={"name": "Clockify", "description": "",
                                                                "region": "global", "subdomain": "",
                                                                "api_key": MAIN_KEY}))
    ok(client.post("/customers/new", data={"name": "Northwind", "currency": "USD"}))
    with app.app_context():
        customer_id = db.session.scalar(select(Customer.id))
        connection_id = db.session.scalar(select(ClockifyConnection.id))
    return customer_id, str(connection_id), new_invoice(client, customer_id)


def new_invoice(client, customer_id: int) -> int:
    response = client.post("/invoices/new", data={"customer_id": customer_id})
    assert response.status_code == 303
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


def wizard_steps(app, client, timer, ids, member_id: str, runs: int, confirm_runs: int) -> tuple[list[Series], int]:
    """start, filters, client change, preview (< 1000 entries), lines, confirm: `runs` timed requests each
    (`confirm_runs` confirms, each on a fresh preview whose lines are removed again, untimed, afterwards)."""
    from extensions import db
    from models import ImportedEntry, LineItem

    _, connection, invoice_id = ids
    base = f"/invoices/{invoice_id}/import"
    filters_args = {"connection": connection, "workspace": ACME_ID}
    client_change = {**filters_args, "client": NORTHWIND_ID, "submitted": "1", "billable": "on",
                     "hide_imported": "on", **MONTH}
    preview_form = {**filters_args, "submitted": "1", "billable": "on", "hide_imported": "on", "member": member_id,
                    **MONTH}

    def preview():
        return client.post(f"{base}/preview", data=preview_form, hx=True)

    def token_of(response) -> str:
        return re.search(r"/import/([\w-]+)/lines", response.get_data(as_text=True)).group(1)

    def release_lines():
        with app.app_context():
            db.session.execute(delete(ImportedEntry).where(ImportedEntry.invoice_id == invoice_id))
            db.session.execute(delete(LineItem).where(LineItem.invoice_id == invoice_id))
            db.session.commit()

    # Warm up: the cache (workspaces, reference data), templates, imports, the database file.
    for _ in range(3):
        client.get(base, hx=True)
        client.get(f"{base}/filters", query_string=filters_args, hx=True)
        response = preview()
    entries = len(re.findall(r'name="entry" value=', response.get_data(as_text=True)))
    if not response.status_code == 200 or "loading more" in response.get_data(as_text=True):
        raise RuntimeError("the normal-size preview should be one page")
    client.post(f"{base}/{token_of(response)}/confirm", data={"selection": "all", **OPTIONS}, hx=True)
    release_lines()

    series = {name: Series(name) for name in ("start", "filters", "client change", "preview", "lines", "confirm")}
    for _ in range(runs):
        timed(timer, series["start"], lambda: client.get(base, hx=True))
        timed(timer, series["filters"], lambda: client.get(f"{base}/filters", query_string=filters_args, hx=True))
        timed(timer, series["client change"],
              lambda: client.get(f"{base}/filters", query_string=client_change, hx=True))
    for _ in range(runs // 2):
        timed(timer, series["preview"], preview)
    token = token_of(preview())
    for _ in range(runs):
        timed(timer, series["lines"],
              lambda: client.post(f"{base}/{token}/lines", data={"selection": "all", **OPTIONS}, hx=True))
    for _ in range(confirm_runs):
        fresh = token_of(preview())
        timed(timer, series["confirm"],
              lambda: client.post(f"{base}/{fresh}/confirm", data={"selection": "all", **OPTIONS}, hx=True))
        release_lines()
    return list(series.values()), entries


def add_lines(app, invoice_id: int, count: int) -> None:
    from extensions import db
    from models import Invoice, LineItem

    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        for number in range(1, count + 1):
            line = LineItem(position=number, source="clockify", unit="h",
                            description=f"2025-10-{number % 28 + 1:02d} · Website redesign / Design · "
                                        f"Landing page review, round {number} (Maria Garcia)")
            line.set_amounts(Decimal(number % 7 + 1) + Decimal("0.25"), 9500 + number % 5 * 500)
            invoice.lines.append(line)
        db.session.commit()


def renders(app, client, customer_id: int, runs: int, pdf_runs: int) -> tuple[Series, Series]:
    big, small = new_invoice(client, customer_id), new_invoice(client, customer_id)
    add_lines(app, big, 1000)
    add_lines(app, small, 200)
    page, pdf = Series("invoice 1,000 lines"), Series("PDF 200 lines")
    for _ in range(3):
        client.get(f"/invoices/{big}")
    client.get(f"/invoices/{small}/pdf")  # the first PDF imports WeasyPrint
    for _ in range(runs):
        response = timed(None, page, lambda: client.get(f"/invoices/{big}"))
    assert response.get_data(as_text=True).count('class="line-row') >= 1000
    for _ in range(pdf_runs):
        response = timed(None, pdf, lambda: client.get(f"/invoices/{small}/pdf"))
    assert response.data.startswith(b"%PDF")
    return page, pdf


def purge_previews(app) -> tuple[int, int, int, float]:
    """Age every preview the timed steps left (about a hundred of a few hundred entries each, confirmed
    or not: a busy week) past the purge age, then time `flask purge-previews` deleting them.
    Returns (previews, pages, bytes of entries, seconds)."""
    from datetime import timedelta

    from sqlalchemy import LargeBinary, cast, func, update

    from extensions import db
    from models import ImportPreview, ImportPreviewPage, utcnow

    with app.app_context():
        week_ago = utcnow() - timedelta(days=8)
        db.session.execute(update(ImportPreview).values(created_at=week_ago))
        db.session.execute(update(ImportPreview).where(ImportPreview.confirmed_at.is_not(None))
                           .values(confirmed_at=week_ago))
        db.session.commit()
        previews = db.session.scalar(select(func.count(ImportPreview.id)))
        pages, size = db.session.execute(select(func.count(ImportPreviewPage.id),
                                                func.sum(func.length(cast(ImportPreviewPage.entries, LargeBinary))))).one()
        db.session.remove()
    began = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["purge-previews"])
    seconds = time.perf_counter() - began
    if result.exit_code != 0 or f"Deleted {previews} import previews" not in result.output:
        raise RuntimeError(f"purge-previews: {result.output[:300]!r}")
    return previews, pages, size or 0, seconds


class Running:
    """The sandbox child's URLs, shaped like sandbox.RunningSandbox."""

    def __init__(self, info: dict):
        self.url, self.api_url, self.reports_url = info["url"], info["api_url"], info["reports_url"]


def run(workdir: Path, runs: int = 100, confirm_runs: int = 50, render_runs: int = 20, pdf_runs: int = 5):
    # The sandbox runs in its own process (rate limit off): in this one, its 10,000-entry world would be
    # walked by every full garbage collection and its threads would compete for the GIL with the app.
    from bench._servers import Child

    timer, app = ClockifyTimer(), None
    try:
        with Child("bench.sandbox_server", "--members", "20", "--entries-per-member", "500",
                   "--rate-limit", "0") as sandbox:
            running = Running(sandbox.info)
            gc.collect()
            app = make_app(workdir, running)
            client = app.test_client()
            ids = set_up(app, client)
            steps, entries = wizard_steps(app, client, timer, ids, PRIYA_ID, runs, confirm_runs)
            page, pdf = renders(app, client, ids[0], render_runs, pdf_runs)
            purge = purge_previews(app)
    finally:
        timer.restore()
        if app is not None:
            from extensions import db
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
    return steps, entries, page, pdf, purge
