"""The dashboard's figures, each one aggregate query over the business's invoices and payments (never a
Python loop over invoices): outstanding and overdue per currency, paid this month and this year,
received per month for the last twelve months, the customers who owe most, and the first-steps
checklist. Money stays integer minor units per currency; nothing is converted between currencies."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from flask_babel import gettext as _

from sqlalchemy import case, exists, func, select

from extensions import db
from models import Business, ClockifyConnection, Customer, Invoice, Payment
from services.payments import PAYABLE, balance_due, overdue, owing

TOP_CUSTOMERS = 5


@dataclass(frozen=True)
class Sum:
    currency: str
    count: int
    amount_minor: int


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    amount_minor: int

    @property
    def label(self) -> str:
        return date(self.year, self.month, 1).strftime("%b %Y")


@dataclass(frozen=True)
class Chart:
    """Received per month in one currency, oldest first, with the bar heights of the SVG (0..HEIGHT)."""

    currency: str
    months: list[Month]
    HEIGHT = 120

    @property
    def peak(self) -> int:
        return max((month.amount_minor for month in self.months), default=0)

    def bar(self, month: Month) -> int:
        return round(self.HEIGHT * month.amount_minor / self.peak) if self.peak > 0 and month.amount_minor > 0 else 0


@dataclass(frozen=True)
class Owing:
    customer_id: int
    name: str
    currency: str
    count: int
    amount_minor: int


@dataclass(frozen=True)
class Figures:
    outstanding: list[Sum]
    overdue: list[Sum]
    paid_this_month: list[Sum]
    paid_this_year: list[Sum]
    charts: list[Chart]
    owing: list[Owing]


def figures(business_id: int, today: date) -> Figures:
    outstanding, overdue = _open_sums(business_id, today)
    received = _received(business_id, today)
    this_month, this_year = (today.year, today.month), today.year
    return Figures(outstanding=outstanding, overdue=overdue,
                   paid_this_month=[Sum(currency, *months[this_month]) for currency, months in received.items()
                                    if this_month in months],
                   paid_this_year=[Sum(currency, sum(count for (year, _), (count, _) in months.items() if year == this_year),
                                       sum(amount for (year, _), (_, amount) in months.items() if year == this_year))
                                   for currency, months in received.items()
                                   if any(year == this_year for year, _ in months)],
                   charts=[Chart(currency, [Month(year, month, months.get((year, month), (0, 0))[1])
                                            for year, month in last_twelve_months(today)])
                           for currency, months in received.items()],
                   owing=_owing(business_id, today))


def _open(business_id: int):
    """Invoices with something left to pay (sent or partially paid, a balance after payments and credits)."""
    return (Invoice.business_id == business_id, Invoice.status.in_(PAYABLE), owing())


def _open_sums(business_id: int, today: date) -> tuple[list[Sum], list[Sum]]:
    """Open invoices and those of them overdue, per currency: one query, by the rules of services/payments.py
    (the list's "overdue" filter and the invoice page use the same), read from one covering index."""
    late = overdue(today)
    rows = db.session.execute(
        select(Invoice.currency, func.count(), func.sum(balance_due()),
               func.sum(case((late, 1), else_=0)), func.sum(case((late, balance_due()), else_=0)))
        .where(*_open(business_id))
        .group_by(Invoice.currency).order_by(Invoice.currency)).all()
    return ([Sum(currency, count, int(amount or 0)) for currency, count, amount, _, _ in rows],
            [Sum(currency, int(count), int(amount or 0)) for currency, _, _, count, amount in rows if count])


def last_twelve_months(today: date) -> list[tuple[int, int]]:
    """(year, month) of the last twelve months, this one last."""
    months = []
    year, month = today.year, today.month
    for _month in range(12):
        months.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _received(business_id: int, today: date) -> dict[str, dict[tuple[int, int], tuple[int, int]]]:
    """Payments received per currency (of their invoice, kept on the payment) and month over the last
    twelve months, as (count, amount): the chart, and this month's and this year's sums (this year's months
    are always among the last twelve). One query, grouped by day (at most 366 rows a currency, read from the
    payments' covering date index alone) and added up into months here: a month computed in SQL for every
    payment cost more than the rest of the dashboard together, and looking up each payment's invoice for its
    currency half of the dashboard's time."""
    first = date(*last_twelve_months(today)[0], 1)
    rows = db.session.execute(
        select(Payment.currency, Payment.paid_on, func.count(), func.sum(Payment.amount_minor))
        .where(Payment.business_id == business_id, Payment.paid_on >= first, Payment.paid_on <= today)
        .group_by(Payment.currency, Payment.paid_on)).all()
    received: dict[str, dict[tuple[int, int], tuple[int, int]]] = defaultdict(dict)
    for currency, paid_on, count, amount in rows:
        months = received[currency]
        so_far = months.get((paid_on.year, paid_on.month), (0, 0))
        months[(paid_on.year, paid_on.month)] = (so_far[0] + count, so_far[1] + int(amount or 0))
    return dict(sorted(received.items()))


def _owing(business_id: int, today: date) -> list[Owing]:
    """The customers with the largest open balances (per currency), largest first: one query."""
    balance = func.sum(balance_due())
    rows = db.session.execute(
        select(Customer.id, Customer.name, Invoice.currency, func.count(Invoice.id), balance)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(*_open(business_id))
        .group_by(Customer.id, Customer.name, Invoice.currency)
        .order_by(balance.desc(), Customer.name).limit(TOP_CUSTOMERS)).all()
    return [Owing(customer_id, name, currency, count, int(amount or 0))
            for customer_id, name, currency, count, amount in rows if amount and amount > 0]


# --- first steps ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    key: str
    label: str
    done: bool


def checklist(business: Business) -> list[Step]:
    """First steps after registering, in order; the page shows them until every one is done. One query."""
    has = lambda model: exists().where(model.business_id == business.id)  # noqa: E731
    connected, customer, invoice = db.session.execute(
        select(has(ClockifyConnection), has(Customer), has(Invoice))).one()
    return [Step("profile", _("Fill in your business profile"), bool(business.name and business.address)),
            Step("clockify", _("Connect Clockify"), bool(connected)),
            Step("customer", _("Add your first customer"), bool(customer)),
            Step("invoice", _("Create your first invoice and import its hours"), bool(invoice))]
