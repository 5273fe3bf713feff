"""Customers and the business profile."""
from decimal import Decimal

from extensions import db
from models import Business, Customer, User


def test_add_edit_and_delete_a_customer(client, logged_in, app):
    customer_id = logged_in.customer("Acme", "eur", email="billing@acme.example", address="1 Road\nTown")
    listing = client.get("/customers/").get_data(as_text=True)
    assert "Acme" in listing and "EUR" in listing
    edited = client.post(f"/customers/{customer_id}/edit", data={"name": "Acme Ltd", "currency": "GBP", "email": "", "address": ""})
    assert edited.status_code == 303
    with app.app_context():
        customer = db.session.get(Customer, customer_id)
        assert (customer.name, customer.currency, customer.email) == ("Acme Ltd", "GBP", "")
    assert client.post(f"/customers/{customer_id}/delete").status_code == 303
    with app.app_context():
        assert db.session.get(Customer, customer_id) is None


def test_customer_form_errors_are_shown_next_to_the_field(client, logged_in):
    response = client.post("/customers/new", data={"name": "", "currency": "EURO", "email": "not-an-email"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give the customer a name." in html and "three-letter ISO 4217" in html and "Invalid email" in html


def test_a_customer_with_invoices_cannot_be_deleted_and_says_why(client, logged_in, app):
    customer_id = logged_in.customer("Acme")
    logged_in.invoice(customer_id)
    response = client.post(f"/customers/{customer_id}/delete", follow_redirects=True)
    assert "Acme has 1 invoice, so it cannot be deleted" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Customer, customer_id) is not None


def test_business_profile_saves_every_field(client, logged_in, app):
    response = client.post("/settings/profile", data={
        "business_name": "Ada Consulting", "business_address": "Main St 1", "business_email": "ada@consulting.example",
        "tax_id": "DE123", "default_currency": "jpy", "default_hourly_rate": "9000", "default_tax_rate": "7.5",
        "invoice_prefix": "AC-", "next_invoice_number": "100", "payment_terms_days": "21"})
    assert response.status_code == 303
    with app.app_context():
        business = db.session.scalar(db.select(Business))
        assert (business.name, business.address, business.email, business.tax_id, business.default_currency,
                business.default_hourly_rate_minor, business.default_tax_rate, business.invoice_prefix,
                business.next_invoice_number, business.payment_terms_days) == (
            "Ada Consulting", "Main St 1", "ada@consulting.example", "DE123", "JPY", 9000, Decimal("7.5"), "AC-", 100, 21)
    page = client.get("/settings/profile").get_data(as_text=True)
    assert 'value="9000"' in page and 'value="7.5"' in page


def test_business_profile_rejects_bad_values_and_keeps_the_old_ones(client, logged_in, app):
    response = client.post("/settings/profile", data={
        "default_currency": "USD", "default_hourly_rate": "12.345", "default_tax_rate": "101",
        "invoice_prefix": "A B", "next_invoice_number": "0", "payment_terms_days": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Use 0 to 365 days" not in html  # one message per field: the text was not a number at all
    for message in ("at most 100", "Use letters, digits", "Use a number from 1 to 1,000,000,000",
                    "Enter a whole number, like 30.",
                    "USD amounts have at most 2 decimal places"):
        assert message in html, message
    with app.app_context():
        assert db.session.scalar(db.select(Business)).payment_terms_days == 30


def test_personal_settings_keep_the_name_and_time_zone_on_the_person(client, logged_in, app):
    response = client.post("/settings/personal", data={"display_name": "Ada L.", "time_zone": "Europe/Berlin"})
    assert response.status_code == 303
    refused = client.post("/settings/personal", data={"display_name": "Ada", "time_zone": "Mars/Base"})
    assert refused.status_code == 422 and "Choose a time zone from the list" in refused.get_data(as_text=True)
    with app.app_context():
        user = db.session.scalar(db.select(User))
        assert (user.display_name, user.time_zone) == ("Ada L.", "Europe/Berlin")


def test_integrations_page_shows_clockify_not_connected(client, logged_in):
    html = client.get("/settings/integrations").get_data(as_text=True)
    assert "Clockify" in html and "Not connected" in html and "Connect" in html


def test_every_email_field_refuses_an_over_long_address_with_the_length_message_alone(app):
    """A 100,000-character address is refused by its length at once: the email check after it (~36 ms on
    such an address) is not run, so the person reads one message, not two."""
    from flask_wtf import FlaskForm
    from wtforms.validators import Email

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    checked = set()
    for form_class in set(subclasses(FlaskForm)):
        for name, field in vars(form_class).items():
            validators = getattr(field, "kwargs", {}).get("validators") or ()
            if not any(isinstance(validator, Email) for validator in validators):
                continue
            with app.test_request_context(method="POST", data={name: "a" * 99_988 + "@example.com"}):
                form = form_class()
                form.validate()
                assert form[name].errors == ["Field cannot be longer than 254 characters."], (form_class, name)
            checked.add(f"{form_class.__name__}.{name}")
    assert {"RegisterForm.email", "InviteForm.email", "ProfileForm.business_email", "CustomerForm.email",
            "PartyForm.contact_email"} <= checked
