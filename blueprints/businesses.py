"""A person's businesses: create one, switch the current one (the top bar's switcher)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, InputRequired, Length

from blueprints.access import choose_business, personal
from extensions import db
from services import businesses

bp = Blueprint("businesses", __name__, url_prefix="/businesses")


class NewBusinessForm(FlaskForm):
    name = StringField("Business name", validators=[DataRequired("Give the business a name."), Length(max=200)])


class SwitchForm(FlaskForm):
    business_id = IntegerField(validators=[InputRequired()])


@bp.route("/new", methods=["GET", "POST"])
@personal
def new():
    form = NewBusinessForm()
    if form.validate_on_submit():
        business = businesses.create_business(current_user, form.name.data.strip(), email=current_user.email)
        db.session.commit()
        choose_business(business.id)
        flash(f"{business.name} is created and you are its owner. Fill in its profile: it goes on every invoice.",
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
    flash(f"You are working in {membership.business.name or 'your business'} as {membership.role}.", "info")
    return redirect(url_for("invoices.index"), code=303)
