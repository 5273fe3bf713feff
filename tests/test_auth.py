"""Register, log in, log out; safe `next`; slowed-down guessing."""
from werkzeug.security import check_password_hash

from extensions import db
from models import User
from tests.fixtures import PASSWORD


def test_register_logs_in_and_asks_for_the_business_profile(client, accounts, app):
    accounts.register(email="Ada@Example.com")
    page = client.get("/settings/profile")
    assert page.status_code == 200 and "Business profile" in page.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert user.email == "ada@example.com"
        assert user.password_hash.startswith(app.config["HOURBILL_PASSWORD_HASH_METHOD"])  # scrypt in production
        assert check_password_hash(user.password_hash, PASSWORD)


def test_register_refuses_a_taken_email_short_password_and_mismatch(client, accounts):
    accounts.register()
    accounts.logout()
    taken = client.post("/register", data={"display_name": "B", "email": "ADA@example.com",
                                           "password": PASSWORD, "confirm": PASSWORD})
    assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)
    short = client.post("/register", data={"display_name": "B", "email": "b@example.com",
                                           "password": "short", "confirm": "short"})
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    mismatch = client.post("/register", data={"display_name": "B", "email": "b@example.com",
                                              "password": PASSWORD, "confirm": PASSWORD + "x"})
    assert mismatch.status_code == 422 and "passwords differ" in mismatch.get_data(as_text=True)


def test_pages_need_a_login_and_come_back_after_it(client, accounts):
    accounts.register()
    accounts.logout()
    response = client.get("/invoices/")
    assert response.status_code == 302 and "/login?next=" in response.headers["Location"]
    back = client.post(
        "/login?next=/customers/", data={"email": "ada@example.com", "password": PASSWORD})
    assert back.status_code == 303 and back.headers["Location"] == "/customers/"


def test_next_never_leaves_the_site(client, accounts):
    accounts.register()
    accounts.logout()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
                   "http:/evil.example"):
        response = client.post(f"/login?next={target}", data={"email": "ada@example.com", "password": PASSWORD})
        assert response.headers["Location"] == "/", target  # the dashboard
        accounts.logout()


def test_wrong_password_says_so_without_telling_which_part_was_wrong(client, accounts):
    accounts.register()
    accounts.logout()
    for email in ("ada@example.com", "nobody@example.com"):
        response = client.post("/login", data={"email": email, "password": "wrong password"})
        assert response.status_code == 401
        assert "do not match an account" in response.get_data(as_text=True)


def test_remember_me_sets_a_long_lived_cookie(client, accounts):
    accounts.register()
    accounts.logout()
    response = accounts.login(remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = next(cookie for cookie in cookies if cookie.startswith("remember_token="))
    assert "HttpOnly" in remember and "SameSite=Lax" in remember and "Expires=" in remember
    session = next(cookie for cookie in cookies if cookie.startswith("session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session


def test_repeated_failures_for_one_account_are_slowed_down(client, accounts, app):
    accounts.register()
    accounts.logout()
    limit = app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert client.post("/login", data={"email": "ada@example.com", "password": "nope nope"}).status_code == 401
    blocked = client.post("/login", data={"email": "ADA@example.com", "password": PASSWORD})
    assert blocked.status_code == 429
    assert "Too many failed log-ins. Wait 15 minutes" in blocked.get_data(as_text=True)


def test_repeated_failures_from_one_address_are_slowed_down_across_accounts(client, accounts, app):
    app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    accounts.register()
    accounts.logout()
    for n in range(3):
        client.post("/login", data={"email": f"guess{n}@example.com", "password": "nope nope"})
    assert accounts.login().status_code == 429
    other_address = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD},
                                environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_address.status_code == 303


def test_a_successful_login_clears_the_account_failures(client, accounts, app):
    accounts.register()
    accounts.logout()
    limit = app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit - 1):
        client.post("/login", data={"email": "ada@example.com", "password": "nope nope"})
    assert accounts.login().status_code == 303
    accounts.logout()
    for _ in range(limit - 1):
        client.post("/login", data={"email": "ada@example.com", "password": "nope nope"})
    assert accounts.login().status_code == 303


def test_logout_ends_the_session(client, accounts):
    accounts.register()
    assert accounts.logout().status_code == 303
    assert client.get("/invoices/").status_code == 302
