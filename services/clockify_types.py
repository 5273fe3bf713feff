"""Typed results of the read-only Clockify client, shared by the client, the sandbox tests and
services/lines.py. Money is Decimal (Clockify's integers are x100 in every currency), durations are whole
seconds, timestamps are time-zone aware, strings are capped (NAME_LIMIT, DESCRIPTION_LIMIT) before anything
stores them.

The ``from_api`` constructors read Clockify's JSON leniently (see docs/clockify-notes.md: two
entry shapes, ``id`` or ``_id``, ISO or integer durations, null or zero rates) and raise KeyError,
TypeError or ValueError on a shape they cannot read; the client turns those into UnexpectedResponse.
"""
from __future__ import annotations

import functools
import re
import types
import typing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from flask_babel import gettext as _

from services import collector


# The line form's limits (blueprints/invoices.py LineForm: QUANTITY_LIMIT hours, RATE_LIMIT, a 2000-character
# description); an entry past them is listed as unreadable instead of becoming a line the form would refuse.
RATE_LIMIT = Decimal("10000000")
QUANTITY_LIMIT = Decimal("1000000")  # hours
MAX_ENTRY_SECONDS = int(QUANTITY_LIMIT) * 3600
DESCRIPTION_LIMIT = 2000
NAME_LIMIT = 200  # client, project, task, member and workspace names
ID_SHOWN_LIMIT = 64  # an unreadable entry's id, as shown

_ISO_LIKE = re.compile(r"[A-Za-z]{3}")
_HUNDREDTHS = Decimal("0.01")


def currency_label(label: str) -> str:
    """A Clockify currency label as stored: stripped; an ISO-looking code (three letters) upper-cased.
    Anything else is kept as typed ("€", "US$", "Euro"): services/currencies.py reads it."""
    text = label.strip()[:100]  # Clockify allows 1-100 characters
    return text.upper() if _ISO_LIKE.fullmatch(text) else text


@dataclass(frozen=True)
class Money:
    """An amount as Clockify states it. ``amount`` is an exact Decimal with 2 places (4500 -> 45.00),
    ``currency`` the workspace's label as Clockify gave it (see currency_label), not necessarily ISO."""

    amount: Decimal
    currency: str

    @classmethod
    def from_clockify(cls, value: int | float, currency: str) -> Money:
        """Clockify's integer x100 in EVERY currency (docs/clockify-notes.md): 500000 is 5000.00, JPY or USD alike.
        Rounding to the invoice currency's minor unit happens where the line is made, not here."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise TypeError("money must be an integer number of hundredths")
        if isinstance(value, float):  # tolerate 4500.0, never a real fraction of a hundredth
            if not value.is_integer():
                raise ValueError("money must be an integer number of hundredths")
            value = int(value)
        if abs(value) >= 10**24:  # past any real amount, and past what Decimal's 28 digits hold exactly
            raise ValueError("money too large to be real")
        if not isinstance(currency, str) or not currency.strip():
            raise ValueError("money needs a currency")
        return cls(Decimal(value).scaleb(-2).quantize(_HUNDREDTHS), currency_label(currency))

    from_cents = from_clockify  # the old name; kept while tests/test_lines.py still uses it


def rate_from_cents(cents: int | float | None, currency: str | None) -> Money | None:
    """A Clockify rate (x100); null and 0 both mean "no rate" (billable rates off, or the Free plan)."""
    if cents is None or cents == 0:
        return None
    return Money.from_clockify(cents, currency)  # type: ignore[arg-type]


def rate_from(obj: Any, fallback_currency: str | None = None) -> Money | None:
    """A ``{"amount": 4500, "currency": "AUD"}`` object, or null, as a rate."""
    if obj is None:
        return None
    return rate_from_cents(obj.get("amount"), obj.get("currency") or fallback_currency)


_ISO_DURATION = re.compile(
    r"P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:[.,]\d+)?)S)?)?",
    re.IGNORECASE,
)
_SECONDS_PER = {"weeks": 604800, "days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


def parse_duration(value: str | int | float | None) -> int | None:
    """Whole seconds from an ISO 8601 duration (core API: PT2H54M, P1DT2H, PT1.5S) or an integer
    (reports API). Fractional seconds round half up. None stays None (a running timer)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise TypeError("a duration cannot be a boolean")
    if isinstance(value, (int, float)):
        if value < 0 or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("a duration in seconds must be a whole, non-negative number")
        return int(value)
    text = value.strip()
    if text.isascii() and text.isdigit():  # the official file shows the report's integer as a string
        return int(text)
    match = _ISO_DURATION.fullmatch(text)
    parts = match.groupdict() if match else {}
    if not any(parts.values()) or text.upper().endswith("T"):
        raise ValueError("not an ISO 8601 duration")
    total = sum(
        (Decimal(number.replace(",", ".")) * _SECONDS_PER[unit] for unit, number in parts.items() if number),
        Decimal(0),
    )
    return int(total.to_integral_value(ROUND_HALF_UP))


def parse_timestamp(value: str | None) -> datetime | None:
    """An aware datetime from Clockify's ISO 8601 text: 'Z' or any offset, any fractional seconds.
    A timestamp without an offset is taken as UTC, which is what the core API means."""
    if value is None:
        return None
    text = value.strip()
    if text[-1:] == "z":
        text = text[:-1] + "Z"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_("its timestamp is not ISO 8601")) from None  # never echo the raw text
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # what the client accepts in a path, and models store (String(64))


def _id(obj: dict[str, Any]) -> str:
    """Core API items carry ``id``, report entries ``_id``."""
    value = obj.get("id") or obj.get("_id")
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(_("it has no readable id"))
    return value


def _text(value: Any, limit: int = NAME_LIMIT) -> str | None:
    """A name from Clockify, capped; anything that is not a non-empty string is None."""
    return value[:limit] if isinstance(value, str) and value else None


def _name(value: Any) -> str:
    return _text(value) or ""


def _optional_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(_("it has an unreadable project, task, client or member id"))
    return value


def _person(obj: dict[str, Any]) -> dict[str, Any]:
    """What a Clockify user object says of the person, read alike from ``/user`` (ClockifyUser) and from a
    workspace's users (Member)."""
    return dict(id=_id(obj), name=_name(obj.get("name")), email=_name(obj.get("email")),
                time_zone=_text((obj.get("settings") or {}).get("timeZone")))


@dataclass(frozen=True)
class ClockifyUser:
    id: str
    name: str
    email: str
    time_zone: str | None
    active_workspace_id: str | None = None
    default_workspace_id: str | None = None

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> ClockifyUser:
        return cls(**_person(obj), active_workspace_id=_text(obj.get("activeWorkspace")),
                   default_workspace_id=_text(obj.get("defaultWorkspace")))


ROUNDING_DIRECTIONS = ("up", "nearest", "down")


@dataclass(frozen=True)
class Rounding:
    """How a workspace rounds time in its reports: to ``minutes``, ``direction`` "up", "nearest" or "down"."""

    minutes: int
    direction: str

    @classmethod
    def from_settings(cls, settings: Any) -> Rounding | None:
        """``workspaceSettings``: ``round{round: "Round to nearest", minutes: "15"}`` counts only when
        ``timeRoundingInReports`` is true (docs/clockify-notes.md). None when reports do not round, or the settings are
        in a shape not known (a guess would bill the wrong hours)."""
        if not isinstance(settings, dict) or settings.get("timeRoundingInReports") is not True:
            return None
        rule = settings.get("round")
        if not isinstance(rule, dict) or not isinstance(rule.get("round"), str):
            return None
        words = rule["round"].casefold().split()
        direction = next((d for d in ROUNDING_DIRECTIONS if d in words), None)
        minutes = rule.get("minutes")
        if isinstance(minutes, str) and minutes.strip().isascii() and minutes.strip().isdigit():
            minutes = int(minutes.strip())
        if direction is None or isinstance(minutes, bool) or not isinstance(minutes, int) or not 0 < minutes <= 1440:
            return None
        return cls(minutes, direction)


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    currency: str | None  # the workspace hourly rate's currency label as Clockify gave it (not always ISO)
    hourly_rate: Money | None  # None when unset or zero
    subdomain: str | None  # the subdomain label when the workspace lives on one
    plan: str | None  # featureSubscriptionType, e.g. "FREE", "PRO", None when absent
    rounding: Rounding | None = None  # set only when the workspace rounds time in its reports

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Workspace:
        rate = obj.get("hourlyRate") or {}
        subdomain = obj.get("subdomain") or {}
        currency = rate.get("currency")
        return cls(
            id=_id(obj),
            name=_name(obj.get("name")),
            currency=currency_label(currency) or None if isinstance(currency, str) else None,
            hourly_rate=rate_from(rate),
            subdomain=_text(subdomain.get("name")) if subdomain.get("enabled") else None,
            plan=_text(obj.get("featureSubscriptionType")),
            rounding=Rounding.from_settings(obj.get("workspaceSettings")),
        )


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    archived: bool
    currency: str | None
    email: str | None = None
    address: str | None = None

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Client:
        return cls(
            id=_id(obj),
            name=_name(obj.get("name")),
            archived=bool(obj.get("archived")),
            currency=_text(obj.get("currencyCode")),
            email=_text(obj.get("email")),
            address=_text(obj.get("address")),
        )


@dataclass(frozen=True)
class Project:
    id: str
    name: str
    client_id: str | None
    client_name: str | None
    archived: bool
    billable: bool
    hourly_rate: Money | None
    color: str | None = None
    # wizard-steps: who may track time on it, when Clockify says so (a private project lists its
    # members); None for a public project or when memberships were not sent: anyone in the workspace.
    member_ids: tuple[str, ...] | None = None

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Project:
        members = tuple(m["userId"] for m in obj.get("memberships") or []
                        if isinstance(m, dict) and isinstance(m.get("userId"), str)
                        and m.get("membershipType", "PROJECT") == "PROJECT")
        return cls(
            id=_id(obj),
            name=_name(obj.get("name")),
            # live items carry clientId/clientName although the official file omits them
            client_id=_text(obj.get("clientId")),
            client_name=_text(obj.get("clientName")),
            archived=bool(obj.get("archived")),
            billable=bool(obj.get("billable")),
            hourly_rate=rate_from(obj.get("hourlyRate")),
            color=_text(obj.get("color")),
            member_ids=members if obj.get("public") is False and members else None,
        )


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str
    hourly_rate: Money | None = None
    time_zone: str | None = None

    @classmethod
    def from_api(cls, obj: dict[str, Any], workspace_id: str) -> Member:
        """A user listed with ``memberships=WORKSPACE``: the rate is on their membership of this workspace."""
        memberships = [m for m in obj.get("memberships") or [] if m.get("membershipType") == "WORKSPACE"]
        mine = next((m for m in memberships if m.get("targetId") == workspace_id), None)
        mine = mine or (memberships[0] if memberships else {})
        return cls(**_person(obj), hourly_rate=rate_from(mine.get("hourlyRate")))


@dataclass(frozen=True)
class TimeEntry:
    """One Clockify time entry, from either the core API or the detailed report.

    ``end`` and ``seconds`` are None for a running timer. ``rate`` is None when Clockify has no rate
    for the entry (null or zero). ``amount`` is what the report says the entry earned (x100; 0 for a
    non-billable entry), None on core-API entries. ``kind`` is Clockify's ``type`` upper-cased: only
    "REGULAR" is work.
    """

    id: str
    workspace_id: str
    user_id: str
    user_name: str | None
    description: str
    start: datetime
    end: datetime | None
    seconds: int | None
    billable: bool
    project_id: str | None
    project_name: str | None
    client_id: str | None
    client_name: str | None
    task_id: str | None
    task_name: str | None
    rate: Money | None
    kind: str = "REGULAR"
    tag_ids: tuple[str, ...] = field(default_factory=tuple)
    amount: Money | None = None  # a default, so previews stored before this field still read back

    @property
    def running(self) -> bool:
        return self.end is None or self.seconds is None

    @property
    def is_work(self) -> bool:
        return self.kind == "REGULAR"

    @classmethod
    def from_api(cls, obj: dict[str, Any], workspace_id: str, currency: str | None = None) -> TimeEntry:
        """Either shape. Core entries carry ``hourlyRate{amount,currency}``, an ISO duration and, when
        asked with ``hydrated=true``, ``project``/``task`` objects with their names; report entries carry
        ``rate`` and ``amount`` (x100) without a currency (``currency`` supplies it unless the entry
        names one), integer seconds, names, and no workspace id (``workspace_id`` supplies it).

        Raises ValueError (its message says what is wrong, in words fit for the page), KeyError or
        TypeError for an entry past the line form's limits or in a shape it cannot read."""
        if not isinstance(obj, dict):
            raise ValueError(_("it is not an object"))
        interval = obj.get("timeInterval")
        if not isinstance(interval, dict):
            raise ValueError(_("it has no time interval"))
        start = parse_timestamp(_timestamp_text(interval.get("start")))
        if start is None:
            raise ValueError(_("it has no start"))
        end = parse_timestamp(_timestamp_text(interval.get("end")))
        seconds = None
        if end is not None:  # a running timer is never billed, whatever its duration says
            try:
                seconds = parse_duration(interval.get("duration"))
            except (TypeError, ValueError):
                raise ValueError(_("its duration is not readable")) from None
            if seconds is None:
                seconds = int((end - start).total_seconds())
            if not 0 <= seconds <= MAX_ENTRY_SECONDS:
                raise ValueError(_("its duration is outside 0 to %(most)s hours", most=f"{int(QUANTITY_LIMIT):,}"))
        label = _text(obj.get("currency"), 100) or currency
        if isinstance(obj.get("hourlyRate"), dict):
            rate = _bounded(rate_from(obj["hourlyRate"], label), "rate", RATE_LIMIT)
        else:
            rate = _bounded(_money(obj.get("rate"), label, "rate", zero_is_none=True), "rate", RATE_LIMIT)
        amount = _bounded(_money(obj.get("amount"), label, "amount", zero_is_none=False), "amount",
                          RATE_LIMIT * QUANTITY_LIMIT)
        description = obj.get("description")
        if description is not None and not isinstance(description, str):
            raise ValueError(_("its description is not text"))
        project = obj.get("project") if isinstance(obj.get("project"), dict) else {}  # hydrated core entries
        task = obj.get("task") if isinstance(obj.get("task"), dict) else {}
        tag_ids = obj.get("tagIds")
        if tag_ids is None:
            tag_ids = [tag.get("id") for tag in obj.get("tags") or [] if isinstance(tag, dict)]
        if not isinstance(tag_ids, list):
            raise ValueError(_("its tags are not a list"))
        return cls(
            id=_id(obj),
            workspace_id=_optional_id(obj.get("workspaceId")) or workspace_id,
            user_id=_required_id(obj.get("userId"), "member"),
            user_name=_text(obj.get("userName")),
            description=(description or "")[:DESCRIPTION_LIMIT],
            start=start,
            end=end,
            seconds=seconds,
            billable=bool(obj.get("billable")),
            project_id=_optional_id(obj.get("projectId")),
            project_name=_text(obj.get("projectName")) or _text(project.get("name")),
            client_id=_optional_id(obj.get("clientId") or project.get("clientId")),
            client_name=_text(obj.get("clientName")) or _text(project.get("clientName")),
            task_id=_optional_id(obj.get("taskId")),
            task_name=_text(obj.get("taskName")) or _text(task.get("name")),
            rate=rate,
            kind=str(obj.get("type") or "REGULAR").upper()[:40],
            tag_ids=tuple(tag for tag in (_optional_id(t) for t in tag_ids) if tag),
            amount=amount,
        )


def _timestamp_text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError(_("its timestamp is not ISO 8601"))
    return value


def _required_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"it has no readable {what} id")
    return value


def _money(value: Any, label: str | None, what: str, *, zero_is_none: bool) -> Money | None:
    if value is None or (zero_is_none and value == 0):
        return None
    if not label:
        raise ValueError(f"its {what} has no currency")
    try:
        return Money.from_clockify(value, label)
    except (TypeError, ValueError, ArithmeticError):
        raise ValueError(f"its {what} is not a usable amount") from None


def _bounded(money: Money | None, what: str, limit: Decimal) -> Money | None:
    if money is not None and money.amount < 0:
        raise ValueError(f"its {what} is negative")
    if money is not None and money.amount > limit:
        raise ValueError(f"its {what} is above {limit:,}")
    return money


# --- a report page read at once (preview-cpu) ----------------------------------------------------------
# A 1,000-entry report page read with json.loads and TimeEntry.from_api cost ~30 ms of the app's CPU, most
# of what the key's 100 ms a page leaves. msgspec (a maintained C extension) checks the types of the shape a
# plain report page has while it decodes into these structs; the rules left (ids, timestamps, the duration's
# range, money, name caps) run in Python on attributes, the ids of a page in one regular expression. Anything
# else (a core entry, a float, a string duration, an unreadable entry) makes the page go the careful way:
# json and from_api item by item, which says what is wrong with each. Both ways give the same TimeEntry.
class _Interval(msgspec.Struct, gc=False):  # gc=False: no cycles, and 2,000 fewer objects for the collector
    start: str
    end: str | None = None
    duration: int | None = None


class _ReportItem(msgspec.Struct, gc=False, rename={
        "id": "_id", "core_id": "id", "user_id": "userId", "user_name": "userName", "workspace_id": "workspaceId",
        "project_id": "projectId", "project_name": "projectName", "client_id": "clientId",
        "client_name": "clientName", "task_id": "taskId", "task_name": "taskName", "tag_ids": "tagIds",
        "interval": "timeInterval", "kind": "type", "hourly_rate": "hourlyRate"}):
    id: str
    user_id: str
    interval: _Interval
    tag_ids: list[str]
    description: str | None = None
    billable: bool | None = None
    user_name: str | None = None
    workspace_id: str | None = None
    project_id: str | None = None
    project_name: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    task_id: str | None = None
    task_name: str | None = None
    rate: int | None = None
    amount: int | None = None
    currency: str | None = None
    kind: str | None = None
    # Shapes of a core entry: present, they need from_api's reading.
    core_id: None = None
    hourly_rate: None = None
    project: None = None
    task: None = None


_IDS = re.compile(r"(?:[A-Za-z0-9_-]{1,64}\n)*")  # _ID's ids, each followed by a newline
_IDS_OR_NONE = re.compile(r"(?:[A-Za-z0-9_-]{0,64}\n)*")  # "" is no id, as _optional_id reads it


def _check_ids(pattern: re.Pattern, ids: list[str]) -> None:
    """Every one of ``ids`` is an id (ValueError if not), in one match: no id can hold the newline."""
    text = "\n".join(ids) + "\n" if ids else ""
    if text.count("\n") != len(ids) or not pattern.fullmatch(text):
        raise ValueError("an unreadable id")


class _ReportBody(msgspec.Struct):
    timeentries: list[_ReportItem] | None | msgspec.UnsetType = msgspec.UNSET
    totals: Any = msgspec.UNSET


_report_decoder = msgspec.json.Decoder(_ReportBody)


@collector.paused()  # a page's entries are thousands of tracked objects (services/collector.py)
def read_report_fast(content: bytes, workspace_id: str, currency: str | None) -> tuple[list[TimeEntry], int, Any] | None:
    """A detailed report page's (entries, items on the page, totals) when the page is in the plain shape
    and every entry readable, as ``TimeEntry.from_api`` reads each; None when any is not (or the body is
    no such page): then read it item by item. ``totals`` is None when the body had none."""
    try:
        body = _report_decoder.decode(content)
    except msgspec.DecodeError:  # ValidationError too: a shape for the careful reading
        return None
    if body.timeentries is msgspec.UNSET and body.totals is msgspec.UNSET:
        return None
    items = body.timeentries or []
    try:
        entries = _entries_fast(items, workspace_id, currency)
    except (ValueError, TypeError, ArithmeticError):  # an unreadable entry: from_api says which and why
        return None
    return entries, len(items), None if body.totals is msgspec.UNSET else body.totals


def _entries_fast(items: list[_ReportItem], workspace_id: str, currency: str | None) -> list[TimeEntry]:
    # What repeats on a page is read once: each (rate, label), (amount, label), label and kind. The loop runs
    # for every entry of every report page, in the key's 100 ms a page: 22 -> ~11 ms a 1,000-entry page.
    monies: dict[tuple[int, str | None, bool], Money] = {}
    labels: dict[str, str] = {}
    kinds: dict[str | None, str] = {}
    new, fromisoformat = object.__new__, datetime.fromisoformat

    def money(value: int, label: str | None, rate: bool) -> Money:
        """Money.from_clockify's reading (a checked int of hundredths) and the limits; kept per page by key."""
        if not label or abs(value) >= 10**24:
            raise ValueError("no currency, or out of range")
        code = labels.get(label)
        if code is None:
            if not label.strip():
                raise ValueError("money needs a currency")
            code = labels[label] = currency_label(label)
        amount = Decimal(value).scaleb(-2).quantize(_HUNDREDTHS)
        if amount < 0 or amount > (RATE_LIMIT if rate else RATE_LIMIT * QUANTITY_LIMIT):
            raise ValueError("out of range")
        found = monies[value, label, rate] = new(Money)
        found.__dict__.update(amount=amount, currency=code)
        return found

    def timestamp(text: str | None) -> datetime | None:
        """parse_timestamp's answer, at once for the plain ISO text with an offset a report sends."""
        if text is None:
            return None
        try:
            parsed = fromisoformat(text)
        except ValueError:
            return parse_timestamp(text)
        return parsed if parsed.tzinfo is not None else parse_timestamp(text)

    _check_ids(_IDS, [id for item in items for id in (item.id, item.user_id)])
    _check_ids(_IDS_OR_NONE, [id for item in items for id in (item.workspace_id, item.project_id, item.client_id,
                                                              item.task_id, *item.tag_ids) if id is not None])
    entries = []
    for item in items:
        interval = item.interval
        start = timestamp(interval.start)
        end = timestamp(interval.end)
        seconds = None
        if end is not None:
            seconds = interval.duration
            if seconds is None:
                seconds = int((end - start).total_seconds())
            if not 0 <= seconds <= MAX_ENTRY_SECONDS:
                raise ValueError("duration out of range")
        label = (item.currency or None) and item.currency[:100] or currency
        value = item.rate
        rate = None if value is None or value == 0 else monies.get((value, label, True)) or money(value, label, True)
        value = item.amount
        amount = None if value is None else monies.get((value, label, False)) or money(value, label, False)
        kind = kinds.get(item.kind)
        if kind is None:
            kind = kinds[item.kind] = (item.kind or "REGULAR").upper()[:40]
        entry = new(TimeEntry)  # as TimeEntry(**fields) makes it (no __post_init__), without a setattr per field
        entry.__dict__.update(
            id=item.id,
            workspace_id=item.workspace_id or workspace_id,
            user_id=item.user_id,
            user_name=item.user_name[:NAME_LIMIT] if item.user_name else None,
            description=(item.description or "")[:DESCRIPTION_LIMIT],
            start=start,
            end=end,
            seconds=seconds,
            billable=bool(item.billable),
            project_id=item.project_id or None,
            project_name=item.project_name[:NAME_LIMIT] if item.project_name else None,
            client_id=item.client_id or None,
            client_name=item.client_name[:NAME_LIMIT] if item.client_name else None,
            task_id=item.task_id or None,
            task_name=item.task_name[:NAME_LIMIT] if item.task_name else None,
            rate=rate,
            kind=kind,
            tag_ids=tuple(filter(None, item.tag_ids)),
            amount=amount,
        )
        entries.append(entry)
    return entries


@dataclass(frozen=True)
class UnreadableEntry:
    """A report entry that could not be read: listed apart, never imported, never failing its page.
    ``id`` is the raw id text capped at ID_SHOWN_LIMIT characters, or "" when there is none."""

    id: str
    reason: str

    @classmethod
    def of(cls, item: Any, reason: str) -> UnreadableEntry:
        raw = item.get("_id", item.get("id")) if isinstance(item, dict) else None
        return cls(raw[:ID_SHOWN_LIMIT] if isinstance(raw, str) else "", reason)


@dataclass(frozen=True)
class ReportPage:
    """One page of the detailed report. ``has_more`` is True when the page was full, so a next page
    may exist (it may also turn out empty: the report sends no Last-Page header). ``unreadable`` lists
    the entries of the page that could not be read; the others are in ``entries``."""

    entries: tuple[TimeEntry, ...]
    page: int
    has_more: bool
    unreadable: tuple[UnreadableEntry, ...] = ()
    total: int | None = None  # the report's entriesCount, when totals were asked for and given (big-imports)


@dataclass(frozen=True)
class ReferenceData:
    """What the import wizard loads when a workspace is chosen."""

    clients: tuple[Client, ...]
    projects: tuple[Project, ...]
    members: tuple[Member, ...]

    def members_on(self, projects: Iterable[Project]) -> tuple[Member, ...] | None:
        """The members who may track time on ``projects`` when every one of them says who (wizard-steps);
        None when any may be tracked by anyone (public, or memberships unknown) or there are none."""
        projects = list(projects)
        if not projects or any(project.member_ids is None for project in projects):
            return None
        allowed = {member_id for project in projects for member_id in project.member_ids}
        return tuple(member for member in self.members if member.id in allowed)


# --- storing results (cache and import previews) -------------------------------------------------------


def to_plain(value: Any) -> Any:
    """A result as JSON-ready data: Decimal as text, datetimes as ISO 8601, dataclasses as dicts."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return _encoder(type(value))(value)
    return value


@functools.cache
def _encoder(cls: type) -> Callable[[Any], dict[str, Any]]:
    # Annotations are read once per class (as _decoder does): fields that hold text, numbers, booleans or
    # None are copied as they are, the others converted, so a 1,000-entry report page is stored in a
    # few milliseconds rather than walked value by value (preview-floor).
    hints = typing.get_type_hints(cls)
    fields = tuple((name, _plain_converter(hints[name])) for name in cls.__dataclass_fields__)

    def encode(value: Any) -> dict[str, Any]:
        data = {}
        for name, convert in fields:
            item = getattr(value, name)
            data[name] = item if convert is None or item is None else convert(item)
        return data

    return encode


_PLAIN_TYPES = (str, int, bool, type(None))


def _plain_converter(hint: Any) -> Callable[[Any], Any] | None:
    """None for a field whose values are JSON as they are; else how to_plain converts one (not None)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if all(arg in _PLAIN_TYPES for arg in args):
            return None
        inner = [arg for arg in args if arg is not type(None)]
        return _plain_converter(inner[0]) if len(inner) == 1 else to_plain
    if hint in _PLAIN_TYPES:
        return None
    if hint is datetime:
        return datetime.isoformat
    if origin is tuple and args[-1] is Ellipsis and args[0] in _PLAIN_TYPES:
        return list
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__") and not hint.__subclasses__():
        return _encoder(hint)
    return to_plain


_json_encoder = msgspec.json.Encoder()


def plain_json(value: Any) -> str:
    """``json.dumps(to_plain(value))`` at once, for this module's result types: msgspec writes dataclasses,
    Decimal as text and datetimes as RFC 3339 (UTC as "Z", which from_plain reads as "+00:00"), so a 1,000-entry
    page is stored in about a millisecond rather than fifteen (preview-cpu)."""
    return _json_encoder.encode(value).decode()


def from_plain(cls: type, data: dict[str, Any]) -> Any:
    """The inverse of to_plain for this module's result types (a stored copy of our own output)."""
    return _decoder(cls)(data)


@functools.cache
def _decoder(cls: type) -> Callable[[dict[str, Any]], Any]:
    # Annotations are read once per class; a preview of 10,000 entries decodes each with plain calls.
    fields = {name: _converter(hint) for name, hint in typing.get_type_hints(cls).items()}

    def decode(data: dict[str, Any]) -> Any:
        return cls(**{name: None if value is None else fields[name](value) for name, value in data.items()})

    return decode


def _converter(hint: Any) -> Callable[[Any], Any]:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = _converter(next(arg for arg in args if arg is not type(None)))
        return lambda value: None if value is None else inner(value)
    if origin is tuple:
        item = _converter(args[0])
        return lambda value: tuple(item(each) for each in value)
    if hint is Decimal:
        return Decimal
    if hint is datetime:
        return datetime.fromisoformat
    if hasattr(hint, "__dataclass_fields__"):
        return _decoder(hint)
    return lambda value: value
