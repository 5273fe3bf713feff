"""No per-host secrets by accident (issue 15): on a shared database Hourbill starts only with SECRET_KEY and
HOURBILL_DATA_KEY from the environment (or HOURBILL_SINGLE_HOST=1), SQLite keeps its zero-configuration
start, and `flask check-deploy` lists what is unsafe (exit 1) or worth knowing (advice, exit 0)."""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from services.deploy_check import HostLocalSecretsError
from services.secrets import encode_key, generate_key

ROOT = Path(__file__).resolve().parent.parent
# Never connected to: starting the app and checking its configuration do not open the database.
SHARED_DATABASE = "postgresql://hourbill:hourbill@127.0.0.1:1/hourbill"
SETTINGS = ("SECRET_KEY", "DATABASE_URL", "HOURBILL_DATA_KEY", "HOURBILL_SINGLE_HOST", "HOURBILL_SECURE_COOKIES",
            "HOURBILL_PROXY_FIX", "MAIL_SERVER", "HOURBILL_MAIL_SERVER", "FLASK_DEBUG", "HOURBILL_INSTANCE_PATH")
SAFE = {"DATABASE_URL": SHARED_DATABASE, "SECRET_KEY": secrets.token_urlsafe(48),
        "HOURBILL_DATA_KEY": encode_key(generate_key()), "HOURBILL_SECURE_COOKIES": "1", "HOURBILL_PROXY_FIX": "1",
        "MAIL_SERVER": "smtp.example.com"}


@pytest.fixture
def environment(monkeypatch):
    """Set the environment a host would have: only what the test gives, nothing inherited."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)

    def set_to(values: dict) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return set_to


def start(tmp_path):
    """The app as gunicorn or `flask` makes it: create_app() with no test dict (whose apps are exempt)."""
    return create_app(instance_path=str(tmp_path / "instance"))


def check_deploy(tmp_path, monkeypatch) -> tuple[int, list[str]]:
    """Run `flask check-deploy` as an operator would, in-process: the exit status and the lines."""
    monkeypatch.setattr(sys, "argv", ["flask", "check-deploy"])
    app = start(tmp_path)
    result = app.test_cli_runner().invoke(args=["check-deploy"])
    return result.exit_code, result.output.splitlines()


# --- the start ---------------------------------------------------------------------------------------------

def test_sqlite_starts_with_no_configuration_and_keeps_its_session_key_in_the_instance_folder(tmp_path, environment):
    app = start(tmp_path)
    key_file = tmp_path / "instance" / "secret_key"
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_a_shared_database_without_the_keys_refuses_to_start_names_both_and_writes_no_key(tmp_path, environment):
    environment({"DATABASE_URL": SHARED_DATABASE})
    with pytest.raises(HostLocalSecretsError) as refused:
        start(tmp_path)
    message = str(refused.value)
    assert "SECRET_KEY and HOURBILL_DATA_KEY are not set" in message
    assert "HOURBILL_SINGLE_HOST=1" in message and "check-deploy" in message
    assert not (tmp_path / "instance" / "secret_key").exists()
    assert not (tmp_path / "instance" / "data.key").exists()


def test_a_shared_database_with_only_the_session_key_names_the_data_key(tmp_path, environment):
    environment({"DATABASE_URL": SHARED_DATABASE, "SECRET_KEY": SAFE["SECRET_KEY"]})
    with pytest.raises(HostLocalSecretsError, match=r"but HOURBILL_DATA_KEY is not set") as refused:
        start(tmp_path)
    assert "SECRET_KEY and" not in str(refused.value)


def test_a_shared_database_starts_with_both_keys_from_the_environment(tmp_path, environment):
    environment({"DATABASE_URL": SHARED_DATABASE, "SECRET_KEY": SAFE["SECRET_KEY"],
                 "HOURBILL_DATA_KEY": SAFE["HOURBILL_DATA_KEY"]})
    app = start(tmp_path)
    assert app.config["SECRET_KEY"] == SAFE["SECRET_KEY"]
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_one_host_on_postgresql_starts_with_keys_from_files_when_it_says_so(tmp_path, environment):
    environment({"DATABASE_URL": SHARED_DATABASE, "HOURBILL_SINGLE_HOST": "1"})
    app = start(tmp_path)
    assert app.config["SECRET_KEY"] == (tmp_path / "instance" / "secret_key").read_text().strip()


def test_the_flask_command_refuses_with_the_message_and_check_deploy_still_runs(tmp_path, environment):
    env = {name: value for name, value in os.environ.items() if name not in SETTINGS}
    env.update(DATABASE_URL=SHARED_DATABASE, HOURBILL_INSTANCE_PATH=str(tmp_path / "instance"))
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    # Both commands at once (each spends its ~2 s importing the app)
    running = [subprocess.Popen([*flask, command], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for command in ("routes", "check-deploy")]
    (refused_out, refused_err), (checked_out, checked_err) = (each.communicate(timeout=60) for each in running)
    assert running[0].returncode != 0
    assert "Hourbill will not start" in refused_err and "HOURBILL_SINGLE_HOST=1" in refused_err

    assert running[1].returncode == 1, checked_err
    assert checked_out.splitlines()[0].startswith(
        "UNSAFE: Host-local secrets with a shared database (SECRET_KEY from instance/secret_key, "
        "HOURBILL_DATA_KEY from instance/data.key)")


# --- check-deploy over configurations ------------------------------------------------------------------------

def test_a_safe_multi_host_configuration_gets_only_advice_and_exit_0(tmp_path, monkeypatch, environment):
    environment(SAFE)
    status, lines = check_deploy(tmp_path, monkeypatch)
    assert status == 0
    assert lines[-1] == "0 unsafe, 1 advice."
    assert lines[0].startswith("advice: Import previews are kept until `flask purge-previews` deletes them")
    assert lines[0].endswith(".venv/bin/flask --app app purge-previews")  # the cron line itself


@pytest.mark.parametrize("change, expected", [
    ({"SECRET_KEY": None}, "UNSAFE: Host-local secrets with a shared database (SECRET_KEY from instance/secret_key)"),
    ({"HOURBILL_DATA_KEY": None},
     "UNSAFE: Host-local secrets with a shared database (HOURBILL_DATA_KEY from instance/data.key)"),
    ({"HOURBILL_SECURE_COOKIES": None}, "UNSAFE: Session cookies are not marked Secure"),
    ({"SECRET_KEY": "dev"}, "UNSAFE: SECRET_KEY is only 3 characters"),
    ({"SECRET_KEY": secrets.token_urlsafe(15)}, "UNSAFE: SECRET_KEY is only 20 characters"),
    ({"SECRET_KEY": "passwordpasswordpasswordpassword"}, "UNSAFE: SECRET_KEY uses only 7 different characters"),
    ({"HOURBILL_PROXY_FIX": None}, "advice: HOURBILL_PROXY_FIX is off"),
    ({"MAIL_SERVER": None}, "advice: No mail server (MAIL_SERVER is not set)"),
    ({"DATABASE_URL": None}, "advice: SQLite ("),
    ({"SECRET_KEY": None, "HOURBILL_DATA_KEY": None, "HOURBILL_SINGLE_HOST": "1"},
     "advice: Host-local secrets with a shared database (SECRET_KEY from instance/secret_key, HOURBILL_DATA_KEY "
     "from instance/data.key), allowed by HOURBILL_SINGLE_HOST=1"),
], ids=["session key from a file", "data key from a file", "cookies not Secure", "placeholder key", "short key",
        "repetitive key", "no proxy fix", "no mail server", "sqlite", "one host on postgresql"])
def test_each_unsafe_or_host_local_setting_gets_its_line(tmp_path, monkeypatch, environment, change, expected):
    environment({name: value for name, value in {**SAFE, **change}.items() if value is not None})
    status, lines = check_deploy(tmp_path, monkeypatch)
    found = [line for line in lines if line.startswith(expected)]
    assert len(found) == 1, lines
    assert len(lines) == 3  # the finding, the purge-previews advice, the sum
    assert status == (1 if expected.startswith("UNSAFE") else 0)


def test_debug_mode_is_unsafe(tmp_path, monkeypatch, environment):
    environment({**SAFE, "FLASK_DEBUG": "1"})
    status, lines = check_deploy(tmp_path, monkeypatch)
    assert status == 1
    assert lines[0].startswith("UNSAFE: Debug mode is on")


@pytest.mark.parametrize("mode, unsafe", [(0o644, True), (0o640, True), (0o600, False)])
def test_a_data_key_file_others_can_read_is_unsafe(tmp_path, monkeypatch, environment, mode, unsafe):
    environment({**SAFE, "DATABASE_URL": "", "HOURBILL_DATA_KEY": ""})  # SQLite, the data key in its file
    key_file = tmp_path / "instance" / "data.key"
    key_file.parent.mkdir()
    key_file.write_text(encode_key(generate_key()) + "\n")
    key_file.chmod(mode)
    status, lines = check_deploy(tmp_path, monkeypatch)
    wanted = f"UNSAFE: {key_file} is readable by other users (mode {mode:o}): run chmod 600 {key_file}."
    assert (wanted in lines) is unsafe
    assert status == (1 if unsafe else 0)
