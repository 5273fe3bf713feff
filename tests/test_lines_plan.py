""""Show the lines" on a big selection (issue 15): planned page by page over several requests, each
bounded by HOURBILL_IMPORT_STEP_SECONDS, with the very lines, amounts, texts and reconciliation that
one pass over every selected entry gives; a confirm whose parts "Show the lines" replaced meanwhile
still writes its own lines."""
from __future__ import annotations

import json
import random
import re
import time
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from extensions import db
from models import ImportPreview, ImportPreviewPage, Invoice
from sandbox import create_sandbox
from services import imports
from services.lines import DETAILS, GROUPINGS, LineOptions, LinePlanner, Reconciler
from tests.test_big_imports import ALL_BY_PROJECT, three_pages  # noqa: F401 (a fixture)
from tests.test_imports import Wizard, connect


def _one_pass(preview, invoice, selection, options, rate, zone):
    """The oracle: the plan as "Show the lines" made it in one request before issue 15, every selected
    entry of every stored page through one LinePlanner and one Reconciler."""
    planner = LinePlanner(currency=invoice.currency, fallback_rate=rate, options=options, time_zone=zone)
    reconciler = Reconciler(currency=invoice.currency, fallback_rate=rate, options=options)
    shown = selection.shown(preview)
    for entries in imports.preview_pages(preview):
        view = imports.classify(preview, invoice.currency, zone, entries=entries)
        for entry in imports.selected(view, selection.mode, selection.entry_ids, selection.excluded, shown=shown,
                                      non_billable_ids=selection.non_billable_ids):
            if planner.add(entry):
                reconciler.add(entry)
    plan = planner.plan()
    return plan, reconciler.result(plan)


@pytest.fixture(scope="module")
def one_page():
    """A month of 600 entries: one report page, which _previewed stores again as pages of its own (a preview
    of three_pages' 2,500 rendered its first 1,000 rows for the ~300 entries kept)."""
    with create_sandbox(members=5, entries_per_member=120, rate_limit=None).serve_in_thread() as running:
        yield running


def _previewed(app, client, logged_in, running, pages: int, size: int) -> Wizard:
    """A preview of the sandbox's entries stored again as ``pages`` pages of ``size`` entries, each page
    after the first repeating the entry before it, as overlapping report pages of Clockify's can."""
    app.config.update(HOURBILL_CLOCKIFY_API_URL=running.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=running.reports_url)
    assert connect(client).status_code == 303
    wizard = Wizard(app, client, running, logged_in.invoice(logged_in.customer("Everyone", "USD")))
    wizard.preview_token = wizard.token(wizard.preview(billable=None))  # its first report page
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        items = [item for page in db.session.scalars(select(ImportPreviewPage.entries).where(
            ImportPreviewPage.preview_id == preview.id).order_by(ImportPreviewPage.number)) for item in page]
        db.session.execute(delete(ImportPreviewPage).where(ImportPreviewPage.preview_id == preview.id))
        for number in range(1, pages + 1):
            page = items[(number - 1) * size:number * size]
            db.session.add(ImportPreviewPage(preview_id=preview.id, number=number,
                                             entries=[*page, items[(number - 1) * size - 1]] if number > 1 else page))
        preview.pages_loaded, preview.complete, preview.cursor_window = pages, True, None
        db.session.commit()
    return wizard


def test_the_plan_made_a_page_per_step_is_the_plan_made_in_one_pass(app, client, logged_in, one_page):
    """Random selections and options (seeded), every grouping, over 480 entries stored as six
    overlapping pages: step by step, one page per step, then the join."""
    wizard = _previewed(app, client, logged_in, one_page, pages=6, size=80)
    rng = random.Random(15)
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        invoice = db.session.get(Invoice, wizard.invoice_id)
        view = imports.classify(preview, "USD", "UTC")
        billable, non_billable = [e.id for e in view.selectable], [e.id for e in view.non_billable]
        assert len(billable) > 100 and non_billable
        for case in range(6):
            mode = ("all", "some", "shown")[case % 3]
            selection = imports.Selection(
                mode=mode, entry_ids=tuple(rng.sample(billable, len(billable) // 2)) if mode != "all" else (),
                excluded=tuple(rng.sample(billable, 20)) if mode == "all" else (),
                non_billable_ids=tuple(rng.sample(non_billable, min(5, len(non_billable)))),
                shown_pages=rng.randint(1, 6) if mode == "shown" else 0)
            options = LineOptions(grouping=GROUPINGS[case], rounding_minutes=rng.choice([0, 6, 15]),
                                  rounding_direction=rng.choice(["up", "nearest", "down"]),
                                  details=frozenset(rng.sample(DETAILS, rng.randint(0, len(DETAILS)))),
                                  max_description=rng.choice([40, 300]))
            rate, zone = rng.choice([None, Decimal("90"), Decimal("52.5")]), rng.choice(["UTC", "Europe/Berlin"])
            expected, expected_reconciliation = _one_pass(preview, invoice, selection, options, rate, zone)

            run, steps, progress = imports.new_plan_run(), 0, None
            while progress is None or not progress.done:
                progress = imports.plan_step(preview, invoice, selection, options, rate, zone, run, until=0)
                steps += 1
                assert steps <= 7
            db.session.commit()

            assert steps == 7  # six pages, a step each, then the join
            at_once = imports.plan_step(preview, invoice, selection, options, rate, zone, imports.new_plan_run(),
                                        until=time.monotonic() + 60)  # time enough: every page in one step
            for made in (progress, at_once):
                assert expected.lines and made.plan.lines == expected.lines
                assert [line.entry_seconds for line in made.plan.lines] == [line.entry_seconds for line in expected.lines]
                assert made.reconciliation == expected_reconciliation
            assert progress.plan.entry_count == len({entry_id for line in expected.lines for entry_id in line.entry_ids})
        assert db.session.scalar(select(ImportPreviewPage.id).where(ImportPreviewPage.planned.is_not(None))) is None


def _fold_pages(app) -> None:
    """Each stored page keeps its fold, as a page the preview stores does (``_previewed`` stores none)."""
    from services.clockify_types import TimeEntry, from_plain
    from services.lines import fold

    with app.app_context():
        for page in db.session.scalars(select(ImportPreviewPage)):
            page.digest = fold([from_plain(TimeEntry, item) for item in page.entries], "UTC")
        db.session.commit()


def test_a_confirm_of_the_lines_just_shown_writes_them_without_planning_a_page_again(app, client, logged_in,
                                                                                     one_page, monkeypatch):
    """"Add to invoice" with the options and selection "Show the lines" just planned in one request writes
    those lines (issue 15: the quarter's confirm planned them again); other options are planned anew."""
    wizard = _previewed(app, client, logged_in, one_page, pages=3, size=100)
    _fold_pages(app)
    token = wizard.preview_token
    assert "lines from" in wizard.post(token, "lines", **ALL_BY_PROJECT).get_data(as_text=True)
    by_task = {**ALL_BY_PROJECT, "grouping": "task", "details": ["project", "task"]}
    assert "lines from" in wizard.post(token, "lines", **by_task).get_data(as_text=True)
    with app.app_context():
        preview, invoice = db.session.scalar(select(ImportPreview)), db.session.get(Invoice, wizard.invoice_id)
        expected, _ = _one_pass(preview, invoice, imports.Selection(mode="all"),
                                LineOptions.from_form(by_task), Decimal("90"), "UTC")
    planned = []
    monkeypatch.setattr(imports, "_plan_page", lambda *args: planned.append(args[1]))
    done = wizard.post(token, "confirm", **by_task).get_data(as_text=True)
    assert "Imported" in done and planned == []
    assert [(line.description, line.quantity, line.rate_minor) for line in wizard.lines()] == [
        (line.description, line.quantity, line.rate_minor) for line in expected.lines]
    assert sorted(row.entry_id for row in wizard.imported()) == sorted(i for line in expected.lines for i in line.entry_ids)
    with app.app_context():  # an entry written twice (a race) trips the unique key, on either database's bulk write
        row = wizard.imported()[0]
        with pytest.raises(IntegrityError):
            imports._insert_links([(row.business_id, row.invoice_id, row.line_item_id, row.workspace_id, row.entry_id,
                                    1, 1)])
        db.session.rollback()


@pytest.mark.parametrize("folded", [True, False])
def test_a_confirm_plans_again_when_an_entry_shown_was_billed_elsewhere_meanwhile(app, client, logged_in,
                                                                                  one_page, folded):
    """An entry of the lines shown billed on another invoice since: the confirm of "all" bills the rest,
    as it would without the lines shown (they are not written as they are); with pages that keep their
    fold (as every page stored now) and without (stored before folds were kept)."""
    from models import ImportedEntry, LineItem

    wizard = _previewed(app, client, logged_in, one_page, pages=3, size=100)
    if folded:
        _fold_pages(app)
    token = wizard.preview_token
    assert "lines from" in wizard.post(token, "lines", **ALL_BY_PROJECT).get_data(as_text=True)
    other = logged_in.invoice(logged_in.customer("Other", "USD"))
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        billable = [entry.id for entry in imports.classify(preview, "USD", "UTC").selectable]
        line = LineItem(invoice_id=other, position=1, description="Billed", quantity=Decimal(1), unit="h",
                        rate_minor=100, amount_minor=100, source="clockify")
        db.session.add(line)
        db.session.flush()
        db.session.add(ImportedEntry(business_id=preview.business_id, invoice_id=other, line_item_id=line.id,
                                     workspace_id=preview.workspace_id, entry_id=billable[5], seconds=1, rate_minor=1))
        db.session.commit()
    done = wizard.post(token, "confirm", **ALL_BY_PROJECT).get_data(as_text=True)
    assert f"Imported {len(billable) - 1} entries" in done
    ours = {row.entry_id for row in wizard.imported() if row.invoice_id == wizard.invoice_id}
    assert ours == set(billable) - {billable[5]}


def test_show_the_lines_goes_on_request_by_request_and_a_confirm_keeps_its_own_lines(app, client, logged_in,
                                                                                      one_page):
    """Three stored pages, one step per request: the progress asks again (htmx) or says "Continue"
    (no JavaScript), and the last request lists the lines. A confirm under way meanwhile, whose parts
    the other options' "Show the lines" replaced, still adds the lines of its own options."""
    wizard = _previewed(app, client, logged_in, one_page, pages=3, size=100)
    app.config["HOURBILL_IMPORT_STEP_SECONDS"] = 0
    token, by_day = wizard.preview_token, {**ALL_BY_PROJECT, "grouping": "day", "details": ["date"]}
    with app.app_context():
        billable = len(imports.classify(db.session.scalar(select(ImportPreview)), "USD", "UTC").selectable)

    confirming = wizard.post(token, "confirm", **ALL_BY_PROJECT).get_data(as_text=True)
    assert "1 of 3 pages of entries planned" in confirming
    whole_page = client.post(f"{wizard.base}/{token}/lines", data=by_day).get_data(as_text=True)
    assert "Planning the lines: 1 of 3 pages" in whole_page
    assert re.search(r'<button type="submit" name="plan_run" value="[\w-]{16}">Continue</button>', whole_page)
    answers, run = [], None
    while len(answers) < 6:
        answers.append(wizard.post(token, "lines", **by_day, **({"plan_run": run} if run else {}))
                       .get_data(as_text=True))
        asked = re.search(r'id="plan-progress" hx-post="[^"]+/lines"[^>]*hx-trigger="load"[^>]*'
                          r'hx-vals=\'\{"plan_run": "([\w-]{16})"\}\'', answers[-1])
        if not asked:
            break
        run = asked.group(1)
    assert [re.search(r"(\d) of 3 pages", answer).group(1) for answer in answers[:3]] == ["1", "2", "3"]
    assert len(answers) == 4 and "lines from" in answers[-1] and "plan-progress" not in answers[-1]
    days = int(re.search(r"(\d+) lines? from (\d+) entries", answers[-1]).group(1))

    while (step := re.search(r'id="confirm-progress" hx-post="([^"]+)"', confirming)):
        confirming = client.post(step.group(1), hx=True).get_data(as_text=True)
    imported = re.search(r"Imported (\d+) entries as (\d+) lines", confirming)
    by_project = [line.description for line in wizard.lines()]
    assert imported and int(imported.group(2)) == len(by_project) != days
    assert int(imported.group(1)) == len(wizard.imported()) == billable  # the replaced page's entries too
    assert len(set(by_project)) == len(by_project)  # one line per project (and rate), never a day's


def test_a_preview_read_member_by_member_lists_one_page_and_sums_the_rest(app, client, logged_in, three_pages):
    """The report refused (403): the entries are read member by member, all at once, and stored as pages
    of a report's size, so the page lists the first page's rows (not 2,500) and its totals count them all."""
    app.config.update(HOURBILL_CLOCKIFY_API_URL=three_pages.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=three_pages.reports_url)
    assert connect(client).status_code == 303
    wizard = Wizard(app, client, three_pages, logged_in.invoice(logged_in.customer("Everyone", "USD")))
    three_pages.sandbox.add_fault("status", "*/reports/detailed", status=403, code=403, message="Access Denied")
    try:
        page = wizard.preview(billable=None).get_data(as_text=True)
    finally:
        three_pages.sandbox.clear_faults()
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        billable = len(imports.classify(preview, "USD", "UTC").selectable)
        assert preview.per_member and preview.complete and preview.entry_count > 2000
        assert db.session.scalar(select(func.count()).where(ImportPreviewPage.preview_id == preview.id)) == 3
    listed = len(re.findall(r'name="entry" value=', page))
    assert 0 < listed <= 1000 < billable
    assert int(re.search(r"data-selected-count>(\d+)<", page).group(1)) == billable
    assert re.search(r'data-rows-all>(\d+)<', page).group(1) == str(billable)


def _summed_in_python(preview, currency, rate, shown):
    """The oracle: each page after ``shown`` classified and summed in Python (PagePart.of)."""
    from services.lines import entry_amounts

    unreadable = imports._unreadable_counts(preview)
    return [imports.PagePart.of(number, view, entry_amounts(view.selectable, currency, rate), unreadable.get(number, 0))
            for number, page in enumerate(imports.preview_pages(preview), start=1) if number > shown
            for view in [imports.classify(preview, currency, "UTC", entries=page)]]


def test_the_sums_of_pages_not_shown_made_by_the_database_are_those_made_in_python(app, client, logged_in,
                                                                                   one_page):
    """Whole pages and currency answers sum the pages they do not list in SQL: the same counts, seconds,
    amounts and report amounts as classify and entry_amounts give, for entries of every kind (running,
    a break, no time, other and ambiguous currency labels before and after the answer, report amounts
    in another currency, none, non-billable, billed elsewhere, repeated within and across pages)."""
    from models import ImportedEntry, LineItem

    wizard = _previewed(app, client, logged_in, one_page, pages=4, size=60)
    with app.app_context():
        preview = db.session.scalar(select(ImportPreview))
        pages = {page.number: page for page in db.session.scalars(select(ImportPreviewPage).where(
            ImportPreviewPage.preview_id == preview.id))}
        base = next(item for item in pages[3].entries if item["rate"] and item["billable"])
        odd = [{**base, "end": None, "seconds": None}, {**base, "kind": "BREAK"}, {**base, "seconds": 0},
               {**base, "rate": {**base["rate"], "currency": "EUR"}}, {**base, "rate": {**base["rate"], "currency": "$"}},
               {**base, "amount": {"amount": "12.34", "currency": "EUR"}}, {**base, "amount": {"amount": "0.00", "currency": "kr"}},
               {**base, "amount": None}, {**base, "billable": False}, {**base, "rate": None, "amount": None},
               {key: value for key, value in base.items() if key != "kind"}, {**base, "rate": {"amount": "0.07", "currency": "USD"}}]
        extra = [{**item, "id": f"odd-{n}"} for n, item in enumerate(odd)]
        pages[3].entries = [*pages[3].entries, *extra[:6], pages[3].entries[0]]  # and one repeated on its page
        pages[4].entries = [*pages[4].entries, *extra[6:], extra[0]]  # and one of page 3's
        line = LineItem(invoice_id=wizard.invoice_id, position=1, description="Billed", quantity=Decimal(1), unit="h",
                        rate_minor=100, amount_minor=100, source="clockify")
        db.session.add(line)
        db.session.flush()
        db.session.add(ImportedEntry(business_id=preview.business_id, invoice_id=wizard.invoice_id, line_item_id=line.id,
                                     workspace_id=preview.workspace_id, entry_id=pages[4].entries[3]["id"], seconds=1,
                                     rate_minor=1))
        db.session.commit()
        for answered in (False, True):
            if answered:
                imports.answer_currency(preview.connection_id, preview.workspace_id, "$", "USD")
                db.session.commit()
            for currency, rate, shown in (("USD", None, 1), ("USD", Decimal("52.5"), 2), ("EUR", Decimal("80"), 1)):
                summed = imports._page_sums(preview, currency, rate, shown, imports._unreadable_counts(preview))
                assert summed is not None and summed == _summed_in_python(preview, currency, rate, shown)
                assert sum(part.skipped for part in summed) >= 3 and sum(part.elsewhere for part in summed) == 1
            _, parts = imports.shown_and_parts(preview, "USD", "UTC", None, 1)
            assert parts == _summed_in_python(preview, "USD", None, 1) and [part.number for part in parts] == [2, 3, 4]
            for currency, rate in (("USD", None), ("USD", Decimal("52.5")), ("EUR", Decimal("80"))):
                assert [_folded(preview, number, page, currency, rate) for number, page in pages.items()] == [
                    _classified(preview, number, page, currency, rate) for number, page in pages.items()]


def _page_entries(page) -> list:
    """A stored page's entries, each once (its fold keeps an entry repeated on the page once)."""
    from services.clockify_types import TimeEntry, from_plain

    return list({item["id"]: from_plain(TimeEntry, item) for item in reversed(page.entries)}.values())[::-1]


def _folded(preview, number, page, currency, rate):
    """The sums a page streamed into the preview shows (imports.folded_part, from the page's fold)."""
    from services.lines import fold

    entries = _page_entries(page)
    stored = imports.StoredPage(entries, json.loads(json.dumps(fold(entries, "UTC"))), len(page.unreadable or ()))
    return imports.folded_part(preview, number, stored, currency, rate)


def _classified(preview, number, page, currency, rate):
    """The oracle: the page's entries classified and priced one by one (PagePart.of)."""
    from services.lines import entry_amounts

    view = imports.classify(preview, currency, "UTC", entries=_page_entries(page))
    return imports.PagePart.of(number, view, entry_amounts(view.selectable, currency, rate), len(page.unreadable or ()))
