"""An invoice row -> the engine's model (services/einvoice/model.py), and what the app asks of it: the
pre-flight for the customer's preferred format, sending that refuses a draft the format would refuse,
the XML of each format and the Factur-X PDF.

The figures are the invoice's own integers: the lines' prices and quantities, and the discount split
over the VAT groups exactly as services.invoicing.totals splits it, so the XML, the page and the PDF
agree to the cent. Who the invoice is from and to is read from the snapshot taken when it was sent
(invoice.parties["einvoice"]), so a later edit of the profile or the customer changes no sent invoice.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from extensions import db
from models import Business, Customer, Invoice
from services import invoicing
from services.money import from_minor, minor_digits

from . import facturx, model, rules
from .rules import Format, Problem

FORMAT_NAMES = {
    Format.FACTURX: "Factur-X (EN 16931)",
    Format.XRECHNUNG_CII: "XRechnung 3.0 (CII)",
    Format.XRECHNUNG_UBL: "XRechnung 3.0 (UBL)",
    Format.PEPPOL: "Peppol BIS Billing 3.0",
}
# models.PartyDetails, as the snapshot keeps it.
PARTY_COLUMNS = ("name", "address_line1", "address_line2", "postcode", "city", "country", "vat_id", "tax_number",
                 "registration_id", "contact_name", "contact_phone", "contact_email", "endpoint_scheme",
                 "endpoint_id")
# The payment details live on the business profile (the PDF's payment section); read when present.
PAYMENT_COLUMNS = ("iban", "bic", "bank_account_holder")

# A line's unit as people type it -> UN/ECE Recommendation 20 (anything else counts as "one").
UNIT_CODES = {unit: model.HOUR for unit in ("h", "hr", "hrs", "hour", "hours", "std", "std.", "stunde", "stunden",
                                            "heure", "heures")}
UNIT_CODES |= {unit: "DAY" for unit in ("d", "day", "days", "tag", "tage", "jour", "jours")}
UNIT_CODES |= {unit: "MON" for unit in ("mo", "month", "months", "monat", "monate", "mois")}


def seller_details(business: Business) -> dict:
    return {column: getattr(business, column) or "" for column in PARTY_COLUMNS} | {
        column: getattr(business, column, "") or "" for column in PAYMENT_COLUMNS} | {"email": business.email}


def buyer_details(customer: Customer) -> dict:
    return {column: getattr(customer, column) or "" for column in PARTY_COLUMNS} | {
        "email": customer.email, "buyer_reference": customer.buyer_reference}


def details(invoice: Invoice) -> dict:
    """{"seller": ..., "buyer": ...}: as sent, or for a draft the profile and customer as they are now."""
    if invoice.parties and "einvoice" in invoice.parties:
        return invoice.parties["einvoice"]
    return {"seller": seller_details(db.session.get(Business, invoice.business_id)),
            "buyer": buyer_details(invoice.customer)}


def _party(values: dict) -> model.Party:
    endpoint = None
    if values["endpoint_id"] or values["endpoint_scheme"]:
        endpoint = model.ElectronicAddress(values["endpoint_scheme"], values["endpoint_id"])
    return model.Party(
        name=values["name"],
        address=model.Address(tuple(line for line in (values["address_line1"], values["address_line2"]) if line),
                              values["postcode"], values["city"], values["country"]),
        vat_id=values["vat_id"], tax_number=values["tax_number"], registration_id=values["registration_id"],
        contact=model.Contact(values["contact_name"], values["contact_phone"],
                              values["contact_email"] or values.get("email", "")),
        electronic_address=endpoint,
    )


def document(invoice: Invoice) -> model.Document:
    """The invoice as the engine's model (a draft is numbered DRAFT-<id> for the pre-flight)."""
    parties = details(invoice)
    seller, buyer = parties["seller"], parties["buyer"]
    currency = invoice.currency
    places = -minor_digits(currency)  # from_minor per line, with the precision looked up once
    lines = []
    for line in invoice.lines:
        category, rate, reason = invoicing.line_vat(invoice, line)
        lines.append(model.Line(
            id=str(line.position), description=line.description or "-", quantity=line.quantity,
            price=Decimal(line.rate_minor).scaleb(places), vat_category=model.VatCategory(category), vat_rate=rate,
            unit_code=UNIT_CODES.get(line.unit.strip().lower(), model.ONE), exemption_reason=reason))
    totals = invoicing.totals(invoice)
    allowances = [model.Allowance(amount=from_minor(group.discount, currency),
                                  vat_category=model.VatCategory(group.category), vat_rate=group.rate)
                  for group in totals.breakdown if group.discount]
    payment = None
    if seller.get("iban"):
        payment = model.PaymentInstructions(iban=seller["iban"].replace(" ", ""), bic=seller.get("bic", ""),
                                            account_name=seller.get("bank_account_holder") or seller["name"])
    intra_community = any(group.category == "K" for group in totals.breakdown)
    corrected = invoice.corrects if invoice.is_credit_note else None  # a credit note names its invoice (BT-25)
    return model.build(
        type=model.DocumentType.CREDIT_NOTE if corrected else model.DocumentType.INVOICE,
        corrects=model.InvoiceReference(corrected.number, corrected.issue_date) if corrected else None,
        number=invoice.number or f"DRAFT-{invoice.id}", issue_date=invoice.issue_date, currency=currency,
        seller=_party(seller), buyer=_party(buyer), lines=lines, due_date=invoice.due_date,
        buyer_reference=buyer.get("buyer_reference", ""), notes=[invoice.notes] if invoice.notes else [],
        allowances=allowances, payment=payment,
        payment_terms=f"Payment due by {invoice.due_date.isoformat()}",
        # An intra-community supply must say when it was supplied (BR-IC-11): the issue date.
        delivery_date=invoice.issue_date if intra_community else None,
    )


def preferred_format(invoice: Invoice) -> Format | None:
    chosen = invoice.customer.einvoice_format
    return None if chosen in (None, "", "none") else Format(chosen)


def problems(invoice: Invoice, format: Format) -> list[Problem]:
    """What stops the invoice from passing the official rules of `format`, in plain words ([] when it
    passes). An invoice the model cannot even build (no lines, a three-decimal currency) says why."""
    if not invoice.lines:
        return [Problem("invoice.lines", _("The invoice needs at least one line."))]
    try:
        doc = document(invoice)
    except ValueError as error:
        return [Problem("invoice", _("This invoice cannot be an e-invoice: %(error)s.", error=error))]
    return rules.check(doc, format)


def mark_sent(invoice: Invoice) -> None:
    """services.invoicing.mark_sent, refused while the customer's preferred e-invoice format would fail
    (the message lists what to fix), and sealing who the e-invoice is from and to with the snapshot."""
    if invoice.is_draft:  # checked under the draft's lock, on the lines as they are now
        invoicing.lock_draft(invoice)
    format = preferred_format(invoice)
    if format is not None and invoice.is_draft and (found := problems(invoice, format)):
        raise invoicing.InvoiceStateError(
            _("This invoice cannot be sent yet: %(name)s takes %(format)s e-invoices, and that format needs: %(problems)s "
              "Fix these (the checklist on the draft links to each), or change the customer's e-invoice format.",
              name=invoice.customer.name, format=FORMAT_NAMES[format],
              problems=" ".join(problem.message for problem in found)))
    invoicing.mark_sent(invoice)
    invoice.parties = {**invoice.parties, "einvoice": {
        "seller": seller_details(db.session.get(Business, invoice.business_id)),
        "buyer": buyer_details(invoice.customer)}}


def xml(invoice: Invoice, format: Format) -> bytes:
    return rules.render(document(invoice), format)


def facturx_pdf(invoice: Invoice, pdf_a3: bytes) -> bytes:
    """The Factur-X PDF: the invoice's CII embedded into its PDF/A-3 rendering."""
    return facturx.document_pdf(document(invoice), pdf_a3, lang=invoice.customer.invoice_language or "en")


def filename(invoice: Invoice, format: Format) -> str:
    base = f"{'credit-note' if invoice.is_credit_note else 'invoice'}-{invoice.number or f'draft-{invoice.id}'}"
    return f"{base}-factur-x.pdf" if Format(format) is Format.FACTURX else f"{base}-{Format(format).value}.xml"


__all__ = ["FORMAT_NAMES", "document", "preferred_format", "problems", "mark_sent", "xml", "facturx_pdf",
           "filename"]
