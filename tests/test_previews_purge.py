"""Stored import previews are deleted once confirmed or abandoned for a while (`flask purge-previews`),
one user keeps only a few unconfirmed ones (trim_previews), and what was billed is never touched."""
from __future__ import annotations

import secrets
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from extensions import db
from models import (ClockifyConnection, Customer, ImportedEntry, ImportPreview, ImportPreviewPage, Invoice, LineItem,
                    User, utcnow)
from services.businesses import create_business
from services.imports import trim_previews

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


class Previews:
    """Users with an invoice and a connection each, and previews of any age (built as rows: the wizard
    only ever makes them 'now')."""

    def __init__(self, app):
        self.app = app

    def user(self, email: str) -> int:
        with self.app.app_context():
            user = User(email=email, password_hash="x", display_name=email)
            db.session.add(user)
            db.session.flush()
            business = create_business(user, email)
            customer = Customer(business=business, name="Northwind", currency="USD")
            invoice = Invoice(business_id=business.id, customer=customer, issue_date=date(2026, 11, 1),
                              due_date=date(2026, 12, 1), currency="USD")
            connection = ClockifyConnection(business_id=business.id, created_by_user_id=user.id, name="Clockify")
            db.session.add_all([invoice, connection])
            db.session.commit()
            return user.id

    def add(self, user_id: int, created_ago: timedelta, confirmed_ago: timedelta | None = None,
            pages: int = 2) -> int:
        with self.app.app_context():
            connection = db.session.scalar(select(ClockifyConnection).where(ClockifyConnection.created_by_user_id == user_id))
            invoice_id = db.session.scalar(select(Invoice.id).where(Invoice.business_id == connection.business_id))
            connection_id = connection.id
            now = utcnow()
            preview = ImportPreview(token=secrets.token_urlsafe(32), business_id=connection.business_id, user_id=user_id,
                                    invoice_id=invoice_id,
                                    connection_id=connection_id, workspace_id="ws1", filters={}, entry_count=pages,
                                    pages_loaded=pages, complete=True, created_at=now - created_ago,
                                    confirmed_at=None if confirmed_ago is None else now - confirmed_ago)
            db.session.add(preview)
            db.session.flush()
            for number in range(1, pages + 1):
                db.session.add(ImportPreviewPage(preview_id=preview.id, number=number,
                                                 entries=[{"id": f"e{preview.id}-{number}", "description": "Work"}]))
            db.session.commit()
            return preview.id

    def billed(self, user_id: int, entry_id: str) -> None:
        """An entry billed on a line of the user's invoice (what an import leaves behind)."""
        with self.app.app_context():
            invoice = db.session.scalar(select(Invoice).join(ClockifyConnection, ClockifyConnection.business_id ==
                                                             Invoice.business_id)
                                        .where(ClockifyConnection.created_by_user_id == user_id))
            line = LineItem(position=1, description="Design", unit="h", source="clockify")
            line.set_amounts(Decimal("1.5"), 9000)
            invoice.lines.append(line)
            db.session.flush()
            db.session.add(ImportedEntry(business_id=invoice.business_id, invoice_id=invoice.id, line_item_id=line.id,
                                         workspace_id="ws1", entry_id=entry_id, seconds=5400, rate_minor=9000))
            db.session.commit()

    def left(self) -> set[int]:
        with self.app.app_context():
            return set(db.session.scalars(select(ImportPreview.id)))

    def pages_of(self, preview_ids) -> int:
        with self.app.app_context():
            return db.session.scalar(select(func.count(ImportPreviewPage.id))
                                     .where(ImportPreviewPage.preview_id.in_(list(preview_ids))))

    def billed_entries(self) -> list[tuple]:
        with self.app.app_context():
            return db.session.execute(select(ImportedEntry.business_id, ImportedEntry.entry_id, ImportedEntry.seconds,
                                             ImportedEntry.rate_minor, LineItem.amount_minor)
                                      .join(LineItem).order_by(ImportedEntry.id)).all()


@pytest.fixture
def previews(app):
    return Previews(app)


def purge(runner, *args):
    result = runner.invoke(args=["purge-previews", *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_previews_confirmed_or_abandoned_more_than_seven_days_ago_go_with_their_pages(previews, runner):
    ada = previews.user("ada@example.com")
    old_confirmed = previews.add(ada, created_ago=9 * DAY, confirmed_ago=7 * DAY + MINUTE)
    old_abandoned = previews.add(ada, created_ago=7 * DAY + MINUTE)
    recent_confirmed = previews.add(ada, created_ago=7 * DAY + MINUTE, confirmed_ago=7 * DAY - MINUTE)
    recent_abandoned = previews.add(ada, created_ago=7 * DAY - MINUTE)
    today = previews.add(ada, created_ago=MINUTE)

    said = purge(runner)

    assert previews.left() == {recent_confirmed, recent_abandoned, today}
    assert previews.pages_of([old_confirmed, old_abandoned]) == 0
    assert previews.pages_of([recent_confirmed, recent_abandoned, today]) == 6
    assert "Deleted 2 import previews older than 7 days: 1 confirmed, 1 never confirmed, 4 pages" in said


def test_every_users_old_previews_go_and_no_ones_recent_ones(previews, runner):
    ada, bob = previews.user("ada@example.com"), previews.user("bob@example.com")
    previews.add(ada, created_ago=30 * DAY)
    previews.add(bob, created_ago=8 * DAY, confirmed_ago=8 * DAY)
    bobs_recent = previews.add(bob, created_ago=DAY)

    purge(runner)

    assert previews.left() == {bobs_recent}


def test_purging_leaves_billed_entries_and_their_lines_as_they_were(previews, runner):
    ada = previews.user("ada@example.com")
    previews.add(ada, created_ago=10 * DAY, confirmed_ago=10 * DAY)
    previews.billed(ada, "e-billed")
    before = previews.billed_entries()

    purge(runner)

    assert previews.left() == set()
    assert previews.billed_entries() == before == [(ada, "e-billed", 5400, 9000, 13500)]


def test_purging_twice_deletes_nothing_the_second_time(previews, runner):
    ada = previews.user("ada@example.com")
    previews.add(ada, created_ago=10 * DAY)
    kept = previews.add(ada, created_ago=DAY)

    assert "Deleted 1 import preview older" in purge(runner)
    assert "Deleted 0 import previews older than 7 days: 0 confirmed, 0 never confirmed, 0 pages" in purge(runner)
    assert previews.left() == {kept}


def test_the_age_comes_from_the_setting_or_the_option(previews, runner, app):
    ada = previews.user("ada@example.com")
    previews.add(ada, created_ago=3 * DAY + MINUTE)
    one_day = previews.add(ada, created_ago=DAY + MINUTE)

    app.config["HOURBILL_PREVIEW_MAX_AGE_DAYS"] = "2"  # as the environment gives it: text
    assert "older than 2 days" in purge(runner)
    assert previews.left() == {one_day}
    assert "older than 1 day:" in purge(runner, "--days", "1")
    assert previews.left() == set()


def test_the_environment_sets_the_age(monkeypatch, tmp_path):
    from app import create_app

    monkeypatch.setenv("HOURBILL_PREVIEW_MAX_AGE_DAYS", "30")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'env.db'}"},
                     instance_path=str(tmp_path / "instance"))
    assert app.config["HOURBILL_PREVIEW_MAX_AGE_DAYS"] == 30  # environment values are read as JSON


@pytest.mark.parametrize("setting", ["seven", "0", "-3", ""])
def test_an_unusable_age_setting_deletes_nothing_and_says_why(previews, runner, app, setting):
    ada = previews.user("ada@example.com")
    old = previews.add(ada, created_ago=100 * DAY)
    app.config["HOURBILL_PREVIEW_MAX_AGE_DAYS"] = setting

    result = runner.invoke(args=["purge-previews"])

    assert result.exit_code != 0 and "whole number of days" in result.output and "Nothing was deleted" in result.output
    assert previews.left() == {old}


def test_a_zero_day_option_is_refused(previews, runner):
    ada = previews.user("ada@example.com")
    today = previews.add(ada, created_ago=MINUTE)
    result = runner.invoke(args=["purge-previews", "--days", "0"])
    assert result.exit_code != 0 and previews.left() == {today}


def test_a_user_keeps_only_their_newest_unconfirmed_previews(previews, app):
    ada, bob = previews.user("ada@example.com"), previews.user("bob@example.com")
    confirmed = previews.add(ada, created_ago=20 * DAY, confirmed_ago=20 * DAY)
    adas = [previews.add(ada, created_ago=(10 - n) * MINUTE) for n in range(7)]  # oldest first
    bobs = [previews.add(bob, created_ago=30 * MINUTE) for _ in range(7)]

    with app.app_context():
        deleted = trim_previews(ada, keep=5)
        db.session.commit()

    assert deleted == 2
    assert previews.left() == {confirmed, *adas[2:], *bobs}
    assert previews.pages_of(adas[:2]) == 0 and previews.pages_of(adas[2:]) == 10


def test_a_preview_just_started_counts_among_those_kept(previews, app):
    ada = previews.user("ada@example.com")
    older = [previews.add(ada, created_ago=MINUTE) for _ in range(3)]
    with app.app_context():
        invoice_id = db.session.scalar(select(Invoice.id))
        connection_id = db.session.scalar(select(ClockifyConnection.id))
        new = ImportPreview(token=secrets.token_urlsafe(32), business_id=db.session.scalar(select(Invoice.business_id)),
                            user_id=ada, invoice_id=invoice_id,
                            connection_id=connection_id, workspace_id="ws1", filters={})
        db.session.add(new)  # not flushed yet, as start_preview leaves it

        assert trim_previews(ada, keep=2) == 2
        db.session.commit()
        new_id = new.id

    assert previews.left() == {older[-1], new_id}


def test_trimming_leaves_billed_entries_and_is_idempotent(previews, app):
    ada = previews.user("ada@example.com")
    previews.billed(ada, "e-billed")
    for _ in range(4):
        previews.add(ada, created_ago=MINUTE)
    before = previews.billed_entries()

    with app.app_context():
        assert trim_previews(ada, keep=1) == 3
        assert trim_previews(ada, keep=1) == 0
        db.session.commit()

    assert len(previews.left()) == 1 and previews.billed_entries() == before
