"""The failures of the Clockify client (services/clockify.py), each with a message fit for the page.

Every failure the UI must explain is a ClockifyError subclass whose ``str()`` is that message; none holds
the API key. ReadOnlyViolation is a programming error, not something a user can meet.
"""
from __future__ import annotations

import math
from typing import Any

from flask_babel import lazy_gettext as _l, ngettext


class ClockifyError(Exception):
    """Base of every failure the UI explains. ``str(e)`` is a safe, user-facing message.

    ``status`` is the HTTP status (None without a response), ``code`` Clockify's error code and
    ``detail`` Clockify's own message (shortened, key removed) for logs and support, never the key.
    """

    default_message = _l("Something went wrong while talking to Clockify. Please try again.")
    kind = "other"  # what the page advises: "new_key" where the stored key itself is refused

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        code: int | None = None,
        detail: str | None = None,
    ) -> None:
        self.message = str(message or self.default_message)  # lazy: said in the language in force
        self.status = status
        self.code = code
        self.detail = detail
        super().__init__(self.message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, code={self.code!r})"


class InvalidKey(ClockifyError):
    """401: code 4003 "Api key does not exist" (wrong, regenerated or deleted), code 1000 (header bug)."""

    default_message = _l(
        "Clockify did not accept this API key: it is invalid or expired. Generate a new key in "
        "Clockify (Profile settings, API) and update the connection."
    )

    @property
    def kind(self) -> str:
        return "other" if self.code == 1000 else "new_key"  # 1000: Hourbill's header, not the key


class Forbidden(ClockifyError):
    """403, e.g. an endpoint the workspace's plan does not include."""

    default_message = _l(
        "Clockify refused this request for this key. The workspace's plan may not include it, "
        "or the key's owner may lack the permission."
    )


class NotFound(ClockifyError):
    """404/405 (code 3000): unknown route or wrong method."""

    default_message = _l("Clockify does not know what Hourbill asked for. The workspace may have moved or been deleted.")


class BadRequest(ClockifyError):
    """400 (code 501 is Clockify's domain validation, also how some missing entities are reported)."""

    default_message = _l("Clockify rejected the request as invalid. Check the workspace and filters and try again.")


class ReportRangeTooLong(BadRequest):
    """400 from the detailed report for a window longer than clockify.FREE_PLAN_REPORT_DAYS: the Free plan's limit
    (docs/clockify-notes.md), detected from the answer, since the plan's name for Free workspaces is not known. The
    caller splits the range into windows of at most FREE_PLAN_REPORT_DAYS days and asks again."""

    default_message = _l(
        "Clockify's Free plan reports cover at most 31 days per request. Hourbill asks for the range "
        "in parts of 31 days or fewer."
    )


class RateLimited(ClockifyError):
    """429 after retries, or with a Retry-After longer than Hourbill will wait."""

    default_message = _l(
        "Clockify is limiting how often Hourbill may ask (Free workspaces allow 30 API requests an hour). "
        "Please try again later."
    )

    def __init__(self, message: str | None = None, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        if message is None and retry_after is not None:
            minutes = max(1, math.ceil(retry_after / 60))
            message = ngettext("Clockify is limiting how often Hourbill may ask. Please try again in %(num)d minute.",
                               "Clockify is limiting how often Hourbill may ask. Please try again in %(num)d minutes.",
                               minutes)
        super().__init__(message, **kwargs)


class Unreachable(ClockifyError):
    """No connection: DNS failure, refused connection, TLS failure."""

    default_message = _l("Hourbill could not reach Clockify. Check the region and subdomain, or try again later.")


class TimedOut(ClockifyError):
    default_message = _l("Clockify took too long to answer. Please try again.")


class UnexpectedResponse(ClockifyError):
    """A redirect, a 5xx after retries, a body that is not the JSON expected (HTML, empty, truncated)."""

    default_message = _l("Clockify sent an answer Hourbill could not read. Please try again later.")


UNKNOWN_SHAPE = _l("Clockify answered in a shape Hourbill does not know.")


class ReadOnlyViolation(RuntimeError):
    """A programming error: code asked the client for a request that could change data in Clockify."""
