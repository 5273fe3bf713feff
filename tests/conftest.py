"""Shared fixtures: an app on a temporary database and instance folder, a test client that
carries the CSRF token the way a browser page does, and helpers to make users and invoices."""
from __future__ import annotations

import os
import re
from decimal import Decimal

import pytest
import sqlalchemy
from flask.testing import FlaskClient

from app import create_app
from app import database_url as server_url
from extensions import db
from tests.browser import chromium, live_server, page  # noqa: F401  (fixtures: one Chromium per session)

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
PASSWORD = "correct horse battery"


class BrowserLikeClient(FlaskClient):
    """Sends the page's CSRF token with every unsafe request, as our forms and htmx do.

    Pass csrf=False to send none (the 400 tests); hx=True to send what htmx sends."""

    _token: str | None = None

    def open(self, *args, csrf: bool = True, hx: bool = False, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if hx:
            headers["HX-Request"] = "true"
        if csrf and method in UNSAFE:
            headers.setdefault("X-CSRFToken", self.csrf_token())
        return super().open(*args, headers=headers, **kwargs)

    def csrf_token(self) -> str:
        # Any page carries the token in <meta name="csrf-token">; a 404 page is the cheapest one. The
        # token lasts as long as the session, so it is fetched once: a page rendered for it would
        # otherwise show (and use up) the flash messages the test is about to look for.
        if self._token is None:
            page = super().open("/__no_such_page__").get_data(as_text=True)
            self._token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        return self._token


# Set (by `make test` when HOURBILL_TEST_POSTGRES_URL is given) to run the database tests on PostgreSQL.
SERVER_DATABASE = os.environ.get("HOURBILL_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config, items):
    """On PostgreSQL, run the tests that touch the database (and no browser tests: they ran already)."""
    if not SERVER_DATABASE:
        return
    keep, drop = [], []
    for item in items:
        uses_database = {"app", "database_url"} & set(getattr(item, "fixturenames", ()))
        skip = item.get_closest_marker("browser") or item.get_closest_marker("sqlite_only")
        (keep if uses_database and not skip else drop).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


def _empty(url: str) -> None:
    """Drop every table of a server database, so each test starts from nothing."""
    engine = sqlalchemy.create_engine(url)
    try:
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def database_url(tmp_path):
    """An empty database: a new SQLite file, or the PostgreSQL test database emptied."""
    if SERVER_DATABASE:
        url = server_url(SERVER_DATABASE)
        _empty(url)
        yield url
        _empty(url)
    else:
        yield f"sqlite:///{tmp_path / 'test.db'}"


@pytest.fixture
def app(tmp_path, database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url},
                     instance_path=str(tmp_path / "instance"))
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


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


@pytest.fixture
def logged_in(accounts):
    accounts.register()
    return accounts


def money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))
