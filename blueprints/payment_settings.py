"""Settings, "Payment details & logo": the bank account an invoice asks to be paid into (with its EPC
QR code on euro invoices) and the logo at the head of the printed invoice and PDF. Owners and admins."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from blueprints.access import current_business, requires
from blueprints.forms import LogoForm, PaymentDetailsForm
from extensions import db
from services import logo as logos
from services.payment_details import formatted_iban

bp = Blueprint("payment_settings", __name__, url_prefix="/settings/payment")

PAYMENT_COLUMNS = ("bank_account_holder", "iban", "bic")


def _page(payment_form=None, logo_form=None):
    business = current_business()
    payment_form = payment_form or PaymentDetailsForm(
        formdata=None, data={column: getattr(business, column) for column in PAYMENT_COLUMNS}
        | {"iban": formatted_iban(business.iban)})
    return render_template("settings/payment.html", payment_form=payment_form,
                           logo_form=logo_form or LogoForm(formdata=None),
                           logo=logos.data_uri(business.logo, business.logo_type))


@bp.get("/")
@requires("business.manage")
def index():
    return _page()


@bp.post("/")
@requires("business.manage")
def save():
    form = PaymentDetailsForm()
    if not form.validate_on_submit():
        return _page(payment_form=form), 422
    business = current_business()
    for column in PAYMENT_COLUMNS:
        setattr(business, column, getattr(form, column).data or "")
    db.session.commit()
    flash(_("Payment details saved."), "success")
    return redirect(url_for("payment_settings.index"), code=303)


@bp.post("/logo")
@requires("business.manage")
def upload_logo():
    form = LogoForm()
    if not form.validate_on_submit():
        return _page(logo_form=form), 422
    business = current_business()
    business.logo, business.logo_type = form.logo.prepared
    db.session.commit()
    flash(_("Logo saved: it is printed at the head of every invoice."), "success")
    return redirect(url_for("payment_settings.index"), code=303)


upload_logo.file_fields = ("logo",)  # app.py refuses a file in any other field, or sent to any other route


@bp.post("/logo/remove")
@requires("business.manage")
def remove_logo():  # CSRFProtect has checked the token, as for every POST
    business = current_business()
    business.logo, business.logo_type = None, ""
    db.session.commit()
    flash(_("Logo removed."), "success")
    return redirect(url_for("payment_settings.index"), code=303)
