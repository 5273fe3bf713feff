"""The lines an import writes are in the invoice's document language, the customer's (issue 11): the words
the line texts add (a split line's rate and member, "and 3 more", "Time tracked") and the rates they name
in that locale's money format; "Show the lines" shows the texts the confirm writes. An English customer's
lines read as before."""
from __future__ import annotations

import pytest

from sandbox import GLOBEX_ID
from services.lines import plan_lines, LineOptions
from tests.test_imports import Wizard, wizard, words  # noqa: F401  (wizard is a fixture)
from tests.test_lines import at, entry

# Globex's "Mobile app" entries of Jonas Weber and Priya Shah carry no Clockify rate: they bill at the
# rate typed in the wizard, one line split off by that rate.
SPLIT = {
    "de": "Mobile app · Jonas Weber, Priya Shah zu 1.234,50\u00a0€/Std. (Standardsatz)",  # Babel: 1.234,50 €
    "en": "Mobile app · Jonas Weber, Priya Shah at €1,234.50/h (default)",
}


@pytest.mark.parametrize("language", SPLIT)
def test_an_import_writes_its_line_texts_in_the_customers_language_and_shows_them_before(
        app, client, logged_in, wizard, language):
    where = {"country": "DE"} if language == "de" else {}  # (an English customer in DE reads en_DE: 1.234,50 €)
    customer_id = logged_in.customer("Globex", "EUR", invoice_language=language, **where)
    importing = Wizard(app, client, wizard.sandbox, logged_in.invoice(customer_id))
    token = importing.token(importing.preview(client=GLOBEX_ID))
    options = {"selection": "all", "grouping": "project", "details": ["project"], "fallback_rate": "1234.50"}
    shown = words(importing.post(token, "lines", **options).get_data(as_text=True))
    assert importing.post(token, "confirm", **options).status_code == 200
    written = [line.description for line in importing.lines()]
    assert SPLIT[language] in written
    assert all(" ".join(text.split()) in shown for text in written)  # the preview showed what the confirm wrote
    if language == "de":  # every split line names its rate the German way, none the English way
        assert all(" zu " in text and "€/Std." in text and "/h" not in text for text in written), written
        assert not any(" at " in text for text in written), written


def test_the_words_a_line_text_adds_are_in_the_invoices_locale(app):
    unnamed = [entry(str(n), start=at(n), project=None, description="") for n in range(2)]  # nothing to say
    listed = [entry(str(n), start=at(n), description=f"Task number {n}") for n in range(3)]
    options = LineOptions(grouping="project", details=frozenset({"project", "description"}), max_description=60)
    with app.test_request_context():
        def texts(entries, locale):
            return [line.description for line in plan_lines(entries, currency="USD", fallback_rate=None,
                                                            options=options, time_zone="UTC", locale=locale).lines]
        assert texts(unnamed, "fr_FR") == ["Temps enregistré"] and texts(unnamed, "en_US") == ["Time tracked"]
        assert texts(listed, "de_DE") == ["Website redesign: Task number 0; Task number 1 und 1 weitere"]
        assert texts(listed, "en_US") == ["Website redesign: Task number 0; Task number 1 and 1 more"]
