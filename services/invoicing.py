"""Invoice rules with no request in them: totals, the status flow, numbering, duplication.

Two requests may change one invoice at once (two tabs, a double click, Send while a line is removed).
Every change is therefore made under a guard in the database, never on what a request read earlier:
a draft is edited only after `lock_draft` has taken its row, and a status changes only through one
UPDATE guarded by the status it leaves. Of two racing requests exactly one wins; the other gets
InvoiceChanged, whose message tells the user what happened."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, select, update

from extensions import db
from models import Business, Customer, ImportedEntry, Invoice, LineItem, utcnow
from services.money import INVOICE_LIMIT_MINOR, Totals, from_minor, invoice_totals, line_amount_minor

# Which status may follow which; anything else is refused with InvoiceStateError.
# Payments move sent -> partially paid -> paid and back (services/payments.py, under their own guard).
TRANSITIONS = {"draft": {"sent"}, "sent": {"void"}, "partially_paid": set(), "paid": set(), "void": set()}
DONE = {"draft": "made a draft again", "sent": "sent", "partially_paid": "partly paid", "paid": "paid",
        "void": "voided"}


class InvoiceStateError(Exception):
    """A change the invoice's status does not allow; the message is for the user."""


class InvoiceChanged(InvoiceStateError):
    """Another request changed the invoice first (sent, paid, voided or deleted it): this request lost
    the race and changed nothing. The message is for the user; the app answers 409 with it."""


class AmountTooLarge(ValueError):
    """A line that would take the invoice past INVOICE_LIMIT_MINOR; the message is for the user."""


def totals(invoice: Invoice) -> Totals:
    return invoice_totals([line.amount_minor for line in invoice.lines], invoice.tax_rate, invoice.discount_minor)


def new_draft(business: Business, customer: Customer, today: date) -> Invoice:
    invoice = Invoice(
        business_id=business.id,
        customer=customer,
        status="draft",
        issue_date=today,
        due_date=today + timedelta(days=business.payment_terms_days),
        currency=customer.currency,
        tax_rate=business.default_tax_rate,
        discount_minor=0,
    )
    db.session.add(invoice)
    return invoice


def format_number(prefix: str, number_format: str, sequence: int, year: int) -> str:
    """An invoice number: the prefix, then models.NUMBER_FORMATS's fields filled in ("INV-" and
    "{year}-{seq:03}" -> "INV-2026-001")."""
    return prefix + number_format.format(year=year, seq=sequence)


def _sequence(business: Business, year: int) -> int:
    """The sequence number the business's next invoice dated in `year` takes. With a yearly restart the
    counter belongs to business.invoice_number_year (none yet: the counter counts in any year): a later
    year starts again at 1, an earlier one is refused, since its sequence has closed."""
    counter_year = business.invoice_number_year
    if not business.number_restarts_yearly or counter_year is None or year == counter_year:
        return business.next_invoice_number
    if year > counter_year:
        return 1
    raise InvoiceStateError(f"This invoice is dated {year}, but numbering restarts each year and has moved on "
                            f"to {counter_year}: its {year} sequence is closed. Change the issue date to "
                            f"{counter_year} or later to send it.")


def next_number(business: Business, year: int) -> str:
    """The number the business's next invoice dated in `year` will get (the profile's hint): the same
    rule mark_sent numbers with."""
    return format_number(business.invoice_prefix, business.invoice_number_format, _sequence(business, year), year)


def lock_draft(invoice: Invoice) -> None:
    """Take the draft's row for this transaction before changing it or its lines, or raise
    InvoiceChanged when it is no longer a draft (sent or deleted by another request meanwhile).

    One guarded no-op UPDATE (`... WHERE id = :id AND status = 'draft'`, rowcount checked): on SQLite it
    takes the database's write lock, on PostgreSQL the row's lock, until the caller commits or rolls
    back. Every change to a draft calls it first (details, lines, send, delete, the import wizard's
    confirm), so two of them run one after the other and each sees what the other did. The invoice is
    then expired, so its lines and fields are read again under the lock, not as this request first saw
    them: load a line to change only after this call."""
    claimed = db.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.status == "draft")
        .values(status="draft").execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise _changed(invoice)
    db.session.expire(invoice)


def _changed(invoice: Invoice) -> InvoiceChanged:
    """What another request did to the invoice, in the user's words."""
    now = db.session.execute(select(Invoice.status, Invoice.number).where(Invoice.id == invoice.id)).first()
    if now is None:
        return InvoiceChanged("This invoice was deleted meanwhile (in another tab?): nothing was changed.")
    status, number = now
    name = f"Invoice {number}" if number else "This invoice"
    return InvoiceChanged(f"{name} was {DONE[status]} already (in another tab?): its lines and details can no "
                          "longer change, and nothing was changed. Reload the page to see it as it is now, or "
                          "duplicate it to make a new draft.")


def _claim(invoice: Invoice, to: str, **values) -> None:
    """Move the invoice from the status this request saw to `to` in one guarded UPDATE, or raise
    InvoiceChanged: of two requests changing the status at once, exactly one does."""
    _require_transition(invoice, to)
    claimed = db.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.status == invoice.status)
        .values(status=to, **values).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise _changed(invoice)
    db.session.expire(invoice)  # read back as written


def mark_sent(invoice: Invoice) -> None:
    """Give the draft its business's next number and lock its lines.

    The draft is locked first (lock_draft), so the same draft sent twice at once is numbered once, a
    line removed at the same moment is either gone before the send looks or refused after it, and the
    send checks the lines as they are under the lock. The business's row is then taken by an UPDATE
    before its counter is read, so two drafts sent at once serialise on it (a row lock on PostgreSQL,
    the write lock on SQLite) and never share or skip a number; the unique constraint on (business,
    number) is the last guard. The total is fixed here: a sent invoice's total never changes."""
    _require_transition(invoice, "sent")
    lock_draft(invoice)
    if not invoice.lines:
        raise InvoiceStateError("Add at least one line before sending the invoice.")
    # Take the business's row (PostgreSQL: its lock; SQLite: lock_draft took the write lock already),
    # then read the counter afresh under it.
    db.session.execute(update(Business).where(Business.id == invoice.business_id)
                       .values(next_invoice_number=Business.next_invoice_number))
    business = db.session.get(Business, invoice.business_id, populate_existing=True)
    year = invoice.issue_date.year
    sequence = _sequence(business, year)
    while True:
        number = format_number(business.invoice_prefix, business.invoice_number_format, sequence, year)
        # The owner may have set the counter back in the profile: skip numbers already given.
        taken = db.session.scalar(
            select(Invoice.id).where(Invoice.business_id == invoice.business_id, Invoice.number == number))
        if not taken:
            break
        sequence += 1
    business.next_invoice_number = sequence + 1
    if business.number_restarts_yearly:
        business.invoice_number_year = year
    invoice.total_minor = totals(invoice).total
    invoice.paid_minor = 0
    invoice.number = number
    invoice.status = "sent"
    invoice.sent_at = utcnow()
    invoice.parties = parties(invoice)


# The snapshot's keys (kept as they were when the profile was the user's, so invoices sent before
# businesses read the same) -> the business's columns.
SENDER_FIELDS = {"business_name": "name", "business_address": "address", "business_email": "email",
                 "tax_id": "tax_id"}
PARTY_FIELDS = {"sender": (*SENDER_FIELDS, "display_name"), "customer": ("name", "address", "email")}


def parties(invoice: Invoice) -> dict:
    """Sender and customer as the invoice shows them: the snapshot taken when it was sent, or, for a
    draft, the profile and customer as they are now."""
    if invoice.parties:
        return invoice.parties
    sender = db.session.get(Business, invoice.business_id)
    return {"sender": {key: getattr(sender, column) for key, column in SENDER_FIELDS.items()} | {"display_name": ""},
            "customer": {name: getattr(invoice.customer, name) for name in PARTY_FIELDS["customer"]}}


def mark_void(invoice: Invoice) -> None:
    """Void the invoice and release its Clockify entries: they may be billed again elsewhere. The
    entries are released only after the void has won (a payment recorded at the same moment keeps
    them on the paid invoice)."""
    if invoice.status in ("partially_paid", "paid"):
        raise InvoiceStateError("This invoice has payments recorded: delete them first (below) to void it.")
    _claim(invoice, "void", voided_at=utcnow())
    db.session.execute(delete(ImportedEntry).where(ImportedEntry.invoice_id == invoice.id))


def delete_draft(invoice: Invoice) -> None:
    """Delete a draft (its lines and Clockify entry links go with it). Locked first: a draft sent
    at the same moment has a number, and a numbered invoice is never deleted."""
    lock_draft(invoice)
    db.session.delete(invoice)


def _require_transition(invoice: Invoice, to: str) -> None:
    if to not in TRANSITIONS[invoice.status]:
        raise InvoiceStateError(f"A {invoice.status} invoice cannot be marked {to}.")


def duplicate(invoice: Invoice, business: Business, today: date) -> tuple[Invoice, int]:
    """A new draft for the same customer with copies of the lines typed by hand, and how many lines
    imported from Clockify were left out. A copy of an imported line would bill its hours a second
    time, with nothing to say so: those hours are imported again (or not) through the wizard, which
    knows which entries are still unbilled. A draft is locked first, so the copy has one consistent
    set of its lines."""
    if invoice.is_draft:
        lock_draft(invoice)
    copy = new_draft(business, invoice.customer, today)
    copy.currency = invoice.currency
    copy.tax_rate = invoice.tax_rate
    copy.discount_minor = invoice.discount_minor
    copy.notes = invoice.notes
    kept = [line for line in invoice.lines if line.source != "clockify"]
    for position, line in enumerate(kept, start=1):
        new_line = LineItem(position=position, description=line.description, unit=line.unit, source="manual")
        new_line.set_amounts(line.quantity, line.rate_minor)
        copy.lines.append(new_line)
    return copy, len(invoice.lines) - len(kept)


def check_room(invoice: Invoice, quantity, rate_minor: int, replacing: LineItem | None = None) -> None:
    """Raise AmountTooLarge when a line of quantity x rate (in place of `replacing`, if given) would
    take the invoice's lines past INVOICE_LIMIT_MINOR (services/money.py says why the limit is there).
    Call it under lock_draft, so the lines counted are the invoice's lines now."""
    others = sum(abs(line.amount_minor) for line in invoice.lines if line is not replacing)
    if others + abs(line_amount_minor(quantity, rate_minor)) > INVOICE_LIMIT_MINOR:
        limit = f"{from_minor(INVOICE_LIMIT_MINOR, invoice.currency):,} {invoice.currency}"
        raise AmountTooLarge(f"This line would make the invoice total larger than Hourbill can keep: the lines of "
                             f"one invoice may add up to at most {limit} (a negative line counts by its size). "
                             "Split the work over several invoices.")


def next_position(invoice: Invoice) -> int:
    return (max((line.position for line in invoice.lines), default=0)) + 1


def remove_line(invoice: Invoice, line: LineItem) -> None:
    """Remove a line (its Clockify entries are released with it); positions stay 1..n."""
    invoice.lines.remove(line)
    for position, each in enumerate(invoice.lines, start=1):
        each.position = position


def move_line(invoice: Invoice, line: LineItem, direction: str) -> None:
    """Swap a line with its neighbour above or below; positions stay 1..n."""
    lines = list(invoice.lines)
    index = lines.index(line)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(lines):
        lines[index], lines[other] = lines[other], lines[index]
    for position, each in enumerate(lines, start=1):
        each.position = position
    invoice.lines.sort(key=lambda each: each.position)


def totals_by_invoice(invoice_ids: list[int]) -> dict[int, int]:
    """Sum of line amounts per invoice, in one query, for lists."""
    if not invoice_ids:
        return {}
    rows = db.session.execute(
        select(LineItem.invoice_id, func.sum(LineItem.amount_minor))
        .where(LineItem.invoice_id.in_(invoice_ids))
        .group_by(LineItem.invoice_id)
    )
    return {invoice_id: int(total or 0) for invoice_id, total in rows}
