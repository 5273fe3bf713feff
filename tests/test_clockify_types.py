"""The Clockify client's typed results (services/clockify_types.py) read from Clockify's JSON: durations,
timestamps, money (x100 in every currency), rates, entries in both shapes, workspaces, members and projects
(docs/clockify-notes.md)."""
from __future__ import annotations

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
    parse_duration,
    parse_timestamp,
    rate_from_cents,
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
