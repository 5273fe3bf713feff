"""PDF render time by invoice length, and the HOURBILL_PDF_MAX_LINES refusal: `python -m bench.pdf`.

In this process with Flask's test client (SQLite in a temporary directory): a euro invoice with payment
details (so the EPC QR code is drawn) of 200 and 1,000 lines, each PDF timed `runs` times after one
untimed PDF (WeasyPrint's import, fonts); wall and CPU seconds, median and (CPU) least of the runs (the least
CPU is the steadiest figure on a busy machine: compare changes by it), the pages, and the process's peak RSS afterwards. Then an invoice one line past the limit: the refusal's
time and answer. `--lines` adds lengths (e.g. `--lines 3000` to see how the time grows); `--without-speedups` times WeasyPrint's
own functions instead of services/pdf.py's per-style overrides (install_speedups), to compare the two."""
from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.inprocess import PASSWORD, add_lines, new_invoice



def make(workdir: Path):
    from app import create_app
    from extensions import db
    from tests.client import BrowserLikeClient

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'app.db'}", "SECRET_KEY": "bench-" * 8},
                     instance_path=str(workdir / "instance"))
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        db.create_all()
    client = app.test_client()
    for url, data in (("/register", {"display_name": "Bench", "email": "bench@example.com", "password": PASSWORD,
                                     "confirm": PASSWORD}),
                      ("/settings/payment/", {"bank_account_holder": "Bench GmbH", "iban": "DE89370400440532013000",
                                              "bic": "COBADEFFXXX"}),
                      ("/customers/new", {"name": "Northwind", "currency": "EUR"})):
        assert client.post(url, data=data).status_code == 303, url
    return app, client


def invoice_with(app, client, lines: int) -> int:
    """A sent invoice of `lines` lines of imported shape (bench.inprocess.add_lines)."""
    from extensions import db
    from models import Customer

    with app.app_context():
        customer_id = db.session.scalar(db.select(Customer.id))
    invoice_id = new_invoice(client, customer_id)
    add_lines(app, invoice_id, lines)
    assert client.post(f"/invoices/{invoice_id}/send").status_code == 303
    return invoice_id


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_pdfs(app, client, lines: int, runs: int) -> dict:
    from pypdf import PdfReader
    import io

    invoice_id = invoice_with(app, client, lines)
    walls, cpus = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        response = client.get(f"/invoices/{invoice_id}/pdf")
        walls.append(time.perf_counter() - began)
        cpus.append(time.process_time() - began_cpu)
        assert response.status_code == 200 and response.data.startswith(b"%PDF"), response.status_code
    pages = len(PdfReader(io.BytesIO(response.data)).pages)
    return {"lines": lines, "wall": statistics.median(walls), "cpu": statistics.median(cpus), "cpu_min": min(cpus),
            "pages": pages, "rss": peak_rss_mb()}


def refusal(app, client) -> tuple[float, int, str]:
    limit = app.config["HOURBILL_PDF_MAX_LINES"]
    invoice_id = invoice_with(app, client, limit + 1)
    began = time.perf_counter()
    response = client.get(f"/invoices/{invoice_id}/pdf")
    seconds = time.perf_counter() - began
    page = client.get(response.headers.get("Location", "/")).get_data(as_text=True)
    said = "says why" if "more than the" in page and "a PDF can hold here" in page else "NO MESSAGE"
    return seconds, response.status_code, said


def measure(lines: list[int], runs: int) -> tuple[list[dict], tuple[float, int, str], int]:
    with tempfile.TemporaryDirectory(prefix="hourbill-bench-pdf-") as tmp:
        app, client = make(Path(tmp))
        client.get(f"/invoices/{invoice_with(app, client, 5)}/pdf")  # imports WeasyPrint, loads the fonts
        results = [time_pdfs(app, client, count, runs) for count in lines]
        refused = refusal(app, client)
        limit = app.config["HOURBILL_PDF_MAX_LINES"]
        from extensions import db
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    return results, refused, limit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pdf", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed PDFs per length (median; default 3)")
    parser.add_argument("--lines", type=int, nargs="*", default=[], help="more lengths to time")
    parser.add_argument("--without-speedups", action="store_true", help="WeasyPrint's own functions only")
    args = parser.parse_args(argv)
    if args.without_speedups:
        from services.pdf import install_speedups
        install_speedups(False)
    results, (seconds, status, said), limit = measure([200, 1000, *args.lines], args.runs)
    targets = {200: 1.0, 1000: 5.0}
    print(f"{'PDF of':<28}{'wall s':>8}{'CPU s':>8}{'min':>7}{'ms/line':>9}{'pages':>7}{'peak RSS':>10}  target")
    for row in results:
        target = targets.get(row["lines"])
        verdict = "" if target is None else f"< {target:g} s {'ok' if row['wall'] < target else 'MISSED'}"
        print(f"{row['lines']:>6,} lines{'':<16}{row['wall']:>8.2f}{row['cpu']:>8.2f}{row['cpu_min']:>7.2f}"
              f"{1000 * row['cpu'] / row['lines']:>9.2f}{row['pages']:>7}{row['rss']:>7.0f} MB  {verdict}")
    print(f"{limit + 1:,} lines (HOURBILL_PDF_MAX_LINES={limit:,}): HTTP {status} in {1000 * seconds:.0f} ms, "
          f"the invoice page {said}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
