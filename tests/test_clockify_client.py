"""The read-only Clockify client against mocked HTTP (responses): hosts, the read-only guard, every
error and paging case in docs/clockify-notes.md, the per-key rate limit on a fake clock, call counting,
and the API key never leaking (typed results: test_clockify_types.py). Nothing here really sleeps."""
from __future__ import annotations

import json
from collections import Counter
import logging
import random
import threading
import traceback
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from email.utils import format_datetime
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses

from services import clockify
from services.clockify import (
    BadRequest,
    ClockifyClient,
    ClockifyError,
    Forbidden,
    InvalidKey,
    NotFound,
    RateLimited,
    ReadOnlyViolation,
    RetryPolicy,
    TimedOut,
    UnexpectedResponse,
    Unreachable,
    base_urls,
)
from services.rate_budget import WINDOW, LocalBudget
from services.clockify_types import Money

KEY = "CANARY-KEY-4f1c9a"
API = "https://api.clockify.me/api/v1"
REPORTS = "https://reports.api.clockify.me/v1"
WS = "64a687e29ae1f428e7ebe303"
REPORT_URL = f"{REPORTS}/workspaces/{WS}/reports/detailed"
CLIENTS_URL = f"{API}/workspaces/{WS}/clients"


class FakeTime:
    """A monotonic clock that only moves when the client sleeps, and a rate budget on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()
        self.budget = LocalBudget(clock=self.clock)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def make_client(fake: FakeTime, key: str = KEY, retries: int = 3, **kwargs) -> ClockifyClient:
    return ClockifyClient(key, budget=fake.budget, sleep=fake.sleep,
                          retry=RetryPolicy(retries=retries, rng=random.Random(7)), **kwargs)


@pytest.fixture
def client(fake) -> ClockifyClient:
    return make_client(fake)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def query(call) -> dict[str, list[str]]:
    return query_of(call.request)


def query_of(request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.url).query)


def items(n: int, start: int = 0) -> list[dict]:
    return [{"id": f"c{i}", "name": f"Client {i}", "archived": False, "currencyCode": "EUR"} for i in range(start, start + n)]


def report_entry(n: int, **overrides) -> dict:
    entry = {
        "_id": f"e{n}",
        "description": "Design review",
        "billable": True,
        "userId": "u1",
        "userName": "Luke",
        "userEmail": "luke@example.com",
        "projectId": "p1",
        "projectName": "Website",
        "clientId": "c1",
        "clientName": "Acme",
        "taskId": "t1",
        "taskName": "Consulting",
        "tagIds": [],
        "timeInterval": {"start": "2023-08-28T15:48:00+10:00", "end": "2023-08-28T18:42:00+10:00", "duration": 10440},
        "rate": 4500,
        "amount": 13050,
        "type": "REGULAR",
        "isLocked": False,
    }
    entry.update(overrides)
    return entry


CORE_ENTRY = {
    "id": "63b0",
    "description": "Design review",
    "billable": True,
    "projectId": "9721",
    "taskId": "863f",
    "tagIds": ["tag1"],
    "userId": "b4de",
    "workspaceId": WS,
    "timeInterval": {"start": "2023-08-28T05:48:00Z", "end": "2023-08-28T08:42:00Z", "duration": "PT2H54M"},
    "hourlyRate": {"amount": 4500, "currency": "AUD"},
    "costRate": {"amount": 0, "currency": "AUD"},
    "isLocked": False,
    "type": "REGULAR",
    "customFieldValues": [],
    "kioskId": None,
}


def report_args(**overrides) -> dict:
    args = {"start": date(2024, 3, 1), "end": date(2024, 3, 31), "time_zone": "Europe/Berlin", "currency": "EUR"}
    args.update(overrides)
    return args


# --- hosts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "region, api, reports",
    [
        ("global", "https://api.clockify.me/api/v1", "https://reports.api.clockify.me/v1"),
        ("euc1", "https://euc1.clockify.me/api/v1", "https://euc1.clockify.me/report/v1"),
        ("use2", "https://use2.clockify.me/api/v1", "https://use2.clockify.me/report/v1"),
        ("euw2", "https://euw2.clockify.me/api/v1", "https://euw2.clockify.me/report/v1"),
        ("apse2", "https://apse2.clockify.me/api/v1", "https://apse2.clockify.me/report/v1"),
    ],
)
def test_region_urls(region, api, reports):
    assert base_urls(region) == (api, reports)
    # a subdomain moves only the reports host
    assert base_urls(region, "Acme-2") == (api, "https://acme-2.clockify.me/report/v1")


@pytest.mark.parametrize("region", ["", "eu", "EUC1", "https://evil.example", "global/../x"])
def test_unknown_region_is_refused(region):
    with pytest.raises(ValueError):
        base_urls(region)


@pytest.mark.parametrize(
    "label",
    ["-acme", "acme-", "ac me", "acme.evil.com", "acme/x", "acme@evil", "acme\n", "évil", "a" * 64, "acme:443"],
)
def test_bad_subdomain_labels_are_refused(label):
    with pytest.raises(ValueError):
        base_urls("global", label)


def test_empty_subdomain_means_none():
    assert base_urls("euc1", "") == base_urls("euc1", None) == base_urls("euc1")


def test_longest_label_is_accepted():
    assert base_urls("global", "a" * 63)[1] == f"https://{'a' * 63}.clockify.me/report/v1"


def test_override_urls_win_over_region_and_subdomain(fake, mocked):
    client = make_client(
        fake, region="euc1", subdomain="acme", api_url="http://127.0.0.1:5001/api/v1/", reports_url="http://127.0.0.1:5001/report/v1"
    )
    mocked.get("http://127.0.0.1:5001/api/v1/user", json={"id": "u1", "name": "Luke", "email": "l@example.com"})
    mocked.post(f"http://127.0.0.1:5001/report/v1/workspaces/{WS}/reports/detailed", json={"timeentries": []})
    assert client.get_user().id == "u1"
    assert client.detailed_report(WS, **report_args()) == []
    assert [c.request.url.split("?")[0] for c in mocked.calls] == [
        "http://127.0.0.1:5001/api/v1/user",
        f"http://127.0.0.1:5001/report/v1/workspaces/{WS}/reports/detailed",
    ]


def test_one_override_keeps_the_other_host(fake, mocked):
    client = make_client(fake, subdomain="acme", reports_url="http://localhost:9/r")
    mocked.get(f"{API}/user", json={"id": "u1"})
    client.get_user()
    assert mocked.calls[0].request.url == f"{API}/user"


def test_override_must_be_http(fake):
    with pytest.raises(ValueError):
        make_client(fake, api_url="file:///etc/passwd")


# --- requests as sent ----------------------------------------------------------------------------


def test_headers_timeout_and_key_only_in_its_header(client, mocked):
    mocked.get(f"{API}/user", json={"id": "u1", "name": "Luke", "email": "l@example.com", "settings": {"timeZone": "Australia/Sydney"}})
    user = client.get_user()
    assert user.time_zone == "Australia/Sydney"
    sent = mocked.calls[0].request
    assert sent.headers["X-Api-Key"] == KEY
    assert "Authorization" not in sent.headers and "X-Addon-Token" not in sent.headers
    assert KEY not in sent.url
    assert sent.req_kwargs["timeout"] == (5, 20)


def test_custom_timeout(fake, mocked):
    client = make_client(fake, timeout=(1, 2))
    mocked.get(f"{API}/workspaces", json=[])
    client.workspaces()
    assert mocked.calls[0].request.req_kwargs["timeout"] == (1, 2)


@pytest.mark.parametrize(
    "method, path, reports",
    [
        ("PUT", "/workspaces", False),
        ("DELETE", f"/workspaces/{WS}/clients/c1", False),
        ("PATCH", f"/workspaces/{WS}/projects/p1", False),
        ("POST", f"/workspaces/{WS}/clients", False),
        ("POST", f"/workspaces/{WS}/reports/detailed", False),  # the right path on the core host
        ("POST", f"/workspaces/{WS}/reports/summary", True),
        ("POST", f"/workspaces/{WS}/reports/detailed/../../time-entries", True),
        ("HEAD", "/user", False),
        ("delete", "/user", False),
    ],
)
def test_guard_refuses_writes_before_any_network_io(client, mocked, method, path, reports):
    with pytest.raises(ReadOnlyViolation):
        client._request(method, path, reports=reports)
    assert len(mocked.calls) == 0  # any request would also have failed as "connection refused"
    assert client.calls == 0


def test_guard_allows_get_and_the_report_post(client, mocked):
    mocked.get(f"{API}/user", json={"id": "u1"})
    mocked.post(REPORT_URL, json={"timeentries": []})
    client._request("GET", "/user")
    client._request("POST", f"/workspaces/{WS}/reports/detailed", reports=True, body={})
    assert client.calls == 2


@pytest.mark.parametrize("bad_id", ["../user", "ws?x=1", "ws/reports", "", "a b", "ws#x"])
def test_ids_cannot_change_the_path(client, mocked, bad_id):
    with pytest.raises(ValueError):
        client.clients(bad_id)
    with pytest.raises(ValueError):
        client.detailed_report_page(bad_id, **report_args())
    assert len(mocked.calls) == 0


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "status, body, error, code",
    [
        (401, {"message": "Api key does not exist", "code": 4003}, InvalidKey, 4003),
        (401, {"message": "Multiple or none auth tokens present", "code": 1000}, InvalidKey, 1000),
        (400, {"message": "Project doesn't belong to Workspace", "code": 501}, BadRequest, 501),
        (403, {"message": "Forbidden"}, Forbidden, None),
        (403, None, Forbidden, None),
        (404, {"message": "No static resource", "code": 3000}, NotFound, 3000),
        (405, {"message": "Request method 'GET' is not supported", "code": 3000}, NotFound, 3000),
        (409, {"message": "Conflict", "code": 42}, UnexpectedResponse, 42),
    ],
)
def test_client_errors_map_to_classes_and_are_not_retried(client, mocked, fake, status, body, error, code):
    if body is None:
        mocked.get(f"{API}/user", status=status, body="")
    else:
        mocked.get(f"{API}/user", status=status, json=body)
    with pytest.raises(error) as caught:
        client.get_user()
    assert caught.value.status == status
    # Only a key Clockify does not know asks for a new one; code 1000 is Hourbill's header, not the key.
    assert caught.value.kind == ("new_key" if code == 4003 else "other")
    assert caught.value.code == code
    assert str(caught.value)  # a user-facing message
    assert client.calls == 1 and fake.sleeps == []


def test_invalid_key_messages_distinguish_4003_and_1000(client, mocked):
    mocked.get(f"{API}/user", status=401, json={"message": "Api key does not exist", "code": 4003})
    with pytest.raises(InvalidKey) as invalid:
        client.get_user()
    assert "invalid or expired" in str(invalid.value)
    assert invalid.value.detail == "Api key does not exist"
    mocked.replace(responses.GET, f"{API}/user", status=401, json={"code": 1000, "message": "Multiple or none auth tokens present"})
    with pytest.raises(InvalidKey) as bug:
        client.get_user()
    assert "bug in Hourbill" in str(bug.value)


def test_429_without_retry_after_backs_off_with_jitter_then_succeeds(client, mocked, fake):
    mocked.get(f"{API}/workspaces", status=429, body="")
    mocked.get(f"{API}/workspaces", status=429, json={"message": "Too many requests"})
    mocked.get(f"{API}/workspaces", json=[{"id": "w1", "name": "Main"}])
    assert [w.id for w in client.workspaces()] == ["w1"]
    assert client.calls == 3
    first, second = fake.sleeps
    assert 0.25 <= first <= 0.5 and 0.5 <= second <= 1.0


def test_429_gives_up_after_three_retries(client, mocked, fake):
    mocked.get(f"{API}/workspaces", status=429, body="")
    with pytest.raises(RateLimited) as caught:
        client.workspaces()
    assert client.calls == 4
    assert len(fake.sleeps) == 3
    for attempt, slept in enumerate(fake.sleeps):
        ceiling = 0.5 * 2**attempt
        assert ceiling / 2 <= slept <= ceiling
    assert caught.value.retry_after is None and caught.value.status == 429


@pytest.mark.parametrize("seconds", ["7", " 7 ", "30"])
def test_429_retry_after_seconds_is_honoured(client, mocked, fake, seconds):
    mocked.get(f"{API}/workspaces", status=429, headers={"Retry-After": seconds})
    mocked.get(f"{API}/workspaces", json=[])
    assert client.workspaces() == []
    assert fake.sleeps == [float(seconds)]


def test_429_retry_after_that_is_no_number_backs_off_as_without_one(client, mocked, fake):
    mocked.get(f"{API}/workspaces", status=429, headers={"Retry-After": "\u00b2"})  # a digit to str.isdigit only
    mocked.get(f"{API}/workspaces", json=[])
    assert client.workspaces() == []
    (slept,) = fake.sleeps
    assert 0.25 <= slept <= 0.5


def test_429_retry_after_http_date_is_honoured(client, mocked, fake):
    when = datetime.now(timezone.utc) + timedelta(seconds=8)
    mocked.get(f"{API}/workspaces", status=429, headers={"Retry-After": format_datetime(when, usegmt=True)})
    mocked.get(f"{API}/workspaces", json=[])
    client.workspaces()
    (slept,) = fake.sleeps
    assert 6 <= slept <= 8


def test_429_retry_after_in_the_past_retries_at_once(client, mocked, fake):
    mocked.get(f"{API}/workspaces", status=429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    mocked.get(f"{API}/workspaces", json=[])
    client.workspaces()
    assert fake.sleeps == [0.0]


@pytest.mark.parametrize("retry_after", ["120", format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)],
                         ids=["seconds", "http-date"])
def test_429_retry_after_beyond_the_cap_fails_fast(client, mocked, fake, retry_after):
    # Waiting past 30 s would block a web worker and a retry before then is wasted on a 30-per-hour budget
    mocked.get(f"{API}/workspaces", status=429, headers={"Retry-After": retry_after})
    with pytest.raises(RateLimited) as caught:
        client.workspaces()
    assert client.calls == 1
    assert fake.sleeps == []
    assert caught.value.retry_after > 30
    assert "minute" in str(caught.value)


def test_garbage_retry_after_falls_back_to_backoff(client, mocked, fake):
    mocked.get(f"{API}/workspaces", status=429, headers={"Retry-After": "soon"})
    mocked.get(f"{API}/workspaces", json=[])
    client.workspaces()
    assert 0.25 <= fake.sleeps[0] <= 0.5


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_then_succeeds(client, mocked, fake, status):
    mocked.get(f"{API}/workspaces", status=status, body="<html><body>Bad gateway</body></html>", content_type="text/html")
    mocked.get(f"{API}/workspaces", json=[{"id": "w1", "name": "Main"}])
    assert len(client.workspaces()) == 1
    assert client.calls == 2 and len(fake.sleeps) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_gives_up_after_retries(client, mocked, fake, status):
    mocked.get(f"{API}/workspaces", status=status, body="")
    with pytest.raises(UnexpectedResponse) as caught:
        client.workspaces()
    assert caught.value.status == status
    assert client.calls == 4 and len(fake.sleeps) == 3
    assert "trouble" in str(caught.value)


def test_503_retry_after_is_honoured(client, mocked, fake):
    mocked.get(f"{API}/workspaces", status=503, headers={"Retry-After": "3"})
    mocked.get(f"{API}/workspaces", json=[])
    client.workspaces()
    assert fake.sleeps == [3.0]


@pytest.mark.parametrize(
    "failure, error",
    [
        (requests.exceptions.ReadTimeout("read timed out"), TimedOut),
        (requests.exceptions.ConnectTimeout("connect timed out"), TimedOut),
        (requests.exceptions.ConnectionError("[Errno 111] Connection refused"), Unreachable),
        (requests.exceptions.ConnectionError("Failed to resolve 'euc1.clockify.me'"), Unreachable),
        (requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"), UnexpectedResponse),
    ],
)
def test_connection_failures_are_retried_then_reported(client, mocked, fake, failure, error):
    mocked.get(f"{API}/workspaces", body=failure)
    with pytest.raises(error) as caught:
        client.workspaces()
    assert client.calls == 4 and len(fake.sleeps) == 3
    # the underlying exception (its text names hosts and paths) is not chained into the report
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None or caught.value.__suppress_context__
    assert str(failure) not in "".join(traceback.format_exception(caught.value))


def test_timeout_then_success(client, mocked):
    mocked.get(f"{API}/workspaces", body=requests.exceptions.ReadTimeout())
    mocked.get(f"{API}/workspaces", json=[{"id": "w1", "name": "Main"}])
    assert len(client.workspaces()) == 1
    assert client.calls == 2


def test_retries_are_configurable(fake, mocked):
    client = make_client(fake, retries=0)
    mocked.get(f"{API}/workspaces", status=503)
    with pytest.raises(UnexpectedResponse):
        client.workspaces()
    assert client.calls == 1 and fake.sleeps == []


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_errors_and_never_followed(client, mocked, status):
    mocked.get(f"{API}/user", status=status, headers={"Location": "https://evil.example/steal"})
    trap = mocked.get("https://evil.example/steal", json={"id": "u1"})
    with pytest.raises(UnexpectedResponse) as caught:
        client.get_user()
    assert caught.value.status == status and "redirect" in str(caught.value)
    assert trap.call_count == 0
    assert [urlsplit(c.request.url).hostname for c in mocked.calls] == ["api.clockify.me"]
    assert client.calls == 1


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("{not json", "application/json"),
        ("<!DOCTYPE html><html><body>Maintenance</body></html>", "text/html"),
        ("", "application/json"),
        ('[{"id": "c1", "name": "Ac', "application/json"),  # truncated
        (b"\xff\xfe\x00garbage", "application/json"),
    ],
)
def test_unreadable_bodies(client, mocked, body, content_type):
    mocked.get(CLIENTS_URL, body=body, content_type=content_type)
    with pytest.raises(UnexpectedResponse):
        client.clients(WS)
    assert client.calls == 1


@pytest.mark.parametrize(
    "url, payload, call",
    [
        (f"{API}/user", [], lambda c: c.get_user()),
        (f"{API}/workspaces", {"id": "w1"}, lambda c: c.workspaces()),
        (CLIENTS_URL, {"items": []}, lambda c: c.clients(WS)),
        (CLIENTS_URL, [{"name": "no id"}], lambda c: c.clients(WS)),
        (CLIENTS_URL, ["c1"], lambda c: c.clients(WS)),
        (f"{API}/workspaces", [{"id": "w1", "hourlyRate": {"amount": 45.5, "currency": "EUR"}}], lambda c: c.workspaces()),
    ],
    ids=["user-list", "workspaces-object", "clients-paged-object", "client-without-id", "client-as-string",
         "fractional-cents"],
)
def test_wrong_shapes_are_unexpected_responses(client, mocked, url, payload, call):
    mocked.get(url, json=payload)
    with pytest.raises(UnexpectedResponse):
        call(client)


def test_report_wrong_shapes(client, mocked):
    mocked.post(REPORT_URL, json=[])
    with pytest.raises(UnexpectedResponse):
        client.detailed_report_page(WS, **report_args())
    mocked.replace(responses.POST, REPORT_URL, json={"timeentries": {"a": 1}})
    with pytest.raises(UnexpectedResponse):
        client.detailed_report_page(WS, **report_args())


def test_all_errors_are_clockify_errors():
    for error in (InvalidKey, RateLimited, Unreachable, TimedOut, Forbidden, NotFound, BadRequest, UnexpectedResponse,
                  clockify.ReportRangeTooLong):
        assert issubclass(error, ClockifyError)
        assert error().message == error.default_message == str(error())
    assert not issubclass(ReadOnlyViolation, ClockifyError)


# --- paging --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Last-Page", "last-page", "LAST-PAGE"])
@pytest.mark.parametrize("value", ["true", "True", "TRUE"])
def test_last_page_header_stops_paging_in_any_case(client, mocked, name, value):
    mocked.get(CLIENTS_URL, json=items(1000), headers={name: value})
    assert len(client.clients(WS)) == 1000
    assert client.calls == 1


def test_last_page_false_keeps_going(client, mocked):
    mocked.get(CLIENTS_URL, json=items(1000), headers={"Last-Page": "false"})
    mocked.get(CLIENTS_URL, json=items(2, 1000), headers={"Last-Page": "true"})
    assert len(client.clients(WS)) == 1002


def test_short_page_stops_paging(client, mocked):
    mocked.get(CLIENTS_URL, json=items(999))
    assert len(client.clients(WS)) == 999
    assert client.calls == 1


def test_empty_first_page(client, mocked):
    mocked.get(CLIENTS_URL, json=[])
    assert client.clients(WS) == []
    assert client.calls == 1


def test_exactly_1000_then_empty(client, mocked):
    mocked.get(CLIENTS_URL, json=items(1000))
    mocked.get(CLIENTS_URL, json=[])
    assert len(client.clients(WS)) == 1000
    assert [query(c)["page"] for c in mocked.calls] == [["1"], ["2"]]


def test_pages_are_1_indexed_of_1000_and_followed_to_the_end(client, mocked):
    mocked.get(CLIENTS_URL, json=items(1000))
    mocked.get(CLIENTS_URL, json=items(1000, 1000))
    mocked.get(CLIENTS_URL, json=items(3, 2000))
    result = client.clients(WS, archived=False)
    assert [c.id for c in result] == [f"c{i}" for i in range(2003)]
    assert [query(c) for c in mocked.calls] == [
        {"archived": ["false"], "page": [str(n)], "page-size": ["1000"]} for n in (1, 2, 3)
    ]


def test_a_server_ignoring_page_does_not_loop_forever(client, mocked):
    mocked.get(CLIENTS_URL, json=items(1000))  # the same page every time
    with pytest.raises(UnexpectedResponse):
        client.clients(WS)
    assert client.calls == 2


def test_workspaces_is_one_unpaged_call(client, mocked):
    mocked.get(f"{API}/workspaces", json=[{"id": f"w{i}", "name": "W"} for i in range(1000)])
    assert len(client.workspaces()) == 1000
    assert client.calls == 1
    assert query(mocked.calls[0]) == {}


def test_list_endpoints_send_their_filters(client, mocked):
    mocked.get(f"{API}/workspaces/{WS}/projects", json=[])
    mocked.get(f"{API}/workspaces/{WS}/users", json=[])
    client.projects(WS, archived=True, client_ids=["c1", "c2"])
    client.members(WS)
    assert [query(c) for c in mocked.calls] == [
        {"archived": ["true"], "clients": ["c1", "c2"], "page": ["1"], "page-size": ["1000"]},
        {"memberships": ["WORKSPACE"], "page": ["1"], "page-size": ["1000"]},
    ]


def test_paging_restarts_per_list(client, mocked):
    # the Airbyte bug: a page counter carried from one list to the next
    for workspace in (WS, "w2"):
        url = f"{API}/workspaces/{workspace}/clients"
        mocked.get(url, json=items(1000))
        mocked.get(url, json=[])
    for workspace in (WS, "w2"):
        assert len(client.clients(workspace)) == 1000
    assert [query(c)["page"][0] for c in mocked.calls] == ["1", "2", "1", "2"]


# --- detailed report -----------------------------------------------------------------------------


def report_bodies(mocked) -> list[dict]:
    return [json.loads(c.request.body) for c in mocked.calls]


def test_report_body(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(1)], "totals": []})
    page = client.detailed_report_page(WS, **report_args(client_ids=["c1"], project_ids=["p1", "p2"], user_ids=["u1"]))
    assert page.page == 1 and page.has_more is False and len(page.entries) == 1
    (body,) = report_bodies(mocked)
    assert body == {
        "dateRangeStart": "2024-03-01T00:00:00.000Z",
        "dateRangeEnd": "2024-03-31T23:59:59.999Z",
        "timeZone": "Europe/Berlin",
        "detailedFilter": {"page": 1, "pageSize": 1000, "sortColumn": "ID", "options": {"totals": "EXCLUDE"}},
        "sortOrder": "ASCENDING",
        "amountShown": "EARNED",
        "rounding": False,  # durations as tracked; Workspace.rounding says how the workspace rounds
        "exportType": "JSON",
        "clients": {"ids": ["c1"], "contains": "CONTAINS", "status": "ALL"},
        "projects": {"ids": ["p1", "p2"], "contains": "CONTAINS", "status": "ALL"},
        "users": {"ids": ["u1"], "contains": "CONTAINS", "status": "ALL"},
    }
    assert "billable" not in body
    assert mocked.calls[0].request.headers["Content-Type"] == "application/json"
    assert query(mocked.calls[0]) == {}  # paging lives in the body, not the query string


def test_report_without_filters_sends_none(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": []})
    client.detailed_report_page(WS, **report_args())
    (body,) = report_bodies(mocked)
    assert not {"clients", "projects", "users", "billable"} & body.keys()


def test_report_billable_only_is_asked_of_clockify_not_filtered_after(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": []})
    mocked.post(REPORT_URL, json={"timeentries": []})
    client.detailed_report_page(WS, **report_args(), billable=True)
    client.detailed_report_page(WS, **report_args(), billable=False)
    assert [body["billable"] for body in report_bodies(mocked)] == [True, False]


def test_report_pages_until_a_short_page(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(1000)]})
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(1000, 2000)]})
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(2000, 2005)]})
    entries = client.detailed_report(WS, **report_args())
    assert len(entries) == 2005
    bodies = report_bodies(mocked)
    assert [b["detailedFilter"]["page"] for b in bodies] == [1, 2, 3]
    assert all(b["detailedFilter"]["pageSize"] == 1000 for b in bodies)
    assert all(b["timeZone"] == "Europe/Berlin" for b in bodies)
    assert client.calls == 3


def test_report_exactly_1000_then_empty(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(1000)]})
    mocked.post(REPORT_URL, json={"timeentries": []})
    assert len(client.detailed_report(WS, **report_args())) == 1000
    assert client.calls == 2


def test_report_missing_timeentries_is_an_empty_page(client, mocked):
    mocked.post(REPORT_URL, json={"totals": []})
    assert client.detailed_report(WS, **report_args()) == []


def test_report_page_by_page(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(1000)]})
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(1000)]})
    first = client.detailed_report_page(WS, **report_args())
    assert first.has_more and len(first.entries) == 1000
    second = client.detailed_report_page(WS, page=2, **report_args())
    assert not second.has_more and second.page == 2 and len(second.entries) == 1
    assert [b["detailedFilter"]["page"] for b in report_bodies(mocked)] == [1, 2]


def test_report_pages_iterator_is_lazy(client, mocked):
    # the preview shows one page at a time: asking for the first page must cost one call
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(1000)]})
    pages = client.detailed_report_pages(WS, **report_args())
    assert len(next(pages).entries) == 1000
    assert client.calls == 1


def test_report_small_page_size(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(10)]})
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(10, 12)]})
    assert len(client.detailed_report(WS, page_size=10, **report_args())) == 12
    assert [b["detailedFilter"]["pageSize"] for b in report_bodies(mocked)] == [10, 10]


@pytest.mark.parametrize("kwargs", [{"page_size": 1001}, {"page_size": 5000}, {"page_size": 0}, {"page": 0}])
def test_report_page_size_never_over_1000(client, mocked, kwargs):
    with pytest.raises(ValueError):
        client.detailed_report_page(WS, **kwargs, **report_args())
    assert client.calls == 0


def test_report_dedupes_an_entry_repeated_across_pages(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(i) for i in range(1000)]})
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(999), report_entry(1000)]})
    assert [e.id for e in client.detailed_report(WS, **report_args())][-2:] == ["e999", "e1000"]


def test_report_time_window_in_the_body_zone(client, mocked):
    mocked.post(REPORT_URL, json={"timeentries": []})
    client.detailed_report_page(
        WS,
        start=datetime(2024, 2, 29, 23, 0, tzinfo=timezone.utc),  # aware: converted into the zone
        end=datetime(2024, 3, 31, 23, 59, 59, 999000),  # naive: already wall-clock there
        time_zone="Europe/Berlin",
        currency="EUR",
    )
    body = report_bodies(mocked)[0]
    assert body["dateRangeStart"] == "2024-03-01T00:00:00.000Z"
    assert body["dateRangeEnd"] == "2024-03-31T23:59:59.999Z"


def test_report_rejects_bad_windows_and_zones(client, mocked):
    with pytest.raises(ValueError):
        client.detailed_report_page(WS, **report_args(start=date(2024, 4, 1)))
    with pytest.raises(ValueError):
        client.detailed_report_page(WS, **report_args(time_zone="Mars/Olympus"))
    assert client.calls == 0


def test_report_on_a_subdomain_host(fake, mocked):
    client = make_client(fake, region="euc1", subdomain="acme")
    mocked.post(f"https://acme.clockify.me/report/v1/workspaces/{WS}/reports/detailed", json={"timeentries": []})
    client.detailed_report(WS, **report_args())
    assert client.calls == 1


def test_report_refused_is_forbidden_so_the_caller_can_fall_back(client, mocked):
    mocked.post(REPORT_URL, status=403, json={"message": "Feature not available", "code": 403})
    with pytest.raises(Forbidden):
        client.detailed_report(WS, **report_args())


def test_report_is_retried_like_reads(client, mocked, fake):
    mocked.post(REPORT_URL, status=502)
    mocked.post(REPORT_URL, json={"timeentries": [report_entry(1)]})
    assert len(client.detailed_report(WS, **report_args())) == 1
    assert client.calls == 2


# --- a user's entries (fallback) -----------------------------------------------------------------


def test_user_time_entries_sends_the_window_in_the_account_zone(client, mocked):
    url = f"{API}/workspaces/{WS}/user/u1/time-entries"
    mocked.get(url, json=[CORE_ENTRY])
    berlin = ZoneInfo("Europe/Berlin")
    entries = client.user_time_entries(
        WS,
        "u1",
        datetime(2024, 3, 1, tzinfo=berlin),
        datetime(2024, 3, 31, 23, 59, 59, tzinfo=berlin),
        account_time_zone="Australia/Sydney",
        project_id="p1",
    )
    # Berlin midnight is 10:00 in Sydney; Clockify reads the Z-suffixed text as Sydney wall-clock time.
    # The end crosses Berlin's switch to summer time (31 March): 23:59:59 CEST is 08:59:59 in Sydney.
    assert query(mocked.calls[0]) == {
        "start": ["2024-03-01T10:00:00Z"],
        "end": ["2024-04-01T08:59:59Z"],
        "project": ["p1"],
        "hydrated": ["true"],
        "page": ["1"],
        "page-size": ["1000"],
    }
    (entry,) = entries
    assert entry.id == "63b0" and entry.seconds == 10440
    assert entry.rate == Money(Decimal("45.00"), "AUD")
    assert entry.workspace_id == WS and entry.tag_ids == ("tag1",)


def test_user_time_entries_pages(client, mocked):
    url = f"{API}/workspaces/{WS}/user/u1/time-entries"
    mocked.get(url, json=[{**CORE_ENTRY, "id": f"e{i}"} for i in range(1000)])
    mocked.get(url, json=[{**CORE_ENTRY, "id": "last"}], headers={"last-page": "true"})
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    entries = client.user_time_entries(WS, "u1", start, start + timedelta(days=30), account_time_zone="UTC")
    assert len(entries) == 1001 and client.calls == 2


def test_user_time_entries_need_aware_datetimes(client):
    with pytest.raises(ValueError):
        client.user_time_entries(WS, "u1", datetime(2024, 3, 1), datetime(2024, 3, 2), account_time_zone="UTC")


# --- rate limit ----------------------------------------------------------------------------------


def send_times(mocked, fake, url=f"{API}/workspaces"):
    times: list[float] = []

    def record(request):
        times.append(fake.now)
        return (200, {}, "[]")

    mocked.add_callback(responses.GET, url, callback=record)
    return times


def assert_at_most_10_per_second(times):
    for i, start in enumerate(times):
        assert sum(1 for t in times[i:] if t < start + 1.0) <= 10


def test_rate_limit_spaces_requests_to_10_per_second(client, mocked, fake):
    times = send_times(mocked, fake)
    for _ in range(35):
        client.workspaces()
    assert len(times) == 35
    assert_at_most_10_per_second(times)
    assert times[9] == times[0]  # a burst of 10 is not delayed
    assert times[10] == pytest.approx(times[0] + WINDOW)
    assert times[-1] == pytest.approx(times[0] + 3 * WINDOW)


def test_two_instances_with_the_same_key_share_a_budget(fake, mocked):
    times = send_times(mocked, fake)
    first, second = make_client(fake), make_client(fake)
    for _ in range(10):
        first.workspaces()
    second.workspaces()
    assert fake.sleeps == [pytest.approx(WINDOW)]
    assert_at_most_10_per_second(times)


def test_two_keys_do_not_share_a_budget(fake, mocked):
    send_times(mocked, fake)
    first, second = make_client(fake), make_client(fake, key="OTHER-KEY-77")
    for _ in range(10):
        first.workspaces()
        second.workspaces()
    assert fake.sleeps == []


def test_rate_limit_holds_across_threads(mocked):
    # a frozen clock: every thread must be handed its own slot, ten per second, none shared
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds):
        with lock:
            waits.append(seconds)

    mocked.get(f"{API}/workspaces", json=[])
    client = ClockifyClient(KEY, budget=LocalBudget(clock=lambda: 0.0), sleep=record)
    threads = [threading.Thread(target=lambda: [client.workspaces() for _ in range(5)]) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.calls == 30
    # ten sent at once (no sleep), ten a second later, ten two seconds later (each second a hair long)
    assert sorted(waits) == pytest.approx([WINDOW] * 10 + [2 * WINDOW] * 10)


# --- concurrency and counting --------------------------------------------------------------------


def test_fetch_reference_data_runs_the_five_fetches_concurrently(client, mocked):
    barrier = threading.Barrier(5, timeout=5)  # breaks unless all five are in flight together

    def answer(plain, archived):
        def callback(request):
            barrier.wait()
            return (200, {}, json.dumps(archived if query_of(request).get("archived") == ["true"] else plain))

        return callback

    mocked.add_callback(responses.GET, CLIENTS_URL, callback=answer(items(2), [{"id": "c9", "name": "Old", "archived": True}]))
    mocked.add_callback(
        responses.GET,
        f"{API}/workspaces/{WS}/projects",
        callback=answer([{"id": "p1", "name": "Web", "clientId": "c1", "clientName": "Acme"}],
                        [{"id": "p1", "name": "Web", "clientId": "c1"}, {"id": "p9", "name": "Gone", "archived": True}]),
    )
    mocked.add_callback(
        responses.GET,
        f"{API}/workspaces/{WS}/users",
        callback=answer([{"id": "u1", "name": "Luke", "email": "l@example.com", "memberships": []}], None),
    )
    data = client.fetch_reference_data(WS)
    assert [(c.id, c.archived) for c in data.clients] == [("c0", False), ("c1", False), ("c9", True)]
    assert [p.id for p in data.projects] == ["p1", "p9"]  # a project in both lists is listed once
    assert data.projects[0].client_name == "Acme"
    assert data.members[0].hourly_rate is None
    # Five calls, two more than before: the plain client list leaves archived clients out, and a customer
    # linked to one must still find it (issue 9, item 3); archived projects the same way.
    assert client.calls == 5
    assert Counter(urlsplit(c.request.url).path for c in mocked.calls) == {
        f"/api/v1/workspaces/{WS}/clients": 2,
        f"/api/v1/workspaces/{WS}/projects": 2,
        f"/api/v1/workspaces/{WS}/users": 1,
    }


def test_fetch_reference_data_raises_the_failure(client, mocked):
    mocked.get(CLIENTS_URL, json=[])
    mocked.get(f"{API}/workspaces/{WS}/projects", status=401, json={"code": 4003, "message": "Api key does not exist"})
    mocked.get(f"{API}/workspaces/{WS}/users", json=[])
    with pytest.raises(InvalidKey):
        client.fetch_reference_data(WS)


def test_calls_count_pages_and_retries(client, mocked):
    mocked.get(CLIENTS_URL, json=items(1000))
    mocked.get(CLIENTS_URL, status=503)
    mocked.get(CLIENTS_URL, json=[])
    mocked.get(f"{API}/user", json={"id": "u1"})
    client.clients(WS)
    client.get_user()
    assert client.calls == 4 == len(mocked.calls)


def test_counters_are_exact_under_threads(client, mocked):
    mocked.get(f"{API}/workspaces", json=[])
    threads = [threading.Thread(target=lambda: [client.workspaces() for _ in range(25)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert client.calls == 200


def test_members_through_the_client(client, mocked):
    mocked.get(
        f"{API}/workspaces/{WS}/users",
        json=[{"id": "u1", "name": "Ann", "email": "a@x", "memberships": [{"membershipType": "WORKSPACE", "targetId": WS, "hourlyRate": {"amount": 12000, "currency": "JPY"}}]}],
    )
    (member,) = client.members(WS)
    assert member.hourly_rate == Money(Decimal("120.00"), "JPY")  # x100 in every currency


# --- the key never leaks -------------------------------------------------------------------------

LEAK_CASES = [
    ("401-4003", lambda m: m.get(f"{API}/user", status=401, json={"message": "Api key does not exist", "code": 4003})),
    ("401-1000", lambda m: m.get(f"{API}/user", status=401, json={"message": "Multiple or none auth tokens present", "code": 1000})),
    ("401-echo", lambda m: m.get(f"{API}/user", status=401, json={"message": f"Api key {KEY} does not exist", "code": 4003})),
    ("400", lambda m: m.get(f"{API}/user", status=400, json={"message": f"bad {KEY}", "code": 501})),
    ("403", lambda m: m.get(f"{API}/user", status=403, body=f"<html>{KEY}</html>")),
    ("404", lambda m: m.get(f"{API}/user", status=404, json={"message": "not found", "code": 3000})),
    ("429", lambda m: m.get(f"{API}/user", status=429)),
    ("429-long", lambda m: m.get(f"{API}/user", status=429, headers={"Retry-After": "3600"})),
    ("500", lambda m: m.get(f"{API}/user", status=500, body=f"<html>{KEY}</html>")),
    ("302", lambda m: m.get(f"{API}/user", status=302, headers={"Location": f"https://evil.example/?k={KEY}"})),
    ("timeout", lambda m: m.get(f"{API}/user", body=requests.exceptions.ReadTimeout(f"timed out X-Api-Key: {KEY}"))),
    ("refused", lambda m: m.get(f"{API}/user", body=requests.exceptions.ConnectionError(f"refused {KEY}"))),
    ("truncated", lambda m: m.get(f"{API}/user", body=requests.exceptions.ChunkedEncodingError(f"broken {KEY}"))),
    ("other", lambda m: m.get(f"{API}/user", body=requests.exceptions.InvalidURL(f"bad {KEY}"))),
    ("html", lambda m: m.get(f"{API}/user", body=f"<html>{KEY}</html>", content_type="text/html")),
    ("empty", lambda m: m.get(f"{API}/user", body="")),
    ("shape", lambda m: m.get(f"{API}/user", json=[KEY])),
]


@pytest.mark.parametrize("name, setup", LEAK_CASES, ids=[name for name, _ in LEAK_CASES])
def test_the_key_never_leaks(client, mocked, caplog, name, setup):
    caplog.set_level(logging.DEBUG)
    setup(mocked)
    with pytest.raises(ClockifyError) as caught:
        client.get_user()
    error = caught.value
    texts = [
        str(error),
        repr(error),
        repr(error.args),
        str(error.detail),
        "".join(traceback.format_exception(error)),
        repr(client),
        caplog.text,
        *(repr(record.args) for record in caplog.records),
        *(c.request.url for c in mocked.calls),
    ]
    for text in texts:
        assert KEY not in text
    assert repr(client) == "<ClockifyClient region='global'>"


def test_logs_say_method_path_status_and_time(client, mocked, caplog):
    caplog.set_level(logging.DEBUG, logger="services.clockify")
    mocked.get(f"{API}/user", status=503)
    mocked.get(f"{API}/user", json={"id": "u1"})
    client.get_user()
    messages = [r.getMessage() for r in caplog.records if r.name == "services.clockify"]
    assert messages[0].startswith("clockify GET /user -> 503 in ")
    assert "retrying" in messages[1]
    assert messages[2].startswith("clockify GET /user -> 200 in ")


@pytest.mark.parametrize("bad", ["", "   ", "CANARY KEY 4f1c9a", "CANARY-KEY-4f1c9a\r\nX-Evil: 1", "clé-CANARY"])
def test_malformed_keys_are_refused_without_echo(bad):
    with pytest.raises(InvalidKey) as caught:
        ClockifyClient(bad)
    assert "CANARY" not in str(caught.value) and "CANARY" not in repr(caught.value)


def test_key_is_stripped_of_surrounding_whitespace(fake, mocked):
    client = make_client(fake, key=f"  {KEY}\n")
    mocked.get(f"{API}/user", json={"id": "u1"})
    client.get_user()
    assert mocked.calls[0].request.headers["X-Api-Key"] == KEY
