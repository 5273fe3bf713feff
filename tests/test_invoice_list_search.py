"""Searching the invoice list by a customer's name reads the matching customers as one subquery (speed):
the rows and the totals are those of this business's matching customers, never another business's
customer of the same name."""
from __future__ import annotations

from datetime import timedelta

from extensions import db
from models import Business, Customer, Invoice
from tests.clock import today  # noqa: F401  (fixture)
from tests.test_invoice_list import books, listed, totals_row  # noqa: F401  (books: fixture)


def test_search_by_customer_name_lists_and_totals_that_customer_only(app, client, books, today):  # noqa: F811
    with app.app_context():  # another business with an "Acme" of its own and a sent invoice
        other = Business(name="Elsewhere")
        db.session.add(other)
        db.session.flush()
        acme = Customer(business_id=other.id, name="Acme Elsewhere", currency="USD")
        db.session.add(acme)
        db.session.flush()
        db.session.add(Invoice(business_id=other.id, customer_id=acme.id, number="ELSE-1", status="sent",
                               issue_date=today, due_date=today + timedelta(days=30), currency="USD",
                               total_minor=77_700, paid_minor=0))
        db.session.commit()
    html = client.get("/invoices/?q=ACME").get_data(as_text=True)
    assert sorted(listed(html)) == ["Draft", "INV-0001", "INV-0002"]
    # Acme's two sent invoices: 100 + 40 invoiced, 50 + 40 paid, 50 outstanding; the draft counts nowhere.
    assert totals_row(html, "USD") == ["2", "$140.00", "$90.00", "$50.00"]
    assert totals_row(html, "EUR") == []
    assert "$777" not in html
