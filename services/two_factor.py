"""Two-factor authentication: a TOTP authenticator app, and ten one-time recovery codes.

The TOTP secret is sealed with the data key like a Clockify key (services/secrets.py), bound to its
user. A code is accepted within one 30-second step either side of now, and never twice: the last
accepted step is stored per user and moved forward by a guarded UPDATE, so of two requests racing
with the same code only one gets in. Recovery codes are stored as SHA-256 hashes and used up the same
way. No Flask here: callers pass the key ring and the time."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, func, or_, select, update

from extensions import db
from models import Business, RecoveryCode, User, utcnow
from services.secrets import EncryptedSecret, KeyRing

STEP_SECONDS = 30
DRIFT_STEPS = 1  # a phone's clock a little off, or a code typed as it changed
RECOVERY_CODES = 10
ISSUER = "Hourbill"
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def two_factor_required(user: User, business: Business | None) -> bool:
    """Whether this user must set up two-factor authentication before doing anything in `business`
    (the current one): its owner requires it of every member, and they have not enrolled."""
    return business is not None and business.require_two_factor and not user.two_factor_enabled


def associated_data(user: User) -> bytes:
    """Binds the sealed secret to its user: copied onto another account it does not decrypt."""
    return f"hourbill:totp:user={user.id}".encode()


def stored_secret(user: User) -> EncryptedSecret:
    return EncryptedSecret(user.totp_key_id, user.totp_nonce, user.totp_ciphertext)


def seal(user: User, secret: EncryptedSecret) -> None:
    user.totp_key_id, user.totp_nonce, user.totp_ciphertext = secret.key_id, secret.nonce, secret.ciphertext


def sealed_users(for_update: bool = False) -> list[User]:
    """Every user with a stored TOTP secret (for a data-key rotation)."""
    query = select(User).where(User.totp_ciphertext.is_not(None))
    return list(db.session.scalars(query.with_for_update() if for_update else query))


def begin_enrollment(user: User, keyring: KeyRing) -> str:
    """A new secret, stored sealed but not in force until confirm_enrollment; returns it."""
    secret = pyotp.random_base32()
    seal(user, keyring.encrypt(secret, associated_data(user)))
    user.totp_enabled_at = None
    user.totp_last_step = None
    return secret


def pending_secret(user: User, keyring: KeyRing) -> str | None:
    """The secret being enrolled (shown again until confirmed), or None."""
    if user.totp_ciphertext is None or user.two_factor_enabled:
        return None
    return keyring.decrypt(stored_secret(user), associated_data(user))


def provisioning_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The otpauth:// address as an SVG QR code in a data: URI (an <img>, no script)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):  # every step compared: no early exit
            found = step
    return found


def accept_totp(user: User, code: str, keyring: KeyRing, now: datetime | None = None) -> bool:
    """Whether the code is right now (±1 step) and newer than the last one accepted; marks it used."""
    code = re.sub(r"\s", "", code or "")
    if user.totp_ciphertext is None or not re.fullmatch(r"\d{6}", code):
        return False
    step = _matching_step(keyring.decrypt(stored_secret(user), associated_data(user)), code, now or utcnow())
    if step is None:
        return False
    claimed = db.session.execute(
        update(User).where(User.id == user.id, or_(User.totp_last_step.is_(None), User.totp_last_step < step))
        .values(totp_last_step=step).execution_options(synchronize_session=False)).rowcount
    return claimed == 1


def _recovery_hash(code: str) -> str:
    return hashlib.sha256(re.sub(r"[\s-]", "", code or "").lower().encode()).hexdigest()


def new_recovery_codes(user: User, now: datetime | None = None) -> list[str]:
    """Ten fresh codes (the old ones stop working); returned once, stored only as hashes."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_recovery_hash(raw)))
    db.session.flush()
    return codes


def accept_recovery_code(user: User, code: str, now: datetime | None = None) -> bool:
    """Whether it is one of the user's unused recovery codes; uses it up (once, even in a race)."""
    used = db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _recovery_hash(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=now or utcnow()).execution_options(synchronize_session=False)).rowcount
    return used == 1


def unused_recovery_codes(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(RecoveryCode.user_id == user.id,
                                                                       RecoveryCode.used_at.is_(None)))


def accept_code(user: User, code: str, keyring: KeyRing, now: datetime | None = None) -> bool:
    """An authenticator code (six digits) or a recovery code."""
    if re.fullmatch(r"\s*\d{3}\s?\d{3}\s*", code or ""):
        return accept_totp(user, code, keyring, now)
    return accept_recovery_code(user, code, now)


def confirm_enrollment(user: User, code: str, keyring: KeyRing, now: datetime | None = None) -> list[str] | None:
    """Put the pending secret in force when the first code is right; returns the recovery codes to
    show once, or None when the code was wrong."""
    now = now or utcnow()
    if user.totp_ciphertext is None or user.two_factor_enabled or not accept_totp(user, code, keyring, now):
        return None
    user.totp_enabled_at = now
    return new_recovery_codes(user, now)


def disable(user: User) -> None:
    user.totp_key_id = user.totp_nonce = user.totp_ciphertext = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
