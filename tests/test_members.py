"""Invitations and the members page: an invitation is a single-use link that expires and can be
revoked, accepted with a new account or an existing one; roles change and members are removed at
their very next request; ownership moves only by the owner; two accepts at once give one membership
(through a real threaded server)."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from extensions import db
from models import Business, ClockifyConnection, Invitation, Membership, User, utcnow
from tests.fixtures import PASSWORD
from tests.test_concurrency import _all_at_once, _copies, _session


def invite(client, email="bob@example.com", role="member"):
    response = client.post("/business/members/invite", data={"email": email, "role": role})
    assert response.status_code == 201, response.get_data(as_text=True)
    link = re.search(r'value="http://localhost(/invitations/[\w-]+)" data-testid="invitation-link"',
                     response.get_data(as_text=True))
    return link.group(1)


def join(client, path, name="Bob"):
    return client.post(path, data={"display_name": name, "password": PASSWORD, "confirm": PASSWORD})


def memberships(app, email):
    with app.app_context():
        return sorted(db.session.execute(db.select(Business.name, Membership.role).join(Membership.business)
                                         .join(Membership.user).where(User.email == email)).all())


def test_an_invitation_is_a_link_shown_once_whose_token_is_stored_only_hashed(app, client, logged_in):
    response = client.post("/business/members/invite", data={"email": "Bob@Example.com", "role": "viewer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 201
    assert "No mail server is set up (MAIL_SERVER, README), so Hourbill does not send it for you." in page
    token = re.search(r"/invitations/([\w-]+)", page).group(1)
    with app.app_context():
        invitation = db.session.scalar(db.select(Invitation))
        assert invitation.email == "bob@example.com" and invitation.role == "viewer"
        assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert invitation.expires_at - utcnow() > timedelta(days=6, hours=23)
        assert token not in repr([tuple(row) for row in db.session.execute(Invitation.__table__.select())])
    listed = client.get("/business/members").get_data(as_text=True)
    assert "bob@example.com as viewer" in listed and token not in listed


def test_a_new_account_joins_from_the_link_and_the_link_then_says_it_was_used(app, client, accounts, logged_in):
    path = invite(client)
    accounts.logout()
    page = client.get(path).get_data(as_text=True)
    assert "Ada invited bob@example.com to work in Ada as <strong>member</strong>" in page
    joined = join(client, path)
    assert joined.status_code == 303
    assert "You joined Ada as member." in client.get("/invoices/").get_data(as_text=True)
    assert memberships(app, "bob@example.com") == [("Ada", "member")]  # no business of his own made
    accounts.logout()
    again = client.get(path)
    assert again.status_code == 410 and "This link was used already" in again.get_data(as_text=True)
    assert join(client, path, name="Eve").status_code == 410
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(User.id))) == 2


def test_an_existing_account_logs_in_from_the_link_and_accepts(app, client, accounts, logged_in):
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    accounts.logout()
    accounts.login()
    path = invite(client, role="admin")
    accounts.logout()
    page = client.get(path).get_data(as_text=True)
    login = re.search(r'href="(/login\?next=[^"]+)"', page).group(1).replace("&amp;", "&")
    logged = client.post(login, data={"email": "bob@example.com", "password": PASSWORD})
    assert logged.headers["Location"] == path
    assert client.post(path).status_code == 303
    assert memberships(app, "bob@example.com") == [("Ada", "admin"), ("Bob", "owner")]
    assert "Ada · admin" in client.get("/invoices/").get_data(as_text=True)  # the business joined is current


def test_a_link_for_another_address_does_not_make_a_strangers_account_a_member(app, client, accounts, logged_in):
    path = invite(client)
    accounts.logout()
    accounts.register("eve@example.com", name="Eve")
    refused = client.post(path)
    assert refused.status_code == 409 and "This invitation is for bob@example.com" in refused.get_data(as_text=True)
    assert memberships(app, "eve@example.com") == [("Eve", "owner")]
    accounts.logout()
    assert join(client, path).status_code == 303  # still open for Bob


def test_an_expired_or_revoked_invitation_says_so_and_an_unknown_one_is_not_found(app, client, accounts, logged_in):
    expired, revoked = invite(client, "old@example.com"), invite(client, "gone@example.com")
    with app.app_context():
        db.session.execute(db.update(Invitation).where(Invitation.email == "old@example.com")
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        revoked_id = db.session.scalar(db.select(Invitation.id).where(Invitation.email == "gone@example.com"))
        db.session.commit()
    assert client.post("/business/members/invitations/revoke", data={"invitation_id": revoked_id}).status_code == 303
    client.get("/business/members")  # shows (and so clears) the message
    assert "gone@example.com" not in client.get("/business/members").get_data(as_text=True)
    accounts.logout()
    for path, words in ((expired, "This link has expired."), (revoked, "This link was revoked")):
        response = client.get(path)
        assert response.status_code == 410 and words in response.get_data(as_text=True)
        assert join(client, path).status_code == 410
    assert client.get("/invitations/not-a-real-token").status_code == 404
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Membership.id))) == 1


def test_invitation_days_are_a_setting(app, client, logged_in):
    app.config["HOURBILL_INVITATION_DAYS"] = 2
    invite(client)
    with app.app_context():
        lifetime = db.session.scalar(db.select(Invitation)).expires_at - utcnow()
    assert timedelta(days=1, hours=23) < lifetime <= timedelta(days=2)


def test_removing_a_member_ends_their_access_at_their_next_request(app, client, accounts, logged_in):
    mia = accounts.add_member("mia@example.com", "member")
    invoice = accounts.invoice(accounts.customer())
    other = app.test_client()
    Member = type(accounts)(app, other)
    Member.login("mia@example.com")
    with app.app_context():
        db.session.add(ClockifyConnection(business_id=db.session.scalar(db.select(Business.id)), created_by_user_id=mia,
                                          name="Mia's private", key_last4="abcd"))
        db.session.commit()
        membership = db.session.scalar(db.select(Membership.id).where(Membership.user_id == mia))
    assert other.get(f"/invoices/{invoice}").status_code == 200
    removed = client.post("/business/members/remove", data={"membership_id": membership}, follow_redirects=True)
    assert "Mia is removed from Ada" in removed.get_data(as_text=True)
    assert other.get(f"/invoices/{invoice}").status_code == 302  # no business left: led to create one
    with app.app_context():
        assert db.session.scalar(db.select(ClockifyConnection)) is None  # her private connection went with her


def test_a_role_change_applies_at_the_next_request_and_owners_change_only_by_transfer(app, client, accounts,
                                                                                       logged_in):
    adam = accounts.add_member("adam@example.com", "admin")
    other = app.test_client()
    type(accounts)(app, other).login("adam@example.com")
    with app.app_context():
        ids = dict(db.session.execute(db.select(Membership.user_id, Membership.id)).all())
        ada = db.session.scalar(db.select(User.id).where(User.email == "ada@example.com"))
    assert other.get("/business/members").status_code == 200
    refused = other.post("/business/members/role", data={"membership_id": ids[ada], "role": "viewer"},
                         follow_redirects=True)
    assert "only by transferring ownership" in refused.get_data(as_text=True)
    assert other.post("/business/members/transfer", data={"membership_id": ids[adam]}).status_code == 403
    assert client.post("/business/members/role", data={"membership_id": ids[adam], "role": "viewer"}).status_code == 303
    assert other.get("/business/members").status_code == 403
    assert memberships(app, "ada@example.com") == [("Ada", "owner")]


def test_the_owner_transfers_ownership_and_becomes_an_admin(app, client, accounts, logged_in):
    mia = accounts.add_member("mia@example.com", "member")
    with app.app_context():
        membership = db.session.scalar(db.select(Membership.id).where(Membership.user_id == mia))
    assert client.post("/business/members/transfer", data={"membership_id": membership}).status_code == 303
    assert memberships(app, "mia@example.com") == [("Ada", "owner")]
    assert memberships(app, "ada@example.com") == [("Ada", "admin")]
    assert client.post("/business/members/transfer", data={"membership_id": membership}).status_code == 403


def test_members_of_another_business_are_not_found(app, client, accounts, logged_in):
    accounts.logout()
    accounts.register("bob@example.com", name="Bob")
    with app.app_context():
        ada_member = db.session.scalar(db.select(Membership.id).join(Membership.user)
                                       .where(User.email == "ada@example.com"))
    assert client.post("/business/members/remove", data={"membership_id": ada_member}).status_code == 404
    assert client.post("/business/members/role", data={"membership_id": ada_member, "role": "viewer"}).status_code == 404
    assert memberships(app, "ada@example.com") == [("Ada", "owner")]


def test_ten_accepts_of_one_invitation_at_once_give_one_membership(app, live_server):
    owner = _session(live_server)
    for round_ in range(2):  # each round is the race (_FirstWrites: all ten read the link unused first)
        email = f"bob{round_}@example.com"
        page = owner.post(f"{live_server}/business/members/invite", data={"email": email, "role": "member"}).text
        path = re.search(r"/invitations/[\w-]+", page).group(0)
        bob = _session(live_server, email=email)
        responses = _all_at_once([lambda tab=tab: tab.post(live_server + path, allow_redirects=False)
                                  for tab in _copies(bob, 10)])
        statuses = [getattr(response, "status_code", response) for response in responses]
        # One joins; the others find the link used (410), or Bob a member already (409): never an error.
        assert statuses.count(303) == 1 and set(statuses) <= {303, 409, 410}, statuses
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count(Membership.id)).join(Membership.user).where(
                User.email == email, Membership.role == "member")) == 1  # besides owning the business he made
