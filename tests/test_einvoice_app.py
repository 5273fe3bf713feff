"""E-invoices made through the app (issue 12): profiles and customers filled in through their forms,
drafts with lines and VAT treatments posted as a person would, sent, then downloaded in every format,
each judged by the official rules (EN 16931, XRechnung) and the Factur-X XSD. The figures in the XML
are the database's; bad input is refused at the field; a draft the customer's format would refuse
says what is missing and cannot be sent."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal as D

import pytest
from lxml import etree
from pypdf import PdfReader

from extensions import db
from models import Business, Customer, Invoice, LineItem
from services import invoicing
from services.einvoice import facturx, rules
from services.einvoice.model import SMALL_BUSINESS_DE
from services.einvoice.rules import Format, compile_all, is_country, validate_format
from tests.test_imports import wizard  # noqa: F401  (a fixture: a draft)

pytestmark = pytest.mark.small_sandbox  # 8 members of 10 entries (tests/fixtures.py)

SELLER = {"address_line1": "Hauptstraße 1", "address_line2": "2. OG", "postcode": "10115", "city": "Berlin",
          "country": "DE", "vat_id": "DE136695976", "tax_number": "12/345/67890", "registration_id": "HRB 12345",
          "contact_name": "Eva Muster", "contact_phone": "+49 30 1234567", "contact_email": "eva@muster.example",
          "endpoint_scheme": "9930", "endpoint_id": "DE136695976"}
BANK = {"iban": "DE89370400440532013000", "bic": "COBADEFFXXX", "bank_account_holder": "Muster Consulting GmbH"}
BUYER_DE = {"address_line1": "Ringstraße 5", "postcode": "50667", "city": "Köln", "country": "DE",
            "vat_id": "DE129273398", "contact_name": "Jan Kunde", "endpoint_scheme": "EM",
            "endpoint_id": "ap@kunde.example", "buyer_reference": "04011000-12345-67"}
BUYER_BE = {"address_line1": "Wetstraat 16", "postcode": "1000", "city": "Brussel", "country": "BE",
            "vat_id": "BE0403019261", "endpoint_scheme": "0208", "endpoint_id": "0403019261",
            "buyer_reference": "PO-7"}
BUYER_US = {"address_line1": "1 Market St", "postcode": "94105", "city": "San Francisco", "country": "US",
            "endpoint_scheme": "EM", "endpoint_id": "ap@client.example", "buyer_reference": "PO-8"}
NO_VAT_ID = {**BUYER_DE, "vat_id": ""}
ALL = tuple(Format)


@pytest.fixture(scope="module", autouse=True)
def official_rules():
    """The official rules, compiled once, judge each distinct document once: a download runs the app's own
    pre-flight on the XML it serves, and the test then judges the downloaded bytes, the same document (a
    judgement is a function of the document's bytes and the stylesheet alone), so the second is the first's."""
    compile_all()
    judged: dict[tuple[bytes, str], list] = {}

    def judge_once(xml: bytes, stylesheet: str, validate=rules.validate) -> list:
        if (xml, stylesheet) not in judged:
            judged[xml, stylesheet] = validate(xml, stylesheet)
        return judged[xml, stylesheet]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rules, "validate", judge_once)
        yield


def _name_and_bank(app, monkeypatch) -> None:
    """The legal name and bank account: the business profile's (the PDF's payment details)."""
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        business.name = "Muster Consulting GmbH"
        for name, value in BANK.items():
            if name in Business.__table__.columns:
                setattr(business, name, value)
            else:  # the payment details arrive with the PDF's payment section (branch better-pdf)
                monkeypatch.setattr(Business, name, value, raising=False)
        db.session.commit()


@pytest.fixture
def seller(app, client, logged_in, monkeypatch):
    """Ada's business, a German GmbH, filled in through Settings > Address, tax & e-invoicing; its bank
    account is the business profile's (the PDF's payment details)."""
    _name_and_bank(app, monkeypatch)
    response = client.post("/settings/einvoicing", data=SELLER)
    assert response.status_code == 303, words(response.get_data(as_text=True))
    return logged_in


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def customer(accounts, buyer: dict, currency="EUR", name="Kunde AG", fmt="none") -> int:
    return accounts.customer(name=name, currency=currency, einvoice_format=fmt, invoice_language="de", **buyer)


def draft(accounts, customer_id: int, lines, *, default=None, discount=None, tax_rate="19") -> int:
    """A draft through the app: lines posted one by one, details, then the VAT treatment. `lines` are
    (description, quantity, rate, unit, vat) with vat None (the invoice default) or (category, rate, reason)."""
    client = accounts.client
    invoice_id = accounts.invoice(customer_id)
    for description, quantity, rate, unit, _ in lines:
        assert accounts.line(invoice_id, description, quantity, rate, unit).status_code == 303
    today = date(2026, 3, 2).isoformat()
    response = client.post(f"/invoices/{invoice_id}/details", data={
        "issue_date": today, "due_date": "2026-03-16", "tax_rate": tax_rate, "discount": discount or "0", "notes": ""})
    assert response.status_code == 303, words(response.get_data(as_text=True))
    category, reason = default or ("S", "")
    vat = {"vat_category": category, "vat_exemption_reason": reason}
    with accounts.app.app_context():
        ids = [line.id for line in db.session.get(Invoice, invoice_id).lines]
    for index, (line_id, (*_, own)) in enumerate(zip(ids, lines)):
        vat[f"lines-{index}-line_id"] = str(line_id)
        if own:
            vat |= {f"lines-{index}-category": own[0], f"lines-{index}-rate": own[1], f"lines-{index}-reason": own[2]}
    response = client.post(f"/invoices/{invoice_id}/vat", data=vat)
    assert response.status_code == 303, words(response.get_data(as_text=True))
    return invoice_id


def send(accounts, invoice_id: int):
    response = accounts.client.post(f"/invoices/{invoice_id}/send")
    assert response.status_code == 303
    with accounts.app.app_context():
        return db.session.get(Invoice, invoice_id).status


def download(client, invoice_id: int, format: Format):
    return client.get(f"/invoices/{invoice_id}/einvoice/{format.value}")


def xml_of(response, format: Format) -> bytes:
    assert response.status_code == 200, words(response.get_data(as_text=True))
    if format is Format.FACTURX:
        reader = PdfReader(io.BytesIO(response.data))
        assert list(reader.attachments) == ["factur-x.xml"] and len(reader.attachments["factur-x.xml"]) == 1
        xml = reader.attachments["factur-x.xml"][0]
        facturx.check_xsd(xml)
        return xml
    return response.data


def failures(xml: bytes, format: Format) -> list[str]:
    return [f"{failed.id} {failed.text}" for failed in validate_format(xml, format) if failed.blocks]


STANDARD = ("S", "19", "")
CASES = {
    # name: (buyer, currency, lines, default treatment, discount, formats)
    "standard rate": (BUYER_DE, "EUR", [("Consulting", "7.5", "95", "h", None)], None, None, ALL),
    "two standard rates": (BUYER_DE, "EUR", [("Consulting", "7.5", "95", "h", None),
                                             ("Book", "2", "12.34", "", ("S", "7", ""))], None, None, ALL),
    "zero rated": (BUYER_DE, "EUR", [("Zero-rated supply", "1", "500", "", ("Z", "", ""))], None, None, ALL),
    "exempt, paragraph 19 UStG": (BUYER_DE, "EUR", [("Design", "3.25", "60", "h", None)],
                                  ("E19", ""), None, ALL),
    "exempt with a reason of its own": (BUYER_DE, "EUR", [("Training", "2", "80", "h", ("E", "", "Educational services, Art. 132 VAT Directive"))],
                                        None, None, ALL),
    "reverse charge": (BUYER_BE, "EUR", [("Consulting", "10", "100", "h", None)], ("AE", ""), None, ALL),
    "intra-community supply": (BUYER_BE, "EUR", [("Hardware", "2", "450", "", None)], ("K", ""), None, ALL),
    "export": (BUYER_US, "USD", [("Consulting", "12", "150", "h", None)], ("G", ""), None, ALL),
    "outside the scope of VAT": (BUYER_DE, "EUR", [("Damages", "1", "1000", "", None)], ("O", ""), None, ALL),
    "a document discount over two rates": (BUYER_DE, "EUR", [("Consulting", "7.5", "95", "h", None),
                                                              ("Book", "3", "9.99", "", ("S", "7", ""))], None, "50", ALL),
    "USD": (BUYER_US, "USD", [("Consulting", "7.3333", "133.33", "h", None)], None, None, ALL),
    "JPY": (BUYER_DE, "JPY", [("Consulting", "7.25", "12345", "h", ("S", "10", "")),
                              ("Report", "1", "33333", "", ("S", "8", ""))], None, None, ALL),
    "a customer without a VAT id": (NO_VAT_ID, "EUR", [("Consulting", "1", "95", "h", None)], None, None, ALL),
    "one line": (BUYER_DE, "EUR", [("Consulting", "0.0003", "95", "h", None)], None, None, ALL),
}


LAID_OUT: dict = {}  # the PDF/A-3 page WeasyPrint laid out for the first case, by variant


@pytest.mark.parametrize("case", list(CASES))
def test_every_case_made_through_the_app_passes_the_official_rules_in_every_format(app, client, seller, case,
                                                                                 monkeypatch):
    """What is checked of the Factur-X download is the XML the app puts into the PDF (one factur-x.xml, the
    XSD, the rules); the page it goes into is the invoice's own, rendered (Jinja) for each case but laid out
    by WeasyPrint for the first one only (the layout of invoices is tests/test_pdf.py's subject; it was
    ~0.2 s of CPU a case, more than the rest of the case)."""
    from services import pdf

    def laid_out_once(html: str, static_folder: str, pdf_variant: str | None = None, real=pdf.html_to_pdf) -> bytes:
        if pdf_variant not in LAID_OUT:
            LAID_OUT[pdf_variant] = real(html, static_folder, pdf_variant)
        return LAID_OUT[pdf_variant]

    monkeypatch.setattr(pdf, "html_to_pdf", laid_out_once)
    buyer, currency, lines, default, discount, formats = CASES[case]
    invoice_id = draft(seller, customer(seller, buyer, currency), lines, default=default, discount=discount)
    assert send(seller, invoice_id) == "sent"
    downloaded = {format: xml_of(download(client, invoice_id, format), format) for format in formats}
    for format, xml in downloaded.items():
        assert failures(xml, format) == [], (case, format)
    with app.app_context():
        assert_xml_totals_are_the_database_totals(db.session.get(Invoice, invoice_id), downloaded[Format.XRECHNUNG_UBL])


def test_a_hundred_lines_pass_and_agree_with_the_database(app, client, seller):
    """Pages of lines (a printed page holds ~25) in two VAT groups, with every quantity and rate pattern
    below: the rules and the sums run over every line alike, so a hundred prove what a thousand did at a
    tenth of the validation."""
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Consulting", "1", "95", "h", None)])
    with app.app_context():  # 99 more, as the page would add them (its route is tested above)
        invoice = db.session.get(Invoice, invoice_id)
        for i in range(99):
            line = LineItem(position=i + 2, description=f"Task {i}", unit="h", source="manual",
                            vat_category="S" if i % 3 else None, vat_rate=D(7) if i % 3 else None)
            line.set_amounts(D(f"{1 + i % 7}.{i % 10000:04d}"), 5000 + i % 1300)
            invoice.lines.append(line)
        db.session.commit()
    assert send(seller, invoice_id) == "sent"
    for format in (Format.XRECHNUNG_CII, Format.PEPPOL):
        xml = xml_of(download(client, invoice_id, format), format)
        assert failures(xml, format) == []
    with app.app_context():
        assert_xml_totals_are_the_database_totals(db.session.get(Invoice, invoice_id), xml)


def test_an_invoice_imported_from_clockify_with_grouped_lines_passes(app, client, wizard, monkeypatch):
    from sandbox import NORTHWIND_ID

    _name_and_bank(app, monkeypatch)
    with app.app_context():
        customer_id = db.session.get(Invoice, wizard.invoice_id).customer_id
        db.session.get(Invoice, wizard.invoice_id).tax_rate = D(19)
        db.session.commit()
    assert client.post("/settings/einvoicing", data=SELLER).status_code == 303
    assert client.post(f"/customers/{customer_id}/edit", data={
        "name": "Northwind", "currency": "USD", "einvoice_format": "xrechnung-ubl", "invoice_language": "en",
        **BUYER_US}).status_code == 303
    preview = wizard.preview(client=NORTHWIND_ID)
    wizard.post(wizard.token(preview), "confirm", selection="some", entry=wizard.entry_ids(preview), grouping="project")
    lines = wizard.lines()
    assert len(lines) > 1 and all(line.source == "clockify" and line.vat_category is None for line in lines)
    page = client.get(f"/invoices/{wizard.invoice_id}").get_data(as_text=True)
    assert "Ready: this invoice passes the official XRechnung 3.0 (UBL) rules." in words(page)
    assert send(wizard, wizard.invoice_id) == "sent"
    for format in ALL:
        assert failures(xml_of(download(client, wizard.invoice_id, format), format), format) == [], format


# --- the XML's figures are the database's -----------------------------------------------------------

UBL = {"cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
       "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"}


def assert_xml_totals_are_the_database_totals(invoice: Invoice, ubl_xml: bytes) -> None:
    from services.money import from_minor
    totals = invoicing.totals(invoice)
    tree = etree.fromstring(ubl_xml)
    read = lambda path: D(tree.xpath(path, namespaces=UBL)[0])  # noqa: E731
    money = lambda minor: from_minor(minor, invoice.currency)  # noqa: E731
    assert read("cac:LegalMonetaryTotal/cbc:LineExtensionAmount/text()") == money(totals.subtotal)
    assert sum((D(amount) for amount in tree.xpath("cac:AllowanceCharge/cbc:Amount/text()", namespaces=UBL)),
               D(0)) == money(totals.discount)
    assert read("cac:TaxTotal/cbc:TaxAmount/text()") == money(totals.tax)
    assert read("cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == money(totals.total)
    groups = sorted((subtotal.xpath("cac:TaxCategory/cbc:ID/text()", namespaces=UBL)[0],
                     D(subtotal.xpath("cbc:TaxAmount/text()", namespaces=UBL)[0]),
                     D(subtotal.xpath("cbc:TaxableAmount/text()", namespaces=UBL)[0]))
                    for subtotal in tree.xpath("cac:TaxTotal/cac:TaxSubtotal", namespaces=UBL))
    assert groups == sorted((group.category, money(group.tax), money(group.basis)) for group in totals.breakdown)


# --- bad input, at the field --------------------------------------------------------------------------

@pytest.mark.parametrize("field, value, message", [
    ("vat_id", "DE123", "is not a valid VAT id"),
    ("vat_id", "XX123456789", "does not start with a known country prefix"),
    ("country", "ZZ", "Choose the country from the list."),
    ("endpoint_id", "0403019260", "is not a valid electronic address for scheme 0208"),
    ("endpoint_scheme", "", "Choose the scheme of the electronic address"),
    ("endpoint_scheme", "1234", "Choose the scheme from the list."),
    ("contact_phone", "call me", "at least three digits"),
])
def test_bad_input_gets_a_message_at_its_field_and_saves_nothing(app, client, logged_in, field, value, message):
    data = {"name": "Klant NV", "currency": "EUR", "einvoice_format": "peppol", "invoice_language": "en",
            **BUYER_BE, field: value}
    response = client.post("/customers/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', html)
    assert error and message in error.group(1).replace("&#39;", "'"), words(html)
    with app.app_context():
        assert db.session.scalar(db.select(Customer)) is None
    response = client.post("/settings/einvoicing", data={**SELLER, field: value})
    assert response.status_code == 422 and f'id="{field}-error"' in response.get_data(as_text=True)


def test_only_iso_countries_the_rules_accept_are_countries():
    assert is_country("DE") and is_country("US") and is_country("GR")
    assert not any(is_country(code) for code in ("ZZ", "EU", "UN", "QO", "de", ""))


def test_an_exempt_treatment_without_a_reason_is_refused_at_the_field(client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Consulting", "1", "95", "h", None)])
    response = client.post(f"/invoices/{invoice_id}/vat", data={"vat_category": "E", "vat_exemption_reason": ""})
    assert response.status_code == 422
    assert 'id="vat_exemption_reason-error">Say why the line is exempt' in response.get_data(as_text=True)
    response = client.post(f"/invoices/{invoice_id}/vat", data={"vat_category": "S", "lines-0-line_id": "1",
                                                                 "lines-0-category": "S", "lines-0-rate": "0"})
    assert response.status_code == 422 and "needs a VAT rate above 0" in response.get_data(as_text=True)
    # A hand-made row naming no line of ours (a superscript digit is a digit to str.isdigit, no number to int).
    response = client.post(f"/invoices/{invoice_id}/vat", data={"vat_category": "S", "lines-0-line_id": "\u00b2",
                                                                 "lines-0-category": "S", "lines-0-rate": "19"})
    assert response.status_code == 303


# --- the pre-flight -------------------------------------------------------------------------------------

def test_the_draft_says_what_xrechnung_misses_with_links_and_cannot_be_sent_until_fixed(app, client, seller):
    customer_id = customer(seller, {**BUYER_DE, "buyer_reference": ""}, fmt="xrechnung-cii")
    invoice_id = draft(seller, customer_id, [("Consulting", "1", "95", "h", None)])
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert "The customer needs a buyer reference (Leitweg-ID) for XRechnung" in page
    assert f'href="/customers/{customer_id}/edit#buyer_reference"' in page
    assert not re.search(r"<li>[^<]*BR-DE-15", page)  # never a rule id alone

    response = client.post(f"/invoices/{invoice_id}/send", follow_redirects=True)
    assert "cannot be sent yet" in words(response.get_data(as_text=True))
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert (invoice.status, invoice.number) == ("draft", None)

    data = {"name": "Kunde AG", "currency": "EUR", "einvoice_format": "xrechnung-cii", "invoice_language": "de",
            **BUYER_DE}
    assert client.post(f"/customers/{customer_id}/edit", data=data).status_code == 303
    assert "Ready: this invoice passes" in words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))
    assert send(seller, invoice_id) == "sent"


def test_reverse_charge_without_the_customers_vat_id_is_named_in_plain_words(client, seller):
    customer_id = customer(seller, {**BUYER_BE, "vat_id": ""}, fmt="peppol")
    invoice_id = draft(seller, customer_id, [("Consulting", "1", "95", "h", None)], default=("AE", ""))
    page = words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))
    assert "Reverse charge and intra-community supplies need the customer's VAT id" in page.replace("&#39;", "'")


def test_a_format_the_sent_invoice_cannot_pass_is_refused_with_what_is_missing_and_others_stay(client, seller):
    invoice_id = draft(seller, customer(seller, {**BUYER_DE, "buyer_reference": ""}),
                       [("Consulting", "1", "95", "h", None)])
    assert send(seller, invoice_id) == "sent"
    refused = download(client, invoice_id, Format.XRECHNUNG_UBL)
    assert refused.status_code == 422
    assert "buyer reference (Leitweg-ID)" in refused.get_data(as_text=True)
    for format in (Format.FACTURX, Format.PEPPOL):
        assert failures(xml_of(download(client, invoice_id, format), format), format) == []


def test_a_draft_has_no_e_invoice_download_yet(client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Consulting", "1", "95", "h", None)])
    assert download(client, invoice_id, Format.PEPPOL).status_code == 409
    assert client.get(f"/invoices/{invoice_id}/einvoice/nonsense").status_code == 404


def test_a_sent_invoice_keeps_its_parties_when_the_profile_changes_later(app, client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Consulting", "1", "95", "h", None)])
    assert send(seller, invoice_id) == "sent"
    before = download(client, invoice_id, Format.XRECHNUNG_CII).data
    assert client.post("/settings/einvoicing", data={**SELLER, "city": "Potsdam", "postcode": "14467"}).status_code == 303
    assert download(client, invoice_id, Format.XRECHNUNG_CII).data == before
    assert b"Berlin" in before


# --- the VAT breakdown on the page, the print view and the XML agree ----------------------------------

def test_the_breakdown_per_rate_is_the_same_on_the_page_the_print_view_and_the_xml(app, client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [
        ("Consulting", "7.5", "95", "h", None), ("Book", "3", "9.99", "", ("S", "7", ""))], discount="50")
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    printed = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    # 712.50 + 29.97 = 742.47; the 50.00 discount splits 47.98 / 2.02 in proportion; VAT 19% of 664.52
    # is 126.26 and 7% of 27.95 is 1.96
    # The page in the app's English, the printed invoice in the customer's German (doc-languages).
    for html, (vat_19, vat_7, tax) in ((page, ("€126.26", "€1.96", "€128.22")),
                                       (printed, ("126,26\xa0€", "1,96\xa0€", "128,22\xa0€"))):
        assert re.search(f'data-testid="vat-S-19">{vat_19}<', html) and re.search(f'data-testid="vat-S-7">{vat_7}<', html)
        assert re.search(f'data-testid="tax">{tax}<', html)
    assert send(seller, invoice_id) == "sent"
    with app.app_context():
        assert_xml_totals_are_the_database_totals(db.session.get(Invoice, invoice_id),
                                                  xml_of(download(client, invoice_id, Format.PEPPOL), Format.PEPPOL))


def test_reverse_charge_is_written_on_the_printed_invoice_with_both_vat_ids(client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_BE), [("Consulting", "1", "95", "h", None)], default=("AE", ""))
    printed = words(client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True))
    # The customer's invoice language is German: the words German law asks for.
    assert "Steuerschuldnerschaft des Leistungsempfängers" in printed and "BE0403019261" in printed
    assert "DE136695976" in printed


def test_small_business_exemption_prints_its_legal_words(client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Design", "1", "60", "h", None)], default=("E19", ""))
    assert SMALL_BUSINESS_DE in client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)


def test_the_invoice_list_totals_each_invoice_by_its_vat_groups(app, client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [
        ("Consulting", "7.5", "95", "h", None), ("Book", "3", "9.99", "", ("S", "7", "")),
        ("Exempt training", "1", "100", "", ("E", "", "Art. 132 VAT Directive"))], discount="50")
    with app.app_context():
        expected = invoicing.totals(db.session.get(Invoice, invoice_id)).total
    listed = client.get("/invoices/").get_data(as_text=True)
    assert f"€{expected / 100:,.2f}" in listed


# --- a property: for any lines, rates, categories and discount, the XML carries the page's totals --------

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from services.einvoice import from_invoice  # noqa: E402

PARTIES = {"einvoice": {
    "seller": {"name": "Muster Consulting GmbH", "email": "", **SELLER, **BANK},
    "buyer": {"name": "Kunde AG", "email": "", "tax_number": "", "registration_id": "", "contact_phone": "",
              "contact_email": "", "address_line2": "", **BUYER_DE}}}
TREATMENTS = st.one_of(st.none(), st.tuples(st.just("S"), st.sampled_from([D(19), D(7), D("5.5"), D("20.125")])),
                       st.tuples(st.sampled_from(["Z", "E", "AE", "K", "G", "O"]), st.just(None)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(currency=st.sampled_from(["EUR", "USD", "JPY"]), default=st.sampled_from(["S", "Z", "AE"]),
       lines=st.lists(st.tuples(st.decimals(min_value=D("-20"), max_value=D(500), places=4),
                                st.integers(min_value=0, max_value=10**7), TREATMENTS), min_size=1, max_size=25),
       discount_share=st.fractions(min_value=0, max_value=1))
def test_the_xml_totals_are_the_invoice_totals_for_any_lines(currency, default, lines, discount_share):
    invoice = Invoice(id=1, number="INV-0001", issue_date=date(2026, 3, 2), due_date=date(2026, 3, 16),
                      currency=currency, notes="", tax_rate=D(19), vat_category=default, vat_exemption_reason="",
                      discount_minor=0, parties=PARTIES)
    for position, (quantity, rate_minor, treatment) in enumerate(lines, start=1):
        line = LineItem(position=position, description=f"Line {position}", unit="h", source="manual",
                        vat_category=treatment and treatment[0], vat_rate=treatment and treatment[1],
                        vat_exemption_reason="Exempt" if treatment and treatment[0] == "E" else None)
        line.set_amounts(quantity, rate_minor)
        invoice.lines.append(line)
    subtotal = sum(line.amount_minor for line in invoice.lines)
    invoice.discount_minor = int(max(subtotal, 0) * discount_share)
    if default == "E":
        invoice.vat_exemption_reason = "Exempt"
    assert_xml_totals_are_the_database_totals(invoice, from_invoice.xml(invoice, Format.PEPPOL))


def test_each_lines_own_treatment_is_set_on_the_vat_page_and_the_rest_follow_the_default(app, client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Consulting", "2", "100", "h", None),
                                                             ("Book", "1", "20", "", None)])
    page = client.get(f"/invoices/{invoice_id}/vat").get_data(as_text=True)
    assert "1. Consulting" in page and 'name="lines-1-category"' in page
    with app.app_context():
        first, second = (line.id for line in db.session.get(Invoice, invoice_id).lines)
    response = client.post(f"/invoices/{invoice_id}/vat", data={
        "vat_category": "S", "lines-0-line_id": first, "lines-1-line_id": second,
        "lines-1-category": "S", "lines-1-rate": "7"})
    assert response.status_code == 303
    show = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert re.search(r'data-testid="vat-S-19">€38.00<', show) and re.search(r'data-testid="vat-S-7">€1.40<', show)
    assert 'data-testid="own-vat-lines">(1 of 2 lines' in show
    client.post(f"/invoices/{invoice_id}/vat", data={"vat_category": "S", "lines-0-line_id": second})  # back to default
    assert re.search(r'data-testid="tax">€41.80<', client.get(f"/invoices/{invoice_id}").get_data(as_text=True))


# --- a race: sending while the VAT treatment changes ------------------------------------------------------

def test_a_draft_is_never_sent_with_a_treatment_its_format_refuses_when_both_happen_at_once(app, live_server):
    """Send and "reverse charge" (which Factur-X refuses without the customer's VAT id) at the same moment:
    either the send wins and the VAT change is refused, or the change wins and the send is refused with
    what is missing; never a reverse-charge invoice sent in a format that refuses it."""
    from tests.test_invoice_races import TRIALS, _invoice, _race
    from tests.test_concurrency import _session

    session = _session(live_server)
    assert session.post(f"{live_server}/customers/new", data={
        "name": "Northwind", "currency": "USD", "einvoice_format": "facturx", "invoice_language": "en",
        **{**BUYER_US, "buyer_reference": ""}}, allow_redirects=False).status_code == 303
    assert session.post(f"{live_server}/settings/einvoicing", data=SELLER, allow_redirects=False).status_code == 303
    session.get(f"{live_server}/customers/")  # shows (and so clears) the messages so far
    with app.app_context():
        db.session.scalar(db.select(Business)).name = "Muster Consulting GmbH"
        db.session.commit()
    outcomes = set()
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial)
        with app.app_context():
            db.session.get(Invoice, invoice_id).tax_rate = D(19)
            db.session.commit()
        said = _race(session, live_server,
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/send", allow_redirects=False),
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/vat", allow_redirects=False,
                                      data={"vat_category": "AE"}), first=trial)
        with app.app_context():
            invoice = db.session.get(Invoice, invoice_id)
            status, category = invoice.status, invoice.vat_category
        assert (status, category) in {("sent", "S"), ("draft", "AE")}, (trial, status, category, said)
        if status == "sent":
            assert said[0].startswith("success: Invoice INV-") and said[1].startswith("LOST: Invoice INV-"), said
        else:
            assert said[0].startswith("error: This invoice cannot be sent yet") and "VAT id" in said[0], said
        outcomes.add(status)
    print("outcomes:", outcomes)


def test_a_duplicate_keeps_the_vat_treatments(app, client, seller):
    invoice_id = draft(seller, customer(seller, BUYER_DE), [("Consulting", "1", "100", "h", None),
                                                             ("Book", "1", "20", "", ("S", "7", ""))],
                       default=("E19", ""))
    copy_id = int(client.post(f"/invoices/{invoice_id}/duplicate").headers["Location"].split("/")[-1])
    with app.app_context():
        original, copy = db.session.get(Invoice, invoice_id), db.session.get(Invoice, copy_id)
        assert invoicing.totals(copy) == invoicing.totals(original)
        assert (copy.vat_category, copy.vat_exemption_reason) == ("E", SMALL_BUSINESS_DE)


def test_a_standard_rate_of_zero_and_a_mix_with_outside_the_scope_are_named_in_plain_words(client, seller):
    customer_id = customer(seller, BUYER_DE, fmt="peppol")
    invoice_id = draft(seller, customer_id, [("Consulting", "1", "95", "h", None)], tax_rate="0")
    page = words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True)).replace("&#39;", "'")
    assert "A standard-rate line needs a VAT rate above 0" in page
    invoice_id = draft(seller, customer_id, [("Consulting", "1", "95", "h", None),
                                             ("Damages", "1", "10", "", ("O", "", ""))])
    page = words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))
    assert "Outside the scope of VAT cannot be mixed with other VAT treatments" in page
    assert f'href="/invoices/{invoice_id}/vat"' in client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
