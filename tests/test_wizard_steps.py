"""The wizard's steps (issue 14 item 4, issue 13's wizard points), request by request: each step its own
block, the step indicator's ways back keep what was chosen, From and To count only for a custom range,
members narrowed by private projects, problems said from data and the cache age from config, and
lines split by rate say why."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from sandbox import ACME_ID, FREE_ID, NORTHWIND_ID, WEBSITE_REDESIGN_ID
from services.clockify_types import Member, Project, ReferenceData
from tests.test_import_integrity import form_of
from tests.test_imports import OCTOBER, wizard, words  # noqa: F401  (wizard is a fixture)
from tests.test_lines import at, entry, plan, usd

pytestmark = pytest.mark.small_sandbox  # the wizard's steps read as well from 8 members of 10 entries as of 55 of 40


def steps_of(html: str) -> list[tuple[str, str | None, bool]]:
    """The step indicator: (label, link or None, current?) per step."""
    nav = html.split('id="import-steps"')[1].split("</nav>")[0]
    found = []
    for item in re.findall(r"<li[^>]*>(.*?)</li>", nav, re.S):
        link = re.search(r'href="([^"]+)"', item)
        found.append((words(item), link and link.group(1).replace("&amp;", "&"), 'aria-current="step"' in item))
    return found


def test_each_step_answers_htmx_with_its_own_block_and_a_whole_page_with_an_h1(wizard):
    start = wizard.start(hx=True).get_data(as_text=True)
    assert start.lstrip().startswith('<section id="import-wizard"') and "<html" not in start
    assert steps_of(start) == [("Workspace", None, True), ("Filters", None, False), ("Entries", None, False),
                               ("Lines", None, False)]
    whole = wizard.start().get_data(as_text=True)
    assert re.search(r"<h1[^>]*>Import from Clockify</h1>", whole)
    assert "aria-live" not in whole.split('id="import-wizard"')[1]  # only status messages are live


def test_the_way_back_to_the_workspace_keeps_every_filter_for_that_workspace(wizard):
    from sandbox import DEMO_USER_ID
    preview = wizard.preview(client=NORTHWIND_ID, project=WEBSITE_REDESIGN_ID, member=DEMO_USER_ID, billable=None)
    html = preview.get_data(as_text=True)
    (_, workspace_url, _), (_, filters_url, _), (entries, _, current), _ = steps_of(html)
    assert entries == "Entries" and current
    back = wizard.client.get(workspace_url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'<option value="{ACME_ID}" selected>' in back
    # "Load clients, projects and members" again: the filters come back as they were.
    sent = MultiDict(form_of(back, "import-workspace-form"))
    again = wizard.client.get(f"{wizard.base}/filters", query_string=sent, headers={"HX-Request": "true"})
    chosen = [field for field in form_of(again.get_data(as_text=True), form_id="import-filters")
              if field[0] != "csrf_token"]
    assert ("client", NORTHWIND_ID) in chosen and ("project", WEBSITE_REDESIGN_ID) in chosen
    assert ("member", DEMO_USER_ID) in chosen and ("start", "2025-10-01") in chosen
    assert not any(name == "billable" for name, _ in chosen)
    assert [field for field in form_of(wizard.client.get(filters_url, headers={"HX-Request": "true"}).get_data(
        as_text=True), form_id="import-filters") if field[0] != "csrf_token"] == chosen
    # Another workspace chosen on the way back: its filters start afresh, nothing of Acme's is carried.
    other = {**dict(parse_qsl(urlsplit(workspace_url).query)), "workspace": FREE_ID}
    fresh = wizard.client.get(f"{wizard.base}/filters", query_string=other).get_data(as_text=True)
    assert "do not hold" not in fresh and ("project", WEBSITE_REDESIGN_ID) not in form_of(fresh, "import-filters")


def test_from_and_to_count_only_for_a_custom_range(wizard):
    garbage = wizard.preview(range="last_month", start="not a date", end="2001-01-01")
    assert garbage.status_code == 200
    today = datetime.now(timezone.utc).date()
    last = today.replace(day=1) - timedelta(days=1)
    assert f"{last.replace(day=1).isoformat()} to {last.isoformat()} (UTC)" in garbage.get_data(as_text=True)
    custom = wizard.preview(**OCTOBER).get_data(as_text=True)
    assert "2025-10-01 to 2025-10-31 (UTC)" in custom
    filters = wizard.filters().get_data(as_text=True)
    assert words(filters).count("(only for Custom range)") == 2  # said where JavaScript cannot hide them


def test_a_rate_limit_names_the_cache_age_from_the_configuration(app, wizard):
    app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"] = 30 * 60
    assert "keeps this data for 30 minutes" in words(wizard.filters(workspace=FREE_ID).get_data(as_text=True))
    wizard.sandbox.sandbox.add_fault(path="*/reports/detailed", kind="status", status=429, retry_after=600)
    html = words(wizard.preview(client=NORTHWIND_ID).get_data(as_text=True))
    assert "Hourbill keeps workspace data for 30 minutes to spare them" in html and "15 minutes" not in html


def test_projects_and_members_are_checkbox_lists(wizard):
    html = wizard.filters(client=NORTHWIND_ID).get_data(as_text=True)
    assert "<select" not in html.split('id="import-projects"')[1].split("</fieldset>")[0]
    assert f'name="project" value="{WEBSITE_REDESIGN_ID}"' in html and 'type="checkbox" name="member"' in html


# --- members narrowed by the projects' memberships ---------------------------------------------------

def _project(id, public, members=()):
    return Project.from_api({"id": id, "name": id, "public": public, "memberships": [
        {"userId": member, "membershipType": "PROJECT"} for member in members]})


def test_members_are_narrowed_only_when_every_project_says_who_may_track_on_it():
    people = tuple(Member(id, id.title(), f"{id}@example.com") for id in ("ada", "bo", "cy"))
    private = [_project("p1", False, ["ada"]), _project("p2", False, ["bo"])]
    reference = ReferenceData((), tuple(private), people)
    assert [member.id for member in reference.members_on(private)] == ["ada", "bo"]
    public = _project("p3", True, ["ada"])  # anyone may track on a public project, whoever is listed
    assert public.member_ids is None and reference.members_on([*private, public]) is None
    unknown = Project.from_api({"id": "p4", "name": "p4"})  # memberships not sent: anyone, as far as we know
    assert reference.members_on([*private, unknown]) is None and reference.members_on([]) is None


# --- lines split by rate say why ----------------------------------------------------------------------

def test_a_grouping_split_by_rate_names_each_lines_rate_and_the_preview_says_so():
    entries = [entry("1", rate=usd(4500), member="Luke"), entry("2", start=at(1), rate=usd(6000), member="Luke"),
               entry("3", start=at(2), rate=None, member="Luke")]
    result = plan(entries, grouping="project", details=frozenset({"project"}), fallback_rate=Decimal("45"))
    assert [line.description for line in result.lines] == [
        "Website redesign · $45.00/h", "Website redesign · $60.00/h", "Website redesign · $45.00/h (default)"]
    assert result.split_by_rate and not result.split_by_member
    single = plan(entries[:1], grouping="project", details=frozenset({"project"}))
    assert single.lines[0].description == "Website redesign" and not single.split_by_rate


def test_rates_per_member_name_the_member_and_the_rate():
    entries = [entry("1", rate=usd(9000), member="Ada"), entry("2", start=at(1), rate=usd(7000), member="Bo"),
               entry("3", start=at(2), rate=usd(9000), member="Ada")]
    result = plan(entries, grouping="project", details=frozenset({"project"}))
    assert [line.description for line in result.lines] == ["Website redesign · Ada at $90.00/h",
                                                           "Website redesign · Bo at $70.00/h"]
    assert result.split_by_member
    # The text names members already: the rate alone tells the lines apart.
    named = plan(entries, grouping="project", details=frozenset({"project", "member"}))
    assert [line.description for line in named.lines] == ["Website redesign · Ada · $90.00/h",
                                                          "Website redesign · Bo · $70.00/h"]


def test_the_rounding_is_said_in_words_for_each_direction():
    from services.lines import LineOptions
    said = {direction: LineOptions(rounding_minutes=15, rounding_direction=direction).rounding_sentence
            for direction in ("up", "nearest", "down")}
    assert said == {"up": "up to 15 minutes", "nearest": "to the nearest 15 minutes", "down": "down to 15 minutes"}


def test_a_split_label_fits_the_line_text_limit():
    entries = [entry("1", rate=usd(4500), description="x" * 200), entry("2", start=at(1), rate=usd(6000))]
    result = plan(entries, grouping="project", details=frozenset({"project", "description"}), max_description=40)
    assert all(len(line.description) <= 40 for line in result.lines)
    assert [line.description.endswith("/h") for line in result.lines] == [True, True]


def test_the_lines_step_says_split_by_rate(wizard):
    preview = wizard.preview(client=NORTHWIND_ID, project=WEBSITE_REDESIGN_ID)
    html = wizard.post(wizard.token(preview), "lines", selection="all", grouping="project",
                       details=["project"]).get_data(as_text=True)
    assert "Split by rate" in html and re.search(r"Website redesign · [^<]*\$[\d,.]+/h", html)
    assert 'id="import-steps"' in html and 'hx-swap-oob="true"' in html  # the indicator moves to Lines
    assert ("Lines", None, True) in steps_of(html)
