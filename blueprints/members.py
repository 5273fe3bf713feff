"""The people of the current business (admins and owners): who is in it with which role, invitations
(a single-use link shown to copy), changing a role, removing a member, transferring ownership; and
the page an invitation link opens, where someone joins with an account they have or a new one."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import EmailField, IntegerField, PasswordField, SelectChoice, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length

from blueprints.access import current_business, current_membership, requires, scoped
from blueprints.forms import email_address, new_password_length
from extensions import db
from models import Invitation, Membership, User
from services import accounts, login_throttle, mail, members
from services.members import INVITABLE_ROLES, LINK_STATE_WORDS, MemberChangeRefused

bp = Blueprint("members", __name__)

ROLE_NAMES = {"admin": _l("Admin"), "member": _l("Member"), "viewer": _l("Viewer")}
ROLE_CHOICES = [SelectChoice(role, ROLE_NAMES[role]) for role in INVITABLE_ROLES]
ROLE_WORDS = {"owner": _l("owner"), "admin": _l("admin"), "member": _l("member"), "viewer": _l("viewer")}  # in a sentence


@bp.app_context_processor
def _role_word():
    return {"role_word": lambda role: ROLE_WORDS.get(role, role)}


class InviteForm(FlaskForm):
    email = EmailField(_l("Email address"), validators=email_address(
        DataRequired(_l("Enter their email address.")), _l("Enter an email address, like name@example.com.")))
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="member")


class RoleForm(FlaskForm):
    membership_id = IntegerField(validators=[InputRequired()])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class MemberForm(FlaskForm):
    membership_id = IntegerField(validators=[InputRequired()])


class InvitationForm(FlaskForm):
    invitation_id = IntegerField(validators=[InputRequired()])


class JoinForm(FlaskForm):
    """A new account from an invitation: the invited email address, a name and a password."""
    display_name = StringField(_l("Your name"), validators=[DataRequired(_l("Enter your name.")), Length(max=120)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Choose a password.")), new_password_length()])
    confirm = PasswordField(_l("Repeat password"), validators=[
        DataRequired(_l("Repeat the password.")), EqualTo("password", message=_l("The two passwords differ."))])


def _members_page(status: int = 200, invite_form: InviteForm | None = None, link: str | None = None,
                  invited: Invitation | None = None, mailed=None):
    business = current_business()
    return render_template("members/index.html", members=members.members_of(business.id),
                           invitations=members.pending_invitations(business.id), me=current_membership(),
                           invite_form=invite_form or InviteForm(formdata=None), link=link, invited=invited,
                           role_choices=ROLE_CHOICES, mailed=mailed), status


def _member(form) -> Membership:
    if not form.validate_on_submit():
        abort(400)
    return scoped(Membership, form.membership_id.data)


def _change(change, done: str):
    """A change to one member: refused with the reason why, or committed and said."""
    try:
        change()
    except MemberChangeRefused as error:
        flash(str(error), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("members.index"), code=303)


@bp.get("/business/members")
@requires("member.manage")
def index():
    return _members_page()


@bp.post("/business/members/invite")
@requires("member.manage")
def invite():
    form = InviteForm()
    if not form.validate_on_submit():
        return _members_page(422, invite_form=form)
    try:
        invitation, token = members.invite(current_business(), current_user, form.email.data, form.role.data,
                                           days=current_app.config["HOURBILL_INVITATION_DAYS"])
    except MemberChangeRefused as error:
        form.email.errors.append(str(error))
        return _members_page(422, invite_form=form)
    db.session.commit()
    # The link is shown this once: only its hash is kept. It is mailed too when a server is set up.
    link = url_for("members.invitation", token=token, _external=True)
    mailed = None
    if mail.configured(current_app.config):
        mailed = mail.mail_invitation(business_id=invitation.business_id, business_name=current_business().name,
                                      by=current_user, email=invitation.email, role=invitation.role, link=link,
                                      expires=invitation.expires_at.strftime("%Y-%m-%d %H:%M UTC"))
        db.session.commit()
    return _members_page(201, link=link, invited=invitation, mailed=mailed)


@bp.post("/business/members/invitations/revoke")
@requires("member.manage")
def revoke_invitation():
    form = InvitationForm()
    if not form.validate_on_submit():
        abort(400)
    invitation = scoped(Invitation, form.invitation_id.data)
    if members.revoke_invitation(invitation):
        flash(_("The invitation for %(email)s is revoked: its link no longer "
                "works.", email=invitation.email), "success")
    else:
        flash(_("The invitation for %(email)s was accepted or revoked already.", email=invitation.email), "info")
    db.session.commit()
    return redirect(url_for("members.index"), code=303)


@bp.post("/business/members/role")
@requires("member.manage")
def change_role():
    form = RoleForm()
    membership = _member(form)
    return _change(lambda: members.change_role(membership, form.role.data, current_membership()),
                   _("%(name)s is now %(role)s.", name=membership.user.shown_name, role=form.role.data))


@bp.post("/business/members/remove")
@requires("member.manage")
def remove():
    membership = _member(MemberForm())
    return _change(lambda: members.remove(membership, current_membership()),
                   _("%(name)s is removed from %(business)s: their next request no longer reaches it.",
                     name=membership.user.shown_name, business=current_business().name or _("this business")))


@bp.post("/business/members/transfer")
@requires("business.transfer")
def transfer():
    membership = _member(MemberForm())
    return _change(lambda: members.transfer_ownership(current_business().id, current_membership(), membership),
                   _("%(name)s is now the owner; you are an admin.", name=membership.user.shown_name))


# --- the page an invitation link opens (no log-in needed to see it) -------------------------------------

def _invitation_page(invitation: Invitation, status: int = 200, **context):
    return render_template("members/invitation.html", invitation=invitation, **context), status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
def invitation(token: str):
    found = members.find_invitation(token)
    if found is None:
        abort(404)
    state = members.invitation_state(found)
    if state != "open":
        return _invitation_page(found, 410, closed=LINK_STATE_WORDS[state])
    if current_user.is_authenticated:
        return _accept_as_current_user(found)
    return _join_with_new_account(found)


def _accept_as_current_user(invitation: Invitation):
    form = FlaskForm()
    if not form.validate_on_submit():
        return _invitation_page(invitation, form=form)
    try:
        accepted = members.accept(invitation, current_user)
    except MemberChangeRefused as error:
        return _invitation_page(invitation, 409, refused=str(error), form=form)
    if accepted.membership is None:
        return _invitation_page(invitation, 410, closed=LINK_STATE_WORDS[accepted.state])
    db.session.commit()
    session["business_id"] = invitation.business_id  # the business just joined is the current one
    flash(_("You joined %(business)s as %(role)s.", business=invitation.business.name or _("the business"),
            role=ROLE_WORDS[invitation.role]), "success")
    return redirect(url_for("invoices.index"), code=303)


def _join_with_new_account(invitation: Invitation):
    form = JoinForm()
    if not form.validate_on_submit():
        return _invitation_page(invitation, 422 if form.errors else 200, join_form=form)
    # As registering: a taken email costs a slot of the address's budget.
    attempt = login_throttle.claim_address(request.remote_addr, login_throttle.Limits.from_config(current_app.config))
    db.session.commit()
    if attempt.refused:
        return _invitation_page(invitation, 429, join_form=form,
                                refused=_("Too many attempts from your address. Wait a few minutes and try again."))
    if db.session.scalar(select(User.id).where(func.lower(User.email) == invitation.email.lower())):
        return _invitation_page(invitation, 409, join_form=form, has_account=True)
    user = User(email=invitation.email.lower(), display_name=form.display_name.data.strip(),
                password_hash=accounts.hash_password(form.password.data, current_app.config))
    db.session.add(user)
    try:
        db.session.flush()
        accepted = members.accept(invitation, user)
    except IntegrityError:  # the same address registered a moment ago
        db.session.rollback()
        return _invitation_page(invitation, 409, join_form=form, has_account=True)
    if accepted.membership is None:
        db.session.rollback()  # no account without the membership it was made for
        return _invitation_page(invitation, 410, closed=LINK_STATE_WORDS[accepted.state])
    login_throttle.release(attempt)
    accounts.start_session(user, request.user_agent.string, accounts.session_max_age(current_app.config))
    db.session.commit()
    login_user(user)
    session["business_id"] = invitation.business_id
    flash(_("Welcome to Hourbill. You joined %(business)s as %(role)s.",
            business=invitation.business.name or _("the business"), role=ROLE_WORDS[invitation.role]), "success")
    return redirect(url_for("invoices.index"), code=303)
