"""The sandbox server: a WSGI app that answers every call a read-only Clockify client makes, the way
Clockify does (docs/clockify-notes.md), and the Python API (`Sandbox`) that tests, demos and benchmarks
use to flip faults, keys and knobs and to read the log of received requests. In parts: the WSGI front,
the limits and the Python API here; the fault middleware in faults.py, the Clockify routes in
routes.py, the control API in control.py, what they share in answers.py.

One server carries both host shapes: the core API under /api/v1, the detailed report under /v1
(the global reports host) and /report/v1 (regional and subdomain hosts).

Order of play for an API request, as Clockify's own stack would see it: log it, add latency, apply an
injected fault, authenticate, rate-limit (per key, then the Free plan's per-workspace hourly budget),
then route (404/405 code 3000) and answer.
"""
from __future__ import annotations

import fnmatch
import json
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from io import BytesIO
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler, make_server

from .answers import CONTROL, CORE, REDIRECT_TARGET, ErrorAnswer, fingerprint
from .data import DEFAULT_MONTH, DEMO_USER_ID, Workspace, build_world
from .faults import Fault, fault_response
from .routes import ClockifyRoutes


@dataclass
class RecordedRequest:
    """One request the sandbox received. Key headers hold a fingerprint, never the key."""

    method: str
    path: str
    query_string: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    json: object | None
    key_fingerprint: str | None
    at: float
    status: int | None = None
    fault: str | None = None

    @property
    def url(self) -> str:
        return self.path + ("?" + self.query_string if self.query_string else "")


class _QuietHandler(WSGIRequestHandler):
    def log(self, *args, **kwargs):  # tests and benchmarks do not want a line per request on stderr
        pass


class RunningSandbox:
    """A sandbox served by werkzeug in a daemon thread; `url` is the server root."""

    def __init__(self, sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0, quiet: bool = True):
        self.sandbox = sandbox
        self.server = make_server(host, port, sandbox, threaded=True,
                                  request_handler=_QuietHandler if quiet else None)
        self.url = f"http://{host}:{self.server.server_port}"
        self.api_url = self.url + CORE  # HOURBILL_CLOCKIFY_API_URL
        self.reports_url = self.url + "/report/v1"  # HOURBILL_CLOCKIFY_REPORTS_URL (regional/subdomain shape)
        self.global_reports_url = self.url + "/v1"  # the global reports host's shape
        # stop() waits for the serving loop's next poll (werkzeug's 0.5 s by default)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       name="clockify-sandbox", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class Sandbox(ClockifyRoutes):
    """A local Clockify. A WSGI callable; `serve_in_thread()` puts it on a port.

    Knobs (attributes, changeable at run time): latency (seconds added to every API request),
    free_plan (treat every workspace as FREE), rate_limit (requests per second per key; None: off),
    retry_after (seconds sent in Retry-After on rate-limit 429s; True: the real wait; None: no header),
    free_calls_per_hour (the Free plan's per-workspace budget). Size knobs (seed, members,
    entries_per_member, month, months) pick the cached world and are fixed per instance. ``clock`` (monotonic
    seconds) is what the limits' windows are measured on: a test may move a fake one instead of sleeping.
    """

    def __init__(self, *, seed: int = 1, members: int = 55, entries_per_member: int = 40,
                 month: str = DEFAULT_MONTH, months: int = 1, latency: float = 0.0, free_plan: bool = False,
                 rate_limit: int | None = 10, retry_after: int | bool | None = None,
                 free_calls_per_hour: int = 30, clock: Callable[[], float] = time.monotonic):
        self.world = build_world(seed, members, entries_per_member, month, months)
        self.seed, self.members, self.entries_per_member, self.month = seed, members, entries_per_member, month
        self.months = months
        self._initial_knobs = dict(latency=latency, free_plan=free_plan, rate_limit=rate_limit,
                                   retry_after=retry_after, free_calls_per_hour=free_calls_per_hour)
        self.clock = clock  # the limits' clock: tests move a fake one instead of sleeping
        self._lock = threading.Lock()
        self.reset()
        self.app = self._make_app()

    # --- Python API -------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the state of a fresh instance: default keys and knobs, no faults, empty log."""
        with self._lock:
            for name, value in self._initial_knobs.items():
                setattr(self, name, value)
            self.keys: dict[str, str] = dict(self.world.default_keys)  # key -> account id
            self.faults: list[Fault] = []
            self.requests: list[RecordedRequest] = []
            self._key_windows: dict[str, deque] = {}
            self._free_windows: dict[str, deque] = {}

    def add_fault(self, kind: str, path: str = "*", **options) -> Fault:
        fault = Fault(kind, path, **options)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def add_key(self, account_id: str = DEMO_USER_ID, key: str | None = None) -> str:
        if account_id not in self.world.accounts:
            raise KeyError(f"no account {account_id}")
        key = key or "sandbox-" + secrets.token_hex(12)
        with self._lock:
            self.keys[key] = account_id
        return key

    def revoke_key(self, key: str) -> None:
        with self._lock:
            self.keys.pop(key, None)

    def regenerate_key(self, key: str) -> str:
        """What "Generate new key" in Clockify does: the old key answers 4003 from now on."""
        account_id = self.keys[key]
        self.revoke_key(key)
        return self.add_key(account_id)

    def calls(self, path: str = "*", method: str | None = None) -> list[RecordedRequest]:
        """Logged requests whose path matches the glob (and method, if given)."""
        with self._lock:
            return [r for r in self.requests
                    if fnmatch.fnmatchcase(r.path, path) and (method is None or r.method == method.upper())]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def workspace(self, workspace_id: str) -> Workspace:
        return self.world.workspaces[workspace_id]

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> RunningSandbox:
        return RunningSandbox(self, host, port, quiet)

    def state(self) -> dict:
        """What GET /__sandbox shows."""
        with self._lock:
            return {"knobs": {name: getattr(self, name) for name in self._initial_knobs},
                    "size": {"seed": self.seed, "members": self.members,
                             "entries_per_member": self.entries_per_member, "month": self.month,
                             "months": self.months},
                    "keys": [{"fingerprint": fingerprint(k), "accountId": a} for k, a in self.keys.items()],
                    "faults": [asdict(f) for f in self.faults],
                    "requests": len(self.requests)}

    # --- WSGI: logging, latency and faults sit in front of the Flask app ---------------------------

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL) and path != REDIRECT_TARGET:
            return self.app(environ, start_response)
        size = int(environ.get("CONTENT_LENGTH") or 0)
        stream = environ["wsgi.input"]
        body = stream.read() if environ.get("wsgi.input_terminated") else stream.read(size) if size else b""
        environ["wsgi.input"] = BytesIO(body)
        record = self._record(environ, path, body)
        if path == REDIRECT_TARGET:  # the canary only logs; no latency or fault (a redirect there would loop)
            return self.app(environ, start_response)
        if self.latency:
            time.sleep(self.latency)
        fault = self._take_fault(record.method, path)
        if fault and fault.kind == "delay":
            time.sleep(fault.delay)
            fault = None  # then answer normally: a client with a shorter timeout has given up by now

        def recording_start_response(status, headers, exc_info=None):
            record.status = int(status.split()[0])
            return start_response(status, headers, exc_info)

        if fault:
            record.fault = fault.kind
            answer = fault_response(fault, environ, recording_start_response, self.app)
            if fault.kind == "drop":
                record.status = None  # nothing was answered
            return answer
        return self.app(environ, recording_start_response)

    def _record(self, environ, path: str, body: bytes) -> RecordedRequest:
        headers, key_fp = {}, None
        for name, value in environ.items():
            if not name.startswith("HTTP_"):
                continue
            header = name[5:].replace("_", "-").title()
            if header in ("X-Api-Key", "X-Addon-Token"):
                value = key_fp = fingerprint(value)
            headers[header] = value
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        query_string = environ.get("QUERY_STRING", "")
        record = RecordedRequest(environ["REQUEST_METHOD"], path, query_string,
                                 parse_qs(query_string, keep_blank_values=True), headers, parsed, key_fp,
                                 time.time())
        with self._lock:
            self.requests.append(record)
        return record

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    # --- limits ------------------------------------------------------------------------------------

    def _admit(self, windows: dict[str, deque], name: str, limit: int, period: float) -> float | None:
        """Sliding window: None if admitted (and counted), else seconds until a slot frees."""
        now = self.clock()
        window = windows.setdefault(name, deque())
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= limit:
            return window[0] + period - now
        window.append(now)
        return None

    def _too_many(self, wait: float) -> ErrorAnswer:
        headers = {}
        if self.retry_after is True:
            headers["Retry-After"] = str(max(1, math.ceil(wait)))
        elif self.retry_after is not None and self.retry_after is not False:
            headers["Retry-After"] = str(self.retry_after)
        return ErrorAnswer(429, "Too many requests", None, headers)
