"""Hourbill's application factory: configuration, extensions, blueprints and CLI commands.

Configuration is read in this order, each overriding the one before: built-in defaults,
instance/config.py, environment variables (every setting as HOURBILL_<NAME>, plus SECRET_KEY and
DATABASE_URL), then the test dict given to create_app().
Nothing happens at import time: `flask --app app ...` calls create_app()."""
from __future__ import annotations

import functools
import importlib.util
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2
from flask import Config, Flask, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user
from flask_mailman import Mail
from flask_wtf.csrf import CSRFError
from htmx_flask.requests import HtmxAwareRequest
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from extensions import csrf, db, htmx, login_manager, migrate
from models import MAX_ID

# Security headers on every response. No inline script or style anywhere, so the policy needs none.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)


def create_app(test_config: dict | None = None, instance_path: str | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True,
                instance_path=instance_path or os.environ.get("HOURBILL_INSTANCE_PATH") or None)
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)

    app.config.from_mapping(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{instance / 'app.db'}",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session: no "form expired" after lunch
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,  # forms only: a month of ticked entry ids is well under this
        HOURBILL_LOCALE="en_US",
        HOURBILL_CLOCKIFY_TIMEOUT=(5.0, 15.0),  # connect, read: well inside a worker's timeout
        HOURBILL_CLOCKIFY_CACHE_SECONDS=15 * 60,  # workspaces, clients, projects, members
        HOURBILL_CLOCKIFY_REQUESTS_PER_SECOND=10,  # per key, shared by every process (services/rate_budget.py)
        HOURBILL_CLOCKIFY_RETRY_BACKOFF=0.5,  # seconds before the first retry of a 429 or 5xx
        HOURBILL_LOGIN_MAX_FAILURES_PER_ACCOUNT=5,
        HOURBILL_LOGIN_MAX_FAILURES_PER_ADDRESS=100,  # loose: many people may share an office address
        HOURBILL_LOGIN_FAILURE_WINDOW_SECONDS=15 * 60,
        HOURBILL_LOGIN_SLOW_DOWN_AFTER=20,  # failures on an account from anywhere: slowed, never refused
        HOURBILL_LOGIN_SLOW_DOWN_SECONDS=2,
        HOURBILL_IMPORT_STEP_SECONDS=5,  # one import request's work; the wizard continues in the next (big-imports)
        HOURBILL_PREVIEW_MAX_AGE_DAYS=7,  # `flask purge-previews`: confirmed or abandoned previews older go
        HOURBILL_PASSWORD_HASH_METHOD="scrypt",  # werkzeug's generate_password_hash(method=...)
        HOURBILL_PDF_MAX_LINES=2000,  # a longer invoice's PDF is refused up front (services/pdf.py says why)
        HOURBILL_INVITATION_DAYS=7,  # how long an invitation link works
        # Mail (Flask-Mailman's names; services/mail.py). No MAIL_SERVER: nothing is mailed, pages say how.
        MAIL_SERVER="", MAIL_PORT=25, MAIL_USERNAME="", MAIL_PASSWORD="", MAIL_USE_TLS=False, MAIL_USE_SSL=False,
        MAIL_DEFAULT_SENDER="", MAIL_TIMEOUT=20,  # seconds: well inside a worker's timeout
        HOURBILL_BASE_URL="",  # e.g. https://billing.example.com: links in mail sent by `flask send-reminders`
    )
    app.config.from_pyfile("config.py", silent=True)
    _config_from_environment(app)
    if test_config:
        app.config.from_mapping(test_config)
    _require_database_driver(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config.get("SECRET_KEY"):
        app.extensions["hourbill.secret_key_file"] = instance / "secret_key"  # host-local: check-deploy says so
    if test_config is None:  # tests and benchmarks build their apps from a dict: they are one host
        _refuse_host_local_secrets(app)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(instance / "secret_key")

    if app.config.get("HOURBILL_PROXY_FIX"):
        # Behind a reverse proxy: trust its X-Forwarded-For/-Proto/-Host (as many hops as configured),
        # so log-in throttling sees the visitor's address and Secure cookies see HTTPS.
        hops = int(app.config["HOURBILL_PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.url_map.converters["int"] = DatabaseId

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    app.request_class = _Request  # htmx's (request.htmx), with WTForms' messages kept
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.unauthorized_handler(_unauthorized)
    Mail().init_app(app)

    from blueprints import access, auth, businesses, colleague, customers, imports, integrations, invoices, members, settings
    from blueprints import payments as payments_blueprint
    from blueprints import public, sending
    from blueprints import payment_settings
    from services.money import format_money, from_minor, plain

    access.init_app(app)
    for blueprint in (auth.bp, businesses.bp, members.bp, settings.bp, integrations.bp, colleague.bp, customers.bp,
                      invoices.bp, imports.bp, payments_blueprint.bp, sending.bp, public.bp):
        app.register_blueprint(blueprint)
    from blueprints import einvoices  # e-invoices (issue 12)
    app.register_blueprint(einvoices.bp)
    app.register_blueprint(payment_settings.bp)
    from blueprints import credit_notes; app.register_blueprint(credit_notes.bp)  # credit notes (issue 12)
    from blueprints import dashboard  # also the site's root, "index": the landing page or the dashboard
    app.register_blueprint(dashboard.bp)

    from babel.dates import format_date
    from babel.numbers import format_decimal

    # list-speed: a list page shows 100 dates, and Babel parses the locale's pattern on every call (as
    # services.money.format_money, cached).
    format_date = functools.lru_cache(maxsize=4096)(format_date)

    from blueprints.forms import as_typed, user_locale

    # Documents in the customer's language (doc-languages): Flask-Babel's message catalogues in
    # translations/ (the compiled .mo files are committed: a clean clone runs without a compile step).
    # The app's own screens are English (no locale selector); services.invoice_document.in_language
    # forces the customer's language, and its formats, around the invoice's documents and mails.
    from flask import g
    from flask_babel import Babel, get_translations

    from services.invoice_document import vat_reason

    Babel(app, default_locale="en")

    def translations():
        """The catalogue of the language being written, looked up once per request and language: Flask-Babel's
        own lookup, done for every text, took ~20 µs each, 15 ms on a list page of 50 rows."""
        found = g.setdefault("translations_by_locale", {})
        language = g.get("document_locale")  # in_language sets it whenever it forces a locale
        if language not in found:
            found[language] = get_translations()
        return found[language]

    app.jinja_env.install_gettext_callables(  # as Flask-Babel's own, with the lookup above
        gettext=lambda s: translations().ugettext(s), ngettext=lambda s, p, n: translations().ungettext(s, p, n),
        pgettext=lambda c, s: translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: translations().unpgettext(c, s, p, n), newstyle=True)
    app.add_template_global(vat_reason)
    if app.jinja_env.bytecode_cache is None:  # the test suite brings one kept in memory (tests/fixtures.py)
        folder = Path(app.instance_path) / "template-cache"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            app.jinja_env.bytecode_cache = _CompiledTemplates(str(folder))
        except OSError:  # a read-only instance folder: each process compiles its templates, as before
            pass

    def shown_locale() -> str:
        """A document's locale while one is rendered (invoice_document.in_language), else the person's:
        read from current_user once per request (list-sort: a list page formats ~180 dates and amounts,
        and each read of current_user and the config through their proxies cost more than the format)."""
        found = g.get("document_locale") or g.get("person_locale")
        if found is None:
            found = g.person_locale = user_locale()
        return found

    @app.before_request
    def forget_person_locale():
        """g outlives a request where the caller holds the app context (tests, commands): a locale read
        for one request, or one person, is not the next one's."""
        g.pop("person_locale", None)

    @app.template_filter("money")
    def money_filter(minor: int, currency: str) -> str:
        return format_money(minor, currency, shown_locale())

    @app.template_filter("number")
    def number_filter(value) -> str:
        """A quantity or rate shown to read, in the person's locale ('1.234,5' for de_DE)."""
        return format_decimal(value.normalize() if value else 0, locale=shown_locale(), decimal_quantization=False)

    app.add_template_filter(as_typed, "editable")

    @app.template_filter("date")
    def date_filter(day) -> str:
        """A date in the person's locale: 'Nov 30, 2026' (en_US), '30.11.2026' (de_DE)."""
        return format_date(day, "medium", locale=shown_locale())

    @app.template_filter("minor_to_decimal")
    def minor_to_decimal_filter(minor: int, currency: str) -> str:
        return str(from_minor(minor, currency))

    app.add_template_filter(plain, "plain")

    @app.template_filter("local_time")
    def local_time_filter(moment) -> str:
        """An aware UTC time as the user's wall clock, e.g. '2026-11-22 16:05 (Europe/Berlin)'."""
        if moment is None:
            return _("never")
        zone = getattr(current_user, "time_zone", None) or "UTC"
        return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M") + f" ({zone})"

    @app.template_filter("zoneinfo")
    def zoneinfo_filter(name: str) -> ZoneInfo:
        return ZoneInfo(name)

    layout_urls: dict[tuple, str] = {}

    @app.template_global()
    def layout_url(endpoint: str, filename: str | None = None) -> str:
        """url_for of a link the layout shows on every page (stylesheets, scripts, the menu), built once per mount
        point (the request's script root) rather than on every page: base.html has 13, a quarter of a page's."""
        key = (request.script_root, endpoint, filename)
        found = layout_urls.get(key)
        if found is None:
            found = layout_urls[key] = url_for(endpoint, **({"filename": filename} if filename else {}))
        return found

    @app.get("/health")
    def health():
        """For a load balancer or monitor: 200 when the database answers, 503 when it does not."""
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            app.logger.exception("health check: the database does not answer")
            return {"status": "database unavailable"}, 503
        return {"status": "ok"}

    _register_error_pages(app)
    _register_commands(app)

    @app.before_request
    def refuse_files_and_nul_characters():
        # Flask-WTF hands a file sent under a text field's name to that field (which expects text): refuse
        # every file here, once for all forms, but in the file fields a view names (`file_fields`: the logo).
        if set(request.files) - set(getattr(app.view_functions.get(request.endpoint), "file_fields", ())):
            return render_template("errors/error.html", title=_("No files here"),
                                   message=_("This form takes text only, and a file was sent with it. "
                                             "Go back, reload the page and fill in the form again.")), 400
        # A NUL byte cannot be stored in PostgreSQL text: refuse it plainly instead of failing later.
        if any("\x00" in value for value in (*request.args.values(), *request.form.values())):
            return render_template("errors/error.html", title=_("Unusable character"),
                                   message=_("The form held a character that cannot be saved (a NUL byte). "
                                             "Remove it and try again.")), 400

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        # Pages answer htmx with a fragment and a browser with the whole page: caches must keep both.
        response.vary.add("HX-Request")
        return response

    return app


class _Request(HtmxAwareRequest):
    @functools.cached_property
    def wtforms_translations(self):
        """WTForms' own messages (a field's default label, "Not a valid choice") in the request's language, where
        Flask-WTF looks for them (flask_wtf.i18n): it read and parsed their catalogue from disk again in every
        request that made a form (~0.25 ms of CPU each); the catalogues are the installed package's, so one per
        language serves every request."""
        from flask_babel import get_locale

        return _wtforms_messages(str(get_locale()))


@functools.cache
def _wtforms_messages(locale: str):
    from babel.support import Translations
    from wtforms.i18n import messages_path

    return Translations.load(messages_path(), [locale], domain="wtforms")


class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept in instance/template-cache for the next process: each process compiled every
    template it rendered afresh, so a fresh or recycled gunicorn worker (max_requests) made its first user
    wait, e.g. ~0.1 s more on the first import's confirm. Jinja checks each against its source before use. A
    folder that cannot be written (full, read-only) keeps nothing and never fails a page."""

    def load_bytecode(self, bucket):
        try:
            super().load_bytecode(bucket)
        except OSError:
            pass

    def dump_bytecode(self, bucket):
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _config_from_environment(app: Flask) -> None:
    """HOURBILL_<NAME> sets the setting HOURBILL_<NAME>, or Flask's own <NAME> when Flask has it (e.g.
    HOURBILL_MAX_CONTENT_LENGTH). Values are parsed as JSON when they parse (Flask's from_prefixed_env:
    `600` is a number, `[5, 15]` a pair), else kept as text; an empty variable counts as unset. The
    conventional names SECRET_KEY, DATABASE_URL, HOURBILL_SECURE_COOKIES=1 and MAIL_* work too."""
    if os.environ.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = os.environ["SECRET_KEY"]
    if os.environ.get("DATABASE_URL"):
        app.config["SQLALCHEMY_DATABASE_URI"] = database_url(os.environ["DATABASE_URL"])
    if os.environ.get("HOURBILL_SECURE_COOKIES", "").lower() in {"1", "true", "yes"}:
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    for name in MAIL_SETTINGS:  # Flask-Mailman's own names, unprefixed as its documentation writes them
        if os.environ.get(name):
            app.config[name] = _json_or_text(os.environ[name])
    environment = Config(app.root_path)
    environment.from_prefixed_env("HOURBILL")
    for name, value in environment.items():
        if value == "":
            continue
        key = name if name in app.config else f"HOURBILL_{name}"
        if isinstance(app.config.get(key), tuple) and isinstance(value, list):
            value = tuple(value)  # JSON has no tuple: a (connect, read) timeout arrives as a list
        app.config[key] = value


MAIL_SETTINGS = ("MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "MAIL_USE_SSL",
                 "MAIL_DEFAULT_SENDER", "MAIL_TIMEOUT")


def _json_or_text(value: str):
    import json

    try:
        return json.loads(value)
    except ValueError:
        return value


def database_url(url: str) -> str:
    """postgres:// and postgresql:// (as hosting providers write them) use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _require_database_driver(uri: str) -> None:
    """PostgreSQL's driver is an extra: say how to install it rather than fail deep inside SQLAlchemy."""
    if uri.startswith("postgresql") and importlib.util.find_spec("psycopg") is None:
        raise RuntimeError("DATABASE_URL points at PostgreSQL, but its driver (psycopg) is not installed: "
                           "pip install 'hourbill[postgres]' (or `make install-dev`).")


def _instance_secret(path: Path) -> str:
    """The session-signing key: generated once into instance/ (mode 0600), never a built-in default.
    Several workers starting at once agree on one key (services.secrets.create_file_once)."""
    from services.secrets import create_file_once

    create_file_once(path, secrets.token_urlsafe(48) + "\n")
    value = path.read_text().strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} holds no usable secret key: delete it to generate a new one.")
    return value


def _refuse_host_local_secrets(app: Flask) -> None:
    """On a shared database, start only with SECRET_KEY and HOURBILL_DATA_KEY from the configuration
    (services/deploy_check.py says why). `flask check-deploy` still runs, to list this among the rest."""
    from services.deploy_check import refuse_host_local_secrets

    if "check-deploy" not in sys.argv[1:]:
        refuse_host_local_secrets(app.config)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, let readers and a writer work at once (WAL), wait on locks."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


class DatabaseId(IntegerConverter):
    """<int:...> in our URLs: ids that fit the primary keys; a larger number is a 404, not a 500."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def _unauthorized():
    """Logged out (in another tab, say): htmx gets a 401 that sends the whole page to log in, rather
    than a log-in form swapped into an invoice row; a browser gets the usual redirect."""
    target = url_for("auth.login", next=request.full_path.rstrip("?") if request.method == "GET" else None)
    if getattr(request, "htmx", False):
        response = make_response("", 401)
        response.headers["HX-Redirect"] = url_for("auth.login")
        return response
    flash(str(login_manager.login_message), "info")  # a lazy text is not stored in the session
    return redirect(target)


def _register_commands(app: Flask) -> None:
    import click

    @app.cli.command("demo")
    @click.option("--port", default=5000, show_default=True)
    @click.option("--sandbox-port", default=5050, show_default=True)
    def demo_command(port: int, sandbox_port: int):
        """Serve the app and the Clockify sandbox together, with a demo account (Ctrl-C stops both)."""
        from datetime import date

        from flask_migrate import upgrade

        import sandbox
        from services.demo import DEMO_EMAIL, DEMO_MEMBER_EMAIL, DEMO_PASSWORD, DEMO_VIEWER_EMAIL, ensure_demo_account

        last_month = (date.today().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
        running = sandbox.create_sandbox(month=last_month).serve_in_thread(port=sandbox_port)
        app.config.update(HOURBILL_CLOCKIFY_API_URL=running.api_url, HOURBILL_CLOCKIFY_REPORTS_URL=running.reports_url)
        upgrade()
        ensure_demo_account(sandbox.NORTHWIND_ID)
        click.echo(f"\nHourbill demo on http://127.0.0.1:{port}\n"
                   f"  log in as {DEMO_EMAIL} / {DEMO_PASSWORD} (owner of Demo Studio),\n"
                   f"  or as {DEMO_MEMBER_EMAIL} / {DEMO_PASSWORD} (a member of it)\n"
                   f"  or as {DEMO_VIEWER_EMAIL} / {DEMO_PASSWORD} (a viewer of it)\n"
                   f"  then Settings > Integrations > Connect, region Global, API key: {sandbox.MAIN_KEY}\n"
                   f"  Clockify sandbox on {running.url} (time entries for {last_month}: import 'Last month')\n"
                   f"  Ctrl-C stops both.\n")
        from werkzeug.serving import run_simple

        try:
            run_simple("127.0.0.1", port, app, threaded=True)
        finally:
            running.stop()

    @app.cli.command("backup")
    @click.argument("destination", type=click.Path(dir_okay=False, writable=True))
    def backup_command(destination: str):
        """Write a consistent copy of the SQLite database to DESTINATION (safe while the app runs)."""
        from services.backup import backup_sqlite

        try:
            backup_sqlite(db.engine, Path(destination))
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"Database copied to {destination}.\n"
                   f"Keep it with the data key, without which its Clockify keys cannot be read: "
                   f"{'HOURBILL_DATA_KEY' if app.config.get('HOURBILL_DATA_KEY') else Path(app.instance_path) / 'data.key'}"
                   f", and {'SECRET_KEY' if os.environ.get('SECRET_KEY') else Path(app.instance_path) / 'secret_key'}"
                   " (sessions).")

    @app.cli.command("rotate-data-key")
    def rotate_data_key_command():
        """Re-encrypt every stored Clockify key under a new data key (all or nothing)."""
        from services.connections import rotate_data_key
        from services.secrets import DataKeyError

        try:
            count, next_step = rotate_data_key(app.config.get("HOURBILL_DATA_KEY"),
                                               Path(app.instance_path) / "data.key")
        except DataKeyError as error:
            raise click.ClickException(f"{error} Nothing was changed.") from None
        click.echo(f"Re-encrypted {count} stored key{'s' if count != 1 else ''}. {next_step}")

    @app.cli.command("check-deploy")
    def check_deploy_command():
        """List what is unsafe or host-local in this configuration, one line each with what to do.
        Exits 1 when anything is unsafe, 0 when there is only advice."""
        from services.deploy_check import findings

        found = findings(app.config, Path(app.instance_path), debug=app.debug,
                         secret_key_from_file="hourbill.secret_key_file" in app.extensions)
        for finding in found:
            click.echo(str(finding))
        unsafe = sum(finding.unsafe for finding in found)
        click.echo(f"{unsafe} unsafe, {len(found) - unsafe} advice.")
        if unsafe:
            raise SystemExit(1)

    @app.cli.command("send-reminders")
    @click.option("--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
                  help="Act as if today were this day (UTC); default: today.")
    def send_reminders_command(on):
        """Mail each overdue invoice's reminder stage that is due, once (services/reminders.py). Run it
        daily from cron or a systemd timer (README); two hosts running it at once send each stage once."""
        from datetime import datetime, timezone

        from flask import url_for

        from services import mail as mail_service, reminders

        if not mail_service.configured(app.config):
            raise click.ClickException("No mail server: set MAIL_SERVER (README, Configuration). Nothing was sent.")
        base_url = str(app.config.get("HOURBILL_BASE_URL") or "").rstrip("/")
        if not base_url.startswith(("http://", "https://")):
            raise click.ClickException("Set HOURBILL_BASE_URL to the address people open Hourbill at (like "
                                       "https://billing.example.com): reminders link to the invoice. Nothing was sent.")
        today = on.date() if on else datetime.now(timezone.utc).date()
        with app.test_request_context("/", base_url=base_url):
            summary = reminders.run(today, lambda token: url_for("public.invoice", token=token, _external=True),
                                    commit=db.session.commit)
        for line in summary.sent:
            click.echo(f"sent: {line}")
        for line in summary.failed:
            click.echo(f"FAILED (tried again next run): {line}")
        for number in summary.no_address:
            click.echo(f"skipped: {number} has no customer email address")
        click.echo(f"{len(summary.sent)} reminder{'s' if len(summary.sent) != 1 else ''} sent, {len(summary.failed)} "
                   f"failed, {len(summary.no_address)} without an address, {summary.taken} taken by another run.")
        if summary.failed:
            raise SystemExit(1)

    @app.cli.command("purge-previews")
    @click.option("--days", type=click.IntRange(min=1), default=None,
                  help="Age in days (default: HOURBILL_PREVIEW_MAX_AGE_DAYS, else 7).")
    def purge_previews_command(days: int | None):
        """Delete import previews confirmed, or started and never confirmed, more than N days ago.
        Run it daily (cron or a systemd timer: docs/deploy.md). Billed entries are never touched."""
        from services.imports import purge_previews

        if days is None:
            setting = str(app.config["HOURBILL_PREVIEW_MAX_AGE_DAYS"]).strip()
            if not setting.isdigit() or int(setting) < 1:
                raise click.ClickException(f"HOURBILL_PREVIEW_MAX_AGE_DAYS is {setting!r}: set a whole number of "
                                           "days, 1 or more. Nothing was deleted.")
            days = int(setting)
        purged = purge_previews(timedelta(days=days))
        db.session.commit()
        click.echo(f"Deleted {purged.previews} import preview{'s' if purged.previews != 1 else ''} older than "
                   f"{days} day{'s' if days != 1 else ''}: {purged.confirmed} confirmed, {purged.abandoned} never "
                   f"confirmed, {purged.pages} page{'s' if purged.pages != 1 else ''} of entries. "
                   "Imported lines are not touched.")


# Every error page: (status, title, message). A message of None shows the error's own words (they are
# written for the person: which role a route needs, what another request did to the invoice).
ERROR_PAGES = {
    "CSRFError": (400, _l("Form expired"), _l("This form was open too long or came from another site. "
                                              "Go back, reload the page and try again.")),
    "InvoiceChanged": (409, _l("Invoice changed meanwhile"), None),
    400: (400, _l("Not understood"), _l("That request was not understood. Go back, reload the page and try again.")),
    403: (403, _l("Not allowed for your role"), None),
    404: (404, _l("Not found"), _l("There is nothing here, or it belongs to another business.")),
    405: (405, _l("Not allowed"), _l("That action is not available here.")),
    413: (413, _l("Too much at once"), _l("That form sent more than Hourbill accepts. Send less and try again.")),
    500: (500, _l("Something went wrong"),
          _l("Nothing was changed. Try again; if it keeps happening, the server log says why.")),
}


def _register_error_pages(app: Flask) -> None:
    from services.invoicing import InvoiceChanged

    errors = {"CSRFError": CSRFError, "InvoiceChanged": InvoiceChanged}

    def render_error(error):
        db.session.rollback()  # nothing half-done is committed after an error page
        key = next(key for key in (type(error).__name__, getattr(error, "code", 500)) if key in ERROR_PAGES)
        status, title, message = ERROR_PAGES[key]
        words = message or getattr(error, "description", None) or str(error)
        return render_template("errors/error.html", title=title, message=words), status

    for key in ERROR_PAGES:
        app.register_error_handler(errors.get(key, key), render_error)
