"""Settings, "Payment details & logo": what the printed invoice says about paying it, and its logo. Every
bad input gets its message at the field and leaves what was stored as it was."""
import io
import os
import re
import struct
import zlib

import pytest
from PIL import Image

from extensions import db
from models import Business
from services import logo as logos


def _business(app) -> Business:
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        _ = business.logo  # deferred
        db.session.expunge_all()
        return business


def _image(width=600, height=200, kind="PNG", noise=False) -> bytes:
    data = os.urandom(width * height * 3) if noise else bytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), data).save(out, kind)
    return out.getvalue()


def _png_bomb(width=30_000, height=30_000) -> bytes:
    """A valid PNG header announcing 900 million pixels, with a little compressed data: a few kilobytes
    that would decode into gigabytes."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    rows = zlib.compress(b"\x00" * (1 + width // 8) * 100)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def _upload(client, data: bytes, name="logo.png"):
    return client.post("/settings/payment/logo", data={"logo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def _field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{field}-error">([^<]+)</p>', page)
    return match.group(1) if match else ""


def test_payment_details_are_saved_checked_and_shown_as_people_read_them(client, logged_in, app):
    response = client.post("/settings/payment/", data={"bank_account_holder": " Ada Consulting GmbH ",
                                                       "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"})
    assert response.status_code == 303
    business = _business(app)
    assert (business.bank_account_holder, business.iban, business.bic) == (
        "Ada Consulting GmbH", "DE89370400440532013000", "COBADEFFXXX")
    page = client.get("/settings/payment/").get_data(as_text=True)
    assert 'value="DE89 3704 0044 0532 0130 00"' in page and 'value="COBADEFFXXX"' in page


@pytest.mark.parametrize("field, value, message", [
    ("iban", "DE89 3704 0044 0532 0130 01", "not a valid IBAN"),  # one digit off: the checksum fails
    ("iban", "hello", "not a valid IBAN"),
    ("iban", "GB82 WEST 1234 5698 7654", "not a valid IBAN"),  # too short for a British IBAN
    ("bic", "COBAXXFF", "not a valid BIC"),  # no such country
    ("bic", "COBA", "not a valid BIC"),
    ("bank_account_holder", "A" * 71, "at most 70 characters"),
])
def test_a_bad_payment_detail_gets_a_message_at_its_field_and_nothing_is_stored(client, logged_in, app, field,
                                                                                   value, message):
    client.post("/settings/payment/", data={"bank_account_holder": "Ada", "iban": "DE89370400440532013000",
                                            "bic": "COBADEFFXXX"})
    good = {"bank_account_holder": "Ada Consulting GmbH", "iban": "FR1420041010050500013M02606", "bic": "BNPAFRPP"}
    response = client.post("/settings/payment/", data=good | {field: value})
    assert response.status_code == 422
    assert message in _field_error(response.get_data(as_text=True), field)
    business = _business(app)
    assert (business.bank_account_holder, business.iban, business.bic) == ("Ada", "DE89370400440532013000",
                                                                            "COBADEFFXXX")


def test_a_bic_without_an_iban_is_refused(client, logged_in, app):
    response = client.post("/settings/payment/", data={"bank_account_holder": "", "iban": "", "bic": "COBADEFFXXX"})
    assert response.status_code == 422
    assert "Enter the IBAN of this account too" in _field_error(response.get_data(as_text=True), "bic")


def test_payment_details_are_for_owners_and_admins(client, logged_in, accounts, app):
    accounts.add_member("mia@example.com", "member")
    accounts.logout()
    accounts.login("mia@example.com")
    assert client.get("/settings/payment/").status_code == 403
    assert client.post("/settings/payment/", data={"iban": "DE89370400440532013000"}).status_code == 403
    assert _upload(client, _image()).status_code == 403
    assert _business(app).iban == ""


def test_a_logo_is_re_encoded_and_printed_on_the_invoice_and_its_pdf(client, logged_in, app):
    original = _image(3000, 1000, "JPEG", noise=True)
    assert _upload(client, original, "logo.jpg").status_code == 303
    business = _business(app)
    stored = Image.open(io.BytesIO(business.logo))
    assert business.logo_type == "image/jpeg" and stored.format == "JPEG" and stored.size == (1200, 400)
    assert business.logo != original
    invoice_id = logged_in.invoice(logged_in.customer())
    logged_in.line(invoice_id)
    uri = logos.data_uri(business.logo, business.logo_type)
    assert f'src="{uri}"' in client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)
    assert f'src="{uri}"' in client.get("/settings/payment/").get_data(as_text=True)
    from pypdf import PdfReader
    pdf = PdfReader(io.BytesIO(client.get(f"/invoices/{invoice_id}/pdf").data))
    assert [image.image.size for image in pdf.pages[0].images] == [(1200, 400)]

    assert client.post("/settings/payment/logo/remove").status_code == 303
    assert _business(app).logo is None
    assert "<img" not in client.get(f"/invoices/{invoice_id}/print").get_data(as_text=True)


@pytest.mark.parametrize("data, name, message", [
    (b"%PDF-1.4 this is not an image", "logo.png", "not a PNG or JPEG image"),
    (lambda: _image(kind="GIF"), "logo.gif", "not a PNG or JPEG image"),
    (lambda: _image(kind="PNG", noise=True)[:5000], "logo.png", "could not be read"),
    (lambda: _image(kind="JPEG", noise=True)[:5000], "logo.jpg", "could not be read"),
    (_png_bomb(), "bomb.png", "far more pixels than a logo needs"),
    (_png_bomb(6000, 5000), "big.png", "6000 × 5000 pixels"),
    (lambda: _image(1000, 1000, "PNG", noise=True), "huge.png", "a logo may be 2 MB at most"),
    (b"", "empty.png", "Choose a PNG or JPEG file"),
], ids=["not an image", "gif", "truncated png", "truncated jpeg", "decompression bomb", "too many pixels", "too many bytes", "empty"])
def test_a_bad_logo_gets_a_message_at_the_field_and_the_old_logo_stays(client, logged_in, app, data, name, message):
    data = data() if callable(data) else data  # an image made here, not by every worker at collection (0.2 s)
    assert _upload(client, _image()).status_code == 303
    before = _business(app).logo
    response = _upload(client, data, name)
    assert response.status_code == 422
    assert message in _field_error(response.get_data(as_text=True), "logo")
    assert _business(app).logo == before


def test_a_file_in_any_other_field_of_the_logo_form_is_refused(client, logged_in, app):
    response = client.post("/settings/payment/logo", data={"csrf_token": (io.BytesIO(_image()), "logo.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 400 and "This form takes text only" in response.get_data(as_text=True)
    assert _business(app).logo is None


def test_a_payment_form_with_fields_left_out_clears_them(client, logged_in, app):
    client.post("/settings/payment/", data={"bank_account_holder": "Ada", "iban": "DE89370400440532013000"})
    assert client.post("/settings/payment/", data={}).status_code == 303
    business = _business(app)
    assert (business.bank_account_holder, business.iban, business.bic) == ("", "", "")
