"""Issue 9 in the import wizard: filters are never widened silently, every count covers every loaded
entry (with and without JavaScript), "Change filters" keeps what was chosen, non-billable entries are
billed only when ticked one by one."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from extensions import db
from models import Customer, ImportPreview
from sandbox import ACME_ID, INTERNAL_ID, NORTHWIND_ID, WEBSITE_REDESIGN_ID, create_sandbox
from tests.test_connections import connect
from tests.test_imports import OCTOBER, Wizard, wizard, words  # noqa: F401  (fixtures)

pytestmark = pytest.mark.small_sandbox  # 8 members of 10 entries (tests/fixtures.py)
WIZARD_FROM_A_COPY = True  # no test here looks at what connecting asked Clockify (tests/test_imports.py wizard)



class FormFields(HTMLParser):
    """What a browser without JavaScript sends for a form: hidden and text inputs, ticked boxes,
    selected options (the form with id ``form_id``)."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.inside, self.fields, self.select = form_id, False, [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.inside = attrs.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.fields.append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select":
            self.select = attrs.get("name")
        elif tag == "option" and self.select and "selected" in attrs:
            self.fields.append((self.select, attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def form_of(html: str, form_id: str = "import-form") -> list[tuple[str, str]]:
    parser = FormFields(form_id)
    parser.feed(html)
    return parser.fields


def set_customer_client(wizard, client_id: str) -> None:
    with wizard.app.app_context():
        customer = db.session.scalar(db.select(Customer))
        customer.clockify_client_id = client_id
        db.session.commit()


def reports(wizard) -> list:
    return [call for call in wizard.sandbox.sandbox.requests if call.path.endswith("/reports/detailed")]


# --- item 3: never widen a filter silently ---------------------------------------------------------


def test_a_linked_client_missing_from_the_list_stops_the_import_and_says_so(wizard):
    set_customer_client(wizard, "c1000000000000000000dead")
    page = words(wizard.filters().get_data(as_text=True))
    assert "do not hold the Clockify client linked to Northwind" in page and "Refresh" in page
    wizard.sandbox.sandbox.clear_requests()
    refused = wizard.preview()  # the form as the page sends it: the linked client
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "do not hold the Clockify client linked to Northwind" in words(html)
    assert reports(wizard) == [] and "/lines" not in html  # nothing previewed, nothing to tick


def test_a_chosen_client_project_or_member_missing_from_the_lists_stops_the_import(wizard):
    for fields, said in [({"client": "c1000000000000000000beef"}, "the chosen client"),
                         ({"project": ["9f00000000000000000000aa", WEBSITE_REDESIGN_ID]}, "1 chosen project"),
                         ({"member": "b000000000000000000000aa"}, "1 chosen team member")]:
        wizard.sandbox.sandbox.clear_requests()
        refused = wizard.preview(**fields)
        assert refused.status_code == 422 and said in words(refused.get_data(as_text=True))
        assert reports(wizard) == []


def test_choosing_any_client_deliberately_is_not_refused(wizard):
    set_customer_client(wizard, "c1000000000000000000dead")
    assert wizard.preview(client="").status_code == 200


# --- item 7: "Change filters" comes back with what was chosen --------------------------------------


def test_change_filters_comes_back_with_every_choice(wizard):
    from sandbox import DEMO_USER_ID
    preview = wizard.preview(client=NORTHWIND_ID, project=WEBSITE_REDESIGN_ID, member=DEMO_USER_ID,
                             billable=None, hide_imported="on")
    html = preview.get_data(as_text=True)
    link = re.search(r'<a href="([^"]+)"[^>]*>Change filters</a>', html).group(1).replace("&amp;", "&")
    page = wizard.client.get(link, headers={"HX-Request": "true"}).get_data(as_text=True)
    chosen = form_of(page, form_id="import-filters")
    assert ("client", NORTHWIND_ID) in chosen and ("project", WEBSITE_REDESIGN_ID) in chosen
    assert ("member", DEMO_USER_ID) in chosen and ("range", "custom") in chosen
    assert ("start", "2025-10-01") in chosen and ("end", "2025-10-31") in chosen
    assert ("hide_imported", "on") in chosen and not any(name == "billable" for name, _ in chosen)
    assert "Dates (UTC)" in page  # the zone the dates are read in


# --- item 9: non-billable entries are listed apart, unticked ----------------------------------------


def test_non_billable_entries_are_listed_apart_unticked_and_billed_only_when_ticked(wizard):
    preview = wizard.preview(billable=None)
    html = preview.get_data(as_text=True)
    non_billable = re.findall(r'name="nonbillable" value="([^"]+)"', html)
    assert non_billable and "non-billable entries: not ticked" in words(html)
    assert not re.search(r'name="nonbillable" value="[^"]+" checked', html)
    assert not set(non_billable) & set(wizard.entry_ids(preview))
    token = wizard.token(preview)

    wizard.post(token, "confirm", selection="all")
    imported = {row.entry_id for row in wizard.imported()}
    assert imported and not imported & set(non_billable)  # "all" is every billable entry

    again = wizard.preview(billable=None)
    wizard.post(wizard.token(again), "confirm", selection="some", nonbillable=non_billable[:1])
    assert non_billable[0] in {row.entry_id for row in wizard.imported()}
    line = wizard.lines()[-1]
    assert line.rate_minor > 0  # ticked deliberately: billed at its rate


# --- item 6: more than 1,000 entries ----------------------------------------------------------------


@pytest.fixture
def big(app, client, logged_in):
    """Ada with an invoice and a sandbox month of 2,500 entries (three report pages)."""
    with create_sandbox(members=5, entries_per_member=500, rate_limit=None).serve_in_thread() as running:
        app.config.update(HOURBILL_CLOCKIFY_API_URL=running.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=running.reports_url)
        assert connect(client).status_code == 303
        yield Wizard(app, client, running, logged_in.invoice(logged_in.customer("Everyone", "USD")))


def _classified(wizard):
    from services.imports import classify
    with wizard.app.app_context():
        preview = db.session.scalar(db.select(ImportPreview).order_by(ImportPreview.id.desc()))
        return preview.complete, classify(preview, "USD", "UTC")


def test_every_list_apart_covers_every_loaded_page(big):
    first = big.preview(billable=None, hide_imported=None)
    html = first.get_data(as_text=True)
    token = big.token(first)
    skipped = len(re.findall(r"<li>", html.split('id="skipped-list"')[1].split("</ul>")[0]))
    non_billable = len(re.findall(r'name="nonbillable"', html))
    while 'hx-trigger="load' in html:
        html = big.client.post(f"{big.base}/{token}/more", hx=True).get_data(as_text=True)
        # Pages after the first come as their sums (their rows on "Show the next entries"), which the counts add
        skipped += sum(int(count) for count in re.findall(r'data-part="\d+"[^>]*data-skipped="(\d+)"', html))
        non_billable += sum(int(count) for count in re.findall(r'data-part="\d+"[^>]*data-non-billable="(\d+)"', html))
    complete, view = _classified(big)
    assert complete and skipped == len(view.skipped) > 0 and non_billable == len(view.non_billable) > 0
    # A whole page (no JavaScript) counts them all at once.
    page = words(big.client.post(f"{big.base}/{token}/lines", data={"selection": "some"}).get_data(as_text=True))
    assert f"{len(view.skipped)} entries are never billed" in page
    assert f"{len(view.non_billable)} non-billable entries" in page


def test_without_javascript_add_to_invoice_bills_all_matching_entries_not_only_the_first_page(big):
    data = {"connection": big.connection_id, "workspace": ACME_ID, "submitted": "1", "billable": "on",
            "hide_imported": "on", **OCTOBER}
    response = big.client.post(f"{big.base}/preview", data=data)  # a whole page
    page = response.get_data(as_text=True)
    assert "Load the next 1,000" in page
    fields = form_of(page)
    shown = [value for name, value in fields if name == "entry"]
    assert 0 < len(shown) <= 1000
    unticked = set(shown[:2])
    fields = [(name, value) for name, value in fields if not (name == "entry" and value in unticked)]
    fields += [("grouping", "project"), ("rounding_minutes", "0"), ("rounding_direction", "up"), ("details", "project")]
    done = big.client.post(f"{big.base}/{big.token(response)}/confirm", data=_multidict(fields))
    assert done.status_code == 303, done.get_data(as_text=True)[:500]
    imported = {row.entry_id for row in big.imported()}
    everything = {entry.id for entry in _all_billable(big)}
    assert len(everything) > 1000 and imported == everything - unticked


def _all_billable(wizard):
    from services.imports import preview_entries, skip_reason
    with wizard.app.app_context():
        preview = db.session.scalar(db.select(ImportPreview).order_by(ImportPreview.id.desc()))
        assert preview.complete
        return [entry for entry in preview_entries(preview) if entry.billable and not skip_reason(entry, "USD")]


def _multidict(fields):
    from werkzeug.datastructures import MultiDict
    return MultiDict(fields)


# --- item 12: the 31-day limit, detected from Clockify's answer --------------------------------------


def test_a_31_day_refusal_splits_the_range_whatever_the_plan_is_called(wizard):
    from sandbox.answers import FREE_PLAN_REPORT_MESSAGE
    wizard.filters()
    wizard.sandbox.sandbox.clear_requests()
    wizard.sandbox.sandbox.add_fault(kind="status", path="*/reports/detailed", status=400, code=501, times=1,
                                     message=FREE_PLAN_REPORT_MESSAGE)  # Acme's plan is not "FREE"
    response = wizard.preview(range="custom", start="2025-09-01", end="2025-11-30", billable=None)
    assert response.status_code == 200 and wizard.entry_ids(response), response.get_data(as_text=True)[:400]
    more = wizard.client.post(f"{wizard.base}/{wizard.token(response)}/more", hx=True)
    assert more.status_code == 200
    asked = [call.json["dateRangeStart"][:10] for call in reports(wizard)]
    # refused, then 31-day pieces (the "more" loads the rest of them: each window's pages once)
    assert asked[:3] == ["2025-09-01", "2025-09-01", "2025-10-02"] and asked[-1] == "2025-11-02"
    assert "All " in more.get_data(as_text=True)


# --- item 13: entries that cannot be read are listed apart ------------------------------------------


def test_an_unreadable_entry_is_listed_apart_with_its_id_and_the_rest_import(wizard):
    from dataclasses import replace
    workspace = wizard.sandbox.sandbox.world.workspaces[ACME_ID]
    original = list(workspace.entries)
    october = [entry for entry in original if entry.start.month == 10 and entry.project_id == WEBSITE_REDESIGN_ID
               and entry.seconds and entry.type == "REGULAR" and entry.billable]  # one the preview lists
    bad = october[0]
    try:
        workspace.set_entries([replace(entry, rate=10**30) if entry.id == bad.id else entry for entry in original])
        preview = wizard.preview(client=NORTHWIND_ID)
        html = preview.get_data(as_text=True)
        assert preview.status_code == 200 and bad.id in html and "could not be read" in words(html)
        assert bad.id not in wizard.entry_ids(preview) and wizard.entry_ids(preview)
        wizard.post(wizard.token(preview), "confirm", selection="all")
        imported = {row.entry_id for row in wizard.imported()}
        assert imported and bad.id not in imported
    finally:
        workspace.set_entries(original)


# --- item 3 with archived clients -------------------------------------------------------------------


def test_a_customer_linked_to_an_archived_client_previews_only_that_clients_entries(wizard):
    from sandbox import UMBRELLA_ID
    set_customer_client(wizard, UMBRELLA_ID)
    page = wizard.filters().get_data(as_text=True)
    assert f'<option value="{UMBRELLA_ID}" selected>Umbrella Corp (archived)' in page
    preview = wizard.preview(billable=None, hide_imported=None)
    assert preview.status_code == 200
    (call,) = reports(wizard)[-1:]
    assert call.json["clients"]["ids"] == [UMBRELLA_ID]
    with wizard.app.app_context():
        from services.imports import preview_entries
        entries = preview_entries(db.session.scalar(db.select(ImportPreview)))
    assert entries and {entry.client_id for entry in entries} == {UMBRELLA_ID}


# --- item 10: the workspace's report rounding is preselected -----------------------------------------


def yen_wizard(wizard, accounts) -> Wizard:
    return Wizard(wizard.app, wizard.client, wizard.sandbox, accounts.invoice(accounts.customer("Sakura", "JPY")))


def test_the_workspace_report_rounding_is_preselected_and_said(wizard, logged_in):
    from sandbox import TOKYO_ID
    yen = yen_wizard(wizard, logged_in)
    html = yen.preview(workspace=TOKYO_ID).get_data(as_text=True)
    assert "Clockify's reports round this workspace's time to 15 minutes (up)" in words(html)
    assert '<option value="15" selected>' in html and '<option value="up" selected>' in html


# --- items 1 and 2: a JPY workspace bills Clockify's amounts to the yen; labels are asked about once --


def test_a_jpy_workspace_bills_the_amounts_clockify_reports_to_the_yen(wizard, logged_in):
    from sandbox import SAKURA_ID, TOKYO_ID
    yen = yen_wizard(wizard, logged_in)
    preview = yen.preview(workspace=TOKYO_ID, client=SAKURA_ID)
    ids = yen.entry_ids(preview)
    assert ids
    yen.post(yen.token(preview), "confirm", selection="some", entry=ids[:1], rounding_minutes="0")
    (line,) = yen.lines()
    assert line.rate_minor in (500000 // 100, 800000 // 100, 600000 // 100)  # JPY 5,000 an hour is 5000, not 500000


def test_an_ambiguous_currency_label_is_asked_once_per_workspace_and_remembered(wizard, logged_in):
    from dataclasses import replace
    from sandbox import EURO_SIGN_ID
    workspace = wizard.sandbox.sandbox.world.workspaces[EURO_SIGN_ID]
    original, label = list(workspace.entries), workspace.currency
    try:
        workspace.currency = "$"
        workspace.set_entries([replace(entry, currency="$") for entry in original])
        usd = Wizard(wizard.app, wizard.client, wizard.sandbox, logged_in.invoice(logged_in.customer("Paul", "CAD")))
        preview = usd.preview(workspace=EURO_SIGN_ID, billable=None)
        html = preview.get_data(as_text=True)
        assert "Clockify labels this workspace's currency “$”" in html and not usd.entry_ids(preview)
        answered = usd.client.post(f"{usd.base}/{usd.token(preview)}/currency", data={"label": "$", "currency": "CAD"},
                                   hx=True).get_data(as_text=True)
        assert "Clockify labels" not in answered and re.findall(r'name="entry" value="([^"]+)"', answered)
        again = usd.preview(workspace=EURO_SIGN_ID, billable=None)
        assert "Clockify labels" not in again.get_data(as_text=True) and usd.entry_ids(again)
    finally:
        workspace.currency = label
        workspace.set_entries(original)


def test_a_euro_sign_label_bills_on_a_eur_invoice(wizard, logged_in):
    from sandbox import EURO_SIGN_ID
    eur = Wizard(wizard.app, wizard.client, wizard.sandbox, logged_in.invoice(logged_in.customer("Paul", "EUR")))
    preview = eur.preview(workspace=EURO_SIGN_ID)
    assert eur.entry_ids(preview) and "Rate in €" not in preview.get_data(as_text=True)
