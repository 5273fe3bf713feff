"""The invoice list as a person uses it: search (number, customer, line text), filters (status with
overdue, customer, issue dates), orders, pages that never repeat or skip an invoice, totals per currency
(outstanding apart from paid, drafts left out) and a CSV of what is filtered that a spreadsheet cannot
run as formulas."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import String, cast, event, update

from extensions import db
from models import Business, Invoice
from services import invoice_list, payments
from services.invoice_list import PAGE_SIZE, safe_cell
from tests.clock import a_day_on, today  # noqa: F401  (fixtures)
from tests.prepared import Prepared


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def listed(html: str) -> list[str]:
    """The number (or "Draft") of each row, in order."""
    return re.findall(r'<tr data-invoice="\d+">\s*<td[^>]*><a href="/invoices/\d+">([^<]+)</a>', html)


def totals_row(html: str, currency: str) -> list[str]:
    row = re.search(rf'<tr data-currency="{currency}">(.*?)</tr>', html, re.S)
    return re.findall(r'<td class="num"[^>]*>([^<]+)</td>', row.group(1)) if row else []


def _sent(accounts, client, customer_id, rate, description="Design work", issued=None, due=None) -> int:
    invoice_id = accounts.invoice(customer_id)
    accounts.line(invoice_id, description=description, quantity="1", rate=rate)
    if issued:
        assert client.post(f"/invoices/{invoice_id}/details", data={
            "issue_date": issued.isoformat(), "due_date": due.isoformat(), "tax_rate": "0", "discount": "0",
            "notes": ""}).status_code == 303
    assert client.post(f"/invoices/{invoice_id}/send").status_code == 303
    return invoice_id


BOOKS = Prepared()


@pytest.fixture
def books(app, client, logged_in, today, tmp_path_factory):
    """INV-0001 Acme 100 USD overdue, half paid; INV-0002 Acme 40 USD paid; INV-0003 =HYPERLINK Ltd 70 EUR
    open, issued a month ago; a USD draft for Acme (999); INV-0004 Bistro 20 USD void. Made through the
    pages once for a day, then copied (tests/prepared.py)."""
    kept = BOOKS.restore(app, client, made_for=today)
    if kept is not None:
        return kept
    acme = logged_in.customer("Acme", "USD")
    formula = logged_in.customer("=HYPERLINK(\"http://evil.example\")", "EUR")
    bistro = logged_in.customer("Bistro", "USD")
    ids = {"late": _sent(logged_in, client, acme, "100", "Logo sketches", today - timedelta(days=20),
                         today - timedelta(days=5)),
           "paid": _sent(logged_in, client, acme, "40", "Hosting"),
           "euro": _sent(logged_in, client, formula, "70", "Workshop", today - timedelta(days=31),
                         today + timedelta(days=10))}
    ids["draft"] = logged_in.invoice(acme)
    logged_in.line(ids["draft"], description="Unsent idea", quantity="1", rate="999")
    ids["void"] = _sent(logged_in, client, bistro, "20", "Menu")
    assert client.post(f"/invoices/{ids['void']}/void").status_code == 303
    assert client.post(f"/invoices/{ids['paid']}/paid").status_code == 303
    with app.app_context():
        payments.record_payment(db.session.get(Invoice, ids["late"]), paid_on=today, amount_minor=5000, method="",
                                note="", by=None, today=today)
        db.session.commit()
    ids.update(acme=acme, formula=formula)
    BOOKS.keep(app, client, today, ids, tmp_path_factory)
    return ids


def test_totals_per_currency_separate_outstanding_from_paid_and_leave_drafts_and_void_out(client, books):
    html = client.get("/invoices/").get_data(as_text=True)
    assert sorted(listed(html)) == ["Draft", "INV-0001", "INV-0002", "INV-0003", "INV-0004"]
    # USD: invoiced 100 + 40, paid 50 + 40, outstanding 50; the draft's 999 and the void 20 count nowhere.
    assert totals_row(html, "USD") == ["2", "$140.00", "$90.00", "$50.00"]
    assert totals_row(html, "EUR") == ["1", "€70.00", "€0.00", "€70.00"]
    assert "$999" not in words(html).split("Totals of every invoice")[1]


def test_search_finds_by_number_customer_and_line_text(client, books):
    assert listed(client.get("/invoices/?q=inv-0002").get_data(as_text=True)) == ["INV-0002"]
    assert sorted(listed(client.get("/invoices/?q=acme").get_data(as_text=True))) == ["Draft", "INV-0001", "INV-0002"]
    assert listed(client.get("/invoices/?q=sketches").get_data(as_text=True)) == ["INV-0001"]
    assert listed(client.get("/invoices/?q=100%25").get_data(as_text=True)) == []  # % is a character, not a wildcard
    assert "No invoices match" in client.get("/invoices/?q=nothing-like-it").get_data(as_text=True)


@pytest.mark.usefixtures("a_day_on")  # the run crossed midnight UTC after this module was imported
def test_filters_by_status_including_overdue_customer_and_issue_dates(client, books, today):
    def numbers(**query):
        response = client.get("/invoices/", query_string=query)
        assert response.status_code == 200
        return sorted(listed(response.get_data(as_text=True)))

    assert numbers(status="overdue") == ["INV-0001"]
    assert numbers(status="partially_paid") == ["INV-0001"]
    assert numbers(status="paid") == ["INV-0002"]
    assert numbers(status="draft") == ["Draft"]
    assert numbers(status="void") == ["INV-0004"]
    assert numbers(customer=books["formula"]) == ["INV-0003"]
    assert numbers(issued_from=(today - timedelta(days=25)).isoformat(), issued_to=today.isoformat()) == \
        ["Draft", "INV-0001", "INV-0002", "INV-0004"]
    overdue = client.get("/invoices/?status=overdue").get_data(as_text=True)
    assert totals_row(overdue, "USD") == ["1", "$100.00", "$50.00", "$50.00"] and "overdue" in words(overdue)


def test_sorting_orders_the_rows(client, books):
    def order(sort):
        return listed(client.get(f"/invoices/?sort={sort}").get_data(as_text=True))

    assert order("issued_asc")[0] == "INV-0003"  # issued a month ago
    assert order("due_asc")[0] == "INV-0001"  # due five days ago
    assert order("customer_asc")[0] == "INV-0003" and order("customer_desc")[0] == "INV-0004"  # "=HYP..." < "Acme"


def test_bad_filters_are_messages_at_their_fields_never_an_error(client, books, today):
    for query, said in [("status=lost", "Not a valid choice"), ("issued_from=yesterday", "Not a valid date"),
                        (f"issued_from={today}&issued_to={today - timedelta(days=1)}", "swap the dates"),
                        ("q=" + "x" * 300, "at most 200"), ("sort=price", "Not a valid choice"),
                        ("customer=999999", "Not a valid choice")]:
        response = client.get(f"/invoices/?{query}")
        assert response.status_code == 422 and said in response.get_data(as_text=True), query
    stale = client.get("/invoices/?after=not-a-cursor", follow_redirects=True)
    assert stale.status_code == 200 and "out of date" in stale.get_data(as_text=True)


def test_pages_follow_one_another_without_repeating_or_skipping_an_invoice(app, client, logged_in, today):
    customer_id = logged_in.customer("Acme", "USD")
    with app.app_context():
        business_id = db.session.scalar(db.select(Business.id))
        for day in range(PAGE_SIZE * 2 + 7):  # several invoices share an issue date: ties go by id
            db.session.add(Invoice(business_id=business_id, customer_id=customer_id, status="draft",
                                   issue_date=today - timedelta(days=day // 3), due_date=today, currency="USD"))
        db.session.commit()
        expected = [row.id for row in db.session.execute(db.select(Invoice.id).order_by(Invoice.issue_date.desc(),
                                                                                        Invoice.id.desc()))]
    seen, url = [], "/invoices/"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(each) for each in re.findall(r'<tr data-invoice="(\d+)">', html)]
        following = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = following.group(1).replace("&amp;", "&") if following else None
        if len(seen) == PAGE_SIZE:  # an invoice added while paging appears on no page twice
            logged_in.invoice(customer_id)
    assert seen == expected


def test_csv_export_has_every_filtered_invoice_and_no_formula(client, books):
    response = client.get("/invoices/?format=csv&status=&q=&customer=" + str(books["formula"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["Number", "Customer", "Issue date"] and len(rows) == 2
    number, customer = rows[1][0], rows[1][1]
    assert number == "INV-0003" and customer == "'=HYPERLINK(\"http://evil.example\")"
    assert rows[1][4:] == ["sent", "EUR", "70.00", "0.00", "70.00"]
    everything = list(csv.reader(io.StringIO(client.get("/invoices/?format=csv").get_data(as_text=True))))
    assert len(everything) == 1 + 5
    assert any(row[0] == "INV-0001" and row[4] == "overdue" and row[-1] == "50.00" for row in everything)


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_that_a_spreadsheet_would_run_is_kept_as_text(text):
    assert safe_cell(text) == "'" + text and safe_cell("Acme") == "Acme"


def test_another_business_lists_none_of_it(client, books, accounts):
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    assert listed(client.get("/invoices/").get_data(as_text=True)) == []
    rows = list(csv.reader(io.StringIO(client.get("/invoices/?format=csv").get_data(as_text=True))))
    assert len(rows) == 1
    assert client.get(f"/invoices/?customer={books['acme']}").status_code == 422  # not one of Bob's customers


def test_the_customer_filter_is_written_as_wtforms_writes_a_select(app):
    """QuickSelect (the list's customer filter, fast for many customers) gives WTForms' own markup: names
    escaped, the chosen one selected, the field's attributes kept."""
    from wtforms import Form, SelectChoice, SelectField

    from blueprints.forms import QuickSelect

    choices = [SelectChoice("", "Any customer"), SelectChoice("7", 'Acme <"&> Ltd'), SelectChoice("8", "Bistro")]

    class Plain(Form):
        customer = SelectField("Customer", choices=choices)

    class Quick(Form):
        customer = SelectField("Customer", choices=choices, widget=QuickSelect())

    for chosen in ("", "7"):
        plain, quick = Plain(data={"customer": chosen}), Quick(data={"customer": chosen})
        assert str(quick.customer(**{"aria-invalid": "true"})) == str(plain.customer(**{"aria-invalid": "true"}))
    assert '<option selected value="7">Acme &lt;&#34;&amp;&gt; Ltd</option>' in str(quick.customer())


def _walk(client, url: str) -> list[int]:
    """The invoice ids of every page, following "Next page" from url."""
    seen = []
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [int(each) for each in re.findall(r'<tr data-invoice="(\d+)">', html)]
        following = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = following.group(1).replace("&amp;", "&") if following else None
    return seen


def test_pages_by_customer_list_every_invoice_once_in_name_order_with_ties_by_customer(app, client, logged_in,
                                                                                     today):
    """Two customers of one name (in other case) keep their invoices together, in the order the customers
    were added; a "|" in a name does not confuse the page link; both directions, over three pages."""
    names = ["acme", "Tom | Jerry", "ACME", "Bistro", "tom | jerry"]
    ids = {logged_in.customer(name, "USD"): name for name in names}
    with app.app_context():
        business_id = db.session.scalar(db.select(Business.id))
        for n in range(PAGE_SIZE * 2 + 13):  # each customer's invoices interleaved with the others' by id
            db.session.add(Invoice(business_id=business_id, customer_id=list(ids)[n % len(ids)], status="draft",
                                   issue_date=today, due_date=today, currency="USD"))
        db.session.commit()
        rows = db.session.execute(db.select(Invoice.id, Invoice.customer_id)).all()
    expected = [invoice for invoice, customer in sorted(rows, key=lambda row: (ids[row[1]].lower(), row[1], row[0]))]
    assert _walk(client, "/invoices/?sort=customer_asc") == expected
    assert _walk(client, "/invoices/?sort=customer_desc") == expected[::-1]
    # A link of another order or version, or a hand-made one (a superscript digit is a digit to str.isdigit
    # but no number to int).
    for stale in ("acme|12", f"{today.isoformat()}|12", "acme|x|12", "acme|\u00b2|12"):
        html = client.get(f"/invoices/?sort=customer_asc&after={stale}").get_data(as_text=True)
        listed_ids = [int(each) for each in re.findall(r'<tr data-invoice="(\d+)">', html)]
        assert "out of date" in html and listed_ids == expected[:PAGE_SIZE], stale


def _plans(app, client, first: str, *, next_page: bool = False) -> list[str]:
    """SQLite's plan of each page's rows query the list page asks (`first`, and its next page if asked)."""
    statements = []

    def keep(conn, cursor, statement, parameters, *args):
        if "FROM invoices JOIN customers" in statement:  # the page's rows (not the filter's customers)
            statements.append((statement, parameters))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", keep)
    try:
        html = client.get(first).get_data(as_text=True)
        if next_page:
            client.get(re.search(r'<a href="([^"]+)" rel="next">', html).group(1).replace("&amp;", "&"))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    with app.app_context():
        return [" ".join(row[3] for row in db.session.connection().exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, parameters)) for statement, parameters in statements]


def test_a_page_by_customer_walks_the_customers_index_instead_of_sorting_every_invoice(app, client, logged_in):
    """SQLite keeps no statistics here: the page's query must say enough for its planner to read customers
    in name order (ix_customers_business_name) and stop after a page, on the first page and the next.
    (PostgreSQL plans by its statistics: bench/lists.py measures it.)"""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan")
    customer_id = logged_in.customer("Acme", "USD")
    for _ in range(PAGE_SIZE + 1):
        logged_in.invoice(customer_id)
    plans = _plans(app, client, "/invoices/?sort=customer_desc", next_page=True)
    assert len(plans) == 2
    for plan in plans:
        assert "ix_customers_business_name" in plan and "TEMP B-TREE" not in plan, plan


def test_a_search_by_customer_reads_the_invoices_index_instead_of_walking_every_customer(app, client, logged_in):
    """A search reads every invoice anyway: from the index holding the number and the customer, the few
    matches then sorted by name, not customer by customer row by row (bench.lists: 12 -> 3.7 ms of SQL)."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan")
    for name in ("Globex", "Acme", "Initech"):
        logged_in.invoice(logged_in.customer(name, "USD"))
    rows = client.get("/invoices/?q=e&sort=customer_desc").get_data(as_text=True).split("<tbody", 1)[1]
    assert re.findall(r"Acme|Globex|Initech", rows) == ["Initech", "Globex", "Acme"]
    (plan,) = _plans(app, client, "/invoices/?q=globex&sort=customer_desc")
    assert plan.startswith("SEARCH invoices USING INDEX ix_invoices_business_issue"), plan  # not customers first


def test_a_search_matching_many_walks_the_customers_index_as_without_a_search(app, client, logged_in, monkeypatch):
    """A search that matches many invoices (MANY_MATCHES or more, as the page's totals count them) finds a page
    within the first customers' invoices: sorting all its matches took ~20 ms of 10,000 invoices, the walk 0.2."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite's query plan")
    monkeypatch.setattr(invoice_list, "MANY_MATCHES", 3)
    for name in ("Globex", "Acme", "Initech"):
        logged_in.invoice(logged_in.customer(name, "USD"))
    with app.app_context():  # sent: the totals count them (drafts are not invoiced yet)
        db.session.execute(update(Invoice).values(status="sent", number="T-" + cast(Invoice.id, String)))
        db.session.commit()
    rows = client.get("/invoices/?q=e&sort=customer_desc").get_data(as_text=True).split("<tbody", 1)[1]
    assert re.findall(r"Acme|Globex|Initech", rows) == ["Initech", "Globex", "Acme"]
    (plan,) = _plans(app, client, "/invoices/?q=e&sort=customer_desc")
    assert "ix_customers_business_name" in plan and "TEMP B-TREE" not in plan, plan
    (plan,) = _plans(app, client, "/invoices/?q=globex&sort=customer_desc")  # one match: its matches sorted
    assert plan.startswith("SEARCH invoices USING INDEX ix_invoices_business_issue"), plan
