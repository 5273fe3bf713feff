"""E-invoices: the business profile's e-invoicing section (structured address, tax ids, contact,
electronic address), the VAT treatment of a draft (its default and each line's own), the pre-flight
checklist on a draft, and the downloads of a sent invoice in each format (Factur-X PDF, XRechnung CII
and UBL, Peppol BIS). The rules and the mapping live in services/einvoice."""
from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Form, FieldList, FormField, HiddenField, SelectChoice, SelectField, StringField
from wtforms.validators import Length, ValidationError

from blueprints.access import current_business, locked_draft, requires, scoped, scoped_draft
from blueprints.forms import DecimalText, PartyForm
from extensions import db
from models import Invoice
from services import invoice_document, invoicing
from services.einvoice import from_invoice
from services.einvoice.model import SMALL_BUSINESS_DE
from services.einvoice.rules import Format

bp = Blueprint("einvoices", __name__)


# --- the business profile's e-invoicing section ------------------------------------------------------

@bp.route("/settings/einvoicing", methods=["GET", "POST"])
@requires("business.manage")
def profile():
    business = current_business()
    form = PartyForm(obj=business)
    if form.validate_on_submit():
        form.fill(business)
        db.session.commit()
        flash(_("Address, tax and e-invoicing details saved."), "success")
        return redirect(url_for("einvoices.profile"), code=303)
    return render_template("einvoices/profile.html", form=form, business=business), 422 if form.errors else 200


# --- VAT treatment of a draft -------------------------------------------------------------------------

SMALL_BUSINESS = "E19"  # a choice, not a category: exempt, with the words paragraph 19 UStG asks for
VAT_CHOICES = [SelectChoice(code, name) for code, name in invoicing.VAT_CATEGORY_NAMES.items()] + [
    SelectChoice(SMALL_BUSINESS, _l("Exempt: small business (§ 19 UStG)"))]


def _treatment(category: str, reason: str) -> tuple[str, str]:
    """(category, reason) as stored: the small-business choice is category E with its legal words."""
    if category == SMALL_BUSINESS:
        return "E", SMALL_BUSINESS_DE
    if category == "E" and not reason:
        raise ValidationError(_("Say why the line is exempt (for example the article of the VAT law)."))
    return category, reason


class LineVatForm(Form):
    line_id = HiddenField()
    category = SelectField(_l("VAT"), choices=[SelectChoice("", _l("Invoice default"))] + VAT_CHOICES, default="")
    rate = DecimalText(_l("VAT rate (%)"), places=3, minimum=0, maximum=100)
    reason = StringField(_l("Exemption reason"), validators=[Length(max=500)])

    def validate_rate(self, field):
        if self.category.data == "S" and not field.decimal:
            raise ValidationError(_("A standard-rate line needs a VAT rate above 0."))

    def validate_reason(self, field):
        if self.category.data:
            _treatment(self.category.data, (field.data or "").strip())


class VatForm(FlaskForm):
    vat_category = SelectField(_l("Default VAT treatment"), choices=VAT_CHOICES, default="S")
    vat_exemption_reason = StringField(_l("Exemption reason"), validators=[Length(max=500)])
    lines = FieldList(FormField(LineVatForm))

    def validate_vat_exemption_reason(self, field):
        _treatment(self.vat_category.data, (field.data or "").strip())


def vat_form(invoice: Invoice, formdata=None, with_lines: bool = True) -> VatForm:
    default = (SMALL_BUSINESS if invoice.vat_category == "E" and invoice.vat_exemption_reason == SMALL_BUSINESS_DE
               else invoice.vat_category)
    lines = [{"line_id": line.id, "category": line.vat_category or "", "rate": line.vat_rate,
              "reason": line.vat_exemption_reason or ""} for line in invoice.lines] if with_lines else []
    return VatForm(formdata=formdata, data={"vat_category": default, "vat_exemption_reason":
                                            "" if default == SMALL_BUSINESS else invoice.vat_exemption_reason,
                                            "lines": lines})


def line_names(invoice: Invoice) -> dict[int, str]:
    return {line.id: f"{line.position}. {line.description[:60]}" for line in invoice.lines}


@bp.get("/invoices/<int:invoice_id>/vat")
@requires("invoice.edit")
def vat(invoice_id: int):
    """The draft's VAT treatment with every line's own (the draft page shows only the default: a
    1,000-line draft would otherwise carry 3,000 more inputs)."""
    invoice = scoped_draft(invoice_id)
    return render_template("einvoices/vat.html", invoice=invoice, form=vat_form(invoice), names=line_names(invoice))


@bp.post("/invoices/<int:invoice_id>/vat")
@requires("invoice.edit")
def update_vat(invoice_id: int):
    invoice = locked_draft(invoice_id)
    form = VatForm()
    if form.validate_on_submit():
        invoice.vat_category, invoice.vat_exemption_reason = _treatment(
            form.vat_category.data, (form.vat_exemption_reason.data or "").strip())
        lines = {line.id: line for line in invoice.lines}
        for entry in form.lines:
            line_id = entry.line_id.data or ""
            line = lines.get(int(line_id)) if line_id.isascii() and line_id.isdigit() else None
            if line is None:
                continue  # removed meanwhile (in another tab): nothing to set
            if entry.category.data:
                line.vat_category, line.vat_exemption_reason = _treatment(
                    entry.category.data, (entry.reason.data or "").strip())
                line.vat_rate = entry.rate.decimal if line.vat_category == "S" else 0
            else:
                line.vat_category = line.vat_rate = line.vat_exemption_reason = None
        db.session.commit()
        flash(_("VAT treatment saved."), "success")
        return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="vat"), code=303)
    db.session.rollback()
    return render_template("einvoices/vat.html", invoice=invoice, form=form, names=line_names(invoice),
                           saved_nothing=True), 422


# --- the pre-flight and the downloads ------------------------------------------------------------------

def _link(invoice: Invoice, field: str) -> str:
    """Where the person fixes a problem the rules found (rules.Problem.field)."""
    who, __, name = field.partition(".")
    name = {"contact": "contact_name", "electronic_address": "endpoint_id", "address": "address_line1"}.get(name, name)
    if who == "profile":
        if name in ("iban", "bic", "name"):  # on the profile page: its payment details and the business name
            return url_for("settings.profile", _anchor="business_name" if name == "name" else name)
        return url_for("einvoices.profile", _anchor=name)
    if who == "customer":
        return url_for("customers.edit", customer_id=invoice.customer_id, _anchor=name)
    if who == "line":  # a VAT treatment: the draft's VAT page (the default and each line's own)
        return url_for("einvoices.vat", invoice_id=invoice.id) if invoice.is_draft else url_for(
            "invoices.show", invoice_id=invoice.id, _anchor="lines")
    return url_for("invoices.show", invoice_id=invoice.id, _anchor="details" if name in ("due_date", "period") else "lines")


def checklist(invoice: Invoice, format: Format) -> list[dict]:
    return [{"message": problem.message, "href": _link(invoice, problem.field), "rule": problem.rule}
            for problem in from_invoice.problems(invoice, format)]


@bp.app_context_processor
def einvoices_in_templates():
    """The invoice page's partials (_preflight, _einvoices, _vat) ask for what they show."""

    def preflight(invoice: Invoice):
        format = from_invoice.preferred_format(invoice)
        if format is None or not invoice.is_draft:
            return None
        return {"format": format, "name": from_invoice.FORMAT_NAMES[format], "problems": checklist(invoice, format)}

    def formats(invoice: Invoice):
        preferred = from_invoice.preferred_format(invoice)
        return [{"format": format, "name": name, "preferred": format is preferred,
                 "href": url_for("einvoices.download", invoice_id=invoice.id, format=format.value)}
                for format, name in from_invoice.FORMAT_NAMES.items()]

    def default_vat_form(invoice: Invoice) -> VatForm:
        return vat_form(invoice, with_lines=False)

    def own_vat_lines(invoice: Invoice) -> int:
        return sum(1 for line in invoice.lines if line.vat_category)

    return {"einvoice_preflight": preflight, "einvoice_formats": formats, "einvoice_vat_form": default_vat_form,
            "einvoice_own_vat_lines": own_vat_lines,
            "einvoice_parties": from_invoice.details}


@bp.get("/invoices/<int:invoice_id>/einvoice/<format>")
@requires("invoice.view")
def download(invoice_id: int, format: str):
    invoice = scoped(Invoice, invoice_id)
    try:
        format = Format(format)
    except ValueError:
        abort(404)
    if invoice.is_draft:
        return render_template("errors/error.html", title=_("Not sent yet"), message=(
            _("E-invoices are made of sent invoices: a draft has no number yet. Mark it as sent first."))), 409
    problems = checklist(invoice, format)
    if problems:
        return render_template("einvoices/refused.html", invoice=invoice, problems=problems,
                               name=from_invoice.FORMAT_NAMES[format]), 422
    if format is Format.FACTURX:
        from services.pdf import TooManyLines

        try:  # the invoice's own PDF (in the customer's language, as mailed), as PDF/A-3 with the XML inside
            body = from_invoice.facturx_pdf(invoice, invoice_document.pdf(invoice, "pdf/a-3b"))
        except TooManyLines as refusal:
            flash(str(refusal), "error")
            return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
        content_type = "application/pdf"
    else:
        body, content_type = from_invoice.xml(invoice, format), "application/xml"
    response = make_response(body)
    response.headers["Content-Type"] = content_type
    response.headers["Content-Disposition"] = f'attachment; filename="{from_invoice.filename(invoice, format)}"'
    return response
