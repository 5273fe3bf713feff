"""Typed results of the read-only Clockify client, shared by the client, the sandbox tests and
services/lines.py. Money is Decimal (from Clockify's integer cents), durations are whole seconds,
timestamps are time-zone aware."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


@dataclass(frozen=True)
class Money:
    """An amount in a currency. ``amount`` is a Decimal in major units (4500 cents -> Decimal('45.00'))."""

    amount: Decimal
    currency: str


@dataclass(frozen=True)
class ClockifyUser:
    id: str
    name: str
    email: str
    time_zone: str | None
    active_workspace_id: str | None = None
    default_workspace_id: str | None = None


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    currency: str | None  # the workspace hourly rate's currency, the best hint Clockify gives
    hourly_rate: Money | None  # None when unset or zero
    subdomain: str | None  # the subdomain label when the workspace lives on one
    plan: str | None  # featureSubscriptionType, e.g. "FREE", "PRO", None when absent


@dataclass(frozen=True)
class Client:
    id: str
    name: str
    archived: bool
    currency: str | None
    email: str | None = None
    address: str | None = None


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


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    email: str
    hourly_rate: Money | None = None
    time_zone: str | None = None


@dataclass(frozen=True)
class Task:
    id: str
    name: str
    project_id: str
    hourly_rate: Money | None
    billable: bool


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
