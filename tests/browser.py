"""Fixtures for browser tests: one live server per worker that hands each request to the current test's app,
pooled browser pages, and Debian's Chromium driven by Playwright (never a browser Playwright downloads). With
CI=true a missing browser fails the run."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("HOURBILL_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
AXE_SOURCE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
# Screenshots are for a person to look at (tests/artifacts/, git-ignored), never a check: taken only with
# HOURBILL_TEST_SCREENSHOTS=1 (test-only). The ~150 full-page ones of a run took about a quarter of the
# browser tests' time.
SCREENSHOTS = os.environ.get("HOURBILL_TEST_SCREENSHOTS", "") not in ("", "0")
# Playwright's own --disable-features list (playwright-core's chromiumSwitches.ts, 1.65): Chromium keeps the
# last --disable-features it is given, so ours repeats Playwright's and adds RenderDocument. Without it each
# navigation builds a new frame in the renderer, and Playwright sets that frame up again: ~20% of Chromium's
# CPU for a page load (a page load is ~0.2 s of Chromium's CPU, ~0.15 s with it; a page behaves the same).
PLAYWRIGHT_DISABLED_FEATURES = [
    "AvoidUnnecessaryBeforeUnloadCheckSync", "DestroyProfileOnBrowserClose", "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable", "LensOverlay", "MediaRouter", "PaintHolding", "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect", "TcpPortRandomizationWin", "OptimizationHints", "NetworkTimeServiceQuerying",
    "AimEnabled", "PreconnectToSearch", "msForceBrowserSignIn", "msEdgeUpdateLaunchServicesPreferredVersion"]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage",
                 "--disable-features=" + ",".join([*PLAYWRIGHT_DISABLED_FEATURES, "RenderDocument"])]


def serve(wsgi_app) -> tuple[str, callable]:
    """Serve a WSGI app on 127.0.0.1 in a thread; returns its base URL and a stop function."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    # Stopping waits for the serving loop's next poll: werkzeug's 0.5 s by default (test_auth_throttle stops one).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        thread.join(timeout=5)

    return f"http://127.0.0.1:{server.server_port}", stop


@pytest.fixture(scope="session")
def chromium():
    from playwright.sync_api import expect

    # expect() waits as long as any other step (the context's 10 s), not Playwright's 5 s: on a busy
    # machine an import's "Add to invoice" took longer than 5 s. A passing test waits no longer for it.
    expect.set_options(timeout=10_000)
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM}: install Debian's chromium package (.ci/run does)."
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class _Dispatcher:
    """The worker's one live server's WSGI app: each request goes to the app of the test being served (none
    between tests: a 503). One server at one address for the worker keeps the browser's origin, so its HTTP
    cache and compiled scripts stay warm from test to test (a new port a test fetched and compiled every static
    file again), and a test starts and stops no server."""

    app = None

    def __call__(self, environ, start_response):
        app = self.app
        if environ["PATH_INFO"] == AXE_PATH:
            # The vendored axe-core (tests/vendor) at the app's origin, for axe_violations: a test's only.
            start_response("200 OK", [("Content-Type", "text/javascript"), ("Cache-Control", "max-age=3600")])
            return [AXE_SOURCE.read_bytes()]
        if app is None:
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"no test is being served"]
        return app(environ, start_response)


AXE_PATH = "/__tests__/axe.min.js"
_SERVER: tuple[str, _Dispatcher] | None = None


@pytest.fixture
def live_server(app):
    """The URL serving the test's app: the worker's server, its app this test's for the test. After it, the
    pages the test was lent (`page`, browser_page) are reset and given back."""
    global _SERVER
    if _SERVER is None:
        dispatcher = _Dispatcher()
        _SERVER = serve(dispatcher)[0], dispatcher
    url, dispatcher = _SERVER
    # Test-only: the browser keeps the static files for the test (Flask's default has it ask again on every
    # page, six 304s a page through the app), so a page load is one request to the app, not seven.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    dispatcher.app = app
    try:
        yield url
    finally:
        try:
            _POOL.give_back()
        finally:
            dispatcher.app = None


DEFAULT_VIEWPORT = {"width": 1280, "height": 720}  # Playwright's


class _Pool:
    """The worker's browser contexts, one page each, lent to a test and reset when it ends: a new context and
    its first page load cost ~1 s of Chromium's CPU, a page lent again ~0.05 s more than its navigations.
    Contexts differ only in what a context cannot change later (a phone's mobile viewport and touch); the rest
    is set on the page as it is lent: the viewport's size, and JavaScript turned off as Playwright does for a
    context with java_script_enabled=False (the DevTools protocol's Emulation.setScriptExecutionDisabled on
    the page), so a test without JavaScript finds the static files cached too."""

    def __init__(self):
        self.browser, self.free, self.lent = None, {}, []

    def lend(self, browser, url: str, *, javascript: bool = True, viewport: dict | None = None,
             phone: bool = False):
        if self.browser is not browser:  # a new Chromium (a worker launches one; nothing of another is kept)
            self.browser, self.free = browser, {}
        key = phone
        if self.free.get(key):
            context, page = self.free[key].pop()
        else:
            context = browser.new_context(base_url=url, is_mobile=phone, has_touch=phone, viewport=DEFAULT_VIEWPORT,
                                          accept_downloads=True)
            context.set_default_timeout(10_000)
            page = context.new_page()
            # What Playwright itself listens to: a reset removes every other listener.
            context._hourbill_listeners = _listeners(context)
            page._hourbill_listeners = _listeners(page)
            page._hourbill_cdp = context.new_cdp_session(page)
        self.lent.append((key, context, page, url))
        # The window in front: with pooled pages open beside it, a page left behind them may get no animation
        # frames, and Playwright's clicks wait for an element to hold still over two frames (a 10 s timeout).
        page.bring_to_front()
        if not javascript:
            page._hourbill_cdp.send("Emulation.setScriptExecutionDisabled", {"value": True})
            page._hourbill_no_js = True
        if viewport and viewport != DEFAULT_VIEWPORT:
            page.set_viewport_size(viewport)
        return page

    def give_back(self):
        lent, self.lent, failed = self.lent, [], None
        for key, context, page, url in lent:
            try:
                _reset(context, page, url)
            except Exception as error:  # a page that cannot be reset (the test crashed it) is not lent again
                failed = failed or error
                context.close()
            else:
                self.free.setdefault(key, []).append((context, page))
        if failed:
            raise failed


_POOL = _Pool()


def _listeners(owner) -> dict:
    emitter = owner._impl_obj
    return {event: list(emitter.listeners(event)) for event in emitter.event_names()}


def _remove_listeners(owner) -> None:
    """Every listener added to a page or context since it was made (a test's, the `page` fixture's)."""
    emitter, kept = owner._impl_obj, owner._hourbill_listeners
    for event in list(emitter.event_names()):
        for listener in list(emitter.listeners(event)):
            if listener not in kept.get(event, ()):
                emitter.remove_listener(event, listener)


# The origin's storage a page can write (its cookies are the context's, cleared on their own).
STORAGE_TYPES = ("local_storage,indexeddb,websql,cache_storage,service_workers,file_systems,shared_storage,"
                 "storage_buckets")


def _reset(context, page, url: str) -> None:
    """The context and its page as they were made: no other page, cookie, permission, storage of the origin,
    history, listener, route, extra header; JavaScript on, online; the default viewport and timeouts.
    What stays is what a browser keeps for any visitor: its HTTP cache and compiled scripts."""
    for other in context.pages:
        if other != page:
            other.close()
    _remove_listeners(page)
    _remove_listeners(context)
    page.goto("about:blank")
    if getattr(page, "_hourbill_no_js", False):
        page._hourbill_cdp.send("Emulation.setScriptExecutionDisabled", {"value": False})
        page._hourbill_no_js = False
    page._hourbill_cdp.send("Page.resetNavigationHistory")
    page._hourbill_cdp.send("Storage.clearDataForOrigin", {"origin": url, "storageTypes": STORAGE_TYPES})
    page.unroute_all(behavior="ignoreErrors")
    context.unroute_all(behavior="ignoreErrors")
    page.set_extra_http_headers({})
    context.set_extra_http_headers({})
    context.clear_cookies()
    context.clear_permissions()
    context.set_offline(False)
    context.set_geolocation(None)
    context.set_default_timeout(10_000)
    context.set_default_navigation_timeout(10_000)
    page.set_default_timeout(10_000)
    page.set_default_navigation_timeout(10_000)
    if page.viewport_size != DEFAULT_VIEWPORT:
        page.set_viewport_size(DEFAULT_VIEWPORT)
    page.emulate_media(media="null", color_scheme="null", reduced_motion="null", forced_colors="null")


def browser_page(chromium, *, javascript: bool = True, viewport: dict | None = None, phone: bool = False):
    """A page of its own, as a second browser would open it (no cookies, no history), at the live server's
    origin (relative URLs): JavaScript off with javascript=False; `viewport`'s size; a phone's mobile viewport
    and touch with phone=True. Reset and given back when the test's live server stops (do not close it)."""
    assert _SERVER is not None and _SERVER[1].app is not None, "browser_page needs the live_server fixture"
    return _POOL.lend(chromium, _SERVER[0], javascript=javascript, viewport=viewport, phone=phone)


def page_errors(page) -> list[str]:
    """The list the page's JavaScript errors and console errors are added to as they happen. Chromium logs every
    4xx as a console error; a 422 is a form answering with its errors, as designed."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "status of 422" not in message.text else None)
    return errors


@pytest.fixture
def page(chromium, live_server):
    page = browser_page(chromium)
    errors = page_errors(page)
    yield page
    assert not errors, f"the page reported errors: {errors}"


def logged_in(page, accounts) -> None:
    """The browser logged in as the test client is (its session cookie, for the live server's host): a test about
    something else starts there without loading and posting the log-in form, two page loads (~0.4 s of Chromium's
    CPU). The log-in form itself is walked in the browser by tests/test_browser_a11y_pages.py."""
    cookie = accounts.client.get_cookie("session")
    assert cookie is not None, "the test client is not logged in"
    page.context.add_cookies([{"name": "session", "value": cookie.value, "domain": "127.0.0.1", "path": "/",
                               "httpOnly": True, "sameSite": "Lax"}])


def screenshot(page, name: str) -> None:
    """`name`.png in tests/artifacts, with HOURBILL_TEST_SCREENSHOTS=1 only."""
    if not SCREENSHOTS:
        return
    (ARTIFACTS / name).parent.mkdir(parents=True, exist_ok=True)
    # A full page of a big import is tall: more time than the default 10 s on a busy machine.
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True, timeout=60_000)


PHONE = {"width": 390, "height": 844}


def screenshot_and_phone(page, name: str) -> None:
    """`name`.png at the page's width, and `name`-390px.png as a phone shows the same page (then back): to
    look at whether each step is readable on a phone. Nothing without HOURBILL_TEST_SCREENSHOTS=1."""
    if not SCREENSHOTS:
        return
    screenshot(page, name)
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    try:
        screenshot(page, f"{name}-390px")
    finally:
        page.set_viewport_size(size)


def settled(page) -> None:
    """Wait until htmx has no request in flight and nothing swapping or settling, so the next
    keystroke lands on elements htmx has already wired up."""
    from playwright.sync_api import expect

    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)


# WCAG 2.0/2.1/2.2 A and AA, plus axe's best practices (landmarks, one h1, ...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
# The rules whose verdict depends on the viewport's width: a target crowded by its neighbours, a region
# that scrolls sideways without a way to reach it by keyboard. A page checked with every rule at one width
# is checked with these alone at the other (~0.15 s, against ~1.2 s for every rule).
LAYOUT_RULES = ["target-size", "scrollable-region-focusable"]
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}


# axe's check, or null when axe is not in the page yet (one round trip to the page when it is, as it mostly is).
# noHtml: axe keeps no copy of each element's HTML it checks (the report names elements by selector): ~18% of
# axe's time on the app's pages.
AXE_RUN = """async ([include, only]) => {
    if (typeof window.axe !== 'object') return null;
    axe.configure({noHtml: true});
    const result = await axe.run(include ? {include: [include]} : document,
                                 {runOnly: only, resultTypes: ['violations']});
    return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
}"""


def axe_violations(page, *, include: str | None = None, rules: list[str] | None = None) -> list[dict]:
    """Run the vendored axe-core in the page (the worker's live server serves it at AXE_PATH) and return its
    violations: each rule with its nodes. Every rule of AXE_TAGS, or `rules`."""
    only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": AXE_TAGS}
    violations = page.evaluate(AXE_RUN, [include, only])
    if violations is None:
        # axe as the page's own script from the live server (the CSP's 'self'; the browser caches the file and
        # its compiled code), only in a page checked. Measured against an init script in every later page of the
        # context (as before the pool, then removed at the reset): the same Chromium CPU for the four files that
        # run axe (46.2 CPU-s each way; a checked page ~0.02 s more, a page not checked ~0.025 s less), and
        # nothing of axe's is left in a context for the next test.
        page.add_script_tag(url=AXE_PATH)
        violations = page.evaluate(AXE_RUN, [include, only])
    return violations


def assert_accessible(page, where: str = "", *, include: str | None = None, rules: list[str] | None = None) -> None:
    """Fail listing every axe violation on the page (or inside `include`), each with its elements. The page
    needs JavaScript on (axe is a script the page loads): check a no-JS page by opening the same URL in a page
    lent with JavaScript."""
    violations = axe_violations(page, include=include, rules=rules)
    if violations:
        lines = [f"{len(violations)} axe violation(s) on {where or page.url}:"]
        for violation in violations:
            lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
            for node in violation["nodes"][:8]:
                lines.append(f"    {node['target']}: {node['summary']}".replace("\n", " "))
        raise AssertionError("\n".join(lines))


def at_width(page, width: str) -> None:
    """Resize the page to WIDTHS[width] in place (the layout follows, as on a reload, without one); nothing to
    do (no call to the browser) when it is that size already."""
    size = dict(zip(("width", "height"), WIDTHS[width]))
    if page.viewport_size != size:
        page.set_viewport_size(size)


def sideways_scroll(page) -> int:
    """How far past the viewport the page is wide (0: it does not scroll sideways)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def assert_accessible_at_both_widths(page, where: str) -> None:
    """Every axe rule at desktop width; at 390 px the layout's rules (LAYOUT_RULES), and no sideways
    scrolling. Leaves the page at desktop width."""
    at_width(page, "desktop")
    assert_accessible(page, f"{where} at desktop width")
    at_width(page, "phone")
    try:
        assert_accessible(page, f"{where} at 390 px", rules=LAYOUT_RULES)
        assert sideways_scroll(page) <= 0, f"{where} scrolls sideways at 390 px"
    finally:
        at_width(page, "desktop")


# Every target too small for WCAG 2.5.8 (24 x 24 px), and the main action (`main`, a CSS selector) under
# 44 x 44 px (2.5.5), each as "text (w x h)". A checkbox or radio is measured by its label (a click on either
# ticks it); a link inside a sentence is exempt (2.5.8's inline exception), a link beside a "·" is not.
SMALL_TARGETS = """([scope, main]) => {
    const root = document.querySelector(scope);
    const box = e => e.getBoundingClientRect();
    const shown = e => box(e).width > 0 && box(e).height > 0 && getComputedStyle(e).visibility !== 'hidden';
    const inSentence = e => {
        if (e.tagName !== 'A' || getComputedStyle(e).display !== 'inline') return false;
        let text = e.parentElement.textContent;
        e.parentElement.querySelectorAll('a, button').forEach(t => { text = text.replace(t.textContent, ''); });
        return /\\p{L}{3,}/u.test(text);
    };
    const name = e => (e.getAttribute('aria-label') || e.textContent || e.name || e.type).trim().replace(/\\s+/g, ' ');
    const size = e => `${name(e).slice(0, 40)} (${Math.round(box(e).width)} x ${Math.round(box(e).height)})`;
    const small = [];
    for (const e of root.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
        const target = ['checkbox', 'radio'].includes(e.type) && (e.closest('label') || e.labels[0]) || e;
        if (!shown(target) || inSentence(e) || e.matches(main)) continue;
        if (box(target).width < 23.5 || box(target).height < 23.5) small.push(size(target));
    }
    const mains = [...root.querySelectorAll(main)].filter(shown);
    return {small, mains: mains.map(size),
            smallMain: mains.filter(e => box(e).width < 43.5 || box(e).height < 43.5).map(size)};
}"""


def small_targets(page, main: str = "button.primary, .button.primary", scope: str = "body") -> dict:
    """{"small": targets under 24 x 24, "mains": the main actions, "smallMain": those under 44 x 44}, in `scope`."""
    return page.evaluate(SMALL_TARGETS, [scope, main])


def assert_targets(page, where: str, main: str, scope: str = "main") -> None:
    """The screen's main action is there and at least 44 x 44 px; every other target at least 24 x 24."""
    found = small_targets(page, main, scope)
    assert found["mains"], f"{where}: no main action ({main})"
    assert not found["smallMain"], f"{where}: the main action is under 44 x 44 px: {found['smallMain']}"
    assert not found["small"], f"{where}: targets under 24 x 24 px: {found['small']}"
