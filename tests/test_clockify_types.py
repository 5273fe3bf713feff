"""The Clockify client's typed results (services/clockify_types.py) read from Clockify's JSON: durations,
timestamps, money (x100 in every currency), rates, entries in both shapes, workspaces, members and projects
(docs/clockify-notes.md)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.clockify_types import (
    Member,
    Money,
    Project,
    TimeEntry,
    Workspace,
    from_plain,
    parse_duration,
    parse_timestamp,
    plain_json,
    rate_from_cents,
    read_report_fast,
    to_plain,
)
from tests.test_clockify_client import CORE_ENTRY, WS, report_entry

@pytest.mark.parametrize(
    "value, seconds",
    [
        ("PT8H", 28800),
        ("PT2H54M", 10440),
        ("P1DT2H", 93600),
        ("P2D", 172800),
        ("P1W", 604800),
        ("PT45S", 45),
        ("PT0S", 0),
        ("PT1M30.25S", 90),
        ("PT1.5S", 2),
        ("PT0.4S", 0),
        ("PT1,5S", 2),
        ("pt1h", 3600),
        (10440, 10440),
        (10440.0, 10440),
        ("10440", 10440),
        (None, None),
    ],
)
def test_durations(value, seconds):
    assert parse_duration(value) == seconds


@given(
    days=st.integers(0, 400),
    hours=st.integers(0, 23),
    minutes=st.integers(0, 59),
    seconds=st.integers(0, 59),
    millis=st.integers(0, 999),
)
def test_durations_property(days, hours, minutes, seconds, millis):
    text = f"P{days}DT{hours}H{minutes}M{seconds}.{millis:03d}S"
    whole = days * 86400 + hours * 3600 + minutes * 60 + seconds
    assert parse_duration(text) == whole + (1 if millis >= 500 else 0)


@pytest.mark.parametrize("value", ["", "P", "PT", "P1DT", "2h", "PT-1H", "PT1H2", "1:00", -5, 1.5, True])
def test_bad_durations(value):
    with pytest.raises((ValueError, TypeError)):
        parse_duration(value)


@pytest.mark.parametrize(
    "value, label, amount, currency",
    [
        (4500, "USD", "45.00", "USD"),
        (4550, "aud", "45.50", "AUD"),
        (1, "EUR", "0.01", "EUR"),
        # x100 whatever the label: Clockify cannot know a free-text label's exponent (docs/clockify-notes.md)
        (500000, "JPY", "5000.00", "JPY"),  # JPY 5,000 an hour, not 500,000
        (4500, "BHD", "45.00", "BHD"),  # not 4.500
        (4500, "KWD", "45.00", "KWD"),
        (4500.0, "EUR", "45.00", "EUR"),
        (500000, " € ", "5000.00", "€"),  # a label that is not ISO survives, stripped
        (9900, "Euro", "99.00", "Euro"),
        (9900, "US$", "99.00", "US$"),
    ],
)
def test_clockify_money_is_x100_in_every_currency(value, label, amount, currency):
    money = Money.from_clockify(value, label)
    assert money == Money(Decimal(amount), currency)
    assert str(money.amount) == amount  # exact, two places: "45.00", never "45" or "4.500"


@given(st.integers(-(10**20), 10**20), st.sampled_from(["USD", "JPY", "KWD", "BHD", "CLF", "€", "EURO"]))
def test_clockify_money_is_value_over_100_exactly(value, label):
    money = Money.from_clockify(value, label)
    assert money.amount * 100 == value and money.amount.as_tuple().exponent == -2


def test_money_refuses_floats_and_missing_currency():
    with pytest.raises(ValueError):
        Money.from_clockify(45.5, "EUR")
    with pytest.raises(ValueError):
        Money.from_clockify(4500, "")
    with pytest.raises(ValueError):
        Money.from_clockify(1e30, "EUR")
    with pytest.raises(TypeError):
        Money.from_clockify("4500", "EUR")  # type: ignore[arg-type]


@pytest.mark.parametrize("cents", [None, 0, 0.0])
def test_null_and_zero_rates_mean_no_rate(cents):
    assert rate_from_cents(cents, "EUR") is None


@pytest.mark.parametrize(
    "text",
    [
        "2023-08-28T05:48:00Z",
        "2023-08-28T05:48:00.000Z",
        "2023-08-28T05:48:00.000000z",
        "2023-08-28T05:48:00.0000000Z",
        "2023-08-28T15:48:00+10:00",
        "2023-08-28T15:48:00.000+1000",
        "2023-08-28T01:48:00-04:00",
        "2023-08-28T05:48:00",  # no offset: UTC
    ],
)
def test_timestamp_variants_are_the_same_instant(text):
    parsed = parse_timestamp(text)
    assert parsed.tzinfo is not None
    assert parsed == datetime(2023, 8, 28, 5, 48, tzinfo=timezone.utc)


def test_fractional_timestamps_keep_their_fraction():
    assert parse_timestamp("2022-08-27T08:32:01.640708Z").microsecond == 640708
    assert parse_timestamp("2022-08-27T08:32:01.5Z").microsecond == 500000


def test_report_entry_shape():
    entry = TimeEntry.from_api(report_entry(1), WS, "EUR")
    assert entry.id == "e1" and entry.workspace_id == WS
    assert entry.seconds == 10440
    assert entry.start == datetime(2023, 8, 28, 5, 48, tzinfo=timezone.utc)
    assert entry.start.utcoffset() == timedelta(hours=10)  # kept in the report's zone
    assert entry.rate == Money(Decimal("45.00"), "EUR")
    assert (entry.user_name, entry.project_name, entry.client_name, entry.task_name) == ("Luke", "Website", "Acme", "Consulting")
    assert entry.is_work and not entry.running and entry.billable


def test_report_entry_tags_and_currency_on_the_entry():
    entry = TimeEntry.from_api(report_entry(1, tagIds=None, tags=[{"id": "t9", "name": "x"}], currency="JPY"), WS, "EUR")
    assert entry.tag_ids == ("t9",)
    assert entry.rate == Money(Decimal("45.00"), "JPY")  # x100 in every currency


def test_core_entry_shape():
    entry = TimeEntry.from_api(CORE_ENTRY, "ignored")
    assert entry.id == "63b0" and entry.workspace_id == WS
    assert entry.seconds == 10440 and entry.end == datetime(2023, 8, 28, 8, 42, tzinfo=timezone.utc)
    assert entry.rate == Money(Decimal("45.00"), "AUD")
    assert entry.user_name is None and entry.project_id == "9721"


@pytest.mark.parametrize("rate", [{"hourlyRate": None}, {"hourlyRate": {"amount": 0, "currency": "AUD"}}])
def test_core_entry_without_rate(rate):
    assert TimeEntry.from_api({**CORE_ENTRY, **rate}, WS).rate is None


@pytest.mark.parametrize("rate", [None, 0])
def test_report_entry_without_rate(rate):
    assert TimeEntry.from_api(report_entry(1, rate=rate), WS, "EUR").rate is None


@pytest.mark.parametrize("shape", [CORE_ENTRY, report_entry(1)])
def test_running_timers(shape):
    running = {**shape, "timeInterval": {"start": "2023-08-28T05:48:00Z", "end": None, "duration": None}}
    entry = TimeEntry.from_api(running, WS, "EUR")
    assert entry.end is None and entry.seconds is None and entry.running


def test_duration_missing_but_end_present_is_computed():
    entry = TimeEntry.from_api({**CORE_ENTRY, "timeInterval": {"start": "2023-08-28T05:48:00Z", "end": "2023-08-28T06:00:00.5Z"}}, WS)
    assert entry.seconds == 720


@pytest.mark.parametrize("kind, work", [("break", False), ("TIME_OFF", False), ("Holiday", False), ("regular", True), (None, True)])
def test_type_upper_cased_into_kind(kind, work):
    entry = TimeEntry.from_api({**CORE_ENTRY, "type": kind}, WS)
    assert entry.kind == (kind or "REGULAR").upper() and entry.is_work is work


def test_workspace_member_and_project_shapes():
    workspace = Workspace.from_api(
        {
            "id": WS,
            "name": "Main",
            "hourlyRate": {"amount": 0, "currency": "USD"},
            "subdomain": {"enabled": True, "name": "acme"},
            "featureSubscriptionType": "PRO",
        }
    )
    assert (workspace.currency, workspace.hourly_rate, workspace.subdomain, workspace.plan) == ("USD", None, "acme", "PRO")
    assert Workspace.from_api({"id": "w", "name": "W", "subdomain": {"enabled": False, "name": "x"}}).subdomain is None
    member = Member.from_api(
        {
            "id": "u1",
            "name": "Luke",
            "email": "l@example.com",
            "settings": {"timeZone": "Europe/Berlin"},
            "memberships": [
                {"membershipType": "PROJECT", "targetId": "p1", "hourlyRate": {"amount": 9900, "currency": "USD"}},
                {"membershipType": "WORKSPACE", "targetId": "other", "hourlyRate": {"amount": 1, "currency": "USD"}},
                {"membershipType": "WORKSPACE", "targetId": WS, "hourlyRate": {"amount": 5000, "currency": "USD"}},
            ],
        },
        WS,
    )
    assert member.hourly_rate == Money(Decimal("50.00"), "USD") and member.time_zone == "Europe/Berlin"
    project = Project.from_api({"id": "p1", "name": "Web", "clientId": "", "hourlyRate": None, "billable": True})
    assert project.client_id is None and project.hourly_rate is None and project.billable


# --- a report page read at once (read_report_fast) gives what from_api gives, or leaves the page to it ------

# Values read the same either way, then values only from_api reads (or refuses): an item takes at most one of those.
_FIELDS = {
    "_id": (["e1", "e2", "x" * 64], ["", "e\n", "x" * 65, None, 7]),
    "userId": (["u1"], ["", None, "u/1"]),
    "description": (["Design review", None, "", "d" * 2100], [3]),
    "billable": ([True, False, None], [1]),
    "userName": (["Luke", "", None, "n" * 250], [5]),
    "projectId": (["p1", "", None], ["p 1", "p\n1", "p" * 65]),
    "clientId": (["c1", "", None], [5]),
    "clientName": (["Acme", "", None, "c" * 201], [[]]),
    "taskName": (["Consulting", None, "t" * 201], [{}]),
    "tagIds": ([[], ["t1", ""]], [[None], None, ["t/1"]]),
    "rate": ([4500, 0, None, 10**9], [-1, 4500.0, 10**12, True, "4500"]),
    "amount": ([13050, 0, None], [-5, 10**30, 1.5]),
    "currency": ([None, "", "JPY", "€", "x" * 120], ["  ", 3]),
    "type": (["REGULAR", "break", "", None], [3]),
    "workspaceId": ([None, "", "w2"], ["w 2"]),
    "hourlyRate": ([None], [{"amount": 100, "currency": "USD"}]),
    "project": ([None], [{"name": "Hydrated"}]),
    "id": ([None], ["core1"]),
    "timeInterval": ([{"start": "2023-08-28T15:48:00+10:00", "end": "2023-08-28T18:42:00+10:00", "duration": 10440},
                      {"start": "2023-08-28T05:48:00.123Z", "end": None, "duration": None},
                      {"start": " 2023-08-28T05:48:00", "end": "2023-08-28T06:48:00z", "duration": None},
                      {"start": "2023-08-28T05:48:00Z", "end": "2023-08-28T05:48:00Z", "duration": 0}],
                     [{"start": "2023-08-28T05:48:00Z", "end": "2023-08-28T06:48:00Z", "duration": "PT1H"},
                      {"start": "2023-08-28T05:48:00Z", "end": "2023-08-28T06:48:00Z", "duration": -1},
                      {"start": "2023-08-28T05:48:00Z", "end": "2023-08-28T06:48:00Z", "duration": 4 * 10**9},
                      {"start": "yesterday", "end": None}, {"start": None, "end": None}, {"end": None}]),
}
_PLAIN_ITEM = st.fixed_dictionaries({name: st.sampled_from(plain) for name, (plain, _odd) in _FIELDS.items()})


def _read_both_ways(page: list[dict], currency: str | None):
    page = [{name: value for name, value in item.items() if value is not None or name not in ("id", "project")}
            for item in page]
    fast = read_report_fast(json.dumps({"totals": [], "timeentries": page}).encode(), WS, currency)
    try:
        careful = [TimeEntry.from_api(item, WS, currency) for item in page]
    except (ValueError, TypeError, KeyError, AttributeError, ArithmeticError):
        careful = None
    assert fast is None or fast == (careful, len(page), [])  # an unreadable entry: item by item, which says why
    return fast, careful


@given(st.lists(_PLAIN_ITEM, min_size=1, max_size=3), st.sampled_from(["EUR", None]))
def test_a_plain_page_is_read_at_once_as_each_entry_is(items, currency):
    fast, careful = _read_both_ways([{**report_entry(1), **fields} for fields in items], currency)
    assert (fast is None) == (careful is None)
    if careful is not None:
        stored = json.loads(plain_json(careful))
        assert [from_plain(TimeEntry, item) for item in stored] == careful
        assert [item["rate"] for item in stored] == [to_plain(entry)["rate"] for entry in careful]


def test_any_other_value_leaves_the_page_to_from_api_or_reads_it_alike():
    for name, (_plain, odd) in _FIELDS.items():
        for value in odd:
            fast, careful = _read_both_ways([report_entry(1), {**report_entry(2), name: value}], "EUR")
            assert careful is not None or fast is None, (name, value)


def test_a_plain_page_is_read_at_once_with_its_totals():
    body = {"totals": [{"entriesCount": 2}], "timeentries": [report_entry(1, clientId=""), report_entry(2, currency="JPY")]}
    entries, count, totals = read_report_fast(json.dumps(body).encode(), WS, "EUR")
    assert count == 2 and totals == body["totals"]
    assert entries == [TimeEntry.from_api(item, WS, "EUR") for item in body["timeentries"]]
    assert read_report_fast(b'{"totals": [null]}', WS, "EUR") == ([], 0, [None])
    assert read_report_fast(b'{"other": 1}', WS, "EUR") is None and read_report_fast(b"[]", WS, "EUR") is None
