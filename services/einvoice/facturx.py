"""Factur-X / ZUGFeRD (profile EN 16931): our CII embedded as factur-x.xml into a PDF/A-3 with the XMP
metadata naming the profile, by Akretion's `factur-x` package, which also checks the XML against the
official Factur-X XSD before it writes anything.

The PDF must already be PDF/A-3 (WeasyPrint: `write_pdf(pdf_variant="pdf/a-3b")`); the package adds the
attachment, its /AF relationship and the Factur-X XMP extension schema.
"""
from __future__ import annotations

from lxml import etree

from . import cii
from .model import Document

LEVEL = "en16931"
FILENAME = "factur-x.xml"


class InvalidFacturX(ValueError):
    """The CII did not pass the Factur-X XSD: a bug in our renderer, not a user's mistake."""


def check_xsd(xml: bytes) -> None:
    import facturx as _facturx  # here, not at the top: with pypdf and fontTools ~0.35 s of every app's start

    try:
        _facturx.xml_check_xsd(xml, flavor="factur-x", level=LEVEL)
    except Exception as error:  # the package raises bare Exceptions for XSD failures
        raise InvalidFacturX(str(error)) from error


def embed(pdf: bytes, xml: bytes, *, title: str = "", author: str = "", lang: str = "en") -> bytes:
    """PDF/A-3 bytes with `xml` attached as factur-x.xml (XSD-checked first)."""
    import facturx as _facturx

    check_xsd(xml)
    metadata = {"author": author, "keywords": "Factur-X, Invoice", "title": title, "subject": title} if title else None
    try:
        return _facturx.generate_from_binary(
            pdf, xml, flavor="factur-x", level=LEVEL, check_xsd=False, pdf_metadata=metadata, lang=lang,
        )
    except Exception as error:
        raise InvalidFacturX(str(error)) from error


def document_pdf(doc: Document, pdf: bytes, *, lang: str = "en") -> bytes:
    """The Factur-X PDF of a document: its CII (Factur-X EN 16931 guideline) embedded into `pdf`."""
    kind = "Credit note" if doc.is_credit_note else "Invoice"
    return embed(pdf, cii.render(doc), title=f"{kind} {doc.number}", author=doc.seller.name, lang=lang)


def extract(pdf: bytes) -> tuple[str, bytes]:
    """(attachment name, XML) of the Factur-X XML inside a PDF; raises when there is none."""
    import facturx as _facturx

    name, xml = _facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    if not xml:
        raise InvalidFacturX("the PDF has no Factur-X XML attached")
    etree.fromstring(xml)  # well-formed, or raise
    return name, xml
