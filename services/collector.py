"""Python's cycle collector paused around work that allocates many container objects at once.

Reading a 1,000-entry report page makes thousands of tracked objects (entries, their money, tag tuples),
and planning a big preview tens of thousands of lists (each page's decoded records, each line's
entries), many of them kept: the collector ran again and again over a heap that only grew, a third of
"Show the lines" on 13,000 entries and a third of reading each report page in the app (issue 15). Neither
makes reference cycles; whatever a cycle elsewhere leaves is collected once the collector runs again. A PDF's
boxes and styles likewise (services/pdf.py)."""
from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_PAUSES, _PAUSING = 0, threading.Lock()


@contextmanager
def paused() -> Iterator[None]:
    """The collector off while the block runs, and on again once no thread's block still wants it off (a
    count: the loading threads read pages while the request thread plans). Usable as a decorator."""
    global _PAUSES
    with _PAUSING:
        _PAUSES += 1
        gc.disable()
    try:
        yield
    finally:
        with _PAUSING:
            _PAUSES -= 1
            if not _PAUSES:
                gc.enable()
