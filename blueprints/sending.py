"""Sending an invoice by email (with its PDF), sending a reminder now, the customer's view link (copy,
regenerate, disable), and the business's mail settings (Settings > Email & reminders).

"Send by email" on a draft numbers it exactly as "Mark as sent" does (services.einvoice.from_invoice.mark_sent) and
commits the number before the mail is tried: a server that refuses, drops or does not answer never
loses it. Each attempt is logged on the invoice and its answer shown; "Send again" resends with the same
recipients in one click."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from blueprints.access import current_business, requires, scoped
from blueprints.forms import WholeNumber
from extensions import db
from models import Invoice
from services import invoicing, mail, payments, reminders, sending
from services.einvoice import from_invoice

bp = Blueprint("sending", __name__)


def placeholders_known(form, field, placeholders=mail.PLACEHOLDERS):
    unknown = mail.unknown_placeholders(field.data or "", placeholders)
    if unknown:
        known = ", ".join("{" + name + "}" for name in placeholders)
        raise ValidationError(ngettext("Unknown placeholder %(names)s: use %(known)s.",
                                       "Unknown placeholders %(names)s: use %(known)s.", len(unknown),
                                       names=", ".join("{" + name + "}" for name in unknown), known=known))


def credit_note_placeholders_known(form, field):
    placeholders_known(form, field, mail.CREDIT_NOTE_PLACEHOLDERS)


def addresses(required: bool):
    def check(form, field):
        try:
            field.addresses = mail.parse_addresses(field.data or "", required=required)
        except mail.AddressError as error:
            raise ValidationError(str(error)) from None
    return check


class SendForm(FlaskForm):
    to = StringField(_l("To"), validators=[Length(max=2000), addresses(required=True)])
    cc = StringField(_l("Cc"), validators=[Length(max=2000), addresses(required=False)])
    copy_to_me = BooleanField(_l("Send me a copy"))
    confirmed = HiddenField()  # "send anyway" after the question about lines that bill nothing
    # Set by the form shown on a draft: the same form sent twice (a double click, a second tab) must
    # not mail a second copy once the first has numbered the invoice.
    was_draft = HiddenField()


class OptionalWholeNumber(WholeNumber):
    """A whole number that may be left empty (an unused reminder row)."""

    def process_formdata(self, valuelist):
        if valuelist and not valuelist[0].strip():
            self.data = None
            return
        super().process_formdata(valuelist)


class StageForm(Form):
    days = OptionalWholeNumber(_l("Days after the due date"), validators=[
        Optional(), NumberRange(min=1, max=365, message=_l("Use 1 to 365 days."))])
    subject = StringField(_l("Subject"), validators=[Length(max=200), placeholders_known])
    body = TextAreaField(_l("Message"), validators=[Length(max=5000), placeholders_known])


class MailSettingsForm(FlaskForm):
    invoice_subject = StringField(_l("Subject"), validators=[Length(max=200), placeholders_known])
    invoice_body = TextAreaField(_l("Message"), validators=[Length(max=5000), placeholders_known])
    credit_note_subject = StringField(_l("Subject"), validators=[Length(max=200), credit_note_placeholders_known])
    credit_note_body = TextAreaField(_l("Message"), validators=[Length(max=5000), credit_note_placeholders_known])
    reminders_enabled = BooleanField(_l("Send reminders for overdue invoices"))
    stages = FieldList(FormField(StageForm), min_entries=reminders.MAX_STAGES, max_entries=reminders.MAX_STAGES)

    def validate_stages(self, field):
        days = [entry.form.days.data for entry in field.entries if entry.form.days.data]
        if len(days) != len(set(days)):
            raise ValidationError(_("Two reminders have the same number of days: give each its own."))
        if self.reminders_enabled.data and not days:
            raise ValidationError(_("Reminders are on: give at least one reminder its number of days."))


@bp.app_context_processor
def sending_in_templates():
    return {"mail_configured": lambda: mail.configured(current_app.config), "mail_log": sending.attempts,
            "view_link": lambda invoice: _link(invoice) if invoice.view_token else None}


def _recipients(form: SendForm) -> sending.Recipients:
    return sending.Recipients(to=form.to.addresses, cc=form.cc.addresses,
                              copy_to=current_user.email if form.copy_to_me.data else None)


def _link(invoice: Invoice) -> str:
    """The customer's link: on HOURBILL_BASE_URL when it is set (as send-reminders writes it), else on
    the address this page was asked at."""
    base = str(current_app.config.get("HOURBILL_BASE_URL") or "").rstrip("/")
    path = url_for("public.invoice", token=invoice.view_token)
    return base + path if base else url_for("public.invoice", token=invoice.view_token, _external=True)


def _named(invoice: Invoice) -> str:
    """The document as the page names it: "Invoice INV-0001" or "Credit note CN-2026-0001"."""
    if invoice.is_credit_note:
        return _("Credit note %(number)s", number=invoice.number)
    return _("Invoice %(number)s", number=invoice.number)


def _send_page(invoice: Invoice, form: SendForm, status: int = 200, **context):
    return render_template("invoices/email.html", invoice=invoice, form=form, format_names=from_invoice.FORMAT_NAMES,
                           configured=mail.configured(current_app.config), **context), status


@bp.route("/invoices/<int:invoice_id>/email", methods=["GET", "POST"])
@requires("invoice.send")
def email(invoice_id: int):
    invoice = scoped(Invoice, invoice_id)
    form = SendForm(data={"to": invoice.customer.email})
    if invoice.status == "void":
        flash(_("A void invoice is not sent."), "error")
        return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    einvoice, problems = sending.einvoice_problems(invoice)  # doc-languages: its format is attached, so it must pass
    if not form.is_submitted() or not mail.configured(current_app.config):
        return _send_page(invoice, form, einvoice=einvoice, problems=problems)
    if not form.validate() or problems:
        return _send_page(invoice, form, 422, einvoice=einvoice, problems=problems)
    if form.was_draft.data and not invoice.is_draft:
        flash(_("Invoice %(number)s was sent already (in another tab?): nothing was sent again. "
                "To mail it once more, use “Email the invoice again”.", number=invoice.number), "info")
        return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="sending"), code=303)
    if sending.needs_confirmation(invoice) and not form.confirmed.data:
        return render_template("invoices/confirm_send.html", invoice=invoice, lines=sending.lines_to_confirm(invoice),
                               total=invoicing.totals(invoice).total, action=request.path, form=form)
    if invoice.is_draft:
        try:
            from_invoice.mark_sent(invoice)  # as "Mark as sent": the e-invoice pre-flight first
        except invoicing.InvoiceChanged:
            raise
        except invoicing.InvoiceStateError as error:
            db.session.rollback()
            flash(str(error), "error")
            return redirect(url_for("invoices.show", invoice_id=invoice.id), code=303)
    sending.ensure_view_token(invoice)
    db.session.commit()  # the number is kept whatever the mail server does next
    attempt = sending.mail_invoice(invoice, _recipients(form), _link(invoice), by=current_user, einvoice=einvoice)
    db.session.commit()
    if attempt.outcome == "sent":
        flash(_("%(document)s was emailed to %(to)s.", document=_named(invoice), to=attempt.to_addresses), "success")
    else:
        flash(_("%(document)s is numbered and kept, but the mail was not sent: %(answer)s Use “Send again” below when "
                "the server is back, or download the PDF and send it yourself.", document=_named(invoice),
                answer=attempt.answer), "error")
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="sending"), code=303)


@bp.post("/invoices/<int:invoice_id>/reminder")
@requires("invoice.send")
def reminder(invoice_id: int):
    invoice = scoped(Invoice, invoice_id)
    back = redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="sending"), code=303)
    if not mail.configured(current_app.config):
        flash(_("No mail server is set up: see Settings > Email & reminders."), "error")
        return back
    if invoice.is_credit_note:
        flash(_("Credit note %(number)s asks for no payment: it needs no reminder.", number=invoice.number), "error")
        return back
    if invoice.status not in reminders.OPEN_STATUSES:
        flash(_("Invoice %(number)s is %(status)s: it needs no reminder.", number=invoice.number or _("Draft"),
                status=payments.status_word(invoice.status)), "error")
        return back
    if payments.balance_minor(invoice) <= 0:  # as send-reminders skips it (payments.owing)
        flash(_("Invoice %(number)s has nothing left to pay: it needs no reminder.", number=invoice.number), "error")
        return back
    recipients = reminders.recipients_for(invoice)
    if recipients is None:
        flash(_("%(name)s has no email address: add one to the customer first.", name=invoice.customer.name), "error")
        return back
    stages = reminders.stages_of(invoice.business_id)
    sending.ensure_view_token(invoice)
    db.session.commit()
    attempt = sending.mail_invoice(invoice, recipients, _link(invoice), by=current_user, kind="reminder",
                                   templates=reminders.templates_for(stages[0] if stages else None))
    db.session.commit()
    if attempt.outcome == "sent":
        flash(_("A reminder for invoice %(number)s was emailed to %(to)s.", number=invoice.number,
                to=attempt.to_addresses), "success")
    else:
        flash(_("The reminder was not sent: %(answer)s", answer=attempt.answer), "error")
    return back


@bp.post("/invoices/<int:invoice_id>/view-link")
@requires("invoice.send")
def view_link(invoice_id: int):
    invoice = scoped(Invoice, invoice_id)
    action = request.form.get("action")
    if invoice.is_draft or action not in {"regenerate", "disable"}:
        flash(_("A view link belongs to a sent invoice."), "error")
    elif action == "regenerate":
        sending.regenerate_view_token(invoice)
        db.session.commit()
        flash(_("The credit note has a new view link; the old one no longer works.") if invoice.is_credit_note
              else _("The invoice has a new view link; the old one no longer works."), "success")
    else:
        sending.disable_view_token(invoice)
        db.session.commit()
        flash(_("The view link is off: it no longer opens the credit note.") if invoice.is_credit_note
              else _("The view link is off: it no longer opens the invoice."), "success")
    return redirect(url_for("invoices.show", invoice_id=invoice.id, _anchor="view-link"), code=303)


@bp.route("/settings/email", methods=["GET", "POST"])
@requires("business.manage")
def settings():
    business = current_business()
    stages = reminders.stages_of(business.id)
    subject, body = sending.invoice_templates(business)
    credit_note_subject, credit_note_body = sending.credit_note_templates(business)
    form = MailSettingsForm(data={
        "invoice_subject": subject, "invoice_body": body, "reminders_enabled": business.reminders_enabled,
        "credit_note_subject": credit_note_subject, "credit_note_body": credit_note_body,
        "stages": [{"days": stage.days, "subject": stage.subject, "body": stage.body} for stage in stages]
        or [{"days": days, "subject": mail.DEFAULT_REMINDER_SUBJECT, "body": mail.DEFAULT_REMINDER_BODY}
            for days in (3, 14, 30)]})
    if form.validate_on_submit():
        business.invoice_mail_subject = form.invoice_subject.data.strip()
        business.invoice_mail_body = form.invoice_body.data.strip()
        business.credit_note_mail_subject = form.credit_note_subject.data.strip()
        business.credit_note_mail_body = form.credit_note_body.data.strip()
        business.reminders_enabled = form.reminders_enabled.data
        reminders.replace_stages(business, [(entry.form.days.data, entry.form.subject.data.strip(),
                                             entry.form.body.data.strip())
                                            for entry in form.stages.entries if entry.form.days.data])
        db.session.commit()
        flash(_("Email settings saved."), "success")
        return redirect(url_for("sending.settings"), code=303)
    return render_template("settings/email.html", form=form, placeholders=mail.PLACEHOLDERS,
                           credit_note_placeholders=mail.CREDIT_NOTE_PLACEHOLDERS,
                           configured=mail.configured(current_app.config)), 422 if form.errors else 200
