"""The payments migration: every invoice that left draft gets its total as it was sent, each paid one a
payment of that total on the day it was marked paid, and the downgrade gives the old statuses back."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy
from flask_migrate import downgrade

from extensions import db
from tests.migrating import migrated_from

BEFORE_PAYMENTS = "5c2d8e7f1a93"


def _fill(connection):
    metadata = sqlalchemy.MetaData()
    metadata.reflect(connection)
    t = metadata.tables
    at = datetime(2026, 11, 1, 9, 0)
    connection.execute(t["users"].insert(), [dict(id=1, email="ada@example.com", password_hash="x", display_name="",
                                                  time_zone="UTC", created_at=at)])
    connection.execute(t["businesses"].insert(), [dict(
        id=1, name="Ada", address="", email="", tax_id="", default_currency="EUR", default_tax_rate=19000,
        invoice_prefix="A-", next_invoice_number=5, payment_terms_days=14, require_two_factor=False, created_at=at)])
    connection.execute(t["customers"].insert(), [dict(id=10, business_id=1, name="C", email="", address="",
                                                      currency="EUR", created_at=at)])
    statuses = {100: "draft", 101: "sent", 102: "paid", 103: "void", 104: "paid"}
    connection.execute(t["invoices"].insert(), [dict(
        id=invoice_id, business_id=1, customer_id=10, number=None if status == "draft" else f"A-{invoice_id}",
        status=status, issue_date=date(2026, 10, 1), due_date=date(2026, 10, 15), currency="EUR", notes="",
        # 19% tax on 180.00 less a 10.00 discount: 170.00 + 32.30
        tax_rate=19000, discount_minor=1000, created_at=at, sent_at=None if status == "draft" else at,
        paid_at=datetime(2026, 10, 20, 23, 30) if invoice_id == 102 else None)
        for invoice_id, status in statuses.items()])
    connection.execute(t["line_items"].insert(), [dict(
        invoice_id=invoice_id, position=position, description="Work", quantity=10000, unit="h", rate_minor=9000,
        amount_minor=9000, source="manual") for invoice_id in statuses for position in (1, 2)])


def test_upgrade_gives_totals_and_a_payment_to_each_paid_invoice_and_downgrade_undoes_it(tmp_path, database_url):
    with migrated_from(tmp_path, database_url, BEFORE_PAYMENTS, _fill):
        with db.engine.connect() as connection:
            invoices = connection.execute(sqlalchemy.text(
                "SELECT id, status, total_minor, paid_minor FROM invoices ORDER BY id")).all()
            paid = connection.execute(sqlalchemy.text(
                "SELECT invoice_id, business_id, paid_on, amount_minor, method FROM payments ORDER BY invoice_id")).all()
            business = connection.execute(sqlalchemy.text(
                "SELECT invoice_number_format, number_restarts_yearly, invoice_number_year FROM businesses")).one()
        assert [tuple(row) for row in invoices] == [(100, "draft", None, 0), (101, "sent", 20230, 0),
                                                    (102, "paid", 20230, 20230), (103, "void", 20230, 0),
                                                    (104, "paid", 20230, 20230)]
        assert [(row[0], row[1], str(row[2]), row[3], row[4]) for row in paid] == [
            (102, 1, "2026-10-20", 20230, "recorded before payments existed"),
            (104, 1, "2026-11-01", 20230, "recorded before payments existed")]  # no paid_at: the day it was sent
        assert (business[0], bool(business[1]), business[2]) == ("{seq:04}", False, None)

        with pytest.raises(sqlalchemy.exc.IntegrityError), db.engine.begin() as connection:
            connection.execute(sqlalchemy.text("UPDATE invoices SET status = 'unpaid' WHERE id = 101"))
        with db.engine.begin() as connection:  # the status the CHECK now allows, 14 characters long
            connection.execute(sqlalchemy.text("UPDATE invoices SET status = 'partially_paid' WHERE id = 101"))
        downgrade(revision=BEFORE_PAYMENTS)
        with db.engine.connect() as connection:
            statuses = connection.execute(sqlalchemy.text("SELECT status FROM invoices ORDER BY id")).scalars().all()
            assert "payments" not in db.inspect(connection).get_table_names()
        assert statuses == ["draft", "sent", "paid", "void", "paid"]
