"""Connections in a team: private (only the person who connected it) or shared (every member imports
through it, never seeing the key); "ask a colleague to connect" links that work once, expire, are
throttled and CSRF-protected, and show nothing of the business but its name; and the Admin caveat,
measured from the key owner's role in each workspace."""
from __future__ import annotations

import re
from datetime import timedelta

from extensions import db
from models import Business, ClockifyCache, ClockifyConnection, ConnectionRequest, Membership, User, utcnow
from sandbox import ACME_ID, DEMO_USER_ID, MARIA_ID, NORTHWIND_ID
from services.connections import MEMBER_KEY_CAVEAT
from tests.fixtures import Accounts
from tests.test_concurrency import _all_at_once
from tests.test_connections import CANARY, connect
from tests.test_imports import Wizard

CAVEAT = MEMBER_KEY_CAVEAT.replace("'", "&#39;")  # as a page shows it


def as_member(app, email="mia@example.com", role="member"):
    """A second person of Ada's business, logged in on their own client."""
    other = app.test_client()
    Accounts(app, other).add_member(email, role)
    Accounts(app, other).login(email)
    return other


def test_a_shared_connection_imports_for_a_member_who_never_sees_the_key(app, client, logged_in, clockify, caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    clockify.sandbox.add_key(DEMO_USER_ID, CANARY)
    assert connect(client, key=CANARY, sharing="shared").status_code == 303
    with app.app_context():
        db.session.scalar(db.select(Business)).default_hourly_rate_minor = 9000
        db.session.commit()
    invoice = logged_in.invoice(logged_in.customer("Northwind", "USD"))
    mia = as_member(app)
    wizard = Wizard(app, mia, clockify, invoice)
    responses = [mia.get("/settings/integrations"), wizard.start(), wizard.filters()]
    preview = wizard.preview(client=NORTHWIND_ID)
    token = wizard.token(preview)
    responses += [preview, wizard.post(token, "lines", selection="all"), wizard.post(token, "confirm", selection="all"),
                  mia.get(f"/invoices/{invoice}")]
    page = responses[0].get_data(as_text=True)
    assert "Shared with the business" in page and "••••" + CANARY[-4:] in page
    assert "Update key" not in page  # only its creator or an admin
    assert len(wizard.lines()) > 0
    for response in responses:
        assert CANARY not in response.get_data(as_text=True) and CANARY not in str(response.headers)
    assert CANARY not in caplog.text
    with app.app_context():
        connection_id = db.session.scalar(db.select(ClockifyConnection.id))
    assert mia.get(f"/settings/integrations/clockify/{connection_id}/key").status_code == 403


def test_a_private_connection_is_invisible_to_everyone_else(app, client, logged_in, clockify):
    assert connect(client, name="Ada own").status_code == 303
    invoice = logged_in.invoice(logged_in.customer("Northwind", "USD"))
    with app.app_context():
        connection_id = db.session.scalar(db.select(ClockifyConnection.id))
    for role in ("admin", "member"):
        other = as_member(app, f"{role}@example.com", role)
        assert "Ada own" not in other.get("/settings/integrations").get_data(as_text=True)
        for path in (f"/settings/integrations/clockify/{connection_id}/key",
                     f"/settings/integrations/clockify/{connection_id}/disconnect",
                     f"/invoices/{invoice}/import/filters?connection={connection_id}&workspace={ACME_ID}"):
            assert other.get(path).status_code == 404, (role, path)
        assert other.post(f"/settings/integrations/clockify/{connection_id}/disconnect").status_code == 404
        assert "Ada own" not in other.get(f"/invoices/{invoice}/import").get_data(as_text=True)
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Ada own" in page and "Private: only you" in page and "Connected by</dt><dd>you" in page


def test_an_admin_may_update_or_disconnect_a_shared_connection_made_by_someone_else(app, client, logged_in, clockify):
    mia = as_member(app)
    assert connect(mia, name="Mia shared", sharing="shared").status_code == 303
    adam = as_member(app, "adam@example.com", "admin")
    page = adam.get("/settings/integrations").get_data(as_text=True)
    assert "Mia shared" in page and "Connected by</dt><dd>Mia" in page and "Update key" in page
    with app.app_context():
        connection_id = db.session.scalar(db.select(ClockifyConnection.id))
    assert adam.post(f"/settings/integrations/clockify/{connection_id}/disconnect").status_code == 303


# --- ask a colleague to connect ----------------------------------------------------------------------

def ask(client, sharing="shared") -> str:
    response = client.post("/settings/integrations/clockify/ask", data={"sharing": sharing})
    assert response.status_code == 200
    return re.search(r'value="http://localhost(/connect/[\w-]+)" data-testid="ask-link"',
                     response.get_data(as_text=True)).group(1)


def colleague_post(colleague, path, key, **extra):
    return colleague.post(path, data={"region": "global", "subdomain": "", "api_key": key, **extra})


def test_a_colleague_connects_through_the_link_once_and_the_connection_appears_for_the_requester(
        app, client, accounts, clockify):
    accounts.register()
    accounts.customer("Secret Customer Ltd")
    mia = as_member(app)
    path = ask(mia, sharing="private")
    colleague = app.test_client()
    page = colleague.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Connect Clockify for Ada" in html and "Mia asked you" in html
    assert page.headers["Referrer-Policy"] == "no-referrer" and "noindex" in page.headers["X-Robots-Tag"]
    assert "Secret Customer" not in html and "ada@example.com" not in html and "mia@example.com" not in html
    done = colleague_post(colleague, path, "sandbox-demo-key")
    assert done.status_code == 200 and "reads as Alex Morgan" in done.get_data(as_text=True)
    with app.app_context():
        connection = db.session.scalar(db.select(ClockifyConnection))
        mia_id = db.session.scalar(db.select(User.id).where(User.email == "mia@example.com"))
        assert connection.created_by_user_id == mia_id and not connection.shared
        assert connection.name.startswith("Alex Morgan") and connection.key_last4 == "-key"
    assert "Alex Morgan" in mia.get("/settings/integrations").get_data(as_text=True)
    assert "Alex Morgan" not in client.get("/settings/integrations").get_data(as_text=True)  # private to Mia
    again = colleague_post(colleague, path, "sandbox-demo-key")
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ClockifyConnection.id))) == 1


def test_an_expired_revoked_or_unknown_link_makes_nothing(app, client, logged_in, clockify):
    expired, revoked = ask(client), ask(client)
    with app.app_context():
        first, second = db.session.scalars(db.select(ConnectionRequest).order_by(ConnectionRequest.id)).all()
        assert second.expires_at - second.created_at == timedelta(hours=72)
        first.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        second_id = second.id
    assert client.post("/settings/integrations/clockify/ask/revoke", data={"request_id": second_id}).status_code == 303
    colleague = app.test_client()
    for path, words in ((expired, "expired"), (revoked, "revoked")):
        assert words in colleague.get(path).get_data(as_text=True)
        assert colleague_post(colleague, path, "sandbox-demo-key").status_code == 410
    assert colleague.get("/connect/no-such-link").status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(ClockifyConnection)) is None


def test_the_link_page_is_csrf_protected_and_throttled_per_address(app, client, logged_in, clockify):
    path = ask(client)
    colleague = app.test_client()
    colleague.get(path)
    refused = colleague.post(path, data={"region": "global", "api_key": "sandbox-demo-key"}, csrf=False)
    assert refused.status_code == 400 and "Form expired" in refused.get_data(as_text=True)
    app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    statuses = [colleague_post(colleague, path, f"wrong-key-{n:06d}").status_code for n in range(4)]
    assert statuses == [422, 422, 422, 429]
    assert colleague_post(colleague, path, "sandbox-demo-key").status_code == 429  # even the right key waits
    with app.app_context():
        assert db.session.scalar(db.select(ClockifyConnection)) is None


def test_two_colleagues_using_one_link_at_once_make_one_connection(app, client, logged_in, clockify, live_server):
    import requests

    for _ in range(2):  # all four have read the link before any uses it (_FirstWrites): the race each time
        path = ask(client)
        tabs = []
        for _ in range(4):
            tab = requests.Session()
            token = re.search(r'name="csrf-token" content="([^"]+)"', tab.get(live_server + path).text).group(1)
            tabs.append((tab, token))
        responses = _all_at_once([lambda tab=tab, token=token: tab.post(live_server + path, data={
            "region": "global", "api_key": "sandbox-demo-key", "csrf_token": token}) for tab, token in tabs])
        statuses = [getattr(response, "status_code", response) for response in responses]
        assert statuses.count(200) == 1 and set(statuses) <= {200, 410}, statuses
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(ClockifyConnection.id))) == 2


# --- the Admin caveat ------------------------------------------------------------------------------

def test_a_regular_members_key_gets_the_admin_caveat_and_an_owners_does_not(app, client, logged_in, clockify):
    owner = connect(client, sharing="shared")
    assert owner.status_code == 303
    assert CAVEAT not in client.get("/settings/integrations").get_data(as_text=True)
    maria_key = clockify.sandbox.add_key(MARIA_ID)
    connected = connect(client, key=maria_key, name="Maria")
    assert connected.status_code == 303
    assert CAVEAT in client.get("/settings/integrations").get_data(as_text=True)  # the flash
    with app.app_context():
        maria = db.session.scalar(db.select(ClockifyConnection).where(ClockifyConnection.name == "Maria"))
        roles = db.session.scalar(db.select(ClockifyCache.payload).where(
            ClockifyCache.connection_id == maria.id, ClockifyCache.key == "workspace-roles"))
        assert roles[ACME_ID] == "member"
        maria_id = maria.id
    invoice = logged_in.invoice(logged_in.customer("Northwind", "USD"))
    wizard_page = client.get(f"/invoices/{invoice}/import?connection={maria_id}").get_data(as_text=True)
    assert CAVEAT in wizard_page
    first = client.get(f"/invoices/{invoice}/import").get_data(as_text=True)  # the owner's key
    assert CAVEAT not in first
