"""The Flask extensions, created unbound here and bound to the app in create_app()."""
from flask_login import LoginManager
from flask_migrate import Migrate
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


migrate = Migrate(render_item=_render_type_as_stored, compare_type=True)
login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
