"""Two wizard requests filling the same empty Clockify cache at once, through a real threaded server:
both answer the page (no 500 from the cache's unique constraint) and the cache holds one row. Each request
is held at its first write until both have read the empty cache (tests/test_concurrency.py, _FirstWrites):
every round is the race."""
from __future__ import annotations

from sqlalchemy import delete, func, select

from extensions import db
from models import ClockifyCache
from tests.test_concurrency import _all_at_once, _copies, _new_invoice, _session


ROUNDS = 2
THREADS = 2  # the pair is the race


def test_requests_filling_the_same_empty_cache_at_once_all_get_the_page_and_one_row(app, live_server,
                                                                                   clockify_sandbox):
    clockify_sandbox.sandbox.rate_limit = None
    # Timing only: the client's 10-a-second budget lifted (it paced the rounds, not the pair in a round).
    app.config.update(HOURBILL_CLOCKIFY_API_URL=clockify_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=clockify_sandbox.reports_url,
                      HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND=1000)
    session = _session(live_server)
    assert session.post(f"{live_server}/settings/integrations/clockify/new", allow_redirects=False, data={
        "name": "Clockify", "region": "global", "api_key": "sandbox-demo-key"}).status_code == 303
    wizard = f"{live_server}/invoices/{_new_invoice(session, live_server)}/import"
    tabs = _copies(session, THREADS)  # tabs of one browser

    for round_ in range(ROUNDS):
        with app.app_context():
            db.session.execute(delete(ClockifyCache))  # empty again: every round races to fill it
            db.session.commit()
        results = _all_at_once([lambda each=each: each.get(wizard, headers={"HX-Request": "true"}) for each in tabs],
                               turns=[0, 1])  # one stores its rows, then the other

        statuses = [getattr(result, "status_code", repr(result)) for result in results]
        assert statuses == [200] * THREADS, f"round {round_}: {statuses}"
        assert all("Acme Studio" in result.text for result in results)  # each shows the workspaces
        with app.app_context():
            rows = dict(db.session.execute(select(ClockifyCache.key, func.count(ClockifyCache.id))
                                           .group_by(ClockifyCache.key)).all())
            # One row per key: the list (and the key's roles, unless Clockify's rate limit left them out).
            assert rows["workspaces"] == 1 and set(rows.values()) == {1}, rows
