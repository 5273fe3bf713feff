"""Clockify connections: connect (Verify & Save), update a regenerated key, disconnect.

Every form here works as a plain page; the key is verified against Clockify (GET /user) before it
is stored, and after that no page ever shows more of it than its last four characters."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length

from blueprints.access import (can, clockify_site, current_business, data_key_problem, keyring, managed_connection,
                               requires, scoped)
from blueprints.forms import ClockifyKeyForm, api_key_field, sharing_field
from extensions import db
from models import ClockifyConnection, ConnectionRequest
from services import connection_requests, connections
from services.clockify import REGIONS, ClockifyError, InvalidKey

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations/clockify")


class ConnectForm(ClockifyKeyForm):
    name = StringField(_l("Name"), default="Clockify", validators=[DataRequired(_l("Give the connection a name.")),
                                                               Length(max=100)])
    description = TextAreaField(_l("Description (optional)"), validators=[Length(max=500)])
    sharing = sharing_field()


class AskForm(FlaskForm):
    sharing = sharing_field()


class RevokeAskForm(FlaskForm):
    request_id = IntegerField(validators=[InputRequired()])


class UpdateKeyForm(FlaskForm):
    api_key = api_key_field()


def _verify(form, region: str, subdomain: str | None):
    """(who, None) when Clockify accepts the key, else (None, error) for the page to explain."""
    try:
        return connections.verify(form.api_key.data, region, subdomain, clockify_site()), None
    except ClockifyError as error:
        current_app.logger.info("Clockify verification failed: %r", error)
        if isinstance(error, InvalidKey):  # point at the field to fix, for screen readers too
            form.api_key.errors = [*form.api_key.errors, _("Clockify did not accept this key (see above).")]
        return None, error


def _prefetch(connection: ClockifyConnection, api_key: str) -> str:
    """Workspaces and the key's role in each, fetched while the key is at hand; the Admin caveat when
    the key is a regular member's somewhere."""
    max_age = timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])
    member_of = connections.prefetch(connection, api_key, clockify_site(), max_age)
    return " " + _("In %(workspaces)s: %(caveat)s", workspaces=", ".join(member_of),
                   caveat=_(connections.MEMBER_KEY_CAVEAT)) if member_of else ""


@bp.route("/new", methods=["GET", "POST"])
@requires("connection.create")
def connect():
    form = ConnectForm()
    problem = data_key_problem()
    error = None
    if form.validate_on_submit() and not problem:
        subdomain = form.subdomain.data or None
        who, error = _verify(form, form.region.data, subdomain)
        if who:
            connection = ClockifyConnection(business_id=current_business().id, created_by_user_id=current_user.id,
                                            name=form.name.data.strip(), shared=form.sharing.data == "shared",
                                            description=(form.description.data or "").strip(),
                                            region=form.region.data, subdomain=subdomain)
            db.session.add(connection)
            db.session.flush()  # the row's id goes into the key's associated data
            connections.seal_key(connection, form.api_key.data, who, keyring())
            zone = connections.adopt_time_zone(current_user, connection, who)
            db.session.commit()
            caveat = _prefetch(connection, form.api_key.data)
            adopted = " " + _("Your time zone is now %(zone)s, as in Clockify; change it in "
                              "Settings.", zone=zone) if zone else ""
            flash(_("Connected to Clockify as %(name)s (%(email)s).", name=who.name, email=who.email)
                  + adopted + caveat,
                  "success")
            return redirect(url_for("settings.integrations"), code=303)
    status = 503 if problem and form.is_submitted() else 422 if (form.errors or error) else 200
    return render_template("integrations/connect.html", form=form, error=error, problem=problem,
                           regions=REGIONS), status


@bp.route("/<int:connection_id>/key", methods=["GET", "POST"])
@requires("connection.create")
def update_key(connection_id: int):
    connection = managed_connection(connection_id)
    form = UpdateKeyForm()
    problem = data_key_problem()
    error = None
    if form.validate_on_submit() and not problem:
        who, error = _verify(form, connection.region, connection.subdomain)
        if who:
            previous = connection.clockify_user_email
            connections.seal_key(connection, form.api_key.data, who, keyring())
            db.session.commit()
            caveat = _prefetch(connection, form.api_key.data)
            note = (" " + _("It now reads as %(name)s (%(email)s).", name=who.name, email=who.email)
                    if previous and previous != who.email else "")
            flash(_("The key for %(name)s is updated and verified.", name=connection.name) + note + caveat, "success")
            return redirect(url_for("settings.integrations"), code=303)
    status = 503 if problem and form.is_submitted() else 422 if (form.errors or error) else 200
    return render_template("integrations/update_key.html", form=form, connection=connection, error=error,
                           problem=problem, regions=REGIONS), status


@bp.route("/<int:connection_id>/disconnect", methods=["GET", "POST"])
@requires("connection.create")
def disconnect(connection_id: int):
    connection = managed_connection(connection_id)
    form = FlaskForm()
    if form.validate_on_submit():
        name = connection.name
        db.session.delete(connection)  # the encrypted key goes with the row; Clockify is not touched
        db.session.commit()
        flash(_("%(name)s is disconnected. Its stored key is deleted; nothing changed in "
                "Clockify.", name=name), "success")
        return redirect(url_for("settings.integrations"), code=303)
    return render_template("integrations/disconnect.html", form=form, connection=connection, regions=REGIONS)


# --- "Ask a colleague to connect" ------------------------------------------------------------------

def _ask_page(form: AskForm, link: str | None = None, status: int = 200):
    mine = connection_requests.open_requests(current_business().id, current_user.id)
    return render_template("integrations/ask.html", form=form, link=link, requests=mine,
                           lifetime_hours=int(connection_requests.LIFETIME.total_seconds() // 3600)), status


@bp.route("/ask", methods=["GET", "POST"])
@requires("connection.create")
def ask():
    """A one-time link for whoever holds the key: shown once, to copy (only its hash is kept)."""
    form = AskForm()
    if not form.validate_on_submit():
        return _ask_page(form, status=422 if form.errors else 200)
    __, token = connection_requests.create(current_business(), current_user, form.sharing.data == "shared")
    db.session.commit()
    return _ask_page(AskForm(formdata=None), link=url_for("colleague.connect", token=token, _external=True))


@bp.post("/ask/revoke")
@requires("connection.create")
def revoke_ask():
    form = RevokeAskForm()
    if not form.validate_on_submit():
        abort(400)
    link = scoped(ConnectionRequest, form.request_id.data)
    if link.requested_by_user_id != current_user.id and not can("connection.manage"):
        abort(404)
    if connection_requests.revoke(link):
        flash(_("The link is revoked: it no longer works."), "success")
    else:
        flash(_("That link was used or revoked already."), "info")
    db.session.commit()
    return redirect(url_for("integrations.ask"), code=303)
