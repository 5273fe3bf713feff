"""The customer's view of one sent invoice, opened by its view link with no log-in: the invoice as a
page and its PDF, and nothing else of the business (services/sending.py makes and checks the token).

The token is the credential: pages tell search engines not to index them and browsers to send no
Referer; an unknown, replaced or disabled token is a plain 404 that says nothing of any invoice. The
first view by someone outside the business is recorded once ("Viewed" on the invoice)."""
from __future__ import annotations

from flask import Blueprint, abort, make_response, redirect, render_template, url_for
from flask_login import current_user

from blueprints.access import memberships
from extensions import db
from models import Invoice
from services import invoice_document, sending

bp = Blueprint("public", __name__, url_prefix="/v")


def _private(response):
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _invoice(token: str) -> Invoice:
    invoice = sending.find_by_view_token(token)
    if invoice is None:
        abort(_private(make_response(render_template("public/not_found.html"), 404)))
    return invoice


@bp.get("/<token>")
def invoice(token: str):
    found = _invoice(token)
    insider = current_user.is_authenticated and any(each.business_id == found.business_id for each in memberships())
    if not insider and found.viewed_at is None and sending.record_first_view(found):
        db.session.commit()
    return _private(make_response(invoice_document.render(found, "public/invoice.html", pdf=False)))


@bp.get("/<token>/pdf")
def pdf(token: str):
    from services.pdf import TooManyLines

    found = _invoice(token)
    try:
        response = make_response(invoice_document.pdf(found))
    except TooManyLines:  # the page says there is no PDF and why
        return _private(redirect(url_for("public.invoice", token=token), code=303))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice_document.pdf_name(found)}"'
    return _private(response)
