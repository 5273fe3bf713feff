"""Every page a signed-in owner (with demo-like data) and a visitor can open, in Chromium at desktop
width and at 390 px: axe-core finds no violation (every rule at desktop width, the layout's rules at
390 px: tests/browser.py LAYOUT_RULES; a page whose markup another holds is checked on that twin), and no
page scrolls sideways on a phone."""
from __future__ import annotations

from types import SimpleNamespace

import re

import pytest

from extensions import db
from models import ClockifyConnection, Invoice
from services import sending
from sandbox import MAIN_KEY
from tests.browser import (LAYOUT_RULES, WIDTHS, assert_accessible, at_width, browser_page, page_errors, screenshot,
                           sideways_scroll, small_targets)
from tests.fixtures import PASSWORD
from tests.smtp import smtp  # noqa: F401  (fixture: the send-by-email pages show their form)

pytestmark = pytest.mark.browser

LONG_DESCRIPTION = ("Discovery workshop with the product team, including the follow-up notes on the "
                    "reporting dashboard and the migration plan")


@pytest.fixture
def owner_pages(app, accounts, clockify, smtp):
    """An owner with a connection, two customers, a draft with lines, a sent, a paid and a void invoice:
    the app's GET pages, each as a path."""
    accounts.register(name="Ada Lovelace-Byron of Analytical Engines")
    client = accounts.client
    client.post("/settings/integrations/clockify/new", data={"name": "Clockify", "description": "",
                "region": "global", "subdomain": "", "api_key": MAIN_KEY})
    customer = accounts.customer("Northwind Traders", email="billing@northwind.example")
    accounts.customer("Contoso Pharmaceuticals International", currency="EUR")
    draft = accounts.invoice(customer)
    accounts.line(draft, description=LONG_DESCRIPTION, quantity="7.5", rate="120")
    accounts.line(draft, description="Report", quantity="1", rate="80")
    sent, paid, void = (accounts.invoice(customer) for _ in range(3))
    for invoice in (sent, paid, void):
        accounts.line(invoice, description="Design work", quantity="2", rate="50")
        client.post(f"/invoices/{invoice}/send")
    client.post(f"/invoices/{paid}/paid")
    client.post(f"/invoices/{void}/void")
    note = client.post(f"/invoices/{paid}/credit-note", data={"scope": "partial", "lines-0-chosen": "y", "lines-0-quantity": "1",
                                                              "lines-0-rate": "50", "lines-0-line_id": str(paid_line(app, paid))})
    response = client.post(f"/invoices/{sent}/payments", data={"paid_on": "2026-11-20", "amount": "40",
                                                                "method": "Bank transfer", "note": ""})
    assert response.status_code == 303, "the partial payment was not recorded"
    with app.app_context():
        connection = db.session.scalar(db.select(ClockifyConnection.id))
        token = sending.ensure_view_token(db.session.get(Invoice, sent))
        db.session.commit()
    assert connection, "the connection was not saved"
    invited = client.post("/business/members/invite", data={"email": "bob@example.com", "role": "member"})
    asked = client.post("/settings/integrations/clockify/ask", data={"sharing": "shared"})
    links = [re.search(rf'value="http://localhost(/{kind}/[\w-]+)" data-testid="{testid}"', answer.get_data(as_text=True))
             for kind, testid, answer in (("invitations", "invitation-link", invited), ("connect", "ask-link", asked))]
    assert all(links), "the invitation or the link asking a colleague to connect was not made"
    unpriced = accounts.invoice(customer)  # a draft whose sending asks first (a line at a rate of 0)
    accounts.line(unpriced, description="Courtesy call", quantity="1", rate="0")
    # Pages whose markup another page of the list already holds, element for element (the same template, other
    # data): a sent invoice's email page is the draft's without its note; the draft's print is the sent one's
    # without its payments; a customer's edit form is the new-customer form filled in. Each answers here, and
    # axe sees its markup on its twin (~0.6 s of Chromium's CPU a page).
    for twin in (f"/invoices/{sent}/email", f"/invoices/{draft}/print", f"/customers/{customer}/edit"):
        assert client.get(twin).status_code == 200, twin
    return SimpleNamespace(unpriced=unpriced, links=[f"/v/{token}", *(link.group(1) for link in links)], paths=["/", "/invoices/", "/invoices/?status=sent", f"/invoices/?q=Northwind&status=partially_paid&customer={customer}"
            "&issued_from=2020-01-01&issued_to=2099-12-31&sort=issued_desc", "/invoices/new", f"/invoices/{draft}",
            f"/invoices/{draft}/email", f"/invoices/{draft}/vat", f"/invoices/{draft}/import",
            f"/invoices/{sent}", f"/invoices/{paid}", f"/invoices/{void}", f"/invoices/{draft}/delete", f"/invoices/{sent}/void",
            f"/invoices/{sent}/print", "/customers/", f"/customers/{customer}", f"/customers/{customer}?choose=clockify", "/customers/new",
            "/settings/profile", "/settings/email", "/settings/payment/", "/settings/einvoicing", "/settings/personal", "/settings/account", "/settings/integrations",
            "/settings/integrations/clockify/new", f"/settings/integrations/clockify/{connection}/key",
            f"/settings/integrations/clockify/{connection}/disconnect", "/settings/integrations/clockify/ask",
            "/business/members", "/businesses/new", "/businesses/delete",
            f"/invoices/{paid}/credit-note", note.headers["Location"], "/settings/credit-notes"])


def paid_line(app, invoice_id: int) -> int:
    with app.app_context():
        return db.session.get(Invoice, invoice_id).lines[0].id


VISITOR_PAGES = ["/", "/login", "/register"]


def log_in(page, email="ada@example.com"):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def too_wide(page) -> list[str]:
    """The innermost elements reaching past the right edge, to say what makes a page scroll sideways."""
    return page.evaluate("""() => [...document.body.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                     && ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                         + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                         + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)')""")


def width_problems(page, where: str, width: str) -> list[str]:
    """At the page's current width (`width`): axe (every rule at desktop width, LAYOUT_RULES at 390 px),
    each target's size, and on a phone no sideways scrolling."""
    problems = []
    try:
        assert_accessible(page, f"{where} ({width})", rules=LAYOUT_RULES if width == "phone" else None)
    except AssertionError as error:
        problems.append(str(error))
    targets = small_targets(page)  # each screen's main action (a primary button) 44 x 44 px, the rest 24 x 24
    if targets["smallMain"] or targets["small"]:
        problems.append(f"{where} ({width}): main actions under 44 x 44 px: {targets['smallMain']}; "
                        f"targets under 24 x 24 px: {targets['small']}")
    if width == "phone" and (extra := sideways_scroll(page)) > 0:
        problems.append(f"{where} scrolls {extra} px sideways at 390 px: {', '.join(too_wide(page))}")
    return problems


def check_pages(page, paths: list[str]) -> list[str]:
    """Each page loaded once, then checked at every width (resized in place: the layout follows the
    viewport as it would on a reload, at one page load instead of one per width). A page opens at the width
    the one before it ended at, and is checked at that one first: one resize a page, not two."""
    problems = []
    widths = list(WIDTHS)
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        for width in widths:
            at_width(page, width)
            problems += width_problems(page, path, width)
            screenshot(page, f"pages-{width}-" + path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-"))
        widths.reverse()
    return problems


def test_every_page_of_an_owner_a_visitor_and_a_stranger_with_a_link_has_no_axe_violation_and_fits_the_width(
        page, chromium, live_server, owner_pages):
    """The owner's pages, then the confirmations before sending, then the landing, log-in and sign-up pages
    and the pages a stranger opens from a link (one test: the owner's data is made once)."""
    log_in(page)
    problems = check_pages(page, owner_pages.paths)
    problems += confirmations_before_sending(page, owner_pages.unpriced)
    problems += pages_a_stranger_opens(chromium, [*VISITOR_PAGES, *owner_pages.links])
    assert not problems, "\n".join(problems)


def confirmations_before_sending(page, unpriced: int) -> list[str]:
    """The page that asks before sending lines that bill nothing (a POST's answer, so not in the list),
    reached once from each button and checked at each width."""
    problems = []
    for start in (f"/invoices/{unpriced}", f"/invoices/{unpriced}/email"):
        at_width(page, "desktop")
        page.goto(start)
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Mark as sent" if start.endswith(str(unpriced))
                         else "Send by email").first.click()
        page.get_by_role("heading", name="Send this invoice as it is?").wait_for()
        for width in WIDTHS:
            at_width(page, width)
            problems += width_problems(page, f"confirm send from {start}", width)
            if not small_targets(page)["mains"]:
                problems.append(f"confirm send from {start} ({width}): no main action")
            screenshot(page, f"pages-{width}-confirm-send" + ("-email" if start.endswith("email") else ""))
    return problems


def pages_a_stranger_opens(chromium, links: list[str]) -> list[str]:
    """`links` (the landing, log-in and sign-up pages, the customer's view link, an invitation and a request to
    connect Clockify), each in a browser without a session (as a visitor, or the person the link was sent to,
    opens it: one a width, its cookies cleared before each link), and a view link that no longer works. At
    390 px the browser is a phone's (it honours the page's viewport): a page without one is laid out 980 px
    wide and shrunk."""
    problems = []
    for width, size in WIDTHS.items():
        viewport = dict(zip(("width", "height"), size))
        view = browser_page(chromium, viewport=viewport, phone=width == "phone")
        errors = page_errors(view)
        for path in [*links, "/v/no-longer-a-link"]:
            view.context.clear_cookies()
            errors.clear()
            assert view.goto(path).status == (404 if "no-longer" in path else 200), path
            problems += [f"{path} ({width}): {error}" for error in errors  # the gone link's own 404 aside
                         if not ("no-longer" in path and "status of 404" in error)]
            problems += width_problems(view, path, width)
            screenshot(view, f"pages-{width}-link-" + (path.split("/")[1] or "landing")
                       + ("-gone" if "no-longer" in path else ""))
            if width == "phone" and view.evaluate("window.innerWidth") != 390:
                problems.append(f"{path} is shrunk from a wider layout on a phone")
    return problems

