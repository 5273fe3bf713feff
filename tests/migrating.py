"""Databases at an older revision for the migration tests, built once a run on SQLite.

A test that checks a migration builds the chain from an empty database up to the revision it fills at,
fills it as that schema was, and upgrades on from there; on SQLite each state on the way is kept (a file the
run's workers share: Snapshots) and a later test starts from a copy of the nearest one below its own (the
same revisions run on the same rows: the same database), running the rest itself. The empty chain is kept
too, so a test that fills at revision R walks from empty only once a run. What a test checks (its upgrade
from `to`, or from `revision` when `to` is the head) always runs in the test. On PostgreSQL every test
builds its chain."""
from __future__ import annotations

import hashlib
import os
import pickle
import sqlite3
import tempfile
from contextlib import closing, contextmanager
from pathlib import Path
from unittest import mock

import sqlalchemy
from alembic.script import ScriptDirectory
from flask_migrate import upgrade

from app import create_app
from extensions import db


def tables(connection, *names):
    """The tables as the database has them at its current revision (not as models.py has them): all, or those
    named (reflecting every table takes ~75 ms of CPU)."""
    metadata = sqlalchemy.MetaData()
    metadata.reflect(connection, only=names or None, resolve_fks=False)
    return metadata.tables


def rows(connection, *names):
    """Every row of every table (or of those named), as {column: value}, in primary key order."""
    return {name: [dict(row) for row in connection.execute(table.select().order_by(*table.primary_key.columns))
                   .mappings()]
            for name, table in tables(connection, *names).items() if name != "alembic_version"}


class Snapshots:
    """SQLite databases migrated in this run, kept as files in a folder every worker of the run shares, per
    (revision filled at, fill) or per None for the empty chain, and per revision reached: a test starts from
    a state another worker made as well. A file is written whole under another name and then renamed, so
    a worker reads a state complete or not at all (two workers making the same state write the same)."""

    def __init__(self):
        self.folder: Path | None = None
        self.order: dict[str, int] = {}

    def use(self, tmp_path: Path) -> None:
        """The run's folder: above the worker's own with pytest-xdist, else above the test's."""
        run = tmp_path.parent.parent if os.environ.get("PYTEST_XDIST_WORKER") else tmp_path.parent
        self.folder = run / "migrated"
        self.folder.mkdir(exist_ok=True)

    def _position(self, revision: str) -> int:
        if not self.order:
            from flask import current_app

            script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
            chain = [each.revision for each in script.walk_revisions()]  # head first
            self.order = {name: len(chain) - index for index, name in enumerate(chain)}
            self.order["head"] = len(chain)
        return self.order[revision]

    def _name(self, key) -> str:
        return hashlib.sha256(repr(key).encode()).hexdigest()[:16]

    def _write(self, name: str, write) -> None:
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".writing-")
        os.close(handle)
        write(temporary)
        os.replace(temporary, self.folder / name)

    def restore(self, key, target: str, path: str | None) -> str | None:
        """Copy the kept state of `key` nearest below (or at) `target` to `path`; its revision, or None."""
        if path is None:
            return None
        prefix = f"{self._name(key)}-"
        usable = [kept.stem.removeprefix(prefix) for kept in self.folder.glob(f"{prefix}*.db")]
        usable = [name for name in usable if self._position(name) <= self._position(target)]
        if not usable:
            return None
        nearest = max(usable, key=self._position)
        with closing(sqlite3.connect(self.folder / f"{prefix}{nearest}.db")) as kept, \
                closing(sqlite3.connect(path)) as copy_to:
            kept.backup(copy_to)
        return nearest

    def keep(self, key, revision: str, path: str | None) -> None:
        if path is None or (self.folder / f"{self._name(key)}-{revision}.db").exists():
            return

        def copy_database(to):
            with closing(sqlite3.connect(path)) as source, closing(sqlite3.connect(to)) as kept:
                source.backup(kept)
                # The copy keeps the app's WAL mode, whose -wal and -shm files beside a file every worker opens (and
                # another may replace) SQLite warns can corrupt it: kept as one file.
                kept.execute("PRAGMA journal_mode=DELETE")
        self._write(f"{self._name(key)}-{revision}.db", copy_database)

    def keep_rows(self, key, filled: dict) -> None:
        self._write(f"{self._name(key)}.rows", lambda to: Path(to).write_bytes(pickle.dumps(filled)))

    def filled_rows(self, key) -> dict:
        return pickle.loads((self.folder / f"{self._name(key)}.rows").read_bytes())


snapshots = Snapshots()


_REVISION_MAPS: dict[tuple, object] = {}
_from_config = ScriptDirectory.from_config.__func__


def _revisions_read_once(cls, config):
    """Alembic's ScriptDirectory.from_config, but the revision files read once per process: each upgrade()
    or downgrade() makes a new ScriptDirectory, which imported the 27 revision files again (~25 ms of
    CPU a command, as much as a step of the walk). The revisions run exactly as before."""
    script = _from_config(cls, config)
    script.revision_map = _REVISION_MAPS.setdefault((script.dir, tuple(script.version_locations)),
                                                    script.revision_map)
    return script


@contextmanager
def migrating(tmp_path, database_url):
    """The app context of an app on `database_url` (an empty database), its migration commands reading the
    revision files once per process."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url}, instance_path=str(tmp_path / "instance"))
    snapshots.use(tmp_path)
    with mock.patch.object(ScriptDirectory, "from_config", classmethod(_revisions_read_once)), app.app_context():
        yield app


def sqlite_path(database_url: str) -> str | None:
    return database_url.removeprefix("sqlite:///") if database_url.startswith("sqlite:///") else None


def upgrade_empty(database_url: str, revision: str) -> None:
    """In the app context: the empty database (nothing filled in it) upgraded to `revision`, kept on SQLite."""
    path = sqlite_path(database_url)
    if snapshots.restore(None, revision, path) != revision:
        upgrade(revision=revision)
        snapshots.keep(None, revision, path)


@contextmanager
def migrated_from(tmp_path, database_url, revision, fill, to="head", stops=()):
    """In the app context of a database built up to `revision`, filled there as that schema was (`fill`),
    then upgraded `to` a later revision (through `stops` on the way, kept for the tests that fill more
    there: the same revisions on the same rows); gives the rows as they were filled."""
    path = sqlite_path(database_url)
    filled = (revision, fill.__module__, fill.__qualname__)
    with migrating(tmp_path, database_url):
        # Up to `to` when the test's check begins there, else up to `revision` (the upgrade is the check).
        reached = snapshots.restore(filled, revision if to == "head" else to, path)
        if reached:
            before = snapshots.filled_rows(filled)
        else:
            upgrade_empty(database_url, revision)
            with db.engine.begin() as connection:
                fill(connection)
                before = rows(connection)
            if path:
                snapshots.keep_rows(filled, before)  # before the database: a state is never without its rows
                snapshots.keep(filled, revision, path)
        for stop in stops if path else ():
            upgrade(revision=stop)
            snapshots.keep(filled, stop, path)
        upgrade(revision=to)
        if to != "head":
            snapshots.keep(filled, to, path)
        yield before
