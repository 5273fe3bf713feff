"""The people of a business: invitations (single-use, expiring, revocable links), changing a member's
role, removing a member, transferring ownership.

A link's token is random and only its SHA-256 is stored (services.accounts.token_hash), so the
database never holds a usable link. Every change two requests could make at once is one guarded
UPDATE with a rowcount check: two accepts of one invitation give one membership, a revoke racing an
accept lets exactly one of them through. Who may do what is blueprints/access.py's permission table;
the rules here are the ones no role may break (a business always keeps an owner)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from flask_babel import gettext as _, lazy_gettext as _l

from sqlalchemy import delete, func, select, update

from extensions import db
from models import Business, ClockifyConnection, Invitation, Membership, User, utcnow
from services.accounts import token_hash

INVITABLE_ROLES = ("admin", "member", "viewer")  # an owner is made by transferring ownership
DEFAULT_INVITATION_DAYS = 7


class MemberChangeRefused(Exception):
    """A change the rules do not allow; its words are for the page."""


def new_token() -> tuple[str, str]:
    """(token for the link, its hash for the database)."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def link_state(expires_at: datetime, used_at: datetime | None, revoked_at: datetime | None,
               now: datetime | None = None) -> str:
    """open, used, revoked or expired: what a one-time link is now (invitations and connection requests)."""
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return "revoked"
    return "expired" if expires_at <= (now or utcnow()) else "open"


LINK_STATE_WORDS = {
    "used": _l("This link was used already: it works only once."),
    "revoked": _l("This link was revoked by the business that made it."),
    "expired": _l("This link has expired."),
}


# --- invitations ------------------------------------------------------------------------------------

def invite(business: Business, by: User, email: str, role: str, days: int = DEFAULT_INVITATION_DAYS,
           now: datetime | None = None) -> tuple[Invitation, str]:
    """A new invitation and the token for its link (shown once; only its hash is kept)."""
    if role not in INVITABLE_ROLES:
        raise MemberChangeRefused(_("Invite as admin, member or viewer; make someone the owner by transferring "
                                    "ownership."))
    email = email.strip().lower()
    if db.session.scalar(select(Membership.id).join(User).where(Membership.business_id == business.id,
                                                                 func.lower(User.email) == email)):
        raise MemberChangeRefused(_("%(email)s is a member of %(business)s already.", email=email,
                                    business=business.name or _("this business")))
    token, hashed = new_token()
    now = now or utcnow()
    invitation = Invitation(business_id=business.id, email=email, role=role, token_hash=hashed,
                            invited_by_user_id=by.id, created_at=now, expires_at=now + timedelta(days=days))
    db.session.add(invitation)
    db.session.flush()
    return invitation, token


def find_invitation(token: str) -> Invitation | None:
    return db.session.scalar(select(Invitation).where(Invitation.token_hash == token_hash(token)))


def invitation_state(invitation: Invitation, now: datetime | None = None) -> str:
    return link_state(invitation.expires_at, invitation.accepted_at, invitation.revoked_at, now)


def pending_invitations(business_id: int, now: datetime | None = None) -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).where(
        Invitation.business_id == business_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > (now or utcnow())).order_by(Invitation.created_at)))


@dataclass(frozen=True)
class Accepted:
    membership: Membership | None  # None: the link was not open (state says why)
    state: str


def accept(invitation: Invitation, user: User, now: datetime | None = None) -> Accepted:
    """Add `user` to the invitation's business with its role, once: the guarded UPDATE on accepted_at
    lets one of two parallel accepts through; the other sees the link used. The email must be the
    invited one (a forwarded link does not make a stranger's account a member)."""
    now = now or utcnow()
    if user.email.lower() != invitation.email.lower():
        raise MemberChangeRefused(_("This invitation is for %(invited)s, and you are logged in as %(email)s. Log out "
                                    "and open the link again, or ask for an invitation to your address.",
                                    invited=invitation.email, email=user.email))
    if db.session.scalar(select(Membership.id).where(Membership.user_id == user.id,
                                                     Membership.business_id == invitation.business_id)):
        raise MemberChangeRefused(_("You are a member of %(business)s already.",
                                    business=invitation.business.name or _("this business")))
    claimed = db.session.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > now).values(accepted_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.refresh(invitation)
        return Accepted(None, invitation_state(invitation, now))
    membership = Membership(user_id=user.id, business_id=invitation.business_id, role=invitation.role)
    db.session.add(membership)
    db.session.flush()
    return Accepted(membership, "used")


def revoke_invitation(invitation: Invitation, now: datetime | None = None) -> bool:
    """True when it was open and is now revoked (an accept racing it wins or loses as a whole)."""
    return db.session.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(revoked_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount == 1


# --- members ----------------------------------------------------------------------------------------

def members_of(business_id: int) -> list[Membership]:
    return list(db.session.scalars(select(Membership).join(User).where(Membership.business_id == business_id)
                                   .order_by(Membership.id)))


def change_role(membership: Membership, role: str, by: Membership) -> None:
    """An admin or owner changes another member's role (not an owner's: ownership moves by transfer)."""
    if role not in INVITABLE_ROLES:
        raise MemberChangeRefused(_("Choose admin, member or viewer. To make someone the owner, transfer ownership."))
    if membership.id == by.id:
        raise MemberChangeRefused(_("You cannot change your own role: ask another admin or the owner."))
    changed = db.session.execute(update(Membership).where(Membership.id == membership.id, Membership.role != "owner")
                                 .values(role=role).execution_options(synchronize_session="fetch")).rowcount
    if changed != 1:
        raise MemberChangeRefused(_("The owner's role changes only by transferring ownership to someone else."))


def remove(membership: Membership, by: Membership) -> None:
    """End a member's access to this business (at their very next request: blueprints.access reads the
    memberships on every request). Their private Clockify connections in it go too: nobody else may
    use or see them. Their logins in other businesses are untouched."""
    if membership.id == by.id:
        raise MemberChangeRefused(_("You cannot remove yourself here."))
    removed = db.session.execute(delete(Membership).where(Membership.id == membership.id, Membership.role != "owner")
                                 .execution_options(synchronize_session="fetch")).rowcount
    if removed != 1:
        raise MemberChangeRefused(_("An owner cannot be removed: they transfer ownership first."))
    for connection in db.session.scalars(select(ClockifyConnection).where(
            ClockifyConnection.business_id == membership.business_id,
            ClockifyConnection.created_by_user_id == membership.user_id, ClockifyConnection.shared.is_(False))):
        db.session.delete(connection)  # its encrypted key, cache and currency answers with it
    db.session.flush()


def transfer_ownership(business_id: int, owner: Membership, to: Membership) -> None:
    """Make `to` the owner and the current owner an admin, both or neither (guarded on both roles)."""
    if to.id == owner.id or to.business_id != business_id:
        raise MemberChangeRefused(_("Choose another member of this business."))
    stepped_down = db.session.execute(update(Membership).where(Membership.id == owner.id, Membership.role == "owner")
                                      .values(role="admin").execution_options(synchronize_session="fetch")).rowcount
    promoted = db.session.execute(update(Membership).where(Membership.id == to.id, Membership.role != "owner")
                                  .values(role="owner").execution_options(synchronize_session="fetch")).rowcount
    if stepped_down != 1 or promoted != 1:
        db.session.rollback()
        raise MemberChangeRefused(_("Ownership was not transferred: the roles changed meanwhile. Reload and try "
                                    "again."))
