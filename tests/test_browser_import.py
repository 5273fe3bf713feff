"""In Chromium, as a person: a draft invoice for Northwind, Import from Clockify against the Clockify
sandbox (October 2025, Acme Studio, project Website redesign), untick two entries, one line per project
rounded up to 15 minutes, Show the lines, Add to invoice, and the lines on the invoice and its PDF, without
JavaScript (whole pages, the step indicator going back without losing a choice). With JavaScript (the
wizard swaps in place) the same steps are the new user's journey's (tests/test_browser_journey.py): one
walk, not two. The helpers here serve both, and the wizard's steps by keyboard (test_browser_import_steps.py)."""
import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from sandbox import MAIN_KEY, create_sandbox
from tests.browser import browser_page, logged_in, screenshot, settled

pytestmark = pytest.mark.browser

PROJECT = "Website redesign · Northwind"  # the option's text: project · client
DONE = re.compile(r"Imported (\d+) entries as (\d+) lines?, ([\d.]+) h\.")
LINE_DESCRIPTIONS = 'form.line-row:not(.add-line) textarea[name="description"]'


@pytest.fixture
def small_clockify(app):
    """The app pointed at a sandbox of 10 members: 9 billable October entries on Website redesign, at six
    rates, show what the wizard does as the default sandbox's 219 did, with fewer rows to render and check."""
    with create_sandbox(members=10, entries_per_member=10, rate_limit=None).serve_in_thread() as running:
        app.config.update(HOURBILL_CLOCKIFY_API_URL=running.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=running.reports_url,
                          HOURBILL_CLOCKIFY_TIMEOUT=(2.0, 2.0))
        yield running


def set_up_ada(page, accounts):
    """Ada connected to Clockify, in UTC with a fallback rate of 90, and a draft for Northwind: made through
    the test client (the journey test takes these steps in the browser); her browser logs in on the draft."""
    accounts.register(name="Ada Lovelace")
    client = accounts.client
    connected = client.post("/settings/integrations/clockify/new", data={
        "name": "Clockify", "description": "", "region": "global", "subdomain": "", "api_key": MAIN_KEY})
    assert connected.status_code == 303, "the connection was not saved"
    profile = client.post("/settings/profile", data={"default_currency": "USD", "default_hourly_rate": "90",
                                                     "next_invoice_number": "1", "payment_terms_days": "30"})
    assert profile.status_code == 303, profile.get_data(as_text=True)
    # The first connection took Clockify's zone (Australia/Sydney); choosing UTC after it is kept.
    personal = client.post("/settings/personal", data={"display_name": "Ada Lovelace", "time_zone": "UTC", "locale": ""})
    assert personal.status_code == 303, personal.get_data(as_text=True)
    draft = accounts.invoice(accounts.customer("Northwind", "USD"))
    logged_in(page, accounts)
    page.goto(f"/invoices/{draft}")
    expect(page.get_by_test_id("total")).to_have_text("$0.00")


def show_the_lines(page, ticked: int) -> tuple[int, list[str], str]:
    """Choose the line options, Show the lines, and read the plan: (line count, descriptions, total)."""
    choose_line_options(page)
    page.get_by_role("button", name="Show the lines").click()
    plan_heading = page.locator("#import-plan h3")
    expect(plan_heading).to_have_text(re.compile(rf"^\d+ lines? from {ticked} entries$"))
    settled(page)
    line_count = int(plan_heading.inner_text().split()[0])
    planned = plan_descriptions(page)
    assert len(planned) == line_count >= 1
    return line_count, planned, page.get_by_test_id("plan-total").inner_text()


def preview_and_untick_two(page) -> tuple[int, int, list[int]]:
    """Preview entries, all ticked, then untick the first and the third: the count and the amount follow.
    Gives the entries' number, how many stay ticked and each entry's amount."""
    wizard = page.locator("section#import-wizard")
    wizard.get_by_role("button", name="Preview entries").click()
    expect(wizard.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    settled(page)
    boxes = entry_boxes(page)
    total = boxes.count()
    assert total >= 4, f"the sandbox should have several Website redesign entries in October, got {total}"
    amounts = boxes.evaluate_all("boxes => boxes.map(box => Number(box.dataset.amount))")
    count, amount = page.locator("[data-selected-count]"), page.locator("[data-selected-amount]")
    expect(count).to_have_text(str(total))
    expect(amount).to_have_text(usd(sum(amounts)))
    boxes.nth(0).uncheck()
    boxes.nth(2).uncheck()
    expect(count).to_have_text(str(total - 2))
    expect(amount).to_have_text(usd(sum(amounts) - amounts[0] - amounts[2]))
    return total, total - 2, amounts


def add_to_invoice(page, ticked: int, line_count: int, planned: list[str], plan_total: str) -> Decimal:
    """Add to invoice: the wizard says how many entries became how many lines, each entry rounded up to 15
    minutes, and the planned lines are on the invoice. Gives the hours."""
    page.get_by_role("button", name="Add to invoice").click()
    done = page.locator("section#import-wizard").get_by_role("status").filter(has_text=DONE)
    expect(done).to_be_visible()
    settled(page)
    entries, lines, hours = DONE.search(done.inner_text()).groups()
    assert (int(entries), int(lines)) == (ticked, line_count)
    assert Decimal(hours) % Decimal("0.25") == 0
    descriptions = page.locator(LINE_DESCRIPTIONS)
    expect(descriptions).to_have_count(line_count)
    assert [descriptions.nth(i).input_value() for i in range(line_count)] == planned
    expect(page.get_by_test_id("subtotal")).to_have_text(plan_total)
    return Decimal(hours)


def choose_filters(page, javascript=True):
    """Client Northwind, project Website redesign, October 2025 (the sandbox's seeded month)."""
    page.get_by_label("Client", exact=True).select_option(label="Northwind")
    if javascript:  # the wizard comes back with the client's projects only
        expect(page.get_by_text("Projects of this client")).to_be_visible()
        settled(page)
    page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT).check()
    page.get_by_label(re.compile(r"^Dates")).select_option(label="Custom range")
    page.get_by_label(re.compile(r"^From\b")).fill("2025-10-01")
    page.get_by_label(re.compile(r"^To\b")).fill("2025-10-31")
    expect(page.get_by_label("Billable entries only")).to_be_checked()


def entry_boxes(page):
    return page.get_by_role("checkbox", name=re.compile(r"^Bill "))


def choose_line_options(page):
    page.get_by_label("Lines", exact=True).select_option(label="One line per project")
    page.get_by_label("Round each entry").select_option(label="to 15 minutes")
    page.get_by_label("Rounding direction").select_option(label="up")


def plan_descriptions(page) -> list[str]:
    return [text.strip() for text in page.locator("#import-plan tbody tr td:first-child").all_inner_texts()]


def usd(minor: int) -> str:
    return f"${Decimal(minor) / 100:,.2f}"


def assert_pdf(page):
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download PDF").click()
    with open(download_info.value.path(), "rb") as pdf:
        assert pdf.read(4) == b"%PDF"


@pytest.fixture
def page_without_js(chromium, live_server):
    """A page with JavaScript off: every step is a whole page (links, GET and POST forms, redirects)."""
    return browser_page(chromium, javascript=False)


def steps(page):
    return page.get_by_role("navigation", name="Import steps")


def current_step(page) -> str:
    return steps(page).locator('[aria-current="step"]').inner_text()


def the_steps_are_pages_with_an_h1_labelled_dates_and_plain_checkboxes(page) -> None:
    """From the draft, without JavaScript, to the entries and back through the step indicator, page by page:
    the choices come along. Ends on the filters page, October's Website redesign chosen."""
    page.get_by_role("link", name="Import from Clockify").click()
    page.wait_for_url("**/import")
    expect(page.get_by_role("heading", level=1, name="Import from Clockify")).to_be_visible()
    assert current_step(page) == "Workspace"
    page.get_by_label("Workspace").select_option(label="Acme Studio")
    page.get_by_role("button", name="Load clients, projects and members").click()
    page.wait_for_url(re.compile(r"/import/filters\?"))
    expect(page.get_by_role("heading", level=1, name="Import from Clockify")).to_be_visible()
    # From and To are there, saying when they count; no filter box without JavaScript.
    expect(page.get_by_label("From (only for Custom range)")).to_be_visible()
    expect(page.get_by_label("To (only for Custom range)")).to_be_visible()
    expect(page.get_by_label("Filter projects")).to_be_hidden()
    page.get_by_label("Client", exact=True).select_option(label="Northwind")
    page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT).check()
    page.get_by_label(re.compile(r"^Dates")).select_option(label="Custom range")
    page.get_by_label(re.compile(r"^From")).fill("2025-10-01")
    page.get_by_label(re.compile(r"^To")).fill("2025-10-31")
    page.get_by_role("button", name="Preview entries").click()
    expect(page.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    assert current_step(page) == "Entries"
    assert entry_boxes(page).count() >= 4

    # Back through the indicator, page by page: the choices come along.
    steps(page).get_by_role("link", name="Filters").click()
    expect(page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT)).to_be_checked()
    expect(page.get_by_label(re.compile(r"^From"))).to_have_value("2025-10-01")
    steps(page).get_by_role("link", name="Workspace").click()
    page.get_by_role("button", name="Load clients, projects and members").click()
    expect(page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT)).to_be_checked()
    expect(page.get_by_label(re.compile(r"^To"))).to_have_value("2025-10-31")
    expect(page.get_by_label("Client", exact=True)).not_to_have_value("")


def preview_without_js(page):
    """From the filters page to the preview of October's entries; returns the entry boxes."""
    choose_filters(page, javascript=False)
    screenshot(page, "import-nojs-filters")
    page.get_by_role("button", name="Preview entries").click()
    page.wait_for_url("**/import/preview")
    expect(page.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    expect(page.get_by_text("2025-10-01 to 2025-10-31 (UTC) · billable only")).to_be_visible()
    boxes = entry_boxes(page)
    assert boxes.count() >= 4, "the sandbox should have several Website redesign entries in October"
    return boxes


def test_import_without_javascript_through_whole_pages_that_keep_the_choices_going_back(page_without_js, accounts,
                                                                                       small_clockify):
    page = page_without_js
    set_up_ada(page, accounts)
    invoice_url = page.url
    the_steps_are_pages_with_an_h1_labelled_dates_and_plain_checkboxes(page)
    boxes = preview_without_js(page)
    total = boxes.count()
    dropped = [boxes.nth(0).get_attribute("value"), boxes.nth(2).get_attribute("value")]
    boxes.nth(0).uncheck()
    boxes.nth(2).uncheck()
    ticked = total - 2
    choose_line_options(page)
    screenshot(page, "import-nojs-preview")

    page.get_by_role("button", name="Show the lines").click()
    page.wait_for_url(re.compile(r"/import/[\w-]+/lines$"))
    plan_heading = page.locator("#import-plan h3")
    expect(plan_heading).to_have_text(re.compile(rf"^\d+ lines? from {ticked} entries$"))
    line_count = int(plan_heading.inner_text().split()[0])
    planned = plan_descriptions(page)
    plan_total = page.get_by_test_id("plan-total").inner_text()
    expect(page.get_by_label("Lines", exact=True)).to_have_value("project")
    expect(page.get_by_label("Round each entry")).to_have_value("15")
    expect(page.get_by_label("Rounding direction")).to_have_value("up")
    screenshot(page, "import-nojs-lines")
    for value in dropped:  # the page that shows the lines keeps them unticked, and counts the rest
        expect(page.locator(f'input[name="entry"][value="{value}"]')).not_to_be_checked()
    expect(page.locator("[data-selected-count]")).to_have_text(str(ticked), timeout=1_000)

    page.get_by_role("button", name="Add to invoice").click()
    page.wait_for_url(invoice_url + "#lines")
    flash = page.get_by_text(DONE)
    expect(flash).to_be_visible()
    entries, lines, hours = DONE.search(flash.inner_text()).groups()
    assert int(entries) == ticked and int(lines) == line_count
    assert Decimal(hours) % Decimal("0.25") == 0
    descriptions = page.locator(LINE_DESCRIPTIONS)
    expect(descriptions).to_have_count(line_count)
    assert [descriptions.nth(i).input_value() for i in range(line_count)] == planned
    expect(page.get_by_test_id("total")).not_to_have_text("$0.00")
    expect(page.get_by_test_id("subtotal")).to_have_text(plan_total)
    screenshot(page, "import-nojs-done")

    assert_pdf(page)
