"""The sandbox's fault middleware: failures injected in front of the Clockify routes (a status, a delay, a
body that cannot be read, a redirect, a dropped connection), as tests and the control API ask for them."""
from __future__ import annotations

import fnmatch
import json
import socket
from dataclasses import dataclass
from http import HTTPStatus

from .answers import REDIRECT_TARGET

FAULT_KINDS = ("status", "delay", "malformed_json", "html", "truncated", "empty", "redirect", "drop")


@dataclass
class Fault:
    """An injected failure for requests whose path matches `path` (a glob, e.g. "*/reports/detailed").

    kinds: status (a Clockify-shaped error), delay (sleep `delay` seconds, then answer normally: for
    client timeouts), malformed_json, html (a proxy's HTML error page), truncated (the real answer cut in
    half under a full Content-Length), empty (200 with no body), redirect (3xx with Location: by default
    the sandbox's redirect-target canary), drop (close the connection without answering).
    `times` limits how many requests it hits (None: until cleared).
    """

    kind: str
    path: str = "*"
    method: str | None = None
    status: int | None = None
    message: str | None = None
    code: int | None = None
    delay: float = 0.0
    times: int | None = None
    retry_after: int | None = None
    location: str | None = None

    def __post_init__(self):
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; one of {', '.join(FAULT_KINDS)}")

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method) and fnmatch.fnmatchcase(path, self.path)


def fault_response(fault: Fault, environ, start_response, app):
    """Answer a request the way the fault says (see Fault), in place of the Clockify routes (``app``)."""
    def answer(status: int, content_type: str | None, body: bytes, extra=(), length: int | None = None):
        headers = [("Content-Length", str(len(body) if length is None else length)), *extra]
        if content_type:
            headers.append(("Content-Type", content_type))
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [body]

    if fault.kind == "status":
        status = fault.status or 500
        message = fault.message or {401: "Api key does not exist", 429: "Too many requests"}.get(
            status, HTTPStatus(status).phrase)
        code = fault.code if fault.code is not None else {400: 501, 401: 4003, 404: 3000, 405: 3000}.get(status)
        body = {"message": message}  # a 429 carries no code, like the rate limiter's own
        if code is not None or status != 429:
            body["code"] = code if code is not None else status
        extra = [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
        return answer(status, "application/json", json.dumps(body).encode(), extra)
    if fault.kind == "malformed_json":
        return answer(fault.status or 200, "application/json", b'{"id": "5e0000000000000000000001", "name": "Acme')
    if fault.kind == "html":
        status = fault.status or 502
        phrase = f"{status} {HTTPStatus(status).phrase}"
        page = (f"<html>\r\n<head><title>{phrase}</title></head>\r\n<body>\r\n<center><h1>{phrase}</h1></center>"
                "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
        return answer(status, "text/html", page.encode())
    if fault.kind == "empty":
        return answer(fault.status or 200, "application/json", b"")
    if fault.kind == "redirect":
        location = fault.location or f"{environ['wsgi.url_scheme']}://{environ['HTTP_HOST']}{REDIRECT_TARGET}"
        return answer(fault.status or 302, None, b"", [("Location", location)])
    if fault.kind == "truncated":
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers

        full = b"".join(app(environ, capture))
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        content_type = dict((k.lower(), v) for k, v in headers).get("content-type")
        # Content-Length promises the whole answer; werkzeug closes the connection after half of it.
        return answer(int(captured["status"][:3]), content_type, full[: len(full) // 2],
                      [h for h in headers if h[0].lower() != "content-type"], length=len(full))
    # drop: close the socket without a word; the client sees a reset / remote disconnect.
    sock = environ.get("werkzeug.socket")
    if sock is None:
        raise ConnectionResetError("sandbox fault: connection dropped")
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    start_response("500 Internal Server Error", [])  # writing it fails quietly: the socket is gone
    return []
