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

from flask import current_app
from sqlalchemy import select, update

from extensions import db
from models import Business, Invoice, LineItem, MailAttempt, User, utcnow
from services import invoice_document, invoicing, mail, payments
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

def values(invoice: Invoice, view_link: str) -> dict[str, str]:
    """What each placeholder stands for in this invoice's mails."""
    sender, locale = invoicing.parties(invoice)["sender"], current_app.config["HOURBILL_LOCALE"]
    total = invoicing.totals(invoice).total
    balance = total if invoice.total_minor is None else payments.balance_minor(invoice)
    return {"number": invoice.number or "", "due_date": invoice.due_date.isoformat(), "view_link": view_link,
            "total": format_money(total, invoice.currency, locale),
            "balance": format_money(balance, invoice.currency, locale),
            "business": sender.get("business_name") or sender.get("display_name") or ""}


def invoice_templates(business: Business) -> tuple[str, str]:
    return (business.invoice_mail_subject or mail.DEFAULT_INVOICE_SUBJECT,
            business.invoice_mail_body or mail.DEFAULT_INVOICE_BODY)


@dataclass(frozen=True)
class Recipients:
    to: list[str]
    cc: list[str]
    copy_to: str | None = None  # the sender's own address, for a copy (sent blind)


def compose(invoice: Invoice, subject: str, body: str, recipients: Recipients, view_link: str) -> mail.Outgoing:
    filled = values(invoice, view_link)
    sender = invoicing.parties(invoice)["sender"]
    return mail.Outgoing(subject=mail.fill(subject, filled).replace("\n", " ")[:300], body=mail.fill(body, filled),
                         to=recipients.to, cc=recipients.cc, bcc=[recipients.copy_to] if recipients.copy_to else [],
                         reply_to=[sender["business_email"]] if sender.get("business_email") else [],
                         attachments=_attachments(invoice))


def _attachments(invoice: Invoice) -> list[tuple[str, bytes, str]]:
    """The PDF, unless the invoice is too long for one: then the mail carries the view link alone."""
    from services.pdf import TooManyLines

    try:
        return [(invoice_document.pdf_name(invoice), invoice_document.pdf(invoice), "application/pdf")]
    except TooManyLines:
        return []


def mail_invoice(invoice: Invoice, recipients: Recipients, view_link: str, *, by: User | None, kind: str = "invoice",
                 templates: tuple[str, str] | None = None, stage_days: int | None = None) -> MailAttempt:
    """Mail the (numbered) invoice with its PDF and log the attempt, whatever the server does."""
    business = db.session.get(Business, invoice.business_id)
    subject, body = templates or invoice_templates(business)
    outgoing = compose(invoice, subject, body, recipients, view_link)
    delivery = mail.send(outgoing)
    return mail.log_attempt(business_id=invoice.business_id, invoice_id=invoice.id, kind=kind, outgoing=outgoing,
                            delivery=delivery, by_user_id=by.id if by else None, stage_days=stage_days)


def attempts(invoice: Invoice) -> list[MailAttempt]:
    """The invoice's send log, newest first."""
    return db.session.scalars(select(MailAttempt).where(MailAttempt.invoice_id == invoice.id)
                              .order_by(MailAttempt.at.desc(), MailAttempt.id.desc())).all()
