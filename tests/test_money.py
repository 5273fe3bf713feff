"""Money is exact: Decimal and integer minor units, half-up rounding to the currency's minor unit."""
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.money import (format_money, from_minor, invoice_totals, is_currency, line_amount_minor,
                            parse_decimal, to_minor)


@pytest.mark.parametrize("amount, currency, minor", [
    ("12.345", "USD", 1235), ("12.344", "USD", 1234), ("0.005", "EUR", 1), ("1500", "JPY", 1500),
    ("1500.5", "JPY", 1501), ("1.2345", "KWD", 1235), ("-0.005", "USD", -1),
])
def test_to_minor_rounds_half_up_to_the_currency_minor_unit(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor


def test_from_minor_gives_the_currency_exponent():
    assert str(from_minor(1235, "USD")) == "12.35"
    assert str(from_minor(1500, "JPY")) == "1500"
    assert str(from_minor(1235, "KWD")) == "1.235"


def test_line_amount_is_quantity_times_rate_rounded_half_up():
    assert line_amount_minor(Decimal("1.5"), 4500) == 6750
    assert line_amount_minor(Decimal("0.3333"), 1000) == 333
    assert line_amount_minor(Decimal("0.0005"), 1000) == 1  # 0.5 cents rounds up


def test_totals_apply_discount_before_tax():
    totals = invoice_totals([10000, 5050], Decimal("19"), 1050)
    assert (totals.subtotal, totals.discount, totals.tax, totals.total) == (15050, 1050, 2660, 16660)


def test_discount_never_exceeds_the_subtotal():
    totals = invoice_totals([1000], Decimal("10"), 5000)
    assert totals.discount == 1000 and totals.total == 0


def test_parse_decimal_reads_what_people_type_and_refuses_junk():
    assert parse_decimal(" 1,234.50 ") == Decimal("1234.50")
    assert parse_decimal("") is None
    for junk in ("abc", "1.2.3", "NaN", "Infinity", "-inf", "1e400000000", "1e-400000000"):
        with pytest.raises(ValueError):
            parse_decimal(junk)


def test_format_money_per_currency():
    assert format_money(123456, "USD") == "$1,234.56"
    assert format_money(1500, "JPY") == "¥1,500"
    assert format_money(123456, "EUR", "de_DE") == "1.234,56\xa0€"


def test_currency_codes_are_checked_against_iso_4217():
    assert is_currency("EUR") and not is_currency("EURO") and not is_currency("") and not is_currency("XYZ")


@given(st.lists(st.tuples(st.decimals(min_value=0, max_value=10000, places=4),
                          st.integers(min_value=0, max_value=10**7)), max_size=30),
       st.decimals(min_value=0, max_value=100, places=3))
def test_total_is_subtotal_plus_tax_and_subtotal_is_the_sum_of_lines(lines, tax_rate):
    amounts = [line_amount_minor(quantity, rate) for quantity, rate in lines]
    totals = invoice_totals(amounts, tax_rate, 0)
    assert totals.subtotal == sum(amounts)
    assert totals.total == totals.subtotal + totals.tax
    assert abs(Decimal(totals.tax) - Decimal(totals.subtotal) * tax_rate / 100) <= Decimal("0.5")
