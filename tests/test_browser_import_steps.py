"""In Chromium, the wizard's steps as a keyboard and screen-reader user meets them (issue 13's wizard
points): the step indicator goes back without losing choices, From and To only for a custom range, the
project and member lists with a filter box, the entry table as one tab stop moved through by arrow
keys, focus on each new step, lines split by rate that say so; and axe on every step, at desktop width
and at 390 px (its layout's rules there). With JavaScript; without it, the steps as pages are walked in the
import without JavaScript (tests/test_browser_import.py)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser import assert_accessible_at_both_widths, screenshot, settled
from tests.test_browser_import import (PROJECT, choose_line_options, current_step, entry_boxes,  # noqa: F401
                                       set_up_ada, small_clockify, steps)

pytestmark = pytest.mark.browser


def focused(page) -> str:
    """What has focus, as a person hears it: its accessible text."""
    return page.evaluate("""() => { const e = document.activeElement;
        return (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().replace(/\\s+/g, ' '); }""")


def test_the_wizard_by_keyboard_with_steps_focus_filters_and_split_lines(page, accounts, small_clockify):
    set_up_ada(page, accounts)
    page.get_by_role("link", name="Import from Clockify").click()
    wizard = page.locator("section#import-wizard")
    # Focus goes to each new step's heading, and the indicator says where the user is.
    expect(page.locator(":focus")).to_have_text("Workspace")
    assert current_step(page) == "Workspace"
    expect(wizard).not_to_have_attribute("aria-live", re.compile(".*"))
    assert_accessible_at_both_widths(page, "the workspace step")
    wizard.get_by_label("Workspace").select_option(label="Acme Studio")
    wizard.get_by_role("button", name="Load clients, projects and members").click()
    expect(page.locator(":focus")).to_have_text("Filters")
    settled(page)
    assert current_step(page) == "Filters"

    # From and To only with "Custom range".
    start, end = page.get_by_label(re.compile(r"^From\b")), page.get_by_label(re.compile(r"^To\b"))
    expect(start).to_have_count(1)
    expect(start).to_be_hidden()
    expect(end).to_be_hidden()
    page.get_by_label(re.compile(r"^Dates")).select_option(label="Custom range")
    expect(start).to_be_visible()
    page.get_by_label(re.compile(r"^Dates")).select_option(label="Last month")
    expect(end).to_be_hidden()

    # Choosing a client keeps focus on Client; the projects become the client's.
    page.get_by_label("Client", exact=True).select_option(label="Northwind")
    expect(page.get_by_text("Projects of this client")).to_be_visible()
    settled(page)
    expect(page.get_by_label("Client", exact=True)).to_be_focused()

    # A filter box over each list; without a match it says so.
    projects = page.get_by_role("group", name=re.compile(r"^Projects"))
    projects.get_by_label("Filter projects").fill("redes")
    expect(projects.get_by_role("checkbox")).to_have_count(1)
    projects.get_by_label(PROJECT).check()
    projects.get_by_label("Filter projects").fill("")
    expect(projects.get_by_role("checkbox")).not_to_have_count(1)
    members = page.get_by_role("group", name=re.compile(r"^Team members"))
    members.get_by_label("Filter team members").fill("nobody by this name")
    expect(members.get_by_text("None matches.")).to_be_visible()
    members.get_by_label("Filter team members").fill("")
    page.get_by_label(re.compile(r"^Dates")).select_option(label="Custom range")
    start.fill("2025-10-01")
    end.fill("2025-10-31")
    assert_accessible_at_both_widths(page, "the filters step")

    wizard.get_by_role("button", name="Preview entries").click()
    expect(wizard.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    settled(page)
    expect(page.locator(":focus")).to_have_text("Entries")
    assert current_step(page) == "Entries"

    # The entry table: one tab stop, arrows move, Space ticks; each box says which entry it is.
    boxes = entry_boxes(page)
    total = boxes.count()
    # each as focused() reads it: white space (a description's line break) as one space
    labels = [" ".join(label.split()) for label in
              boxes.evaluate_all("boxes => boxes.map(box => box.getAttribute('aria-label'))")]
    assert len(set(labels)) == total, "two entries share a label"
    assert all(re.match(r"^Bill 2025-10-\d\d \d\d:\d\d · .+ · Website redesign", label) for label in labels)
    expect(page.locator('[data-entry-grid] input[name="entry"][tabindex="0"]')).to_have_count(1)
    page.get_by_role("button", name="Select none").focus()
    page.keyboard.press("Tab")
    assert focused(page) == labels[0]
    page.keyboard.press("ArrowDown")
    assert focused(page) == labels[1]
    page.keyboard.press("Space")
    expect(boxes.nth(1)).not_to_be_checked()
    expect(page.locator("[data-selected-count]")).to_have_text(str(total - 1))
    page.keyboard.press("End")
    assert focused(page) == labels[-1]
    page.keyboard.press("Tab")  # out of the table in one step
    assert not page.evaluate("document.activeElement.closest('[data-entry-grid]')")
    page.keyboard.press("Shift+Tab")  # and back to where the user was in it
    assert focused(page) == labels[-1]
    page.keyboard.press("Space")
    expect(page.locator("[data-selected-count]")).to_have_text(str(total - 2))
    assert_accessible_at_both_widths(page, "the entries step")

    # Lines, one per project: split by rate, each says its rate; the indicator moves to Lines.
    choose_line_options(page)
    page.get_by_role("button", name="Show the lines").click()
    plan_heading = page.locator("#import-plan h3")
    expect(plan_heading).to_have_text(re.compile(rf" from {total - 2} entries$"))
    expect(plan_heading).to_be_focused()
    expect(steps(page).locator('[aria-current="step"]')).to_have_text("Lines")
    descriptions = [text.strip() for text in page.locator("#import-plan tbody tr td:first-child").all_inner_texts()]
    assert len(descriptions) > 1, "the sandbox's Website redesign bills at several rates in October"
    expect(page.get_by_test_id("split-by-rate")).to_contain_text("Split by rate")
    assert all(re.search(r"\$[\d,.]+/h", text) for text in descriptions), descriptions
    assert len(set(descriptions)) == len(descriptions), "split lines should tell themselves apart"
    screenshot(page, "import-steps-lines")
    assert_accessible_at_both_widths(page, "the lines step")

    # Back to Filters from the indicator: everything chosen is still chosen.
    steps(page).get_by_role("link", name="Filters").click()
    expect(page.locator(":focus")).to_have_text("Filters")
    settled(page)
    expect(page.get_by_label("Client", exact=True)).to_have_value(re.compile(r"\w"))
    expect(page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT)).to_be_checked()
    expect(page.get_by_label(re.compile(r"^Dates"))).to_have_value("custom")
    expect(start).to_have_value("2025-10-01")
    # ... and back to the workspace, and forward again: still.
    steps(page).get_by_role("link", name="Workspace").click()
    expect(page.locator(":focus")).to_have_text("Workspace")
    settled(page)
    expect(wizard.get_by_label("Workspace")).to_have_value(re.compile(r"\w"))
    wizard.get_by_role("button", name="Load clients, projects and members").click()
    expect(page.locator(":focus")).to_have_text("Filters")
    settled(page)
    expect(page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT)).to_be_checked()
    expect(end).to_have_value("2025-10-31")
    expect(end).to_be_visible()

    wizard.get_by_role("button", name="Preview entries").click()
    expect(wizard.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    settled(page)
    page.get_by_role("button", name="Add to invoice").click()
    expect(wizard.get_by_role("status").filter(has_text="Imported")).to_be_visible()
    settled(page)
    expect(page.locator("#lines h2")).to_be_focused()  # after "Add to invoice": the lines' heading
    assert_accessible_at_both_widths(page, "the done step")
    wizard.get_by_role("link", name="Close").click()
    expect(page.locator("section#import-wizard")).to_have_count(0)
    expect(page.locator("#lines h2")).to_be_focused()  # after "Close" too
