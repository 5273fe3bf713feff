"""Running Hourbill: health check, backup and restore, upgrades that keep data, the demo account,
the gunicorn configuration."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from flask_migrate import upgrade

from app import create_app
from extensions import db
from models import Customer, Invoice, LineItem, User
from services.demo import DEMO_EMAIL, ensure_demo_account
from tests.migrating import migrating

ROOT = Path(__file__).resolve().parents[1]
FIRST_REVISION = "6436807aed08"


def test_health_says_ok_while_the_database_answers(client):
    response = client.get("/health")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_health_says_503_when_the_database_is_gone(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"},
                     instance_path=str(tmp_path / "instance"))
    response = app.test_client().get("/health")
    assert response.status_code == 503 and response.json["status"] == "database unavailable"


@pytest.mark.sqlite_only
def test_backup_is_a_consistent_copy_that_restores(client, logged_in, app, runner, tmp_path):
    invoice_id = logged_in.invoice(logged_in.customer("Backup Co"))
    logged_in.line(invoice_id, description="Kept safe", quantity="2", rate="50")
    target = tmp_path / "backups" / "hourbill.db"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "data.key" in result.output and "secret_key" in result.output
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    again = runner.invoke(args=["backup", str(target)])
    assert again.exit_code != 0 and "exists already" in again.output

    restored = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"}, instance_path=app.instance_path)
    with restored.app_context():
        line = db.session.scalar(db.select(LineItem))
        assert (line.description, line.amount_minor) == ("Kept safe", 10000)
        assert db.session.get(Invoice, invoice_id).customer.name == "Backup Co"


def test_upgrading_a_database_filled_by_the_first_release_keeps_everything(tmp_path):
    path = tmp_path / "old.db"
    with migrating(tmp_path, f"sqlite:///{path}"):
        upgrade(revision=FIRST_REVISION)
        with sqlite3.connect(path) as old:  # rows as the first release wrote them
            old.execute("INSERT INTO users (id, email, password_hash, display_name, time_zone, created_at, business_name,"
                        " business_address, business_email, tax_id, default_currency, default_hourly_rate_minor,"
                        " default_tax_rate, invoice_prefix, next_invoice_number, payment_terms_days) VALUES"
                        " (1, 'old@example.com', 'x', 'Old', 'UTC', '2026-01-01 00:00:00', 'Old Co', '', '', '', 'EUR',"
                        " 8000, 19000, 'OLD-', 7, 14)")
            old.execute("INSERT INTO customers (id, user_id, name, email, address, currency, clockify_client_id, created_at)"
                        " VALUES (1, 1, 'Client', '', '', 'EUR', NULL, '2026-01-01 00:00:00')")
            old.execute("INSERT INTO invoices (id, user_id, customer_id, number, status, issue_date, due_date, currency,"
                        " notes, tax_rate, discount_minor, created_at) VALUES (1, 1, 1, 'OLD-0006', 'sent', '2026-01-01',"
                        " '2026-01-15', 'EUR', 'n', 19000, 0, '2026-01-01 00:00:00')")
            old.execute("INSERT INTO line_items (id, invoice_id, position, description, quantity, unit, rate_minor,"
                        " amount_minor, source) VALUES (1, 1, 1, 'Work', 15000, 'h', 8000, 12000, 'manual')")
        upgrade()
        business = db.session.get(User, 1).memberships[0].business
        invoice = db.session.get(Invoice, 1)
        assert business.name == "Old Co" and invoice.business_id == business.id
        assert (business.default_tax_rate, business.next_invoice_number, business.default_hourly_rate_minor) == (19, 7, 8000)
        assert invoice.number == "OLD-0006" and invoice.lines[0].amount_minor == 12000
        assert str(invoice.lines[0].quantity) == "1.5000"
        assert db.session.get(Customer, 1).import_options is None


def test_the_demo_business_is_made_once_with_its_owner_two_members_a_profile_and_a_linked_customer(app):
    with app.app_context():
        first = ensure_demo_account("c-1").id
        assert ensure_demo_account("c-1").id == first
        user = db.session.scalar(db.select(User).where(User.email == DEMO_EMAIL))
        (membership,) = user.memberships
        business = membership.business
        assert membership.role == "owner" and business.name == "Demo Studio"
        assert sorted(each.role for each in business.memberships) == ["member", "owner", "viewer"]
        (customer,) = db.session.scalars(db.select(Customer).where(Customer.business_id == business.id))
        assert customer.clockify_client_id == "c-1"


def test_the_gunicorn_configuration_loads_and_serves_the_app():
    result = subprocess.run([sys.executable, "-m", "gunicorn", "--check-config", "-c", "gunicorn.conf.py",
                             "app:create_app()"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_a_new_process_renders_from_templates_compiled_by_an_earlier_one(tmp_path, monkeypatch):
    """Compiled templates are kept in instance/template-cache, so a fresh worker does not compile again a
    template an earlier process compiled; a folder that cannot be written keeps nothing and fails no page."""
    import flask

    # The suite shares one cache in memory (tests/fixtures.py): take the app's own.
    options = {name: value for name, value in flask.Flask.jinja_options.items() if name != "bytecode_cache"}
    monkeypatch.setattr(flask.Flask, "jinja_options", options)

    def fresh_app():
        return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"},
                          instance_path=str(tmp_path / "instance"))

    fresh_app().jinja_env.get_template("auth/login.html")
    kept = tmp_path / "instance" / "template-cache"
    assert list(kept.glob("__jinja2_*.cache")), "nothing kept on disk"

    second = fresh_app()
    compiled = []
    real_compile = second.jinja_env.compile
    monkeypatch.setattr(second.jinja_env, "compile", lambda *a, **k: compiled.append(a) or real_compile(*a, **k))
    second.jinja_env.get_template("auth/login.html")
    assert compiled == []  # loaded from what the first process compiled

    third = fresh_app()
    shutil.rmtree(kept)
    kept.write_text("")  # a folder that cannot be written (even by root): nothing can be kept
    assert third.jinja_env.get_template("auth/register.html").name == "auth/register.html"  # compiled, not kept
