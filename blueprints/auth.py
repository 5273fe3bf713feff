"""Register, log in (with a second step for two-factor accounts), log out here or everywhere."""
from __future__ import annotations

import functools
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from blueprints.access import current_business, keyring, personal
from blueprints.forms import email_address, new_password_length
from extensions import db, login_manager
from models import User
from services import accounts, businesses, login_throttle, two_factor
from services.secrets import DataKeyError

bp = Blueprint("auth", __name__)


def _no_such_user_hash() -> str:
    return _dummy_hash(current_app.config["HOURBILL_PASSWORD_HASH_METHOD"])


@functools.cache
def _dummy_hash(method: str) -> str:
    """One hash to compare against when the account does not exist, made the way real ones are, so a
    wrong e-mail and a wrong password take the same time."""
    return generate_password_hash("no such user", method=method)


# How long the half-logged-in state (right password, code not yet given) lasts.
TWO_FACTOR_SECONDS = 5 * 60


def session_max_age() -> timedelta:
    return accounts.session_max_age(current_app.config)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    """The session and remember-me cookies hold a login's token (User.get_id), never the user's id."""
    return accounts.load_session_user(token, session_max_age())


class RegisterForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=120)])
    email = EmailField(_l("Email"), validators=email_address(DataRequired()))
    password = PasswordField(_l("Password"), validators=[DataRequired(), new_password_length()])
    confirm = PasswordField(_l("Repeat password"), validators=[DataRequired(), EqualTo("password",
                            message=_l("The two passwords differ."))])


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Remember me on this device"))


class CodeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(_l("Enter the code.")), Length(max=40)])


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, a scheme, or a protocol-relative //host."""
    if (not target or not target.startswith("/") or target.startswith("//") or "\\" in target
            or any(ord(char) < 32 or ord(char) == 127 for char in target)):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _too_many(wait: int, what: str = "log-ins") -> str:
    """Too many failed log-ins, attempts from one address (what="address") or wrong codes (what="codes")."""
    minutes = max(1, round(wait / 60))
    if what == "codes":
        return ngettext("Too many wrong codes. Wait %(num)d minute and try again, or check the code.",
                        "Too many wrong codes. Wait %(num)d minutes and try again, or check the code.", minutes)
    if what == "address":
        return ngettext("Too many attempts from your address. Wait %(num)d minute and try again, or check the "
                        "email address and password.", "Too many attempts from your address. Wait %(num)d minutes "
                        "and try again, or check the email address and password.", minutes)
    return ngettext("Too many failed log-ins. Wait %(num)d minute and try again, or check the email address and "
                    "password.", "Too many failed log-ins. Wait %(num)d minutes and try again, or check the email "
                    "address and password.", minutes)


def _log_in(user: User, remember: bool) -> None:
    """A new revocable login (services.accounts) for this browser; commits."""
    accounts.start_session(user, request.user_agent.string, session_max_age())
    db.session.commit()
    login_user(user, remember=remember)


def _password_accepted(user: User, remember: bool):
    """After the right password: the code step for a two-factor account (logged in to nothing until
    then), else logged in."""
    target = safe_next(request.args.get("next"))
    if user.two_factor_enabled:
        db.session.commit()
        session["two_factor"] = {"user": user.id, "remember": bool(remember), "next": target,
                                 "until": time.time() + TWO_FACTOR_SECONDS}
        return redirect(url_for("auth.two_factor_code"), code=303)
    _log_in(user, remember)
    business = current_business()
    if two_factor.two_factor_required(user, business):
        flash(_("%(business)s requires two-factor authentication: set it up to continue.",
                business=business.name or _("Your business")), "info")
        return redirect(url_for("settings.account"), code=303)
    return redirect(target or url_for("index"), code=303)


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("invoices.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        # A taken email costs a slot of the address's log-in budget (and as much work as a new
        # account), so registering finds out which emails have accounts no faster than logging in.
        attempt = login_throttle.claim_address(request.remote_addr,
                                               login_throttle.Limits.from_config(current_app.config))
        db.session.commit()
        if attempt.refused:
            form.email.errors.append(_too_many(attempt.wait, "address"))
            return render_template("auth/register.html", form=form), 429
        if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
            check_password_hash(_no_such_user_hash(), form.password.data)
            form.email.errors.append(_("An account with this email exists already. Log in instead."))
        else:
            login_throttle.release(attempt)
            user = User(email=email, display_name=form.display_name.data.strip(),
                        password_hash=accounts.hash_password(form.password.data, current_app.config))
            db.session.add(user)
            try:
                db.session.flush()
                # Their own business, which they own: named after them until they fill in its profile.
                businesses.create_business(user, user.display_name, email=email)
                db.session.commit()
            except IntegrityError:  # the same address registered a moment ago (a double click)
                db.session.rollback()
                form.email.errors.append(_("An account with this email exists already. Log in instead."))
                return render_template("auth/register.html", form=form), 422
            _log_in(user, remember=False)
            flash(_("Welcome to Hourbill. Fill in your business profile: it goes on every invoice."), "success")
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
        limits = login_throttle.Limits.from_config(current_app.config)
        attempt = login_throttle.claim_login(email, request.remote_addr, limits)
        db.session.commit()  # the slots are taken before any password is checked
        if attempt.refused:
            error = _too_many(attempt.wait)
            status = 429
        else:
            login_throttle.slow_down(attempt, limits)
            user = db.session.scalar(select(User).where(func.lower(User.email) == email))
            if check_password_hash(user.password_hash if user else _no_such_user_hash(), form.password.data) and user:
                login_throttle.succeeded(attempt, email, request.remote_addr)
                return _password_accepted(user, form.remember.data)
            error = _("That email and password do not match an account. Check both and try again.")
            status = 401
    elif form.errors:
        status = 422
    return render_template("auth/login.html", form=form, error=error), status


def _pending_two_factor() -> tuple[dict, User] | None:
    pending = session.get("two_factor")
    if not isinstance(pending, dict) or pending.get("until", 0) < time.time():
        return None
    user = db.session.get(User, pending.get("user"))
    return (pending, user) if user is not None and user.two_factor_enabled else None


@bp.route("/login/code", methods=["GET", "POST"])
def two_factor_code():
    """The second step: an authenticator or recovery code after the right password."""
    found = _pending_two_factor()
    if found is None:
        session.pop("two_factor", None)
        flash(_("Log in again: the step for the code timed out."), "info")
        return redirect(url_for("auth.login"))  # as every private page answers a visitor not logged in
    pending, user = found
    form = CodeForm()
    error, status = None, 200
    if form.validate_on_submit():
        limits = login_throttle.Limits.from_config(current_app.config)
        attempt = login_throttle.claim_code(user.id, limits.per_account_address, limits.window_seconds)
        db.session.commit()
        if attempt.refused:
            session.pop("two_factor", None)
            error, status = _too_many(attempt.wait, "codes"), 429
        else:
            try:
                accepted = two_factor.accept_code(user, form.code.data, keyring())
            except DataKeyError:
                accepted, error = False, _("The server cannot read your authenticator secret (its data key is missing "
                                           "or wrong): use a recovery code, and tell whoever runs this Hourbill.")
            if accepted:
                login_throttle.release(attempt)
                session.pop("two_factor", None)
                _log_in(user, pending.get("remember", False))
                return redirect(pending.get("next") or url_for("index"), code=303)
            error = error or _("That code is not right, or was used already. Enter the code your app shows now.")
            status = 401
    elif form.errors:
        status = 422
    return render_template("auth/two_factor.html", form=form, error=error), status


@bp.post("/logout")
@personal
def logout():
    accounts.revoke(current_user.session_token)
    db.session.commit()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


@bp.post("/logout/everywhere")
@personal
def logout_everywhere():
    """End every login of this account: other browsers are logged out at their next request."""
    accounts.revoke_all(current_user)
    db.session.commit()
    logout_user()
    flash(_("You are logged out on every device and browser."), "info")
    return redirect(url_for("auth.login"), code=303)
