"""Issue 13's last points, in Chromium: the wizard at 390 px with members narrowed to the chosen client's
(Clockify's private projects say who), every step's targets measured (44 px for its main action, 24 x 24
for the rest, WCAG 2.5.5/2.5.8), each value with its label and no second scrollbar; voiding asks first with
and without JavaScript, by keyboard; the time-zone list offers canonical zones only, and a locale writes
dates and amounts its way; a customer's page chooses and changes the linked Clockify client (and the wizard
starts from it); sending a line that bills nothing asks first without JavaScript; the first-steps checklist
disappears once done."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from sandbox import MAIN_KEY, shapes
from sandbox.data import DEMO_USER_ID, MARIA_ID, NORTHWIND_ID
from tests.browser import (assert_accessible, assert_targets, browser_page, logged_in, screenshot, settled,
                           sideways_scroll)
from tests.test_browser_import import PROJECT, choose_line_options, entry_boxes

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def nested_scrollers(page, scope: str) -> list[str]:
    """Elements inside `scope` that scroll sideways themselves (a second scrollbar hiding columns)."""
    return page.evaluate("""scope => [...document.querySelectorAll(scope + ' *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))""", scope)


def values_without_labels(page, scope: str) -> list[str]:
    """On a phone, the table cells inside `scope` that show a value without its label shown beside it (a
    visible <label>, or the data-label a stacked row prints before it); cells of controls alone (a checkbox,
    the line's buttons) name themselves."""
    return page.evaluate("""scope => [...document.querySelectorAll(scope + ' td, ' + scope + ' [role=cell]')].filter(cell => {
        const rest = cell.cloneNode(true);
        rest.querySelectorAll('a, button, input[type=checkbox], .visually-hidden').forEach(e => e.remove());
        if (!cell.getBoundingClientRect().width || !rest.textContent.trim() && !rest.querySelector('input, textarea, select')) return false;
        const label = cell.querySelector('label');
        if (label && label.getBoundingClientRect().width > 1) return false;
        return !(cell.dataset.label && getComputedStyle(cell, '::before').content.includes(cell.dataset.label));
    }).map(cell => cell.textContent.trim().replace(/\\s+/g, ' ').slice(0, 40))""", scope)


@pytest.fixture
def ada(app, accounts, clockify):
    """Ada, connected to the sandbox, with Northwind: a draft with a line at a rate of 0, two sent invoices."""
    accounts.register(name="Ada Lovelace")
    response = accounts.client.post("/settings/integrations/clockify/new", data={
        "name": "Clockify", "description": "", "region": "global", "subdomain": "", "api_key": MAIN_KEY})
    assert response.status_code == 303, "the connection was not saved"
    customer = accounts.customer("Northwind", "USD")
    draft = accounts.invoice(customer)
    accounts.line(draft, description="Courtesy call", quantity="1", rate="0")
    sent = []
    for _ in range(2):
        invoice = accounts.invoice(customer)
        accounts.line(invoice, description="Design work", quantity="2", rate="50")
        assert accounts.client.post(f"/invoices/{invoice}/send").status_code == 303
        sent.append(invoice)
    return SimpleNamespace(customer=customer, draft=draft, sent=sent)


@pytest.fixture
def private_northwind(monkeypatch):
    """Northwind's projects private in the sandbox (for this test only), as Clockify sends a private project
    (`public: false`, its members listed): Website redesign's members, Alex Morgan and Maria Garcia, on each."""
    project = shapes.project

    def private(ws, p):
        shape = project(ws, p)
        if p.client_id == NORTHWIND_ID:
            shape["public"] = False
            shape["memberships"] = shape["memberships"] or [{"userId": member, "hourlyRate": None, "costRate": None, "targetId": p.id,
                                     "membershipType": "PROJECT", "membershipStatus": "ACTIVE"}
                                    for member in (DEMO_USER_ID, MARIA_ID)]
        return shape

    monkeypatch.setattr(shapes, "project", private)


def test_on_a_phone_the_wizard_narrows_members_and_has_big_enough_targets_and_by_keyboard_void_asks_first(
        page, accounts, ada, private_northwind):
    """One log-in on a phone for both walks (the import leaves the first steps and the sent invoices as they were)."""
    page.set_viewport_size(PHONE)
    logged_in(page, accounts)
    the_wizard_narrows_members_to_the_clients_and_every_step_has_big_enough_targets(page, ada)
    page.goto("/")
    by_keyboard_void_asks_first_the_zones_are_canonical_and_the_checklist_goes(page, ada)


def the_wizard_narrows_members_to_the_clients_and_every_step_has_big_enough_targets(page, ada) -> None:
    page.goto(f"/invoices/{ada.draft}")
    assert_targets(page, "the draft", "button.primary")
    page.get_by_role("link", name="Import from Clockify").click()
    wizard = page.locator("section#import-wizard")
    expect(page.locator(":focus")).to_have_text("Workspace")
    settled(page)
    assert_targets(page, "the workspace step", "#import-wizard button.primary", "#import-wizard")
    wizard.get_by_label("Workspace").select_option(label="Acme Studio")
    wizard.get_by_role("button", name="Load clients, projects and members").click()
    expect(page.locator(":focus")).to_have_text("Filters")
    settled(page)

    members = page.get_by_role("group", name=re.compile(r"^Team members"))
    narrowed = members.get_by_text("The members of this client's projects")
    everyone = members.get_by_role("checkbox").count()
    assert everyone > 10, "before a client is chosen, every member of the workspace is listed"
    expect(narrowed).to_have_count(0)
    assert_targets(page, "the filters step", "#import-wizard button.primary", "#import-wizard")
    page.get_by_label("Client", exact=True).select_option(label="Northwind")
    expect(narrowed).to_be_visible()
    settled(page)
    expect(members.get_by_role("checkbox")).to_have_count(2)
    expect(members.get_by_role("checkbox").first).to_have_accessible_name(re.compile("^Alex Morgan"))
    expect(members.get_by_role("checkbox").last).to_have_accessible_name(re.compile("^Maria Garcia"))
    # Another client's projects are public: everyone again, without the hint.
    page.get_by_label("Client", exact=True).select_option(label="Globex")
    expect(narrowed).to_have_count(0)
    settled(page)
    expect(members.get_by_role("checkbox")).to_have_count(everyone)
    page.get_by_label("Client", exact=True).select_option(label="Northwind")
    expect(members.get_by_role("checkbox")).to_have_count(2)
    settled(page)
    members.get_by_label(re.compile("Maria Garcia")).check()
    page.get_by_role("group", name=re.compile(r"^Projects")).get_by_label(PROJECT).check()
    page.get_by_label(re.compile(r"^Dates")).select_option(label="Custom range")
    page.get_by_label(re.compile(r"^From\b")).fill("2025-10-01")
    page.get_by_label(re.compile(r"^To\b")).fill("2025-10-31")
    assert_targets(page, "the filters step with a client", "#import-wizard button.primary", "#import-wizard")
    screenshot(page, "ui-finish-filters-narrowed-390px")

    wizard.get_by_role("button", name="Preview entries").click()
    expect(wizard.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    settled(page)
    boxes = entry_boxes(page)
    assert boxes.count() >= 1
    assert all("Maria Garcia" in label for label in
               boxes.evaluate_all("boxes => boxes.map(box => box.getAttribute('aria-label'))"))
    assert not nested_scrollers(page, "#import-wizard"), "the entries hide behind a second scrollbar"
    assert not values_without_labels(page, "#import-wizard")
    assert sideways_scroll(page) <= 0
    assert_targets(page, "the entries step", "#import-wizard button.primary", "#import-wizard")

    choose_line_options(page)
    page.get_by_role("button", name="Show the lines").click()
    expect(page.locator("#import-plan h3")).to_be_focused()
    settled(page)
    assert not nested_scrollers(page, "#import-wizard"), "the lines hide behind a second scrollbar"
    assert not values_without_labels(page, "#import-wizard")
    assert_targets(page, "the lines step", "#import-wizard button.primary", "#import-wizard")
    screenshot(page, "ui-finish-lines-390px")

    page.get_by_role("button", name="Add to invoice").click()
    expect(wizard.get_by_role("status").filter(has_text="Imported")).to_be_visible()
    settled(page)
    assert_targets(page, "the done step", "#import-wizard [data-wizard-close]", "#import-wizard")
    assert_accessible(page, "the done step at 390 px")
    assert not values_without_labels(page, "#lines"), "the invoice's lines show values without their labels"
    screenshot(page, "ui-finish-done-390px")


def focused_text(page) -> str:
    return page.evaluate("""() => { const e = document.activeElement;
        return (e.getAttribute('aria-label') || e.textContent || e.value || '').trim().replace(/\\s+/g, ' '); }""")


def tab_to(page, name: str, limit: int = 80) -> None:
    """Press Tab until `name` has focus, as a keyboard user reaches a control (fails if it never does)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if focused_text(page) == name:
            return
    raise AssertionError(f"{name!r} is not reachable with Tab")


def status(page) -> str:
    return page.get_by_test_id("status").inner_text().strip().lower()


def by_keyboard_void_asks_first_the_zones_are_canonical_and_the_checklist_goes(page, ada) -> None:
    # First steps: all done but the business profile's address; filling it in makes the list go.
    checklist = page.locator("section.checklist")
    expect(checklist.get_by_role("link")).to_have_text(["Fill in your business profile"])
    checklist.get_by_role("link").click()
    page.get_by_label("Address").fill("12 St James's Square\nLondon")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Business profile saved.")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_role("heading", name="First steps")).to_have_count(0)

    # The time-zone list: the tz database's own zones, none of its aliases or oddities; and a locale.
    page.goto("/settings/personal")
    zones = page.get_by_label("Time zone").locator("option").evaluate_all("options => options.map(o => o.value)")
    assert {"UTC", "Europe/Kyiv", "America/New_York", "Australia/Sydney"} <= set(zones)
    odd = {"Factory", "localtime", "posixrules", "US/Eastern", "Etc/GMT+5", "Europe/Kiev", "GMT", "Zulu"} & set(zones)
    assert not odd, f"the list offers {odd}"
    assert zones == sorted(zones) and len(zones) == len(set(zones))
    page.get_by_label("Time zone").focus()
    page.keyboard.type("Europe/Kyiv")  # a closed list picks the option typed, as a keyboard user chooses
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Kyiv")
    page.get_by_label("Numbers and dates").select_option("de_DE")
    tab_to(page, "Save")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Your settings are saved.")).to_be_visible()
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Kyiv")

    # Voiding asks first, on a page of its own; Cancel leaves the invoice sent; confirming voids it ...
    invoice = f"/invoices/{ada.sent[0]}"
    page.goto(invoice)
    assert status(page) == "sent"
    # ... in the locale chosen: German dates and amounts.
    expect(page.locator("p.meta")).to_contain_text(re.compile(r"issued \d\d\.\d\d\.\d{4} · due \d\d\.\d\d\.\d{4}"))
    expect(page.get_by_test_id("total")).to_have_text("100,00\xa0$")
    tab_to(page, "Void invoice…")
    page.keyboard.press("Enter")
    question = page.get_by_role("heading", level=1, name="Void Invoice INV-0001?")
    expect(question).to_be_visible()
    assert_targets(page, "the void confirmation", "button.primary")
    assert_accessible(page, "the void confirmation at 390 px")
    assert sideways_scroll(page) <= 0
    screenshot(page, "ui-finish-void-confirm-390px")
    tab_to(page, "Cancel")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name=re.compile("^Invoice INV-0001"))).to_be_visible()
    assert status(page) == "sent"
    tab_to(page, "Void invoice…")
    page.keyboard.press("Enter")
    expect(question).to_be_visible()
    tab_to(page, "Void invoice")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Invoice INV-0001 is void.")).to_be_visible()
    assert status(page) == "void"
    expect(page.get_by_role("link", name="Void invoice…")).to_have_count(0)


def test_without_javascript_void_and_sending_ask_first_and_a_customer_page_links_and_changes_its_clockify_client(
        chromium, live_server, accounts, ada, private_northwind):
    page = browser_page(chromium, javascript=False, viewport={"width": 1280, "height": 900})
    logged_in(page, accounts)
    invoice = f"/invoices/{ada.sent[1]}"
    page.goto(invoice)
    page.get_by_role("link", name="Void invoice…").click()
    question = page.get_by_role("heading", level=1, name="Void Invoice INV-0002?")
    expect(question).to_be_visible()
    expect(page.get_by_text("The invoice stays in the list, marked void")).to_be_visible()
    page.get_by_role("link", name="Cancel").click()
    assert status(page) == "sent"
    page.get_by_role("link", name="Void invoice…").click()
    page.get_by_role("button", name="Void invoice").click()
    expect(page.get_by_text("Invoice INV-0002 is void.")).to_be_visible()
    assert status(page) == "void"
    # Void already: the page that asks says so, with no button to press.
    page.goto(f"{invoice}/void")
    expect(page.get_by_role("alert")).to_contain_text("Only a sent invoice can be voided: this one is void.")
    expect(page.get_by_role("button", name="Void invoice")).to_have_count(0)

    # The customer list links to the customer's page: their invoices, what they owe, and the Clockify
    # client, chosen from the connection's clients.
    page.goto("/customers/")
    page.get_by_role("link", name="Northwind", exact=True).click()
    customer_page = page.url
    expect(page.get_by_test_id("balance")).to_contain_text("$100.00")  # INV-0001 (INV-0002 is void)
    numbers = page.get_by_role("region", name="Invoices").get_by_role("link")
    expect(numbers).to_have_count(3)
    assert sorted(numbers.all_inner_texts()) == ["Draft", "INV-0001", "INV-0002"]
    linked = page.get_by_test_id("linked-client")
    expect(linked).to_have_text("Not linked to a Clockify client.")
    page.get_by_role("link", name="Choose the Clockify client").click()
    choice = page.get_by_role("combobox", name="Clockify client")

    def save_link(label, shown, said=None):
        """Saves the Clockify client `label`; the page says `said` (when given) and the link reads `shown`."""
        choice.select_option(label=label)
        page.get_by_role("button", name="Save the link").click()
        if said:
            expect(page.get_by_text(said)).to_be_visible()
        expect(linked).to_have_text(shown)
    expect(choice).to_have_value("")
    assert "Northwind · Acme Studio" in choice.locator("option").all_inner_texts()
    assert_targets(page, "choosing the Clockify client", "button.primary")
    save_link("Northwind · Acme Studio", "Linked to Northwind · Acme Studio.",
              said="Northwind is linked to the Clockify client Northwind · Acme Studio.")

    # The wizard starts from the linked client, its members narrowed to those of the client's projects.
    page.goto(f"/invoices/{ada.draft}")
    page.get_by_role("link", name="Import from Clockify").click()
    page.get_by_label("Workspace").select_option(label="Acme Studio")
    page.get_by_role("button", name="Load clients, projects and members").click()
    expect(page.get_by_label("Client", exact=True).locator("option:checked")).to_have_text("Northwind")
    expect(page.get_by_text("Linked to Northwind.")).to_be_visible()
    members = page.get_by_role("group", name=re.compile(r"^Team members"))
    expect(members.get_by_text("The members of this client's projects")).to_be_visible()
    expect(members.get_by_role("checkbox")).to_have_count(2)

    # Changed on the customer's page: the form opens on the linked client, and Cancel changes nothing.
    page.goto(customer_page)
    page.get_by_role("link", name="Change the Clockify client").click()
    expect(choice.locator("option:checked")).to_have_text("Northwind · Acme Studio")
    page.get_by_role("link", name="Cancel").click()
    expect(linked).to_have_text("Linked to Northwind · Acme Studio.")
    page.get_by_role("link", name="Change the Clockify client").click()
    save_link("Globex · Acme Studio", "Linked to Globex · Acme Studio.")
    page.get_by_role("link", name="Change the Clockify client").click()
    save_link("No client (not linked)", "Not linked to a Clockify client.",
              said="Northwind is no longer linked to a Clockify client.")

    # Sending a line that bills nothing asks first on a page, naming the line; back leaves it a draft.
    page.goto(f"/invoices/{ada.draft}")
    page.get_by_role("button", name="Mark as sent").click()
    expect(page.get_by_role("heading", level=1, name="Send this invoice as it is?")).to_be_visible()
    expect(page.get_by_test_id("unpriced-line")).to_have_text(["Line 1: “Courtesy call”, 1 h at $0.00"])
    page.get_by_role("link", name="Back to the draft").click()
    assert status(page) == "draft"
    page.get_by_role("button", name="Mark as sent").click()
    page.get_by_role("button", name="Send anyway").click()
    expect(page.get_by_role("heading", level=1, name=re.compile("^Invoice INV-0003"))).to_be_visible()
