"""Unbilled Clockify time on the dashboard, against a sandbox holding last month's entries: fetched only on
Refresh (never on a page view), one report call per workspace, what an import bills drops out at once,
one click opens a new draft with the wizard filled in, and two refreshes at once ask Clockify once."""
from __future__ import annotations

import re
from contextlib import ExitStack
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from extensions import db
from models import Business, ClockifyConnection, Customer, ImportedEntry, Invoice, LineItem, UnbilledTime, User
from sandbox import ACME_ID, FREE_ID, NORTHWIND_ID, create_sandbox
from tests.clock import a_day_on, today  # noqa: F401  (fixtures)
from tests.test_concurrency import _all_at_once, _copies, _session
from tests.test_connections import connect


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def since(today) -> date:
    """The first of last month, where the dashboard counts from unless told otherwise."""
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


@pytest.fixture(scope="module")
def recent_sandboxes():
    """Sandboxes by seeded month (the session's one holds October 2025), each made when first asked for: one,
    or two in a run that crosses into a new month."""
    with ExitStack() as stack:
        yield _Sandboxes(stack)


class _Sandboxes(dict):
    def __init__(self, stack: ExitStack):
        super().__init__()
        self.stack = stack

    def __missing__(self, month: str):
        self[month] = self.stack.enter_context(create_sandbox(month=month).serve_in_thread())
        return self[month]


@pytest.fixture
def sandbox(app, recent_sandboxes, since):
    """A sandbox whose seeded month is last month."""
    recent_sandbox = recent_sandboxes[since.strftime("%Y-%m")]
    recent_sandbox.sandbox.reset()
    recent_sandbox.sandbox.rate_limit = None  # timing only: no test here is about the 10 a second (reset restores it)
    app.config.update(HOURBILL_CLOCKIFY_API_URL=recent_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=recent_sandbox.reports_url, HOURBILL_CLOCKIFY_TIMEOUT=(2.0, 5.0),
                      HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND=1000)
    yield recent_sandbox
    recent_sandbox.sandbox.reset()


def _link_northwind(app) -> int:
    """Ada's business: UTC, a default rate of 90 USD, and Northwind (USD) linked to its Clockify client."""
    with app.app_context():
        db.session.scalar(db.select(User)).time_zone = "UTC"
        business = db.session.scalar(db.select(Business))
        business.default_hourly_rate_minor, business.default_currency = 9000, "USD"
        customer = Customer(business_id=business.id, name="Northwind", currency="USD", clockify_client_id=NORTHWIND_ID)
        db.session.add(customer)
        db.session.commit()
        return customer.id


@pytest.fixture
def ada(app, client, logged_in, sandbox):
    assert connect(client).status_code == 303
    customer_id = _link_northwind(app)
    sandbox.sandbox.clear_requests()
    return customer_id


def _northwind_seconds(sandbox, since: date, today: date) -> int:
    """What the sandbox holds for Northwind from since to today: billable work entries with time, counted from its
    own data (not through Hourbill)."""
    workspace = sandbox.sandbox.world.workspaces[ACME_ID]
    projects = {project.id for project in workspace.projects if project.client_id == NORTHWIND_ID}
    start = datetime.combine(since, datetime.min.time(), timezone.utc)
    until = datetime.combine(today + timedelta(days=1), datetime.min.time(), timezone.utc)
    return sum(entry.seconds for entry in workspace.entries
               if entry.project_id in projects and entry.billable and entry.type == "REGULAR" and entry.seconds
               and start <= entry.start < until)


def _row(html: str, customer_id: int) -> str:
    return words(re.search(rf'<tr data-customer="{customer_id}">(.*?)</tr>', html, re.S).group(1))


def _refresh(client, since: date):
    return client.post("/dashboard/unbilled/refresh", data={"since": since.isoformat()})


def test_refresh_shows_the_billable_hours_on_no_invoice_and_page_views_never_ask_clockify(client, ada, sandbox,
                                                                                          since, today):
    before = client.get("/").get_data(as_text=True)
    assert "Not fetched yet" in before and sandbox.sandbox.requests == []

    assert _refresh(client, since).status_code == 303
    reports = sandbox.sandbox.calls("*/reports/detailed")
    html = client.get("/").get_data(as_text=True)
    hours = (Decimal(_northwind_seconds(sandbox, since, today)) / 3600).quantize(Decimal("0.01"))
    assert hours > 0 and f"{hours}" in _row(html, ada) and "Acme Studio" in _row(html, ada)
    assert f"since {since.isoformat()}" in words(html)

    calls = len(sandbox.sandbox.requests)
    for _ in range(3):
        client.get("/")
    assert len(sandbox.sandbox.requests) == calls  # a page view reads the database only
    assert len(reports) >= 1 and all(call.method == "POST" for call in reports)


def test_a_refresh_asks_each_workspace_once_and_none_whose_clients_are_known_not_to_be_linked(client, ada, app,
                                                                                               sandbox, logged_in,
                                                                                               since):
    # The wizard has cached the client lists of Acme (which holds Northwind) and of the Free workspace
    # (which does not): the refresh skips the Free one and asks Acme for Northwind only.
    invoice_id = logged_in.invoice(ada)
    for workspace in (ACME_ID, FREE_ID):
        client.get(f"/invoices/{invoice_id}/import/filters", query_string={
            "connection": _connection_id(app), "workspace": workspace})
    sandbox.sandbox.clear_requests()
    _refresh(client, since)
    calls = sandbox.sandbox.requests
    reports = [call.path.split("/")[-3] for call in calls if call.path.endswith("/reports/detailed")]
    assert len(calls) == len(reports) == len(set(reports)) and FREE_ID not in reports and ACME_ID in reports
    acme = next(call for call in calls if ACME_ID in call.path)
    assert acme.json["clients"]["ids"] == [NORTHWIND_ID] and acme.json["detailedFilter"]["pageSize"] == 1000
    with app.app_context():
        assert db.session.scalar(db.select(UnbilledTime.calls)) == len(reports)


@pytest.mark.usefixtures("a_day_on")  # the run crossed midnight UTC after this module was imported
def test_a_free_workspace_is_asked_in_31_day_windows_and_a_range_too_long_for_it_is_said(client, ada, sandbox,
                                                                                        app, today):
    sandbox.sandbox.free_plan = True  # every workspace answers a window over 31 days with a 400
    since = today - timedelta(days=70)
    _refresh(client, since)
    acme = [call.json for call in sandbox.sandbox.calls(f"*/{ACME_ID}/reports/detailed")]
    windows = sorted({(body["dateRangeStart"][:10], body["dateRangeEnd"][:10]) for body in acme})  # pages apart
    kept = [(start, end) for start, end in windows if (date.fromisoformat(end) - date.fromisoformat(start)).days < 31]
    assert windows[0][0] == since.isoformat() and kept[-1][1] == today.isoformat() and len(kept) == 3, windows
    assert "Acme Studio" in _row(client.get("/").get_data(as_text=True), ada)

    _a_minute_later(app)
    _refresh(client, today - timedelta(days=365))  # twelve windows: more than a refresh may spend
    page = words(client.get("/").get_data(as_text=True))
    assert "would take more than 10 report calls" in page and "choose a later date" in page


def test_what_an_import_bills_leaves_the_unbilled_time_at_once_and_the_amount_is_what_it_bills(client, ada, app,
                                                                                              sandbox, since, today):
    _refresh(client, since)
    shown = _row(client.get("/").get_data(as_text=True), ada)
    amount = Decimal(re.search(r"\$([\d,]+\.\d\d)", shown).group(1).replace(",", ""))

    # One click: a new draft whose wizard opens on Northwind's client and the same dates.
    opened = client.post(f"/dashboard/unbilled/{ada}/bill", data={
        "connection": _connection_id(app), "workspace": ACME_ID, "since": since.isoformat()})
    assert opened.status_code == 303
    wizard = opened.headers["Location"]
    assert "/import/filters?" in wizard and f"client={NORTHWIND_ID}" in wizard and f"start={since}" in wizard
    page = client.get(wizard).get_data(as_text=True)
    assert f'value="{since.isoformat()}"' in page and f'value="{today.isoformat()}"' in page
    assert re.search(rf'<option[^>]*value="{NORTHWIND_ID}"[^>]*selected', page) or \
        re.search(rf'<option[^>]*selected[^>]*value="{NORTHWIND_ID}"', page)

    invoice_id = int(re.search(r"/invoices/(\d+)/import", wizard).group(1))
    preview = client.post(f"/invoices/{invoice_id}/import/preview", hx=True, data={
        "connection": _connection_id(app), "workspace": ACME_ID, "client": NORTHWIND_ID, "submitted": "1",
        "billable": "on", "hide_imported": "on", "range": "custom", "start": since.isoformat(),
        "end": today.isoformat()})
    token = re.search(r"/import/([\w-]+)/lines", preview.get_data(as_text=True)).group(1)
    done = client.post(f"/invoices/{invoice_id}/import/{token}/confirm", hx=True, data={
        "selection": "all", "grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up",
        "details": ["date"], "unit": "h", "max_description": "300"})
    assert done.status_code == 200
    with app.app_context():
        billed = db.session.scalar(db.select(db.func.sum(LineItem.amount_minor)).where(LineItem.invoice_id == invoice_id))
    assert Decimal(billed) / 100 == amount  # what the dashboard said is what the invoice bills

    calls = len(sandbox.sandbox.requests)
    after = _row(client.get("/").get_data(as_text=True), ada)
    assert "Nothing unbilled found" in after and len(sandbox.sandbox.requests) == calls


def test_a_second_refresh_within_30_seconds_asks_nothing_and_says_why(client, ada, sandbox, since):
    _refresh(client, since)
    calls = len(sandbox.sandbox.requests)
    again = client.post("/dashboard/unbilled/refresh", data={"since": since.isoformat()}, follow_redirects=True)
    assert "less than 30 seconds ago" in again.get_data(as_text=True) and len(sandbox.sandbox.requests) == calls


def test_a_date_that_cannot_be_counted_from_is_a_message_and_nothing_is_asked(client, ada, sandbox, today):
    for typed, said in [("", "Enter the date"), ("yesterday", "Enter the date"),
                        ((today + timedelta(days=3)).isoformat(), "in the past"),
                        ((today - timedelta(days=400)).isoformat(), "at most a year")]:
        page = client.post("/dashboard/unbilled/refresh", data={"since": typed}, follow_redirects=True)
        assert page.status_code == 200 and said in page.get_data(as_text=True), typed
    assert sandbox.sandbox.requests == []


def test_clockify_refusing_the_key_is_said_on_the_page_and_the_next_refresh_may_try_again(client, ada, app, sandbox,
                                                                                         since):
    from sandbox import MAIN_KEY

    sandbox.sandbox.regenerate_key(MAIN_KEY)
    page = _refresh(client, since).headers["Location"]
    text = words(client.get(page).get_data(as_text=True))
    assert "Clockify:" in text and "key" in text.lower()
    with app.app_context():
        row = db.session.scalar(db.select(UnbilledTime))
        assert row is None or row.refreshing_until is None  # no claim left behind


def test_a_viewer_sees_the_figures_but_may_not_refresh(client, ada, accounts, app, sandbox, since):
    _refresh(client, since)
    accounts.logout()
    accounts.add_member("vic@example.com", "viewer")
    accounts.login("vic@example.com")
    html = client.get("/").get_data(as_text=True)
    assert "Unbilled Clockify time" in html and "/dashboard/unbilled/refresh" not in html
    assert client.post("/dashboard/unbilled/refresh", data={"since": since.isoformat()}).status_code == 403


def _a_minute_later(app) -> None:
    """As if the last refresh were long enough ago to refresh again."""
    with app.app_context():
        db.session.execute(db.update(UnbilledTime).values(refreshing_until=None))
        db.session.commit()


def _connection_id(app) -> int:
    with app.app_context():
        return db.session.scalar(db.select(ClockifyConnection.id))


def test_ten_refreshes_at_once_ask_clockify_once(app, live_server, sandbox, since):
    session = _session(live_server)
    connected = session.post(f"{live_server}/settings/integrations/clockify/new", allow_redirects=False, data={
        "name": "Clockify", "region": "global", "api_key": "sandbox-demo-key"})
    assert connected.status_code == 303
    _link_northwind(app)
    for trial in range(2):  # each time all ten have read before any claims (_FirstWrites): the race each time
        _a_minute_later(app)
        sandbox.sandbox.clear_requests()

        results = _all_at_once([lambda s=s: s.post(f"{live_server}/dashboard/unbilled/refresh",
                                                   data={"since": since.isoformat()})
                                for s in _copies(session, 10)])

        assert [getattr(result, "status_code", repr(result)) for result in results] == [200] * 10
        busy = sum("less than 30 seconds ago" in result.text for result in results)
        with app.app_context():
            spent = db.session.scalars(db.select(UnbilledTime.calls)).all()
        assert busy == 9 and spent == [len(sandbox.sandbox.requests)], (trial, busy, spent)
        assert sandbox.sandbox.calls("*/reports/detailed")  # the one refresh asked
