"""Pytest plugin: fixtures that serve the Clockify sandbox on a free local port.

Load it with `pytest_plugins = ["tests.conftest_sandbox"]` (pytest imports tests/ as the `tests` package,
with the repo root on sys.path).

- `clockify_sandbox_server`: one sandbox (default knobs) served for the whole session.
- `clockify_sandbox`: that server, reset before and after the test (keys, faults, knobs, log, limits).
  Use `.sandbox` for the Python API and `.api_url` / `.reports_url` / `.global_reports_url` for URLs.
- `clockify_env`: the same, with HOURBILL_CLOCKIFY_API_URL and HOURBILL_CLOCKIFY_REPORTS_URL pointing at it.
- `sandbox_api`: a `SandboxCaller` (client-shaped `requests` calls with the demo key) on that server, with
  the per-key rate limit off.
"""
from __future__ import annotations

import pytest

from sandbox import RunningSandbox, create_sandbox


@pytest.fixture(scope="session")
def clockify_sandbox_server():
    with create_sandbox().serve_in_thread() as running:
        yield running


@pytest.fixture
def clockify_sandbox(clockify_sandbox_server) -> RunningSandbox:
    clockify_sandbox_server.sandbox.reset()
    yield clockify_sandbox_server
    clockify_sandbox_server.sandbox.reset()


@pytest.fixture
def clockify_env(clockify_sandbox, monkeypatch) -> RunningSandbox:
    monkeypatch.setenv("HOURBILL_CLOCKIFY_API_URL", clockify_sandbox.api_url)
    monkeypatch.setenv("HOURBILL_CLOCKIFY_REPORTS_URL", clockify_sandbox.reports_url)
    return clockify_sandbox


class SandboxCaller:
    """Plain `requests` calls to a running sandbox, shaped like a client's (never follows redirects)."""

    def __init__(self, running: RunningSandbox, key: str | None = None):
        from sandbox import MAIN_KEY

        self.running, self.key = running, key or MAIN_KEY

    def headers(self, key: str | None = None) -> dict:
        return {"X-Api-Key": key or self.key}

    def get(self, path: str, key: str | None = None, headers: dict | None = None, **params):
        import requests

        headers = self.headers(key) if headers is None else headers
        return requests.get(self.running.api_url + path, params=params, headers=headers,
                            allow_redirects=False, timeout=5)

    def report(self, workspace_id: str, body: dict, key: str | None = None, base: str | None = None):
        import requests

        return requests.post(f"{base or self.running.reports_url}/workspaces/{workspace_id}/reports/detailed",
                             json=body, headers=self.headers(key), allow_redirects=False, timeout=5)

    @staticmethod
    def report_body(zone: str = "UTC", page: int = 1, size: int = 1000, start: str = "2025-10-01T00:00:00",
                    end: str = "2025-10-31T23:59:59.999", **extra) -> dict:
        """A detailed-report body like a client sends (the default window is the seeded month)."""
        return {"dateRangeStart": start, "dateRangeEnd": end, "timeZone": zone,
                "detailedFilter": {"page": page, "pageSize": size, "options": {"totals": "CALCULATE"}},
                "exportType": "JSON", **extra}

    def all_pages(self, path: str, page_size: int = 50, **params) -> list:
        items, page = [], 1
        while True:
            response = self.get(path, page=page, **{"page-size": page_size}, **params)
            response.raise_for_status()
            items += response.json()
            if response.headers["Last-Page"] == "true":
                return items
            page += 1


@pytest.fixture
def sandbox_api(clockify_sandbox) -> SandboxCaller:
    """Plain `requests` calls with the demo key (`.running` is the server); the per-key rate limit is off
    so a test may burst."""
    clockify_sandbox.sandbox.rate_limit = None
    return SandboxCaller(clockify_sandbox)


@pytest.fixture
def clockify(app, clockify_sandbox) -> RunningSandbox:
    """The app (tests/conftest.py) pointed at the sandbox, with short timeouts and fresh per-key budgets."""
    from services.clockify import reset_rate_limits

    reset_rate_limits()
    app.config.update(HOURBILL_CLOCKIFY_API_URL=clockify_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=clockify_sandbox.reports_url,
                      HOURBILL_CLOCKIFY_TIMEOUT=(2.0, 2.0))
    return clockify_sandbox
