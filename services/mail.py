"""Mail: sending through the SMTP server the owner configures (Flask-Mailman, Flask's MAIL_* names), the
placeholders of the mail templates, recipients typed by a person, and the log of every attempt.

A mail is tried once, with the configured timeout, and its outcome is always a `Delivery` (never an
exception): what the server answered when it took the mail, or in plain words why it did not (a refusal
with its code and text, a dropped connection, no answer in time, no server there). The caller logs it
(`log_attempt`) and shows it; nothing a failed mail leaves behind is half-done, since whatever the mail
was about (the invoice's number) was committed before it was tried."""
from __future__ import annotations

import re
import smtplib
import socket
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from flask_mailman import EmailMessage

from extensions import db
from models import MailAttempt, utcnow

# {name} in a subject or body; anything else in braces is text. A placeholder Hourbill does not know is
# refused where the template is saved, so a mail never goes out with "{totl}" in it.
PLACEHOLDERS = {
    "number": _l("the invoice number"),
    "total": _l("the invoice total, with its currency"),
    "balance": _l("what is still due (the total less the payments recorded), with its currency"),
    "due_date": _l("the due date"),
    "view_link": _l("the customer's link to view the invoice and download its PDF"),
    "business": _l("your business's name"),
}
# A credit note's mail knows one more: the invoice it corrects.
CREDIT_NOTE_PLACEHOLDERS = PLACEHOLDERS | {"invoice": _l("the number of the invoice the credit note corrects")}
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def N_(text: str) -> str:
    """Marks a text for the catalogue (pybabel extract) and leaves it as it is: the defaults below are
    translated when a mail is composed, in the customer's language (services.sending.compose)."""
    return text


DEFAULT_INVOICE_SUBJECT = N_("Invoice {number} from {business}")
DEFAULT_INVOICE_BODY = N_("Hello,\n\nplease find attached invoice {number} for {total}, due on {due_date}.\n"
                          "You can also view it online: {view_link}\n\nThank you,\n{business}\n")
DEFAULT_REMINDER_SUBJECT = N_("Reminder: invoice {number} from {business} was due on {due_date}")
DEFAULT_REMINDER_BODY = N_("Hello,\n\nthis is a friendly reminder that invoice {number} for {total} was due on "
                           "{due_date} and is not settled yet. The invoice is attached, and online here: "
                           "{view_link}\n\nIf you have paid it already, thank you, and please ignore this mail.\n"
                           "{business}\n")
# A credit note's mail (cn-finish), unless the business wrote its own ({invoice}: the number of the invoice it
# corrects, filled for credit notes only: CREDIT_NOTE_PLACEHOLDERS).
DEFAULT_CREDIT_NOTE_SUBJECT = N_("Credit note {number} from {business}")
DEFAULT_CREDIT_NOTE_BODY = N_("Hello,\n\nplease find attached credit note {number} for {total}, which corrects "
                              "invoice {invoice}.\nYou can also view it online: {view_link}\n\nThank you,\n{business}\n")
DEFAULTS = (DEFAULT_INVOICE_SUBJECT, DEFAULT_INVOICE_BODY, DEFAULT_REMINDER_SUBJECT, DEFAULT_REMINDER_BODY,
            DEFAULT_CREDIT_NOTE_SUBJECT, DEFAULT_CREDIT_NOTE_BODY)
MAX_RECIPIENTS = 20
MAX_ADDRESS_LENGTH = 254  # what an address may have (RFC 5321's path), as the forms' email fields


class AddressError(ValueError):
    """Recipients a person typed that cannot be used; the message names the one that is wrong."""


def unknown_placeholders(template: str, known: dict = PLACEHOLDERS) -> list[str]:
    """The {names} in a template that Hourbill cannot fill (not in `known`), in the order they appear."""
    found = [name for name in PLACEHOLDER.findall(template or "") if name not in known]
    return list(dict.fromkeys(found))


def fill(template: str, values: dict[str, str]) -> str:
    """The template with each {placeholder} replaced (not str.format: a template is typed by a person)."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def parse_addresses(text: str, *, required: bool = False) -> list[str]:
    """Email addresses separated by commas, semicolons or new lines, each checked; duplicates dropped."""
    parts = [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]
    if required and not parts:
        raise AddressError(_("Enter at least one email address."))
    if len(parts) > MAX_RECIPIENTS:
        raise AddressError(_("At most %(most)s addresses.", most=MAX_RECIPIENTS))
    addresses = []
    for part in parts:
        try:
            if len(part) > MAX_ADDRESS_LENGTH:  # refused by its length alone: email_validator took ~36 ms on 100,000
                raise EmailNotValidError(part)
            address = validate_email(part, check_deliverability=False).normalized
        except EmailNotValidError:
            raise AddressError(_("“%(typed)s” is not an email address (like name@example.com).", typed=part[:100])) from None
        if address.lower() not in {each.lower() for each in addresses}:
            addresses.append(address)
    return addresses


def configured(config) -> bool:
    return bool(config.get("MAIL_SERVER"))


@dataclass
class Outgoing:
    subject: str
    body: str
    to: list[str]
    cc: list[str] = field(default_factory=list)
    bcc: list[str] = field(default_factory=list)
    attachments: list[tuple[str, bytes, str]] = field(default_factory=list)  # (file name, content, type)
    reply_to: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Delivery:
    sent: bool
    answer: str  # what the server said, or why it could not be reached, in words for the page


def send(outgoing: Outgoing) -> Delivery:
    """Hand the mail to the configured SMTP server once; never raises for what a server does."""
    config = current_app.config
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    timeout = float(config["MAIL_TIMEOUT"])
    where = _("the mail server %(host)s:%(port)s", host=host, port=port)
    if config.get("MAIL_USE_TLS") and config.get("MAIL_USE_SSL"):
        return Delivery(False, _("MAIL_USE_TLS and MAIL_USE_SSL are both on: the server speaks one of them "
                                 "(usually TLS on port 587, SSL on port 465). Turn one off."))
    connection = current_app.extensions["mailman"].get_connection(
        backend="smtp", host=host, port=port, username=config.get("MAIL_USERNAME") or "",
        password=config.get("MAIL_PASSWORD") or "", use_tls=bool(config.get("MAIL_USE_TLS")),
        use_ssl=bool(config.get("MAIL_USE_SSL")), timeout=timeout, fail_silently=False)
    message = EmailMessage(subject=outgoing.subject, body=outgoing.body,
                           from_email=config.get("MAIL_DEFAULT_SENDER") or None, to=outgoing.to, cc=outgoing.cc,
                           bcc=outgoing.bcc, reply_to=outgoing.reply_to or None, connection=connection)
    for name, content, mimetype in outgoing.attachments:
        message.attach(name, content, mimetype)
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as error:
        refused = "; ".join(f"{address}: {_said(code, text)}" for address, (code, text) in error.recipients.items())
        return Delivery(False, _("%(where)s refused the recipients (%(refused)s).", where=where, refused=refused))
    except smtplib.SMTPResponseException as error:
        return Delivery(False, _("%(where)s refused the mail: %(said)s.", where=where,
                                 said=_said(error.smtp_code, error.smtp_error)))
    except (TimeoutError, socket.timeout):
        return Delivery(False, _("%(where)s did not answer within %(seconds)s seconds.", where=where,
                                 seconds=format(timeout, "g")))
    except smtplib.SMTPServerDisconnected as error:
        if "timed out" in str(error):  # smtplib turns a read timeout into a disconnection
            return Delivery(False, _("%(where)s did not answer within %(seconds)s seconds.", where=where,
                                     seconds=format(timeout, "g")))
        return Delivery(False, _("%(where)s closed the connection before it took the mail.", where=where))
    except (smtplib.SMTPException, OSError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error) or type(error).__name__
        return Delivery(False, _("Could not reach %(where)s: %(reason)s.", where=where, reason=reason))
    return Delivery(True, _("%(where)s accepted the mail (250).", where=where))


def _said(code: int, text) -> str:
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    return f"{code} {text}".strip()


def log_attempt(*, business_id: int, kind: str, outgoing: Outgoing, delivery: Delivery, invoice_id: int | None = None,
                by_user_id: int | None = None, stage_days: int | None = None) -> MailAttempt:
    attempt = MailAttempt(business_id=business_id, invoice_id=invoice_id, kind=kind, stage_days=stage_days,
                          to_addresses=", ".join(outgoing.to), cc_addresses=", ".join(outgoing.cc),
                          sent_by_user_id=by_user_id, outcome="sent" if delivery.sent else "failed",
                          answer=delivery.answer[:2000], at=utcnow())
    db.session.add(attempt)
    db.session.flush()
    return attempt


def mail_invitation(*, business_id: int, business_name: str, by, email: str, role: str, link: str,
                    expires: str) -> MailAttempt:
    """Mail an invitation's link to the invited address and log the attempt (the page shows the link to
    copy as well, whatever the server does)."""
    inviter = by.shown_name
    outgoing = Outgoing(
        subject=f"{inviter} invites you to {business_name or 'their business'} on Hourbill",
        body=(f"Hello,\n\n{inviter} invites you to join {business_name or 'their business'} on Hourbill as {role}.\n"
              f"Open this link to accept (it works once, for {email}, until {expires}):\n\n{link}\n\n"
              "If you did not expect this, ignore this mail.\n"),
        to=[email], reply_to=[by.email])
    return log_attempt(business_id=business_id, kind="invitation", outgoing=outgoing, delivery=send(outgoing),
                       by_user_id=by.id)
