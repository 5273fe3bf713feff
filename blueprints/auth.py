"""Register, log in, log out."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from extensions import db, login_manager
from models import MAX_ID, User
from services import login_throttle

bp = Blueprint("auth", __name__)


def _hash_password(password: str) -> str:
    """scrypt unless configured otherwise (HOURBILL_PASSWORD_HASH_METHOD: the tests use a cheap one)."""
    return generate_password_hash(password, method=current_app.config["HOURBILL_PASSWORD_HASH_METHOD"])


@functools.cache
def _no_such_user_hash(method: str) -> str:
    """One hash to compare against when the account does not exist, made the way real ones are, so a
    wrong e-mail and a wrong password take the same time."""
    return generate_password_hash("no such user", method=method)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    return db.session.get(User, int(user_id)) if user_id.isdigit() else None


class RegisterForm(FlaskForm):
    display_name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200,
                             message="Use at least 10 characters.")])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password",
                            message="The two passwords differ.")])


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    remember = BooleanField("Remember me on this device")


def owned(model, object_id):
    """The current user's object of this model, or 404: another user's object does not exist for them.
    (The id may come from a form: anything that is not a whole number is a 404 too.)"""
    try:
        found = db.session.get(model, int(object_id)) if 0 < int(object_id) <= MAX_ID else None
    except (TypeError, ValueError):
        found = None
    if found is None or found.user_id != current_user.id:
        abort(404)
    return found


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, a scheme, or a protocol-relative //host."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(char) < 32 or ord(char) == 127 for char in target)):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _throttle_limits() -> dict:
    config = current_app.config
    return {
        "per_account": config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        "per_address": config["HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS"],
        "window_seconds": config["HOURBILL_LOGIN_FAILURE_WINDOW_SECONDS"],
    }


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("invoices.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
            form.email.errors.append("An account with this email exists already. Log in instead.")
        else:
            user = User(email=email, display_name=form.display_name.data.strip(),
                        password_hash=_hash_password(form.password.data),
                        business_email=email)
            db.session.add(user)
            try:
                db.session.commit()
            except IntegrityError:  # the same address registered a moment ago (a double click)
                db.session.rollback()
                form.email.errors.append("An account with this email exists already. Log in instead.")
                return render_template("auth/register.html", form=form), 422
            login_user(user)
            flash("Welcome to Hourbill. Fill in your business profile: it goes on every invoice.", "success")
            return redirect(url_for("settings.profile"), code=303)
    return render_template("auth/register.html", form=form), 422 if form.errors else 200


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("invoices.index"))
    form = LoginForm()
    error = None
    status = 200
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        limits = _throttle_limits()
        wait = login_throttle.seconds_until_allowed(email, request.remote_addr, **limits)
        if wait:
            minutes = max(1, round(wait / 60))
            error = (f"Too many failed log-ins. Wait {minutes} minute{'s' if minutes != 1 else ''} and try again, "
                     "or check the email address and password.")
            status = 429
        else:
            user = db.session.scalar(select(User).where(func.lower(User.email) == email))
            stored = (user.password_hash if user
                      else _no_such_user_hash(current_app.config["HOURBILL_PASSWORD_HASH_METHOD"]))
            if check_password_hash(stored, form.password.data) and user:
                login_throttle.clear_account(email)
                login_user(user, remember=form.remember.data)
                return redirect(safe_next(request.args.get("next")) or url_for("invoices.index"), code=303)
            login_throttle.record_failure(email, request.remote_addr, limits["window_seconds"])
            error = "That email and password do not match an account. Check both and try again."
            status = 401
    elif form.errors:
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"), code=303)
