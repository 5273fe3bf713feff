"""A rehearsal of the multi-host set-up (issue 15, docs/deploy.md): two app instances (gunicorn, separate
processes and instance folders, the same SECRET_KEY and HOURBILL_DATA_KEY from the environment) behind
Debian's nginx balancing round-robin, one PostgreSQL database, the Clockify sandbox, and Chromium going
through the balancer: register, connect Clockify, a customer and a draft, import hours, mark as sent.
Then the same with one instance stopped mid-import: nginx passes the next requests to the other
(proxy_next_upstream) and the journey goes on with nothing lost.

Needs nginx and HOURBILL_TEST_POSTGRES_URL (.ci/run installs and starts both): skipped without them
locally, a failure with CI=true."""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy
from playwright.sync_api import expect

from app import database_url as server_url
from sandbox import MAIN_KEY, create_sandbox
from services.secrets import encode_key, generate_key
from tests.browser import settled
from tests.test_browser_import import DONE, LINE_DESCRIPTIONS, choose_filters, entry_boxes, show_the_lines
from tests.test_browser_invoicing import add_customer, register

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
POSTGRES = os.environ.get("HOURBILL_TEST_POSTGRES_URL")
UPSTREAM = "x-hourbill-upstream"  # nginx adds it: the instance (or instances, when retried) that answered
# The host's own settings are the test's alone: nothing inherited from the developer's shell.
HOST_SETTINGS = ("SECRET_KEY", "DATABASE_URL", "HOURBILL_DATA_KEY", "HOURBILL_SINGLE_HOST", "HOURBILL_INSTANCE_PATH",
                 "HOURBILL_CLOCKIFY_API_URL", "HOURBILL_CLOCKIFY_REPORTS_URL", "HOURBILL_PROXY_FIX",
                 "HOURBILL_SECURE_COOKIES", "HOURBILL_WORKERS", "HOURBILL_BIND", "FLASK_DEBUG")


def missing(message: str):
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_listening(port: int, process: subprocess.Popen, log: Path, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}:\n{log.read_text() if log.exists() else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {seconds} s:\n{log.read_text() if log.exists() else ''}")


def wait_until_healthy(host: Host, seconds: float = 30) -> None:
    """Until the instance's worker answers GET /health with 200 (it has the app loaded and the database)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if host.process.poll() is not None:
            break
        try:  # the first answer waits for the worker to load the app: give it the time left
            if requests.get(f"http://{host.address}/health", timeout=deadline - time.monotonic()).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    log = host.folder / "error.log"
    raise AssertionError(f"host {host.name} is not healthy:\n{log.read_text() if log.exists() else ''}")


def stop(*processes: subprocess.Popen, signal: int = signal.SIGTERM) -> None:
    """Signal all at once (SIGTERM: gunicorn finishes what it serves, then exits), then wait for each."""
    running = [process for process in processes if process and process.poll() is None]
    for process in running:
        process.send_signal(signal)
    for process in running:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Deployment:
    """What an operator sets up once: the shared database (migrated once), the shared keys, Clockify."""

    database: str
    clockify_api: str
    clockify_reports: str
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    data_key: str = field(default_factory=lambda: encode_key(generate_key()))

    def environment(self, instance: Path) -> dict:
        env = {name: value for name, value in os.environ.items() if name not in HOST_SETTINGS}
        env.update(DATABASE_URL=self.database, SECRET_KEY=self.secret_key, HOURBILL_DATA_KEY=self.data_key,
                   HOURBILL_INSTANCE_PATH=str(instance), HOURBILL_PROXY_FIX="1",
                   HOURBILL_CLOCKIFY_API_URL=self.clockify_api, HOURBILL_CLOCKIFY_REPORTS_URL=self.clockify_reports)
        return env


@dataclass
class Host:
    """One app instance: gunicorn with the project's gunicorn.conf.py, its own instance folder and access log."""

    name: str
    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def start(self, deployment: Deployment) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "--bind", self.address,
                   "--workers", "1", "--access-logfile", str(self.access_log),
                   "--error-logfile", str(self.folder / "error.log"), "app:create_app()"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=deployment.environment(self.folder / "instance"),
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        stop(self.process)

    def requests_served(self) -> list[str]:
        """The request lines in this instance's access log, e.g. 'POST /customers/new HTTP/1.0'."""
        return re.findall(r'"([A-Z]+ [^"]+)"', self.access_log.read_text()) if self.access_log.exists() else []


@dataclass
class Balancer:
    url: str
    prefix: Path
    process: subprocess.Popen

    def log(self) -> list[list[str]]:
        """nginx's access log: [method, uri, status, upstream addresses] per request."""
        return [line.split("\t") for line in (self.prefix / "access.log").read_text().splitlines()]


NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 128; }}
http {{
    log_format upstream '$request_method\t$uri\t$status\t$upstream_addr';
    access_log {prefix}/access.log upstream;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    upstream hourbill {{
        server {a} max_fails=1 fail_timeout=30s;
        server {b} max_fails=1 fail_timeout=30s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 4m;
        location / {{
            proxy_pass http://hourbill;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_next_upstream error timeout http_502;
            add_header X-Hourbill-Upstream $upstream_addr always;
        }}
    }}
}}
"""


@pytest.fixture(scope="module")
def deployment():
    """One PostgreSQL database of its own, migrated once with `flask db upgrade`, and the Clockify sandbox."""
    if not (Path(NGINX).exists()):
        missing("nginx not found: install Debian's nginx package (.ci/nginx does).")
    if not POSTGRES:
        missing("HOURBILL_TEST_POSTGRES_URL is not set: start PostgreSQL with .ci/postgres (.ci/run does).")
    base = sqlalchemy.engine.make_url(server_url(POSTGRES))
    name = f"{base.database}_multihost_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
    admin = sqlalchemy.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    except sqlalchemy.exc.OperationalError as error:
        admin.dispose()
        missing(f"PostgreSQL at HOURBILL_TEST_POSTGRES_URL does not answer: {error.orig}")
    running = create_sandbox().serve_in_thread()
    try:
        setup = Deployment(base.set(database=name).render_as_string(hide_password=False),
                           running.api_url, running.reports_url)
        folder = Path(tempfile.mkdtemp(prefix="hourbill-upgrade-"))
        upgrade = subprocess.run([sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"], cwd=ROOT,
                                 env=setup.environment(folder), capture_output=True, text=True, timeout=120)
        shutil.rmtree(folder)
        assert upgrade.returncode == 0, upgrade.stderr
        yield setup
    finally:
        running.stop()
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def started_hosts(deployment, tmp_path_factory):
    """Two app instances on free ports, started at once; stopped at the end of the module."""
    folder = tmp_path_factory.mktemp("hosts")
    pair = [Host("a", free_port(), folder / "host-a"), Host("b", free_port(), folder / "host-b")]
    try:
        for host in pair:
            host.start(deployment)
        yield pair
    finally:
        stop(*(host.process for host in pair), signal=signal.SIGINT)  # gunicorn's quick shutdown


@pytest.fixture
def hosts(started_hosts, deployment):
    """Both instances answering /health: one a test stopped is started again (its folder and port kept)."""
    for host in started_hosts:
        if host.process.poll() is not None:
            host.start(deployment)
    for host in started_hosts:
        wait_until_healthy(host)
    return started_hosts


@pytest.fixture
def balancer(hosts):
    """nginx, balancing round-robin between the two hosts, from a configuration in a temporary prefix."""
    # The prefix must be reachable by nginx's worker user when the tests run as root (pytest's tmp_path is not).
    prefix = Path(tempfile.mkdtemp(prefix="hourbill-nginx-"))
    prefix.chmod(0o755)
    port = free_port()
    (prefix / "nginx.conf").write_text(NGINX_CONF.format(prefix=prefix, port=port, a=hosts[0].address,
                                                         b=hosts[1].address))
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                                "-e", str(prefix / "error.log")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_listening(port, process, prefix / "error.log")
        yield Balancer(f"http://127.0.0.1:{port}", prefix, process)
    finally:
        stop(process)
        shutil.rmtree(prefix, ignore_errors=True)


@pytest.fixture
def empty_database(deployment):
    """Each journey starts from no accounts (the schema stays: it was migrated once)."""
    engine = sqlalchemy.create_engine(deployment.database)
    try:
        tables = [name for name in sqlalchemy.inspect(engine).get_table_names() if name != "alembic_version"]
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"TRUNCATE {', '.join(tables)} CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture
def balancer_page(chromium, balancer, empty_database):
    """A Chromium page on the balancer's address that records which instance answered each request."""
    context = chromium.new_context(base_url=balancer.url)
    context.set_default_timeout(15_000)
    page = context.new_page()
    # In front of the pages tests/browser.py keeps open for later tests: a new window behind them got no animation
    # frames, so a click waited for its checkbox to hold still until it timed out.
    page.bring_to_front()
    answers: list[tuple] = []  # (method, url, status, upstream addresses) of every response
    errors: list[str] = []
    page.on("response", lambda response: answers.append(
        (response.request.method, response.url, response.status, response.headers.get(UPSTREAM))))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" and "status of 422" not in message.text else None)
    yield page, answers
    context.close()
    assert not errors, f"the page reported errors: {errors}"


def preview(page) -> int:
    """Import from Clockify up to the preview of October's Website redesign entries; untick one. The count ticked."""
    page.get_by_role("link", name="Import from Clockify").click()
    wizard = page.locator("section#import-wizard")
    settled(page)
    wizard.get_by_label("Workspace").select_option(label="Acme Studio")
    wizard.get_by_role("button", name="Load clients, projects and members").click()
    expect(wizard.get_by_text("Acme Studio · Clockify · clients, projects and members as of")).to_be_visible()
    settled(page)
    choose_filters(page)
    wizard.get_by_role("button", name="Preview entries").click()
    expect(wizard.get_by_text(re.compile(r"All \d+ entries loaded"))).to_be_visible()
    settled(page)
    boxes = entry_boxes(page)
    total = boxes.count()
    assert total >= 4
    boxes.nth(1).uncheck()
    expect(page.locator("[data-selected-count]")).to_have_text(str(total - 1))
    return total - 1


def add_and_send(page, ticked: int, invoice_url: str) -> tuple[list[str], str]:
    """Show the lines, add them, and mark the invoice sent: the lines planned are the lines sent (their
    descriptions and subtotal are returned)."""
    line_count, planned, plan_total = show_the_lines(page, ticked)
    page.get_by_role("button", name="Add to invoice").click()
    done = page.locator("section#import-wizard").get_by_role("status").filter(has_text=DONE)
    expect(done).to_be_visible()
    settled(page)
    assert DONE.search(done.inner_text()).groups()[:2] == (str(ticked), str(line_count))
    assert page.url == invoice_url
    expect(page.locator(LINE_DESCRIPTIONS)).to_have_count(line_count)
    expect(page.get_by_test_id("subtotal")).to_have_text(plan_total)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Mark as sent").click()
    assert_sent_with(page, planned, plan_total)
    return planned, plan_total


def assert_sent_with(page, planned: list[str], plan_total: str) -> None:
    page.get_by_role("heading", name="Invoice INV-0001").wait_for()
    # Lines split by rate may share a description: each appears as often as it was planned.
    for description, times in Counter(planned).items():
        expect(page.locator("[id^=line-]").get_by_text(description, exact=True)).to_have_count(times)
    expect(page.get_by_test_id("subtotal")).to_have_text(plan_total)


def set_up_ada(page):
    """Register, connect Clockify, UTC and a fallback rate in the profile, add Northwind, open a draft: all in
    the browser, through the balancer (the import tests make these through the test client, which cannot
    reach the hosts' own processes)."""
    register(page)
    page.get_by_role("navigation", name="Account settings").get_by_role("link", name="Integrations").click()
    page.locator("section#clockify").get_by_role("link", name="Connect", exact=True).click()
    page.get_by_label("API key").fill(MAIN_KEY)
    page.get_by_role("button", name="Verify & Save").click()
    expect(page.get_by_role("status")).to_contain_text("Connected to Clockify as Alex Morgan")
    # The first connection took Clockify's zone (Australia/Sydney); choosing UTC after it is kept.
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Default hourly rate").fill("90")
    page.get_by_role("button", name="Save profile").click()
    page.get_by_text("Business profile saved.").wait_for()
    page.get_by_role("navigation", name="Account settings").get_by_role("link", name="Your name & time zone").click()
    page.get_by_label("Time zone").select_option("UTC")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Your settings are saved.").wait_for()
    add_customer(page, "Northwind", "USD")
    page.get_by_role("link", name="Invoices").click()
    page.get_by_role("link", name="New invoice").click()
    page.get_by_role("button", name="Create draft").click()
    page.get_by_text("Draft invoice for Northwind created").wait_for()
    expect(page.get_by_test_id("total")).to_have_text("$0.00")


def test_the_journey_through_the_balancer_alternates_hosts_that_share_sessions_forms_and_keys(
        balancer_page, balancer, hosts):
    # Round-robin: each request goes to the other host.
    served = [requests.get(f"{balancer.url}/health", timeout=10).headers[UPSTREAM] for _ in range(6)]
    assert {served[0], served[1]} == {host.address for host in hosts}
    assert served == served[:2] * 3

    page, answers = balancer_page
    logged = {host.name: len(host.requests_served()) for host in hosts}
    set_up_ada(page)
    invoice_url = page.url
    add_and_send(page, preview(page), invoice_url)

    # Every request the browser sent went through nginx to one of the two hosts, about half each.
    answered = [answer for answer in answers if answer[3]]
    by_host = {host.address: [answer for answer in answered if answer[3] == host.address] for host in hosts}
    assert len(answered) == sum(map(len, by_host.values())) >= 30
    for address, theirs in by_host.items():
        assert abs(len(theirs) - len(answered) / 2) <= 2 + len(answered) // 10, (address, len(theirs))
        # Each host accepted forms whose page (and CSRF token) the other one may have served.
        assert sum(method == "POST" for method, *_ in theirs) >= 3, address
    assert all(status < 500 for _, _, status, _ in answered)
    # Each instance's own access log shows its half, posts included.
    for host in hosts:
        served = host.requests_served()[logged[host.name]:]
        assert len(served) >= len(answered) // 3, host.name
        assert any(line.startswith("POST ") for line in served), host.name
        # The keys came from the environment: neither host made keys of its own.
        assert not (host.folder / "instance" / "secret_key").exists()
        assert not (host.folder / "instance" / "data.key").exists()


def test_one_host_stopped_mid_import_and_the_journey_goes_on_on_the_other_with_nothing_lost(
        balancer_page, balancer, hosts):
    page, answers = balancer_page
    stopped, survivor = hosts[1], hosts[0]
    logged = len(stopped.requests_served())
    set_up_ada(page)
    invoice_url = page.url
    ticked = preview(page)
    before = len(stopped.requests_served())
    assert before > logged  # the stopped host served its share until then
    stopped.stop()  # SIGTERM, as `systemctl stop` sends: it finishes what it serves and exits
    answers_before_stop = len(answers)

    planned, plan_total = add_and_send(page, ticked, invoice_url)

    after = [answer for answer in answers[answers_before_stop:] if answer[3]]
    assert after and all(status < 500 for _, _, status, _ in after)
    assert all(upstream.split(", ")[-1] == survivor.address for *_, upstream in after), after
    # nginx tried the stopped host once, got no connection, and passed the request on (proxy_next_upstream).
    assert any(upstream == f"{stopped.address}, {survivor.address}" for *_, upstream in after), after
    assert len(stopped.requests_served()) == before
    assert all(int(status) < 500 for _, _, status, _ in balancer.log())

    # Still logged in, and the invoice is whole when read again from the surviving host.
    page.goto(invoice_url)
    assert_sent_with(page, planned, plan_total)
