"""The in-page Clockify import wizard on a draft invoice (DESIGN.md, "The import flow").

Steps: choose the connection and workspace -> filters (the workspace's clients, projects and members,
cached) -> preview (entries fetched by the server and kept with the preview) -> how entries become
lines -> confirm. With htmx each step swaps #import-wizard in the invoice page; without JavaScript
the same URLs answer whole pages. Clockify is only ever read."""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from babel.dates import format_timedelta
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from htmx_flask import request as htmx_request
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import inspect, select
from werkzeug.datastructures import MultiDict

from babel.numbers import list_currencies
from blueprints.access import clockify_site, current_business, keyring, requires, scoped, scoped_draft, scoped_select
from blueprints.access import time_zone as _zone, today as _today
from blueprints.forms import LineForm
from blueprints.import_forms import FiltersForm, LineOptionsForm, preview_args
from extensions import db
from models import ClockifyConnection, ImportPreview, Invoice
from services import connections, imports, invoicing
from services.clockify import FREE_PLAN_REPORT_DAYS, ClockifyError, RateLimited
from services.lines import entry_amounts, hundredths_to_minor, unknown_labels
from services.money import is_currency
from services.secrets import DataKeyError

bp = Blueprint("imports", __name__, url_prefix="/invoices/<int:invoice_id>/import")

TEMPLATE = "imports/wizard.html"


def _max_age() -> timedelta:
    return timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])


def _connections() -> list[ClockifyConnection]:
    return db.session.scalars(scoped_select(ClockifyConnection)
                              .order_by(ClockifyConnection.created_at)).all()


def _client(connection: ClockifyConnection):
    """The connection's client for a step; a 401 anywhere in the step marks the connection."""
    return connections.reading(connection, keyring(), clockify_site())


@contextmanager
def _unit_of_work() -> Iterator[None]:
    """The request's one transaction for a change: committed when the block ends, rolled back when it
    raises, so a failure leaves nothing half-written. (Services add and flush; the exceptions that
    commit by themselves say so: services.imports.cached and load_claimed_page, and the 401 that marks
    a connection, services.connections.marking_refused_keys.)"""
    try:
        yield
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()


STEP_LABELS = (_l("Workspace"), _l("Filters"), _l("Entries"), _l("Lines"))


@dataclass(frozen=True)
class Step:
    """One place in the step indicator; ``url`` leads back to an earlier step (``in_page``: an anchor)."""
    label: str
    url: str | None
    current: bool

    @property
    def in_page(self) -> bool:
        return (self.url or "").startswith("#")


def _steps(current: int, *back: str) -> list[Step]:
    """The indicator at step ``current`` (0-3), ``back`` the URLs of the steps before it, in order."""
    return [Step(label, back[index] if index < min(current, len(back)) else None, index == current)
            for index, label in enumerate(STEP_LABELS)]


def _back_urls(invoice, connection_id, workspace_id, choices: dict) -> tuple[str, str]:
    """The ways back to the workspace and to the filters, both carrying what was chosen."""
    return (url_for("imports.start", invoice_id=invoice.id, connection=connection_id, workspace=workspace_id,
                    carried_for=workspace_id, **choices),
            url_for("imports.filters", invoice_id=invoice.id, connection=connection_id, workspace=workspace_id,
                    **choices))


def _preview_steps(invoice, preview: ImportPreview, current: int) -> list[Step]:
    return _steps(current, *_back_urls(invoice, preview.connection_id, preview.workspace_id,
                                       preview_args(imports.Filters.from_dict(preview.filters))), "#import-step")


@dataclass(frozen=True)
class Problem:
    """A failure talking to Clockify or opening the key, as the wizard says it: ``kind`` is "new_key"
    (the connection needs a new key) or "other"; ``advice`` says what helps, ``retry_url`` tries again."""
    message: str
    kind: str
    advice: str
    retry_url: str

    @classmethod
    def of(cls, error: Exception, retry_url: str) -> Problem:
        advice = (_("Free Clockify workspaces allow 30 requests an hour; Hourbill keeps workspace data for "
                    "%(age)s to spare them.", age=_cache_age()) if isinstance(error, RateLimited) else "")
        return cls(str(error), getattr(error, "kind", "other"), advice, retry_url)


def _cache_age() -> str:
    """How long Clockify's lists are kept, in words ("15 minutes"), from HOURBILL_CLOCKIFY_CACHE_SECONDS."""
    return format_timedelta(_max_age(), threshold=1.5, locale=current_app.config["HOURBILL_LOCALE"])


def _swappable(status: int) -> int:
    """htmx swaps only 2xx and 422 answers (base.html): a message about Clockify trouble or a refused
    import is the content of the wizard, so htmx gets it as 200; a whole page keeps the real status."""
    return status if status in (200, 422) else 200


def _render(invoice, step: str, status: int = 200, **context):
    """The wizard at a step: the step's block for htmx, the whole page otherwise."""
    context.update(invoice=invoice, step=step, zone=_zone(), cache_age=_cache_age(),
                   free_plan_days=FREE_PLAN_REPORT_DAYS)
    if htmx_request.htmx:
        return render_block(TEMPLATE, step, **context), _swappable(status)
    return render_template(TEMPLATE, whole_page=True, **context), status


def _problem(invoice, error: Exception, connection: ClockifyConnection | None = None, **context):
    """Any failure talking to Clockify or opening the key, as a message in the wizard."""
    current_app.logger.info("Clockify import step failed: %r", error)
    status = 503 if isinstance(error, DataKeyError) else 502
    if isinstance(error, RateLimited):
        status = 429
    retry = request.full_path if request.method == "GET" else url_for("imports.start", invoice_id=invoice.id)
    return _render(invoice, context.pop("step", "error"), status, problem=Problem.of(error, retry),
                   connection=connection, **context)


@bp.get("")
@requires("import.run")
def start(invoice_id: int):
    invoice = scoped_draft(invoice_id)
    all_connections = _connections()
    if not all_connections:
        return _render(invoice, "no_connection")
    chosen = request.args.get("connection")
    connection = scoped(ClockifyConnection, chosen) if chosen else all_connections[0]
    # Back from a later step: the workspace and the filters chosen there, carried through to the filters.
    carried = [(name, value) for name, value in request.args.items(multi=True) if name in FiltersForm.CARRIED]
    step = dict(connections=all_connections, connection=connection, chosen_workspace=request.args.get("workspace"),
                carried=carried, steps=_steps(0), workspaces=[])
    if connection.status != "active":
        return _render(invoice, "start", **step)
    try:
        with _client(connection) as client:
            step["workspaces"] = imports.workspaces(connection, client, _max_age(),
                                                    refresh=bool(request.args.get("refresh")))
            member_of = connections.member_workspaces(connection, client, step["workspaces"])  # the Admin caveat
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, step="start", **step)
    return _render(invoice, "start", member_of=member_of, caveat=connections.MEMBER_KEY_CAVEAT, **step)


def _workspace(connection, client, workspace_id):
    workspaces = imports.workspaces(connection, client, _max_age())
    workspace = next((each for each in workspaces if each.id == workspace_id), None)
    if workspace is None:
        abort(404)
    return workspace


@bp.get("/filters")
@requires("import.run")
def filters(invoice_id: int):
    invoice, connection, form = _filters_request(invoice_id, request.args)
    try:
        with _client(connection) as client:
            context = _filters_context(invoice, connection, client, form, refresh=bool(request.args.get("refresh")))
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, connection)
    return _render(invoice, "filters", **context)


def _filters_request(invoice_id: int, formdata) -> tuple[Invoice, ClockifyConnection, FiltersForm]:
    """The draft, the connection and the filters that the filters step or a preview is asked with."""
    invoice = scoped_draft(invoice_id)
    connection = scoped(ClockifyConnection, formdata.get("connection"))
    if formdata.get("carried_for", formdata.get("workspace")) != formdata.get("workspace"):
        # Filters carried back to the workspace step belong to that workspace; another one starts afresh.
        formdata = MultiDict({name: formdata.get(name, "") for name in ("connection", "workspace")})
    return invoice, connection, FiltersForm(formdata, linked_client=invoice.customer.clockify_client_id, today=_today())


def _filters_context(invoice, connection, client, form: FiltersForm, refresh: bool = False) -> dict:
    """The filters step: the chosen workspace with its clients, projects and members (cached)."""
    workspace = _workspace(connection, client, form.workspace.data or "")
    reference, fetched_at = imports.reference_data(connection, client, workspace.id, _max_age(), refresh=refresh)
    customer_client, client_id = invoice.customer.clockify_client_id, form.client.data
    unknown = imports.unknown_choices(reference, client_id, form.projects, form.members,
                                      linked_to=invoice.customer.name if client_id == customer_client else None)
    projects = [project for project in reference.projects if not client_id or project.client_id == client_id]
    narrowed = reference.members_on(projects) if client_id else None
    # A member chosen before the client changed stays listed (ticked): a filter is never dropped unseen.
    members = reference.members if narrowed is None else [
        member for member in reference.members if member in narrowed or member.id in form.members]
    return dict(connection=connection, workspace=workspace, reference=reference, fetched_at=fetched_at, form=form,
                projects=projects, members=members, members_narrowed=narrowed is not None,
                unknown_choice=unknown, known_client=any(client.id == client_id for client in reference.clients),
                customer_client=customer_client,
                steps=_steps(1, _back_urls(invoice, connection.id, workspace.id, form.args())[0]))


@bp.post("/preview")
@requires("import.run")
def preview(invoice_id: int):
    invoice, connection, form = _filters_request(invoice_id, request.form)
    try:
        with _client(connection) as client:
            context = _filters_context(invoice, connection, client, form)
            if not form.validate() or context["unknown_choice"]:
                return _render(invoice, "filters", 422, **context)
            with _unit_of_work():
                if form.link_client.data and form.client.data:
                    invoice.customer.clockify_client_id = form.client.data
                chosen = form.chosen(context["workspace"], invoice.currency, _zone())
                preview, entries = imports.start_preview(current_user, invoice, connection, chosen, client,
                                                         context["reference"])
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, connection)
    return _render(invoice, "preview", **_preview_context(invoice, preview, entries=entries))


def _preview_context(invoice, preview: ImportPreview, entries=None, options_form=None, shown: int = 0,
                     ticked: imports.Ticks | None = None, ticked_non_billable=frozenset(), **extra) -> dict:
    """The preview as a page shows it: the rows of its first ``shown`` stored pages (at least
    imports.SHOWN_PAGES; ``entries``: the first page, just loaded), the sums of the others (PagePart),
    and totals of what is ticked over every loaded entry."""
    filters = imports.Filters.from_dict(preview.filters)
    rate = imports.fallback_rate(current_business(), invoice)
    shown = max(shown, imports.SHOWN_PAGES)
    if entries is None or preview.per_member:  # member by member, every page is in at once: sum the rest
        view, parts = imports.shown_and_parts(preview, invoice.currency, _zone(), rate, shown)
    else:
        view, parts = imports.classify(preview, invoice.currency, _zone(), entries=entries), []
    ticked = ticked or imports.Ticks()
    options_form = options_form or LineOptionsForm.showing(imports.remembered_options(invoice.customer, filters), rate)
    amounts = entry_amounts(view.selectable + view.non_billable, invoice.currency, rate)
    return dict(preview=preview, filters=filters, view=view, options_form=options_form, parts=parts,
                shown_pages=min(shown, preview.pages_loaded), ticked=ticked, ticked_non_billable=ticked_non_billable,
                totals=_totals(view, amounts, ticked, ticked_non_billable, parts),
                change_url=_back_urls(invoice, preview.connection_id, preview.workspace_id, preview_args(filters))[1],
                steps=_preview_steps(invoice, preview, 2),
                unreadable=imports.unreadable_entries(preview, through=shown),
                labels_to_ask=unknown_labels(entry for entry, _ in view.skipped), currencies=sorted(list_currencies()),
                amounts=amounts, clockify_minor=hundredths_to_minor, **extra)


def _totals(view, amounts, ticked: imports.Ticks, ticked_non_billable, parts) -> imports.PagePart:
    """What is ticked, summed over every loaded entry: the rows shown as ticked, and the pages not
    shown when the rest is ticked (PagePart's fields; its number unused)."""
    chosen = [entry for entry in view.selectable if entry.id in ticked] + [
        entry for entry in view.non_billable if entry.id in ticked_non_billable]
    reported = [amounts[entry.id][3] for entry in chosen]
    rest = parts if ticked.rest_ticked else []
    return imports.PagePart(
        number=0, count=len(chosen) + sum(part.count for part in rest),
        seconds=sum(entry.seconds for entry in chosen) + sum(part.seconds for part in rest),
        amount_minor=sum(amounts[entry.id][0] for entry in chosen) + sum(part.amount_minor for part in rest),
        reported=sum(value for value in reported if value is not None) + sum(part.reported for part in rest),
        missing=sum(1 for value in reported if value is None) + sum(part.missing for part in rest))


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
    """The rest of the preview's report pages (htmx): every page the key's budget allows within one step
    (services.imports.load_pages), each page's rows written as it arrives, then the loader, which asks again
    if pages remain. Without JavaScript: the next page and the whole preview again. Ten of these at once
    for one preview fetch each page once: the others find it claimed and answer with nothing new (the
    loader asks again a moment later)."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    connection = scoped(ClockifyConnection, preview.connection_id)
    if htmx_request.htmx:
        return "".join(_more_rows(invoice, preview, connection)), 200
    try:
        with _client(connection) as client:
            fresh = imports.load_claimed_page(preview, client) or []
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, connection, step="preview", **_preview_context(invoice, preview))
    busy = not preview.complete and not fresh
    return _plan_response(invoice, preview, _sent_form(), 200, busy=busy)


def _more_rows(invoice, preview: ImportPreview, connection: ClockifyConnection) -> Iterator[str]:
    """Each page as it is stored: its rows while the preview shows so few pages (imports.SHOWN_PAGES), the
    lists apart growing with them, else its sums (a PagePart: every count and total covers every loaded
    entry, and "Show the next entries" shows its rows); then the loader. Each page's entries are let go
    once it is written: the answer holds text, not 66,000 entries."""
    rate, zone, loaded = imports.fallback_rate(current_business(), invoice), _zone(), False
    try:
        with _client(connection) as client:
            for stored in imports.load_pages(preview, client, _until()):
                loaded = True
                if preview.pages_loaded > imports.SHOWN_PAGES:
                    yield render_block(TEMPLATE, "part_more", part=imports.folded_part(
                        preview, preview.pages_loaded, stored, invoice.currency, rate))
                    continue
                view = imports.classify(preview, invoice.currency, zone, entries=stored.entries)
                yield _page_rows(invoice, preview, view, preview.pages_loaded, rate, zone, imports.Ticks())
    except (ClockifyError, DataKeyError) as error:
        current_app.logger.info("Clockify import step failed: %r", error)
        yield render_block(TEMPLATE, "loader", invoice=invoice, preview=preview, connection=connection,
                           load_problem=Problem.of(error, request.path), **({"appending": True} if loaded else {}))
        return
    yield render_block(TEMPLATE, "loader", invoice=invoice, zone=zone, appending=True, preview=preview,
                       busy=not preview.complete and not loaded)


def _page_rows(invoice, preview, view, number: int, rate, zone: str, ticked: imports.Ticks) -> str:
    """One stored page's rows, appended to the table and to the lists apart."""
    return render_blocks(TEMPLATE, ["new_rows", "apart_more"], invoice=invoice, zone=zone, appending=True,
                         preview=preview, new_rows=view.selectable, new_non_billable=view.non_billable,
                         new_skipped=view.skipped, new_elsewhere=view.elsewhere, ticked=ticked,
                         new_unreadable=imports.unreadable_entries(preview, number),
                         amounts=entry_amounts(view.selectable + view.non_billable, invoice.currency, rate))


@bp.post("/<token>/rows")
@requires("import.run")
def rows(invoice_id: int, token: str):
    """"Show the next entries": the rows of one more stored page (``show``, its number). htmx appends
    them, ticked as the rest of the selection is (``rest``), and drops that page's sums; without
    JavaScript the whole preview again, one page longer, with the boxes ticked as they were sent."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    number = request.form.get("show", "")
    number = int(number) if number.isascii() and number.isdigit() and len(number) < 6 else 0
    if not htmx_request.htmx:
        return _plan_response(invoice, preview, _sent_form(), 200, shown=number)
    if not 1 <= number <= preview.pages_loaded:
        return "", 204
    zone, rate = _zone(), imports.fallback_rate(current_business(), invoice)
    view = imports.classify(preview, invoice.currency, zone, entries=imports.page_entries(preview, number))
    ticked = imports.Ticks() if request.form.get("rest") != "unticked" else imports.Ticks(only=frozenset())
    return _page_rows(invoice, preview, view, number, rate, zone, ticked) + render_block(
        TEMPLATE, "part_more", part=imports.PagePart(number=number), shown_part=True), 200


def _sent_form() -> LineOptionsForm | None:
    """The preview's form as a page without JavaScript sent it with "Load the next 1,000" or "Show the next
    entries"; None when it was not sent."""
    return LineOptionsForm() if request.form.get("selection") else None


def _until() -> float:
    """When this request stops loading or confirming and shows its progress (the next one goes on)."""
    return time.monotonic() + current_app.config["HOURBILL_IMPORT_STEP_SECONDS"]


@bp.post("/<token>/currency")
@requires("import.run")
def currency(invoice_id: int, token: str):
    """Which ISO currency the workspace's ambiguous currency label means, said once and remembered."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    label, code = request.form.get("label", "")[:100], request.form.get("currency", "")
    if not label or not is_currency(code):
        return _render(invoice, "preview", 422, currency_error=_("Choose the currency the label stands for."),
                       **_preview_context(invoice, preview))
    with _unit_of_work():
        imports.answer_currency(preview.connection_id, preview.workspace_id, label, code)
    return _render(invoice, "preview", **_preview_context(invoice, preview))


@bp.post("/<token>/lines")
@requires("import.run")
def lines(invoice_id: int, token: str):
    """The lines the selection would become, shown before anything is saved. A selection too big for
    one request is planned over several (services.imports.plan_step): the progress asks for the next
    step at once (htmx) or with "Continue" (no JavaScript), sending the form again with its run."""
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    form, rate = _options_sent(invoice, preview)
    run = request.form.get("plan_run", "")
    run = run if run.isascii() and run.replace("-", "").replace("_", "").isalnum() and len(run) == 16 else imports.new_plan_run()
    try:
        with _unit_of_work():
            progress = imports.plan_step(preview, invoice, form.selection_of(), form.options(), rate, _zone(), run,
                                         _until())
    except imports.ImportProblem as error:
        return _plan_response(invoice, preview, form, 409, options_error=str(error))
    if not progress.done:
        return _plan_response(invoice, preview, form, 200, plan_progress=progress)
    return _plan_response(invoice, preview, form, 200, plan=progress.plan, options=form.options(),
                          reconciliation=progress.reconciliation)


def _plan_response(invoice, preview, form: LineOptionsForm | None, status, shown: int = 0, **context):
    """The lines or why not: the plan alone for htmx (with the form's errors, as its fields are not
    swapped), else the whole preview with the boxes ticked and the rate typed as they were sent (``form``
    None: as a new preview shows them)."""
    if htmx_request.htmx:
        # The indicator moves to Lines with a plan; without one it stays (and the preview may be gone: a
        # confirm that lost a race to "delete draft" must not read it again).
        steps = _preview_steps(invoice, preview, 3) if context.get("plan") else None
        return render_block(TEMPLATE, "plan", invoice=invoice, preview=preview, options_form=form, errors_here=True,
                            steps=steps, steps_oob=bool(steps), lines_listed=imports.LINES_LISTED,
                            **context), _swappable(status)
    selection = form.selection_of() if form else imports.Selection()  # no form: as a new preview shows
    page = {**_preview_context(invoice, preview, options_form=form, shown=shown or selection.shown_pages,
                               ticked=selection.ticked(preview) if form else None,
                               ticked_non_billable=frozenset(selection.non_billable_ids)),
            **context, "steps": _preview_steps(invoice, preview, 3 if context.get("plan") else 2),
            "lines_listed": imports.LINES_LISTED}
    return _render(invoice, "preview", status, **page)


def _options_sent(invoice, preview) -> tuple[LineOptionsForm, Decimal | None]:
    """The line options Show the lines or a confirm was sent with, once every page "all" needs is loaded,
    and the rate they bill at; a failed load or the form's errors are the answer at once (abort)."""
    form = LineOptionsForm()
    if form.selection.data in ("all", "shown") and not preview.complete:
        response = _load_rest(invoice, preview, form)
        if response:
            abort(make_response(response))
    if not form.validate():
        abort(make_response(_plan_response(invoice, preview, form, 422)))
    return form, form.chosen_rate(imports.fallback_rate(current_business(), invoice))


def _load_rest(invoice, preview, form: LineOptionsForm):
    """"All N matching" with pages not loaded yet: load them now (one call per 1000 entries)."""
    connection = scoped(ClockifyConnection, preview.connection_id)
    try:
        with _client(connection) as client:
            imports.load_all(preview, client, _until())
    except imports.ImportProblem as error:
        return _plan_response(invoice, preview, form, 409, options_error=str(error))
    except (ClockifyError, DataKeyError) as error:
        return _problem(invoice, error, connection)
    return None


@bp.post("/<token>/confirm")
@requires("import.run")
def confirm(invoice_id: int, token: str):
    invoice = scoped_draft(invoice_id)
    preview = _owned_preview(invoice, token)
    if preview.confirmed_at is not None:  # a double click: the first one did it (imports.confirm re-checks)
        return _plan_response(invoice, preview, LineOptionsForm(), 409, options_error=imports.ALREADY_CONFIRMED)
    form, rate = _options_sent(invoice, preview)
    try:
        with _unit_of_work():
            run = imports.start_confirm(preview, invoice, form.selection_of(), form.options(), rate)
    except imports.ImportProblem as error:
        _unless_deleted(invoice)
        return _plan_response(invoice, preview, form, 409, options_error=str(error))
    return _confirming(invoice, preview, run, lambda error: _plan_response(invoice, preview, form, 409,
                                                                           options_error=error))


@bp.post("/<token>/confirm/<run>")
@requires("import.run")
def confirm_more(invoice_id: int, token: str, run: str):
    """The next steps of a confirm too big for one request (its progress page asks, or "Continue"). A
    draft sent or deleted meanwhile is said so by the step (it locks the draft), in the wizard."""
    invoice = scoped(Invoice, invoice_id)
    preview = _owned_preview(invoice, token)
    return _confirming(invoice, preview, run, lambda error: _render(
        invoice, "confirming", 409, preview=preview, confirm_error=error, progress=None))


def _unless_deleted(invoice) -> None:
    """404 when the draft was deleted meanwhile (its previews with it): nothing is left to show."""
    invoice_id = inspect(invoice).identity[0]  # its id without loading it: a deleted row cannot be loaded
    if db.session.scalar(select(Invoice.id).where(Invoice.id == invoice_id)) is None:
        abort(404)


def _confirming(invoice, preview: ImportPreview, run: str, refused):
    """Steps of the confirm run (services.imports.confirm_step), each its own transaction, until it is
    done or this request's time is up: then the lines, or the progress with a way to go on. ``refused``
    answers a run that cannot go on, which is ended."""
    began, until = time.monotonic(), _until()
    try:
        while True:
            with _unit_of_work():
                progress = imports.confirm_step(preview, invoice, run, _zone(), until)
            now = time.monotonic()
            # The last step writes every line: it starts a request of its own unless there is time left.
            if progress.done or now >= until or (progress.planned == progress.pages and now - began > (until - began) / 2):
                break
    except imports.ImportProblem as error:
        _unless_deleted(invoice)
        with _unit_of_work():
            imports.abandon_confirm(preview, run)
        return refused(str(error))
    if not progress.done:
        return _render(invoice, "confirming", preview=preview, progress=progress)
    plan = progress.plan
    hours = format(plan.hours.normalize(), "f")
    message = _("Imported %(entries)s as %(lines)s, %(hours)s h.",
                entries=ngettext("%(num)d entry", "%(num)d entries", plan.entry_count),
                lines=ngettext("%(num)d line", "%(num)d lines", plan.line_count), hours=hours)
    if plan.needs_rate:
        message += " " + _("Some lines have no rate yet: set it on the line.")
    if htmx_request.htmx:
        html = render_block(TEMPLATE, "done", invoice=invoice, step="done", message=message, zone=_zone())
        html += render_block("invoices/show.html", "lines", invoice=invoice, totals=invoicing.totals(invoice),
                             add_form=LineForm(formdata=None), lines_oob=True, today=_today())
        return html, 200
    flash(message, "success")
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="lines"), code=303)
