"""Clockify connections: connect (Verify & Save), update a regenerated key, disconnect.

Every form here works as a plain page; the key is verified against Clockify (GET /user) before it
is stored, and after that no page ever shows more of it than its last four characters."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from blueprints.access import clockify_site, current_business, data_key_problem, keyring, managed_connection, requires
from extensions import db
from models import ClockifyConnection
from services import connections
from services.clockify import REGIONS, ClockifyError, InvalidKey

bp = Blueprint("integrations", __name__, url_prefix="/settings/integrations/clockify")

def _trimmed(value):
    return value.strip() if isinstance(value, str) else value


def api_key_field() -> PasswordField:
    # Clockify keys are long; a very short one would be shown whole behind the "••••".
    return PasswordField("API key", filters=[_trimmed], validators=[
        DataRequired("Paste the API key from Clockify."),
        Length(min=12, max=256, message="That is too short for a Clockify API key: copy the whole key.")])


class ConnectForm(FlaskForm):
    name = StringField("Name", default="Clockify", validators=[DataRequired("Give the connection a name."),
                                                               Length(max=100)])
    description = TextAreaField("Description (optional)", validators=[Length(max=500)])
    region = SelectField("Region", choices=[SelectChoice(code, label) for code, label in REGIONS.items()],
                         default="global")
    subdomain = StringField("Subdomain (optional)", validators=[
        Optional(), Length(max=63),
        Regexp(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$",
               message="Only the part before .clockify.me: letters, digits and hyphens.")],
        filters=[lambda value: _trimmed(value).lower() if isinstance(value, str) else value])
    api_key = api_key_field()


class UpdateKeyForm(FlaskForm):
    api_key = api_key_field()


def _verify(form, region: str, subdomain: str | None):
    """(who, None) when Clockify accepts the key, else (None, error) for the page to explain."""
    try:
        return connections.verify(form.api_key.data, region, subdomain, clockify_site()), None
    except ClockifyError as error:
        current_app.logger.info("Clockify verification failed: %r", error)
        if isinstance(error, InvalidKey):  # point at the field to fix, for screen readers too
            form.api_key.errors = [*form.api_key.errors, "Clockify did not accept this key (see above)."]
        return None, error


def _prefetch_workspaces(connection: ClockifyConnection, api_key: str) -> None:
    """Fetch the workspace list while the key is at hand, so the import wizard opens without asking
    Clockify; on any failure the wizard simply asks then."""
    from services import imports

    max_age = timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])
    try:
        with connections.client_for_key(api_key, connection.region, connection.subdomain, clockify_site()) as client:
            imports.workspaces(connection, client, max_age, refresh=True)
    except ClockifyError as error:
        db.session.rollback()
        current_app.logger.info("Clockify workspaces not prefetched: %r", error)


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
            connection = ClockifyConnection(business_id=current_business().id, created_by_user_id=current_user.id, name=form.name.data.strip(),
                                            description=(form.description.data or "").strip(),
                                            region=form.region.data, subdomain=subdomain)
            db.session.add(connection)
            db.session.flush()  # the row's id goes into the key's associated data
            connections.seal_key(connection, form.api_key.data, who, keyring())
            zone = connections.adopt_time_zone(current_user, connection, who)
            db.session.commit()
            _prefetch_workspaces(connection, form.api_key.data)
            adopted = f" Your time zone is now {zone}, as in Clockify; change it in Settings." if zone else ""
            flash(f"Connected to Clockify as {who.name} ({who.email}).{adopted}", "success")
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
            _prefetch_workspaces(connection, form.api_key.data)
            note = f" It now reads as {who.name} ({who.email})." if previous and previous != who.email else ""
            flash(f"The key for {connection.name} is updated and verified.{note}", "success")
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
        flash(f"{name} is disconnected. Its stored key is deleted; nothing changed in Clockify.", "success")
        return redirect(url_for("settings.integrations"), code=303)
    return render_template("integrations/disconnect.html", form=form, connection=connection, regions=REGIONS)
