"""Invoice rules with no request in them: totals, the status flow, numbering, duplication.

Two requests may change one invoice at once (two tabs, a double click, Send while a line is removed).
Every change is therefore made under a guard in the database, never on what a request read earlier:
a draft is edited only after `lock_draft` has taken its row, and a status changes only through one
UPDATE guarded by the status it leaves. Of two racing requests exactly one wins; the other gets
InvoiceChanged, whose message tells the user what happened."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from sqlalchemy import delete, func, select, update
from sqlalchemy import inspect as sa_inspect

from extensions import db
from models import Business, Customer, ImportedEntry, Invoice, LineItem, utcnow
from services.money import (INVOICE_LIMIT_MINOR, Totals, from_minor, invoice_totals, line_amount_minor,
                            percent_of_minor)

# Which status may follow which; anything else is refused with InvoiceStateError.
# Payments move sent -> partially paid -> paid and back (services/payments.py, under their own guard).
# A credit note is "issued" from the start and never changes; an invoice credited in full becomes
# "credited" (services/credit_notes.py, under its own guard).
TRANSITIONS = {"draft": {"sent"}, "sent": {"void"}, "partially_paid": set(), "paid": set(), "void": set(),
               "issued": set(), "credited": set()}
DONE = {"draft": _l("made a draft again"), "sent": _l("sent"), "partially_paid": _l("partly paid"), "paid": _l("paid"),
        "void": _l("voided"), "issued": _l("issued"), "credited": _l("credited in full")}


class InvoiceStateError(Exception):
    """A change the invoice's status does not allow; the message is for the user."""


class InvoiceChanged(InvoiceStateError):
    """Another request changed the invoice first (sent, paid, voided or deleted it): this request lost
    the race and changed nothing. The message is for the user; the app answers 409 with it."""


class AmountTooLarge(ValueError):
    """A line that would take the invoice past INVOICE_LIMIT_MINOR; the message is for the user."""


# What a VAT category is called on the page and the invoice (EN 16931's codes, models.VAT_CATEGORIES);
# lazy: the printed invoice says it in the customer's language (services.invoice_document.in_language).
VAT_CATEGORY_NAMES = {"S": _l("Standard rate"), "Z": _l("Zero rated"), "E": _l("Exempt"), "AE": _l("Reverse charge"),
                      "K": _l("Intra-community supply"), "G": _l("Export outside the EU"),
                      "O": _l("Outside the scope of VAT")}


@dataclass(frozen=True)
class VatGroup:
    """The lines of one VAT category and rate (a row of the VAT breakdown), in minor units: its lines'
    amounts, its share of the discount, what VAT is charged on (basis) and the VAT."""

    category: str
    rate: Decimal
    reason: str
    lines: int
    discount: int
    basis: int
    tax: int

    @property
    def name(self) -> str:
        return VAT_CATEGORY_NAMES[self.category]


@dataclass(frozen=True)
class InvoiceTotals(Totals):
    """Totals with the VAT breakdown they add up from (one group per category and rate, in the order
    the lines first use them)."""

    breakdown: tuple[VatGroup, ...] = ()


def line_vat(invoice: Invoice, line: LineItem) -> tuple[str, Decimal, str]:
    """(category, rate, exemption reason) of a line: its own, or the invoice's default. Every category but
    standard rate charges 0%."""
    if line.vat_category:
        category, rate, reason = line.vat_category, line.vat_rate, line.vat_exemption_reason
    else:
        category, rate, reason = invoice.vat_category or "S", invoice.tax_rate, invoice.vat_exemption_reason
    return category, (Decimal(rate or 0).normalize() if category == "S" else Decimal(0)), (reason or "")


def totals(invoice: Invoice) -> InvoiceTotals:
    """Subtotal, discount, VAT per category and rate, total: the figures the page, the PDF and the
    e-invoice all print (services/einvoice/from_invoice.py writes these integers into the XML)."""
    groups: dict[tuple[str, Decimal], list] = {}
    for line in invoice.lines:
        category, rate, reason = line_vat(invoice, line)
        group = groups.setdefault((category, rate), [0, 0, reason])
        group[0] += line.amount_minor
        group[1] += 1
        group[2] = group[2] or reason
    return vat_totals([(category, rate, reason, amount, count)
                       for (category, rate), (amount, count, reason) in groups.items()], invoice.discount_minor)


def vat_totals(groups: list[tuple[str, Decimal, str, int, int]], discount_minor: int) -> InvoiceTotals:
    """Totals from the lines' sums per VAT group (category, rate, reason, amount, lines), in the order the
    lines first use them. EN 16931's arithmetic: the discount is split over the groups in proportion to
    their amounts (the last group takes the rounding remainder), then each group's VAT is its basis x rate
    rounded half-up."""
    subtotal = sum(group[3] for group in groups)
    discount = invoice_totals([subtotal], Decimal(0), discount_minor).discount  # as it is clamped
    breakdown, left = [], discount
    for index, (category, rate, reason, amount, count) in enumerate(groups):
        share = left if index == len(groups) - 1 else _share(discount, amount, subtotal)
        left -= share
        basis = amount - share
        breakdown.append(VatGroup(category=category, rate=rate, reason=reason, lines=count, discount=share,
                                  basis=basis, tax=percent_of_minor(basis, rate)))
    tax = sum(group.tax for group in breakdown)
    return InvoiceTotals(subtotal=subtotal, discount=discount, tax=tax, total=subtotal - discount + tax,
                         breakdown=tuple(breakdown))


def totals_of(invoices: list[Invoice]) -> dict[int, InvoiceTotals]:
    """totals() of many invoices from one query (for lists): the lines' sums per invoice and VAT group."""
    if not invoices:
        return {}
    by_id = {invoice.id: invoice for invoice in invoices}
    rows = db.session.execute(
        select(LineItem.invoice_id, LineItem.vat_category, LineItem.vat_rate, func.min(LineItem.position),
               func.sum(LineItem.amount_minor), func.count())
        .where(LineItem.invoice_id.in_(by_id)).group_by(LineItem.invoice_id, LineItem.vat_category, LineItem.vat_rate)
        .order_by(LineItem.invoice_id, func.min(LineItem.position)))
    groups: dict[int, dict[tuple[str, Decimal], list]] = {invoice_id: {} for invoice_id in by_id}
    for invoice_id, category, rate, _first, amount, count in rows:
        invoice = by_id[invoice_id]
        line = LineItem(vat_category=category, vat_rate=rate, vat_exemption_reason="")
        key = line_vat(invoice, line)[:2]
        group = groups[invoice_id].setdefault(key, [0, 0])
        group[0] += int(amount or 0)
        group[1] += count
    return {invoice_id: vat_totals([(category, rate, "", amount, count) for (category, rate), (amount, count)
                                    in groups[invoice_id].items()], by_id[invoice_id].discount_minor)
            for invoice_id in by_id}


def _share(discount: int, amount: int, subtotal: int) -> int:
    if not subtotal:
        return 0
    return int((Decimal(discount) * amount / subtotal).quantize(Decimal(1), rounding=ROUND_HALF_UP))


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


@dataclass(frozen=True)
class Sequence:
    """The business's columns one numbering sequence keeps: invoices have one, credit notes their own."""

    prefix: str
    format: str
    counter: str
    year: str


INVOICES = Sequence("invoice_prefix", "invoice_number_format", "next_invoice_number", "invoice_number_year")
CREDIT_NOTES = Sequence("credit_note_prefix", "credit_note_number_format", "next_credit_note_number",
                        "credit_note_number_year")


def _sequence(business: Business, year: int, sequence: Sequence = INVOICES) -> int:
    """The sequence number the business's next invoice dated in `year` takes. With a yearly restart the
    counter belongs to business.invoice_number_year (none yet: the counter counts in any year): a later
    year starts again at 1, an earlier one is refused, since its sequence has closed."""
    counter_year = getattr(business, sequence.year)
    if not business.number_restarts_yearly or counter_year is None or year == counter_year:
        return getattr(business, sequence.counter)
    if year > counter_year:
        return 1
    raise InvoiceStateError(_("This invoice is dated %(year)s, but numbering restarts each year and has moved on "
                              "to %(counter)s: its %(year)s sequence is closed. Change the issue date to %(counter)s or "
                              "later to send it.", year=year, counter=counter_year))


def next_number(business: Business, year: int, sequence: Sequence = INVOICES) -> str:
    """The number the business's next invoice dated in `year` will get (the profile's hint): the same
    rule mark_sent numbers with."""
    return format_number(getattr(business, sequence.prefix), getattr(business, sequence.format),
                         _sequence(business, year, sequence), year)


def take_number(business_id: int, year: int, sequence: Sequence = INVOICES) -> str:
    """The next number of the business's `sequence` for a document dated in `year`, counted on.

    The business's row is taken by an UPDATE before its counter is read, so two documents numbered at
    once serialise on it (a row lock on PostgreSQL, the write lock on SQLite) and never share or skip a
    number; the unique constraint on (business, number) is the last guard."""
    db.session.execute(update(Business).where(Business.id == business_id)
                       .values({sequence.counter: getattr(Business, sequence.counter)}))
    business = db.session.get(Business, business_id, populate_existing=True)
    seq = _sequence(business, year, sequence)
    while True:
        number = format_number(getattr(business, sequence.prefix), getattr(business, sequence.format), seq, year)
        # The owner may have set the counter back in the profile: skip numbers already given.
        taken = db.session.scalar(
            select(Invoice.id).where(Invoice.business_id == business_id, Invoice.number == number))
        if not taken:
            break
        seq += 1
    setattr(business, sequence.counter, seq + 1)
    if business.number_restarts_yearly:
        setattr(business, sequence.year, year)
    return number


def lock_draft(invoice: Invoice) -> None:
    """Take the draft's row for this transaction before changing it or its lines, or raise
    InvoiceChanged when it is no longer a draft (sent or deleted by another request meanwhile).

    One guarded no-op UPDATE (`... WHERE id = :id AND status = 'draft'`, rowcount checked): on SQLite it
    takes the database's write lock, on PostgreSQL the row's lock, until the caller commits or rolls
    back. Every change to a draft calls it first (details, lines, send, delete, the import wizard's
    confirm), so two of them run one after the other and each sees what the other did. The invoice is
    then expired, so its lines and fields are read again under the lock, not as this request first saw
    them: load a line to change only after this call."""
    invoice_id = _id(invoice)
    claimed = db.session.execute(
        update(Invoice).where(Invoice.id == invoice_id, Invoice.status == "draft")
        .values(status="draft").execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise _changed(invoice)
    db.session.expire(invoice)


def _id(invoice: Invoice) -> int:
    """The invoice's id without loading it: after a commit the instance is expired, and reading
    `invoice.id` would load a row another request may have deleted meanwhile (ObjectDeletedError)."""
    return sa_inspect(invoice).identity[0]


def _changed(invoice: Invoice) -> InvoiceChanged:
    """What another request did to the invoice, in the user's words."""
    now = db.session.execute(select(Invoice.status, Invoice.number).where(Invoice.id == _id(invoice))).first()
    if now is None:
        return InvoiceChanged(_("This invoice was deleted meanwhile (in another tab?): nothing was changed."))
    status, number = now
    name = _("Invoice %(number)s", number=number) if number else _("This invoice")
    return InvoiceChanged(_("%(name)s was %(done)s already (in another tab?): its lines and details can no "
                            "longer change, and nothing was changed. Reload the page to see it as it is now, or "
                            "duplicate it to make a new draft.", name=name, done=DONE[status]))


def _claim(invoice: Invoice, to: str, *conditions, **values) -> None:
    """Move the invoice from the status this request saw to `to` in one guarded UPDATE (and only while
    `conditions` hold), or raise InvoiceChanged: of two requests changing the status at once, exactly
    one does."""
    _require_transition(invoice, to)
    claimed = db.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.status == invoice.status, *conditions)
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
        raise InvoiceStateError(_("Add at least one line before sending the invoice."))
    number = take_number(invoice.business_id, invoice.issue_date.year)
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
# better-pdf: the payment details an invoice was sent with (the reference printed with them is its number).
SENDER_FIELDS |= {"bank_account_holder": "bank_account_holder", "iban": "iban", "bic": "bic"}
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
        raise InvoiceStateError(_("This invoice has payments recorded: delete them first (below) to void it."))
    if invoice.status == "sent" and void_forbidden(invoice):
        raise InvoiceStateError(str(VOID_FORBIDDEN))
    if invoice.credited_minor:
        raise InvoiceStateError(str(CREDITED))
    try:  # a credit note issued meanwhile leaves the status as it was: the guard counts the credits too
        _claim(invoice, "void", Invoice.credited_minor == 0, voided_at=utcnow())
    except InvoiceChanged:
        if db.session.scalar(select(Invoice.credited_minor).where(Invoice.id == _id(invoice))):
            raise InvoiceChanged(_("A credit note for invoice %(number)s was issued meanwhile (in another tab?): "
                                   "it was not voided. %(credited)s", number=invoice.number, credited=CREDITED)) from None
        raise
    db.session.execute(delete(ImportedEntry).where(ImportedEntry.invoice_id == invoice.id))


CREDITED = _l("This invoice has credit notes: correct the rest of it with another credit note.")
VOID_FORBIDDEN = _l("Sent invoices cannot be voided in this business (Settings > Credit notes): correct it with a "
                    "credit note instead, in full or for some of its lines.")


def void_forbidden(invoice: Invoice) -> bool:
    """Whether the business corrects sent invoices only by credit notes (the law in Germany, France, ...)."""
    return db.session.get(Business, invoice.business_id).void_forbidden_once_sent


def delete_draft(invoice: Invoice) -> None:
    """Delete a draft (its lines and Clockify entry links go with it). Locked first: a draft sent
    at the same moment has a number, and a numbered invoice is never deleted."""
    lock_draft(invoice)
    db.session.delete(invoice)


def _require_transition(invoice: Invoice, to: str) -> None:
    if to not in TRANSITIONS[invoice.status]:
        raise InvoiceStateError(_("A %(status)s invoice cannot be marked %(to)s.", status=invoice.status, to=to))


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
    copy.vat_category, copy.vat_exemption_reason = invoice.vat_category, invoice.vat_exemption_reason
    kept = [line for line in invoice.lines if line.source != "clockify"]
    for position, line in enumerate(kept, start=1):
        new_line = LineItem(position=position, description=line.description, unit=line.unit, source="manual",
                            vat_category=line.vat_category, vat_rate=line.vat_rate,
                            vat_exemption_reason=line.vat_exemption_reason)
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
        raise AmountTooLarge(_("This line would make the invoice total larger than Hourbill can keep: the lines of "
                               "one invoice may add up to at most %(limit)s (a negative line counts by its size). "
                               "Split the work over several invoices.", limit=limit))


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


# Undoing "Remove line" (issue 13). The removed line travels as a snapshot (plain data: the view signs
# it and hands it to the browser with the Undo button, so nothing needs storing); restoring puts back
# the same row, text, amounts, position and Clockify entries, or says why it cannot.

class LineNotRestorable(InvoiceStateError):
    """The removed line cannot come back as it was; the message is for the user."""


def line_snapshot(line: LineItem) -> dict:
    """Everything needed to put `line` back exactly as it is, as JSON-ready plain data."""
    return {"id": line.id, "invoice_id": line.invoice_id, "position": line.position,
            "description": line.description, "quantity": str(line.quantity), "unit": line.unit,
            "rate_minor": line.rate_minor, "source": line.source,
            "entries": [[entry.workspace_id, entry.entry_id, entry.seconds, entry.rate_minor]
                        for entry in line.imported_entries]}


def restore_line(invoice: Invoice, snapshot: dict) -> LineItem:
    """Put a removed line back where it was, with its Clockify entries. Call under lock_draft. Restoring
    twice (a double click, a second tab) gives the line once: the first restore gives it back its own id,
    the second finds it there. Raises LineNotRestorable when one of its entries was billed again
    meanwhile (it is then on another line or invoice) or the line no longer fits the invoice."""

    if snapshot["invoice_id"] != invoice.id:
        raise LineNotRestorable(_("That line was removed from another invoice."))
    existing = db.session.get(LineItem, snapshot["id"])
    if existing is not None and existing.invoice_id == invoice.id and existing.description == snapshot["description"]:
        return existing  # restored already
    from services.imports import imported_elsewhere  # it imports this module

    by_workspace: dict[str, list[str]] = {}
    for workspace, entry, _seconds, _rate in snapshot["entries"]:
        by_workspace.setdefault(workspace, []).append(entry)
    taken = [billed for workspace, entries in by_workspace.items()
             for billed in imported_elsewhere(invoice.business_id, workspace, entries).values()]
    if taken:
        where = sorted({_("invoice %(number)s", number=billed.number) if billed.number else
                        _("this invoice") if billed.id == invoice.id else _("another draft") for billed in taken})
        raise LineNotRestorable(ngettext("The line cannot come back: %(num)d of its Clockify entries is billed again "
                                         "meanwhile, on %(where)s. Import it again if that was not meant.",
                                         "The line cannot come back: %(num)d of its Clockify entries are billed again "
                                         "meanwhile, on %(where)s. Import it again if that was not meant.",
                                         len(taken), where=", ".join(where)))
    quantity = Decimal(snapshot["quantity"])
    try:
        check_room(invoice, quantity, snapshot["rate_minor"])
    except AmountTooLarge as error:
        raise LineNotRestorable(str(error)) from None
    line = LineItem(id=None if existing is not None else snapshot["id"], description=snapshot["description"],
                    unit=snapshot["unit"], source=snapshot["source"])
    line.set_amounts(quantity, snapshot["rate_minor"])
    lines = list(invoice.lines)
    lines.insert(min(max(snapshot["position"] - 1, 0), len(lines)), line)
    invoice.lines.append(line)
    for position, each in enumerate(lines, start=1):
        each.position = position
    invoice.lines.sort(key=lambda each: each.position)
    for workspace, entry, seconds, rate in snapshot["entries"]:
        line.imported_entries.append(ImportedEntry(business_id=invoice.business_id, invoice_id=invoice.id,
                                                   workspace_id=workspace, entry_id=entry, seconds=seconds,
                                                   rate_minor=rate))
    db.session.flush()
    return line
