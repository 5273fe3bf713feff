"""A test's starting state made once through the pages and kept per worker, for fixtures whose set-up is
most of their tests' time (the Clockify fault matrix's world, the import wizard's connected draft).

`Prepared.keep` copies what the state is: its SQLite database, its data key (stored Clockify keys are sealed
with it), the browser's cookie and CSRF token, and the values the fixture returns. `Prepared.restore` gives a
later test of the same worker that state when it is made for the same thing (`made_for`: the app's secret
key, the sandbox, the configuration...) and was made less than FRESH_SECONDS ago, well inside what ages in it
(the Clockify caches, 15 minutes; a session's touch, 5); otherwise the fixture makes it through the pages
again, and keeps that. PostgreSQL runs always make it through the pages."""
from __future__ import annotations

import copy
import shutil
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from extensions import db
from tests.fixtures import SERVER_DATABASE


def configuration(app) -> str:
    """The app's configuration but the test's own database: a state made under other settings is not reused."""
    return repr(sorted((name, repr(value)) for name, value in app.config.items() if name != "SQLALCHEMY_DATABASE_URI"))


def _database(app) -> str | None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    return None if SERVER_DATABASE or not uri.startswith("sqlite:///") else uri.removeprefix("sqlite:///")


class Prepared:
    """One kept state (module-level: one per worker); its folder is made under the run's own on first keep."""

    FRESH_SECONDS = 60

    def __init__(self):
        self.folder, self.made_at, self.made_for, self.made = None, None, None, None

    def restore(self, app, client, made_for) -> dict | None:
        """The kept values, with the test's database, data key and browser set as when they were kept; None
        when nothing fits (the fixture makes the state itself)."""
        database = _database(app)
        if database is None or self.made is None or time.monotonic() - self.made_at > self.FRESH_SECONDS \
                or self.made_for != (app.secret_key, configuration(app), made_for):
            return None
        with app.app_context():
            db.engine.dispose()
        with closing(sqlite3.connect(self.folder / "kept.db")) as source, closing(sqlite3.connect(database)) as target:
            source.backup(target)
        if (self.folder / "data.key").exists():
            shutil.copyfile(self.folder / "data.key", Path(app.instance_path) / "data.key")
        if self.made["cookie"] is None:
            client.delete_cookie("session")
        else:
            client.set_cookie("session", self.made["cookie"])
        client._token = self.made["csrf"]
        return copy.deepcopy(self.made["values"])

    def keep(self, app, client, made_for, values: dict, tmp_path_factory) -> None:
        database = _database(app)
        if database is None:
            return
        self.folder = self.folder or tmp_path_factory.mktemp("prepared")
        with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(self.folder / "kept.db")) as kept:
            source.backup(kept)
        (self.folder / "data.key").unlink(missing_ok=True)
        if (Path(app.instance_path) / "data.key").exists():
            shutil.copyfile(Path(app.instance_path) / "data.key", self.folder / "data.key")
        cookie = client.get_cookie("session")
        self.made = {"cookie": cookie and cookie.value, "csrf": client._token, "values": copy.deepcopy(values)}
        self.made_for, self.made_at = (app.secret_key, configuration(app), made_for), time.monotonic()
