"""Reading Clockify's answers the way Clockify means them (issue 9): money x100 in every currency, the
report's own earned amount, workspace rounding, hydrated per-member entries, the Free plan's 31-day 400,
a body in an unknown shape, and one unreadable entry listed apart instead of failing its page."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
import responses

from services.clockify import BadRequest, ReportRangeTooLong, UnexpectedResponse
from services.clockify_types import (
    DESCRIPTION_LIMIT,
    NAME_LIMIT,
    Money,
    ReferenceData,
    Rounding,
    TimeEntry,
    UnreadableEntry,
    Workspace,
    from_plain,
    to_plain,
)
from tests.test_clockify_client import API, CORE_ENTRY, REPORT_URL, WS, FakeTime, make_client, report_args, report_entry


@pytest.fixture
def client():
    return make_client(FakeTime())


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def page_of(client, mocked, *entries, **args):
    mocked.post(REPORT_URL, json={"totals": [], "timeentries": list(entries)})
    return client.detailed_report_page(WS, **report_args(**args))


# --- item 1: x100 in every currency --------------------------------------------------------------


@pytest.mark.parametrize("label, rate, amount", [
    ("JPY", "5000.00", "7500.00"),  # JPY 5,000 an hour, 1.5 h: 7,500, not 750,000
    ("KWD", "5000.00", "7500.00"),  # not 500.000
    ("€", "5000.00", "7500.00"),
])
def test_a_report_rate_of_500000_is_5000_an_hour_whatever_the_currency(client, mocked, label, rate, amount):
    entry = report_entry(1, rate=500000, amount=750000, timeInterval={
        "start": "2025-10-01T09:00:00+09:00", "end": "2025-10-01T10:30:00+09:00", "duration": 5400})
    (read,) = page_of(client, mocked, entry, currency=label).entries
    assert read.rate == Money(Decimal(rate), label)
    assert read.amount == Money(Decimal(amount), label)


# --- item 3: the report's own amount -------------------------------------------------------------


def test_report_entries_carry_clockifys_earned_amount(client, mocked):
    billable = report_entry(1, amount=13050)
    unbillable = report_entry(2, billable=False, amount=0)
    first, second = page_of(client, mocked, billable, unbillable).entries
    assert first.amount == Money(Decimal("130.50"), "EUR") and first.rate == Money(Decimal("45.00"), "EUR")
    assert second.amount == Money(Decimal("0.00"), "EUR")  # earned 0: not "unknown"
    assert second.rate == Money(Decimal("45.00"), "EUR")  # the rate is kept; billing it is a choice


def test_report_entries_have_no_hourly_rate_object_and_need_none():
    entry = report_entry(1)
    assert "hourlyRate" not in entry
    read = TimeEntry.from_api(entry, WS, "USD")
    assert read.rate == Money(Decimal("45.00"), "USD") and read.amount == Money(Decimal("130.50"), "USD")


def test_core_entries_have_no_amount():
    read = TimeEntry.from_api(CORE_ENTRY, WS)
    assert read.amount is None and read.rate == Money(Decimal("45.00"), "AUD")


def test_an_entry_naming_its_own_currency_keeps_it():
    read = TimeEntry.from_api(report_entry(1, currency="€"), WS, "USD")
    assert read.rate.currency == read.amount.currency == "€"


# --- item 4: workspace rounding ------------------------------------------------------------------


def workspace(settings):
    return Workspace.from_api({"id": WS, "name": "W", "hourlyRate": {"amount": 0, "currency": " € "},
                               "workspaceSettings": settings})


@pytest.mark.parametrize("settings, rounding", [
    ({"timeRoundingInReports": True, "round": {"round": "Round to nearest", "minutes": "15"}}, Rounding(15, "nearest")),
    ({"timeRoundingInReports": True, "round": {"round": "Round up to", "minutes": "6"}}, Rounding(6, "up")),
    ({"timeRoundingInReports": True, "round": {"round": "Round down to", "minutes": 30}}, Rounding(30, "down")),
    ({"timeRoundingInReports": False, "round": {"round": "Round to nearest", "minutes": "15"}}, None),
    ({"round": {"round": "Round to nearest", "minutes": "15"}}, None),  # reports do not round
    ({"timeRoundingInReports": True, "round": {"round": "Round to nearest", "minutes": "0"}}, None),
    ({"timeRoundingInReports": True, "round": {"round": "Round sideways", "minutes": "15"}}, None),
    ({"timeRoundingInReports": True, "round": {"round": "Round up to", "minutes": "abc"}}, None),
    ({"timeRoundingInReports": True, "round": None}, None),
    ({"timeRoundingInReports": "yes", "round": {"round": "Round up to", "minutes": "15"}}, None),
    (None, None),
])
def test_workspace_rounding_is_read_only_when_reports_round(settings, rounding):
    read = workspace(settings)
    assert read.rounding == rounding
    assert read.currency == "€"  # the raw label, stripped


# --- to_plain / from_plain round-trip every new field (previews and caches are stored this way) -----


def test_stored_entries_and_workspaces_read_back_whole():
    entry = TimeEntry.from_api(report_entry(1, currency="JPY", rate=500000, amount=1450000), WS, "USD")
    assert from_plain(TimeEntry, json.loads(json.dumps(to_plain(entry)))) == entry
    ws = workspace({"timeRoundingInReports": True, "round": {"round": "Round up to", "minutes": "15"}})
    assert from_plain(Workspace, json.loads(json.dumps(to_plain(ws)))) == ws
    data = ReferenceData((), (), ())
    assert from_plain(ReferenceData, to_plain(data)) == data



def test_a_stored_entry_is_plain_json_field_by_field():
    """What a preview page stores per entry (services.imports): text, numbers and None as they are,
    timestamps in ISO 8601, money as text with its label, tags as a list; a running timer's end None."""
    entry = TimeEntry.from_api(report_entry(1, tagIds=["t9"], rate=4500, amount=13050), WS, "USD")
    running = TimeEntry.from_api(report_entry(2, timeInterval={"start": "2023-08-28T15:48:00Z", "end": None},
                                              rate=0, projectId=None, projectName=None), WS, "USD")
    assert to_plain(entry) == {
        "id": "e1", "workspace_id": WS, "user_id": "u1", "user_name": "Luke", "description": "Design review",
        "start": "2023-08-28T15:48:00+10:00", "end": "2023-08-28T18:42:00+10:00", "seconds": 10440,
        "billable": True, "project_id": "p1", "project_name": "Website", "client_id": "c1", "client_name": "Acme",
        "task_id": "t1", "task_name": "Consulting", "rate": {"amount": "45.00", "currency": "USD"},
        "kind": "REGULAR", "tag_ids": ["t9"], "amount": {"amount": "130.50", "currency": "USD"}}
    stored = json.loads(json.dumps([to_plain(entry), to_plain(running)]))
    assert [from_plain(TimeEntry, item) for item in stored] == [entry, running]
    assert (stored[1]["end"], stored[1]["seconds"], stored[1]["rate"], stored[1]["project_id"]) == (None, None, None, None)

def test_previews_stored_before_the_new_fields_still_read():
    entry = TimeEntry.from_api(report_entry(1), WS, "EUR")
    old = to_plain(entry)
    del old["amount"]
    assert from_plain(TimeEntry, old).amount is None
    ws = to_plain(workspace(None))
    del ws["rounding"]
    assert from_plain(Workspace, ws).rounding is None


# --- item 12: hydrated per-member entries, the 31-day 400 ----------------------------------------


def test_per_member_entries_are_hydrated_and_carry_names(client, mocked):
    url = f"{API}/workspaces/{WS}/user/u1/time-entries"
    hydrated = {**CORE_ENTRY, "project": {"id": "9721", "name": "Website", "clientId": "c1", "clientName": "Acme"},
                "task": {"id": "863f", "name": "Consulting"}, "tags": [{"id": "tag1", "name": "x"}]}
    mocked.get(url, json=[hydrated])
    start = datetime(2025, 10, 1, tzinfo=timezone.utc)
    (entry,) = client.user_time_entries(WS, "u1", start, start.replace(day=31), account_time_zone="UTC")
    assert mocked.calls[0].request.url.count("hydrated=true") == 1
    assert (entry.project_name, entry.client_id, entry.client_name, entry.task_name) == ("Website", "c1", "Acme", "Consulting")


def test_a_400_to_a_window_past_31_days_is_report_range_too_long(client, mocked):
    mocked.post(REPORT_URL, status=400, json={"message": "Detailed report data on your plan is limited", "code": 501})
    with pytest.raises(ReportRangeTooLong) as raised:
        client.detailed_report_page(WS, **report_args(start=date(2025, 1, 1), end=date(2025, 3, 31)))
    assert isinstance(raised.value, BadRequest)  # callers catching BadRequest still catch it
    assert "31 days" in str(raised.value)


def test_a_400_to_a_window_of_31_days_is_a_plain_bad_request(client, mocked):
    mocked.post(REPORT_URL, status=400, json={"message": "Project doesn't belong to Workspace", "code": 501})
    with pytest.raises(BadRequest) as raised:
        client.detailed_report_page(WS, **report_args(start=date(2025, 10, 1), end=date(2025, 10, 31)))
    assert not isinstance(raised.value, ReportRangeTooLong)


# --- item 13: unknown shapes, unreadable entries, capped strings ----------------------------------


@pytest.mark.parametrize("body", [{}, {"timeEntries": []}, {"entries": [report_entry(1)]}, {"timeentries": "none"}, []])
def test_a_report_body_in_an_unknown_shape_is_an_error_not_an_empty_month(client, mocked, body):
    mocked.post(REPORT_URL, json=body)
    with pytest.raises(UnexpectedResponse) as raised:
        client.detailed_report_page(WS, **report_args())
    assert str(raised.value).startswith("Clockify answered in a shape Hourbill does not know")


def test_totals_alone_are_an_empty_page(client, mocked):
    mocked.post(REPORT_URL, json={"totals": [None]})
    result = client.detailed_report_page(WS, **report_args())
    assert result.entries == () and result.unreadable == () and not result.has_more


BAD_ENTRIES = [
    ("bad id", report_entry(1, _id="e/../1"), "e/../1", "id"),
    ("missing id", {k: v for k, v in report_entry(1).items() if k != "_id"}, "", "id"),
    ("numeric id", report_entry(1, _id=12345), "", "id"),
    ("long id", report_entry(1, _id="x" * 500), "x" * 64, "id"),
    ("description not text", report_entry(1, description={"html": "<b>"}), "e1", "description"),
    ("rate 1e30", report_entry(1, rate=1e30), "e1", "rate"),
    ("negative rate", report_entry(1, rate=-4500), "e1", "rate is negative"),
    ("rate above the form's limit", report_entry(1, rate=10**9 + 1), "e1", "rate is above"),
    ("fractional rate", report_entry(1, rate=45.5), "e1", "rate"),
    ("negative amount", report_entry(1, amount=-1), "e1", "amount is negative"),
    ("duration 10**15 s", report_entry(1, timeInterval={"start": "2025-10-01T09:00:00Z", "end": "2025-10-01T10:00:00Z",
                                                         "duration": 10**15}), "e1", "duration"),
    ("negative duration", report_entry(1, timeInterval={"start": "2025-10-01T09:00:00Z", "end": "2025-10-01T10:00:00Z",
                                                         "duration": -5}), "e1", "duration"),
    ("bad timestamp", report_entry(1, timeInterval={"start": "yesterday", "end": None, "duration": None}), "e1", "timestamp"),
    ("timestamp not text", report_entry(1, timeInterval={"start": 1700000000, "end": None, "duration": None}), "e1", "timestamp"),
    ("no interval", report_entry(1, timeInterval=None), "e1", "interval"),
    ("no user", report_entry(1, userId=None), "e1", "member id"),
    ("not an object", "e1", "", "object"),
]


@pytest.mark.parametrize("bad, shown_id, reason", [case[1:] for case in BAD_ENTRIES], ids=[case[0] for case in BAD_ENTRIES])
def test_one_unreadable_entry_is_listed_apart_and_the_rest_are_read(client, mocked, bad, shown_id, reason):
    result = page_of(client, mocked, report_entry(1, _id="good1"), bad, report_entry(3, _id="good3"))
    assert [entry.id for entry in result.entries] == ["good1", "good3"]
    (unreadable,) = result.unreadable
    assert isinstance(unreadable, UnreadableEntry) and unreadable.id == shown_id
    assert reason in unreadable.reason
    assert "1e+30" not in unreadable.reason and "yesterday" not in unreadable.reason  # no raw data echoed


def test_a_page_of_only_unreadable_entries_still_pages_on(client, mocked):
    result = page_of(client, mocked, *[report_entry(i, rate=-1) for i in range(3)], page_size=3)
    assert result.entries == () and len(result.unreadable) == 3 and result.has_more


def test_strings_from_clockify_are_capped_before_they_are_stored(client, mocked):
    long = report_entry(1, description="d" * 10_000, projectName="p" * 1000, clientName="c" * 1000,
                        taskName="t" * 1000, userName="u" * 1000, type="X" * 1000)
    (entry,) = page_of(client, mocked, long).entries
    assert entry.description == "d" * DESCRIPTION_LIMIT == "d" * 2000  # the line form's description limit
    assert {len(entry.project_name), len(entry.client_name), len(entry.task_name), len(entry.user_name)} == {NAME_LIMIT}
    assert len(entry.kind) <= 40


def test_limits_are_the_line_forms():
    from blueprints.forms import QUANTITY_LIMIT, RATE_LIMIT, LineForm
    from services import clockify_types

    assert clockify_types.RATE_LIMIT == RATE_LIMIT and clockify_types.QUANTITY_LIMIT == QUANTITY_LIMIT
    lengths = [v.max for v in LineForm.description.kwargs["validators"] if hasattr(v, "max")]
    assert lengths == [DESCRIPTION_LIMIT]
