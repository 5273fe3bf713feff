"""Credit notes: how a sent invoice is corrected once it has left (issue 12).

A credit note is an Invoice row of kind "credit_note" (so totals, VAT, the printed document and every
e-invoice format are the invoice's own code) with `corrects_invoice_id` naming the invoice it corrects.
It is "issued" from the start, numbered in the business's credit note sequence, and never changes.

Issuing is one transaction (the view commits): the lines credited (all of them, or chosen ones with a
quantity and rate no larger than the invoice's), one guarded UPDATE of the invoice that adds the credit
to its `credited_minor` only while the invoice may be credited and the credits stay within its total
(two credit notes at once never credit more than the invoice), then guarded UPDATEs of the lines credited
that add each credit to the line's `credited_minor` only while it stays within the line's amount (a line
is credited at most once in total, over all the invoice's credit notes), the number, and the credit
note's row. The invoice is claimed before its lines, by every credit note: one order, no deadlock.

Settled: once the credits add up to the invoice's total, the invoice becomes "credited" in the same
UPDATE: nothing is owed on it (it leaves the dashboard's outstanding, reminders and payments, which
count sent and partially paid invoices only) and its Clockify entries are released, as a void releases
them. A partial credit keeps the entries billed; what is due on the invoice is less by it
(services.payments.balance_minor), and payments and credits that cover the total make it "paid"."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import case, delete, select, update

from extensions import db
from models import ImportedEntry, Invoice, LineItem, utcnow
from services import invoicing
from services.money import from_minor, line_amount_minor

CREDITABLE = ("sent", "partially_paid", "paid")


class CreditNoteError(invoicing.InvoiceStateError):
    """A credit note that cannot be issued; the message is for the user, and nothing was stored.
    `line_id` and `field` ("quantity" or "rate") name the form's field it is about, when it is one."""

    def __init__(self, message: str, line_id: int | None = None, field: str = "quantity"):
        super().__init__(message)
        self.line_id, self.field = line_id, field


@dataclass(frozen=True)
class Credit:
    """One line of the invoice to credit: how much of it (at most its quantity, at most its rate)."""

    line_id: int
    quantity: Decimal
    rate_minor: int


def can_credit(invoice: Invoice) -> bool:
    """A sent or paid invoice with something left to credit: of its total, and of one of its lines."""
    return refusal(invoice) is None


def refusal(invoice: Invoice) -> str | None:
    """Why `invoice` gets no credit note, in words that say what to do instead; None when it may get one."""
    if invoice.kind != "invoice":
        corrected = invoice.corrects.number if invoice.corrects is not None else ""
        return _("%(number)s is a credit note, and a credit note cannot itself be credited: to correct it further, "
                 "credit invoice %(invoice)s again or issue a new invoice.", number=invoice.number, invoice=corrected)
    if invoice.status == "draft":
        return _("This invoice is still a draft: it was never sent, so there is nothing to correct with a credit "
                 "note. Edit the draft or delete it instead.")
    if invoice.status == "void":
        return _("Invoice %(number)s is void: nothing is owed on it, so there is nothing to credit.",
                 number=invoice.number)
    if invoice.status not in CREDITABLE and invoice.status != "credited":
        return _("Only a sent, partially paid or paid invoice can be credited.")
    if (invoice.status == "credited" or left_to_credit(invoice) <= 0
            or (invoice.credited_minor and not any(left_on_line(line) > 0 for line in invoice.lines))):
        return _("Invoice %(number)s is credited in full already: there is nothing left to credit.",
                 number=invoice.number)
    return None


def left_to_credit(invoice: Invoice) -> int:
    return (invoice.total_minor or 0) - (invoice.credited_minor or 0)


def left_on_line(line: LineItem) -> int:
    """What is left to credit of one line of the invoice (before VAT), after its credit notes."""
    return line.amount_minor - (line.credited_minor or 0)


def _money(minor: int, currency: str) -> str:
    return f"{from_minor(minor, currency)} {currency}"


def issue(invoice: Invoice, credits: list[Credit] | None, today: date) -> Invoice:
    """Issue a credit note for `invoice`: in full (`credits` None: every line, and the discount, so its
    total is the invoice's) or for the chosen lines. Raises CreditNoteError (or InvoiceChanged, when
    another request changed the invoice first) with nothing stored."""
    refused = refusal(invoice)
    if refused:
        raise CreditNoteError(refused)
    if credits is None and invoice.credited_minor:
        raise CreditNoteError(_("Part of invoice %(number)s is credited already: to credit the rest, choose “The lines "
                                "ticked below” and tick what is left to credit.", number=invoice.number))
    note = Invoice(business_id=invoice.business_id, customer_id=invoice.customer_id, kind="credit_note",
                   corrects_invoice_id=invoice.id, status="issued", issue_date=today, due_date=today,
                   currency=invoice.currency, tax_rate=invoice.tax_rate, vat_category=invoice.vat_category,
                   vat_exemption_reason=invoice.vat_exemption_reason, paid_minor=0,
                   discount_minor=invoice.discount_minor if credits is None else 0)
    credited = _credited_lines(invoice, credits)
    for position, (line, quantity, rate_minor) in enumerate(credited, start=1):
        copy = LineItem(position=position, description=line.description, unit=line.unit, source="manual",
                        vat_category=line.vat_category, vat_rate=line.vat_rate,
                        vat_exemption_reason=line.vat_exemption_reason)
        copy.set_amounts(quantity, rate_minor)
        note.lines.append(copy)
    total = invoicing.totals(note).total
    if total <= 0:
        raise CreditNoteError(_("The credit note would credit nothing: choose a line and an amount above zero."))
    _claim_credit(invoice, total)
    _claim_lines(invoice, None if credits is None else [(line, line_amount_minor(quantity, rate_minor))
                                                        for line, quantity, rate_minor in credited])
    note.total_minor = total
    note.number = invoicing.take_number(invoice.business_id, today.year, invoicing.CREDIT_NOTES)
    note.sent_at = utcnow()
    note.parties = invoicing.parties(invoice)  # the same seller and buyer, as the invoice was sent
    db.session.add(note)
    db.session.flush()
    return note


def _credited_lines(invoice: Invoice, credits: list[Credit] | None):
    lines = {line.id: line for line in invoice.lines}
    if credits is None:
        return [(line, line.quantity, line.rate_minor) for line in invoice.lines]
    chosen = []
    for credit in credits:
        line = lines.get(credit.line_id)
        if line is None:
            raise CreditNoteError(_("A chosen line is not on this invoice (reload the page)."))
        if any(line is each[0] for each in chosen):
            raise CreditNoteError(_("Line %(position)s is chosen twice (reload the page).", position=line.position),
                                  line.id)
        if not 0 < credit.quantity <= line.quantity:
            raise CreditNoteError(_("Line %(position)s: credit a quantity above 0 and at most %(most)s.",
                                    position=line.position, most=format(line.quantity.normalize(), "f")), line.id)
        if not 0 <= credit.rate_minor <= line.rate_minor:
            limit = from_minor(line.rate_minor, invoice.currency)
            raise CreditNoteError(_("Line %(position)s: credit a rate of at most %(limit)s %(currency)s.",
                                    position=line.position, limit=limit, currency=invoice.currency), line.id, "rate")
        amount, left = line_amount_minor(credit.quantity, credit.rate_minor), left_on_line(line)
        if amount > left:
            raise CreditNoteError(_left_message(line, left, amount, invoice.currency), line.id)
        chosen.append((line, credit.quantity, credit.rate_minor))
    if not chosen:
        raise CreditNoteError(_("Choose at least one line to credit."))
    return sorted(chosen, key=lambda each: each[0].position)


def _claim_credit(invoice: Invoice, amount: int) -> None:
    """Add `amount` to the invoice's credits in one guarded UPDATE: only while it may be credited and the
    credits stay within its total; the credit that fills it makes the invoice "credited" and releases
    its Clockify entries. Of two credit notes at once, the second sees the first's credit."""
    invoice_id = invoice.id
    credited = Invoice.credited_minor + amount
    claimed = db.session.execute(
        update(Invoice).where(Invoice.id == invoice_id, Invoice.kind == "invoice", Invoice.status.in_(CREDITABLE),
                              credited <= Invoice.total_minor)
        .values(credited_minor=credited, status=case((credited >= Invoice.total_minor, "credited"),
                                                     (credited + Invoice.paid_minor >= Invoice.total_minor, "paid"),
                                                     else_=Invoice.status))
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        now = db.session.execute(select(Invoice.status, Invoice.total_minor, Invoice.credited_minor)
                                 .where(Invoice.id == invoice_id)).first()
        if now is None or now.status not in CREDITABLE:
            raise invoicing._changed(invoice)
        left = from_minor(now.total_minor - now.credited_minor, invoice.currency)
        raise CreditNoteError(_("This credit note (%(amount)s %(currency)s) would credit more than is left of invoice "
                                "%(number)s: %(left)s %(currency)s (its other credit notes are counted, a discount of "
                                "the invoice too). Credit less.", amount=from_minor(amount, invoice.currency),
                                currency=invoice.currency, number=invoice.number, left=left))
    db.session.expire(invoice)
    if invoice.status == "credited":
        db.session.execute(delete(ImportedEntry).where(ImportedEntry.invoice_id == invoice_id))


def _left_message(line: LineItem, left: int, amount: int, currency: str) -> str:
    if left <= 0:
        return _("Line %(position)s is credited in full already by this invoice's credit notes: untick it.",
                 position=line.position)
    return _("Line %(position)s: %(amount)s is more than is left to credit of it, %(left)s (its other credit notes "
             "credited %(credited)s). Credit less.", position=line.position, amount=_money(amount, currency),
             left=_money(left, currency), credited=_money(line.amount_minor - left, currency))


def _claim_lines(invoice: Invoice, amounts: list[tuple[LineItem, int]] | None) -> None:
    """Add each credit to its line's `credited_minor` (`amounts` None: every line in full), each in one
    guarded UPDATE that keeps it within the line's amount. Of two credit notes at once crediting one line,
    the second sees the first's credit (the invoice's claim, made first, orders them)."""
    if amounts is None:  # the invoice's claim of its whole total proved that nothing of it was credited
        db.session.execute(update(LineItem).where(LineItem.invoice_id == invoice.id)
                           .values(credited_minor=LineItem.amount_minor).execution_options(synchronize_session=False))
    for line, amount in sorted(amounts or [], key=lambda each: each[0].id):
        credited = LineItem.credited_minor + amount
        if amount and db.session.execute(
                update(LineItem).where(LineItem.id == line.id, LineItem.invoice_id == invoice.id,
                                       credited <= LineItem.amount_minor)
                .values(credited_minor=credited).execution_options(synchronize_session=False)).rowcount != 1:
            now = db.session.scalar(select(LineItem.credited_minor).where(LineItem.id == line.id)) or 0
            raise CreditNoteError(_left_message(line, line.amount_minor - now, amount, invoice.currency), line.id)
    for line in invoice.lines:
        db.session.expire(line, ["credited_minor"])


def credit_notes_of(invoice: Invoice) -> list[Invoice]:
    return list(db.session.scalars(select(Invoice).where(Invoice.corrects_invoice_id == invoice.id)
                                   .order_by(Invoice.id)))
