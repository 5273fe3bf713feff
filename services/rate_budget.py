"""How often Hourbill may call Clockify: at most PER_SECOND requests in any rolling second per API key
(docs/clockify-notes.md), counted where every process that uses the key sees it.

A budget has two methods. ``reserve(key)`` books the next free slot under a lock and says how long to
wait before sending; the caller sleeps outside the lock, so concurrent callers are spaced without anyone
holding it while waiting. ``finished(key, at)``, once the answer begins, moves the slot booked at ``at``
to that moment: Clockify counts a request when it arrives, which on a loaded machine may be well after
the booked time but never after Clockify answers, so an answered request's window (ANSWERED from the
answer) cannot take in the ten requests after it (one still in flight counts WINDOW from its booking). ``key`` is ``key_hash(api_key)``, never
the key.

- ``LocalBudget``: in this process only (threads share it). The client's default, for tests, benchmarks
  and scripts without a database.
- ``DatabaseBudget``: a ``clockify_rate_budget`` row per key, locked in a short transaction on a
  connection of its own (never the request's, whose unit of work stays untouched). ``for_database`` picks
  where: PostgreSQL's own database, shared by every worker and host; for SQLite a file beside the
  database, shared by every process on the host (see there why not the database file itself).

The database keeps wall-clock times (time.time), since processes and hosts share them: hosts behind one
PostgreSQL must keep their clocks in step (NTP); the margin in WINDOW absorbs a few milliseconds.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import NamedTuple, Protocol

from sqlalchemy import Engine, create_engine, event, insert, select, update
from sqlalchemy.pool import StaticPool
from sqlalchemy.schema import CreateTable

PER_SECOND = 10  # per key: Clockify's documented limit (the newer 50/s is for add-ons)
WINDOW = 1.05  # a hair over a second: Clockify counts arrivals, which network jitter can bunch
# An answered request arrived before its answer began, so a window from that moment needs no margin for
# jitter, only for hosts' clocks (NTP: a few ms): its slot counts from WINDOW - ANSWERED before the answer,
# a window after which is ANSWERED after it. 1.05 from each answer spaced the quarter's 66 report calls
# ~0.2 s more than Clockify's limit asks (import-fast10).
ANSWERED = 1.02


class Slot(NamedTuple):
    at: float  # when the request may be sent, on the budget's clock
    wait: float  # seconds from now until then (0: send now)


class RateBudget(Protocol):
    def reserve(self, key: str) -> Slot:
        """Book the next slot for ``key``."""

    def finished(self, key: str, at: float) -> None:
        """The request booked at ``at`` has its answer (or failed): its slot counts from now."""


def key_hash(api_key: str) -> str:
    """The name a key's budget goes by: the same in every process and host, useless without the key."""
    return hmac.new(b"hourbill: clockify rate budget", api_key.encode(), hashlib.sha256).hexdigest()


def next_slot(slots: list[float], now: float, per_second: int, window: float) -> tuple[float, list[float]]:
    """When the next request may go, and the slots to keep (the last ``per_second``, oldest first): a
    full window sends a window after its oldest slot."""
    at = now if len(slots) < per_second else max(now, slots[-per_second] + window)
    return at, [*slots, at][-per_second:]


def moved(slots: list[float], at: float, now: float) -> list[float]:
    """The slots with the one booked at ``at`` moved to ``now`` (if later and still kept), oldest first.
    The budgets pass the answer's moment less ``WINDOW - ANSWERED`` (see ANSWERED)."""
    for index, slot in enumerate(slots):
        if abs(slot - at) < 1e-6:
            return sorted([*slots[:index], max(slot, now), *slots[index + 1:]])
    return slots


class LocalBudget:
    """Slots kept in this process, per key; safe to share between threads."""

    def __init__(self, per_second: int = PER_SECOND, window: float = WINDOW,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second, self.window, self._clock = per_second, window, clock
        self._slots: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str) -> Slot:
        with self._lock:
            now = self._clock()
            at, self._slots[key] = next_slot(self._slots.get(key, []), now, self.per_second, self.window)
        return Slot(at, at - now)

    def finished(self, key: str, at: float) -> None:
        with self._lock:
            self._slots[key] = moved(self._slots.get(key, []), at, self._clock() - (self.window - ANSWERED))


class DatabaseBudget:
    """Slots kept in the ``clockify_rate_budget`` table, one row per key hash, taken with SELECT ... FOR
    UPDATE (PostgreSQL) or under BEGIN IMMEDIATE (SQLite) in a transaction of its own."""

    def __init__(self, engine: Engine, per_second: int = PER_SECOND, window: float = WINDOW,
                 clock: Callable[[], float] = time.time, lock: threading.Lock | None = None) -> None:
        from models import ClockifyRateBudget

        self.per_second, self.window, self._clock = per_second, window, clock
        self._engine, self._table = engine, ClockifyRateBudget.__table__
        self._lock = lock or nullcontext()  # threads of this process queue here first (the SQLite side file)

    def reserve(self, key: str) -> Slot:
        slot = None

        def book(slots: list[float], now: float) -> list[float]:
            nonlocal slot
            at, kept = next_slot(slots, now, self.per_second, self.window)
            slot = Slot(at, at - now)
            return kept

        self._change(key, book)
        return slot

    def finished(self, key: str, at: float) -> None:
        self._change(key, lambda slots, now: moved(slots, at, now - (self.window - ANSWERED)))

    def _change(self, key: str, change: Callable[[list[float], float], list[float]]) -> None:
        """Apply ``change(slots, now)`` to the key's row, locked, in a transaction of its own."""
        table = self._table
        row = select(table.c.slots).where(table.c.key_hash == key).with_for_update()
        with self._lock, self._engine.begin() as connection:
            slots = connection.scalar(row)
            if slots is None:  # a new key: two processes may add it at once, so add it, then lock it
                connection.execute(_insert_if_absent(self._engine, table, key))
                slots = connection.scalar(row)
            now = self._clock()  # read under the lock: whoever waited for it books after its holder
            kept = change([float(t) for t in slots.split()], now)
            connection.execute(update(table).where(table.c.key_hash == key)
                               .values(slots=" ".join(f"{t:.6f}" for t in kept)))


def _insert_if_absent(engine: Engine, table, key: str):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:
        return insert(table).values(key_hash=key, slots="")
    return dialect_insert(table).values(key_hash=key, slots="").on_conflict_do_nothing()


PROCESS_BUDGET = LocalBudget()  # the client's default where no database is at hand
SIDE_FILES_KEPT = 4  # side files a process keeps a connection to (one in production; tests make many)
_SIDE_ENGINES: dict[tuple[str, int], tuple[Engine, threading.Lock]] = {}
_SIDE_LOCK = threading.Lock()


def for_database(engine: Engine, per_second: int = PER_SECOND) -> RateBudget:
    """The budget every process using this database shares.

    PostgreSQL: the database's own ``clockify_rate_budget`` table (on a pooled connection of its own).
    SQLite: the same table in a file beside the database (``app.db`` -> ``app.db-rate-budget``), shared
    by every process on the host. Not the database file itself: SQLite has one writer per file, and a
    request that has begun writing (a guarded claim, a long confirm) before it calls Clockify would make
    the budget wait for that request, its own caller included, until the lock times out. An in-memory
    database has no file to share: this process's budget."""
    if engine.dialect.name != "sqlite":
        return DatabaseBudget(engine, per_second)
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return PROCESS_BUDGET if per_second == PER_SECOND else LocalBudget(per_second)
    path = database + "-rate-budget"
    with _SIDE_LOCK:
        place = (path, os.getpid())  # a forked worker opens its own connection
        side = _SIDE_ENGINES.pop(place, None) or (_sqlite_side_engine(path), threading.Lock())
        _SIDE_ENGINES[place] = side  # the most recently used last
        while len(_SIDE_ENGINES) > SIDE_FILES_KEPT:
            engine, lock = _SIDE_ENGINES.pop(next(iter(_SIDE_ENGINES)))
            with lock:  # not under a budget still using it (it would open a new connection after)
                engine.dispose()
    return DatabaseBudget(side[0], per_second, lock=side[1])


def _sqlite_side_engine(path: str) -> Engine:
    """One connection per process, kept open (the process's threads take turns under its lock): a
    connection opened per transaction was the file's last each time, so SQLite folded the WAL back into
    the file and deleted it, two fsyncs per transaction, ~25 ms each on a busy disk, twice per call; and
    threads contending for the file's lock slept in SQLite's busy handler (1 to 100 ms) rather than
    queueing."""
    from models import ClockifyRateBudget

    # The driver's own transaction handling off, so that BEGIN IMMEDIATE takes the file's write lock
    # before the row is read (SQLAlchemy's documented recipe for pysqlite).
    side = create_engine(f"sqlite:///{path}", poolclass=StaticPool,
                         connect_args={"isolation_level": None, "timeout": 10, "check_same_thread": False})
    event.listen(side, "connect", _fast_commits)
    event.listen(side, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
    with side.begin() as connection:  # several processes may start at once
        connection.execute(CreateTable(ClockifyRateBudget.__table__, if_not_exists=True))
    return side


def _fast_commits(dbapi_connection, connection_record) -> None:
    """Two commits per Clockify call: in WAL mode without a sync each (a power cut may lose the last
    slots, never the file), a budget commit costs microseconds."""
    dbapi_connection.execute("PRAGMA journal_mode=WAL")
    dbapi_connection.execute("PRAGMA synchronous=NORMAL")
