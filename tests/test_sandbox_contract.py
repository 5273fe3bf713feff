"""The sandbox keeps Clockify's contract: client-shaped requests validate against the official OpenAPI
file's request schemas, and the sandbox's answers against its response schemas (with the live API's
known deviations, listed in tests/openapi_contract.py)."""
from __future__ import annotations

import json

import pytest

from sandbox import (ACME_ID, DEMO_USER_ID, EURO_SIGN_ID, FREE_ID, KANJI_ID, LIGHTHOUSE_ID, NORTHWIND_ID, SUBDOMAIN_KEY,
                     SUPPORT_RETAINER_ID, TOKYO_ID, WEBSITE_REDESIGN_ID)
from tests.openapi_contract import request_errors, validate_recorded, validate_request, validate_response

WS = f"/workspaces/{ACME_ID}"

# What a read-only client asks for (docs/clockify-notes.md's table), with the parameters it would send.
CORE_CALLS = [
    ("/user", {}),
    ("/user", {"include-memberships": "true"}),
    ("/workspaces", {}),
    (f"{WS}/clients", {"archived": "false", "page": 1, "page-size": 200}),
    (f"{WS}/projects", {"archived": "false", "hydrated": "true", "page": 2, "page-size": 50}),
    (f"{WS}/projects", {"clients": [NORTHWIND_ID], "billable": "true"}),
    (f"{WS}/users", {"memberships": "WORKSPACE", "status": "ACTIVE", "page": 1, "page-size": 100}),
    (f"{WS}/projects/{SUPPORT_RETAINER_ID}/tasks", {"is-active": "true", "page-size": 100}),
    (f"{WS}/projects/{WEBSITE_REDESIGN_ID}/tasks", {}),
    (f"{WS}/tags", {"archived": "false", "page-size": 100}),
    (f"{WS}/user/{DEMO_USER_ID}/time-entries", {"start": "2025-10-01T00:00:00Z", "end": "2025-10-31T23:59:59Z",
                                                 "page": 1, "page-size": 200}),
    (f"{WS}/user/{DEMO_USER_ID}/time-entries", {"in-progress": "true", "hydrated": "true"}),
    (f"/workspaces/{FREE_ID}/user/{DEMO_USER_ID}/time-entries", {"project": "9f0000000000000000000201"}),
    # issue 9: archived clients asked for, hydrated per-member entries, the JPY and "€" workspaces
    (f"{WS}/clients", {"archived": "true", "page": 1, "page-size": 1000}),
    (f"/workspaces/{TOKYO_ID}/clients", {"archived": "true"}),
    (f"/workspaces/{TOKYO_ID}/projects", {"archived": "true", "page": 1, "page-size": 1000}),
    (f"/workspaces/{TOKYO_ID}/user/{DEMO_USER_ID}/time-entries", {"start": "2025-10-01T00:00:00Z",
                                                                  "end": "2025-10-31T23:59:59Z", "hydrated": "true",
                                                                  "page": 1, "page-size": 1000}),
    (f"/workspaces/{EURO_SIGN_ID}/clients", {"page": 1, "page-size": 1000}),
    (f"/workspaces/{EURO_SIGN_ID}/users", {"memberships": "WORKSPACE", "page": 1, "page-size": 1000}),
]


@pytest.mark.parametrize("path, params", CORE_CALLS, ids=[f"{p}?{'&'.join(q)}" for p, q in CORE_CALLS])
def test_core_requests_and_answers_follow_the_spec(sandbox_api, clockify_sandbox, path, params):
    response = sandbox_api.get(path, **params)
    assert response.status_code == 200, response.text
    (record,) = clockify_sandbox.sandbox.calls()
    validate_recorded(record)
    validate_response("GET", record.url, response.status_code, response.content, response.headers,
                      request_headers=record.headers)


@pytest.mark.parametrize("base", ["reports_url", "global_reports_url"])
@pytest.mark.parametrize("extra", [
    {},
    {"users": {"ids": [DEMO_USER_ID], "contains": "CONTAINS", "status": "ALL"}, "billable": True,
     "clients": {"ids": [NORTHWIND_ID], "contains": "CONTAINS", "status": "ALL"}, "sortOrder": "ASCENDING",
     "amountShown": "EARNED", "invoicingState": "ALL"},
    {"start": "2020-01-01T00:00:00", "end": "2020-01-31T23:59:59"},  # nothing matches: totals [null]
])
def test_report_requests_and_answers_follow_the_spec(sandbox_api, clockify_sandbox, base, extra):
    body = sandbox_api.report_body("Australia/Sydney", size=50, **extra)
    response = sandbox_api.report(ACME_ID, body, base=getattr(clockify_sandbox, base))
    assert response.status_code == 200, response.text
    (record,) = clockify_sandbox.sandbox.calls()
    validate_recorded(record)
    validate_response("POST", record.url, 200, response.content, response.headers, json_body=body)


@pytest.mark.parametrize("workspace_id", [TOKYO_ID, EURO_SIGN_ID])
@pytest.mark.parametrize("extra", [
    {"rounding": False, "amountShown": "EARNED", "sortOrder": "ASCENDING"},
    {"rounding": True, "clients": {"ids": [KANJI_ID], "contains": "CONTAINS", "status": "ALL"}},
    {},  # rounding left out: the Tokyo workspace's reports round time
])
def test_new_workspaces_reports_follow_the_spec(sandbox_api, clockify_sandbox, workspace_id, extra):
    body = sandbox_api.report_body("Asia/Tokyo", size=1000, **extra)
    response = sandbox_api.report(workspace_id, body)
    assert response.status_code == 200, response.text
    (record,) = clockify_sandbox.sandbox.calls()
    validate_recorded(record)
    validate_response("POST", record.url, 200, response.content, response.headers, json_body=body)


def test_workspace_rounding_settings_follow_the_spec(sandbox_api, clockify_sandbox):
    from openapi_core.validation.response.exceptions import InvalidData

    response = sandbox_api.get("/workspaces")
    validate_response("GET", clockify_sandbox.api_url + "/workspaces", 200, response.content)
    (tokyo,) = [w for w in response.json() if w["id"] == TOKYO_ID]
    assert tokyo["workspaceSettings"]["round"] == {"round": "Round up to", "minutes": "15"}  # RoundDto: strings
    broken = {**tokyo, "workspaceSettings": {**tokyo["workspaceSettings"], "timeRoundingInReports": "yes"}}
    with pytest.raises(InvalidData):
        validate_response("GET", clockify_sandbox.api_url + "/workspaces", 200, json.dumps([broken]))


def test_subdomain_workspace_answers_follow_the_spec(sandbox_api, clockify_sandbox):
    for path in ("/workspaces", f"/workspaces/{LIGHTHOUSE_ID}/projects", f"/workspaces/{LIGHTHOUSE_ID}/users"):
        response = sandbox_api.get(path, key=SUBDOMAIN_KEY)
        validate_response("GET", clockify_sandbox.api_url + path, 200, response.content)


def test_the_contract_bites(sandbox_api):
    from openapi_core.templating.paths.exceptions import PathNotFound
    from openapi_core.validation.response.exceptions import InvalidData

    core = "http://127.0.0.1:5050/api/v1"
    reports = "http://127.0.0.1:5050/report/v1"
    key = {"X-Api-Key": "k"}
    body = sandbox_api.report_body()
    del body["dateRangeEnd"]
    assert request_errors("POST", f"{reports}{WS}/reports/detailed", headers=key, json_body=body)
    assert request_errors("GET", f"{core}{WS}/clients", {"page": "abc"}, key)
    assert not request_errors("GET", f"{core}{WS}/clients", {"page": "2"}, key)
    with pytest.raises(PathNotFound):
        validate_request("GET", f"{core}/no/such/path", headers=key)
    entry = {"_id": "e0", "timeInterval": {"start": "2025-10-01T09:00:00+10:00", "end": "2025-10-01T10:00:00+10:00",
                                           "duration": "PT1H"}}  # a core duration inside a report: wrong
    with pytest.raises(InvalidData):
        validate_response("POST", f"{reports}{WS}/reports/detailed", 200, json.dumps({"timeentries": [entry]}),
                          json_body=sandbox_api.report_body())
    entry["timeInterval"]["duration"] = 3600
    validate_response("POST", f"{reports}{WS}/reports/detailed", 200, json.dumps({"timeentries": [entry], "totals": []}),
                      json_body=sandbox_api.report_body())
    entry["amount"] = "130.50"  # the report's amount is an integer x100, never a decimal string
    with pytest.raises(InvalidData):
        validate_response("POST", f"{reports}{WS}/reports/detailed", 200, json.dumps({"timeentries": [entry], "totals": []}),
                          json_body=sandbox_api.report_body())
    with pytest.raises(InvalidData):  # hourlyRate.amount is an integer number of cents, never a string
        validate_response("GET", f"{core}{WS}/projects", 200, json.dumps([{"id": "p", "hourlyRate": {"amount": "45.00"}}]))


def test_a_report_asked_again_is_the_same_answer_and_a_changed_world_is_answered_anew(sandbox_api, clockify_sandbox):
    """The sandbox keeps report answers (sandbox/routes.py): kept only for the same question, never past a
    change of the workspace's entries."""
    from dataclasses import replace

    workspace = clockify_sandbox.sandbox.world.workspaces[TOKYO_ID]
    body = sandbox_api.report_body("Asia/Tokyo", size=5)
    first = sandbox_api.report(TOKYO_ID, body)
    assert first.status_code == 200 and len(first.json()["timeentries"]) == 5
    assert sandbox_api.report(TOKYO_ID, body).content == first.content and workspace.report_pages  # kept
    in_utc = sandbox_api.report(TOKYO_ID, sandbox_api.report_body("UTC", size=5)).json()["timeentries"]
    assert in_utc[0]["timeInterval"]["start"].endswith("+00:00")  # the zone is part of the question
    assert first.json()["timeentries"][0]["timeInterval"]["start"].endswith("+09:00")
    assert sandbox_api.report(TOKYO_ID, {**body, "description": "no such words"}).json()["timeentries"] == []
    original = list(workspace.entries)
    try:  # the world is shared (build_world's cache): changed through set_entries, then put back
        workspace.set_entries([replace(entry, description="Changed") for entry in original])
        assert workspace.report_pages == {}  # nothing kept past the change
        assert {e["description"] for e in sandbox_api.report(TOKYO_ID, body).json()["timeentries"]} == {"Changed"}
    finally:
        workspace.set_entries(original)
    assert sandbox_api.report(TOKYO_ID, body).content == first.content


def test_the_kept_report_answers_stay_under_their_byte_budget(monkeypatch):
    from sandbox import routes

    monkeypatch.setattr(routes, "_KEPT_REPORT_BYTES", 10)
    pages: dict = {}
    for name in "abcd":
        routes._keep(pages, (name,), name.encode() * 4)
    assert pages == {("c",): b"cccc", ("d",): b"dddd"}  # the oldest dropped first
    routes._keep(pages, ("big",), b"x" * 11)  # alone past the budget: kept alone, for the request that made it
    assert pages == {("big",): b"x" * 11}
