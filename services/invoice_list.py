"""The invoice list: search, filters, sorting and keyset pagination over a business's invoices, the
totals of everything filtered (per currency, outstanding apart from paid, drafts left out) and its CSV
export. Every figure is one query; a page reads PAGE_SIZE + 1 rows after a cursor, never an OFFSET.

The cursor is the last row's sort values and id, as the database gave them ("2026-11-01|123", by customer
"acme|7|123"): the next page is every row after them in the list's order, so rows added meanwhile never
repeat or skip. By customer the order is the name, then the customer, then the invoice: customers walked
in the order of their index (customers by business and lower(name)), each one's invoices after it, and
the walk stops after a page instead of sorting every invoice of the business by its customer's name."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select, tuple_
from sqlalchemy.orm import contains_eager, load_only

from extensions import db
from models import Customer, Invoice, LineItem
from services import invoicing
from services.money import from_minor
from services.payments import PAYABLE, balance_due, balance_minor, overdue, shown_status

PAGE_SIZE = 50
STATUSES = {"draft": _l("Draft"), "sent": _l("Sent"), "partially_paid": _l("Partially paid"), "overdue": _l("Overdue"),
            "paid": _l("Paid"), "void": _l("Void"), "credited": _l("Credited"), "issued": _l("Credit notes")}
SORTS = {"issued_desc": _l("Newest first"), "issued_asc": _l("Oldest first"), "due_asc": _l("Due soonest"),
         "due_desc": _l("Due latest"), "customer_asc": _l("Customer A–Z"), "customer_desc": _l("Customer Z–A")}
# What each order sorts by before the invoice's id (the cursor holds their values); by customer the
# customer's id parts two customers of one name (ix_customers_business_name serves the walk).
_KEYS = {"issued": (Invoice.issue_date,), "due": (Invoice.due_date,),
         "customer": (func.lower(Customer.name), Customer.id)}
# What a row, its status, its CSV line and a draft's total read: not the parties as sent (JSON), the notes,
# the times or the view token, which cost more to read than the rest of the row.
_LISTED = (Invoice.business_id, Invoice.customer_id, Invoice.number, Invoice.status, Invoice.kind, Invoice.issue_date,
           Invoice.due_date, Invoice.currency, Invoice.total_minor, Invoice.paid_minor, Invoice.credited_minor,
           Invoice.discount_minor, Invoice.tax_rate, Invoice.vat_category, Invoice.vat_exemption_reason)


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    customer_id: int | None = None
    issued_from: date | None = None
    issued_to: date | None = None
    sort: str = "issued_desc"


class BadCursor(ValueError):
    """A page link that does not belong to this list (edited by hand, or from an older version)."""


def _matching(business_id: int, filters: Filters, today: date):
    """The WHERE clause of the list: the business's invoices that match every filter (on Invoice alone:
    the customers whose name matches are one subquery, not a customer read for every invoice)."""
    conditions = [Invoice.business_id == business_id]
    if filters.status == "overdue":
        conditions.append(overdue(today))
    elif filters.status:
        conditions.append(Invoice.status == filters.status)
    if filters.customer_id:
        conditions.append(Invoice.customer_id == filters.customer_id)
    if filters.issued_from:
        conditions.append(Invoice.issue_date >= filters.issued_from)
    if filters.issued_to:
        conditions.append(Invoice.issue_date <= filters.issued_to)
    text = filters.q.strip()
    if text:
        in_lines = exists().where(LineItem.invoice_id == Invoice.id, _contains(LineItem.description, text))
        named = select(Customer.id).where(Customer.business_id == business_id, _contains(Customer.name, text))
        conditions.append(or_(_contains(Invoice.number, text), Invoice.customer_id.in_(named), in_lines))
    return and_(*conditions)


def _contains(column, text: str):
    """Case-insensitive substring, % and _ taken literally. PostgreSQL: ILIKE. SQLite: a plain LIKE, which
    ignores ASCII case by itself; the lower() of SQLAlchemy's icontains there (which folds no more than
    ASCII either) cost a call on each row of every search, a quarter of its SQL time (bench/lists.py)."""
    if db.session.get_bind().dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def _order(sort: str):
    name, direction = sort.rsplit("_", 1)
    return name, _KEYS[name], direction == "desc"


@dataclass(frozen=True)
class Page:
    invoices: list[Invoice]
    totals: dict[int, int]  # invoice id -> its total (a draft's as it stands)
    next_cursor: str | None
    today: date  # the day the page was read, for the rows' statuses

    def balance(self, invoice: Invoice) -> int | None:
        """What is left to pay (payments.balance_minor: never below zero for credits), None unless owed."""
        return balance_minor(invoice) if invoice.status in PAYABLE else None

    def status(self, invoice: Invoice) -> str:
        """The row's status in words (payments.shown_status) on the page's day: the template's shown_status
        asks the person's time zone for today on every row."""
        return shown_status(invoice, self.today)


# A search matching at least this many invoices is sorted by customer by walking the customers' index (a page's
# matches come within a few hundred rows); one matching fewer has its matches sorted whole (page, below).
MANY_MATCHES = 500


def page(business_id: int, filters: Filters, today: date, after: str | None = None, size: int = PAGE_SIZE,
         matches: int | None = None) -> Page:
    """One page of the list in the chosen order, after the cursor (the first page without one); BadCursor
    for a cursor that is not this list's. ``matches``: how many invoices the filters match, if known (the
    page's totals count them), which chooses how a search sorted by customer is read."""
    name, keys, descending = _order(filters.sort)
    query = (select(Invoice, *keys).join(Invoice.customer)
             .options(load_only(*_LISTED), contains_eager(Invoice.customer).load_only(Customer.name))
             .where(_matching(business_id, filters, today)))
    if name == "customer" and filters.q.strip() and (matches is None or matches < MANY_MATCHES):
        # A search reads every invoice of the business whatever the order (a substring has no index): the
        # same rows, said so that SQLite reads them from ix_invoices_business_issue, which holds the number
        # and the customer the search looks at, and sorts the matches by name, instead of walking every
        # customer's invoices row by row (bench.lists, 10,000 invoices: 3.7 ms of SQL, not 12). A search that
        # matches many is walked as below: sorting all its matches took ~20 ms, the walk 0.2.
        query = query.where(Invoice.issue_date >= date.min)
    elif name == "customer":
        # The same rows, said so that the customers' index can serve the order: their business, and on the
        # first page a range that every name is in (as the next pages' is). Without it SQLite, which keeps
        # no statistics here, reads every invoice of the business and sorts them (7 ms of 10,000 invoices).
        query = query.where(Customer.business_id == business_id)
        if not after:
            query = query.where(keys[0] >= "")
    if after:
        values = _cursor(after, name)
        row, last = tuple_(*keys, Invoice.id), tuple_(*values)
        # The first key's bound alone lets the index start at the cursor; the row value finds the place there.
        query = (query.where(keys[0] <= values[0], row < last) if descending
                 else query.where(keys[0] >= values[0], row > last))
    columns = (*keys, Invoice.id)
    rows = db.session.execute(query.order_by(*(column.desc() if descending else column.asc() for column in columns))
                              .limit(size + 1)).all()
    more = len(rows) > size
    rows = rows[:size]
    invoices = [invoice for invoice, *_ in rows]
    cursor = "|".join([*(_text(value) for value in rows[-1][1:]), str(rows[-1][0].id)]) if more else None
    return Page(invoices, row_totals(invoices), cursor, today)


def _text(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _cursor(after: str, name: str) -> tuple:
    """The values of a cursor of this order (name: a key of _KEYS), BadCursor for any other text: the
    first key's text, then the ids (a customer's name may hold "|": it is split from the right)."""
    first, *ids = after.rsplit("|", len(_KEYS[name]))
    if len(ids) != len(_KEYS[name]) or not all(each.isascii() and each.isdigit() and len(each) <= 10 for each in ids):
        raise BadCursor()
    if name != "customer":
        try:
            first = date.fromisoformat(first)
        except ValueError:
            raise BadCursor() from None
    return first, *map(int, ids)


def row_totals(invoices: list[Invoice]) -> dict[int, int]:
    """Each invoice's total: as sent (stored), or for a draft from its lines now (one query for all)."""
    drafts = [invoice for invoice in invoices if invoice.total_minor is None]
    totals = {invoice.id: invoice.total_minor for invoice in invoices if invoice.total_minor is not None}
    totals.update({invoice_id: each.total for invoice_id, each in invoicing.totals_of(drafts).items()})
    return totals


@dataclass(frozen=True)
class CurrencyTotal:
    currency: str
    count: int
    invoiced_minor: int
    paid_minor: int
    outstanding_minor: int


def totals(business_id: int, filters: Filters, today: date) -> list[CurrencyTotal]:
    """Everything the filters match (not only this page), per currency: invoiced, paid and still
    outstanding. Drafts are not invoiced yet and void invoices are not owed: both are left out."""
    query = (select(Invoice.currency, func.count(Invoice.id), func.sum(func.coalesce(Invoice.total_minor, 0)),
                    func.sum(Invoice.paid_minor), func.sum(balance_due()))
             .where(_matching(business_id, filters, today), Invoice.status.not_in(("draft", "void", "issued")))  # issued: credit notes
             .group_by(Invoice.currency).order_by(Invoice.currency))
    rows = db.session.execute(query).all()
    return [CurrencyTotal(currency, count, int(invoiced or 0), int(paid or 0), int(outstanding or 0))
            for currency, count, invoiced, paid, outstanding in rows]


# --- CSV --------------------------------------------------------------------------------------------

CSV_HEADER = ["Number", "Customer", "Issue date", "Due date", "Status", "Currency", "Total", "Paid", "Balance due"]
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula: a cell starting = + - @ (or a tab or carriage
    return, which some spreadsheets skip before one) gets a leading apostrophe."""
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_rows(business_id: int, filters: Filters, today: date, batch: int = 500) -> Iterator[str]:
    """Every invoice the filters match, in the list's order, as CSV text (a header, then a line each),
    read batch by batch along the same keyset as the pages."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_HEADER)
    yield flush()
    after = None
    while True:
        found = page(business_id, filters, today, after, size=batch)
        for invoice in found.invoices:
            total, paid, balance = found.totals[invoice.id], invoice.paid_minor or 0, found.balance(invoice) or 0
            writer.writerow([safe_cell(invoice.number or "Draft"), safe_cell(invoice.customer.name),
                             invoice.issue_date.isoformat(), invoice.due_date.isoformat(),
                             found.status(invoice), invoice.currency,
                             *(str(from_minor(amount, invoice.currency)) for amount in (total, paid, balance))])
        yield flush()
        for invoice in found.invoices:  # a long export keeps one batch in memory, not every invoice
            db.session.expunge(invoice)
        if found.next_cursor is None:
            return
        after = found.next_cursor
