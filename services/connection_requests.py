""""Ask a colleague to connect": a member makes a one-time link (72 hours, revocable) for whoever holds
the right Clockify key; that person, who needs no account here, pastes the key on the link's page and
the connection appears for the member who asked, shared or private as they chose.

Only the SHA-256 of the link's token is stored. Using the link is one guarded UPDATE on used_at, so
two presses of Verify & Save (or two people) make one connection."""
from __future__ import annotations

from datetime import datetime, timedelta
from flask_babel import gettext as _

from sqlalchemy import select, update

from extensions import db
from models import Business, ClockifyConnection, ConnectionRequest, User, utcnow
from services import connections
from services.accounts import token_hash
from services.clockify import ClockifyUser
from services.members import link_state, new_token
from services.secrets import KeyRing

LIFETIME = timedelta(hours=72)


def create(business: Business, by: User, shared: bool, now: datetime | None = None) -> tuple[ConnectionRequest, str]:
    """A new link for `by` and its token (shown once)."""
    token, hashed = new_token()
    now = now or utcnow()
    request = ConnectionRequest(business_id=business.id, requested_by_user_id=by.id, shared=shared,
                                token_hash=hashed, created_at=now, expires_at=now + LIFETIME)
    db.session.add(request)
    db.session.flush()
    return request, token


def find(token: str) -> ConnectionRequest | None:
    return db.session.scalar(select(ConnectionRequest).where(ConnectionRequest.token_hash == token_hash(token)))


def state(request: ConnectionRequest, now: datetime | None = None) -> str:
    return link_state(request.expires_at, request.used_at, request.revoked_at, now)


def open_requests(business_id: int, user_id: int | None, now: datetime | None = None) -> list[ConnectionRequest]:
    """The business's open links (of one person when user_id is given)."""
    query = select(ConnectionRequest).where(ConnectionRequest.business_id == business_id,
                                            ConnectionRequest.used_at.is_(None), ConnectionRequest.revoked_at.is_(None),
                                            ConnectionRequest.expires_at > (now or utcnow()))
    if user_id is not None:
        query = query.where(ConnectionRequest.requested_by_user_id == user_id)
    return list(db.session.scalars(query.order_by(ConnectionRequest.created_at)))


def revoke(request: ConnectionRequest, now: datetime | None = None) -> bool:
    return db.session.execute(update(ConnectionRequest).where(
        ConnectionRequest.id == request.id, ConnectionRequest.used_at.is_(None), ConnectionRequest.revoked_at.is_(None))
        .values(revoked_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount == 1


def fulfil(request: ConnectionRequest, api_key: str, region: str, subdomain: str | None, who: ClockifyUser,
           keyring: KeyRing, now: datetime | None = None) -> ClockifyConnection | None:
    """Use the link (once) for a key Clockify accepted: the requester's new connection, named after the
    Clockify account it reads as; None when the link was used, revoked or expired meanwhile."""
    now = now or utcnow()
    claimed = db.session.execute(update(ConnectionRequest).where(
        ConnectionRequest.id == request.id, ConnectionRequest.used_at.is_(None), ConnectionRequest.revoked_at.is_(None),
        ConnectionRequest.expires_at > now).values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        db.session.refresh(request)
        return None
    name = f"{who.name} ({who.email})" if who.email else who.name or "Clockify"
    connection = ClockifyConnection(business_id=request.business_id, created_by_user_id=request.requested_by_user_id,
                                    shared=request.shared, name=name[:100], region=region, subdomain=subdomain,
                                    description=_("Connected through a link by %(name)s",
                                                  name=who.name or _("a colleague"))[:500])
    db.session.add(connection)
    db.session.flush()  # the row's id goes into the key's associated data
    connections.seal_key(connection, api_key, who, keyring)
    db.session.execute(update(ConnectionRequest).where(ConnectionRequest.id == request.id)
                       .values(connection_id=connection.id).execution_options(synchronize_session=False))
    return connection
