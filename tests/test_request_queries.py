"""What every logged-in request asks the database before its page's own work: on a page (GET), one query for the
login with its user and the user's memberships with their businesses (services.accounts.WITH_MEMBERSHIPS);
a form (POST), which may change the memberships, reads them afresh. The common pages' totals stay where they
are (a query added to every request costs every page)."""
from __future__ import annotations

from tests.test_list_queries import _counting

# Page -> the most queries it may ask (the login's included).
MOST = {"/customers/": 2, "/invoices/": 5, "/invoices/{invoice}": 5, "/": 7}


def test_a_page_reads_the_login_user_and_memberships_in_one_query_and_common_pages_stay_within_their_count(
        app, client, logged_in):
    invoice = logged_in.invoice(logged_in.customer())
    for page, most in MOST.items():
        url = page.format(invoice=invoice)
        with _counting(app) as statements:
            assert client.get(url).status_code == 200, url
        (login,) = [each for each in statements if "FROM user_sessions" in each]
        assert "JOIN users" in login and "JOIN memberships" in login and "JOIN businesses" in login, login
        assert not any("FROM users" in each or "FROM memberships" in each for each in statements), (url, statements)
        assert len(statements) <= most, (url, len(statements), statements)

    with _counting(app) as statements:
        assert logged_in.line(invoice).status_code == 303
    assert sum("FROM memberships" in each for each in statements) == 1, statements  # afresh, once
