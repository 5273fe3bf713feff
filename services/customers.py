"""A customer's page (issue 13): what they owe across their invoices, and the Clockify clients a customer
may be linked to (read through the business's connections, cached like the import wizard's)."""
from __future__ import annotations

from datetime import timedelta

from models import ClockifyConnection, Customer, Invoice
from services import imports, invoicing

try:  # the payments branch's rule for what is still due on an invoice (total as sent less payments)
    from services.payments import balance_minor
except ImportError:  # before payments land: a sent invoice owes its total
    def balance_minor(invoice: Invoice) -> int:
        return invoicing.totals(invoice).total

OWING = ("sent", "partially_paid")  # statuses that may still be owed; "partially_paid" comes with payments


def balances(invoices: list[Invoice]) -> dict[str, int]:
    """What the customer still owes, per currency, in minor units: total less paid of their sent invoices."""
    owed: dict[str, int] = {}
    for invoice in invoices:
        if invoice.status in OWING:
            owed[invoice.currency] = owed.get(invoice.currency, 0) + balance_minor(invoice)
    return owed


def clockify_clients(connection: ClockifyConnection, client, max_age: timedelta) -> list[tuple[str, str, str]]:
    """(client id, client name, workspace name) of every client the connection reads, archived ones
    marked, in workspace then name order. Each workspace's clients come from the wizard's cache."""
    found = []
    for workspace in imports.workspaces(connection, client, max_age):
        reference, _ = imports.reference_data(connection, client, workspace.id, max_age)
        found += [(each.id, each.name + (" (archived)" if each.archived else ""), workspace.name)
                  for each in sorted(reference.clients, key=lambda each: each.name.lower())]
    return found


def linked_client_name(choices: list[tuple[str, str, str]], customer: Customer) -> str | None:
    return next((f"{name} · {workspace}" for client_id, name, workspace in choices
                 if client_id == customer.clockify_client_id), None)
