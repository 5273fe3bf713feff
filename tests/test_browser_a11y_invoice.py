"""The invoice page with a keyboard, a screen reader, on a phone and without JavaScript (issue 13): focus
after every swap, Undo after removing a line, descriptions readable in full, asking before delete/void."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import LAYOUT_RULES, assert_accessible, browser_page, logged_in, screenshot, settled, sideways_scroll
from tests.test_browser_a11y_pages import LONG_DESCRIPTION

pytestmark = pytest.mark.browser


WIDTHS = {1280: 900, 390: 900}  # each test runs at both widths, one draft each: one app and one log-in


@pytest.fixture
def drafts(accounts) -> list[int]:
    """Two drafts (one a width), each with three lines, the first with a long description; Ada's browser logs
    in with them."""
    accounts.register(name="Ada Lovelace")
    customer = accounts.customer()
    invoices = [accounts.invoice(customer) for _ in WIDTHS]
    for invoice in invoices:
        for description in (LONG_DESCRIPTION, "Report", "Follow-up call"):
            accounts.line(invoice, description=description, quantity="1", rate="100")
    return invoices


def each_width(page, drafts):
    """(width, draft) at each width: the page resized, the draft opened."""
    for (width, height), draft in zip(WIDTHS.items(), drafts):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"/invoices/{draft}")
        yield width, draft


def focused(page) -> dict:
    return page.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName.toLowerCase(), label: e.getAttribute('aria-label') || e.textContent.trim(),
                row: e.closest('form') ? e.closest('form').id : null}; }""")


def descriptions(page) -> list[str]:
    return page.locator('form.line-row:not(.add-line) textarea[name="description"]').evaluate_all(
        "areas => areas.map(a => a.value)")


def test_moving_and_removing_lines_by_keyboard_keeps_focus_and_undo_restores_the_line(page, accounts, drafts):
    logged_in(page, accounts)
    for width, _ in each_width(page, drafts):
        moving_and_removing_by_keyboard(page, width)


def moving_and_removing_by_keyboard(page, width: int) -> None:
    first_row = page.locator("form.line-row:not(.add-line)").first.get_attribute("id")

    page.locator(f"#{first_row}").get_by_role("button", name="Move line down").focus()
    page.keyboard.press("Enter")
    settled(page)
    assert descriptions(page)[1] == LONG_DESCRIPTION
    assert focused(page) == {"tag": "button", "label": "Move line down", "row": first_row}

    page.keyboard.press("Enter")  # to the bottom: "down" is now disabled, its neighbour takes the focus
    settled(page)
    assert descriptions(page)[2] == LONG_DESCRIPTION
    assert focused(page) == {"tag": "button", "label": "Move line up", "row": first_row}

    page.locator(f"#{first_row}").get_by_role("button", name="Remove line").focus()
    page.keyboard.press("Enter")
    settled(page)
    assert descriptions(page) == ["Report", "Follow-up call"]
    assert focused(page)["tag"] == "h2" and focused(page)["label"] == "Lines"
    expect(page.get_by_role("status").filter(has_text="Removed the line")).to_be_visible()
    # every rule at one width, the layout's at the other: the same page
    assert_accessible(page, f"the invoice after removing a line at {width} px",
                      rules=LAYOUT_RULES if width < 1280 else None)
    assert sideways_scroll(page) <= 0
    screenshot(page, f"invoice-undo-{width}")

    page.keyboard.press("Tab")  # the next stop after the heading is Undo
    assert focused(page)["label"] == "Undo"
    page.keyboard.press("Enter")
    settled(page)
    assert descriptions(page) == ["Report", "Follow-up call", LONG_DESCRIPTION]
    assert page.evaluate("document.activeElement.id") == f"{first_row}-description"
    expect(page.get_by_role("status").filter(has_text="Line restored.")).to_be_visible()


def long_description_readable(page) -> None:
    area = page.locator('form.line-row:not(.add-line) textarea[name="description"]').first
    # Every line of the text is shown: the box is as tall as its content, with nothing to scroll inside it.
    assert area.evaluate("a => a.scrollHeight <= a.clientHeight + 1")
    assert area.evaluate("a => a.clientWidth >= 150")
    area.click()
    page.keyboard.press("ControlOrMeta+End")
    page.keyboard.press("Enter")
    page.keyboard.type("Second paragraph of the line, on its own line.")
    page.keyboard.press("Tab")
    settled(page)
    assert area.evaluate("a => a.scrollHeight <= a.clientHeight + 1")
    page.reload()
    expect(page.locator('form.line-row:not(.add-line) textarea[name="description"]').first).to_have_value(
        LONG_DESCRIPTION + "\nSecond paragraph of the line, on its own line.")




def delete_asks_without_javascript(page) -> None:
    page.locator("form.line-row:not(.add-line)").first.get_by_role("button", name="Remove line").click()
    page.get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Line restored.")).to_be_visible()
    assert descriptions(page)[0] == LONG_DESCRIPTION

    page.get_by_role("link", name="Delete draft…").click()
    expect(page.get_by_role("heading", name="Delete this draft?")).to_be_visible()
    # (axe cannot run in a page without JavaScript: the page test checks this page with it.)
    page.get_by_role("link", name="Cancel").click()
    expect(page.get_by_role("heading", name="Draft invoice")).to_be_visible()
    page.get_by_role("link", name="Delete draft…").click()
    page.get_by_role("button", name="Delete draft").click()
    expect(page.get_by_text("Draft deleted.")).to_be_visible()


def german_draft(page, accounts, draft: int | None = None) -> None:
    """Log in, choose German numbers and dates, and open the draft (if one is given)."""
    logged_in(page, accounts)
    page.goto("/settings/personal")
    page.get_by_label("Numbers and dates").select_option("de_DE")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Your settings are saved.")).to_be_visible()
    if draft:
        page.goto(f"/invoices/{draft}")


def comma_quantity_billed(page) -> None:
    """7,5 on the first line at 100 $ an hour bills 750,00 $ (not 75 or 7500), and stays as typed."""
    expect(page.get_by_test_id("line-amount").first).to_have_text("750,00\xa0$")
    expect(page.get_by_test_id("total")).to_have_text("950,00\xa0$")
    expect(page.locator('form.line-row:not(.add-line) input[name="quantity"]').first).to_have_value("7,5")


def test_a_long_description_is_readable_in_full_and_a_german_locale_types_a_decimal_comma_and_reads_amounts_its_way(
        page, accounts, drafts):
    """One log-in for both (the description's second paragraph changes no amount)."""
    german_draft(page, accounts)
    for _ in each_width(page, drafts):
        long_description_readable(page)
        quantity = page.locator('form.line-row:not(.add-line) input[name="quantity"]').first
        quantity.fill("7,5")
        quantity.press("Tab")
        settled(page)
        comma_quantity_billed(page)
        page.reload()
        comma_quantity_billed(page)


def test_without_javascript_a_german_comma_saves_the_line_delete_asks_on_a_page_and_undo_works(
        chromium, live_server, accounts, drafts):
    """The German decimal comma as above with JavaScript off, on a phone: the line's Save button posts the form,
    and the page that comes back reads the comma as the decimal separator (7,5 h, not 75). Then, in the same
    session, removing a line and Undo, and deleting each draft after asking on a page, at each width."""
    page = browser_page(chromium, javascript=False, viewport={"width": 390, "height": 844})
    german_draft(page, accounts, drafts[0])
    row = page.locator("form.line-row:not(.add-line)").first
    row.locator('input[name="quantity"]').fill("7,5")
    row.get_by_role("button", name="Save", exact=True).click()
    comma_quantity_billed(page)
    for _ in each_width(page, drafts):
        delete_asks_without_javascript(page)
