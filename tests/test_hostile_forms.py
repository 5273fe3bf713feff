"""Hostile input to every form (issue 6, "The hostile-input suite"): hypothesis posts arbitrary values to
each form and checks, for every single request, that

- the answer is never a 5xx (with TESTING on, an exception in a view fails the test at once);
- a rejected input (4xx) changed nothing: every row of every table compares equal before and after (failed
  log-ins excepted: recording them is the log-in throttle's job), so the invoice too (its lines, status,
  number, dates, tax, discount and notes are rows; its totals are made from them);
- a rejected input says why (a field error, an alert or an error page);
- an accepted input leaves pages that render: the invoice, its printable page, the lists.

Values: arbitrary unicode (control characters, NUL, RTL and other invisible marks, emoji), huge and tiny
numbers ("1e999", "-0", "9"*400), dates (valid, 0001-01-01, 9999-12-31, "2025-02-30", garbage), empty,
100,000-character strings; fields sent twice, fields left out, fields no form has; with and without htmx.

Examples per form (`EXAMPLES`): register 12, log in 12, profile 15, customer new 15, customer edit 15,
invoice new 12, invoice details 20, add line 20, edit line 20, move line 10, Clockify connect 15,
Clockify update key 10, import wizard filters 12, preview 15, lines 15, confirm 15: 16 forms, 243 inputs
per run (more when hypothesis shrinks a failure; HOURBILL_HOSTILE_SCALE=20 searches 20 times deeper). Half
the 490 of before: each run locally draws new inputs, so depth comes from runs (and the scale), not from
one run's count; every form still meets every value class (SPECIAL, unicode, invisible marks, numbers,
dates) many times a run.
Clockify is a small local sandbox; no call leaves the machine. On CI (CI set) the examples are derandomized,
so a run is reproducible; locally each run explores new inputs.

Each bug these properties found has a regression test at the bottom (all fixed); a new one is fixed, not
filtered out of the inputs.
"""
from __future__ import annotations

import io
import json
import os
import re
from collections import Counter
from datetime import date
from html import unescape
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, update

from extensions import db
from models import Business, ClockifyConnection, ImportedEntry, ImportPreview, Invoice, User
from sandbox import (ACME_ID, DEMO_USER_ID, FREE_ID, GLOBEX_ID, LIGHTHOUSE_ID, MAIN_KEY, MARIA_ID, NORTHWIND_ID,
                     PRIYA_ID, SUPPORT_RETAINER_ID, UMBRELLA_ID, WEBSITE_REDESIGN_ID, create_sandbox)
from services import invoicing
from services.lines import DETAILS, GROUPINGS
from tests.fixtures import PASSWORD, Accounts

EXAMPLES = {"register": 12, "login": 12, "profile": 15, "customer new": 15, "customer edit": 15,
            "invoice new": 12, "invoice details": 20, "add line": 20, "edit line": 20, "move line": 10,
            "clockify connect": 15, "clockify update key": 10, "wizard filters": 12, "wizard preview": 15,
            "wizard lines": 15, "wizard confirm": 15}
TRIED: Counter = Counter()  # inputs sent per form in this run
ON_CI = bool(os.environ.get("CI"))
SCALE = float(os.environ.get("HOURBILL_HOSTILE_SCALE", "1"))  # e.g. 20 for a deeper search by hand
BIGINT_MAX = 2**63 - 1
# Log-in limits no run reaches (examples and shrinking are hundreds of log-ins at most).
NEVER_THROTTLED = dict(HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT=10**4, HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS=10**4)


def survives(form: str, **strategies):
    """Run the decorated check now, over the hypothesis examples drawn from ``strategies`` for this form,
    then make sure enough inputs reached it. It runs inside the test, after the fixtures, so the examples
    share one app and no function-scoped fixture is reused behind hypothesis's back."""
    limits = settings(max_examples=max(1, round(EXAMPLES[form] * SCALE)), deadline=None, derandomize=ON_CI,
                      print_blob=False,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much, HealthCheck.large_base_example])

    def run(check) -> None:
        limits(given(**strategies)(check))()
        assert TRIED[form] >= EXAMPLES[form] // 2, f"{form}: only {TRIED[form]} inputs were tried"

    return run


# --- values ---------------------------------------------------------------------------------------------

SPECIAL = (
    "", " ", "\t", "\r\n", "0", "-0", "+0", "1", "-1", "0.5", ".5", "5.", "1e999", "-1e999", "1e-999", "9" * 400,
    "-" + "9" * 400, "0." + "0" * 400 + "1", "NaN", "sNaN", "Infinity", "-inf", "0E-1000", "0E+1000", "1E+20",
    "99999999999999999999", "9223372036854775808", "1,234.5", "7,5", "1_000", "0x10", "١٢", "²", "１２", "Ⅻ",
    "2025-10-01", "0001-01-01", "9999-12-31", "2025-02-30", "2025-13-01", "10000-01-01", "2025-10-01T00:00",
    "20251001", "2025-W40-1", "31/12/2025", "yesterday",
    "\x00", "a\x00b", "\u202eevil\u202c", "\u200f\u200e", "\ufeff", "\u2028\u2029", "😀" * 3, "👩‍👩‍👧‍👦",
    "Ω≈ç√∫",
    "<script>alert(1)</script>", "\" onmouseover=\"x", "' OR 1=1 --", "{{ 7*7 }}", "%s%n%x", "../../etc/passwd",
    "x" * 100_000, "😀" * 25_000, "é" * 100_000,
)
UNICODE = st.text(max_size=40)
INVISIBLE = st.text(alphabet=st.one_of(st.characters(max_codepoint=0x1F), st.sampled_from(
    "\x7f\x85\xa0\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff\u2028\u2029")),
    max_size=8)
NUMBERS = st.one_of(st.integers().map(str), st.decimals(allow_nan=True, allow_infinity=True).map(str),
                    st.floats().map(repr))
DATES = st.one_of(st.dates().map(date.isoformat), st.dates().map(lambda day: day.strftime("%d/%m/%Y")))
HOSTILE = st.one_of(st.sampled_from(SPECIAL), UNICODE, st.tuples(UNICODE, INVISIBLE, UNICODE).map("".join),
                    NUMBERS, DATES)


def field(*valid):
    """Half the time a plausible value (so the other fields get past validation), else a hostile one."""
    return st.one_of(*valid, HOSTILE) if valid else HOSTILE


SHAPES, ODD_FIELD_NAMES = st.integers(0, 9), st.text(min_size=1, max_size=12)


@st.composite
def form_data(draw, fields: dict):
    """A form as a browser (or anything else) might send it: each field once, twice, or not at all, and
    now and then a field no form has. A drawn list is sent as repeated values."""
    data = {}
    for name, values in fields.items():
        shape = draw(SHAPES)
        if shape == 0:
            continue
        sent = [draw(values), draw(values)] if shape == 1 else [draw(values)]
        flat = [item for value in sent for item in (value if isinstance(value, list) else [value])]
        data[name] = flat if len(flat) != 1 else flat[0]
    if draw(SHAPES) == 0:
        data[draw(ODD_FIELD_NAMES)] = draw(HOSTILE)
    return data


def first(data: dict, name: str):
    value = data.get(name)
    return value[0] if isinstance(value, list) and value else value


# --- what a hostile request may and may not do --------------------------------------------------------------

ERROR_MARKS = ('class="error"', 'role="alert"', 'class="error-page"', "flash-error")


class Target:
    """Ada's world (a customer, a draft with two lines, tax, discount and notes) and the checks every hostile
    request goes through."""

    def __init__(self, app, client, invoice_id: int, customer_id: int, line_ids: list[int]):
        self.app, self.client = app, client
        self.invoice_id, self.customer_id, self.line_ids = invoice_id, customer_id, line_ids
        self._reads: dict = {}  # skip -> the SELECTs that read the rows

    def invoice(self) -> dict:
        with self.app.app_context():
            invoice = db.session.get(Invoice, self.invoice_id)
            totals = invoicing.totals(invoice)
            state = {"status": invoice.status, "number": invoice.number, "issue_date": invoice.issue_date,
                     "due_date": invoice.due_date, "currency": invoice.currency, "tax_rate": invoice.tax_rate,
                     "discount_minor": invoice.discount_minor, "notes": invoice.notes,
                     "customer_id": invoice.customer_id,
                     "lines": [(line.id, line.position, line.description, line.quantity, line.unit, line.rate_minor,
                                line.amount_minor, line.source) for line in invoice.lines],
                     "totals": (totals.subtotal, totals.discount, totals.tax, totals.total)}
            db.session.remove()
            return state

    def rows(self, skip=()) -> dict:
        """Every row of every table, as text (SQLite and PostgreSQL alike); ``skip`` names tables, or
        "table.column" a column left out. The Clockify rate budget is bookkeeping of calls, written by every
        call (on PostgreSQL in the database), never user data."""
        # Read with the driver's own cursor: through SQLAlchemy (a statement built, cached and its rows
        # typed, ~25 tables twice a request) this was a fifth of the file's CPU. A JSON value is read as
        # SQLAlchemy reads it (SQLite's driver gives its text, psycopg the value: JSON null and SQL NULL are
        # both None).
        with self.app.app_context(), db.engine.connect() as connection:
            reads = self._reads.get(frozenset(skip))
            if reads is None:
                reads = self._reads[frozenset(skip)] = self._statements(
                    {*skip, "clockify_rate_budget"}, json_as_text=connection.dialect.name == "sqlite")
            cursor = connection.connection.cursor()
            try:
                state = {}
                for name, sql, is_json in reads:
                    cursor.execute(sql)
                    state[name] = sorted(repr(tuple(json.loads(value) if json_text and isinstance(value, str)
                                                    else value for value, json_text in zip(row, is_json)))
                                         for row in cursor.fetchall())
                return state
            finally:
                cursor.close()

    @staticmethod
    def _statements(skip: set, json_as_text: bool) -> list:
        reads = []
        for table in db.metadata.sorted_tables:
            if table.name not in skip:
                columns = [column for column in table.c if f"{table.name}.{column.name}" not in skip]
                sql = "SELECT {} FROM \"{}\"".format(", ".join(f'"{column.name}"' for column in columns), table.name)
                reads.append((table.name, sql, [json_as_text and isinstance(column.type, JSON) for column in columns]))
        return reads

    def state(self, skip=()) -> dict:
        """What a refused input must leave as it was: every row (the invoice's fields and lines among them;
        its totals are made from those rows, so reading the invoice through the ORM again added nothing
        but a tenth of the file's CPU)."""
        return self.rows(skip)

    def send(self, form: str, url: str, data: dict, *, method: str = "POST", hx: bool = False, client=None,
             skip=(), query: dict | None = None, writes: bool = True):
        """Send one hostile form; check the invariants. `writes=False`: the form must never write."""
        client = client or self.client
        before = self.state(skip)
        if method == "GET":
            response = client.open(url, method="GET", query_string=data, hx=hx)
        else:
            response = client.open(url, method=method, data=data, query_string=query, hx=hx)
        TRIED[form] += 1
        status, body = response.status_code, response.get_data(as_text=True)
        shown = f"{form}: {status} for {data!r:.400}"
        assert status < 500, shown
        if 400 <= status < 500 or not writes:
            assert self.state(skip) == before, f"{shown}: the database changed"
        if 400 <= status < 500:
            assert any(mark in body for mark in ERROR_MARKS), f"{shown}: no message says what is wrong"
        return response

    def pages_render(self, *urls: str, client=None) -> None:
        client = client or self.client
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)


@pytest.fixture
def target(app, client, logged_in) -> Target:
    app.config.update(**NEVER_THROTTLED)
    customer_id = logged_in.customer("Northwind", "USD", email="ap@northwind.example", address="1 Main St")
    invoice_id = logged_in.invoice(customer_id)
    assert logged_in.line(invoice_id, "Design", "2", "50").status_code == 303
    assert logged_in.line(invoice_id, "Build", "1.5", "80").status_code == 303
    details = {"issue_date": "2025-10-01", "due_date": "2025-10-31", "tax_rate": "7.5", "discount": "10",
               "notes": "Thank you"}
    assert client.post(f"/invoices/{invoice_id}/details", data=details).status_code == 303
    with app.app_context():
        line_ids = [line.id for line in db.session.get(Invoice, invoice_id).lines]
    return Target(app, client, invoice_id, customer_id, line_ids)


# --- accounts and settings --------------------------------------------------------------------------------


def logged_out_browsers(app):
    """A new logged-out browser per call, each holding the same anonymous session (its CSRF token) as if it
    had loaded a page once: a new test client fetched a page for its token first, an extra request an example."""
    first = app.test_client()
    token = first.csrf_token()
    cookie = first.get_cookie("session").value

    def new():
        client = app.test_client()
        client.set_cookie("session", cookie)
        client._token = token
        return client

    return new


def test_register_survives_hostile_input(app):
    target = Target(app, None, 0, 0, [])
    accounts = Accounts(app, app.test_client())
    accounts.register("ada@example.com")
    fields = {"display_name": field(st.sampled_from(["Bob", "Zoë O'Brien"])),
              "email": field(st.emails()),
              "password": field(st.just(PASSWORD)), "confirm": field(st.just(PASSWORD))}

    browser = logged_out_browsers(app)

    @survives("register", data=form_data(fields), hx=st.booleans())
    def run(data, hx):
        client = browser()  # logged out, every time
        response = target.send("register", "/register", data, hx=hx, client=client)
        if response.status_code == 303:
            target.pages_render("/settings/profile", "/invoices/", client=client)


def test_login_survives_hostile_input_and_never_redirects_off_site(app):
    app.config.update(**NEVER_THROTTLED)
    Accounts(app, app.test_client()).register("ada@example.com")
    target = Target(app, None, 0, 0, [])
    fields = {"email": field(st.just("ada@example.com"), st.just("ADA@example.com ")),
              "password": field(st.just(PASSWORD)), "remember": field(st.just("y"))}

    browser = logged_out_browsers(app)

    @survives("login", data=form_data(fields),
              next_page=st.none() | field(st.just("/customers/"), st.just("//evil.example/")), hx=st.booleans())
    def run(data, next_page, hx):
        client = browser()
        query = None if next_page is None else {"next": next_page}
        response = target.send("login", "/login", data, query=query, hx=hx, client=client, skip=("login_attempts",))
        if response.status_code == 303:
            location = response.headers["Location"]
            # What a browser makes of it: tabs and newlines dropped, backslashes read as slashes.
            seen = urlsplit(re.sub(r"[\t\n\r]", "", location).strip("\x00 ").replace("\\", "/"))
            assert not seen.scheme and not seen.netloc and location.startswith("/"), location


def test_profile_survives_hostile_input(target):
    fields = {"business_name": field(st.just("Ada Consulting")), "business_address": field(st.just("1 Loop")),
              "business_email": field(st.emails()), "tax_id": field(st.just("DE123")),
              "default_currency": field(st.sampled_from(["USD", "eur", "JPY", "KWD"])),
              "default_hourly_rate": field(st.sampled_from(["90", "90.5", "0.001", "1,000"])),
              "default_tax_rate": field(st.sampled_from(["0", "19", "7.25", "100"])),
              "invoice_prefix": field(st.sampled_from(["INV-", "2025/", ""])),
              "next_invoice_number": field(st.integers(1, 10**9).map(str)),
              "payment_terms_days": field(st.integers(0, 365).map(str))}

    @survives("profile", data=form_data(fields), hx=st.booleans())
    def run(data, hx):
        response = target.send("profile", "/settings/profile", data, hx=hx)
        assert target.invoice()["status"] == "draft"
        if response.status_code == 303:
            target.pages_render("/settings/profile", "/invoices/", f"/invoices/{target.invoice_id}",
                                f"/invoices/{target.invoice_id}/print")


# --- customers and invoices ---------------------------------------------------------------------------------

CUSTOMER_FIELDS = {"name": field(st.sampled_from(["Globex", "Ünïcødé GmbH"])), "email": field(st.emails()),
                   "address": field(st.just("2 Side St\nSpringfield")),
                   "currency": field(st.sampled_from(["USD", "eur", "JPY", "BHD"]))}


def test_new_customer_survives_hostile_input(target):
    @survives("customer new", data=form_data(CUSTOMER_FIELDS), hx=st.booleans())
    def run(data, hx):
        response = target.send("customer new", "/customers/new", data, hx=hx)
        if response.status_code == 303:
            target.pages_render("/customers/", "/invoices/new")


def test_editing_the_customer_never_changes_its_invoice(target):
    @survives("customer edit", data=form_data(CUSTOMER_FIELDS), hx=st.booleans())
    def run(data, hx):
        before = target.invoice()
        response = target.send("customer edit", f"/customers/{target.customer_id}/edit", data, hx=hx)
        assert target.invoice() == before  # accepted or not: the draft keeps its currency and lines
        if response.status_code == 303:
            target.pages_render("/customers/", f"/invoices/{target.invoice_id}", f"/invoices/{target.invoice_id}/print")


def test_new_invoice_survives_hostile_input(target):
    ids = st.sampled_from([str(target.customer_id), "0", str(BIGINT_MAX), str(target.customer_id + 1000)])

    @survives("invoice new", data=form_data({"customer_id": field(ids)}), query=st.none() | field(ids), hx=st.booleans())
    def run(data, query, hx):
        response = target.send("invoice new", "/invoices/new", data, hx=hx,
                               query=None if query is None else {"customer": query})
        if response.status_code == 303:
            target.pages_render(response.headers["Location"], "/invoices/")


def test_invoice_details_survive_hostile_input(target):
    days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)).map(date.isoformat)
    fields = {"issue_date": field(days, st.sampled_from(["0001-01-01", "9999-12-31"])),
              "due_date": field(days, st.sampled_from(["9999-12-31"])),
              "tax_rate": field(st.sampled_from(["0", "7.5", "100", "0.001"])),
              "discount": field(st.sampled_from(["0", "10", "9999999.99", "0.01"])),
              "notes": field(st.just("Pay within 30 days."))}

    @survives("invoice details", data=form_data(fields), hx=st.booleans())
    def run(data, hx):
        response = target.send("invoice details", f"/invoices/{target.invoice_id}/details", data, hx=hx)
        if response.status_code in (200, 303):
            target.pages_render(f"/invoices/{target.invoice_id}", f"/invoices/{target.invoice_id}/print", "/invoices/")


LINE_FIELDS = {"description": field(st.sampled_from(["Design", "Réunion 😀"])),
               "quantity": field(st.sampled_from(["1", "0.25", "-2", "1000000", "0.0001"])),
               "unit": field(st.sampled_from(["h", "days", ""])),
               "rate": field(st.sampled_from(["50", "0", "9999999.99", "12.5"]))}


def _lines_add_up(target: Target) -> None:
    from services.money import line_amount_minor

    state = target.invoice()
    assert [line[1] for line in state["lines"]] == list(range(1, len(state["lines"]) + 1))
    for _, _, _, quantity, _, rate_minor, amount_minor, _ in state["lines"]:
        assert amount_minor == line_amount_minor(quantity, rate_minor)


def test_adding_a_line_survives_hostile_input(target):
    @survives("add line", data=form_data(LINE_FIELDS), hx=st.booleans())
    def run(data, hx):
        response = target.send("add line", f"/invoices/{target.invoice_id}/lines", data, hx=hx)
        if response.status_code in (200, 303):
            _lines_add_up(target)
            target.pages_render(f"/invoices/{target.invoice_id}", f"/invoices/{target.invoice_id}/print", "/invoices/")


def test_editing_a_line_survives_hostile_input(target):
    @survives("edit line", data=form_data(LINE_FIELDS), line=st.sampled_from(target.line_ids), hx=st.booleans())
    def run(data, line, hx):
        response = target.send("edit line", f"/invoices/{target.invoice_id}/lines/{line}", data, hx=hx)
        if response.status_code in (200, 303):
            _lines_add_up(target)
            target.pages_render(f"/invoices/{target.invoice_id}", f"/invoices/{target.invoice_id}/print")


def test_moving_a_line_survives_hostile_input(target):
    @survives("move line", data=form_data({"direction": field(st.sampled_from(["up", "down"]))}),
              line=st.sampled_from(target.line_ids), hx=st.booleans())
    def run(data, line, hx):
        response = target.send("move line", f"/invoices/{target.invoice_id}/lines/{line}/move", data, hx=hx)
        if response.status_code in (200, 303):
            _lines_add_up(target)
            assert sorted(line[0] for line in target.invoice()["lines"]) == sorted(target.line_ids)


# --- Clockify: connect and update key, against a small local sandbox ---------------------------------------


@pytest.fixture(scope="module")
def small_clockify():
    """A small sandbox of its own: previews of a few entries keep a hostile example fast."""
    sandbox = create_sandbox(members=6, entries_per_member=4, rate_limit=None, free_calls_per_hour=10**6)
    with sandbox.serve_in_thread() as running:
        yield running


@pytest.fixture
def on_small_clockify(target, small_clockify):
    small_clockify.sandbox.reset()
    target.app.config.update(HOURBILL_CLOCKIFY_API_URL=small_clockify.api_url,
                             HOURBILL_CLOCKIFY_REPORTS_URL=small_clockify.reports_url,
                             HOURBILL_CLOCKIFY_TIMEOUT=(2.0, 2.0))
    yield small_clockify
    small_clockify.sandbox.reset()


KEYS = st.one_of(st.just(MAIN_KEY), st.just(f"  {MAIN_KEY}\t"), st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=12, max_size=60))


def _never_shows_the_key(response, data: dict) -> None:
    """The typed key is never put back into the page (unless another field carried the same text)."""
    key = first(data, "api_key")
    if not isinstance(key, str) or len(key.strip()) < 12 or not key.strip().isprintable():
        return
    others = [value for name, values in data.items() if name != "api_key"
              for value in (values if isinstance(values, list) else [values])]
    if not any(key.strip() in str(value) for value in others):
        assert key.strip() not in response.get_data(as_text=True)


def test_clockify_connect_survives_hostile_input(target, on_small_clockify):
    fields = {"name": field(st.just("Agency")), "description": field(st.just("Main workspace")),
              "region": field(st.sampled_from(["global", "euc1", "apse2"])),
              "subdomain": field(st.sampled_from(["", "lighthouse", "My-Team"])), "api_key": field(KEYS)}

    @survives("clockify connect", data=form_data(fields), hx=st.booleans())
    def run(data, hx):
        response = target.send("clockify connect", "/settings/integrations/clockify/new", data, hx=hx)
        _never_shows_the_key(response, data)
        if response.status_code == 303:
            page = target.client.get("/settings/integrations")
            assert page.status_code == 200 and MAIN_KEY not in page.get_data(as_text=True)


def test_clockify_update_key_survives_hostile_input(target, on_small_clockify):
    connect = {"name": "Agency", "region": "global", "api_key": MAIN_KEY}
    assert target.client.post("/settings/integrations/clockify/new", data=connect).status_code == 303
    with target.app.app_context():
        connection_id = db.session.scalar(db.select(ClockifyConnection.id))

    @survives("clockify update key", data=form_data({"api_key": field(KEYS)}), hx=st.booleans())
    def run(data, hx):
        response = target.send("clockify update key", f"/settings/integrations/clockify/{connection_id}/key", data,
                               hx=hx)
        _never_shows_the_key(response, data)


# --- the import wizard's forms, with a real preview from the sandbox ---------------------------------------


class WizardTarget:
    def __init__(self, target: Target, connection_id: int, token: str, entry_ids: list[str]):
        self.target, self.connection_id, self.token, self.entry_ids = target, connection_id, token, entry_ids
        self.base = f"/invoices/{target.invoice_id}/import"

    def undo_import(self) -> None:
        """After an accepted confirm: take the imported lines off again, so the preview can be confirmed anew."""
        with self.target.app.app_context():
            invoice = db.session.get(Invoice, self.target.invoice_id)
            for line in [line for line in invoice.lines if line.source == "clockify"]:
                invoice.lines.remove(line)
            for position, line in enumerate(invoice.lines, start=1):
                line.position = position
            db.session.execute(update(ImportPreview).values(confirmed_at=None))
            db.session.commit()


@pytest.fixture
def connected(target, on_small_clockify) -> int:
    """Ada's draft with a Clockify connection (its id): what a test of the wizard's forms needs before any
    step (the pinned bugs below need no more)."""
    app, client = target.app, target.client
    with app.app_context():
        db.session.scalar(db.select(User)).time_zone = "UTC"
        db.session.scalar(db.select(Business)).default_hourly_rate_minor = 9000
        db.session.commit()
    connect = {"name": "Agency", "region": "global", "api_key": MAIN_KEY}
    assert client.post("/settings/integrations/clockify/new", data=connect).status_code == 303
    with app.app_context():
        return db.session.scalar(db.select(ClockifyConnection.id))


@pytest.fixture
def wizard(target, connected) -> WizardTarget:
    client, connection_id = target.client, connected
    base = f"/invoices/{target.invoice_id}/import"
    assert client.get(base).status_code == 200
    for workspace in (ACME_ID, FREE_ID):  # cache both workspaces' clients, projects and members
        filters = client.get(f"{base}/filters", query_string={"connection": connection_id, "workspace": workspace})
        assert filters.status_code == 200
    preview = client.post(f"{base}/preview", hx=True, data={
        "connection": connection_id, "workspace": ACME_ID, "submitted": "1", "billable": "on",
        "hide_imported": "on", "range": "custom", "start": "2025-10-01", "end": "2025-10-31"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200, html[:500]
    token = re.search(r"/import/([\w-]+)/lines", html).group(1)
    entry_ids = re.findall(r'name="entry" value="([^"]+)"', html)
    assert entry_ids
    return WizardTarget(target, connection_id, token, entry_ids)


def _wizard_fields(wizard: WizardTarget) -> dict:
    return {"connection": field(st.just(str(wizard.connection_id))),
            "workspace": field(st.sampled_from([ACME_ID, FREE_ID, LIGHTHOUSE_ID])),
            "submitted": field(st.just("1")), "billable": field(st.just("on")),
            "hide_imported": field(st.just("on")),
            "client": field(st.sampled_from([NORTHWIND_ID, GLOBEX_ID, UMBRELLA_ID, ""])),
            "project": field(st.lists(st.sampled_from([WEBSITE_REDESIGN_ID, SUPPORT_RETAINER_ID]), max_size=2)),
            "member": field(st.lists(st.sampled_from([PRIYA_ID, MARIA_ID, DEMO_USER_ID]), max_size=2)),
            "range": field(st.sampled_from(["this_month", "last_month", "custom"])),
            "start": field(st.sampled_from(["2025-10-01", "2025-10-15", "2025-09-01"])),
            "end": field(st.sampled_from(["2025-10-31", "2025-11-30", "2025-10-15"])),
            "link_client": field(st.just("1"))}


def test_wizard_filters_survive_hostile_input(wizard):
    target = wizard.target

    @survives("wizard filters", data=form_data({**_wizard_fields(wizard), "refresh": field(st.just("1"))}), hx=st.booleans())
    def run(data, hx):
        target.send("wizard filters", f"{wizard.base}/filters", data, method="GET", hx=hx,
                    skip=("clockify_cache",) if first(data, "refresh") else ())


def test_wizard_preview_survives_hostile_input(wizard):
    target = wizard.target

    @survives("wizard preview", data=form_data(_wizard_fields(wizard)), hx=st.booleans())
    def run(data, hx):
        with target.app.app_context():
            previews = db.session.query(ImportPreview).count()
            db.session.remove()
        response = target.send("wizard preview", f"{wizard.base}/preview", data, hx=hx)
        with target.app.app_context():
            added = db.session.query(ImportPreview).count() - previews
            db.session.remove()
        assert added == (1 if response.status_code == 200 and 'name="selection"' in response.get_data(as_text=True)
                         else 0), response.status_code


def _options_fields(wizard: WizardTarget) -> dict:
    ids = st.sampled_from(wizard.entry_ids + ["5f00000000000000000000ff"])
    return {"selection": field(st.sampled_from(["some", "all"])), "entry": field(st.lists(ids, max_size=4)),
            "exclude": field(st.lists(ids, max_size=2)), "grouping": field(st.sampled_from(GROUPINGS)),
            "rounding_minutes": field(st.sampled_from(["0", "6", "15", "30", "none"])),
            "rounding_direction": field(st.sampled_from(["up", "nearest"])),
            "details": field(st.lists(st.sampled_from(DETAILS), max_size=3)),
            "unit": field(st.sampled_from(["h", "hours", ""])),
            "max_description": field(st.sampled_from(["20", "300", "2000"])),
            "fallback_rate": field(st.sampled_from(["", "80", "0", "1,234.56"]))}


def test_wizard_lines_survive_hostile_input_and_never_write(wizard):
    target = wizard.target

    @survives("wizard lines", data=form_data(_options_fields(wizard)), hx=st.booleans())
    def run(data, hx):
        # What is planned is kept for a confirm of the same (import_preview_pages.planned), never user data.
        target.send("wizard lines", f"{wizard.base}/{wizard.token}/lines", data, hx=hx, writes=False,
                    skip=("import_preview_pages.planned",))


def test_wizard_confirm_survives_hostile_input(wizard):
    target = wizard.target

    @survives("wizard confirm", data=form_data(_options_fields(wizard)), hx=st.booleans())
    def run(data, hx):
        response = target.send("wizard confirm", f"{wizard.base}/{wizard.token}/confirm", data, hx=hx)
        if response.status_code in (200, 303):
            with target.app.app_context():
                imported = db.session.scalars(db.select(ImportedEntry.entry_id)).all()
                db.session.remove()
            if not imported and hx and response.status_code == 200:
                # htmx swaps 2xx and 422 only, so a refused import (a 409) is the wizard's content as a
                # 200: it must say why, as an alert, and have written nothing.
                assert 'role="alert"' in response.get_data(as_text=True)
                return
            assert imported and set(imported) <= set(wizard.entry_ids) and len(imported) == len(set(imported))
            _lines_add_up(target)
            target.pages_render(f"/invoices/{target.invoice_id}", f"/invoices/{target.invoice_id}/print")
            wizard.undo_import()


# --- the bugs these tests found, pinned until fixed --------------------------------------------------------


def test_a_connection_id_that_is_not_a_usable_number_is_a_404(target, connected):
    """Found by the property tests above (fixed meanwhile in 22d1f76): "²" passed str.isdigit() and failed
    int(), and ids past BIGINT failed in the database. (One draft for all five ids: it is read-only here.)"""
    base = f"/invoices/{target.invoice_id}/import"
    for connection in ["²", "9" * 30, "9" * 5000, "-1", " 1e3"]:
        form = {"connection": connection, "workspace": ACME_ID, "range": "this_month"}
        assert target.client.post(f"{base}/preview", data=form, hx=True).status_code == 404, connection
        assert target.client.get(f"{base}/filters", query_string=form).status_code == 404, connection
        assert target.client.get(base, query_string={"connection": connection}).status_code == 404, connection


def test_a_free_workspace_range_ending_on_the_last_day_of_9999_is_answered(target, connected):
    form = {"connection": connected, "workspace": FREE_ID, "range": "custom", "start": "9999-12-01",
            "end": "9999-12-31", "submitted": "1"}
    response = target.client.post(f"/invoices/{target.invoice_id}/import/preview", data=form, hx=True)
    assert response.status_code in (200, 422)


def test_a_range_in_year_one_is_refused_by_the_form_not_by_clockify(target, connected):
    form = {"connection": connected, "workspace": ACME_ID, "range": "custom", "start": "0001-01-01",
            "end": "0001-01-31", "submitted": "1"}
    response = target.client.post(f"/invoices/{target.invoice_id}/import/preview", data=form, hx=True)
    assert response.status_code in (200, 422), response.status_code


@pytest.mark.parametrize("next_page", ["/invoices/\n", "/a\r\nSet-Cookie: x=1"])
def test_a_next_page_with_a_newline_is_ignored_after_logging_in(app, next_page):
    Accounts(app, app.test_client()).register("ada@example.com")
    client = app.test_client()
    response = client.post("/login", query_string={"next": next_page},
                           data={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 303 and response.headers["Location"] == "/"  # the dashboard


def test_a_profile_form_without_the_tax_rate_field_is_answered(client, logged_in):
    response = client.post("/settings/profile", data={"default_currency": "USD", "next_invoice_number": "1",
                                                      "payment_terms_days": "30", "time_zone": "UTC"})
    assert response.status_code in (303, 422)


@pytest.mark.parametrize("name", ["next_invoice_number", "payment_terms_days"])
def test_a_whole_number_with_400_digits_is_refused_in_the_profile(client, logged_in, name):
    form = {"default_currency": "USD", "default_tax_rate": "0", "next_invoice_number": "1",
            "payment_terms_days": "30", "time_zone": "UTC", name: "9" * 400}
    response = client.post("/settings/profile", data=form)
    assert response.status_code == 422 and 'class="error"' in response.get_data(as_text=True)


def test_moving_a_line_in_an_unknown_direction_says_so_on_the_apps_own_page(target):
    line = target.line_ids[0]
    response = target.client.post(f"/invoices/{target.invoice_id}/lines/{line}/move", data={"direction": "sideways"})
    assert response.status_code == 400
    assert "Back to Hourbill" in response.get_data(as_text=True)


def test_the_browser_shows_why_an_empty_selection_is_refused(wizard):
    page = wizard.target.client.get(f"/invoices/{wizard.target.invoice_id}").get_data(as_text=True)
    config = json.loads(unescape(re.search(r'name="htmx-config" content=\'([^\']+)\'', page).group(1)))
    response = wizard.target.client.post(f"{wizard.base}/{wizard.token}/confirm", hx=True,
                                         data={"selection": "some"})
    assert "tick at least one entry" in response.get_data(as_text=True)
    rule = next(rule for rule in config["responseHandling"] if re.search(rule["code"], str(response.status_code)))
    assert rule["swap"], response.status_code


# A value every form accepts for each of its text fields, so that a file in one field meets a form that
# is otherwise valid (and reaches the code that reads the field as text).
TEXT_FIELDS = {"description": "Design", "quantity": "1", "unit": "h", "rate": "50", "direction": "up",
               "name": "Globex", "email": "ap@globex.example", "address": "2 Side St", "currency": "USD",
               "issue_date": "2025-10-01", "due_date": "2025-10-31", "tax_rate": "0", "discount": "0",
               "notes": "Thanks", "display_name": "Bob", "password": PASSWORD, "confirm": PASSWORD,
               "business_name": "Ada Consulting", "business_address": "1 Loop", "business_email": "ada@example.com",
               "tax_id": "DE123", "default_currency": "USD", "default_hourly_rate": "90", "default_tax_rate": "0",
               "invoice_prefix": "INV-", "next_invoice_number": "1", "payment_terms_days": "30", "time_zone": "UTC",
               "region": "global", "subdomain": "", "api_key": MAIN_KEY, "workspace": ACME_ID, "range": "this_month",
               "selection": "all", "grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up",
               "max_description": "300", "fallback_rate": "80", "submitted": "1", "billable": "on",
               "paid_on": "2025-10-05", "amount": "10", "method": "Cash", "note": "Thanks",
               "invoice_number_format": "{year}-{seq:04}"}


def test_a_file_in_a_text_field_is_refused_with_a_message_by_every_form(target):
    """Flask-WTF hands a multipart file to the field of its name, which expects text: a form otherwise
    valid answered 500 (issue 9, item 14). Every POST route of the app (the logo upload, which takes a file,
    too) gets the form with a file in one text field, the fields taken in turn, as many per route as it
    takes for every text field to be tried once. The rule is one check in app.py before any view, by the
    fields' names: every route once proves no route escapes it, every field once that no name does (every
    route times every field was ~3,000 requests; three fields a route ~240)."""
    ids = {"invoice_id": target.invoice_id, "line_id": target.line_ids[0], "customer_id": target.customer_id,
           "connection_id": 1, "token": "x" * 43, "payment_id": 1, "run": "x" * 22}
    rules = sorted((rule for rule in target.app.url_map.iter_rules() if "POST" in rule.methods),
                   key=lambda rule: rule.endpoint == "auth.logout")  # were it let through, the rest would be logged out
    assert len(rules) >= 20
    fields = list(TEXT_FIELDS)
    per_route = -(-len(fields) // len(rules))
    assert any(getattr(target.app.view_functions[rule.endpoint], "file_fields", ()) for rule in rules), \
        "no route takes a file: the logo upload moved?"
    before = target.state()
    sent = Counter()
    for number, rule in enumerate(rules):
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(rf"<(?:\w+:)?{name}>", str(ids[name]), url)
        for k in range(per_route):
            file_field = fields[(number * per_route + k) % len(fields)]
            data = {**TEXT_FIELDS, "customer_id": str(target.customer_id),
                    file_field: (io.BytesIO(b"%PDF-1.4 not text"), f"{file_field}.pdf")}
            response = target.client.post(url, data=data, content_type="multipart/form-data", hx=number % 2 == 1)
            body = response.get_data(as_text=True)
            assert response.status_code == 400, (url, file_field, response.status_code, body[:300])
            assert "This form takes text only" in body and 'class="error-page"' in body, url
            sent[file_field] += 1
    assert set(sent) == set(fields), set(fields) - set(sent)  # every text field, on some route
    assert target.state() == before
