"""services/collector.py: the cycle collector stays paused while any thread's block wants it paused, and
runs again once the last block ends, however it ends."""
from __future__ import annotations

import gc
import threading

import pytest

from services import collector


def test_the_collector_runs_again_only_when_the_last_pause_ends_even_after_an_error():
    assert gc.isenabled()
    entered, release = threading.Event(), threading.Event()

    def other_thread():
        with collector.paused():
            entered.set()
            release.wait(5)

    worker = threading.Thread(target=other_thread)
    worker.start()
    try:
        assert entered.wait(5)
        with pytest.raises(RuntimeError):
            with collector.paused():
                assert not gc.isenabled()
                raise RuntimeError("a failed page")
        assert not gc.isenabled()  # the loading thread's pause still holds
    finally:
        release.set()
        worker.join(5)
    assert gc.isenabled()


@collector.paused()
def _decorated() -> bool:
    return gc.isenabled()


def test_as_a_decorator_each_call_pauses_the_collector():
    assert _decorated() is False and _decorated() is False
    assert gc.isenabled()
