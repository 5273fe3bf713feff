"""Server time of the dashboard and the invoice list over a large business: 10,000 invoices (200 customers,
two currencies, every status, issued over three years) and 50,000 payments, inserted in bulk into SQLite.
Measured in this process with Flask's test client (as bench/inprocess.py measures the wizard): the time of
one request, handler, queries and template together, as wall time and as this process's CPU time (steadier
on a busy machine: `series.cpu`). Printed, not asserted (`make bench` section 10; alone, with CPU times:
`python -m bench.lists`; on PostgreSQL: `python -m bench.lists postgresql://...` names an EMPTY scratch
database, whose tables it creates, ANALYZEs as autovacuum would, and drops at the end)."""
from __future__ import annotations

import random
import re
import time
from datetime import date, datetime, time as clock, timedelta, timezone
from pathlib import Path

from sqlalchemy import insert, select

from bench.inprocess import PASSWORD, Series
from tests.client import BrowserLikeClient

INVOICES, PAYMENTS, CUSTOMERS = 10_000, 50_000, 200


NOTES = "Thank you for your business. Payment by bank transfer within 30 days, quoting the invoice number."


def _parties(customer: int) -> dict:
    """Who a sent invoice was from and to, as invoicing.mark_sent stores it (a sent invoice's row carries it)."""
    return {"sender": {"business_name": "Bench Studio", "business_address": "1 Main Street\n10115 Berlin\nGermany",
                       "business_email": "billing@bench.example", "tax_id": "DE123456789", "display_name": "Bench",
                       "bank_account_holder": "Bench Studio GmbH", "iban": "DE89370400440532013000",
                       "bic": "COBADEFFXXX"},
            "customer": {"name": f"Customer {customer:03d}", "email": f"accounts{customer}@customer.example",
                         "address": f"{customer} Customer Road\nSpringfield 12345\nUnited States"}}


def _fill(app) -> None:
    """The business's customers, invoices (every fifth a draft; the others with the parties and time they
    were sent with, as mark_sent leaves them) and payments, in a few bulk INSERTs."""
    from extensions import db
    from models import Business, Customer, Invoice, Payment

    rng = random.Random(11)
    today = date.today()
    with app.app_context():
        business_id = db.session.scalar(select(Business.id))
        db.session.execute(insert(Customer), [
            {"business_id": business_id, "name": f"Customer {n:03d}", "currency": "USD" if n % 4 else "EUR"}
            for n in range(CUSTOMERS)])
        customers = db.session.execute(select(Customer.id, Customer.currency)).all()
        invoices = []
        for n in range(INVOICES):
            customer_id, currency = customers[n % len(customers)]
            issued = today - timedelta(days=rng.randrange(3 * 365))
            status = "draft" if n % 5 == 0 else rng.choice(("sent", "partially_paid", "paid", "paid", "void"))
            total = rng.randrange(10_000, 500_000)
            invoices.append({"business_id": business_id, "customer_id": customer_id, "status": status,
                             "number": None if status == "draft" else f"INV-{n:05d}", "issue_date": issued,
                             "due_date": issued + timedelta(days=30), "currency": currency,
                             "total_minor": None if status == "draft" else total, "paid_minor": 0,
                             "notes": NOTES, "parties": None if status == "draft" else _parties(n % len(customers)),
                             "sent_at": None if status == "draft" else datetime.combine(issued, clock(9), timezone.utc)})
        db.session.execute(insert(Invoice), invoices)
        payable = db.session.execute(select(Invoice.id, Invoice.total_minor, Invoice.issue_date, Invoice.currency)
                                     .where(Invoice.status.in_(("partially_paid", "paid")))).all()
        payments, paid = [], {}
        for n in range(PAYMENTS):
            invoice_id, total, issued, currency = payable[n % len(payable)]
            amount = max(1, total // 12)
            paid[invoice_id] = paid.get(invoice_id, 0) + amount
            payments.append({"business_id": business_id, "invoice_id": invoice_id, "currency": currency,
                             "amount_minor": amount,
                             "paid_on": min(today, issued + timedelta(days=rng.randrange(60))), "method": "",
                             "note": ""})
        db.session.execute(insert(Payment), payments)
        for invoice_id, amount in paid.items():  # paid_minor as the payments add up (figures only)
            db.session.execute(Invoice.__table__.update().where(Invoice.id == invoice_id).values(paid_minor=amount))
        db.session.commit()


def run(workdir: Path, runs: int = 50, database_url: str | None = None) -> list[Series]:
    from sqlalchemy import text

    from app import create_app
    from extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{workdir / 'lists.db'}",
                      "SECRET_KEY": "bench-" * 8}, instance_path=str(workdir / "instance"))
    app.test_client_class = BrowserLikeClient
    try:
        with app.app_context():
            db.create_all()
        client = app.test_client()
        assert client.post("/register", data={"display_name": "Bench", "email": "lists@example.com",
                                              "password": PASSWORD, "confirm": PASSWORD}).status_code == 303
        _fill(app)
        if database_url:
            with app.app_context():
                db.session.execute(text("ANALYZE"))
                db.session.commit()
        def following(url: str) -> str:
            html = client.get(url).get_data(as_text=True)
            return re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")

        pages = {"GET / (dashboard)": "/", "GET /invoices/ (first page)": "/invoices/",
                 "GET /invoices/ next page (keyset)": following("/invoices/"),
                 "GET /invoices/?status=overdue": "/invoices/?status=overdue",
                 "GET /invoices/?q=customer 042 (search)": "/invoices/?q=customer+042",
                 "GET /invoices/?sort=customer_asc": "/invoices/?sort=customer_asc",
                 "GET /invoices/?sort=customer_asc next page": following("/invoices/?sort=customer_asc"),
                 "GET /invoices/?sort=customer_desc": "/invoices/?sort=customer_desc",
                 "GET /invoices/?q=customer 042&sort=customer_asc": "/invoices/?q=customer+042&sort=customer_asc",
                 "GET /invoices/?q=INV-0004&sort=customer_desc": "/invoices/?q=INV-0004&sort=customer_desc",
                 # A search that every invoice matches, by customer: the sort reads them all (~20 ms of SQL).
                 "GET /invoices/?q=customer&sort=customer_asc": "/invoices/?q=customer&sort=customer_asc"}
        results = []
        for name, url in pages.items():
            series = Series(name)
            series.cpu = []
            client.get(url)  # warm: templates compiled, pages cached
            for _ in range(runs):
                began, began_cpu = time.perf_counter(), time.process_time()
                response = client.get(url)
                series.server.append(time.perf_counter() - began)
                series.cpu.append(time.process_time() - began_cpu)
                if response.status_code != 200:
                    raise RuntimeError(f"{name}: HTTP {response.status_code}")
            results.append(series)
        export = Series("GET /invoices/?format=csv (all 10,000 rows)")
        for _ in range(3):
            began = time.perf_counter()
            assert client.get("/invoices/?format=csv").get_data(as_text=True).count("\n") == INVOICES + 1
            export.server.append(time.perf_counter() - began)
        return results + [export]
    finally:
        with app.app_context():
            db.session.remove()
            if database_url:
                db.drop_all()
            db.engine.dispose()


if __name__ == "__main__":
    import sys
    import tempfile

    from bench.inprocess import percentile

    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'page':45s} {'wall ms p50 / p95':>18s} {'CPU ms p50 / p95':>18s}")
        for each in run(Path(tmp), database_url=sys.argv[1] if len(sys.argv) > 1 else None):
            cpu = getattr(each, "cpu", None)
            print(f"{each.name:45s} {1000 * each.median:8.1f} / {1000 * each.p95:6.1f}"
                  + (f" {1000 * percentile(cpu, 50):8.1f} / {1000 * percentile(cpu, 95):6.1f}" if cpu else ""))
