"""Shared fixtures, for every test file (a plugin: tests/conftest.py loads it in each process that runs tests):
the worker's app (one per worker, lent to each test: _WorkerApp) on the test's own temporary database and
instance folder, a test client that carries the CSRF token the way a browser page does (tests/client.py),
helpers to make users and invoices, the Clockify sandbox on a free local port, and Chromium (tests/browser.py).

The suite runs in parallel (pytest-xdist, `make test`): everything a test writes lives in its own tmp_path,
every server listens on a port the system picks, and on PostgreSQL each worker has its own database.

The sandbox fixtures:
- `clockify_sandbox_server`: one sandbox (default knobs, but no per-key rate limit: the app under test
  paces its calls at 1,000 a second, see TEST_CONFIG) served for the whole session (per worker).
- `small_sandbox_server`: the same with 8 members of 10 entries, for a module or test marked small_sandbox.
- `clockify_sandbox`: that server (or the small one), reset before and after the test (keys, faults, knobs,
  log, limits).
  Use `.sandbox` for the Python API and `.api_url` / `.reports_url` / `.global_reports_url` for URLs.
- `clockify_env`: the same, with HOURBILL_CLOCKIFY_API_URL and HOURBILL_CLOCKIFY_REPORTS_URL pointing at it.
- `sandbox_api`: a `SandboxCaller` (client-shaped `requests` calls with the demo key) on that server, with
  the per-key rate limit off.
- `clockify`: the app pointed at the sandbox.
"""
from __future__ import annotations

import copy
import os
import shutil
import sqlite3
import time
from contextlib import closing
from decimal import Decimal
from pathlib import Path

import flask
import hypothesis
import jinja2
import pytest
import sqlalchemy
import sqlalchemy.orm

from app import create_app
from app import database_url as server_url
from extensions import db
from sandbox import RunningSandbox, create_sandbox
from tests.browser import chromium, live_server, page  # noqa: F401  (fixtures: one Chromium per worker)
from tests.client import BrowserLikeClient

PASSWORD = "correct horse battery"
# Hashing is the slowest step of registering or logging in, and the suite does both hundreds of times:
# one PBKDF2 round here (production keeps scrypt: test_configuration checks the default).
CHEAP_PASSWORD_HASH = "pbkdf2:sha256:1"


def _share_url_builders() -> None:
    """Most of create_app's time (the worker's app, the schema's, a test's own) went to werkzeug compiling a URL
    builder (Python source, via ast and compile) for each of the ~85 routes, the same ones every time. The
    builder is a plain function of the rule's text, parts and defaults that takes the rule as its first
    argument, so one compiled per distinct rule serves every app (create_app: 57 -> 17 ms). Skipped if a
    future werkzeug names things differently."""
    from werkzeug.routing.rules import Rule

    compile_builder = getattr(Rule, "_compile_builder", None)
    if compile_builder is None:
        return
    builders: dict = {}

    def shared_builder(self, append_unknown=True):
        try:
            key = (self.rule, self.host, self.subdomain, append_unknown, tuple(self._trace),
                   tuple(sorted((self.defaults or {}).items())),
                   tuple((name, type(converter)) for name, converter in self._converters.items()))
            builder = builders.get(key)
        except (AttributeError, TypeError):  # an unhashable default: compile it as werkzeug would
            return compile_builder(self, append_unknown)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = shared_builder


_share_url_builders()

# Hypothesis: on CI (CI set) every property test draws the same examples each run (derandomized), so a
# run is reproducible; locally each run explores new ones. Both draw hypothesis's 100 examples a test
# unless the test says otherwise; HYPOTHESIS_PROFILE=deep searches ten times further by hand.
hypothesis.settings.register_profile("ci", derandomize=True, database=None)
hypothesis.settings.register_profile("deep", max_examples=1000)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "default"))


class _SharedTemplateCode(jinja2.BytecodeCache):
    """Every app (the worker's, the schema's, a test's own) has its own Jinja environment, which parsed and
    compiled every template it rendered again: about 40% of the suite's time when each test made an app.
    Compiled templates kept in memory for the whole process serve every app (Jinja checks each against its
    source's checksum, so an edited template is compiled afresh); the apps are made alike, with the same extensions."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket):
        code = self.code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket):
        self.code[bucket.key] = bucket.bytecode_to_string()


flask.Flask.jinja_options = {**flask.Flask.jinja_options, "bytecode_cache": _SharedTemplateCode()}


class _SharedCompiledSQL(sqlalchemy.util.LRUCache):
    """Each test has its own engine (on its own database), whose compiled-statement cache (and the ORM's
    flush-statement cache on each mapper) is keyed by the engine's own dialect object: every test compiled
    again the ~30 statements each of its requests runs, ~15% of a request-level test's CPU. Dialects of one
    kind are interchangeable here (same class, driver settings and server version), so one cache keyed by
    what a dialect compiles for, rather than by which object it is, serves every engine in the process."""

    def __init__(self):
        super().__init__(20_000)  # a worker's whole run compiles a few thousand distinct statements
        self.kinds: dict = {}

    def _key(self, key):
        dialect = key[0] if isinstance(key, tuple) and key else None
        if not isinstance(dialect, sqlalchemy.engine.Dialect):
            return key
        kind = (type(dialect), dialect.server_version_info, dialect.paramstyle, dialect.label_length,
                dialect.max_identifier_length, dialect.default_schema_name)
        return (self.kinds.setdefault(kind, kind), *key[1:])

    def get(self, key, default=None):
        return super().get(self._key(key), default)

    def __getitem__(self, key):
        return super().__getitem__(self._key(key))

    def __setitem__(self, key, value):
        super().__setitem__(self._key(key), value)

    def __contains__(self, key):
        return super().__contains__(self._key(key))

    def __delitem__(self, key):
        super().__delitem__(self._key(key))


def _share_compiled_sql() -> None:
    shared = _SharedCompiledSQL()
    # Engine.__init__ sets its own cache; this class attribute (a data descriptor) takes precedence.
    sqlalchemy.engine.Engine._compiled_cache = property(lambda engine: shared, lambda engine, made: None)
    sqlalchemy.orm.configure_mappers()  # which would otherwise drop the caches set below
    for mapper in db.Model.registry.mappers:
        mapper.base_mapper._compiled_cache = shared


_share_compiled_sql()


@sqlalchemy.event.listens_for(sqlalchemy.engine.Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, connection_record):
    """SQLite under test: no fsync on commit (a test's database need not survive a power cut). Every
    commit and the checkpoint at the last close otherwise wait for the disk: on a shared CI machine
    that was most of a request's time. Runs after the app's own pragmas (WAL, foreign keys)."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


# Set (by `make test` when HOURBILL_TEST_POSTGRES_URL is given) to run the database tests on PostgreSQL.
SERVER_DATABASE = os.environ.get("HOURBILL_TEST_DATABASE_URL")


def _slow_first(items: list) -> None:
    """The modules whose tests are long (a browser; a threaded server or hypothesis's many examples) first,
    each module's tests together and in order (module fixtures are made once): `--dist worksteal` gives
    each worker a run of the list and an idle worker takes the end of another's, so a long test queued
    last no longer leaves one worker running it alone at the end."""
    def weight(item) -> int:
        if item.get_closest_marker("browser"):
            return 0
        fixtures = set(getattr(item, "fixturenames", ()))
        hypothesis = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        return 1 if hypothesis or {"live_server", "smtp", "clockify_sandbox"} & fixtures else 2

    rank: dict = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        rank[module] = min(rank.get(module, 2), weight(item))
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])  # stable: the order within a rank stays


def pytest_collection_finish(session):
    """Python's cycle collector, tuned for a test process (the app's own processes keep Python's defaults).
    What is alive once the tests are collected (the libraries, the app, the tests: ~220,000 objects) is frozen
    out of its view, and it starts after 10,000 new objects rather than 700, the older generations after 20
    and 100 young collections rather than 10 and 10 (a full collection ~4 times a worker, not ~12): a worker
    ran it ~3,000 times and walked that heap in each full collection. Over a whole `make test` (gc.callbacks)
    the workers spent 18.3 s in it, 7.6 s after; the largest process's memory stayed ~660 MB, and a log-in
    claim's traced peak (test_auth_throttle) 63-67 KB -> 73 KB. A test about collections sets Python's
    thresholds for itself (test_pdf)."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)


def pytest_collection_modifyitems(config, items):
    """Long modules first (_slow_first). On PostgreSQL, run the tests that touch the database (and no
    browser tests: they ran already)."""
    _slow_first(items)
    if not SERVER_DATABASE:
        return
    keep, drop = [], []
    for item in items:
        uses_database = {"app", "database_url"} & set(getattr(item, "fixturenames", ()))
        skip = item.get_closest_marker("browser") or item.get_closest_marker("sqlite_only")
        (keep if uses_database and not skip else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


# The model tables, children first: emptied in this order, no foreign key is in the way.
EMPTYING_ORDER = [table.name for table in reversed(db.metadata.sorted_tables)]
EMPTYING = "; ".join([*(f'DELETE FROM "{name}"' for name in EMPTYING_ORDER),
                      "SELECT setval(format('%I.%I', schemaname, sequencename)::regclass, 1, false) "
                      "FROM pg_sequences WHERE schemaname = current_schema()"])


def _reset(engine: sqlalchemy.Engine, keep_schema: bool) -> bool:
    """Empty a server database so the test starts from nothing: with ``keep_schema`` (a test with the
    app, which creates the tables anyway) when the tables are exactly the models', every row deleted and
    every id sequence back at 1 (DELETE on a few rows takes milliseconds; TRUNCATE, which gives each
    table new files, took ~0.6 s a test), else every table dropped. True when the tables were kept."""
    with engine.begin() as connection:
        names = connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").scalars().all()
        if keep_schema and names and set(names) == set(EMPTYING_ORDER):
            # One round trip (~30 took ~0.1 s a test on a busy machine): the driver's own cursor, without
            # parameters, sends the statements together.
            connection.connection.driver_connection.execute(EMPTYING)
            return True
    metadata = sqlalchemy.MetaData()
    metadata.reflect(engine)
    metadata.drop_all(engine)
    return False


def _commit_without_waiting(connection, database: str) -> None:
    """A test database's commits do not wait for the server's disk (synchronous_commit off: a crash may
    lose the last commits, never corrupt anything); a commit took ~7 ms on a busy machine, now ~1.5 ms."""
    connection.execute(sqlalchemy.text(f'ALTER DATABASE "{database}" SET synchronous_commit TO off'))


@pytest.fixture(scope="session")
def server_database():
    """This worker's own PostgreSQL database, `<name>_<worker>` (created afresh, dropped at the end) beside
    HOURBILL_TEST_DATABASE_URL's, so parallel workers never empty each other's tables; without xdist,
    that database itself. None on SQLite."""
    if not SERVER_DATABASE:
        yield None
        return
    url = sqlalchemy.engine.make_url(server_url(SERVER_DATABASE))
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    engine = sqlalchemy.create_engine(url, isolation_level="AUTOCOMMIT")
    if not worker:
        with engine.connect() as connection:
            _commit_without_waiting(connection, url.database)
        engine.dispose()
        yield url.render_as_string(hide_password=False)
        return
    name = f"{url.database}_{worker}"
    try:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
            _commit_without_waiting(connection, name)
        yield url.set(database=name).render_as_string(hide_password=False)
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def server_engine(server_database):
    """One pooled connection to this worker's PostgreSQL database, to empty it between tests."""
    if not server_database:
        yield None
        return
    engine = sqlalchemy.create_engine(server_database, pool_size=1)
    yield engine
    engine.dispose()


# Set on a test's node when its database already holds the whole schema (PostgreSQL's tables kept and
# emptied, or SQLite's template copied), so the app fixture skips create_all: its ~30 existence checks took
# ~0.1 s a test on PostgreSQL, ~5.5 ms of CPU a test on SQLite (test_pdf's count of garbage collections in a
# render, which once failed without it, passes now that the worker's app is lent to each test).
SCHEMA_READY = pytest.StashKey[bool]()


@pytest.fixture
def database_url(request, tmp_path, server_database, server_engine):
    """An empty database: a new SQLite file, or this worker's PostgreSQL test database emptied (its
    tables kept, their rows deleted, for a test with the app; none at all for the migration tests)."""
    if server_database:
        request.node.stash[SCHEMA_READY] = _reset(server_engine, keep_schema="app" in request.fixturenames)
        yield server_database
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture(scope="session")
def sqlite_schema(tmp_path_factory) -> Path | None:
    """An SQLite file holding the empty schema, made once per worker: copying it is several times
    cheaper than creating the tables for every test. None on PostgreSQL."""
    if SERVER_DATABASE:
        return None
    path = tmp_path_factory.mktemp("schema") / "schema.db"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"},
                     instance_path=str(path.parent / "instance"))
    with app.app_context():
        db.create_all()
        db.engine.dispose()  # the last connection closing folds the WAL into the file
    return path


# What the app fixture gives create_app, besides the database.
TEST_CONFIG = {"TESTING": True, "HOURBILL_PASSWORD_HASH_METHOD": CHEAP_PASSWORD_HASH,
               # A wizard request on a loaded test machine finishes what it began (tests of the
               # page-by-page continuation set it to 0: tests/test_big_imports.py).
               "HOURBILL_IMPORT_STEP_SECONDS": 60,
               # Timing only (the number of attempts is unchanged): a 429 or 5xx is retried at once.
               "HOURBILL_CLOCKIFY_RETRY_BACKOFF": 0.0,
               # Timing only: the app paces its Clockify calls at 10 a second per key, so a test's few dozen
               # calls waited seconds on the budget (test_imports: 35 s of wall time for 10 s of CPU). The
               # sandboxes here do not refuse a faster pace (rate_limit=None); the pacing has its own tests,
               # which set both (tests/test_rate_budget.py, test_clockify_client.py, test_sandbox_control.py).
               "HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND": 1000}


def _app_environment() -> tuple:
    """The environment variables create_app reads (app._config_from_environment)."""
    return tuple(sorted((name, value) for name, value in os.environ.items()
                        if name.startswith(("HOURBILL_", "MAIL_")) or name in {"SECRET_KEY", "DATABASE_URL"}))


class _WorkerApp:
    """One app per worker, lent to each test that asks for `app`: a new app per test cost ~15 ms of CPU
    (werkzeug's URL map, the extensions) and started with cold caches (each template loaded into a new Jinja
    environment, Babel's catalogues, Flask-Babel's). Each test gets it with what is its own: a new engine on
    its own database (so its own SQLite file, and the rate budget's file beside it), its own instance folder
    (data key, secret-key file) and the configuration as made; after the test the configuration and the WSGI
    app are put back. A test whose environment configures the app (HOURBILL_*, MAIL_*, SECRET_KEY,
    DATABASE_URL set by monkeypatch before the app) gets an app of its own, as before."""

    def __init__(self, folder: Path):
        self.folder, self.app = folder, None

    def lend(self, database_url: str, instance: Path):
        environment = _app_environment()
        if self.app is None:
            self.app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url},
                                  instance_path=str(self.folder))
            self.app.test_client_class = BrowserLikeClient
            self.config, self.wsgi_app = copy.deepcopy(dict(self.app.config)), self.app.wsgi_app
            self.environment = environment
            self.secret = (self.folder / "secret_key").read_bytes()
        elif environment != self.environment:
            return None
        app = self.app
        instance.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(instance / "secret_key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(self.secret)
        app.instance_path = str(instance)
        app.extensions["hourbill.clockify"].key_file = instance / "data.key"
        app.extensions["hourbill.secret_key_file"] = instance / "secret_key"
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url
        options = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "url": database_url, "echo": False, "echo_pool": False}
        db._apply_driver_defaults(options, app)
        db._app_engines[app][None] = db._make_engine(None, options, app)
        return app

    def give_back(self) -> None:
        self.app.config.clear()
        self.app.config.update(copy.deepcopy(self.config))
        self.app.wsgi_app = self.wsgi_app


@pytest.fixture(scope="session")
def worker_app(tmp_path_factory) -> _WorkerApp:
    return _WorkerApp(tmp_path_factory.mktemp("worker-app"))


@pytest.fixture
def app(request, tmp_path, database_url, sqlite_schema, worker_app):
    if database_url.startswith("sqlite:///"):
        shutil.copyfile(sqlite_schema, database_url.removeprefix("sqlite:///"))
        request.node.stash[SCHEMA_READY] = True
    app = worker_app.lend(database_url, tmp_path / "instance")
    shared = app is not None
    if not shared:
        app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url},
                         instance_path=str(tmp_path / "instance"))
        app.test_client_class = BrowserLikeClient
    if not request.node.stash.get(SCHEMA_READY, False):
        with app.app_context():
            db.create_all()  # nothing left to create on SQLite; on PostgreSQL a worker's first test's tables
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if shared:
        worker_app.give_back()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Accounts:
    """Registers and logs in users through the real pages, and makes customers and invoices."""

    def __init__(self, app, client):
        self.app, self.client = app, client

    def register(self, email="ada@example.com", name="Ada", password=PASSWORD):
        response = self.client.post("/register", data={"display_name": name, "email": email,
                                                       "password": password, "confirm": password})
        assert response.status_code == 303, response.get_data(as_text=True)
        return email

    def login(self, email="ada@example.com", password=PASSWORD, **extra):
        return self.client.post("/login", data={"email": email, "password": password, **extra})

    def logout(self):
        return self.client.post("/logout")

    def add_member(self, email: str, role: str, business_id: int | None = None, name: str = "") -> int:
        """A person with `role` in a business (by default the first one made), written straight into the
        database as an accepted invitation leaves it; they log in with PASSWORD. Returns their user id."""
        from models import Business, Membership, User
        from services.accounts import hash_password
        with self.app.app_context():
            business_id = business_id or db.session.scalar(db.select(Business.id).order_by(Business.id))
            user = db.session.scalar(db.select(User).where(User.email == email))
            if user is None:
                user = User(email=email, display_name=name or email.split("@")[0].title(), password_hash=hash_password(PASSWORD, self.app.config))
                db.session.add(user)
                db.session.flush()
            db.session.add(Membership(user_id=user.id, business_id=business_id, role=role))
            db.session.commit()
            return user.id

    def customer(self, name="Northwind Traders", currency="USD", **extra) -> int:
        response = self.client.post("/customers/new", data={"name": name, "currency": currency, **extra})
        assert response.status_code == 303, response.get_data(as_text=True)
        from models import Customer
        with self.app.app_context():
            return db.session.scalars(db.select(Customer.id).where(Customer.name == name)
                                      .order_by(Customer.id.desc())).first()

    def invoice(self, customer_id: int) -> int:
        response = self.client.post("/invoices/new", data={"customer_id": customer_id})
        assert response.status_code == 303, response.get_data(as_text=True)
        return int(response.headers["Location"].rstrip("/").split("/")[-1])

    def line(self, invoice_id: int, description="Design work", quantity="2", rate="50", unit="h", **kwargs):
        return self.client.post(f"/invoices/{invoice_id}/lines",
                                data={"description": description, "quantity": quantity, "rate": rate,
                                      "unit": unit}, **kwargs)


@pytest.fixture
def accounts(app, client):
    return Accounts(app, client)


# Settings that registering does not read: a test may have changed them before logging in (the sandbox's URLs).
NOT_READ_BY_REGISTERING = ("SQLALCHEMY_DATABASE_URI", "SEND_FILE_MAX_AGE_DEFAULT", "HOURBILL_CLOCKIFY_", "MAIL_")
EVERY_ROW = "SELECT " + " + ".join(f'(SELECT count(*) FROM "{name}")' for name in EMPTYING_ORDER)


class _Registered:
    """Ada registered and logged in, kept once per worker: the database as that real registration left it (an
    SQLite copy) and the cookie and CSRF token it gave the browser. A test that logs in on an empty SQLite
    database of the worker's app, configured as it was then, starts from that copy (~10 ms of CPU less than
    registering again); any other registers through the pages. The copy is made again every FRESH_SECONDS, so
    that what is timed from the registration is as a test that had just registered finds it (its session is
    touched after 5 minutes: services/accounts.TOUCH_EVERY, a write a test of a refused form would see)."""

    FRESH_SECONDS = 10

    def __init__(self, folder: Path):
        self.path, self.made, self.image, self.template = folder / "registered.db", None, b"", None

    @staticmethod
    def _state(app, client) -> tuple | None:
        config = tuple(sorted((name, repr(value)) for name, value in app.config.items()
                              if not name.startswith(NOT_READ_BY_REGISTERING)))
        uri = app.config["SQLALCHEMY_DATABASE_URI"]
        if SERVER_DATABASE or not uri.startswith("sqlite:///") or client.get_cookie("session") is not None:
            return None
        return config

    def _restored(self, database: str, sqlite_schema: Path) -> bool:
        """The kept registration put in the test's database, if that is still empty. A database no connection
        has opened (WAL mode makes its -wal and -shm files on opening) that is the empty template byte for byte
        is overwritten as a file (~0.3 ms; an SQLite count of every table and a backup took ~2 ms)."""
        if not os.path.exists(database + "-wal") and not os.path.exists(database + "-shm"):
            if self.template is None:
                self.template = sqlite_schema.read_bytes()
            with open(database, "r+b") as file:
                if file.read() != self.template:
                    return False
                file.seek(0)
                file.write(self.image)
                file.truncate()
            return True
        with closing(sqlite3.connect(database)) as target:
            if target.execute(EVERY_ROW).fetchone()[0] != 0:
                return False
            with closing(sqlite3.connect(self.path)) as source:
                source.backup(target)
        return True

    def log_in(self, app, worker_app, accounts: "Accounts", sqlite_schema: Path | None) -> None:
        state = self._state(app, accounts.client) if app is worker_app.app else None
        database = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
        if self.made is not None and time.monotonic() - self.made_at > self.FRESH_SECONDS:
            self.made = None  # made again by this test's registration
        if state is not None and self.made is not None and self.made[0] == state:
            if self._restored(database, sqlite_schema):
                _, cookie, token = self.made
                accounts.client.set_cookie("session", cookie)
                accounts.client._token = token
                return
        accounts.register()
        if state is not None and self.made is None:
            with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(self.path)) as copy:
                source.backup(copy)
                self.image = copy.serialize()
            self.made = (state, accounts.client.get_cookie("session").value, accounts.client.csrf_token())
            self.made_at = time.monotonic()


@pytest.fixture(scope="session")
def registered(tmp_path_factory) -> _Registered:
    return _Registered(tmp_path_factory.mktemp("registered"))


@pytest.fixture
def logged_in(accounts, app, worker_app, registered, sqlite_schema):
    registered.log_in(app, worker_app, accounts, sqlite_schema)
    return accounts


def money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


@pytest.fixture(scope="session")
def clockify_sandbox_server():
    with create_sandbox(rate_limit=None).serve_in_thread() as running:
        yield running


@pytest.fixture(scope="session")
def small_sandbox_server():
    """The seeded world with 8 members of 10 entries each (the shared sandbox has 55 of 40): every kind of
    entry the wizard treats apart (timers, breaks, other currencies, non-billable) is there, and a preview
    of a few dozen entries instead of ~700 makes each test a fraction of the work. The limits are the
    shared sandbox's own. A module asks for it with `pytestmark = pytest.mark.small_sandbox`."""
    with create_sandbox(members=8, entries_per_member=10, rate_limit=None).serve_in_thread() as running:
        yield running


@pytest.fixture
def clockify_sandbox(request) -> RunningSandbox:
    """The running sandbox, reset before and after the test: the shared world, or the small one for a
    test marked small_sandbox."""
    small = request.node.get_closest_marker("small_sandbox") is not None
    running = request.getfixturevalue("small_sandbox_server" if small else "clockify_sandbox_server")
    running.sandbox.reset()
    yield running
    running.sandbox.reset()


@pytest.fixture
def clockify_env(clockify_sandbox, monkeypatch) -> RunningSandbox:
    monkeypatch.setenv("HOURBILL_CLOCKIFY_API_URL", clockify_sandbox.api_url)
    monkeypatch.setenv("HOURBILL_CLOCKIFY_REPORTS_URL", clockify_sandbox.reports_url)
    return clockify_sandbox


class SandboxCaller:
    """Plain `requests` calls to a running sandbox, shaped like a client's (never follows redirects)."""

    def __init__(self, running: RunningSandbox, key: str | None = None):
        from sandbox import MAIN_KEY

        self.running, self.key = running, key or MAIN_KEY

    def headers(self, key: str | None = None) -> dict:
        return {"X-Api-Key": key or self.key}

    def get(self, path: str, key: str | None = None, headers: dict | None = None, **params):
        import requests

        headers = self.headers(key) if headers is None else headers
        return requests.get(self.running.api_url + path, params=params, headers=headers,
                            allow_redirects=False, timeout=30)

    def report(self, workspace_id: str, body: dict, key: str | None = None, base: str | None = None):
        import requests

        return requests.post(f"{base or self.running.reports_url}/workspaces/{workspace_id}/reports/detailed",
                             json=body, headers=self.headers(key), allow_redirects=False, timeout=30)

    @staticmethod
    def report_body(zone: str = "UTC", page: int = 1, size: int = 1000, start: str = "2025-10-01T00:00:00",
                    end: str = "2025-10-31T23:59:59.999", **extra) -> dict:
        """A detailed-report body like a client sends (the default window is the seeded month)."""
        return {"dateRangeStart": start, "dateRangeEnd": end, "timeZone": zone,
                "detailedFilter": {"page": page, "pageSize": size, "options": {"totals": "CALCULATE"}},
                "exportType": "JSON", **extra}

    def all_pages(self, path: str, page_size: int = 50, **params) -> list:
        items, page = [], 1
        while True:
            response = self.get(path, page=page, **{"page-size": page_size}, **params)
            response.raise_for_status()
            items += response.json()
            if response.headers["Last-Page"] == "true":
                return items
            page += 1


@pytest.fixture
def sandbox_api(clockify_sandbox) -> SandboxCaller:
    """Plain `requests` calls with the demo key (`.running` is the server); the per-key rate limit is off
    so a test may burst."""
    clockify_sandbox.sandbox.rate_limit = None
    return SandboxCaller(clockify_sandbox)


# A timeout, cheaply: the sandbox holds its answer SLOW_ANSWER's delay, longer than TIMING_OUT's read timeout,
# so the client times out however loaded the machine (the answer can only come later) and waits just that
# timeout on each of its two tries (a 3 s delay past the fixture's 2 s timeout waited 4 s a test).
SLOW_ANSWER = dict(kind="delay", delay=0.5)
TIMING_OUT = (2.0, 0.25)  # connect, read


@pytest.fixture
def clockify(app, clockify_sandbox) -> RunningSandbox:
    """The app (above) pointed at the sandbox, with short timeouts and fresh per-key budgets."""

    app.config.update(HOURBILL_CLOCKIFY_API_URL=clockify_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=clockify_sandbox.reports_url,
                      HOURBILL_CLOCKIFY_TIMEOUT=(2.0, 2.0))
    return clockify_sandbox
