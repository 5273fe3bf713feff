"""What is unsafe or host-local in a deployment's configuration: the fail-closed start on a shared
database, and the list `flask check-deploy` prints.

Two things live in each host's instance folder unless the environment gives them: the session key
(instance/secret_key) and the data key (instance/data.key). On one host that is zero configuration. On
two hosts sharing PostgreSQL it is a trap: each host signs sessions and CSRF tokens with its own key, so
one host refuses what the other issued, and the second host generates a data key of its own that cannot
read the Clockify keys the first one stored. So with a database other than SQLite, Hourbill refuses to
start until both come from the environment, unless HOURBILL_SINGLE_HOST=1 says there is only one host.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url

PLACEHOLDERS = {"dev", "secret", "changeme", "change-me", "change me", "development", "...long random string..."}
MIN_SECRET_LENGTH = 32
MIN_SECRET_CHARACTERS = 10  # different characters: "passwordpassword…" is long and still guessable
CRON_LINE = ("15 3 * * * hourbill cd /srv/hourbill && set -a && . /etc/hourbill.env && set +a && "
             ".venv/bin/flask --app app purge-previews")  # docs/deploy.md's /etc/cron.d/hourbill


class HostLocalSecretsError(RuntimeError):
    """A shared database with a session key or data key that only this host has."""


@dataclass(frozen=True)
class Finding:
    unsafe: bool  # False: advice, which check-deploy prints without failing
    text: str  # what is wrong or worth knowing, then what to do

    def __str__(self) -> str:
        return f"{'UNSAFE' if self.unsafe else 'advice'}: {self.text}"


def on(value) -> bool:
    """A setting that switches something on: 1, true, yes (any case), or a true JSON value."""
    return str(value).strip().lower() in {"1", "true", "yes", "on"} if value is not None else False


def setting(config: Mapping, name: str, environ: Mapping = os.environ):
    """A setting from the app's configuration, else from the environment under the same name."""
    value = config.get(name)
    return value if value not in (None, "") else environ.get(name) or None


def is_sqlite(config: Mapping) -> bool:
    return str(config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("sqlite")


def host_local_secrets(config: Mapping, secret_key_from_file: bool = False) -> list[str]:
    """The settings this host reads from its instance folder rather than from the configuration (before
    create_app fills SECRET_KEY in from instance/secret_key, or after, saying it did)."""
    local = []
    if secret_key_from_file or not config.get("SECRET_KEY"):
        local.append("SECRET_KEY")
    if not config.get("HOURBILL_DATA_KEY"):
        local.append("HOURBILL_DATA_KEY")
    return local


def refuse_host_local_secrets(config: Mapping, environ: Mapping = os.environ) -> None:
    """Fail closed at start: a shared database (not SQLite) with host-local secrets, unless explicitly one
    host (HOURBILL_SINGLE_HOST=1). SQLite keeps its zero-configuration start."""
    if is_sqlite(config) or on(setting(config, "HOURBILL_SINGLE_HOST", environ)):
        return
    local = host_local_secrets(config)
    if local:
        raise HostLocalSecretsError(
            f"Hourbill will not start: the database is shared (not SQLite), but {' and '.join(local)} "
            f"{'is' if len(local) == 1 else 'are'} not set, so this host would use keys from its own "
            "instance folder. A second host would refuse this host's sessions and forms and could not read "
            f"the stored Clockify keys. Set {' and '.join(local)} in the environment, the same on every host "
            "(docs/deploy.md), or set HOURBILL_SINGLE_HOST=1 if this is the only host. "
            "`flask --app app check-deploy` lists everything else to check.")


def findings(config: Mapping, instance_path: Path, debug: bool = False, secret_key_from_file: bool = False,
             environ: Mapping = os.environ) -> list[Finding]:
    """Everything unsafe or host-local this configuration shows, one finding each, unsafe first."""
    found: list[Finding] = []
    found += _secrets(config, secret_key_from_file, environ)
    found += _secret_key_strength(config.get("SECRET_KEY") or "")
    found += _key_file_permissions(instance_path)
    if debug or config.get("DEBUG"):
        found.append(Finding(True, "Debug mode is on: an error page can run code in the browser. Unset FLASK_DEBUG "
                                   "and do not pass --debug in production."))
    if not (config.get("SESSION_COOKIE_SECURE") and config.get("REMEMBER_COOKIE_SECURE")):
        found.append(Finding(True, "Session cookies are not marked Secure, so a plain-HTTP request can carry them "
                                   "in the clear: serve over HTTPS and set HOURBILL_SECURE_COOKIES=1."))
    found += _database(config, environ)
    if not config.get("HOURBILL_PROXY_FIX"):
        found.append(Finding(False, "HOURBILL_PROXY_FIX is off. If nginx or another proxy is in front (usual), set "
                                    "HOURBILL_PROXY_FIX=1 (the number of proxies), or log-in throttling counts every "
                                    "visitor as the proxy's address."))
    if not (setting(config, "MAIL_SERVER", environ) or setting(config, "HOURBILL_MAIL_SERVER", environ)):
        found.append(Finding(False, "No mail server (MAIL_SERVER is not set): invoices and reminders cannot be "
                                    "emailed from Hourbill. Set MAIL_SERVER to your SMTP host to send mail."))
    found.append(Finding(False, "Import previews are kept until `flask purge-previews` deletes them, which this "
                                "cannot see is scheduled: run it daily on one host or on all (it is idempotent), "
                                f"e.g. in /etc/cron.d/hourbill: {CRON_LINE}"))
    return sorted(found, key=lambda finding: not finding.unsafe)


def _secrets(config: Mapping, secret_key_from_file: bool, environ: Mapping) -> list[Finding]:
    local = host_local_secrets(config, secret_key_from_file)
    if not local or is_sqlite(config):
        return []  # SQLite serves one host: secrets in its instance folder are the zero-configuration default
    files = {"SECRET_KEY": "instance/secret_key", "HOURBILL_DATA_KEY": "instance/data.key"}
    where = ", ".join(f"{name} from {files[name]}" for name in local)
    if on(setting(config, "HOURBILL_SINGLE_HOST", environ)):
        return [Finding(False, f"Host-local secrets with a shared database ({where}), allowed by "
                               "HOURBILL_SINGLE_HOST=1. Before adding a second host, copy these values into the "
                               "environment of every host (docs/deploy.md) and unset HOURBILL_SINGLE_HOST.")]
    return [Finding(True, f"Host-local secrets with a shared database ({where}): a second host would refuse this "
                          "one's sessions and forms and could not read the stored Clockify keys. Set "
                          f"{' and '.join(local)} in the environment, the same on every host.")]


def _secret_key_strength(key: str) -> list[Finding]:
    if not key:
        return []
    if key.strip().lower() in PLACEHOLDERS or len(key) < MIN_SECRET_LENGTH:
        problem = f"is only {len(key)} characters" if len(key) < MIN_SECRET_LENGTH else "is a placeholder"
    elif len(set(key)) < MIN_SECRET_CHARACTERS:
        problem = f"uses only {len(set(key))} different characters"
    else:
        return []
    return [Finding(True, f"SECRET_KEY {problem}: anyone who guesses it can forge sessions. Set a long random "
                          "one, e.g. python3 -c \"import secrets; print(secrets.token_urlsafe(48))\" (every "
                          "host the same; everyone is logged out once).")]


def _key_file_permissions(instance_path: Path) -> list[Finding]:
    found = []
    for name in ("data.key", "secret_key"):
        path = Path(instance_path) / name
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            found.append(Finding(True, f"{path} is readable by other users (mode {mode:o}): run chmod 600 {path}."))
    return found


def _database(config: Mapping, environ: Mapping) -> list[Finding]:
    if not is_sqlite(config):
        return []
    database = make_url(str(config["SQLALCHEMY_DATABASE_URI"])).database
    workers = environ.get("HOURBILL_WORKERS", "2")
    return [Finding(False, f"SQLite ({database}) serves one host: its gunicorn workers ({workers}) share the "
                           "file safely, but a second host cannot, nor a file on a network share. For several "
                           "hosts use PostgreSQL (DATABASE_URL), with SECRET_KEY and HOURBILL_DATA_KEY in the "
                           "environment.")]
