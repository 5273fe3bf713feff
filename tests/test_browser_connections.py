"""In Chromium, as a person: Account Settings > Integrations > Clockify against the Clockify sandbox.
Connect with a bad key and read what to do, connect with the real one and see only its last four
characters and the account it reads as, update a regenerated key, disconnect."""
import pytest
from playwright.sync_api import expect

from sandbox import DEMO_USER_EMAIL, MAIN_KEY, fingerprint
from tests.browser import screenshot, settled
from tests.test_browser_invoicing import register

pytestmark = pytest.mark.browser

BAD_KEY = "not-a-real-key-9999"


def open_integrations(page):
    """Settings > Integrations with nothing connected yet: gives the Clockify card."""
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Account settings").get_by_role("link", name="Integrations").click()
    page.wait_for_url("**/settings/integrations")
    expect(page.get_by_role("heading", name="Clockify")).to_be_visible()
    card = page.locator("section#clockify")
    expect(card.get_by_text("Not connected", exact=True)).to_be_visible()
    return card


def no_key_in_html(page, *keys):
    html = page.content()
    for key in keys:
        assert key not in html, f"the page HTML shows the key {key[:4]}…"


def disconnect(page, card, connection, name: str, on_confirm_page=lambda: None) -> None:
    """Disconnect asks first (the confirm page is checked by `on_confirm_page`), then removes the connection:
    the card is back to "Not connected"."""
    connection.get_by_role("link", name="Disconnect").click()
    expect(page.get_by_role("heading", name=f"Disconnect {name}?")).to_be_visible()
    on_confirm_page()
    page.get_by_role("button", name="Disconnect").click()
    page.wait_for_url("**/settings/integrations")
    expect(page.get_by_role("status")).to_contain_text(f"{name} is disconnected.")
    expect(card.get_by_text("Not connected", exact=True)).to_be_visible()
    expect(card.get_by_role("link", name="Connect", exact=True)).to_be_visible()
    expect(card.get_by_role("listitem")).to_have_count(0)
    settled(page)


def test_connect_with_a_bad_then_a_good_key_update_it_and_disconnect(page, clockify):
    sandbox = clockify.sandbox
    register(page)
    card = open_integrations(page)
    screenshot(page, "connections-not-connected")

    # Connect with a key Clockify refuses: the form explains and keeps everything but the key.
    card.get_by_role("link", name="Connect", exact=True).click()
    expect(page.get_by_role("heading", name="Connect Clockify")).to_be_visible()
    page.get_by_label("Name").fill("Agency work")
    page.get_by_label("Region").select_option(label="EU")
    page.get_by_label("API key").fill(BAD_KEY)
    page.get_by_role("button", name="Verify & Save").click()
    alert = page.get_by_role("alert").filter(has_text="API key is invalid or expired")
    expect(alert).to_be_visible()
    for fix in ("Copy the key again, without spaces before or after it.",
                "In Clockify, open Profile settings > API and generate a key there",
                "Check that your Clockify account is active.",
                "use a key generated inside that subdomain",
                "Nothing was saved."):
        expect(alert).to_contain_text(fix)
    expect(page.get_by_label("Name")).to_have_value("Agency work")
    expect(page.get_by_label("Region")).to_have_value("euc1")
    expect(page.get_by_label("API key")).to_have_value("")
    no_key_in_html(page, BAD_KEY)
    screenshot(page, "connections-bad-key")

    # The demo key, pasted with spaces around it: trimmed, verified, stored; only its last 4 shown.
    sandbox.clear_requests()
    page.get_by_label("API key").fill(f"  {MAIN_KEY}  ")
    page.get_by_role("button", name="Verify & Save").click()
    page.wait_for_url("**/settings/integrations")
    expect(page.get_by_role("status")).to_contain_text(f"Connected to Clockify as Alex Morgan ({DEMO_USER_EMAIL}).")
    connection = card.get_by_role("listitem").filter(has_text="Agency work")
    expect(connection).to_have_count(1)
    expect(connection.get_by_text("Connected", exact=True)).to_be_visible()
    expect(connection).to_contain_text(f"Alex Morgan ({DEMO_USER_EMAIL})")
    expect(connection).to_contain_text("EU")
    expect(connection.get_by_test_id("masked-key")).to_have_text(f"••••{MAIN_KEY[-4:]}")
    expect(card.get_by_text("Not connected")).to_have_count(0)
    assert {call.key_fingerprint for call in sandbox.calls("/api/v1/user")} == {fingerprint(MAIN_KEY)}
    no_key_in_html(page, MAIN_KEY, BAD_KEY)
    screenshot(page, "connections-connected")

    # The key is regenerated in Clockify; Update key with the new one.
    new_key = sandbox.regenerate_key(MAIN_KEY)
    connection.get_by_role("link", name="Update key").click()
    expect(page.get_by_role("heading", name="Update the key for Agency work")).to_be_visible()
    expect(page.get_by_text(f"replaces ••••{MAIN_KEY[-4:]}")).to_be_visible()
    page.get_by_label("API key").fill(new_key)
    page.get_by_role("button", name="Verify & Save").click()
    page.wait_for_url("**/settings/integrations")
    expect(page.get_by_role("status")).to_contain_text("The key for Agency work is updated and verified.")
    expect(connection.get_by_test_id("masked-key")).to_have_text(f"••••{new_key[-4:]}")
    expect(connection.get_by_text("Connected", exact=True)).to_be_visible()
    no_key_in_html(page, new_key, MAIN_KEY)
    screenshot(page, "connections-key-updated")

    def confirm_page():
        expect(page.get_by_text(f"deletes the stored key ••••{new_key[-4:]}")).to_be_visible()
        screenshot(page, "connections-disconnect-confirm")

    disconnect(page, card, connection, "Agency work", confirm_page)
    screenshot(page, "connections-disconnected")
