"""The official rules as a judge: run the vendored EN 16931 and XRechnung stylesheets on our XML, and
say what is missing in plain words.

`validate(xml, stylesheet)` returns the failed asserts of one rule set. `check(doc, format)` is the
pre-flight the app shows on a draft: a few fast checks of our own (valid VAT ids, IBAN, country codes,
what a format needs), then the official rules on the rendered XML, each problem naming the field the
user must fill, never a rule id alone.

SaxonC: one processor per process; each stylesheet is compiled on first use and kept (compiling the
EN 16931 one takes most of a second). Saxon calls go through one lock: a compiled executable is not
documented as safe to share between threads, and on our small hosts the lock costs nothing.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from babel import Locale
from flask_babel import gettext as _, lazy_gettext as _l
from lxml import etree
from stdnum import bic as stdnum_bic, ean, get_cc_module, iban as stdnum_iban
from stdnum.be import vat as be_vat
from stdnum.dk import cvr as dk_cvr
from stdnum.eu import vat as eu_vat
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr
from stdnum.exceptions import ValidationError

from . import cii, ubl
from .model import Document, VatCategory

RULES = Path(__file__).with_name("rules")
SVRL = "{http://purl.oclc.org/dsdl/svrl}"


class Format(str, Enum):
    FACTURX = "facturx"  # Factur-X / ZUGFeRD, profile EN 16931 (CII inside a PDF/A-3)
    XRECHNUNG_CII = "xrechnung-cii"
    XRECHNUNG_UBL = "xrechnung-ubl"
    PEPPOL = "peppol"  # Peppol BIS Billing 3.0 (UBL)


STYLESHEETS = {
    Format.FACTURX: ("EN16931-CII-validation.xslt",),
    Format.XRECHNUNG_CII: ("EN16931-CII-validation.xslt", "XRechnung-CII-validation.xslt"),
    Format.XRECHNUNG_UBL: ("EN16931-UBL-validation.xslt", "XRechnung-UBL-validation.xslt"),
    # The Peppol BIS rules themselves are not vendored: EN 16931 plus our own endpoint checks.
    Format.PEPPOL: ("EN16931-UBL-validation.xslt",),
}


def render(doc: Document, format: Format) -> bytes:
    format = Format(format)
    if format is Format.FACTURX:
        return cii.render(doc)
    if format is Format.XRECHNUNG_CII:
        return cii.render(doc, xrechnung=True)
    return ubl.render(doc, peppol=format is Format.PEPPOL)


@dataclass(frozen=True)
class FailedAssert:
    id: str
    flag: str  # fatal, error, warning, information
    location: str
    text: str

    @property
    def blocks(self) -> bool:
        return self.flag in ("fatal", "error")


@dataclass(frozen=True)
class Problem:
    field: str  # where the user fixes it: "customer.buyer_reference", "profile.iban", "line.3.vat" ...
    message: str  # plain words, what to do
    rule: str = ""  # the official rule id, for the log and the curious; never shown alone


# --- running the rules -----------------------------------------------------------------------------

_lock = threading.Lock()
_processor = None
_compiled: dict[str, object] = {}


def _executable(name: str):
    global _processor
    if name not in _compiled:
        from saxonche import PySaxonProcessor  # imported late: the JVM-free library is big

        if _processor is None:
            _processor = PySaxonProcessor(license=False)
        compiled = _processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(RULES / name))
        if compiled is None:
            raise RuntimeError(f"the rules in {name} did not compile")
        _compiled[name] = compiled
    return _compiled[name]


def compile_all() -> None:
    """Compile every stylesheet now (at start-up or in a test session), not on the first pre-flight."""
    with _lock:
        for names in STYLESHEETS.values():
            for name in names:
                _executable(name)


def validate(xml: bytes, stylesheet: str) -> list[FailedAssert]:
    """The failed asserts of one vendored stylesheet on one document (every flag)."""
    with _lock:
        executable = _executable(stylesheet)
        node = _processor.parse_xml(xml_text=xml.decode("utf-8"))
        report = executable.transform_to_string(xdm_node=node)
    svrl = etree.fromstring(report.encode("utf-8"))
    return [
        FailedAssert(
            id=element.get("id", ""), flag=element.get("flag", "error"), location=element.get("location", ""),
            text=" ".join("".join(element.find(f"{SVRL}text").itertext()).split()) if element.find(f"{SVRL}text") is not None else "",
        )
        for element in svrl.iter(f"{SVRL}failed-assert")
    ]


def validate_format(xml: bytes, format: Format) -> list[FailedAssert]:
    return [failed for name in STYLESHEETS[Format(format)] for failed in validate(xml, name)]


# --- plain words -----------------------------------------------------------------------------------

_SELLER_VAT = ("profile.vat_id", _l("Your business profile needs a VAT id (or, for exempt and small-business invoices, a tax number): add it in Settings."))
_SELLER_CONTACT = ("profile.contact", _l("XRechnung needs a contact person with phone and email on your business profile: add them in Settings."))
PLAIN_WORDS: dict[str, tuple[str, str]] = {
    "BR-DE-15": ("customer.buyer_reference", _l("The customer needs a buyer reference (Leitweg-ID) for XRechnung: add it on the customer.")),
    "BR-DE-1": ("profile.iban", _l("XRechnung needs payment instructions: add your bank account (IBAN) in Settings.")),
    "BR-DE-23-a": ("profile.iban", _l("Bank transfer needs your IBAN: add it in Settings.")),
    "BR-DE-19": ("profile.iban", _l("The IBAN on your business profile is not a valid IBAN: check it in Settings.")),
    "BR-DE-2": _SELLER_CONTACT,
    "BR-DE-5": ("profile.contact_name", _l("XRechnung needs a contact name on your business profile: add it in Settings.")),
    "BR-DE-6": ("profile.contact_phone", _l("XRechnung needs a contact phone number on your business profile: add it in Settings.")),
    "BR-DE-27": ("profile.contact_phone", _l("The contact phone number on your business profile needs at least three digits.")),
    "BR-DE-7": ("profile.contact_email", _l("XRechnung needs a contact email on your business profile: add it in Settings.")),
    "BR-DE-28": ("profile.contact_email", _l("The contact email on your business profile does not look like an email address.")),
    "BR-DE-3": ("profile.city", _l("Your business address needs a city: add it in Settings.")),
    "BR-DE-4": ("profile.postcode", _l("Your business address needs a postcode: add it in Settings.")),
    "BR-DE-8": ("customer.city", _l("The customer's address needs a city: add it on the customer.")),
    "BR-DE-9": ("customer.postcode", _l("The customer's address needs a postcode: add it on the customer.")),
    "BR-DE-16": _SELLER_VAT,
    "BR-06": ("profile.name", _l("Your business profile needs its legal name: add it in Settings.")),
    "BR-07": ("customer.name", _l("The customer needs a name.")),
    "BR-08": ("profile.address", _l("Your business profile needs a postal address: add it in Settings.")),
    "BR-09": ("profile.country", _l("Your business address needs a country: choose it in Settings.")),
    "BR-10": ("customer.address", _l("The customer needs a postal address: add it on the customer.")),
    "BR-11": ("customer.country", _l("The customer's address needs a country: choose it on the customer.")),
    "BR-CO-26": ("profile.vat_id", _l("Your business profile needs a VAT id or a company registration number: add one in Settings.")),
    "BR-CO-25": ("invoice.due_date", _l("Give the invoice a due date or payment terms.")),
    "BR-CO-09": ("profile.vat_id", _l("A VAT id must start with its country's two-letter prefix (for example DE or BE): check the VAT ids of your profile and the customer.")),
    "BR-S-02": _SELLER_VAT, "BR-Z-02": _SELLER_VAT, "BR-E-02": _SELLER_VAT, "BR-G-02": _SELLER_VAT,
    **dict.fromkeys(("BR-AE-02", "BR-AE-03", "BR-AE-04"), (
        "customer.vat_id", _l("Reverse charge needs the customer's VAT id (and yours): add it on the customer."))),
    "BR-IC-02": ("customer.vat_id", _l("An intra-community supply needs the customer's VAT id and yours: add them.")),
    "BR-IC-11": ("invoice.period", _l("An intra-community supply needs the delivery date or the service period on the invoice.")),
    "BR-E-10": ("line.vat_exemption", _l("An exempt line needs the reason for the exemption (for example § 19 UStG): add it on the line.")),
    "BR-62": ("profile.electronic_address", _l("Your electronic address needs its scheme (for example 0208 or 9930): choose it in Settings.")),
    "BR-63": ("customer.electronic_address", _l("The customer's electronic address needs its scheme: choose it on the customer.")),
    "BR-CL-14": ("customer.country", _l("A country is not a valid ISO 3166 code: choose it from the list.")),
    "BR-CL-25": ("customer.electronic_address", _l("An electronic address has an unknown scheme: choose one from the list.")),
    "BR-CL-23": ("line.unit", _l("A line has an unknown unit of measure.")),
    "BR-16": ("invoice.lines", _l("The invoice needs at least one line.")),
    "BR-S-05": ("line.vat", _l("A standard-rate line needs a VAT rate above 0: set the invoice's tax rate, or choose another VAT treatment (zero rated, exempt, outside the scope ...).")),
    **dict.fromkeys(("BR-O-02", "BR-O-03", "BR-O-04", "BR-O-11", "BR-O-12", "BR-O-13", "BR-O-14"), (
        "line.vat", _l("Outside the scope of VAT cannot be mixed with other VAT treatments on one invoice: put those lines on an invoice of their own."))),
}


def plain_words(failed: FailedAssert) -> Problem:
    """A failed assert as a problem the user can fix: our words where we have them, else the rule's own."""
    if failed.id in PLAIN_WORDS:
        field, message = PLAIN_WORDS[failed.id]
    else:
        # Not one we have words for: the rule's own sentence, without its id prefix, still readable.
        text = re.sub(r"^\[[^\]]+\]\s*-?\s*", "", failed.text)
        field, message = "invoice", _("The e-invoice would be refused: %(text)s", text=text)
    return Problem(field=field, message=str(message), rule=failed.id)


# --- our own fast checks ---------------------------------------------------------------------------

def _official_countries() -> frozenset[str]:
    """The country codes BR-CL-14 accepts, read from the vendored rules themselves (CLDR, and so Babel,
    also knows regions that are no country: ZZ "Unknown Region", EU, UN, QO ...)."""
    text = (RULES / "EN16931-CII-validation.xslt").read_text(encoding="utf-8")
    listed = re.search(r'match="ram:CountryID".*?contains\(\' ([A-Z0-9 ]+) \'', text, re.S)
    return frozenset(listed.group(1).split())


_COUNTRIES = frozenset(code for code in Locale("en").territories
                       if len(code) == 2 and code.isalpha()) & _official_countries()
# The electronic address schemes (EAS) users meet; the full code list is long, these cover the EU.
ENDPOINT_SCHEMES = {
    "0002", "0007", "0009", "0037", "0060", "0088", "0096", "0097", "0106", "0130", "0135", "0142", "0151",
    "0183", "0184", "0188", "0190", "0191", "0192", "0193", "0195", "0196", "0198", "0199", "0200",
    "0201", "0204", "0208", "0209", "0210", "0211", "0212", "0213", "0215", "0216", "0221", "0230",
    "9901", "9910", "9913", "9914", "9915", "9918", "9919", "9920", "9922", "9923", "9924", "9925",
    "9926", "9927", "9928", "9929", "9930", "9931", "9932", "9933", "9934", "9935", "9936", "9937",
    "9938", "9939", "9940", "9941", "9942", "9943", "9944", "9945", "9946", "9947", "9948", "9949",
    "9950", "9951", "9952", "9953", "9957", "9959", "EM",
}


def is_country(code: str) -> bool:
    return code in _COUNTRIES


def vat_id_problem(vat_id: str) -> str | None:
    """Why a VAT id is not valid (None when it is): checked per country with python-stdnum, by its prefix
    (EU member states, and the other countries stdnum knows: GB, CH, NO ...)."""
    prefix = vat_id.strip()[:2].lower()
    module = eu_vat if prefix in eu_vat.MEMBER_STATES else get_cc_module(prefix, "vat") if prefix.isalpha() else None
    if module is None:
        return _("%(vat_id)s does not start with a known country prefix (for example DE, FR, BE).", vat_id=repr(vat_id))
    try:
        module.validate(vat_id)
    except ValidationError as error:
        return _("%(vat_id)s is not a valid VAT id (%(why)s).", vat_id=repr(vat_id), why=error.message.rstrip('.').lower())
    return None


# Endpoint ids we can check digit by digit (the others are checked for presence and scheme only).
_ENDPOINT_CHECKS = {
    "0208": lambda value: be_vat.is_valid("BE" + value),  # Belgian enterprise number
    "9925": be_vat.is_valid,
    "9930": lambda value: eu_vat.is_valid(value if value[:2].upper() == "DE" else "DE" + value),
    "0088": ean.is_valid,  # GLN
    "0184": dk_cvr.is_valid,
    "0192": no_orgnr.is_valid,
    "0007": se_orgnr.is_valid,
    "EM": lambda value: "@" in value.strip(" @"),
}


def endpoint_problem(address) -> str | None:
    if address.scheme not in ENDPOINT_SCHEMES:
        return _("The electronic address scheme %(scheme)s is not one Peppol knows", scheme=repr(address.scheme))
    check_value = _ENDPOINT_CHECKS.get(address.scheme)
    if not address.value.strip() or (check_value and not check_value(address.value.strip())):
        return _("%(value)s is not a valid electronic address for scheme %(scheme)s", value=repr(address.value),
                 scheme=address.scheme)
    return None


def _own_checks(doc: Document, format: Format) -> list[Problem]:
    problems: list[Problem] = []
    add = lambda field, message: problems.append(Problem(field, str(message)))  # noqa: E731
    for who, party, where in (("profile", doc.seller, _("in Settings")), ("customer", doc.buyer, _("on the customer"))):
        if not party.name.strip():
            add(f"{who}.name", _("Add the business's legal name %(where)s.", where=where) if who == "profile"
                else _("Add the customer's legal name %(where)s.", where=where))
        if not party.address.country:
            add(f"{who}.country", _("Choose the country of the business's address %(where)s.", where=where)
                if who == "profile" else _("Choose the country of the customer's address %(where)s.", where=where))
        elif not is_country(party.address.country):
            add(f"{who}.country", _("%(country)s is not a country code: choose the country from the list %(where)s.",
                                   country=repr(party.address.country), where=where))
        if party.vat_id and (reason := vat_id_problem(party.vat_id)):
            add(f"{who}.vat_id", _("%(reason)s Check it %(where)s.", reason=reason, where=where))
        if party.electronic_address and (reason := endpoint_problem(party.electronic_address)):
            add(f"{who}.electronic_address", _("%(reason)s: check it %(where)s.", reason=reason, where=where))
    if doc.payment:
        if not stdnum_iban.is_valid(doc.payment.iban):
            add("profile.iban", _("The IBAN on your business profile is not valid: check it in Settings."))
        if doc.payment.bic and not stdnum_bic.is_valid(doc.payment.bic):
            add("profile.bic", _("The BIC on your business profile is not valid: check it in Settings."))
    categories = doc.categories
    if categories & {VatCategory.REVERSE_CHARGE, VatCategory.INTRA_COMMUNITY} and not doc.buyer.vat_id:
        add("customer.vat_id", _("Reverse charge and intra-community supplies need the customer's VAT id: add it on the customer."))
    if categories - {VatCategory.OUTSIDE_SCOPE} and not (doc.seller.vat_id or doc.seller.tax_number):
        add("profile.vat_id", _SELLER_VAT[1])
    for group in doc.breakdown:
        if group.category is VatCategory.EXEMPT and not (group.exemption_reason or group.exemption_code):
            add("line.vat_exemption", _("An exempt line needs the reason for the exemption (for example § 19 UStG): add it on the line."))
    if format in (Format.XRECHNUNG_CII, Format.XRECHNUNG_UBL):
        if not doc.buyer_reference:
            add("customer.buyer_reference", PLAIN_WORDS["BR-DE-15"][1])
        contact = doc.seller.contact
        if not (contact.name and contact.phone and contact.email):
            add("profile.contact", _SELLER_CONTACT[1])
        if not doc.payment:
            add("profile.iban", PLAIN_WORDS["BR-DE-1"][1])
    if format is Format.PEPPOL:
        for who, party, where in (("profile", doc.seller, _("in Settings")), ("customer", doc.buyer, _("on the customer"))):
            if not party.electronic_address:
                add(f"{who}.electronic_address", _("Peppol needs the business's electronic address (Peppol endpoint id and scheme): add it %(where)s.", where=where)
                    if who == "profile" else _("Peppol needs the customer's electronic address (Peppol endpoint id and scheme): add it %(where)s.", where=where))
    return problems


def check(doc: Document, format: Format) -> list[Problem]:
    """What stops this document from passing the rules of this format, in plain words (empty: it passes).

    Our own checks first; then the official rules on the rendered XML, each fatal or error assert
    turned into a problem, without repeating a field our own checks already named."""
    format = Format(format)
    problems = _own_checks(doc, format)
    seen = {problem.field for problem in problems}
    for failed in validate_format(render(doc, format), format):
        if not failed.blocks:
            continue
        problem = plain_words(failed)
        if problem.field in seen and problem.field != "invoice":
            continue
        if any(p.message == problem.message for p in problems):
            continue
        seen.add(problem.field)
        problems.append(problem)
    return problems
