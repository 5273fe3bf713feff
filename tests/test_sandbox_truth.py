"""The sandbox tells the truth where the evidence says what Clockify does (docs/clockify-notes.md, "Learned since"), and
the client reads it right: report entries with `rate` and `amount` x100 and no `hourlyRate` object, a JPY
workspace and one labelled "€", archived clients only when asked, a workspace whose reports round time,
non-billable entries that earned 0, the Free plan's 31-day 400, hydrated per-member entries."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from sandbox import (ACME_ID, BOULANGERIE_ID, DEMO_USER_ID, EURO_SIGN_ID, FREE_ID, KANJI_ARCHIVE_ID, KANJI_ID,
                     LEGACY_PORTAL_ID, MAIN_KEY, MENU_APP_ID, SAKURA_ID, TOKYO_ID, TOKYO_INTERNAL_ID, UMBRELLA_ID,
                     WEBSITE_REDESIGN_ID, build_world, shapes)
from services.clockify import ClockifyClient, ReportRangeTooLong
from services.clockify_types import Money, Rounding
from services.rate_budget import LocalBudget
from services.currencies import iso_currency

OCTOBER = dict(start=date(2025, 10, 1), end=date(2025, 10, 31), time_zone="Asia/Tokyo")


@pytest.fixture
def client(clockify_sandbox):
    clockify_sandbox.sandbox.rate_limit = None
    with ClockifyClient(MAIN_KEY, api_url=clockify_sandbox.api_url, reports_url=clockify_sandbox.reports_url,
                        budget=LocalBudget()) as c:
        yield c


def report(api, workspace_id, **extra):
    response = api.report(workspace_id, api.report_body("Asia/Tokyo", **extra))
    assert response.status_code == 200, response.text
    return response.json()["timeentries"]


def test_the_workspaces_seeded_before_keep_their_data():
    # The new workspaces draw from their own generator: the others' entries are what tests relied on.
    world = build_world()
    acme = world.workspaces[ACME_ID]
    assert len(acme.entries) == 55 * 42 and acme.entries[0].id == build_world(seed=1).workspaces[ACME_ID].entries[0].id
    assert {ws.id for ws in world.member_workspaces(DEMO_USER_ID)} >= {ACME_ID, FREE_ID, TOKYO_ID, EURO_SIGN_ID}


def test_report_entries_carry_rate_and_amount_and_no_hourly_rate_object(sandbox_api):
    entries = report(sandbox_api, ACME_ID)
    assert entries and all("hourlyRate" not in e for e in entries)
    assert all(isinstance(e["rate"], int) and isinstance(e["amount"], int) for e in entries)


def test_non_billable_entries_earned_zero(sandbox_api):
    entries = report(sandbox_api, TOKYO_ID)
    unbillable = [e for e in entries if not e["billable"]]
    assert unbillable and all(e["amount"] == 0 for e in unbillable)
    assert any(e["projectId"] == TOKYO_INTERNAL_ID for e in unbillable)
    assert all(e["amount"] > 0 for e in entries if e["billable"] and e["rate"])


def test_a_jpy_workspace_keeps_money_x100(sandbox_api):
    (tokyo,) = [w for w in sandbox_api.get("/workspaces").json() if w["id"] == TOKYO_ID]
    assert tokyo["hourlyRate"] == {"amount": 500000, "currency": "JPY"}  # JPY 5,000 an hour
    projects = {p["id"]: p for p in sandbox_api.get(f"/workspaces/{TOKYO_ID}/projects").json()}
    assert projects[MENU_APP_ID]["hourlyRate"] == {"amount": 500000, "currency": "JPY"}


def test_a_workspace_labelled_with_the_euro_sign(sandbox_api):
    (atelier,) = [w for w in sandbox_api.get("/workspaces").json() if w["id"] == EURO_SIGN_ID]
    assert atelier["hourlyRate"]["currency"] == "€"
    (client,) = sandbox_api.get(f"/workspaces/{EURO_SIGN_ID}/clients").json()
    assert (client["id"], client["currencyCode"]) == (BOULANGERIE_ID, "€")
    assert {e["currency"] for e in report(sandbox_api, EURO_SIGN_ID)} == {"€"}


def test_archived_clients_only_with_archived_true_and_their_entries_are_reported(sandbox_api):
    plain = {c["id"] for c in sandbox_api.get(f"/workspaces/{TOKYO_ID}/clients").json()}
    archived = {c["id"] for c in sandbox_api.get(f"/workspaces/{TOKYO_ID}/clients", archived="true").json()}
    assert plain == {SAKURA_ID} and archived == {KANJI_ID}
    kanji = report(sandbox_api, TOKYO_ID, clients={"ids": [KANJI_ID], "contains": "CONTAINS", "status": "ALL"})
    assert kanji and {e["clientId"] for e in kanji} == {KANJI_ID} and {e["projectId"] for e in kanji} == {KANJI_ARCHIVE_ID}


def test_a_workspace_whose_reports_round_time(sandbox_api):
    (tokyo,) = [w for w in sandbox_api.get("/workspaces").json() if w["id"] == TOKYO_ID]
    settings = tokyo["workspaceSettings"]
    assert settings["timeRoundingInReports"] is True and settings["round"] == {"round": "Round up to", "minutes": "15"}
    rounded = {e["_id"]: e for e in report(sandbox_api, TOKYO_ID)}  # rounding left out: the workspace's way
    raw = {e["_id"]: e for e in report(sandbox_api, TOKYO_ID, rounding=False)}
    assert rounded.keys() == raw.keys()
    assert all(e["timeInterval"]["duration"] % 900 == 0 for e in rounded.values())
    assert any(raw[i]["timeInterval"]["duration"] % 900 for i in raw)  # some were not on a quarter hour
    for i, e in rounded.items():
        tracked = raw[i]["timeInterval"]["duration"]
        assert tracked <= e["timeInterval"]["duration"] < tracked + 900
        if e["billable"]:
            assert e["amount"] == (e["rate"] * e["timeInterval"]["duration"] + 1800) // 3600
    (acme,) = [w for w in sandbox_api.get("/workspaces").json() if w["id"] == ACME_ID]
    assert acme["workspaceSettings"]["timeRoundingInReports"] is False


def test_the_free_plan_refuses_more_than_31_days_with_a_400(sandbox_api):
    body = sandbox_api.report_body(start="2025-09-01T00:00:00", end="2025-10-31T23:59:59.999")
    assert sandbox_api.report(FREE_ID, body).status_code == 400
    assert sandbox_api.report(ACME_ID, body).status_code == 200


def test_per_member_entries_are_hydrated_on_request(sandbox_api):
    path = f"/workspaces/{TOKYO_ID}/user/{DEMO_USER_ID}/time-entries"
    plain = sandbox_api.get(path, start="2025-10-01T00:00:00Z", end="2025-10-31T23:59:59Z").json()
    hydrated = sandbox_api.get(path, start="2025-10-01T00:00:00Z", end="2025-10-31T23:59:59Z", hydrated="true").json()
    assert plain and all("project" not in e for e in plain)
    with_project = [e for e in hydrated if e["projectId"]]
    assert with_project and all(e["project"]["id"] == e["projectId"] and e["project"]["name"] for e in with_project)


# --- the client against the sandbox --------------------------------------------------------------


def test_the_client_reads_the_jpy_workspace_to_the_yen(client, clockify_sandbox):
    (tokyo,) = [w for w in client.workspaces() if w.id == TOKYO_ID]
    assert tokyo.currency == "JPY" and tokyo.hourly_rate == Money(Decimal("5000.00"), "JPY")
    assert tokyo.rounding == Rounding(15, "up")
    entries = client.detailed_report(TOKYO_ID, currency=tokyo.currency, **OCTOBER)
    truth = {e.id: e for e in clockify_sandbox.sandbox.workspace(TOKYO_ID).entries}
    assert entries
    for entry in entries:
        seeded = truth[entry.id]
        assert entry.seconds == seeded.seconds  # the client asks rounding=false: durations as tracked
        if seeded.rate:
            assert entry.rate.amount * 100 == seeded.rate and entry.rate.currency == "JPY"
        assert entry.amount.amount * 100 == shapes.earned(seeded)
        assert entry.amount.amount == 0 or entry.billable


def test_the_client_keeps_the_euro_sign_and_it_maps_to_eur(client):
    (atelier,) = [w for w in client.workspaces() if w.id == EURO_SIGN_ID]
    assert atelier.currency == "€" and iso_currency(atelier.currency) == "EUR"
    entries = client.detailed_report(EURO_SIGN_ID, currency=atelier.currency, **OCTOBER)
    assert entries and {e.rate.currency for e in entries if e.rate} == {"€"}


def test_reference_data_lists_archived_clients_marked_archived(client):
    data = client.fetch_reference_data(ACME_ID)
    umbrella = next(c for c in data.clients if c.id == UMBRELLA_ID)
    assert umbrella.archived and len({c.id for c in data.clients}) == len(data.clients) == 60
    assert any(p.id == LEGACY_PORTAL_ID and p.archived for p in data.projects)
    assert [c.id for c in client.fetch_reference_data(TOKYO_ID).clients] == [SAKURA_ID, KANJI_ID]


def test_the_client_detects_the_31_day_limit_from_the_400(client):
    with pytest.raises(ReportRangeTooLong):
        client.detailed_report_page(FREE_ID, start=date(2025, 9, 1), end=date(2025, 10, 31), time_zone="UTC",
                                    currency="GBP")
    page = client.detailed_report_page(FREE_ID, start=date(2025, 10, 1), end=date(2025, 10, 31), time_zone="UTC",
                                       currency="GBP")
    assert page.entries


def test_the_client_reads_names_from_hydrated_per_member_entries(client):
    start = datetime(2025, 10, 1, tzinfo=timezone.utc)
    entries = client.user_time_entries(ACME_ID, DEMO_USER_ID, start, start.replace(day=31), account_time_zone="UTC")
    website = [e for e in entries if e.project_id == WEBSITE_REDESIGN_ID]
    assert website and all(e.project_name == "Website redesign" and e.client_name == "Northwind" for e in website)
    assert any(e.task_name for e in website if e.task_id)
