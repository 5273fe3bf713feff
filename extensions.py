"""The Flask extensions, created unbound here and bound to the app in create_app()."""
import click
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from sqlalchemy import TypeDecorator
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


def _render_type_as_stored(type_, obj, autogen_context):
    """Migrations name the column type the database stores (BigInteger, DateTime), not our Python
    wrapper types, so a revision never imports models.py as it is today."""
    if type_ == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{type(obj.impl_instance).__name__}()"
    return False


class _MigrateWhenUsed:
    """Flask-Migrate, imported when a migration is run or looked at (`flask db ...`, `flask demo`, the migration
    tests) rather than by every process that makes the app: importing it imports alembic, mako and pygments
    (about 110 modules), a fifth of `import app`. Bound like Flask-Migrate's Migrate, with the same options."""

    def __init__(self, **options):
        self.options = options
        self.made = None

    def init_app(self, app, db, directory):
        app.extensions["migrate"] = _MigrateConfigWhenUsed(self, app, db, directory)
        app.cli.add_command(_DatabaseCommands("db", help="Perform database migrations."))

    def bind(self, app, db, directory):
        """Flask-Migrate's own, bound to the app: app.extensions["migrate"] is its configuration from now on."""
        if self.made is None:
            from flask_migrate import Migrate

            self.made = Migrate(**self.options)
        self.made.init_app(app, db, directory=directory)
        return app.extensions["migrate"]


class _MigrateConfigWhenUsed:
    """app.extensions["migrate"] until first read: then Flask-Migrate's configuration (directory, db, migrate...)."""

    def __init__(self, migrate, app, db, directory):
        self._bind = lambda: migrate.bind(app, db, directory)

    def __getattr__(self, name):
        return getattr(self._bind(), name)


class _DatabaseCommands(click.Group):
    """`flask db`: Flask-Migrate's command group (its options, its commands), imported when it is run."""

    def make_context(self, info_name, args, parent=None, **extra):
        from flask_migrate.cli import db as commands

        return commands.make_context(info_name, args, parent=parent, **extra)


migrate = _MigrateWhenUsed(render_item=_render_type_as_stored, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
