"""Slows down password guessing: too many failed log-ins for one account, or from one address,
within a window, and further attempts are refused until the oldest failure ages out."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from extensions import db
from models import LoginAttempt, utcnow


def _keys(email: str, address: str | None) -> tuple[str, str]:
    return f"account:{email.strip().lower()}", f"address:{address or 'unknown'}"


def seconds_until_allowed(email: str, address: str | None, *, per_account: int, per_address: int,
                          window_seconds: int, now: datetime | None = None) -> int:
    """0 when a log-in may be tried now, otherwise how long to wait."""
    now = now or utcnow()
    since = now - timedelta(seconds=window_seconds)
    wait = 0
    for key, limit in zip(_keys(email, address), (per_account, per_address)):
        count, oldest = db.session.execute(
            select(func.count(LoginAttempt.id), func.min(LoginAttempt.at))
            .where(LoginAttempt.key == key, LoginAttempt.at > since)
        ).one()
        if count >= limit:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            wait = max(wait, int((oldest + timedelta(seconds=window_seconds) - now).total_seconds()) + 1)
    return wait


def record_failure(email: str, address: str | None, window_seconds: int, now: datetime | None = None) -> None:
    now = now or utcnow()
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(seconds=window_seconds)))
    for key in _keys(email, address):
        db.session.add(LoginAttempt(key=key, at=now))
    db.session.commit()


def clear_account(email: str) -> None:
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.key == _keys(email, None)[0]))
    db.session.commit()
