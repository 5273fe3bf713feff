"""In Chromium, a business of three people (issue 10): the owner connects Clockify shared with the
business and invites a member and a viewer by link; the member joins with a new account and imports
hours into a draft through the owner's connection without ever seeing its key; the viewer opens the
draft and finds nothing to change, and a forced POST is refused with 403."""
import re

import pytest
from playwright.sync_api import expect

from sandbox import MAIN_KEY
from tests.browser import browser_page, settled
from tests.test_browser_connections import no_key_in_html
from tests.test_browser_import import DONE, choose_filters, show_the_lines, small_clockify  # noqa: F401  (fixture)
from tests.test_browser_invoicing import register

pytestmark = pytest.mark.browser


def invite(page, email: str, role: str) -> str:
    page.goto("/settings/integrations")
    page.get_by_role("link", name="Members", exact=True).click()
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Role").select_option(role)
    page.get_by_role("button", name="Create invitation link").click()
    expect(page.get_by_text("No mail server is set up (MAIL_SERVER, README)")).to_be_visible()
    return page.get_by_label("Invitation link").input_value()


def join(person, link: str, name: str):
    """`person` (a page of a browser of their own) joins by the invitation `link`."""
    person.goto(link)
    person.get_by_label("Your name").fill(name)
    person.get_by_label("Password", exact=True).fill("correct horse battery")
    person.get_by_label("Repeat password").fill("correct horse battery")
    person.get_by_role("button", name="Create account and join").click()
    expect(person.get_by_role("status")).to_contain_text("You joined Lovelace Analytics")
    return person


def test_the_owner_shares_a_connection_a_member_imports_and_a_viewer_changes_nothing(page, chromium, live_server,
                                                                                      accounts, small_clockify):
    # The owner: profile, a shared connection, a customer, two invitations.
    register(page)
    page.get_by_label("Business name").fill("Lovelace Analytics")
    page.get_by_label("Default hourly rate").fill("90")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Business profile saved.")).to_be_visible()
    page.goto("/settings/integrations")
    page.locator("section#clockify").get_by_role("link", name="Connect", exact=True).click()
    page.get_by_label("Shared with the business").check()
    page.get_by_label("API key").fill(MAIN_KEY)
    page.get_by_role("button", name="Verify & Save").click()
    page.wait_for_url("**/settings/integrations")
    expect(page.get_by_test_id("sharing")).to_have_text("Shared with the business: every member")
    assert accounts.login().status_code == 303  # the owner's customer through the test client
    accounts.customer("Northwind", "USD")
    member_link = invite(page, "mia@example.com", "member")
    viewer_link = invite(page, "vic@example.com", "viewer")

    # The member joins, makes a draft and imports through the shared connection.
    mia = join(browser_page(chromium), member_link, "Mia")
    expect(mia.locator(".current-business")).to_have_text("Lovelace Analytics · member")
    mia.get_by_role("link", name="New invoice").click()
    mia.get_by_label("Customer").select_option(label="Northwind (USD)")
    mia.get_by_role("button", name="Create draft").click()
    mia.get_by_text("Draft invoice for Northwind created").wait_for()
    draft_url = mia.url
    mia.get_by_role("link", name="Import from Clockify").click()
    wizard = mia.locator("section#import-wizard")
    settled(mia)
    wizard.get_by_label("Workspace").select_option(label="Acme Studio")
    wizard.get_by_role("button", name="Load clients, projects and members").click()
    expect(wizard.get_by_text(re.compile("Acme Studio · Clockify · clients, projects and members"))).to_be_visible()
    settled(mia)
    choose_filters(mia)
    wizard.get_by_role("button", name="Preview entries").click()
    expect(wizard.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    settled(mia)
    ticked = mia.locator('input[name="entry"]:checked').count()
    line_count, _, _ = show_the_lines(mia, ticked)
    mia.get_by_role("button", name="Add to invoice").click()
    expect(wizard.get_by_role("status").filter(has_text=DONE)).to_be_visible()
    settled(mia)
    no_key_in_html(mia, MAIN_KEY)
    mia.goto("/settings/integrations")
    expect(mia.get_by_test_id("masked-key")).to_have_text(f"••••{MAIN_KEY[-4:]}")
    expect(mia.get_by_role("link", name="Update key")).to_have_count(0)
    no_key_in_html(mia, MAIN_KEY)

    # The viewer opens the draft: the lines are there, nothing offers a change, a forced POST is 403.
    vic = join(browser_page(chromium), viewer_link, "Vic")
    vic.goto(draft_url)
    expect(vic.locator(".current-business")).to_have_text("Lovelace Analytics · viewer")
    expect(vic.get_by_role("heading", name="Draft invoice")).to_be_visible()
    assert vic.get_by_role("button", name="Add line").count() == 0
    assert vic.get_by_role("link", name="Import from Clockify").count() == 0
    assert vic.get_by_role("button", name="Mark as sent").count() == 0
    assert vic.locator("form.line-row textarea[name='description']").count() == 0
    expect(vic.get_by_text("Website redesign").first).to_be_visible()
    token = vic.locator('meta[name="csrf-token"]').get_attribute("content")
    forced = vic.request.post(draft_url + "/lines", form={"description": "x", "quantity": "1", "rate": "1"},
                              headers={"X-CSRFToken": token})
    assert forced.status == 403 and "needs the member role" in forced.text()
    mia.goto(draft_url)
    expect(mia.locator("form.line-row:not(.add-line)")).to_have_count(line_count)
