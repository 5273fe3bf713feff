"""Issue 9, item 15, in the wizard: starting a preview trims the user's older unconfirmed ones, and a
tab still showing a trimmed preview is told it expired (in the wizard, not the 404 page)."""
from __future__ import annotations

import pytest

from extensions import db
from models import ImportPreview
from sandbox import NORTHWIND_ID
from services.imports import PREVIEWS_KEPT_PER_USER
from tests.test_imports import Wizard, wizard, words  # noqa: F401  (fixtures)

pytestmark = pytest.mark.small_sandbox  # 8 members of 10 entries (tests/fixtures.py)


EXPIRED = "This preview expired: preview again"


def stored(wizard) -> dict[str, bool]:
    """Token -> confirmed, for every stored preview."""
    with wizard.app.app_context():
        return {token: confirmed is not None for token, confirmed in
                db.session.execute(db.select(ImportPreview.token, ImportPreview.confirmed_at))}


def test_a_new_preview_trims_the_users_older_unconfirmed_ones_and_keeps_confirmed_ones(wizard):
    confirmed = wizard.token(wizard.preview(client=NORTHWIND_ID))
    assert wizard.post(confirmed, "confirm", selection="all").status_code == 200
    tokens = [wizard.token(wizard.preview(client=NORTHWIND_ID, billable=None))
              for _ in range(PREVIEWS_KEPT_PER_USER + 2)]
    kept = stored(wizard)
    assert kept == {confirmed: True, **{token: False for token in tokens[-PREVIEWS_KEPT_PER_USER:]}}


def test_a_trimmed_preview_open_in_another_tab_says_it_expired(wizard):
    old = wizard.token(wizard.preview(client=NORTHWIND_ID))
    for _ in range(PREVIEWS_KEPT_PER_USER):
        wizard.preview(client=NORTHWIND_ID)
    assert old not in stored(wizard)

    # With htmx: the message replaces the whole wizard, whatever the button targeted
    for action in ("lines", "confirm", "more"):
        answer = wizard.post(old, action, selection="all")
        assert answer.status_code == 200, action  # htmx swaps only 2xx (and 422) answers
        assert EXPIRED in words(answer.get_data(as_text=True)), action
        assert (answer.headers["HX-Retarget"], answer.headers["HX-Reswap"]) == ("#import-wizard", "outerHTML")
    # Without JavaScript: a whole page saying so, as 410 Gone
    page = wizard.client.post(f"{wizard.base}/{old}/lines", data={"selection": "shown"})
    text = words(page.get_data(as_text=True))
    assert page.status_code == 410 and EXPIRED in text and "Back to the draft" in text
    assert wizard.lines() == []

