"""The owner's powers over the whole business: requiring two-factor authentication of every member,
and deleting the business with everything in it (and nothing of any other business)."""
from datetime import timedelta

import pytest

from extensions import db
from models import (Business, ClockifyCache, ClockifyConnection, ClockifyCurrencyLabel, ConnectionRequest, Customer,
                    ImportedEntry, Invitation, Invoice, LineItem, Membership, User, utcnow)
from tests.test_auth_two_factor import enroll


def _business_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalar(db.select(Business.id).where(Business.name == name))


# --- requiring two-factor authentication ---------------------------------------------------------------

@pytest.fixture
def studio(client, accounts, app):
    """Ada owns "Demo Studio" (a customer, a draft with a line); Mia is a member without 2FA. Logged out."""
    accounts.register("ada@example.com", name="Demo Studio")
    customer = accounts.customer()
    draft = accounts.invoice(customer)
    accounts.line(draft)
    accounts.logout()
    accounts.add_member("mia@example.com", "member")
    return {"customer_id": customer, "invoice_id": draft}


def _require(client, accounts, on=True):
    accounts.login("ada@example.com")
    return client.post("/businesses/security", data={"require_two_factor": "y"} if on else {})


def test_the_owner_cannot_require_it_without_using_it_and_then_can(client, accounts, app, studio):
    refused = _require(client, accounts)
    assert refused.status_code == 303
    page = client.get("/settings/profile").get_data(as_text=True)
    assert "Set up two-factor authentication for your own account first" in page
    assert not db_required(app)
    enroll(client)
    assert client.post("/businesses/security", data={"require_two_factor": "y"}).status_code == 303
    assert db_required(app)
    assert "now requires two-factor authentication" in client.get("/settings/profile").get_data(as_text=True)


def db_required(app) -> bool:
    with app.app_context():
        return db.session.scalar(db.select(Business.require_two_factor).where(Business.name == "Demo Studio"))


def test_only_the_owner_may_require_it(client, accounts, app, studio):
    accounts.add_member("adam@example.com", "admin")
    accounts.login("adam@example.com")
    response = client.post("/businesses/security", data={"require_two_factor": "y"})
    assert response.status_code == 403 and "needs the owner role" in response.get_data(as_text=True)
    assert not db_required(app)


def test_a_member_without_it_is_sent_to_set_it_up_on_every_page_then_gets_in(client, accounts, app, studio):
    _require(client, accounts)
    enroll(client)
    client.post("/businesses/security", data={"require_two_factor": "y"})
    accounts.logout()
    login = accounts.login("mia@example.com")
    assert login.headers["Location"] == "/settings/account"
    pages = ["/invoices/", f"/invoices/{studio['invoice_id']}", "/customers/", "/customers/new",
             f"/customers/{studio['customer_id']}/edit", "/settings/integrations", f"/invoices/{studio['invoice_id']}/pdf"]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"] == "/settings/account", url
    before = lines(app, studio["invoice_id"])
    sneaked = client.post(f"/invoices/{studio['invoice_id']}/lines", data={"description": "x", "quantity": "1",
                                                                          "rate": "1"})
    assert sneaked.status_code == 302 and sneaked.headers["Location"] == "/settings/account"
    assert lines(app, studio["invoice_id"]) == before
    account = client.get("/settings/account").get_data(as_text=True)
    assert "Demo Studio requires two-factor authentication: set it up to continue" in account
    enroll(client)  # the account page stays reachable
    for url in pages[:-1]:
        assert client.get(url).status_code == 200, url
    assert client.post("/logout").status_code in (302, 303)  # log-out stays reachable


def lines(app, invoice_id) -> int:
    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(LineItem).where(LineItem.invoice_id == invoice_id))


def test_a_member_of_two_businesses_still_uses_the_one_that_does_not_require_it(client, accounts, app, studio):
    _require(client, accounts)
    enroll(client)
    client.post("/businesses/security", data={"require_two_factor": "y"})
    accounts.logout()
    accounts.register("bob@example.com", name="Bob Books")
    accounts.customer("Bob's customer")
    accounts.add_member("bob@example.com", "member", business_id=_business_id(app, "Demo Studio"))
    studio_id = _business_id(app, "Demo Studio")
    assert client.post("/businesses/switch", data={"business_id": studio_id}).status_code == 303
    assert client.get("/customers/").headers["Location"] == "/settings/account"
    client.post("/businesses/switch", data={"business_id": _business_id(app, "Bob Books")})  # the switcher works
    page = client.get("/customers/")
    assert page.status_code == 200 and "Bob&#39;s customer" in page.get_data(as_text=True)


# --- deleting a business ---------------------------------------------------------------------------------

def _fill(app, client, accounts, owner_email: str, name: str) -> int:
    """A business with a customer, a sent invoice and a draft with lines, a connection with its cache and
    currency labels, an imported entry, an invitation and a colleague link."""
    accounts.register(owner_email, name=name)
    customer = accounts.customer(f"{name} customer")
    sent = accounts.invoice(customer)
    accounts.line(sent)
    client.post(f"/invoices/{sent}/send")
    draft = accounts.invoice(customer)
    accounts.line(draft)
    with app.app_context():
        business = db.session.scalar(db.select(Business.id).where(Business.name == name))
        owner = db.session.scalar(db.select(User.id).where(User.email == owner_email))
        connection = ClockifyConnection(business_id=business, created_by_user_id=owner, name=f"{name} Clockify",
                                        key_last4="abcd", key_id="k1", key_nonce=b"n" * 12,
                                        key_ciphertext=b"secret-" + name.encode())
        db.session.add(connection)
        db.session.flush()
        db.session.add(ClockifyCache(connection_id=connection.id, key="workspaces", payload=[]))
        db.session.add(ClockifyCurrencyLabel(connection_id=connection.id, workspace_id="w1", label="USD",
                                             currency="USD"))
        line = db.session.scalar(db.select(LineItem).where(LineItem.invoice_id == draft))
        db.session.add(ImportedEntry(business_id=business, invoice_id=draft, line_item_id=line.id, workspace_id="w1",
                                     entry_id=f"e-{name}", seconds=3600, rate_minor=5000))
        later = utcnow() + timedelta(days=3)
        db.session.add(Invitation(business_id=business, email=f"x@{name}.example", role="member", token_hash="i" + name,
                                  invited_by_user_id=owner, expires_at=later))
        db.session.add(ConnectionRequest(business_id=business, requested_by_user_id=owner, token_hash="c" + name,
                                         expires_at=later))
        db.session.commit()
    accounts.logout()
    return business


def _rows(app) -> dict:
    models = (Business, Membership, Customer, Invoice, LineItem, ClockifyConnection, ClockifyCache,
              ClockifyCurrencyLabel, ImportedEntry, Invitation, ConnectionRequest)
    with app.app_context():
        return {model.__tablename__: sorted(tuple(str(getattr(row, column.key)) for column in model.__table__.columns)
                                            for row in db.session.scalars(db.select(model)))
                for model in models}


def _without(rows: dict, business_rows: dict) -> dict:
    return {table: [row for row in found if row not in business_rows[table]] for table, found in rows.items()}


@pytest.fixture
def two_businesses(app, client, accounts):
    """Ada owns "Ada Studio" and Bob "Bob Books", each filled; Bob is also an admin of Ada Studio."""
    empty = _rows(app)
    ada = _fill(app, client, accounts, "ada@example.com", "Ada Studio")
    only_ada = _without(_rows(app), empty)
    bob = _fill(app, client, accounts, "bob@example.com", "Bob Books")
    accounts.add_member("bob@example.com", "admin", business_id=ada)
    return {"ada": ada, "bob": bob, "only_ada": only_ada}


def test_the_owner_deletes_the_business_with_all_its_rows_and_nothing_else(app, client, accounts, two_businesses):
    accounts.register("carol@example.com", name="Carol")  # a third business, untouched too
    accounts.logout()
    accounts.login("ada@example.com")
    page = " ".join(client.get("/businesses/delete").get_data(as_text=True).split())
    assert "Type the business name to delete it and everything in it: 1 customers, 2 invoices, 1 connections" in page
    assert "tax authorities" in page and "(PDF)" in page  # a sent invoice: keep its PDF
    before = _rows(app)
    wrong = client.post("/businesses/delete", data={"name": "Ada"})
    assert wrong.status_code == 422 and "Type the business name exactly" in wrong.get_data(as_text=True)
    assert _rows(app) == before

    done = client.post("/businesses/delete", data={"name": "Ada Studio"})
    assert done.status_code == 303 and done.headers["Location"] == "/businesses/new"  # Ada has no other business
    after = _rows(app)
    for table, rows in two_businesses["only_ada"].items():
        assert rows, table  # the fill made a row of every table
        assert not set(rows) & set(after[table]), table
    bobs_membership = [row for row in before["memberships"] if row not in after["memberships"]]
    assert len(bobs_membership) == 2  # Ada's ownership and Bob's admin membership went with it
    assert after == {table: [row for row in rows if row not in two_businesses["only_ada"][table]
                             and row not in bobs_membership] for table, rows in before.items()}
    with app.app_context():
        assert b"secret-Ada Studio" not in [row.key_ciphertext for row in db.session.scalars(db.select(ClockifyConnection))]
        assert db.session.scalar(db.select(User.id).where(User.email == "ada@example.com"))  # her account stays


def test_after_deleting_the_owner_lands_on_another_business_of_theirs(app, client, accounts, two_businesses):
    accounts.add_member("ada@example.com", "viewer", business_id=two_businesses["bob"])
    accounts.login("ada@example.com")
    client.post("/businesses/switch", data={"business_id": two_businesses["ada"]})
    done = client.post("/businesses/delete", data={"name": "Ada Studio"})
    assert done.status_code == 303 and done.headers["Location"] == "/invoices/"
    page = client.get("/customers/").get_data(as_text=True)
    assert "Bob Books customer" in page


def test_an_admin_may_not_delete_the_business(app, client, accounts, two_businesses):
    accounts.login("bob@example.com")
    client.post("/businesses/switch", data={"business_id": two_businesses["ada"]})
    before = _rows(app)
    assert client.get("/businesses/delete").status_code == 403
    refused = client.post("/businesses/delete", data={"name": "Ada Studio"})
    assert refused.status_code == 403 and "needs the owner role" in refused.get_data(as_text=True)
    assert _rows(app) == before
