"""The Clockify sandbox answers like Clockify (docs/clockify-notes.md): shapes, paging, auth errors, time-zone windows,
the detailed report, and seeded determinism."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests
from werkzeug.test import Client as WsgiClient

from sandbox import (ACME_ID, ACME_NAME, DEMO_USER_ID, DEMO_USER_NAME, DESIGN_TASK_ID, DEVELOPMENT_TASK_ID, FREE_ID,
                     INTERNAL_ID, JONAS_ID, LEGACY_PORTAL_ID, LIGHTHOUSE_ID, LIGHTHOUSE_SUBDOMAIN, MAIN_KEY, MARIA_ID,
                     NORTHWIND_ID, NORTHWIND_NAME, OLIVIA_ID, PRIYA_ID, QA_TASK_ID, SUBDOMAIN_KEY, SUBDOMAIN_USER_ID,
                     SUPPORT_RETAINER_ID, WEBSITE_REDESIGN_ID, WEBSITE_REDESIGN_NAME, build_world, create_sandbox,
                     EURO_SIGN_ID, TOKYO_ID, UMBRELLA_ID)
from sandbox import shapes

ISO_DURATION = re.compile(r"^PT(\d+H)?(\d+M)?(\d+S)?$")
WS = f"/workspaces/{ACME_ID}"


def parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def month(zone: str) -> tuple[datetime, datetime]:
    tz = ZoneInfo(zone)
    return datetime(2025, 10, 1, tzinfo=tz), datetime(2025, 10, 31, 23, 59, 59, 999000, tzinfo=tz)


def report_ids(api, zone: str, **extra) -> list[str]:
    ids, page = [], 1
    while True:
        response = api.report(ACME_ID, api.report_body(zone, page=page, **extra))
        assert response.status_code == 200, response.text
        chunk = response.json()["timeentries"]
        ids += [e["_id"] for e in chunk]
        if len(chunk) < 1000:
            return ids
        page += 1


# --- core API shapes ------------------------------------------------------------------------------

def test_user_is_the_key_owner_with_a_time_zone(sandbox_api):
    me = sandbox_api.get("/user").json()
    assert (me["id"], me["name"], me["activeWorkspace"]) == (DEMO_USER_ID, DEMO_USER_NAME, ACME_ID)
    assert me["settings"]["timeZone"] == "Australia/Sydney" and me["memberships"] == []
    with_memberships = sandbox_api.get("/user", **{"include-memberships": "true"}).json()
    assert {m["targetId"] for m in with_memberships["memberships"]} == {ACME_ID, FREE_ID, TOKYO_ID, EURO_SIGN_ID}


def test_workspaces_per_domain_with_plan_currency_and_subdomain(sandbox_api):
    main = {w["id"]: w for w in sandbox_api.get("/workspaces", **{"page-size": 1}).json()}  # page-size is ignored
    assert set(main) == {ACME_ID, FREE_ID, TOKYO_ID, EURO_SIGN_ID}
    acme, free = main[ACME_ID], main[FREE_ID]
    assert acme["name"] == ACME_NAME and acme["featureSubscriptionType"] == "PRO"
    assert acme["hourlyRate"] == {"amount": 7500, "currency": "USD"}
    assert acme["subdomain"] == {"enabled": False, "name": None}
    assert free["featureSubscriptionType"] == "FREE" and free["hourlyRate"]["amount"] == 0
    assert len(acme["memberships"]) == 55
    lighthouse = sandbox_api.get("/workspaces", key=SUBDOMAIN_KEY).json()
    assert [w["id"] for w in lighthouse] == [LIGHTHOUSE_ID]
    assert lighthouse[0]["subdomain"] == {"enabled": True, "name": LIGHTHOUSE_SUBDOMAIN}
    assert sandbox_api.get("/user", key=SUBDOMAIN_KEY).json()["id"] == SUBDOMAIN_USER_ID


@pytest.mark.parametrize("path", [f"{WS}/clients", f"{WS}/projects", f"{WS}/users", f"{WS}/tags",
                                  f"{WS}/projects/{SUPPORT_RETAINER_ID}/tasks"])
def test_every_list_is_longer_than_a_default_page_and_pages_are_1_indexed(sandbox_api, path):
    first = sandbox_api.get(path)
    assert len(first.json()) == 50 and first.headers["Last-Page"] == "false"  # default page size 50
    assert sandbox_api.get(path, page=0).json() == first.json()  # page 0 answers like page 1
    everything = sandbox_api.all_pages(path, page_size=20)
    ids = [item["id"] for item in everything]
    assert len(ids) > 50 and len(set(ids)) == len(ids)
    assert sandbox_api.get(path, page=100).json() == []
    assert sandbox_api.get(path, **{"page-size": 5001}).status_code == 400


def test_projects_carry_client_id_and_name_and_archived_ones_exist(sandbox_api):
    projects = {p["id"]: p for p in sandbox_api.all_pages(f"{WS}/projects", page_size=200)}
    website = projects[WEBSITE_REDESIGN_ID]
    assert (website["name"], website["clientId"], website["clientName"]) == (
        WEBSITE_REDESIGN_NAME, NORTHWIND_ID, NORTHWIND_NAME)
    assert website["hourlyRate"] == {"amount": 9500, "currency": "USD"}
    assert {m["userId"]: m["hourlyRate"] for m in website["memberships"]}[MARIA_ID]["amount"] == 13000
    assert (projects[INTERNAL_ID]["clientId"], projects[INTERNAL_ID]["billable"]) == ("", False)
    assert projects[LEGACY_PORTAL_ID]["archived"] is True
    assert any(p["hourlyRate"] is None for p in projects.values())
    archived = sandbox_api.get(f"{WS}/projects", archived="true", **{"page-size": 200}).json()
    assert archived and all(p["archived"] for p in archived)
    northwind = sandbox_api.get(f"{WS}/projects", clients=NORTHWIND_ID).json()
    assert {p["clientId"] for p in northwind} == {NORTHWIND_ID} and len(northwind) >= 2


def test_clients_have_several_currencies_and_archived_ones_only_when_asked(sandbox_api):
    clients = sandbox_api.all_pages(f"{WS}/clients", page_size=100)
    northwind = next(c for c in clients if c["id"] == NORTHWIND_ID)
    assert (northwind["name"], northwind["currencyCode"]) == (NORTHWIND_NAME, "USD")
    assert len({c["currencyCode"] for c in clients}) >= 4
    # the plain list leaves archived clients out (docs/clockify-notes.md, "the safe assumption");
    # archived=true lists them
    assert not any(c["archived"] for c in clients) and UMBRELLA_ID not in {c["id"] for c in clients}
    active = sandbox_api.get(f"{WS}/clients", archived="false", **{"page-size": 100}).json()
    assert [c["id"] for c in active] == [c["id"] for c in clients]
    archived = sandbox_api.all_pages(f"{WS}/clients", page_size=100, archived="true")
    assert archived and all(c["archived"] for c in archived) and UMBRELLA_ID in {c["id"] for c in archived}
    assert [c["name"] for c in sandbox_api.get(f"{WS}/clients", name="northwind").json()][0] == NORTHWIND_NAME


def test_users_give_rates_only_with_workspace_memberships(sandbox_api):
    plain = sandbox_api.get(f"{WS}/users", **{"page-size": 100}).json()
    assert all(u["memberships"] == [] for u in plain)
    users = {u["id"]: u for u in sandbox_api.get(f"{WS}/users", memberships="WORKSPACE", **{"page-size": 100}).json()}
    rate = {uid: u["memberships"][0]["hourlyRate"] for uid, u in users.items()}
    assert rate[DEMO_USER_ID] == {"amount": 9000, "currency": "USD"}
    assert rate[PRIYA_ID] is None and rate[JONAS_ID]["amount"] == 0
    assert len({u["settings"]["timeZone"] for u in users.values()}) >= 8
    assert users[OLIVIA_ID]["memberships"][0]["membershipStatus"] == "INACTIVE"
    active = sandbox_api.get(f"{WS}/users", status="ACTIVE", **{"page-size": 100}).json()
    assert OLIVIA_ID not in {u["id"] for u in active}


def test_tasks_carry_their_own_rate_and_billable_flag(sandbox_api):
    tasks = {t["id"]: t for t in sandbox_api.get(f"{WS}/projects/{WEBSITE_REDESIGN_ID}/tasks").json()}
    assert tasks[DESIGN_TASK_ID]["hourlyRate"] == {"amount": 12000, "currency": "USD"}
    assert tasks[DEVELOPMENT_TASK_ID]["hourlyRate"] is None and tasks[QA_TASK_ID]["billable"] is False
    every = sandbox_api.all_pages(f"{WS}/projects/{SUPPORT_RETAINER_ID}/tasks", page_size=100)
    active = sandbox_api.all_pages(f"{WS}/projects/{SUPPORT_RETAINER_ID}/tasks", page_size=100, **{"is-active": "true"})
    assert len(active) < len(every) and {t["status"] for t in active} == {"ACTIVE"}


def test_tags_include_archived_ones(sandbox_api):
    tags = sandbox_api.all_pages(f"{WS}/tags", page_size=100)
    live = sandbox_api.all_pages(f"{WS}/tags", page_size=100, archived="false")
    assert any(t["archived"] for t in tags) and not any(t["archived"] for t in live)


def test_core_time_entries_shape_rates_and_running_timers(sandbox_api):
    entries = sandbox_api.all_pages(f"{WS}/user/{DEMO_USER_ID}/time-entries", page_size=1000)
    assert entries == sorted(entries, key=lambda e: parse(e["timeInterval"]["start"]), reverse=True)
    running = [e for e in entries if e["timeInterval"]["end"] is None]
    assert len(running) == 1 and running[0]["timeInterval"]["duration"] is None
    done = [e for e in entries if e["timeInterval"]["end"] is not None]
    for e in done:
        assert ISO_DURATION.match(e["timeInterval"]["duration"]), e["timeInterval"]
        seconds = (parse(e["timeInterval"]["end"]) - parse(e["timeInterval"]["start"])).total_seconds()
        h, m, s = (int(x or 0) for x in re.match(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", e["timeInterval"]["duration"]).groups())
        assert seconds == h * 3600 + m * 60 + s
        assert set(e) >= {"id", "description", "billable", "projectId", "taskId", "tagIds", "userId", "workspaceId",
                          "hourlyRate", "costRate", "type", "isLocked", "kioskId", "customFieldValues"}
    assert any("." in e["timeInterval"]["start"] for e in entries)  # fractional seconds
    assert any(not e["timeInterval"]["start"].endswith("Z") for e in entries)  # non-Z offsets
    assert any(e["projectId"] is None for e in entries)
    assert {e["hourlyRate"]["currency"] for e in entries if e["hourlyRate"]} >= {"USD"}
    only_running = sandbox_api.get(f"{WS}/user/{DEMO_USER_ID}/time-entries", **{"in-progress": "true"}).json()
    assert [e["id"] for e in only_running] == [running[0]["id"]]
    hydrated = sandbox_api.get(f"{WS}/user/{DEMO_USER_ID}/time-entries", hydrated="true").json()
    assert any(e["project"] and e["project"]["name"] for e in hydrated)


def test_rates_are_null_zero_and_historic_and_kinds_include_non_work(sandbox_api):
    def rates(uid):
        return [(e["hourlyRate"], parse(e["timeInterval"]["start"]))
                for e in sandbox_api.all_pages(f"{WS}/user/{uid}/time-entries", page_size=1000)]

    assert {r for r, _ in rates(PRIYA_ID)} == {None}
    assert {r["amount"] for r, _ in rates(JONAS_ID)} == {0}
    ws = build_world().workspaces[ACME_ID]
    # Maria's raise on the 15th did not rewrite older entries: the same work is stamped 10.00 lower before it.
    early, late = {}, {}
    for e in ws.entries_by_user[MARIA_ID]:
        if e.type == "REGULAR" and 1 <= e.start.astimezone(ZoneInfo("America/New_York")).day < 15:
            early[(e.project_id, e.task_id)] = e.rate
        elif e.type == "REGULAR":
            late[(e.project_id, e.task_id)] = e.rate
    both = early.keys() & late.keys()
    assert both and all(early[k] == late[k] - 1000 for k in both)
    kinds = {e.type for e in ws.entries}
    assert kinds == {"REGULAR", "BREAK", "HOLIDAY", "TIME_OFF"}


def test_core_window_is_wall_clock_in_the_account_zone_whatever_the_offset(sandbox_api):
    path = f"{WS}/user/{MARIA_ID}/time-entries"
    as_utc = sandbox_api.all_pages(path, page_size=1000, start="2025-10-01T00:00:00Z", end="2025-10-31T23:59:59Z")
    as_offset = sandbox_api.all_pages(path, page_size=1000, start="2025-10-01T00:00:00-04:00",
                                      end="2025-10-31T23:59:59-04:00")
    assert [e["id"] for e in as_utc] == [e["id"] for e in as_offset]
    start, end = month("Australia/Sydney")  # the requesting account's zone, not UTC and not Maria's
    truth = [e.id for e in build_world().workspaces[ACME_ID].entries_between(start, end) if e.user_id == MARIA_ID]
    assert sorted(e["id"] for e in as_utc) == sorted(truth)
    utc_truth = {e.id for e in build_world().workspaces[ACME_ID].entries_between(*month("UTC")) if e.user_id == MARIA_ID}
    assert utc_truth != set(truth)  # a client that assumes UTC gets a shifted month


def test_time_entries_need_a_user_and_routes_answer_clockify_errors(sandbox_api):
    no_user = sandbox_api.get(f"{WS}/time-entries")
    assert (no_user.status_code, no_user.json()["code"]) == (405, 3000)
    unknown = sandbox_api.get("/no-such-thing")
    assert (unknown.status_code, unknown.json()["code"]) == (404, 3000)
    wrong_method = requests.post(sandbox_api.running.api_url + "/user", headers=sandbox_api.headers(), timeout=5)
    assert (wrong_method.status_code, wrong_method.json()["code"]) == (405, 3000)
    stranger = sandbox_api.get(f"{WS}/user/{SUBDOMAIN_USER_ID}/time-entries")
    assert (stranger.status_code, stranger.json()["code"]) == (400, 501)
    foreign_project = sandbox_api.get(f"{WS}/projects/9f0000000000000000000101/tasks")
    assert (foreign_project.status_code, foreign_project.json()["code"]) == (400, 501)
    bad_page = sandbox_api.get(f"{WS}/clients", page="abc")
    assert (bad_page.status_code, bad_page.json()["code"]) == (400, 501)


# --- auth -----------------------------------------------------------------------------------------

def test_auth_errors_carry_clockify_codes(sandbox_api, clockify_sandbox):
    none = sandbox_api.get("/user", headers={})
    both = sandbox_api.get("/user", headers={"X-Api-Key": MAIN_KEY, "X-Addon-Token": "token"})
    unknown = sandbox_api.get("/user", key="not-a-key")
    for response, code in ((none, 1000), (both, 1000), (unknown, 4003)):
        assert response.status_code == 401 and response.json()["code"] == code
    assert none.json()["message"] == "Multiple or none auth tokens present"
    assert unknown.json()["message"] == "Api key does not exist"
    report = sandbox_api.report(ACME_ID, sandbox_api.report_body(), key="not-a-key")
    assert (report.status_code, report.json()["code"]) == (401, 4003)


def test_a_key_only_opens_its_own_domain(sandbox_api):
    main_on_subdomain = sandbox_api.get(f"/workspaces/{LIGHTHOUSE_ID}/projects")
    subdomain_on_main = sandbox_api.get(f"{WS}/projects", key=SUBDOMAIN_KEY)
    for response in (main_on_subdomain, subdomain_on_main):
        assert (response.status_code, response.json()["code"]) == (401, 4003)
    assert sandbox_api.get(f"/workspaces/{LIGHTHOUSE_ID}/projects", key=SUBDOMAIN_KEY).status_code == 200
    report = sandbox_api.report(LIGHTHOUSE_ID, sandbox_api.report_body(), key=SUBDOMAIN_KEY)
    assert report.status_code == 200 and report.json()["timeentries"]


def test_a_regenerated_key_stops_working_and_the_new_one_works(sandbox_api, clockify_sandbox):
    sandbox = clockify_sandbox.sandbox
    old = sandbox.add_key(PRIYA_ID)
    assert sandbox_api.get("/user", key=old).json()["id"] == PRIYA_ID
    new = sandbox.regenerate_key(old)
    assert sandbox_api.get("/user", key=old).json()["code"] == 4003
    assert sandbox_api.get("/user", key=new).json()["id"] == PRIYA_ID
    sandbox.revoke_key(MAIN_KEY)
    assert sandbox_api.get("/user").status_code == 401
    sandbox.reset()
    assert sandbox_api.get("/user").status_code == 200


# --- detailed report ------------------------------------------------------------------------------

def test_report_shape_money_and_both_host_shapes(sandbox_api):
    regional = sandbox_api.report(ACME_ID, sandbox_api.report_body("Australia/Sydney", size=200))
    global_ = sandbox_api.report(ACME_ID, sandbox_api.report_body("Australia/Sydney", size=200),
                                 base=sandbox_api.running.global_reports_url)
    assert regional.status_code == 200 and regional.json() == global_.json()
    assert "Last-Page" not in regional.headers
    body = regional.json()
    assert set(body) == {"timeentries", "totals"}
    for e in body["timeentries"]:
        assert isinstance(e["timeInterval"]["duration"], int) and "id" not in e and e["_id"]
        start, end = parse(e["timeInterval"]["start"]), parse(e["timeInterval"]["end"])
        assert (end - start).total_seconds() == e["timeInterval"]["duration"]
        assert start.utcoffset() == start.astimezone(ZoneInfo("Australia/Sydney")).utcoffset()
        expected = (e["rate"] * e["timeInterval"]["duration"] + 1800) // 3600 if e["billable"] else 0
        assert isinstance(e["rate"], int) and e["amount"] == expected
        assert {"userName", "userEmail", "projectName", "clientName", "taskName", "type"} <= set(e)
    offsets = {parse(e["timeInterval"]["start"]).utcoffset().total_seconds() / 3600 for e in body["timeentries"]}
    assert offsets <= {10.0, 11.0}
    totals = body["totals"][0]
    assert totals["entriesCount"] > 200 and isinstance(totals["totalAmount"], int)
    assert len(totals["totalAmountByCurrency"]) >= 3
    core_host = requests.post(sandbox_api.running.api_url + f"{WS}/reports/detailed", json=sandbox_api.report_body(),
                              headers=sandbox_api.headers(), timeout=5)
    assert core_host.status_code == 404


def test_report_pages_inside_the_body_and_caps_page_size(sandbox_api):
    ids = report_ids(sandbox_api, "UTC")
    total = sandbox_api.report(ACME_ID, sandbox_api.report_body(size=1)).json()["totals"][0]["entriesCount"]
    assert len(ids) == len(set(ids)) == total > 2000
    beyond = sandbox_api.report(ACME_ID, sandbox_api.report_body(page=99)).json()
    assert beyond["timeentries"] == []
    too_big = sandbox_api.report(ACME_ID, sandbox_api.report_body(size=1001))
    assert too_big.status_code == 400 and too_big.json()["code"] == 501
    missing_end = sandbox_api.report_body()
    del missing_end["dateRangeEnd"]
    assert sandbox_api.report(ACME_ID, missing_end).status_code == 400
    assert sandbox_api.report(ACME_ID, sandbox_api.report_body(zone="Mars/Olympus")).status_code == 400
    nothing = sandbox_api.report(ACME_ID, sandbox_api.report_body(start="2020-01-01T00:00:00", end="2020-01-31T23:59:59"))
    assert nothing.json() == {"totals": [None], "timeentries": []}
    excluded = sandbox_api.report_body(size=5)
    excluded["detailedFilter"]["options"]["totals"] = "EXCLUDE"
    assert sandbox_api.report(ACME_ID, excluded).json()["totals"] == []


@pytest.mark.parametrize("zone", ["Australia/Sydney", "America/New_York", "UTC", "Asia/Kathmandu"])
def test_report_window_is_exact_in_the_requested_zone(sandbox_api, zone):
    truth = [e.id for e in build_world().workspaces[ACME_ID].entries_between(*month(zone)) if e.seconds is not None]
    got = report_ids(sandbox_api, zone)
    assert sorted(got) == sorted(truth)
    # The window's own offset is ignored: the same wall-clock window sent with Z gives the same entries.
    with_z = report_ids(sandbox_api, zone, start="2025-10-01T00:00:00Z", end="2025-10-31T23:59:59.999Z")
    assert sorted(with_z) == sorted(got)



def test_report_pages_by_id_follow_the_window_asked_for_each_time(sandbox_api):
    """The id order is kept per window (a report's pages ask alike): two windows asked in turn each get
    their own entries, in id order, ascending and descending."""
    world = build_world().workspaces[ACME_ID]

    def by_id(start, end, order):
        body = sandbox_api.report_body(start=start, end=end, size=200, sortOrder=order)
        body["detailedFilter"]["sortColumn"] = "ID"
        return [e["_id"] for e in sandbox_api.report(ACME_ID, body).json()["timeentries"]]

    utc = ZoneInfo("UTC")
    for start, end in [("2025-10-01T00:00:00", "2025-10-31T23:59:59.999"), ("2025-10-10T00:00:00", "2025-10-12T23:59:59.999"),
                       ("2025-10-01T00:00:00", "2025-10-31T23:59:59.999")]:
        window = [datetime.fromisoformat(moment).replace(tzinfo=utc) for moment in (start, end)]
        truth = sorted(e.id for e in world.entries_between(*window) if e.seconds is not None)
        assert by_id(start, end, "ASCENDING") == truth[:200]
        assert by_id(start, end, "DESCENDING") == truth[::-1][:200]

def test_report_zones_differ_at_the_month_boundary(sandbox_api):
    sydney, new_york = set(report_ids(sandbox_api, "Australia/Sydney")), set(report_ids(sandbox_api, "America/New_York"))
    assert sydney - new_york and new_york - sydney


def test_report_filters(sandbox_api):
    def entries(**filters):
        return sandbox_api.report(ACME_ID, sandbox_api.report_body(**filters)).json()["timeentries"]

    just_maria = entries(users={"ids": [MARIA_ID], "contains": "CONTAINS", "status": "ALL"})
    assert just_maria and {e["userId"] for e in just_maria} == {MARIA_ID}
    not_maria = entries(users={"ids": [MARIA_ID], "contains": "DOES_NOT_CONTAIN", "status": "ALL"})
    assert not_maria and MARIA_ID not in {e["userId"] for e in not_maria}
    northwind = entries(clients={"ids": [NORTHWIND_ID], "contains": "CONTAINS", "status": "ALL"})
    assert northwind and {e["clientId"] for e in northwind} == {NORTHWIND_ID}
    website = entries(projects={"ids": [WEBSITE_REDESIGN_ID], "contains": "CONTAINS", "status": "ALL"})
    assert {e["projectName"] for e in website} == {WEBSITE_REDESIGN_NAME}
    design = entries(tasks={"ids": [DESIGN_TASK_ID], "contains": "CONTAINS", "status": "ALL"})
    assert design and {e["taskName"] for e in design} == {"Design"}
    billable = entries(billable=True)
    assert billable and all(e["billable"] for e in billable)
    assert not any(e["billable"] for e in entries(billable=False))
    both = entries(users={"ids": [DEMO_USER_ID], "contains": "CONTAINS"}, billable=True,
                   projects={"ids": [WEBSITE_REDESIGN_ID], "contains": "CONTAINS"})
    assert both and all(e["userId"] == DEMO_USER_ID and e["billable"] and e["projectId"] == WEBSITE_REDESIGN_ID
                        for e in both)
    assert {e["userId"] for e in entries(users={"ids": [MARIA_ID, JONAS_ID]})} == {MARIA_ID, JONAS_ID}


def test_report_leaves_out_running_timers_and_keeps_non_work_entries(sandbox_api):
    ids = report_ids(sandbox_api, "Australia/Sydney")
    running = [e.id for e in build_world().workspaces[ACME_ID].entries if e.seconds is None]
    assert running and not set(running) & set(ids)
    kinds = {e["type"] for e in sandbox_api.report(ACME_ID, sandbox_api.report_body(size=1000)).json()["timeentries"]}
    assert {"REGULAR", "BREAK"} <= kinds


# --- determinism ----------------------------------------------------------------------------------

def test_same_seed_same_world_and_well_known_ids_survive_other_seeds():
    fresh = build_world.__wrapped__  # bypass the cache: really generate twice
    one, two, other = fresh(7, 30, 20), fresh(7, 30, 20), fresh(8, 30, 20)
    assert one.workspaces[ACME_ID].entries == two.workspaces[ACME_ID].entries
    assert one.workspaces[ACME_ID].projects == two.workspaces[ACME_ID].projects
    assert [e.id for e in one.workspaces[ACME_ID].entries] != [e.id for e in other.workspaces[ACME_ID].entries]
    for world in (one, other):
        ws = world.workspaces[ACME_ID]
        assert ws.project_by_id[WEBSITE_REDESIGN_ID].name == WEBSITE_REDESIGN_NAME
        assert ws.client_by_id[NORTHWIND_ID].name == NORTHWIND_NAME


def test_two_sandboxes_with_the_same_knobs_answer_byte_identically(sandbox_api):
    bodies = []
    for _ in range(2):
        client = WsgiClient(create_sandbox(seed=3, members=12, entries_per_member=30, rate_limit=None))
        headers = {"X-Api-Key": MAIN_KEY}
        report = client.post(f"/report/v1{WS}/reports/detailed", json=sandbox_api.report_body("Europe/Berlin"), headers=headers)
        entries = client.get(f"/api/v1{WS}/user/{DEMO_USER_ID}/time-entries?page-size=500", headers=headers)
        bodies.append((report.data, entries.data))
    assert bodies[0] == bodies[1] and len(bodies[0][0]) > 10_000


def test_benchmark_size_world_serves_1000_entry_pages(sandbox_api):
    """The world `make bench` imports (its timing is bench/run.py's, section 6): over 10,000 entries in the
    month, served in full report pages."""
    sandbox = create_sandbox(members=20, entries_per_member=500, rate_limit=None)
    in_month = [e for e in sandbox.workspace(ACME_ID).entries if e.start.astimezone(ZoneInfo("UTC")).month == 10]
    assert len(sandbox.workspace(ACME_ID).entries) >= 10_000 and len(in_month) > 9_500
    client = WsgiClient(sandbox)
    for page in (1, 2, 3):
        response = client.post(f"/v1{WS}/reports/detailed", json=sandbox_api.report_body(page=page), headers={"X-Api-Key": MAIN_KEY})
        assert len(response.json["timeentries"]) == 1000


def test_iso_durations_follow_java():
    assert [shapes.iso_duration(s) for s in (0, 59, 3600, 10440, 3637, 8 * 3600, 49 * 3600)] == [
        "PT0S", "PT59S", "PT1H", "PT2H54M", "PT1H37S", "PT8H", "PT49H"]
