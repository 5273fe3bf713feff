"""A person's locale (issue 13): numbers, amounts and dates written their way, a decimal comma typed where
their locale makes it unambiguous, and a time-zone list of real zones only."""
from __future__ import annotations

import re

import pytest

from extensions import db
from models import LineItem, User
from services.money import AmbiguousNumber, parse_decimal


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


def _personal(client, **fields):
    data = {"display_name": "Ada", "time_zone": "Europe/Berlin", "locale": "", **fields}
    return client.post("/settings/personal", data=data)


@pytest.mark.parametrize("text, value", [("7,5", "7.5"), ("1.234,5", "1234.5"), ("-0,25", "-0.25"), ("7.5", "7.5"),
                                         ("1 234,5", "1234.5"), ("12", "12")])
def test_a_decimal_comma_reads_where_the_locale_writes_one(text, value):
    assert str(parse_decimal(text, comma=True)) == value


@pytest.mark.parametrize("text", ["1.500", "12.000.000"])
def test_a_point_that_could_group_thousands_is_asked_about_not_guessed(text):
    with pytest.raises(AmbiguousNumber, match="write 1500 or 1,5|write 12000000, without points"):
        parse_decimal(text, comma=True)


def test_without_a_comma_locale_7_comma_5_is_still_refused():
    with pytest.raises(ValueError):
        parse_decimal("7,5")


def test_a_german_locale_types_and_reads_decimal_commas(client, logged_in, app):
    assert _personal(client, locale="de_DE").status_code == 303
    invoice = logged_in.invoice(logged_in.customer(currency="EUR"))
    assert logged_in.line(invoice, quantity="7,5", rate="1.234,5").status_code == 303
    with app.app_context():
        line = db.session.scalar(db.select(LineItem))
        assert (str(line.quantity.normalize()), line.rate_minor, line.amount_minor) == ("7.5", 123450, 925875)
    page = client.get(f"/invoices/{invoice}")
    html = page.get_data(as_text=True)
    assert 'value="7,5"' in html and 'value="1234,50"' in html  # the inputs as the person types them
    assert "Total 9.258,75 €" in _text(page)
    ambiguous = logged_in.line(invoice, quantity="1.500", rate="10")
    assert ambiguous.status_code == 422 and "“1.500” reads two ways: write 1500 or 1,5." in _text(ambiguous)


def test_dates_in_the_list_follow_the_locale(client, logged_in):
    customer = logged_in.customer()
    invoice = logged_in.invoice(customer)
    logged_in.line(invoice)
    client.post(f"/invoices/{invoice}/send")
    assert re.search(r"\b[A-Z][a-z]{2} \d{1,2}, 20\d\d\b", _text(client.get("/invoices/")))  # en_US: Nov 30, 2026
    _personal(client, locale="de_DE")
    assert re.search(r"\b\d{2}\.\d{2}\.20\d\d\b", _text(client.get("/invoices/")))  # de_DE: 30.11.2026


def test_the_time_zone_list_offers_real_zones_only_and_a_zone_chosen_before_stays(client, logged_in, app):
    page = client.get("/settings/personal").get_data(as_text=True)
    offered = set(re.findall(r'<option (?:selected )?value="([^"]+)"', page))
    assert {"Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"} <= offered
    assert not offered & {"Factory", "localtime", "posixrules", "US/Eastern", "Etc/GMT+5", "Europe/Kiev"}
    assert _personal(client, time_zone="Factory").status_code == 422

    with app.app_context():  # chosen when the list still had it
        db.session.execute(db.update(User).values(time_zone="US/Eastern"))
        db.session.commit()
    assert _personal(client, time_zone="US/Eastern").status_code == 303
    assert _personal(client, time_zone="US/Pacific").status_code == 422
