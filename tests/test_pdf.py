"""The printed invoice and its PDF, read back as a person reads them: the text of each page (pypdf) and
the EPC QR code decoded as a banking app would (zxing-cpp)."""
import io
import re
from decimal import Decimal

import pytest
import zxingcpp
from pypdf import PdfReader

from extensions import db
from models import Business, LineItem

IBAN, IBAN_PRINTED, BIC = "DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "COBADEFFXXX"


def _pages(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def _qr_codes(pdf: bytes) -> list[bytes]:
    """Every QR code in the PDF's images, as the bytes it holds."""
    found = []
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for image in page.images:
            found += [code.bytes for code in zxingcpp.read_barcodes(image.image.convert("L"))
                      if code.format == zxingcpp.BarcodeFormat.QRCode]
    return found


def _squeezed(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _add_lines(app, invoice_id: int, count: int, description=lambda n: f"Design review, round {n}") -> None:
    from models import Invoice
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        for number in range(1, count + 1):
            line = LineItem(position=number, source="manual", unit="h", description=description(number))
            line.set_amounts(Decimal("1.5"), 10000)
            invoice.lines.append(line)
        db.session.commit()


def _payment_details(client, holder="Ada Consulting GmbH", iban=IBAN_PRINTED, bic=BIC.lower()):
    response = client.post("/settings/payment/", data={"bank_account_holder": holder, "iban": iban, "bic": bic})
    assert response.status_code == 303, response.get_data(as_text=True)


def _pdf(client, invoice_id) -> bytes:
    response = client.get(f"/invoices/{invoice_id}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    return response.data


def test_a_long_invoice_has_the_header_on_every_page_and_the_totals_once_after_the_last_line(client, logged_in, app):
    invoice_id = logged_in.invoice(logged_in.customer("Northwind Traders"))
    _add_lines(app, invoice_id, 70)
    pages = _pages(_pdf(client, invoice_id))
    assert len(pages) >= 3
    for number, text in enumerate(pages, start=1):
        assert "Description" in text and "Quantity" in text and "Amount" in text, number
        assert f"Page {number} of {len(pages)}" in text
    assert [text.count("Total due") for text in pages] == [0] * (len(pages) - 1) + [1]
    assert [text.count("Subtotal") for text in pages] == [0] * (len(pages) - 1) + [1]
    last = pages[-1]
    assert last.index("Design review, round 70") < last.index("Subtotal")
    assert "$10,500.00" in last  # 70 x 1.5 h x $100
    assert all(any(f"Design review, round {n}\n" in text or text.endswith(f"round {n}") or f"round {n} " in text
                   for text in pages) for n in (1, 35, 70))


def test_a_long_description_is_printed_whole(client, logged_in, app):
    words = " ".join(f"word{n}" for n in range(200))  # with the rest, about the 2,000 characters a line may have
    unbroken = "https://example.com/" + "x" * 150  # longer than its column is wide
    invoice_id = logged_in.invoice(logged_in.customer())
    assert logged_in.line(invoice_id, description=f"{words} {unbroken} the end").status_code in (200, 303)
    text = _squeezed("".join(_pages(_pdf(client, invoice_id))))
    assert _squeezed(words) in text and unbroken in text and "theend" in text


def test_a_sent_euro_invoice_prints_the_payment_details_and_a_qr_code_that_pays_its_total(client, logged_in, app):
    _payment_details(client)
    invoice_id = logged_in.invoice(logged_in.customer("Bistro", "EUR"))
    logged_in.line(invoice_id, description="Menu design", quantity="3", rate="120.5")
    client.post(f"/invoices/{invoice_id}/send")
    pdf = _pdf(client, invoice_id)
    text = _pages(pdf)[-1]
    for shown in ("PAYMENT DETAILS", "Ada Consulting GmbH", IBAN_PRINTED, BIC, "Reference INV-0001"):
        assert shown in text
    [payload] = _qr_codes(pdf)
    fields = payload.split(b"\n")
    # EPC069-12 version 002: service tag, version, character set (1-8), SEPA credit transfer, BIC, name,
    # IBAN, amount, purpose, structured reference, unstructured remittance text.
    assert fields[:2] == [b"BCD", b"002"] and 1 <= int(fields[2]) <= 8 and fields[3] == b"SCT"
    assert fields[4:] == [BIC.encode(), b"Ada Consulting GmbH", IBAN.encode(), b"EUR361.5", b"", b"", b"INV-0001"]


@pytest.mark.parametrize("currency, send", [("USD", True), ("EUR", False)], ids=["dollars", "a draft"])
def test_no_qr_code_where_a_banking_app_could_not_pay_it(client, logged_in, app, currency, send):
    _payment_details(client)
    invoice_id = logged_in.invoice(logged_in.customer("Acme", currency))
    logged_in.line(invoice_id)
    if send:
        client.post(f"/invoices/{invoice_id}/send")
    page = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    assert IBAN_PRINTED in page and "QR code" not in page
    assert "the invoice number, given when it is sent" in page if not send else "INV-0001" in page


def test_a_paid_invoice_has_no_qr_code_and_no_iban_prints_no_payment_details(client, logged_in, app):
    invoice_id = logged_in.invoice(logged_in.customer("Bistro", "EUR"))
    logged_in.line(invoice_id)
    client.post(f"/invoices/{invoice_id}/send")
    assert "Payment details" not in client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    _payment_details(client)
    with app.app_context():  # payment details saved after sending are not on it: it keeps what it was sent with
        db.session.execute(db.update(Business).values(iban=IBAN))
        db.session.commit()
    assert "Payment details" not in client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)

    second = logged_in.invoice(logged_in.customer("Bistro", "EUR"))
    logged_in.line(second)
    client.post(f"/invoices/{second}/send")
    assert "QR code" in client.get(f"/invoices/{second}/print").get_data(as_text=True)
    client.post(f"/invoices/{second}/paid")
    page = client.get(f"/invoices/{second}/print").get_data(as_text=True)
    assert IBAN_PRINTED in page and "QR code" not in page


def test_a_sent_invoice_keeps_the_bank_account_it_was_sent_with(client, logged_in, app):
    _payment_details(client)
    invoice_id = logged_in.invoice(logged_in.customer("Bistro", "EUR"))
    logged_in.line(invoice_id)
    client.post(f"/invoices/{invoice_id}/send")
    _payment_details(client, holder="New Bank Account", iban="FR14 2004 1010 0505 0001 3M02 606", bic="")
    page = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    assert IBAN_PRINTED in page and "FR14" not in page and "New Bank Account" not in page


def test_a_pdf_longer_than_the_limit_is_refused_up_front_with_a_message(client, logged_in, app):
    app.config["HOURBILL_PDF_MAX_LINES"] = 5
    invoice_id = logged_in.invoice(logged_in.customer())
    _add_lines(app, invoice_id, 5)
    assert _pdf(client, invoice_id)  # at the limit: a PDF
    _add_lines(app, invoice_id, 1)
    response = client.get(f"/invoices/{invoice_id}/pdf")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/invoices/{invoice_id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "This invoice has 6 lines, more than the 5 a PDF can hold here" in page
    printable = client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    assert "Download PDF" not in printable and "6 lines are more than the 5 a PDF can hold here" in printable


def test_the_garbage_collector_sleeps_through_a_render_and_wakes_after_it_even_when_it_fails(app):
    """A PDF's many objects once set off full collections of the whole process (a fifth of its time)."""
    import gc

    from services.pdf import html_to_pdf

    collections = []

    def count(phase, info):
        if phase == "start":
            collections.append(info["generation"])

    rows = "".join(f"<tr><td>Line {n}</td><td>1.00</td></tr>" for n in range(40))
    # The collector as in the app's processes (Python's thresholds: tests/fixtures.py raises them), from a
    # known start: nothing waiting to be collected.
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.collect()
    gc.callbacks.append(count)
    try:
        pdf = html_to_pdf(f"<table>{rows}</table>", app.static_folder)
    finally:
        gc.callbacks.remove(count)
        gc.set_threshold(*thresholds)
    assert pdf.startswith(b"%PDF") and "Line 39" in _pages(pdf)[0]
    assert len(collections) <= 1 and gc.isenabled()  # at most the one its garbage sets off when it is back on
    with pytest.raises(Exception):  # noqa: B017  (WeasyPrint's own error for a variant it has not)
        html_to_pdf(f"<table>{rows}</table>", app.static_folder, pdf_variant="pdf/none")
    assert gc.isenabled()


def test_an_edited_print_stylesheet_is_read_again_though_it_is_kept_between_pdfs(tmp_path):
    """services.pdf parses print.css once per process: an edit must still reach the next PDF."""
    import os

    from services.pdf import html_to_pdf

    stylesheet = tmp_path / "css" / "print.css"
    stylesheet.parent.mkdir()
    stylesheet.write_text('p::after { content: " first edition"; }')
    assert "Total first edition" in _pages(html_to_pdf("<p>Total</p>", str(tmp_path)))[0]
    stylesheet.write_text('p::after { content: " second edition"; }')
    os.utime(stylesheet, ns=(stylesheet.stat().st_atime_ns, stylesheet.stat().st_mtime_ns + 10**9))
    assert "Total second edition" in _pages(html_to_pdf("<p>Total</p>", str(tmp_path)))[0]


def test_pdfs_made_at_once_in_two_threads_each_have_their_own_text_and_fonts(app):
    """Each thread keeps its own font configuration between PDFs (Pango's are not thread-safe)."""
    from concurrent.futures import ThreadPoolExecutor

    from services.pdf import html_to_pdf

    def pdf(n: int) -> bytes:
        rows = "".join(f"<tr><td>Thread {n} line {row}</td><td>€1.00</td></tr>" for row in range(30))
        return html_to_pdf(f'<article class="invoice-doc"><table class="doc-lines">{rows}</table></article>',
                           app.static_folder)

    for _ in range(2):  # the second round reuses what the first kept
        with ThreadPoolExecutor(2) as pool:
            pdfs = list(pool.map(pdf, (1, 2)))
        for n, made in enumerate(pdfs, 1):
            text = _pages(made)[0]
            assert f"Thread {n} line 29" in text and f"Thread {3 - n}" not in text and "€1.00" in text
            fonts = {str(font["/BaseFont"]) for page in PdfReader(io.BytesIO(made)).pages
                     for font in page["/Resources"]["/Font"].values()}
            assert fonts and all(font.endswith("+DejaVu-Sans") for font in fonts), fonts  # print.css's font


def test_a_pdf_styles_its_lines_once_not_each_element_s_footnote_and_note_pseudo_elements(app, monkeypatch):
    """WeasyPrint's user-agent stylesheet styled six pseudo-elements (::footnote-call, ::note-marker, ...) of every
    element, 36 styles a line that nothing shows: most of a PDF's styles and of the garbage left after it
    (services/pdf.py). Same-looking rows share their styles: a few a page and its boxes, not dozens a line."""
    import weasyprint.css

    from services.pdf import html_to_pdf

    styles = []
    original = weasyprint.css.ComputedStyle.__init__

    def counted(style, *args, **kwargs):
        styles.append(args[2] if len(args) > 2 else kwargs.get("pseudo_type"))
        original(style, *args, **kwargs)

    monkeypatch.setattr(weasyprint.css.ComputedStyle, "__init__", counted)
    rows = "".join(f"<tr><td>Line {n}</td><td>1.5 h</td><td>€100.00</td><td>€150.00</td></tr>" for n in range(40))
    pdf = html_to_pdf(f'<article class="invoice-doc"><table class="doc-lines"><tbody>{rows}</tbody></table>'
                      f'<ol><li>A listed note</li></ol></article>', app.static_folder)
    text = "\n".join(_pages(pdf))
    assert "Line 39" in text and "€150.00" in text
    assert "A listed note" in text and "1." in text.split("Line 39")[1]  # a list keeps its marker
    assert len(styles) < 2 * 40, (len(styles), sorted(set(map(str, styles))))  # 1,301 before, 54 after


def test_the_pdf_head_and_payment_details_are_laid_out_once_the_title_beside_the_sender(client, logged_in, app,
                                                                                         monkeypatch):
    """WeasyPrint lays a flex row's items out three times over; on paper the two heads are two-cell tables
    (print.css), with the title and its facts at the right of the sender, the QR code at the right of the
    bank details, as on screen."""
    import weasyprint.layout.block

    flex_rows = []
    original = weasyprint.layout.block.flex_layout
    monkeypatch.setattr(weasyprint.layout.block, "flex_layout",
                        lambda context, box, *args, **kwargs: flex_rows.append(box) or original(context, box, *args,
                                                                                                 **kwargs))
    _payment_details(client)
    invoice_id = logged_in.invoice(logged_in.customer("Bistro", "EUR"))
    logged_in.line(invoice_id, description="Menu design", quantity="3", rate="120.5")
    client.post(f"/invoices/{invoice_id}/send")
    pdf = _pdf(client, invoice_id)
    assert flex_rows == []
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    where = {}

    def seen(text, _cm, tm, _font, _size):
        for word in ("Invoice", "Number", "Account holder", "Menu design"):
            if text.startswith(word):
                where.setdefault(word, (tm[4], tm[5]))

    page.extract_text(visitor_text=seen)
    width = float(page.mediabox.width)
    assert where["Invoice"][0] > width / 2 and where["Number"][0] > width / 2, where  # the title at the right
    assert where["Menu design"][0] < width / 4 and where["Account holder"][0] < width / 4, where
    assert abs(where["Invoice"][1] - where["Number"][1]) < 40  # the facts under the title, beside the sender
    assert len(_qr_codes(pdf)) == 1


def test_the_weasyprint_speedups_leave_the_pdf_the_same_byte_for_byte(client, logged_in, app):
    """services/pdf.py overrides a few WeasyPrint 70 functions to do once per style what it did for every cell: the
    same invoice (wrapped and unbroken descriptions, a QR code, the head tables) and a page with what they leave
    to WeasyPrint (a float, right to left, underlines, font features, another language) come out the same with
    and without them."""
    import weasyprint

    from services.pdf import html_to_pdf, install_speedups

    assert weasyprint.__version__.startswith("70.")  # they are for this version only: look again on another
    assert weasyprint.text.line_break.Layout.setup.__module__ == "services.pdf"
    _payment_details(client)
    invoice_id = logged_in.invoice(logged_in.customer("Bistro", "EUR"))
    _add_lines(app, invoice_id, 10, description=lambda n: f"Design review, round {n} " * (n % 4 + 1)
               + ("https://example.com/" + "x" * 90 if n == 7 else "") + ("\nsecond line" if n == 9 else ""))
    client.post(f"/invoices/{invoice_id}/send")
    other = ('<p style="float: right; width: 40%; border-radius: 3pt; background: #eee">Floated</p>'
             f'<p>{"Wrapped beside the float. " * 12}</p><p dir="rtl">Right to left</p><p>Plain, <u>underlined</u>, <span style="font-kerning: none; font-variant: small-caps">no kerning'
             '</span>, <span lang="de" style="hyphens: auto">Rechnungsausgangsbuch</span></p>')
    made = {}
    for on in (False, True):
        install_speedups(on)
        try:
            made[on] = (_pdf(client, invoice_id), html_to_pdf(other, app.static_folder))
        finally:
            install_speedups()
    assert made[True] == made[False]
    assert "round 10" in "".join(_pages(made[True][0])) and "Floated" in _pages(made[True][1])[0]
