"""Shared libraries opened through cffi or ctypes."""
from __future__ import annotations

import sys
from contextlib import contextmanager


@contextmanager
def library_names_only():
    """While WeasyPrint is imported on Linux: no search for a shared library by a short name. WeasyPrint opens
    Pango, HarfBuzz, fontconfig... through cffi, trying several names each (libgobject-2.0-0, gobject-2.0, then
    libgobject-2.0.so.0); cffi hands each name that is not a file's to ctypes.util.find_library, which runs
    ldconfig, then gcc (and its collect2 and ld) and ld to look: about 70 processes and a quarter of a second
    of CPU in every process that imported WeasyPrint (a gunicorn worker's first PDF, each test worker). The
    system's loader opens the libraries' own names (libgobject-2.0.so.0, also in WeasyPrint's lists) directly.
    Should that miss a library (one installed under another name), the import is tried again with the search."""
    if not sys.platform.startswith("linux"):
        yield
        return
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = lambda name: None
    try:
        yield
    finally:
        ctypes.util.find_library = search
