"""The demo business `make demo` prepares: Demo Studio with its owner and two members (a member and a
viewer), its profile
filled in, and a customer linked to the sandbox's Northwind client, ready to connect Clockify and
import."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from extensions import db
from models import Customer, Membership, User
from services.accounts import hash_password
from services.businesses import create_business

DEMO_EMAIL = "demo@hourbill.example"
DEMO_MEMBER_EMAIL = "member@hourbill.example"
DEMO_VIEWER_EMAIL = "viewer@hourbill.example"
DEMO_PASSWORD = "hourbill-demo"


def ensure_demo_account(northwind_client_id: str) -> User:
    """Create the demo business, its owner, a member, a viewer and a customer once; later runs leave what the
    visitor changed alone."""
    user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = User(email=DEMO_EMAIL, display_name="Demo Freelancer", time_zone="UTC",
                    password_hash=hash_password(DEMO_PASSWORD, current_app.config))
        member = User(email=DEMO_MEMBER_EMAIL, display_name="Demo Colleague", time_zone="UTC",
                      password_hash=hash_password(DEMO_PASSWORD, current_app.config))
        viewer = User(email=DEMO_VIEWER_EMAIL, display_name="Demo Accountant", time_zone="UTC",
                      password_hash=hash_password(DEMO_PASSWORD, current_app.config))
        db.session.add_all([user, member, viewer])
        db.session.flush()
        business = create_business(user, "Demo Studio", address="1 Example Street\n10115 Berlin", email=DEMO_EMAIL,
                                   tax_id="DE000000000", default_currency="USD", default_hourly_rate_minor=9000,
                                   invoice_prefix="DEMO-")
        db.session.add_all([Membership(user_id=member.id, business_id=business.id, role="member"),
                            Membership(user_id=viewer.id, business_id=business.id, role="viewer")])
        db.session.add(Customer(business_id=business.id, name="Northwind", email="billing@northwind.example",
                                address="2 Harbour Road\nSeattle", currency="USD",
                                clockify_client_id=northwind_client_id))
        db.session.commit()
    return user
