"""The dashboard and the invoice list ask the database the same number of questions however many invoices,
customers, lines and payments a business has (no query per row: an N+1 grows with the page, not the
business, so the grown business has more than a page of every kind)."""
from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import event

from extensions import db
from models import Business, Customer, Invoice, LineItem, Payment
from services.invoice_list import PAGE_SIZE

TODAY = datetime.now(timezone.utc).date()
PAGES = ("/", "/invoices/", "/invoices/?sort=customer_asc", "/invoices/?sort=due_asc", "/invoices/?q=work",
         "/invoices/?status=overdue", "/invoices/?status=draft")


def _grow(app, rounds: int) -> None:
    """Each round: a customer with a draft of two lines, a sent invoice overdue, one partly paid (two
    payments) and one paid, issued on days spread so every page holds some of each."""
    with app.app_context():
        business_id = db.session.scalar(db.select(Business.id))
        start = db.session.scalar(db.select(db.func.count(Customer.id)))
        for n in range(start, start + rounds):
            customer = Customer(business_id=business_id, name=f"Customer {n:03d}", currency="USD" if n % 3 else "EUR")
            db.session.add(customer)
            db.session.flush()
            issued = TODAY - timedelta(days=n % 90)
            for kind, (status, paid) in enumerate((("draft", ()), ("sent", ()), ("partially_paid", (1000, 2000)),
                                                    ("paid", (10_000,)))):
                invoice = Invoice(business_id=business_id, customer_id=customer.id, status=status,
                                  issue_date=issued, due_date=issued + timedelta(days=14), currency=customer.currency,
                                  number=None if status == "draft" else f"INV-{n:03d}-{kind}",
                                  total_minor=None if status == "draft" else 10_000, paid_minor=sum(paid))
                db.session.add(invoice)
                db.session.flush()
                for position in (1, 2):
                    line = LineItem(invoice_id=invoice.id, position=position, description=f"Design work {position}")
                    line.set_amounts(Decimal("1.5"), 2000)
                    db.session.add(line)
                for amount in paid:
                    db.session.add(Payment(business_id=business_id, invoice_id=invoice.id, paid_on=issued,
                                           currency=invoice.currency, amount_minor=amount))
        db.session.commit()


@contextmanager
def _counting(app):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _queries(app, client, url: str) -> int:
    with _counting(app) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements)


def test_each_page_asks_as_many_queries_for_a_business_of_2_or_60_customers(app, client, logged_in):
    _grow(app, 2)
    small = {url: _queries(app, client, url) for url in PAGES}
    _grow(app, 58)  # 240 invoices: several pages of each order
    first = client.get("/invoices/").get_data(as_text=True)
    assert len(re.findall(r'<tr data-invoice="\d+"', first)) == PAGE_SIZE
    following = re.search(r'<a href="([^"]+)" rel="next">', first).group(1).replace("&amp;", "&")
    grown = {url: _queries(app, client, url) for url in PAGES}
    assert grown == small
    assert _queries(app, client, following) == grown["/invoices/"]  # the next page: as many as the first
    assert max(grown.values()) <= 12, grown
