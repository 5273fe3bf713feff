"""The import wizard on a draft invoice, against the sandbox: every step, its failures, and the
guarantees (never twice, nothing half-written, exact sums, few calls, read-only)."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest

from extensions import db
from models import Business, ImportedEntry, ImportPreview, Invoice, LineItem, User
from sandbox import ACME_ID, FREE_ID, MAIN_KEY, NORTHWIND_ID, WEBSITE_REDESIGN_ID
from tests.fixtures import SLOW_ANSWER, TIMING_OUT
from tests.prepared import Prepared
from tests.test_connections import connect

pytestmark = pytest.mark.small_sandbox  # 8 members of 10 entries (tests/fixtures.py)


OCTOBER = {"range": "custom", "start": "2025-10-01", "end": "2025-10-31"}


def words(html: str) -> str:
    """The page's text as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


WIZARD_FROM_A_COPY = True  # see `wizard`
WIZARD = Prepared()


@pytest.fixture
def cold_wizard(app, client, logged_in, clockify):
    """Ada, connected to the sandbox through the page now (the sandbox sees each of its calls), with a draft
    invoice in USD for Northwind. Returns helpers."""
    return _connected(app, client, logged_in, clockify)


def _connected(app, client, logged_in, clockify):
    assert connect(client).status_code == 303
    with app.app_context():  # after connecting: the first connection adopts Clockify's time zone
        db.session.scalar(db.select(User)).time_zone = "UTC"
        db.session.scalar(db.select(Business)).default_hourly_rate_minor = 9000
        db.session.commit()
    invoice_id = logged_in.invoice(logged_in.customer("Northwind", "USD"))
    return Wizard(app, client, clockify, invoice_id)


@pytest.fixture
def wizard(request, app, client, logged_in, clockify):
    """The cold wizard's state. A module that sets WIZARD_FROM_A_COPY (its tests never look at what connecting
    asked Clockify) starts from a copy of the first one made for the same sandbox, configuration and knobs
    (tests/prepared.py: ~0.1 s of CPU a test less than connecting, which asks Clockify for the key's user, the
    workspaces and the key's role in each)."""
    copy = getattr(request.module, "WIZARD_FROM_A_COPY", False)
    state = clockify.sandbox.state()
    made_for = (clockify.url, repr({name: state[name] for name in ("knobs", "size", "keys", "faults")}))
    kept = WIZARD.restore(app, client, made_for) if copy else None
    if kept is not None:
        return Wizard(app, client, clockify, kept["invoice_id"])
    wizard = _connected(app, client, logged_in, clockify)
    if copy:
        WIZARD.keep(app, client, made_for, {"invoice_id": wizard.invoice_id},
                    request.getfixturevalue("tmp_path_factory"))
    return wizard


class Wizard:
    def __init__(self, app, client, sandbox, invoice_id):
        self.app, self.client, self.sandbox, self.invoice_id = app, client, sandbox, invoice_id
        self.base = f"/invoices/{invoice_id}/import"

    @property
    def connection_id(self) -> int:
        from models import ClockifyConnection
        with self.app.app_context():
            return db.session.scalar(db.select(ClockifyConnection.id))

    def start(self, **kwargs):
        return self.client.get(self.base, **kwargs)

    def filters(self, workspace=ACME_ID, **params):
        return self.client.get(f"{self.base}/filters", query_string={
            "connection": self.connection_id, "workspace": workspace, **params})

    def preview(self, workspace=ACME_ID, **fields):
        data = {"connection": self.connection_id, "workspace": workspace, "submitted": "1", "billable": "on",
                "hide_imported": "on", **OCTOBER, **fields}
        data = {name: value for name, value in data.items() if value is not None}  # None: an unticked box
        return self.client.post(f"{self.base}/preview", data=data, hx=True)

    def token(self, response) -> str:
        return re.search(r"/import/([\w-]+)/lines", response.get_data(as_text=True)).group(1)

    def entry_ids(self, response) -> list[str]:
        return re.findall(r'name="entry" value="([^"]+)"', response.get_data(as_text=True))

    def post(self, token, action, **fields):
        data = {"grouping": "entry", "rounding_minutes": "0", "rounding_direction": "up",
                "details": ["date", "project", "description"], "unit": "h", "max_description": "300", **fields}
        return self.client.post(f"{self.base}/{token}/{action}", data=data, hx=True)

    def lines(self) -> list[LineItem]:
        with self.app.app_context():
            invoice = db.session.get(Invoice, self.invoice_id)
            lines = list(invoice.lines)
            db.session.expunge_all()
            return lines

    def imported(self) -> list[ImportedEntry]:
        with self.app.app_context():
            rows = db.session.scalars(db.select(ImportedEntry)).all()
            db.session.expunge_all()
            return rows


def test_the_whole_import_from_cold_start_costs_at_most_eight_calls(cold_wizard):
    wizard = cold_wizard  # the sandbox saw connecting's calls
    start = wizard.start(hx=True)
    assert start.status_code == 200 and "Acme Studio" in start.get_data(as_text=True)
    filters = wizard.filters()
    html = filters.get_data(as_text=True)
    assert "Northwind" in html and "Website redesign" in html and "Team members" in html
    preview = wizard.preview(client=NORTHWIND_ID, project=WEBSITE_REDESIGN_ID)
    assert preview.status_code == 200, preview.get_data(as_text=True)[:500]
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    assert ids
    shown = wizard.post(token, "lines", selection="some", entry=ids)
    assert "Nothing is saved until" in shown.get_data(as_text=True) and wizard.lines() == []
    done = wizard.post(token, "confirm", selection="some", entry=ids)
    body = done.get_data(as_text=True)
    assert done.status_code == 200 and re.search(r"Imported \d+ entries as \d+ lines, [\d.]+ h\.", body)
    assert 'id="lines" class="card" hx-swap-oob="true"' in body
    lines = wizard.lines()
    assert len(lines) == len(ids) and all(line.source == "clockify" for line in lines)
    assert len(wizard.imported()) == len(ids)
    # verify (GET /user) + workspaces + clients and projects (live and archived), members + one report page
    calls = wizard.sandbox.sandbox.requests
    # ... and, once per workspace at Verify & Save, the key owner's role in it (the Admin caveat): one
    # call in each workspace's own budget, cached for a day.
    roles = [call for call in calls if call.query.get("include-roles") == ["true"]]
    assert len(roles) == len({call.path for call in roles}) == len(re.findall(r"<option value=", start.get_data(
        as_text=True)))
    assert len(calls) - len(roles) <= 8, [(call.method, call.path) for call in calls]
    assert all(call.method == "GET" or call.path.endswith("/reports/detailed") for call in calls)


def test_connecting_fetches_the_workspaces_so_the_wizard_opens_without_a_call(wizard):
    wizard.sandbox.sandbox.clear_requests()
    assert "Acme Studio" in wizard.start(hx=True).get_data(as_text=True)
    assert wizard.sandbox.sandbox.requests == []


def test_with_a_warm_cache_an_import_costs_one_call(wizard):
    wizard.start()
    wizard.filters()
    wizard.sandbox.sandbox.clear_requests()
    wizard.start()
    wizard.filters()
    preview = wizard.preview(client=NORTHWIND_ID)
    wizard.post(wizard.token(preview), "confirm", selection="all")
    assert [call.path.rsplit("/", 2)[-2:] for call in wizard.sandbox.sandbox.requests] == [["reports", "detailed"]]
    assert wizard.lines()


def test_lines_hold_exactly_the_selected_seconds_and_amounts_are_quantity_times_rate(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    chosen = ids[::2]
    wizard.post(token, "confirm", selection="some", entry=chosen, grouping="project")
    imported = wizard.imported()
    assert sorted(row.entry_id for row in imported) == sorted(chosen)
    lines = wizard.lines()
    assert sum(row.seconds for row in imported) == sum(
        int(line.quantity * 3600) for line in lines) or abs(
        sum(row.seconds for row in imported) / 3600 - float(sum(line.quantity for line in lines))) < 0.0001 * len(lines)
    for line in lines:
        assert line.amount_minor == int((line.quantity * line.rate_minor).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    with wizard.app.app_context():
        invoice = db.session.get(Invoice, wizard.invoice_id)
        from services.invoicing import totals
        assert totals(invoice).subtotal == sum(line.amount_minor for line in lines)


def test_all_matching_minus_unticked_needs_no_ids_from_the_browser(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    wizard.post(token, "confirm", selection="all", exclude=ids[:2])
    assert sorted(row.entry_id for row in wizard.imported()) == sorted(ids[2:])


def test_ids_not_in_the_preview_are_ignored_and_amounts_from_the_browser_are_never_read(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    wizard.post(token, "confirm", selection="some", entry=[ids[0], "5f00000000000000000000ff"],
                amount="1", rate="999999", quantity="1000")
    (row,) = wizard.imported()
    assert row.entry_id == ids[0]
    (line,) = wizard.lines()
    assert line.quantity < 24 and line.rate_minor < 100000


def test_a_double_click_or_resubmitted_form_gives_one_set_of_lines(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    first = wizard.post(token, "confirm", selection="some", entry=ids)
    second = wizard.post(token, "confirm", selection="some", entry=ids)
    assert first.status_code == second.status_code == 200  # htmx swaps the answer: it is the message
    assert "Imported" in first.get_data(as_text=True) and "already imported" in second.get_data(as_text=True)
    assert len(wizard.lines()) == len(ids) and len(wizard.imported()) == len(ids)


def test_two_tabs_importing_the_same_entries_give_one_set_and_say_why(wizard):
    tab_one, tab_two = wizard.preview(client=NORTHWIND_ID), wizard.preview(client=NORTHWIND_ID)
    ids = wizard.entry_ids(tab_one)
    assert wizard.post(wizard.token(tab_one), "confirm", selection="some", entry=ids).status_code == 200
    refused = wizard.post(wizard.token(tab_two), "confirm", selection="some", entry=ids)
    assert "billed on another invoice meanwhile" in refused.get_data(as_text=True)
    assert len(wizard.imported()) == len(ids)


def test_entries_on_an_invoice_are_listed_apart_and_released_by_deleting_the_line_or_voiding(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    wizard.post(token, "confirm", selection="some", entry=ids[:3], grouping="entry")
    again = wizard.preview(client=NORTHWIND_ID, hide_imported=None)
    html = again.get_data(as_text=True)
    assert not set(ids[:3]) & set(wizard.entry_ids(again))
    assert "3 entries are already on an invoice" in words(html) and "(this invoice)" in html
    hidden = wizard.preview(client=NORTHWIND_ID)
    assert "3 entries already on an invoice are hidden" in words(hidden.get_data(as_text=True))

    first_line = wizard.lines()[0]
    wizard.client.post(f"/invoices/{wizard.invoice_id}/lines/{first_line.id}/delete")
    assert len(wizard.imported()) == 2  # the deleted line's entry is free again

    wizard.client.post(f"/invoices/{wizard.invoice_id}/send")
    wizard.client.post(f"/invoices/{wizard.invoice_id}/void")
    assert wizard.imported() == []


def test_deleting_the_draft_releases_its_entries(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    wizard.post(wizard.token(preview), "confirm", selection="all")
    assert wizard.imported()
    wizard.client.post(f"/invoices/{wizard.invoice_id}/delete")
    assert wizard.imported() == []


def test_the_customer_link_preselects_the_client_and_choosing_a_client_narrows_projects_without_calls(wizard):
    html = wizard.filters().get_data(as_text=True)
    assert f'<option value="{NORTHWIND_ID}" selected>' not in html
    wizard.preview(client=NORTHWIND_ID, link_client="1")
    wizard.sandbox.sandbox.clear_requests()
    linked = wizard.filters().get_data(as_text=True)
    assert f'<option value="{NORTHWIND_ID}" selected>' in linked and "Linked to Northwind" in linked
    everything = wizard.filters(client="").get_data(as_text=True)
    narrowed = wizard.filters(client=NORTHWIND_ID).get_data(as_text=True)
    project_options = lambda page: page.count('name="project" value=')
    assert 0 < project_options(narrowed) < project_options(everything)
    assert wizard.sandbox.sandbox.requests == []  # all from the cache


def test_options_are_remembered_per_customer(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    wizard.post(wizard.token(preview), "confirm", selection="some", entry=wizard.entry_ids(preview)[:2],
                grouping="task", rounding_minutes="15",
                rounding_direction="nearest", details=["task", "member"])
    again = wizard.preview(client=NORTHWIND_ID, hide_imported=None).get_data(as_text=True)
    assert '<option value="task" selected>' in again and '<option value="15" selected>' in again
    assert 'value="member" checked' in again and 'value="date" checked' not in again


def test_rounding_per_entry_is_applied_before_grouping(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    wizard.post(token, "confirm", selection="some", entry=ids, grouping="project", rounding_minutes="15",
                rounding_direction="up")
    for row in wizard.imported():
        assert row.seconds % 900 == 0
    assert sum(line.quantity for line in wizard.lines()) * 3600 == sum(row.seconds for row in wizard.imported())


def test_bad_options_say_what_is_wrong_and_write_nothing(wizard):
    preview = wizard.preview(client=NORTHWIND_ID)
    token = wizard.token(preview)
    for fields, message in [({"grouping": "planet"}, "Choose how to group"), ({"rounding_minutes": "7"}, "Rounding must be"),
                            ({"fallback_rate": "lots"}, "as a number")]:
        response = wizard.post(token, "confirm", selection="all", **fields)
        assert response.status_code == 422 and message in response.get_data(as_text=True)
    nothing = wizard.post(token, "confirm", selection="some", entry=[])
    assert "tick at least one entry" in nothing.get_data(as_text=True)
    assert wizard.lines() == [] and wizard.imported() == []


def test_running_timers_breaks_and_other_currencies_are_listed_apart_with_the_reason(wizard):
    html = wizard.preview(billable=None).get_data(as_text=True)
    assert "entries are never billed" in html
    assert "Timer still running" in html or "Break" in html or "Time off" in html


def test_nothing_in_range_says_what_to_try(wizard):
    html = wizard.preview(range="custom", start="2020-01-01", end="2020-01-31").get_data(as_text=True)
    assert "No entries to bill match these filters" in html and "untick" in html


def test_a_bad_custom_range_is_explained(wizard):
    response = wizard.preview(range="custom", start="2025-10-31", end="2025-10-01")
    assert response.status_code == 422 and "starts after it ends" in response.get_data(as_text=True)
    response = wizard.preview(range="custom", start="", end="")
    assert response.status_code == 422 and "Enter both dates" in response.get_data(as_text=True)


@pytest.mark.parametrize("path, fault, message", [
    ("*/workspaces", dict(kind="status", status=503), "Clockify is having trouble"),
    ("*/clients", dict(kind="html", status=200), "could not read"),
    ("*/reports/detailed", dict(kind="status", status=429, retry_after=600), "try again in 10 minutes"),
    ("*/reports/detailed", SLOW_ANSWER, "took too long"),
    ("*/reports/detailed", dict(kind="truncated"), "could not read"),
])
def test_every_step_failure_has_its_message_and_writes_nothing(wizard, path, fault, message):
    wizard.sandbox.sandbox.add_fault(path=path, **fault)
    if path.endswith("workspaces"):  # connecting fetched the list already: the Refresh asks again
        response = wizard.start(hx=True, query_string={"refresh": "1"})
    elif path.endswith("clients"):
        response = wizard.filters()
    else:
        wizard.filters()
        if fault is SLOW_ANSWER:
            wizard.app.config["HOURBILL_CLOCKIFY_TIMEOUT"] = TIMING_OUT
        response = wizard.preview(client=NORTHWIND_ID)
    html = response.get_data(as_text=True)
    # htmx only swaps 2xx and 422: it gets 200 and the message; a whole page keeps the real status
    expected = {200} if response.request.headers.get("HX-Request") else {429, 502}
    assert response.status_code in expected and message in html and "Try again" in html
    assert wizard.lines() == [] and MAIN_KEY not in html


def test_a_401_turns_the_connection_to_needs_a_new_key_and_the_wizard_links_to_update_it(wizard):
    wizard.sandbox.sandbox.regenerate_key(MAIN_KEY)
    html = wizard.filters().get_data(as_text=True)
    assert "no longer accepts the key" in html and f"/settings/integrations/clockify/{wizard.connection_id}/key" in html
    again = wizard.start(hx=True).get_data(as_text=True)
    assert "no longer accepts the key" in again


def test_without_a_connection_the_wizard_links_to_connect(app, client, logged_in):
    invoice_id = logged_in.invoice(logged_in.customer())
    html = client.get(f"/invoices/{invoice_id}/import").get_data(as_text=True)
    assert "Connect your Clockify account first" in html and "/settings/integrations/clockify/new" in html


def test_a_free_workspace_splits_long_ranges_into_31_day_reports(wizard):
    wizard.filters(workspace=FREE_ID)
    wizard.sandbox.sandbox.clear_requests()
    response = wizard.preview(workspace=FREE_ID, range="custom", start="2025-09-01", end="2025-11-30", billable=None)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    token = wizard.token(response) if "/lines" in response.get_data(as_text=True) else None
    reports = [call for call in wizard.sandbox.sandbox.requests if call.path.endswith("/reports/detailed")]
    assert len(reports) == 1  # the first window; the others load page by page
    more = wizard.client.post(f"{wizard.base}/{token}/more", hx=True)
    assert more.status_code == 200
    reports = [call for call in wizard.sandbox.sandbox.requests if call.path.endswith("/reports/detailed")]
    # the rest at once, one 31-day window after another
    assert [call.json["dateRangeStart"][:10] for call in reports] == ["2025-09-01", "2025-10-02", "2025-11-02"]


def test_only_the_owner_reaches_a_preview(wizard, accounts):
    preview = wizard.preview(client=NORTHWIND_ID)
    token = wizard.token(preview)
    accounts.logout()
    accounts.register("eve@example.com", name="Eve")
    eve_invoice = accounts.invoice(accounts.customer("Eve's"))
    for url in (f"{wizard.base}/{token}/lines", f"/invoices/{eve_invoice}/import/{token}/confirm"):
        assert wizard.client.post(url, data={"selection": "all"}).status_code == 404


def test_without_javascript_every_step_is_a_whole_page_and_confirm_redirects(wizard):
    start = wizard.start()
    assert start.status_code == 200 and "<html" in start.get_data(as_text=True)
    assert "<html" in wizard.filters().get_data(as_text=True)
    data = {"connection": wizard.connection_id, "workspace": ACME_ID, "submitted": "1", "billable": "on",
            "hide_imported": "on", "client": NORTHWIND_ID, **OCTOBER}
    preview = wizard.client.post(f"{wizard.base}/preview", data=data)
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<html" in page and "Load the next 1,000" not in page
    token, ids = wizard.token(preview), wizard.entry_ids(preview)
    options = {"grouping": "project", "rounding_minutes": "0", "rounding_direction": "up", "details": ["project"],
               "unit": "h", "max_description": "300", "selection": "some", "entry": ids}
    shown = wizard.client.post(f"{wizard.base}/{token}/lines", data=options)
    assert "<html" in shown.get_data(as_text=True) and "Nothing is saved until" in shown.get_data(as_text=True)
    done = wizard.client.post(f"{wizard.base}/{token}/confirm", data=options)
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/invoices/{wizard.invoice_id}#lines")
    assert "Imported" in wizard.client.get(done.headers["Location"]).get_data(as_text=True)


def test_thousands_of_entries_preview_page_by_page_and_all_matching_imports_them(app, client, logged_in):
    """5 members x 500 entries in one month, three of Clockify's 1000-entry report pages: the preview shows
    the first 1000 with a loader for the rest, and "all matching" imports every billable entry without the
    browser sending an id. (Three pages behave as ten did: first, middle, last.)"""
    from sandbox import create_sandbox

    big = create_sandbox(members=5, entries_per_member=500, rate_limit=None)
    with big.serve_in_thread() as running:
        app.config.update(HOURBILL_CLOCKIFY_API_URL=running.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=running.reports_url)
        assert connect(client).status_code == 303
        wizard = Wizard(app, client, running, logged_in.invoice(logged_in.customer("Everyone", "USD")))
        first = wizard.preview(billable=None)
        html = first.get_data(as_text=True)
        assert len(wizard.entry_ids(first)) <= 1000 and 'hx-trigger="load"' in html and "loading more" in html
        token = wizard.token(first)
        pages = 1
        while 'hx-trigger="load"' in html and pages < 20:
            html = client.post(f"{wizard.base}/{token}/more", hx=True).get_data(as_text=True)
            pages += 1
        assert "All " in html and "entries loaded" in html
        reports = [call for call in running.sandbox.requests if call.path.endswith("/reports/detailed")]
        # 1000 entries a call, never more; the server fetches the pages, not one browser request each.
        assert len(reports) >= 3 and pages < len(reports)

        with app.app_context():
            from services.imports import classify
            preview = db.session.scalar(db.select(ImportPreview))
            billable = classify(preview, "USD", "UTC").selectable  # USD work entries, no breaks or timers
        done = wizard.post(token, "confirm", selection="all", grouping="project")
        for _ in range(30):  # a confirm longer than one request's time goes on as its progress page asks
            step = re.search(r'id="confirm-progress" hx-post="([^"]+)"', done.get_data(as_text=True))
            if not step:
                break
            done = client.post(step.group(1), hx=True)
        assert done.status_code == 200 and "Imported" in done.get_data(as_text=True)
        imported = wizard.imported()
        assert preview.entry_count > 2000 and len(billable) > 700  # non-billable ones only when ticked
        assert len(reports) == -(-preview.entry_count // 1000)
        assert sorted(row.entry_id for row in imported) == sorted(entry.id for entry in billable)
        assert len(wizard.lines()) < 100


def test_the_canary_key_never_leaks_through_the_wizard_or_its_failures(app, client, logged_in, clockify, caplog):
    import logging

    from sandbox import DEMO_USER_ID
    from tests.test_connections import CANARY

    caplog.set_level(logging.DEBUG)
    clockify_sandbox = clockify
    clockify_sandbox.sandbox.add_key(DEMO_USER_ID, CANARY)
    responses = [connect(client, key=CANARY)]
    wizard = Wizard(app, client, clockify_sandbox, logged_in.invoice(logged_in.customer("Northwind", "USD")))
    responses += [wizard.start(hx=True), wizard.start(), wizard.filters()]
    clockify_sandbox.sandbox.add_fault(kind="status", path="*/reports/detailed", status=500, times=2)
    responses.append(wizard.preview(client=NORTHWIND_ID))
    preview = wizard.preview(client=NORTHWIND_ID)
    token = wizard.token(preview)
    responses += [preview, wizard.post(token, "lines", selection="all"), wizard.post(token, "confirm", selection="all"),
                  client.get(f"/invoices/{wizard.invoice_id}"), client.get(f"/invoices/{wizard.invoice_id}/print")]
    clockify_sandbox.sandbox.regenerate_key(CANARY)
    responses += [wizard.start(hx=True, query_string={"refresh": "1"}), client.get("/settings/integrations")]

    assert any("Imported" in response.get_data(as_text=True) for response in responses)
    assert any("no longer accepts the key" in response.get_data(as_text=True) for response in responses)
    for response in responses:
        assert CANARY not in response.get_data(as_text=True) and CANARY not in str(response.headers)
    assert CANARY not in caplog.text
    with app.app_context():
        rows = "\n".join(repr(tuple(row)) for table in db.metadata.sorted_tables
                         for row in db.session.execute(table.select()))
    assert CANARY not in rows and "Northwind" in rows


def test_a_401_anywhere_in_a_step_marks_the_connection_even_on_a_cache_refetch(wizard):
    wizard.filters()  # reference data cached...
    wizard.app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"] = 0  # ...and expired by the time of the preview
    wizard.sandbox.sandbox.regenerate_key(MAIN_KEY)
    html = wizard.preview(client=NORTHWIND_ID).get_data(as_text=True)
    assert "no longer accepts the key" in html
    with wizard.app.app_context():
        from models import ClockifyConnection
        assert db.session.get(ClockifyConnection, wizard.connection_id).status == "invalid"
