"""E-invoice figures (issue 12), in this process with Flask's test client on a temporary SQLite database:
the XML of a sent 200-line invoice (services/einvoice/from_invoice.xml, from the database rows), the
pre-flight of the same invoice as a draft with the rules compiled (XRechnung UBL: EN 16931 and the
XRechnung rules), and the Factur-X download against the plain PDF download of that invoice.

    .venv/bin/python -m bench.einvoice     # or as part of `make bench` (bench/run.py, section 9)
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from tests.client import BrowserLikeClient

PASSWORD = "correct horse battery"
SELLER = {"address_line1": "Hauptstraße 1", "postcode": "10115", "city": "Berlin", "country": "DE",
          "vat_id": "DE136695976", "contact_name": "Eva Muster", "contact_phone": "+49 30 1234567",
          "contact_email": "eva@muster.example", "endpoint_scheme": "9930", "endpoint_id": "DE136695976"}
BUYER = {"name": "Kunde AG", "currency": "EUR", "address_line1": "Ringstraße 5", "postcode": "50667", "city": "Köln",
         "country": "DE", "vat_id": "DE129273398", "endpoint_scheme": "EM", "endpoint_id": "ap@kunde.example",
         "buyer_reference": "04011000-12345-67", "einvoice_format": "facturx", "invoice_language": "en"}


def _median(call, runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def measure(workdir: Path, *, xml_runs: int = 20, preflight_runs: int = 5, pdf_runs: int = 3) -> dict[str, float]:
    from app import create_app
    from extensions import db
    from models import Business, Invoice, LineItem
    from services.einvoice import from_invoice, rules

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'einvoice.db'}", "WTF_CSRF_ENABLED": True,
                      "HOURBILL_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1"}, instance_path=str(workdir / "instance"))
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        db.create_all()
    client = app.test_client()
    client.post("/register", data={"display_name": "Eva", "email": "eva@example.com", "password": PASSWORD,
                                   "confirm": PASSWORD})
    client.post("/settings/einvoicing", data=SELLER)
    client.post("/customers/new", data=BUYER)
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        business.name = "Muster Consulting GmbH"
        customer_id = db.session.scalar(db.select(db.text("id")).select_from(db.text("customers")))
        db.session.commit()
    invoice_id = int(client.post("/invoices/new", data={"customer_id": customer_id}).headers["Location"].split("/")[-1])
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        invoice.tax_rate = Decimal(19)
        for i in range(200):
            line = LineItem(position=i + 1, description=f"Project {i % 9}: development, week {i % 52}", unit="h",
                            source="manual", vat_category="S" if i % 4 == 0 else None,
                            vat_rate=Decimal(7) if i % 4 == 0 else None)
            line.set_amounts(Decimal(f"{1 + i % 8}.{i % 100:02d}"), 8000 + 25 * (i % 40))
            invoice.lines.append(line)
        db.session.commit()

    figures = {}
    rules.compile_all()
    with app.test_request_context():
        invoice = db.session.get(Invoice, invoice_id)
        figures["preflight"] = _median(lambda: from_invoice.problems(invoice, rules.Format.XRECHNUNG_UBL), preflight_runs)
    assert client.post(f"/invoices/{invoice_id}/send").status_code == 303
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        assert invoice.status == "sent", "the bench invoice did not pass its pre-flight"
        figures["xml"] = _median(lambda: from_invoice.xml(invoice, rules.Format.XRECHNUNG_UBL), xml_runs)

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, response.get_data(as_text=True)[:300]

    get(f"/invoices/{invoice_id}/pdf")  # fonts and WeasyPrint warmed, untimed
    get(f"/invoices/{invoice_id}/einvoice/facturx")
    figures["pdf"] = _median(lambda: get(f"/invoices/{invoice_id}/pdf"), pdf_runs)
    figures["facturx"] = _median(lambda: get(f"/invoices/{invoice_id}/einvoice/facturx"), pdf_runs)
    return figures


def rows(table, workdir: Path) -> None:
    figures = measure(workdir)
    ms = lambda seconds: f"{seconds * 1000:.1f}"  # noqa: E731
    table.section("9. E-invoices, 200 lines (ms, median), in-process")
    table.add("XML (XRechnung UBL) of a sent invoice, from its rows", ms(figures["xml"]), "< 50", figures["xml"] < 0.050)
    table.add("pre-flight, XRechnung UBL rules compiled", ms(figures["preflight"]), "< 1000", figures["preflight"] < 1.0)
    ratio = figures["facturx"] / figures["pdf"]
    table.add(f"Factur-X download vs plain PDF ({ms(figures['facturx'])} vs {ms(figures['pdf'])})", f"{ratio:.2f}x",
              "<= 1.5x", ratio <= 1.5)


def main() -> int:
    from bench.run import Table

    table = Table()
    with tempfile.TemporaryDirectory(prefix="hourbill-bench-einvoice-") as tmp:
        rows(table, Path(tmp))
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
