"""The in-page Clockify import wizard on a draft invoice (DESIGN.md, "The import flow").

Steps: choose the connection and workspace -> filters (the workspace's clients, projects and members,
cached) -> preview (entries fetched by the server and kept with the preview) -> how entries become
lines -> confirm. With htmx each step swaps #import-wizard in the invoice page; without JavaScript
the same URLs answer whole pages. Clockify is only ever read."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from htmx_flask import request as htmx_request
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from blueprints.access import clockify_site, current_business, keyring, requires, scoped, scoped_draft, scoped_select
from blueprints.forms import LineForm
from extensions import db
from models import ClockifyConnection, ImportPreview, Invoice
from services import connections, imports, invoicing
from services.clockify import ClockifyError, InvalidKey, RateLimited
from babel.numbers import list_currencies

from services.lines import (DETAILS, GROUPINGS, ROUNDING_MINUTES, LineOptions, entry_amounts, hundredths_to_minor,
                           reconcile, unknown_labels)
from services.money import is_currency, parse_decimal
from services.secrets import DataKeyError

bp = Blueprint("imports", __name__, url_prefix="/invoices/<int:invoice_id>/import")

TEMPLATE = "imports/wizard.html"


def _max_age() -> timedelta:
    return timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])


def _zone() -> str:
    return current_user.time_zone or "UTC"


def _today() -> date:
    return datetime.now(ZoneInfo(_zone())).date()


def _connections() -> list[ClockifyConnection]:
    return db.session.scalars(scoped_select(ClockifyConnection)
                              .order_by(ClockifyConnection.created_at)).all()


def _client(connection: ClockifyConnection):
    """The connection's client for a step; a 401 anywhere in the step marks the connection."""
    return connections.reading(connection, keyring(), clockify_site())


def _swappable(status: int) -> int:
    """htmx swaps only 2xx and 422 answers (base.html): a message about Clockify trouble or a refused
    import is the content of the wizard, so htmx gets it as 200; a whole page keeps the real status."""
    return status if status in (200, 422) else 200


def _render(invoice, step: str, status: int = 200, **context):
    """The wizard at a step: its block for htmx, the whole page otherwise."""
    context.update(invoice=invoice, step=step, zone=_zone())
    if htmx_request.htmx:
        return render_block(TEMPLATE, "wizard", **context), _swappable(status)
    return render_template(TEMPLATE, **context), status


def _problem(invoice, error: Exception, connection: ClockifyConnection | None = None, **context):
    """Any failure talking to Clockify or opening the key, as a message in the wizard."""
    current_app.logger.info("Clockify import step failed: %r", error)
    status = 503 if isinstance(error, DataKeyError) else 502
    if isinstance(error, RateLimited):
        status = 429
    return _render(invoice, context.pop("step", "error"), status, error=error, connection=connection,
                   invalid_key=isinstance(error, InvalidKey), **context)


@bp.get("")
@requires("import.run")
def start(invoice_id: int):
    invoice = scoped_draft(invoice_id)
    all_connections = _connections()
    if not all_connections:
        return _render(invoice, "no-connection")
    chosen = request.args.get("connection")
    connection = scoped(ClockifyConnection, chosen) if chosen else all_connections[0]
    if connection.status != "active":
        return _render(invoice, "start", connections=all_connections, connection=connection, workspaces=[])
    try:
        with _client(connection) as client:
            workspaces = imports.workspaces(connection, client, _max_age(), refresh=bool(request.args.get("refresh")))
            member_of = connections.member_workspaces(connection, client, workspaces)  # the Admin caveat
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, connection, step="start", connections=all_connections, workspaces=[])
    return _render(invoice, "start", connections=all_connections, connection=connection, workspaces=workspaces,
                   member_of=member_of, caveat=connections.MEMBER_KEY_CAVEAT)


def _workspace(connection, client, workspace_id):
    workspaces = imports.workspaces(connection, client, _max_age())
    workspace = next((each for each in workspaces if each.id == workspace_id), None)
    if workspace is None:
        abort(404)
    return workspace


@bp.get("/filters")
@requires("import.run")
def filters(invoice_id: int):
    invoice = scoped_draft(invoice_id)
    connection = scoped(ClockifyConnection, request.args.get("connection"))
    workspace_id = request.args.get("workspace", "")
    refresh = bool(request.args.get("refresh"))
    try:
        with _client(connection) as client:
            workspace = _workspace(connection, client, workspace_id)
            reference, fetched_at = imports.reference_data(connection, client, workspace_id, _max_age(),
                                                           refresh=refresh)
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, connection)
    return _render(invoice, "filters", **_filters_context(invoice, connection, workspace, reference, fetched_at,
                                                          request.args))


def _filters_context(invoice, connection, workspace, reference, fetched_at, args, **extra) -> dict:
    customer_client = invoice.customer.clockify_client_id
    client_id = args.get("client", customer_client if "client" not in args else "") or ""
    chosen_projects, chosen_members = set(args.getlist("project")), set(args.getlist("member"))
    unknown = imports.unknown_choices(reference, client_id, chosen_projects, chosen_members,
                                      linked_to=invoice.customer.name if client_id == customer_client else None)
    projects = [project for project in reference.projects if not client_id or project.client_id == client_id]
    first, last = imports.month_range(_today(), 0)
    return dict(connection=connection, workspace=workspace, reference=reference, fetched_at=fetched_at,
                client_id=client_id, projects=projects, chosen_projects=chosen_projects,
                chosen_members=chosen_members, unknown_choice=unknown,
                known_client=any(client.id == client_id for client in reference.clients),
                range=args.get("range", "this_month"), start_date=args.get("start", first.isoformat()),
                end_date=args.get("end", last.isoformat()),
                # A first visit has both on; a sent form has each only when ticked.
                billable="billable" in args or not args.get("submitted"),
                hide_imported="hide_imported" in args or not args.get("submitted"),
                customer_client=customer_client, **extra)


def _date_range(form) -> tuple[date, date]:
    preset = form.get("range", "this_month")
    if preset == "this_month":
        return imports.month_range(_today(), 0)
    if preset == "last_month":
        return imports.month_range(_today(), 1)
    try:
        start, end = date.fromisoformat(form.get("start", "")), date.fromisoformat(form.get("end", ""))
    except ValueError:
        raise ValueError("Enter both dates of the custom range, like 2026-10-01.") from None
    if start > end:
        raise ValueError("The range starts after it ends: swap the dates.")
    if start.year < 2000 or end.year > 2100:
        raise ValueError("Clockify keeps time from 2000 on: choose dates between 2000 and 2100.")
    if (end - start).days > 366:
        raise ValueError("Import at most a year at a time.")
    return start, end


@bp.post("/preview")
@requires("import.run")
def preview(invoice_id: int):
    invoice = scoped_draft(invoice_id)
    form = request.form
    connection = scoped(ClockifyConnection, form.get("connection"))
    workspace_id = form.get("workspace", "")
    try:
        with _client(connection) as client:
            workspace = _workspace(connection, client, workspace_id)
            reference, fetched_at = imports.reference_data(connection, client, workspace_id, _max_age())
            context = _filters_context(invoice, connection, workspace, reference, fetched_at, form)
            if context["unknown_choice"]:
                return _render(invoice, "filters", 422, **context)
            try:
                start, end = _date_range(form)
            except ValueError as error:
                return _render(invoice, "filters", 422, range_error=str(error), **context)
            chosen = imports.Filters(
                workspace_id=workspace.id, currency=workspace.currency or invoice.currency, start=start, end=end,
                time_zone=_zone(), client_ids=(context["client_id"],) if context["client_id"] else (),
                project_ids=tuple(sorted(context["chosen_projects"])), user_ids=tuple(sorted(context["chosen_members"])),
                billable_only="billable" in form, hide_imported="hide_imported" in form, plan=workspace.plan,
                preset=form.get("range", "this_month"),
                report_round_minutes=workspace.rounding.minutes if workspace.rounding else 0,
                report_round_direction=workspace.rounding.direction if workspace.rounding else "up")
            if form.get("link_client") and context["client_id"]:
                invoice.customer.clockify_client_id = context["client_id"]
            preview, entries = imports.start_preview(current_user, invoice, connection, chosen, client, reference)
    except (ClockifyError, DataKeyError) as error:
        db.session.rollback()
        return _problem(invoice, error, connection)
    return _render(invoice, "preview", **_preview_context(invoice, preview, entries=entries))


def _preview_context(invoice, preview: ImportPreview, entries=None, **extra) -> dict:
    filters = imports.Filters.from_dict(preview.filters)
    view = imports.classify(preview, invoice.currency, _zone(), entries=entries)
    customer = invoice.customer
    options = _options_from(customer.import_options) if customer.import_options else LineOptions()
    if filters.report_round_minutes:  # Clockify's reports round: the same rounding, so the sums agree
        options = options.with_report_rounding(filters.report_round_minutes, filters.report_round_direction)
    rate = imports.fallback_rate(current_business(), invoice)
    return dict(preview=preview, filters=filters, view=view, options=options, fallback=rate,
                unreadable=imports.unreadable_entries(preview),
                labels_to_ask=unknown_labels(entry for entry, _ in view.skipped), currencies=sorted(list_currencies()),
                amounts=entry_amounts(view.selectable + view.non_billable, invoice.currency, rate), groupings=GROUPINGS,
                roundings=ROUNDING_MINUTES, details=DETAILS, clockify_minor=hundredths_to_minor, **extra)


def _options_from(stored: dict) -> LineOptions:
    try:
        return LineOptions.from_form(stored)
    except ValueError:
        return LineOptions()  # options saved by an older version: start from the defaults


def _owned_preview(invoice, token: str) -> ImportPreview:
    """The user's preview on this invoice; one that is gone (trimmed when newer ones started, or purged)
    answers "expired" in the wizard, swapped whole whatever the request targeted."""
    preview = db.session.scalar(select(ImportPreview).where(ImportPreview.token == token))
    if preview is None and db.session.scalar(select(Invoice.status).where(Invoice.id == invoice.id)) != "draft":
        abort(404)  # the draft was deleted (its previews with it) or sent meanwhile: not an expired preview
    if preview is None:
        response = make_response(_render(invoice, "expired", 410))
        if htmx_request.htmx:
            response.headers.update({"HX-Retarget": "#import-wizard", "HX-Reswap": "outerHTML"})
        abort(response)
    if preview.user_id != current_user.id or preview.invoice_id != invoice.id:
        abort(404)
    return preview


@bp.post("/<token>/more")
@requires("import.run")
def more(invoice_id: int, token: str):
    """The next report page: rows to append (htmx), or the whole preview again (no JavaScript). Ten of
    these at once for one preview fetch the page once: the others find it claimed and answer with
    nothing new (the loader asks again a moment later)."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    connection = scoped(ClockifyConnection, preview.connection_id)
    fresh: list = []
    if imports.claim_next_page(preview):
        db.session.commit()  # the claim is seen by the other requests before Clockify is asked
        try:
            with _client(connection) as client:
                fresh = imports.load_next_page(preview, client)
                db.session.commit()
        except IntegrityError:  # a claim that had expired was taken over: that request stored the page
            db.session.rollback()
        except (ClockifyError, DataKeyError) as error:
            db.session.rollback()
            imports.release_claim(preview)
            db.session.commit()
            if htmx_request.htmx:
                return render_block(TEMPLATE, "loader", invoice=invoice, preview=preview, load_error=error,
                                    connection=connection, invalid_key=isinstance(error, InvalidKey)), 200
            return _problem(invoice, error, connection, step="preview", **_preview_context(invoice, preview))
    else:
        db.session.rollback()
    busy = not preview.complete and not fresh
    if htmx_request.htmx:  # only the new page's rows: the page holds the others already
        view = imports.classify(preview, invoice.currency, _zone(), entries=fresh)
        rate = imports.fallback_rate(current_business(), invoice)
        # The lists apart grow with the page too, so every count covers every loaded entry.
        return render_blocks(TEMPLATE, ["new_rows", "apart_more", "loader"], invoice=invoice, zone=_zone(),
                             appending=True, preview=preview, new_rows=view.selectable, busy=busy,
                             new_non_billable=view.non_billable, new_skipped=view.skipped,
                             new_elsewhere=view.elsewhere,
                             new_unreadable=imports.unreadable_entries(preview, preview.pages_loaded) if fresh else [],
                             amounts=entry_amounts(view.selectable + view.non_billable, invoice.currency, rate)), 200
    return _render(invoice, "preview", **_preview_context(invoice, preview, busy=busy))


@bp.post("/<token>/currency")
@requires("import.run")
def currency(invoice_id: int, token: str):
    """Which ISO currency the workspace's ambiguous currency label means, said once and remembered."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    label, code = request.form.get("label", "")[:100], request.form.get("currency", "")
    if not label or not is_currency(code):
        return _render(invoice, "preview", 422, currency_error="Choose the currency the label stands for.",
                       **_preview_context(invoice, preview))
    imports.answer_currency(preview.connection_id, preview.workspace_id, label, code)
    db.session.commit()
    return _render(invoice, "preview", **_preview_context(invoice, preview))


def _options_and_selection(invoice, preview):
    """The options and the selected entries from the form; the entries come from the preview the
    server fetched, never from the browser."""
    form = request.form
    options = LineOptions.from_form(form)
    rate = imports.fallback_rate(current_business(), invoice)
    if form.get("fallback_rate", "").strip():
        try:
            typed = parse_decimal(form["fallback_rate"])
        except ValueError:
            typed = None
        if typed is None or typed < 0 or typed > Decimal("10000000"):
            raise ValueError("Enter the rate for entries without one as a number, like 80.")
        rate = typed
    view = imports.classify(preview, invoice.currency, _zone())
    entries = imports.selected(view, form.get("selection", "some"), form.getlist("entry"), form.getlist("exclude"),
                               shown=_shown(preview), non_billable_ids=form.getlist("nonbillable"))
    return options, rate, entries, imports.plan_for(entries, invoice, options, rate, _zone())


def _shown(preview) -> set[str] | None:
    """The entries a page without JavaScript showed (its pages, sent as ``shown_pages``)."""
    if request.form.get("selection") != "shown":
        return None
    pages = request.form.get("shown_pages", "")
    return imports.ids_through_page(preview, int(pages)) if pages.isdigit() and len(pages) < 6 else set()


@bp.post("/<token>/lines")
@requires("import.run")
def lines(invoice_id: int, token: str):
    """The lines the selection would become, shown before anything is saved."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    if request.form.get("selection") in ("all", "shown") and not preview.complete:
        response = _load_rest(invoice, preview)
        if response:
            return response
    try:
        options, rate, entries, plan = _options_and_selection(invoice, preview)
    except ValueError as error:
        return _plan_response(invoice, preview, 422, options_error=str(error))
    except imports.ImportProblem as error:
        return _plan_response(invoice, preview, 409, options_error=str(error))
    return _plan_response(invoice, preview, 200, plan=plan, options=options, chosen_rate=rate,
                          reconciliation=reconcile(entries, plan, currency=invoice.currency, fallback_rate=rate,
                                                   options=options))


def _plan_response(invoice, preview, status, **context):
    if htmx_request.htmx:
        return render_block(TEMPLATE, "plan", invoice=invoice, preview=preview, **context), _swappable(status)
    # A whole page again: keep the boxes as they were ticked and the rate as it was typed.
    form = request.form
    ticked = None
    if form.get("selection") == "some":
        ticked = set(form.getlist("entry"))
    elif form.get("selection") == "all" and form.getlist("exclude"):
        excluded = set(form.getlist("exclude"))
        ticked = {entry.id for entry in imports.preview_entries(preview) if entry.id not in excluded}
    elif form.get("selection") == "shown":
        unticked = (_shown(preview) or set()) - set(form.getlist("entry"))
        ticked = {entry.id for entry in imports.preview_entries(preview) if entry.id not in unticked}
    page = {**_preview_context(invoice, preview), **context, "ticked": ticked,
            "ticked_non_billable": set(form.getlist("nonbillable")),
            "typed_rate": form.get("fallback_rate")}
    return _render(invoice, "preview", status, **page)


def _load_rest(invoice, preview):
    """"All N matching" with pages not loaded yet: load them now (one call per 1000 entries)."""
    connection = scoped(ClockifyConnection, preview.connection_id)
    try:
        with _client(connection) as client:
            imports.load_all(preview, client)
    except imports.ImportProblem as error:
        return _plan_response(invoice, preview, 409, options_error=str(error))
    except (ClockifyError, DataKeyError) as error:
        db.session.rollback()
        return _problem(invoice, error, connection)
    return None


@bp.post("/<token>/confirm")
@requires("import.run")
def confirm(invoice_id: int, token: str):
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    if preview.confirmed_at is not None:  # a double click: the first one did it (imports.confirm re-checks)
        return _plan_response(invoice, preview, 409, options_error=imports.ALREADY_CONFIRMED)
    if request.form.get("selection") in ("all", "shown") and not preview.complete:
        response = _load_rest(invoice, preview)
        if response:
            return response
    try:
        options, rate, entries, plan = _options_and_selection(invoice, preview)
        imports.confirm(preview, invoice, entries, plan, options)
    except ValueError as error:
        return _plan_response(invoice, preview, 422, options_error=str(error))
    except imports.ImportProblem as error:
        db.session.rollback()
        return _plan_response(invoice, preview, 409, options_error=str(error))
    hours = format(plan.hours.normalize(), "f")
    message = (f"Imported {plan.entry_count} entr{'y' if plan.entry_count == 1 else 'ies'} as {plan.line_count} "
               f"line{'' if plan.line_count == 1 else 's'}, {hours} h.")
    if plan.needs_rate:
        message += " Some lines have no rate yet: set it on the line."
    if htmx_request.htmx:
        html = render_block(TEMPLATE, "wizard", invoice=invoice, step="done", message=message, zone=_zone())
        html += render_block("invoices/show.html", "lines", invoice=invoice, totals=invoicing.totals(invoice),
                             add_form=LineForm(formdata=None), lines_oob=True, today=_today())
        return html, 200
    flash(message, "success")
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="lines"), code=303)
