"""Configuration: defaults, then instance/config.py, then the environment (every setting as HOURBILL_<NAME>,
plus the conventional SECRET_KEY and DATABASE_URL); the README's table names every setting; passwords are
hashed with scrypt unless configured otherwise; a PostgreSQL URL without its driver says how to install it."""
from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import pytest

from app import create_app
from extensions import db
from models import User
from tests.client import BrowserLikeClient
from tests.fixtures import CHEAP_PASSWORD_HASH, PASSWORD

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture
def environment(monkeypatch):
    """The process environment without any Hourbill setting (the test run's own HOURBILL_TEST_* included)."""
    for name in list(os.environ):
        if name.startswith("HOURBILL_") or name in {"SECRET_KEY", "DATABASE_URL"}:
            monkeypatch.delenv(name)
    return monkeypatch


def make_app(tmp_path, **test_config):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}", **test_config},
                     instance_path=str(tmp_path / "instance"))
    app.test_client_class = BrowserLikeClient
    with app.app_context():
        db.create_all()
    return app


def register(client, email="ada@example.com"):
    return client.post("/register", data={"display_name": "Ada", "email": email, "password": PASSWORD,
                                          "confirm": PASSWORD})


def test_production_hashes_passwords_with_scrypt(environment, tmp_path):
    app = make_app(tmp_path)
    assert app.config["HOURBILL_PASSWORD_HASH_METHOD"] == "scrypt"
    client = app.test_client()
    assert register(client).status_code == 303
    with app.app_context():
        assert db.session.scalar(db.select(User.password_hash)).startswith("scrypt:")
    client.post("/logout")
    assert client.post("/login", data={"email": "ada@example.com", "password": PASSWORD}).status_code == 303


def test_cache_age_timeouts_and_log_in_limits_come_from_the_environment(environment, tmp_path):
    environment.setenv("HOURBILL_CLOCKIFY_CACHE_SECONDS", "60")
    environment.setenv("HOURBILL_CLOCKIFY_TIMEOUT", "[2, 7.5]")
    environment.setenv("HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")
    environment.setenv("HOURBILL_LOCALE", "de_DE")
    environment.setenv("HOURBILL_MAX_CONTENT_LENGTH", "1048576")  # Flask's own setting, under our prefix
    app = make_app(tmp_path, HOURBILL_PASSWORD_HASH_METHOD=CHEAP_PASSWORD_HASH)
    config = app.config
    assert config["HOURBILL_CLOCKIFY_CACHE_SECONDS"] == 60
    assert config["HOURBILL_CLOCKIFY_TIMEOUT"] == (2, 7.5)
    assert (config["HOURBILL_LOCALE"], config["MAX_CONTENT_LENGTH"]) == ("de_DE", 1048576)

    client = app.test_client()
    register(client)
    client.post("/logout")
    for _ in range(2):
        wrong = client.post("/login", data={"email": "ada@example.com", "password": "not the password"})
        assert wrong.status_code == 401
    slowed = client.post("/login", data={"email": "ada@example.com", "password": PASSWORD})
    assert slowed.status_code == 429 and "Too many failed log-ins" in slowed.get_data(as_text=True)


def test_the_environment_overrides_instance_config_and_an_empty_variable_counts_as_unset(environment, tmp_path):
    (tmp_path / "instance").mkdir()
    (tmp_path / "instance" / "config.py").write_text("HOURBILL_CLOCKIFY_CACHE_SECONDS = 100\n"
                                                     "HOURBILL_LOCALE = 'en_GB'\n")
    environment.setenv("HOURBILL_CLOCKIFY_CACHE_SECONDS", "200")
    environment.setenv("HOURBILL_LOCALE", "")
    app = make_app(tmp_path)
    assert (app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"], app.config["HOURBILL_LOCALE"]) == (200, "en_GB")


def test_the_documented_variable_names_keep_working(environment, tmp_path):
    environment.setenv("SECRET_KEY", "s" * 40)
    environment.setenv("DATABASE_URL", "postgres://user:pass@db.example/hourbill")
    environment.setenv("HOURBILL_SECURE_COOKIES", "1")
    environment.setenv("HOURBILL_PROXY_FIX", "1")
    environment.setenv("HOURBILL_DATA_KEY", "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0=,b2xkLWtleQ==")
    app = create_app(instance_path=str(tmp_path / "instance"))
    config = app.config
    assert config["SECRET_KEY"] == "s" * 40
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user:pass@db.example/hourbill"
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["HOURBILL_PROXY_FIX"] == 1
    assert config["HOURBILL_DATA_KEY"] == "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleS0=,b2xkLWtleQ=="


def test_the_readme_lists_every_setting_with_its_variable(environment, tmp_path):
    app = create_app(instance_path=str(tmp_path / "instance"))
    table = README.read_text().split("## Configuration", 1)[1].split("\n\n## ", 1)[0]
    ours = {name for name in app.config if name.startswith("HOURBILL_")}
    ours |= {"SECRET_KEY", "DATABASE_URL", "HOURBILL_DATA_KEY", "HOURBILL_CLOCKIFY_API_URL",
             "HOURBILL_CLOCKIFY_REPORTS_URL", "HOURBILL_SECURE_COOKIES", "HOURBILL_PROXY_FIX",
             "HOURBILL_INSTANCE_PATH"}
    assert sorted(name for name in ours if f"`{name}`" not in table) == []


def test_a_postgresql_url_without_its_driver_says_how_to_install_it(environment, tmp_path):
    environment.setitem(sys.modules, "psycopg", None)  # as if psycopg were not installed
    with pytest.raises(RuntimeError, match=r"pip install 'hourbill\[postgres\]'"):
        create_app({"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://user:pass@db.example/hourbill"},
                   instance_path=str(tmp_path / "instance"))


def test_starting_the_app_compiles_no_e_invoice_rules(environment, tmp_path, monkeypatch):
    """The compiled official stylesheets hold about 190 MB: a worker compiles them on its first
    pre-flight, not at start-up, so one that never checks an e-invoice stays small (issue 15)."""
    from services.einvoice import rules

    compiled = []
    monkeypatch.setattr(rules, "_executable", lambda name: compiled.append(name))
    app = create_app(instance_path=str(tmp_path / "instance"))
    assert not app.testing
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and thread.name.startswith("compile"):
            thread.join(timeout=5)
    assert compiled == []
