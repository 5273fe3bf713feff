"""Credit notes (issue 12): create one for a sent or paid invoice (in full, or for chosen lines and
amounts), the credit note's own page, and the business's credit note settings (numbering, and whether a
sent invoice may still be voided). The rules live in services/credit_notes.py; a credit note prints, and
downloads as PDF and every e-invoice format, through the invoice routes."""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, Form, FieldList, FormField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Length, ValidationError

from blueprints.access import current_business, requires, scoped
from blueprints.forms import RATE_LIMIT, DecimalText, WholeNumber, as_typed, fits_currency_field
from extensions import db
from models import NUMBER_FORMATS, Invoice
from services import credit_notes, invoicing
from services.money import from_minor, plain, to_minor

bp = Blueprint("credit_notes", __name__)


def _today():
    return datetime.now(ZoneInfo(current_user.time_zone or "UTC")).date()


class CreditLineForm(Form):
    line_id = HiddenField()
    chosen = BooleanField(_l("Credit this line"))
    quantity = DecimalText(_l("Quantity"), places=4, minimum=Decimal(0), maximum=Decimal("1000000"))
    rate = DecimalText(_l("Rate"), places=3, minimum=Decimal(0), maximum=RATE_LIMIT)


class CreditNoteForm(FlaskForm):
    # Required: a hand-made POST without it would otherwise credit the whole invoice by default.
    scope = SelectField(_l("What to credit"), choices=[SelectChoice("full", _l("The whole invoice")),
                                                    SelectChoice("partial", _l("The lines ticked below, with these amounts"))],
                        default="full", validators=[InputRequired(_l("Choose what to credit: the whole invoice or "
                                                                     "the lines ticked below."))])
    lines = FieldList(FormField(CreditLineForm))

    def credits(self, invoice: Invoice) -> list[credit_notes.Credit] | None:
        """What to credit: None for the whole invoice, else the chosen lines (errors at their fields)."""
        if self.scope.data == "full":
            return None
        chosen, ok = [], True
        for entry in self.lines:
            if not entry.chosen.data:
                continue
            if entry.quantity.decimal is None or entry.rate.decimal is None:
                entry.quantity.errors = list(entry.quantity.errors) + [_("Enter the quantity and the rate to credit.")]
                ok = False
                continue
            if not fits_currency_field(entry.rate, invoice.currency):
                ok = False
                continue
            if not (entry.line_id.data or "").isascii() or not (entry.line_id.data or "").isdigit():
                raise ValidationError(_("A chosen line is not on this invoice (reload the page)."))
            chosen.append(credit_notes.Credit(int(entry.line_id.data), entry.quantity.decimal,
                                              to_minor(entry.rate.decimal, invoice.currency)))
        if not ok:
            raise ValidationError(_("Some lines need a correction (see below)."))
        return chosen


def credit_form(invoice: Invoice, formdata=None) -> CreditNoteForm:
    lines = [{"line_id": str(line.id), "chosen": False, "quantity": as_typed(plain(_quantity_left(line))),
              "rate": as_typed(from_minor(line.rate_minor, invoice.currency))} for line in invoice.lines]
    # Once part of it is credited, "the whole invoice" would credit those lines twice: the lines it is.
    scope = "partial" if invoice.credited_minor else "full"
    return CreditNoteForm(formdata=formdata, data={"scope": scope, "lines": lines})


def _quantity_left(line) -> Decimal:
    """What the form offers to credit of a line: its quantity, less what its credit notes took (at its rate)."""
    if not line.credited_minor or line.rate_minor <= 0:
        return line.quantity
    left = (Decimal(credit_notes.left_on_line(line)) / line.rate_minor).quantize(Decimal("0.0001"), ROUND_DOWN)
    return max(Decimal(0), min(line.quantity, left))


def _at_field(form: CreditNoteForm, error: credit_notes.CreditNoteError) -> None:
    """The service's message about one line, also beside that line's field."""
    for entry in form.lines:
        if error.line_id is not None and entry.line_id.data == str(error.line_id):
            field = entry[error.field]
            field.errors = list(field.errors) + [str(error)]


def _credit_note_page(note: Invoice):
    """A credit note's credit-note URL (typed, or an old link): its own page, saying why there is none."""
    flash(credit_notes.refusal(note), "error")
    return redirect(url_for("credit_notes.show", invoice_id=note.id), code=303)


@bp.get("/invoices/<int:invoice_id>/credit-note")
@requires("invoice.credit")
def new(invoice_id: int):
    invoice = scoped(Invoice, invoice_id)
    if invoice.is_credit_note:
        return _credit_note_page(invoice)
    return _form_page(invoice, credit_form(invoice))


def _form_page(invoice: Invoice, form: CreditNoteForm, status: int = 200, problem: str | None = None):
    refused = credit_notes.refusal(invoice)
    return render_template("credit_notes/new.html", invoice=invoice, form=form, problem=problem, refused=refused,
                           totals=invoicing.totals(invoice), allowed=refused is None,
                           lines={str(line.id): line for line in invoice.lines}), status


def _unshown_problem(form: CreditNoteForm, invoice: Invoice) -> str | None:
    """The page lists the invoice's own lines only: a row naming another line (another invoice's, or
    garbled), ticked or with an error, is said in words rather than left unseen."""
    ours = {str(line.id) for line in invoice.lines}
    if any(entry.line_id.data not in ours and (entry.chosen.data or entry.errors) for entry in form.lines):
        return _("A chosen line is not on this invoice (reload the page).")
    return None


@bp.post("/invoices/<int:invoice_id>/credit-note")
@requires("invoice.credit")
def create(invoice_id: int):
    invoice = scoped(Invoice, invoice_id)
    if invoice.is_credit_note:
        return _credit_note_page(invoice)
    form = CreditNoteForm()
    refused = credit_notes.refusal(invoice)
    if refused:
        return _form_page(invoice, form, 422, refused)
    if not form.validate_on_submit():
        return _form_page(invoice, form, 422, _unshown_problem(form, invoice))
    try:
        note = credit_notes.issue(invoice, form.credits(invoice), _today())
    except ValidationError as error:
        return _form_page(invoice, form, 422, str(error))
    except invoicing.InvoiceChanged:
        raise
    except credit_notes.CreditNoteError as error:
        db.session.rollback()
        _at_field(form, error)
        return _form_page(invoice, form, 422, str(error))
    db.session.commit()
    flash(_("Credit note %(number)s issued for invoice %(invoice)s.", number=note.number, invoice=invoice.number),
          "success")
    return redirect(url_for("credit_notes.show", invoice_id=note.id), code=303)


@bp.get("/credit-notes/<int:invoice_id>")
@requires("invoice.view")
def show(invoice_id: int):
    note = scoped(Invoice, invoice_id)
    if not note.is_credit_note:
        abort(404)
    return render_template("credit_notes/show.html", invoice=note, totals=invoicing.totals(note))


@bp.app_context_processor
def credit_notes_in_templates():
    """The invoice page's partial (credit_notes/_on_invoice.html) asks for what it shows."""
    return {"credit_notes_of": credit_notes.credit_notes_of, "can_credit": credit_notes.can_credit}


# --- settings: numbering and voiding ---------------------------------------------------------------

class CreditNoteSettingsForm(FlaskForm):
    credit_note_prefix = StringField(_l("Credit note prefix"), validators=[Length(max=20)])
    credit_note_number_format = SelectField(_l("Number format"), choices=[SelectChoice(each, each) for each in NUMBER_FORMATS])
    next_credit_note_number = WholeNumber(_l("Next credit note number"), validators=[InputRequired(_l("Enter a number."))])
    void_forbidden_once_sent = BooleanField(_l("Invoices cannot be voided once sent (Germany, France, ...): "
                                               "correct them with a credit note"))

    def validate_next_credit_note_number(self, field):
        if field.data is not None and not 1 <= field.data <= 10**9:
            raise ValidationError(_("Enter a number from 1 to 1,000,000,000."))


@bp.route("/settings/credit-notes", methods=["GET", "POST"])
@requires("business.manage")
def settings():
    business = current_business()
    form = CreditNoteSettingsForm(obj=business)
    if form.validate_on_submit():
        business.credit_note_prefix = (form.credit_note_prefix.data or "").strip()
        business.credit_note_number_format = form.credit_note_number_format.data
        business.next_credit_note_number = form.next_credit_note_number.data
        business.void_forbidden_once_sent = form.void_forbidden_once_sent.data
        db.session.commit()
        flash(_("Credit note settings saved."), "success")
        return redirect(url_for("credit_notes.settings"), code=303)
    example = invoicing.next_number(business, _today().year, invoicing.CREDIT_NOTES)
    return render_template("credit_notes/settings.html", form=form, example=example), 422 if form.errors else 200
