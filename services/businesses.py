"""Businesses and the people in them: making a business with its owner, and reading a person's
memberships. Who may do what is blueprints/access.py's permission table."""
from __future__ import annotations

from dataclasses import dataclass
from flask_babel import gettext as _

from sqlalchemy import delete, func, select

from extensions import db
from models import Business, ClockifyConnection, Customer, Invoice, Membership, User


class NeedsTwoFactor(ValueError):
    """The owner may require two-factor authentication only once they use it themselves."""


def create_business(owner: User, name: str, **profile) -> Business:
    """A new business with `owner` as its owner (adds and flushes; the caller commits)."""
    business = Business(name=name, **profile)
    db.session.add(business)
    db.session.flush()
    db.session.add(Membership(user_id=owner.id, business_id=business.id, role="owner"))
    db.session.flush()
    return business


def memberships_of(user_id: int) -> list[Membership]:
    """The person's memberships, oldest first, each with its business loaded (one query)."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(select(Membership).where(Membership.user_id == user_id)
                                   .options(joinedload(Membership.business)).order_by(Membership.id)))


def set_require_two_factor(business: Business, owner: User, required: bool) -> None:
    """Require (or stop requiring) two-factor authentication of every member (adds; the view commits)."""
    if required and not owner.two_factor_enabled:
        raise NeedsTwoFactor(_("Set up two-factor authentication for your own account first (Account & security): "
                             "you could not require of your members what you do not use yourself."))
    business.require_two_factor = required


@dataclass(frozen=True)
class Contents:
    """What deleting a business deletes, counted for its confirmation page."""
    customers: int
    invoices: int
    connections: int
    kept_invoices: list[Invoice]  # numbered (sent, paid or void): the tax authorities may ask for them


def contents(business: Business) -> Contents:
    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(model.business_id == business.id))

    kept = list(db.session.scalars(select(Invoice).where(Invoice.business_id == business.id,
                                                         Invoice.status != "draft")
                                   .order_by(Invoice.id)))
    return Contents(count(Customer), count(Invoice), count(ClockifyConnection), kept)


def delete_business(business: Business) -> None:
    """Deletes the business and every row of it: invoices first (their lines, imported-entry links and
    previews go with them, ON DELETE CASCADE), as customers refuse to go while an invoice names them;
    then the business, whose cascade takes customers, connections (with their stored keys, caches and
    currency labels), colleague links, invitations and memberships. Nothing of another business is
    touched: every statement is by this business's id. Flushes; the view commits."""
    db.session.execute(delete(Invoice).where(Invoice.business_id == business.id))
    db.session.execute(delete(Business).where(Business.id == business.id))
    db.session.expire_all()
