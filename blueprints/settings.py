"""Settings: the current business's profile that goes on every invoice (admins), its integrations
page, and the person's own settings: name, time zone, and security (password, two-factor
authentication, logins)."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import (DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional, Regexp,
                                ValidationError)

from blueprints.access import (can, current_business, data_key_problem, keyring, personal, requires, scoped_select,
                               today)
from blueprints.forms import (DecimalText, WholeNumber, currency_code, email_address, locale_choices,
                             new_password_length, time_zone)
from extensions import db
from services.clockify import REGIONS
from models import NUMBER_FORMATS, ClockifyConnection
from services import accounts, invoicing, login_throttle, two_factor
from services.money import fits_currency, from_minor, is_currency, minor_digits, plain, to_minor
from services.secrets import DataKeyError

bp = Blueprint("settings", __name__, url_prefix="/settings")


class ProfileForm(FlaskForm):
    business_name = StringField(_l("Business name"), validators=[Length(max=200)])
    business_address = TextAreaField(_l("Address"), validators=[Length(max=2000)])
    business_email = EmailField(_l("Billing email"), validators=email_address(Optional()))
    tax_id = StringField(_l("Tax id (VAT, EIN, ABN…)"), validators=[Length(max=64)])
    default_currency = StringField(_l("Default currency"), validators=[currency_code])
    default_hourly_rate = DecimalText(_l("Default hourly rate"), places=3, minimum=Decimal(0),
                                      maximum=Decimal("1000000"))
    default_tax_rate = DecimalText(_l("Default tax rate (%)"), places=3, minimum=Decimal(0), maximum=Decimal(100))
    invoice_prefix = StringField(_l("Invoice number prefix"), validators=[
        Length(max=20), Regexp(r"^[A-Za-z0-9._/#-]*$", message=_l("Use letters, digits and . _ / # - only."))])
    next_invoice_number = WholeNumber(_l("Next invoice number"), validators=[
        InputRequired(_l("Enter a whole number, like 1.")),
        NumberRange(min=1, max=10**9, message=_l("Use a number from 1 to 1,000,000,000."))])
    payment_terms_days = WholeNumber(_l("Payment terms (days)"), validators=[
        InputRequired(_l("Enter a number of days.")), NumberRange(min=0, max=365, message=_l("Use 0 to 365 days."))])
    # Numbering (payments): the format after the prefix, and a yearly restart of the sequence.
    invoice_number_format = SelectField(_l("Number format"), default=NUMBER_FORMATS[0],
                                        choices=[SelectChoice(each, each) for each in NUMBER_FORMATS])
    number_restarts_yearly = BooleanField(_l("Start again at 1 each year"))

    def validate_number_restarts_yearly(self, field):
        if field.data and "{year}" not in (self.invoice_number_format.data or ""):
            raise ValidationError(_("Choose a number format with the year: restarting each year would otherwise "
                                  "give the same numbers again."))

    def validate_default_hourly_rate(self, field):
        currency, rate = self.default_currency.data, field.decimal
        if rate is not None and is_currency(currency) and not fits_currency(rate, currency):
            raise ValidationError(_("%(currency)s amounts have at most %(places)s decimal places.", currency=currency,
                                    places=minor_digits(currency)))


class PersonalForm(FlaskForm):
    display_name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), Length(max=120)])
    time_zone = SelectField(_l("Time zone"), choices=accounts.TIME_ZONES, validate_choice=False, validators=[time_zone])
    locale = SelectField(_l("Numbers and dates"), choices=[], validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.locale.choices = [("", _("As this Hourbill writes them (%(locale)s)",
                                      locale=current_app.config["HOURBILL_LOCALE"])),
                               *locale_choices()]
        if self.time_zone.object_data and self.time_zone.object_data not in accounts.TIME_ZONES:  # chosen before
            self.time_zone.choices = [self.time_zone.object_data, *accounts.TIME_ZONES]


# The form's field -> the business's column (the form keeps the names its pages and tests know).
PROFILE_FIELDS = {"business_name": "name", "business_address": "address", "business_email": "email",
                  "tax_id": "tax_id", "invoice_prefix": "invoice_prefix", "next_invoice_number": "next_invoice_number",
                  "payment_terms_days": "payment_terms_days", "invoice_number_format": "invoice_number_format",
                  "number_restarts_yearly": "number_restarts_yearly"}


@bp.get("/")
@personal
def index():
    return redirect(url_for("settings.profile" if can("business.manage") else "settings.personal"))


@bp.route("/profile", methods=["GET", "POST"])
@requires("business.manage")
def profile():
    business = current_business()
    form = ProfileForm(data={field: getattr(business, column) for field, column in PROFILE_FIELDS.items()}
                       | {"default_currency": business.default_currency})
    if not form.is_submitted():
        form.default_hourly_rate.data = (str(from_minor(business.default_hourly_rate_minor, business.default_currency))
                                         if business.default_hourly_rate_minor is not None else "")
        form.default_tax_rate.data = plain(business.default_tax_rate)
    if form.validate_on_submit():
        for field, column in PROFILE_FIELDS.items():
            value = getattr(form, field).data
            setattr(business, column, value.strip() if isinstance(value, str) else value)
        rate, currency = form.default_hourly_rate.decimal, form.default_currency.data
        business.default_currency = currency
        business.default_hourly_rate_minor = None if rate is None else to_minor(rate, currency)
        business.default_tax_rate = form.default_tax_rate.decimal or Decimal(0)
        if not business.number_restarts_yearly:
            business.invoice_number_year = None  # turned on again later, the counter goes on in that year
        db.session.commit()
        flash(_("Business profile saved."), "success")
        return redirect(url_for("settings.profile"), code=303)
    _numbering_examples(form, business)
    return render_template("settings/profile.html", form=form, next_number=_next_number(business)), \
        422 if form.errors else 200


def _numbering_examples(form: ProfileForm, business) -> None:
    """Each format's choice reads as a number with the business's prefix and this year: "INV-2026-001"."""
    form.invoice_number_format.choices = [
        SelectChoice(each, invoicing.format_number(business.invoice_prefix, each, 1, today().year))
        for each in NUMBER_FORMATS]


def _next_number(business) -> str:
    """The number the next invoice issued today gets, as saved (the rule mark_sent numbers with)."""
    try:
        return invoicing.next_number(business, today().year)
    except invoicing.InvoiceStateError:
        return ""


@bp.route("/personal", methods=["GET", "POST"], endpoint="personal")
@personal
def personal_settings():
    form = PersonalForm(obj=current_user)
    if form.validate_on_submit():
        current_user.display_name = form.display_name.data.strip()
        current_user.time_zone = form.time_zone.data
        current_user.locale = form.locale.data or None
        db.session.commit()
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("settings.personal"), code=303)
    return render_template("settings/personal.html", form=form), 422 if form.errors else 200


@bp.get("/integrations")
@requires("connection.view")
def integrations():
    connections = db.session.scalars(scoped_select(ClockifyConnection)
                                     .order_by(ClockifyConnection.created_at)).all()
    return render_template("settings/integrations.html", connections=connections, regions=REGIONS,
                           problem=data_key_problem() if connections else None)


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter a new password.")),
                                                             new_password_length()])
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(_l("Repeat the new password.")), EqualTo("new_password", message=_l("The two passwords differ."))])


class ConfirmTwoFactorForm(FlaskForm):
    code = StringField(_l("Code from the app"), validators=[DataRequired(_l("Enter the six-digit code.")),
                                                            Length(max=20)])


class DisableTwoFactorForm(FlaskForm):
    disable_code = StringField(_l("Code from the app, or a recovery code"),
                               validators=[DataRequired(_l("Enter a code.")), Length(max=40)])


def _account_page(status: int = 200, *, password_form=None, confirm_form=None, disable_form=None,
                  recovery_codes=None, problem=None):
    """The account page, with the form that was sent (and its errors) in place of a blank one."""
    user = current_user
    enrollment = None
    if user.totp_ciphertext is not None and not user.two_factor_enabled:
        try:
            secret = two_factor.pending_secret(user, keyring())
            uri = two_factor.provisioning_uri(secret, user.email)
            enrollment = {"secret": secret, "qr_code": two_factor.qr_code_data_uri(uri)}
        except DataKeyError as error:
            problem = problem or str(error)
    sessions = accounts.live_sessions(user, accounts.session_max_age(current_app.config))
    return render_template(
        "settings/account.html", password_form=password_form or PasswordForm(formdata=None),
        confirm_form=confirm_form or ConfirmTwoFactorForm(formdata=None),
        disable_form=disable_form or DisableTwoFactorForm(formdata=None), enrollment=enrollment,
        recovery_codes=recovery_codes, problem=problem, sessions=sessions,
        current_session=next((row for row in sessions if accounts.is_current(row, user)), None),
        unused_recovery_codes=two_factor.unused_recovery_codes(user) if user.two_factor_enabled else 0), status


@bp.get("/account")
@personal
def account():
    return _account_page()


@bp.post("/account/password")
@personal
def account_password():
    form = PasswordForm()
    if not form.validate_on_submit():
        return _account_page(422, password_form=form)
    try:
        ended = accounts.change_password(current_user, form.current_password.data, form.new_password.data,
                                         current_app.config)
    except accounts.WrongPassword:
        form.current_password.errors.append(_("That is not your current password."))
        return _account_page(422, password_form=form)
    db.session.commit()
    flash(ngettext("Password changed. %(num)d other login was ended.", "Password changed. %(num)d other logins were "
                   "ended.", ended) if ended else _("Password changed."), "success")
    return redirect(url_for("settings.account"), code=303)


@bp.post("/account/two-factor")
@personal
def account_two_factor_start():
    if current_user.two_factor_enabled:
        flash(_("Two-factor authentication is on already."), "info")
        return redirect(url_for("settings.account"), code=303)
    try:
        two_factor.begin_enrollment(current_user, keyring())
    except DataKeyError as error:
        return _account_page(503, problem=str(error))
    db.session.commit()
    return redirect(url_for("settings.account", _anchor="two-factor"), code=303)


@bp.post("/account/two-factor/confirm")
@personal
def account_two_factor_confirm():
    form = ConfirmTwoFactorForm()
    if not form.validate_on_submit():
        return _account_page(422, confirm_form=form)
    try:
        codes = two_factor.confirm_enrollment(current_user, form.code.data, keyring())
    except DataKeyError as error:
        return _account_page(503, problem=str(error))
    if codes is None:
        form.code.errors.append(_("That code is not right. Check the app's clock and enter the code it shows now."))
        return _account_page(422, confirm_form=form)
    db.session.commit()
    # Shown this once, in this answer: only their hashes are kept.
    return _account_page(recovery_codes=codes)


@bp.post("/account/two-factor/disable")
@personal
def account_two_factor_disable():
    form = DisableTwoFactorForm()
    if not form.validate_on_submit():
        return _account_page(422, disable_form=form)
    if current_user.two_factor_enabled:
        # Codes are guessed no faster here than at log-in (a stolen session must not turn it off).
        limits = login_throttle.Limits.from_config(current_app.config)
        attempt = login_throttle.claim_code(current_user.id, limits.per_account_address, limits.window_seconds)
        db.session.commit()
        if attempt.refused:
            form.disable_code.errors.append(_("Too many wrong codes. Wait a few minutes and try again."))
            return _account_page(429, disable_form=form)
        try:
            accepted = two_factor.accept_code(current_user, form.disable_code.data, keyring())
        except DataKeyError as error:
            return _account_page(503, problem=_("%(problem)s A recovery code still works.", problem=error))
        if not accepted:
            form.disable_code.errors.append(_("That code is not right, or was used already."))
            return _account_page(422, disable_form=form)
        login_throttle.release(attempt)
    two_factor.disable(current_user)
    db.session.commit()
    flash(_("Two-factor authentication is off."), "info")
    return redirect(url_for("settings.account"), code=303)
