"""Issue 9, item 11, in the wizard: beside the selected total, what Clockify's own report says for the
same entries; with the lines, why the two differ, cause by cause, adding up to the difference."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from decimal import Decimal

from sandbox import ACME_ID, NORTHWIND_ID
from sandbox.shapes import earned
from tests.test_imports import Wizard, wizard, words  # noqa: F401  (wizard: a fixture)

pytest_plugins = ["tests.conftest_sandbox"]

MONEY = r"-?\$[\d,]+\.\d\d"


def cents(text: str) -> int:
    return int(Decimal(text.replace("$", "").replace(",", "")) * 100)


def clockify_says(wizard, ids) -> int:
    """Clockify's amounts for these entries, from the sandbox's own data (the ground truth)."""
    workspace = wizard.sandbox.sandbox.workspace(ACME_ID)
    entries = workspace.entries_between(datetime(2025, 9, 1, tzinfo=timezone.utc), datetime(2025, 12, 1, tzinfo=timezone.utc))
    return sum(earned(entry) for entry in entries if entry.id in set(ids))


def reconciliation(html: str) -> tuple[int, int, dict[str, int]]:
    """(Clockify's figure, the difference, each cause's amount) as the lines step shows them."""
    box = html.split('data-testid="reconciliation"')[1].split("</div>")[0]
    clockify = cents(re.search(rf'data-testid="clockify-total">({MONEY})<', box).group(1))
    found = re.search(rf'data-testid="difference">\+?({MONEY})<', box)
    causes = {kind: cents(amount) for kind, amount in re.findall(rf'data-cause="(\w+)">\+?({MONEY})<', box)}
    return clockify, cents(found.group(1)) if found else 0, causes


def test_the_preview_shows_clockifys_figure_beside_the_selected_total(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    html = preview.get_data(as_text=True)
    ids = wizard.entry_ids(preview)
    shown = re.search(rf"Clockify's report: <strong data-clockify-amount>({MONEY})</strong>", html)
    assert shown and cents(shown.group(1)) == clockify_says(wizard, ids) > 0
    assert "says why, cause by cause" in words(html)


def test_the_lines_say_why_they_differ_from_clockify_and_the_causes_add_up(wizard):
    preview = wizard.preview(client=NORTHWIND_ID, billable=None)
    token, html = wizard.token(preview), preview.get_data(as_text=True)
    ids = wizard.entry_ids(preview)
    non_billable = re.findall(r'name="nonbillable" value="([^"]+)"', html)
    assert ids and non_billable
    shown = wizard.post(token, "lines", selection="some", entry=ids, nonbillable=non_billable[:1],
                        rounding_minutes="15", rounding_direction="up")
    page = shown.get_data(as_text=True)
    total = cents(re.search(rf'data-testid="plan-total">({MONEY})<', page).group(1))
    clockify, difference, causes = reconciliation(page)
    assert clockify == clockify_says(wizard, ids + non_billable[:1])  # the non-billable one says 0
    assert difference == total - clockify != 0 and sum(causes.values()) == difference
    assert causes["rounding_options"] > 0 and causes["non_billable"] > 0
    text = words(page)
    assert "1 entry non-billable, ticked deliberately: Clockify's report gives it 0" in text
    assert "Each entry rounded up to 15 minutes" in text

    # The billable ones unrounded: only the default rate (Ada's 90.00 for entries Clockify has no rate
    # for) and 4-place hours are left
    again = wizard.post(token, "lines", selection="some", entry=ids).get_data(as_text=True)
    clockify, difference, causes = reconciliation(again)
    assert clockify == clockify_says(wizard, ids) and sum(causes.values()) == difference
    assert set(causes) <= {"quantity_rounding", "rate_here"} and causes["rate_here"] > 0
    assert "without a Clockify rate, billed at the rate chosen here (Clockify counts 0)" in words(again)
