"""The sandbox's Clockify routes: authentication, the per-key and Free-plan limits, and every call a
read-only client makes (core API under /api/v1, the detailed report under /v1 and /report/v1), answered
the way Clockify does (docs/clockify-notes.md). A mixin of Sandbox (server.py), whose state it reads."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import shapes
from .answers import (CORE, FREE_PLAN_REPORT_DAYS, FREE_PLAN_REPORT_MESSAGE, MAX_CORE_PAGE_SIZE, MAX_REPORT_PAGE_SIZE,
                      REPORT_PREFIXES, ErrorAnswer, answer_json as _json, fingerprint)
from .control import add_control_routes
from .data import Workspace

_REPORT_ENCODER = msgspec.json.Encoder()
_KEPT_REPORT_BYTES = 16 * 1024 * 1024  # per workspace: a quarter's 1,000-entry pages are 0.7 MB each


def _keep(pages: dict, key: tuple, answer: bytes) -> None:
    """Keep one report answer, dropping the oldest while the kept ones would pass _KEPT_REPORT_BYTES."""
    total = sum(map(len, pages.values())) + len(answer)
    while pages and total > _KEPT_REPORT_BYTES:
        total -= len(pages.pop(next(iter(pages))))
    pages[key] = answer


class ClockifyRoutes:
    """The Flask app behind Sandbox's WSGI front (server.py)."""

    # --- the Flask app -----------------------------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask("sandbox")
        sandbox = self

        @app.errorhandler(ErrorAnswer)
        def clockify_error(error: ErrorAnswer):
            return _json(error.body(), error.status, error.headers)

        @app.errorhandler(HTTPException)
        def http_error(error: HTTPException):
            if error.code == 404:
                return _json({"message": f"No static resource {request.path.lstrip('/')}.", "code": 3000}, 404)
            if error.code == 405:
                return _json({"message": f"Request method '{request.method}' is not supported", "code": 3000},
                             405, {"Allow": ", ".join(error.valid_methods or [])})
            return _json({"message": error.description, "code": error.code}, error.code)

        @app.before_request
        def authenticate_and_throttle():
            path = request.path
            if not (path.startswith(CORE + "/") or any(path.startswith(p + "/") for p in REPORT_PREFIXES)):
                return None  # control endpoints and unknown roots: no auth
            api_key, addon = request.headers.get("X-Api-Key"), request.headers.get("X-Addon-Token")
            if (api_key is None) == (addon is None):
                raise ErrorAnswer(401, "Multiple or none auth tokens present", 1000)
            key = api_key if api_key is not None else addon
            with sandbox._lock:
                account_id = sandbox.keys.get(key)
                if account_id is None:
                    raise ErrorAnswer(401, "Api key does not exist", 4003)
                g.account = sandbox.world.accounts[account_id]
                if sandbox.rate_limit:
                    wait = sandbox._admit(sandbox._key_windows, fingerprint(key), sandbox.rate_limit, 1.0)
                    if wait is not None:
                        raise sandbox._too_many(wait)
                ws = sandbox.world.workspaces.get((request.view_args or {}).get("ws"))
                if ws is not None and (ws.plan == "FREE" or sandbox.free_plan):
                    wait = sandbox._admit(sandbox._free_windows, ws.id, sandbox.free_calls_per_hour, 3600.0)
                    if wait is not None:
                        raise sandbox._too_many(wait)
            return None

        core = [("/user", self._user, ["GET"]),
                ("/workspaces", self._workspaces, ["GET"]),
                ("/workspaces/<ws>/clients", self._clients, ["GET"]),
                ("/workspaces/<ws>/projects", self._projects, ["GET"]),
                ("/workspaces/<ws>/projects/<project_id>/tasks", self._tasks, ["GET"]),
                ("/workspaces/<ws>/users", self._users, ["GET"]),
                ("/workspaces/<ws>/tags", self._tags, ["GET"]),
                ("/workspaces/<ws>/user/<user_id>/time-entries", self._time_entries, ["GET"]),
                # Exists (to create entries) so that GET answers 405 like Clockify; the sandbox is read-only.
                ("/workspaces/<ws>/time-entries", self._read_only, ["POST"])]
        for rule, view, methods in core:
            app.add_url_rule(CORE + rule, "core" + rule, view, methods=methods)
        for prefix in REPORT_PREFIXES:
            app.add_url_rule(prefix + "/workspaces/<ws>/reports/detailed", prefix + "/detailed", self._detailed_report,
                             methods=["POST"])
        add_control_routes(app, self)
        return app

    # --- request helpers ---------------------------------------------------------------------------

    def _workspace(self, ws_id: str) -> Workspace:
        ws = self.world.workspaces.get(ws_id)
        if ws is None:
            raise ErrorAnswer(400, f"Workspace with id {ws_id} doesn't exist", 501)
        if ws.subdomain != g.account.domain:
            # A key from another (sub)domain does not authenticate there.
            raise ErrorAnswer(401, "Api key does not exist", 4003)
        if g.account.id not in ws.member_by_id:
            raise ErrorAnswer(403, "Access Denied", 403)
        return ws

    @staticmethod
    def _int_arg(name: str, default: int) -> int:
        value = request.args.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError:
            raise ErrorAnswer(400, f"Failed to convert value of type 'java.lang.String' to required type "
                                     f"'int'; For input string: \"{value}\"", 501) from None

    @staticmethod
    def _bool_arg(name: str) -> bool | None:
        value = request.args.get(name)
        if value is None or value == "":
            return None
        if value.lower() not in ("true", "false"):
            raise ErrorAnswer(400, f"Invalid boolean value for {name}: {value}", 501)
        return value.lower() == "true"

    @staticmethod
    def _list_arg(name: str) -> list[str]:
        return [part for value in request.args.getlist(name) for part in value.split(",") if part]

    @staticmethod
    def _named(items: list, attribute: str = "name") -> list:
        name = request.args.get("name")
        if name:
            items = [i for i in items if name.casefold() in getattr(i, attribute).casefold()]
        return items

    def _page(self, items: list, render) -> Response:
        """Clockify's core paging: 1-indexed (page 0 answers like page 1), default 50, Last-Page header."""
        page = max(1, self._int_arg("page", 1))
        size = self._int_arg("page-size", 50)
        if not 1 <= size <= MAX_CORE_PAGE_SIZE:
            raise ErrorAnswer(400, f"page-size must be between 1 and {MAX_CORE_PAGE_SIZE}", 501)
        chunk = items[(page - 1) * size: page * size]
        return _json([render(item) for item in chunk], headers={"Last-Page": str(page * size >= len(items)).lower()})

    @staticmethod
    def _sorted(items: list, default_column: str, keys: dict) -> list:
        column = request.args.get("sort-column", default_column).upper()
        ordered = sorted(items, key=keys.get(column, keys[default_column]))
        return ordered[::-1] if request.args.get("sort-order", "").upper() == "DESCENDING" else ordered

    @staticmethod
    def _wall_clock(text, field_name: str) -> datetime:
        """Clockify reads these as wall-clock time: whatever offset the client sent is dropped."""
        if not isinstance(text, str):
            raise ErrorAnswer(400, f"{field_name}: must not be null", 501)
        try:
            return datetime.fromisoformat(text.strip()).replace(tzinfo=None)
        except ValueError:
            raise ErrorAnswer(400, f"{field_name}: invalid date '{text}'", 501) from None

    # --- core API ----------------------------------------------------------------------------------

    def _user(self):
        acc = g.account
        memberships = []
        if self._bool_arg("include-memberships"):
            memberships = [shapes.membership(ws, ws.member_by_id[acc.id]) for ws in self.world.member_workspaces(acc.id)]
        return _json(shapes.account(acc, memberships))

    def _workspaces(self):
        # Ignores page-size and answers every workspace of this account (on this key's domain).
        return _json([shapes.workspace(ws) for ws in self.world.member_workspaces(g.account.id)])

    def _clients(self, ws):
        ws = self._workspace(ws)
        items = self._named(ws.clients)
        # Archived clients only with archived=true: captures suggest the plain list hides them (NOTES.md),
        # and a client that assumes it does not is the one that loses them.
        archived = bool(self._bool_arg("archived"))
        items = [c for c in items if c.archived == archived]
        items = self._sorted(items, "NAME", {"NAME": lambda c: c.name.casefold(), "ID": lambda c: c.id})
        return self._page(items, lambda c: shapes.client(ws, c))

    def _projects(self, ws):
        ws = self._workspace(ws)
        items = self._named(ws.projects)
        if (archived := self._bool_arg("archived")) is not None:
            items = [p for p in items if p.archived == archived]
        if (billable := self._bool_arg("billable")) is not None:
            items = [p for p in items if p.billable == billable]
        if clients := set(self._list_arg("clients")):
            wanted = self._bool_arg("contains-client") is not False
            items = [p for p in items if (p.client_id in clients) == wanted]
        items = self._sorted(items, "NAME", {"NAME": lambda p: p.name.casefold(), "ID": lambda p: p.id,
                                             "CLIENT_NAME": lambda p: (ws.client_by_id[p.client_id].name.casefold()
                                                                       if p.client_id else "")})
        return self._page(items, lambda p: shapes.project(ws, p))

    def _tasks(self, ws, project_id):
        ws = self._workspace(ws)
        if project_id not in ws.project_by_id:
            raise ErrorAnswer(400, "Project doesn't belong to Workspace", 501)
        items = self._named(ws.tasks[project_id])
        if self._bool_arg("is-active"):
            items = [t for t in items if t.status == "ACTIVE"]
        items = self._sorted(items, "ID", {"ID": lambda t: t.id, "NAME": lambda t: t.name.casefold()})
        return self._page(items, lambda t: shapes.task(ws, t))

    def _users(self, ws):
        ws = self._workspace(ws)
        items = self._named(ws.members)
        if email := request.args.get("email"):
            items = [m for m in items if email.casefold() in m.email.casefold()]
        status = request.args.get("status", "ALL").upper()
        if status != "ALL":
            items = [m for m in items if m.status == status]
        with_membership = request.args.get("memberships", "NONE").upper() in ("WORKSPACE", "ALL")
        items = self._sorted(items, "EMAIL", {"EMAIL": lambda m: m.email, "ID": lambda m: m.id,
                                              "NAME": lambda m: m.name, "NAME_LOWERCASE": lambda m: m.name.casefold(),
                                              "HOURLYRATE": lambda m: m.rate or 0})
        with_roles = self._bool_arg("include-roles") is True
        return self._page(items, lambda m: shapes.workspace_user(ws, m, with_membership, with_roles))

    def _tags(self, ws):
        ws = self._workspace(ws)
        items = self._named(ws.tags)
        if (archived := self._bool_arg("archived")) is not None:
            items = [t for t in items if t.archived == archived]
        items = self._sorted(items, "NAME", {"NAME": lambda t: t.name.casefold(), "ID": lambda t: t.id})
        return self._page(items, lambda t: shapes.tag(ws, t))

    def _time_entries(self, ws, user_id):
        ws = self._workspace(ws)
        if user_id not in ws.member_by_id:
            raise ErrorAnswer(400, "User doesn't belong to Workspace", 501)
        # start/end are re-read as wall-clock time in the requesting account's zone, whatever offset was sent.
        zone = ZoneInfo(g.account.time_zone)
        start = request.args.get("start")
        end = request.args.get("end")
        start = self._wall_clock(start, "start").replace(tzinfo=zone) if start else None
        end = self._wall_clock(end, "end").replace(tzinfo=zone) if end else None
        items = [e for e in ws.entries_by_user.get(user_id, [])
                 if (start is None or e.start >= start) and (end is None or e.start <= end)]
        if project := request.args.get("project"):
            items = [e for e in items if e.project_id == project]
        if task := request.args.get("task"):
            items = [e for e in items if e.task_id == task]
        if tags := set(self._list_arg("tags")):
            items = [e for e in items if tags & set(e.tag_ids)]
        if description := request.args.get("description"):
            items = [e for e in items if description.casefold() in e.description.casefold()]
        if (running := self._bool_arg("in-progress")) is not None:
            items = [e for e in items if (e.seconds is None) == running]
        hydrated = bool(self._bool_arg("hydrated"))
        items.reverse()  # newest first, like Clockify
        return self._page(items, lambda e: shapes.core_entry(ws, e, hydrated))

    def _read_only(self, ws):
        self._workspace(ws)
        raise ErrorAnswer(403, "The Clockify sandbox is read-only", 501)

    # --- reports API -------------------------------------------------------------------------------

    def _detailed_report(self, ws):
        ws = self._workspace(ws)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            raise ErrorAnswer(400, "Malformed JSON request", 501)
        try:
            zone = ZoneInfo(body.get("timeZone") or g.account.time_zone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise ErrorAnswer(400, f"timeZone: unknown time zone '{body.get('timeZone')}'", 501) from None
        # The window is wall-clock time in the body's timeZone: exact for whoever sends their own zone.
        start = self._wall_clock(body.get("dateRangeStart"), "dateRangeStart").replace(tzinfo=zone)
        end = self._wall_clock(body.get("dateRangeEnd"), "dateRangeEnd").replace(tzinfo=zone)
        if end < start:
            raise ErrorAnswer(400, "dateRangeEnd must be after dateRangeStart", 501)
        if (ws.plan == "FREE" or self.free_plan) and end - start > timedelta(days=FREE_PLAN_REPORT_DAYS):
            raise ErrorAnswer(400, FREE_PLAN_REPORT_MESSAGE, 501)
        detailed = body.get("detailedFilter") or {}
        page, size = detailed.get("page", 1), detailed.get("pageSize", 50)
        if not isinstance(page, int) or not isinstance(size, int):
            raise ErrorAnswer(400, "detailedFilter.page and pageSize must be integers", 501)
        if not 1 <= size <= MAX_REPORT_PAGE_SIZE:
            raise ErrorAnswer(400, f"detailedFilter.pageSize: must be between 1 and {MAX_REPORT_PAGE_SIZE}", 501)
        page = max(page, 1)
        # The answer is a function of the workspace's entries, the zone and the body alone: kept, so a page
        # asked again (every test of a worker shares the cached world) is not built again.
        cache_key = (zone.key, json.dumps(body, sort_keys=True))
        answer = ws.report_pages.get(cache_key)
        if answer is None:
            answer = self._report_page(ws, body, start, end, zone, detailed, page, size)
            _keep(ws.report_pages, cache_key, answer)
        return Response(answer, mimetype="application/json")

    def _report_page(self, ws: Workspace, body: dict, start: datetime, end: datetime, zone: ZoneInfo,
                     detailed: dict, page: int, size: int) -> bytes:
        column = detailed.get("sortColumn", "DATE")
        window = (ws.reported_between_by_id(start, end) if column == "ID"
                  else [e for e in ws.entries_between(start, end) if e.seconds is not None])
        entries = self._report_filter(ws, body, window)
        keys = {"ID": lambda e: e.id, "DURATION": lambda e: (e.seconds, e.id),
                "DESCRIPTION": lambda e: (e.description, e.id),
                "USER": lambda e: (ws.member_by_id[e.user_id].name, e.start, e.id)}
        if column in keys and column != "ID":  # in id order already
            entries.sort(key=keys[column])
        if body.get("sortOrder", "DESCENDING") != "ASCENDING":
            entries.reverse()
        # A workspace that rounds time in reports rounds this one when asked (rounding: true) and, a guess,
        # when the body leaves `rounding` out; rounding: false gives durations as tracked.
        rounding = body.get("rounding")
        rounding = ws.rounding if rounding is True or (rounding is None and ws.rounding) else None
        totals = ([] if (detailed.get("options") or {}).get("totals") == "EXCLUDE"
                  else shapes.report_totals(entries, rounding))
        chunk = entries[(page - 1) * size: page * size]
        # No Last-Page header here: clients stop on a short or empty page.
        # msgspec writes the page's 0.7 MB in a fifth of json.dumps's time: the same JSON (preview-cpu)
        return _REPORT_ENCODER.encode({"totals": totals, "timeentries": [
            shapes.report_entry(ws, e, zone, rounding) for e in chunk]})

    @staticmethod
    def _report_filter(ws: Workspace, body: dict, entries: list) -> list:
        def wanted(name):
            flt = body.get(name) or {}
            ids = set(flt.get("ids") or [])
            return ids, flt.get("contains", "CONTAINS"), flt.get("status", "ALL")

        def keep(ids, mode, values):
            if not ids:
                return True
            if mode == "DOES_NOT_CONTAIN":
                return not (values & ids)
            if mode == "CONTAINS_ONLY":
                return bool(values) and values <= ids
            return bool(values & ids)

        client_of = {p.id: p.client_id for p in ws.projects}
        for name, value_of in (("users", lambda e: {e.user_id}),
                               ("projects", lambda e: {e.project_id} if e.project_id else set()),
                               ("clients", lambda e: {client_of.get(e.project_id)} - {None}),
                               ("tasks", lambda e: {e.task_id} if e.task_id else set()),
                               ("tags", lambda e: set(e.tag_ids))):
            ids, mode, status = wanted(name)
            if ids:
                entries = [e for e in entries if keep(ids, mode, value_of(e))]
            if name == "projects" and status in ("ACTIVE", "ARCHIVED"):
                entries = [e for e in entries if e.project_id
                           and ws.project_by_id[e.project_id].archived == (status == "ARCHIVED")]
        if (billable := body.get("billable")) is not None:
            entries = [e for e in entries if e.billable == bool(billable)]
        if description := body.get("description"):
            entries = [e for e in entries if description.casefold() in e.description.casefold()]
        return entries
