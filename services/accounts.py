"""Logins that can be revoked, password hashes and changes, and the time zones a profile may have.

Each successful log-in starts a UserSession: a random token goes to the browser (Flask-Login keeps it
in the session and in the remember-me cookie, as the user's "id"), and only its SHA-256 is stored. A
request is logged in only while its row is there and not revoked, so log-out, "log out everywhere" and
a password change end every copy of those cookies at their next request, and every log-in gets a new
remember-me token."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import TZPATH, available_timezones

from flask_babel import gettext as _

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from extensions import db
from models import Membership, User, UserSession, utcnow

MIN_PASSWORD_LENGTH = 10  # a new password's, at registration and at a change
MAX_PASSWORD_LENGTH = 200


# last_seen_at is written at most this often per session, so browsing is not a write per request.
TOUCH_EVERY = timedelta(minutes=5)
# A revoked row is kept a while for the record, then deleted.
KEEP_REVOKED = timedelta(days=30)


def session_max_age(config) -> timedelta:
    """A login unused for as long as the remember-me cookie lasts is over."""
    duration = config.get("REMEMBER_COOKIE_DURATION", timedelta(days=365))
    return duration if isinstance(duration, timedelta) else timedelta(seconds=int(duration))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_agent_summary(user_agent: str | None) -> str:
    """'Firefox on Linux' from a User-Agent header: enough to recognise one's own devices."""
    text = user_agent or ""
    browser = next((name for pattern, name in (
        (r"Edg/", "Edge"), (r"OPR/|Opera", "Opera"), (r"Firefox/", "Firefox"), (r"Chromium/", "Chromium"),
        (r"Chrome/", "Chrome"), (r"Safari/", "Safari"), (r"python-requests|curl/", _("A script")),
    ) if re.search(pattern, text)), _("A browser"))
    system = next((name for pattern, name in (
        (r"iPhone|iPad", "iOS"), (r"Android", "Android"), (r"Windows", "Windows"), (r"Mac OS X|Macintosh", "macOS"),
        (r"CrOS", "ChromeOS"), (r"Linux", "Linux"),
    ) if re.search(pattern, text)), "")
    return f"{browser} on {system}" if system else browser


def start_session(user: User, user_agent: str | None, max_age: timedelta, now: datetime | None = None) -> str:
    """A new login for this user; returns its token (also set as user.session_token)."""
    now = now or utcnow()
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id, or_(
        UserSession.revoked_at <= now - KEEP_REVOKED, UserSession.last_seen_at <= now - max_age)))
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(id=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                               user_agent=user_agent_summary(user_agent)))
    db.session.flush()
    user.session_token = token
    return token


# The time zones of a profile (the personal settings form; a first Clockify connection adopts its account's).
def _canonical_time_zones() -> list[str]:
    """The time zones a person picks from: the tz database's own zones (Europe/Berlin, UTC), not its
    aliases and oddities (Factory, localtime, posixrules, US/Eastern, Etc/GMT+5, Europe/Kiev). The
    database's tzdata.zi names every alias ("L" lines); without it, the zones of the regions."""
    regions = ("Africa/", "America/", "Antarctica/", "Arctic/", "Asia/", "Atlantic/", "Australia/", "Europe/",
               "Indian/", "Pacific/")
    zones = {zone for zone in available_timezones() if zone.startswith(regions)} | {"UTC"}
    for folder in TZPATH:
        try:
            text = (Path(folder) / "tzdata.zi").read_text(encoding="utf-8")
        except OSError:
            continue
        zones -= {line.split()[2] for line in text.splitlines() if line.startswith("L ")} - {"UTC"}
        break
    return sorted(zones)


TIME_ZONES = _canonical_time_zones()
# A zone a person chose before the list was narrowed stays valid for them until they change it.
KNOWN_TIME_ZONES = available_timezones() - {"Factory", "localtime", "posixrules", "posix", "right"}


# A login is read with its user and the user's memberships with their businesses, in one query: every page needs
# them (blueprints/access.py: the current business and role). One statement made once, its token a parameter:
# SQLAlchemy keys its compiled-SQL cache by a statement's structure, which it works out again for every new
# statement object (Session.get builds one per call: a quarter of the login's CPU), but only once for this one.
WITH_MEMBERSHIPS = (joinedload(UserSession.user).joinedload(User.memberships).joinedload(Membership.business),)
LOGIN_WITH_MEMBERSHIPS = select(UserSession).where(UserSession.id == bindparam("token_hash")).options(*WITH_MEMBERSHIPS)


def load_session_user(token: str, max_age: timedelta, now: datetime | None = None) -> User | None:
    """The user of a live login, or None (unknown, revoked, or unused for longer than max_age).

    When nothing else has happened in this request's transaction yet, last_seen_at is brought up to
    date and committed (a guarded UPDATE, at most every TOUCH_EVERY); otherwise it is left for later
    rather than commit someone else's half-done work."""
    now = now or utcnow()
    untouched = not db.session().in_transaction()
    row = (db.session.execute(LOGIN_WITH_MEMBERSHIPS, {"token_hash": token_hash(token)}).unique().scalar_one_or_none()
           if 20 <= len(token) <= 100 else None)
    if row is None or row.revoked_at is not None or row.last_seen_at <= now - max_age:
        return None
    user = row.user
    if untouched and row.last_seen_at <= now - TOUCH_EVERY:
        db.session.execute(update(UserSession).where(UserSession.id == row.id, UserSession.last_seen_at <= now - TOUCH_EVERY)
                           .values(last_seen_at=now))
        db.session.commit()
    user.session_token = token
    return user


def revoke(token: str, now: datetime | None = None) -> None:
    db.session.execute(update(UserSession).where(UserSession.id == token_hash(token), UserSession.revoked_at.is_(None))
                       .values(revoked_at=now or utcnow()))


def revoke_all(user: User, except_token: str | None = None, now: datetime | None = None) -> int:
    """Revoke every live login of the user (but the one given); returns how many."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if except_token:
        query = query.where(UserSession.id != token_hash(except_token))
    return db.session.execute(query.values(revoked_at=now or utcnow())).rowcount


def live_sessions(user: User, max_age: timedelta, now: datetime | None = None) -> list[UserSession]:
    now = now or utcnow()
    return list(db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.revoked_at.is_(None), UserSession.last_seen_at > now - max_age)
        .order_by(UserSession.last_seen_at.desc())))


def is_current(row: UserSession, user: User) -> bool:
    return bool(user.session_token) and row.id == token_hash(user.session_token)


class WrongPassword(Exception):
    """The current password given was not the account's."""


def hash_password(password: str, config) -> str:
    """scrypt unless configured otherwise (HOURBILL_PASSWORD_HASH_METHOD: the tests use a cheap one)."""
    return generate_password_hash(password, method=config["HOURBILL_PASSWORD_HASH_METHOD"])


def change_password(user: User, current: str, new: str, config) -> int:
    """Set a new password when the current one is right, and end every other login of the user (a
    stolen cookie stops working with the old password). Returns how many logins were ended."""
    if not check_password_hash(user.password_hash, current):
        raise WrongPassword()
    user.password_hash = hash_password(new, config)
    return revoke_all(user, except_token=user.session_token)
