"""A customer's page (issue 13): their details, the linked Clockify client (chosen from the connection's
clients, changeable there), their invoices and what they still owe; the customer list links to it."""
from __future__ import annotations

import re

from extensions import db
from models import Customer
from sandbox import MAIN_KEY, NORTHWIND_ID, NORTHWIND_NAME


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def test_the_list_links_to_the_page_with_invoices_and_the_balance_of_sent_ones(client, logged_in):
    customer = logged_in.customer("Northwind Traders", email="ap@northwind.example")
    sent, paid, draft = (logged_in.invoice(customer) for _ in range(3))
    for invoice, rate in ((sent, "100"), (paid, "40"), (draft, "7")):
        logged_in.line(invoice, quantity="2", rate=rate)
    client.post(f"/invoices/{sent}/send")
    client.post(f"/invoices/{paid}/send")
    client.post(f"/invoices/{paid}/paid")

    assert f'href="/customers/{customer}"' in client.get("/customers/").get_data(as_text=True)
    page = client.get(f"/customers/{customer}")
    text = _text(page)
    assert page.status_code == 200 and "Northwind Traders" in text and "ap@northwind.example" in text
    assert "Owes $200.00" in text  # the sent invoice only: the paid one and the draft owe nothing
    assert all(f'href="/invoices/{invoice}"' in page.get_data(as_text=True) for invoice in (sent, paid, draft))
    assert "Not linked to a Clockify client." in text


def test_the_clockify_client_is_chosen_from_the_connections_clients_and_changed_there(client, logged_in, clockify, app):
    customer = logged_in.customer("Northwind Traders")
    assert client.post("/settings/integrations/clockify/new", data={
        "name": "Clockify", "description": "", "region": "global", "subdomain": "", "api_key": MAIN_KEY}).status_code == 303

    choose = client.get(f"/customers/{customer}?choose=clockify").get_data(as_text=True)
    assert f'<option value="{NORTHWIND_ID}">{NORTHWIND_NAME}' in choose
    saved = client.post(f"/customers/{customer}/clockify-client", data={"client": NORTHWIND_ID}, follow_redirects=True)
    assert f"is linked to the Clockify client {NORTHWIND_NAME}" in _text(saved)
    assert f"Linked to {NORTHWIND_NAME}" in _text(client.get(f"/customers/{customer}"))

    refused = client.post(f"/customers/{customer}/clockify-client", data={"client": "not-a-client-of-ours"})
    assert refused.status_code == 422 and "Not a valid choice" in _text(refused)
    client.post(f"/customers/{customer}/clockify-client", data={"client": ""})
    with app.app_context():
        assert db.session.get(Customer, customer).clockify_client_id is None


def test_without_a_connection_the_page_says_to_connect_first(client, logged_in):
    customer = logged_in.customer()
    text = _text(client.get(f"/customers/{customer}?choose=clockify"))
    assert "No Clockify connection you may use: connect Clockify first." in text
