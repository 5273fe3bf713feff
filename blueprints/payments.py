"""Payments on an invoice's page: record one (date, amount, method, note), delete one (undo). "Mark as
paid" (blueprints/invoices.py) is a payment of the balance through the same service.

Also gives every template `shown_status(invoice)` and `balance_due(invoice)`, so every list and page
that shows an invoice says "overdue" by one rule (services/payments.py)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from blueprints.access import requires, scoped, today
from blueprints.forms import DecimalText, LineForm, fits_currency_field
from extensions import db
from models import Invoice, Payment
from services import invoicing, payments
from services.money import format_money, from_minor, to_minor

bp = Blueprint("payments", __name__, url_prefix="/invoices")


class PaymentForm(FlaskForm):
    paid_on = DateField(_l("Date received"), validators=[InputRequired(_l("Enter the date the payment was received."))])
    # Places beyond the currency's are refused by fits_currency_field (no 45.005 USD).
    amount = DecimalText(_l("Amount"), places=4, required=True)
    method = StringField(_l("Method (optional)"), validators=[Length(max=payments.METHOD_MAX)],
                         description=_l("Bank transfer, card, cash…"))
    note = TextAreaField(_l("Note (optional)"), validators=[Length(max=payments.NOTE_MAX)])


def _new_form(invoice: Invoice) -> PaymentForm:
    """The empty form: today's date and the balance due, which is what most payments are."""
    balance = payments.balance_minor(invoice)
    return PaymentForm(formdata=None, paid_on=today(),
                       amount=str(from_minor(balance, invoice.currency)) if balance > 0 else "")


@bp.app_context_processor
def _template_helpers():
    return {"shown_status": lambda invoice: payments.shown_status(invoice, today()),
            "balance_due": payments.balance_minor, "new_payment_form": _new_form,
            "status_word": payments.status_word}


@bp.post("/<int:invoice_id>/payments")
@requires("payment.record")
def record(invoice_id: int):
    invoice = scoped(Invoice, invoice_id)
    form = PaymentForm()
    if form.validate_on_submit() and fits_currency_field(form.amount, invoice.currency):
        try:
            payment = payments.record_payment(
                invoice, paid_on=form.paid_on.data, amount_minor=to_minor(form.amount.decimal, invoice.currency),
                method=form.method.data, note=form.note.data, by=current_user, today=today())
        except payments.PaymentError as error:
            db.session.rollback()
            form[error.field].errors = [str(error)]
        else:
            db.session.commit()
            flash(_recorded(invoice, payment), "success")
            return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="payments"), code=303)
    db.session.refresh(invoice)
    if invoice.status not in payments.PAYABLE:  # a stale tab: its page has no form to show the message in
        flash(payments.refusal(invoice), "error")
        return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    return render_template("invoices/show.html", invoice=invoice, totals=invoicing.totals(invoice),
                           details_form=None, add_form=LineForm(formdata=None), today=today(),
                           payment_form=form), 422


@bp.post("/<int:invoice_id>/payments/<int:payment_id>/delete")
@requires("payment.delete")
def delete(invoice_id: int, payment_id: int):
    invoice = scoped(Invoice, invoice_id)
    payment = scoped(Payment, payment_id)
    if payment.invoice_id != invoice.id:
        abort(404)
    try:
        payments.delete_payment(payment)
    except payments.PaymentError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(_("Payment deleted. Invoice %(number)s is %(status)s now.", number=invoice.number,
                status=payments.STATUS_WORDS[payments.shown_status(invoice, today())]), "success")
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="payments"), code=303)


def _recorded(invoice: Invoice, payment: Payment) -> str:
    if invoice.status == "paid":
        return _("Payment recorded. Invoice %(number)s is paid in full.", number=invoice.number)
    return _("Payment recorded. Invoice %(number)s is partially paid: %(balance)s still due.", number=invoice.number,
             balance=format_money(payments.balance_minor(invoice), invoice.currency))
