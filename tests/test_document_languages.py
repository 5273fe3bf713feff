"""Documents in the customer's language (issue 12): the print view, the PDF, the view link page and the
mail are written in the customer's invoice language (English, German, French) with that language's
dates and money, through Flask-Babel's catalogues, while every figure stays the same; the legally
required phrases are there in each language; the mail attaches the customer's e-invoice format, and is
not sent while the invoice fails that format's rules."""
from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal

import pytest
from babel.dates import format_date
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_file
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from babel.numbers import parse_decimal
from lxml import etree, html as lxml_html
from pypdf import PdfReader

from extensions import db
from models import INVOICE_LANGUAGES, Customer, Invoice
from services import sending
from services.einvoice.model import SMALL_BUSINESS_DE
from tests.smtp import smtp  # noqa: F401  (fixture)
from tests.test_einvoice_app import BUYER_BE, BUYER_DE, BUYER_US, draft, seller, words  # noqa: F401  (seller: fixture)

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"


def set_language(app, invoice_id: int, language: str) -> None:
    with app.app_context():
        db.session.get(Invoice, invoice_id).customer.invoice_language = language
        db.session.commit()


def figures(page: str) -> tuple[list[Decimal], list[str], list[str], str]:
    """(every amount and quantity as a number, every date as a date, the headings, the page's language)
    of a printed invoice: each read back in the language the page says it is in."""
    tree = lxml_html.fromstring(page)
    language = tree.get("lang")
    numbers = []
    # The figures: the cells marked "num", and a line's quantity, rate and amount (its 2nd to 4th cells).
    for cell in tree.xpath('//*[contains(@class, "invoice-doc")]//td[contains(@class, "num")]'
                           ' | //table[contains(@class, "doc-lines")]/tbody/tr/td[position() > 1]'):
        text = re.sub(r"[^\d.,\u202f\xa0 '−-]", "", cell.text_content()).strip().replace("−", "-")
        numbers.append(parse_decimal(text.strip(), locale=language, strict=False))
    dates = []
    for moment in tree.xpath("//time[@datetime]"):
        day = date.fromisoformat(moment.get("datetime"))
        assert moment.text_content() == format_date(day, "medium", locale=language), moment.text_content()
        dates.append(day.isoformat())
    headings = [each.text_content().strip() for each in tree.xpath("//th | //h2 | //h3")]
    return numbers, dates, headings, language


def test_the_same_invoice_in_each_language_differs_in_words_and_formats_never_in_figures(app, client, seller):
    customer_id = seller.customer(name="Client Inc", currency="EUR", einvoice_format="none", **BUYER_US)
    invoice_id = draft(seller, customer_id, [("Consulting", "7.5", "1234.56", "h", None),
                                             ("Book", "3", "9.99", "", ("S", "7", ""))], discount="50")
    assert client.post(f"/invoices/{invoice_id}/send").status_code == 303
    assert client.post(f"/invoices/{invoice_id}/payments",
                       data={"amount": "100", "paid_on": "2026-03-20", "method": ""}).status_code == 303
    pages = {}
    for language in INVOICE_LANGUAGES:
        set_language(app, invoice_id, language)
        pages[language] = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    read = {language: figures(page) for language, page in pages.items()}
    assert [each[3] for each in read.values()] == ["en", "de", "fr"]

    numbers, dates = read["en"][0], read["en"][1]
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        total, paid = Decimal(invoice.total_minor) / 100, Decimal(invoice.paid_minor) / 100
    # 7.5 h x 1,234.56 = 9,259.20 and 3 x 9.99 = 29.97 (lines), the 50.00 discount, VAT in two rates,
    # the total, the payment and the balance: one number per cell, and the same in every language.
    for expected in (Decimal("7.5"), Decimal("1234.56"), Decimal("9259.20"), Decimal("29.97"), Decimal("9289.17"),
                     total, -paid, total - paid):
        assert expected in numbers
    assert dates == ["2026-03-02", "2026-03-16", "2026-03-20"]
    for language in ("de", "fr"):
        assert read[language][0] == numbers and read[language][1] == dates
        assert set(read[language][2]).isdisjoint({"Description", "Quantity", "Subtotal", "Bill to", "Payments received"})
    assert "Beschreibung" in read["de"][2] and "Désignation" in read["fr"][2]
    # Formats differ too: €9,259.20 / 9.259,20 € / 9 259,20 € (the spaces Babel writes for French).
    assert "€9,259.20" in pages["en"] and "9.259,20\xa0€" in pages["de"] and "9\u202f259,20\xa0€" in pages["fr"]
    assert "Mar 2, 2026" in pages["en"] and "02.03.2026" in pages["de"] and "2 mars 2026" in pages["fr"]


# What the law asks the invoice to say, per VAT treatment and language.
LEGAL = {
    "AE": {"en": "Reverse charge", "de": "Steuerschuldnerschaft des Leistungsempfängers", "fr": "Autoliquidation"},
    "K": {"en": "Intra-community supply", "de": "Steuerfreie innergemeinschaftliche Lieferung",
          "fr": "Livraison intracommunautaire exonérée"},
    "G": {"en": "Export outside the EU", "de": "Steuerfreie Ausfuhrlieferung", "fr": "Exportation hors UE, exonérée de TVA"},
    "O": {"en": "Outside the scope of VAT", "de": "Nicht steuerbar", "fr": "Hors du champ d'application de la TVA"},
    "E19": {"en": "VAT exempt: small business under § 19 UStG",
            "de": "Kein Ausweis von Umsatzsteuer, da Kleinunternehmer gemäß § 19 UStG",
            "fr": "TVA non applicable : petite entreprise selon le § 19 UStG"},
}


def test_the_legally_required_phrases_are_printed_in_the_customer_language(app, client, seller):
    customer_id = seller.customer(name="Klant NV", currency="EUR", einvoice_format="none", **BUYER_BE)
    invoice_id = draft(seller, customer_id, [
        ("Advice", "1", "100", "h", ("AE", "0", "")), ("Goods", "1", "50", "", ("K", "0", "")),
        ("Shipped", "1", "20", "", ("G", "0", "")), ("Grant", "1", "10", "", ("O", "0", "")),
        ("Small", "1", "5", "", ("E", "0", SMALL_BUSINESS_DE))])
    for language in INVOICE_LANGUAGES:
        set_language(app, invoice_id, language)
        printed = words(client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)).replace("&#39;", "'")
        for treatment, phrases in LEGAL.items():
            assert phrases[language] in printed, (treatment, language)
        others = {phrase for phrases in LEGAL.values() for lang, phrase in phrases.items() if lang != language}
        assert [phrase for phrase in others if phrase in printed] == [], language
        # The customer's VAT id beside the reverse-charge words, ours once in the head.
        assert "BE0403019261" in printed and printed.count("DE136695976") == 1


def test_the_invoice_mail_is_german_and_attaches_the_factur_x_pdf_in_german(app, client, seller, smtp):  # noqa: F811
    customer_id = seller.customer(name="Kunde AG", currency="EUR", einvoice_format="facturx",
                                  invoice_language="de", email="ap@kunde.example", **BUYER_DE)
    invoice_id = draft(seller, customer_id, [("Beratung", "10", "95", "h", None)])
    response = client.post(f"/invoices/{invoice_id}/email", data={"to": "ap@kunde.example", "cc": ""})
    assert response.status_code == 303, words(response.get_data(as_text=True))
    ((_, message),) = smtp.messages
    assert message["Subject"] == "Rechnung INV-0001 von Muster Consulting GmbH"
    body = message.get_body(("plain",)).get_content()
    assert "anbei erhalten Sie die Rechnung INV-0001 über 1.130,50\xa0€, fällig am 16.03.2026." in body  # 950 + 19 %
    (attachment,) = list(message.iter_attachments())  # the Factur-X PDF in place of the plain one
    assert attachment.get_filename() == "invoice-INV-0001-factur-x.pdf"
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    assert list(reader.attachments) == ["factur-x.xml"]
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "RECHNUNGSEMPFÄNGER" in text and "1.130,50 €" in text.replace("\xa0", " ") and "Seite 1 von 1" in text


def test_an_xrechnung_customer_gets_the_xml_beside_the_pdf_in_english(app, client, seller, smtp):  # noqa: F811
    customer_id = seller.customer(name="Bund", currency="EUR", einvoice_format="xrechnung-cii",
                                  invoice_language="en", email="ap@kunde.example", **BUYER_DE)
    invoice_id = draft(seller, customer_id, [("Advice", "2", "100", "h", None)])
    assert client.post(f"/invoices/{invoice_id}/email", data={"to": "ap@kunde.example", "cc": ""}).status_code == 303
    ((_, message),) = smtp.messages
    assert message["Subject"] == "Invoice INV-0001 from Muster Consulting GmbH"
    pdf, xml = list(message.iter_attachments())
    assert (pdf.get_filename(), pdf.get_content_type()) == ("invoice-INV-0001.pdf", "application/pdf")
    assert (xml.get_filename(), xml.get_content_type()) == ("invoice-INV-0001-xrechnung-cii.xml", "application/xml")
    root = etree.fromstring(xml.get_content())
    assert etree.QName(root).localname == "CrossIndustryInvoice" and b"INV-0001" in xml.get_content()


def test_the_send_form_says_when_the_customer_format_fails_and_sends_nothing(app, client, seller, smtp):  # noqa: F811
    customer_id = seller.customer(name="Bund", currency="EUR", einvoice_format="xrechnung-ubl",
                                  email="ap@kunde.example", **{**BUYER_DE, "buyer_reference": ""})
    invoice_id = draft(seller, customer_id, [("Advice", "2", "100", "h", None)])
    form = client.get(f"/invoices/{invoice_id}/email").get_data(as_text=True)
    assert 'data-testid="send-einvoice-problems"' in form and "XRechnung 3.0 (UBL)" in form
    assert "buyer reference" in words(form).lower()
    response = client.post(f"/invoices/{invoice_id}/email", data={"to": "ap@kunde.example", "cc": ""})
    assert response.status_code == 422 and "is not sent" in words(response.get_data(as_text=True))
    assert smtp.messages == []
    with app.app_context():
        assert db.session.get(Invoice, invoice_id).status == "draft"


def test_the_view_link_page_is_in_the_customer_language(app, client, seller):
    customer_id = seller.customer(name="Client SA", currency="EUR", einvoice_format="none", invoice_language="fr",
                                  **BUYER_BE)
    invoice_id = draft(seller, customer_id, [("Conseil", "1", "100", "h", None)])
    assert client.post(f"/invoices/{invoice_id}/send").status_code == 303
    with app.app_context():
        token = sending.ensure_view_token(db.session.get(Invoice, invoice_id))
        db.session.commit()
    page = client.get(f"/v/{token}").get_data(as_text=True)
    assert '<html lang="fr">' in page and "Télécharger le PDF" in page and "Facturé à" in page
    assert "119,00\xa0€" in page  # 100 + 19 %, French formats (fr_BE: the customer's country)


# The files behind the documents (print view, PDF, the customer's view page) and the mails, by extraction
# method as in babel.cfg. The app's own screens are in the catalogue too, but in English: only these must
# have every text in German and French.
DOCUMENT_FILES = {
    "python": ("services/invoice_document.py", "services/invoicing.py", "services/sending.py", "services/mail.py"),
    "jinja2.ext:babel_extract": ("templates/invoices/_document*.html", "templates/invoices/_vat_breakdown.html",
                                 "templates/public/*.html"),
}
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "N_": None}  # as translations/README.md's extract


def key(message_id, context=None):
    return context, message_id if isinstance(message_id, str) else message_id[0]


def text(string):
    """A translation as comparable: a plural's forms as a tuple."""
    return string if isinstance(string, str) else tuple(string)


def compiled(message):
    """What pybabel compile writes for a translation: an untranslated plural form falls back to the English."""
    if isinstance(message.string, str):
        return message.string
    return tuple(string or message.id[min(n, 1)] for n, string in enumerate(message.string))


def document_texts() -> set:
    found = set()
    for method, patterns in DOCUMENT_FILES.items():
        for path in sorted({path for pattern in patterns for path in ROOT.glob(pattern)}):
            found |= {key(message, context) for _, message, _, context in extract_from_file(method, path, keywords=KEYWORDS)}
    return found


def test_the_document_texts_are_found_where_the_documents_are_written():
    texts = document_texts()
    assert {key("Bill to"), key("Payments received"), key("Invoice {number} from {business}"), key("Reverse charge"),
            key("of", "page 1 of 2")} <= texts
    assert key("Log in") not in texts and key("Dashboard") not in texts  # app screens: English is enough


def test_every_document_text_has_a_german_and_french_translation_and_each_mo_is_compiled_from_its_po():
    """A text added to the document or a mail default without a translation fails here (translations/README.md);
    a text of the app's own screens may stay untranslated."""
    wanted = document_texts()
    for language in INVOICE_LANGUAGES:
        with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as file:
            po = {key(message.id, message.context): message for message in read_po(file) if message.id}
        with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as file:
            mo = {key(message.id, message.context): text(message.string) for message in read_mo(file) if message.id}
        assert set(po) >= wanted, (language, wanted - set(po))
        assert mo == {each: compiled(message) for each, message in po.items() if message.string and not message.fuzzy}
        if language != "en":
            assert [each for each in wanted if not po[each].string or po[each].fuzzy] == [], language


def test_a_new_customer_takes_the_language_of_the_business_country(client, seller):
    """Ada's business is in Germany (the seller fixture): a new customer's invoices are German unless changed."""
    form = client.get("/customers/new").get_data(as_text=True)
    assert re.search(r'<option selected value="de">Deutsch</option>|<option value="de" selected>Deutsch</option>', form)


def test_the_document_prints_one_tax_identifier_the_vat_id_before_the_old_free_text_tax_id(app, client, seller):
    with app.app_context():
        from models import Business
        db.session.scalar(db.select(Business)).tax_id = "Old text: DE 999"
        db.session.commit()
    customer_id = seller.customer(name="Client Inc", currency="EUR", einvoice_format="none", **BUYER_US)
    invoice_id = draft(seller, customer_id, [("Consulting", "1", "100", "h", None)])
    printed = words(client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True))
    assert "VAT id: DE136695976" in printed and "Old text" not in printed and "Tax id" not in printed


def test_the_app_screens_stay_english_whatever_language_the_browser_asks_for(client, seller):
    """Only documents follow a language (the customer's): a German browser still reads the app in English,
    though the catalogue has German for the words its screens share with the document."""
    customer_id = seller.customer(name="Kunde AG", currency="EUR", einvoice_format="none", invoice_language="de",
                                  **BUYER_DE)
    draft(seller, customer_id, [("Beratung", "1", "100", "h", None)])
    page = client.get(f"/customers/{customer_id}", headers={"Accept-Language": "de-DE,de;q=0.9,fr;q=0.8"})
    headings = [cell.text_content() for cell in lxml_html.fromstring(page.get_data(as_text=True)).xpath("//th")]
    assert headings == ["Number", "Status", "Issued", "Due", "Total"]  # "Rechnungsnummer", "Gesamtbetrag" in German
