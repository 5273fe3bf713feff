"""What every logged-in request asks the database before its page's own work: the login with its user (one
query), the person's memberships with their businesses (one query), nothing else; and the common pages' totals
stay where they are (a query added to every request costs every page)."""
from __future__ import annotations

from tests.test_list_queries import _counting

# Page -> the most queries it may ask (the two every request asks included).
MOST = {"/customers/": 3, "/invoices/": 6, "/invoices/{invoice}": 6, "/": 8}


def test_a_logged_in_request_reads_the_login_and_memberships_once_each_and_common_pages_stay_within_their_count(
        app, client, logged_in):
    invoice = logged_in.invoice(logged_in.customer())
    assert logged_in.line(invoice).status_code == 303
    for page, most in MOST.items():
        url = page.format(invoice=invoice)
        with _counting(app) as statements:
            assert client.get(url).status_code == 200, url
        logins = [each for each in statements if "FROM user_sessions" in each]
        assert len(logins) == 1 and "JOIN users" in logins[0], (url, statements)
        assert sum("FROM memberships" in each for each in statements) == 1, (url, statements)
        assert not any("FROM users" in each for each in statements), (url, statements)  # no second look-up
        assert len(statements) <= most, (url, len(statements), statements)
