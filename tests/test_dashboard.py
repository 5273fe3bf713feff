"""The first page: what a visitor sees, the checklist after registering, and the dashboard's figures as a
person checks them (sums per currency, overdue, paid this month and year, the chart's table, who owes
most), all from invoices made, sent and paid through the app."""
from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest

from extensions import db
from models import Business, ClockifyConnection, Invoice, User
from services import payments
from tests.clock import today  # noqa: F401  (a fixture: the app's today)
from tests.prepared import Prepared


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(html: str, heading_id: str) -> str:
    """The text of the card whose heading has this id."""
    match = re.search(rf'aria-labelledby="{heading_id}".*?</section>', html, re.S)
    return words(match.group(0))


def test_a_visitor_sees_what_hourbill_is_with_log_in_sign_up_and_the_demo(client):
    response = client.get("/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Hourbill turns your Clockify hours into invoices" in html
    assert 'href="/login"' in html and 'href="/register"' in html and "make demo" in html


def test_logging_in_leads_to_the_dashboard(client, accounts):
    accounts.register()
    accounts.logout()
    response = accounts.login()
    assert response.status_code == 303 and response.headers["Location"] == "/"
    assert "<h1>Dashboard</h1>" in client.get("/").get_data(as_text=True)


def test_the_checklist_leads_through_the_first_steps_and_goes_once_they_are_done(app, client, logged_in):
    steps = section(client.get("/").get_data(as_text=True), "first-steps")
    assert ["Fill in your business profile", "Connect Clockify", "Add your first customer",
            "Create your first invoice"] == re.findall(r"Fill in your business profile|Connect Clockify|Add your "
                                                       r"first customer|Create your first invoice", steps)
    assert "(done)" not in steps

    customer = logged_in.customer()
    html = client.get("/").get_data(as_text=True)
    assert "Add your first customer (done)" in section(html, "first-steps")
    assert 'href="/invoices/new"' in html and 'href="/settings/integrations"' in html

    with app.app_context():
        business = db.session.scalar(db.select(Business))
        business.name, business.address = "Ada Studio", "1 Main St"
        db.session.add(ClockifyConnection(business_id=business.id, created_by_user_id=db.session.scalar(
            db.select(User.id)), name="Clockify", key_last4="abcd"))
        db.session.commit()
    assert "first-steps" in client.get("/").get_data(as_text=True)  # one step left
    logged_in.invoice(customer)
    assert "first-steps" not in client.get("/").get_data(as_text=True)


# --- figures ------------------------------------------------------------------------------------------


def _sent(accounts, client, customer_id: int, amount: str, issued: date, due: date) -> int:
    """A sent invoice of one line (1 h at ``amount``), issued and due on those days."""
    invoice_id = accounts.invoice(customer_id)
    accounts.line(invoice_id, quantity="1", rate=amount)
    saved = client.post(f"/invoices/{invoice_id}/details", data={
        "issue_date": issued.isoformat(), "due_date": due.isoformat(), "tax_rate": "0", "discount": "0",
        "notes": ""})
    assert saved.status_code == 303, saved.get_data(as_text=True)
    assert client.post(f"/invoices/{invoice_id}/send").status_code == 303
    return invoice_id


def _pay(app, invoice_id: int, amount: str, on: date) -> None:
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        payments.record_payment(invoice, paid_on=on, amount_minor=int(Decimal(amount) * 100), method="bank",
                                note="", by=None)
        db.session.commit()


BOOKS = Prepared()


@pytest.fixture
def books(app, client, logged_in, today, tmp_path_factory):
    """Two USD customers and one EUR customer with invoices in every state; returns their ids. Made through
    the pages once for a day, then copied (tests/prepared.py)."""
    kept = BOOKS.restore(app, client, made_for=today)
    if kept is not None:
        return kept
    north = logged_in.customer("Northwind", "USD")
    acme = logged_in.customer("Acme", "USD")
    globex = logged_in.customer("Globex", "EUR")
    month_start = today.replace(day=1)
    last_year = date(today.year - 1, 12, 15)
    ids = {
        # Northwind: 100 open, due in the future; 300 overdue, 120 of it paid this month.
        "north_open": _sent(logged_in, client, north, "100", today, today + timedelta(days=30)),
        "north_late": _sent(logged_in, client, north, "300", today - timedelta(days=60), today - timedelta(days=30)),
        # Acme: 50 overdue; 80 paid in full last December (not this year, but within 12 months or not).
        "acme_late": _sent(logged_in, client, acme, "50", today - timedelta(days=40), today - timedelta(days=1)),
        "acme_paid": _sent(logged_in, client, acme, "80", last_year, last_year),
        # Globex: 1000 EUR due today (not overdue yet).
        "globex": _sent(logged_in, client, globex, "1000", today, today),
    }
    draft = logged_in.invoice(north)
    logged_in.line(draft, quantity="1", rate="999")  # a draft is never owed
    void = _sent(logged_in, client, globex, "700", today, today)
    assert client.post(f"/invoices/{void}/void").status_code == 303  # nor is a void invoice
    _pay(app, ids["north_late"], "120", month_start)
    _pay(app, ids["acme_paid"], "80", last_year)
    BOOKS.keep(app, client, today, ids, tmp_path_factory)
    return ids


def test_outstanding_and_overdue_are_summed_per_currency_without_drafts_void_or_paid(client, books):
    html = client.get("/").get_data(as_text=True)
    outstanding, overdue = section(html, "outstanding"), section(html, "overdue")
    # USD: 100 + (300 - 120) + 50; EUR: 1000.
    assert "$330.00 3 invoices" in outstanding and "€1,000.00 1 invoice" in outstanding
    assert "$230.00 2 invoices" in overdue and "€" not in overdue


def test_paid_this_month_and_this_year_count_payments_by_their_date(client, books, app):
    html = client.get("/").get_data(as_text=True)
    assert "$120.00 1 payment" in section(html, "paid-month")
    assert "$120.00 1 payment" in section(html, "paid-year")  # last December's 80 is another year
    assert client.post(f"/invoices/{books['acme_late']}/paid").status_code == 303  # "Mark as paid": today
    html = client.get("/").get_data(as_text=True)
    assert "$170.00 2 payments" in section(html, "paid-month")
    assert "$50.00 1 invoice" not in section(html, "overdue") and "$180.00 1 invoice" in section(html, "overdue")


def test_the_chart_and_its_table_show_each_of_the_last_twelve_months(client, books, today):
    html = client.get("/").get_data(as_text=True)
    table = re.search(r'<table class="list" id="received-USD">.*?</table>', html, re.S).group(0)
    rows = re.findall(r'<th scope="row">([^<]+)</th><td class="num">([^<]+)</td>', table)
    assert len(rows) == 12 and rows[-1] == (today.strftime("%b %Y"), "$120.00")
    received_december = dict(rows).get(date(today.year - 1, 12, 1).strftime("%b %Y"))
    assert received_december == ("$80.00" if today.month < 12 else None)  # December is in the window unless now
    bars = re.findall(r'<rect class="bar"[^>]*height="(\d+)"\s+data-month="([\d-]+)"', html)
    heights = {month: int(height) for height, month in bars}
    assert heights[today.strftime("%Y-%m")] == 120  # the tallest bar fills the chart
    assert sum(1 for height in heights.values() if height == 0) == 12 - len([value for _, value in rows
                                                                            if value != "$0.00"])


def test_who_owes_most_lists_open_balances_largest_first(client, books):
    owing = section(client.get("/").get_data(as_text=True), "owing")
    assert re.search(r"Globex 1 €1,000\.00 Northwind 2 \$280\.00 Acme 1 \$50\.00", owing), owing


def test_another_business_sees_none_of_it(client, books, accounts):
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    client.get("/")  # the messages Ada's steps left
    html = client.get("/").get_data(as_text=True)
    assert "Nothing is owed to you." in html and "Northwind" not in html and "$" not in section(html, "received")


def test_the_dashboard_and_the_list_count_a_partly_paid_partly_credited_invoice_as_the_same_overdue(
        app, client, logged_in, today):
    """One rule (services/payments.py): a balance after payments AND credit notes. 100 paid 30 and credited
    20: 50 overdue on both. 100 paid 40 + 20 and credited 70 is paid; its 20 deleted, it stays paid (40 + 70
    covers it; it became "partially paid" with nothing to pay, and the dashboard counted it overdue at -10)."""
    from models import Payment
    from tests.test_credit_notes import credit, partial
    customer = logged_in.customer("Initech", "USD")
    issued, due = today - timedelta(days=60), today - timedelta(days=30)
    owed, settled = (_sent(logged_in, client, customer, "100", issued, due) for _ in range(2))
    for invoice_id, paid, credited in ((owed, ("30",), "20"), (settled, ("40", "20"), "70")):
        for amount in paid:
            _pay(app, invoice_id, amount, issued)
        assert credit(client, invoice_id, partial(app, invoice_id, {0: ("1", credited)})).status_code == 303
    with app.app_context():
        twenty = db.session.scalar(db.select(Payment.id).where(Payment.invoice_id == settled,
                                                               Payment.amount_minor == 2000))
    assert client.post(f"/invoices/{settled}/payments/{twenty}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Invoice, settled).status == "paid"
    html = client.get("/").get_data(as_text=True)
    assert "$50.00 1 invoice" in section(html, "overdue") and "$50.00 1 invoice" in section(html, "outstanding")
    assert re.search(r"Initech 1 \$50\.00", section(html, "owing"))
    listed = client.get("/invoices/?status=overdue").get_data(as_text=True)
    assert re.findall(r'<tr data-invoice="(\d+)"', listed) == [str(owed)]
    everything = client.get("/invoices/").get_data(as_text=True)  # the list's outstanding: 50, not 50 - 10
    totals = re.search(r'<tr data-currency="USD">(.*?)</tr>', everything, re.S).group(1)
    assert re.findall(r'<td class="num"[^>]*>([^<]+)</td>', totals)[-1] == "$50.00"
    for invoice_id, balance in ((owed, "$50.00"), (settled, "")):  # each row's balance due, as its page says
        row = re.search(rf'<tr data-invoice="{invoice_id}">(.*?)</tr>', everything, re.S).group(1)
        assert re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row)[-1] == balance
    exported = client.get("/invoices/?format=csv&status=partially_paid").get_data(as_text=True).splitlines()
    assert sorted(line.rsplit(",", 1)[1] for line in exported[1:]) == ["50.00"]
