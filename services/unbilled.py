"""Unbilled Clockify time, for the dashboard: for every customer linked to a Clockify client, the billable
hours and amount since a chosen date that are on no invoice yet.

Clockify is asked only when the person presses "Refresh", never on a page view. A refresh asks, per
connection, for its workspaces (cached, as the wizard does) and then one detailed report per workspace,
in pages of 1000 entries and at most MAX_REPORT_CALLS calls (a Free workspace allows 30 calls an hour;
its reports cover 31 days each, so a longer range is split as the wizard splits it). A workspace whose
cached client list (from the wizard) holds none of the linked clients is not asked at all, and one that
holds some is asked for those clients only. What came back is kept per connection (UnbilledTime) as
compact rows per customer (entry id, seconds, amount): the page subtracts what was billed since from
the database alone (ImportedEntry), so an import shows at once without asking Clockify again.

Two refreshes at once (two tabs, a double click) ask Clockify once: each connection's refresh is
claimed first with a guarded UPDATE (``claim``), which the caller commits before asking Clockify.
Functions here add and flush; the view commits."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from flask_babel import gettext as _, lazy_gettext as _l

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import Business, ClockifyCache, ClockifyConnection, Customer, ImportedEntry, UnbilledTime, utcnow
from services import imports
from services.clockify import ClockifyClient, ReportRangeTooLong
from services.clockify_types import ReferenceData, TimeEntry, Workspace, from_plain
from services.lines import entry_amounts, resolve_currencies, skip_reason

MAX_REPORT_CALLS = 10  # per workspace and refresh: up to 10,000 entries
REFRESH_CLAIM = timedelta(minutes=2)  # longer than a refresh's calls with their retries may take
# After a refresh the claim is kept this long: a second click (or tab) spends none of a Free workspace's
# 30 calls an hour on figures fetched a moment ago.
REFRESHED_RECENTLY = timedelta(seconds=30)
MAX_DAYS = 366
BUSY = _l("Unbilled time is being fetched from Clockify, or was fetched less than 30 seconds ago (another tab?): "
          "the figures below are the latest.")


class TooManyEntries(Exception):
    """More billable entries since the chosen date than MAX_REPORT_CALLS pages hold."""


def since_date(text: str | None, today: date) -> date:
    """The date unbilled time is counted from, as typed (ISO); ValueError with words for the page."""
    try:
        since = date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(_("Enter the date to count unbilled time from, like 2026-10-01.")) from None
    if since > today:
        raise ValueError(_("Choose a date in the past: there is no unbilled time after today."))
    if (today - since).days > MAX_DAYS:
        raise ValueError(_("Count unbilled time over at most a year: choose a later date."))
    return since


def default_since(today: date) -> date:
    """The first day of last month: what an invoice run usually covers."""
    return imports.month_range(today, 1)[0]


def linked_customers(business_id: int) -> list[Customer]:
    return list(db.session.scalars(select(Customer).where(Customer.business_id == business_id,
                                                           Customer.clockify_client_id.is_not(None),
                                                           Customer.clockify_client_id != "")
                                   .order_by(Customer.name)))


# --- refresh -----------------------------------------------------------------------------------------


def claim(connection: ClockifyConnection, now: datetime | None = None) -> UnbilledTime | None:
    """The connection's row, claimed for a refresh (a guarded UPDATE: of two refreshes at once, one
    gets it); None while another refresh holds it. The caller commits the claim before asking Clockify."""
    now = now or utcnow()
    row = _row(connection)
    claimed = db.session.execute(
        update(UnbilledTime).where(UnbilledTime.id == row.id, or_(UnbilledTime.refreshing_until.is_(None),
                                                                   UnbilledTime.refreshing_until < now))
        .values(refreshing_until=now + REFRESH_CLAIM).execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        return None
    db.session.expire(row)
    return row


def _row(connection: ClockifyConnection) -> UnbilledTime:
    found = db.session.scalar(select(UnbilledTime).where(UnbilledTime.connection_id == connection.id))
    if found is not None:
        return found
    try:
        with db.session.begin_nested():  # a savepoint: losing the race to insert loses nothing else
            row = UnbilledTime(connection_id=connection.id, business_id=connection.business_id, calls=0)
            db.session.add(row)
        return row
    except IntegrityError:  # another refresh made it first
        return db.session.scalar(select(UnbilledTime).where(UnbilledTime.connection_id == connection.id))


def release(row: UnbilledTime) -> None:
    """Give up a claim whose refresh failed: the next one may try again; what was stored stays."""
    db.session.execute(update(UnbilledTime).where(UnbilledTime.id == row.id).values(refreshing_until=None)
                       .execution_options(synchronize_session=False))


def refresh(row: UnbilledTime, connection: ClockifyConnection, client: ClockifyClient, business: Business,
            customers: list[Customer], *, since: date, today: date, time_zone: str, max_age: timedelta,
            skip_workspaces: set[str]) -> None:
    """Fetch the connection's unbilled time since ``since`` into its (claimed) row and release it.
    Workspaces in ``skip_workspaces`` were fetched through another connection in this refresh; the
    ones fetched here are added to it."""
    calls_before = client.calls
    workspaces = imports.workspaces(connection, client, max_age)  # cached: commits itself (see there)
    result = []
    for workspace in workspaces:
        if workspace.id in skip_workspaces:
            continue
        client_ids = _clients_to_ask(connection, workspace, {c.clockify_client_id for c in customers})
        if client_ids == ():
            continue  # the workspace's client list holds none of the linked clients
        skip_workspaces.add(workspace.id)
        shown = {"id": workspace.id, "name": workspace.name, "customers": {}, "error": None}
        try:
            entries = _billable_entries(client, workspace, since, today, time_zone, client_ids,
                                        business.default_currency)
        except TooManyEntries:
            shown["error"] = _("Counting since %(since)s would take more than %(calls)d report calls in this "
                               "workspace (over %(entries)s billable entries, or on a Free plan, whose reports cover "
                               "31 days each, over ten months): choose a later date.", since=since.isoformat(),
                               calls=MAX_REPORT_CALLS, entries=format(MAX_REPORT_CALLS * 1000, ","))
            result.append(shown)
            continue
        entries = resolve_currencies(entries, imports.currency_answers(connection.id, workspace.id))
        for customer in customers:
            mine = [entry for entry in entries if entry.client_id == customer.clockify_client_id]
            if mine:
                shown["customers"][str(customer.id)] = _customer_rows(mine, customer, business)
        result.append(shown)
    row.payload = {"since": since.isoformat(), "until": today.isoformat(), "workspaces": result}
    row.since, row.fetched_at, row.calls = since, utcnow(), client.calls - calls_before
    row.refreshing_until = row.fetched_at + REFRESHED_RECENTLY
    db.session.flush()


def _clients_to_ask(connection, workspace: Workspace, linked: set[str]) -> tuple[str, ...] | None:
    """The linked clients to ask this workspace's report for: those its cached client list holds (the
    empty tuple: none of them, so it is not asked), or None (every client) when nothing is cached."""
    payload = db.session.scalar(select(ClockifyCache.payload).where(
        ClockifyCache.connection_id == connection.id, ClockifyCache.key == f"reference:{workspace.id}"))
    if payload is None:
        return None
    known = {client.id for client in from_plain(ReferenceData, payload).clients}
    return tuple(sorted(known & linked))


def _billable_entries(client: ClockifyClient, workspace: Workspace, since: date, until: date, time_zone: str,
                      client_ids: tuple[str, ...] | None, fallback_currency: str) -> list[TimeEntry]:
    """Every billable entry of the workspace in the range: one report per window (one window, or 31-day
    pieces on a Free workspace or when Clockify refuses a longer one), pages of 1000; TooManyEntries
    past MAX_REPORT_CALLS calls."""
    pending = imports.windows(since, until, workspace.plan)
    entries: dict[str, TimeEntry] = {}
    calls = 0
    while pending:
        start, end = pending.pop(0)
        page = 1
        while True:
            if calls >= MAX_REPORT_CALLS:
                raise TooManyEntries()
            calls += 1
            try:
                result = client.detailed_report_page(
                    workspace.id, start=start, end=end, time_zone=time_zone, page=page, billable=True,
                    currency=workspace.currency or fallback_currency, client_ids=client_ids or None)
            except ReportRangeTooLong:
                if page != 1 or (end - start).days < imports.FREE_PLAN_WINDOW_DAYS:
                    raise
                pending[:0] = imports.windows(start, end, workspace.plan, split=True)
                break
            for entry in result.entries:
                entries.setdefault(entry.id, entry)
            if not result.has_more:
                break
            page += 1
    return list(entries.values())


def _customer_rows(entries: list[TimeEntry], customer: Customer, business: Business) -> dict:
    """What the page needs of a customer's entries: [id, seconds, amount, has a rate] each (the amount as
    one line per entry would bill it, in the customer's currency), and how many cannot be billed on an
    invoice in that currency (running timers, other currencies...)."""
    billable = [entry for entry in entries if not skip_reason(entry, customer.currency)]
    amounts = entry_amounts(billable, customer.currency, imports.fallback_rate(business, customer))
    return {"client_id": customer.clockify_client_id, "currency": customer.currency,
            "skipped": len(entries) - len(billable),
            "entries": [[entry.id, entry.seconds, amounts[entry.id][0], amounts[entry.id][1] != "none"]
                        for entry in billable]}


# --- what the page shows --------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerUnbilled:
    customer: Customer
    connection_id: int | None = None
    workspace_id: str | None = None
    workspace_name: str = ""
    entries: int = 0
    seconds: int = 0
    amount_minor: int = 0
    without_rate: int = 0
    skipped: int = 0

    @property
    def hours(self) -> Decimal:
        return (Decimal(self.seconds) / 3600).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class UnbilledView:
    rows: list[CustomerUnbilled]
    since: date | None
    fetched_at: datetime | None
    problems: list[str]
    refreshing: bool


def view(business_id: int, connections: Iterable[ClockifyConnection], now: datetime | None = None) -> UnbilledView:
    """The unbilled time the visible connections last fetched, less what has been billed since: one row
    per linked customer (those with nothing found have no workspace). Reads the database only."""
    now = now or utcnow()
    by_id = {connection.id: connection for connection in connections}
    stored = list(db.session.scalars(select(UnbilledTime).where(UnbilledTime.connection_id.in_(by_id))
                                     .order_by(UnbilledTime.connection_id))) if by_id else []
    customers = linked_customers(business_id)
    found: dict[int, CustomerUnbilled] = {}
    problems, seen_workspaces = [], set()
    for row in stored:
        for workspace in (row.payload or {}).get("workspaces", []):
            if workspace["id"] in seen_workspaces:
                continue  # the same workspace through two connections: counted once
            seen_workspaces.add(workspace["id"])
            if workspace.get("error"):
                problems.append(f"{workspace['name']}: {workspace['error']}")
            billed = _billed(business_id, workspace["id"], [entry[0] for data in workspace["customers"].values()
                                                             for entry in data["entries"]])
            for customer in customers:
                data = workspace["customers"].get(str(customer.id))
                if data is None or customer.id in found or data["client_id"] != customer.clockify_client_id:
                    continue
                left = [entry for entry in data["entries"] if entry[0] not in billed]
                found[customer.id] = CustomerUnbilled(
                    customer=customer, connection_id=row.connection_id, workspace_id=workspace["id"],
                    workspace_name=workspace["name"], entries=len(left), seconds=sum(entry[1] for entry in left),
                    amount_minor=sum(entry[2] for entry in left) if data["currency"] == customer.currency else 0,
                    without_rate=sum(1 for entry in left if not entry[3]), skipped=data["skipped"])
    rows = sorted((found.get(customer.id) or CustomerUnbilled(customer=customer) for customer in customers),
                  key=lambda each: (-each.seconds, each.customer.name.lower()))
    fetched = [row for row in stored if row.fetched_at]
    return UnbilledView(rows=rows, since=fetched[0].since if fetched else None,
                        fetched_at=min((row.fetched_at for row in fetched), default=None), problems=problems,
                        refreshing=any(_refreshing(row, now) for row in stored))


def _refreshing(row: UnbilledTime, now: datetime) -> bool:
    """A refresh holds the claim now (not merely the pause after the last one)."""
    if row.refreshing_until is None or row.refreshing_until <= now:
        return False
    return row.fetched_at is None or row.refreshing_until > row.fetched_at + REFRESHED_RECENTLY


def _billed(business_id: int, workspace_id: str, entry_ids: list[str]) -> set[str]:
    """Which of these entries are on an invoice now (queried in chunks)."""
    billed = set()
    for start in range(0, len(entry_ids), 500):
        billed.update(db.session.scalars(select(ImportedEntry.entry_id).where(
            ImportedEntry.business_id == business_id, ImportedEntry.workspace_id == workspace_id,
            ImportedEntry.entry_id.in_(entry_ids[start:start + 500]))))
    return billed
