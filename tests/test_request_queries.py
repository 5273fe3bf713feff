"""What every logged-in request asks the database before its page's own work: one query for the login with its
user and the user's memberships with their businesses (services.accounts.WITH_MEMBERSHIPS), on a page (GET) and
on a form (POST) whose role @requires checks before its view runs; a form's view that may have changed the
memberships (a new business) reads them afresh when it asks. The common pages' totals stay where they are (a
query added to every request costs every page), and the log-in POST's too. Then what every request keeps from
the one before rather than work out again (bench/request_cpu.py measures it): the layout's links, WTForms' messages."""
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


def test_the_layout_links_follow_the_mount_point_of_each_request(client, logged_in):
    """base.html builds its fixed links once per mount point (app.layout_url): an app served under /billing (a
    proxy's SCRIPT_NAME) links there, and the same app served at / still links to /."""
    mounted = client.get("/customers/", base_url="http://localhost/billing").get_data(as_text=True)
    assert 'href="/billing/static/css/app.css"' in mounted and 'href="/billing/invoices/"' in mounted
    plain = client.get("/customers/").get_data(as_text=True)
    assert 'href="/static/css/app.css"' in plain and 'href="/invoices/"' in plain and "/billing" not in plain


def test_wtforms_messages_are_read_once_per_language_and_in_the_language_being_written(app):
    """Flask-WTF read WTForms' catalogue from disk in every request that made a form (app._Request)."""
    from flask import request
    from flask_babel import force_locale

    with app.test_request_context("/"):
        english = request.wtforms_translations
        assert english.gettext("Not a valid choice.") == "Not a valid choice."
    with app.test_request_context("/"):
        assert request.wtforms_translations is english
    with app.test_request_context("/"), force_locale("de"):
        assert request.wtforms_translations.gettext("Not a valid choice.") == "Keine gültige Auswahl."
