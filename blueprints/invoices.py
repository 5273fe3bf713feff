"""Invoices: the list, drafts with line items edited in place (htmx), the status flow, the
printable page and its PDF.

Each htmx answer is a block of the page's own template (jinja2-fragments), so a region has one
source of markup; without JavaScript the same forms post and redirect back (303)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   url_for)
from flask_login import current_user
from flask_wtf import FlaskForm
from htmx_flask import request as htmx_request
from jinja2_fragments.flask import render_blocks
from sqlalchemy import func
from wtforms import DateField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, ValidationError

from blueprints.access import locked_draft, requires, scoped, scoped_line, scoped_select
from blueprints.forms import RATE_LIMIT, DecimalText, LineForm, fits_currency_field
from extensions import db
from models import INVOICE_STATUSES, Customer, Invoice, LineItem
from blueprints import access
from services import invoicing
from services.einvoice import from_invoice
from services.money import from_minor, plain, to_minor

bp = Blueprint("invoices", __name__, url_prefix="/invoices")



class NewInvoiceForm(FlaskForm):
    customer_id = SelectField("Customer", coerce=int, validators=[InputRequired("Choose a customer.")])


class DetailsForm(FlaskForm):
    issue_date = DateField("Issue date", validators=[InputRequired("Enter the issue date.")])
    due_date = DateField("Due date", validators=[InputRequired("Enter the due date.")])
    tax_rate = DecimalText("Tax rate (%)", places=3, minimum=Decimal(0), maximum=Decimal(100))
    discount = DecimalText("Discount", places=3, minimum=Decimal(0), maximum=RATE_LIMIT)
    notes = TextAreaField("Notes", validators=[Length(max=5000)])

    def validate_due_date(self, field):
        if self.issue_date.data and field.data and field.data < self.issue_date.data:
            raise ValidationError("The due date cannot be before the issue date.")


def scoped_invoice(invoice_id: int) -> Invoice:
    return scoped(Invoice, invoice_id)


def _today() -> date:
    return datetime.now(ZoneInfo(current_user.time_zone or "UTC")).date()


@bp.get("/")
@requires("invoice.view")
def index():
    status = request.args.get("status", "")
    query = (scoped_select(Invoice).join(Customer)
             .order_by(Invoice.issue_date.desc(), Invoice.id.desc()))
    if status in INVOICE_STATUSES:
        query = query.where(Invoice.status == status)
    else:
        status = ""
    invoices = db.session.scalars(query).all()
    totals = {invoice_id: each.total for invoice_id, each in invoicing.totals_of(invoices).items()}
    sums: dict[str, int] = {}
    for invoice in invoices:
        if invoice.status != "void":
            sums[invoice.currency] = sums.get(invoice.currency, 0) + totals[invoice.id]
    return render_template("invoices/index.html", invoices=invoices, totals=totals, sums=sums,
                           status=status, statuses=INVOICE_STATUSES, today=_today())


@bp.route("/new", methods=["GET", "POST"])
@requires("invoice.edit")
def new():
    customers = db.session.scalars(scoped_select(Customer)
                                   .order_by(func.lower(Customer.name))).all()
    form = NewInvoiceForm()
    form.customer_id.choices = [SelectChoice(customer.id, f"{customer.name} ({customer.currency})")
                                for customer in customers]
    if not form.is_submitted() and request.args.get("customer", type=int):
        form.customer_id.data = request.args.get("customer", type=int)
    if form.validate_on_submit():
        customer = next(customer for customer in customers if customer.id == form.customer_id.data)
        invoice = invoicing.new_draft(access.current_business(), customer, _today())
        db.session.commit()
        flash(f"Draft invoice for {customer.name} created. Add its lines below.", "success")
        return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    return render_template("invoices/new.html", form=form, customers=customers), 422 if form.errors else 200


@bp.get("/<int:invoice_id>")
@requires("invoice.view")
def show(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    return _page(invoice)


def _page(invoice: Invoice, status: int = 200, **context):
    details = context.pop("details_form", None)
    if details is None and invoice.is_draft:
        details = DetailsForm(formdata=None, obj=invoice)
        details.tax_rate.data = plain(invoice.tax_rate)
        details.discount.data = str(from_minor(invoice.discount_minor, invoice.currency))
    return render_template("invoices/show.html", invoice=invoice, totals=invoicing.totals(invoice),
                           details_form=details, add_form=context.pop("add_form", None) or LineForm(formdata=None),
                           today=_today(), **context), status


def _fragment(invoice: Invoice, blocks: list[str], status: int = 200, **context):
    """An htmx answer: the named blocks of the invoice page. The totals live inside "lines"; asked for
    beside another block, they are swapped out of band. An autosave answers its "_feedback" block: the
    amounts and errors out of band, never the inputs the person may still be typing in."""
    context.setdefault("add_form", LineForm(formdata=None))
    html = render_blocks("invoices/show.html", blocks, invoice=invoice, totals=invoicing.totals(invoice),
                         today=_today(), oob="totals" in blocks, **context)
    return html, status


@bp.post("/<int:invoice_id>/details")
@requires("invoice.edit")
def update_details(invoice_id: int):
    invoice = locked_draft(invoice_id)
    form = DetailsForm()
    if form.validate_on_submit() and fits_currency_field(form.discount, invoice.currency):
        invoice.issue_date = form.issue_date.data
        invoice.due_date = form.due_date.data
        invoice.tax_rate = form.tax_rate.decimal or Decimal(0)
        invoice.discount_minor = to_minor(form.discount.decimal or Decimal(0), invoice.currency)
        invoice.notes = (form.notes.data or "").strip()
        db.session.commit()
        if htmx_request.htmx:
            return _fragment(invoice, ["details_feedback", "totals"], details_form=form, saved=True)
        flash("Invoice details saved.", "success")
        return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    if htmx_request.htmx:
        return _fragment(invoice, ["details_feedback"], 422, details_form=form)
    return _page(invoice, 422, details_form=form)


@bp.post("/<int:invoice_id>/lines")
@requires("invoice.edit")
def add_line(invoice_id: int):
    invoice = locked_draft(invoice_id)
    form = LineForm()
    if form.validate_for(invoice):
        line = LineItem(position=invoicing.next_position(invoice), description=form.description.data.strip(),
                        unit=(form.unit.data or "").strip(), source="manual")
        line.set_amounts(form.quantity.decimal, to_minor(form.rate.decimal, invoice.currency))
        invoice.lines.append(line)
        db.session.commit()
        if htmx_request.htmx:
            return _fragment(invoice, ["lines"], focus_add=True)
        return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="add-line"), code=303)
    if htmx_request.htmx:
        return _fragment(invoice, ["lines"], 422, add_form=form)
    return _page(invoice, 422, add_form=form)


@bp.post("/<int:invoice_id>/lines/<int:line_id>")
@requires("invoice.edit")
def update_line(invoice_id: int, line_id: int):
    invoice = locked_draft(invoice_id)
    line = scoped_line(invoice, line_id)
    form = LineForm()
    if form.validate_for(invoice, replacing=line):
        line.description = form.description.data.strip()
        line.unit = (form.unit.data or "").strip()
        line.set_amounts(form.quantity.decimal, to_minor(form.rate.decimal, invoice.currency))
        db.session.commit()
        if htmx_request.htmx:
            return _fragment(invoice, ["line_feedback", "totals"], line=line)
        return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor=f"line-{line.id}"), code=303)
    if htmx_request.htmx:
        return _fragment(invoice, ["line_feedback"], 422, line=line, line_form=form)
    return _page(invoice, 422, line_forms={line.id: form})


@bp.post("/<int:invoice_id>/lines/<int:line_id>/move")
@requires("invoice.edit")
def move_line(invoice_id: int, line_id: int):
    invoice = locked_draft(invoice_id)
    line = scoped_line(invoice, line_id)
    direction = request.form.get("direction")
    if direction not in {"up", "down"}:
        abort(400)
    invoicing.move_line(invoice, line, direction)
    db.session.commit()
    if htmx_request.htmx:
        return _fragment(invoice, ["lines"])
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor=f"line-{line.id}"), code=303)


@bp.post("/<int:invoice_id>/lines/<int:line_id>/delete")
@requires("invoice.edit")
def delete_line(invoice_id: int, line_id: int):
    invoice = locked_draft(invoice_id)
    line = scoped_line(invoice, line_id)
    invoicing.remove_line(invoice, line)
    db.session.commit()
    if htmx_request.htmx:
        return _fragment(invoice, ["lines"])
    flash("Line removed.", "success")
    return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)


def _change_status(invoice_id: int, change, done: str):
    """A status change; a request that lost a race to another one (InvoiceChanged) answers 409 with
    what happened, through app.py's handler."""
    invoice = scoped_invoice(invoice_id)
    try:
        change(invoice)
        db.session.commit()
        flash(done.format(number=invoice.number), "success")
    except invoicing.InvoiceChanged:
        raise
    except invoicing.InvoiceStateError as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("invoices.show", invoice_id=invoice_id), code=303)


@bp.post("/<int:invoice_id>/send")
@requires("invoice.send")
def send(invoice_id: int):
    return _change_status(invoice_id, from_invoice.mark_sent,
                          "Invoice {number} is marked as sent. Its lines are now locked.")


@bp.post("/<int:invoice_id>/paid")
@requires("invoice.send")
def paid(invoice_id: int):
    return _change_status(invoice_id, invoicing.mark_paid, "Invoice {number} is marked as paid.")


@bp.post("/<int:invoice_id>/void")
@requires("invoice.void")
def void(invoice_id: int):
    return _change_status(invoice_id, invoicing.mark_void, "Invoice {number} is void.")


@bp.post("/<int:invoice_id>/duplicate")
@requires("invoice.edit")
def duplicate(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    copy, left_out = invoicing.duplicate(invoice, access.current_business(), _today())
    db.session.commit()
    flash("This is a new draft copied from the invoice.", "success")
    if left_out:
        flash(f"{left_out} imported line{'s were' if left_out != 1 else ' was'} left out: import "
              f"{'them' if left_out != 1 else 'it'} again from Clockify if "
              f"{'they are' if left_out != 1 else 'it is'} still unbilled.", "info")
    return redirect(url_for("invoices.show", invoice_id=copy.id), code=303)


@bp.post("/<int:invoice_id>/delete")
@requires("invoice.edit")
def delete(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    invoicing.delete_draft(invoice)
    db.session.commit()
    flash("Draft deleted.", "success")
    return redirect(url_for("invoices.index"), code=303)


@bp.get("/<int:invoice_id>/print")
@requires("invoice.view")
def printable(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    return render_template("invoices/print.html", invoice=invoice, totals=invoicing.totals(invoice),
                           parties=invoicing.parties(invoice), pdf=False)


@bp.get("/<int:invoice_id>/pdf")
@requires("invoice.view")
def pdf(invoice_id: int):
    from services.pdf import html_to_pdf  # WeasyPrint is slow to import: only when a PDF is asked for

    invoice = scoped_invoice(invoice_id)
    html = render_template("invoices/print.html", invoice=invoice, totals=invoicing.totals(invoice),
                           parties=invoicing.parties(invoice), pdf=True)
    response = make_response(html_to_pdf(html, current_app.static_folder))
    response.headers["Content-Type"] = "application/pdf"
    name = invoice.number or f"draft-{invoice.id}"
    response.headers["Content-Disposition"] = f'attachment; filename="invoice-{name}.pdf"'
    return response
