"""Slows down password guessing without locking the owner out.

Each budget is a number of slots per key within a window:
- an account from one address (strict, HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT, default 5): past it
  that address must wait before trying that account again;
- an address (loose, HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS, default 100): past it that address must
  wait, whatever the account (registrations that hit a taken email count here too);
- an account from anywhere (soft, HOURBILL_LOGIN_SLOW_DOWN_AFTER, default 20): past it every attempt
  on the account waits HOURBILL_LOGIN_SLOW_DOWN_SECONDS (at most 2) before its password is checked, but
  is never refused, so guesses from elsewhere never keep the owner's right password out.

An attempt claims its slots before the password is checked, each with one guarded statement (insert
the slot, or take it over once it has aged out: INSERT .. ON CONFLICT DO UPDATE .. WHERE), so a burst
of parallel guesses checks at most the limit. A successful log-in gives its slots back.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite

from extensions import db
from models import LoginAttempt, utcnow


MAX_TRIES = 200  # claims lost to parallel attempts before giving up: more than a server runs at once
# The slow-down sleeps in the request's worker thread (gunicorn.conf.py: 2 workers x 4 threads), so every
# parallel guess past the soft limit holds a thread while it waits. Answering 429 at once instead would let
# guesses from elsewhere keep the owner's right password out, which the soft budget exists to prevent, so
# the wait stays, at most this long (the default) whatever HOURBILL_LOGIN_SLOW_DOWN_SECONDS says.
MAX_SLOW_DOWN_SECONDS = 2.0


@dataclass(frozen=True)
class Limits:
    per_account_address: int = 5
    per_address: int = 100
    slow_down_after: int = 20
    window_seconds: int = 15 * 60
    slow_down_seconds: float = 2.0

    @classmethod
    def from_config(cls, config) -> Limits:
        return cls(per_account_address=int(config.get("HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT", cls.per_account_address)),
                   per_address=int(config.get("HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS", cls.per_address)),
                   slow_down_after=int(config.get("HOURBILL_LOGIN_SLOW_DOWN_AFTER", cls.slow_down_after)),
                   window_seconds=int(config.get("HOURBILL_LOGIN_FAILURE_WINDOW_SECONDS", cls.window_seconds)),
                   slow_down_seconds=min(max(float(config.get("HOURBILL_LOGIN_SLOW_DOWN_SECONDS",
                                                               cls.slow_down_seconds)), 0.0), MAX_SLOW_DOWN_SECONDS))


@dataclass
class Attempt:
    """The slots one attempt holds. ``wait`` > 0: refused, try again in that many seconds (nothing is
    held). ``slow``: allowed, but the account is under attack, so it waits first."""

    slots: list[tuple[str, int, datetime]] = field(default_factory=list)
    wait: int = 0
    slow: bool = False

    @property
    def refused(self) -> bool:
        return self.wait > 0


def account_address_key(email: str, address: str | None) -> str:
    return f"account:{email.strip().lower()}|address:{address or 'unknown'}"


def address_key(address: str | None) -> str:
    return f"address:{address or 'unknown'}"


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"


def _take_slot(key: str, slot: int, now: datetime, cutoff: datetime) -> bool:
    """Insert the slot, or take it over if it has aged out; True if this statement got it. One
    statement, so two requests racing for the same slot cannot both get it (the database serializes
    them on the unique key and re-checks the WHERE against the winner's row)."""
    module = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    table = LoginAttempt.__table__
    statement = module.insert(table).values(key=key, slot=slot, at=now)
    statement = statement.on_conflict_do_update(index_elements=["key", "slot"], set_={"at": now},
                                                where=table.c.at <= cutoff).returning(table.c.id)
    # RETURNING rather than rowcount, which psycopg reports as -1 for this statement.
    return db.session.execute(statement).first() is not None


def _first_free(key: str, limit: int) -> int | None:
    """The lowest slot below ``limit`` that no row holds, found by the database on the (key, slot) index
    (slot 0, else the first held slot whose next one is not held), so an attempt costs the same whatever
    the limit; None when all ``limit`` are held."""
    taken, following = LoginAttempt.__table__.alias("taken"), LoginAttempt.__table__.alias("following")
    first = db.session.scalar(select(func.coalesce(
        select(literal(0)).where(~exists().where(taken.c.key == key, taken.c.slot == 0)).scalar_subquery(),
        select(func.min(taken.c.slot + 1)).where(
            taken.c.key == key, ~exists().where(following.c.key == key, following.c.slot == taken.c.slot + 1))
        .scalar_subquery())))
    return first if first is not None and first < limit else None


def claim_slot(key: str, limit: int, window_seconds: int, now: datetime) -> tuple[int | None, int]:
    """(slot, 0) when a slot was claimed; (None, seconds to wait) when all ``limit`` are in use. A free
    slot first, else the one that aged out longest ago; a lost race means another attempt took that slot
    (each try is another's claim, so a burst of n parallel attempts tries at most n times): look again."""
    cutoff = now - timedelta(seconds=window_seconds)
    held = select(LoginAttempt.slot).where(LoginAttempt.key == key, LoginAttempt.slot < limit)
    for _ in range(MAX_TRIES):
        slot = _first_free(key, limit)
        if slot is None:
            slot = db.session.scalar(held.where(LoginAttempt.at <= cutoff).order_by(LoginAttempt.at).limit(1))
        if slot is None:
            break
        if _take_slot(key, slot, now, cutoff):
            return slot, 0
    oldest = db.session.scalar(select(func.min(LoginAttempt.at)).where(LoginAttempt.key == key,
                                                                       LoginAttempt.slot < limit)) or now
    return None, max(1, int((oldest + timedelta(seconds=window_seconds) - now).total_seconds()) + 1)


def _claim_all(budgets: list[tuple[str, int]], window_seconds: int, now: datetime) -> Attempt:
    attempt = Attempt()
    for key, limit in budgets:
        slot, wait = claim_slot(key, limit, window_seconds, now)
        if slot is None:
            release(attempt)
            return Attempt(wait=wait)
        attempt.slots.append((key, slot, now))
    return attempt


def claim_login(email: str, address: str | None, limits: Limits, now: datetime | None = None) -> Attempt:
    """Claim the strict and loose slots of a log-in, then the account's soft one. The caller commits
    before checking the password, and calls ``succeeded`` when it was right."""
    now = now or utcnow()
    purge(limits.window_seconds, now)
    attempt = _claim_all([(account_address_key(email, address), limits.per_account_address),
                          (address_key(address), limits.per_address)], limits.window_seconds, now)
    if attempt.refused:
        return attempt
    slot, _ = claim_slot(account_key(email), limits.slow_down_after, limits.window_seconds, now)
    if slot is None:
        attempt.slow = True
    else:
        attempt.slots.append((account_key(email), slot, now))
    return attempt


def claim_address(address: str | None, limits: Limits, now: datetime | None = None) -> Attempt:
    """One slot of the address's loose budget (registration: a taken email keeps it)."""
    now = now or utcnow()
    return _claim_all([(address_key(address), limits.per_address)], limits.window_seconds, now)


def claim_code(user_id: int, limit: int, window_seconds: int, now: datetime | None = None) -> Attempt:
    """One try at a two-factor code for this account (only someone who gave its password gets here)."""
    now = now or utcnow()
    return _claim_all([(f"code:user={user_id}", limit)], window_seconds, now)


def slow_down(attempt: Attempt, limits: Limits) -> None:
    """Under attack: wait before the password is checked (after the claim is committed)."""
    if attempt.slow:
        time.sleep(limits.slow_down_seconds)


def _held(attempt: Attempt) -> list:
    """The rows holding the attempt's slots (each still as this attempt claimed it)."""
    return [and_(LoginAttempt.key == key, LoginAttempt.slot == slot, LoginAttempt.at == at)
            for key, slot, at in attempt.slots]


def release(attempt: Attempt) -> None:
    """Give the attempt's slots back (it succeeded, or it was refused before anything was checked): one statement."""
    if attempt.slots:
        db.session.execute(delete(LoginAttempt).where(or_(*_held(attempt))))
    attempt.slots.clear()


def succeeded(attempt: Attempt, email: str, address: str | None) -> None:
    """The right password: this attempt's slots and the account's earlier failures from this address
    are forgiven (the owner's typos). Failures from other addresses stay counted. One statement (a log-in
    asked four)."""
    db.session.execute(delete(LoginAttempt).where(or_(LoginAttempt.key == account_address_key(email, address),
                                                      *_held(attempt))))
    attempt.slots.clear()


def purge(window_seconds: int, now: datetime) -> None:
    """Slots that aged out are free anyway: delete them so random emails cannot grow the table."""
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at <= now - timedelta(seconds=window_seconds)))
