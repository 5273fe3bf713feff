"""The invoice's total against Clockify's own report for the same entries (issue 9, item 11): the
causes of a difference, each with the amount it accounts for, adding up to the difference exactly."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from services.clockify_types import Money, TimeEntry
from services.lines import GROUPINGS, LineOptions, plan_lines, reconcile

NINE = datetime(2025, 10, 6, 9, tzinfo=timezone.utc)


def clockify_amount(rate_hundredths: int | None, seconds: int, billable: bool) -> int:
    """What Clockify's report says an entry earned, in hundredths (the sandbox's rule, written again)."""
    if not billable or not rate_hundredths:
        return 0
    exact = Decimal(rate_hundredths) * seconds / 3600
    return int(exact.quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def entry(id="e1", *, seconds=3600, rate=4500, billable=True, amount="clockify", currency="USD",
          project="Website redesign", start=NINE) -> TimeEntry:
    """A report entry: ``rate`` and ``amount`` in Clockify's hundredths; amount "clockify" is what
    Clockify computes, None none at all (an entry read per member)."""
    if amount == "clockify":
        amount = clockify_amount(rate, seconds, billable)
    return TimeEntry(
        id=id, workspace_id="w1", user_id="u1", user_name="Luke", description="Work", start=start,
        end=start + timedelta(seconds=seconds), seconds=seconds, billable=billable, project_id=f"p-{project}",
        project_name=project, client_id=None, client_name=None, task_id=None, task_name=None,
        rate=Money.from_clockify(rate, currency) if rate else None,
        amount=Money.from_clockify(amount, currency) if amount is not None else None)


def check(entries, *, currency="USD", fallback=None, **options):
    chosen = LineOptions(**options)
    plan = plan_lines(entries, currency=currency, fallback_rate=fallback, options=chosen, time_zone="UTC")
    result = reconcile(entries, plan, currency=currency, fallback_rate=fallback, options=chosen)
    assert sum(cause.amount_minor for cause in result.causes) == result.difference_minor
    return plan, result, {cause.kind: cause.amount_minor for cause in result.causes}


def test_the_same_entries_at_clockifys_rates_agree_to_the_cent():
    # 1 h 30 min and 20 min at 45.00: Clockify says 67.50 + 15.00
    plan, result, causes = check([entry("a", seconds=5400), entry("b", seconds=1200, start=NINE + timedelta(hours=2))])
    assert (result.clockify_minor, result.invoice_minor, causes) == (8250, 8250, {})


def test_hours_rounded_to_four_places_account_for_the_difference():
    # 7 s at 10,000.00/h: Clockify 19.44; the line says 0.0019 h x 10,000.00 = 19.00
    _, result, causes = check([entry(seconds=7, rate=1_000_000)])
    assert (result.clockify_minor, result.invoice_minor) == (1944, 1900)
    assert causes == {"quantity_rounding": -44}


def test_rounding_options_are_their_own_cause():
    # 50 min at 60.00 rounded up to the hour: Clockify 50.00, the invoice 60.00
    _, result, causes = check([entry(seconds=3000, rate=6000)], rounding_minutes=60, rounding_direction="up")
    assert (result.clockify_minor, result.invoice_minor, causes) == (5000, 6000, {"rounding_options": 1000})


def test_a_rate_chosen_here_and_a_non_billable_entry_ticked_deliberately():
    entries = [entry("a", seconds=3600, rate=None),  # no Clockify rate: the default 80.00 bills it
               entry("b", seconds=1800, rate=5000, billable=False, start=NINE + timedelta(hours=2)),  # Clockify: 0
               entry("c", seconds=3600, start=NINE + timedelta(hours=3))]
    _, result, causes = check(entries, fallback=Decimal(80))
    assert (result.clockify_minor, result.invoice_minor) == (4500, 8000 + 2500 + 4500)
    assert causes == {"rate_here": 8000, "non_billable": 2500}
    assert {cause.kind: cause.entries for cause in result.causes} == {"rate_here": 1, "non_billable": 1}


def test_entries_without_a_report_amount_are_left_out_of_clockifys_figure_and_counted():
    _, result, causes = check([entry("a", amount=None), entry("b", start=NINE + timedelta(hours=2))])
    assert (result.clockify_minor, result.invoice_minor, result.without_amount) == (4500, 9000, 1)
    assert causes == {"no_report_amount": 4500}


def test_a_zero_amount_in_another_currency_is_still_clockify_saying_zero():
    # no rate: Clockify's report says 0, labelled with the client's currency (AUD) on a USD invoice
    unrated = replace(entry("a", rate=None), amount=Money.from_clockify(0, "AUD"))
    _, result, causes = check([unrated], fallback=Decimal(80))
    assert (result.clockify_minor, result.without_amount, causes) == (0, 0, {"rate_here": 8000})


def test_an_amount_that_is_not_clockifys_rate_times_time_is_named():
    # Clockify says 40.00 for an hour at 45.00 (a rate changed after the time was tracked?)
    _, result, causes = check([entry(amount=4000)])
    assert causes == {"clockify_differs": 500}


def test_yen_clockify_counts_hundredths_the_invoice_whole_yen():
    # JPY 5,000.50 an hour, 1 h and 1 h: Clockify 5,000.50 x 2 = 10,001 yen; Hourbill's rate is 5,001 yen
    entries = [entry("a", rate=500050, currency="JPY"), entry("b", rate=500050, currency="JPY", start=NINE + timedelta(hours=2))]
    _, result, causes = check(entries, currency="JPY")
    assert (result.clockify_minor, result.invoice_minor) == (10001, 10002)
    assert causes == {"currency_rounding": 1}


def test_entries_not_on_a_line_do_not_count():
    running = replace(entry("r"), end=None, seconds=None)
    _, result, _ = check([entry("a"), running])
    assert (result.entries, result.clockify_minor) == (1, 4500)


@st.composite
def report_entries(draw, currency="USD"):
    """Entries as Clockify's report gives them: its own arithmetic for every amount, or none at all."""
    entries = []
    for number in range(draw(st.integers(1, 12))):
        rate = draw(st.sampled_from([None, 1, 4500, 5050, 9999, 12345, 1_000_000]))
        seconds = draw(st.one_of(st.integers(1, 90), st.integers(1, 12 * 3600)))
        billable = draw(st.booleans())
        amount = "clockify" if draw(st.integers(0, 5)) else None
        entries.append(entry(f"e{number}", seconds=seconds, rate=rate, billable=billable, amount=amount,
                             currency=currency, project=draw(st.sampled_from(["A", "B"])),
                             start=NINE + timedelta(minutes=draw(st.integers(0, 3000)))))
    return entries


options = st.builds(LineOptions, grouping=st.sampled_from(GROUPINGS), rounding_minutes=st.sampled_from([0, 1, 6, 15, 60]),
                    rounding_direction=st.sampled_from(["up", "nearest", "down"]))


@settings(max_examples=100, deadline=None)
@given(report_entries(), options, st.sampled_from([None, Decimal(0), Decimal("80"), Decimal("52.57")]))
def test_every_cause_is_explained_and_the_parts_add_up_to_the_difference(entries, chosen, fallback):
    plan = plan_lines(entries, currency="USD", fallback_rate=fallback, options=chosen, time_zone="UTC")
    result = reconcile(entries, plan, currency="USD", fallback_rate=fallback, options=chosen)
    causes = {cause.kind: cause.amount_minor for cause in result.causes}
    assert result.invoice_minor == plan.amount_minor
    assert sum(causes.values()) == result.difference_minor
    # Clockify's figure is its report's amounts of the billed entries, summed by hand here
    billed = {entry_id for line in plan.lines for entry_id in line.entry_ids}
    assert result.clockify_minor == sum(int(e.amount.amount * 100) for e in entries if e.id in billed and e.amount)
    # every amount is Clockify's own arithmetic in a currency of hundredths: nothing is unexplained
    assert "clockify_differs" not in causes and "currency_rounding" not in causes
    # a cause appears only where its reason is present
    if chosen.rounding_minutes == 0:
        assert "rounding_options" not in causes
    if not fallback:
        assert "rate_here" not in causes  # entries without a rate bill 0, as in Clockify
    if all(e.billable for e in entries if e.id in billed):
        assert "non_billable" not in causes
    if result.without_amount == 0:
        assert "no_report_amount" not in causes
    if chosen.grouping == "entry" and all(
            chosen.round_seconds(e.seconds) % 36 == 0 for e in entries if e.id in billed):  # exact to 4 places
        assert "quantity_rounding" not in causes


@settings(max_examples=60, deadline=None)
@given(report_entries(currency="JPY"), options, st.sampled_from(["JPY", "KWD"]))
def test_in_any_currency_the_parts_still_add_up(entries, chosen, currency):
    entries = [replace(e, rate=e.rate and replace(e.rate, currency=currency),
                       amount=e.amount and replace(e.amount, currency=currency)) for e in entries]
    plan = plan_lines(entries, currency=currency, fallback_rate=Decimal("70"), options=chosen, time_zone="UTC")
    result = reconcile(entries, plan, currency=currency, fallback_rate=Decimal("70"), options=chosen)
    assert sum(cause.amount_minor for cause in result.causes) == result.difference_minor
    assert "clockify_differs" not in {cause.kind for cause in result.causes}
