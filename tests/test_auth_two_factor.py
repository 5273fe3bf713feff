"""Two-factor authentication: enrolment with a QR code and a first code, a code after the password,
a clock window of one step either side, no code twice, recovery codes that work once, turning it off."""
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pyotp
import pytest

from extensions import db
from models import RecoveryCode, User
from services import connections, two_factor
from tests.fixtures import PASSWORD


def enroll(client) -> tuple[str, list[str]]:
    """Turn two-factor on through the account page; returns the secret and the recovery codes."""
    assert client.post("/settings/account/two-factor").status_code == 303
    page = client.get("/settings/account").get_data(as_text=True)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)
    confirmed = client.post("/settings/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200, confirmed.get_data(as_text=True)
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", confirmed.get_data(as_text=True))
    return secret, codes


def code_at(secret: str, moment: datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


@pytest.fixture
def enrolled(logged_in, client, app):
    secret, codes = enroll(client)
    with app.app_context():  # the enrolment used the current step: later codes come from later steps
        db.session.execute(db.update(User).values(totp_last_step=None))
        db.session.commit()
    logged_in.logout()
    return secret, codes


def test_enrolment_shows_a_qr_code_and_needs_a_first_code(logged_in, client, app):
    assert client.post("/settings/account/two-factor").status_code == 303
    page = client.get("/settings/account").get_data(as_text=True)
    assert re.search(r'<img class="qr-code" src="data:image/svg\+xml[^"]+"', page)
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page).group(1)

    wrong = client.post("/settings/account/two-factor/confirm", data={"code": "000000" if pyotp.TOTP(secret).now()
                                                                       != "000000" else "111111"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert not user.two_factor_enabled
        assert secret.encode() not in user.totp_ciphertext  # sealed, not stored as it is

    confirmed = client.post("/settings/account/two-factor/confirm", data={"code": pyotp.TOTP(secret).now()})

    text = confirmed.get_data(as_text=True)
    assert confirmed.status_code == 200 and "Two-factor authentication is on" in text
    codes = re.findall(r"<li>([a-z2-9]{5}-[a-z2-9]{5})</li>", text)
    assert len(set(codes)) == 10
    with app.app_context():
        hashes = db.session.scalars(db.select(RecoveryCode.code_hash)).all()
        assert len(hashes) == 10 and not any(code.replace("-", "") in "".join(hashes) for code in codes)
    later = client.get("/settings/account").get_data(as_text=True)
    assert "10 unused recovery codes" in later and codes[0] not in later  # shown once


def test_log_in_asks_for_a_code_after_the_password_and_grants_nothing_before_it(client, accounts, enrolled):
    secret, _ = enrolled
    response = accounts.login()
    assert response.status_code == 303 and response.headers["Location"] == "/login/code"
    for path in ("/invoices/", "/settings/account", "/customers/"):
        assert client.get(path).status_code == 302, path
    assert client.post("/logout").status_code == 302  # not logged in: nothing to log out of
    wrong = client.post("/login/code", data={"code": "12345"})
    assert wrong.status_code == 401 and "not right" in wrong.get_data(as_text=True)
    assert client.get("/invoices/").status_code == 302

    right = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})

    assert right.status_code == 303 and right.headers["Location"] == "/"  # the dashboard
    assert client.get("/invoices/").status_code == 200


def test_the_code_step_keeps_next_and_remember_me(client, accounts, enrolled):
    secret, _ = enrolled
    client.post("/login?next=/customers/", data={"email": "ada@example.com", "password": PASSWORD, "remember": "y"})
    right = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert right.headers["Location"] == "/customers/"
    assert client.get_cookie("remember_token") is not None


def test_a_wrong_password_never_reaches_the_code_step(client, accounts, enrolled):
    secret, _ = enrolled
    assert accounts.login(password="wrong password").status_code == 401
    response = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/invoices/").status_code == 302


def test_a_code_is_not_accepted_twice(client, accounts, enrolled):
    secret, _ = enrolled
    code = pyotp.TOTP(secret).now()
    accounts.login()
    assert client.post("/login/code", data={"code": code}).status_code == 303
    accounts.logout()
    accounts.login()
    replay = client.post("/login/code", data={"code": code})
    assert replay.status_code == 401 and "used already" in replay.get_data(as_text=True)


def test_a_recovery_code_works_once(client, accounts, enrolled):
    _, codes = enrolled
    accounts.login()
    assert client.post("/login/code", data={"code": codes[3].upper()}).status_code == 303
    accounts.logout()
    accounts.login()
    assert client.post("/login/code", data={"code": codes[3]}).status_code == 401
    assert client.post("/login/code", data={"code": codes[4]}).status_code == 303
    assert "8 unused recovery codes" in client.get("/settings/account").get_data(as_text=True)


def test_wrong_codes_are_throttled(client, accounts, enrolled, app):
    secret, _ = enrolled
    accounts.login()
    limit = app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert client.post("/login/code", data={"code": "000000"}).status_code in (401, 303)
    refused = client.post("/login/code", data={"code": pyotp.TOTP(secret).now()})
    assert refused.status_code == 429 and "Too many wrong codes" in refused.get_data(as_text=True)
    assert client.get("/invoices/").status_code == 302


def test_turning_it_off_needs_a_code(client, accounts, enrolled):
    secret, _ = enrolled
    accounts.login()
    client.post("/login/code", data={"code": code_at(secret, datetime.now(timezone.utc) - timedelta(seconds=30))})
    wrong = client.post("/settings/account/two-factor/disable", data={"disable_code": "999999"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)

    off = client.post("/settings/account/two-factor/disable", data={"disable_code": pyotp.TOTP(secret).now()})

    assert off.status_code == 303
    accounts.logout()
    response = accounts.login()
    assert response.status_code == 303 and response.headers["Location"] == "/"  # the dashboard


def test_codes_are_checked_with_one_step_of_clock_either_side_and_never_replayed(app, accounts, tmp_path):
    accounts.register()
    with app.app_context():
        keyring = connections.open_keyring(None, Path(app.instance_path) / "data.key")
        user = db.session.scalar(db.select(User))
        secret = two_factor.begin_enrollment(user, keyring)
        db.session.commit()
        now = datetime(2026, 11, 30, 12, 0, 10, tzinfo=timezone.utc)
        step = timedelta(seconds=30)

        assert not two_factor.accept_totp(user, code_at(secret, now - 2 * step), keyring, now)
        assert not two_factor.accept_totp(user, code_at(secret, now + 2 * step), keyring, now)
        assert two_factor.accept_totp(user, code_at(secret, now - step), keyring, now)
        assert not two_factor.accept_totp(user, code_at(secret, now - step), keyring, now)  # replayed
        assert two_factor.accept_totp(user, code_at(secret, now + step), keyring, now)
        # Once a later step was used, an earlier code (still inside the window) is not accepted either.
        assert not two_factor.accept_totp(user, code_at(secret, now), keyring, now)
        later = now + 3 * step
        assert two_factor.accept_totp(user, code_at(secret, later), keyring, later)


def test_the_secret_survives_a_data_key_rotation(app, client, logged_in, runner):
    secret, _ = enroll(client)
    result = runner.invoke(args=["rotate-data-key"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        keyring = connections.open_keyring(None, Path(app.instance_path) / "data.key")
        user = db.session.scalar(db.select(User))
        assert user.totp_key_id == keyring.current_key_id and len(keyring.key_ids) == 1
        later = datetime.now(timezone.utc) + timedelta(seconds=30)
        assert two_factor.accept_totp(user, code_at(secret, later), keyring, later)
