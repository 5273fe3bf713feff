"""Typed results of the read-only Clockify client, shared by the client, the sandbox tests and
services/lines.py. Money is Decimal (from Clockify's integer cents), durations are whole seconds,
timestamps are time-zone aware.

The ``from_api`` constructors read Clockify's JSON leniently (see /work/shared/clockify/NOTES.md: two
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
from collections.abc import Callable
from typing import Any

from babel.numbers import get_currency_precision


@dataclass(frozen=True)
class Money:
    """An amount in a currency. ``amount`` is a Decimal in major units (4500 cents -> Decimal('45.00'))."""

    amount: Decimal
    currency: str

    @classmethod
    def from_cents(cls, cents: int | float, currency: str) -> Money:
        """Clockify's integer minor units -> Money, using the currency's own exponent (JPY has none)."""
        if isinstance(cents, bool) or not isinstance(cents, (int, float)):
            raise TypeError("money must be an integer number of minor units")
        if isinstance(cents, float):  # tolerate 4500.0, never a real fraction of a cent
            if not cents.is_integer():
                raise ValueError("money must be an integer number of minor units")
            cents = int(cents)
        if not isinstance(currency, str) or not currency.strip():
            raise ValueError("money needs a currency code")
        code = currency.strip().upper()
        return cls(Decimal(cents).scaleb(-get_currency_precision(code)), code)


def rate_from_cents(cents: int | float | None, currency: str | None) -> Money | None:
    """A Clockify rate; null and 0 both mean "no rate" (billable rates off, or the Free plan)."""
    if cents is None or cents == 0:
        return None
    return Money.from_cents(cents, currency)  # type: ignore[arg-type]


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
    if text.isdigit():  # the official file shows the report's integer as a string
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
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=timezone.utc)


def _id(obj: dict[str, Any]) -> str:
    """Core API items carry ``id``, report entries ``_id``."""
    value = obj.get("id") or obj.get("_id")
    if not isinstance(value, str) or not value:
        raise ValueError("an item without an id")
    return value


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


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
        settings = obj.get("settings") or {}
        return cls(
            id=_id(obj),
            name=obj.get("name") or "",
            email=obj.get("email") or "",
            time_zone=_text(settings.get("timeZone")),
            active_workspace_id=_text(obj.get("activeWorkspace")),
            default_workspace_id=_text(obj.get("defaultWorkspace")),
        )


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    currency: str | None  # the workspace hourly rate's currency, the best hint Clockify gives
    hourly_rate: Money | None  # None when unset or zero
    subdomain: str | None  # the subdomain label when the workspace lives on one
    plan: str | None  # featureSubscriptionType, e.g. "FREE", "PRO", None when absent

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Workspace:
        rate = obj.get("hourlyRate") or {}
        subdomain = obj.get("subdomain") or {}
        return cls(
            id=_id(obj),
            name=obj.get("name") or "",
            currency=_text(rate.get("currency")),
            hourly_rate=rate_from(rate),
            subdomain=_text(subdomain.get("name")) if subdomain.get("enabled") else None,
            plan=_text(obj.get("featureSubscriptionType")),
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
            name=obj.get("name") or "",
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

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Project:
        return cls(
            id=_id(obj),
            name=obj.get("name") or "",
            # live items carry clientId/clientName although the official file omits them
            client_id=_text(obj.get("clientId")),
            client_name=_text(obj.get("clientName")),
            archived=bool(obj.get("archived")),
            billable=bool(obj.get("billable")),
            hourly_rate=rate_from(obj.get("hourlyRate")),
            color=_text(obj.get("color")),
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
        return cls(
            id=_id(obj),
            name=obj.get("name") or "",
            email=obj.get("email") or "",
            hourly_rate=rate_from(mine.get("hourlyRate")),
            time_zone=_text((obj.get("settings") or {}).get("timeZone")),
        )


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    project_id: str
    hourly_rate: Money | None
    billable: bool

    @classmethod
    def from_api(cls, obj: dict[str, Any], project_id: str) -> Task:
        return cls(
            id=_id(obj),
            name=obj.get("name") or "",
            project_id=_text(obj.get("projectId")) or project_id,
            hourly_rate=rate_from(obj.get("hourlyRate")),
            billable=bool(obj.get("billable")),
        )


@dataclass(frozen=True)
class Tag:
    id: str
    name: str
    archived: bool

    @classmethod
    def from_api(cls, obj: dict[str, Any]) -> Tag:
        return cls(id=_id(obj), name=obj.get("name") or "", archived=bool(obj.get("archived")))


@dataclass(frozen=True)
class TimeEntry:
    """One Clockify time entry, from either the core API or the detailed report.

    ``end`` and ``seconds`` are None for a running timer. ``rate`` is None when Clockify has no rate
    for the entry (null or zero). ``kind`` is Clockify's ``type`` upper-cased: only "REGULAR" is work.
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

    @property
    def running(self) -> bool:
        return self.end is None or self.seconds is None

    @property
    def is_work(self) -> bool:
        return self.kind == "REGULAR"

    @classmethod
    def from_api(cls, obj: dict[str, Any], workspace_id: str, currency: str | None = None) -> TimeEntry:
        """Either shape. Core entries carry ``hourlyRate{amount,currency}`` and an ISO duration; report
        entries carry ``rate`` in cents without a currency (``currency`` supplies it), integer seconds,
        names, and no workspace id (``workspace_id`` supplies it)."""
        interval = obj.get("timeInterval") or {}
        start = parse_timestamp(interval["start"])
        if start is None:
            raise ValueError("an entry without a start")
        end = parse_timestamp(interval.get("end"))
        seconds = None
        if end is not None:  # a running timer is never billed, whatever its duration says
            seconds = parse_duration(interval.get("duration"))
            if seconds is None:
                seconds = int((end - start).total_seconds())
        if isinstance(obj.get("hourlyRate"), dict):
            rate = rate_from(obj["hourlyRate"], currency)
        else:
            rate = rate_from_cents(obj.get("rate"), _text(obj.get("currency")) or currency)
        tag_ids = obj.get("tagIds")
        if tag_ids is None:
            tag_ids = [tag["id"] for tag in obj.get("tags") or []]
        return cls(
            id=_id(obj),
            workspace_id=_text(obj.get("workspaceId")) or workspace_id,
            user_id=obj["userId"],
            user_name=_text(obj.get("userName")),
            description=obj.get("description") or "",
            start=start,
            end=end,
            seconds=seconds,
            billable=bool(obj.get("billable")),
            project_id=_text(obj.get("projectId")),
            project_name=_text(obj.get("projectName")),
            client_id=_text(obj.get("clientId")),
            client_name=_text(obj.get("clientName")),
            task_id=_text(obj.get("taskId")),
            task_name=_text(obj.get("taskName")),
            rate=rate,
            kind=str(obj.get("type") or "REGULAR").upper(),
            tag_ids=tuple(tag_ids),
        )


@dataclass(frozen=True)
class ReportPage:
    """One page of the detailed report. ``has_more`` is True when the page was full, so a next page
    may exist (it may also turn out empty: the report sends no Last-Page header)."""

    entries: tuple[TimeEntry, ...]
    page: int
    has_more: bool


@dataclass(frozen=True)
class ReferenceData:
    """What the import wizard loads when a workspace is chosen."""

    clients: tuple[Client, ...]
    projects: tuple[Project, ...]
    members: tuple[Member, ...]


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
        return {name: to_plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value


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
