"""What the printed invoice shows, wherever it is shown (the print page, the PDF, the customer's view
page): one context for templates/invoices/_document.html, rendered in the customer's language.

`in_language(invoice)` is the one place a document's language is chosen: Flask-Babel's catalogue of the
customer's invoice language (translations/), and its dates and money formats (the template filters read
g.document_locale). The app's own screens stay in English around it."""
from __future__ import annotations

from contextlib import contextmanager
from functools import cache

from babel import Locale, UnknownLocaleError
from babel.localedata import locale_identifiers
from flask import current_app, g, render_template
from flask_babel import force_locale, lazy_gettext as _l

from extensions import db
from models import INVOICE_LANGUAGES, Business, Invoice
from services import invoicing, logo, payment_details, payments
from services.einvoice.model import SMALL_BUSINESS_DE

# Exemption texts the law words for us, stored as the XML must say them (services.einvoice.model), and
# printed in the document's language.
REASONS = {SMALL_BUSINESS_DE: _l("VAT exempt: small business under § 19 UStG (Kleinunternehmerregelung)")}


def vat_reason(text: str) -> str:
    """An exemption reason as the document prints it: the legal wording in its language, else as typed."""
    return str(REASONS[text]) if text in REASONS else text


@cache
def _known_locales() -> frozenset[str]:
    return frozenset(locale_identifiers())


def locale(invoice: Invoice) -> str:
    """How the invoice's documents are written: the customer's invoice language with the formats of the
    customer's country where Babel knows that pair (fr_BE, de_AT), else the app's locale when it is of
    that language (en_US), else the language's own (de: 30.11.2026 and 1.234,50 €)."""
    language = invoice.customer.invoice_language or "en"
    for candidate in (f"{language}_{(invoice.customer.country or '').upper()}", current_app.config["HOURBILL_LOCALE"]):
        if candidate.split("_")[0] == language and candidate in _known_locales():
            return candidate
    return language


def default_language(business: Business) -> str:
    """A new customer's invoice language: the one most spoken in the business's country when Hourbill has
    it (DE, AT -> de; FR, LU -> fr), else English."""
    try:
        language = Locale.parse(f"und_{business.country}").language if business.country else "en"
    except (ValueError, UnknownLocaleError):
        language = "en"
    return language if language in INVOICE_LANGUAGES else "en"


@contextmanager
def in_language(invoice: Invoice):
    """Render or compose inside this block to write in the invoice's language; yields its locale."""
    shown, outer = locale(invoice), g.get("document_locale")
    g.document_locale = shown
    try:
        with force_locale(shown):
            yield shown
    finally:
        g.document_locale = outer


def context(invoice: Invoice) -> dict:
    totals, parties = invoicing.totals(invoice), invoicing.parties(invoice)
    business = db.session.get(Business, invoice.business_id)
    # The QR code asks for what is still due: the total of a draft, the balance of a sent invoice.
    due = totals.total if invoice.total_minor is None else payments.balance_minor(invoice)  # (no second totals())
    payment = payment_details.for_invoice(number=invoice.number, currency=invoice.currency,
                                          amount_due_minor=due, status=invoice.status,
                                          sender=parties["sender"])
    return {"invoice": invoice, "totals": totals, "parties": parties, "payment": payment,
            "logo": logo.data_uri(business.logo, business.logo_type), "language": invoice.customer.invoice_language}


def render(invoice: Invoice, template: str = "invoices/print.html", **extra) -> str:
    """The page of the document (print view, PDF, the customer's view page) in the customer's language."""
    with in_language(invoice):
        return render_template(template, **context(invoice), **extra)


def pdf_name(invoice: Invoice) -> str:
    return f"{'credit-note' if invoice.is_credit_note else 'invoice'}-{invoice.number or f'draft-{invoice.id}'}.pdf"


def pdf(invoice: Invoice, pdf_variant: str | None = None) -> bytes:
    """The invoice's PDF, wherever it is asked for (the invoice page, the mail, the customer's link);
    pdf_variant "pdf/a-3b" for the PDF a Factur-X embeds its XML into.
    Raises services.pdf.TooManyLines, before any work, past HOURBILL_PDF_MAX_LINES."""
    from services.pdf import check_length, html_to_pdf  # WeasyPrint is slow to import: only when a PDF is made

    check_length(len(invoice.lines), current_app.config["HOURBILL_PDF_MAX_LINES"])
    return html_to_pdf(render(invoice, pdf=True), current_app.static_folder, pdf_variant)
