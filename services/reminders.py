"""Reminders: a business's stages (N days after the due date, each with its own subject and body) and
`flask send-reminders`, which mails each overdue invoice's stage once.

Overdue: sent (or partly paid), past its due date and with something left to pay (the one rule of
services/payments.py `overdue`: a sent invoice whose total is zero is never chased). Of the stages due
for an invoice only the latest is sent (an invoice found 40 days late gets the 30-day reminder, not
three at once), and never one earlier than a stage already claimed. A stage is claimed in the database before its mail goes (an
INSERT that the unique (invoice, stage) key lets only one host make; a failed send, or a claim left by
a run that died an hour ago, is taken back by a guarded UPDATE), the claim is committed, the mail is
tried outside any transaction, and the outcome is recorded: two hosts running the command at the same
moment send each stage once, and a failed send is tried again on the next run."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import and_, or_, select, update

from extensions import db
from models import Business, Customer, Invoice, ReminderClaim, ReminderStage, utcnow
from services import mail, payments, sending
from services.imports import _dialect_insert

OPEN_STATUSES = ("sent", "partially_paid")  # numbered, not settled (partially_paid comes with payments)
STALE_CLAIM = timedelta(hours=1)  # a claim still "sending" this long after was left by a run that died
MAX_STAGES = 5


def stages_of(business_id: int) -> list[ReminderStage]:
    return db.session.scalars(select(ReminderStage).where(ReminderStage.business_id == business_id)
                              .order_by(ReminderStage.days)).all()


def replace_stages(business: Business, stages: list[tuple[int, str, str]]) -> None:
    """The business's stages become exactly these (days, subject, body); claims already made stand."""
    for stage in stages_of(business.id):
        db.session.delete(stage)
    db.session.flush()
    for days, subject, body in sorted(stages):
        db.session.add(ReminderStage(business_id=business.id, days=days, subject=subject, body=body))
    db.session.flush()


def templates_for(stage: ReminderStage | None) -> tuple[str, str]:
    if stage is None:
        return mail.DEFAULT_REMINDER_SUBJECT, mail.DEFAULT_REMINDER_BODY
    return stage.subject or mail.DEFAULT_REMINDER_SUBJECT, stage.body or mail.DEFAULT_REMINDER_BODY


@dataclass(frozen=True)
class Due:
    invoice_id: int
    stage: ReminderStage


def due(today: date) -> list[Due]:
    """For every overdue invoice of a business with reminders on: its latest stage that is due and not
    passed by a claim already made."""
    rows = db.session.execute(
        select(Invoice.id, Invoice.due_date, Invoice.business_id)
        .join(Business, Business.id == Invoice.business_id)
        .where(Business.reminders_enabled.is_(True), payments.overdue(today))
        .order_by(Invoice.id)).all()
    if not rows:
        return []
    business_ids = {row.business_id for row in rows}
    stages: dict[int, list[ReminderStage]] = {}
    for stage in db.session.scalars(select(ReminderStage).where(ReminderStage.business_id.in_(business_ids))
                                    .order_by(ReminderStage.days)):
        stages.setdefault(stage.business_id, []).append(stage)
    claimed: dict[int, dict[int, str]] = {}
    for claim in db.session.scalars(select(ReminderClaim).where(ReminderClaim.invoice_id.in_([r.id for r in rows]))):
        claimed.setdefault(claim.invoice_id, {})[claim.stage_days] = claim.state
    found = []
    for row in rows:
        late = (today - row.due_date).days
        reached = [stage for stage in stages.get(row.business_id, []) if stage.days <= late]
        if not reached:
            continue
        latest = reached[-1]
        made = claimed.get(row.id, {})
        if any(days > latest.days for days in made) or made.get(latest.days) == "sent":
            continue
        found.append(Due(row.id, latest))
    return found


def claim(invoice_id: int, stage_days: int, now=None) -> bool:
    """Take the (invoice, stage) for this run; False when another run has it or it was sent."""
    now = now or utcnow()
    claims = ReminderClaim.__table__
    inserted = db.session.execute(  # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT
        _dialect_insert()(claims).values(invoice_id=invoice_id, stage_days=stage_days, state="sending", claimed_at=now)
        .on_conflict_do_nothing(index_elements=["invoice_id", "stage_days"]).returning(claims.c.id)).first()
    if inserted is not None:
        return True
    return db.session.execute(
        update(ReminderClaim).where(
            ReminderClaim.invoice_id == invoice_id, ReminderClaim.stage_days == stage_days,
            or_(ReminderClaim.state == "failed",
                and_(ReminderClaim.state == "sending", ReminderClaim.claimed_at < now - STALE_CLAIM)))
        .values(state="sending", claimed_at=now).execution_options(synchronize_session=False)).rowcount == 1


def finish(invoice_id: int, stage_days: int, sent: bool) -> None:
    db.session.execute(update(ReminderClaim).where(ReminderClaim.invoice_id == invoice_id,
                                                   ReminderClaim.stage_days == stage_days)
                       .values(state="sent" if sent else "failed").execution_options(synchronize_session=False))


def recipients_for(invoice: Invoice) -> sending.Recipients | None:
    """The customer's address as it is now (they may have moved it since the invoice went)."""
    customer = db.session.get(Customer, invoice.customer_id)
    address = (customer.email if customer else "") or (invoice.parties or {}).get("customer", {}).get("email", "")
    try:
        to = mail.parse_addresses(address, required=True)
    except mail.AddressError:
        return None
    return sending.Recipients(to=to, cc=[])


@dataclass
class Summary:
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    no_address: list[str] = field(default_factory=list)
    taken: int = 0  # claimed by another run meanwhile


def run(today: date, link_for: Callable[[str], str], commit: Callable[[], None]) -> Summary:
    """Send what is due. `commit` is called after each claim and each outcome (a deliberate unit of work
    per mail: the claim must be visible to other hosts before the mail goes, and no transaction is held
    open while a server is slow)."""
    summary = Summary()
    for item in due(today):
        invoice = db.session.get(Invoice, item.invoice_id)
        stage_days, templates = item.stage.days, templates_for(item.stage)
        recipients = recipients_for(invoice)
        if recipients is None:
            summary.no_address.append(invoice.number)
            continue
        if not claim(invoice.id, stage_days):
            commit()
            summary.taken += 1
            continue
        commit()
        link = link_for(sending.ensure_view_token(invoice))
        commit()
        attempt = sending.mail_invoice(invoice, recipients, link, by=None, kind="reminder", templates=templates,
                                       stage_days=stage_days)
        finish(invoice.id, stage_days, attempt.outcome == "sent")
        commit()
        (summary.sent if attempt.outcome == "sent" else summary.failed).append(
            f"{invoice.number} ({stage_days} days): {attempt.answer}")
    return summary
