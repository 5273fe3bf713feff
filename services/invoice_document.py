"""What the printed invoice shows, wherever it is shown (the print page, the PDF, the customer's view
page): one context for templates/invoices/_document.html."""
from __future__ import annotations

from extensions import db
from models import Business, Invoice
from services import invoicing, logo, payment_details


def context(invoice: Invoice) -> dict:
    totals, parties = invoicing.totals(invoice), invoicing.parties(invoice)
    business = db.session.get(Business, invoice.business_id)
    # The QR code asks for the total until payments exist; then for the balance due.
    payment = payment_details.for_invoice(number=invoice.number, currency=invoice.currency,
                                          amount_due_minor=totals.total, status=invoice.status,
                                          sender=parties["sender"])
    return {"invoice": invoice, "totals": totals, "parties": parties, "payment": payment,
            "logo": logo.data_uri(business.logo, business.logo_type)}
