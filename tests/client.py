"""The Flask test client the tests and the in-process benchmarks share: it sends the page's CSRF token
with every unsafe request, as our forms and htmx do. `app.test_client_class = BrowserLikeClient`."""
from __future__ import annotations

import re

from flask.testing import FlaskClient

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


class BrowserLikeClient(FlaskClient):
    """Sends the page's CSRF token with every unsafe request, as our forms and htmx do.

    Pass csrf=False to send none (the 400 tests); hx=True to send what htmx sends."""

    _token: str | None = None

    def open(self, *args, csrf: bool = True, hx: bool = False, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if hx:
            headers["HX-Request"] = "true"
        if csrf and method in UNSAFE:
            headers.setdefault("X-CSRFToken", self.csrf_token())
        return super().open(*args, headers=headers, **kwargs)

    def csrf_token(self) -> str:
        # Any page carries the token in <meta name="csrf-token">; a 404 page is the cheapest one. The
        # token lasts as long as the session, so it is fetched once: a page rendered for it would
        # otherwise show (and use up) the flash messages the test is about to look for.
        if self._token is None:
            page = super().open("/__no_such_page__").get_data(as_text=True)
            self._token = re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)
        return self._token
