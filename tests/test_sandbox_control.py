"""The sandbox's knobs: rate limits, the Free plan, injected faults, keys, the control endpoints, the
request log, latency and `python -m sandbox`."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sandbox import ACME_ID, FREE_ID, MAIN_KEY, PRIYA_ID, fingerprint

WS = f"/workspaces/{ACME_ID}"


# --- limits ---------------------------------------------------------------------------------------

def test_more_than_10_requests_a_second_per_key_get_429(sandbox_api, clockify_sandbox, monkeypatch):
    sandbox, api = clockify_sandbox.sandbox, sandbox_api
    now = [100.0]
    monkeypatch.setattr(sandbox, "clock", lambda: now[0])  # the limiter's clock, moved by hand
    sandbox.rate_limit = 10
    other_key = sandbox.add_key(PRIYA_ID)
    answers = [api.get("/user").status_code for _ in range(11)]
    assert answers[:10] == [200] * 10 and answers[10] == 429
    limited = api.get("/user")
    assert limited.json() == {"message": "Too many requests"} and "Retry-After" not in limited.headers
    assert api.get("/user", key=other_key).status_code == 200  # the limit is per key
    now[0] += 0.99
    assert api.get("/user").status_code == 429  # still inside the second
    now[0] += 0.02  # a sliding window: a second after the first ten the key may call again
    assert api.get("/user").status_code == 200


def test_rate_limit_can_send_retry_after(sandbox_api, clockify_sandbox):
    sandbox, api = clockify_sandbox.sandbox, sandbox_api
    sandbox.rate_limit = 10
    sandbox.retry_after = 3
    responses = [api.get("/user") for _ in range(11)]
    assert responses[-1].status_code == 429 and responses[-1].headers["Retry-After"] == "3"
    sandbox.retry_after = True  # the real wait, rounded up
    assert api.get("/user").headers["Retry-After"] == "1"


def test_free_workspace_allows_30_calls_an_hour(sandbox_api):
    answers = [sandbox_api.get(f"/workspaces/{FREE_ID}/clients").status_code for _ in range(31)]
    assert answers[:30] == [200] * 30 and answers[30] == 429
    assert sandbox_api.get(f"{WS}/clients").status_code == 200  # the budget is per workspace
    assert sandbox_api.get("/user").status_code == 200


def test_free_plan_reports_cover_at_most_31_days(sandbox_api):
    long = sandbox_api.report(FREE_ID, sandbox_api.report_body(start="2025-09-01T00:00:00", end="2025-10-31T23:59:59"))
    assert long.status_code == 400 and "31 days" in long.json()["message"]
    month = sandbox_api.report(FREE_ID, sandbox_api.report_body())
    assert month.status_code == 200 and month.json()["timeentries"]
    entries = month.json()["timeentries"]
    assert {e["rate"] for e in entries} == {0} and {e["amount"] for e in entries} == {0}  # rates off on Free
    assert sandbox_api.report(ACME_ID, sandbox_api.report_body(start="2025-01-01T00:00:00")).status_code == 200


def test_free_plan_knob_limits_every_workspace(sandbox_api, clockify_sandbox):
    requests.post(clockify_sandbox.url + "/__sandbox/settings", json={"free_plan": True, "free_calls_per_hour": 3},
                  timeout=5).raise_for_status()
    assert [sandbox_api.get(f"{WS}/tags").status_code for _ in range(4)] == [200, 200, 200, 429]
    long = sandbox_api.report(ACME_ID, sandbox_api.report_body(start="2025-08-01T00:00:00"))
    assert long.status_code == 429  # the hourly budget is spent before the window is even read
    clockify_sandbox.sandbox.reset()
    assert sandbox_api.get(f"{WS}/tags").status_code == 200


def test_latency_knob_slows_every_api_call(sandbox_api, clockify_sandbox):
    clockify_sandbox.sandbox.latency = 0.2
    started = time.perf_counter()
    assert sandbox_api.get("/user").status_code == 200
    assert time.perf_counter() - started >= 0.2


# --- faults ---------------------------------------------------------------------------------------

def test_status_fault_answers_a_clockify_shaped_error_then_clears(sandbox_api, clockify_sandbox):
    clockify_sandbox.sandbox.add_fault("status", "*/clients", status=503, times=1, retry_after=2)
    failed = sandbox_api.get(f"{WS}/clients")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "2"
    assert failed.json() == {"message": "Service Unavailable", "code": 503}
    assert sandbox_api.get(f"{WS}/clients").status_code == 200  # times=1: only the first call fails
    clockify_sandbox.sandbox.add_fault("status", "*", status=401)
    assert sandbox_api.get("/user").json() == {"message": "Api key does not exist", "code": 4003}
    clockify_sandbox.sandbox.clear_faults()
    clockify_sandbox.sandbox.add_fault("status", "*", status=429)
    assert sandbox_api.get("/user").json() == {"message": "Too many requests"}


def test_faults_match_path_and_method(sandbox_api, clockify_sandbox):
    clockify_sandbox.sandbox.add_fault("status", "*/reports/detailed", method="POST", status=500)
    assert sandbox_api.get(f"{WS}/projects").status_code == 200
    assert sandbox_api.report(ACME_ID, sandbox_api.report_body(size=1)).status_code == 500


def test_delay_fault_makes_a_client_time_out(sandbox_api, clockify_sandbox):
    clockify_sandbox.sandbox.add_fault("delay", "*/user", delay=0.5, times=1)
    with pytest.raises(requests.Timeout):
        requests.get(clockify_sandbox.api_url + "/user", headers=sandbox_api.headers(), timeout=0.1)


def test_malformed_html_empty_and_truncated_bodies(sandbox_api, clockify_sandbox):
    sandbox = clockify_sandbox.sandbox
    sandbox.add_fault("malformed_json", "*/clients", times=1)
    with pytest.raises(ValueError):
        sandbox_api.get(f"{WS}/clients").json()
    sandbox.add_fault("html", "*/projects", times=1)
    html = sandbox_api.get(f"{WS}/projects")
    assert html.status_code == 502 and html.headers["Content-Type"].startswith("text/html") and "<html>" in html.text
    sandbox.add_fault("empty", "*/tags", times=1)
    empty = sandbox_api.get(f"{WS}/tags")
    assert empty.status_code == 200 and empty.content == b""
    sandbox.add_fault("truncated", "*/reports/detailed", times=1)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        sandbox_api.report(ACME_ID, sandbox_api.report_body(size=200))
    assert sandbox_api.report(ACME_ID, sandbox_api.report_body(size=200)).status_code == 200


def test_redirect_fault_points_at_a_canary_that_logs_followers(sandbox_api, clockify_sandbox):
    clockify_sandbox.sandbox.add_fault("redirect")  # every path; the canary itself is never redirected
    redirect = sandbox_api.get("/user")
    assert redirect.status_code == 302 and redirect.headers["Location"].endswith("/__sandbox/redirect-target")
    assert clockify_sandbox.sandbox.calls("/__sandbox/redirect-target") == []
    requests.get(clockify_sandbox.api_url + "/user", headers=sandbox_api.headers(), timeout=5)  # follows
    followed = clockify_sandbox.sandbox.calls("/__sandbox/redirect-target")
    assert len(followed) == 1 and followed[0].key_fingerprint == fingerprint(MAIN_KEY)  # the key leaked


def test_drop_fault_closes_the_connection(sandbox_api, clockify_sandbox):
    clockify_sandbox.sandbox.add_fault("drop", "*/user", times=1)
    with pytest.raises(requests.ConnectionError):
        sandbox_api.get("/user")
    assert sandbox_api.get("/user").status_code == 200
    dropped, answered = clockify_sandbox.sandbox.calls("*/user")
    assert (dropped.fault, dropped.status, answered.status) == ("drop", None, 200)


def test_unknown_fault_kind_is_refused(clockify_sandbox):
    with pytest.raises(ValueError):
        clockify_sandbox.sandbox.add_fault("explode")
    refused = requests.post(clockify_sandbox.url + "/__sandbox/faults", json={"kind": "explode"}, timeout=5)
    assert refused.status_code == 400


# --- control endpoints ----------------------------------------------------------------------------

def test_control_endpoints_flip_faults_keys_and_reset(sandbox_api, clockify_sandbox):
    control = clockify_sandbox.url + "/__sandbox"
    added = requests.post(control + "/faults", json={"kind": "status", "path": "*/tags", "status": 503}, timeout=5)
    assert added.status_code == 201 and added.json()["status"] == 503
    assert sandbox_api.get(f"{WS}/tags").status_code == 503
    assert len(requests.get(control + "/faults", timeout=5).json()) == 1
    requests.delete(control + "/faults", timeout=5)
    assert sandbox_api.get(f"{WS}/tags").status_code == 200

    key = requests.post(control + "/keys", json={"accountId": PRIYA_ID}, timeout=5).json()["key"]
    assert sandbox_api.get("/user", key=key).json()["id"] == PRIYA_ID
    requests.delete(f"{control}/keys/{key}", timeout=5)
    assert sandbox_api.get("/user", key=key).json()["code"] == 4003

    requests.post(control + "/settings", json={"latency": 0.01}, timeout=5)
    state = requests.get(control, timeout=5).json()
    assert state["knobs"]["latency"] == 0.01 and state["requests"] >= 4
    assert MAIN_KEY not in json.dumps(state)
    assert requests.post(control + "/settings", json={"colour": "red"}, timeout=5).status_code == 400
    requests.post(control + "/reset", timeout=5)
    after = requests.get(control, timeout=5).json()
    assert after["requests"] == 0 and after["faults"] == [] and after["knobs"]["latency"] == 0.0


def test_request_log_records_calls_without_the_key(sandbox_api, clockify_sandbox):
    sandbox = clockify_sandbox.sandbox
    sandbox_api.get(f"{WS}/projects", archived="false", **{"page-size": 100})
    sandbox_api.get(f"{WS}/projects", page=2)
    sandbox_api.report(ACME_ID, sandbox_api.report_body(size=10))
    projects = sandbox.calls("*/projects", method="GET")
    assert len(projects) == 2 and projects[0].query == {"archived": ["false"], "page-size": ["100"]}
    assert projects[0].status == 200 and projects[0].url.endswith("/projects?archived=false&page-size=100")
    report = sandbox.calls("*/reports/detailed")[0]
    assert report.method == "POST" and report.json["detailedFilter"]["pageSize"] == 10
    assert report.key_fingerprint == fingerprint(MAIN_KEY) and report.headers["X-Api-Key"] == fingerprint(MAIN_KEY)
    logged = requests.get(clockify_sandbox.url + "/__sandbox/requests", timeout=5).text
    assert MAIN_KEY not in logged and fingerprint(MAIN_KEY) in logged
    assert len(sandbox.calls()) == 3  # control calls are not logged
    sandbox.clear_requests()
    assert sandbox.calls() == []


# --- python -m sandbox ----------------------------------------------------------------------------

def test_python_m_sandbox_serves_and_prints_the_demo_key():
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--members", "3",
                                "--entries-per-member", "5", "--no-rate-limit"],
                               cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    try:
        banner = [process.stdout.readline() for _ in range(6)]
        assert MAIN_KEY in "".join(banner)
        api_url = next(line for line in banner if "HOURBILL_CLOCKIFY_API_URL=" in line).split("=", 1)[1].strip()
        me = requests.get(api_url + "/user", headers={"X-Api-Key": MAIN_KEY}, timeout=5)
        assert me.status_code == 200 and me.json()["name"] == "Alex Morgan"
    finally:
        process.terminate()
        process.wait(timeout=5)
