"""What pytest loads first in every process of a run: the test folder in memory (below) and, in each process that
collects and runs tests, the shared fixtures (tests/fixtures.py: the app, the database, the Clockify sandbox,
Chromium...). Not in the xdist controller, which only hands the tests to its workers and reports: importing the
fixtures (the app, SQLAlchemy's mappers, hypothesis, the sandbox) cost it about a second of CPU for nothing.

Test modules import the fixtures' helpers from there (`from tests.fixtures import PASSWORD`)."""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

# Every test's files (its SQLite database, instance folder) live in memory when the machine has room: a
# commit, a WAL checkpoint or a copied schema then never waits for a disk that other jobs share (a race
# test took half as long). The run's folder is removed at its end; --basetemp still chooses another.
MEMORY_DISK = Path("/dev/shm")
MEMORY_DISK_ROOM = 4 * 2**30  # bytes free before we use it (a run writes about 1.5 GB at most)


@pytest.hookimpl(tryfirst=True)  # before pytest's tmp_path machinery reads --basetemp
def pytest_configure(config):
    if not _schedules_only(config):
        config.pluginmanager.import_plugin("tests.fixtures")
    if config.option.basetemp is not None or os.environ.get("PYTEST_XDIST_WORKER"):
        return  # chosen by hand, or a worker given its part of the run's folder
    if not MEMORY_DISK.is_dir():
        return
    for stale in MEMORY_DISK.glob("hourbill-tests-*"):  # left by a run that was killed, a day or more ago
        if time.time() - stale.stat().st_mtime > 24 * 3600:
            shutil.rmtree(stale, ignore_errors=True)
    if shutil.disk_usage(MEMORY_DISK).free >= MEMORY_DISK_ROOM:
        config.option.basetemp = config._hourbill_basetemp = tempfile.mkdtemp(prefix="hourbill-tests-",
                                                                              dir=MEMORY_DISK)


def pytest_unconfigure(config):
    made = getattr(config, "_hourbill_basetemp", None)
    if made:
        shutil.rmtree(made, ignore_errors=True)


def _schedules_only(config) -> bool:
    """This process is the xdist controller of a run in parallel (decided as xdist's own plugin decides to start
    workers: xdist.plugin._is_distribution_mode): it collects nothing and runs nothing."""
    return (not hasattr(config, "workerinput") and not config.getoption("collectonly")
            and config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None)))

