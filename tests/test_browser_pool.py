"""The worker's browser pages are lent to each test and reset after it (tests/browser.py): nothing one test
leaves in the browser reaches the next one's page: cookies (a session), the origin's storage, history,
listeners, routes, extra headers, permissions, being offline, another page, the viewport, JavaScript off."""
import pytest

from tests.browser import _POOL, DEFAULT_VIEWPORT, browser_page

pytestmark = pytest.mark.browser


def test_a_page_lent_again_keeps_nothing_of_the_test_before(chromium, live_server):
    page = browser_page(chromium)
    context = page.context
    page.goto("/register")
    page.goto("/login")
    context.add_cookies([{"name": "session", "value": "a-test-before", "url": live_server}])
    page.evaluate("localStorage.setItem('kept', '1'); sessionStorage.setItem('kept', '1')")
    heard = []
    page.on("console", lambda message: heard.append(message.text))
    context.on("request", lambda request: heard.append(request.url))
    page.route("**/login", lambda route: route.fulfill(body="routed"))
    context.set_extra_http_headers({"X-Test-Before": "1"})
    context.grant_permissions(["geolocation"])
    page.set_viewport_size({"width": 390, "height": 844})
    context.new_page()
    context.set_offline(True)

    _POOL.give_back()  # as at the end of a test; the next one wants no JavaScript
    again = browser_page(chromium, javascript=False)
    assert again.context == context and len(context.pages) == 1, "the page was not lent again, or another one stayed"
    assert again.url == "about:blank" and again.go_back() is None, "the test before's history is still there"
    assert context.cookies() == [] and again.viewport_size == DEFAULT_VIEWPORT
    with again.expect_request("**/login") as request:
        response = again.goto("/login")  # online, through no route
    assert response.status == 200 and "x-test-before" not in request.value.all_headers()
    assert "routed" not in again.content() and again.get_by_role("button", name="Log in").count() == 1
    assert again.locator("html.js").count() == 0, "the app's script ran in a page without JavaScript"
    assert heard == [], "a listener of the test before still hears the page"

    _POOL.give_back()  # and the next one wants JavaScript
    last = browser_page(chromium)
    assert last.context == context
    last.goto("/login")
    assert last.locator("html.js").count() == 1, "JavaScript is still off in the page lent next"
    assert last.evaluate("[localStorage.getItem('kept'), sessionStorage.getItem('kept')]") == [None, None]
    assert last.evaluate("navigator.permissions.query({name: 'geolocation'}).then(p => p.state)") == "prompt"
    last.evaluate("console.log('after the reset')")
    assert heard == [], "a listener of the test before still hears the page"
