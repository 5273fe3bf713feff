"""One internal model of an invoice or credit note, the single source of every figure an e-invoice carries.

Everything is a frozen dataclass with exact money (Decimal in major units, quantized to the currency's
minor unit). `build(...)` is the one place that derives line amounts, the VAT breakdown (BG-23) and the
document totals (BG-22) from the lines, following EN 16931's calculation rules (BR-CO-*):

- line net amount (BT-131) = quantity x net price, rounded half-up to the currency's minor unit;
- BT-106 = sum of line net amounts; BT-107 = sum of document-level allowances;
- BT-109 = BT-106 - BT-107; per VAT category and rate, basis = its lines - its allowances and
  VAT = basis x rate / 100 rounded half-up; BT-110 = sum of those; BT-112 = BT-109 + BT-110;
  BT-115 = BT-112 - prepaid.

Rounding to the currency: EN 16931 allows at most 2 decimals on amounts (BR-DEC-*). For a currency
whose minor unit is 0 (JPY) every amount is rounded to whole units: a whole number has fewer than two
decimals, and the rules check the VAT of a category against basis x rate with a tolerance of one unit
(BR-CO-17, BR-S-09), so 1,234.5 yen of VAT written as 1,235 passes and matches what the PDF prints and
what can be paid. Currencies with 3 decimals (KWD, BHD) cannot be expressed within BR-DEC and are refused.

This is the same arithmetic as services/money.py (`line_amount_minor`, `percent_of_minor`), so the
XML carries the same rounded figures as the page and the PDF.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum

from flask_babel import gettext as _

from services.money import is_currency, minor_digits, quantum


class DocumentType(str, Enum):
    INVOICE = "380"
    CREDIT_NOTE = "381"


class VatCategory(str, Enum):
    """UNCL5305 codes used by EN 16931 (BT-151, BT-118)."""

    STANDARD = "S"
    ZERO_RATED = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"


# What the breakdown says when the user gave no reason of their own (BR-AE-10, BR-IC-10, BR-G-10,
# BR-O-10 require a reason text or a VATEX code; E has no sensible default: the user must say why).
DEFAULT_EXEMPTION = {
    VatCategory.REVERSE_CHARGE: ("Reverse charge", "VATEX-EU-AE"),
    VatCategory.INTRA_COMMUNITY: ("Intra-community supply", "VATEX-EU-IC"),
    VatCategory.EXPORT: ("Export outside the EU", "VATEX-EU-G"),
    VatCategory.OUTSIDE_SCOPE: ("Not subject to VAT", "VATEX-EU-O"),
}
# The German small-business exemption; there is no VATEX code for it, the text is what the law asks.
SMALL_BUSINESS_DE = "Kein Ausweis von Umsatzsteuer, da Kleinunternehmer gemäß § 19 UStG"
NEEDS_REASON = frozenset({VatCategory.EXEMPT, *DEFAULT_EXEMPTION})
ZERO_RATE_CATEGORIES = frozenset(VatCategory) - {VatCategory.STANDARD}

HOUR = "HUR"  # UN/ECE Recommendation 20 unit code for hours
ONE = "C62"  # "one" (a unit without dimension)
DISCOUNT_REASON_CODE = "95"  # UNCL5189: discount
SEPA_CREDIT_TRANSFER = "58"  # UNCL4461


@dataclass(frozen=True)
class Address:
    lines: tuple[str, ...] = ()  # street and number first, up to three lines
    postcode: str = ""
    city: str = ""
    country: str = ""  # ISO 3166-1 alpha-2
    subdivision: str = ""


@dataclass(frozen=True)
class Contact:
    name: str = ""
    phone: str = ""
    email: str = ""


@dataclass(frozen=True)
class ElectronicAddress:
    """A Peppol endpoint: e.g. scheme 0208 (Belgian enterprise number), 9930 (German VAT), EM (email)."""

    scheme: str
    value: str


@dataclass(frozen=True)
class Party:
    name: str
    address: Address = Address()
    vat_id: str = ""  # BT-31 / BT-48, with its country prefix
    tax_number: str = ""  # BT-32 (seller only), e.g. a German Steuernummer
    registration_id: str = ""  # BT-30 / BT-47, e.g. a company register number
    contact: Contact = Contact()
    electronic_address: ElectronicAddress | None = None


@dataclass(frozen=True)
class Line:
    id: str
    description: str
    quantity: Decimal
    price: Decimal  # net price per unit, major units, may have more decimals than the currency
    vat_category: VatCategory = VatCategory.STANDARD
    vat_rate: Decimal = Decimal(0)
    unit_code: str = HOUR
    exemption_reason: str = ""
    exemption_code: str = ""
    net_amount: Decimal | None = None  # filled in by build()


@dataclass(frozen=True)
class Allowance:
    """A document-level allowance (a discount), attributed to one VAT category and rate (BG-20)."""

    amount: Decimal
    vat_category: VatCategory = VatCategory.STANDARD
    vat_rate: Decimal = Decimal(0)
    reason: str = "Discount"


@dataclass(frozen=True)
class PaymentInstructions:
    iban: str
    bic: str = ""
    account_name: str = ""
    remittance: str = ""  # BT-83; build() uses the document number when empty
    means_code: str = SEPA_CREDIT_TRANSFER


@dataclass(frozen=True)
class InvoiceReference:
    """The invoice a credit note corrects (BG-3)."""

    number: str
    issue_date: dt.date | None = None


@dataclass(frozen=True)
class VatBreakdown:
    category: VatCategory
    rate: Decimal
    basis: Decimal  # BT-116
    tax: Decimal  # BT-117
    exemption_reason: str = ""  # BT-120
    exemption_code: str = ""  # BT-121


@dataclass(frozen=True)
class Totals:
    line_total: Decimal  # BT-106
    allowance_total: Decimal  # BT-107
    tax_basis: Decimal  # BT-109
    tax_total: Decimal  # BT-110
    grand_total: Decimal  # BT-112
    prepaid: Decimal  # BT-113
    due: Decimal  # BT-115


@dataclass(frozen=True)
class Document:
    type: DocumentType
    number: str
    issue_date: dt.date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[Line, ...]
    breakdown: tuple[VatBreakdown, ...]
    totals: Totals
    due_date: dt.date | None = None
    buyer_reference: str = ""
    notes: tuple[str, ...] = ()
    allowances: tuple[Allowance, ...] = ()
    payment: PaymentInstructions | None = None
    payment_terms: str = ""
    corrects: InvoiceReference | None = None
    period_start: dt.date | None = None
    period_end: dt.date | None = None
    delivery_date: dt.date | None = None

    @property
    def is_credit_note(self) -> bool:
        return self.type is DocumentType.CREDIT_NOTE

    @property
    def categories(self) -> frozenset[VatCategory]:
        return frozenset(b.category for b in self.breakdown)

    @property
    def carries_vat_ids(self) -> bool:
        """BR-O-02..04: an invoice wholly outside the scope of VAT carries no VAT ids at all."""
        return self.categories != {VatCategory.OUTSIDE_SCOPE}


@cache
def _quantum(currency: str) -> Decimal:
    return quantum(currency)  # Babel looks the precision up on every call: once per currency here


def round_money(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


def _rate(category: VatCategory, rate: Decimal) -> Decimal:
    # Every category but S carries a rate of 0 (BR-Z-05, BR-E-05, BR-AE-05, BR-IC-05, BR-G-05; O has
    # none on its lines and 0 in the breakdown, which XRechnung's BR-DE-14 asks for).
    return Decimal(0) if category in ZERO_RATE_CATEGORIES else Decimal(rate).normalize()


def build(
    *,
    number: str,
    issue_date: dt.date,
    currency: str,
    seller: Party,
    buyer: Party,
    lines: Iterable[Line],
    type: DocumentType = DocumentType.INVOICE,
    due_date: dt.date | None = None,
    buyer_reference: str = "",
    notes: Iterable[str] = (),
    allowances: Iterable[Allowance] = (),
    payment: PaymentInstructions | None = None,
    payment_terms: str = "",
    corrects: InvoiceReference | None = None,
    prepaid: Decimal = Decimal(0),
    period_start: dt.date | None = None,
    period_end: dt.date | None = None,
    delivery_date: dt.date | None = None,
) -> Document:
    """The document with its line amounts, VAT breakdown and totals derived from the lines."""
    if not is_currency(currency):
        raise ValueError(_("%(currency)s is not an ISO 4217 currency", currency=repr(currency)))
    if minor_digits(currency) > 2:
        raise ValueError(_("%(currency)s has %(digits)s decimals; EN 16931 allows at most 2", currency=currency,
                           digits=minor_digits(currency)))
    money = lambda amount: round_money(Decimal(amount), currency)  # noqa: E731

    priced = []
    for line in lines:  # a Line made field by field: dataclasses.replace costs twice as much, per line
        category = line.vat_category if isinstance(line.vat_category, VatCategory) else VatCategory(line.vat_category)
        priced.append(Line(line.id, line.description, line.quantity, line.price, category,
                           _rate(category, line.vat_rate), line.unit_code, line.exemption_reason,
                           line.exemption_code, money(line.quantity * line.price)))
    if not priced:
        raise ValueError(_("an invoice needs at least one line"))
    allowances = tuple(
        replace(a, amount=money(a.amount), vat_category=VatCategory(a.vat_category),
                vat_rate=_rate(VatCategory(a.vat_category), a.vat_rate))
        for a in allowances
    )

    groups: dict[tuple[VatCategory, Decimal], dict] = {}
    for line in priced:
        group = groups.setdefault((line.vat_category, line.vat_rate), {"basis": Decimal(0), "reason": "", "code": ""})
        group["basis"] += line.net_amount
        group["reason"] = group["reason"] or line.exemption_reason
        group["code"] = group["code"] or line.exemption_code
    for allowance in allowances:
        key = (allowance.vat_category, allowance.vat_rate)
        if key not in groups:
            raise ValueError(_("the discount's VAT category %(category)s %(rate)s%% has no line", category=key[0].value,
                               rate=key[1]))
        groups[key]["basis"] -= allowance.amount

    breakdown = []
    for (category, rate), group in groups.items():
        reason, code = group["reason"], group["code"]
        if not reason and not code and category in DEFAULT_EXEMPTION:
            reason, code = DEFAULT_EXEMPTION[category]
        breakdown.append(VatBreakdown(
            category=category, rate=rate, basis=group["basis"],
            tax=money(group["basis"] * rate / 100), exemption_reason=reason, exemption_code=code,
        ))

    line_total = sum((line.net_amount for line in priced), Decimal(0))
    allowance_total = sum((a.amount for a in allowances), Decimal(0))
    tax_basis = line_total - allowance_total
    tax_total = sum((b.tax for b in breakdown), Decimal(0))
    grand_total = tax_basis + tax_total
    prepaid = money(prepaid)
    totals = Totals(
        line_total=money(line_total), allowance_total=money(allowance_total), tax_basis=money(tax_basis),
        tax_total=money(tax_total), grand_total=money(grand_total), prepaid=prepaid,
        due=money(grand_total - prepaid),
    )
    if payment is not None and not payment.remittance:
        payment = replace(payment, remittance=number)
    return Document(
        type=DocumentType(type), number=number, issue_date=issue_date, currency=currency,
        seller=seller, buyer=buyer, lines=tuple(priced), breakdown=tuple(breakdown), totals=totals,
        due_date=due_date, buyer_reference=buyer_reference, notes=tuple(n for n in notes if n),
        allowances=allowances, payment=payment, payment_terms=payment_terms, corrects=corrects,
        period_start=period_start, period_end=period_end, delivery_date=delivery_date,
    )


def prorate_allowance(amount: Decimal, lines: Iterable[Line], currency: str) -> tuple[Allowance, ...]:
    """One document discount split over the lines' VAT categories and rates in proportion to their
    net amounts, the last group taking the rounding remainder so the parts add up to the discount."""
    bases: dict[tuple[VatCategory, Decimal], Decimal] = {}
    for line in lines:
        category = VatCategory(line.vat_category)
        key = (category, _rate(category, line.vat_rate))
        bases[key] = bases.get(key, Decimal(0)) + round_money(line.quantity * line.price, currency)
    total = sum(bases.values(), Decimal(0))
    amount = round_money(amount, currency)
    if not amount or not total:
        return ()
    parts, left = [], amount
    for i, ((category, rate), basis) in enumerate(bases.items()):
        part = left if i == len(bases) - 1 else round_money(amount * basis / total, currency)
        left -= part
        if part:
            parts.append(Allowance(amount=part, vat_category=category, vat_rate=rate))
    return tuple(parts)


__all__ = [
    "Address", "Allowance", "Contact", "Document", "DocumentType", "ElectronicAddress", "InvoiceReference",
    "Line", "Party", "PaymentInstructions", "Totals", "VatBreakdown", "VatCategory", "build",
    "prorate_allowance", "round_money", "DEFAULT_EXEMPTION", "SMALL_BUSINESS_DE", "HOUR", "ONE",
]
