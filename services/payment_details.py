"""How a customer pays an invoice: the business's bank account (the IBAN checked with schwifty, the
BIC), the payment reference (the invoice number), and for a euro invoice the EPC QR code ("GiroCode",
EPC069-12 version 002) that banking apps scan to fill in the transfer."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from flask_babel import gettext as _

import segno.helpers
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from services.money import from_minor

# The EPC QR code's own limits: a transfer of 0.01 to 999,999,999.99 euros, a name of 70 characters
# and an unstructured remittance text of 140.
EPC_MAX_AMOUNT = Decimal("999999999.99")
EPC_MAX_NAME = 70


def clean_iban(text: str | None) -> str:
    """The IBAN compact and upper case ('' for none), or ValueError with a message for the person."""
    text = (text or "").strip()
    if not text:
        return ""
    try:
        return IBAN(text).compact
    except SchwiftyException as error:
        raise ValueError(_("This is not a valid IBAN (%(reason)s). Copy it from a bank statement, like DE89 3704 0044 "
                           "0532 0130 00.", reason=_reason(error))) from None


def clean_bic(text: str | None) -> str:
    """The BIC upper case ('' for none), or ValueError with a message for the person."""
    text = (text or "").strip().replace(" ", "")
    if not text:
        return ""
    try:
        return str(BIC(text))
    except SchwiftyException as error:
        raise ValueError(_("This is not a valid BIC (%(reason)s): 8 or 11 letters and digits, like COBADEFFXXX.",
                           reason=_reason(error))) from None


def _reason(error: Exception) -> str:
    reason = str(error).strip().rstrip(".")
    return reason[:1].lower() + reason[1:] if reason else _("not recognised")


def formatted_iban(iban: str) -> str:
    """'DE89370400440532013000' -> 'DE89 3704 0044 0532 0130 00', the way people read and type it."""
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


@dataclass(frozen=True)
class PaymentInstructions:
    account_holder: str
    iban: str  # formatted in groups of four
    bic: str
    reference: str  # the invoice number; '' on a draft, which has none yet
    qr_png: str | None  # a data: URI of the EPC QR code, or None where it does not apply


def for_invoice(*, number: str | None, currency: str, amount_due_minor: int, status: str,
                sender: dict) -> PaymentInstructions | None:
    """What the invoice says about paying it, from the sender's details (as sent, or the profile's for
    a draft), or None when the business has given no IBAN.

    The QR code is only for a numbered euro invoice with something left to pay: banking apps read
    the amount from it, and a code on a paid or void invoice would invite paying twice."""
    iban = sender.get("iban") or ""
    if not iban:
        return None
    holder = (sender.get("bank_account_holder") or sender.get("business_name") or "").strip()
    bic = sender.get("bic") or ""
    reference = number or ""
    qr_png = None
    amount = from_minor(amount_due_minor, currency)
    if (currency == "EUR" and reference and holder and status not in ("paid", "void")
            and Decimal("0.01") <= amount <= EPC_MAX_AMOUNT):
        qr_png = epc_qr_png(holder, iban, bic, amount, reference)
    return PaymentInstructions(account_holder=holder, iban=formatted_iban(iban), bic=bic, reference=reference,
                               qr_png=qr_png)


def epc_qr_png(holder: str, iban: str, bic: str, amount: Decimal, reference: str) -> str:
    """The EPC QR code as a PNG data: URI. segno builds the payload and keeps to the standard (error
    correction M, version 13 at most); the reference goes as unstructured remittance text, since an
    invoice number is no ISO 11649 creditor reference. Eight pixels a module: sharp when printed."""
    qr = segno.helpers.make_epc_qr(name=holder[:EPC_MAX_NAME], iban=iban, amount=amount, text=reference[:140],
                                   bic=bic or None)
    return qr.png_data_uri(scale=8, border=4)
