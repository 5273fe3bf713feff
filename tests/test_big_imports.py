"""Big imports (issue 15): the plan built page by page equals the plan built at once; the preview's
remaining report pages come from the server in one browser request, counted by the first page's
totals; a confirm too big for one request goes on page by page, bills each entry once, and adds its
lines only in its last step, raced against "Mark as sent" through a threaded server."""
from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest
from hypothesis import given, settings, strategies as st
from sqlalchemy import func, select

from extensions import db
from models import ImportedEntry, ImportPreview, ImportPreviewPage, Invoice, LineItem
from sandbox import create_sandbox
from services.clockify_types import Money
from services.imports import Asked, classify, plan_digest
from services.lines import LinePlanner, Reconciler, fold, plan_lines, reconcile
from tests.test_concurrency import _all_at_once, _copies, _session
from tests.test_imports import Wizard, connect
from tests.test_import_races import TRIALS, _connect, _draft_to_confirm, _turns, lines_added_to  # noqa: F401
from tests.test_lines import billable, fallback_rates, random_entries, random_options, time_zones

HX = {"HX-Request": "true"}
ALL_BY_PROJECT = {"selection": "all", "grouping": "project", "rounding_minutes": "0", "rounding_direction": "up",
                  "details": ["project"], "unit": "h", "max_description": "300", "fallback_rate": "90"}


@settings(max_examples=150, deadline=None)
@given(random_entries(), random_options, fallback_rates, time_zones)
def test_a_plan_built_in_parts_and_joined_is_the_plan_built_at_once(entries, options, fallback, zone):
    """The confirm and "Show the lines" plan one stored page per request and join the parts (as JSON) in
    their last step; "Show the lines" reconciles each page's entries no page before it holds."""
    whole = plan_lines(entries, currency="USD", fallback_rate=fallback, options=options, time_zone=zone)
    joined = LinePlanner(currency="USD", fallback_rate=fallback, options=options, time_zone=zone)
    sums, seen = Reconciler(currency="USD", fallback_rate=fallback, options=options), set()
    for start in range(0, len(entries), 3):  # parts of three entries, the last part repeating the first entry
        part = LinePlanner(currency="USD", fallback_rate=fallback, options=options, time_zone=zone)
        part_sums = Reconciler(currency="USD", fallback_rate=fallback, options=options)
        for item in [*entries[start:start + 3], *entries[:1]]:
            if billable(item) and part.add(item) and item.id not in seen:
                seen.add(item.id)
                part_sums.add(item)
        joined.merge(json.loads(json.dumps(part.state())))
        sums.merge(json.loads(json.dumps(part_sums.state())))
    result = joined.plan()
    assert result.lines == whole.lines
    assert [line.entry_seconds for line in result.lines] == [line.entry_seconds for line in whole.lines]
    assert [sum(line.entry_seconds) for line in result.lines] == [line.seconds for line in result.lines]
    assert sums.result(result) == reconcile([item for item in entries if billable(item)], whole, currency="USD",
                                            fallback_rate=fallback, options=options)


# Made once (a strategy made per draw is labelled and validated again each time).
ONE_IN_FIVE = st.integers(0, 4)
REPORT_AMOUNTS = st.sampled_from([None, Money.from_cents(4500, "USD"), Money.from_cents(123, "USD"), Money.from_cents(0, "EUR"),
                                  Money.from_cents(700, "EUR")])


@settings(max_examples=60, deadline=None)
@given(random_entries(), random_options, fallback_rates, time_zones, st.data())
def test_a_plan_from_the_pages_digests_is_the_plan_of_every_entry_one_by_one(entries, options, fallback, zone, data):
    """Show the lines and the confirm plan from each stored page's digest (its entries folded as the page
    was stored, a cell per alike entries): the very lines, seconds and reconciliation of planning each
    selected entry one by one, for every grouping, rounding and detail, over overlapping pages, with
    entries unticked, billed elsewhere, non-billable (ticked or not) and with or without a report amount."""
    entries = [replace(item, billable=data.draw(ONE_IN_FIVE) > 0, amount=data.draw(REPORT_AMOUNTS)) for item in entries]
    ids = st.sampled_from([item.id for item in entries] or ["none"])
    unticked, elsewhere, ticked_non_billable = (data.draw(st.frozensets(ids, max_size=4)) for _ in range(3))
    chosen = [item for item in entries if billable(item) and item.id not in elsewhere
              and (item.id not in unticked if item.billable else item.id in ticked_non_billable)]
    whole = plan_lines(chosen, currency="USD", fallback_rate=fallback, options=options, time_zone=zone)

    planner = LinePlanner(currency="USD", fallback_rate=fallback, options=options, time_zone=zone)
    sums, seen = Reconciler(currency="USD", fallback_rate=fallback, options=options), set()
    asked = Asked(currency="USD", zone=zone, billable=lambda entry_id: entry_id not in unticked,
                  non_billable=ticked_non_billable.__contains__, ticked=None, answers={}, billed=set())
    for start in range(0, len(entries), 3):  # pages of three entries, each after the first repeating the first entry
        page = [*entries[start:start + 3], *entries[:1]]
        digest = json.loads(json.dumps(fold(page, zone)))  # as stored
        plan_digest(digest, asked, planner, sums, seen, lambda page_ids: elsewhere & set(page_ids))
    result = planner.plan()
    assert result.lines == whole.lines
    assert [line.entry_seconds for line in result.lines] == [line.entry_seconds for line in whole.lines]
    assert sums.result(result) == reconcile(chosen, whole, currency="USD", fallback_rate=fallback, options=options)


@pytest.fixture(scope="module")
def three_pages():
    """A month of 2,500 entries (three report pages)."""
    with create_sandbox(members=5, entries_per_member=500, rate_limit=None).serve_in_thread() as running:
        yield running


def _reports(running) -> list[dict]:
    return [call.json for call in running.sandbox.requests if call.path.endswith("/reports/detailed")]


def test_the_whole_preview_of_three_pages_is_one_browser_request_after_the_first_and_its_lines_total_every_line(
        app, client, logged_in, three_pages):
    """The pages after the first come in one request, each asked once, and their rows a page at a time on
    demand; then, one line per entry of 2,500, "Show the lines" lists LINES_LISTED of them, says how many more
    there are, and its total is the total of every line "Add to invoice" then adds. (Two tests once: both
    walked this same preview of three pages, the costliest part of each.)"""
    from services.imports import LINES_LISTED

    app.config.update(HOURBILL_CLOCKIFY_API_URL=three_pages.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=three_pages.reports_url)
    assert connect(client).status_code == 303
    wizard = Wizard(app, client, three_pages, logged_in.invoice(logged_in.customer("Everyone", "USD")))
    three_pages.sandbox.clear_requests()
    first = wizard.preview(billable=None)
    assert [body["detailedFilter"]["options"]["totals"] for body in _reports(three_pages)] == ["CALCULATE"]
    token = wizard.token(first)

    rest = client.post(f"{wizard.base}/{token}/more", hx=True).get_data(as_text=True)

    asked = _reports(three_pages)
    assert sorted(body["detailedFilter"]["page"] for body in asked) == [1, 2, 3]  # each page once, no fourth
    assert [body["detailedFilter"]["options"]["totals"] for body in asked[1:]] == ["EXCLUDE", "EXCLUDE"]
    assert re.search(r"All (\d+) entries loaded \(3 Clockify requests\)", rest)
    assert 'hx-trigger="load' not in rest  # the loader stops: nothing left for the browser to ask
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        assert preview.complete and preview.pages_loaded == 3 and preview.window_pages == 3
        assert int(re.search(r"All (\d+) entries", rest).group(1)) == preview.entry_count > 2000
        billable_ids = {entry.id for entry in classify(preview, "USD", "UTC").selectable}
    # The rows of the first page are listed; the other pages come as their sums, which the totals add up
    listed = wizard.entry_ids(first)
    assert 'name="entry"' not in rest and len(listed) < len(billable_ids)
    sums = {int(page): int(count) for page, count in re.findall(r'data-part="(\d+)"\s+data-count="(\d+)"', rest)}
    assert sorted(sums) == [2, 3] and len(listed) + sum(sums.values()) == len(billable_ids)
    # "Show the next entries" lists any page's rows, each billable entry once over all of them
    for number in sums:
        shown = client.post(f"{wizard.base}/{token}/rows", data={"show": str(number)}, hx=True).get_data(as_text=True)
        assert f'id="page-part-{number}" hx-swap-oob="true"' in shown  # its sums leave the totals
        listed += re.findall(r'name="entry" value="([^"]+)"', shown)
    assert len(listed) == len(set(listed)) and set(listed) == billable_ids

    one_per_entry = {**ALL_BY_PROJECT, "grouping": "entry"}
    page = wizard.post(token, "lines", **one_per_entry).get_data(as_text=True)

    count = int(re.search(r"(\d+) lines from \1 entries", page).group(1))
    assert count == len(billable_ids)
    assert page.count('<td data-label="Description">') == LINES_LISTED < count
    assert f"and {count - LINES_LISTED} more" in page
    total = re.search(r'data-testid="plan-total">\$([\d,.]+)<', page).group(1).replace(",", "")
    assert wizard.post(token, "confirm", **one_per_entry).status_code == 200
    lines = wizard.lines()
    assert len(lines) == count and sum(line.amount_minor for line in lines) == int(total.replace(".", ""))



def test_a_call_failing_mid_way_keeps_the_pages_before_it_and_the_next_step_asks_only_the_rest(
        app, client, logged_in, three_pages):
    """The pages are asked for ahead, in threads: when one fails, what was stored before it stays, the
    claim is released, the error reaches the caller (the page's message), and the next step asks for the
    failed page again and nothing else, so every entry is loaded once."""
    import time
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from sandbox import ACME_ID, MAIN_KEY
    from services import imports
    from services.clockify import ClockifyClient
    from services.clockify_errors import Unreachable

    app.config.update(HOURBILL_CLOCKIFY_API_URL=three_pages.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=three_pages.reports_url)
    assert connect(client).status_code == 303
    Wizard(app, client, three_pages, logged_in.invoice(logged_in.customer("Everyone", "USD"))).preview(billable=None)
    real = ClockifyClient(MAIN_KEY, api_url=three_pages.api_url, reports_url=three_pages.reports_url)
    asked = []

    class FailingOnceOnPageThree:
        def detailed_report_page(self, *args, page, **kwargs):
            asked.append(page)
            if page == 3 and asked.count(3) == 1:
                raise Unreachable()
            return real.detailed_report_page(*args, page=page, **kwargs)

    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        with pytest.raises(Unreachable):
            for _ in imports.load_pages(preview, FailingOnceOnPageThree(), time.monotonic() + 60):
                pass
        db.session.expire_all()
        assert (preview.pages_loaded, preview.complete, preview.loading_until) == (2, False, None)
        assert db.session.scalars(select(ImportPreviewPage.number).order_by(ImportPreviewPage.number)).all() == [1, 2]
        for _ in imports.load_pages(preview, FailingOnceOnPageThree(), time.monotonic() + 60):
            pass
        assert preview.complete and preview.pages_loaded == 3
        ids = [entry.id for entry in imports.preview_entries(preview)]
        filters = imports.Filters.from_dict(preview.filters)
    zone = ZoneInfo(filters.time_zone)  # the report's window: whole days in the filters' zone
    window = (datetime.combine(filters.start, datetime.min.time(), zone),
              datetime.combine(filters.end, datetime.max.time().replace(microsecond=999000), zone))
    truth = {entry.id for entry in three_pages.sandbox.workspace(ACME_ID).entries_between(*window)
             if entry.seconds is not None}
    assert sorted(asked) == [2, 3, 3]
    assert len(ids) == len(set(ids)) == preview.entry_count and set(ids) == truth

def test_a_confirm_goes_on_page_by_page_and_bills_each_entry_once(app, client, logged_in, three_pages):
    app.config.update(HOURBILL_CLOCKIFY_API_URL=three_pages.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=three_pages.reports_url,
                      HOURBILL_IMPORT_STEP_SECONDS=0)  # one step per request
    assert connect(client).status_code == 303
    wizard = Wizard(app, client, three_pages, logged_in.invoice(logged_in.customer("Everyone", "USD")))
    token = wizard.token(wizard.preview(billable=None))
    client.post(f"{wizard.base}/{token}/more", hx=True).get_data()
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        expected = sorted(entry.id for entry in classify(preview, "USD", "UTC").selectable)

    page = wizard.post(token, "confirm", **ALL_BY_PROJECT).get_data(as_text=True)
    steps = [page]
    while (step := re.search(r'id="confirm-progress" hx-post="([^"]+)"', page)) and len(steps) < 10:
        assert wizard.lines() == [] and wizard.imported() == []  # nothing lands before the last step
        page = client.post(step.group(1), hx=True).get_data(as_text=True)
        steps.append(page)

    assert "1 of 3 pages of entries planned" in steps[0] and "3 of 3 pages" in steps[2]
    assert len(steps) == 4 and re.search(r"Imported (\d+) entries as (\d+) lines", page)
    imported = sorted(row.entry_id for row in wizard.imported())
    assert imported == expected and int(re.search(r"Imported (\d+)", page).group(1)) == len(expected)
    lines = wizard.lines()
    with app.app_context():
        per_line = db.session.execute(select(ImportedEntry.line_item_id, func.count()).group_by(
            ImportedEntry.line_item_id)).all()
        assert sum(count for _, count in per_line) == len(expected) and len(per_line) == len(lines) > 1
        assert db.session.scalar(select(func.count()).where(ImportPreviewPage.planned.is_not(None))) == 0

    again = client.post(step.group(1) if step else f"{wizard.base}/{token}/confirm", hx=True).get_data(as_text=True)
    assert "already imported" in again and len(wizard.imported()) == len(expected)  # a late "Continue" adds nothing


@pytest.mark.small_sandbox  # the order of the writes is set by _turns, not by the size of the import
@pytest.mark.parametrize("racing_step", ["plan", "write"])
def test_a_confirm_step_racing_send_adds_all_its_lines_or_none(app, live_server, clockify_sandbox, lines_added_to,
                                                                racing_step):
    """One step per request: "plan" races the confirm's first request (it plans the preview's page) with
    "Mark as sent"; "write" races the step after it, the one that writes the lines."""
    app.config["HOURBILL_IMPORT_STEP_SECONDS"] = 0
    clockify_sandbox.sandbox.rate_limit = None
    app.config["HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND"] = 1000  # timing only: nothing to pace with the limit off
    session = _session(live_server)
    connection_id = _connect(app, session, live_server, clockify_sandbox)
    outcomes = set()
    for trial in range(TRIALS):
        invoice_id, token, confirm_url = _draft_to_confirm(session, live_server, connection_id)
        race = lambda: importer.post(confirm_url, data=ALL_BY_PROJECT, headers=HX)  # noqa: E731
        if racing_step == "write":
            page = session.post(confirm_url, data=ALL_BY_PROJECT, headers=HX).text
            assert "1 of 1 pages of entries planned" in page, page[:300]
            step_url = live_server + re.search(r'id="confirm-progress" hx-post="([^"]+)"', page).group(1)
            race = lambda: importer.post(step_url, headers=HX)  # noqa: E731
        importer, sender = _copies(session, 2)

        stepped, sent = _all_at_once([race, lambda: sender.post(f"{live_server}/invoices/{invoice_id}/send",
                                                                allow_redirects=False)], turns=_turns(trial))

        assert getattr(stepped, "status_code", None) in (200, 409) and getattr(sent, "status_code", None) == 303
        with app.app_context():
            lines = db.session.scalar(select(func.count(LineItem.id)).where(LineItem.invoice_id == invoice_id,
                                                                            LineItem.source == "clockify"))
            billed = db.session.scalar(select(func.count(ImportedEntry.id)).where(ImportedEntry.invoice_id == invoice_id))
            preview = db.session.scalar(select(ImportPreview).where(ImportPreview.token == token))
            if "Imported" in stepped.text:  # the import won: all its lines are on the invoice, sent after them
                outcomes.add("imported")
                assert lines >= 1 and billed > lines and preview.confirmed_at is not None
            else:  # the send won (the step says so), or the step only planned: no line of the import either way
                outcomes.add("planned" if "pages of entries planned" in stepped.text else "refused")
                assert lines == billed == 0 and preview.confirmed_at is None
                assert re.search(r"is sent|was sent", stepped.text) or "pages of entries planned" in stepped.text, \
                    (trial, stepped.text[:300])
            assert db.session.get(Invoice, invoice_id).status == "sent"
        assert set(lines_added_to) <= {"draft"}, (trial, lines_added_to)
        with app.app_context():  # a sent invoice keeps its entries: free them for the next trial
            db.session.execute(db.delete(ImportedEntry))
            db.session.commit()
    assert outcomes and ("imported" in outcomes) == bool(lines_added_to)


def _boxes(html: str) -> dict[str, bool]:
    """The entry boxes a page lists: id -> ticked."""
    return {entry_id: bool(ticked) for entry_id, ticked in
            re.findall(r'name="entry" value="([^"]+)" (checked)?', html)}


def test_without_javascript_rows_come_a_page_at_a_time_and_the_unticked_stay_unbilled(app, client, logged_in,
                                                                                      three_pages):
    """A whole page lists the rows of the pages it shows only (one at first, "Show the next entries" adds
    one), its totals count every loaded entry, and an entry unticked before the list grew stays unticked
    and unbilled while every other entry is billed ("all matching")."""
    app.config.update(HOURBILL_CLOCKIFY_API_URL=three_pages.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=three_pages.reports_url)
    assert connect(client).status_code == 303
    wizard = Wizard(app, client, three_pages, logged_in.invoice(logged_in.customer("Everyone", "USD")))
    first = wizard.preview(billable=None)
    token = wizard.token(first)
    options = {**ALL_BY_PROJECT, "selection": "shown", "shown_pages": "1"}
    for _ in range(2):  # "Load the next 1,000", as the form sends it: the boxes of the first page ticked
        page = client.post(f"{wizard.base}/{token}/more", data={**options, "entry": wizard.entry_ids(first)})
        page = page.get_data(as_text=True)
    assert re.search(r"All \d+ entries loaded \(3 Clockify requests\)", page)
    with app.app_context():
        billable = {entry.id for entry in classify(db.session.scalar(select(ImportPreview)), "USD", "UTC").selectable}
    first = _boxes(page)
    assert all(first.values()) and 0 < len(first) < len(billable) and 'name="show" value="2"' in page
    assert f"<strong data-selected-count>{len(billable)}</strong>" in page

    unticked = sorted(first)[:2]
    ticked = [entry_id for entry_id in first if entry_id not in unticked]
    page = client.post(f"{wizard.base}/{token}/rows", data={**options, "entry": ticked, "show": "2"}).get_data(as_text=True)
    second = _boxes(page)
    assert set(first) < set(second) and {entry_id for entry_id, on in second.items() if not on} == set(unticked)
    assert f"<strong data-selected-count>{len(billable) - 2}</strong>" in page
    assert 'name="shown_pages" value="2"' in page and 'name="show" value="3"' in page

    done = client.post(f"{wizard.base}/{token}/confirm", data={
        **options, "shown_pages": "2", "entry": [entry_id for entry_id, on in second.items() if on]})
    assert done.status_code == 303
    assert {row.entry_id for row in wizard.imported()} == billable - set(unticked)


def test_each_entry_is_listed_apart_with_its_own_reason_when_reasons_are_read_once_per_kind_of_entry(app):
    """classify asks skip_reason once per kind of entry (running, kind, time, rate currency): every entry
    still gets the reason skip_reason gives it, and lands where it would."""
    from itertools import product
    from types import SimpleNamespace

    from services.clockify_types import Money
    from services.lines import resolve_currencies, skip_reason
    from tests.test_lines import entry

    rates = [None, Money.from_clockify(4500, "USD"), Money.from_clockify(4500, "EUR"), Money.from_clockify(100, "€")]
    entries = [replace(entry(f"e{n}", seconds=seconds, rate=rate, kind=kind, running=running), billable=billable)
               for n, (running, kind, seconds, rate, billable) in enumerate(product(
                   (False, True), ("REGULAR", "BREAK", "OVERTIME"), (3600, 0), rates, (True, False)))]
    with app.app_context():
        view = classify(SimpleNamespace(connection_id=0, workspace_id="w1", business_id=0), "USD", "UTC", entries)
    entries = resolve_currencies(entries, {})  # as classify reads them: "€" is EUR
    assert sorted((e.id, reason) for e, reason in view.skipped) == sorted(
        (e.id, skip_reason(e, "USD")) for e in entries if skip_reason(e, "USD"))
    assert {e.id for e in view.selectable} == {e.id for e in entries if not skip_reason(e, "USD") and e.billable}
    assert {e.id for e in view.non_billable} == {e.id for e in entries if not skip_reason(e, "USD") and not e.billable}


def test_a_pages_entries_come_last_so_reading_its_digest_or_plan_does_not_walk_them(app):
    """SQLite reads a row's columns in order: a page's ~0.7 MB of entries before its digest made every read
    of the digest (Show the lines, the confirm) walk the entries' overflow pages (import-fast10). The models
    and the migration (d4f8b2a6c913) put them last."""
    with app.app_context():
        columns = [column["name"] for column in db.inspect(db.engine).get_columns("import_preview_pages")]
    assert columns[-1] == "entries" and {"digest", "planned"} <= set(columns)
