"""Form fields shared by several areas (money, decimals, currencies, time zones) and the invoice line
form, which the invoice page and the import wizard both use."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.dates import format_date
from babel.numbers import format_decimal
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from wtforms.widgets import Select
from wtforms import Field, IntegerField, PasswordField, RadioField, SelectChoice, SelectField, StringField
from wtforms.validators import (DataRequired, Email, InputRequired, Length, Optional, Regexp, StopValidation,
                                ValidationError)

from models import Invoice, LineItem
from services import invoicing, logo, payment_details
from services.clockify import REGIONS
from services.einvoice import rules
from services.einvoice.from_invoice import PARTY_COLUMNS
from services.einvoice.model import ElectronicAddress
from services.accounts import KNOWN_TIME_ZONES, MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, TIME_ZONES
from services.money import (AmbiguousNumber, decimal_comma, fits_currency, is_currency, minor_digits, parse_decimal,
                            plain, to_minor)


# The locales a person may choose for numbers and dates (Babel): (identifier, how it writes itself).
LOCALES = ["en_US", "en_GB", "en_IE", "en_AU", "en_CA", "en_IN", "en_NZ", "en_ZA", "de_DE", "de_AT", "de_CH",
           "fr_FR", "fr_BE", "fr_CA", "fr_CH", "nl_NL", "nl_BE", "it_IT", "es_ES", "es_MX", "es_AR", "pt_PT",
           "pt_BR", "da_DK", "sv_SE", "nb_NO", "fi_FI", "is_IS", "pl_PL", "cs_CZ", "sk_SK", "hu_HU", "ro_RO",
           "bg_BG", "hr_HR", "sl_SI", "et_EE", "lv_LV", "lt_LT", "el_GR", "tr_TR", "uk_UA", "ja_JP", "zh_CN",
           "ko_KR"]


@cache
def locale_choices() -> tuple[tuple[str, str], ...]:
    """Each locale written in its own words and numbers: the same on every page, made once (Babel loads and
    formats 45 locales' data: ~2 ms a form once it holds them)."""
    return tuple((code, f"{Locale.parse(code).get_display_name(code)} · {format_decimal(Decimal('1234.5'), locale=code)}"
                        f" · {format_date(date(2026, 11, 30), 'medium', locale=code)}") for code in LOCALES)


def as_typed(text) -> str:
    """A number put into an input as the person would type it back: '7,5' where their locale writes a
    decimal comma, else '7.5' (never grouped; DecimalText reads both)."""
    text = str(text)
    return text.replace(".", ",") if decimal_comma(user_locale()) else text


def user_locale() -> str:
    """How numbers and dates are written for the person of this request: their locale, else the app's."""
    return getattr(current_user, "locale", None) or current_app.config["HOURBILL_LOCALE"]


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
        comma = decimal_comma(user_locale())
        try:
            value = parse_decimal(self.data, comma=comma)
        except AmbiguousNumber as error:
            raise ValidationError(str(error)) from None
        except ValueError:
            raise ValidationError(_("Enter a number, like %(example)s.", example="7,5" if comma else "7.5")) from None
        if value is None:
            if self.required:
                raise ValidationError(_("This is required."))
            self.decimal = None
            return
        if -value.as_tuple().exponent > self.places and value != value.quantize(Decimal(1).scaleb(-self.places)):
            raise ValidationError(_("Use at most %(places)s decimal places.", places=self.places))
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(_("Must be at least %(minimum)s.", minimum=self.minimum))
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(_("Must be at most %(maximum)s.", maximum=self.maximum))
        self.decimal = value.quantize(Decimal(1).scaleb(-self.places)) if self.places else value


class WholeNumber(IntegerField):
    """An integer field that says one thing when the text is not a whole number (not two)."""

    def process_formdata(self, valuelist):
        if valuelist and len(valuelist[0].strip()) > 12:  # no invoice number or term is that long
            self.data = None
            raise ValueError(_("Enter a whole number, like 30."))
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_("Enter a whole number, like 30.")) from None

    def pre_validate(self, form):
        if self.process_errors:
            raise StopValidation()


def currency_code(form, field: Field) -> None:
    field.data = (field.data or "").strip().upper()
    if not is_currency(field.data):
        raise ValidationError(_("Enter a three-letter ISO 4217 currency code, like USD or EUR."))


def time_zone(form, field: Field) -> None:
    if field.data not in TIME_ZONES and not (field.data in KNOWN_TIME_ZONES and field.object_data == field.data):
        raise ValidationError(_("Choose a time zone from the list, like Europe/Berlin."))


def new_password_length() -> Length:
    """The one rule for a new password, at registration and at a change."""
    return Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
                  message=_l("Use at least %(length)d characters.", length=MIN_PASSWORD_LENGTH))


class LengthFirst(Length):
    """Length that ends the field's checks when the text is too long: the validators after it (an email
    check spent ~36 ms on a 100,000-character address) are not run, and Length's message is the only one."""

    def __call__(self, form, field):
        try:
            super().__call__(form, field)
        except ValidationError as error:
            raise StopValidation(str(error)) from None


def email_address(first, message=None) -> list:
    """An email field's validators after `first` (Optional() or DataRequired(...)): at most 254 characters
    (the columns' size), checked before the address itself."""
    return [first, LengthFirst(max=254), Email(message, check_deliverability=False)]


QUANTITY_LIMIT = Decimal("1000000")
RATE_LIMIT = Decimal("10000000")


class LineForm(FlaskForm):
    description = StringField(_l("Description"), validators=[InputRequired(_l("Describe the line.")), Length(max=2000)])
    quantity = DecimalText("Quantity", places=4, minimum=-QUANTITY_LIMIT, maximum=QUANTITY_LIMIT, required=True)
    unit = StringField(_l("Unit"), validators=[Length(max=20)])
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
    field.errors = [_("%(currency)s amounts have at most %(places)s decimal places.", currency=currency,
                      places=minor_digits(currency))]
    return False


# --- a Clockify key, as the connect page and a colleague's link page ask for it ------------------------

def _trimmed(value):
    return value.strip() if isinstance(value, str) else value


def api_key_field() -> PasswordField:
    # Clockify keys are long; a very short one would be shown whole behind the "••••".
    return PasswordField(_l("API key"), filters=[_trimmed], validators=[
        DataRequired(_l("Paste the API key from Clockify.")),
        Length(min=12, max=256, message=_l("That is too short for a Clockify API key: copy the whole key."))])


class ClockifyKeyForm(FlaskForm):
    region = SelectField(_l("Region"), choices=[SelectChoice(code, label) for code, label in REGIONS.items()],
                         default="global")
    subdomain = StringField(_l("Subdomain (optional)"), validators=[
        Optional(), Length(max=63),
        Regexp(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$",
               message=_l("Only the part before .clockify.me: letters, digits and hyphens."))],
        filters=[lambda value: _trimmed(value).lower() if isinstance(value, str) else value])
    api_key = api_key_field()


SHARING_CHOICES = [SelectChoice("private", _l("Private: only I may import through it")),
                   SelectChoice("shared", _l("Shared with the business: every member may import through it "
                                             "(nobody sees the key)"))]


def sharing_field() -> RadioField:
    return RadioField(_l("Who may import through it"), choices=SHARING_CHOICES, default="private")


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
    bank_account_holder = StringField(_l("Account holder"), filters=[_trimmed], validators=[
        Length(max=payment_details.EPC_MAX_NAME, message=_l("Use at most 70 characters (what a bank transfer "
                                                            "carries)."))])
    iban = StringField("IBAN", validators=[Length(max=64, message=_l("An IBAN has at most 34 characters.")),
                                           _checked_by(payment_details.clean_iban)])
    bic = StringField(_l("BIC (SWIFT code)"), validators=[Length(max=20, message=_l("A BIC has 8 or 11 characters.")),
                                                      _checked_by(payment_details.clean_bic)])

    def validate_bic(self, field):
        if field.data and not self.iban.data:
            raise ValidationError(_("Enter the IBAN of this account too."))


class LogoForm(FlaskForm):
    logo = FileField(_l("Logo (PNG or JPEG)"))

    def validate_logo(self, field):
        """Checked and re-encoded here (services.logo), so the view stores `field.prepared` or nothing."""
        upload = field.data
        if not isinstance(upload, FileStorage):
            raise ValidationError(_("Choose a PNG or JPEG file."))
        try:
            field.prepared = logo.prepare(upload.stream.read())
        except logo.LogoError as error:
            raise ValidationError(str(error)) from None


# --- what an e-invoice says about a party: the business profile's and each customer's (einvoice-wiring) ---

def _country_choices() -> list[SelectChoice]:
    from babel import Locale

    names = Locale("en").territories
    codes = sorted((code for code in names if rules.is_country(code)), key=lambda code: names[code])
    return [SelectChoice("", _l("Choose a country"))] + [SelectChoice(code, f"{names[code]} ({code})")
                                                        for code in codes]


# The electronic address schemes people meet most, by name; the rest of Peppol's list by code.
KNOWN_SCHEMES = {"0208": _l("Belgium: enterprise number (KBO/BCE)"), "9925": _l("Belgium: VAT number"),
                 "9930": _l("Germany: VAT number"), "0204": _l("Germany: Leitweg-ID"), "0009": _l("France: SIRET"),
                 "0002": _l("France: SIREN"), "0088": _l("GLN (GS1 location number)"), "0184": _l("Denmark: CVR"),
                 "0192": _l("Norway: organisation number"), "0007": _l("Sweden: organisation number"),
                 "0106": _l("Netherlands: KvK number"), "0190": _l("Netherlands: OIN"), "EM": _l("Email address")}
SCHEME_CHOICES = ([SelectChoice("", _l("None"))] + [SelectChoice(code, _l("%(name)s (%(code)s)", name=name, code=code))
                                                   for code, name in KNOWN_SCHEMES.items()]
                  + [SelectChoice(code, code) for code in sorted(rules.ENDPOINT_SCHEMES - set(KNOWN_SCHEMES))])


def _squeezed(value):
    return "".join(value.split()).upper() if isinstance(value, str) else value


class PartyForm(FlaskForm):
    """The structured address, tax ids, contact and Peppol electronic address (models.PartyDetails);
    every field is checked at the field, with the rules the e-invoice validators apply."""

    address_line1 = StringField(_l("Street and number"), filters=[_trimmed], validators=[Length(max=200)])
    address_line2 = StringField(_l("Address line 2"), filters=[_trimmed], validators=[Length(max=200)])
    postcode = StringField(_l("Postcode"), filters=[_trimmed], validators=[Length(max=20)])
    city = StringField(_l("City"), filters=[_trimmed], validators=[Length(max=100)])
    country = SelectField(_l("Country"), choices=_country_choices(),
                          validate_choice=False, filters=[lambda value: (value or "").strip().upper()])
    vat_id = StringField(_l("VAT id"), filters=[_squeezed], validators=[Length(max=20)])
    tax_number = StringField(_l("Tax number"), filters=[_trimmed], validators=[Length(max=40)])
    registration_id = StringField(_l("Company registration number"), filters=[_trimmed], validators=[Length(max=64)])
    contact_name = StringField(_l("Contact person"), filters=[_trimmed], validators=[Length(max=120)])
    contact_phone = StringField(_l("Contact phone"), filters=[_trimmed], validators=[
        Length(max=40), Optional(), Regexp(r"^\+?[0-9 ()/.-]*[0-9][0-9 ()/.-]*[0-9][0-9 ()/.-]*[0-9][0-9 ()/.-]*$",
                                           message=_l("Enter a phone number with at least three digits, like +49 30 "
                                                      "1234567."))])
    contact_email = StringField(_l("Contact email"), filters=[_trimmed], validators=email_address(
        Optional(), _l("Enter an email address, like ap@example.com.")))
    endpoint_scheme = SelectField(_l("Electronic address scheme"), choices=SCHEME_CHOICES, validate_choice=False,
                                  filters=[lambda value: (value or "").strip().upper()])
    endpoint_id = StringField(_l("Electronic address (Peppol endpoint id)"), filters=[_trimmed],
                              validators=[Length(max=100)])

    def validate_country(self, field):
        if field.data and not rules.is_country(field.data):
            raise ValidationError(_("Choose the country from the list."))

    def validate_vat_id(self, field):
        if field.data and (problem := rules.vat_id_problem(field.data)):
            raise ValidationError(_("%(problem)s Write it with its country prefix, like DE136695976.", problem=problem))

    def validate_endpoint_scheme(self, field):
        if field.data and field.data not in rules.ENDPOINT_SCHEMES:
            raise ValidationError(_("Choose the scheme from the list."))
        if self.endpoint_id.data and not field.data:
            raise ValidationError(_("Choose the scheme of the electronic address (for example 0208 in Belgium)."))

    def validate_endpoint_id(self, field):
        scheme = self.endpoint_scheme.data
        if scheme and not field.data:
            raise ValidationError(_("Enter the electronic address, or set the scheme to None."))
        if scheme in rules.ENDPOINT_SCHEMES and field.data:
            if problem := rules.endpoint_problem(ElectronicAddress(scheme, field.data)):
                raise ValidationError(f"{problem}.")

    def fill(self, party) -> None:
        """Write the fields onto a Business or Customer (models.PartyDetails)."""
        for name in PARTY_FIELDS:
            setattr(party, name, self[name].data or "")


PARTY_FIELDS = tuple(column for column in PARTY_COLUMNS if column != "name")  # the party's own name is asked apart


class QuickSelect(Select):
    """A select of many plain options (the invoice list's customers), each written by one format string
    rather than WTForms' html_params: the same markup (tests/test_invoice_list.py compares), but 200
    customers took 3.5 ms, a quarter of the list page's time (list-speed)."""

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        return Markup('<option %svalue="%s">%s</option>') % (Markup("selected ") if choice.selected else "",
                                                              choice.value, choice.label or choice.value)
