"""The real client against the sandbox: every request it sends validates against Clockify's
official OpenAPI file, and what it reads back parses into the typed results."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from sandbox import ACME_ID, DEMO_USER_ID, MAIN_KEY, NORTHWIND_ID
from services.clockify import ClockifyClient, InvalidKey
from services.rate_budget import LocalBudget
from tests.openapi_contract import validate_recorded


@pytest.fixture
def client(clockify_sandbox):
    with ClockifyClient(MAIN_KEY, api_url=clockify_sandbox.api_url, reports_url=clockify_sandbox.reports_url,
                        budget=LocalBudget()) as client:
        yield client


def test_every_request_the_client_sends_follows_the_spec(client, clockify_sandbox):
    user = client.get_user()
    workspaces = client.workspaces()
    reference = client.fetch_reference_data(ACME_ID)
    entries = client.detailed_report(ACME_ID, start=date(2025, 10, 1), end=date(2025, 10, 31),
                                     time_zone="Europe/Berlin", currency="USD", client_ids=[NORTHWIND_ID],
                                     billable=True)
    own = client.user_time_entries(ACME_ID, DEMO_USER_ID, datetime(2025, 10, 1, tzinfo=timezone.utc),
                                   datetime(2025, 11, 1, tzinfo=timezone.utc), account_time_zone=user.time_zone)

    assert user.id == DEMO_USER_ID and any(ws.id == ACME_ID for ws in workspaces)
    assert len(reference.clients) > 50 and len(reference.projects) > 50 and len(reference.members) > 50
    assert entries and all(entry.client_id == NORTHWIND_ID and entry.billable for entry in entries)
    assert own and all(entry.user_id == DEMO_USER_ID for entry in own)

    recorded = clockify_sandbox.sandbox.requests
    assert len(recorded) == client.calls >= 6
    for record in recorded:
        validate_recorded(record)


def test_a_revoked_key_is_reported_as_invalid(client, clockify_sandbox):
    clockify_sandbox.sandbox.revoke_key(MAIN_KEY)
    with pytest.raises(InvalidKey) as raised:
        client.get_user()
    assert raised.value.code == 4003 and MAIN_KEY not in str(raised.value)


def test_the_key_owners_role_is_read_with_include_roles_and_follows_the_spec(client, clockify_sandbox):
    from sandbox import MARIA_ID

    owner = client.role_in_workspace(ACME_ID, DEMO_USER_ID)
    maria_key = clockify_sandbox.sandbox.add_key(MARIA_ID)
    with ClockifyClient(maria_key, api_url=clockify_sandbox.api_url, reports_url=clockify_sandbox.reports_url,
                        budget=LocalBudget()) as maria:
        member = maria.role_in_workspace(ACME_ID, MARIA_ID, "maria@acme.example")
    assert (owner, member) == ("admin", "member")
    recorded = clockify_sandbox.sandbox.requests
    assert recorded and all(record.path.endswith(f"/workspaces/{ACME_ID}/users") for record in recorded)
    assert all(record.query.get("include-roles") == ["true"] for record in recorded)
    for record in recorded:
        validate_recorded(record)
