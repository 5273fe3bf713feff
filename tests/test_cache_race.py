"""Two wizard requests filling the same empty Clockify cache at once, through a real threaded server:
both answer the page (no 500 from the cache's unique constraint) and the cache holds one row."""
from __future__ import annotations

import re
import threading

import requests
from sqlalchemy import delete, func, select

from extensions import db
from models import ClockifyCache
from services.clockify import reset_rate_limits
from tests.conftest import PASSWORD

pytest_plugins = ["tests.conftest_sandbox"]

ROUNDS = 40  # a 1-in-40 race shows up in one run
THREADS = 2  # the pair is the race; the client-side limit (10 calls/s a key) paces the rounds


def registered(base: str) -> requests.Session:
    """A browser session of a new user, Ada, carrying the page's CSRF token."""
    session = requests.Session()
    page = session.get(f"{base}/register").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = session.post(f"{base}/register", data={"display_name": "Ada", "email": "ada@example.com",
                                                       "password": PASSWORD, "confirm": PASSWORD,
                                                       "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 303
    session.headers["X-CSRFToken"] = token
    return session


def tab(session: requests.Session) -> requests.Session:
    """Another tab of the same browser: the same log-in, its own connection to the server."""
    copy = requests.Session()
    copy.cookies.update(session.cookies)
    copy.headers.update(session.headers)
    return copy


def all_at_once(calls) -> list:
    """Run the calls in threads released together; their results (or errors) in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - reported by the assertion
            results[index] = error

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_requests_filling_the_same_empty_cache_at_once_all_get_the_page_and_one_row(app, live_server,
                                                                                   clockify_sandbox):
    reset_rate_limits()
    clockify_sandbox.sandbox.rate_limit = None
    # Each request reads the empty cache, asks Clockify (20 ms here), then stores what it got: they overlap.
    clockify_sandbox.sandbox.latency = 0.02
    app.config.update(HOURBILL_CLOCKIFY_API_URL=clockify_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=clockify_sandbox.reports_url)
    session = registered(live_server)
    assert session.post(f"{live_server}/settings/integrations/clockify/new", allow_redirects=False, data={
        "name": "Clockify", "region": "global", "api_key": "sandbox-demo-key"}).status_code == 303
    session.post(f"{live_server}/customers/new", data={"name": "Northwind", "currency": "USD"})
    customer_id = re.search(r'<option value="(\d+)"', session.get(f"{live_server}/invoices/new").text).group(1)
    created = session.post(f"{live_server}/invoices/new", data={"customer_id": customer_id}, allow_redirects=False)
    wizard = f"{live_server}{created.headers['Location'].rstrip('/')}/import"
    tabs = [tab(session) for _ in range(THREADS)]

    for round_ in range(ROUNDS):
        with app.app_context():
            db.session.execute(delete(ClockifyCache))  # empty again: every round races to fill it
            db.session.commit()
        results = all_at_once([lambda each=each: each.get(wizard, headers={"HX-Request": "true"}) for each in tabs])

        statuses = [getattr(result, "status_code", repr(result)) for result in results]
        assert statuses == [200] * THREADS, f"round {round_}: {statuses}"
        assert all("Acme Studio" in result.text for result in results)  # each shows the workspaces
        with app.app_context():
            assert db.session.scalar(select(func.count(ClockifyCache.id))) == 1
