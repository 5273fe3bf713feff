"""Credit notes as e-invoices (issue 12): a full and a partial credit note made through the app pass the
official rules (EN 16931 CII and UBL, XRechnung) in every format with zero fatal or error asserts, the
Factur-X XSD, carry type code 381 (UBL: a CreditNote) and name the invoice they correct (BT-25), and
their figures are the database's."""
from __future__ import annotations

import pytest
from lxml import etree

from extensions import db
from models import Invoice
from services.einvoice.rules import Format
from tests.test_einvoice_app import (ALL, BUYER_DE, UBL, assert_xml_totals_are_the_database_totals, customer, download,
                                     draft, failures, official_rules, seller, send, xml_of)  # noqa: F401  (fixtures)

CII = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
       "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
LINES = [("Consulting", "7.5", "95", "h", None), ("Book", "3", "9.99", "", ("S", "7", ""))]


@pytest.mark.parametrize("scope", ["full", "partial"])
def test_a_credit_note_passes_the_official_rules_in_every_format_and_names_the_invoice(app, client, seller, scope):
    invoice_id = draft(seller, customer(seller, BUYER_DE, fmt="xrechnung-ubl"), LINES,
                       discount="50" if scope == "full" else None)
    assert send(seller, invoice_id) == "sent"
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        number, line_ids = invoice.number, [line.id for line in invoice.lines]
    data = {"scope": scope}
    if scope == "partial":  # the second line: 2 of its 3 books
        data |= {"lines-0-line_id": str(line_ids[0]), "lines-1-line_id": str(line_ids[1]), "lines-1-chosen": "y",
                 "lines-1-quantity": "2", "lines-1-rate": "9.99"}
    response = client.post(f"/invoices/{invoice_id}/credit-note", data=data)
    assert response.status_code == 303
    note_id = int(response.headers["Location"].rsplit("/", 1)[1])
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "XRechnung 3.0 (UBL)" in page  # the downloads are on the credit note's page
    for format in ALL:
        xml = xml_of(download(client, note_id, format), format)
        assert failures(xml, format) == [], (scope, format)
        root = etree.fromstring(xml)
        if format in (Format.XRECHNUNG_UBL, Format.PEPPOL):
            assert etree.QName(root).localname == "CreditNote"
            assert root.xpath("string(cbc:CreditNoteTypeCode)", namespaces=UBL) == "381"
            assert root.xpath("string(cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID)", namespaces=UBL) == number
        else:
            assert root.xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=CII) == "381"
            assert root.xpath("string(//ram:InvoiceReferencedDocument/ram:IssuerAssignedID)", namespaces=CII) == number
    with app.app_context():
        note = db.session.get(Invoice, note_id)
        assert_xml_totals_are_the_database_totals(note, xml_of(download(client, note_id, Format.XRECHNUNG_UBL),
                                                                 Format.XRECHNUNG_UBL))
        original = db.session.get(Invoice, invoice_id)
        assert original.credited_minor == note.total_minor
        assert original.status == ("credited" if scope == "full" else "sent")
    assert download(client, note_id, Format.FACTURX).headers["Content-Disposition"].endswith(
        f'credit-note-{note.number}-factur-x.pdf"')
