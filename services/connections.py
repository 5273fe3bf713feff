"""Clockify connections: verifying a key against Clockify, sealing it in the row, opening a client
for a stored connection, and turning a connection to "needs a new key" when Clockify says so.

No Flask here: the caller passes the key ring and the server-side URL overrides."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from flask_babel import gettext as _

from sqlalchemy import exists, select, update

from extensions import db
from models import ClockifyConnection, User, utcnow
from services import accounts, rate_budget, two_factor
from services.mail import N_
from services.clockify import ClockifyClient, ClockifyError, ClockifyUser, InvalidKey, RetryPolicy
from services.secrets import DataKeyError, EncryptedSecret, KeyRing, load_keyring, reencrypt, write_key_file


logger = logging.getLogger(__name__)

# Inside a web request a call must fail well before a worker timeout (gunicorn's default is 30 s);
# the timeouts themselves are configuration (HOURBILL_CLOCKIFY_TIMEOUT).
WEB_RETRIES = 1


@dataclass(frozen=True)
class ClockifySite:
    """Server-side configuration of where Clockify is and how it is asked: overrides for the sandbox and
    tests, never a form. ``requests_per_second`` is the key's budget, shared through the database by
    every process (services/rate_budget.py); ``retry_backoff`` the first retry's wait (0: at once)."""

    api_url: str | None = None
    reports_url: str | None = None
    timeout: tuple[float, float] = (5.0, 15.0)
    requests_per_second: int = rate_budget.PER_SECOND
    retry_backoff: float = RetryPolicy.backoff

    @classmethod
    def from_config(cls, config) -> ClockifySite:
        """From the app's HOURBILL_CLOCKIFY_* settings; a setting left out keeps its default."""
        names = {"api_url": "API_URL", "reports_url": "REPORTS_URL", "timeout": "TIMEOUT",
                 "requests_per_second": "REQUESTS_PER_SECOND", "retry_backoff": "RETRY_BACKOFF"}
        values = {field: config[f"HOURBILL_CLOCKIFY_{name}"] for field, name in names.items()
                  if config.get(f"HOURBILL_CLOCKIFY_{name}") is not None}
        if "timeout" in values:  # from the environment it is a JSON list: requests wants a tuple
            values["timeout"] = tuple(float(seconds) for seconds in values["timeout"])
        return cls(**values)


def associated_data(connection: ClockifyConnection) -> bytes:
    """Binds a ciphertext to the person who pasted it and its row: copied to another row, it no longer
    decrypts. ("user=" names the creator: the same id the key was sealed with before businesses.)"""
    return f"hourbill:clockify:user={connection.created_by_user_id}:connection={connection.id}".encode()


def stored_key_ids() -> set[str]:
    """The data keys that sealed something: Clockify keys, and two-factor secrets (services.two_factor)."""
    return (set(db.session.scalars(select(ClockifyConnection.key_id).where(ClockifyConnection.key_id.is_not(None))))
            | set(db.session.scalars(select(User.totp_key_id).where(User.totp_key_id.is_not(None)))))


def open_keyring(env_value: str | None, key_file: Path) -> KeyRing:
    """The data keys. A key file is generated only while no key is stored yet: with stored keys and
    no data key, generating one would make them unreadable, so this fails closed instead."""
    stored = stored_key_ids()
    keyring = load_keyring(env_value, key_file, create=not stored)
    unknown = stored - set(keyring.key_ids)
    if unknown:
        raise DataKeyError(
            _("The data key Hourbill has now is not the one the stored Clockify keys were saved with, so they "
            "cannot be read. Restore HOURBILL_DATA_KEY or instance/data.key from your backup. The stored keys "
            "are kept untouched."))
    return keyring


def client_for_key(api_key: str, region: str, subdomain: str | None, site: ClockifySite) -> ClockifyClient:
    """A client whose requests count against the key's budget in the database, which every worker and
    host shares, so together they stay within Clockify's rate limit."""
    return ClockifyClient(api_key, region=region, subdomain=subdomain or None, api_url=site.api_url,
                          reports_url=site.reports_url, timeout=site.timeout,
                          retry=RetryPolicy(retries=WEB_RETRIES, backoff=site.retry_backoff),
                          budget=rate_budget.for_database(db.engine, site.requests_per_second))


def verify(api_key: str, region: str, subdomain: str | None, site: ClockifySite) -> ClockifyUser:
    """Ask Clockify who this key belongs to (GET /user). Raises a ClockifyError on any failure."""
    with client_for_key(api_key, region, subdomain, site) as client:
        return client.get_user()


def seal_key(connection: ClockifyConnection, api_key: str, who: ClockifyUser, keyring: KeyRing) -> None:
    """Store the verified key encrypted in the row (which must have its id: flush first) with the
    account it reads as, and mark the connection active."""
    secret = keyring.encrypt(api_key, associated_data(connection))
    connection.key_id, connection.key_nonce, connection.key_ciphertext = secret.key_id, secret.nonce, secret.ciphertext
    connection.key_last4 = api_key[-4:]
    # Clockify's own values, cut to our columns (PostgreSQL refuses longer text).
    connection.clockify_user_id = who.id[:64]
    connection.clockify_user_name = (who.name or "")[:200]
    connection.clockify_user_email = (who.email or "")[:254]
    connection.clockify_time_zone = who.time_zone[:64] if who.time_zone else None
    connection.status = "active"
    connection.verified_at = utcnow()


DEFAULT_TIME_ZONE = "UTC"  # a new profile's (models.User.time_zone)


def adopt_time_zone(user: User, connection: ClockifyConnection, who: ClockifyUser) -> str | None:
    """On a user's first connection, their profile takes the Clockify account's time zone, so that a
    month here is the month of Clockify's own reports: only while the profile still has the default (a
    zone the user chose is never changed, even by a save racing this one) and when Clockify's is a zone
    the profile form accepts (accounts.KNOWN_TIME_ZONES). Returns the zone adopted, or None."""
    zone = who.time_zone
    if not zone or zone == DEFAULT_TIME_ZONE or zone not in accounts.KNOWN_TIME_ZONES:
        return None
    earlier = exists().where(ClockifyConnection.created_by_user_id == user.id, ClockifyConnection.id != connection.id)
    adopted = db.session.execute(update(User).where(User.id == user.id, User.time_zone == DEFAULT_TIME_ZONE, ~earlier)
                                 .values(time_zone=zone).execution_options(synchronize_session="fetch")).rowcount
    return zone if adopted == 1 else None


# A plain text marked for the catalogue (a lazy one would reach a page unescaped): translated where it is shown.
MEMBER_KEY_CAVEAT = N_("Clockify shows this key only its own entries, so the team's hours need a workspace admin's "
                       "key.")


def workspace_roles(connection: ClockifyConnection, client: ClockifyClient, workspace_ids: list[str],
                    max_age: timedelta, refresh: bool = False) -> dict[str, str]:
    """The key owner's role ("admin" or "member") in each workspace, cached with the connection's
    workspace list (one read-only call per workspace, asked again when a workspace is new)."""
    from services.imports import cached

    def fetch():
        return {ws: client.role_in_workspace(ws, connection.clockify_user_id, connection.clockify_user_email)
                for ws in workspace_ids}

    roles, __ = cached(connection, "workspace-roles", fetch, max_age, refresh)
    if not set(workspace_ids) <= set(roles):
        roles, __ = cached(connection, "workspace-roles", fetch, max_age, refresh=True)
    return roles


ROLES_MAX_AGE = timedelta(days=1)  # a key's role in a workspace rarely changes; Verify & Save asks again


def member_workspaces(connection: ClockifyConnection, client: ClockifyClient, workspaces) -> list[str]:
    """The names of the workspaces where the connection's key is a regular member's (cached). Trouble
    other than a refused key only leaves the caveat out: it must not stop an import."""
    try:
        roles = workspace_roles(connection, client, [ws.id for ws in workspaces], ROLES_MAX_AGE)
    except InvalidKey:
        raise
    except ClockifyError as error:
        logger.info("Clockify roles not read: %r", error)
        return []
    return [ws.name for ws in workspaces if roles.get(ws.id) == "member"]


def prefetch(connection: ClockifyConnection, api_key: str, site: ClockifySite, max_age: timedelta) -> list[str]:
    """While the key is at hand (Verify & Save): fetch the workspace list and the key owner's role in each,
    so the import wizard opens without asking Clockify. Returns the names of the workspaces where the
    key is a regular member's (MEMBER_KEY_CAVEAT). On any failure the wizard simply asks later."""
    from services import imports

    try:
        with client_for_key(api_key, connection.region, connection.subdomain, site) as client:
            found = imports.workspaces(connection, client, max_age, refresh=True)
            workspace_roles(connection, client, [ws.id for ws in found], ROLES_MAX_AGE, refresh=True)
            return member_workspaces(connection, client, found)
    except ClockifyError as error:
        db.session.rollback()
        logger.info("Clockify workspaces not prefetched: %r", error)
        return []


def stored_secret(connection: ClockifyConnection) -> EncryptedSecret:
    if not connection.key_ciphertext:
        raise DataKeyError(_("This connection has no stored key. Update its key."))
    return EncryptedSecret(connection.key_id, connection.key_nonce, connection.key_ciphertext)


def open_client(connection: ClockifyConnection, keyring: KeyRing, site: ClockifySite) -> ClockifyClient:
    api_key = keyring.decrypt(stored_secret(connection), associated_data(connection))
    return client_for_key(api_key, connection.region, connection.subdomain, site)


@contextmanager
def marking_refused_keys(connection: ClockifyConnection) -> Iterator[None]:
    """Around work that talks to Clockify for a connection: a 401 anywhere in it turns the connection
    to "needs a new key" (committed at once, so the state survives the error page, after rolling back
    what the step had begun) before the error goes on to the caller."""
    try:
        yield
    except InvalidKey as error:
        db.session.rollback()  # whatever the failed step had begun is not kept
        if error.kind == "new_key":
            connection.status = "invalid"
            db.session.commit()
        raise


@contextmanager
def reading(connection: ClockifyConnection, keyring: KeyRing, site: ClockifySite) -> Iterator[ClockifyClient]:
    """The connection's client for a block of work; a 401 anywhere in the block marks the connection."""
    with marking_refused_keys(connection), open_client(connection, keyring, site) as client:
        yield client


def rotate_data_key(env_value: str | None, key_file: Path) -> tuple[int, str]:
    """Re-seal every stored Clockify key under a new data key; all or nothing.

    With a key file: the new key is first written into the file beside the old one, then every row is
    re-encrypted in one transaction, and only after the commit is the old key dropped from the file.
    Stopped at any point, every stored key stays readable. With HOURBILL_DATA_KEY, the operator puts
    the new key first (new,old); rows are re-sealed under it and the old one may then be removed.
    Returns (how many keys were re-sealed, what the operator should do next)."""
    if env_value is None:
        keyring = open_keyring(None, key_file).rotated()
        write_key_file(key_file, keyring)
    else:
        keyring = open_keyring(env_value, key_file)
    rows = db.session.scalars(select(ClockifyConnection).where(ClockifyConnection.key_ciphertext.is_not(None))
                              .with_for_update()).all()
    users = two_factor.sealed_users(for_update=True)
    sealed = reencrypt(keyring, [(stored_secret(row), associated_data(row)) for row in rows]
                       + [(two_factor.stored_secret(user), two_factor.associated_data(user)) for user in users])
    for row, secret in zip(rows, sealed):
        row.key_id, row.key_nonce, row.key_ciphertext = secret.key_id, secret.nonce, secret.ciphertext
    for user, secret in zip(users, sealed[len(rows):]):
        two_factor.seal(user, secret)
    db.session.commit()
    if env_value is None:
        write_key_file(key_file, keyring.current_only())
        return len(rows) + len(users), f"The new data key is in {key_file}. Back it up now: without it the keys cannot be read."
    return len(rows) + len(users), "Every key is sealed with the first key in HOURBILL_DATA_KEY: you may now remove the others."


class ClockifyResources:
    """Where Clockify is and the data keys, made once by create_app (app.extensions["hourbill.clockify"]).

    Both are read from the configuration when asked, not when made: the operator's settings, a
    rotated key file and the sandbox of `flask demo` (which sets the URLs after start-up) all apply
    at the next request."""

    def __init__(self, config, key_file: Path):
        self.config, self.key_file = config, key_file

    def site(self) -> ClockifySite:
        return ClockifySite.from_config(self.config)

    def keyring(self) -> KeyRing:
        """The data keys; raises DataKeyError (with words for the page) when they cannot be used."""
        return open_keyring(self.config.get("HOURBILL_DATA_KEY"), self.key_file)

    def data_key_problem(self) -> str | None:
        try:
            self.keyring()
        except DataKeyError as error:
            return str(error)
        return None
