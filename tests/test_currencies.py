"""Clockify's free-text currency labels read as ISO 4217 where, and only where, they name one currency."""
from __future__ import annotations

from babel.numbers import list_currencies
from hypothesis import given
from hypothesis import strategies as st

from services.currencies import iso_currency
from services.money import is_currency

ISO_CODES = sorted(list_currencies())


UNAMBIGUOUS = [
    ("€", "EUR"), ("EUR", "EUR"), ("eur", "EUR"), ("EURO", "EUR"), ("euro", "EUR"), ("Euro", "EUR"),
    ("Euros", "EUR"), (" € ", "EUR"), ("euro.", "EUR"),
    ("£", "GBP"), ("GBP", "GBP"), ("Pound sterling", "GBP"), ("STG", "GBP"),
    ("US$", "USD"), ("us$", "USD"), ("USD", "USD"), ("US Dollar", "USD"),
    ("CA$", "CAD"), ("A$", "AUD"), ("NZ$", "NZD"), ("R$", "BRL"),
    ("JP¥", "JPY"), ("JPY", "JPY"), ("YEN", "JPY"), ("yen", "JPY"), ("円", "JPY"),
    ("CN¥", "CNY"), ("RMB", "CNY"),
    ("CHF", "CHF"), ("SFr.", "CHF"), ("sfr", "CHF"),
    ("₹", "INR"), ("zł", "PLN"), ("Kč", "CZK"), ("₪", "ILS"),
    ("ＥＵＲ", "EUR"),  # full-width letters, as some keyboards type them
    ("kwd", "KWD"), ("BHD", "BHD"),
]

AMBIGUOUS_OR_UNKNOWN = [
    "$",  # USD, CAD, AUD, NZD, MXN, ...
    "¥",  # JPY or CNY
    "kr", "kr.", "Kr",  # SEK, NOK, DKK, ISK
    "Fr.", "fr", "franc",  # CHF, but also XOF, XAF, KMF
    "dollar", "Dollars", "pound", "rupee", "peso", "lei", "won", "crown",
    "R",  # ZAR, but also short for R$ or ₹
    "", "   ", None, "Euro dollars", "XYZ", "points", "€€", "x" * 101,
]

# One test per list rather than one per case: each case is a dictionary look-up, far cheaper than
# pytest's own cost per test; every failing case is named in the message.


def test_unambiguous_labels_map_to_their_iso_code():
    wrong = {label: (iso_currency(label), code) for label, code in UNAMBIGUOUS if iso_currency(label) != code}
    assert not wrong, f"label: (answer, expected): {wrong}"


def test_ambiguous_or_unknown_labels_are_none_so_the_user_is_asked():
    wrong = {label: iso_currency(label) for label in AMBIGUOUS_OR_UNKNOWN if iso_currency(label) is not None}
    assert not wrong, f"these should be None (the user is asked): {wrong}"


def test_every_iso_code_maps_to_itself():
    wrong = {code: iso_currency(code) for code in ISO_CODES if iso_currency(code) != code}
    assert len(ISO_CODES) > 250 and not wrong, f"code: answer: {wrong}"


@given(st.sampled_from(ISO_CODES), st.sampled_from([str.lower, str.upper, str.title]), st.text(" \t", max_size=3))
def test_iso_codes_map_to_themselves_in_any_case_and_padding(code, case, padding):
    assert iso_currency(padding + case(code) + padding) == code


@given(st.text(max_size=12))
def test_every_answer_is_a_real_iso_code_or_none(label):
    answer = iso_currency(label)
    assert answer is None or is_currency(answer)
