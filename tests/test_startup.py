"""What a process pays before its first request (issue 14): the libraries it imports and the processes it starts."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from tests.fixtures import TEST_CONFIG

ROOT = Path(__file__).parent.parent  # this checkout's app, whatever the working directory


def test_the_app_is_made_and_serves_without_importing_flask_migrate_or_alembic(tmp_path):
    """Flask-Migrate (with alembic, mako, pygments: a fifth of `import app`) is imported by `flask db ...` and
    the migration tests only, not by every gunicorn worker and `flask` command (extensions.py)."""
    # In a new process: in this one the app's modules were imported already, so an import of Flask-Migrate put
    # back at the top of extensions.py or app.py would have gone unseen.
    made = subprocess.run([sys.executable, "-c", f"""
import sys
from app import create_app
app = create_app({{"SECRET_KEY": "test", "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / 'fresh.db'}"}},
                 instance_path="{tmp_path / 'fresh'}")
assert app.test_client().get("/health").status_code == 200
print(sorted({{"flask_migrate", "alembic"}} & sys.modules.keys()))
"""], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "[]", f"imported by making the app and serving a request: {made.stdout}"

    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'app.db'}"},
                     instance_path=str(tmp_path / "instance"))
    assert "Perform database migrations." in app.test_cli_runner().invoke(args=["--help"]).output


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the library search runs gcc on Linux only")
def test_weasyprint_s_libraries_are_opened_by_their_names_without_running_ldconfig_or_gcc(monkeypatch):
    """services/pdf.py imports WeasyPrint with no search by short name (services/libraries.py): cffi's search
    (ctypes.util.find_library) ran ldconfig, gcc and ld about 70 times, a quarter of a second of CPU in each
    process that made a PDF."""
    import ctypes.util

    import cffi

    from services.libraries import library_names_only

    started = []

    def no_process(self, args, *more, **options):
        started.append(args)
        raise OSError("no process may start here")

    monkeypatch.setattr(subprocess.Popen, "__init__", no_process)
    search = ctypes.util.find_library
    ffi = cffi.FFI()
    with library_names_only():
        with pytest.raises(OSError):
            ffi.dlopen("gobject-2.0")  # a short name, as WeasyPrint tries first: not searched for
        assert ffi.dlopen("libgobject-2.0.so.0")  # the library's own name (also in WeasyPrint's list): opened
    assert started == []
    assert ctypes.util.find_library is search  # and afterwards the search is as it was
