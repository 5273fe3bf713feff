"""The Clockify import behind the wizard: cached reference data, date windows, previews kept
server-side, what is selectable, and confirming lines in one transaction.

No Flask request here; the caller opens the Clockify client (services.connections) and passes it.
Functions here add and flush; the request commits or rolls back its unit of work. Two deliberate
exceptions commit here, each saying so where it does: ``cached`` (what was fetched is kept) and
``load_claimed_page`` (the claim is seen by other requests before Clockify is asked)."""
from __future__ import annotations

import functools
import hashlib
import itertools
import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _, lazy_gettext as _l, ngettext
import msgspec
from sqlalchemy import JSON, Text, TypeDecorator, cast, func, insert, null, or_, select, text, type_coerce, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import (Business, ClockifyCache, ClockifyCurrencyLabel, ClockifyConnection, Customer, ImportPreview,
                    ImportPreviewPage, Invoice, LineItem, User, utcnow)
from services import collector
from services.clockify import PAGE_SIZE, ClockifyClient, Forbidden, ReportRangeTooLong
from services.clockify_types import ReferenceData, TimeEntry, Workspace, from_plain, plain_json, to_plain
from services.invoice_document import locale as document_locale
from services.invoicing import InvoiceChanged, lock_draft, next_position
from services.lines import (ImportPlan, LineOptions, LinePlanner, Reconciler, Reconciliation, entry_amount_minor,
                            entry_amounts, entry_rate, fold, folded_terms, hundredths_reported, resolve_currencies,
                            skip_reason, start_order)
from services.money import from_minor, line_amount_minor, to_minor

FREE_PLAN_WINDOW_DAYS = 31  # a Free workspace's report covers at most 31 days per request
ALREADY_CONFIRMED = _l("These entries were already imported (the form was sent twice). The invoice shows them.")
STILL_LOADING = _l("Clockify entries are still loading for this preview (another tab?): try again in a moment.")
LOAD_CLAIM = timedelta(seconds=120)  # longer than a page's calls with their retries may take


class ImportProblem(Exception):
    """Something the user must know about an import; the message says what happened and what to do."""


# --- cached reference data -------------------------------------------------------------------------


def cached(connection: ClockifyConnection, key: str, fetch: Callable[[], Any], max_age: timedelta,
           refresh: bool = False) -> tuple[Any, datetime]:
    """A connection's cached copy of ``fetch()`` (JSON-ready), fetched again when older than max_age
    or when asked to. Returns the data and when it was fetched.

    Two requests may find the cache empty at once and both fetch: the write is an upsert, so the later
    one overwrites the row instead of tripping the unique key. It is committed at once, as its own
    unit of work: what was fetched is worth keeping (a Free workspace has 30 calls an hour) even when
    the rest of the request fails, and the row lock is not held while the request goes on asking
    Clockify. (The wizard's GET steps rely on this commit; they commit nothing themselves.)"""
    row = db.session.execute(select(ClockifyCache.payload, ClockifyCache.fetched_at)
                             .where(ClockifyCache.connection_id == connection.id, ClockifyCache.key == key)).first()
    now = utcnow()
    if row is not None and not refresh and now - row.fetched_at < max_age:
        return row.payload, row.fetched_at
    payload = fetch()
    upsert = _dialect_insert()(ClockifyCache).values(connection_id=connection.id, key=key, payload=payload,
                                                     fetched_at=now)
    db.session.execute(upsert.on_conflict_do_update(
        index_elements=[ClockifyCache.connection_id, ClockifyCache.key],
        set_={"payload": upsert.excluded.payload, "fetched_at": upsert.excluded.fetched_at}))
    db.session.commit()  # deliberate exception: kept even if the request fails later (see above)
    return payload, now


def _dialect_insert():
    """INSERT ... ON CONFLICT for the database in use (SQLite and PostgreSQL spell it alike)."""
    from sqlalchemy.dialects import postgresql, sqlite

    return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}[db.session.get_bind().dialect.name]


def workspaces(connection, client: ClockifyClient, max_age: timedelta, refresh=False) -> list[Workspace]:
    data, _ = cached(connection, "workspaces", lambda: to_plain(client.workspaces()), max_age, refresh)
    return [from_plain(Workspace, item) for item in data]


def reference_data(connection, client: ClockifyClient, workspace_id: str, max_age: timedelta,
                   refresh=False) -> tuple[ReferenceData, datetime]:
    data, fetched_at = cached(connection, f"reference:{workspace_id}",
                              lambda: to_plain(client.fetch_reference_data(workspace_id)), max_age, refresh)
    return from_plain(ReferenceData, data), fetched_at


def unknown_choices(reference: ReferenceData, client_id: str, project_ids: Iterable[str],
                    member_ids: Iterable[str], linked_to: str | None = None) -> str | None:
    """What the user chose (or the customer's linked client, ``linked_to`` naming the customer) that the
    workspace's lists do not hold, as a message; None when everything is known. Such a filter is never
    dropped: the import would widen to every client, project or member without a word."""
    problems = []
    if client_id and client_id not in {client.id for client in reference.clients}:
        problems.append(_("the Clockify client linked to %(name)s", name=linked_to) if linked_to else _("the chosen client"))
    unknown_projects = set(project_ids) - {project.id for project in reference.projects}
    if unknown_projects:
        problems.append(ngettext("%(num)d chosen project", "%(num)d chosen projects", len(unknown_projects)))
    unknown_members = set(member_ids) - {member.id for member in reference.members}
    if unknown_members:
        problems.append(ngettext("%(num)d chosen team member", "%(num)d chosen team members", len(unknown_members)))
    if not problems:
        return None
    return _("Clockify's lists for this workspace do not hold %(what)s (deleted, or not listed?). Refresh the lists, or "
             "choose again: Hourbill will not import without that filter.", what=_(" and ").join(problems))


# --- dates ----------------------------------------------------------------------------------------


def month_range(today: date, months_back: int) -> tuple[date, date]:
    year, month = today.year, today.month - months_back
    while month < 1:
        year, month = year - 1, month + 12
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


DATE_RANGES = {"this_month": _l("This month"), "last_month": _l("Last month"), "custom": _l("Custom range")}


def date_range(preset: str, start: str, end: str, today: date) -> tuple[date, date]:
    """The days a preset (DATE_RANGES) or a custom range (ISO dates, as typed) covers; ValueError with a
    message for the user when the custom range cannot be imported."""
    if preset == "this_month":
        return month_range(today, 0)
    if preset == "last_month":
        return month_range(today, 1)
    try:
        first, last = date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise ValueError(_("Enter both dates of the custom range, like 2026-10-01.")) from None
    if first > last:
        raise ValueError(_("The range starts after it ends: swap the dates."))
    if first.year < 2000 or last.year > 2100:
        raise ValueError(_("Clockify keeps time from 2000 on: choose dates between 2000 and 2100."))
    if (last - first).days > 366:
        raise ValueError(_("Import at most a year at a time."))
    return first, last


def windows(start: date, end: date, plan: str | None, split: bool = False) -> list[tuple[date, date]]:
    """The report windows for a date range: one, or 31-day pieces on a Free workspace or when Clockify
    refused a longer window (``split``: its 400 says so whatever the plan is called)."""
    if not split and (plan or "").upper() != "FREE":
        return [(start, end)]
    pieces, cursor = [], start
    while True:
        last = end if (end - cursor).days < FREE_PLAN_WINDOW_DAYS else cursor + timedelta(days=FREE_PLAN_WINDOW_DAYS - 1)
        pieces.append((cursor, last))
        if last == end:
            return pieces
        cursor = last + timedelta(days=1)


# --- previews -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What the user asked for, as sent to Clockify (never filtered after download but for the
    fallback path)."""

    workspace_id: str
    currency: str
    start: date
    end: date
    time_zone: str
    client_ids: tuple[str, ...] = ()
    project_ids: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    billable_only: bool = True
    hide_imported: bool = True
    plan: str | None = None
    preset: str = "custom"  # the date range as chosen: this_month, last_month or custom
    report_round_minutes: int = 0  # how the workspace's reports round time (Workspace.rounding), 0: not
    report_round_direction: str = "up"

    def as_dict(self) -> dict:
        return {**to_plain(self), "start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict) -> Filters:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        known.update(start=date.fromisoformat(data["start"]), end=date.fromisoformat(data["end"]))
        for name in ("client_ids", "project_ids", "user_ids"):
            known[name] = tuple(known.get(name) or ())
        return cls(**known)


def start_preview(user: User, invoice: Invoice, connection: ClockifyConnection, filters: Filters,
                  client: ClockifyClient, reference: ReferenceData) -> tuple[ImportPreview, list[TimeEntry]]:
    """A new preview with its first page of entries (one report call for up to 1000 entries); returns
    it with those entries, so the page shows them without reading them back. The user's older
    unconfirmed previews beyond PREVIEWS_KEPT_PER_USER go (a tab still showing one is told it expired)."""
    pieces = [[a.isoformat(), b.isoformat()] for a, b in windows(filters.start, filters.end, filters.plan)]
    preview = ImportPreview(token=secrets.token_urlsafe(32), business_id=invoice.business_id, user_id=user.id,
                            invoice_id=invoice.id,
                            connection_id=connection.id, workspace_id=filters.workspace_id, filters=filters.as_dict(),
                            windows=pieces, cursor_window=0, cursor_page=1, per_member=False,
                            entry_count=0, pages_loaded=0, complete=False)
    db.session.add(preview)
    try:
        entries = load_next_page(preview, client)
    except Forbidden:
        # The report is refused (a plan or a permission): read each member's entries instead.
        entries = _load_per_member(preview, client, filters, reference,
                                   connection.clockify_time_zone or filters.time_zone)
    trim_previews(user.id)  # one user keeps a few unconfirmed previews: this one and the newest others
    return preview, entries


def claim_next_page(preview: ImportPreview) -> bool:
    """Claim the loading of the preview's next page (a guarded UPDATE): False when it is complete or
    another request is loading it now. ``load_claimed_page`` commits the claim before asking Clockify,
    so that a second "load more" of the same preview sees it; ``load_next_page`` releases it with the page."""
    now = utcnow()
    claimed = db.session.execute(
        update(ImportPreview).where(ImportPreview.id == preview.id, ImportPreview.complete.is_(False),
                                    or_(ImportPreview.loading_until.is_(None), ImportPreview.loading_until < now))
        .values(loading_until=now + LOAD_CLAIM).execution_options(synchronize_session=False)).rowcount
    return claimed == 1


def release_claim(preview: ImportPreview) -> None:
    """Give up a claim whose page could not be loaded (Clockify failed): the next request may retry."""
    db.session.execute(update(ImportPreview).where(ImportPreview.id == preview.id)
                       .values(loading_until=None).execution_options(synchronize_session=False))


@dataclass(frozen=True)
class StoredPage:
    """A report page as it was stored: its entries, their fold (``_add_page``) and how many were unreadable."""

    entries: list[TimeEntry]
    digest: dict
    unreadable: int = 0


def load_next_page(preview: ImportPreview, client: ClockifyClient) -> list[TimeEntry]:
    """One more report page into the preview (one call); marks it complete after the last. The caller
    holds the claim (``claim_next_page``), or made the preview in this transaction. A window's first page
    asks for the report's totals too, so the preview knows how many pages the window has."""
    stored = _load_next(preview, client)
    return [] if stored is None else stored.entries


def _load_next(preview: ImportPreview, client: ClockifyClient) -> StoredPage | None:
    if preview.complete or preview.cursor_window is None:
        preview.loading_until = None
        return None
    filters = Filters.from_dict(preview.filters)
    window, page, all_windows = preview.cursor_window, preview.cursor_page, list(preview.windows)
    start, end = (date.fromisoformat(day) for day in all_windows[window])
    ask = _asking(client, filters, page)
    try:
        result = ask(start=start, end=end)
    except ReportRangeTooLong:
        if (end - start).days < FREE_PLAN_WINDOW_DAYS or page != 1:
            raise
        # The 31-day limit, whatever the plan's name: this window becomes 31-day pieces, then ask again.
        pieces = [[a.isoformat(), b.isoformat()] for a, b in windows(start, end, filters.plan, split=True)]
        all_windows = all_windows[:window] + pieces + all_windows[window + 1:]
        start, end = (date.fromisoformat(day) for day in pieces[0])
        result = ask(start=start, end=end)
    preview.windows = all_windows
    return _store_page(preview, result)


def _asking(client: ClockifyClient, filters: Filters, page: int):
    """The report call for one page of the preview's filters (a window's first page counts the entries)."""
    return functools.partial(
        client.detailed_report_page, filters.workspace_id, time_zone=filters.time_zone, currency=filters.currency,
        page=page, client_ids=filters.client_ids or None, project_ids=filters.project_ids or None,
        user_ids=filters.user_ids or None, billable=True if filters.billable_only else None, totals=page == 1)


def _store_page(preview: ImportPreview, result) -> StoredPage:
    """Keep the report page at the preview's cursor and move the cursor on: the next page while the
    window has more (by its count, or a full page beyond it), else the next window, else complete."""
    fresh = list(result.entries)
    unreadable = [to_plain(each) for each in getattr(result, "unreadable", ())]
    digest = _add_page(preview, fresh, unreadable)
    window, page = preview.cursor_window, preview.cursor_page
    if page == 1:
        total = getattr(result, "total", None)
        preview.window_pages = None if total is None else max(1, -(-total // PAGE_SIZE))
    if (preview.window_pages is not None and page < preview.window_pages) or result.has_more:
        cursor = (window, page + 1)
    elif window + 1 < len(preview.windows):
        cursor = (window + 1, 1)
    else:
        cursor = (None, None)
    preview.cursor_window, preview.cursor_page = cursor
    preview.complete = preview.cursor_window is None
    preview.loading_until = None
    return StoredPage(fresh, digest, len(unreadable))


def load_claimed_page(preview: ImportPreview, client: ClockifyClient) -> list[TimeEntry] | None:
    """The preview's next page under a claim: None when it is not this request's to load (complete, or
    claimed by another request now). Deliberate exception to "the request commits": the claim is
    committed before Clockify is asked, so a second "load more" of the same preview sees it, and the
    page is committed with the claim's release. When loading fails, what it began is rolled back and
    the claim released (committed), so the next request may retry; a claim that had expired and was
    taken over meanwhile (the other request stored the page) gives no new entries."""
    if not claim_next_page(preview):
        db.session.rollback()
        return None
    db.session.commit()
    try:
        fresh = load_next_page(preview, client)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return []
    except BaseException:
        db.session.rollback()
        release_claim(preview)
        db.session.commit()
        raise
    return fresh


AHEAD = 10  # report pages asked for at once: a whole second of the key's budget, so that after a gap with no call
# in flight (the first page rendered, a browser round trip between `more` requests) the calls the window allows
# go out at once and make it up, rather than AHEAD at a time (4 left ~0.3 s of each gap unused)
# Threads in the request rather than a job on a queue: the calls wait on the network and the key's budget
# (the interpreter is free meanwhile for the request thread, which stores and sums the page before), the
# request already holds the preview's claim and answers within HOURBILL_IMPORT_STEP_SECONDS, and at most
# AHEAD pages are in memory; a queue would add a worker and a broker for seconds of work (preview-floor).


def load_pages(preview: ImportPreview, client: ClockifyClient, until: float) -> Iterator[StoredPage]:
    """The preview's next pages, each committed as it is stored and then yielded (StoredPage),
    until the preview is complete or ``until`` (time.monotonic) has passed; the caller asks again for
    the rest. Nothing when another request is loading this preview now (``claim_next_page``).

    Once a window's first page has said how many pages it has (the report's totals), the pages after
    it are asked for AHEAD at a time, each call waiting its turn in the key's shared budget
    (services/rate_budget.py), so the pages arrive at the pace of Clockify's limit rather than one
    browser round trip after another; they are stored in order, so the cursor stays one place. Calls
    already under way when time is up are still stored (they were paid for). The claim is renewed with
    each page and released with the last; when a call fails, the pages stored before it stay, the claim
    is released and the error raised (the next request retries from there)."""
    if not claim_next_page(preview):
        db.session.rollback()
        return
    db.session.commit()
    filters = Filters.from_dict(preview.filters)
    in_flight: dict[tuple[int, int], Future] = {}
    stored, began = 0, time.monotonic()  # one page at least, however short the time: every request makes progress
    try:
        with ThreadPoolExecutor(max_workers=AHEAD) as pool:
            while not preview.complete:
                known, window, page = preview.window_pages, preview.cursor_window, preview.cursor_page
                # A page asked for now is stored (and its sums shown) after those under way: ask for each
                # only while that still ends in time, at the pace pages have been taking (AHEAD asked at
                # once near the end ran a step seconds past its time on a loaded machine).
                pace = (time.monotonic() - began) / stored if stored else 0.0
                in_time = time.monotonic() + pace * len(in_flight) < until or not stored
                if known is not None and page > 1 and in_time:
                    start, end = (date.fromisoformat(day) for day in preview.windows[window])
                    for ahead in range(page, min(known, page + AHEAD - 1) + 1):
                        if (window, ahead) in in_flight:
                            continue
                        if stored and time.monotonic() + pace * (len(in_flight) + 1) >= until:
                            break
                        in_flight[window, ahead] = pool.submit(_asking(client, filters, ahead), start=start, end=end)
                if (window, page) in in_flight:
                    result = in_flight.pop((window, page)).result()
                    fresh = _store_page(preview, result)
                elif in_time:  # a window's first page, or a page past its count
                    fresh = _load_next(preview, client) or StoredPage([], {})
                else:
                    break
                if not preview.complete:
                    preview.loading_until = utcnow() + LOAD_CLAIM
                db.session.commit()
                stored += 1
                yield fresh
                if not in_flight and time.monotonic() >= until:
                    break
            for future in in_flight.values():
                future.cancel()
    except BaseException:  # a failed call, or the reader gone (GeneratorExit)
        db.session.rollback()
        release_claim(preview)
        db.session.commit()
        raise
    if not preview.complete:
        release_claim(preview)
        db.session.commit()


def load_all(preview: ImportPreview, client: ClockifyClient, until: float) -> None:
    """Every page not loaded yet (``load_pages``) before ``until``. ImportProblem when another request
    is loading this preview's pages now, or when time ran out first (the next request goes on)."""
    for _page in load_pages(preview, client, until):
        pass
    if not preview.complete:
        raise ImportProblem(str(STILL_LOADING) if preview.loading_until else
                            _("Loaded %(count)s entries from Clockify so far: send the form again to load the rest.",
                              count=preview.entry_count))


def _load_per_member(preview, client, filters: Filters, reference: ReferenceData,
                     account_zone: str) -> list[TimeEntry]:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(filters.time_zone)
    start = datetime.combine(filters.start, datetime.min.time(), zone)
    end = datetime.combine(filters.end + timedelta(days=1), datetime.min.time(), zone)
    projects = {project.id: project for project in reference.projects}
    members = [member for member in reference.members if not filters.user_ids or member.id in filters.user_ids]
    names = {member.id: member.name for member in reference.members}
    entries = []
    for member in members:
        for entry in client.user_time_entries(filters.workspace_id, member.id, start, end,
                                              account_time_zone=account_zone):
            project = projects.get(entry.project_id)
            if filters.project_ids and entry.project_id not in filters.project_ids:
                continue
            if filters.client_ids and (project is None or project.client_id not in filters.client_ids):
                continue
            if filters.billable_only and not entry.billable:
                continue
            entries.append(_with_names(entry, project, names.get(entry.user_id)))
    # Stored as pages of a report's size, so the preview lists the first page's rows and sums the others
    # (PagePart), as it does a report's: one page of 66,000 rows is no page a browser can show (issue 15).
    for start in range(0, max(len(entries), 1), PAGE_SIZE):
        _add_page(preview, entries[start:start + PAGE_SIZE])
    preview.pages_loaded = max(preview.pages_loaded, len(members))
    preview.cursor_window = preview.cursor_page = None
    preview.per_member = True
    preview.complete = True
    return entries[:PAGE_SIZE]


def _with_names(entry: TimeEntry, project, user_name: str | None) -> TimeEntry:
    from dataclasses import replace

    return replace(entry, user_name=user_name or entry.user_name,
                   project_name=project.name if project else entry.project_name,
                   client_id=project.client_id if project else entry.client_id,
                   client_name=project.client_name if project else entry.client_name)


class _JSONText(TypeDecorator):
    """A JSON column's value that is JSON text already (plain_json): written as it is."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect):
        return None


def _add_page(preview: ImportPreview, entries: list[TimeEntry], unreadable: list[dict] | None = None) -> dict:
    if preview.id is None:
        db.session.flush()
    preview.pages_loaded += 1
    preview.entry_count += len(entries)
    digest = fold(entries, preview.filters["time_zone"])
    db.session.execute(insert(ImportPreviewPage).values(
        preview_id=preview.id, number=preview.pages_loaded, entries=type_coerce(plain_json(entries), _JSONText()),
        unreadable=unreadable or None, digest=type_coerce(plain_json(digest), _JSONText())))
    return digest


def _digest(preview: ImportPreview, number: int, zone: str) -> tuple[dict, bool]:
    """Stored page ``number``'s entries folded (services.lines.fold) for ``zone``, and whether the page keeps
    a fold: as kept when the page was stored, or folded now (a page stored before folds were kept, or a
    plan in another zone). Planning lines from each entry decoded, classified and planned one by one took
    most of "Show the lines" and of the confirm on a 66,000-entry quarter (issue 15), with no Clockify
    call in either."""
    kept = db.session.scalar(select(cast(ImportPreviewPage.digest, Text)).where(
        ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == number))
    digest = None if kept is None else msgspec.json.decode(kept)  # msgspec reads it in half json's time
    if digest is not None and digest.get("zone") == zone:
        return digest, True
    items = db.session.scalar(select(ImportPreviewPage.entries).where(
        ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == number)) or []
    return fold((from_plain(TimeEntry, item) for item in items), zone), digest is not None


_BILLED = {  # the entries of a preview's kept folds that are billed already, in one statement
    "sqlite": "SELECT billed.entry_id FROM import_preview_pages AS page, json_each(page.digest, '$.ids') AS item, "
              "imported_entries AS billed WHERE page.preview_id = :preview AND billed.business_id = :business "
              "AND billed.workspace_id = :workspace AND billed.entry_id = item.value",
    "postgresql": "SELECT billed.entry_id FROM import_preview_pages AS page CROSS JOIN LATERAL "
                  "json_array_elements_text(page.digest::json -> 'ids') AS item(value) JOIN imported_entries AS billed "
                  "ON billed.entry_id = item.value WHERE page.preview_id = :preview AND billed.business_id = :business "
                  "AND billed.workspace_id = :workspace",
}


@dataclass(frozen=True)
class Asked:
    """What a plan of the preview's stored pages depends on besides the options: the invoice's currency,
    the zone, what is selected (``selected``'s rules, as ``_choosing`` gives them) and the currency answers."""

    currency: str
    zone: str
    billable: Callable[[str], bool]
    non_billable: Callable[[str], bool]
    ticked: frozenset[str] | None
    answers: dict[str, str]
    billed: set[str]  # the entries of the preview's kept folds billed already


def _asked(preview: ImportPreview, invoice: Invoice, selection: Selection, zone: str) -> Asked:
    billable, non_billable, ticked = _choosing(selection.mode, selection.entry_ids, selection.excluded,
                                               selection.shown(preview), selection.non_billable_ids)
    billed = set(db.session.scalars(text(_BILLED[db.session.get_bind().dialect.name]), {
        "preview": preview.id, "business": preview.business_id, "workspace": preview.workspace_id}))
    return Asked(invoice.currency, zone, billable, non_billable, ticked,
                 currency_answers(preview.connection_id, preview.workspace_id), billed)


def _plan_page(preview: ImportPreview, number: int, asked: Asked, planner: LinePlanner,
               reconciler: Reconciler | None, seen: set[str]) -> None:
    """Stored page ``number``'s selected entries (those not in ``seen``) into the planner and the
    reconciler, from the page's digest (``plan_digest``)."""
    digest, kept = _digest(preview, number, asked.zone)
    plan_digest(digest, asked, planner, reconciler, seen,
                lambda ids: asked.billed & set(ids) if kept else _billed(preview.business_id, preview.workspace_id, ids))


def plan_digest(digest: dict, asked: Asked, planner: LinePlanner, reconciler: Reconciler | None, seen: set[str],
                billed_elsewhere: Callable[[list[str]], set[str]]) -> None:
    """A page's folded entries (``_digest``) that are selected into the planner and the reconciler:
    ``classify`` and ``selected``'s rules, for the entries not in ``seen`` (which this adds to);
    ``billed_elsewhere`` says which of the ids are on another invoice. The entries come from the preview
    the server fetched, never from the browser."""
    samples = resolve_currencies(folded_terms(digest, planner.terms), asked.answers)
    ids, fresh = digest["ids"], None  # a fold holds each id once
    if not seen.isdisjoint(ids):  # pages overlap (seldom): the entries of earlier pages are left out
        ids = [entry_id for entry_id in ids if entry_id not in seen]
        fresh = set(ids)
    seen.update(ids)
    elsewhere = billed_elsewhere(ids)
    if asked.ticked is not None:
        _refuse_taken(len(elsewhere & asked.ticked))
    wanted = [None if skip_reason(sample, asked.currency, planner.said) else
              asked.billable if sample.billable else asked.non_billable for sample in samples]
    chosen = [record for record in digest["records"] if (want := wanted[record[8]]) is not None and want(record[0])]
    if fresh is not None or elsewhere:
        chosen = [record for record in chosen if (fresh is None or record[0] in fresh) and record[0] not in elsewhere]
    placed = planner.add_folded(digest, samples, chosen)
    if reconciler is not None:
        reconciler.add_folded(samples, placed)


def unreadable_entries(preview: ImportPreview, page: int | None = None, through: int | None = None) -> list[dict]:
    """The entries Clockify sent that could not be read ({"id", "reason"}): over every loaded page, on
    one page, or on pages 1..``through``."""
    query = select(ImportPreviewPage.unreadable).where(ImportPreviewPage.preview_id == preview.id)
    if page is not None:
        query = query.where(ImportPreviewPage.number == page)
    if through is not None:
        query = query.where(ImportPreviewPage.number <= through)
    pages = db.session.scalars(query.order_by(ImportPreviewPage.number))
    return [item for page in pages for item in page or ()]


def preview_pages(preview: ImportPreview, last: int | None = None) -> Iterator[list[TimeEntry]]:
    """The preview's entries page by page (through page ``last``), one stored page in memory at a time (a
    66,000-entry quarter is 66 pages), each entry once (an entry repeated on two pages is yielded with the first)."""
    numbers = db.session.scalars(select(ImportPreviewPage.number).where(
        ImportPreviewPage.preview_id == preview.id, *([ImportPreviewPage.number <= last] if last is not None else []))
        .order_by(ImportPreviewPage.number)).all()
    seen: set[str] = set()
    for number in numbers:
        items = db.session.scalar(select(ImportPreviewPage.entries).where(
            ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == number)) or []
        page = []
        for item in items:
            if item["id"] not in seen:
                seen.add(item["id"])
                page.append(from_plain(TimeEntry, item))
        del items
        yield page


def page_entries(preview: ImportPreview, number: int) -> list[TimeEntry]:
    """The entries of stored page ``number`` that no page before it holds (pages may overlap)."""
    earlier = ids_through_page(preview, number - 1)
    items = db.session.scalar(select(ImportPreviewPage.entries).where(
        ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == number)) or []
    return [from_plain(TimeEntry, item) for item in items if item["id"] not in earlier]


def preview_entries(preview: ImportPreview) -> list[TimeEntry]:
    """Every entry of the preview's pages, each once, in one list."""
    return [entry for page in preview_pages(preview) for entry in page]


_AMONG = {  # the billed entries among ids sent as one JSON array: one parameter, not one per id
    "sqlite": "SELECT entry_id, invoice_id FROM imported_entries WHERE business_id = :business AND "
              "workspace_id = :workspace AND entry_id IN (SELECT value FROM json_each(:ids))",
    "postgresql": "SELECT entry_id, invoice_id FROM imported_entries WHERE business_id = :business AND "
                  "workspace_id = :workspace AND entry_id IN (SELECT json_array_elements_text(CAST(:ids AS json)))",
}


def _billed_among(business_id: int, workspace_id: str, entry_ids: list[str]) -> list[tuple[str, int]]:
    """(entry id, invoice id) of these entries that are billed already. The ids go as one JSON text: an IN
    of a bound parameter per id cost a 1,000-entry preview page ~5 ms of SQLAlchemy's compiling (issue 15)."""
    if not entry_ids:
        return []
    return db.session.execute(text(_AMONG[db.session.get_bind().dialect.name]), {
        "business": business_id, "workspace": workspace_id, "ids": msgspec.json.encode(entry_ids).decode()}).all()


def imported_elsewhere(business_id: int, workspace_id: str, entry_ids: Iterable[str]) -> dict[str, Invoice]:
    """Entry id -> the invoice it is already billed on, for these entries."""
    rows = _billed_among(business_id, workspace_id, list(entry_ids))
    if not rows:
        return {}
    invoices = {invoice.id: invoice for invoice in db.session.scalars(
        select(Invoice).where(Invoice.id.in_({invoice_id for _, invoice_id in rows})))}
    return {entry_id: invoices[invoice_id] for entry_id, invoice_id in rows}


def _billed(business_id: int, workspace_id: str, entry_ids: list[str]) -> set[str]:
    """Which of these entries are billed already (``imported_elsewhere`` without the invoices)."""
    return {entry_id for entry_id, _ in _billed_among(business_id, workspace_id, entry_ids)}


def ids_through_page(preview: ImportPreview, number: int) -> set[str]:
    """The ids of the entries on the preview's pages 1..number: what a page rendered then showed."""
    return _ids_on_pages(preview, 1, number)


def _ids_on_pages(preview: ImportPreview, first: int, last: int) -> set[str]:
    """The ids of the entries on the preview's pages first..last, read out of the stored JSON by the
    database (a 66,000-entry quarter's ids without decoding 66 pages in Python)."""
    if last < first:
        return set()
    each = {"sqlite": "SELECT json_extract(item.value, '$.id') FROM import_preview_pages AS page, "
                      "json_each(page.entries) AS item",
            "postgresql": "SELECT item ->> 'id' FROM import_preview_pages AS page, "
                          "json_array_elements(page.entries::json) AS item"}[db.session.get_bind().dialect.name]
    rows = db.session.execute(text(each + " WHERE page.preview_id = :preview AND page.number BETWEEN :first AND :last"),
                              {"preview": preview.id, "first": first, "last": last})
    return {entry_id for entry_id, in rows}


# The preview shows the rows of its first stored pages only (SHOWN_PAGES at first, one more on each "Show
# the next entries"): a 66,000-entry quarter rendered whole took most of its preview's server time and
# made a page no browser scrolls. What every count, total and "all N matching" says still covers every loaded entry:
# each page not shown is a PagePart, its sums.
SHOWN_PAGES = 1
LINES_LISTED = 500  # "Show the lines" lists the first lines; its totals (ImportPlan's sums) count every line


@dataclass(frozen=True)
class PagePart:
    """The sums of one stored page whose rows are not shown: its billable entries (count, seconds, amount
    in minor units, Clockify's report amount in hundredths and how many have none) and how many of its
    entries each list apart holds."""

    number: int
    count: int = 0
    seconds: int = 0
    amount_minor: int = 0
    reported: int = 0
    missing: int = 0
    non_billable: int = 0
    skipped: int = 0
    elsewhere: int = 0
    unreadable: int = 0

    @classmethod
    def of(cls, number: int, view: PreviewView, amounts: dict, unreadable: int = 0) -> PagePart:
        reported = [amounts[entry.id][3] for entry in view.selectable]
        return cls(number=number, count=len(view.selectable), seconds=sum(entry.seconds for entry in view.selectable),
                   amount_minor=sum(amounts[entry.id][0] for entry in view.selectable),
                   reported=sum(value for value in reported if value is not None),
                   missing=sum(1 for value in reported if value is None), non_billable=len(view.non_billable),
                   skipped=len(view.skipped), elsewhere=len(view.elsewhere), unreadable=unreadable)


def folded_part(preview: ImportPreview, number: int, stored: StoredPage, currency: str,
                fallback_rate: Decimal | None) -> PagePart:
    """``PagePart.of`` the page's entries as ``classify`` sorts them, summed from the page's fold: what
    decides a list apart, the rate and the report's currency is worked out once per kind of entry (the
    fold's terms), and each record adds its seconds and amounts. Classifying and pricing each entry of
    every page the preview does not list took a fifth of the app's CPU a report page (issue 15)."""
    digest = stored.digest
    if not digest.get("records"):
        return PagePart(number=number, unreadable=stored.unreadable)
    samples = resolve_currencies(folded_terms(digest), currency_answers(preview.connection_id, preview.workspace_id))
    elsewhere = _billed(preview.business_id, preview.workspace_id, digest["ids"])
    fallback_minor = to_minor(fallback_rate, currency) if fallback_rate is not None else 0
    said: dict = {}
    # Per term: None (listed apart as skipped), False (non-billable), else (rate, report currency label).
    kinds = [None if skip_reason(sample, currency, said) else sample.billable and (
             entry_rate(sample, currency, fallback_minor)[0], None if sample.amount is None else sample.amount.currency)
             for sample in samples]
    amounts: dict[tuple[int, int], int] = {}  # each (seconds, rate) priced once, as entry_amounts prices it
    count = seconds = amount = reported = missing = skipped = non_billable = billed = 0
    for record in digest["records"]:
        if record[0] in elsewhere:
            billed += 1
            continue
        kind = kinds[record[8]]
        if kind is None:
            skipped += 1
        elif kind is False:
            non_billable += 1
        else:
            rate, label = kind
            took = record[2]
            price = amounts.get((took, rate))
            if price is None:
                price = amounts[took, rate] = entry_amount_minor(took, rate)
            count, seconds, amount = count + 1, seconds + took, amount + price
            hundredths = hundredths_reported(record[4], label, currency)
            if hundredths is None:
                missing += 1
            else:
                reported += hundredths
    return PagePart(number=number, count=count, seconds=seconds, amount_minor=amount, reported=reported,
                    missing=missing, non_billable=non_billable, skipped=skipped, elsewhere=billed,
                    unreadable=stored.unreadable)


def shown_and_parts(preview: ImportPreview, currency: str, time_zone: str, fallback_rate: Decimal | None,
                    shown: int) -> tuple[PreviewView, list[PagePart]]:
    """The entries of pages 1..``shown`` sorted for the page, and a PagePart for each page after them,
    one stored page in memory at a time."""
    entries, parts = [], []
    unreadable = _unreadable_counts(preview)
    summed = _page_sums(preview, currency, fallback_rate, shown, unreadable)
    for number, page in enumerate(preview_pages(preview, last=None if summed is None else shown), start=1):
        if number <= shown:
            entries += page
        elif summed is None:
            view = classify(preview, currency, time_zone, entries=page)
            parts.append(PagePart.of(number, view, entry_amounts(view.selectable, currency, fallback_rate),
                                     unreadable.get(number, 0)))
    return classify(preview, currency, time_zone, entries=entries), parts if summed is None else summed


# The sums of the pages not shown, by the database (issue 15: a 66,000-entry quarter's 65 PageParts took
# seconds of decoding in Python on every whole page and every currency answer). The rules are those of
# ``classify``, ``skip_reason``, ``entry_amounts`` and ``reported_hundredths``; what depends on a currency
# label or a rate's text (a handful of distinct values) is decided in Python first and passed in. Each
# entry counts on the first page that holds it, as ``preview_pages`` yields it.
_ITEMS = {
    "sqlite": """SELECT page.number AS number, item.key AS position, json_extract(item.value, '$.id') AS id,
        (json_extract(item.value, '$.end') IS NULL OR json_extract(item.value, '$.seconds') IS NULL) AS running,
        COALESCE(json_extract(item.value, '$.kind'), 'REGULAR') AS kind, json_extract(item.value, '$.seconds') AS seconds,
        json_extract(item.value, '$.billable') = 1 AS billable, json_extract(item.value, '$.rate.amount') AS rate,
        json_extract(item.value, '$.rate.currency') AS rate_label, json_extract(item.value, '$.amount.amount') AS amount,
        json_extract(item.value, '$.amount.currency') AS amount_label
        FROM import_preview_pages AS page, json_each(page.entries) AS item WHERE page.preview_id = :preview""",
    "postgresql": """SELECT page.number AS number, item.position AS position, item.value ->> 'id' AS id,
        (item.value ->> 'end' IS NULL OR item.value ->> 'seconds' IS NULL) AS running,
        COALESCE(item.value ->> 'kind', 'REGULAR') AS kind, CAST(item.value ->> 'seconds' AS BIGINT) AS seconds,
        (item.value ->> 'billable') = 'true' AS billable, item.value #>> '{rate,amount}' AS rate,
        item.value #>> '{rate,currency}' AS rate_label, item.value #>> '{amount,amount}' AS amount,
        item.value #>> '{amount,currency}' AS amount_label
        FROM import_preview_pages AS page, json_array_elements(page.entries::json) WITH ORDINALITY AS item(value, position)
        WHERE page.preview_id = :preview""",
}
_HUNDREDTHS = {"sqlite": "CAST(REPLACE(amount, '.', '') AS INTEGER)",
               "postgresql": "CAST(REPLACE(amount, '.', '') AS BIGINT)"}
_NOT_HUNDREDTHS = {"sqlite": "(amount NOT GLOB '*.[0-9][0-9]' OR amount GLOB '*[^0-9.-]*' OR typeof(amount) != 'text')",
                   "postgresql": "amount !~ '^-?[0-9]+[.][0-9][0-9]$'"}
SUMMED_RATES = 500  # more distinct rates than this (never seen): the sums are made in Python


def _page_sums(preview: ImportPreview, currency: str, fallback_rate: Decimal | None, shown: int,
               unreadable: dict[int, int]) -> list[PagePart] | None:
    """A PagePart for each stored page after ``shown``, summed by the database; None when the stored
    entries are not in the shape these sums assume (a report amount not in hundredths, a negative
    rate, very many rates): the caller then sums in Python."""
    from services.currencies import iso_currency

    dialect = db.session.get_bind().dialect.name
    items, hundredths = _ITEMS[dialect], _HUNDREDTHS[dialect]
    params = {"preview": preview.id}
    labels = db.session.execute(text(
        f"WITH items AS ({items}) SELECT rate, rate_label, amount_label, "
        f"MAX(CASE WHEN amount IS NOT NULL AND {_NOT_HUNDREDTHS[dialect]} THEN 1 ELSE 0 END) "
        "FROM items GROUP BY rate, rate_label, amount_label"), params).all()
    if len(labels) > SUMMED_RATES or any(odd for *_, odd in labels):
        return None
    answers = currency_answers(preview.connection_id, preview.workspace_id)

    def ours(label: str | None) -> bool:  # the label stands for the invoice's currency (resolve_currencies)
        return label is not None and (answers.get(label) or iso_currency(label) or label) == currency

    fallback_minor = to_minor(fallback_rate, currency) if fallback_rate is not None else 0
    rates: dict[tuple[str, str], int] = {}
    for rate, rate_label, *_unused in labels:
        if rate is not None and ours(rate_label):
            rates[rate, rate_label] = to_minor(Decimal(rate), currency)
    if fallback_minor < 0 or any(minor < 0 for minor in rates.values()):
        return None
    rate_labels = sorted({label for _, label in rates})
    amount_labels = sorted({label for *_, label, _ in labels if ours(label)})
    params.update({f"rate_label_{n}": label for n, label in enumerate(rate_labels)})
    params.update({f"amount_label_{n}": label for n, label in enumerate(amount_labels)})
    params.update(fallback=fallback_minor, shown=shown, business=preview.business_id, workspace=preview.workspace_id)
    for n, (rate, label) in enumerate(rates):
        params[f"rate_{n}"], params[f"rate_{n}_label"], params[f"minor_{n}"] = rate, label, rates[rate, label]

    def among(column: str, prefix: str, count: int) -> str:
        return f"{column} IN ({', '.join(f':{prefix}_{n}' for n in range(count))})" if count else "1 = 0"

    rate_minor = ("CASE WHEN rate IS NULL THEN :fallback " + "".join(
        f"WHEN rate = :rate_{n} AND rate_label = :rate_{n}_label THEN :minor_{n} " for n in range(len(rates)))
        + "ELSE 0 END")
    reported = f"(amount IS NOT NULL AND ({among('amount_label', 'amount_label', len(amount_labels))} OR {hundredths} = 0))"
    kind = ("CASE WHEN EXISTS (SELECT 1 FROM imported_entries AS billed WHERE billed.business_id = :business "
            "AND billed.workspace_id = :workspace AND billed.entry_id = first.id) THEN 'elsewhere' "
            "WHEN running OR kind <> 'REGULAR' OR seconds <= 0 OR (rate IS NOT NULL AND NOT "
            f"{among('rate_label', 'rate_label', len(rate_labels))}) THEN 'skipped' "
            "WHEN NOT billable THEN 'non_billable' ELSE 'selectable' END")
    rows = db.session.execute(text(
        f"WITH items AS ({items}), ranked AS (SELECT items.*, ROW_NUMBER() OVER (PARTITION BY id ORDER BY number, "
        f"position) AS nth FROM items), first AS (SELECT * FROM ranked WHERE nth = 1 AND number > :shown) "
        f"SELECT number, {kind} AS kind, COUNT(*), SUM(seconds), "
        f"SUM(((seconds * 50 + 9) / 18 * ({rate_minor}) + 5000) / 10000), "
        f"SUM(CASE WHEN {reported} THEN {hundredths} ELSE 0 END), SUM(CASE WHEN {reported} THEN 0 ELSE 1 END) "
        "FROM first GROUP BY number, 2"), params).all()
    sums: dict[int, dict[str, Any]] = {}
    for number, kind_of, count, seconds, amount, reported_sum, missing in rows:
        sums.setdefault(number, {})[kind_of] = (count, seconds, amount, reported_sum, missing)
    numbers = db.session.scalars(select(ImportPreviewPage.number).where(
        ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number > shown).order_by(ImportPreviewPage.number))
    parts = []
    for number in numbers:
        page = sums.get(number, {})
        count, seconds, amount, reported_sum, missing = page.get("selectable", (0, 0, 0, 0, 0))
        parts.append(PagePart(number=number, count=count, seconds=int(seconds or 0), amount_minor=int(amount or 0),
                              reported=int(reported_sum or 0), missing=int(missing or 0),
                              non_billable=page.get("non_billable", (0,))[0], skipped=page.get("skipped", (0,))[0],
                              elsewhere=page.get("elsewhere", (0,))[0], unreadable=unreadable.get(number, 0)))
    return parts


def _unreadable_counts(preview: ImportPreview) -> dict[int, int]:
    rows = db.session.execute(select(ImportPreviewPage.number, ImportPreviewPage.unreadable)
                              .where(ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.unreadable.is_not(None)))
    return {number: len(items or ()) for number, items in rows}


@dataclass(frozen=True)
class PreviewView:
    """A preview sorted for the page: what may be billed, non-billable entries (listed apart, billed
    only when ticked one by one), and what is listed apart with why."""

    selectable: list[TimeEntry]
    skipped: list[tuple[TimeEntry, str]]
    elsewhere: list[tuple[TimeEntry, Invoice]]
    non_billable: list[TimeEntry] = ()


def classify(preview: ImportPreview, currency: str, time_zone: str,
             entries: list[TimeEntry] | None = None) -> PreviewView:
    """Sort the preview's entries (or just these, e.g. a page loaded now) for the page, in date order
    (the report pages by id)."""
    entries = sorted(resolve_currencies(preview_entries(preview) if entries is None else entries,
                                        currency_answers(preview.connection_id, preview.workspace_id)),
                     key=start_order)
    elsewhere = imported_elsewhere(preview.business_id, preview.workspace_id, [entry.id for entry in entries])
    selectable, skipped, non_billable = [], [], []
    said: dict = {}  # each cause's words looked up once (skip_reason)
    for entry in entries:
        if entry.id in elsewhere:
            continue
        reason = skip_reason(entry, currency, said)
        if reason:
            skipped.append((entry, reason))
        elif not entry.billable:
            non_billable.append(entry)
        else:
            selectable.append(entry)
    return PreviewView(selectable=selectable, skipped=skipped, non_billable=non_billable,
                       elsewhere=[(entry, elsewhere[entry.id]) for entry in entries if entry.id in elsewhere])


def selected(view: PreviewView, mode: str, entry_ids: Iterable[str], excluded: Iterable[str],
             shown: set[str] | None = None, non_billable_ids: Iterable[str] = ()) -> list[TimeEntry]:
    """The entries to bill.

    - "all": every billable entry but the excluded (so the browser need not send thousands of ids);
    - "shown" (a page without JavaScript): every billable entry but those the page showed unticked,
      so entries loaded after it was rendered are billed too: "all N matching" means all N;
    - "some": the ticked ones.
    Non-billable entries are billed only when ticked (``non_billable_ids``), whatever the mode. Ids the
    preview does not hold are ignored; a ticked entry billed elsewhere since the preview was shown stops
    the import (ImportProblem)."""
    billable, non_billable, ticked = _choosing(mode, entry_ids, excluded, shown, non_billable_ids)
    if ticked is not None:
        _refuse_taken(sum(1 for entry, _ in view.elsewhere if entry.id in ticked))
    return ([entry for entry in view.selectable if billable(entry.id)]
            + [entry for entry in view.non_billable if non_billable(entry.id)])


def _choosing(mode: str, entry_ids: Iterable[str], excluded: Iterable[str], shown: set[str] | None,
              non_billable_ids: Iterable[str]) -> tuple[Callable[[str], bool], Callable[[str], bool], frozenset | None]:
    """``selected``'s rules by entry id: whether a billable entry is billed, whether a non-billable one is,
    and (mode "some") the ticked ids, none of which may be billed elsewhere."""
    non_billable = frozenset(non_billable_ids).__contains__
    if mode == "all":
        skip = frozenset(excluded)
        return (lambda entry_id: entry_id not in skip), non_billable, None
    wanted = frozenset(entry_ids)
    if mode == "shown":
        skip = frozenset((shown or set()) - wanted)
        return (lambda entry_id: entry_id not in skip), non_billable, None
    return wanted.__contains__, non_billable, wanted | frozenset(non_billable_ids)


def _refuse_taken(count: int) -> None:
    if count:
        raise ImportProblem(_("%(count)s of the ticked entries were billed on another invoice meanwhile (another "
                              "tab?). Nothing was imported: preview again to see what is left.", count=count))


def currency_answers(connection_id: int, workspace_id: str) -> dict[str, str]:
    """What the user said the workspace's ambiguous currency labels mean: label -> ISO code."""
    rows = db.session.execute(select(ClockifyCurrencyLabel.label, ClockifyCurrencyLabel.currency)
                              .where(ClockifyCurrencyLabel.connection_id == connection_id,
                                     ClockifyCurrencyLabel.workspace_id == workspace_id))
    return {label: code for label, code in rows}


def answer_currency(connection_id: int, workspace_id: str, label: str, currency: str) -> None:
    """Remember (once per connection, workspace and label) which ISO currency a label means; a second
    answer, e.g. from another tab, replaces the first."""
    row = db.session.scalar(select(ClockifyCurrencyLabel).where(
        ClockifyCurrencyLabel.connection_id == connection_id, ClockifyCurrencyLabel.workspace_id == workspace_id,
        ClockifyCurrencyLabel.label == label))
    if row is None:
        db.session.add(ClockifyCurrencyLabel(connection_id=connection_id, workspace_id=workspace_id, label=label,
                                             currency=currency))
    else:
        row.currency = currency
    db.session.flush()


def remembered_options(customer: Customer, filters: Filters) -> LineOptions:
    """The options a preview starts with: the customer's last ones (the defaults when there are none, or
    when an older version saved them), with the rounding of the workspace's reports when it has one, so
    the two sums agree."""
    try:
        options = LineOptions.from_form(customer.import_options or {})
    except ValueError:
        options = LineOptions()
    if filters.report_round_minutes:
        options = options.with_report_rounding(filters.report_round_minutes, filters.report_round_direction)
    return options


def fallback_rate(business: Business, invoice: Invoice) -> Decimal | None:
    """The default hourly rate, when it is in the invoice's currency (no conversion is guessed)."""
    if business.default_hourly_rate_minor is None or business.default_currency != invoice.currency:
        return None
    return from_minor(business.default_hourly_rate_minor, invoice.currency)


@dataclass(frozen=True)
class Selection:
    """Which entries the form ticked (``selected`` says what each mode means); ``shown_pages``: how many
    pages a page without JavaScript showed."""

    mode: str = "some"
    entry_ids: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    non_billable_ids: tuple[str, ...] = ()
    shown_pages: int = 0

    def shown(self, preview: ImportPreview) -> set[str] | None:
        return ids_through_page(preview, self.shown_pages) if self.mode == "shown" else None

    def ticked(self, preview: ImportPreview) -> Ticks:
        """Which billable entries a page rendered again shows ticked."""
        if self.mode == "some":
            return Ticks(only=frozenset(self.entry_ids))
        if self.mode == "shown":
            return Ticks(unticked=frozenset((self.shown(preview) or set()) - set(self.entry_ids)))
        return Ticks(unticked=frozenset(self.excluded if self.mode == "all" else ()))


@dataclass(frozen=True)
class Ticks:
    """The billable entries ticked: those in ``only``, or (``only`` None) every one but ``unticked``, so
    the entries of pages not shown count as ticked too. ``entry_id in ticks`` says whether one is."""

    only: frozenset[str] | None = None
    unticked: frozenset[str] = frozenset()

    def __contains__(self, entry_id: str) -> bool:
        return entry_id in self.only if self.only is not None else entry_id not in self.unticked

    @property
    def rest_ticked(self) -> bool:
        """The entries not shown (on pages not shown, or not loaded yet) are ticked."""
        return self.only is None


# --- showing the lines, page by page --------------------------------------------------------------
# Planning every line of a 66,000-entry quarter takes longer than one request may (issue 15: 10 s), so
# "Show the lines" is a run of steps like the confirm's: each request plans the stored pages its time
# allows into their ``planned`` column (the page's LinePlanner and Reconciler state, tagged with what it
# was planned for), and a request that finds every page planned joins them (LinePlanner.merge,
# Reconciler.merge: the same lines and sums as one pass). The tag names the run (``new_plan_run``, from
# the first request, so a page planned for an earlier click is never reused) and everything the plan
# depends on, so a page planned for other options, by another tab or by a confirm (which tags its own
# pages) is planned again, never joined. Nothing is billed from these parts; the lines joined in one step are
# kept on the first page (``_shown_tag``), and a confirm asked for the very same writes them as they are.

@dataclass(frozen=True)
class PlanProgress:
    """Where "Show the lines" is: ``planned`` of ``pages`` stored pages planned; the plan once joined."""

    run: str
    planned: int
    pages: int
    plan: ImportPlan | None = None
    reconciliation: Reconciliation | None = None

    @property
    def done(self) -> bool:
        return self.plan is not None


def new_plan_run() -> str:
    return secrets.token_urlsafe(12)


def _plan_tag(preview: ImportPreview, invoice: Invoice, selection: Selection, options: LineOptions,
              rate: Decimal | None, time_zone: str, run: str) -> str:
    asked = {"run": run, "selection": to_plain(selection), "options": options.as_dict(),
             "rate": None if rate is None else str(rate), "zone": time_zone, "currency": invoice.currency,
             "answers": currency_answers(preview.connection_id, preview.workspace_id)}
    return "lines:" + hashlib.sha256(json.dumps(asked, sort_keys=True).encode()).hexdigest()[:40]


@collector.paused()
def plan_step(preview: ImportPreview, invoice: Invoice, selection: Selection, options: LineOptions,
              rate: Decimal | None, time_zone: str, run: str, until: float) -> PlanProgress:
    """Plan the stored pages not planned for this run yet, one at least, until ``until``
    (time.monotonic); then, every page planned and time left, join them into the plan and its
    reconciliation with Clockify's report. When the first page's pace says every page fits in the time,
    they are planned in one planner and joined at once; else each page keeps its part (``planned``) for
    the join of a later request. The caller commits."""
    began = time.monotonic()
    tag = _plan_tag(preview, invoice, selection, options, rate, time_zone, run)
    tags = dict(db.session.execute(select(ImportPreviewPage.number, ImportPreviewPage.planned["for"].as_string())
                                   .where(ImportPreviewPage.preview_id == preview.id)).all())
    numbers = sorted(tags)
    todo = [number for number in numbers if tags[number] != tag]

    def fresh() -> tuple[LinePlanner, Reconciler]:
        return (LinePlanner(currency=invoice.currency, fallback_rate=rate, options=options, time_zone=time_zone),
                Reconciler(currency=invoice.currency, fallback_rate=rate, options=options))

    planner, reconciler = fresh()
    planned_now: list[int] = []
    whole = False
    if todo:
        asked = _asked(preview, invoice, selection, time_zone)
        seen = _ids_on_pages(preview, 1, todo[0] - 1)
        for number in numbers[numbers.index(todo[0]):]:
            if number not in todo:
                seen |= _ids_on_pages(preview, number, number)
                continue
            if planned_now and not whole and time.monotonic() >= until:
                break
            paced = time.monotonic()
            _plan_page(preview, number, asked, planner, reconciler, seen)
            planned_now.append(number)
            whole = whole or (len(planned_now) == 1 and _all_in_time(paced, until, len(todo)))
            if not whole:
                _keep_part(preview, number, {"for": tag, "lines": planner.state(), "sums": reconciler.state()})
                planner, reconciler = fresh()
    done = len(numbers) - len(todo) + len(planned_now)
    # Joining kept parts reads every one: a request of its own unless this one has time left.
    if not whole and (done < len(numbers) or (planned_now and time.monotonic() - began > (until - began) / 2)):
        return PlanProgress(run, done, len(numbers))
    for number in numbers:
        if whole and number in planned_now:
            continue
        part = db.session.scalar(select(ImportPreviewPage.planned).where(
            ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == number)) or {}
        if part.get("for") != tag:  # planned again for something else meanwhile (another tab): go on next time
            return PlanProgress(run, done - 1, len(numbers))
        planner.merge(part["lines"])
        reconciler.merge(part["sums"])
        del part
    result = planner.plan(document_locale(invoice))  # the texts the confirm writes
    _clear_planned(preview, ImportPreviewPage.planned["for"].as_string() == tag)  # kept for the run only
    if whole and len(planned_now) == len(numbers) and _all_folded(preview):  # every page now, against one billed set
        _keep_part(preview, numbers[0], type_coerce(msgspec.json.encode(
            {"for": _shown_tag(preview, invoice, selection, options, rate, time_zone, asked.billed, len(numbers)),
             "lines": planner.state()}).decode(), _JSONText()))
    del planner
    return PlanProgress(run, len(numbers), len(numbers), plan=result, reconciliation=reconciler.result(result))


def _all_folded(preview: ImportPreview) -> bool:
    """Whether every stored page keeps its fold, whose ids tell the entries billed elsewhere (``_BILLED``)."""
    return db.session.scalar(select(func.count(ImportPreviewPage.id)).where(
        ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.digest.is_(None))) == 0


def _shown_tag(preview: ImportPreview, invoice: Invoice, selection: Selection, options: LineOptions,
               rate: Decimal | None, time_zone: str, billed: set[str], pages: int) -> str:
    """What the lines "Show the lines" planned in one step are kept for (on the first page's ``planned``):
    the same request (``_plan_tag`` of no run), the same stored pages and the same entries billed
    elsewhere. A confirm asked for the same writes them as they are (``confirm_step``)."""
    billed_now = hashlib.sha256("\n".join(sorted(billed)).encode()).hexdigest()[:16]
    return f"shown:{pages}:{preview.entry_count}:{billed_now}:" + _plan_tag(preview, invoice, selection, options, rate,
                                                                            time_zone, "")


def _all_in_time(began: float, until: float, pages: int) -> bool:
    """Whether ``pages`` pages fit before ``until``, at twice the pace the first of them took (from ``began``
    to now), with their join: the step that plans them all answers within its time."""
    now = time.monotonic()
    return now + 2 * (now - began) * (pages - 1) < until


def _clear_planned(preview: ImportPreview, *where) -> None:
    """Forget the parts kept on the preview's pages (those ``where`` picks). Only the rows holding one are
    written: an UPDATE rewrites a SQLite row whole, and each stored page is ~0.85 MB (66 on a quarter)."""
    db.session.execute(update(ImportPreviewPage).where(ImportPreviewPage.preview_id == preview.id,
                                                       ImportPreviewPage.planned.is_not(None), *where)
                       .values(planned=null()).execution_options(synchronize_session=False))


def _keep_part(preview: ImportPreview, number: int, part: dict) -> None:
    db.session.execute(update(ImportPreviewPage).where(ImportPreviewPage.preview_id == preview.id,
                                                       ImportPreviewPage.number == number)
                       .values(planned=part).execution_options(synchronize_session=False))


# --- confirming, page by page ---------------------------------------------------------------------
# A 66,000-entry quarter cannot be planned and written in one request within gunicorn's timeout, so a
# confirm is a run of steps, each its own transaction (the view commits each):
#   start_confirm: claims the preview for a new run (a guarded UPDATE) and keeps what was confirmed;
#   confirm_step, once per stored page: plans that page's selected entries into the page's ``planned``
#     column (services.lines.LinePlanner.state) under the draft's lock and a guarded UPDATE of the run's
#     progress, so two requests never plan the same step twice;
#   confirm_step, last: joins the parts and writes every line and entry link in one transaction.
# Lines land only in that last transaction: until then the invoice has none of them and may be sent or
# deleted like any draft (the last step then finds it gone and writes nothing), and an entry billed
# meanwhile elsewhere trips the unique key there, so nothing is written either. A run stopped half-way
# (a closed tab) is resumed from its progress by "Continue" or replaced by a new confirm.

@dataclass(frozen=True)
class ConfirmProgress:
    """Where a confirm run is: ``planned`` of ``pages`` stored pages planned; ``plan`` once written."""

    run: str
    planned: int
    pages: int
    plan: ImportPlan | None = None

    @property
    def done(self) -> bool:
        return self.plan is not None


def start_confirm(preview: ImportPreview, invoice: Invoice, selection: Selection, options: LineOptions,
                  rate: Decimal | None) -> str:
    """A new confirm run of the preview (replacing one left half-way long enough ago); returns its name.
    ImportProblem when the preview was confirmed already or a run is under way (a double click: the
    first one does it)."""
    _lock(invoice)  # a draft sent or deleted meanwhile says so (its previews go with a deleted one)
    # A run is named by when it began (8 hex digits of the epoch second, so names sort by age) and 14
    # unguessable characters. A run under way for less than CONFIRM_CLAIM is not replaced: a second
    # "Add to invoice" (double click, another tab) is told the first does it; an older one may be.
    now = int(time.time())
    run = f"{now:08x}{secrets.token_urlsafe(10)}"[:22]
    live = f"{now - int(CONFIRM_CLAIM.total_seconds()):08x}"
    request = {"selection": to_plain(selection), "options": options.as_dict(),
               "rate": None if rate is None else str(rate)}
    claimed = db.session.execute(update(ImportPreview).where(ImportPreview.id == preview.id,
                                                             ImportPreview.confirmed_at.is_(None),
                                                             or_(ImportPreview.confirm_run.is_(None),
                                                                 ImportPreview.confirm_run < live))
                                 .values(confirm_run=run, confirm_request=request, confirm_pages=0)
                                 .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise ImportProblem(ALREADY_CONFIRMED)
    _clear_planned(preview, or_(ImportPreviewPage.number != 1,  # every part but the lines shown (confirm_step)
                                ImportPreviewPage.planned["for"].as_string().not_like("shown:%")))
    db.session.refresh(preview)
    return run


def confirm_request(preview: ImportPreview) -> tuple[Selection, LineOptions, Decimal | None]:
    """What the run under way confirms, as start_confirm kept it."""
    kept = preview.confirm_request or {}
    chosen = {name: tuple(value) if isinstance(value, list) else value
              for name, value in (kept.get("selection") or {}).items()}
    rate = kept.get("rate")
    return Selection(**chosen), LineOptions.from_form(kept.get("options") or {}), None if rate is None else Decimal(rate)


@collector.paused()
def confirm_step(preview: ImportPreview, invoice: Invoice, run: str, time_zone: str,
                 until: float | None = None) -> ConfirmProgress:
    """The run's next step: plan the next stored page, or, every page planned, write the lines; when the
    first page's pace says every page left fits before ``until`` (time.monotonic), plan them all and
    write the lines in this step. (The view loads every page first for "all N matching"; ticked entries
    come from the pages loaded.) ImportProblem when the run cannot go on (the draft was sent or deleted,
    the preview confirmed or its run replaced by another tab, a ticked entry billed elsewhere, nothing to
    import). The draft is locked first, for the step's transaction: "Mark as sent" or "Delete draft"
    waits for the step or wins, and then the step changes nothing."""
    _lock(invoice)
    db.session.refresh(preview)
    if preview.confirmed_at is not None:
        raise ImportProblem(ALREADY_CONFIRMED)
    if preview.confirm_run != run:
        raise ImportProblem(_("This import was started again from another tab, or finished there: see the invoice."))
    selection, options, rate = confirm_request(preview)
    asked = _asked(preview, invoice, selection, time_zone)
    step, pages, mine = preview.confirm_pages, _stored_pages(preview), f"confirm:{run}"
    planner = LinePlanner(currency=invoice.currency, fallback_rate=rate, options=options, time_zone=time_zone)
    # The lines "Show the lines" planned for the very same request, pages and billed entries: written as they are.
    shown = step == 0 and pages > 0 and _shown(
        preview, _shown_tag(preview, invoice, selection, options, rate, time_zone, asked.billed, pages), planner)
    if step < pages and not shown:
        seen: set[str] = set()  # within this step; a part kept by another holds an entry once too (merge)
        paced = time.monotonic()
        _plan_page(preview, step + 1, asked, planner, None, seen)
        whole = until is not None and _all_in_time(paced, until, pages - step)
        if whole:
            for number in range(step + 2, pages + 1):
                _plan_page(preview, number, asked, planner, None, seen)
        moved = db.session.execute(update(ImportPreview).where(
            ImportPreview.id == preview.id, ImportPreview.confirm_run == run, ImportPreview.confirm_pages == step,
            ImportPreview.confirmed_at.is_(None)).values(confirm_pages=pages if whole else step + 1)
            .execution_options(synchronize_session=False)).rowcount
        if moved != 1:
            raise ImportProblem(_("This import is going on in another tab: see the invoice in a moment."))
        if not whole:
            _keep_part(preview, step + 1, {"for": mine, "lines": planner.state()})
            return ConfirmProgress(run, step + 1, pages)
    for number in range(1, step + 1):
        part = db.session.scalar(select(ImportPreviewPage.planned).where(
            ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == number)) or {}
        if part.get("for") == mine:
            planner.merge(part["lines"])
        else:  # the page's part was replaced meanwhile ("Show the lines" in another tab): plan it here
            _plan_page(preview, number, asked, planner, None, set())
        del part
    result = planner.plan(document_locale(invoice))  # in the customer's language, as its documents
    del planner
    _write(preview, invoice, run, result, options)
    return ConfirmProgress(run, pages, pages, plan=result)


def _shown(preview: ImportPreview, tag: str, planner: LinePlanner) -> bool:
    """Whether the first page keeps the lines shown for ``tag`` (``_shown_tag``); if so the planner takes them."""
    kept = db.session.scalar(select(cast(ImportPreviewPage.planned, Text)).where(
        ImportPreviewPage.preview_id == preview.id, ImportPreviewPage.number == 1,
        ImportPreviewPage.planned["for"].as_string() == tag))
    if kept is None:
        return False
    planner.groups = msgspec.json.decode(kept)["lines"]
    return True


def _stored_pages(preview: ImportPreview) -> int:
    return db.session.scalar(select(func.count(ImportPreviewPage.id)).where(ImportPreviewPage.preview_id == preview.id))


def _lock(invoice: Invoice) -> None:
    try:
        lock_draft(invoice)
    except InvoiceChanged as error:
        raise ImportProblem(str(error)) from None


def abandon_confirm(preview: ImportPreview, run: str) -> None:
    """End a run that cannot go on, leaving the preview as it was before the run: a refused confirm
    writes nothing that stays."""
    ended = db.session.execute(update(ImportPreview).where(ImportPreview.id == preview.id,
                                                           ImportPreview.confirm_run == run,
                                                           ImportPreview.confirmed_at.is_(None))
                               .values(confirm_run=None, confirm_request=None, confirm_pages=0)
                               .execution_options(synchronize_session=False)).rowcount
    if ended:
        _clear_planned(preview)


CONFIRM_CLAIM = timedelta(seconds=120)  # how long a confirm run under way keeps a new one out
LINE_BATCH = 2000  # rows per INSERT of lines and of entry links


def _write(preview: ImportPreview, invoice: Invoice, run: str, plan: ImportPlan, options: LineOptions) -> None:
    """Write every line and every entry link in one transaction, once per preview.

    A second confirm of the same preview (double click, resubmitted form) finds it claimed; an entry
    billed meanwhile from another tab trips the unique constraint. Either way ImportProblem: the
    caller rolls its unit of work back, so nothing is written.

    The draft is locked first (invoicing.lock_draft, the one guard of every draft edit), so a "Mark as
    sent" or "Delete draft" at the same moment either waits for the lines or wins, and then nothing is
    added to an invoice that left draft (confirm_step took the lock). Lines and links go in batches of plain INSERTs (no ORM object
    per line), so 66,000 one-entry lines fit in memory and time. The caller holds the draft's lock."""
    claimed = db.session.execute(update(ImportPreview).where(ImportPreview.id == preview.id,
                                                             ImportPreview.confirmed_at.is_(None),
                                                             ImportPreview.confirm_run == run)
                                 .values(confirmed_at=utcnow(), confirm_run=None, confirm_request=None, confirm_pages=0)
                                 .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise ImportProblem(ALREADY_CONFIRMED)
    if not plan.lines:
        raise ImportProblem(_("Nothing to import: tick at least one entry."))
    first = next_position(invoice)
    try:
        for start in range(0, len(plan.lines), LINE_BATCH):
            batch = plan.lines[start:start + LINE_BATCH]
            db.session.execute(insert(LineItem), [
                _line_row(invoice, first + start + offset, proposed) for offset, proposed in enumerate(batch)])
            ids = dict(db.session.execute(select(LineItem.position, LineItem.id).where(
                LineItem.invoice_id == invoice.id, LineItem.position >= first + start,
                LineItem.position < first + start + len(batch))).all())
            # Each line's rows zipped from its entries and repeated values, a tuple a row made in C: a
            # generator building each tuple was a fifth of a 20,000-entry confirm's write.
            business, workspace, repeat = invoice.business_id, preview.workspace_id, itertools.repeat
            links = itertools.chain.from_iterable(
                zip(repeat(business), repeat(invoice.id), repeat(ids[first + start + offset]), repeat(workspace),
                    proposed.entry_ids, proposed.entry_seconds, repeat(proposed.rate_minor))
                for offset, proposed in enumerate(batch))
            while chunk := list(itertools.islice(links, LINK_BATCH)):
                _insert_links(chunk)
        invoice.customer.import_options = options.as_dict()
        _clear_planned(preview)
        db.session.flush()
    except IntegrityError:
        raise ImportProblem(_("Some of these entries were billed on another invoice meanwhile (another tab?). "
                              "Nothing was imported: preview again to see what is left.")) from None
    db.session.expire(invoice)


LINK_BATCH = 20000  # entry links per executemany
_LINK_COLUMNS = ("business_id", "invoice_id", "line_item_id", "workspace_id", "entry_id", "seconds", "rate_minor")


def _insert_links(rows: list[tuple]) -> None:
    """ImportedEntry rows given as plain tuples (``_LINK_COLUMNS``). On SQLite they go to the driver's
    executemany as they are: SQLAlchemy's parameter handling per row was most of a 66,000-entry confirm's
    write (issue 15); an INSERT ... SELECT from json_each of the rows took as long (the unique index is
    the cost). On PostgreSQL they are one COPY in the session's transaction: 20,000 rows took 0.7 s as
    one INSERT a row, 0.25-0.45 s as one INSERT ... SELECT from unnest or json, 0.1-0.25 s as COPY (a
    busy machine). A row billed already trips the unique constraint as an IntegrityError, as before."""
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.connection().exec_driver_sql(
            f"INSERT INTO imported_entries ({', '.join(_LINK_COLUMNS)}) VALUES ({', '.join('?' * len(_LINK_COLUMNS))})",
            rows)
        return
    import psycopg

    statement = f"COPY imported_entries ({', '.join(_LINK_COLUMNS)}) FROM STDIN"
    try:
        with db.session.connection().connection.driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    except psycopg.IntegrityError as error:
        raise IntegrityError(statement, None, error) from None


def _line_row(invoice: Invoice, position: int, proposed) -> dict:
    """A LineItem's columns for a proposed line (its amount as LineItem.set_amounts computes it)."""
    return {"invoice_id": invoice.id, "position": position, "description": proposed.description,
            "quantity": proposed.quantity, "unit": proposed.unit, "rate_minor": proposed.rate_minor,
            "amount_minor": line_amount_minor(proposed.quantity, proposed.rate_minor), "source": "clockify"}


# --- expiry of stored previews --------------------------------------------------------------------
# A preview keeps every entry it showed (an 11,000-entry month is about 7 MB): confirmed or abandoned
# ones are deleted after a while (`flask purge-previews`, from cron or a timer), and one user keeps only
# a few unconfirmed ones at a time.

PREVIEWS_KEPT_PER_USER = 5


@dataclass(frozen=True)
class Purged:
    confirmed: int
    abandoned: int
    pages: int

    @property
    def previews(self) -> int:
        return self.confirmed + self.abandoned


def purge_previews(max_age: timedelta, now: datetime | None = None) -> Purged:
    """Delete the previews confirmed more than max_age ago, and those started more than max_age ago and
    never confirmed; their pages go with them (ON DELETE CASCADE). What was billed (ImportedEntry) does
    not depend on a preview and stays."""
    from sqlalchemy import and_, delete, func, or_

    cutoff = (now or utcnow()) - max_age
    confirmed = ImportPreview.confirmed_at < cutoff
    abandoned = and_(ImportPreview.confirmed_at.is_(None), ImportPreview.created_at < cutoff)
    pages = db.session.scalar(select(func.count(ImportPreviewPage.id)).join(
        ImportPreview, ImportPreview.id == ImportPreviewPage.preview_id).where(or_(confirmed, abandoned)))
    counts = [db.session.execute(delete(ImportPreview).where(which).execution_options(synchronize_session=False))
              .rowcount for which in (confirmed, abandoned)]
    return Purged(confirmed=counts[0], abandoned=counts[1], pages=pages or 0)


def trim_previews(user_id: int, keep: int = PREVIEWS_KEPT_PER_USER) -> int:
    """Keep the user's `keep` newest unconfirmed previews (one just added to the session among them)
    and delete their older ones, with their pages. Confirmed previews are left to purge_previews.
    Returns how many were deleted."""
    from sqlalchemy import and_, delete

    db.session.flush()
    unconfirmed = and_(ImportPreview.user_id == user_id, ImportPreview.confirmed_at.is_(None))
    newest = select(ImportPreview.id).where(unconfirmed).order_by(ImportPreview.id.desc()).limit(keep)
    return db.session.execute(delete(ImportPreview).where(unconfirmed, ImportPreview.id.not_in(newest.scalar_subquery()))
                              .execution_options(synchronize_session="fetch")).rowcount
