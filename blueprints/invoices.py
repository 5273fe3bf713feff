"""Invoices: the list, drafts with line items edited in place (htmx), the status flow, the
printable page and its PDF.

Each htmx answer is a block of the page's own template (jinja2-fragments), so a region has one
source of markup; without JavaScript the same forms post and redirect back (303)."""
from __future__ import annotations

from decimal import Decimal

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   session, stream_with_context, url_for)
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from htmx_flask import request as htmx_request
from jinja2_fragments.flask import render_blocks
from sqlalchemy import func
from wtforms import DateField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from blueprints.access import locked_draft, requires, scoped, scoped_line, scoped_select
from blueprints.forms import RATE_LIMIT, DecimalText, LineForm, QuickSelect, fits_currency_field, as_typed
from extensions import db
from models import Customer, Invoice, LineItem
from blueprints import access
from services import invoice_document, invoice_list, invoicing, payments, sending
from services.einvoice import from_invoice
from services.money import from_minor, plain, to_minor

bp = Blueprint("invoices", __name__, url_prefix="/invoices")



class NewInvoiceForm(FlaskForm):
    customer_id = SelectField(_l("Customer"), coerce=int, validators=[InputRequired(_l("Choose a customer."))])


class DetailsForm(FlaskForm):
    issue_date = DateField(_l("Issue date"), validators=[InputRequired(_l("Enter the issue date."))])
    due_date = DateField(_l("Due date"), validators=[InputRequired(_l("Enter the due date."))])
    tax_rate = DecimalText(_l("Tax rate (%)"), places=3, minimum=Decimal(0), maximum=Decimal(100))
    discount = DecimalText(_l("Discount"), places=3, minimum=Decimal(0), maximum=RATE_LIMIT)
    notes = TextAreaField(_l("Notes"), validators=[Length(max=5000)])

    def validate_due_date(self, field):
        if self.issue_date.data and field.data and field.data < self.issue_date.data:
            raise ValidationError(_("The due date cannot be before the issue date."))


def scoped_invoice(invoice_id: int) -> Invoice:
    return scoped(Invoice, invoice_id)


class ListForm(FlaskForm):
    """The list's search, filters and order (a GET form: links to a filtered list can be kept)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Length(max=200, message=_l("Search for at most 200 characters."))])
    status = SelectField(_l("Status"), choices=[SelectChoice(value, label) for value, label
                                            in {"": _l("Any status"), **invoice_list.STATUSES}.items()], default="")
    customer = SelectField(_l("Customer"), default="", widget=QuickSelect())
    issued_from = DateField(_l("Issued from"), validators=[Optional()])
    issued_to = DateField(_l("Issued to"), validators=[Optional()])
    sort = SelectField(_l("Order"), choices=[SelectChoice(value, label) for value, label in invoice_list.SORTS.items()],
                       default="issued_desc")

    def validate_issued_to(self, field):
        if self.issued_from.data and field.data and field.data < self.issued_from.data:
            raise ValidationError(_("The range ends before it starts: swap the dates."))

    def filters(self) -> invoice_list.Filters:
        return invoice_list.Filters(q=(self.q.data or "").strip(), status=self.status.data or "",
                                    customer_id=int(self.customer.data) if self.customer.data else None,
                                    issued_from=self.issued_from.data, issued_to=self.issued_to.data,
                                    sort=self.sort.data or "issued_desc")


@bp.get("/")
@requires("invoice.view")
def index():
    business, today = access.current_business(), access.today()
    customers = db.session.execute(scoped_select(Customer).with_only_columns(Customer.id, Customer.name)  # the filter's
                                   .order_by(func.lower(Customer.name), Customer.id)).all()  # choices: rows, not objects
    form = ListForm(formdata=request.args)
    form.customer.choices = [SelectChoice("", _("Any customer")),
                             *(SelectChoice(str(customer_id), name) for customer_id, name in customers)]
    context = dict(form=form, today=today, found=None, sums=[])
    if not form.validate():
        return render_template("invoices/index.html", **context), 422
    filters = form.filters()
    if request.args.get("format") == "csv":
        response = current_app.response_class(stream_with_context(invoice_list.csv_rows(business.id, filters, today)),
                                              mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="invoices-{today.isoformat()}.csv"'
        return response
    sums = invoice_list.totals(business.id, filters, today)
    matches = sum(total.count for total in sums)
    try:
        found = invoice_list.page(business.id, filters, today, request.args.get("after") or None, matches=matches)
    except invoice_list.BadCursor:
        flash(_("That page link is out of date: this is the first page."), "info")
        found = invoice_list.page(business.id, filters, today, matches=matches)
    query = {name: value for name, value in request.args.items() if name not in ("after", "format") and value}
    words = {shown: str(word) for shown, word in payments.STATUS_WORDS.items()}  # translated once, not per row
    return render_template("invoices/index.html", **context | dict(found=found, query=query, filtered=len(query) > 0,
                                                                    sums=sums, status_words=words))


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
        invoice = invoicing.new_draft(access.current_business(), customer, access.today())
        db.session.commit()
        flash(_("Draft invoice for %(name)s created. Add its lines below.", name=customer.name), "success")
        return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    return render_template("invoices/new.html", form=form, customers=customers), 422 if form.errors else 200


@bp.get("/<int:invoice_id>")
@requires("invoice.view")
def show(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    if invoice.is_credit_note:  # credit-notes: a page of its own
        return redirect(url_for("credit_notes.show", invoice_id=invoice.id))
    undo = session.pop("undo_remove_line", None)
    return _page(invoice, undo=undo if undo and undo.get("invoice_id") == invoice.id else None)


def _page(invoice: Invoice, status: int = 200, **context):
    details = context.pop("details_form", None)
    if details is None and invoice.is_draft:
        details = DetailsForm(formdata=None, obj=invoice)
        details.tax_rate.data = as_typed(plain(invoice.tax_rate))
        details.discount.data = as_typed(from_minor(invoice.discount_minor, invoice.currency))
    return render_template("invoices/show.html", invoice=invoice, totals=invoicing.totals(invoice),
                           details_form=details, add_form=context.pop("add_form", None) or LineForm(formdata=None),
                           today=access.today(), **context), status


def _fragment(invoice: Invoice, blocks: list[str], status: int = 200, **context):
    """An htmx answer: the named blocks of the invoice page. The totals live inside "lines"; asked for
    beside another block, they are swapped out of band. An autosave answers its "_feedback" block: the
    amounts and errors out of band, never the inputs the person may still be typing in."""
    context.setdefault("add_form", LineForm(formdata=None))
    html = render_blocks("invoices/show.html", blocks, invoice=invoice, totals=invoicing.totals(invoice),
                         today=access.today(), oob="totals" in blocks, **context)
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
        flash(_("Invoice details saved."), "success")
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


# "Undo" after removing a line: the removed line's snapshot, signed so the browser cannot change it, rides
# in the Undo form (nothing is stored); it works for UNDO_SECONDS. Without JavaScript it waits in the
# session for the next page, when it fits in a cookie.
UNDO_SECONDS = 600
UNDO_IN_SESSION_MAX = 2500


def _undo_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="hourbill.undo-remove-line")


@bp.post("/<int:invoice_id>/lines/<int:line_id>/delete")
@requires("invoice.edit")
def delete_line(invoice_id: int, line_id: int):
    invoice = locked_draft(invoice_id)
    line = scoped_line(invoice, line_id)
    undo = {"token": _undo_signer().dumps(invoicing.line_snapshot(line)), "description": line.description}
    invoicing.remove_line(invoice, line)
    db.session.commit()
    if htmx_request.htmx:
        return _fragment(invoice, ["lines"], undo=undo)
    flash(_("Line removed."), "success")
    if len(undo["token"]) <= UNDO_IN_SESSION_MAX:
        session["undo_remove_line"] = {**undo, "invoice_id": invoice.id}
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="lines"), code=303)


@bp.post("/<int:invoice_id>/lines/undo")
@requires("invoice.edit")
def undo_remove_line(invoice_id: int):
    invoice = locked_draft(invoice_id)
    problem, line = None, None
    try:
        snapshot = _undo_signer().loads(request.form.get("undo", ""), max_age=UNDO_SECONDS)
        line = invoicing.restore_line(invoice, snapshot)
        db.session.commit()
    except SignatureExpired:
        problem = _("Too late to undo: a removed line can be restored for %(minutes)s minutes. Add it again.",
                    minutes=UNDO_SECONDS // 60)
    except BadSignature:
        problem = _("That undo is not valid (the page is out of date?): reload the page.")
    except invoicing.LineNotRestorable as error:
        db.session.rollback()
        problem = str(error)
    if htmx_request.htmx:
        return _fragment(invoice, ["lines"], 422 if problem else 200, undo_problem=problem,
                         restored=line.id if line else None)
    flash(problem or _("Line restored."), "error" if problem else "success")
    anchor = f"line-{line.id}" if line else "lines"
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor=anchor), code=303)


def _change_status(invoice_id: int, change, done):
    """A status change; a request that lost a race to another one (InvoiceChanged) answers 409 with
    what happened, through app.py's handler."""
    invoice = scoped_invoice(invoice_id)
    try:
        change(invoice)
        db.session.commit()
        flash(done % {"number": invoice.number}, "success")
    except invoicing.InvoiceChanged:
        raise
    except invoicing.InvoiceStateError as error:
        db.session.rollback()
        flash(str(error), "error")
    return redirect(url_for("invoices.show", invoice_id=invoice_id), code=303)


@bp.post("/<int:invoice_id>/send")
@requires("invoice.send")
def send(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    if sending.needs_confirmation(invoice) and not request.form.get("confirmed"):  # issue 13: ask first
        return render_template("invoices/confirm_send.html", invoice=invoice, lines=sending.lines_to_confirm(invoice),
                               total=invoicing.totals(invoice).total, action=request.path, form=None)
    return _change_status(invoice_id, from_invoice.mark_sent,
                          _l("Invoice %(number)s is marked as sent. Its lines are now locked."))


@bp.post("/<int:invoice_id>/paid")
@requires("payment.record")
def paid(invoice_id: int):
    return _change_status(invoice_id,
                          lambda invoice: payments.pay_balance(invoice, today=access.today(), by=current_user),
                          _l("Invoice %(number)s is marked as paid: a payment of its balance, dated today, is recorded."))


@bp.post("/<int:invoice_id>/void")
@requires("invoice.void")
def void(invoice_id: int):
    return _change_status(invoice_id, invoicing.mark_void, _l("Invoice %(number)s is void."))


@bp.post("/<int:invoice_id>/duplicate")
@requires("invoice.edit")
def duplicate(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    copy, left_out = invoicing.duplicate(invoice, access.current_business(), access.today())
    db.session.commit()
    flash(_("This is a new draft copied from the invoice."), "success")
    if left_out:
        flash(ngettext("%(num)d imported line was left out: import it again from Clockify if it is still unbilled.",
                       "%(num)d imported lines were left out: import them again from Clockify if they are still "
                       "unbilled.", left_out), "info")
    return redirect(url_for("invoices.show", invoice_id=copy.id), code=303)


@bp.get("/<int:invoice_id>/delete")
@requires("invoice.edit")
def confirm_delete(invoice_id: int):
    """Ask before deleting a draft: a page of its own, so it asks without JavaScript too."""
    invoice = scoped_invoice(invoice_id)
    return render_template("invoices/confirm.html", invoice=invoice, totals=invoicing.totals(invoice),
                           action="delete", allowed=invoice.is_draft)


@bp.get("/<int:invoice_id>/void")
@requires("invoice.void")
def confirm_void(invoice_id: int):
    """Ask before voiding a sent invoice (a page of its own, so it asks without JavaScript too)."""
    invoice = scoped_invoice(invoice_id)
    if invoice.status == "sent" and invoicing.void_forbidden(invoice):  # credit-notes: corrected, not voided
        flash(str(invoicing.VOID_FORBIDDEN), "info")
        return redirect(url_for("credit_notes.new", invoice_id=invoice.id))
    return render_template("invoices/confirm.html", invoice=invoice, totals=invoicing.totals(invoice),
                           action="void", allowed=invoice.status == "sent")


@bp.post("/<int:invoice_id>/delete")
@requires("invoice.edit")
def delete(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    invoicing.delete_draft(invoice)
    db.session.commit()
    flash(_("Draft deleted."), "success")
    return redirect(url_for("invoices.index"), code=303)


@bp.get("/<int:invoice_id>/print")
@requires("invoice.view")
def printable(invoice_id: int):
    invoice = scoped_invoice(invoice_id)
    return invoice_document.render(invoice, pdf=False)


@bp.get("/<int:invoice_id>/pdf")
@requires("invoice.view")
def pdf(invoice_id: int):
    from services.pdf import TooManyLines

    invoice = scoped_invoice(invoice_id)
    try:
        response = make_response(invoice_document.pdf(invoice))
    except TooManyLines as refusal:
        flash(str(refusal), "error")
        return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice_document.pdf_name(invoice)}"'
    return response
