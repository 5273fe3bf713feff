"""A test's starting state made once through the pages and kept per worker, for fixtures whose set-up is
most of their tests' time (the Clockify fault matrix's world, the import wizard's connected draft).

`Prepared.keep` copies what the state is: its SQLite database, its data key (stored Clockify keys are sealed
with it), the browser's cookie and CSRF token, and the values the fixture returns. `Prepared.restore` gives a
later test of the same worker that state when it is made for the same thing (`made_for`: the app's secret
key, the sandbox, the configuration...) and was made less than FRESH_SECONDS ago, well inside what ages in it
(the Clockify caches, 15 minutes; a session's touch, 5); otherwise the fixture makes it through the pages
again, and keeps that. PostgreSQL runs always make it through the pages."""
from __future__ import annotations

import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from extensions import db
from tests.conftest import SERVER_DATABASE


def _database(app) -> str | None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return None if SERVER_DATABASE or not uri.startswith("sqlite:///") else uri.removeprefix("sqlite:///")


class Prepared:
    FRESH_SECONDS = 60

    def __init__(self, folder: Path):
        self.folder, self.made_at, self.made_for, self.made = folder, None, None, None

    def restore(self, app, client, made_for) -> dict | None:
        """The kept values, with the test's database, data key and browser set as when they were kept; None
        when nothing fits (the fixture makes the state itself)."""
        database = _database(app)
        if database is None or self.made is None or self.made_for != (app.secret_key, made_for) \
                or time.monotonic() - self.made_at > self.FRESH_SECONDS:
            return None
        with app.app_context():
            db.engine.dispose()
        with closing(sqlite3.connect(self.folder / "kept.db")) as source, closing(sqlite3.connect(database)) as target:
            source.backup(target)
        if (self.folder / "data.key").exists():
            shutil.copyfile(self.folder / "data.key", Path(app.instance_path) / "data.key")
        client.set_cookie("session", self.made["cookie"])
        client._token = self.made["csrf"]
        return dict(self.made["values"])

    def keep(self, app, client, made_for, values: dict) -> None:
        database = _database(app)
        if database is None:
            return
        with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(self.folder / "kept.db")) as copy:
            source.backup(copy)
        (self.folder / "data.key").unlink(missing_ok=True)
        if (Path(app.instance_path) / "data.key").exists():
            shutil.copyfile(Path(app.instance_path) / "data.key", self.folder / "data.key")
        self.made = {"cookie": client.get_cookie("session").value, "csrf": client.csrf_token(), "values": dict(values)}
        self.made_for, self.made_at = (app.secret_key, made_for), time.monotonic()
