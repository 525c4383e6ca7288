"""Vectorised geometry work spread over threads.

Shapely's vectorised functions and tree queries run in GEOS without the GIL, so a long call over
many geometries goes as many times faster as there are cores when it is cut into chunks, one per
thread. Each geometry's answer does not depend on the others', so the chunked result is the
one-call result exactly.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import TypeVar

T = TypeVar("T")

#: Fewest items per chunk: below it a second thread costs more than it saves.
MIN_CHUNK = 20_000


def thread_count(workers: int | None = None) -> int:
    """Threads for geometry work: ``workers`` when given (at least 1), else the cores (at most 4)."""
    if workers is not None:
        return max(1, int(workers))
    return max(1, min(os.cpu_count() or 1, 4))


def chunk_bounds(
    n: int, workers: int | None = None, *, min_chunk: int = MIN_CHUNK
) -> list[tuple[int, int]]:
    """``n`` items cut into at most :func:`thread_count` contiguous ``(start, stop)`` chunks of at
    least ``min_chunk`` items (one chunk when ``n`` is small)."""
    parts = max(1, min(thread_count(workers), n // max(min_chunk, 1)))
    edges = [round(i * n / parts) for i in range(parts + 1)]
    return list(pairwise(edges))


def map_chunks(
    job: Callable[[int, int], T], n: int, *, workers: int | None = None, min_chunk: int = MIN_CHUNK
) -> list[tuple[int, T]]:
    """``job(start, stop)`` over the chunks of :func:`chunk_bounds`, in threads when more than
    one; the results in chunk order, each with its chunk's ``start``."""
    bounds = chunk_bounds(n, workers, min_chunk=min_chunk)
    if len(bounds) == 1:
        return [(0, job(0, n))]
    with ThreadPoolExecutor(max_workers=len(bounds), thread_name_prefix="geom") as pool:
        futures = [(start, pool.submit(job, start, stop)) for start, stop in bounds]
        return [(start, f.result()) for start, f in futures]
