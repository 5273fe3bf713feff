"""What every part of the sandbox shares: its paths and Clockify's limits, the error it answers in
Clockify's shape, JSON answers, and the key fingerprint the request log keeps instead of a key."""
from __future__ import annotations

import hashlib
import json

from flask import Response

CORE = "/api/v1"
REPORT_PREFIXES = ("/v1", "/report/v1")
CONTROL = "/__sandbox"
REDIRECT_TARGET = CONTROL + "/redirect-target"  # where injected redirects point: a canary, logged like API calls
MAX_CORE_PAGE_SIZE = 5000
MAX_REPORT_PAGE_SIZE = 1000
FREE_PLAN_REPORT_DAYS = 31
FREE_PLAN_REPORT_MESSAGE = ("Detailed report data on FREE subscription plan is limited to a maximum interval "
                            "length of one month (31 days).")


class ErrorAnswer(Exception):
    """An error the sandbox answers in Clockify's shape: {"message": ..., "code": ...} (code omitted when None).
    Not the client's services.clockify.ClockifyError: this one is raised inside the stand-in server."""

    def __init__(self, status: int, message: str, code: int | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers or {}

    def body(self) -> dict:
        return {"message": self.message} if self.code is None else {"message": self.message, "code": self.code}


def fingerprint(key: str) -> str:
    """What the request log keeps instead of a key: enough to tell keys apart, useless to an attacker."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()[:12]


def answer_json(data, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(data, ensure_ascii=False, separators=(",", ":")), status, headers,
                    mimetype="application/json")

