"""Many requests at once, through a real threaded server: one import confirmed by 20 requests at
once gives one set of lines; 20 drafts sent at once get 20 distinct numbers in sequence."""
from __future__ import annotations

import re
import threading

import pytest
import requests

from extensions import db
from models import Business, ImportedEntry, Invoice, LineItem, User
from sandbox import ACME_ID, NORTHWIND_ID
from tests.conftest import PASSWORD


THREADS = 20


def _session(base: str, email="ada@example.com") -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base}/register").text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = session.post(f"{base}/register", data={"display_name": "Ada", "email": email, "password": PASSWORD,
                                                       "confirm": PASSWORD, "csrf_token": token}, allow_redirects=False)
    assert response.status_code == 303
    session.headers["X-CSRFToken"] = token
    return session


def _copies(session: requests.Session, count: int) -> list[requests.Session]:
    """Sessions sharing one log-in (as tabs of one browser would), each with its own connections."""
    copies = []
    for _ in range(count):
        copy = requests.Session()
        copy.cookies.update(session.cookies)
        copy.headers.update(session.headers)
        copies.append(copy)
    return copies


def _all_at_once(calls) -> list:
    """Run the calls in threads released together; return their results in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results[index] = error

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _new_invoice(session, base) -> int:
    customer = session.post(f"{base}/customers/new", data={"name": "Northwind", "currency": "USD"},
                            allow_redirects=False)
    assert customer.status_code == 303
    page = session.get(f"{base}/invoices/new").text
    customer_id = re.search(r'<option value="(\d+)"', page).group(1)
    created = session.post(f"{base}/invoices/new", data={"customer_id": customer_id}, allow_redirects=False)
    return int(created.headers["Location"].rstrip("/").split("/")[-1])


def test_twenty_requests_confirming_the_same_import_give_one_set_of_lines(app, live_server, clockify_sandbox):
    app.config.update(HOURBILL_CLOCKIFY_API_URL=clockify_sandbox.api_url,
                      HOURBILL_CLOCKIFY_REPORTS_URL=clockify_sandbox.reports_url)
    session = _session(live_server)
    connected = session.post(f"{live_server}/settings/integrations/clockify/new", allow_redirects=False, data={
        "name": "Clockify", "region": "global", "api_key": "sandbox-demo-key"})
    assert connected.status_code == 303
    invoice_id = _new_invoice(session, live_server)
    with app.app_context():
        connection_id = db.session.scalar(db.text("SELECT id FROM clockify_connections"))
    preview = session.post(f"{live_server}/invoices/{invoice_id}/import/preview", headers={"HX-Request": "true"}, data={
        "connection": connection_id, "workspace": ACME_ID, "client": NORTHWIND_ID, "submitted": "1",
        "billable": "on", "range": "custom", "start": "2025-10-01", "end": "2025-10-31"})
    token = re.search(r"/import/([\w-]+)/lines", preview.text).group(1)
    confirm = f"{live_server}/invoices/{invoice_id}/import/{token}/confirm"
    form = {"selection": "all", "grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up",
            "details": ["date", "description"], "unit": "h", "max_description": "300"}

    results = _all_at_once([lambda s=s: s.post(confirm, data=form, headers={"HX-Request": "true"})
                            for s in _copies(session, THREADS)])

    assert [getattr(result, "status_code", repr(result)) for result in results] == [200] * THREADS
    said = sorted("Imported" if "Imported" in result.text else "already imported" if "already imported"
                  in result.text else result.text[:200] for result in results)
    assert said == ["Imported"] + ["already imported"] * (THREADS - 1), said
    with app.app_context():
        lines = db.session.scalar(db.select(db.func.count(LineItem.id)).where(LineItem.invoice_id == invoice_id))
        entries = db.session.scalar(db.select(db.func.count(ImportedEntry.id)))
        distinct = db.session.scalar(db.select(db.func.count(db.distinct(ImportedEntry.entry_id))))
    assert lines > 0 and entries == distinct == lines  # one line per entry, each entry once


def test_twenty_drafts_sent_at_once_get_twenty_distinct_numbers_in_sequence(app, live_server):
    session = _session(live_server)
    invoice_ids = []
    customer = session.post(f"{live_server}/customers/new", data={"name": "Acme", "currency": "EUR"},
                            allow_redirects=False)
    assert customer.status_code == 303
    customer_id = re.search(r'<option value="(\d+)"', session.get(f"{live_server}/invoices/new").text).group(1)
    for _ in range(THREADS):
        created = session.post(f"{live_server}/invoices/new", data={"customer_id": customer_id}, allow_redirects=False)
        invoice_id = int(created.headers["Location"].rstrip("/").split("/")[-1])
        session.post(f"{live_server}/invoices/{invoice_id}/lines", allow_redirects=False,
                     data={"description": "Work", "quantity": "1", "rate": "10", "unit": "h"})
        invoice_ids.append(invoice_id)

    results = _all_at_once([lambda s=s, i=i: s.post(f"{live_server}/invoices/{i}/send", allow_redirects=False)
                            for s, i in zip(_copies(session, THREADS), invoice_ids)])

    assert [getattr(result, "status_code", repr(result)) for result in results] == [303] * THREADS
    with app.app_context():
        numbers = sorted(db.session.scalars(db.select(Invoice.number)).all())
        statuses = set(db.session.scalars(db.select(Invoice.status)).all())
        next_number = db.session.scalar(db.select(Business.next_invoice_number))
    assert numbers == [f"INV-{n:04d}" for n in range(1, THREADS + 1)]
    assert statuses == {"sent"} and next_number == THREADS + 1
