"""Credit notes as e-invoices (issue 12): a full and a partial credit note made through the app pass the
official rules (EN 16931 CII and UBL, XRechnung) in every format with zero fatal or error asserts, the
Factur-X XSD, carry type code 381 (UBL: a CreditNote) and name the invoice they correct (BT-25), and
their figures are the database's."""
from __future__ import annotations

import io
import re

import pytest
from lxml import etree
from pypdf import PdfReader

from extensions import db
from models import Business, Invoice
from services.einvoice.rules import Format
from tests.test_einvoice_app import (ALL, BUYER_DE, UBL, assert_xml_totals_are_the_database_totals, customer, download,
                                     draft, failures, official_rules, seller, send, words, xml_of)  # noqa: F401  (fixtures)
from tests.smtp import smtp  # noqa: F401  (fixture)

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
    responses = {format: download(client, note_id, format) for format in ALL}
    downloaded = {format: xml_of(response, format) for format, response in responses.items()}
    for format, xml in downloaded.items():
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
        assert_xml_totals_are_the_database_totals(note, downloaded[Format.XRECHNUNG_UBL])
        original = db.session.get(Invoice, invoice_id)
        assert original.credited_minor == note.total_minor
        assert original.status == ("credited" if scope == "full" else "sent")
    assert responses[Format.FACTURX].headers["Content-Disposition"].endswith(  # the PDF above, not made again
        f'credit-note-{note.number}-factur-x.pdf"')


def test_a_credit_note_is_emailed_like_an_invoice_in_the_customers_language_with_its_format_and_view_link(
        app, client, seller, smtp):
    customer_id = seller.customer(name="Kunde AG", currency="EUR", einvoice_format="xrechnung-cii",
                                  invoice_language="de", email="ap@kunde.example", **BUYER_DE)
    invoice_id = draft(seller, customer_id, [("Beratung", "10", "95", "h", None)])
    assert send(seller, invoice_id) == "sent"
    with app.app_context():  # the owner's own invoice mail: it says "Invoice", so a credit note never uses it
        db.session.scalar(db.select(Business)).invoice_mail_subject = "Invoice {number}: please pay"
        db.session.commit()
    note_url = client.post(f"/invoices/{invoice_id}/credit-note", data={"scope": "full"}).headers["Location"]
    note_id = int(note_url.rsplit("/", 1)[1])
    with app.app_context():
        number = db.session.get(Invoice, note_id).number
    assert "Send by email" in words(client.get(note_url).get_data(as_text=True))
    assert f"Email credit note {number}" in words(client.get(f"/invoices/{note_id}/email").get_data(as_text=True))

    response = client.post(f"/invoices/{note_id}/email", data={"to": "ap@kunde.example", "cc": ""})
    assert response.status_code == 303, words(response.get_data(as_text=True))
    page = words(client.get(response.headers["Location"], follow_redirects=True).get_data(as_text=True))
    assert f"Credit note {number} was emailed to ap@kunde.example." in page and "Email the credit note again" in page
    assert re.search(r"Sent by email When What To By Answer .{0,40}? credit note ap@kunde\.example", page)  # the log
    ((_, message),) = smtp.messages
    assert message["Subject"] == f"Gutschrift {number} von Muster Consulting GmbH"
    body = message.get_body(("plain",)).get_content()
    assert f"anbei erhalten Sie die Gutschrift {number} über 1.130,50\xa0€ zur Rechnung INV-0001." in body
    pdf, xml = list(message.iter_attachments())
    assert pdf.get_filename() == f"credit-note-{number}.pdf"
    assert "GUTSCHRIFT" in " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_content())).pages).upper()
    assert xml.get_filename() == f"credit-note-{number}-xrechnung-cii.xml" and failures(xml.get_content(), Format.XRECHNUNG_CII) == []
    assert etree.fromstring(xml.get_content()).xpath("string(//rsm:ExchangedDocument/ram:TypeCode)", namespaces=CII) == "381"

    link = re.search(r"https?://\S+/v/[\w-]+", body).group(0)
    viewed = app.test_client().get(link.split("localhost", 1)[1]).get_data(as_text=True)
    assert re.search(rf"<title>Gutschrift {number} ·", viewed) and "Rechnung CN" not in viewed
    assert "Gutschrift zur Rechnung INV-0001" in words(viewed)
    renewed = client.post(f"/invoices/{note_id}/view-link", data={"action": "regenerate"}, follow_redirects=True)
    assert "The credit note has a new view link; the old one no longer works." in words(renewed.get_data(as_text=True))
    assert app.test_client().get(link.split("localhost", 1)[1]).status_code == 404
