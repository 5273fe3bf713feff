"""Form fields shared by several areas (money, decimals, currencies, time zones) and the invoice line
form, which the invoice page and the import wizard both use."""
from __future__ import annotations

from decimal import Decimal
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import FileStorage
from wtforms import Field, IntegerField, PasswordField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp, StopValidation, ValidationError

from models import Invoice, LineItem
from services import invoicing, logo, payment_details
from services.clockify import REGIONS
from services.accounts import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from services.money import fits_currency, is_currency, minor_digits, parse_decimal, plain, to_minor

TIME_ZONES = sorted(available_timezones())


class DecimalText(StringField):
    """A decimal typed as text ('1,234.5'), exact (no float), with bounds and a places limit."""

    def __init__(self, label=None, validators=None, *, places: int, minimum=None, maximum=None,
                 required=False, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.places, self.minimum, self.maximum, self.required = places, minimum, maximum, required
        self.decimal: Decimal | None = None

    def pre_validate(self, form):
        if self.data is not None and not isinstance(self.data, str):  # filled from the record, not sent
            self.data = plain(self.data)
        try:
            value = parse_decimal(self.data)
        except ValueError:
            raise ValidationError("Enter a number, like 7.5.") from None
        if value is None:
            if self.required:
                raise ValidationError("This is required.")
            self.decimal = None
            return
        if -value.as_tuple().exponent > self.places and value != value.quantize(Decimal(1).scaleb(-self.places)):
            raise ValidationError(f"Use at most {self.places} decimal places.")
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(f"Must be at least {self.minimum}.")
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(f"Must be at most {self.maximum}.")
        self.decimal = value.quantize(Decimal(1).scaleb(-self.places)) if self.places else value


class WholeNumber(IntegerField):
    """An integer field that says one thing when the text is not a whole number (not two)."""

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist[0].strip()) > 12:  # no invoice number or term is that long
            self.data = None
            raise ValueError("Enter a whole number, like 30.")
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a whole number, like 30.") from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


def currency_code(form, field: Field) -> None:
    field.data = (field.data or "").strip().upper()
    if not is_currency(field.data):
        raise ValidationError("Enter a three-letter ISO 4217 currency code, like USD or EUR.")


def time_zone(form, field: Field) -> None:
    if field.data not in TIME_ZONES:
        raise ValidationError("Choose a time zone from the list, like Europe/Berlin.")


def new_password_length() -> Length:
    """The one rule for a new password, at registration and at a change."""
    return Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                  message=f"Use at least {MIN_PASSWORD_LENGTH} characters.")


QUANTITY_LIMIT = Decimal("1000000")
RATE_LIMIT = Decimal("10000000")


class LineForm(FlaskForm):
    description = StringField("Description", validators=[InputRequired("Describe the line."), Length(max=2000)])
    quantity = DecimalText("Quantity", places=4, minimum=-QUANTITY_LIMIT, maximum=QUANTITY_LIMIT, required=True)
    unit = StringField("Unit", validators=[Length(max=20)])
    rate = DecimalText("Rate", places=3, minimum=Decimal(0), maximum=RATE_LIMIT, required=True)

    def validate_for(self, invoice: Invoice, replacing: LineItem | None = None) -> bool:
        """Validate, then check the rate fits the currency's minor unit (no 45.005 USD) and the line fits
        the invoice (services.invoicing.check_room; call it with the draft locked)."""
        if not (self.validate_on_submit() and fits_currency_field(self.rate, invoice.currency)):
            return False
        try:
            invoicing.check_room(invoice, self.quantity.decimal, to_minor(self.rate.decimal, invoice.currency),
                                 replacing)
        except invoicing.AmountTooLarge as error:
            self.rate.errors = [str(error)]
            return False
        return True


def fits_currency_field(field: DecimalText, currency: str) -> bool:
    if field.decimal is None or fits_currency(field.decimal, currency):
        return True
    field.errors = [f"{currency} amounts have at most {minor_digits(currency)} decimal places."]
    return False


# --- a Clockify key, as the connect page and a colleague's link page ask for it ------------------------

def _trimmed(value):
    return value.strip() if isinstance(value, str) else value


def api_key_field() -> PasswordField:
    # Clockify keys are long; a very short one would be shown whole behind the "••••".
    return PasswordField("API key", filters=[_trimmed], validators=[
        DataRequired("Paste the API key from Clockify."),
        Length(min=12, max=256, message="That is too short for a Clockify API key: copy the whole key.")])


class ClockifyKeyForm(FlaskForm):
    region = SelectField("Region", choices=[SelectChoice(code, label) for code, label in REGIONS.items()],
                         default="global")
    subdomain = StringField("Subdomain (optional)", validators=[
        Optional(), Length(max=63),
        Regexp(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$",
               message="Only the part before .clockify.me: letters, digits and hyphens.")],
        filters=[lambda value: _trimmed(value).lower() if isinstance(value, str) else value])
    api_key = api_key_field()


SHARING_CHOICES = [SelectChoice("private", "Private: only I may import through it"),
                   SelectChoice("shared", "Shared with the business: every member may import through it "
                                          "(nobody sees the key)")]


def sharing_field() -> RadioField:
    return RadioField("Who may import through it", choices=SHARING_CHOICES, default="private")


# better-pdf: the payment details and the logo the invoice prints (settings, "Payment details & logo").

def _checked_by(clean):
    """A validator from a services.payment_details cleaner: the field gets the clean value, or its message."""
    def check(form, field):
        try:
            field.data = clean(field.data)
        except ValueError as error:
            raise ValidationError(str(error)) from None
    return check


class PaymentDetailsForm(FlaskForm):
    bank_account_holder = StringField("Account holder", filters=[_trimmed], validators=[
        Length(max=payment_details.EPC_MAX_NAME, message="Use at most 70 characters (what a bank transfer carries).")])
    iban = StringField("IBAN", validators=[Length(max=64, message="An IBAN has at most 34 characters."),
                                           _checked_by(payment_details.clean_iban)])
    bic = StringField("BIC (SWIFT code)", validators=[Length(max=20, message="A BIC has 8 or 11 characters."),
                                                      _checked_by(payment_details.clean_bic)])

    def validate_bic(self, field):
        if field.data and not self.iban.data:
            raise ValidationError("Enter the IBAN of this account too.")


class LogoForm(FlaskForm):
    logo = FileField("Logo (PNG or JPEG)")

    def validate_logo(self, field):
        """Checked and re-encoded here (services.logo), so the view stores `field.prepared` or nothing."""
        upload = field.data
        if not isinstance(upload, FileStorage):
            raise ValidationError("Choose a PNG or JPEG file.")
        try:
            field.prepared = logo.prepare(upload.stream.read())
        except logo.LogoError as error:
            raise ValidationError(str(error)) from None
