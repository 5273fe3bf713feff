"""Credit notes (issue 12): a sent or paid invoice is corrected by a credit note, in full or for chosen
lines and amounts, numbered in its own sequence, naming the invoice it corrects; a full one settles the
invoice and frees its Clockify hours, a partial one keeps them; where voiding is not allowed, Void leads
to the credit note."""
from __future__ import annotations

import re
from datetime import date

import pytest

from extensions import db
from models import Business, ImportedEntry, Invoice
from services import dashboard
from tests.clock import today  # noqa: F401  (fixture: the year the app numbers by)
from tests.test_imports import wizard  # noqa: F401  (a fixture: a draft for Northwind and the sandbox)


def words(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def sent_invoice(accounts, lines=(("Design work", "2", "50"), ("Review", "3", "40")), discount="0") -> int:
    """An invoice through the app: two lines (100.00 + 120.00), 10% tax, sent."""
    customer_id = accounts.customer()
    invoice_id = accounts.invoice(customer_id)
    for description, quantity, rate in lines:
        assert accounts.line(invoice_id, description, quantity, rate).status_code == 303
    assert accounts.client.post(f"/invoices/{invoice_id}/details", data={
        "issue_date": "2026-03-02", "due_date": "2026-03-16", "tax_rate": "10", "discount": discount,
        "notes": ""}).status_code == 303
    assert accounts.client.post(f"/invoices/{invoice_id}/send", data={"confirmed": "1"}).status_code == 303
    return invoice_id


def line_ids(app, invoice_id: int) -> list[int]:
    with app.app_context():
        return [line.id for line in db.session.get(Invoice, invoice_id).lines]


def partial(app, invoice_id: int, chosen: dict[int, tuple[str, str]]) -> dict:
    """The form: the lines at the given indexes credited with (quantity, rate); the others left out."""
    data = {"scope": "partial"}
    for index, line_id in enumerate(line_ids(app, invoice_id)):
        data[f"lines-{index}-line_id"] = str(line_id)
        if index in chosen:
            data |= {f"lines-{index}-chosen": "y", f"lines-{index}-quantity": chosen[index][0],
                     f"lines-{index}-rate": chosen[index][1]}
    return data


def new_draft(client, customer_id: int) -> int:
    return int(client.post("/invoices/new", data={"customer_id": customer_id}).headers["Location"].rsplit("/", 1)[1])


def credit(client, invoice_id: int, data: dict | None = None):
    return client.post(f"/invoices/{invoice_id}/credit-note", data=data or {"scope": "full"})


def invoice_row(app, invoice_id: int) -> Invoice:
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        db.session.expunge(invoice)
        return invoice


def test_a_full_credit_note_credits_every_line_is_numbered_in_its_own_sequence_and_settles_the_invoice(
        app, client, logged_in, today):
    invoice_id = sent_invoice(logged_in)
    page = words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))
    assert "Create credit note" in page
    response = credit(client, invoice_id)
    assert response.status_code == 303
    page = words(client.get(response.headers["Location"]).get_data(as_text=True))
    year = today.year
    assert f"Credit note CN-{year}-0001" in page and "Credit note for invoice INV-0001" in page
    assert "Total credited $242.00" in page  # (100 + 120) + 10% VAT
    original = invoice_row(app, invoice_id)
    assert original.status == "credited" and original.credited_minor == original.total_minor == 24200
    shown = words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))
    assert f"CN-{year}-0001" in shown and "Credited in full" in shown and "Create credit note" not in shown
    with app.app_context():  # settled: nothing outstanding on the dashboard
        figures = dashboard.figures(db.session.scalar(db.select(Business.id)), date(2026, 12, 1))
        assert figures.outstanding == [] and figures.overdue == []
    # A second credit note finds nothing left to credit.
    assert credit(client, invoice_id).status_code == 422


def test_a_partial_credit_note_credits_the_chosen_lines_and_leaves_the_rest_owed(app, client, logged_in, today):
    invoice_id = sent_invoice(logged_in)
    response = credit(client, invoice_id, partial(app, invoice_id, {1: ("1.5", "40")}))
    assert response.status_code == 303, words(response.get_data(as_text=True))
    page = words(client.get(response.headers["Location"]).get_data(as_text=True))
    assert "Review" in page and "Design work" not in page and "Total credited $66.00" in page
    original = invoice_row(app, invoice_id)
    assert original.status == "sent" and original.credited_minor == 6600
    shown = words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))
    assert "Balance due $176.00" in shown and "Credited $66.00" in shown and "Create credit note" in shown
    # The next credit note takes the next number of the credit note sequence, not of the invoices.
    response = credit(client, invoice_id, partial(app, invoice_id, {0: ("1", "50")}))
    assert f"CN-{today.year}-0002" in words(client.get(response.headers["Location"]).get_data(as_text=True))
    client.post(f"/invoices/{invoice_id}/void")  # a credited invoice is corrected further by credit notes only
    assert invoice_row(app, invoice_id).status == "sent"


@pytest.mark.parametrize("chosen, message", [
    ({0: ("3", "50")}, "at most 2"),  # more than the invoice's quantity
    ({0: ("1", "50.01")}, "rate of at most 50"),  # a higher rate
    ({}, "Choose at least one line"),
    ({0: ("0", "50")}, "above 0"),
    ({0: ("1", "abc")}, "Enter a number"),
])
def test_a_partial_credit_larger_than_the_invoice_or_unreadable_is_refused_with_nothing_issued(
        app, client, logged_in, chosen, message):
    invoice_id = sent_invoice(logged_in)
    response = credit(client, invoice_id, partial(app, invoice_id, chosen))
    assert response.status_code == 422 and message in words(response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).where(Invoice.kind == "credit_note")) == 0
        assert db.session.get(Invoice, invoice_id).credited_minor == 0


def test_credits_never_add_up_to_more_than_the_invoice(app, client, logged_in):
    invoice_id = sent_invoice(logged_in)
    assert credit(client, invoice_id, partial(app, invoice_id, {0: ("2", "50"), 1: ("3", "40")})).status_code == 303
    # Everything is credited by lines now: the invoice is settled and takes no more.
    assert invoice_row(app, invoice_id).status == "credited"
    assert credit(client, invoice_id, partial(app, invoice_id, {0: ("1", "1")})).status_code == 422


def test_a_draft_a_void_invoice_and_a_credit_note_cannot_be_credited(app, client, logged_in):
    customer_id = logged_in.customer()
    draft_id = logged_in.invoice(customer_id)
    assert credit(client, draft_id).status_code == 422
    invoice_id = sent_invoice(logged_in)
    note_url = credit(client, invoice_id, partial(app, invoice_id, {0: ("1", "50")})).headers["Location"]
    note_id = int(note_url.rstrip("/").rsplit("/", 1)[1])
    refused = credit(client, note_id)
    assert refused.status_code == 303 and refused.headers["Location"].endswith(f"/credit-notes/{note_id}")
    assert client.get(f"/invoices/{note_id}").headers["Location"].endswith(f"/credit-notes/{note_id}")


def test_a_viewer_and_a_member_cannot_issue_credit_notes(app, client, logged_in):
    invoice_id = sent_invoice(logged_in)
    logged_in.add_member("vic@example.com", "member", name="Vic")
    logged_in.logout()
    logged_in.login("vic@example.com")
    assert client.get(f"/invoices/{invoice_id}/credit-note").status_code == 403
    assert credit(client, invoice_id).status_code == 403
    assert "Create credit note" not in client.get(f"/invoices/{invoice_id}").get_data(as_text=True)


def test_the_credit_note_number_follows_the_settings(app, client, logged_in):
    response = client.post("/settings/credit-notes", data={
        "credit_note_prefix": "GS-", "credit_note_number_format": "{seq:04}", "next_credit_note_number": "41"})
    assert response.status_code == 303
    assert "GS-0041" in words(client.get("/settings/credit-notes").get_data(as_text=True))
    assert client.post("/settings/credit-notes", data={
        "credit_note_prefix": "GS-", "credit_note_number_format": "{nope}", "next_credit_note_number": "x"}
    ).status_code == 422
    invoice_id = sent_invoice(logged_in)
    note = client.get(credit(client, invoice_id).headers["Location"])
    assert "Credit note GS-0041" in words(note.get_data(as_text=True))


def test_where_sent_invoices_cannot_be_voided_void_leads_to_the_credit_note(app, client, logged_in):
    invoice_id = sent_invoice(logged_in)
    assert client.post("/settings/credit-notes", data={
        "credit_note_prefix": "CN-", "credit_note_number_format": "{year}-{seq:04}", "next_credit_note_number": "1",
        "void_forbidden_once_sent": "y"}).status_code == 303
    response = client.get(f"/invoices/{invoice_id}/void")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/invoices/{invoice_id}/credit-note")
    assert "cannot be voided" in words(client.get(response.headers["Location"]).get_data(as_text=True))
    client.post(f"/invoices/{invoice_id}/void")
    assert invoice_row(app, invoice_id).status == "sent"


def test_the_printed_credit_note_names_the_invoice_it_corrects_and_asks_for_no_payment(app, client, logged_in):
    invoice_id = sent_invoice(logged_in)
    note_url = credit(client, invoice_id).headers["Location"]
    note_id = int(note_url.rsplit("/", 1)[1])
    page = client.get(f"/invoices/{note_id}/print").get_data(as_text=True)
    assert "<title>Credit note CN-" in page and "Back to the credit note" in page and "<title>Invoice" not in page
    printed = words(page)
    # Said once, in the document's language and date format (not again as an English note).
    assert printed.count("Credit note for invoice INV-0001 of Mar 2, 2026") == 1
    assert "Total credited (USD) $242.00" in printed and "Payment due by" not in printed
    pdf = client.get(f"/invoices/{note_id}/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert 'filename="credit-note-CN-' in pdf.headers["Content-Disposition"]


def test_a_full_credit_note_frees_the_clockify_hours_to_import_again_and_a_partial_one_keeps_them(app, client, wizard):
    from sandbox import NORTHWIND_ID
    from tests.test_imports import Wizard

    preview = wizard.preview(client=NORTHWIND_ID)
    ids = wizard.entry_ids(preview)
    wizard.post(wizard.token(preview), "confirm", selection="some", entry=ids[:3], grouping="entry")
    customer_id = invoice_row(app, wizard.invoice_id).customer_id
    second = Wizard(app, client, wizard.sandbox, new_draft(client, customer_id))
    second_preview = second.preview(client=NORTHWIND_ID)
    second.post(second.token(second_preview), "confirm", selection="some", entry=ids[3:6], grouping="entry")
    for each in (wizard, second):
        assert client.post(f"/invoices/{each.invoice_id}/send", data={"confirmed": "1"}).status_code == 303
    assert credit(client, wizard.invoice_id, partial(app, wizard.invoice_id, {0: ("0.25", "125")})).status_code == 303
    assert credit(client, second.invoice_id).status_code == 303
    assert {entry.entry_id for entry in wizard.imported()} == set(ids[:3])  # the partial one keeps its hours

    third = Wizard(app, client, wizard.sandbox, new_draft(client, customer_id))
    again = third.preview(client=NORTHWIND_ID)
    offered = set(third.entry_ids(again))
    assert set(ids[3:6]) <= offered and not set(ids[:3]) & offered
    assert "3 entries already on an invoice are hidden" in words(again.get_data(as_text=True))
    third.post(third.token(again), "confirm", selection="some", entry=ids[3:6], grouping="entry")
    assert len(third.lines()) == 3  # billed again, on the new draft


def test_a_partial_credit_lowers_what_is_due_everywhere_and_payments_of_the_rest_settle_the_invoice(
        app, client, logged_in):
    invoice_id = sent_invoice(logged_in)  # 242.00
    assert credit(client, invoice_id, partial(app, invoice_id, {1: ("3", "40")})).status_code == 303  # 132.00
    with app.app_context():
        business_id = db.session.scalar(db.select(Business.id))
        assert [(each.count, each.amount_minor) for each in dashboard.figures(business_id, date(2026, 3, 3)).outstanding] \
            == [(1, 11000)]
    listed = words(client.get("/invoices/?status=sent").get_data(as_text=True))
    assert "$242.00 $0.00 $110.00" in listed  # total, paid, balance due (the row and the sums agree)
    assert "Credit notes" in words(client.get("/invoices/?status=issued").get_data(as_text=True))
    too_much = client.post(f"/invoices/{invoice_id}/payments", data={"paid_on": "2026-03-05", "amount": "110.01"})
    assert too_much.status_code == 422 and "more than the balance due ($110.00)" in words(too_much.get_data(as_text=True))
    assert invoice_row(app, invoice_id).paid_minor == 0
    assert client.post(f"/invoices/{invoice_id}/paid").status_code == 303  # "Mark as paid": the balance, 110.00
    original = invoice_row(app, invoice_id)
    assert (original.status, original.paid_minor, original.credited_minor) == ("paid", 11000, 13200)


def test_crediting_a_paid_invoice_leaves_it_paid_with_nothing_due(app, client, logged_in):
    invoice_id = sent_invoice(logged_in)
    assert client.post(f"/invoices/{invoice_id}/paid").status_code == 303
    assert credit(client, invoice_id, partial(app, invoice_id, {1: ("3", "40")})).status_code == 303
    page = client.get(f"/invoices/{invoice_id}").get_data(as_text=True)
    assert re.search(r'data-testid="balance">\$0\.00<', page) and "Credited $132.00" in words(page)
    assert invoice_row(app, invoice_id).status == "paid"


def test_a_line_is_credited_at_most_once_over_all_credit_notes_and_the_form_says_what_is_left(app, client, logged_in):
    invoice_id = sent_invoice(logged_in)  # line 1: 2 x 50.00, line 2: 3 x 40.00
    assert credit(client, invoice_id, partial(app, invoice_id, {0: ("1", "50")})).status_code == 303
    form = client.get(f"/invoices/{invoice_id}/credit-note").get_data(as_text=True)
    assert re.search(r'id="lines-0-quantity"[^>]*value="1"', form)  # what is left of line 1, at its rate
    assert re.findall(r'data-testid="left">([^<]*)<', form) == ["$50.00", "$120.00"]
    assert re.search(r'<option selected value="partial"|<option value="partial" selected', form)  # not "the whole invoice"
    again = credit(client, invoice_id, partial(app, invoice_id, {0: ("2", "50")}))
    page = again.get_data(as_text=True)
    said = "Line 1: 100.00 USD is more than is left to credit of it, 50.00 USD"
    assert again.status_code == 422 and said in words(page)
    assert re.search(r'<p class="error" id="lines-0-quantity-error">Line 1: 100\.00 USD is more', page)  # at its field
    assert invoice_row(app, invoice_id).credited_minor == 5500  # 50.00 + 10% VAT: the first credit note only
    assert credit(client, invoice_id, partial(app, invoice_id, {0: ("1", "50")})).status_code == 303  # the rest of it
    form = client.get(f"/invoices/{invoice_id}/credit-note").get_data(as_text=True)
    assert re.findall(r'data-testid="left">([^<]*)<', form) == ["Credited in full", "$120.00"]
    assert 'name="lines-0-chosen"' not in form and 'name="lines-0-quantity"' not in form and 'name="lines-1-chosen"' in form
    refused = credit(client, invoice_id, partial(app, invoice_id, {0: ("0.5", "10")}))
    assert refused.status_code == 422 and "Line 1 is credited in full already" in words(refused.get_data(as_text=True))
    whole = credit(client, invoice_id)  # "the whole invoice" would credit line 1 a second time
    assert whole.status_code == 422 and "Part of invoice INV-0001 is credited already" in words(whole.get_data(as_text=True))
    assert invoice_row(app, invoice_id).credited_minor == 11000


@pytest.mark.parametrize("hostile", [
    {"lines-0-line_id": "abc"}, {"lines-0-line_id": ""}, {"lines-0-line_id": "٣"}, {"lines-0-line_id": "999999"},
    {"lines-0-quantity": ""}, {"lines-0-rate": "1e9999"}, {"lines-0-quantity": "0.00001"}, {"scope": "everything"},
])
def test_a_tampered_or_incomplete_credit_note_form_gets_a_message_never_a_500_and_issues_nothing(
        app, client, logged_in, hostile):
    invoice_id = sent_invoice(logged_in)
    response = credit(client, invoice_id, partial(app, invoice_id, {0: ("1", "50")}) | hostile)
    page = response.get_data(as_text=True)
    said = re.findall(r'(?:data-testid="problem"|class="error"[^>]*)>([^<]+)<', page)
    assert response.status_code == 422 and said, words(page)[-600:]
    assert re.search(r"reload the page|Enter|Use at most|Must be|Not a valid choice", " ".join(said)), said
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).where(Invoice.kind == "credit_note")) == 0


def test_once_every_line_is_credited_in_full_the_invoice_offers_no_credit_note_even_with_a_cent_of_vat_left(
        app, client, logged_in):
    invoice_id = sent_invoice(logged_in, lines=[(name, "1", "0.04") for name in "ABC"])  # 0.12 + 10% VAT: 0.13
    for index in range(3):  # each 0.04 + 0.00 VAT
        assert credit(client, invoice_id, partial(app, invoice_id, {index: ("1", "0.04")})).status_code == 303
    assert invoice_row(app, invoice_id).credited_minor == 12
    assert "Create credit note" not in words(client.get(f"/invoices/{invoice_id}").get_data(as_text=True))


def _void(app, client, accounts) -> int:
    invoice_id = sent_invoice(accounts)
    assert client.post(f"/invoices/{invoice_id}/void").status_code == 303
    return invoice_id


def _credited(app, client, accounts) -> int:
    invoice_id = sent_invoice(accounts)
    assert credit(client, invoice_id).status_code == 303
    return invoice_id


def _another_invoices_line(app, client, accounts) -> tuple[int, dict]:
    invoice_id, other_id = sent_invoice(accounts), sent_invoice(accounts)
    return invoice_id, {"scope": "partial", "lines-0-line_id": str(line_ids(app, other_id)[0]), "lines-0-chosen": "y",
                        "lines-0-quantity": "1", "lines-0-rate": "50"}


# Each: (what the invoice is, or how the form is made) -> what the page says. The form data is
# partial(...)'s for line 1 of a sent invoice (1 x 50.00), changed as given.
REFUSALS = {
    "a draft": (lambda app, client, accounts: accounts.invoice(accounts.customer()), None,
                "still a draft: it was never sent"),
    "a void invoice": (_void, None, "is void: nothing is owed on it"),
    "a fully credited invoice": (_credited, None, "credited in full already: there is nothing left"),
    "another invoice's line": (_another_invoices_line, None, "A chosen line is not on this invoice"),
    "another invoice's line with a bad amount": (
        _another_invoices_line, {"lines-0-quantity": "-1"}, "A chosen line is not on this invoice"),
    "a quantity of 0": (None, {"lines-0-quantity": "0"}, "credit a quantity above 0"),
    "a rate of 0": (None, {"lines-0-rate": "0"}, "would credit nothing"),
    "a negative quantity": (None, {"lines-0-quantity": "-1"}, "Must be at least 0"),
    "a negative rate": (None, {"lines-0-rate": "-5"}, "Must be at least 0"),
    "more than the line": (None, {"lines-0-quantity": "2", "lines-0-rate": "50.01"}, "rate of at most 50.00 USD"),
    "no scope": (None, {"scope": None}, "Choose what to credit"),
    "a garbled quantity": (None, {"lines-0-quantity": "1,5,5"}, "Enter a number"),
    "no rate": (None, {"lines-0-rate": None}, "Enter the quantity and the rate to credit"),
}


@pytest.mark.parametrize("case", REFUSALS)
def test_every_refused_credit_note_says_why_in_the_page_and_stores_nothing(app, client, logged_in, case):
    make, change, message = REFUSALS[case]
    made = make(app, client, logged_in) if make else sent_invoice(logged_in)
    invoice_id, data = made if isinstance(made, tuple) else (made, None)
    if data is None:
        data = partial(app, invoice_id, {0: ("1", "50")}) if make is None else {"scope": "full"}
    data = {name: value for name, value in (data | (change or {})).items() if value is not None}
    with app.app_context():
        before = db.session.scalar(db.select(db.func.count()).where(Invoice.kind == "credit_note"))
    response = credit(client, invoice_id, data)
    page = response.get_data(as_text=True)
    said = re.findall(r'(?:data-testid="(?:problem|refused)"|class="error"[^>]*)>([^<]+)<', page)
    assert response.status_code == 422 and message in " ".join(said), (case, said or words(page)[-500:])
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).where(Invoice.kind == "credit_note")) == before


def test_a_credit_note_of_a_credit_note_leads_to_the_credit_note_saying_why(app, client, logged_in, today):
    invoice_id = sent_invoice(logged_in)
    note_id = int(credit(client, invoice_id).headers["Location"].rsplit("/", 1)[1])
    for ask in (lambda: client.get(f"/invoices/{note_id}/credit-note"), lambda: credit(client, note_id)):
        response = ask()
        assert response.status_code == 303 and response.headers["Location"].endswith(f"/credit-notes/{note_id}")
        page = words(client.get(response.headers["Location"]).get_data(as_text=True))
        assert f"CN-{today.year}-0001 is a credit note, and a credit note cannot itself be credited" in page
        assert "credit invoice INV-0001 again" in page
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).where(Invoice.kind == "credit_note")) == 1
