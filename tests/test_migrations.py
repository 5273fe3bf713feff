"""The migrations build exactly the schema models.py describes, from an empty database, and move every row a
user had through each change and back."""
from datetime import date, datetime, timezone
import logging

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from extensions import db
from services import invoicing
from tests.migrating import migrated_from, migrating, rows as _rows, tables as _tables, upgrade_empty

BEFORE_BUSINESSES = "a7c3e1f09b42"  # the head before businesses owned the data
BEFORE_PAGER_COLUMNS = "c0a7e11e6a01"  # the head before the preview's pager left its filters
BEFORE_PAYMENTS = "5c2d8e7f1a93"  # the head before payments (and before the e-invoice columns)
BEFORE_LINE_CREDITS = "c4e7d2a1b803"  # the head before a line knew what its credit notes credited of it
BEFORE_PAYMENT_CURRENCY = "f3a9c1d7e5b2"  # the head before a payment kept its invoice's currency


def test_upgrade_from_empty_matches_the_models(tmp_path, database_url):
    """An empty database (a new install) upgraded through every revision has the models' schema. Its
    downgrade is walked with rows in it, down to an empty database: the test below."""
    with migrating(tmp_path, database_url):
        # Through the revisions other tests fill at, kept on the way (tests/migrating.py): the same walk.
        upgrade_empty(database_url, BEFORE_BUSINESSES)
        upgrade_empty(database_url, BEFORE_PAYMENTS)
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        # An upgrade inside a running app leaves the app's loggers working (migrations/env.py)
        assert not logging.getLogger("services.clockify").disabled


# A preview paged through three windows, stopped at the second page of the second: its pager in its filters,
# as the code before BEFORE_PAGER_COLUMNS kept it (revisions up to that one copy filters as they are).
ASKED = {"workspace_id": "w", "start": "2025-01-01", "end": "2025-03-31", "plan": "FREE"}
PIECES = [["2025-01-01", "2025-01-31"], ["2025-02-01", "2025-03-03"], ["2025-03-04", "2025-03-31"]]


def _fill_as_of_before_businesses(connection):
    """Two users with everything a user could own at that revision, written as that schema was."""
    from datetime import date, datetime

    t = _tables(connection)
    at = datetime(2026, 11, 30, 12, 0)
    profile = dict(display_name="", time_zone="UTC", created_at=at, business_address="1 Road",
                   business_email="bill@example.com", tax_id="DE1", default_currency="EUR",
                   default_hourly_rate_minor=9000, default_tax_rate=19000, invoice_prefix="A-",
                   next_invoice_number=3, payment_terms_days=14)
    connection.execute(t["users"].insert(), [
        dict(id=1, email="ada@example.com", password_hash="x", business_name="Ada Studio", **profile),
        dict(id=2, email="bob@example.com", password_hash="x", business_name="Bob & Co", **profile),
    ])
    connection.execute(t["user_sessions"].insert(), [dict(id="s" * 64, user_id=1, created_at=at, last_seen_at=at,
                                                          user_agent="")])
    connection.execute(t["customers"].insert(), [
        dict(id=10 + user, user_id=user, name=f"Customer of {user}", email="", address="", currency="EUR",
             created_at=at, import_options={"grouping": "project"}) for user in (1, 2)])
    # Both users numbered their invoices: unique per user then, per business now.
    connection.execute(t["invoices"].insert(), [
        dict(id=100 + 10 * user + n, user_id=user, customer_id=10 + user, number=f"A-{n}",
             status="sent", issue_date=date(2026, 11, 1), due_date=date(2026, 11, 15), currency="EUR",
             notes="", tax_rate=19000, discount_minor=0, created_at=at, parties={"sender": {"name": "x"}})
        for user in (1, 2) for n in (1, 2)])
    connection.execute(t["line_items"].insert(), [
        dict(id=1000 + invoice, invoice_id=invoice, position=1, description="Work", quantity=20000, unit="h",
             rate_minor=9000, amount_minor=18000, source="clockify") for invoice in (111, 112, 121, 122)])
    connection.execute(t["clockify_connections"].insert(), [
        dict(id=50 + user, user_id=user, name="Clockify", description="", region="global", key_id="k1",
             key_nonce=b"n" * 12, key_ciphertext=b"c" * 40, key_last4="abcd", clockify_user_id="u",
             clockify_user_name="U", clockify_user_email="u@example.com", status="active", created_at=at)
        for user in (1, 2)])
    connection.execute(t["clockify_cache"].insert(), [dict(connection_id=51, key="workspaces", payload=[],
                                                           fetched_at=at)])
    connection.execute(t["clockify_currency_labels"].insert(), [dict(connection_id=51, workspace_id="w",
                                                                     label="EURO", currency="EUR")])
    connection.execute(t["import_previews"].insert(), [
        dict(id=70, token="t" * 43, user_id=1, invoice_id=111, connection_id=51, workspace_id="w",
             filters={**ASKED, "windows": PIECES, "cursor": [1, 2]},
             entry_count=1, pages_loaded=1, complete=True, created_at=at)])
    connection.execute(t["import_preview_pages"].insert(), [dict(preview_id=70, number=1, entries=[{"id": "e1"}])])
    # The same Clockify entry billed once by each user.
    connection.execute(t["imported_entries"].insert(), [
        dict(user_id=user, invoice_id=100 + 10 * user + 1, line_item_id=1000 + 100 + 10 * user + 1,
             workspace_id="w", entry_id="e1", seconds=7200, rate_minor=9000) for user in (1, 2)])


def test_upgrade_keeps_every_row_makes_each_user_the_owner_and_the_downgrade_gives_them_back(tmp_path,
                                                                                             database_url):
    """One migrated database for every check (each built the chain anew): the rows after the upgrade, the
    pager moved into its columns, the e-invoice columns and the totals, a business made after it (rolled
    back, so the downgrade sees the upgraded rows only), then the downgrade step by step: before payments
    (the e-invoice columns gone), before the pager columns (the pager back in the filters), before
    businesses (every row as it was filled) and to an empty database (no table left)."""
    from models import Business, Invoice

    with migrated_from(tmp_path, database_url, BEFORE_BUSINESSES, _fill_as_of_before_businesses,
                       stops=(BEFORE_LINE_CREDITS, BEFORE_PAYMENT_CURRENCY)) as before:
        with db.engine.connect() as connection:
            after = _rows(connection)
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        for invoice in db.session.scalars(db.select(Invoice)):  # 2 h at 90.00, 19% tax, as before
            assert (invoicing.totals(invoice).tax, invoicing.totals(invoice).total) == (3420, 21420)
        business = Business(name="New")  # a business made after the upgrade gets a new id
        db.session.add(business)
        db.session.flush()
        assert business.id == 3
        db.session.rollback()
        db.session.remove()
        downgraded = {}
        for revision, names in ((BEFORE_PAYMENTS, ("businesses", "line_items")),
                                (BEFORE_PAGER_COLUMNS, ("import_previews",)), (BEFORE_BUSINESSES, ())):
            downgrade(revision=revision)
            with db.engine.connect() as connection:
                downgraded[revision] = _rows(connection, *names)
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(db.inspect(connection).get_table_names()) <= {"alembic_version"}
    for name in before:  # the downgrade gives the rows back to their owner
        assert downgraded[BEFORE_BUSINESSES][name] == before[name], name

    for name, rows in before.items():
        assert len(after[name]) == len(rows), name
    businesses = {row["id"]: row for row in after["businesses"]}
    assert {row["name"] for row in businesses.values()} == {"Ada Studio", "Bob & Co"}
    ada = businesses[1]
    assert (ada["address"], ada["email"], ada["tax_id"], ada["default_currency"], ada["default_hourly_rate_minor"],
            ada["default_tax_rate"], ada["invoice_prefix"], ada["next_invoice_number"], ada["payment_terms_days"]) \
        == ("1 Road", "bill@example.com", "DE1", "EUR", 9000, 19000, "A-", 3, 14)
    assert [(m["user_id"], m["business_id"], m["role"]) for m in after["memberships"]] == [(1, 1, "owner"),
                                                                                         (2, 2, "owner")]
    old_owner = {name: {row["id"]: row["user_id"] for row in before[name]}
                 for name in ("customers", "invoices", "clockify_connections", "import_previews")}
    for name, owners in old_owner.items():
        assert {row["id"]: row["business_id"] for row in after[name]} == owners, name
    assert {row["id"]: row["created_by_user_id"] for row in after["clockify_connections"]} == {51: 1, 52: 2}
    assert not any(row["shared"] for row in after["clockify_connections"])
    assert [(row["business_id"], row["number"], row["customer_id"]) for row in after["invoices"]] == \
        [(1, "A-1", 11), (1, "A-2", 11), (2, "A-1", 12), (2, "A-2", 12)]
    assert [(row["business_id"], row["line_item_id"], row["entry_id"]) for row in after["imported_entries"]] == \
        [(1, 1111, "e1"), (2, 1121, "e1")]
    for name in ("line_items", "clockify_cache", "clockify_currency_labels", "import_preview_pages", "user_sessions"):
        # every row with every value it had (columns later revisions add are new, e.g. import_preview_pages.planned)
        assert [{column: row[column] for column in old} for row, old in zip(after[name], before[name])] \
            == before[name] and len(after[name]) == len(before[name]), name
    assert "business_name" not in after["users"][0]
    assert after["customers"][0]["import_options"] == {"grouping": "project"}

    # The pager moves out of the filters into its columns, and back.
    (preview,) = after["import_previews"]
    assert (preview["filters"], preview["windows"], preview["cursor_window"], preview["cursor_page"],
            bool(preview["per_member"])) == (ASKED, PIECES, 1, 2, False)
    (preview,) = downgraded[BEFORE_PAGER_COLUMNS]["import_previews"]
    assert preview["filters"] == {**ASKED, "windows": PIECES, "cursor": [1, 2]} and "windows" not in preview

    # The e-invoice columns keep the free-text addresses (to be completed) and every total; gone on the way down.
    assert (ada["address"], ada["tax_id"], ada["address_line1"], ada["country"], ada["vat_id"]) == (
        "1 Road", "DE1", "", "", "")
    assert {(row["einvoice_format"], row["invoice_language"], row["buyer_reference"])
            for row in after["customers"]} == {("none", "en", "")}
    assert {(row["vat_category"], row["vat_exemption_reason"]) for row in after["invoices"]} == {("S", "")}
    assert {row["vat_category"] for row in after["line_items"]} == {None}
    before_payments = downgraded[BEFORE_PAYMENTS]
    assert before_payments["businesses"][0]["address"] == "1 Road" and "vat_id" not in before_payments["businesses"][0]
    assert "vat_category" not in before_payments["line_items"][0]


def test_the_lines_of_invoices_credited_before_the_upgrade_count_their_credit_notes(tmp_path, database_url):
    with migrated_from(tmp_path, database_url, BEFORE_BUSINESSES, _fill_as_of_before_businesses,
                       to=BEFORE_LINE_CREDITS):
        with db.engine.begin() as connection:
            tables = _tables(connection, "invoices", "line_items")
            invoices, lines = tables["invoices"], tables["line_items"]
            original = dict(connection.execute(invoices.select().where(invoices.c.id == 111)).mappings().one())
            # Invoice 111 (one line "Work" of 180.00) partly credited by a note of its own line, 112 in full.
            connection.execute(invoices.insert(), [{**original, "id": 131, "kind": "credit_note", "number": "CN-1",
                                                    "corrects_invoice_id": 111, "status": "issued", "view_token": None}])
            connection.execute(lines.insert(), [dict(id=2000, invoice_id=131, position=1, description="Work",
                                                     quantity=5000, unit="h", rate_minor=9000, amount_minor=4500,
                                                     source="manual")])
            connection.execute(invoices.update().where(invoices.c.id == 111).values(credited_minor=4500))
            connection.execute(invoices.update().where(invoices.c.id == 112).values(status="credited",
                                                                                     credited_minor=18000))
        upgrade()
        with db.engine.connect() as connection:
            credited = {row["id"]: row["credited_minor"] for row in _rows(connection, "line_items")["line_items"]}
        assert credited == {1111: 4500, 1112: 18000, 1121: 0, 1122: 0, 2000: 0}


def test_payments_recorded_before_the_upgrade_take_their_invoices_currency(tmp_path, database_url):
    with migrated_from(tmp_path, database_url, BEFORE_BUSINESSES, _fill_as_of_before_businesses,
                       to=BEFORE_PAYMENT_CURRENCY):
        with db.engine.begin() as connection:
            tables = _tables(connection, "invoices", "payments")
            invoices, payments = tables["invoices"], tables["payments"]
            connection.execute(invoices.update().where(invoices.c.id == 112).values(currency="JPY"))
            connection.execute(payments.insert(), [
                dict(id=1, business_id=1, invoice_id=111, paid_on=date(2026, 1, 5), amount_minor=500, method="",
                     note="", created_at=datetime(2026, 1, 5, tzinfo=timezone.utc)),
                dict(id=2, business_id=1, invoice_id=112, paid_on=date(2026, 1, 6), amount_minor=700, method="",
                     note="", created_at=datetime(2026, 1, 6, tzinfo=timezone.utc))])
            currencies = dict(connection.execute(sqlalchemy.select(invoices.c.id, invoices.c.currency)).all())
        upgrade()
        with db.engine.connect() as connection:
            paid_in = {row["invoice_id"]: row["currency"] for row in _rows(connection, "payments")["payments"]}
    assert paid_in == {111: currencies[111], 112: "JPY"} and currencies[111] not in ("", "JPY")
