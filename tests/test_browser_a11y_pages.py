"""Every page a signed-in owner (with demo-like data) and a visitor can open, in Chromium at desktop
width and at 390 px: axe-core finds no violation, and no page scrolls sideways on a phone."""
from __future__ import annotations

import pytest

from extensions import db
from models import ClockifyConnection
from sandbox import MAIN_KEY
from tests.browser import assert_accessible, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
LONG_DESCRIPTION = ("Discovery workshop with the product team, including the follow-up notes on the "
                    "reporting dashboard and the migration plan")


@pytest.fixture
def owner_pages(app, accounts, clockify):
    """An owner with a connection, two customers, a draft with lines, a sent, a paid and a void invoice:
    the app's GET pages, each as a path."""
    accounts.register(name="Ada Lovelace-Byron of Analytical Engines")
    client = accounts.client
    client.post("/settings/integrations/clockify/new", data={"name": "Clockify", "description": "",
                "region": "global", "subdomain": "", "api_key": MAIN_KEY})
    customer = accounts.customer("Northwind Traders")
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
    with app.app_context():
        connection = db.session.scalar(db.select(ClockifyConnection.id))
    assert connection, "the connection was not saved"
    return ["/invoices/", "/invoices/?status=sent", "/invoices/new", f"/invoices/{draft}",
            f"/invoices/{sent}", f"/invoices/{paid}", f"/invoices/{void}", f"/invoices/{draft}/print",
            f"/invoices/{sent}/print", "/customers/", "/customers/new", f"/customers/{customer}/edit",
            "/settings/profile", "/settings/personal", "/settings/account", "/settings/integrations",
            "/settings/integrations/clockify/new", f"/settings/integrations/clockify/{connection}/key",
            f"/settings/integrations/clockify/{connection}/disconnect", "/settings/integrations/clockify/ask",
            "/business/members", "/businesses/new", "/businesses/delete"]


VISITOR_PAGES = ["/login", "/register"]


def log_in(page, email="ada@example.com"):
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def sideways_scroll(page) -> int:
    """How far past the viewport the page is wide (0: it does not scroll sideways)."""
    return page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")


def too_wide(page) -> list[str]:
    """The innermost elements reaching past the right edge, to say what makes a page scroll sideways."""
    return page.evaluate("""() => [...document.body.querySelectorAll('*')]
        .filter(e => e.getBoundingClientRect().right > window.innerWidth + 0.5
                     && ![...e.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 0.5))
        .slice(0, 5).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                         + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
                         + ' (' + Math.round(e.getBoundingClientRect().right) + ' px)')""")


def check_pages(page, paths: list[str], width: str) -> list[str]:
    page.set_viewport_size(dict(zip(("width", "height"), WIDTHS[width])))
    problems = []
    for path in paths:
        response = page.goto(path)
        assert response.status == 200, f"{path} answered {response.status}"
        try:
            assert_accessible(page, f"{path} ({width})")
        except AssertionError as error:
            problems.append(str(error))
        screenshot(page, f"pages-{width}-" + path.strip("/").replace("/", "-").replace("?", "-").replace("=", "-"))
        if width == "phone" and (extra := sideways_scroll(page)) > 0:
            problems.append(f"{path} scrolls {extra} px sideways at 390 px: {', '.join(too_wide(page))}")
    return problems


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_of_a_signed_in_owner_has_no_axe_violation_and_fits_the_width(page, owner_pages, width):
    log_in(page)
    problems = check_pages(page, owner_pages, width)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_log_in_and_sign_up_pages_have_no_axe_violation_and_fit_the_width(page, width):
    problems = check_pages(page, VISITOR_PAGES, width)
    assert not problems, "\n".join(problems)
