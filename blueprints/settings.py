"""Account settings: the business profile that goes on every invoice, and the integrations page."""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError

from blueprints.forms import TIME_ZONES, DecimalText, WholeNumber, currency_code, time_zone
from blueprints.integrations import data_key_problem
from extensions import db
from services.clockify import REGIONS
from models import ClockifyConnection
from services.money import fits_currency, from_minor, is_currency, minor_digits, plain, to_minor

bp = Blueprint("settings", __name__, url_prefix="/settings")


class ProfileForm(FlaskForm):
    business_name = StringField("Business name", validators=[Length(max=200)])
    business_address = TextAreaField("Address", validators=[Length(max=2000)])
    business_email = EmailField("Billing email", validators=[Optional(), Email(check_deliverability=False),
                                                             Length(max=254)])
    tax_id = StringField("Tax id (VAT, EIN, ABN…)", validators=[Length(max=64)])
    default_currency = StringField("Default currency", validators=[currency_code])
    default_hourly_rate = DecimalText("Default hourly rate", places=3, minimum=Decimal(0),
                                      maximum=Decimal("1000000"))
    default_tax_rate = DecimalText("Default tax rate (%)", places=3, minimum=Decimal(0), maximum=Decimal(100))
    invoice_prefix = StringField("Invoice number prefix", validators=[
        Length(max=20), Regexp(r"^[A-Za-z0-9._/#-]*$", message="Use letters, digits and . _ / # - only.")])
    next_invoice_number = WholeNumber("Next invoice number", validators=[
        InputRequired("Enter a whole number, like 1."),
        NumberRange(min=1, max=10**9, message="Use a number from 1 to 1,000,000,000.")])
    payment_terms_days = WholeNumber("Payment terms (days)", validators=[
        InputRequired("Enter a number of days."), NumberRange(min=0, max=365, message="Use 0 to 365 days.")])
    time_zone = SelectField("Time zone", choices=TIME_ZONES, validate_choice=False, validators=[time_zone])

    def validate_default_hourly_rate(self, field):
        currency, rate = self.default_currency.data, field.decimal
        if rate is not None and is_currency(currency) and not fits_currency(rate, currency):
            raise ValidationError(f"{currency} amounts have at most {minor_digits(currency)} decimal places.")


@bp.get("/")
@login_required
def index():
    return redirect(url_for("settings.profile"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user
    form = ProfileForm(obj=user)
    if not form.is_submitted():
        form.default_hourly_rate.data = (str(from_minor(user.default_hourly_rate_minor, user.default_currency))
                                         if user.default_hourly_rate_minor is not None else "")
        form.default_tax_rate.data = plain(user.default_tax_rate)
    if form.validate_on_submit():
        for name in ("business_name", "business_address", "business_email", "tax_id", "invoice_prefix",
                     "next_invoice_number", "payment_terms_days", "time_zone"):
            value = getattr(form, name).data
            setattr(user, name, value.strip() if isinstance(value, str) else value)
        rate, currency = form.default_hourly_rate.decimal, form.default_currency.data
        user.default_currency = currency
        user.default_hourly_rate_minor = None if rate is None else to_minor(rate, currency)
        user.default_tax_rate = form.default_tax_rate.decimal or Decimal(0)
        db.session.commit()
        flash("Business profile saved.", "success")
        return redirect(url_for("settings.profile"), code=303)
    return render_template("settings/profile.html", form=form), 422 if form.errors else 200


@bp.get("/integrations")
@login_required
def integrations():
    connections = db.session.scalars(select(ClockifyConnection).where(ClockifyConnection.user_id == current_user.id)
                                     .order_by(ClockifyConnection.created_at)).all()
    return render_template("settings/integrations.html", connections=connections, regions=REGIONS,
                           problem=data_key_problem() if connections else None)
