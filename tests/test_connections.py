"""Account Settings > Integrations > Clockify: Verify & Save, update key, disconnect, keys at rest."""
from __future__ import annotations

import logging
import os

import pytest

from extensions import db
from models import ClockifyConnection
from sandbox import DEMO_USER_ID, MAIN_KEY, SUBDOMAIN_KEY
from services import connections
from services.clockify import InvalidKey
from tests.fixtures import SLOW_ANSWER, TIMING_OUT


CANARY = "CANARY-KEY-4f1c9a-do-not-leak"


def connect(client, key=MAIN_KEY, **fields):
    data = {"name": "Clockify", "description": "", "region": "global", "subdomain": "", "api_key": key, **fields}
    return client.post("/settings/integrations/clockify/new", data=data)


def stored(app) -> list[ClockifyConnection]:
    with app.app_context():
        rows = db.session.scalars(db.select(ClockifyConnection).order_by(ClockifyConnection.id)).all()
        db.session.expunge_all()
        return rows


def test_verify_and_save_shows_the_account_and_only_the_last_four(client, logged_in, app, clockify):
    response = connect(client, key=f"  {MAIN_KEY}  ", name="Agency", description="Main workspace")
    assert response.status_code == 303
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Connected to Clockify as Alex Morgan" in page
    assert "Agency" in page and "Main workspace" in page and "Alex Morgan (" in page and "Global" in page
    assert f"••••{MAIN_KEY[-4:]}" in page and MAIN_KEY not in page
    (row,) = stored(app)
    assert row.key_last4 == MAIN_KEY[-4:] and row.status == "active" and row.verified_at is not None
    assert MAIN_KEY.encode() not in row.key_ciphertext
    assert row.clockify_user_name == "Alex Morgan" and row.clockify_time_zone == "Australia/Sydney"
    with app.app_context():
        with connections.open_client(db.session.get(ClockifyConnection, row.id), _keyring(app),
                                     connections.ClockifySite(clockify.api_url, clockify.reports_url)) as api:
            assert api.get_user().name == "Alex Morgan"  # the stored key decrypts to the key that was verified


def _keyring(app):
    return connections.open_keyring(app.config.get("HOURBILL_DATA_KEY"), __import__("pathlib").Path(app.instance_path) / "data.key")


def test_an_invalid_key_says_what_to_do_keeps_the_form_but_not_the_key(client, logged_in, app, clockify):
    response = connect(client, key="not-a-real-key-9999", name="Agency", description="Main", subdomain="")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "API key is invalid or expired" in html
    for fix in ("without spaces", "Profile settings &gt; API", "account is active", "generated inside that subdomain"):
        assert fix in html
    assert 'value="Agency"' in html and "Main</textarea>" in html
    assert "not-a-real-key-9999" not in html
    assert stored(app) == []


@pytest.mark.parametrize("fault, message", [
    (dict(kind="status", status=429, retry_after=120), "try again in 2 minutes"),
    (dict(kind="status", status=503), "Clockify is having trouble right now"),
    (dict(kind="html", status=200), "Clockify sent an answer Hourbill could not read"),
    (dict(kind="malformed_json"), "Clockify sent an answer Hourbill could not read"),
    (dict(kind="redirect"), "answered with a redirect"),
    (SLOW_ANSWER, "Clockify took too long to answer"),
])
def test_clockify_failures_each_have_their_own_message_and_store_nothing(client, logged_in, app, clockify,
                                                                         fault, message):
    clockify.sandbox.add_fault(path="/api/v1/user", **fault)
    if fault is SLOW_ANSWER:
        app.config["HOURBILL_CLOCKIFY_TIMEOUT"] = TIMING_OUT
    response = connect(client, name="Agency")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and "Nothing was saved" in html and 'value="Agency"' in html
    assert MAIN_KEY not in html and stored(app) == []


def test_unreachable_clockify_says_so(client, logged_in, app, clockify):
    app.config["HOURBILL_CLOCKIFY_API_URL"] = "http://127.0.0.1:9/api/v1"  # nothing listens on port 9
    html = connect(client).get_data(as_text=True)
    assert "could not reach Clockify" in html and stored(app) == []


def test_form_errors_for_name_region_subdomain_and_key(client, logged_in, app, clockify):
    html = connect(client, key="   ", name="", region="mars", subdomain="my.team").get_data(as_text=True)
    for message in ("Give the connection a name.", "Not a valid choice", "letters, digits and hyphens",
                    "Paste the API key from Clockify."):
        assert message in html
    assert stored(app) == []


def test_a_subdomain_workspace_needs_its_own_key_and_several_connections_are_listed(client, logged_in, app, clockify):
    assert connect(client, name="Main").status_code == 303
    assert connect(client, key=SUBDOMAIN_KEY, name="Lighthouse", subdomain="Lighthouse",
                   region="euc1").status_code == 303
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Main" in page and "Lighthouse" in page and "EU · lighthouse.clockify.me" in page
    assert [row.subdomain for row in stored(app)] == [None, "lighthouse"]


def test_the_new_key_advice_shows_only_when_clockify_refused_the_key_itself(app):
    template = app.jinja_env.get_template("integrations/_error.html")
    with app.test_request_context():
        refused = template.render(error=InvalidKey(code=4003))
        header_bug = template.render(error=InvalidKey("Clockify did not receive exactly one API key.", code=1000))
    assert "API key is invalid or expired" in refused and "Copy the key again" in refused
    assert "API key is invalid or expired" not in header_bug and "exactly one API key" in header_bug


def test_a_401_later_turns_the_connection_to_needs_a_new_key_and_update_key_fixes_it(client, logged_in, app,
                                                                                      clockify):
    connect(client)
    (row,) = stored(app)
    new_key = clockify.sandbox.regenerate_key(MAIN_KEY)
    with app.app_context():
        connection = db.session.get(ClockifyConnection, row.id)
        site = connections.ClockifySite(clockify.api_url)
        with pytest.raises(InvalidKey), connections.reading(connection, _keyring(app), site) as api:
            api.workspaces()
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Needs a new key" in page and f"/settings/integrations/clockify/{row.id}/key" in page

    bad = client.post(f"/settings/integrations/clockify/{row.id}/key", data={"api_key": MAIN_KEY})
    assert bad.status_code == 422 and "API key is invalid or expired" in bad.get_data(as_text=True)
    assert stored(app)[0].key_ciphertext == row.key_ciphertext  # the old key stays until a new one verifies

    good = client.post(f"/settings/integrations/clockify/{row.id}/key", data={"api_key": new_key})
    assert good.status_code == 303
    (updated,) = stored(app)
    assert updated.status == "active" and updated.key_last4 == new_key[-4:]
    assert f"••••{new_key[-4:]}" in client.get("/settings/integrations").get_data(as_text=True)


def test_disconnect_asks_first_then_deletes_the_stored_key_and_leaves_clockify_alone(client, logged_in, app,
                                                                                     clockify):
    connect(client, name="Agency")
    (row,) = stored(app)
    from models import ClockifyCache

    def cached_rows():
        with app.app_context():
            return db.session.scalar(db.select(db.func.count(ClockifyCache.id)))

    assert cached_rows() == 2  # the workspace list and the key's role in each, fetched at Verify & Save
    clockify.sandbox.clear_requests()
    confirm = client.get(f"/settings/integrations/clockify/{row.id}/disconnect").get_data(as_text=True)
    assert "Disconnect Agency?" in confirm and "Nothing changes in Clockify" in confirm
    assert stored(app)  # asking is not doing
    assert client.post(f"/settings/integrations/clockify/{row.id}/disconnect").status_code == 303
    assert stored(app) == [] and cached_rows() == 0  # the key and everything fetched with it
    assert clockify.sandbox.requests == []  # not a single call to Clockify, let alone a write
    assert "Not connected" in client.get("/settings/integrations").get_data(as_text=True)


def test_a_missing_or_wrong_data_key_is_said_plainly_and_stored_keys_stay_intact(client, logged_in, app, clockify):
    connect(client)
    (row,) = stored(app)
    key_file = os.path.join(app.instance_path, "data.key")
    saved = open(key_file).read()
    os.remove(key_file)
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "No data key" in page or "not the one the stored Clockify keys were saved with" in page
    refused = connect(client, name="Another")
    assert refused.status_code == 503 and len(stored(app)) == 1
    assert not os.path.exists(key_file)  # never silently replaced by a fresh key

    app.config["HOURBILL_DATA_KEY"] = "A" * 43 + "="  # a well-formed but wrong key
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "cannot be read" in page and "Restore HOURBILL_DATA_KEY or instance/data.key" in page
    assert stored(app)[0].key_ciphertext == row.key_ciphertext

    del app.config["HOURBILL_DATA_KEY"]
    with open(key_file, "w") as handle:
        handle.write(saved)
    assert "cannot be read" not in client.get("/settings/integrations").get_data(as_text=True)


def test_rotate_data_key_reseals_every_key_and_drops_the_old_data_key(client, accounts, app, clockify, runner):
    for email in ("ada@example.com", "bob@example.com"):
        accounts.register(email)
        connect(client)
        accounts.logout()
    before = stored(app)
    key_file = os.path.join(app.instance_path, "data.key")
    old_file = open(key_file).read()
    result = runner.invoke(args=["rotate-data-key"])
    assert result.exit_code == 0, result.output
    assert "Re-encrypted 2 stored keys" in result.output and CANARY not in result.output
    after = stored(app)
    assert {row.key_id for row in after} != {row.key_id for row in before} and len({row.key_id for row in after}) == 1
    new_file = open(key_file).read()
    keys = [line for line in new_file.splitlines() if line.strip() and not line.startswith("#")]
    assert new_file != old_file and len(keys) == 1
    with app.app_context():
        for row in after:
            connection = db.session.get(ClockifyConnection, row.id)
            assert connections.open_client(connection, _keyring(app), connections.ClockifySite(clockify.api_url))


def test_rotation_interrupted_before_commit_leaves_every_key_readable(client, logged_in, app, clockify, runner,
                                                                      monkeypatch):
    connect(client)
    (before,) = stored(app)

    def power_cut():
        raise RuntimeError("power cut")

    monkeypatch.setattr(db.session, "commit", power_cut)
    result = runner.invoke(args=["rotate-data-key"])
    assert result.exit_code != 0
    monkeypatch.undo()
    with app.app_context():
        db.session.rollback()
        connection = db.session.get(ClockifyConnection, before.id)
        assert connection.key_ciphertext == before.key_ciphertext
        with connections.open_client(connection, _keyring(app), connections.ClockifySite(clockify.api_url)) as api:
            assert api.get_user().name == "Alex Morgan"


def test_the_canary_key_is_found_nowhere_it_must_not_be(client, logged_in, app, clockify, caplog):
    caplog.set_level(logging.DEBUG)
    responses = []
    original_open = client.open

    def recording_open(*args, **kwargs):
        response = original_open(*args, **kwargs)
        responses.append(response)
        return response

    client.open = recording_open
    # Every path the key can take: refused, Clockify failing, accepted, the pages after it, an update,
    # a 401 later on, the pages saying so, and a disconnect.
    connect(client, key=CANARY)
    clockify.sandbox.add_key(DEMO_USER_ID, CANARY)
    clockify.sandbox.add_fault(kind="status", path="/api/v1/user", status=500, times=2)
    connect(client, key=CANARY)
    assert connect(client, key=CANARY).status_code == 303
    (row,) = stored(app)
    client.post(f"/settings/integrations/clockify/{row.id}/key", data={"api_key": CANARY})
    known = clockify.sandbox.regenerate_key(CANARY)
    with app.app_context():
        connection = db.session.get(ClockifyConnection, row.id)
        site = connections.ClockifySite(clockify.api_url)
        with pytest.raises(InvalidKey) as raised, connections.reading(connection, _keyring(app), site) as api:
            api.get_user()
        logging.getLogger("test").info("error seen: %s %r", raised.value, raised.value)
    for url in ("/settings/integrations", f"/settings/integrations/clockify/{row.id}/key",
                f"/settings/integrations/clockify/{row.id}/disconnect", "/invoices/"):
        client.get(url)
    client.post(f"/settings/integrations/clockify/{row.id}/key", data={"api_key": known})
    client.post(f"/settings/integrations/clockify/{row.id}/disconnect")

    for secret in (CANARY, known):
        for response in responses:
            assert secret not in response.get_data(as_text=True)
            assert secret not in str(response.headers)
        assert secret not in caplog.text
        assert all(secret not in (cookie.value or "") for cookie in client._cookies.values())
    with app.app_context():  # every value of every row, on SQLite and PostgreSQL alike
        rows = [repr(tuple(row)) for table in db.metadata.sorted_tables
                for row in db.session.execute(table.select())]
    stored_text = "\n".join(rows)
    assert "clockify_connections" in {table.name for table in db.metadata.sorted_tables} and rows
    assert CANARY not in stored_text and known not in stored_text
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite:///"):  # and the raw file with its write-ahead log, freed pages included
        path = uri.removeprefix("sqlite:///")
        raw = b"".join(open(name, "rb").read() for name in (path, path + "-wal") if os.path.exists(name))
        assert CANARY.encode() not in raw and known.encode() not in raw and len(raw) > 4096
    assert len(responses) >= 10  # the journey went through: the masked key was on a page
    assert any(f"••••{CANARY[-4:]}" in response.get_data(as_text=True) for response in responses)
