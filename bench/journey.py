"""The 10,000-entry import over HTTP (app and sandbox each in their own process), the app's peak memory
meanwhile, and the same entries fetched the way common connectors do it."""
from __future__ import annotations

import os
import re
import sys
import threading
import time
from dataclasses import dataclass, field

import requests

from sandbox import ACME_ID, MAIN_KEY

MONTH = {"range": "custom", "start": "2025-10-01", "end": "2025-10-31"}
PASSWORD = "correct horse battery"
HX = {"HX-Request": "true"}
QUARTER = {"range": "custom", "start": "2025-10-01", "end": "2025-12-31"}
MAX_MORE_PAGES = 100  # a bound on the chain of `more` requests (each loads what one request may)
MAX_CONFIRM_STEPS = 200  # a bound on the chain of confirm steps (a big confirm goes on page by page)


class AppSession:
    """A browser-like session on the app: cookies, the page's CSRF token on unsafe requests, htmx headers."""

    def __init__(self, url: str):
        self.url, self.http, self.token = url, requests.Session(), None

    def csrf(self) -> str:
        page = self.http.get(self.url + "/__no_such_page__", timeout=30).text
        self.token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        return self.token

    def get(self, path, hx=False, **kwargs):
        return self.http.get(self.url + path, headers=HX if hx else {}, allow_redirects=False, timeout=120, **kwargs)

    def post(self, path, data=None, hx=False):
        headers = {"X-CSRFToken": self.token or self.csrf(), **(HX if hx else {})}
        return self.http.post(self.url + path, data=data or {}, headers=headers, allow_redirects=False, timeout=300)


def expect(response, status: int, what: str):
    if response.status_code != status:
        raise RuntimeError(f"{what}: HTTP {response.status_code}, expected {status}: {response.text[:300]!r}")
    return response


def set_up_account(app: AppSession) -> int:
    """Register, connect Clockify (the sandbox key), a USD customer and a draft: the invoice id."""
    expect(app.post("/register", {"display_name": "Bench", "email": "bench@example.com", "password": PASSWORD,
                                  "confirm": PASSWORD}), 303, "register")
    app.csrf()
    expect(app.post("/settings/integrations/clockify/new", {"name": "Clockify", "description": "", "region": "global",
                                                            "subdomain": "", "api_key": MAIN_KEY}), 303, "connect")
    expect(app.post("/customers/new", {"name": "Northwind", "currency": "USD"}), 303, "customer")
    page = app.get("/invoices/new").text
    customer_id = re.search(r'<option[^>]*value="(\d+)"', page).group(1)
    created = expect(app.post("/invoices/new", {"customer_id": customer_id}), 303, "new invoice")
    return int(created.headers["Location"].rstrip("/").split("/")[-1])


class RssSampler:
    """Samples a process's VmRSS every 10 ms in a thread; VmHWM is read at the end too."""

    def __init__(self, child):
        self.child, self.peak_kb, self._stop = child, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, self.child.status("VmRSS"))
            except (OSError, KeyError):
                return
            self._stop.wait(0.01)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join(5)


@dataclass
class ImportResult:
    entries_in_preview: int = 0
    calls: int = 0
    calls_by_kind: dict = field(default_factory=dict)
    status_429: int = 0
    whole_s: float = 0.0  # start -> lines committed, every request between ("Show the lines" too)
    setup_s: float = 0.0  # start + filters (workspaces, clients/projects/members: cold cache)
    preview_s: float = 0.0  # preview asked -> every `more` page shown
    first_page_s: float = 0.0
    more_s: list = field(default_factory=list)
    confirm_s: float = 0.0
    confirm_requests: int = 0
    longest_request_s: float = 0.0  # the longest single request of the import (each must stay under 10 s)
    longest_request: str = ""  # which one it was
    confirm_steps_s: list = field(default_factory=list)  # each confirm request, the first included
    lines_s: float = 0.0  # "Show the lines" (all, by project) -> the lines listed, every request of it
    lines_steps_s: list = field(default_factory=list)  # each "Show the lines" request, the first included
    preview_cpu_s: float = 0.0  # CPU seconds the app process used from "preview" to the whole preview
    sandbox_cpu_s: float = 0.0  # the same for the sandbox process (None when it was not given)

    def timed(self, what: str, seconds: float) -> None:
        """Keep the longest single request, and which it was."""
        if seconds > self.longest_request_s:
            self.longest_request_s, self.longest_request = seconds, what
    lines: int = 0
    imported: int = 0
    baseline_rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    hwm_mb: float = 0.0
    hwm_reset: bool = False


def sandbox_log(sandbox_url: str) -> list[dict]:
    return requests.get(sandbox_url + "/__sandbox/requests", timeout=30).json()


def clear_sandbox_log(sandbox_url: str) -> None:
    requests.delete(sandbox_url + "/__sandbox/requests", timeout=30)


def kind_of(path: str) -> str:
    if path.endswith("/reports/detailed"):
        return "report"
    return path.rstrip("/").rsplit("/", 1)[-1]


def run_import(app_url: str, sandbox_url: str, app_child, billable_only: bool = False,
               dates: dict = MONTH, sandbox_child=None) -> ImportResult:
    """The wizard, as a browser drives it: start -> filters -> preview -> `more` until the loader stops
    -> confirm (selection "all", one line per project) and its further steps until the lines are in.
    Cold cache: the connection is new."""
    result = ImportResult()
    app = AppSession(app_url)
    invoice_id = set_up_account(app)
    base = f"/invoices/{invoice_id}/import"
    time.sleep(1.1)  # let the verify call (GET /user) leave the sandbox's one-second window
    clear_sandbox_log(sandbox_url)
    result.baseline_rss_mb = app_child.status("VmRSS") / 1024
    # Start the high-water mark afresh: registration and the module-level dummy password hash (scrypt,
    # 32 MB for an instant) would otherwise count as the import's peak.
    result.hwm_reset = app_child.reset_hwm()

    with RssSampler(app_child) as sampler:
        began = time.perf_counter()
        start = expect(app.get(base, hx=True), 200, "wizard start")
        connection = re.search(r'name="connection" value="(\d+)"', start.text).group(1)
        expect(app.get(f"{base}/filters", hx=True, params={"connection": connection, "workspace": ACME_ID}),
               200, "filters")
        result.setup_s = time.perf_counter() - began

        form = {"connection": connection, "workspace": ACME_ID, "submitted": "1", "hide_imported": "on", **dates}
        if billable_only:
            form["billable"] = "on"
        asked, cpu = time.perf_counter(), (app_child.cpu_seconds(), sandbox_child and sandbox_child.cpu_seconds())
        marks = [("preview", time.time())]
        page = expect(app.post(f"{base}/preview", form, hx=True), 200, "preview").text
        result.first_page_s = time.perf_counter() - asked
        marks.append(("first page shown", time.time()))
        result.timed("preview (first page)", result.first_page_s)
        token = re.search(r"/import/([\w-]+)/lines", page).group(1)
        for _ in range(MAX_MORE_PAGES):
            # The loader re-arms itself (hx-trigger="load") until the preview is complete.
            more = re.search(r'id="loader"[^>]*hx-post="([^"]+/more)"[^>]*hx-trigger="load"', page)
            if not more:
                break
            sent = time.perf_counter()
            page = expect(app.post(more.group(1), hx=True), 200, "more").text
            result.more_s.append(time.perf_counter() - sent)
            marks.append((f"more #{len(result.more_s)} sent", time.time() - result.more_s[-1]))
            marks.append((f"more #{len(result.more_s)} shown", time.time()))
            result.timed(f"more #{len(result.more_s)}", result.more_s[-1])
        else:
            raise RuntimeError("the preview never completed")
        result.preview_s = time.perf_counter() - asked
        # CPU seconds do not depend on what else the machine runs, as the wall-clock figures do.
        result.preview_cpu_s = app_child.cpu_seconds() - cpu[0]
        result.sandbox_cpu_s = sandbox_child and sandbox_child.cpu_seconds() - cpu[1]
        loaded = re.search(r"All (\d+) entries loaded", page)
        if not loaded:
            raise RuntimeError(f"the preview stopped before the end: {page[-500:]!r}")
        result.entries_in_preview = int(loaded.group(1))

        options = {"selection": "all", "grouping": "project", "rounding_minutes": "0", "rounding_direction": "up",
                   "details": ["project"], "unit": "h", "max_description": "300", "fallback_rate": "90"}
        lines_began = time.perf_counter()
        shown = show_the_lines(app, f"{base}/{token}/lines", options, result)
        result.lines_s = time.perf_counter() - lines_began
        if not re.search(r"\d+ lines? from \d+ entr", shown):
            raise RuntimeError(f"Show the lines listed no lines: {shown[:300]!r}")
        sent = time.perf_counter()
        done = expect(app.post(f"{base}/{token}/confirm", options, hx=True), 200, "confirm").text
        result.confirm_requests = 1
        result.confirm_steps_s.append(time.perf_counter() - sent)
        result.timed("confirm", result.confirm_steps_s[-1])
        while result.confirm_requests < MAX_CONFIRM_STEPS:
            # A confirm too big for one request shows its progress and asks for the next step (hx-trigger="load").
            step = re.search(r'id="confirm-progress" hx-post="([^"]+)"', done)
            if not step:
                break
            stepped = time.perf_counter()
            done = expect(app.post(step.group(1), hx=True), 200, "confirm step").text
            result.confirm_requests += 1
            result.confirm_steps_s.append(time.perf_counter() - stepped)
            result.timed(f"confirm step {result.confirm_requests}", result.confirm_steps_s[-1])
        result.confirm_s = time.perf_counter() - sent
        result.whole_s = time.perf_counter() - began  # every request from start to committed, as issue 15 measures
        imported = re.search(r"Imported (\d+) entr\w+ as (\d+) lines?", done)
        if not imported:
            raise RuntimeError(f"confirm did not import: {done[:300]!r}")
        result.imported, result.lines = int(imported.group(1)), int(imported.group(2))
    result.peak_rss_mb = sampler.peak_kb / 1024
    result.hwm_mb = app_child.status("VmHWM") / 1024 if result.hwm_reset else result.peak_rss_mb

    log = sandbox_log(sandbox_url)
    result.calls = len(log)
    for record in log:
        kind = kind_of(record["path"])
        result.calls_by_kind[kind] = result.calls_by_kind.get(kind, 0) + 1
    result.status_429 = sum(1 for record in log if record.get("status") == 429)
    if os.environ.get("HOURBILL_BENCH_TIMELINE"):  # where the preview's seconds go: calls against browser requests
        reports = sorted(record["at"] for record in log if kind_of(record["path"]) == "report")
        events = sorted([(at, what) for what, at in marks] + [(at, f"report {n + 1}") for n, at in enumerate(reports)])
        for at, what in events:
            print(f"timeline {at - marks[0][1]:7.3f} {what}", file=sys.stderr)
    return result


def show_the_lines(app: AppSession, url: str, options: dict, result: ImportResult) -> str:
    """"Show the lines" as the browser sends it, and each further step its progress asks for (a plan too
    big for one request goes on page by page, carrying its run); each request timed. The last answer."""
    run = None
    while len(result.lines_steps_s) < MAX_CONFIRM_STEPS:
        sent = time.perf_counter()
        shown = expect(app.post(url, {**options, **({"plan_run": run} if run else {})}, hx=True), 200,
                       "show the lines").text
        result.lines_steps_s.append(time.perf_counter() - sent)
        result.timed(f"show the lines{f' step {len(result.lines_steps_s)}' if run else ''}", result.lines_steps_s[-1])
        step = re.search(r'id="plan-progress"[^>]*hx-vals=\'\{"plan_run": "([\w-]+)"\}\'', shown)
        if not step:
            return shown
        run = step.group(1)
    raise RuntimeError("Show the lines never finished")


# --- the connector-style fetch -----------------------------------------------------------------------


class Pacer:
    """At most `per_second` requests in any one-second window (what a well-behaved connector does)."""

    def __init__(self, per_second: int = 10):
        self.per_second, self.sent = per_second, []

    def wait(self):
        now = time.monotonic()
        self.sent = [at for at in self.sent if at > now - 1.0]
        if len(self.sent) >= self.per_second:
            time.sleep(max(0.0, self.sent[0] + 1.0 - now))
        self.sent.append(time.monotonic())


@dataclass
class ConnectorResult:
    calls: int = 0
    status_429: int = 0
    seconds: float = 0.0
    entries: int = 0
    projects: int = 0
    clients: int = 0
    members: int = 0


def connector_fetch(api_url: str, sandbox_url: str, page_size: int = 50, max_calls: int = 2000) -> ConnectorResult:
    """Members (to know whose entries to read), then each member's time entries for the month, then every
    project and client: GET, `page-size` 50, pages until Last-Page, paced at 10/s, 429s retried."""
    result = ConnectorResult()
    http = requests.Session()
    http.headers.update({"X-Api-Key": MAIN_KEY, "Accept": "application/json"})
    pacer = Pacer(10)
    ws = f"/workspaces/{ACME_ID}"

    def all_pages(path: str, **params) -> list:
        items, page = [], 1
        while result.calls < max_calls:
            pacer.wait()
            result.calls += 1
            response = http.get(api_url + path, params={**params, "page": page, "page-size": page_size}, timeout=30)
            if response.status_code == 429:
                result.status_429 += 1
                time.sleep(1.0)
                continue
            response.raise_for_status()
            chunk = response.json()
            items += chunk
            if response.headers.get("Last-Page") == "true" or len(chunk) < page_size:
                return items
            page += 1
        raise RuntimeError("connector-style fetch exceeded its call bound")

    time.sleep(1.1)  # a fresh one-second window at the sandbox
    clear_sandbox_log(sandbox_url)
    began = time.perf_counter()
    members = all_pages(f"{ws}/users")
    for member in members:
        result.entries += len(all_pages(f"{ws}/user/{member['id']}/time-entries",
                                        start="2025-10-01T00:00:00Z", end="2025-10-31T23:59:59Z"))
    result.projects = len(all_pages(f"{ws}/projects"))
    result.clients = len(all_pages(f"{ws}/clients"))
    result.seconds = time.perf_counter() - began
    result.members = len(members)
    logged = len(sandbox_log(sandbox_url))
    result.calls = max(result.calls, logged)  # the sandbox's log is the authority
    return result
