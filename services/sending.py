"""An invoice leaving the business: the question asked before numbering it (lines with no rate, a total
of 0), mailing it to the customer with its PDF, and the customer's view link.

Numbering and mailing are two steps with a commit between them (the view's): the number is given under
the invoice's lock (invoicing.mark_sent) and kept whatever the mail server then does, and the mail is
tried outside any transaction, so a slow server never holds a lock. The view link is a random token of
256 bits (secrets.token_urlsafe(32)); regenerating it replaces it (the old link stops working), disabling
it removes it; the first view is recorded by one guarded UPDATE."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from babel.dates import format_date
from flask_babel import gettext
from sqlalchemy import select, update

from extensions import db
from models import Business, Invoice, LineItem, MailAttempt, User, utcnow
from services import invoice_document, invoicing, mail, payments
from services.einvoice import from_invoice
from services.einvoice.rules import Format, Problem
from services.money import format_money

TOKEN_BYTES = 32  # 256 bits: unguessable (128 would do)
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43,64}")


# --- before numbering ---------------------------------------------------------------------------------

def lines_to_confirm(invoice: Invoice) -> list[LineItem]:
    """Lines a person probably did not mean to bill as they are: no rate, or an amount of 0."""
    return [line for line in invoice.lines if line.rate_minor == 0 or line.amount_minor == 0]


def needs_confirmation(invoice: Invoice) -> bool:
    """Ask before numbering a draft with lines that bill nothing, or with a total of 0."""
    return invoice.is_draft and bool(invoice.lines) and (
        bool(lines_to_confirm(invoice)) or invoicing.totals(invoice).total == 0)


# --- the view link ------------------------------------------------------------------------------------

def ensure_view_token(invoice: Invoice) -> str:
    """The invoice's view token, made on first need (when it is sent)."""
    if not invoice.view_token:
        invoice.view_token = secrets.token_urlsafe(TOKEN_BYTES)
    return invoice.view_token


def regenerate_view_token(invoice: Invoice) -> str:
    invoice.view_token = secrets.token_urlsafe(TOKEN_BYTES)
    return invoice.view_token


def disable_view_token(invoice: Invoice) -> None:
    invoice.view_token = None


def find_by_view_token(token: str) -> Invoice | None:
    """The sent invoice this token opens; None for an unknown or disabled token, or a draft."""
    if not TOKEN_SHAPE.fullmatch(token or ""):  # URL-safe base64 only: never a NUL or a page of text
        return None
    invoice = db.session.scalar(select(Invoice).where(Invoice.view_token == token))
    return None if invoice is None or invoice.is_draft else invoice


def record_first_view(invoice: Invoice) -> bool:
    """Set viewed_at once: of two first views at the same moment, one writes it. True when this one did."""
    return db.session.execute(
        update(Invoice).where(Invoice.id == invoice.id, Invoice.viewed_at.is_(None))
        .values(viewed_at=utcnow()).execution_options(synchronize_session=False)).rowcount == 1


# --- the mail -----------------------------------------------------------------------------------------

def values(invoice: Invoice, view_link: str, locale: str) -> dict[str, str]:
    """What each placeholder stands for in this invoice's mails, written for `locale` (dates and money)."""
    sender = invoicing.parties(invoice)["sender"]
    total = invoicing.totals(invoice).total
    balance = total if invoice.total_minor is None else payments.balance_minor(invoice)
    return {"number": invoice.number or "", "due_date": format_date(invoice.due_date, "medium", locale=locale),
            "view_link": view_link,
            "total": format_money(total, invoice.currency, locale),
            "balance": format_money(balance, invoice.currency, locale),
            "business": sender.get("business_name") or sender.get("display_name") or "",
            **({"invoice": invoice.corrects.number or ""} if invoice.is_credit_note else {})}


def invoice_templates(business: Business, invoice: Invoice | None = None) -> tuple[str, str]:
    """The subject and message of `invoice`'s mail: the business's own, or a credit note's (never "Invoice")."""
    if invoice is not None and invoice.is_credit_note:
        return credit_note_templates(business)
    return (business.invoice_mail_subject or mail.DEFAULT_INVOICE_SUBJECT,
            business.invoice_mail_body or mail.DEFAULT_INVOICE_BODY)


def credit_note_templates(business: Business) -> tuple[str, str]:
    """The subject and message of a credit note's mail: the business's own, else Hourbill's."""
    return (business.credit_note_mail_subject or mail.DEFAULT_CREDIT_NOTE_SUBJECT,
            business.credit_note_mail_body or mail.DEFAULT_CREDIT_NOTE_BODY)


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str]
    copy_to: str | None = None  # the sender's own address, for a copy (sent blind)


def in_language(template: str) -> str:
    """A default text (as shipped, or saved unchanged in the settings) in the language in force (the
    customer's, inside invoice_document.in_language); a text of the owner's own, as typed."""
    typed = template.replace("\r\n", "\n").strip()
    default = next((text for text in mail.DEFAULTS if text.strip() == typed), None)
    return template if default is None else gettext(default)


def compose(invoice: Invoice, subject: str, body: str, recipients: Recipients, view_link: str,
            einvoice: Format | None = None) -> mail.Outgoing:
    """The mail in the customer's language, with the invoice's PDF (or Factur-X PDF) and `einvoice`'s XML."""
    with invoice_document.in_language(invoice) as locale:
        filled = values(invoice, view_link, locale)
        subject, body = mail.fill(in_language(subject), filled), mail.fill(in_language(body), filled)
        sender = invoicing.parties(invoice)["sender"]
        return mail.Outgoing(subject=subject.replace("\n", " ")[:300], body=body,
                             to=recipients.to, cc=recipients.cc, bcc=[recipients.copy_to] if recipients.copy_to else [],
                             reply_to=[sender["business_email"]] if sender.get("business_email") else [],
                             attachments=_attachments(invoice, einvoice))


def einvoice_problems(invoice: Invoice) -> tuple[Format | None, list[Problem]]:
    """The customer's preferred e-invoice format (None: plain PDF) and what stops this invoice from
    passing its rules: a mail is not sent while there is any (blueprints/sending.py says what)."""
    format = from_invoice.preferred_format(invoice)
    return format, (from_invoice.problems(invoice, format) if format is not None else [])


def _attachments(invoice: Invoice, einvoice: Format | None) -> list[tuple[str, bytes, str]]:
    """The PDF, the Factur-X PDF in its place when the customer takes Factur-X, and beside it the XML of
    XRechnung or Peppol; no PDF when the invoice is too long for one (the mail has the view link)."""
    from services.pdf import TooManyLines

    attached = []
    try:
        if einvoice is Format.FACTURX:
            attached.append((from_invoice.filename(invoice, einvoice),
                             from_invoice.facturx_pdf(invoice, invoice_document.pdf(invoice, "pdf/a-3b")), "application/pdf"))
        else:
            attached.append((invoice_document.pdf_name(invoice), invoice_document.pdf(invoice), "application/pdf"))
    except TooManyLines:
        pass
    if einvoice not in (None, Format.FACTURX):
        attached.append((from_invoice.filename(invoice, einvoice), from_invoice.xml(invoice, einvoice), "application/xml"))
    return attached


def mail_invoice(invoice: Invoice, recipients: Recipients, view_link: str, *, by: User | None, kind: str = "invoice",
                 templates: tuple[str, str] | None = None, stage_days: int | None = None,
                 einvoice: Format | None | str = "check") -> MailAttempt:
    """Mail the (numbered) invoice with its PDF and log the attempt, whatever the server does.
    `einvoice`: the customer's format as the caller found it passing (einvoice_problems), or "check":
    attached only when it passes its rules (a reminder; the send form refuses to send when it does not)."""
    business = db.session.get(Business, invoice.business_id)
    subject, body = templates or invoice_templates(business, invoice)
    if einvoice == "check":
        format, problems = einvoice_problems(invoice)
        einvoice = None if problems else format
    outgoing = compose(invoice, subject, body, recipients, view_link, einvoice)
    delivery = mail.send(outgoing)
    return mail.log_attempt(business_id=invoice.business_id, invoice_id=invoice.id, kind=kind, outgoing=outgoing,
                            delivery=delivery, by_user_id=by.id if by else None, stage_days=stage_days)


def attempts(invoice: Invoice) -> list[MailAttempt]:
    """The invoice's send log, newest first."""
    return db.session.scalars(select(MailAttempt).where(MailAttempt.invoice_id == invoice.id)
                              .order_by(MailAttempt.at.desc(), MailAttempt.id.desc())).all()
