"""Clockify's currency labels -> ISO 4217 codes, where the label says one currency and only one.

A Clockify workspace's currency is free text its admin typed (NOTES.md): "USD", but also "€", "EURO" or
"US$". Hourbill bills in ISO currencies, so a label is read here and nowhere else. Where a label could mean
several currencies ("$" is USD, CAD, AUD, ...; "¥" is JPY or CNY; "kr" is SEK, NOK, DKK or ISK) or is
unknown, `iso_currency` answers None and the caller asks the user once per workspace, never guessing.

Deliberate choices:
- "CHF", "SFr.", "Fr." and "franc": "CHF" is an ISO code; "SFr." is Switzerland's own; a bare "Fr." or
  "franc" is also the CFA and Comorian francs' (XOF, XAF, KMF) and was France's and Belgium's, so None.
- "R" is the South African rand but also R$ (BRL) and ₹ written out: None. "R$" is BRL.
- Names several currencies share are left out: "pound" (GBP, EGP, LBP...), "rupee" (INR, PKR, LKR...),
  "lei" (RON, MDL), "won" (KRW, KPW), "peso", "dollar", "crown"/"kr".
- Names are matched whole, ignoring case, spaces and a trailing dot: "Euro", "EUROS", "euro." -> EUR.
"""
from __future__ import annotations

import re
import unicodedata

from services.money import is_currency

# Labels people type for one currency. Keys are folded (see _fold); values are ISO 4217 codes.
_LABELS: dict[str, str] = {
    # euro
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "€uro": "EUR",
    # pound sterling
    "£": "GBP", "gbp": "GBP", "gb£": "GBP", "uk£": "GBP",
    "pound sterling": "GBP", "pounds sterling": "GBP", "sterling": "GBP", "stg": "GBP",
    # dollars, only where the label names the country
    "us$": "USD", "usd$": "USD", "$us": "USD", "u$s": "USD", "us dollar": "USD", "us dollars": "USD",
    "dollar us": "USD", "ca$": "CAD", "can$": "CAD", "c$": "CAD", "cad$": "CAD", "canadian dollar": "CAD",
    "a$": "AUD", "au$": "AUD", "aud$": "AUD", "australian dollar": "AUD",
    "nz$": "NZD", "nzd$": "NZD", "new zealand dollar": "NZD", "hk$": "HKD", "s$": "SGD", "sg$": "SGD",
    "mx$": "MXN", "r$": "BRL", "real": "BRL", "reais": "BRL",
    # yen and yuan: "¥" alone is both
    "jp¥": "JPY", "yen": "JPY", "円": "JPY", "cn¥": "CNY", "rmb": "CNY", "yuan": "CNY", "renminbi": "CNY",
    "元": "CNY",
    # Swiss franc
    "sfr": "CHF", "sfr.": "CHF", "swiss franc": "CHF", "swiss francs": "CHF",
    # others with a symbol or name of their own
    "₹": "INR", "₽": "RUB", "руб": "RUB", "руб.": "RUB", "₩": "KRW",
    "₺": "TRY", "tl": "TRY", "₪": "ILS", "shekel": "ILS", "₫": "VND", "₴": "UAH", "грн": "UAH",
    "₱": "PHP", "฿": "THB", "baht": "THB", "zł": "PLN", "zloty": "PLN", "złoty": "PLN", "kč": "CZK",
    "ft": "HUF", "forint": "HUF", "₦": "NGN", "naira": "NGN", "₵": "GHS", "₸": "KZT",
    "₾": "GEL", "₼": "AZN", "৳": "BDT", "₭": "LAK", "₮": "MNT", "៛": "KHR", "₲": "PYG",
}

_SPACES = re.compile(r"\s+")


def _fold(label: str) -> str:
    """NFKC (full-width ＄ -> $), case-folded, inner spaces collapsed, outer ones stripped."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", label)).strip().casefold()


def iso_currency(label: str | None) -> str | None:
    """The ISO 4217 code a Clockify currency label stands for, or None when it is ambiguous or unknown.

    Any ISO code, in any case and with spaces around it, is itself ("usd " -> "USD")."""
    if not isinstance(label, str):
        return None
    folded = _fold(label)
    if not folded or len(folded) > 100:  # Clockify allows 1-100 characters
        return None
    code = folded.upper()
    if len(code) == 3 and is_currency(code):
        return code
    return _LABELS.get(folded) or _LABELS.get(folded.rstrip(".")) or None
