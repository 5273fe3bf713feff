"""A new user's first Clockify connection sets their profile's time zone to their Clockify account's, so
"October" here is October in Clockify's reports; a zone the user chose is never changed."""
from __future__ import annotations

import re

import pytest
import responses
from sqlalchemy import delete, select, update

from extensions import db
from models import ClockifyConnection, User
from sandbox import ACME_ID, JONAS_ID, MAIN_KEY
from tests.test_concurrency import _all_at_once, _copies, _session


ADOPTED = "Your time zone is now {}, as in Clockify; change it in Settings."
ROUNDS = 2  # each request writes first once (_FirstWrites holds both until both have read)
PROFILE = {"display_name": "Ada"}  # the personal settings form, besides its time zone


def connect(client, key: str):
    return client.post("/settings/integrations/clockify/new",
                       data={"name": "Clockify", "description": "", "region": "global", "subdomain": "", "api_key": key})


def profile_zone(client) -> str:
    page = client.get("/settings/personal").get_data(as_text=True)
    return re.search(r'<option selected value="([^"]+)"', page).group(1)


@pytest.fixture
def berlin_key(clockify):
    """A key for Jonas Weber, whose Clockify account is in Europe/Berlin."""
    return clockify.sandbox.add_key(JONAS_ID)


def test_the_first_connection_sets_a_new_users_zone_to_clockifys_and_says_so(client, logged_in, berlin_key):
    assert profile_zone(client) == "UTC"

    response = connect(client, berlin_key)

    assert response.status_code == 303
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Connected to Clockify as Jonas Weber" in page and ADOPTED.format("Europe/Berlin") in page
    assert profile_zone(client) == "Europe/Berlin" and "imports follow yours" not in page


def test_after_adopting_the_zone_october_is_octobers_wall_clock_in_berlin(client, logged_in, app, clockify,
                                                                          berlin_key):
    connect(client, berlin_key)
    invoice_id = logged_in.invoice(logged_in.customer())
    with app.app_context():
        connection_id = db.session.scalar(select(ClockifyConnection.id))
    clockify.sandbox.clear_requests()

    preview = client.post(f"/invoices/{invoice_id}/import/preview", data={
        "connection": connection_id, "workspace": ACME_ID, "submitted": "1", "range": "custom",
        "start": "2025-10-01", "end": "2025-10-31"})

    assert preview.status_code == 200
    (report,) = clockify.sandbox.calls("*/reports/detailed")
    assert report.json["timeZone"] == "Europe/Berlin"
    assert report.json["dateRangeStart"].startswith("2025-10-01T00:00:00")


def test_a_zone_the_user_chose_is_kept(client, logged_in, berlin_key):
    saved = client.post("/settings/personal", data={**PROFILE, "time_zone": "Asia/Tokyo"})
    assert saved.status_code == 303

    connect(client, berlin_key)

    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Your time zone is now" not in page and profile_zone(client) == "Asia/Tokyo"
    assert "Europe/Berlin" in page and "yours is Asia/Tokyo, and imports follow yours" in page


def test_only_the_first_connection_sets_the_zone(client, logged_in, berlin_key):
    connect(client, MAIN_KEY)  # Alex Morgan, Australia/Sydney
    assert ADOPTED.format("Australia/Sydney") in client.get("/settings/integrations").get_data(as_text=True)
    client.post("/settings/personal", data={**PROFILE, "time_zone": "UTC"})  # chosen after: UTC

    connect(client, berlin_key)

    assert "Your time zone is now" not in client.get("/settings/integrations").get_data(as_text=True)
    assert profile_zone(client) == "UTC"


@pytest.mark.parametrize("settings", [
    {"timeZone": "Mars/Olympus_Mons"},
    {"timeZone": "Factory"},  # in the tz database, not a zone of anywhere: the profile form refuses it
    {"timeZone": "../../etc/passwd"},
    {"timeZone": ""},
    {"timeZone": None},
    {"timeZone": 120},
    {},
])
def test_a_zone_clockify_gives_that_is_unknown_or_absent_leaves_the_default(client, logged_in, app, settings):
    app.config.update(HOURBILL_CLOCKIFY_API_URL="https://clockify.test/api/v1")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as clockify:
        clockify.get("https://clockify.test/api/v1/user", json={
            "id": "b00000000000000000000099", "name": "Zed", "email": "zed@example.com", "settings": settings})
        clockify.get("https://clockify.test/api/v1/workspaces", json=[])
        response = connect(client, "a-made-up-key-0123456789")

    assert response.status_code == 303
    page = client.get("/settings/integrations").get_data(as_text=True)
    assert "Connected to Clockify as Zed" in page and "Your time zone is now" not in page
    assert profile_zone(client) == "UTC"


def test_a_profile_saved_while_the_first_connection_is_made_keeps_the_chosen_zone(app, live_server, clockify):
    """Verify & Save and a Settings save at once, through a real threaded server: whichever commits
    first, the zone the user chose is the one that stays."""
    clockify.sandbox.rate_limit = None
    app.config["HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND"] = 1000  # timing only: nothing to pace with the limit off
    key = clockify.sandbox.add_key(JONAS_ID)
    connecting, saving = _copies(_session(live_server), 2)

    for round_ in range(ROUNDS):
        with app.app_context():
            db.session.execute(delete(ClockifyConnection))
            db.session.execute(update(User).values(time_zone="UTC"))
            db.session.commit()
        results = _all_at_once([
            lambda: connecting.post(f"{live_server}/settings/integrations/clockify/new", allow_redirects=False,
                                    data={"name": "Clockify", "region": "global", "api_key": key}),
            lambda: saving.post(f"{live_server}/settings/personal", allow_redirects=False,
                                data={**PROFILE, "time_zone": "Asia/Tokyo"})], turns=[round_ % 2, 1 - round_ % 2])

        assert [getattr(result, "status_code", repr(result)) for result in results] == [303, 303], round_
        with app.app_context():
            assert db.session.scalar(select(User.time_zone)) == "Asia/Tokyo", f"round {round_}"
