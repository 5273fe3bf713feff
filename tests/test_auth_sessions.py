"""Logins that end: log-out, "log out everywhere" and a password change end every copy of the
session and remember-me cookies; each log-in gets its own remember-me token."""
import pytest

from extensions import db
from models import UserSession
from tests.fixtures import PASSWORD

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def other_client(app):
    """A second browser."""
    return app.test_client()


def _copy_cookie(source, target, name):
    cookie = source.get_cookie(name)
    assert cookie is not None, f"no {name} cookie to copy"
    target.set_cookie(name, cookie.value)


def test_a_session_cookie_copied_before_log_out_stops_working_after_it(client, other_client, accounts):
    accounts.register()
    _copy_cookie(client, other_client, "session")
    assert other_client.get("/invoices/").status_code == 200  # the copy works while the login lasts

    accounts.logout()

    assert other_client.get("/invoices/").status_code == 302
    assert client.get("/invoices/").status_code == 302


def test_a_remember_me_cookie_copied_before_log_out_stops_working_after_it(client, other_client, accounts, app):
    accounts.register()
    accounts.logout()
    assert accounts.login(remember="y").status_code == 303
    _copy_cookie(client, other_client, "remember_token")  # no session cookie: only "remember me"
    assert other_client.get("/invoices/").status_code == 200

    accounts.logout()

    third = app.test_client()
    _copy_cookie(other_client, third, "remember_token")
    assert third.get("/invoices/").status_code == 302
    assert other_client.get("/invoices/").status_code == 302


def test_the_remember_me_token_differs_at_each_log_in(client, accounts):
    accounts.register()
    tokens = []
    for _ in range(3):
        accounts.logout()
        assert accounts.login(remember="y").status_code == 303
        tokens.append(client.get_cookie("remember_token").value)
    assert len(set(tokens)) == 3
    assert all("ada@example.com" not in token and not token.split("|")[0].isdigit() for token in tokens)


def test_log_out_everywhere_ends_another_browsers_login_at_its_next_request(client, other_client, accounts, app):
    accounts.register()
    assert other_client.post("/login", data={"email": "ada@example.com", "password": PASSWORD,
                                             "remember": "y"}).status_code == 303
    assert other_client.get("/invoices/").status_code == 200

    response = client.post("/logout/everywhere")

    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert other_client.get("/invoices/").status_code == 302
    assert client.get("/invoices/").status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(UserSession)
                                 .where(UserSession.revoked_at.is_(None))) == 0


def test_the_account_page_lists_the_logins_and_marks_this_one(client, other_client, accounts):
    accounts.register()
    other_client.post("/login", data={"email": "ada@example.com", "password": PASSWORD},
                      headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/140.0"})
    page = client.get("/settings/account").get_data(as_text=True)
    assert "Firefox on Linux" in page
    assert page.count("This browser") == 1
    assert "Log out everywhere" in page


def test_changing_the_password_needs_the_current_one_and_ends_other_logins(client, other_client, accounts):
    accounts.register()
    other_client.post("/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert other_client.get("/invoices/").status_code == 200

    wrong = client.post("/settings/account/password", data={
        "current_password": "not my password", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    short = client.post("/settings/account/password", data={
        "current_password": PASSWORD, "new_password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    differ = client.post("/settings/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "!"})
    assert differ.status_code == 422 and "passwords differ" in differ.get_data(as_text=True)
    assert other_client.get("/invoices/").status_code == 200  # nothing changed yet

    changed = client.post("/settings/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    assert changed.status_code == 303
    assert "1 other login was ended" in client.get("/settings/account").get_data(as_text=True)
    assert client.get("/invoices/").status_code == 200  # this browser stays logged in
    assert other_client.get("/invoices/").status_code == 302
    accounts.logout()
    assert accounts.login(password=PASSWORD).status_code == 401
    assert accounts.login(password=NEW_PASSWORD).status_code == 303


def test_the_account_page_needs_a_login(client):
    response = client.get("/settings/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
