"""Clockify entries -> proposed invoice lines (services/lines.py): each grouping, rounding, the rate
precedence, what is skipped and why, calendar days in the user's time zone, the line text and its cap,
the options form; then properties over random entries and options."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from services.clockify_types import Money, TimeEntry
from services.lines import DETAILS, GROUPINGS, LineOptions, Skipped, plan_lines
from services.money import line_amount_minor, to_minor

UTC = timezone.utc
NINE = datetime(2024, 3, 5, 9, 0, tzinfo=UTC)


def usd(cents: int | None) -> Money | None:
    return Money.from_cents(cents, "USD") if cents else None


def entry(id="e1", *, start=NINE, seconds=3600, rate=usd(4500), project="Website redesign", task=None,
          member="Luke", member_id=None, description="Design review", kind="REGULAR", running=False) -> TimeEntry:
    return TimeEntry(
        id=id, workspace_id="w1", user_id=member_id or f"u-{member}", user_name=member,
        description=description, start=start,
        end=None if running else start + timedelta(seconds=seconds), seconds=None if running else seconds,
        billable=True, project_id=project and f"p-{project}", project_name=project, client_id=None,
        client_name=None, task_id=task and f"t-{task}", task_name=task, rate=rate, kind=kind,
    )


def plan(entries, *, currency="USD", fallback_rate=None, time_zone="UTC", **options):
    return plan_lines(entries, currency=currency, fallback_rate=fallback_rate,
                      options=LineOptions(**options), time_zone=time_zone)


def at(hours: float) -> datetime:
    return NINE + timedelta(hours=hours)


# Groupings

def test_one_line_per_entry_in_start_order_with_the_full_line_text():
    entries = [
        entry("b", start=at(2), seconds=1800, task="Homepage", description="Standup"),
        entry("a", task="Homepage", seconds=5400),
    ]
    result = plan(entries)
    assert [line.entry_ids for line in result.lines] == [("a",), ("b",)]
    first = result.lines[0]
    assert first.description == "2024-03-05 · Website redesign / Homepage · Design review"
    assert (first.quantity, first.unit, first.rate_minor, first.amount_minor, first.seconds) == (
        Decimal("1.5000"), "h", 4500, 6750, 5400)
    assert first.rate_source == "clockify" and not first.needs_rate
    assert (result.hours, result.amount_minor, result.entry_count, result.line_count) == (
        Decimal("2.0000"), 9000, 2, 2)


def test_by_project_lists_the_descriptions_after_the_project():
    entries = [
        entry("1", description="Design review"), entry("2", start=at(1), description="Standup"),
        entry("3", start=at(2), description="Design review"), entry("4", start=at(3), project="Mobile app"),
    ]
    result = plan(entries, grouping="project", details={"project", "description"})
    assert [(line.description, line.entry_ids, line.seconds) for line in result.lines] == [
        ("Website redesign: Design review; Standup", ("1", "2", "3"), 3 * 3600),
        ("Mobile app · Design review", ("4",), 3600),
    ]


def test_by_task_keeps_same_named_tasks_of_different_projects_apart():
    entries = [
        entry("1", task="Homepage"), entry("2", start=at(1), task="Checkout"),
        entry("3", start=at(2), task="Homepage"), entry("4", start=at(3), task="Homepage", project="Mobile app"),
        entry("5", start=at(4), task=None),
    ]
    result = plan(entries, grouping="task", details={"project", "task"})
    assert [(line.description, line.entry_ids) for line in result.lines] == [
        ("Website redesign / Homepage", ("1", "3")), ("Website redesign / Checkout", ("2",)),
        ("Mobile app / Homepage", ("4",)), ("Website redesign", ("5",)),
    ]


def test_by_member_uses_the_member_id_and_shows_the_name():
    entries = [entry("1", member="Luke"), entry("2", start=at(1), member="Ana"),
               entry("3", start=at(2), member="Luke", project="Mobile app", description="Standup")]
    result = plan(entries, grouping="member", details={"member", "project", "description"})
    assert [(line.description, line.entry_ids) for line in result.lines] == [
        ("Website redesign, Mobile app · Luke: Design review; Standup", ("1", "3")),
        ("Website redesign · Ana · Design review", ("2",)),
    ]


def test_by_description_merges_across_projects_and_ignores_extra_whitespace():
    entries = [entry("1", description="Standup"), entry("2", start=at(1), description="  Standup\n"),
               entry("3", start=at(2), project="Mobile app", description="Standup"),
               entry("4", start=at(3), description="Bug fixing")]
    result = plan(entries, grouping="description", details={"description"})
    assert [(line.description, line.entry_ids) for line in result.lines] == [
        ("Standup", ("1", "2", "3")), ("Bug fixing", ("4",))]


def test_the_calendar_day_is_the_users_time_zone():
    late = entry("late", start=datetime(2024, 3, 5, 23, 30, tzinfo=UTC))  # 00:30 on the 6th in Berlin
    morning = entry("morning", start=datetime(2024, 3, 6, 8, 0, tzinfo=UTC))
    in_berlin = plan([late, morning], grouping="day", details={"date"}, time_zone="Europe/Berlin")
    assert [(line.description, line.entry_ids) for line in in_berlin.lines] == [
        ("2024-03-06", ("late", "morning"))]
    in_utc = plan([late, morning], grouping="day", details={"date"}, time_zone="UTC")
    assert [line.description for line in in_utc.lines] == ["2024-03-05", "2024-03-06"]


def test_a_line_over_several_days_shows_the_date_range():
    result = plan([entry("1"), entry("2", start=at(48))], grouping="project", details={"date", "project"})
    assert result.lines[0].description == "2024-03-05 – 2024-03-07 · Website redesign"


# Rounding

@pytest.mark.parametrize("seconds, minutes, direction, billed", [
    (3661, 0, "up", 3661),
    (61 * 60, 15, "up", 75 * 60), (3600, 15, "up", 3600), (1, 6, "up", 360), (31 * 60, 30, "up", 3600),
    (7 * 60 + 29, 15, "nearest", 0), (7 * 60 + 30, 15, "nearest", 900), (22 * 60 + 29, 15, "nearest", 900),
    (3 * 60, 6, "nearest", 360), (44 * 60 + 59, 30, "nearest", 1800), (45 * 60, 30, "nearest", 3600),
])
def test_rounding_steps(seconds, minutes, direction, billed):
    options = LineOptions(rounding_minutes=minutes, rounding_direction=direction)
    assert options.round_seconds(seconds) == billed
    [line] = plan([entry(seconds=seconds)], rounding_minutes=minutes, rounding_direction=direction).lines
    assert line.seconds == billed
    if minutes:
        assert line.quantity == Decimal(billed) / 3600  # every step is an exact quantity


def test_rounding_is_per_entry_before_grouping():
    entries = [entry("1", seconds=300), entry("2", start=at(1), seconds=300)]
    [line] = plan(entries, grouping="project", rounding_minutes=15).lines
    assert (line.seconds, line.quantity) == (1800, Decimal("0.5000"))


def test_unrounded_seconds_are_kept_exactly_and_the_quantity_is_rounded_to_four_places():
    [line] = plan([entry(seconds=1)]).lines
    assert (line.seconds, line.quantity, line.amount_minor) == (1, Decimal("0.0003"), 1)  # 0.0003 x 45.00
    [line] = plan([entry(seconds=5000)]).lines  # 1.38888... h
    assert line.quantity == Decimal("1.3889") and line.amount_minor == line_amount_minor(Decimal("1.3889"), 4500)


# Rates

def test_the_entrys_own_rate_wins_over_the_default():
    [line] = plan([entry(rate=usd(4500))], fallback_rate=Decimal("99")).lines
    assert (line.rate_minor, line.rate_source) == (4500, "clockify")


def test_an_entry_without_a_rate_takes_the_default():
    [line] = plan([entry(rate=None, seconds=5400)], fallback_rate=Decimal("60.5")).lines
    assert (line.rate_minor, line.rate_source, line.amount_minor) == (6050, "default", 9075)


@pytest.mark.parametrize("fallback", [None, Decimal(0)])
def test_no_rate_at_all_is_a_zero_rate_flagged_for_the_preview(fallback):
    result = plan([entry(rate=None)], fallback_rate=fallback)
    [line] = result.lines
    assert (line.rate_minor, line.rate_source, line.amount_minor, line.needs_rate) == (0, "none", 0, True)
    assert result.needs_rate


def test_entries_at_different_rates_or_rate_sources_never_share_a_line():
    entries = [entry("1", rate=usd(4500)), entry("2", start=at(1), rate=usd(6000)),
               entry("3", start=at(2), rate=None), entry("4", start=at(3), rate=usd(4500))]
    result = plan(entries, grouping="project", fallback_rate=Decimal("45"))
    assert [(line.entry_ids, line.rate_minor, line.rate_source) for line in result.lines] == [
        (("1", "4"), 4500, "clockify"), (("2",), 6000, "clockify"), (("3",), 4500, "default")]


def test_rates_use_the_invoice_currencys_minor_unit():
    yen = entry(rate=Money.from_clockify(500000, "JPY"), seconds=5400)  # JPY 5,000 an hour, x100
    [line] = plan([yen], currency="JPY").lines
    assert (line.rate_minor, line.amount_minor) == (5000, 7500)
    [line] = plan([entry(rate=None)], currency="KWD", fallback_rate=Decimal("12.345")).lines
    assert line.rate_minor == 12345


# Skipped entries

@pytest.mark.parametrize("changes, reason", [
    ({"running": True}, "Timer still running"),
    ({"kind": "BREAK"}, "Break"), ({"kind": "TIME_OFF"}, "Time off"), ({"kind": "TIMEOFF"}, "Time off"),
    ({"kind": "HOLIDAY"}, "Holiday"), ({"kind": "OVERTIME"}, "Overtime"),
    ({"kind": "SICK"}, "Not a work entry (SICK)"),
    ({"seconds": 0}, "No time recorded"),
    ({"rate": Money.from_cents(4500, "EUR")}, "Rate in EUR, invoice in USD"),
])
def test_entries_never_billed_are_listed_with_the_reason(changes, reason):
    skipped, billed = entry("x", **changes), entry("y", start=at(1))
    result = plan([skipped, billed], fallback_rate=Decimal("45"))
    assert result.skipped == (Skipped(skipped, reason),)
    assert [line.entry_ids for line in result.lines] == [("y",)]


def test_a_repeated_entry_is_billed_once_and_a_conflicting_one_refused():
    one = entry("1")
    assert plan([one, one]).entry_count == 1
    with pytest.raises(ValueError, match="share the id"):
        plan([one, replace(one, description="Other")])


def test_bad_call_arguments_are_refused():
    with pytest.raises(ValueError, match="currency"):
        plan([entry()], currency="XYZ")
    with pytest.raises(ValueError, match="negative"):
        plan([entry()], fallback_rate=Decimal("-1"))


# Line text

def test_the_description_list_is_capped_with_and_n_more():
    names = ["Design review", "Standup", "Bug fixing", "Deploy", "Planning", "Retro", "Support"]
    entries = [entry(str(i), start=at(i), description=name) for i, name in enumerate(names)]
    result = plan(entries, grouping="project", details={"project", "description"}, max_description=70)
    assert result.lines[0].description == "Website redesign: Design review; Standup; Bug fixing and 4 more"
    for cap in range(20, 120):
        text = plan(entries, grouping="project", details={"project", "description"},
                    max_description=cap).lines[0].description
        assert len(text) <= cap and text


def test_a_single_long_description_is_cut_at_a_word_with_an_ellipsis():
    words = "Reviewed the checkout flow with the client and agreed on the changes " * 6
    [line] = plan([entry(description=words)], details={"description"}, max_description=60).lines
    assert len(line.description) <= 60 and line.description.endswith("…")
    assert words.startswith(line.description[:-1]) and words[len(line.description) - 1] == " "


def test_empty_details_leave_no_dangling_separators_and_never_an_empty_text():
    [line] = plan([entry(description="", task="Homepage")]).lines
    assert line.description == "2024-03-05 · Website redesign / Homepage"
    [line] = plan([entry(description="  ")], details={"description"}).lines
    assert line.description == "Website redesign"  # nothing asked for is there: say what it was for
    [line] = plan([entry(description="", project=None)], details={"description", "member"}).lines
    assert line.description == "Luke"
    [line] = plan([entry(description="", project=None, member=None)], details=set()).lines
    assert line.description == "Time tracked"


def test_the_unit_comes_from_the_options():
    assert plan([entry()], unit="hours").lines[0].unit == "hours"


# Options from a form

def test_options_from_a_form_and_back_through_json():
    form = MultiDict([("grouping", "project"), ("rounding_minutes", "15"), ("rounding_direction", "nearest"),
                      ("details", "project"), ("details", "description"), ("max_description", "120"),
                      ("unit", " hrs ")])
    options = LineOptions.from_form(form)
    assert options == LineOptions(grouping="project", rounding_minutes=15, rounding_direction="nearest",
                                  details=frozenset({"project", "description"}), max_description=120, unit="hrs")
    remembered = json.loads(json.dumps(options.as_dict()))
    assert remembered["details"] == ["project", "description"]
    assert LineOptions.from_form(remembered) == options


def test_a_form_without_values_gets_the_defaults_but_unchecked_details_stay_unchecked():
    assert LineOptions.from_form(MultiDict()) == LineOptions(details=frozenset())
    assert LineOptions.from_form({"rounding_minutes": "none"}).rounding_minutes == 0


@pytest.mark.parametrize("field, value, message", [
    ("grouping", "client", "Choose how to group"), ("grouping", ["project"], "Choose how to group"),
    ("rounding_minutes", "7", "none, 1, 5, 6"), ("rounding_minutes", "1.5", "none, 1, 5, 6"),
    ("rounding_minutes", True, "none, 1, 5, 6"), ("rounding_minutes", "١٥", "none, 1, 5, 6"),
    ("rounding_direction", "sideways", "up, down or to the nearest"),
    ("details", ["project", "rate"], "Unknown line detail: rate"), ("details", 5, "Unknown line details"),
    ("max_description", "abc", "from 20 to 2000"), ("max_description", "5", "from 20 to 2000"),
    ("max_description", "99999999999", "from 20 to 2000"),
    ("unit", "x" * 21, "at most 20"), ("unit", 5, "at most 20"),
])
def test_bad_form_values_are_refused_with_a_message_for_the_user(field, value, message):
    with pytest.raises(ValueError, match=message):
        LineOptions.from_form({field: value})


# Properties

PROJECTS = [None, "Website redesign", "Mobile app"]
TASKS = [None, "Homepage", "Checkout"]
MEMBERS = [("u1", "Luke"), ("u2", "Ana"), ("u3", None)]
DESCRIPTIONS = ["", "Design review", "Standup", "  Standup ", "Bug fixing",
                "A long description of careful work on the checkout flow " * 3]
RATES = [None, None, usd(4500), usd(6000), usd(1), Money.from_cents(4500, "EUR")]
# Berlin moves its clocks on 31 March and 27 October 2024: start within a few days of either change, on
# quarter hours so that entries often start together (the tie-break must keep the plan deterministic).
DST_CHANGES = [datetime(2024, 3, 31, 1, tzinfo=UTC), datetime(2024, 10, 27, 1, tzinfo=UTC)]
QUARTER = timedelta(minutes=15)


# The strategies an entry is drawn from, made once: made anew for each draw (a new strategy is labelled,
# hashed and validated on first use) they took most of the properties' time; the values drawn are the same.
_COUNTS, _CHANGES, _QUARTERS = st.integers(0, 20), st.sampled_from(DST_CHANGES), st.integers(-3 * 96, 3 * 96)
_MEMBERS, _SECONDS, _RATES = st.sampled_from(MEMBERS), st.integers(0, 12 * 3600), st.sampled_from(RATES)
_PROJECTS, _TASKS, _DESCRIPTIONS = st.sampled_from(PROJECTS), st.sampled_from(TASKS), st.sampled_from(DESCRIPTIONS)
_KINDS, _ONE_IN_16 = st.sampled_from(["REGULAR"] * 8 + ["BREAK", "TIME_OFF"]), st.integers(0, 15)


@st.composite
def random_entries(draw):
    entries = []
    for number in range(draw(_COUNTS)):
        start = draw(_CHANGES) + QUARTER * draw(_QUARTERS)
        member_id, member = draw(_MEMBERS)
        entries.append(entry(
            f"e{number}", start=start, seconds=draw(_SECONDS), rate=draw(_RATES),
            project=draw(_PROJECTS), task=draw(_TASKS), member=member,
            member_id=member_id, description=draw(_DESCRIPTIONS),
            kind=draw(_KINDS),
            running=draw(_ONE_IN_16) == 0,
        ))
    return entries


random_options = st.builds(
    LineOptions, grouping=st.sampled_from(GROUPINGS), rounding_minutes=st.sampled_from([0, 6, 15, 30]),
    rounding_direction=st.sampled_from(["up", "nearest"]), details=st.frozensets(st.sampled_from(DETAILS)),
    max_description=st.integers(20, 300),
)
fallback_rates = st.sampled_from([None, Decimal(0), Decimal("45"), Decimal("52.5")])
time_zones = st.sampled_from(["Europe/Berlin", "UTC"])


def expected_rate(item: TimeEntry, fallback: Decimal | None) -> tuple[int, str]:
    if item.rate is not None:
        return to_minor(item.rate.amount, "USD"), "clockify"
    if fallback:
        return to_minor(fallback, "USD"), "default"
    return 0, "none"


def expected_key(item: TimeEntry, grouping: str, zone: str):
    return {
        "entry": item.id, "project": item.project_id, "task": (item.project_id, item.task_id),
        "member": item.user_id, "day": item.start.astimezone(ZoneInfo(zone)).date(),
        "description": " ".join(item.description.split()),
    }[grouping]


def billable(item: TimeEntry) -> bool:
    return (not item.running and item.kind == "REGULAR" and item.seconds > 0
            and (item.rate is None or item.rate.currency == "USD"))


@settings(deadline=None)  # the profile's examples (tests/fixtures.py: 100; HYPOTHESIS_PROFILE=deep searches further)
@given(random_entries(), random_options, fallback_rates, time_zones, st.randoms(use_true_random=False))
def test_properties_of_every_plan_whatever_the_input_order(entries, options, fallback, zone, rng):
    """(a) to (g) on each plan, and (h) the same plan from the entries in another order. (One test: two drew
    the same entries and options, and drawing them was most of their time.)"""
    result = plan_lines(entries, currency="USD", fallback_rate=fallback, options=options, time_zone=zone)
    by_id = {item.id: item for item in entries}

    # (d) every entry is on exactly one line or skipped, never both, never twice; the billable ones are billed
    on_lines = [entry_id for line in result.lines for entry_id in line.entry_ids]
    skipped = [item.entry.id for item in result.skipped]
    assert sorted(on_lines + skipped) == sorted(by_id)
    assert set(on_lines) == {item.id for item in entries if billable(item)}

    # (a) without rounding the lines carry exactly the seconds of the billed entries
    billed = [by_id[entry_id] for entry_id in on_lines]
    if options.rounding_minutes == 0:
        assert sum(line.seconds for line in result.lines) == sum(item.seconds for item in billed)
    for line in result.lines:
        items = [by_id[entry_id] for entry_id in line.entry_ids]
        # (b), with the per-entry steps checked in test_rounding_properties
        assert line.seconds == sum(options.round_seconds(item.seconds) for item in items)
        # the quantity is the exact seconds in hours, rounded half-up to 4 places
        assert line.quantity == (Decimal(line.seconds) / 3600).quantize(Decimal("0.0001"), ROUND_HALF_UP)
        # (c) the amount is the printed quantity times the printed rate
        assert line.amount_minor == line_amount_minor(line.quantity, line.rate_minor)
        # (e) one rate and one rate source per line, and one grouping key
        assert {expected_rate(item, fallback) for item in items} == {(line.rate_minor, line.rate_source)}
        assert len({expected_key(item, options.grouping, zone) for item in items}) == 1
        # (g) a line text is never empty and never over the cap
        assert 0 < len(line.description) <= options.max_description
        assert line.entry_ids == tuple(item.id for item in sorted(items, key=lambda item: (item.start, item.id)))

    # entries sharing a key and a rate do share a line, so (f) "entry" gives one line per billed entry
    keys = {(expected_key(item, options.grouping, zone), *expected_rate(item, fallback)) for item in billed}
    assert len(result.lines) == len(keys)
    if options.grouping == "entry":
        assert len(result.lines) == len(billed)

    # lines in the order of their first entry's start
    firsts = [(by_id[line.entry_ids[0]].start, line.entry_ids[0]) for line in result.lines]
    assert firsts == sorted(firsts)
    assert (result.entry_count, result.line_count) == (len(billed), len(result.lines))
    assert result.amount_minor == sum(line.amount_minor for line in result.lines)

    # (h) deterministic whatever the input order
    shuffled = list(entries)
    rng.shuffle(shuffled)
    assert plan_lines(shuffled, currency="USD", fallback_rate=fallback, options=options, time_zone=zone) == result


@given(st.integers(0, 48 * 3600), st.sampled_from([6, 15, 30]), st.sampled_from(["up", "nearest"]))
def test_rounding_properties(seconds, minutes, direction):
    # (b) a whole number of steps; up never bills less and less than a step more; nearest within half a step
    step = minutes * 60
    billed = LineOptions(rounding_minutes=minutes, rounding_direction=direction).round_seconds(seconds)
    assert billed % step == 0
    if direction == "up":
        assert seconds <= billed < seconds + step
    else:
        assert abs(billed - seconds) <= step / 2
    assert LineOptions().round_seconds(seconds) == seconds


def test_rounding_down_drops_the_part_step():
    options = LineOptions(rounding_minutes=15, rounding_direction="down")
    assert [options.round_seconds(s) for s in (0, 899, 900, 1799, 1800)] == [0, 0, 900, 900, 1800]


def test_the_report_rounding_is_taken_when_hourbill_offers_it():
    base = LineOptions(grouping="task")
    assert base.with_report_rounding(15, "up") == LineOptions(grouping="task", rounding_minutes=15, rounding_direction="up")
    assert base.with_report_rounding(10, "down").rounding_direction == "down"
    assert base.with_report_rounding(7, "up") == base  # not a step Hourbill offers: unchanged, the page says so
