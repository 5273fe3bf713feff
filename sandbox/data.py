"""The sandbox's seeded Clockify world: accounts, workspaces, members, clients, projects, tasks, tags
and time entries.

Built once per (seed, members, entries_per_member, month, months) and cached, so two sandboxes with the same
knobs serve byte-identical data and the 10,000-entry benchmark pays for generation once. The world is
read-only after it is built; the server renders it into Clockify's JSON shapes (see shapes.py).

The data is shaped to catch the bugs other Clockify integrations had: every Acme list is longer than
Clockify's default page of 50, rates are set, null, zero and historic, currencies differ per client,
members sit in time zones far from UTC, some entries straddle the month boundary in their member's zone,
timers are running, BREAK / HOLIDAY / TIME_OFF entries are not work, projects and clients are archived,
descriptions carry markup and non-ASCII text.
"""
from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from calendar import monthrange
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

UTC = timezone.utc

# --- Well-known keys, ids and names: tests and demos rely on these; they never depend on the seed. ---
MAIN_KEY = "sandbox-demo-key"  # Alex Morgan on the main domain: Acme Studio and the Free workspace
SUBDOMAIN_KEY = "sandbox-lighthouse-key"  # Alex's separate account inside the "lighthouse" subdomain

DEMO_USER_ID = "b00000000000000000000001"
DEMO_USER_NAME = "Alex Morgan"
DEMO_USER_EMAIL = "alex@acme.example"
DEMO_TIME_ZONE = "Australia/Sydney"  # far from UTC, with DST, so a UTC month window visibly shifts
SUBDOMAIN_USER_ID = "b00000000000000000000002"

ACME_ID = "5e0000000000000000000001"
ACME_NAME = "Acme Studio"
LIGHTHOUSE_ID = "5e0000000000000000000002"
LIGHTHOUSE_NAME = "Lighthouse Labs"
LIGHTHOUSE_SUBDOMAIN = "lighthouse"
FREE_ID = "5e0000000000000000000003"
FREE_NAME = "Side Gigs"
TOKYO_ID = "5e0000000000000000000004"  # currency JPY (x100 like every currency); reports round up to 15 min
TOKYO_NAME = "Tokyo Studio"
EURO_SIGN_ID = "5e0000000000000000000005"  # currency labelled "€", not an ISO code
EURO_SIGN_NAME = "Atelier Lumière"

NORTHWIND_ID = "c10000000000000000000001"
NORTHWIND_NAME = "Northwind"
GLOBEX_ID = "c10000000000000000000002"  # bills in EUR
UMBRELLA_ID = "c10000000000000000000004"  # archived client
SAKURA_ID = "c10000000000000000000301"  # Tokyo Studio's client, JPY
KANJI_ID = "c10000000000000000000302"  # Tokyo Studio's archived client, still with entries
BOULANGERIE_ID = "c10000000000000000000401"  # Atelier Lumière's client, "€"
MENU_APP_ID = "9f0000000000000000000301"  # Sakura, JPY 5,000 an hour (500000)
KANJI_ARCHIVE_ID = "9f0000000000000000000302"  # the archived client's project (not archived itself)
TOKYO_INTERNAL_ID = "9f0000000000000000000303"  # no client, not billable: earned amount 0
SITE_VITRINE_ID = "9f0000000000000000000401"  # Boulangerie, € 95.00
WEBSITE_REDESIGN_ID = "9f0000000000000000000001"
WEBSITE_REDESIGN_NAME = "Website redesign"
SUPPORT_RETAINER_ID = "9f0000000000000000000002"  # the project with more than 50 tasks
MOBILE_APP_ID = "9f0000000000000000000003"  # Globex, EUR
LEGACY_PORTAL_ID = "9f0000000000000000000005"  # archived project that still has entries
INTERNAL_ID = "9f0000000000000000000006"  # no client, not billable
DESIGN_TASK_ID = "7a0000000000000000000001"
DEVELOPMENT_TASK_ID = "7a0000000000000000000002"
QA_TASK_ID = "7a0000000000000000000003"  # not billable

PRIYA_ID = "b00000000000000000000011"  # her entries carry hourlyRate null
JONAS_ID = "b00000000000000000000012"  # his entries carry hourlyRate amount 0
MARIA_ID = "b00000000000000000000013"  # rate raised on the 15th: earlier entries keep the old rate
OLIVIA_ID = "b00000000000000000000015"  # deactivated member who still has entries

DEFAULT_MONTH = "2025-10"  # Sydney starts DST on the 5th, Berlin/London end it on the 26th

FIRST_NAMES = ["Kenji", "Olivia", "Noah", "Aroha", "Lucas", "Fatima", "Zoë", "José", "Søren", "Amara",
               "Wei", "Chloé", "Mateo", "Ingrid", "Kwame", "Yuki", "Elif", "Ravi", "Sofia", "Liam"]
LAST_NAMES = ["Sato", "Brown", "Wilson", "Ngata", "Silva", "Khan", "Łukasik", "Núñez", "Berg", "Okafor",
              "Chen", "Dubois", "Rossi", "Larsen", "Mensah", "Tanaka", "Yılmaz", "Iyer", "Moreau", "O'Brien"]
TIME_ZONES = ["Asia/Tokyo", "Europe/London", "America/St_Johns", "Pacific/Auckland", "America/Sao_Paulo",
              "Asia/Kathmandu", "UTC", "America/Los_Angeles", "Asia/Kolkata", "Europe/Berlin"]
CURRENCIES = ["USD", "EUR", "GBP", "AUD", "JPY", "CHF"]
DESCRIPTIONS = ["Design review", "Sprint planning", "Bug fixing", "Client call", "Code review",
                "Fix <b>login</b> & 'quotes' \"too\"", "Café menu — copy edits", "Deploy 🚀", "",
                "Research: accessibility audit", "Weekly sync", "Write docs\nsecond line"]
CLIENT_NAMES = ["Northwind", "Globex", "Initech", "Umbrella Corp", "Stark Industries", "Wayne Enterprises",
                "Müller & Söhne GmbH", "Café Lumière", "Hooli", "Soylent"]


@dataclass(frozen=True, slots=True)
class Account:
    """A Clockify login. Subdomain workspaces have their own accounts (and keys) for the same person."""

    id: str
    name: str
    email: str
    time_zone: str
    domain: str | None  # None: main domain; else the subdomain label
    default_workspace: str


@dataclass(frozen=True, slots=True)
class Member:
    id: str
    name: str
    email: str
    time_zone: str
    rate: int | None  # workspace member hourly rate, cents
    status: str  # membership status: ACTIVE, INACTIVE, PENDING
    role: str = "REGULAR"


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    archived: bool
    currency: str
    email: str | None
    address: str | None


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    client_id: str | None
    archived: bool
    billable: bool
    rate: int | None
    color: str
    member_rates: tuple[tuple[str, int | None], ...] = ()  # project memberships (rate often null)


@dataclass(frozen=True, slots=True)
class Task:
    id: str
    name: str
    project_id: str
    rate: int | None
    billable: bool
    status: str  # ACTIVE or DONE


@dataclass(frozen=True, slots=True)
class Tag:
    id: str
    name: str
    archived: bool


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    user_id: str
    start: datetime  # aware, UTC; may carry milliseconds
    seconds: int | None  # None: the timer is still running
    description: str
    billable: bool
    project_id: str | None
    task_id: str | None
    tag_ids: tuple[str, ...]
    rate: int | None  # the rate stamped when the entry was tracked, cents; None = no rate
    currency: str
    cost_rate: int
    type: str  # REGULAR, BREAK, HOLIDAY, TIME_OFF
    locked: bool
    local_offset: bool  # render core timestamps with the member's offset instead of Z

    @property
    def end(self) -> datetime | None:
        return None if self.seconds is None else self.start + timedelta(seconds=self.seconds)


@dataclass
class Workspace:
    id: str
    name: str
    currency: str
    rate: int | None
    plan: str  # featureSubscriptionType: FREE, PRO, ...
    subdomain: str | None
    members: list[Member]
    clients: list[Client]
    projects: list[Project]
    tasks: dict[str, list[Task]]  # by project id
    tags: list[Tag]
    rounding: tuple[str, int] | None = None  # how reports round time: ("Round up to", 15); None: they do not
    entries: list[Entry] = field(default_factory=list)  # sorted by start
    _starts: list[datetime] = field(default_factory=list)
    _by_id: list[tuple[float, Entry]] = field(default_factory=list)  # (start as a timestamp, entry) in id order
    _by_id_last: tuple = ()  # the last window asked for in id order, and its entries: a report's pages ask alike
    _reported_last: tuple = ()  # the same without running timers: what the report lists (preview-cpu)
    # The detailed report's answers, by what decides them (routes.py): the world only changes through
    # set_entries, which empties it. Tests ask the same pages again and again (suite-heavy9).
    report_pages: dict = field(default_factory=dict)

    def __post_init__(self):
        self.member_by_id = {m.id: m for m in self.members}
        self.client_by_id = {c.id: c for c in self.clients}
        self.project_by_id = {p.id: p for p in self.projects}
        self.task_by_id = {t.id: t for ts in self.tasks.values() for t in ts}
        self.tag_by_id = {t.id: t for t in self.tags}

    def set_entries(self, entries: list[Entry]) -> None:
        self.entries = sorted(entries, key=lambda e: (e.start, e.id))
        self._starts = [e.start for e in self.entries]
        self._by_id = [(e.start.timestamp(), e) for e in sorted(self.entries, key=lambda e: e.id)]
        self._by_id_last = self._reported_last = ()
        self.report_pages = {}
        self.entries_by_user: dict[str, list[Entry]] = {}
        for e in self.entries:
            self.entries_by_user.setdefault(e.user_id, []).append(e)

    def entries_between(self, start: datetime, end: datetime) -> list[Entry]:
        """Entries whose start lies in [start, end] (aware datetimes), oldest first: the ground truth
        that both the core and the report endpoints filter with, exposed for tests and benchmarks."""
        return self.entries[bisect_left(self._starts, start):bisect_right(self._starts, end)]

    def entries_between_by_id(self, start: datetime, end: datetime) -> list[Entry]:
        """The same entries in id order (the report's sortColumn ID), sorted once rather than per request
        and kept for the window last asked for: sorting a quarter's 66,000 entries was most of the
        sandbox's CPU for each 1,000-entry page, which on a two-core machine competed with the app that
        the benchmark measures."""
        window = (start.timestamp(), end.timestamp())
        if not self._by_id_last or self._by_id_last[0] != window:
            low, high = window
            self._by_id_last = (window, tuple(e for at, e in self._by_id if low <= at <= high))
        return list(self._by_id_last[1])

    def reported_between_by_id(self, start: datetime, end: datetime) -> list[Entry]:
        """``entries_between_by_id`` without running timers (the detailed report leaves them out), kept for
        the window last asked for: leaving them out of a quarter's 66,000 entries on every page cost the
        sandbox ~15 ms of CPU a page (preview-cpu)."""
        window = (start.timestamp(), end.timestamp())
        if not self._reported_last or self._reported_last[0] != window:
            self._reported_last = (window, tuple(e for e in self.entries_between_by_id(start, end)
                                                 if e.seconds is not None))
        return list(self._reported_last[1])


@dataclass
class World:
    accounts: dict[str, Account]
    workspaces: dict[str, Workspace]
    month_start: datetime  # naive first day of the seeded month
    default_keys: dict[str, str]  # key -> account id

    def member_workspaces(self, account_id: str) -> list[Workspace]:
        return [ws for ws in self.workspaces.values() if account_id in ws.member_by_id]


def _hex_id(rng: random.Random, prefix: str) -> str:
    return prefix + format(rng.getrandbits(4 * (24 - len(prefix))), f"0{24 - len(prefix)}x")


def _month(month: str) -> tuple[int, int, int]:
    year, mon = (int(part) for part in month.split("-"))
    return year, mon, monthrange(year, mon)[1]


def _acme(rng: random.Random, members: int) -> Workspace:
    known_members = [
        Member(DEMO_USER_ID, DEMO_USER_NAME, DEMO_USER_EMAIL, DEMO_TIME_ZONE, 9000, "ACTIVE", "OWNER"),
        Member(PRIYA_ID, "Priya Shah", "priya@acme.example", "Asia/Kolkata", None, "ACTIVE"),
        Member(JONAS_ID, "Jonas Weber", "jonas@acme.example", "Europe/Berlin", 0, "ACTIVE"),
        Member(MARIA_ID, "Maria Garcia", "maria@acme.example", "America/New_York", 8000, "ACTIVE"),
        Member("b00000000000000000000014", "Kenji Sato", "kenji@acme.example", "Asia/Tokyo", 7000, "ACTIVE"),
        Member(OLIVIA_ID, "Olivia Brown", "olivia@acme.example", "Europe/London", 6500, "INACTIVE"),
        Member("b00000000000000000000016", "Noah Wilson", "noah@acme.example", "America/St_Johns", None,
               "PENDING"),
    ]
    people = known_members[:members]
    for i in range(len(people), members):
        first, last = FIRST_NAMES[i % 20], LAST_NAMES[(i * 7) % 20]
        people.append(Member(_hex_id(rng, "b0"), f"{first} {last}", f"{first.lower()}.{i}@acme.example",
                             TIME_ZONES[i % len(TIME_ZONES)], rng.choice([None, 5000, 6500, 7500, 10000, 12500]),
                             "INACTIVE" if i % 23 == 0 else "ACTIVE"))

    clients = [
        Client(NORTHWIND_ID, NORTHWIND_NAME, False, "USD", "billing@northwind.example", "1 Harbour St, Sydney"),
        Client(GLOBEX_ID, "Globex", False, "EUR", "ap@globex.example", None),
        Client("c10000000000000000000003", "Initech", False, "GBP", None, None),
        Client(UMBRELLA_ID, "Umbrella Corp", True, "AUD", None, None),
    ]
    for i in range(len(clients), 60):
        clients.append(Client(_hex_id(rng, "c1"), f"{CLIENT_NAMES[i % 10]} {i:02d}", i % 9 == 0,
                              CURRENCIES[i % len(CURRENCIES)], None, None))

    def color() -> str:
        return "#" + format(rng.getrandbits(24), "06x")

    projects = [
        Project(WEBSITE_REDESIGN_ID, WEBSITE_REDESIGN_NAME, NORTHWIND_ID, False, True, 9500, color(),
                ((DEMO_USER_ID, None), (MARIA_ID, 13000))),
        Project(SUPPORT_RETAINER_ID, "Support retainer", NORTHWIND_ID, False, True, 8500, color()),
        Project(MOBILE_APP_ID, "Mobile app", GLOBEX_ID, False, True, 11000, color()),
        Project("9f0000000000000000000004", "Brand refresh", "c10000000000000000000003", False, True, None, color()),
        Project(LEGACY_PORTAL_ID, "Legacy portal", UMBRELLA_ID, True, True, 7000, color()),
        Project(INTERNAL_ID, "Internal", None, False, False, None, color()),
    ]
    for i in range(len(projects), 70):
        client = clients[i % len(clients)]
        projects.append(Project(_hex_id(rng, "9f"), f"Project {i:02d}", None if i % 8 == 0 else client.id,
                                i % 11 == 0 or (client.archived and i % 2 == 0), i % 6 != 0,
                                rng.choice([None, 6000, 9000, 15000]), color()))

    tasks = {p.id: [] for p in projects}
    tasks[WEBSITE_REDESIGN_ID] = [
        Task(DESIGN_TASK_ID, "Design", WEBSITE_REDESIGN_ID, 12000, True, "ACTIVE"),
        Task(DEVELOPMENT_TASK_ID, "Development", WEBSITE_REDESIGN_ID, None, True, "ACTIVE"),
        Task(QA_TASK_ID, "QA", WEBSITE_REDESIGN_ID, None, False, "ACTIVE"),
    ]
    tasks[SUPPORT_RETAINER_ID] = [
        Task(_hex_id(rng, "7a"), f"Ticket #{1001 + i}", SUPPORT_RETAINER_ID, 10000 if i % 10 == 0 else None,
             True, "DONE" if i % 5 == 4 else "ACTIVE") for i in range(60)]
    for p in projects[2:]:
        tasks[p.id] = [Task(_hex_id(rng, "7a"), name, p.id, None, p.billable, "ACTIVE")
                       for name in ("Planning", "Build", "Review")[:rng.randrange(4)]]

    tags = [Tag(_hex_id(rng, "7e"), name, archived) for name, archived in
            [("urgent", False), ("meeting", False), ("overtime", False), ("on-site", False), ("legacy", True)]]
    tags += [Tag(_hex_id(rng, "7e"), f"tag-{i:02d}", i % 10 == 0) for i in range(len(tags), 55)]

    return Workspace(ACME_ID, ACME_NAME, "USD", 7500, "PRO", None, people, clients, projects, tasks, tags)


def _lighthouse(rng: random.Random) -> Workspace:
    people = [Member(SUBDOMAIN_USER_ID, DEMO_USER_NAME, DEMO_USER_EMAIL, DEMO_TIME_ZONE, 8000, "ACTIVE", "OWNER"),
              Member(_hex_id(rng, "b0"), "Ingrid Larsen", "ingrid@lighthouse.example", "Europe/Oslo", 9000, "ACTIVE"),
              Member(_hex_id(rng, "b0"), "Kwame Mensah", "kwame@lighthouse.example", "Africa/Accra", None, "ACTIVE")]
    clients = [Client("c10000000000000000000101", "Harbour Authority", False, "EUR", None, None),
               Client(_hex_id(rng, "c1"), "Fjord Shipping", False, "NOK", None, None)]
    projects = [Project("9f0000000000000000000101", "Beacon maintenance", clients[0].id, False, True, 9000, "#1e88e5"),
                Project(_hex_id(rng, "9f"), "Route planner", clients[1].id, False, True, None, "#43a047"),
                Project(_hex_id(rng, "9f"), "Admin", None, False, False, None, "#757575")]
    tags = [Tag(_hex_id(rng, "7e"), "field-work", False)]
    return Workspace(LIGHTHOUSE_ID, LIGHTHOUSE_NAME, "EUR", 6000, "ENTERPRISE", LIGHTHOUSE_SUBDOMAIN, people,
                     clients, projects, {p.id: [] for p in projects}, tags)


def _free(rng: random.Random) -> Workspace:
    # Billable rates are off on this Free workspace: the workspace has no rate and entries carry null or 0.
    people = [Member(DEMO_USER_ID, DEMO_USER_NAME, DEMO_USER_EMAIL, DEMO_TIME_ZONE, None, "ACTIVE", "OWNER"),
              Member(_hex_id(rng, "b0"), "Sam Lee", "sam@sidegigs.example", "America/Chicago", None, "ACTIVE")]
    clients = [Client("c10000000000000000000201", "Corner Bakery", False, "GBP", None, None),
               Client(_hex_id(rng, "c1"), "Book Club", False, "GBP", None, None)]
    projects = [Project("9f0000000000000000000201", "Bakery website", clients[0].id, False, True, None, "#8e24aa"),
                Project(_hex_id(rng, "9f"), "Newsletter", clients[1].id, False, True, None, "#f4511e")]
    return Workspace(FREE_ID, FREE_NAME, "GBP", None, "FREE", None, people, clients, projects,
                     {p.id: [] for p in projects}, [])


def _tokyo(rng: random.Random) -> Workspace:
    # JPY 5,000 an hour is 500000: Clockify keeps every currency x100, whatever its label (docs/clockify-notes.md).
    people = [Member(DEMO_USER_ID, DEMO_USER_NAME, DEMO_USER_EMAIL, DEMO_TIME_ZONE, 800000, "ACTIVE", "OWNER"),
              Member(_hex_id(rng, "b0"), "Yuki Tanaka", "yuki@tokyo.example", "Asia/Tokyo", 600000, "ACTIVE")]
    clients = [Client(SAKURA_ID, "Sakura Foods", False, "JPY", None, None),
               Client(KANJI_ID, "Kanji Printing", True, "JPY", None, None)]
    projects = [Project(MENU_APP_ID, "Menu app", SAKURA_ID, False, True, 500000, "#e91e63"),
                Project(KANJI_ARCHIVE_ID, "Archive scans", KANJI_ID, False, True, 450000, "#795548"),
                Project(TOKYO_INTERNAL_ID, "Internal", None, False, False, None, "#9e9e9e")]
    return Workspace(TOKYO_ID, TOKYO_NAME, "JPY", 500000, "PRO", None, people, clients, projects,
                     {p.id: [] for p in projects}, [], rounding=("Round up to", 15))


def _euro_sign(rng: random.Random) -> Workspace:
    people = [Member(DEMO_USER_ID, DEMO_USER_NAME, DEMO_USER_EMAIL, DEMO_TIME_ZONE, 9000, "ACTIVE", "OWNER"),
              Member(_hex_id(rng, "b0"), "Chloé Dubois", "chloe@atelier.example", "Europe/Paris", 7000, "ACTIVE")]
    clients = [Client(BOULANGERIE_ID, "Boulangerie Paul", False, "€", None, None)]
    projects = [Project(SITE_VITRINE_ID, "Site vitrine", BOULANGERIE_ID, False, True, 9500, "#3f51b5"),
                Project(_hex_id(rng, "9f"), "Admin", None, False, False, None, "#9e9e9e")]
    return Workspace(EURO_SIGN_ID, EURO_SIGN_NAME, "€", 8000, "PRO", None, people, clients, projects,
                     {p.id: [] for p in projects}, [])


def _entry_rate(ws: Workspace, member: Member, project: Project | None, task: Task | None, day: int) -> int | None:
    """Clockify's precedence, lowest to highest: workspace, project, member, task, project member;
    then the sandbox's deliberate quirks (rates off, zero rates, a historic rate)."""
    if ws.plan == "FREE":
        return None if day % 2 else 0
    if member.id == PRIYA_ID:
        return None
    if member.id == JONAS_ID:
        return 0
    rate = ws.rate
    for candidate in (project.rate if project else None, member.rate, task.rate if task else None,
                      dict(project.member_rates).get(member.id) if project else None):
        if candidate is not None:
            rate = candidate
    if member.id == MARIA_ID and day < 15 and rate:
        rate -= 1000  # stamped before her raise: the entry keeps the rate of the day it was tracked
    return rate


def _entries(ws: Workspace, rng: random.Random, year: int, mon: int, days: int, per_member: int,
             running_for: set[str]) -> list[Entry]:
    entries = []
    live_projects = [p for p in ws.projects if not p.archived]
    archived = [p for p in ws.projects if p.archived]
    live_tags = [t.id for t in ws.tags if not t.archived]
    first_day = datetime(year, mon, 1)
    for m_index, member in enumerate(ws.members):
        zone = ZoneInfo(member.time_zone)
        favourites = live_projects[:2] + rng.sample(live_projects, min(4, len(live_projects)))
        plan = [(j, None) for j in range(per_member)]
        plan += [(-1, first_day - timedelta(hours=1)),  # the evening before the month, local time
                 (-2, first_day + timedelta(days=days, minutes=45))]  # the first morning after it
        for j, fixed_local in plan:
            if fixed_local is not None:
                local = fixed_local
            elif j == 3:
                local = first_day + timedelta(minutes=30)  # 00:30 local on the 1st: still last month in UTC east of Greenwich
            elif j == 4:
                local = first_day + timedelta(days=days - 1, hours=23, minutes=15)  # next month in UTC west of it
            else:
                local = first_day + timedelta(days=rng.randrange(days), hours=rng.randrange(7, 19),
                                              minutes=rng.choice((0, 15, 30, 45)))
            seconds = rng.randrange(15, 241) * 60 + (rng.randrange(1, 60) if j % 10 == 9 else 0)
            kind, project, task, billable = "REGULAR", None, None, False
            if j == 0 and member.id in running_for:
                local, seconds = first_day + timedelta(days=days - 1, hours=16), None
            if j == 1 and m_index % 5 == 1:
                kind, seconds, local = "HOLIDAY", 8 * 3600, local.replace(hour=9, minute=0)
            elif j == 2 and m_index % 5 == 2:
                kind, seconds, local = "TIME_OFF", 8 * 3600, local.replace(hour=9, minute=0)
            elif j % 29 == 7:
                kind, seconds = "BREAK", 30 * 60
            elif j % 17 != 5:
                project = archived[0] if archived and j % 31 == 11 else rng.choice(favourites)
                options = ws.tasks.get(project.id) or [None]
                task = rng.choice(options)
                billable = project.billable and (task is None or task.billable) and rng.random() > 0.05
            start = local.replace(tzinfo=zone).astimezone(UTC)
            if j % 7 == 3:
                start += timedelta(milliseconds=rng.randrange(1, 1000))
            client = ws.client_by_id.get(project.client_id) if project else None
            rate = _entry_rate(ws, member, project, task, local.day)
            entries.append(Entry(
                id=_hex_id(rng, "e0"), user_id=member.id, start=start, seconds=seconds,
                description="" if kind != "REGULAR" else rng.choice(DESCRIPTIONS), billable=billable,
                project_id=project.id if project else None, task_id=task.id if task else None,
                tag_ids=tuple(rng.sample(live_tags, min(len(live_tags), rng.choice((0, 0, 1, 2))))),
                rate=rate, currency=client.currency if client else ws.currency,
                cost_rate=(rate or 0) // 2, type=kind, locked=local.day <= 7, local_offset=j % 13 == 6))
    return entries


QUARTER = dict(members=50, entries_per_member=1320, months=3)  # a 50-person agency's quarter: 66,000 entries


def _days(year: int, mon: int, months: int) -> int:
    """The days of ``months`` months from year-mon on."""
    days = 0
    for _ in range(months):
        days += monthrange(year, mon)[1]
        year, mon = year + (mon == 12), mon % 12 + 1
    return days


@lru_cache(maxsize=8)
def build_world(seed: int = 1, members: int = 55, entries_per_member: int = 40, month: str = DEFAULT_MONTH,
                months: int = 1) -> World:
    """The whole seeded world. Cached: callers must not mutate it. ``months`` > 1 spreads each member's
    entries over that many months from ``month`` on (QUARTER: the big-import benchmark's quarter);
    one month gives the same world as ever."""
    if members < 1:
        raise ValueError("members must be at least 1")
    if months < 1:
        raise ValueError("months must be at least 1")
    year, mon, _ = _month(month)
    days = _days(year, mon, months)
    rng = random.Random(seed)
    acme, lighthouse, free = _acme(rng, members), _lighthouse(rng), _free(rng)
    acme.set_entries(_entries(acme, rng, year, mon, days, entries_per_member, {DEMO_USER_ID, MARIA_ID}))
    lighthouse.set_entries(_entries(lighthouse, rng, year, mon, days, 25, {SUBDOMAIN_USER_ID}))
    free.set_entries(_entries(free, rng, year, mon, days, 30, set()))
    # Workspaces added later draw from their own generator, so the ones above keep their data.
    later = random.Random(f"{seed}-currencies")
    tokyo, euro_sign = _tokyo(later), _euro_sign(later)
    tokyo.set_entries(_entries(tokyo, later, year, mon, days, 20, set()))
    euro_sign.set_entries(_entries(euro_sign, later, year, mon, days, 20, set()))

    accounts = {}
    for ws in (acme, free, lighthouse, tokyo, euro_sign):
        for m in ws.members:
            accounts.setdefault(m.id, Account(m.id, m.name, m.email, m.time_zone, ws.subdomain, ws.id))
    return World(accounts=accounts, workspaces={ws.id: ws for ws in (acme, lighthouse, free, tokyo, euro_sign)},
                 month_start=datetime(year, mon, 1),
                 default_keys={MAIN_KEY: DEMO_USER_ID, SUBDOMAIN_KEY: SUBDOMAIN_USER_ID})
