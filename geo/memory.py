"""Handing freed memory back to the operating system between the long steps of a run.

CPython frees a step's tables into the C heap, and glibc's ``malloc`` keeps most of what it got
(many small blocks, spread over the heap) instead of returning it: after reading a 1M-edge city
the process held ~750 MB it no longer used, and the next step's peak sat on top of it. Calling
``malloc_trim(0)`` at a step boundary returns the free pages (the same remedy Dask's workers
use for "unmanaged memory"). Elsewhere (macOS, Windows, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import logging
import sys

log = logging.getLogger(__name__)

__all__ = ["release_free_memory"]


@functools.cache
def _malloc_trim() -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_free_memory() -> bool:
    """Collect garbage and give the C heap's free pages back to the OS; True when it could."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
