"""Money as Decimal in Python and integer minor units in the database, never float.

A currency's minor unit comes from Babel's CLDR data (USD 2, JPY 0, KWD 3). Every rounding is
half-up to the currency's minor unit, the way people check an invoice by hand.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision, get_decimal_symbol, list_currencies
from flask_babel import gettext as _

_CURRENCIES = frozenset(list_currencies())


def is_currency(code: str | None) -> bool:
    return bool(code) and code in _CURRENCIES


def minor_digits(currency: str) -> int:
    return get_currency_precision(currency)


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-minor_digits(currency))


def to_minor(amount: Decimal, currency: str) -> int:
    """Decimal major units -> integer minor units, rounding half-up (12.345 USD -> 1235)."""
    digits = minor_digits(currency)
    return int((amount.scaleb(digits)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def from_minor(minor: int, currency: str) -> Decimal:
    """Integer minor units -> Decimal major units with the currency's exponent (1235 USD -> 12.35)."""
    return Decimal(minor).scaleb(-minor_digits(currency)).quantize(quantum(currency))


_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")


# Where the person's locale writes a decimal comma ("7,5"), that is how they may type (issue 13): a comma is
# then the decimal mark and a point may group thousands ("1.234,5"). A point alone still reads as the
# decimal point the app itself writes ("7.5"), except where it can only be a German-style thousands
# separator or a decimal point alike ("1.500"): that is refused with a question, never guessed.
_POINT_GROUPS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")
_POINT_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")


class AmbiguousNumber(ValueError):
    """A number that reads two ways in the person's locale; the message says how to write it."""


def decimal_comma(locale: str) -> bool:
    """True when the locale writes decimals with a comma (de_DE, fr_FR, ...)."""
    return get_decimal_symbol(locale) == ","


def parse_decimal(text: str | None, comma: bool = False) -> Decimal | None:
    """A number as a person types it: '1,234.50', ' 7.5 ' -> Decimal; '' -> None; junk -> ValueError.

    By default a comma is only read as a thousands separator ('1,234.5'): '7,5' is refused rather than
    read as 75, since a decimal comma typed out of habit would otherwise bill ten times too much. With
    `comma` (the person's locale writes a decimal comma) '7,5' and '1.234,5' read as 7.5 and 1234.5,
    and '1.500' is AmbiguousNumber."""
    if text is None:
        return None
    cleaned = text.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "") if comma else text.strip()
    if not cleaned:
        return None
    if comma and _POINT_GROUPS.match(cleaned):
        whole = cleaned.replace(".", "")
        if cleaned.count(".") > 1:
            raise AmbiguousNumber(_("“%(typed)s”: write %(whole)s, without points (with a decimal comma, a point could "
                                    "also be a decimal point).", typed=text.strip(), whole=whole))
        raise AmbiguousNumber(_("“%(typed)s” reads two ways: write %(whole)s or %(comma)s.", typed=text.strip(), whole=whole,
                                comma=format(Decimal(cleaned).normalize(), "f").replace(".", ",")))
    if comma and "," in cleaned:
        if cleaned.count(",") > 1 or ("." in cleaned and not _POINT_THOUSANDS_COMMA.match(cleaned)):
            raise ValueError(f"{text!r} is not a number")
        cleaned = cleaned.replace(".", "").replace(",", ".")
    if "," in cleaned:
        if not _THOUSANDS.match(cleaned):
            raise ValueError(f"{text!r} is not a number")
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number") from None
    # Finite and of a sane size: 1e400000000 would overflow every later step.
    if not value.is_finite() or (value and not -20 <= value.adjusted() <= 20):
        raise ValueError(f"{text!r} is not a usable number")
    return value


def fits_currency(amount: Decimal, currency: str) -> bool:
    """True when the amount has no more decimals than the currency's minor unit (no 45.005 USD)."""
    return amount == amount.quantize(quantum(currency))


def plain(value: Decimal | None) -> str:
    """A decimal as people write it: 7.5000 -> '7.5', 10 -> '10' (never '1E+1'), None or 0 -> '0'."""
    return format(value.normalize(), "f") if value else "0"


# The most one invoice's lines may add up to, in minor units, counting each line by its size (a negative
# line counts as positive, so no partial sum in any order goes past it). The database sums amounts as
# BIGINT (2**63 - 1, about 9.2e18): an invoice list sums the lines of each invoice, a total per
# currency sums invoices, and tax at most doubles a total. At 10**13 per invoice, 460,000 invoices at
# the limit, taxed at 100%, still sum inside BIGINT, while 10**13 minor units is 100 billion in a
# two-decimal currency (10 trillion yen, a billion in a four-decimal one such as CLF): beyond any real
# invoice. Quantity x rate alone reaches 10**17 in a four-decimal currency, which is why this is checked.
INVOICE_LIMIT_MINOR = 10**13


def line_amount_minor(quantity: Decimal, rate_minor: int) -> int:
    """A line's amount: quantity x rate, rounded half-up to the minor unit."""
    return int((quantity * rate_minor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def percent_of_minor(base_minor: int, percent: Decimal) -> int:
    return int((Decimal(base_minor) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Totals:
    """An invoice's totals in minor units: subtotal - discount + tax on what remains."""

    subtotal: int
    discount: int
    tax: int
    total: int


def invoice_totals(line_amounts: list[int], tax_rate: Decimal, discount_minor: int) -> Totals:
    subtotal = sum(line_amounts)
    discount = min(max(discount_minor, 0), max(subtotal, 0))
    taxable = subtotal - discount
    tax = percent_of_minor(taxable, tax_rate or Decimal(0))
    return Totals(subtotal=subtotal, discount=discount, tax=tax, total=taxable + tax)


@functools.lru_cache(maxsize=4096)
def format_money(minor: int, currency: str, locale: str = "en_US") -> str:
    # Cached: Babel parses the locale's pattern on every call, and a page repeats the same amounts.
    return format_currency(from_minor(minor, currency), currency, locale=locale)
