"""Payments racing through a real threaded server (tests/test_invoice_races.py shows the harness): two
payments over the balance, two "Mark as paid" clicks, two deletes of one payment. Exactly one of each
pair changes the invoice, the other is told why, and paid_minor is always the sum of the payments. Each
trial is the race (both read before either writes: tests/test_concurrency.py, _FirstWrites)."""
from __future__ import annotations

from extensions import db
from models import Invoice, Payment
from tests.test_invoice_races import TRIALS, _invoice, _race, ada  # noqa: F401  (ada: a fixture)


def _paid(app, invoice_id) -> tuple[str, int, list[int]]:
    with app.app_context():
        invoice = db.session.get(Invoice, invoice_id)
        return invoice.status, invoice.paid_minor, sorted(p.amount_minor for p in invoice.payments)


def _post_payment(base, invoice_id, amount):
    return lambda s: s.post(f"{base}/invoices/{invoice_id}/payments", allow_redirects=False,
                            data={"paid_on": "2026-11-20", "amount": amount, "method": "", "note": ""})


def test_two_payments_over_the_balance_at_once_store_exactly_one(app, live_server, ada):
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial, status="sent", lines=2)  # 100.00 USD due
        responses = []
        said = _race(ada, live_server, *(lambda s, call=_post_payment(live_server, invoice_id, "60"):
                                         responses.append(call(s)) or responses[-1] for _ in range(2)),
                     first=trial)
        assert sorted(response.status_code for response in responses) == [303, 422], (trial, said)
        loser = next(response for response in responses if response.status_code == 422)
        assert "That is more than the balance due ($40.00): nothing was recorded." in loser.text
        assert _paid(app, invoice_id) == ("partially_paid", 6000, [6000]), trial


def test_two_mark_as_paid_clicks_at_once_record_one_payment(app, live_server, ada):
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial, status="sent")
        said = _race(ada, live_server, *(lambda s: s.post(f"{live_server}/invoices/{invoice_id}/paid",
                                                          allow_redirects=False) for _ in range(2)), first=trial)
        assert _paid(app, invoice_id) == ("paid", 5000, [5000]), (trial, said)
        assert sorted(said) == ["error: This invoice is paid in full already: nothing was recorded.",
                                f"success: Invoice OLD-{trial:04d} is marked as paid: a payment of its balance, "
                                "dated today, is recorded."], said


def test_deleting_one_payment_twice_at_once_takes_it_off_once(app, live_server, ada):
    for trial in range(TRIALS):
        invoice_id = _invoice(app, trial, status="sent", lines=2)
        for amount in ("30", "70"):
            assert _post_payment(live_server, invoice_id, amount)(ada).status_code == 303
        ada.get(f"{live_server}/invoices/{invoice_id}")  # shows (and so clears) their messages
        with app.app_context():
            first = db.session.scalar(db.select(Payment.id).where(Payment.invoice_id == invoice_id,
                                                                  Payment.amount_minor == 3000))
        said = _race(ada, live_server, *(lambda s: s.post(
            f"{live_server}/invoices/{invoice_id}/payments/{first}/delete", allow_redirects=False) for _ in range(2)),
                     first=trial)
        assert _paid(app, invoice_id) == ("partially_paid", 7000, [7000]), (trial, said)
        assert any(each.startswith("success: Payment deleted.") for each in said), said
        assert any("deleted already" in each or each.startswith("404") for each in said), said


def test_a_payment_and_a_void_at_once_never_leave_a_void_invoice_with_payments(app, live_server, ada):
    outcomes = set()
    for trial in range(TRIALS):  # trial 0: the payment writes first; trial 1: the void
        invoice_id = _invoice(app, trial, status="sent")
        said = _race(ada, live_server, _post_payment(live_server, invoice_id, "10"),
                     lambda s: s.post(f"{live_server}/invoices/{invoice_id}/void", allow_redirects=False), first=trial)
        status, paid, amounts = _paid(app, invoice_id)
        assert (status, paid, amounts) in [("partially_paid", 1000, [1000]), ("void", 0, [])], (trial, said)
        outcomes.add(status)
    assert outcomes == {"partially_paid", "void"}  # each wins when it writes first
