"""In Chromium, the whole journey of a new user (issue 5), against the Clockify sandbox: register, fill
the business profile, Integrations > Clockify > Connect with the key, see it masked, add a customer, open
a draft, Import from Clockify (workspace, client, project) in place (htmx swaps, the page never reloads),
untick two entries (Select none / all, untick again), one line per project and rate, add them, edit a
line's description and rate, add two lines by hand, change one's quantity and move it (the page never
reloads), mark the invoice sent, download its PDF, disconnect Clockify. (The import without JavaScript,
page by page, is tests/test_browser_import.py.) With HOURBILL_TEST_SCREENSHOTS=1, a screenshot per step, at
desktop width and at 390 px, lands in tests/artifacts/journey/ (git-ignored)."""
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from playwright.sync_api import expect

from sandbox import DEMO_USER_EMAIL, MAIN_KEY
from tests.browser import screenshot_and_phone, settled
from tests.fixtures import money
from tests.test_browser_connections import disconnect, no_key_in_html, open_integrations
from tests.test_browser_import import (add_to_invoice, assert_pdf, choose_filters, entry_boxes, preview_and_untick_two,
                                       show_the_lines, small_clockify)  # noqa: F401  (fixture)
from tests.test_browser_invoicing import add_customer, add_line, register

pytestmark = pytest.mark.browser

LINE_ROWS = "form.line-row:not(.add-line)"


def shot(page, name: str) -> None:
    screenshot_and_phone(page, f"journey/{name}")


def expect_totals(page, subtotal: Decimal) -> Decimal:
    """The subtotal, its 10 % tax (the profile's) and the total on the page; gives the total."""
    tax = (subtotal / 10).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    expect(page.get_by_test_id("subtotal")).to_have_text(f"${subtotal:,.2f}")
    expect(page.get_by_test_id("tax")).to_have_text(f"${tax:,.2f}")
    expect(page.get_by_test_id("total")).to_have_text(f"${subtotal + tax:,.2f}")
    return subtotal + tax


def test_a_new_user_from_register_to_a_sent_invoice_and_back_to_not_connected(page, small_clockify):
    # 1. Register: the app lands on the business profile.
    register(page)
    expect(page.get_by_role("heading", name="Business profile")).to_be_visible()
    shot(page, "01-register")

    # 2. The business profile. (Connecting, below, gives the account Clockify's time zone, Australia/Sydney.)
    page.get_by_label("Business name").fill("Lovelace Analytics")
    page.get_by_label("Billing email").fill("billing@lovelace.example")
    page.get_by_label("Address").fill("12 St James's Square\nLondon")
    page.get_by_label("Tax id (VAT, EIN, ABN…)").fill("GB123456789")
    page.get_by_label("Default hourly rate").fill("90")
    page.get_by_label("Default tax rate (%)").fill("10")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Business profile saved.")).to_be_visible()
    expect(page.get_by_label("Business name")).to_have_value("Lovelace Analytics")
    shot(page, "02-business-profile")

    # 3. Settings > Integrations > Clockify: not connected yet; Connect; paste the key; Verify & Save.
    card = open_integrations(page)
    shot(page, "03-integrations-not-connected")
    card.get_by_role("link", name="Connect", exact=True).click()
    expect(page.get_by_role("heading", name="Connect Clockify")).to_be_visible()
    page.get_by_label("API key").fill(MAIN_KEY)
    shot(page, "04-connect-key-pasted")
    page.get_by_role("button", name="Verify & Save").click()
    page.wait_for_url("**/settings/integrations")
    expect(page.get_by_role("status")).to_contain_text(f"Connected to Clockify as Alex Morgan ({DEMO_USER_EMAIL}).")
    connection = card.get_by_role("listitem")
    expect(connection).to_have_count(1)
    expect(connection.get_by_text("Connected", exact=True)).to_be_visible()
    expect(connection.get_by_test_id("masked-key")).to_have_text(f"••••{MAIN_KEY[-4:]}")
    no_key_in_html(page, MAIN_KEY)
    shot(page, "05-connected-key-masked")

    # 4. A customer, then a draft invoice for it.
    add_customer(page, "Northwind", "USD")
    shot(page, "06-customer-added")
    page.get_by_role("link", name="Invoices").click()
    page.get_by_role("link", name="New invoice").click()
    page.get_by_label("Customer").select_option(label="Northwind (USD)")
    page.get_by_role("button", name="Create draft").click()
    page.get_by_text("Draft invoice for Northwind created").wait_for()
    expect(page.get_by_role("heading", name="Draft invoice")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("$0.00")
    invoice_url = page.url
    shot(page, "07-draft-invoice")

    # 5. Import from Clockify: the workspace, then the client and a project (October 2025). The wizard swaps
    # in place: a marker on window survives only if the page is never reloaded.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="Import from Clockify").click()
    wizard = page.locator("section#import-wizard")
    expect(wizard.get_by_role("heading", name="Import from Clockify")).to_be_visible()
    settled(page)
    assert page.url == invoice_url
    wizard.get_by_label("Workspace").select_option(label="Acme Studio")
    shot(page, "08-import-workspace")
    wizard.get_by_role("button", name="Load clients, projects and members").click()
    expect(wizard.get_by_text("Acme Studio · Clockify · clients, projects and members as of")).to_be_visible()
    settled(page)
    choose_filters(page)
    # Choosing the client narrowed the projects to Northwind's.
    projects = page.get_by_role("group", name=re.compile(r"^Projects")).get_by_role("listitem")
    expect(projects.filter(has_not_text="· Northwind")).to_have_count(0)
    shot(page, "09-import-client-and-project")

    # 6. Review the entries and untick two: the count and the amount follow. Select none / all, then untick
    # the same two again.
    total, ticked, _ = preview_and_untick_two(page)
    # In the zone the profile took from Clockify on connecting (the import test's Ada chose UTC after it).
    expect(wizard.get_by_text("2025-10-01 to 2025-10-31 (Australia/Sydney) · billable only")).to_be_visible()
    boxes, count = entry_boxes(page), page.locator("[data-selected-count]")
    page.get_by_role("button", name="Select none").click()
    expect(count).to_have_text("0")
    page.get_by_role("button", name="Select all").click()
    expect(count).to_have_text(str(total))
    boxes.nth(0).uncheck()
    boxes.nth(2).uncheck()
    expect(count).to_have_text(str(ticked))
    shot(page, "10-import-review-two-unticked")

    # 7. One line per project (and rate), rounded up to 15 minutes; Show the lines (nothing saved yet); confirm.
    line_count, planned, plan_total = show_the_lines(page, ticked)
    expect(page.get_by_text("Nothing is saved until you choose \"Add to invoice\".")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text("$0.00")
    shot(page, "11-import-lines-planned")
    hours = add_to_invoice(page, ticked, line_count, planned, plan_total)

    # 8. The lines are on the invoice, their hours the import's, on the same page (never reloaded).
    quantities = page.locator(f'{LINE_ROWS} input[name="quantity"]')
    assert sum(Decimal(quantities.nth(i).input_value()) for i in range(line_count)) == hours
    expect(page.get_by_test_id("total")).not_to_have_text("$0.00")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.url == invoice_url
    shot(page, "12-lines-on-the-invoice")

    # 9. Change the first line's description and rate: its amount and the totals follow.
    row = page.locator(LINE_ROWS).first
    quantity = Decimal(row.locator('input[name="quantity"]').input_value())
    old_amount = money(row.get_by_test_id("line-amount").inner_text())
    old_subtotal = money(page.get_by_test_id("subtotal").inner_text())
    description = row.locator('textarea[name="description"]')
    description.fill("Website redesign: homepage and navigation")
    description.press("Tab")
    expect(row.locator('textarea[name="description"]')).to_have_value("Website redesign: homepage and navigation")
    settled(page)
    rate = row.locator('input[name="rate"]')
    rate.fill("125")
    rate.press("Tab")
    new_amount = (quantity * 125).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    expect(row.get_by_test_id("line-amount")).to_have_text(f"${new_amount:,.2f}")
    subtotal = old_subtotal - old_amount + new_amount
    total = expect_totals(page, subtotal)
    settled(page)
    expect(row.locator('input[name="rate"]')).to_have_value("125")  # as typed: an autosave never rewrites a field
    shot(page, "13-line-edited")

    # 9b. Build on in place: two lines typed in, the first one's quantity changed, then moved down; the totals
    # follow, and the page is never reloaded.
    for description, quantity, rate in (("Discovery workshop", "3", "120"), ("Report", "1.5", "80")):
        add_line(page, description, quantity, rate)
        settled(page)
    subtotal += Decimal("480.00")  # 3 x 120 + 1.5 x 80
    expect_totals(page, subtotal)
    workshop = page.locator(LINE_ROWS).nth(line_count)
    expect(workshop.locator('textarea[name="description"]')).to_have_value("Discovery workshop")
    workshop.locator('input[name="quantity"]').fill("4")
    workshop.locator('input[name="quantity"]').press("Tab")
    expect(workshop.get_by_test_id("line-amount")).to_have_text("$480.00")
    subtotal += Decimal("120.00")
    total = expect_totals(page, subtotal)
    settled(page)
    workshop.get_by_role("button", name="Move line down").click()
    descriptions = page.locator(f'{LINE_ROWS} textarea[name="description"]')
    expect(descriptions.nth(line_count)).to_have_value("Report")
    expect(descriptions.nth(line_count + 1)).to_have_value("Discovery workshop")
    assert page.evaluate("window.stillTheSamePage") is True
    shot(page, "13b-lines-added-by-hand")

    # 10. Mark the invoice sent: it gets its number and its lines are locked.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_role("heading", name="Invoice INV-0001").wait_for()
    assert page.get_by_role("button", name="Add line").count() == 0
    expect(page.get_by_text("Website redesign: homepage and navigation")).to_be_visible()
    expect(page.get_by_test_id("total")).to_have_text(f"${total:,.2f}")
    shot(page, "14-invoice-sent")

    # 11. The PDF.
    assert_pdf(page)

    # 12. Disconnect Clockify: the card is back to "Not connected". (Not open_integrations: the default
    # connection name "Clockify" makes its heading check match two headings.)
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Account settings").get_by_role("link", name="Integrations").click()
    page.wait_for_url("**/settings/integrations")
    disconnect(page, card, connection, "Clockify", lambda: shot(page, "15-disconnect-confirm"))
    shot(page, "16-not-connected")
