"""Clockify faults at Verify & Save and at every wizard step that talks to Clockify (issue 6, "The
hostile-input suite"), injected from the sandbox: a matrix of FAULTS x STEPS.

Faults (20): 401 code 4003, 401 code 1000, 403, 400 code 501, 404 code 3000, 405 code 3000, 429 with
Retry-After, 429 without, 500, 502, 503, a timeout (a delay past the read timeout), a refused connection
(a closed port), a dropped connection, a redirect, malformed JSON, an HTML error page (502), an HTML page
with 200, a truncated body, an empty body.

Steps (11): Verify & Save (GET /user), Update key (GET /user), start (workspaces), filters (clients,
projects, members: one step each), preview (the report; and the per-member entries it falls back to on
403), more (the next report page) with htmx and without JavaScript, lines and confirm with selection=all
on an incomplete preview (the rest of the report).

20 x 11 = 220 faults injected per run, plus one control per step (no fault: the step works and really
calls Clockify). Each must give: no 5xx but the wizard's deliberate 502 (429 when rate-limited), the fault
class's own message and no other's, a way to retry (the form again, "Try again", "Load the rest again", or
for a 401 the Update key link), nothing written (rows of every table compared; a 401 may only turn the
connection to "needs a new key", which it must), the key in no page or header, no redirect followed, and
nothing but reads sent to Clockify.

Speed: the client's retry backoff is set to zero and its own 10-a-second budget lifted (settings) (timing only:
the number of attempts is unchanged), the read timeout is 0.05 s for the timeout fault (TIMING_OUT: two
attempts, 0.1 s a step), each step reuses one logged-in app for all 20 faults, and each test starts from a
copy of the world the first one made (tests/prepared.py).
"""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, field
from html import unescape
from typing import Callable

import pytest

from extensions import db
from models import Business, ClockifyConnection, ImportPreview, User
from sandbox import ACME_ID, FREE_ID, MAIN_KEY, NORTHWIND_ID
from tests.fixtures import SLOW_ANSWER
from tests.prepared import Prepared


# The timeout fault: the sandbox holds its answer SLOW_ANSWER's 0.5 s, so any read timeout below that times
# out however loaded the machine; 0.05 s waits a tenth of tests/fixtures.py's TIMING_OUT on each of the two tries.
TIMING_OUT = (2.0, 0.05)  # connect, read
CLOSED_PORT = "http://127.0.0.1:9"  # nothing listens on port 9 (discard)
TIMEOUT = (2.0, 3.0)  # connect, read: roomy, so a loaded machine never turns a fault into a timeout
OCTOBER = {"range": "custom", "start": "2025-10-01", "end": "2025-10-31"}

# The phrase each class of failure must show, and no other class may.
PHRASES = {
    "forbidden": "Clockify refused this request",
    "bad request": "Clockify rejected the request as invalid",
    "not found": "Clockify does not know what Hourbill asked for",
    "rate limited, retry after": "try again in 2 minutes",
    "rate limited": "Free workspaces allow 30 API requests an hour",
    "server trouble": "Clockify is having trouble right now",
    "timeout": "Clockify took too long to answer",
    "unreachable": "could not reach Clockify",
    "redirect": "answered with a redirect",
    "unreadable": "sent an answer Hourbill could not read",
    "our bug": "did not receive exactly one API key",
}


@dataclass(frozen=True)
class Fault:
    name: str
    kind: str  # "invalid key" or a key of PHRASES
    inject: dict | None  # sandbox add_fault arguments; None: the refused connection (a closed port)


FAULTS = [
    Fault("401 code 4003", "invalid key", dict(kind="status", status=401)),
    Fault("401 code 1000", "our bug", dict(kind="status", status=401, code=1000,
                                               message="Multiple or no API keys sent")),
    Fault("403", "forbidden", dict(kind="status", status=403)),
    Fault("400 code 501", "bad request", dict(kind="status", status=400)),
    Fault("404 code 3000", "not found", dict(kind="status", status=404)),
    Fault("405 code 3000", "not found", dict(kind="status", status=405)),
    Fault("429 with Retry-After", "rate limited, retry after", dict(kind="status", status=429, retry_after=120)),
    Fault("429 without Retry-After", "rate limited", dict(kind="status", status=429)),
    Fault("500", "server trouble", dict(kind="status", status=500)),
    Fault("502", "server trouble", dict(kind="status", status=502)),
    Fault("503", "server trouble", dict(kind="status", status=503)),
    Fault("timeout", "timeout", SLOW_ANSWER),  # with TIMING_OUT
    Fault("refused connection", "unreachable", None),
    Fault("dropped connection", "unreachable", dict(kind="drop")),
    Fault("redirect", "redirect", dict(kind="redirect")),
    Fault("malformed JSON", "unreadable", dict(kind="malformed_json")),
    Fault("HTML error page", "server trouble", dict(kind="html")),
    Fault("HTML page with 200", "unreadable", dict(kind="html", status=200)),
    Fault("truncated body", "unreadable", dict(kind="truncated")),
    Fault("empty body", "unreadable", dict(kind="empty")),
]
INJECTED: dict[str, int] = {}  # step -> faults injected in this run


class World:
    """Ada, connected to the sandbox, with a draft for Northwind (USD), warm caches for Acme Studio and
    Side Gigs, and an incomplete preview (Side Gigs, Free plan: a 3-month range is 3 report windows and
    only the first is loaded)."""

    def __init__(self, app, client, running):
        self.app, self.client, self.running, self.sandbox = app, client, running, running.sandbox

    def rows(self) -> dict:
        """Every table's rows but the rate budget's, which every call to Clockify changes by design (on
        PostgreSQL it lives in this database), as the driver reads them (no type conversion: each stored value
        compared as it is stored)."""
        with self.app.app_context(), db.engine.connect() as connection:
            return {table.name: sorted(map(repr, connection.exec_driver_sql(f'SELECT * FROM "{table.name}"')))
                    for table in db.metadata.sorted_tables if table.name != "clockify_rate_budget"}

    def connection_status(self) -> str:
        with self.app.app_context():
            status = db.session.get(ClockifyConnection, self.connection_id).status
            db.session.remove()
            return status

    def set_connection_status(self, status: str) -> None:
        with self.app.app_context():
            db.session.get(ClockifyConnection, self.connection_id).status = status
            db.session.commit()

    def preview_state(self) -> tuple:
        with self.app.app_context():
            preview = db.session.scalar(db.select(ImportPreview).where(ImportPreview.token == self.token))
            state = (preview.complete, preview.pages_loaded, preview.entry_count, preview.confirmed_at)
            db.session.remove()
            return state

    def point_at(self, root: str) -> None:
        self.app.config.update(HOURBILL_CLOCKIFY_API_URL=root + "/api/v1",
                               HOURBILL_CLOCKIFY_REPORTS_URL=root + "/report/v1")


# The world as the first test made it (tests/prepared.py): a later test starts from its copy, ~0.35 s of CPU
# less than connecting, loading the filters twice and a three-window preview again.
WORLD = Prepared()


@pytest.fixture
def world(app, client, logged_in, clockify_sandbox, tmp_path_factory) -> World:
    # timing only (the number of attempts is unchanged): retries at once, the key's budget lifted
    app.config.update(HOURBILL_CLOCKIFY_RETRY_BACKOFF=0.0, HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND=1000)
    clockify_sandbox.sandbox.rate_limit = None  # the sandbox fixture puts the knobs back afterwards
    clockify_sandbox.sandbox.free_calls_per_hour = 10**6
    world = World(app, client, clockify_sandbox)
    world.point_at(clockify_sandbox.url)
    app.config["HOURBILL_CLOCKIFY_TIMEOUT"] = TIMEOUT
    kept = WORLD.restore(app, client, made_for=clockify_sandbox.url)
    if kept is not None:
        for name, value in kept.items():
            setattr(world, name, value)
        return world
    with app.app_context():
        db.session.scalar(db.select(User)).time_zone = "UTC"
        db.session.scalar(db.select(Business)).default_hourly_rate_minor = 9000
        db.session.commit()
    connect = {"name": "Agency", "description": "", "region": "global", "subdomain": "", "api_key": MAIN_KEY}
    assert client.post("/settings/integrations/clockify/new", data=connect).status_code == 303
    with app.app_context():
        world.connection_id = db.session.scalar(db.select(ClockifyConnection.id))
    world.invoice_id = logged_in.invoice(logged_in.customer("Northwind", "USD"))
    world.base = f"/invoices/{world.invoice_id}/import"
    assert client.get(world.base, hx=True).status_code == 200
    for workspace in (ACME_ID, FREE_ID):
        query = {"connection": world.connection_id, "workspace": workspace}
        assert client.get(f"{world.base}/filters", query_string=query, hx=True).status_code == 200
    preview = client.post(f"{world.base}/preview", hx=True, data={
        "connection": world.connection_id, "workspace": FREE_ID, "submitted": "1", "hide_imported": "on",
        "range": "custom", "start": "2025-09-01", "end": "2025-11-30"})
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    world.token = re.search(r"/import/([\w-]+)/lines", preview.get_data(as_text=True)).group(1)
    assert world.preview_state()[0] is False  # incomplete: the other windows load later
    WORLD.keep(app, client, made_for=clockify_sandbox.url, values={
        name: getattr(world, name) for name in ("connection_id", "invoice_id", "base", "token")},
        tmp_path_factory=tmp_path_factory)
    return world


# --- the steps -------------------------------------------------------------------------------------------

OPTIONS = {"grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up", "details": ["date", "project"],
           "unit": "h", "max_description": "300"}


@dataclass(frozen=True)
class Step:
    name: str
    paths: tuple[str, ...]  # sandbox path globs the fault is injected on
    send: Callable[[World], object]
    kind: str  # "form": a whole page with the form again; "wizard": the wizard's error; "loader": htmx rows
    works: Callable[[World, object], bool] = field(default=lambda world, response: response.status_code == 200)


REPORT = ("*/reports/detailed",)
STEPS = [
    Step("verify & save", ("/api/v1/user",), lambda w: w.client.post("/settings/integrations/clockify/new", data={
        "name": "Agency", "description": "Main", "region": "global", "subdomain": "", "api_key": MAIN_KEY}),
        "form", works=lambda w, r: r.status_code == 303),
    Step("update key", ("/api/v1/user",), lambda w: w.client.post(
        f"/settings/integrations/clockify/{w.connection_id}/key", data={"api_key": MAIN_KEY}),
        "form", works=lambda w, r: r.status_code == 303),
    Step("start: workspaces", ("*/workspaces",),
         lambda w: w.client.get(w.base, query_string={"refresh": "1"}, hx=True), "wizard",
         works=lambda w, r: r.status_code == 200 and "Acme Studio" in r.get_data(as_text=True)),
    *[Step(f"filters: {label}", (f"*/workspaces/*/{path}",), lambda w: w.client.get(
        f"{w.base}/filters", query_string={"connection": w.connection_id, "workspace": ACME_ID, "refresh": "1"},
        hx=True), "wizard", works=lambda w, r: r.status_code == 200 and "Northwind" in r.get_data(as_text=True))
      for label, path in (("clients", "clients"), ("projects", "projects"), ("members", "users"))],
    Step("preview: report", REPORT + ("*/time-entries",), lambda w: w.client.post(f"{w.base}/preview", hx=True, data={
        "connection": w.connection_id, "workspace": ACME_ID, "submitted": "1", "billable": "on",
        "hide_imported": "on", "client": NORTHWIND_ID, **OCTOBER}), "wizard",
        works=lambda w, r: r.status_code == 200 and 'name="entry"' in r.get_data(as_text=True)),
    Step("more (htmx)", REPORT, lambda w: w.client.post(f"{w.base}/{w.token}/more", hx=True), "loader",
         works=lambda w, r: r.status_code == 200 and w.preview_state()[0] is True),  # the rest, at once
    Step("more (no JavaScript)", REPORT, lambda w: w.client.post(f"{w.base}/{w.token}/more"), "wizard",
         works=lambda w, r: r.status_code == 200 and w.preview_state()[1] == 2),
    Step("lines: all of an incomplete preview", REPORT, lambda w: w.client.post(
        f"{w.base}/{w.token}/lines", data={"selection": "all", **OPTIONS}, hx=True), "wizard",
        works=lambda w, r: r.status_code == 200 and w.preview_state()[0] is True),
    Step("confirm: all of an incomplete preview", REPORT, lambda w: w.client.post(
        f"{w.base}/{w.token}/confirm", data={"selection": "all", **OPTIONS}, hx=True), "wizard",
        works=lambda w, r: r.status_code == 200 and "Imported" in r.get_data(as_text=True)),
]



def _inject(world: World, fault: Fault, step: Step) -> None:
    if fault.kind == "timeout":
        world.app.config["HOURBILL_CLOCKIFY_TIMEOUT"] = TIMING_OUT
    if fault.inject is None:
        world.point_at(CLOSED_PORT)
        return
    for path in step.paths:
        world.sandbox.add_fault(path=path, **fault.inject)


def _text(response) -> str:
    return unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _check(world: World, step: Step, fault: Fault, response, before: dict, requests_before: int) -> None:
    where = f"{step.name} / {fault.name}"
    html = response.get_data(as_text=True)
    text = " ".join(_text(response).split())
    status = response.status_code

    # no 5xx but the wizard's deliberate ones
    # htmx only swaps 2xx and 422 answers, so the wizard answers htmx with 200 and its message
    htmx = response.request.headers.get("HX-Request") == "true"
    expected = {"form": {422}, "loader": {200},
                "wizard": {200} if htmx else {429} if fault.kind.startswith("rate limited") else {502}}[step.kind]
    assert status in expected, (where, status, text[:300])

    # the fault class's own message, and no other class's
    if fault.kind == "invalid key":
        phrase = {"form": "API key is invalid or expired", "wizard": "no longer accepts the key",
                  "loader": "API key"}[step.kind]
    else:
        phrase = PHRASES[fault.kind]
    assert phrase in text, (where, phrase, text[:400])
    for other, other_phrase in PHRASES.items():
        if other != fault.kind:
            assert other_phrase not in text, (where, "also says", other_phrase)

    # a way to retry
    update_key = f"/settings/integrations/clockify/{world.connection_id}/key"
    if step.kind == "form":
        assert "Verify &amp; Save</button>" in html and 'name="api_key"' in html, where
        assert "Nothing was saved" in text, where
    elif step.kind == "loader":
        assert "Load the rest again" in html, where
    elif fault.kind == "invalid key":
        assert f'href="{update_key}"' in html, where
    else:
        assert re.search(r'<a href="[^"]+">Try again</a>', html), where

    # a 401 in the wizard: the connection needs a new key, and the integrations page says so
    if fault.kind == "invalid key" and step.kind != "form":
        assert world.connection_status() == "invalid", where
        if step.kind == "loader":
            assert f'href="{update_key}"' in html, where
        settings = world.client.get("/settings/integrations").get_data(as_text=True)
        assert "Needs a new key" in settings and update_key in settings, where
        world.set_connection_status("active")

    # nothing written
    after = world.rows()
    assert after == before, (where, "the database changed")

    # the key nowhere; no redirect followed; only reads sent, and the fault really hit the step's path
    assert MAIN_KEY not in html and MAIN_KEY not in str(response.headers), where
    calls = world.sandbox.requests[requests_before:]
    assert not [call for call in calls if call.path.startswith("/__sandbox")], (where, "followed a redirect")
    assert all(call.method == "GET" or call.path.endswith("/reports/detailed") for call in calls), where
    if fault.inject is not None:
        assert any(fnmatch.fnmatchcase(call.path, path) for call in calls for path in step.paths), (where, "not hit")
    else:
        assert not calls, where


@pytest.mark.parametrize("step", STEPS, ids=[step.name for step in STEPS])
def test_every_clockify_fault_at_this_step_has_its_message_a_retry_and_writes_nothing(world, step):
    before = world.rows()  # each fault's check finds the rows unchanged, so this is every fault's "before"
    for fault in FAULTS:
        requests_before = len(world.sandbox.requests)
        _inject(world, fault, step)
        try:
            response = step.send(world)
        finally:
            world.sandbox.clear_faults()
            world.point_at(world.running.url)
            world.app.config["HOURBILL_CLOCKIFY_TIMEOUT"] = TIMEOUT
        INJECTED[step.name] = INJECTED.get(step.name, 0) + 1
        _check(world, step, fault, response, before, requests_before)
    assert INJECTED[step.name] == len(FAULTS)

    # The control: without a fault the same step works, so every fault above hit a live step.
    world.sandbox.clear_requests()
    response = step.send(world)
    assert step.works(world, response), (step.name, response.status_code, _text(response)[:400])
    assert any(fnmatch.fnmatchcase(call.path, path) for call in world.sandbox.requests
               for path in step.paths), step.name


# --- the gaps the matrix found (fixed; kept as regression tests) -----------------------------------------


@pytest.mark.parametrize("fault", [FAULTS[0], FAULTS[7], FAULTS[10], FAULTS[11]], ids=lambda fault: fault.name)
def test_the_browser_shows_the_wizards_clockify_message(world, fault):
    page = world.client.get(f"/invoices/{world.invoice_id}").get_data(as_text=True)
    config = json.loads(unescape(re.search(r'name="htmx-config" content=\'([^\']+)\'', page).group(1)))

    def swapped(status: int) -> bool:  # htmx 2: the first rule whose code matches decides
        for rule in config["responseHandling"]:
            if re.search(rule["code"], str(status)):
                return bool(rule["swap"])
        return False

    _inject(world, fault, STEPS[2])
    response = STEPS[2].send(world)
    assert swapped(response.status_code), response.status_code


def test_a_401_while_loading_more_links_to_update_key(world):
    world.sandbox.add_fault(path="*/reports/detailed", kind="status", status=401)
    html = world.client.post(f"{world.base}/{world.token}/more", hx=True).get_data(as_text=True)
    assert world.connection_status() == "invalid"
    assert f"/settings/integrations/clockify/{world.connection_id}/key" in html


def test_a_401_with_code_1000_says_it_is_not_the_keys_fault(world):
    world.sandbox.add_fault(path="/api/v1/user", kind="status", status=401, code=1000)
    connect = {"name": "Agency", "region": "global", "api_key": MAIN_KEY}
    page = _text(world.client.post("/settings/integrations/clockify/new", data=connect))
    world.sandbox.clear_faults()
    world.sandbox.add_fault(path="*/workspaces", kind="status", status=401, code=1000)
    wizard = _text(world.client.get(world.base, query_string={"refresh": "1"}, hx=True))
    for text in (page, wizard):
        assert "code 1000" in text or "exactly one API key" in text, text[-600:]


def test_a_401_at_the_preview_step_writes_no_preview_and_no_client_link(world):
    from models import Customer

    world.sandbox.add_fault(path="*/reports/detailed", kind="status", status=401)
    response = world.client.post(f"{world.base}/preview", hx=True, data={
        "connection": world.connection_id, "workspace": ACME_ID, "submitted": "1", "billable": "on",
        "client": NORTHWIND_ID, "link_client": "1", **OCTOBER})
    assert response.status_code == 200 and world.connection_status() == "invalid"  # htmx: 200 with the message
    with world.app.app_context():
        previews = db.session.scalar(db.select(db.func.count(ImportPreview.id)))
        links = db.session.scalars(db.select(Customer.clockify_client_id)).all()
    assert links == [None], links
    assert previews == 1, previews  # the incomplete preview the world made, and no other


def test_clockify_down_at_the_preview_step_writes_no_preview_and_no_client_link(world):
    """Not a 401 (no connection to mark): the view's one unit of work rolls back what the step began."""
    from models import Customer

    world.sandbox.add_fault(path="*/reports/detailed", kind="status", status=503)
    response = world.client.post(f"{world.base}/preview", hx=True, data={
        "connection": world.connection_id, "workspace": ACME_ID, "submitted": "1", "billable": "on",
        "client": NORTHWIND_ID, "link_client": "1", **OCTOBER})
    assert response.status_code == 200 and "Try again" in _text(response)
    with world.app.app_context():
        previews = db.session.scalar(db.select(db.func.count(ImportPreview.id)))
        links = db.session.scalars(db.select(Customer.clockify_client_id)).all()
    assert links == [None], links
    assert previews == 1, previews  # the incomplete preview the world made, and no other
    assert world.connection_status() == "active"
