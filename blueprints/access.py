"""Who may do what, in which business: the one place every route asks.

Each request works in one business, the current one: the person's choice kept in the session, checked
against their memberships on every request (so removing a member or lowering their role takes effect
at their very next request); by default their first membership. A person with none is led to create a
business.

PERMISSIONS names what a person does and the least role that may do it; every route says its action
with @requires (or @personal for the person's own settings), and tests/test_access.py checks every
route of the url map against this table for every role. Objects are read through `scoped`: another
business's object answers 404, exactly as if it did not exist. Not a blueprint: blueprints import it,
never each other."""
from __future__ import annotations

from datetime import date, datetime
from functools import wraps
from zoneinfo import ZoneInfo

from flask import (abort, current_app, flash, g, has_request_context, make_response, redirect, render_template, request,
                   session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import inspect, or_, select
from werkzeug.exceptions import Forbidden

from extensions import db
from models import MAX_ID, ROLES, Business, ClockifyConnection, Invoice, LineItem, Membership
from services import businesses, invoicing, two_factor
from services.connections import ClockifyResources, ClockifySite
from services.secrets import KeyRing

# Least role that may take each action. Roles rank owner > admin > member > viewer (models.ROLES).
PERMISSIONS = {
    "invoice.view": "viewer",         # invoices, their pages, printable pages and PDFs
    "customer.view": "viewer",
    "connection.view": "viewer",      # the integrations page (never a key: only its last four characters)
    "customer.edit": "member",        # add, edit, delete customers
    "invoice.edit": "member",         # new drafts, their details and lines, duplicate, delete a draft
    "invoice.send": "member",         # mark sent (numbered)
    "payment.record": "member",       # record a payment, or mark paid (a payment of the balance)
    "import.run": "member",           # the Clockify import wizard on a draft
    "connection.create": "member",    # connect Clockify (update or disconnect: its creator or connection.manage)
    "invoice.void": "admin",
    "invoice.credit": "admin",        # issue a credit note for a sent or paid invoice (it changes the books, like a void)
    "payment.delete": "admin",        # delete a recorded payment (it changes the books, like a void)
    "connection.manage": "admin",     # update or disconnect anyone's connection
    "business.manage": "admin",       # the business profile: what invoices say about the sender, numbering
    "member.manage": "admin",         # invite, remove, change roles
    "business.delete": "owner",
    "business.security": "owner",     # require two-factor authentication of every member
    "business.transfer": "owner",     # make another member the owner
}

RANK = {role: len(ROLES) - index for index, role in enumerate(ROLES)}  # owner 4 ... viewer 1

ROLE_DESCRIPTIONS = {
    "owner": "everything, including deleting the business and transferring ownership",
    "admin": "members, connections and the business profile, and everything on invoices",
    "member": "customers, drafts, imports and sending",
    "viewer": "reads everything and downloads PDFs; changes nothing, imports nothing",
}


def role_allows(role: str | None, action: str) -> bool:
    return role is not None and RANK[role] >= RANK[PERMISSIONS[action]]


class NotAllowed(Forbidden):
    """A route the person's role may not use: the page says which role it needs."""

    def __init__(self, action: str, role: str, business: Business):
        needed = PERMISSIONS[action]
        words = dict(needed=needed, business=business.name or _("this business"), role=role)
        super().__init__(_("This needs the %(needed)s role (or higher) in %(business)s; you are an %(role)s. Ask an "
                           "owner or admin of the business if you need it.", **words) if role[0] in "aeiou" else
                         _("This needs the %(needed)s role (or higher) in %(business)s; you are a %(role)s. Ask an "
                           "owner or admin of the business if you need it.", **words))
        self.needed = needed


# --- the current business --------------------------------------------------------------------------

def memberships(before_the_view: bool = False) -> list[Membership]:
    """The logged-in person's memberships, read once per request: as the user loader read them, with the login
    (services.accounts.WITH_MEMBERSHIPS: one query less on every request), on a GET or before a form's view has
    run (@requires asks first: nothing has changed them yet); afresh when a form's view asks after it may have
    changed them (a new business, an accepted invitation, a business deleted)."""
    if "memberships" not in g:
        if not current_user.is_authenticated:
            g.memberships = []
        elif ((before_the_view or (has_request_context() and request.method in ("GET", "HEAD")))
              and "memberships" in inspect(current_user._get_current_object()).dict):
            g.memberships = list(current_user.memberships)
        else:
            g.memberships = businesses.memberships_of(current_user.id)
    return g.memberships


def current_membership() -> Membership | None:
    if "membership" not in g:
        mine = memberships()
        chosen = session.get("business_id")
        found = next((each for each in mine if each.business_id == chosen), mine[0] if mine else None)
        if found is None:
            session.pop("business_id", None)
        elif chosen != found.business_id:
            session["business_id"] = found.business_id
        g.membership = found
    return g.membership


def current_business() -> Business | None:
    membership = current_membership()
    return membership.business if membership else None


def current_role() -> str | None:
    membership = current_membership()
    return membership.role if membership else None


def choose_business(business_id: int) -> Membership | None:
    """Make one of the person's businesses the current one; None when they are not in it."""
    found = next((each for each in memberships() if each.business_id == business_id), None)
    if found is not None:
        session["business_id"] = found.business_id
        g.membership = found
    return found


def can(action: str) -> bool:
    return role_allows(current_role(), action)


def _no_business():
    return _lead_to(url_for("businesses.new"))


def _lead_to(target: str):
    """Send the person to another page (htmx: the whole page goes there)."""
    if getattr(request, "htmx", False):
        response = make_response("", 409)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target)


def _enroll_first(business: Business):
    """A business that requires two-factor authentication, and a person without it: every page of the
    business leads to Account & security (their own settings, log-out and the switcher stay open)."""
    flash(_("%(business)s requires two-factor authentication: set it up to continue.",
            business=business.name or _("This business")), "error")
    return _lead_to(url_for("settings.account"))


def requires(action: str):
    """The route needs a login, a current business and a role that may take `action`."""
    if action not in PERMISSIONS:
        raise KeyError(f"{action} is not in the permission table")

    def decorate(view):
        @wraps(view)
        def checked(*args, **kwargs):
            memberships(before_the_view=True)
            membership = current_membership()
            if membership is None:
                return _no_business()
            if not role_allows(membership.role, action):
                raise NotAllowed(action, membership.role, membership.business)
            if two_factor.two_factor_required(current_user, membership.business):
                return _enroll_first(membership.business)
            return view(*args, **kwargs)

        checked.required_action = action
        return login_required(checked)

    return decorate


def personal(view):
    """A route about the person themselves (their account, their businesses): a login, no business."""
    view = login_required(view)
    view.required_action = None
    return view


def time_zone() -> str:
    """The person's time zone (UTC until they choose one, or for a visitor)."""
    return getattr(current_user, "time_zone", None) or "UTC"


def today() -> date:
    """Today where the person is: new invoices' dates, what is overdue, the wizard's date presets."""
    return datetime.now(ZoneInfo(time_zone())).date()


# --- objects of the current business -------------------------------------------------------------

def _business_id() -> int:
    business = current_business()
    if business is None:  # @requires makes sure there is one; a helper called elsewhere finds nothing
        abort(404)
    return business.id


def _visible_connection():
    """A Clockify connection is seen by the business only when shared; a private one only by the person
    who connected it (for everyone else it does not exist: 404, never in a list)."""
    return or_(ClockifyConnection.shared.is_(True), ClockifyConnection.created_by_user_id == current_user.id)


def scoped_select(model):
    """SELECT model of the current business: every list a page shows starts here."""
    query = select(model).where(model.business_id == _business_id())
    return query.where(_visible_connection()) if model is ClockifyConnection else query


def scoped(model, object_id):
    """The current business's object of this model, or 404: another business's object does not exist
    for this person. (The id may come from a form: anything that is not a whole number is a 404 too.)"""
    try:
        found = db.session.get(model, int(object_id)) if 0 < int(object_id) <= MAX_ID else None
    except (TypeError, ValueError):
        found = None
    if found is None or found.business_id != _business_id():
        abort(404)
    if model is ClockifyConnection and not (found.shared or found.created_by_user_id == current_user.id):
        abort(404)  # someone else's private connection
    return found


def scoped_draft(invoice_id: int) -> Invoice:
    """The business's draft, read only (a wizard step looking at it); a draft about to change is
    locked with `locked_draft`."""
    invoice = scoped(Invoice, invoice_id)
    if not invoice.is_draft:
        abort(make_response(render_template(
            "errors/error.html", title=_("Invoice is locked"),
            message=_("Invoice %(number)s is %(status)s: its lines and details can no longer change. Duplicate it "
                      "to make a new draft.", number=invoice.number, status=invoice.status)), 409))
    return invoice


def locked_draft(invoice_id: int) -> Invoice:
    """The business's draft, locked for this request's change (services.invoicing.lock_draft): a draft
    sent or deleted meanwhile answers 409 with what happened (app.py's handler of InvoiceChanged)."""
    invoice = scoped(Invoice, invoice_id)
    invoicing.lock_draft(invoice)
    return invoice


def scoped_line(invoice: Invoice, line_id: int) -> LineItem:
    line = db.session.get(LineItem, line_id)
    if line is None or line.invoice_id != invoice.id:
        abort(404)
    return line


def managed_connection(connection_id) -> ClockifyConnection:
    """A connection this person may update or disconnect: one they connected, or any with
    connection.manage (admins)."""
    connection = scoped(ClockifyConnection, connection_id)
    membership = current_membership()
    if connection.created_by_user_id != current_user.id and not role_allows(membership.role, "connection.manage"):
        raise NotAllowed("connection.manage", membership.role, membership.business)
    return connection


# --- Clockify: made once in create_app ------------------------------------------------------------

def _clockify() -> ClockifyResources:
    return current_app.extensions["hourbill.clockify"]


def clockify_site() -> ClockifySite:
    return _clockify().site()


def keyring() -> KeyRing:
    return _clockify().keyring()


def data_key_problem() -> str | None:
    return _clockify().data_key_problem()


def init_app(app) -> None:
    from pathlib import Path

    app.extensions["hourbill.clockify"] = ClockifyResources(app.config, Path(app.instance_path) / "data.key")

    @app.context_processor
    def access_in_templates():
        return {"current_business": current_business, "current_role": current_role, "can": can,
                "my_memberships": memberships}
