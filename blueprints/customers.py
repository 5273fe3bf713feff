"""Customers: list, add, edit, delete. A customer with invoices stays, and the page says why."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import EmailField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from blueprints.access import can, clockify_site, current_business, keyring, requires, scoped, scoped_select
from blueprints.forms import PartyForm, currency_code, email_address
from extensions import db
from models import ClockifyConnection, Customer, Invoice
from services import connections, customers, invoice_document, invoicing
from services.clockify import ClockifyError
from services.einvoice import from_invoice
from services.secrets import DataKeyError

bp = Blueprint("customers", __name__, url_prefix="/customers")


FORMAT_CHOICES = [SelectChoice("none", _l("None (PDF only)"))] + [
    SelectChoice(format.value, name) for format, name in from_invoice.FORMAT_NAMES.items()]
LANGUAGE_CHOICES = [SelectChoice("en", "English"), SelectChoice("de", "Deutsch"), SelectChoice("fr", "Français")]


class CustomerForm(PartyForm):
    name = StringField(_l("Name"), validators=[DataRequired(_l("Give the customer a name.")), Length(max=200)])
    email = EmailField(_l("Email"), validators=email_address(Optional()))
    address = TextAreaField(_l("Address (as written before; the fields below are what e-invoices use)"),
                            validators=[Length(max=2000)])
    currency = StringField(_l("Currency"), validators=[currency_code])
    buyer_reference = StringField(_l("Buyer reference (Leitweg-ID)"), filters=[lambda value: (value or "").strip()],
                                  validators=[Length(max=200)])
    einvoice_format = SelectField(_l("E-invoice format"), choices=FORMAT_CHOICES, default="none")
    invoice_language = SelectField(_l("Invoice language"), choices=LANGUAGE_CHOICES, default="en")


class ClockifyClientForm(FlaskForm):
    client = SelectField(_l("Clockify client"), choices=[], validate_choice=True)


def scoped_customer(customer_id: int) -> Customer:
    return scoped(Customer, customer_id)


def _client_choices() -> tuple[list[tuple[str, str, str]], str | None]:
    """The Clockify clients of the business's first connection this person may use, or why there are none."""
    connection = db.session.scalars(scoped_select(ClockifyConnection).order_by(ClockifyConnection.created_at)).first()
    if connection is None:
        return [], None
    max_age = timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])
    try:
        with connections.reading(connection, keyring(), clockify_site()) as client:
            return customers.clockify_clients(connection, client, max_age), None
    except (ClockifyError, DataKeyError) as error:
        return [], _("Clockify's clients could not be loaded: %(error)s", error=error)


@bp.get("/<int:customer_id>")
@requires("customer.view")
def show(customer_id: int, form: ClockifyClientForm | None = None, status: int = 200):
    customer = scoped_customer(customer_id)
    invoices = db.session.scalars(scoped_select(Invoice).where(Invoice.customer_id == customer.id)
                                  .order_by(Invoice.issue_date.desc(), Invoice.id.desc())).all()
    choosing = form is not None or request.args.get("choose") == "clockify"
    choosing = choosing and can("customer.edit")
    choices, problem = _client_choices() if choosing or customer.clockify_client_id else ([], None)
    if choosing and form is None:
        form = ClockifyClientForm(formdata=None, client=customer.clockify_client_id or "")
    if form is not None:
        form.client.choices = [("", _("No client (not linked)"))] + [(client_id, f"{name} · {workspace}")
                                                                  for client_id, name, workspace in choices]
    return render_template("customers/show.html", customer=customer, invoices=invoices,
                           totals={invoice.id: invoicing.totals(invoice).total for invoice in invoices},
                           owed=customers.balances(invoices), form=form if choosing and choices else None, problem=problem,
                           choosing=choosing, linked_name=customers.linked_client_name(choices, customer)), status


@bp.post("/<int:customer_id>/clockify-client")
@requires("customer.edit")
def link_client(customer_id: int):
    customer = scoped_customer(customer_id)
    choices, problem = _client_choices()
    form = ClockifyClientForm()
    form.client.choices = [("", "")] + [(client_id, name) for client_id, name, __ in choices]
    if problem or not form.validate_on_submit():
        return show(customer_id, form=form, status=422)
    customer.clockify_client_id = form.client.data or None
    db.session.commit()
    flash(_("%(name)s is linked to the Clockify client %(client)s.", name=customer.name,
            client=customers.linked_client_name(choices, customer))
          if customer.clockify_client_id else _("%(name)s is no longer linked to a Clockify "
                                                "client.", name=customer.name), "success")
    return redirect(url_for("customers.show", customer_id=customer.id), code=303)


@bp.get("/")
@requires("customer.view")
def index():
    rows = db.session.execute(
        scoped_select(Customer).add_columns(func.count(Invoice.id))
        .outerjoin(Invoice, Invoice.customer_id == Customer.id)
        .group_by(Customer.id)
        .order_by(func.lower(Customer.name))
    ).all()
    return render_template("customers/index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"])
@requires("customer.edit")
def new():
    form = CustomerForm()
    if not form.is_submitted():
        form.currency.data = current_business().default_currency
        form.invoice_language.data = invoice_document.default_language(current_business())  # doc-languages
    if form.validate_on_submit():
        customer = Customer(business_id=current_business().id)
        _fill(customer, form)
        db.session.add(customer)
        db.session.commit()
        flash(_("Customer %(name)s added.", name=customer.name), "success")
        return redirect(url_for("customers.index"), code=303)
    return render_template("customers/form.html", form=form, customer=None), 422 if form.errors else 200


@bp.route("/<int:customer_id>/edit", methods=["GET", "POST"])
@requires("customer.edit")
def edit(customer_id: int):
    customer = scoped_customer(customer_id)
    form = CustomerForm(obj=customer)
    if form.validate_on_submit():
        _fill(customer, form)
        db.session.commit()
        flash(_("Customer %(name)s saved.", name=customer.name), "success")
        return redirect(url_for("customers.index"), code=303)
    return render_template("customers/form.html", form=form, customer=customer), 422 if form.errors else 200


@bp.post("/<int:customer_id>/delete")
@requires("customer.edit")
def delete(customer_id: int):
    customer = scoped_customer(customer_id)
    invoices = db.session.scalar(select(func.count(Invoice.id)).where(Invoice.customer_id == customer.id))
    if invoices:
        flash(ngettext("%(name)s has %(num)d invoice, so it cannot be deleted: the invoices need it. Delete or keep "
                       "those invoices first.", "%(name)s has %(num)d invoices, so it cannot be deleted: the invoices "
                       "need it. Delete or keep those invoices first.", invoices, name=customer.name), "error")
        return redirect(url_for("customers.index"), code=303)
    db.session.delete(customer)
    db.session.commit()
    flash(_("Customer %(name)s deleted.", name=customer.name), "success")
    return redirect(url_for("customers.index"), code=303)


def _fill(customer: Customer, form: CustomerForm) -> None:
    customer.name = form.name.data.strip()
    customer.email = (form.email.data or "").strip()
    customer.address = (form.address.data or "").strip()
    customer.currency = form.currency.data
    form.fill(customer)
    customer.buyer_reference = form.buyer_reference.data or ""
    customer.einvoice_format = form.einvoice_format.data
    customer.invoice_language = form.invoice_language.data
