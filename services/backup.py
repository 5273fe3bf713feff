"""A consistent copy of the SQLite database, taken with SQLite's online backup API, so it is safe
while the app is serving (a plain file copy during a write can be torn)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import Engine


def backup_sqlite(engine: Engine, destination: Path) -> None:
    if engine.dialect.name != "sqlite" or not engine.url.database:
        raise ValueError("flask backup copies the SQLite database; for PostgreSQL use pg_dump.")
    if destination.exists():
        raise ValueError(f"{destination} exists already: choose a new file name, so no backup is overwritten.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    source = sqlite3.connect(engine.url.database)
    try:
        target = sqlite3.connect(destination)
        try:
            source.backup(target)
        finally:
            target.close()
    finally:
        source.close()
    destination.chmod(0o600)
