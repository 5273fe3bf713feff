"""Every route, checked from the url map so a new route cannot be forgotten: each one says what it needs
(blueprints/access.py's permission table), every role gets exactly what the table gives it (403 with
the role it needs, and nothing changed, otherwise), another business's objects answer 404, unsafe
requests without a CSRF token answer 400, and logged-out visitors go to log in."""
import os
import re
import stat

import pytest

from app import create_app
from blueprints.access import PERMISSIONS, RANK, ROLE_DESCRIPTIONS, role_allows
from extensions import db
from models import ROLES, Business, ClockifyConnection, Customer, Invoice, LineItem, Membership, Payment, User
from tests.prepared import Prepared

PUBLIC = {"auth.login", "auth.register", "static", "index", "health",
          "members.invitation", "colleague.connect", "public.invoice", "public.pdf"}  # a link's token is its credential


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _url(rule, ids):
    return re.sub(r"<int:(\w+)>", lambda match: str(ids[match.group(1)]), rule.rule)


def _adas_business(client, accounts, app, shared: bool) -> dict:
    """Ada registers and makes a customer, a draft with a line, a sent invoice with a payment and a Clockify
    connection (shared or private): their ids. Ada stays logged in."""
    accounts.register("ada@example.com")
    customer = accounts.customer()
    draft = accounts.invoice(customer)
    accounts.line(draft)
    sent = accounts.invoice(customer)
    accounts.line(sent)
    client.post(f"/invoices/{sent}/send")
    client.post(f"/invoices/{sent}/payments", data={"paid_on": "2026-11-20", "amount": "10"})
    with app.app_context():
        line = db.session.scalar(db.select(LineItem.id).where(LineItem.invoice_id == draft))
        payment = db.session.scalar(db.select(Payment.id).where(Payment.invoice_id == sent))
        ada = db.session.scalar(db.select(User.id).where(User.email == "ada@example.com"))
        business = db.session.scalar(db.select(Membership.business_id).where(Membership.user_id == ada))
        connection = ClockifyConnection(business_id=business, created_by_user_id=ada, name="Ada's Clockify",
                                        key_last4="abcd", shared=shared)
        db.session.add(connection)
        db.session.commit()
        return {"customer_id": customer, "invoice_id": draft, "line_id": line, "sent_id": sent,
                "connection_id": connection.id, "payment_id": payment}


@pytest.fixture
def two_users(client, accounts, app):
    """Ada owns a customer, a draft with a line, a sent invoice and a Clockify connection; Bob owns a
    draft. Bob is logged in."""
    ids = _adas_business(client, accounts, app, shared=False)
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    bob_draft = accounts.invoice(accounts.customer("Bob's customer"))
    return {**ids, "bob_draft": bob_draft}


def test_another_businesss_objects_answer_404_on_every_route(client, app, two_users):
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


# --- roles -----------------------------------------------------------------------------------------

# Requests that end what later requests of the same run work on go last.
LAST = ("invoices.send", "invoices.paid", "invoices.void", "invoices.delete_line", "invoices.delete",
        "customers.delete", "integrations.disconnect")
# Updating or disconnecting someone else's connection takes connection.manage (one's own: connection.create).
OTHERS_CONNECTION = {"integrations.update_key": "connection.manage", "integrations.disconnect": "connection.manage"}


def _action(app, endpoint):
    return getattr(app.view_functions[endpoint], "required_action", "public")


def _snapshot(app) -> dict:
    """The rows a refused request could change, as the driver reads them (each value as it is stored)."""
    with app.app_context(), db.engine.connect() as connection:
        return {model.__tablename__: sorted(map(repr, connection.exec_driver_sql(
                    f'SELECT * FROM "{model.__tablename__}"')))
                for model in (Business, Membership, Customer, Invoice, LineItem, ClockifyConnection, Payment)}


TEAM = Prepared()


@pytest.fixture
def team(client, accounts, app, tmp_path_factory):
    """Ada's business: Ada (owner) made a customer, a draft with a line, a sent invoice and a Clockify
    connection; Olga (owner too), Adam (admin), Mia (member) and Vic (viewer) work in it. Logged out. Made
    through the pages once, then copied (tests/prepared.py)."""
    kept = TEAM.restore(app, client, made_for=None)
    if kept is not None:
        return kept
    ids = _adas_business(client, accounts, app, shared=True)  # shared: every member sees it
    accounts.logout()
    emails = {"owner": "olga@example.com", "admin": "adam@example.com", "member": "mia@example.com",
              "viewer": "vic@example.com"}
    for role, email in emails.items():
        accounts.add_member(email, role)
    TEAM.keep(app, client, None, {"ids": ids, "emails": emails}, tmp_path_factory)
    return {"ids": ids, "emails": emails}


def test_every_route_says_what_it_needs_and_every_action_is_in_the_table(app):
    for rule, _ in _routes(app):
        action = _action(app, rule.endpoint)
        if rule.endpoint in PUBLIC or rule.endpoint == "auth.two_factor_code":
            continue
        assert action is None or action in PERMISSIONS, rule.endpoint  # None: the person's own settings
    assert set(PERMISSIONS.values()) <= set(ROLES) and set(RANK) == set(ROLES) == set(ROLE_DESCRIPTIONS)
    assert [role for role in ROLES] == sorted(ROLES, key=RANK.get, reverse=True)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_may_use_exactly_the_routes_the_permission_table_gives_it(client, app, accounts, team, role):
    accounts.login(team["emails"][role])
    routes = sorted(_routes(app), key=lambda route: (route[0].endpoint in LAST, LAST.index(route[0].endpoint)
                                                     if route[0].endpoint in LAST else 0))
    checked = {True: 0, False: 0}
    unchanged = None  # the rows as the last refused request left them (unchanged), until a request is allowed
    for rule, method in routes:
        action = _action(app, rule.endpoint)
        if action in (None, "public"):
            continue
        if role_allows(role, action):  # past the route's own check: someone else's connection needs more
            action = OTHERS_CONNECTION.get(rule.endpoint, action)
        allowed = role_allows(role, action)
        if role == "viewer":  # issue 10: reads everything, downloads PDFs, changes nothing, imports nothing
            assert allowed == action.endswith(".view"), rule.endpoint
        before = None if allowed else unchanged or _snapshot(app)  # the refused must change nothing
        response = client.open(_url(rule, team["ids"]), method=method, data={"direction": "up"})
        if allowed:
            assert response.status_code != 403, (role, method, rule.rule)
        else:
            page = response.get_data(as_text=True)
            assert response.status_code == 403, (role, method, rule.rule, response.status_code)
            assert f"needs the {PERMISSIONS[action]} role" in page, (role, rule.rule)
            unchanged = _snapshot(app)
            assert unchanged == before, (role, method, rule.rule)
        unchanged = None if allowed else unchanged
        checked[allowed] += 1
    assert checked[True] >= 5 and (role in ("owner", "admin") or checked[False] >= 3), checked


def test_the_creator_of_a_connection_may_update_and_disconnect_it_without_connection_manage(client, app, accounts,
                                                                                          team):
    accounts.login(team["emails"]["member"])
    with app.app_context():
        mia = db.session.scalar(db.select(User.id).where(User.email == "mia@example.com"))
        mine = ClockifyConnection(business_id=db.session.scalar(db.select(Business.id)), created_by_user_id=mia,
                                  name="Mia's Clockify", key_last4="wxyz")
        db.session.add(mine)
        db.session.commit()
        mine_id = mine.id
    assert client.get(f"/settings/integrations/clockify/{mine_id}/key").status_code == 200
    assert client.get(f"/settings/integrations/clockify/{team['ids']['connection_id']}/key").status_code == 403
    assert client.post(f"/settings/integrations/clockify/{mine_id}/disconnect").status_code == 303
    with app.app_context():
        assert db.session.get(ClockifyConnection, mine_id) is None
        assert db.session.get(ClockifyConnection, team["ids"]["connection_id"]) is not None


def test_the_forbidden_page_says_which_role_is_needed_and_which_one_you_have(client, accounts, team):
    accounts.login(team["emails"]["viewer"])
    response = client.post(f"/invoices/{team['ids']['invoice_id']}/void")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "This needs the admin role (or higher) in Ada; you are a viewer." in page
    assert client.get(f"/invoices/{team['ids']['sent_id']}/pdf").status_code == 200  # a viewer downloads PDFs


def test_removing_a_membership_ends_access_at_the_next_request(client, app, accounts, team):
    accounts.login(team["emails"]["member"])
    invoice = f"/invoices/{team['ids']['invoice_id']}"
    assert client.get(invoice).status_code == 200
    with app.app_context():
        db.session.execute(db.delete(Membership).where(
            Membership.user_id == db.select(User.id).where(User.email == "mia@example.com").scalar_subquery()))
        db.session.commit()
    assert client.get(invoice).status_code == 302  # no business left: led to create one
    response = client.get("/invoices/", follow_redirects=True)
    assert "You are not in any business yet" in response.get_data(as_text=True)
    assert client.post(f"{invoice}/lines", data={"description": "x", "quantity": "1", "rate": "1"}).status_code == 302


def test_lowering_a_role_takes_effect_at_the_next_request(client, app, accounts, team):
    accounts.login(team["emails"]["admin"])
    assert client.get("/settings/profile").status_code == 200
    with app.app_context():
        db.session.execute(db.update(Membership).where(
            Membership.user_id == db.select(User.id).where(User.email == "adam@example.com").scalar_subquery())
            .values(role="viewer"))
        db.session.commit()
    assert client.get("/settings/profile").status_code == 403
    assert client.get(f"/invoices/{team['ids']['invoice_id']}").status_code == 200


def test_a_person_in_two_businesses_sees_each_ones_data_only_and_switches(client, app, accounts):
    accounts.register("ada@example.com")
    accounts.customer("Ada Customer")
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    accounts.customer("Bob Customer")
    with app.app_context():
        ada_business = db.session.scalar(db.select(Business.id).where(Business.name == "Ada"))
        bob_business = db.session.scalar(db.select(Business.id).where(Business.name == "Bob"))
    accounts.add_member("bob@example.com", "viewer", business_id=ada_business)
    client.get("/customers/")  # shows (and so clears) the messages of registering
    page = client.get("/customers/").get_data(as_text=True)
    assert "Bob Customer" in page and "Ada Customer" not in page
    assert 'id="business-switcher"' in page and "Ada (viewer)" in page and "Bob (owner)" in page

    switched = client.post("/businesses/switch", data={"business_id": ada_business}, follow_redirects=True)
    assert "You are working in Ada as viewer." in switched.get_data(as_text=True)
    page = client.get("/customers/").get_data(as_text=True)
    assert "Ada Customer" in page and "Bob Customer" not in page
    assert client.post("/customers/new", data={"name": "X", "currency": "USD"}).status_code == 403

    assert client.post("/businesses/switch", data={"business_id": 999}).status_code == 404
    client.post("/businesses/switch", data={"business_id": bob_business})
    assert "Bob Customer" in client.get("/customers/").get_data(as_text=True)


def test_a_new_business_makes_its_creator_the_owner_and_the_current_business(client, app, logged_in):
    response = client.post("/businesses/new", data={"name": "Side Project"})
    assert response.status_code == 303 and response.headers["Location"] == "/settings/profile"
    page = client.get("/settings/profile").get_data(as_text=True)
    assert 'value="Side Project"' in page
    assert "Northwind" not in client.get("/customers/").get_data(as_text=True)
    with app.app_context():
        (membership,) = db.session.scalars(db.select(Membership).join(Business).where(Business.name == "Side Project"))
        assert membership.role == "owner" and membership.user.email == "ada@example.com"


def test_the_docs_show_the_permission_table_of_the_code():
    from pathlib import Path

    docs = (Path(__file__).parent.parent / "docs" / "businesses.md").read_text()
    rows = set(re.findall(r"^\| `([a-z.]+)` \| (\w+) \|", docs, re.MULTILINE))
    assert rows == set(PERMISSIONS.items())
