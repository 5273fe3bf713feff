"""What every logged-in request asks the database before its page's own work: one query for the login with its
user and the user's memberships with their businesses (services.accounts.WITH_MEMBERSHIPS), on a page (GET) and
on a form (POST) whose role @requires checks before its view runs; a form's view that may have changed the
memberships (a new business) reads them afresh when it asks. The common pages' totals stay where they are (a
query added to every request costs every page), and the log-in POST's too."""
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
    assert not any("FROM memberships" in each for each in statements), statements  # checked before the view: as loaded

    with _counting(app) as statements:  # a view that makes a membership, then chooses its business
        assert client.post("/businesses/new", data={"name": "Side Project"}).status_code == 303
    assert sum("FROM memberships" in each for each in statements) == 1, statements  # afresh, once, after the change
    assert "Side Project · owner" in client.get("/").get_data(as_text=True)


def test_a_log_in_asks_at_most_13_queries(app, client, accounts):
    accounts.register()
    accounts.logout()
    with _counting(app) as statements:
        assert accounts.login().status_code == 303
    assert len(statements) <= 13, (len(statements), statements)
    assert "Log out" in client.get("/").get_data(as_text=True)
