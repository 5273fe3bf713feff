""""Ask a colleague to connect": the one page a one-time link opens, for someone who need not have an
account here. They see the business's name and who asked, paste a Clockify key and press Verify &
Save; the connection appears for the person who asked.

Like log-in, the page is throttled (a failed try costs a slot of the address's budget,
services/login_throttle.py) and CSRF-protected. It tells search engines not to index it and browsers
to send no Referer (the link is the credential). Because no Referer is sent, the form's CSRF token is
checked here rather than by Flask-WTF's HTTPS referrer check, which would refuse every submission."""
from __future__ import annotations

from datetime import timedelta
from flask_babel import gettext as _

from flask import Blueprint, abort, current_app, make_response, render_template, request
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from blueprints.access import clockify_site, data_key_problem, keyring
from blueprints.forms import ClockifyKeyForm
from extensions import csrf, db
from services import connection_requests, connections, login_throttle
from services.clockify import REGIONS, ClockifyError, InvalidKey
from services.members import LINK_STATE_WORDS

bp = Blueprint("colleague", __name__)


class ColleagueKeyForm(ClockifyKeyForm):
    class Meta:
        csrf = False  # checked by the view: see the module's docstring


def _page(status: int, **context):
    response = make_response(render_template("integrations/colleague.html", regions=REGIONS, **context), status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/connect/<token>", methods=["GET", "POST"])
@csrf.exempt
def connect(token: str):
    if request.method == "POST":
        try:
            validate_csrf(request.form.get("csrf_token") or request.headers.get("X-CSRFToken"))
        except ValidationError as error:
            raise CSRFError(str(error)) from None
    link = connection_requests.find(token)
    if link is None:
        abort(404)
    state = connection_requests.state(link)
    asked = {"business_name": link.business.name or _("A business"),
             "asked_by": link.requested_by.shown_name}
    if state != "open":
        return _page(410, closed=LINK_STATE_WORDS[state], **asked)
    form = ColleagueKeyForm()
    problem = data_key_problem()
    error = None
    if request.method == "POST" and form.validate() and not problem:
        attempt = login_throttle.claim_address(request.remote_addr, login_throttle.Limits.from_config(current_app.config))
        db.session.commit()
        if attempt.refused:
            return _page(429, form=form, throttled=True, **asked)
        subdomain = form.subdomain.data or None
        try:
            who = connections.verify(form.api_key.data, form.region.data, subdomain, clockify_site())
        except ClockifyError as failure:
            current_app.logger.info("Clockify verification failed (colleague link): %r", failure)
            if isinstance(failure, InvalidKey):
                form.api_key.errors = [*form.api_key.errors, _("Clockify did not accept this key (see above).")]
            error = failure
        else:
            connection = connection_requests.fulfil(link, form.api_key.data, form.region.data, subdomain, who,
                                                    keyring())
            if connection is None:
                db.session.rollback()
                return _page(410, closed=LINK_STATE_WORDS[connection_requests.state(link)], **asked)
            login_throttle.release(attempt)
            db.session.commit()
            max_age = timedelta(seconds=current_app.config["HOURBILL_CLOCKIFY_CACHE_SECONDS"])
            member_of = connections.prefetch(connection, form.api_key.data, clockify_site(), max_age)
            return _page(200, done=True, reads_as=f"{who.name} ({who.email})", member_of=member_of,
                         caveat=_(connections.MEMBER_KEY_CAVEAT), **asked)
    status = 503 if problem and request.method == "POST" else 422 if (form.errors or error) else 200
    return _page(status, form=form, error=error, problem=problem, **asked)
