"""The read-only Clockify API client: the only way Hourbill talks to Clockify.

Behaviour follows docs/clockify-notes.md: hosts built from an allow-listed region and a
subdomain label (never a user-typed URL), one ``X-Api-Key`` header, no redirects, 10 requests per
second per key (services/rate_budget.py), retries with jittered backoff on 429/5xx, pages of 1000 followed to the end, and a
guard that refuses every method but GET and the detailed-report POST before anything is sent.

The API key never appears in a repr, an exception, a log record or a URL. Every failure the UI must
explain is a ClockifyError subclass whose ``str()`` is a safe message for the user.
"""
from __future__ import annotations

import http.cookiejar
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock_time
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from flask_babel import gettext as _, lazy_gettext as _l

from services.clockify_errors import (  # re-exported: callers import them from here
    ClockifyError,
    InvalidKey,
    Forbidden,
    NotFound,
    BadRequest,
    ReportRangeTooLong,
    RateLimited,
    Unreachable,
    TimedOut,
    UnexpectedResponse,
    UNKNOWN_SHAPE,
    ReadOnlyViolation,
)
from services.clockify_types import (
    Client,
    ClockifyUser,
    Member,
    Project,
    ReferenceData,
    ReportPage,
    TimeEntry,
    UnreadableEntry,
    Workspace,
    read_report_fast,
)
from services.rate_budget import PROCESS_BUDGET, RateBudget, Slot, key_hash

log = logging.getLogger(__name__)

# Region code -> what the settings form shows. The code is the host prefix of regional servers.
REGIONS: dict[str, str] = {
    "global": _l("Global"),
    "euc1": _l("EU"),
    "use2": _l("USA"),
    "euw2": _l("UK"),
    "apse2": _l("Australia"),
}
FREE_PLAN_REPORT_DAYS = 31  # a Free workspace's detailed report covers at most this many days per request
PAGE_SIZE = 1000  # never Clockify's default 50; 5000 was refused on tasks and on the report

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# Workspace, user and project ids go into paths: refuse anything that could change the path.
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_REPORT_PATH = re.compile(r"/workspaces/[A-Za-z0-9_-]{1,64}/reports/detailed")
_KEY = re.compile(r"[\x21-\x7e]{1,256}")  # printable ASCII: anything else would end up in a requests error


# --- hosts --------------------------------------------------------------------------------------


def base_urls(region: str = "global", subdomain: str | None = None) -> tuple[str, str]:
    """(core API base, reports API base) for a region code and optional subdomain label.

    Raises ValueError for a region outside REGIONS or a label that is not 1-63 letters, digits and
    hyphens. The label is lower-cased; a subdomain only moves the reports host.
    """
    if region not in REGIONS:
        raise ValueError(_("Unknown Clockify region; choose one of: %(regions)s.", regions=", ".join(REGIONS)))
    if region == "global":
        api, reports = "https://api.clockify.me/api/v1", "https://reports.api.clockify.me/v1"
    else:
        api, reports = f"https://{region}.clockify.me/api/v1", f"https://{region}.clockify.me/report/v1"
    if subdomain:  # an empty form field means "no subdomain"
        label = subdomain.lower()
        if not _LABEL.fullmatch(label):
            raise ValueError(
                "A subdomain is the part before .clockify.me: 1-63 letters, digits or hyphens, "
                "not starting or ending with a hyphen."
            )
        reports = f"https://{label}.clockify.me/report/v1"
    return api, reports


def _override(url: str | None) -> str | None:
    """A base URL from server configuration (sandbox, demo), never from a form."""
    if not url:
        return None
    if not url.startswith(("https://", "http://")):
        raise ValueError("A Clockify base URL override must start with http:// or https://.")
    return url.rstrip("/")


# --- retries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed read is tried again: up to ``retries`` more times after a 429, a 5xx or a broken
    connection, waiting what Retry-After says (failing at once when that is over ``max_wait`` seconds:
    a web worker must not block) or else an exponential backoff with jitter, ``backoff``/2 to ``backoff``
    seconds and doubling (0 retries at once)."""

    retries: int = 3
    backoff: float = 0.5
    max_wait: float = 30.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        ceiling = min(self.max_wait, self.backoff * 2**attempt)
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)


# --- the client ---------------------------------------------------------------------------------

T = TypeVar("T")


class ClockifyClient:
    """A read-only client for one API key. Safe to share between threads.

    ``retry`` says how failed reads are tried again; ``budget`` spaces the requests to Clockify's rate
    limit (services/rate_budget.py: the app passes the one its database shares between processes; the
    default is this process's); ``sleep`` waits (tests pass a fake clock's).

    ``calls`` counts HTTP requests attempted (retries included), so tests can check the Free plan's
    30-requests-an-hour budget.
    """

    def __init__(
        self,
        api_key: str,
        *,
        region: str = "global",
        subdomain: str | None = None,
        api_url: str | None = None,
        reports_url: str | None = None,
        timeout: tuple[float, float] = (5, 20),
        retry: RetryPolicy = RetryPolicy(),
        budget: RateBudget = PROCESS_BUDGET,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        api_key = (api_key or "").strip()
        if not _KEY.fullmatch(api_key):
            raise InvalidKey(_("That does not look like a Clockify API key. Copy it again from Clockify."))
        api, reports = base_urls(region, subdomain)
        self.region = region
        self._api_url = _override(api_url) or api
        self._reports_url = _override(reports_url) or reports
        self._key = api_key
        self._timeout = timeout
        self._retry = retry
        self._budget, self._budget_key = budget, key_hash(api_key)
        self._sleep = sleep
        self._session = requests.Session()
        self._session.headers.update(
            {"X-Api-Key": api_key, "Accept": "application/json", "User-Agent": "Hourbill (self-hosted)"}
        )
        # Cookies are state the API does not need; refusing them keeps concurrent use simple.
        self._session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._count_lock = threading.Lock()
        self.calls = 0

    def __repr__(self) -> str:
        return f"<ClockifyClient region={self.region!r}>"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ClockifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- what the app asks ----------------------------------------------------------------------

    def get_user(self) -> ClockifyUser:
        """The key's owner: verifies the key (InvalidKey on 401)."""
        data, _ = self._request("GET", "/user")
        if not isinstance(data, dict):
            raise UnexpectedResponse()
        return _parse([data], ClockifyUser.from_api)[0]

    def workspaces(self) -> list[Workspace]:
        # /workspaces ignores paging and returns all in one call
        data, _ = self._request("GET", "/workspaces")
        if not isinstance(data, list):
            raise UnexpectedResponse()
        return _parse(data, Workspace.from_api)

    def clients(self, workspace_id: str, archived: bool | None = None) -> list[Client]:
        items = self._all_pages(f"/workspaces/{_checked(workspace_id)}/clients", {"archived": archived})
        return _parse(items, Client.from_api)

    def projects(
        self, workspace_id: str, archived: bool | None = None, client_ids: Sequence[str] | None = None
    ) -> list[Project]:
        params = {"archived": archived, "clients": [_checked(c) for c in client_ids or []] or None}
        items = self._all_pages(f"/workspaces/{_checked(workspace_id)}/projects", params)
        return _parse(items, Project.from_api)

    def members(self, workspace_id: str) -> list[Member]:
        """Workspace users with their workspace hourly rate (``memberships=WORKSPACE``)."""
        ws = _checked(workspace_id)
        items = self._all_pages(f"/workspaces/{ws}/users", {"memberships": "WORKSPACE"})
        return _parse(items, lambda item: Member.from_api(item, ws))

    def role_in_workspace(self, workspace_id: str, user_id: str, email: str | None = None) -> str:
        """"admin" when the key's owner is a workspace owner or admin, else "member" (a member's key reads
        only its own entries in reports). Read-only: ``GET /workspaces/{ws}/users?include-roles=true``,
        narrowed to the owner's email; a key refused the list is not an admin's."""
        params = {"include-roles": "true", "email": email or None}
        try:
            items = self._all_pages(f"/workspaces/{_checked(workspace_id)}/users", params)
        except Forbidden:
            return "member"
        mine = next((item for item in items if isinstance(item, dict) and item.get("id") == user_id), {})
        return "admin" if ADMIN_ROLES & set(_role_names(mine.get("roles"))) else "member"

    def fetch_reference_data(self, workspace_id: str) -> ReferenceData:
        """Clients, projects and members of a workspace, fetched concurrently (five calls, five threads).

        Archived clients and projects are asked for as well (``archived=true``): the plain client list
        leaves archived clients out (docs/clockify-notes.md), yet their entries are still in reports and a customer may
        be linked to one. They come back with ``archived=True``, each item once."""
        with ThreadPoolExecutor(max_workers=5, thread_name_prefix="clockify") as pool:
            clients = [pool.submit(self.clients, workspace_id, archived) for archived in (None, True)]
            projects = [pool.submit(self.projects, workspace_id, archived) for archived in (None, True)]
            members = pool.submit(self.members, workspace_id)
            return ReferenceData(_once([f.result() for f in clients]), _once([f.result() for f in projects]),
                                 tuple(members.result()))

    def detailed_report_page(
        self,
        workspace_id: str,
        *,
        start: date | datetime,
        end: date | datetime,
        time_zone: str,
        currency: str,
        page: int = 1,
        client_ids: Sequence[str] | None = None,
        project_ids: Sequence[str] | None = None,
        user_ids: Sequence[str] | None = None,
        billable: bool | None = None,
        page_size: int = PAGE_SIZE,
        sort_column: str = "ID",
        totals: bool = False,
    ) -> ReportPage:
        """One page (1-indexed) of the detailed report: one POST, counted like any call.

        ``start``/``end`` are read as wall-clock time in ``time_zone`` (an IANA name): a ``date``
        means that whole day (start 00:00:00.000, end 23:59:59.999), an aware datetime is converted
        into the zone, a naive one is already wall-clock time there. Entry timestamps come back in
        that zone. ``billable`` True or False asks Clockify for only those entries; None for both.
        ``currency`` is the workspace's currency: report rates are cents without a currency code.
        The default sort by ID keeps pages stable: a tie on DATE could move an entry across pages.
        ``rounding`` is sent as false: durations come back as tracked, whatever the workspace's report
        rounding (Workspace.rounding says what that is; the wizard offers the same rounding).
        ``totals`` asks Clockify to count the matching entries too (``ReportPage.total``: how many pages
        there are, so the rest can be asked for at once); None when the answer carries no count.

        An entry that cannot be read (no usable id, a description that is not text, a negative or huge
        rate, an impossible duration, a bad timestamp) is listed in ``unreadable`` and the rest are read.
        Raises ReportRangeTooLong when Clockify refuses (400) a window longer than FREE_PLAN_REPORT_DAYS
        days, the Free plan's limit: split the range and ask again. Raises UnexpectedResponse with the
        message UNKNOWN_SHAPE for a body without ``timeentries`` (or ``totals``), never an empty page.
        """
        if not 1 <= page_size <= PAGE_SIZE:
            raise ValueError(f"The detailed report's pageSize must be 1 to {PAGE_SIZE}.")
        if page < 1:
            raise ValueError("Report pages are 1-indexed.")
        zone = _zone(time_zone)
        range_start, range_end = _report_time(start, zone, end=False), _report_time(end, zone, end=True)
        if range_start > range_end:
            raise ValueError("The report's start is after its end.")
        body: dict[str, Any] = {
            "dateRangeStart": range_start,
            "dateRangeEnd": range_end,
            "timeZone": time_zone,
            "detailedFilter": {
                "page": page,
                "pageSize": page_size,
                "sortColumn": sort_column,
                # Hourbill computes its own totals; the count of entries tells how many pages follow.
                "options": {"totals": "CALCULATE" if totals else "EXCLUDE"},
            },
            "sortOrder": "ASCENDING",
            "amountShown": "EARNED",
            "rounding": False,
            "exportType": "JSON",
        }
        if billable is not None:  # Clockify returns both when the field is left out
            body["billable"] = billable
        for name, ids in (("clients", client_ids), ("projects", project_ids), ("users", user_ids)):
            if ids:
                body[name] = {"ids": [_checked(i) for i in ids], "contains": "CONTAINS", "status": "ALL"}
        ws = _checked(workspace_id)
        try:
            content, _ = self._request("POST", f"/workspaces/{ws}/reports/detailed", reports=True, body=body, raw=True)
        except BadRequest as error:
            if _days(range_start, range_end) > FREE_PLAN_REPORT_DAYS:
                raise ReportRangeTooLong(status=error.status, code=error.code, detail=error.detail) from None
            raise
        fast = read_report_fast(content, ws, currency)
        if fast is not None:  # the plain shape, every entry readable (preview-cpu)
            entries, count, counted = fast
            return ReportPage(tuple(entries), page, has_more=count >= page_size,
                              total=_entries_count(counted) if totals else None)
        data = self._parsed(content, 200)
        if not isinstance(data, dict) or not ("timeentries" in data or "totals" in data):
            raise UnexpectedResponse(UNKNOWN_SHAPE)
        items = data.get("timeentries")
        if items is None:
            items = []  # totals alone: nothing matched
        if not isinstance(items, list):
            raise UnexpectedResponse(UNKNOWN_SHAPE)
        entries, unreadable = [], []
        for item in items:
            try:
                entries.append(TimeEntry.from_api(item, ws, currency))
            except ValueError as error:
                unreadable.append(UnreadableEntry.of(item, str(error)))
            except (KeyError, TypeError, AttributeError, ArithmeticError):
                unreadable.append(UnreadableEntry.of(item, "a field is missing or of the wrong type"))
        # No Last-Page header on the report: only a short or empty page ends it.
        return ReportPage(tuple(entries), page, has_more=len(items) >= page_size, unreadable=tuple(unreadable),
                          total=_entries_count(data.get("totals")) if totals else None)

    def detailed_report_pages(self, workspace_id: str, **filters: Any) -> Iterator[ReportPage]:
        """Every page of the detailed report, lazily; takes detailed_report_page's keywords except ``page``."""
        page = 1
        while True:
            result = self.detailed_report_page(workspace_id, page=page, **filters)
            yield result
            if not result.has_more:
                return
            page += 1

    def detailed_report(self, workspace_id: str, **filters: Any) -> list[TimeEntry]:
        """All entries of the detailed report (see detailed_report_page for the keywords)."""
        seen: set[str] = set()
        entries = []
        for result in self.detailed_report_pages(workspace_id, **filters):
            for entry in result.entries:
                if entry.id not in seen:  # defensive: an entry repeated across pages is imported once
                    seen.add(entry.id)
                    entries.append(entry)
        return entries

    def user_time_entries(
        self,
        workspace_id: str,
        user_id: str,
        start: datetime,
        end: datetime,
        *,
        account_time_zone: str,
        project_id: str | None = None,
    ) -> list[TimeEntry]:
        """One user's entries from the core API, the fallback when the report is refused (403).

        Caveat (docs/clockify-notes.md): this endpoint ignores the offset sent and re-reads ``start``/``end`` as
        wall-clock time in the Clockify account's time zone (``settings.timeZone`` of GET /user). So
        ``start`` and ``end`` must be aware datetimes; they are converted into ``account_time_zone``
        and sent as that wall-clock time in Clockify's ``yyyy-MM-ddThh:mm:ssZ`` format, which makes
        the window exact. Entry timestamps come back in UTC. Entries are asked for ``hydrated=true``, so
        project, client and task names come with them; the member's name does not: fill it from
        reference data.
        """
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("user_time_entries needs time-zone aware start and end.")
        if start > end:
            raise ValueError("The start is after the end.")
        zone = _zone(account_time_zone)
        ws = _checked(workspace_id)
        params: dict[str, Any] = {
            "start": start.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": end.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "project": _checked(project_id) if project_id else None,
            "hydrated": True,
        }
        items = self._all_pages(f"/workspaces/{ws}/user/{_checked(user_id)}/time-entries", params)
        return _parse(items, lambda item: TimeEntry.from_api(item, ws))

    # --- HTTP -----------------------------------------------------------------------------------

    def _all_pages(self, path: str, params: dict[str, Any]) -> list[Any]:
        """Every item of a core list endpoint: pages of 1000 from page 1 until Last-Page, a short
        page or an empty one."""
        items: list[Any] = []
        previous: list[Any] | None = None
        page = 1
        while True:
            data, headers = self._request("GET", path, params={**params, "page": page, "page-size": PAGE_SIZE})
            if not isinstance(data, list):
                raise UnexpectedResponse()
            if data and data == previous:  # a server ignoring `page` would otherwise loop forever
                raise UnexpectedResponse()
            items.extend(data)
            last = headers.get("Last-Page", "").strip().lower() == "true"  # header names: any case
            if last or len(data) < PAGE_SIZE:
                return items
            previous = data
            page += 1

    def _request(
        self,
        method: str,
        path: str,
        *,
        reports: bool = False,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> tuple[Any, Any]:
        """Send one logical request (with retries); return (parsed JSON, response headers), or with
        ``raw`` the body's bytes (not empty) for the caller to read."""
        method = method.upper()
        if not (method == "GET" or (method == "POST" and reports and _REPORT_PATH.fullmatch(path))):
            raise ReadOnlyViolation(f"Refusing {method} {path}: the Clockify client is read-only.")
        url = (self._reports_url if reports else self._api_url) + path
        query = {k: _query_value(v) for k, v in (params or {}).items() if v is not None}
        for attempt in range(self._retry.retries + 1):
            retries_left = attempt < self._retry.retries
            slot = self._budget.reserve(self._budget_key)
            if slot.wait > 0:
                self._sleep(slot.wait)
            with self._count_lock:
                self.calls += 1
            try:
                response = self._send(slot, method, url, query, body)
            except requests.Timeout:
                error: ClockifyError = TimedOut()
            except requests.ConnectionError:
                error = Unreachable()
            except requests.exceptions.ChunkedEncodingError:  # the body broke off mid-way
                error = UnexpectedResponse()
            except requests.RequestException:
                raise UnexpectedResponse() from None
            else:
                status = response.status_code
                log.debug("clockify %s %s -> %s in %.0f ms", method, path, status,
                          response.elapsed.total_seconds() * 1000)
                if 200 <= status < 300:
                    if not response.content:
                        raise UnexpectedResponse(status=status)
                    return response.content if raw else self._parsed(response.content, status), response.headers
                retry_after = _retry_after(response.headers.get("Retry-After"))
                error = self._error(response, retry_after)
                if status != 429 and status < 500:
                    raise error
                if retry_after is not None and retry_after > self._retry.max_wait:
                    raise error  # Clockify says it is worth waiting longer than a page load
                if retries_left:
                    delay = retry_after if retry_after is not None else self._retry.delay(attempt)
                    log.info("clockify %s %s -> %s, retrying in %.1f s", method, path, status, delay)
                    self._sleep(delay)
                    continue
                raise error
            # a connection-level failure: safe to retry, these are all reads
            log.info("clockify %s %s -> %s", method, path, type(error).__name__)
            if not retries_left:
                raise error
            self._sleep(self._retry.delay(attempt))
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _send(self, slot: Slot, method: str, url: str, query: dict[str, Any], body: Any) -> requests.Response:
        """One HTTP request in its booked slot; the budget hears when the answer begins (its status line:
        Clockify has counted the request by then) or the attempt failed, and the body is read after. A
        report page's body is 0.7 MB, read in many small reads, each waiting for the interpreter while the
        request thread stores the page before: counted up to the body's end, that wait held the slot
        (services/rate_budget.py) and slowed every next call (preview-floor)."""
        try:
            response = self._session.request(method, url, params=query, json=body, timeout=self._timeout,
                                             allow_redirects=False, stream=True)
        finally:
            self._budget.finished(self._budget_key, slot.at)
        response.content  # noqa: B018 - the whole body, now (a failure here is the attempt's, as before)
        return response

    @staticmethod
    def _parsed(content: bytes, status: int) -> Any:
        try:
            return json.loads(content)
        except ValueError:  # HTML error page, truncated or otherwise malformed JSON (or not UTF-8/16/32)
            raise UnexpectedResponse(status=status) from None

    def _error(self, response: requests.Response, retry_after: float | None) -> ClockifyError:
        status = response.status_code
        code, detail = None, None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if isinstance(payload, dict):
            code = payload.get("code") if isinstance(payload.get("code"), int) else None
            if isinstance(payload.get("message"), str):
                detail = payload["message"].replace(self._key, "[redacted]")[:300]
        info = {"status": status, "code": code, "detail": detail}
        if 300 <= status < 400:
            return UnexpectedResponse(
                "Clockify answered with a redirect, which Hourbill does not follow. Check the region and subdomain.",
                **info,
            )
        if status == 401:
            if code == 1000:
                return InvalidKey("Clockify did not receive exactly one API key (code 1000). This is a bug in Hourbill.", **info)
            return InvalidKey(**info)
        if status == 400:
            return BadRequest(**info)
        if status == 403:
            return Forbidden(**info)
        if status in (404, 405):
            return NotFound(**info)
        if status == 429:
            return RateLimited(retry_after=retry_after, **info)
        if status >= 500:
            return UnexpectedResponse(_("Clockify is having trouble right now. Please try again in a few minutes."), **info)
        return UnexpectedResponse(**info)


# --- helpers ------------------------------------------------------------------------------------


# Clockify's names for the roles that see everyone's entries (the workspace owner has all rights).
ADMIN_ROLES = {"WORKSPACE_ADMIN", "OWNER", "ADMIN", "ADMINISTRATOR"}


def _role_names(roles: Any) -> list[str]:
    """Role names from ``roles`` as Clockify gives them: strings, or objects whose ``role`` is a name or
    an object with a ``name``."""
    names = []
    for item in roles if isinstance(roles, list) else []:
        role = item.get("role") if isinstance(item, dict) else item
        role = role.get("name") if isinstance(role, dict) else role
        if isinstance(role, str):
            names.append(role.strip().upper().replace(" ", "_"))
    return names


def _checked(identifier: str) -> str:
    if not isinstance(identifier, str) or not _ID.fullmatch(identifier):
        raise ValueError("Not a Clockify id.")
    return identifier


def _query_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"  # requests would send "True"
    return value


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError("Unknown time zone; use an IANA name such as Europe/Berlin.") from None


def _report_time(value: date | datetime, zone: ZoneInfo, *, end: bool) -> str:
    """The report's wall-clock format, read in the body's timeZone (the Z is Clockify's format)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, clock_time(23, 59, 59, 999000) if end else clock_time())
    elif value.tzinfo is not None:
        value = value.astimezone(zone)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def _retry_after(value: str | None) -> float | None:
    """Retry-After as seconds (a number or an HTTP date); None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # '²' is a digit to isdigit, no number to float
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def _days(range_start: str, range_end: str) -> float:
    """Days between two of the report's wall-clock times (see _report_time)."""
    first, last = (datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ") for text in (range_start, range_end))
    return (last - first).total_seconds() / 86400


def _once(lists: list[list[T]]) -> tuple[T, ...]:
    """Items of several lists, each id once, in the order first seen."""
    seen: dict[str, T] = {}
    for items in lists:
        for item in items:
            seen.setdefault(item.id, item)  # type: ignore[attr-defined]
    return tuple(seen.values())


def _parse(items: list[Any], parse: Callable[[Any], T]) -> list[T]:
    try:
        return [parse(item) for item in items]
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError):
        raise UnexpectedResponse() from None


def _entries_count(totals: Any) -> int | None:
    """``entriesCount`` of a detailed report's ``totals`` ([{...}], or [null] when nothing matched: 0);
    None when it is missing or not a count (the caller then pages until a short page)."""
    if not isinstance(totals, list) or not totals:
        return None
    if totals[0] is None:
        return 0
    count = totals[0].get("entriesCount") if isinstance(totals[0], dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None
