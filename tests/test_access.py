"""Every route, checked from the url map so a new route cannot be forgotten: another user's objects
answer 404, unsafe requests without a CSRF token answer 400, and logged-out visitors go to log in."""
import os
import re
import stat

import pytest

from app import create_app

PUBLIC = {"auth.login", "auth.register", "static", "index", "health"}


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, ids):
    return re.sub(r"<int:(\w+)>", lambda match: str(ids[match.group(1)]), rule.rule)


@pytest.fixture
def two_users(client, accounts, app):
    """Ada owns a customer, a draft with a line, a sent invoice and a Clockify connection; Bob owns a
    draft. Bob is logged in."""
    accounts.register("ada@example.com")
    customer = accounts.customer()
    draft = accounts.invoice(customer)
    accounts.line(draft)
    sent = accounts.invoice(customer)
    accounts.line(sent)
    client.post(f"/invoices/{sent}/send")
    from extensions import db
    from models import ClockifyConnection, LineItem, User
    with app.app_context():
        line = db.session.scalar(db.select(LineItem.id).where(LineItem.invoice_id == draft))
        ada = db.session.scalar(db.select(User.id).where(User.email == "ada@example.com"))
        connection = ClockifyConnection(user_id=ada, name="Ada's Clockify", key_last4="abcd")
        db.session.add(connection)
        db.session.commit()
        connection_id = connection.id
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    bob_draft = accounts.invoice(accounts.customer("Bob's customer"))
    return {"customer_id": customer, "invoice_id": draft, "line_id": line, "sent_id": sent, "bob_draft": bob_draft,
            "connection_id": connection_id}


def test_another_users_objects_answer_404_on_every_route(client, app, two_users):
    checked = 0
    for rule, method in _routes(app):
        if not rule.arguments:
            continue
        for invoice_key in ("invoice_id", "sent_id"):
            ids = {**two_users, "invoice_id": two_users[invoice_key]}
            response = client.open(_url(rule, ids), method=method, data={"direction": "up"})
            assert response.status_code == 404, (method, rule.rule, response.status_code)
            checked += 1
        if "line_id" in rule.arguments:  # Bob's own invoice with Ada's line in the URL
            ids = {**two_users, "invoice_id": two_users["bob_draft"]}
            assert client.open(_url(rule, ids), method=method, data={"direction": "up"}).status_code == 404
    assert checked >= 30


def test_every_unsafe_route_refuses_a_request_without_csrf_token(client, app, two_users):
    ids = {**two_users, "invoice_id": two_users["bob_draft"], "customer_id": two_users["customer_id"]}
    unsafe = [(rule, method) for rule, method in _routes(app) if method != "GET"]
    for rule, method in unsafe:
        response = client.open(_url(rule, ids), method=method, csrf=False, data={"direction": "up"})
        assert response.status_code == 400, (method, rule.rule)
        assert "Form expired" in response.get_data(as_text=True)
    assert len(unsafe) >= 15


def test_logged_out_visitors_are_sent_to_log_in_on_every_private_route(app, two_users):
    client = app.test_client()
    for rule, method in _routes(app):
        if rule.endpoint in PUBLIC:
            continue
        response = client.open(_url(rule, two_users), method=method, data={"direction": "up"})
        assert response.status_code == 302 and "/login" in response.headers["Location"], (method, rule.rule)


def test_responses_carry_security_headers_and_vary_on_htmx(client):
    response = client.get("/login")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "HX-Request" in response.headers["Vary"]


def test_pages_have_no_inline_script_or_style(client, logged_in):
    invoice_id = logged_in.invoice(logged_in.customer())
    logged_in.line(invoice_id)
    for url in ("/invoices/", f"/invoices/{invoice_id}", "/customers/", "/settings/profile",
                f"/invoices/{invoice_id}/print"):
        html = client.get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert "<style" not in html and " style=" not in html and " on" + "click=" not in html, url


def test_first_run_generates_a_secret_key_into_instance_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    instance = tmp_path / "instance"
    first = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(instance))
    second = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}, instance_path=str(instance))
    key_file = instance / "secret_key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) >= 48


def test_environment_configures_secret_database_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment-" + "x" * 30)
    monkeypatch.setenv("DATABASE_URL", "postgres://u:p@db.example/hourbill")
    monkeypatch.setenv("HOURBILL_DATA_KEY", "A" * 43 + "=")  # a shared database starts only with both keys
    monkeypatch.setenv("HOURBILL_SECURE_COOKIES", "1")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"].startswith("from-the-environment-")
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example/hourbill"
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert not (tmp_path / "secret_key").exists()


def test_hostile_ids_and_characters_get_clear_answers_not_errors(client, logged_in):
    assert client.get("/invoices/9223372036854775808").status_code == 404
    assert client.get("/invoices/2147483648").status_code == 404  # past INTEGER: PostgreSQL would refuse it
    assert client.get("/customers/99999999999999999999999/edit").status_code == 404
    assert client.get("/invoices/new?customer=²").status_code == 200
    response = client.post("/customers/new", data={"name": "Nul\x00Byte", "currency": "USD"})
    assert response.status_code == 400 and "cannot be saved" in response.get_data(as_text=True)


def test_an_htmx_request_after_logging_out_sends_the_page_to_log_in(client, logged_in):
    invoice_id = logged_in.invoice(logged_in.customer())
    logged_in.logout()
    response = client.post(f"/invoices/{invoice_id}/lines", data={"description": "x"}, hx=True)
    assert response.status_code == 401 and response.headers["HX-Redirect"] == "/login"


def test_behind_a_proxy_the_visitor_address_comes_from_x_forwarded_for(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "HOURBILL_PROXY_FIX": 1},
                     instance_path=str(tmp_path))

    @app.get("/__address")
    def address():
        from flask import request
        return request.remote_addr

    client = app.test_client()
    seen = client.get("/__address", headers={"X-Forwarded-For": "203.0.113.9"}).get_data(as_text=True)
    assert seen == "203.0.113.9"


def test_csrf_over_https_passes_with_the_same_origin_referrer_the_policy_sends(app, client, logged_in):
    invoice_id = logged_in.invoice(logged_in.customer())
    https = {"base_url": "https://localhost"}
    token = client.csrf_token()
    headers = {"X-CSRFToken": token}
    refused = client.post(f"/invoices/{invoice_id}/lines", data={"description": "x", "quantity": "1", "rate": "1"},
                          headers=headers, csrf=False, **https)
    assert refused.status_code == 400  # over HTTPS a missing Referer is refused (Flask-WTF's strict check)
    accepted = client.post(f"/invoices/{invoice_id}/lines", data={"description": "x", "quantity": "1", "rate": "1"},
                           headers={**headers, "Referer": f"https://localhost/invoices/{invoice_id}"},
                           csrf=False, **https)
    assert accepted.status_code == 303
    assert client.get("/login").headers["Referrer-Policy"] == "same-origin"  # sends it to our own origin
