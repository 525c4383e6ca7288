"""Memory of a run: freed memory handed back to the OS, repeated texts held once.

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

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = ["release_free_memory", "share_repeated_text"]


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


def share_repeated_text(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with each text column's equal values held by one string object.

    A reader makes one Python string per row and tag (``highway``, ``surface``, a street's name,
    a building's class): 880,000 ``str`` objects for 9 distinct values in a 1M-edge city's
    ``highway``, ~50 bytes each. Here each ``str`` column is rebuilt from its distinct values,
    so rows point at shared strings: the same values, dtype and missing values (a new frame; the
    given one is untouched), ~8 bytes a row. Columns with mostly distinct values are left as they
    are (nothing to gain).
    """
    out = frame.copy(deep=False)
    for name in frame.columns:
        col = frame[name]
        if col.dtype != "str" or len(col) < 2:
            continue
        codes, uniques = pd.factorize(col)
        if len(uniques) == 0 or len(uniques) * 2 > len(col):
            continue
        values = np.asarray(uniques, dtype=object)[codes]
        values[codes < 0] = None
        out[name] = pd.Series(values, index=frame.index, dtype=col.dtype, name=name)
    return out
