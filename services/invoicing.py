"""Invoice rules with no request in them: totals, the status flow, numbering, duplication."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import delete, func, select, update

from extensions import db
from models import Customer, ImportedEntry, Invoice, LineItem, User, utcnow
from services.money import Totals, invoice_totals

# Which status may follow which; anything else is refused with InvoiceStateError.
TRANSITIONS = {"draft": {"sent"}, "sent": {"paid", "void"}, "paid": set(), "void": set()}


class InvoiceStateError(Exception):
    """A change the invoice's status does not allow; the message is for the user."""


def totals(invoice: Invoice) -> Totals:
    return invoice_totals([line.amount_minor for line in invoice.lines], invoice.tax_rate, invoice.discount_minor)


def new_draft(user: User, customer: Customer, today: date) -> Invoice:
    invoice = Invoice(
        user_id=user.id,
        customer=customer,
        status="draft",
        issue_date=today,
        due_date=today + timedelta(days=user.payment_terms_days),
        currency=customer.currency,
        tax_rate=user.default_tax_rate,
        discount_minor=0,
    )
    db.session.add(invoice)
    return invoice


def format_number(prefix: str, sequence: int) -> str:
    return f"{prefix}{sequence:04d}"


def mark_sent(invoice: Invoice) -> None:
    """Give the draft the user's next number and lock its lines.

    The draft is claimed first (one UPDATE guarded by its status), so the same draft sent twice at
    once is numbered once. The counter is then incremented by one UPDATE before it is read, so two
    drafts sent at once serialise on the user's row (a row lock on PostgreSQL, the write lock on
    SQLite) and never share a number; the unique constraint on (user, number) is the last guard."""
    _require_transition(invoice, "sent")
    if not invoice.lines:
        raise InvoiceStateError("Add at least one line before sending the invoice.")
    claimed = db.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.status == "draft")
        .values(status="sent", sent_at=utcnow()).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise InvoiceStateError("This invoice was sent already (in another tab?).")
    while True:
        db.session.execute(
            update(User).where(User.id == invoice.user_id).values(next_invoice_number=User.next_invoice_number + 1)
        )
        prefix, next_number = db.session.execute(
            select(User.invoice_prefix, User.next_invoice_number).where(User.id == invoice.user_id)
        ).one()
        number = format_number(prefix, next_number - 1)
        # The owner may have set the counter back in the profile: skip numbers already given.
        taken = db.session.scalar(
            select(Invoice.id).where(Invoice.user_id == invoice.user_id, Invoice.number == number))
        if not taken:
            break
    invoice.number = number
    invoice.status = "sent"
    invoice.sent_at = utcnow()
    invoice.parties = parties(invoice)


PARTY_FIELDS = {"sender": ("business_name", "display_name", "business_address", "business_email", "tax_id"),
                "customer": ("name", "address", "email")}


def parties(invoice: Invoice) -> dict:
    """Sender and customer as the invoice shows them: the snapshot taken when it was sent, or, for a
    draft, the profile and customer as they are now."""
    if invoice.parties:
        return invoice.parties
    sender = db.session.get(User, invoice.user_id)
    return {"sender": {name: getattr(sender, name) for name in PARTY_FIELDS["sender"]},
            "customer": {name: getattr(invoice.customer, name) for name in PARTY_FIELDS["customer"]}}


def mark_paid(invoice: Invoice) -> None:
    _require_transition(invoice, "paid")
    invoice.status = "paid"
    invoice.paid_at = utcnow()


def mark_void(invoice: Invoice) -> None:
    """Void the invoice and release its Clockify entries: they may be billed again elsewhere."""
    _require_transition(invoice, "void")
    db.session.execute(delete(ImportedEntry).where(ImportedEntry.invoice_id == invoice.id))
    invoice.status = "void"
    invoice.voided_at = utcnow()


def _require_transition(invoice: Invoice, to: str) -> None:
    if to not in TRANSITIONS[invoice.status]:
        raise InvoiceStateError(f"A {invoice.status} invoice cannot be marked {to}.")


def duplicate(invoice: Invoice, user: User, today: date) -> Invoice:
    """A new draft for the same customer with copies of the lines (as manual lines)."""
    copy = new_draft(user, invoice.customer, today)
    copy.currency = invoice.currency
    copy.tax_rate = invoice.tax_rate
    copy.discount_minor = invoice.discount_minor
    copy.notes = invoice.notes
    for line in invoice.lines:
        new_line = LineItem(position=line.position, description=line.description, unit=line.unit, source="manual")
        new_line.set_amounts(line.quantity, line.rate_minor)
        copy.lines.append(new_line)
    return copy


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
