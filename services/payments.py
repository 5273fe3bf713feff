"""Payments against sent invoices: recording one, deleting one (undo), the balance due, and the status a
person sees (overdue is no stored status: a sent or partially paid invoice past its due date with a
balance).

An invoice's paid_minor is the sum of its payments. It changes only through one UPDATE guarded by the
invoice's status and its balance (`... WHERE status IN ('sent', 'partially_paid') AND total_minor -
paid_minor >= :amount`, rowcount checked), which also sets the status from the new sum: of two
payments racing over the balance exactly one is stored, and the other is told why. Services add and
flush; the view commits."""
from __future__ import annotations

from datetime import date, datetime, time, timezone

from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import and_, case, delete, func, select, update

from extensions import db
from models import Invoice, Payment, User
from services import invoicing
from services.money import INVOICE_LIMIT_MINOR, format_money

PAYABLE = ("sent", "partially_paid")
METHOD_MAX = 40
NOTE_MAX = 2000
# What "Mark as paid" records: the balance, dated the day it was clicked.
MARKED_PAID = "marked as paid"


class PaymentError(invoicing.InvoiceStateError):
    """A payment that cannot be recorded or deleted; the message is for the user, and nothing was stored.
    `field` names the form field the message belongs at."""

    def __init__(self, message: str, field: str = "amount"):
        super().__init__(message)
        self.field = field


def balance_minor(invoice: Invoice) -> int:
    """What is still due: the total as sent less what was paid and what credit notes credited (a draft: its
    total as it stands now). A credit of what was paid already is money to pay back, not a negative balance."""
    if invoice.total_minor is None:
        return invoicing.totals(invoice).total
    unpaid = invoice.total_minor - (invoice.paid_minor or 0)
    return unpaid - min(invoice.credited_minor or 0, max(unpaid, 0))


def owing():
    """SQL: something is left to pay after payments and credits (what balance_minor says of a sent
    invoice). A sent invoice with a total of zero owes nothing: it is never overdue and gets no reminder."""
    return func.coalesce(Invoice.total_minor, 0) > Invoice.paid_minor + Invoice.credited_minor


def balance_due():
    """SQL: what balance_minor says of an invoice that is owed (sent or partially paid), 0 of any other: for
    sums over many (the dashboard, the list's totals), so a credit of what was paid already never counts
    as a negative balance."""
    return case((and_(Invoice.status.in_(PAYABLE), owing()),
                 func.coalesce(Invoice.total_minor, 0) - Invoice.paid_minor - Invoice.credited_minor), else_=0)


def overdue(today: date):
    """SQL: what is_overdue says of one invoice, for a query over many (the list's filter, the dashboard,
    reminders)."""
    return and_(Invoice.status.in_(PAYABLE), Invoice.due_date < today, owing())


def is_overdue(invoice: Invoice, today: date) -> bool:
    """Past its due date (the due date itself is still in time) with something left to pay."""
    return invoice.status in PAYABLE and invoice.due_date < today and balance_minor(invoice) > 0


def shown_status(invoice: Invoice, today: date) -> str:
    """The status in a person's words: "draft", "sent", "partially paid", "paid", "overdue" or "void"."""
    if is_overdue(invoice, today):
        return "overdue"
    return invoice.status.replace("_", " ")


# shown_status's words as the page says them (the word itself stays the badge's CSS class).
STATUS_WORDS = {"draft": _l("draft"), "sent": _l("sent"), "partially paid": _l("partially paid"), "paid": _l("paid"),
                "overdue": _l("overdue"), "void": _l("void"), "issued": _l("issued"), "credited": _l("credited")}


def status_word(status: str) -> str:
    """A status as the page says it, translated: a stored one ("partially_paid") or a shown one alike."""
    shown = status.replace("_", " ")
    return str(STATUS_WORDS.get(shown, shown))


def paid_on_datetime(paid_on: date) -> datetime:
    """Invoice.paid_at for a payment dated paid_on: that day, at midnight UTC (the date is what counts)."""
    return datetime.combine(paid_on, time(0), tzinfo=timezone.utc)


def record_payment(invoice: Invoice, *, paid_on: date, amount_minor: int, method: str, note: str,
                   by: User | None, today: date | None = None) -> Payment:
    """Record a payment of amount_minor on paid_on against a sent or partially paid invoice, or raise
    PaymentError with nothing stored: dated after today (the recording person's today; UTC's when not
    given), an amount of zero or less, above the balance due, or on a draft, paid or void invoice (as it
    is in the database now, not as the request first read it)."""
    today = today or datetime.now(timezone.utc).date()
    if paid_on > today:
        raise PaymentError(_("A payment cannot be dated later than today (%(today)s): enter the day it was received.",
                             today=today.isoformat()), field="paid_on")
    if amount_minor <= 0:
        raise PaymentError(_("Enter an amount above zero."))
    if amount_minor > INVOICE_LIMIT_MINOR:
        raise PaymentError(_above_balance(invoice))
    method, note = (method or "").strip(), (note or "").strip()
    if len(method) > METHOD_MAX:
        raise PaymentError(_("The method can be at most %(most)s characters.", most=METHOD_MAX))
    if len(note) > NOTE_MAX:
        raise PaymentError(_("The note can be at most %(most)s characters.", most=NOTE_MAX))
    new_paid = Invoice.paid_minor + amount_minor
    claimed = db.session.execute(
        update(Invoice)
        .where(Invoice.id == invoice.id, Invoice.status.in_(PAYABLE),
               Invoice.total_minor - Invoice.paid_minor - Invoice.credited_minor >= amount_minor)
        .values(paid_minor=new_paid,
                status=case((new_paid + Invoice.credited_minor >= Invoice.total_minor, "paid"), else_="partially_paid"))
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise PaymentError(refusal(invoice))
    db.session.expire(invoice)  # read back as written, under the row's lock
    if invoice.status == "paid":
        invoice.paid_at = paid_on_datetime(paid_on)
    payment = Payment(business_id=invoice.business_id, invoice_id=invoice.id, currency=invoice.currency,
                      paid_on=paid_on, amount_minor=amount_minor, method=method, note=note,
                      recorded_by_user_id=by.id if by is not None else None)
    db.session.add(payment)
    db.session.flush()
    return payment


def pay_balance(invoice: Invoice, *, today: date, by: User | None) -> Payment:
    """"Mark as paid": a payment of the whole balance, dated today. One code path with any payment."""
    if invoice.status not in PAYABLE:
        raise PaymentError(refusal(invoice))
    balance = balance_minor(invoice)
    if balance <= 0:
        raise PaymentError(_("Nothing is due on this invoice: its total is zero or less."))
    return record_payment(invoice, paid_on=today, amount_minor=balance, method=MARKED_PAID, note="", by=by,
                          today=today)


def delete_payment(payment: Payment) -> None:
    """Delete a payment (undo) and recompute the invoice: what is left paid and credited still covering the
    total -> paid (as record_payment and a credit note decide it), else some still paid -> partially paid,
    none -> sent, and paid_at cleared. The invoice's row is taken first, so a payment recorded or deleted at the
    same moment is counted once; a payment deleted already (another tab) raises PaymentError."""
    invoice_id, amount = payment.invoice_id, payment.amount_minor
    locked = db.session.execute(
        update(Invoice).where(Invoice.id == invoice_id, Invoice.status.in_(("partially_paid", "paid")))
        .values(paid_minor=Invoice.paid_minor).execution_options(synchronize_session=False)).rowcount
    gone = db.session.execute(delete(Payment).where(Payment.id == payment.id)
                              .execution_options(synchronize_session=False)).rowcount
    if locked != 1 or gone != 1:
        raise PaymentError(_("This payment was deleted already (in another tab?). Reload the page to see the "
                             "invoice as it is now."))
    db.session.expunge(payment)
    left = Invoice.paid_minor - amount
    covered = left + Invoice.credited_minor >= Invoice.total_minor  # credit notes still cover the rest: paid
    db.session.execute(
        update(Invoice).where(Invoice.id == invoice_id)
        .values(paid_minor=left, status=case((covered, "paid"), (left <= 0, "sent"), else_="partially_paid"),
                paid_at=case((covered, Invoice.paid_at), else_=None))
        .execution_options(synchronize_session=False))
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is not None:
        db.session.expire(invoice)


def refusal(invoice: Invoice) -> str:
    """Why a payment was refused, from the invoice as the database has it now."""
    now = db.session.execute(select(Invoice.status, Invoice.total_minor, Invoice.paid_minor + Invoice.credited_minor,
                                    Invoice.currency).where(Invoice.id == invoice.id)).first()
    if now is None:
        return _("This invoice was deleted meanwhile: nothing was recorded.")
    status, total, paid, currency = now  # paid: and credited by credit notes
    if status == "draft":
        return _("A draft takes no payments: send it first (it gets its number and total then).")
    if status == "void":
        return _("This invoice is void: it takes no payments.")
    if status == "paid" or (total or 0) - (paid or 0) <= 0:
        return _("This invoice is paid in full already: nothing was recorded.")
    return _("That is more than the balance due (%(balance)s): nothing was recorded. Enter at most the balance.",
             balance=format_money(total - paid, currency))


def _above_balance(invoice: Invoice) -> str:
    return _("That is more than the balance due (%(balance)s): nothing was recorded. Enter at most the balance.",
             balance=format_money(balance_minor(invoice), invoice.currency))
