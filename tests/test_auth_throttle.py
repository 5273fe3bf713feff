"""Log-in throttling that does not lock out the owner: strict per account and address, loose per
address, a soft per-account slow-down; slots claimed before a password is checked, so parallel guesses
cannot overrun the limit. The races run through a real threaded server."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pyotp
import pytest
import requests
from werkzeug.middleware.proxy_fix import ProxyFix

from extensions import db
from models import LoginAttempt, User
from services import login_throttle
from tests.browser import serve
from tests.fixtures import PASSWORD
from tests.test_concurrency import _all_at_once, _copies


@pytest.fixture
def server(app):
    """The app on a threaded server that believes X-Forwarded-For, so a test can come from many addresses."""
    url, stop = serve(ProxyFix(app.wsgi_app, x_for=1))
    yield url
    stop()


def browser(base: str, address: str = "127.0.0.1") -> requests.Session:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = address
    page = session.get(f"{base}/login").text
    session.headers["X-CSRFToken"] = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return session


def statuses(results) -> list:
    return [getattr(result, "status_code", repr(result)) for result in results]


def register(base: str, email="ada@example.com") -> None:
    session = browser(base, "10.1.1.1")
    response = session.post(f"{base}/register", allow_redirects=False, data={
        "display_name": "Ada", "email": email, "password": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 303


def guess(session, base, email="ada@example.com", password="wrong password"):
    return lambda: session.post(f"{base}/login", data={"email": email, "password": password}, allow_redirects=False)


# Guesses sent at once: every one is held at its first write until all have reached theirs
# (tests/test_concurrency.py's _all_at_once), so a few times the limit overruns an unguarded claim as
# surely as a hundred did. Ten: as many as the harness holds (_FirstWrites.AT_MOST); of 25, the fifteen
# past it were never held, only more requests. Twice the account limit (5).
GUESSES = 10


def test_parallel_guesses_past_the_limit_check_at_most_the_limit(app, server):
    register(server)
    limit = app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    attacker = browser(server, "203.0.113.7")

    results = _all_at_once([guess(session, server) for session in _copies(attacker, GUESSES)])

    codes = statuses(results)
    # 401 is a password that was checked and wrong; 429 was refused before any check.
    assert codes.count(401) == limit and codes.count(429) == GUESSES - limit, codes
    refused = next(result for result in results if result.status_code == 429)
    assert "Too many failed log-ins" in refused.text
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(LoginAttempt.id))
                                 .where(LoginAttempt.key.like("account:ada@example.com|%"))) == limit


def test_parallel_guesses_at_many_accounts_check_at_most_the_address_limit(app, server):
    app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 6  # each guess at another account: none reaches 5
    attacker = browser(server, "203.0.113.8")

    results = _all_at_once([guess(session, server, email=f"guess{n}@example.com")
                            for n, session in enumerate(_copies(attacker, GUESSES))])

    codes = statuses(results)
    assert codes.count(401) == 6 and codes.count(429) == GUESSES - 6, codes


def test_the_owner_logs_in_from_another_address_during_an_attack(app, server):
    # Smaller numbers than the defaults (5 per address, slowed after 20), so the machine hashes fewer
    # wrong passwords: five addresses guess three times each, at once (ten checked, past the soft four).
    limit, soft, addresses = 2, 4, 5
    app.config.update(HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT=limit, HOURBILL_LOGIN_SLOW_DOWN_AFTER=soft,
                      HOURBILL_LOGIN_SLOW_DOWN_SECONDS=0.3)
    register(server)
    attackers = [session for n in range(addresses) for session in _copies(browser(server, f"198.51.100.{n}"), limit + 1)]
    owner = browser(server, "192.0.2.50")

    results = _all_at_once([guess(session, server) for session in attackers]
                           + [guess(owner, server, password=PASSWORD)])

    codes = statuses(results)
    assert codes[-1] == 303, codes[-1]  # the owner's right password, in the middle of the attack
    attack = codes[:-1]
    assert attack.count(401) == addresses * limit and attack.count(429) == addresses, attack
    with app.app_context():
        counted = db.session.scalar(db.select(db.func.count(LoginAttempt.id))
                                    .where(LoginAttempt.key == "account:ada@example.com"))
    # The account counts at most `soft` attempts; the owner's slot, when it was among them, was given
    # back by the right password, so one fewer remains then.
    assert counted in (soft - 1, soft), counted
    # One more guess from elsewhere takes the slot the owner gave back, if it did: the account is full.
    assert guess(browser(server, "198.51.100.99"), server)().status_code == 401
    # Still under attack: the owner is slowed down, never refused.
    started = time.monotonic()
    again = browser(server, "192.0.2.51").post(f"{server}/login", allow_redirects=False,
                                               data={"email": "ada@example.com", "password": PASSWORD})
    assert again.status_code == 303 and time.monotonic() - started >= 0.3


def test_the_same_code_sent_in_parallel_logs_in_once(app, server):
    app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 1000  # every request gets to check its code
    register(server)
    with app.app_context():
        from pathlib import Path

        from services import connections, two_factor

        keyring = connections.open_keyring(None, Path(app.instance_path) / "data.key")
        user = db.session.scalar(db.select(User))
        secret = two_factor.begin_enrollment(user, keyring)
        user.totp_enabled_at = datetime.now(timezone.utc)
        db.session.commit()

    for round_ in range(2):  # all ten have read the code's step before any claims it (_FirstWrites)
        with app.app_context():  # a fresh round: the code of this step is new again
            db.session.execute(db.update(User).values(totp_last_step=None))
            db.session.commit()
        owner = browser(server, "192.0.2.60")
        assert guess(owner, server, password=PASSWORD)().headers["Location"] == "/login/code"
        code = pyotp.TOTP(secret).at(datetime.now(timezone.utc) + timedelta(seconds=5))  # the same on both sides of a step change

        results = _all_at_once([lambda s=s: s.post(f"{server}/login/code", data={"code": code}, allow_redirects=False)
                                for s in _copies(owner, 10)])  # as many as _FirstWrites holds

        codes = statuses(results)
        assert sorted(codes) == [303] + [401] * 9, (round_, codes)
        winner = next(result for result in results if result.status_code == 303)
        logged_in = requests.Session()
        logged_in.cookies.update(winner.cookies)
        logged_in.cookies.update({name: value for name, value in owner.cookies.items() if name not in winner.cookies})
        assert logged_in.get(f"{server}/invoices/", allow_redirects=False).status_code == 200


def test_failures_from_one_address_never_refuse_the_right_password_from_another(client, accounts, app):
    accounts.register()
    accounts.logout()
    limit = app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        client.post("/login", data={"email": "ada@example.com", "password": "nope nope"},
                    environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert client.post("/login", data={"email": "ada@example.com", "password": PASSWORD},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 429
    owner = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "192.0.2.1"})
    assert owner.status_code == 303


def test_a_slot_is_free_again_once_it_has_aged_out(app):
    with app.app_context():
        now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
        assert [login_throttle.claim_slot("k", 2, 60, now)[0] for _ in range(2)] == [0, 1]
        slot, wait = login_throttle.claim_slot("k", 2, 60, now + timedelta(seconds=30))
        assert slot is None and wait == 31
        assert login_throttle.claim_slot("k", 2, 60, now + timedelta(seconds=60))[0] == 0
        db.session.commit()


def test_registering_a_taken_email_costs_a_log_in_attempt_and_says_the_same_each_time(client, accounts, app):
    app.config["HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS"] = 3
    accounts.register()
    accounts.logout()
    for _ in range(3):
        taken = client.post("/register", data={"display_name": "B", "email": "ada@example.com",
                                                "password": PASSWORD, "confirm": PASSWORD})
        assert taken.status_code == 422 and "exists already" in taken.get_data(as_text=True)
    refused = client.post("/register", data={"display_name": "B", "email": "bea@example.com",
                                              "password": PASSWORD, "confirm": PASSWORD})
    assert refused.status_code == 429 and "Too many attempts" in refused.get_data(as_text=True)
    assert accounts.login().status_code == 429  # the same budget as failed log-ins from this address
    other_address = client.post("/register", data={"display_name": "B", "email": "bea@example.com",
                                                   "password": PASSWORD, "confirm": PASSWORD},
                                environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other_address.status_code == 303


def test_a_claim_under_a_huge_limit_costs_what_one_under_the_default_does(app):
    """An operator may set a huge log-in limit: an attempt finds its slot in the database, without
    listing every slot up to the limit (at 10**6 that was ~36 MB and ~0.1 s per attempt)."""
    import tracemalloc
    with app.app_context():
        now = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
        assert [login_throttle.claim_slot("k", 10**6, 60, now)[0] for _ in range(3)] == [0, 1, 2]
        db.session.execute(db.delete(LoginAttempt).where(LoginAttempt.slot == 1))
        tracemalloc.start()
        try:
            assert login_throttle.claim_slot("k", 10**6, 60, now)[0] == 1  # the gap first
            assert login_throttle.claim_slot("k", 10**6, 60, now)[0] == 3
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 2_000_000, peak
        db.session.commit()


@pytest.mark.parametrize("configured, waited", [(600, 2.0), (-1, 0.0), (0.5, 0.5)])
def test_a_slowed_log_in_waits_at_most_two_seconds_whatever_the_setting(client, app, monkeypatch, configured, waited):
    """The wait holds a worker thread: a setting of minutes would tie up the server with a few guesses."""
    app.config.update(HOURBILL_LOGIN_SLOW_DOWN_AFTER=0, HOURBILL_LOGIN_SLOW_DOWN_SECONDS=configured)
    slept = []
    monkeypatch.setattr(login_throttle.time, "sleep", slept.append)
    response = client.post("/login", data={"email": "ada@example.com", "password": "wrong password"})
    assert response.status_code == 401 and slept == [waited]
