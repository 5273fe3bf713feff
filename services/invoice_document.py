"""What the printed invoice shows, wherever it is shown (the print page, the PDF, the customer's view
page): one context for templates/invoices/_document.html."""
from __future__ import annotations

from flask import current_app, render_template

from extensions import db
from models import Business, Invoice
from services import invoicing, logo, payment_details, payments


def context(invoice: Invoice) -> dict:
    totals, parties = invoicing.totals(invoice), invoicing.parties(invoice)
    business = db.session.get(Business, invoice.business_id)
    # The QR code asks for what is still due: the total of a draft, the balance of a sent invoice.
    due = totals.total if invoice.total_minor is None else payments.balance_minor(invoice)  # (no second totals())
    payment = payment_details.for_invoice(number=invoice.number, currency=invoice.currency,
                                          amount_due_minor=due, status=invoice.status,
                                          sender=parties["sender"])
    return {"invoice": invoice, "totals": totals, "parties": parties, "payment": payment,
            "logo": logo.data_uri(business.logo, business.logo_type)}


def pdf_name(invoice: Invoice) -> str:
    return f"invoice-{invoice.number or f'draft-{invoice.id}'}.pdf"


def pdf(invoice: Invoice) -> bytes:
    """The invoice's PDF, wherever it is asked for (the invoice page, the mail, the customer's link).
    Raises services.pdf.TooManyLines, before any work, past HOURBILL_PDF_MAX_LINES."""
    from services.pdf import check_length, html_to_pdf  # WeasyPrint is slow to import: only when a PDF is made

    check_length(len(invoice.lines), current_app.config["HOURBILL_PDF_MAX_LINES"])
    return html_to_pdf(render_template("invoices/print.html", **context(invoice), pdf=True), current_app.static_folder)
