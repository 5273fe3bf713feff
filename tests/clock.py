"""Today as the app dates things, for tests whose dates must agree with the app's (fixtures: `today`,
`a_day_on`; a module imports the ones it uses).

A date read when a test module is imported drifts from the app's once a run crosses midnight UTC: the app
dated new invoices, the overdue rule and the wizard's presets by the new day while the test still checked
the old one. `today` asks the app's own clock (blueprints/access.today) when the test starts, so the two
agree; `a_day_on` moves that clock a day ahead, as the run crossing midnight does."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from blueprints import access


@pytest.fixture
def today(app) -> date:
    """Today where a person in UTC is (every test's user until they choose a zone), as the app reckons it."""
    with app.test_request_context():
        return access.today()


class _ADayOn(datetime):
    @classmethod
    def now(cls, tz=None):
        return datetime.now(tz) + timedelta(days=1)


@pytest.fixture
def a_day_on(monkeypatch) -> None:
    """The app's clock a day ahead of the machine's: what a test sees when the run crosses midnight after its
    module was imported. Ask for it before `today` (e.g. `@pytest.mark.usefixtures("a_day_on")`)."""
    monkeypatch.setattr(access, "datetime", _ADayOn)
