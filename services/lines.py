"""Selected Clockify time entries -> the invoice lines the import wizard proposes (DESIGN.md, step 5).

Pure functions, no Flask and no database: the preview shows the plan, and confirming rebuilds the same
plan from entries the server fetched itself and writes its lines.

- Entries that are never billed (running timers, breaks and time off, zero time, a rate in another
  currency) come back in ``ImportPlan.skipped`` with the reason the preview shows.
- Entries already on another invoice are the caller's business: it needs the database to know them and
  a link to show for them, so it leaves them out of ``entries`` and lists them itself.
- ``billable`` is not looked at: "billable only" is a filter of the wizard, and an entry the user
  ticked is billed.

Exactness: a line keeps the exact billed seconds of its entries (``seconds``) and their ids. Its
quantity is those seconds in hours rounded half-up to 4 places, LineItem's precision, so a line of 1 s
says 0.0003 h (any rounding step of 6, 15 or 30 minutes gives an exact quantity). Its amount is the
printed quantity times the printed rate, rounded half-up to the minor unit, as models.LineItem computes
it, so whoever checks the invoice by hand gets the same number.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale, gettext as _, lazy_gettext as _l

from services.clockify_types import Money, TimeEntry
from services.money import format_money, is_currency, line_amount_minor, minor_digits, to_minor

GROUPINGS = ("entry", "project", "task", "member", "day", "description")
ROUNDING_MINUTES = (0, 1, 5, 6, 10, 12, 15, 30, 60)  # Clockify's own report roundings among them
ROUNDING_DIRECTIONS = ("up", "nearest", "down")
DETAILS = ("date", "project", "task", "member", "description")  # also the order the line text uses
GROUPING_LABELS = {"entry": _l("One line per entry"), "project": _l("One line per project"), "task": _l("One line per task"),
                   "member": _l("One line per team member"), "day": _l("One line per day"),
                   "description": _l("One line per description")}
ROUNDING_DIRECTION_LABELS = {"up": _l("up"), "nearest": _l("to the nearest"), "down": _l("down")}
DESCRIPTION_LIMITS = (20, 2000)  # the line form accepts 2000 characters
UNIT_LIMIT = 20  # LineItem.unit is String(20)

NOT_WORK = {"BREAK": _l("Break"), "TIME_OFF": _l("Time off"), "TIMEOFF": _l("Time off"), "HOLIDAY": _l("Holiday"),
            "OVERTIME": _l("Overtime")}

_HOUR = Decimal(3600)
_UTC = timezone.utc
_QUANTITY_STEP = Decimal("0.0001")  # models.QUANTITY_PLACES

GROUPING_MESSAGE = _l("Choose how to group entries: one line per entry, or by project, task, member, day or description.")
ROUNDING_MESSAGE = _l("Rounding must be none, 1, 5, 6, 10, 12, 15, 30 or 60 minutes.")
DIRECTION_MESSAGE = _l("Round up, down or to the nearest step.")
LENGTH_MESSAGE = _l("The line text limit must be a whole number of characters from %(low)s to %(high)s.",
                    low=DESCRIPTION_LIMITS[0], high=DESCRIPTION_LIMITS[1])


@dataclass(frozen=True)
class LineOptions:
    """How entries become lines; remembered per customer through ``as_dict``."""

    grouping: str = "entry"
    rounding_minutes: int = 0  # 0: none
    rounding_direction: str = "up"
    details: frozenset[str] = frozenset({"date", "project", "task", "description"})
    max_description: int = 300
    unit: str = "h"

    def __post_init__(self) -> None:
        object.__setattr__(self, "details", frozenset(self.details))
        if self.grouping not in GROUPINGS:
            raise ValueError(GROUPING_MESSAGE)
        if not _is_whole(self.rounding_minutes) or self.rounding_minutes not in ROUNDING_MINUTES:
            raise ValueError(ROUNDING_MESSAGE)
        if self.rounding_direction not in ROUNDING_DIRECTIONS:
            raise ValueError(DIRECTION_MESSAGE)
        unknown = sorted(str(detail) for detail in self.details - set(DETAILS))
        if unknown:
            raise ValueError(_("Unknown line detail: %(value)s.", value=", ".join(unknown)))
        low, high = DESCRIPTION_LIMITS
        if not _is_whole(self.max_description) or not low <= self.max_description <= high:
            raise ValueError(LENGTH_MESSAGE)
        if not isinstance(self.unit, str) or len(self.unit) > UNIT_LIMIT:
            raise ValueError(_("The unit can be at most %(most)s characters.", most=UNIT_LIMIT))

    @classmethod
    def from_form(cls, form: Mapping[str, Any]) -> LineOptions:
        """Options from untrusted form values (a MultiDict), or from ``as_dict`` read back from JSON.

        A missing field takes its default, except ``details``: a form sends none when every box is
        unchecked. Raises ValueError with a message for the user."""
        default = cls()
        details = form.getlist("details") if hasattr(form, "getlist") else form.get("details") or []
        if isinstance(details, str):
            details = [details]
        if not isinstance(details, (list, tuple)):
            raise ValueError(_("Unknown line details."))
        unit = form.get("unit", default.unit)
        if not isinstance(unit, str):
            raise ValueError(_("The unit can be at most %(most)s characters.", most=UNIT_LIMIT))
        return cls(
            grouping=_choice(form.get("grouping"), default.grouping),
            rounding_minutes=_whole(form.get("rounding_minutes"), default.rounding_minutes, ROUNDING_MESSAGE),
            rounding_direction=_choice(form.get("rounding_direction"), default.rounding_direction),
            details=frozenset(filter(None, (_choice(detail, "") for detail in details))),
            max_description=_whole(form.get("max_description"), default.max_description, LENGTH_MESSAGE),
            unit=unit.strip(),
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values; ``from_form`` reads them back."""
        return {
            "grouping": self.grouping,
            "rounding_minutes": self.rounding_minutes,
            "rounding_direction": self.rounding_direction,
            "details": [detail for detail in DETAILS if detail in self.details],
            "max_description": self.max_description,
            "unit": self.unit,
        }

    def round_seconds(self, seconds: int) -> int:
        """One entry's billed seconds. Rounding is per entry, before grouping, so an entry bills the
        same time whichever line it lands on. "nearest" rounds an exact half step up."""
        step = self.rounding_minutes * 60
        if not step:
            return seconds
        if self.rounding_direction == "up":
            return -(-seconds // step) * step
        if self.rounding_direction == "down":
            return seconds // step * step
        return (seconds + step // 2) // step * step

    @property
    def rounding_sentence(self) -> str:
        """How each entry is rounded, after "Each entry rounded": "up to 15 minutes", "to the nearest 6 minutes"."""
        minutes = self.rounding_minutes
        if self.rounding_direction == "nearest":
            return _("to the nearest %(minutes)s minutes", minutes=minutes)
        if self.rounding_direction == "up":
            return _("up to %(minutes)s minutes", minutes=minutes)
        return _("down to %(minutes)s minutes", minutes=minutes)

    def with_report_rounding(self, minutes: int, direction: str) -> LineOptions:
        """These options with the rounding Clockify's reports use for the workspace, when it is one
        Hourbill offers (else unchanged: the page says so)."""
        if minutes not in ROUNDING_MINUTES or direction not in ROUNDING_DIRECTIONS:
            return self
        return replace(self, rounding_minutes=minutes, rounding_direction=direction)


def rounding_label(minutes: int) -> str:
    return _l("No rounding") if minutes == 0 else _l("to %(minutes)s minutes", minutes=minutes)


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _choice(value: Any, default: str) -> str:
    if value is None or value == "":
        return default
    return value.strip() if isinstance(value, str) else repr(value)  # repr: never a valid choice


def _whole(value: Any, default: int, message: str) -> int:
    if value is None or value == "":
        return default
    if _is_whole(value):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if text == "none":
        return 0
    if text.isascii() and text.isdigit() and len(text) < 10:
        return int(text)
    raise ValueError(message)


@dataclass(frozen=True)
class ProposedLine:
    description: str
    quantity: Decimal  # hours, 4 places: round-half-up(seconds / 3600)
    unit: str
    rate_minor: int  # 0 when there is no rate
    rate_source: str  # "clockify": the entries' own rate, "default": the fallback, "none": no rate
    amount_minor: int  # line_amount_minor(quantity, rate_minor)
    seconds: int  # exact billed seconds of the entries, after per-entry rounding
    entry_ids: tuple[str, ...]  # in start order
    # Why the grouping's entries are on more than one line: "rate" (their rates differ; the text names
    # the rate), "member" (the rate is each member's; the text names the member and rate), or "".
    split_by: str = ""
    # Each entry's billed seconds, in the order of entry_ids (what its ImportedEntry row keeps).
    entry_seconds: tuple[int, ...] = field(default=(), compare=False)

    @property
    def needs_rate(self) -> bool:
        return self.rate_source == "none"


@dataclass(frozen=True)
class Skipped:
    entry: TimeEntry
    reason: str


@dataclass(frozen=True)
class ImportPlan:
    lines: tuple[ProposedLine, ...]
    skipped: tuple[Skipped, ...]

    @property
    def hours(self) -> Decimal:
        """The sum of the lines' quantities: what the invoice will add up to."""
        return sum((line.quantity for line in self.lines), Decimal("0.0000"))

    @property
    def amount_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def entry_count(self) -> int:
        return sum(len(line.entry_ids) for line in self.lines)

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def needs_rate(self) -> bool:
        return any(line.needs_rate for line in self.lines)

    @property
    def split_by_rate(self) -> bool:
        """A grouping gave more lines than groups: entries at different rates never share a line."""
        return any(line.split_by for line in self.lines)

    @property
    def split_by_member(self) -> bool:
        return any(line.split_by == "member" for line in self.lines)


@dataclass(frozen=True)
class LineWords:
    """The words a planned line's text adds to what Clockify says, in the invoice's document language,
    and the locale its rates are written in ('€1,234.50/h' in en_US, '1.234,50 €/Std.' in de_DE).
    Looked up once per plan (a catalogue lookup per line would cost seconds on 66,000 lines); texts
    already on an invoice are never rewritten."""

    locale: str
    no_text: str  # a line whose entries say nothing at all
    per_hour: str
    default: str
    no_rate: str
    member_at: str
    members_no_rate: str
    no_member: str
    more: str  # ' and 3 more'

    @classmethod
    def of(cls, locale: str) -> LineWords:
        # Without an app (a unit test, a script) the English texts; inside one, the locale's catalogue.
        with force_locale(locale):
            return cls(locale=locale, no_text=_("Time tracked"), per_hour=_("%(rate)s/h"),
                       default=_("%(rate)s (default)"), no_rate=_("no rate"), member_at=_("%(members)s at %(rate)s"),
                       members_no_rate=_("%(members)s at no rate"),
                       no_member=_("no member"), more=" " + _("and %(num)s more"))


def plan_lines(
    entries: Iterable[TimeEntry],
    *,
    currency: str,
    fallback_rate: Decimal | None,
    options: LineOptions,
    time_zone: str,
    locale: str = "en_US",
) -> ImportPlan:
    """The lines for ``entries`` on an invoice in ``currency``.

    ``fallback_rate`` (major units) is the invoice's default hourly rate for entries Clockify gave no
    rate; None or zero means there is none. ``time_zone`` (IANA) decides an entry's calendar day.
    ``locale`` is the invoice's document locale (services.invoice_document.locale): the words the lines'
    texts add and the rates they name are written in it. Lines come in the order of their first entry's
    start; the result does not depend on input order.
    """
    planner = LinePlanner(currency=currency, fallback_rate=fallback_rate, options=options, time_zone=time_zone)
    for entry in entries:
        planner.add(entry)
    return planner.plan(locale)


def _order(entry: TimeEntry) -> tuple[str, str]:
    """An entry's place in start order as two strings (UTC start, fixed width; then id): comparable
    across pages and requests, and JSON-ready."""
    return entry.start.astimezone(_UTC).isoformat(timespec="microseconds"), entry.id


def _first(seen: dict[str, Any], value: str, order: tuple[str, str]) -> None:
    """Keep ``value`` with the earliest place it was seen at (falsy values are never shown)."""
    if value and (value not in seen or tuple(order) < tuple(seen[value])):
        seen[value] = order


# What a planned line keeps of its entries besides their ids, each value with where it was first seen
# (member_ids last: a plain set, kept as a dict).
_SEEN = ("works", "names", "descriptions", "plain", "people", "member_ids")
_PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+").fullmatch  # an id json.dumps writes as it is, between quotes
_PLAIN = frozenset({"project", "task"})  # the work a line names when its details name nothing


class LinePlanner:
    """``plan_lines`` entry by entry, in any order, in memory bounded by the lines rather than the
    entries: each line keeps its entries' ids and billed seconds and what its text needs (the distinct
    names and descriptions, each with the first place it was seen at, and its first and last day), never
    the entries. So a 66,000-entry import is planned page by page of the stored preview.

    ``state()`` is JSON and ``merge()`` adds one planner's state to another: a plan may be built in
    parts (one per preview page, in separate requests) and joined, with the same result as one pass.
    An entry seen twice (overlapping report pages) counts once; a different entry under the same id is
    a ValueError. Skipped entries (``skip_reason``) are kept as entries, so the callers that pass
    thousands (the wizard) leave them out first."""

    def __init__(self, *, currency: str, fallback_rate: Decimal | None, options: LineOptions, time_zone: str):
        if not is_currency(currency):
            raise ValueError(f"Unknown currency {currency!r}.")
        if fallback_rate is not None and fallback_rate < 0:
            raise ValueError("The default rate cannot be negative.")
        self.currency, self.options, self.zone = currency, options, ZoneInfo(time_zone)
        self.fallback_minor = to_minor(fallback_rate, currency) if fallback_rate is not None else 0
        self.groups: dict[str, dict[str, Any]] = {}
        self.seen: dict[str, int] = {}  # entry id -> hash of the entry, for "each once"
        self.skipped: list[tuple[tuple[str, str], Skipped]] = []
        self.said: dict = {}  # skip_reason's words, looked up once per cause
        self._key_texts: dict[tuple, str] = {}  # add_folded: (grouping value, rate, source) -> the group's key
        self._texts: dict[tuple, str] = {}  # add_folded: (kind, the names or text it is made of) -> the text
        self.terms: dict[tuple, TimeEntry] = {}  # folded_terms' entries of the pages planned here

    def add(self, entry: TimeEntry) -> bool:
        """Plan one more entry; True when it lands on a line (not skipped, not seen before)."""
        fingerprint = hash(entry)
        if entry.id in self.seen:  # the same entry on two report pages counts once
            if self.seen[entry.id] != fingerprint:
                raise ValueError(f"Two different time entries share the id {entry.id}.")
            return False
        self.seen[entry.id] = fingerprint
        order = _order(entry)
        reason = skip_reason(entry, self.currency, self.said)
        if reason:
            self.skipped.append((order, Skipped(entry, reason)))
            return False
        rate_minor, source = entry_rate(entry, self.currency, self.fallback_minor)
        # The rate is part of the key: entries at different rates never share a line.
        key = json.dumps([_group_key(entry, self.options.grouping, self.zone), rate_minor, source], default=str)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = {"rate": rate_minor, "source": source, "entries": {}, "days": None,
                                        "works": {}, "names": {}, "descriptions": {}, "plain": {},
                                        "people": {}, "member_ids": {}}
        if entry.id in group["entries"]:
            return False
        group["entries"][entry.id] = [order[0], self.options.round_seconds(entry.seconds)]  # type: ignore[arg-type]
        details = self.options.details
        day = _day(entry, self.zone).isoformat()
        days = group["days"]
        group["days"] = [day, day] if days is None else [min(days[0], day), max(days[1], day)]
        _first(group["works"], _work(entry, details), order)
        _first(group["plain"], _work(entry, frozenset({"project", "task"})), order)
        _first(group["people"], _clean(entry.user_name), order)  # for a line split by the member's rate
        group["member_ids"][entry.user_id or ""] = True
        if "member" in details:
            _first(group["names"], _clean(entry.user_name), order)
        if "description" in details:
            _first(group["descriptions"], _clean(entry.description), order)
        return True

    def add_folded(self, folded: dict, samples: list[TimeEntry], records: Iterable[list]) -> list[list]:
        """``add`` for the records of a ``fold`` (those the caller chose: none skipped, none passed before),
        ``samples`` being its terms as entries (``folded_terms``, currencies resolved): what a line's key
        and texts need is worked out once per project and task, member, description and terms, not per
        entry. Returns the records that landed on a line."""
        options = self.options
        details, grouping, round_seconds = options.details, options.grouping, options.round_seconds
        works, members, descriptions = folded["works"], folded["members"], folded["descriptions"]
        rates = [entry_rate(sample, self.currency, self.fallback_minor) for sample in samples]
        value_of = {"project": lambda w, m, d, day: works[w][0], "task": lambda w, m, d, day: (works[w][0], works[w][2]),
                    "member": lambda w, m, d, day: members[m][0], "day": lambda w, m, d, day: day,
                    "description": lambda w, m, d, day: _clean(descriptions[d])}.get(grouping)
        index_of = {"project": 5, "task": 5, "member": 6, "day": 3, "description": 7}.get(grouping)
        keys: dict[tuple, str] = {}
        key_texts = self._key_texts
        # The earliest place of each work (0), member (1) and description (2) on each line: the texts a line
        # keeps are looked up once per line and value, not per entry, and descriptions only when shown.
        groups, firsts, placed, no_descriptions = self.groups, {}, [], "description" not in details
        rounding, firsts_get = options.rounding_minutes, firsts.get
        for record in records:
            entry_id, start, seconds, day = record[0], record[1], record[2], record[3]
            rate_minor, source = rates[record[8]]
            if value_of is None:  # json.dumps([entry_id, rate_minor, source]) as it writes an id of plain characters
                key = (f'["{entry_id}", {rate_minor}, "{source}"]' if _PLAIN_ID(entry_id)
                       else json.dumps([entry_id, rate_minor, source]))
            else:
                cached = (record[index_of], record[8])
                key = keys.get(cached)
                if key is None:
                    value = value_of(record[5], record[6], record[7], day)
                    texts_of = (value, rate_minor, source)  # the same line on every page: its key written once
                    key = key_texts.get(texts_of)
                    if key is None:
                        key = key_texts[texts_of] = json.dumps([value, rate_minor, source], default=str)
                    keys[cached] = key
            group = groups.get(key)
            if group is None:
                group = groups[key] = {"rate": rate_minor, "source": source, "entries": {}, "days": None,
                                       "works": {}, "names": {}, "descriptions": {}, "plain": {},
                                       "people": {}, "member_ids": {}}
            entries = group["entries"]
            if entry_id in entries:
                continue
            entries[entry_id] = [start, round_seconds(seconds) if rounding else seconds]
            days = group["days"]
            if days is None:
                group["days"] = [day, day]
            elif day < days[0] or day > days[1]:
                group["days"] = [min(days[0], day), max(days[1], day)]
            order = (start, entry_id)
            cell = (key, 0, record[5])  # each cell written out: this runs for every entry planned
            first = firsts_get(cell)
            if first is None or order < first:
                firsts[cell] = order
            cell = (key, 1, record[6])
            first = firsts_get(cell)
            if first is None or order < first:
                firsts[cell] = order
            if not no_descriptions:
                cell = (key, 2, record[7])
                first = firsts_get(cell)
                if first is None or order < first:
                    firsts[cell] = order
            placed.append(record)
        texts, made = {}, self._texts  # this page's by index; every page's by what they are made of

        def text(kind: str, index: int) -> str:
            found = texts.get((kind, index))
            if found is None:
                if kind in ("works", "plain"):
                    _, project, _, task = works[index]
                    found = made.get(of := (kind, project, task))
                    if found is None:
                        names = [("project", project), ("task", task)]
                        wanted = details if kind == "works" else _PLAIN
                        found = made[of] = " / ".join(_clean(name) for detail, name in names
                                                      if detail in wanted and _clean(name))
                else:
                    found = _clean(members[index][1] if kind == "people" else descriptions[index])
                texts[kind, index] = found
            return found

        for (key, kind, index), order in firsts.items():
            group = groups[key]
            if kind == 0:
                _first(group["works"], text("works", index), order)
                _first(group["plain"], text("plain", index), order)
            elif kind == 1:
                _first(group["people"], text("people", index), order)
                group["member_ids"][members[index][0] or ""] = True
                if "member" in details:
                    _first(group["names"], text("people", index), order)
            else:
                _first(group["descriptions"], text("descriptions", index), order)
        return placed

    def state(self) -> dict[str, Any]:
        """What was planned so far, as JSON (skipped entries are not kept: see the class)."""
        return self.groups

    def merge(self, state: dict[str, Any]) -> None:
        """Add another planner's ``state()`` (of other entries: an entry in both counts once)."""
        for key, other in state.items():
            group = self.groups.get(key)
            if group is None:
                self.groups[key] = {**other, "entries": dict(other["entries"]),
                                    **{name: dict(other.get(name, {})) for name in _SEEN}}
                continue
            for entry_id, billed in other["entries"].items():
                group["entries"].setdefault(entry_id, billed)
            days = other["days"]
            group["days"] = [min(group["days"][0], days[0]), max(group["days"][1], days[1])]
            group.setdefault("member_ids", {}).update(other.get("member_ids", {}))
            for name in _SEEN[:-1]:
                for value, order in other.get(name, {}).items():
                    _first(group.setdefault(name, {}), value, order)

    def plan(self, locale: str = "en_US") -> ImportPlan:
        """The lines in the order of their first entry's start, and the skipped entries in start order.
        Their texts are written for ``locale``, the invoice's document locale (see ``plan_lines``)."""
        lines, split, words = [], self._splits(), LineWords.of(locale)
        for key, group in self.groups.items():
            ordered = sorted(group["entries"].items(), key=lambda item: (item[1][0], item[0]))
            lines.append(((ordered[0][1][0], ordered[0][0]), self._line(group, ordered, split.get(key, ""), words)))
        lines.sort(key=lambda pair: pair[0])
        skipped = tuple(each for _, each in sorted(self.skipped, key=lambda pair: pair[0]))
        return ImportPlan(tuple(line for _, line in lines), skipped)

    def _splits(self) -> dict[str, str]:
        """Group key -> why its grouping's entries are on several lines (ProposedLine.split_by): "member"
        when each member's entries there share one rate (the rate is the member's) and the line text does
        not name members already, else "rate". Only for groupings that gave more than one line."""
        by_grouping: dict[str, list[str]] = {}
        for key in self.groups:
            by_grouping.setdefault(json.dumps(json.loads(key)[0]), []).append(key)
        names_members = "member" in self.options.details or self.options.grouping == "member"
        split = {}
        for keys in by_grouping.values():
            if len(keys) < 2:
                continue
            rates: dict[str, set] = {}
            for key in keys:
                group = self.groups[key]
                for member in group.get("member_ids", {}):
                    rates.setdefault(member, set()).add((group["rate"], group["source"]))
            why = "member" if not names_members and all(len(each) == 1 for each in rates.values()) else "rate"
            split.update({key: why for key in keys})
        return split

    def _split_label(self, group: dict[str, Any], split_by: str, words: LineWords) -> str:
        """What tells a line split by rate from its siblings: ' · Ada at $90.00/h', ' · $90.00/h (default)'."""
        members = ", ".join(_in_first_order(group.get("people", {}))) or words.no_member
        if group["source"] == "none":
            return f" · {words.members_no_rate % {'members': members}}" if split_by == "member" else f" · {words.no_rate}"
        rate = words.per_hour % {"rate": format_money(group["rate"], self.currency, words.locale)}
        if group["source"] == "default":
            rate = words.default % {"rate": rate}
        if split_by == "member":
            rate = words.member_at % {"members": members, "rate": rate}
        return f" · {rate}"

    def _line(self, group: dict[str, Any], ordered: list, split_by: str, words: LineWords) -> ProposedLine:
        seconds = sum(billed for _, (_, billed) in ordered)
        quantity = (Decimal(seconds) / _HOUR).quantize(_QUANTITY_STEP, rounding=ROUND_HALF_UP)
        label = self._split_label(group, split_by, words) if split_by else ""
        cap = self.options.max_description
        return ProposedLine(
            description=_shorten(_describe(group, self.options, max(10, cap - len(label)), words) + label, cap),
            split_by=split_by,
            quantity=quantity,
            unit=self.options.unit,
            rate_minor=group["rate"],
            rate_source=group["source"],
            amount_minor=line_amount_minor(quantity, group["rate"]),
            seconds=seconds,
            entry_ids=tuple(entry_id for entry_id, _ in ordered),
            entry_seconds=tuple(billed for _, (_, billed) in ordered),
        )


def entry_rate(entry: TimeEntry, currency: str, fallback_minor: int) -> tuple[int, str]:
    """The rate an entry bills at, in minor units, and where it comes from: Clockify's own rate for the
    entry ("clockify"), else the fallback when there is one ("default"), else none (0, "none")."""
    if entry.rate is not None:
        return to_minor(entry.rate.amount, currency), "clockify"
    if fallback_minor:
        return fallback_minor, "default"
    return 0, "none"


def entry_amounts(entries: Iterable[TimeEntry], currency: str,
                  fallback_rate: Decimal | None) -> dict[str, tuple[int, str, int, int | None]]:
    """Entry id -> (amount, rate source, rate), in minor units, as one line per entry without rounding
    would bill it, and what Clockify's report says the entry earned (hundredths, or None): what the
    preview lists beside each entry."""
    fallback_minor = to_minor(fallback_rate, currency) if fallback_rate is not None else 0
    amounts = {}
    for entry in entries:
        rate_minor, source = entry_rate(entry, currency, fallback_minor)
        amounts[entry.id] = (entry_amount_minor(entry.seconds, rate_minor), source, rate_minor,
                             reported_hundredths(entry, currency))
    return amounts


def entry_amount_minor(seconds: int, rate_minor: int) -> int:
    """What an entry of ``seconds`` earns at ``rate_minor`` on a line of its own without rounding: its hours
    to 4 places, times the rate, as LineItem computes a line's amount."""
    return line_amount_minor((Decimal(seconds) / _HOUR).quantize(_QUANTITY_STEP, rounding=ROUND_HALF_UP), rate_minor)


def start_order(entry: TimeEntry) -> tuple[datetime, str]:
    """An entry's place in start order (then id): its start in UTC, which compares as the start does. Report
    timestamps each carry their own offset object, and aware datetimes of different tzinfo objects compare
    through utcoffset() every time: sorting a 1,000-entry page by the starts themselves took ~12 ms, ~1.5 by these."""
    return entry.start.astimezone(_UTC), entry.id


def _in_order(entries: Iterable[TimeEntry]) -> list[TimeEntry]:
    """Entries by start, then id, each once: overlapping report pages can repeat an entry."""
    by_id: dict[str, TimeEntry] = {}
    for entry in entries:
        if by_id.setdefault(entry.id, entry) != entry:
            raise ValueError(f"Two different time entries share the id {entry.id}.")
    return sorted(by_id.values(), key=start_order)


def resolve_currencies(entries: Iterable[TimeEntry], answers: Mapping[str, str]) -> list[TimeEntry]:
    """Entries whose rate and amount carry the ISO code their Clockify label stands for: read by
    services.currencies.iso_currency, or as the user said (``answers``: label -> ISO code) where the
    label is ambiguous. An unknown label stays as it is: skip_reason says so, nothing is guessed."""
    from services.currencies import iso_currency

    read: dict[str, str | None] = {}  # label -> code, each label read once (a page has a few labels, 1,000 entries)

    def code(money):
        if money is None:
            return money
        if money.currency not in read:
            read[money.currency] = answers.get(money.currency) or iso_currency(money.currency)
        iso = read[money.currency]
        return replace(money, currency=iso) if iso and iso != money.currency else money

    def resolved(entry: TimeEntry) -> TimeEntry:
        rate, amount = code(entry.rate), code(entry.amount)
        # Most labels are ISO codes already: the entry is kept as it is (a copy costs time on 66,000).
        return entry if rate is entry.rate and amount is entry.amount else replace(entry, rate=rate, amount=amount)

    entries = list(entries)
    labels = {money.currency for entry in entries for money in (entry.rate, entry.amount) if money is not None}
    if all(code(Money(Decimal(0), label)).currency == label for label in labels):
        return entries  # every label an ISO code already (most pages): nothing to copy, no call per entry
    return [resolved(entry) for entry in entries]


# --- entries folded --------------------------------------------------------------------------------
# A stored preview page is also kept folded (services.imports): its entries as short records that index
# small tables of what many share (project and task, member, description, and the terms: billable, kind,
# rate, report currency), so the lines of any options are planned without decoding each entry again
# (issue 15: a 66,000-entry quarter's "Show the lines" and confirm).

_EPOCH = datetime(2000, 1, 1, tzinfo=_UTC)


def fold(entries: Iterable[TimeEntry], zone: str) -> dict[str, Any]:
    """The entries (each id once, the first kept) as JSON: {"zone", "ids", "works", "members",
    "descriptions", "terms", "records"}, each record ``[id, start in UTC (as _order), seconds, day in
    zone, report amount, work, member, description, terms]`` (the last four: indexes into the tables)."""
    where = ZoneInfo(zone)
    works: dict[tuple, int] = {}
    members: dict[tuple, int] = {}
    descriptions: dict[str, int] = {}
    terms: dict[tuple, int] = {}
    records, ids = [], set()
    for entry in entries:  # inlined lookups: this runs for every entry of every page the preview stores
        if entry.id in ids:
            continue
        ids.add(entry.id)
        rate, amount, start = entry.rate, entry.amount, entry.start
        work = (entry.project_id, entry.project_name, entry.task_id, entry.task_name)
        w = works.get(work)
        if w is None:
            w = works[work] = len(works)
        member = (entry.user_id, entry.user_name)
        m = members.get(member)
        if m is None:
            m = members[member] = len(members)
        d = descriptions.get(entry.description)
        if d is None:
            d = descriptions[entry.description] = len(descriptions)
        term = (entry.billable, entry.kind, entry.end is None or entry.seconds is None, (entry.seconds or 0) <= 0,
                None if rate is None else str(rate.amount), None if rate is None else rate.currency,
                None if amount is None else amount.currency)
        t = terms.get(term)
        if t is None:
            t = terms[term] = len(terms)
        records.append([entry.id, start.astimezone(_UTC).isoformat(timespec="microseconds"), entry.seconds,
                        start.astimezone(where).date().isoformat(), None if amount is None else str(amount.amount),
                        w, m, d, t])
    return {"zone": zone, "ids": [record[0] for record in records], "works": [list(work) for work in works],
            "members": [list(member) for member in members], "descriptions": list(descriptions),
            "terms": [list(term) for term in terms], "records": records}


def folded_terms(folded: dict[str, Any], known: dict[tuple, TimeEntry] | None = None) -> list[TimeEntry]:
    """A fold's terms as entries (id, times, names and report amount aside): what skip_reason, the rate and
    the reconciliation read of them. ``known`` keeps each term's entry for the next page's (a planner plans
    66 pages whose terms are mostly the same: LinePlanner.terms)."""
    known = {} if known is None else known
    samples = []
    for term in folded["terms"]:
        sample = known.get(key := tuple(term))
        if sample is None:
            billable, kind, running, no_time, rate, rate_label, amount_label = term
            sample = known[key] = TimeEntry(
                id="", workspace_id="", user_id="", user_name=None, description="", start=_EPOCH,
                end=None if running else _EPOCH, seconds=None if running else int(not no_time), billable=billable,
                project_id=None, project_name=None, client_id=None, client_name=None, task_id=None, task_name=None,
                rate=None if rate is None else Money(Decimal(rate), rate_label), kind=kind,
                amount=None if amount_label is None else Money(Decimal(0), amount_label))
        samples.append(sample)
    return samples


def unknown_labels(entries: Iterable[TimeEntry]) -> list[str]:
    """The currency labels of these (resolved) entries that are no ISO code: the wizard asks about them."""
    return sorted({entry.rate.currency for entry in entries if entry.rate is not None and not is_currency(entry.rate.currency)})


def skip_reason(entry: TimeEntry, currency: str, said: dict | None = None) -> str | None:
    """Why an entry is never billed on an invoice in this currency, or None when it may be. ``said``, a dict
    kept over a batch of entries, looks each cause's words up once (a catalogue lookup per skipped entry was
    ~7 ms of a 1,000-entry page)."""
    cause = _skip_cause(entry, currency)
    if cause is None:
        return None
    if said is None:
        return _skip_words(cause)
    if cause not in said:
        said[cause] = _skip_words(cause)
    return said[cause]


def _skip_cause(entry: TimeEntry, currency: str) -> tuple | None:
    """skip_reason's rules: the cause and all its words depend on, or None."""
    if entry.running:
        return ("running",)
    if not entry.is_work:
        return ("kind", entry.kind)
    if entry.seconds <= 0:  # type: ignore[operator]  # not running, so seconds is set
        return ("no time",)  # nothing to bill; a 0 h line would only clutter the invoice
    if entry.rate is not None and not is_currency(entry.rate.currency):
        return ("label", entry.rate.currency)
    if entry.rate is not None and entry.rate.currency != currency:
        return ("currency", entry.rate.currency, currency)
    return None


def _skip_words(cause: tuple) -> str:
    what = cause[0]
    if what == "running":
        return _("Timer still running")
    if what == "kind":
        return str(NOT_WORK[cause[1]]) if cause[1] in NOT_WORK else _("Not a work entry (%(kind)s)", kind=cause[1])
    if what == "no time":
        return _("No time recorded")
    if what == "label":
        return _("Rate in “%(label)s”: say which currency that is (above)", label=cause[1])
    return _("Rate in %(rate)s, invoice in %(invoice)s", rate=cause[1], invoice=cause[2])


def _day(entry: TimeEntry, zone: tzinfo) -> date:
    return entry.start.astimezone(zone).date()


def _group_key(entry: TimeEntry, grouping: str, zone: tzinfo) -> Any:
    if grouping == "entry":
        return entry.id
    if grouping == "project":
        return entry.project_id
    if grouping == "task":
        return entry.project_id, entry.task_id  # a task belongs to its project
    if grouping == "member":
        return entry.user_id
    if grouping == "day":
        return _day(entry, zone)
    return _clean(entry.description)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _work(entry: TimeEntry, details: frozenset[str]) -> str:
    """'Project / Task', with whichever of the two the details ask for and the entry has."""
    names = [("project", entry.project_name), ("task", entry.task_name)]
    return " / ".join(_clean(name) for detail, name in names if detail in details and _clean(name))


def _in_first_order(seen: dict[str, Any]) -> list[str]:
    """Distinct values in the order they were first seen (start order)."""
    return [value for value, _ in sorted(seen.items(), key=lambda item: tuple(item[1]))]


def _describe(group: dict[str, Any], options: LineOptions, cap: int, words: LineWords) -> str:
    """Details every entry shares read as a heading, 'date · project / task · member'; several
    descriptions follow as a list, 'heading: one; two and 3 more', within the cap."""
    details = options.details
    heading = []
    if "date" in details:
        first, last = group["days"]
        heading.append(first if first == last else f"{first} – {last}")
    heading.append(", ".join(_in_first_order(group["works"])))
    if "member" in details:
        heading.append(", ".join(_in_first_order(group["names"])))
    descriptions = _in_first_order(group["descriptions"]) if "description" in details else []
    if len(descriptions) == 1:
        heading.append(descriptions.pop())
    text = _fit(" · ".join(part for part in heading if part), descriptions, cap, words)
    if not text:  # never an empty line: say what the time was spent on, or at least that it was
        text = _shorten(", ".join(_in_first_order(group["plain"])), cap)
    return text or words.no_text


def _fit(heading: str, items: list[str], cap: int, words: LineWords) -> str:
    """As many whole items as fit within ``cap``, the rest counted: 'heading: a; b and 3 more'."""
    lead = f"{heading}: " if heading else ""
    for shown in range(len(items), 0, -1):
        rest = len(items) - shown
        text = lead + "; ".join(items[:shown]) + (words.more % {"num": rest} if rest else "")
        if len(text) <= cap:
            return text
    return _shorten(lead + "; ".join(items) if items else heading, cap)


def _shorten(text: str, cap: int) -> str:
    """``text`` cut at a word boundary with '…', never longer than ``cap``."""
    if len(text) <= cap:
        return text
    cut = text[: cap - 1]
    space = cut.rfind(" ")
    if space > cap // 2:  # a boundary not too far back; a very long word is cut instead
        cut = cut[:space]
    return cut.rstrip(" ;:·,/–") + "…"


# --- reconciliation with Clockify's own report --------------------------------------------------------
# Beside the invoice's total the wizard shows what Clockify's report says for the same entries (the sum
# of each entry's ``amount``) and, when the two differ, why, each cause with the amount it accounts for.
# Every figure is an integer in the invoice currency's minor unit and the causes are steps from one
# figure to the next, so they add up to the difference exactly: a person can check the invoice against
# Clockify in one glance.

CAUSES = ("non_billable", "rate_here", "no_report_amount", "clockify_differs", "currency_rounding",
          "rounding_options", "quantity_rounding")


@dataclass(frozen=True)
class Cause:
    kind: str  # one of CAUSES
    amount_minor: int  # what it adds to the invoice over Clockify's figure (negative: it takes away)
    entries: int  # how many entries it concerns (0 for the lines' rounding)


@dataclass(frozen=True)
class Reconciliation:
    clockify_minor: int  # Clockify's report for the billed entries that carry an amount
    invoice_minor: int  # the plan's total
    causes: tuple[Cause, ...]  # the non-zero ones, in CAUSES order
    entries: int  # billed entries
    without_amount: int  # billed entries Clockify gave no report amount (the per-member fallback)

    @property
    def difference_minor(self) -> int:
        return self.invoice_minor - self.clockify_minor


def reported_hundredths(entry: TimeEntry, currency: str) -> int | None:
    """An entry's report amount in hundredths (Clockify's x100, the currency's own exponent aside), or
    None when the report gave none, or a non-zero one in another currency. Nothing is nothing in every
    currency: an entry without a rate earns 0 in its client's currency, and that 0 counts."""
    return None if entry.amount is None else hundredths_reported(entry.amount.amount, entry.amount.currency, currency)


def hundredths_reported(amount: Decimal | str | None, label: str | None, currency: str) -> int | None:
    """``reported_hundredths`` of a report amount (Decimal or its text) and its (resolved) label."""
    if amount is None:
        return None
    amount = Decimal(amount)
    if label != currency and amount:
        return None
    return int(amount.scaleb(2))


def hundredths_to_minor(hundredths: int, currency: str) -> int:
    """Clockify's hundredths in the currency's minor unit, rounded half-up (JPY 123456 -> 1235)."""
    return to_minor(Decimal(hundredths).scaleb(-2), currency)


def _earned(rate: int, seconds: int) -> int:
    """rate x seconds / 3600, rounded half-up to a whole unit of the rate: how Clockify computes an
    entry's amount (in hundredths) and, with minor units, what a rate makes of exact time."""
    return (2 * rate * seconds + 3600) // 7200


def reconcile(entries: Iterable[TimeEntry], plan: ImportPlan, *, currency: str, fallback_rate: Decimal | None,
              options: LineOptions) -> Reconciliation:
    """The plan's total against Clockify's report for the entries on its lines (``entries`` may hold
    more, e.g. skipped ones: only those on a line count).

    Each entry first bills its rate times its tracked time (rounded to the minor unit); from Clockify's
    figure to that, per entry:
    - non_billable: a non-billable entry ticked deliberately (Clockify's report gives it 0);
    - rate_here: no Clockify rate, billed at the default or typed rate (Clockify: 0);
    - no_report_amount: the entry came without a report amount, so Clockify's figure leaves it out;
    - clockify_differs: Clockify's amount is not its own rate times the time (a rate changed since?);
    - currency_rounding: Clockify's hundredths against the invoice currency's minor unit (JPY, KWD).
    Then from that to the invoice: rounding_options (each entry's minutes rounded), and
    quantity_rounding (each line's hours to 4 places, its amount to the minor unit once per line)."""
    on_lines = {entry_id for line in plan.lines for entry_id in line.entry_ids}
    reconciler = Reconciler(currency=currency, fallback_rate=fallback_rate, options=options)
    for entry in _in_order(entries):
        if entry.id in on_lines:
            reconciler.add(entry)
    return reconciler.result(plan)


class Reconciler:
    """``reconcile`` entry by entry: ``add`` each billed entry once (any order), then ``result``. Keeps
    sums and counts only, so the wizard reconciles a 66,000-entry plan page by page: ``state()`` is
    JSON and ``merge()`` adds one reconciler's sums to another's (of other entries), as LinePlanner."""

    def __init__(self, *, currency: str, fallback_rate: Decimal | None, options: LineOptions):
        self.currency, self.options = currency, options
        self.fallback_minor = to_minor(fallback_rate, currency) if fallback_rate is not None else 0
        self.parts = dict.fromkeys(CAUSES, 0)
        self.counts = dict.fromkeys(CAUSES, 0)
        self.reported = self.said_total = self.without_amount = 0  # hundredths; minor units entry by entry; a count
        self.exact = self.rounded = 0  # minor units: rate x tracked time, and rate x rounded time, entry by entry
        self.entries = 0

    def add(self, entry: TimeEntry) -> None:
        currency, options = self.currency, self.options
        self.entries += 1
        rate_minor, source = entry_rate(entry, currency, self.fallback_minor)
        billed_here = _earned(rate_minor, entry.seconds)  # type: ignore[arg-type]
        self.exact += billed_here
        self.rounded += _earned(rate_minor, options.round_seconds(entry.seconds))  # type: ignore[arg-type]
        hundredths = reported_hundredths(entry, currency)
        said = 0
        if hundredths is None:
            self.without_amount += 1
        else:
            self.reported += hundredths
            said = hundredths_to_minor(hundredths, currency)
            self.said_total += said
        if not entry.billable:
            kind = "non_billable"
        elif source != "clockify":
            kind = "rate_here"
        elif hundredths is None:
            kind = "no_report_amount"
        elif hundredths != _earned(int(entry.rate.amount.scaleb(2)), entry.seconds):  # type: ignore[union-attr,arg-type]
            kind = "clockify_differs"
        else:
            kind = "currency_rounding"  # Clockify's own arithmetic: only the currency's unit can differ
        self.parts[kind] += billed_here - said
        self.counts[kind] += 1

    def add_folded(self, samples: list[TimeEntry], records: Iterable[list]) -> None:
        """``add`` for records of a ``fold`` (LinePlanner.add_folded's, as it placed them)."""
        currency, round_seconds = self.currency, self.options.round_seconds
        terms = []
        for sample in samples:
            rate_minor, source = entry_rate(sample, currency, self.fallback_minor)
            terms.append((rate_minor, source, None if sample.amount is None else sample.amount.currency,
                          None if sample.rate is None else int(sample.rate.amount.scaleb(2)), sample.billable))
        parts, counts = self.parts, self.counts
        cents = minor_digits(currency) == 2  # Clockify's hundredths are the minor unit as they are
        rounding = self.options.rounding_minutes
        entries = exact = rounded = without_amount = reported = said_total = 0  # added to the sums at the end
        for record in records:
            seconds = record[2]
            rate_minor, source, label, own, billable = terms[record[8]]
            entries += 1
            billed_here = _earned(rate_minor, seconds)
            exact += billed_here
            rounded += _earned(rate_minor, round_seconds(seconds)) if rounding else billed_here
            hundredths = hundredths_reported(record[4], label, currency)
            said = 0
            if hundredths is None:
                without_amount += 1
            else:
                reported += hundredths
                said = hundredths if cents else hundredths_to_minor(hundredths, currency)
                said_total += said
            if not billable:
                kind = "non_billable"
            elif source != "clockify":
                kind = "rate_here"
            elif hundredths is None:
                kind = "no_report_amount"
            elif hundredths != _earned(own, seconds):  # type: ignore[arg-type]
                kind = "clockify_differs"
            else:
                kind = "currency_rounding"
            parts[kind] += billed_here - said
            counts[kind] += 1
        self.entries += entries
        self.exact += exact
        self.rounded += rounded
        self.without_amount += without_amount
        self.reported += reported
        self.said_total += said_total

    _SUMS = ("reported", "said_total", "without_amount", "exact", "rounded", "entries")

    def state(self) -> dict[str, Any]:
        """The sums so far, as JSON: ``merge`` adds them to another reconciler's (of other entries)."""
        return {"parts": self.parts, "counts": self.counts, **{name: getattr(self, name) for name in self._SUMS}}

    def merge(self, state: dict[str, Any]) -> None:
        for kind in CAUSES:
            self.parts[kind] += state["parts"][kind]
            self.counts[kind] += state["counts"][kind]
        for name in self._SUMS:
            setattr(self, name, getattr(self, name) + state[name])

    def result(self, plan: ImportPlan) -> Reconciliation:
        parts = dict(self.parts)
        clockify_minor = hundredths_to_minor(self.reported, self.currency)
        parts["currency_rounding"] += self.said_total - clockify_minor  # Clockify's total is rounded once (JPY)
        parts["rounding_options"] = self.rounded - self.exact
        parts["quantity_rounding"] = plan.amount_minor - self.rounded
        causes = tuple(Cause(kind, parts[kind], self.counts[kind]) for kind in CAUSES if parts[kind])
        return Reconciliation(clockify_minor=clockify_minor, invoice_minor=plan.amount_minor, causes=causes,
                              entries=self.entries, without_amount=self.without_amount)
