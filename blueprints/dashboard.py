"""The first page: for a visitor, what Hourbill is (log in, sign up, the demo); for a person at work, the
dashboard of the current business: what is owed and overdue, what came in, who owes most, the first
steps until they are done, and the Clockify time not billed yet (fetched only on "Refresh")."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from blueprints import access
from blueprints.access import clockify_site, current_business, keyring, requires, scoped, scoped_select
from extensions import db
from models import ClockifyConnection, Customer
from services import connections, dashboard, invoicing, unbilled
from services.clockify import ClockifyError
from services.secrets import DataKeyError

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")


@bp.record_once
def _front_page(state) -> None:
    # The site's root, under the endpoint name every template already links to ("index").
    state.app.add_url_rule("/", "index", index)


def index():
    if not current_user.is_authenticated:
        return render_template("landing.html")
    return _dashboard()


@requires("invoice.view")
def _dashboard():
    business, today = current_business(), access.today()
    steps = dashboard.checklist(business)
    return render_template("dashboard/index.html", figures=dashboard.figures(business.id, today), today=today,
                           steps=steps if not all(step.done for step in steps) else None,
                           unbilled=unbilled.view(business.id, _connections()),
                           since=request.args.get("since") or unbilled.default_since(today).isoformat())


def _connections() -> list[ClockifyConnection]:
    return db.session.scalars(scoped_select(ClockifyConnection).order_by(ClockifyConnection.id)).all()


@bp.post("/unbilled/refresh")
@requires("import.run")
def refresh_unbilled():
    """Ask Clockify for the unbilled time since the chosen date, once per connection (claimed first, so a
    second refresh at the same moment asks nothing and says so)."""
    today, typed = access.today(), request.form.get("since", "")
    try:
        since = unbilled.since_date(typed, today)
    except ValueError as error:
        flash(str(error), "error")
        return redirect(url_for("index", since=typed[:20]), code=303)
    business = current_business()
    customers = unbilled.linked_customers(business.id)
    active = [connection for connection in _connections() if connection.status == "active"]
    if not customers or not active:
        flash(_("Link a customer to a Clockify client (on its import wizard) and connect Clockify first.")
              if not customers else _("Connect Clockify first (Settings > Integrations)."), "error")
        return redirect(url_for("index"), code=303)
    max_age = timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])
    done: set[str] = set()
    for connection in active:
        row = unbilled.claim(connection)
        db.session.commit()  # the claim is seen by every other request before Clockify is asked
        if row is None:
            flash(unbilled.BUSY, "info")
            continue
        try:
            with connections.reading(connection, keyring(), clockify_site()) as client:
                unbilled.refresh(row, connection, client, business, customers, since=since, today=today,
                                 time_zone=access.time_zone(), max_age=max_age, skip_workspaces=done)
            db.session.commit()
        except (ClockifyError, DataKeyError) as error:
            _release(row)
            current_app.logger.info("unbilled time: Clockify failed: %r", error)
            flash(f"{connection.name}: {error}", "error")
        except BaseException:
            _release(row)  # the next refresh may try again at once, not after the claim runs out
            raise
    return redirect(url_for("index", _anchor="unbilled"), code=303)


def _release(row) -> None:
    db.session.rollback()
    unbilled.release(row)
    db.session.commit()


@bp.post("/unbilled/<int:customer_id>/bill")
@requires("invoice.edit")
def bill(customer_id: int):
    """A new draft for the customer, with its import wizard open on the unbilled time's filters."""
    customer: Customer = scoped(Customer, customer_id)
    connection = scoped(ClockifyConnection, request.form.get("connection"))
    workspace, since = request.form.get("workspace", "")[:64], request.form.get("since", "")[:10]
    invoice = invoicing.new_draft(current_business(), customer, access.today())
    db.session.commit()
    flash(_("Draft invoice for %(name)s created: check the filters and preview its unbilled "
            "time.", name=customer.name), "success")
    return redirect(url_for("imports.filters", invoice_id=invoice.id, connection=connection.id, workspace=workspace,
                            client=customer.clockify_client_id or "", range="custom", start=since,
                            end=access.today().isoformat()), code=303)
