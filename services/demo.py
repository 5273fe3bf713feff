"""The demo account `make demo` prepares: a user with a business profile and a customer linked to
the sandbox's Northwind client, ready to connect Clockify and import."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from extensions import db
from models import Customer, User

DEMO_EMAIL = "demo@hourbill.example"
DEMO_PASSWORD = "hourbill-demo"


def ensure_demo_account(northwind_client_id: str) -> User:
    """Create the demo user and customer once; later runs leave what the visitor changed alone."""
    user = db.session.scalar(select(User).where(User.email == DEMO_EMAIL))
    if user is None:
        user = User(email=DEMO_EMAIL, display_name="Demo Freelancer",
                    password_hash=generate_password_hash(DEMO_PASSWORD, method="scrypt"),
                    business_name="Demo Studio", business_address="1 Example Street\n10115 Berlin",
                    business_email=DEMO_EMAIL, tax_id="DE000000000", default_currency="USD",
                    default_hourly_rate_minor=9000, invoice_prefix="DEMO-", time_zone="UTC")
        db.session.add(user)
        db.session.flush()
        db.session.add(Customer(user_id=user.id, name="Northwind", email="billing@northwind.example",
                                address="2 Harbour Road\nSeattle", currency="USD",
                                clockify_client_id=northwind_client_id))
        db.session.commit()
    return user
