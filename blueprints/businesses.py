"""A person's businesses: create one, switch the current one (the top bar's switcher); the owner's
requirement of two-factor authentication, and deleting a business."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from blueprints.access import choose_business, current_business, personal, requires
from extensions import db
from services import businesses

bp = Blueprint("businesses", __name__, url_prefix="/businesses")


class NewBusinessForm(FlaskForm):
    name = StringField(_l("Business name"), validators=[DataRequired(_l("Give the business a name.")), Length(max=200)])


class SwitchForm(FlaskForm):
    business_id = IntegerField(validators=[InputRequired()])


class SecurityForm(FlaskForm):
    require_two_factor = BooleanField(_l("Require two-factor authentication of every member"))


class DeleteForm(FlaskForm):
    name = StringField(_l("Business name"), validators=[DataRequired(_l("Type the business name to delete it."))])


@bp.route("/new", methods=["GET", "POST"])
@personal
def new():
    form = NewBusinessForm()
    if form.validate_on_submit():
        business = businesses.create_business(current_user, form.name.data.strip(), email=current_user.email)
        db.session.commit()
        choose_business(business.id)
        flash(_("%(name)s is created and you are its owner. Fill in its profile: it goes on every "
                "invoice.", name=business.name),
              "success")
        return redirect(url_for("settings.profile"), code=303)
    return render_template("businesses/new.html", form=form), 422 if form.errors else 200


@bp.post("/switch")
@personal
def switch():
    form = SwitchForm()
    if not form.validate_on_submit():
        abort(400)
    membership = choose_business(form.business_id.data)
    if membership is None:
        abort(404)
    flash(_("You are working in %(business)s as %(role)s.", business=membership.business.name or _("your business"),
            role=membership.role), "info")
    return redirect(url_for("invoices.index"), code=303)


@bp.post("/security")
@requires("business.security")
def security():
    form = SecurityForm()
    if not form.validate_on_submit():
        abort(400)
    business = current_business()
    try:
        businesses.set_require_two_factor(business, current_user, form.require_two_factor.data)
    except businesses.NeedsTwoFactor as problem:
        flash(str(problem), "error")
        return redirect(url_for("settings.profile"), code=303)
    db.session.commit()
    flash(_("%(business)s now requires two-factor authentication of every member.",
            business=business.name or _("The business"))
          if business.require_two_factor else _("Two-factor authentication is no longer required of "
                                                "members."), "success")
    return redirect(url_for("settings.profile"), code=303)


@bp.route("/delete", methods=["GET", "POST"])
@requires("business.delete")
def delete():
    business = current_business()
    form = DeleteForm()
    if form.validate_on_submit():
        if form.name.data.strip() != business.name:
            form.name.errors.append(_("Type the business name exactly as it is: %(name)s", name=business.name))
        else:
            name = business.name or _("The business")
            businesses.delete_business(business)
            db.session.commit()
            flash(_("%(name)s is deleted, with everything in it.", name=name), "success")
            others = businesses.memberships_of(current_user.id)
            if not others:
                session.pop("business_id", None)
                return redirect(url_for("businesses.new"), code=303)
            session["business_id"] = others[0].business_id  # the next request reads it against the memberships
            return redirect(url_for("invoices.index"), code=303)
    return (render_template("businesses/delete.html", form=form, contents=businesses.contents(business)),
            422 if form.errors else 200)
