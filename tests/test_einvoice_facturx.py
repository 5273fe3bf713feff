"""Factur-X: a WeasyPrint PDF/A-3b with our CII embedded opens, holds exactly one factur-x.xml with the
Factur-X XMP metadata, and that XML passes the Factur-X XSD and the EN 16931 rules."""
from __future__ import annotations

import io

import pytest
from lxml import etree
from pypdf import PdfReader

from services.einvoice import cii, facturx
from services.einvoice.rules import Format, compile_all, validate_format
from tests.test_einvoice import CASES

TINY = "<html lang='en'><body><h1>Invoice 2026-0042</h1><p>Total due: 1,234.56 EUR</p></body></html>"


@pytest.fixture(scope="module")
def pdf_a3():
    from services.pdf import HTML  # here: the only WeasyPrint import at collection (~0.7 s a worker); services.pdf skips its library search

    return HTML(string=TINY).write_pdf(pdf_variant="pdf/a-3b")


@pytest.fixture(scope="module")
def official_rules():
    compile_all()


@pytest.mark.parametrize("name", ["two standard rates", "reverse charge", "full credit note", "JPY"])
def test_the_facturx_pdf_holds_one_factur_x_xml_that_passes_the_rules(official_rules, pdf_a3, name):
    doc = CASES[name]()
    pdf = facturx.document_pdf(doc, pdf_a3)

    reader = PdfReader(io.BytesIO(pdf))  # it opens
    assert len(reader.pages) == 1
    assert list(reader.attachments) == ["factur-x.xml"]
    assert len(reader.attachments["factur-x.xml"]) == 1
    xml = reader.attachments["factur-x.xml"][0]

    assert xml == cii.render(doc)
    facturx.check_xsd(xml)
    assert [f for f in validate_format(xml, Format.FACTURX) if f.blocks] == []
    xmp = reader.xmp_metadata.stream.get_data().decode("utf-8")
    assert "EN 16931" in xmp and "factur-x.xml" in xmp and "pdfaid:part" in xmp
    assert facturx.extract(pdf) == ("factur-x.xml", xml)


def test_xml_that_breaks_the_xsd_is_refused_before_anything_is_written(pdf_a3):
    root = etree.fromstring(cii.render(CASES["standard rate"]()))
    header = root.find(f"{{{cii.RSM}}}ExchangedDocument")
    root.remove(header)
    with pytest.raises(facturx.InvalidFacturX):
        facturx.embed(pdf_a3, etree.tostring(root))


def test_a_pdf_without_factur_x_xml_is_said_to_have_none(pdf_a3):
    with pytest.raises(facturx.InvalidFacturX, match="no Factur-X XML"):
        facturx.extract(pdf_a3)
