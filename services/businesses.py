"""Businesses and the people in them: making a business with its owner, and reading a person's
memberships. Who may do what is blueprints/access.py's permission table."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import Business, Membership, User


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
