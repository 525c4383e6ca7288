"""geo.memory: free pages of the C heap go back to the OS between the steps of a run."""

from __future__ import annotations

import os
import sys

import pytest

from geo.memory import release_free_memory


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc_trim is Linux's")
def test_freed_heap_goes_back_to_the_os() -> None:
    # 300 MB in 4 KB blocks from malloc's heap, all freed but the last one: it pins the top of
    # the heap, so malloc cannot give the pages back by itself; malloc_trim(0) can
    blocks = [bytearray(4096) for _ in range(75_000)]
    keep = blocks[-1]
    del blocks
    before = _rss_mb()
    assert release_free_memory() is True
    after = _rss_mb()
    assert keep is not None
    assert before - after > 150, (before, after)
