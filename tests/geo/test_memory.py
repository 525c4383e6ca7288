"""geo.memory: free pages of the C heap go back to the OS; repeated texts are held once."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo.memory import release_free_memory, share_repeated_text


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


@given(st.lists(st.one_of(st.none(), st.sampled_from(["residential", "service", "道路", ""])),
                min_size=2, max_size=60))
def test_shared_text_is_the_same_column(values: list[str | None]) -> None:
    # the column rebuilt from its distinct values: equal values and missing values, same dtype,
    # one string object per distinct value; the other columns and the given frame untouched
    frame = pd.DataFrame({"highway": pd.array([v and v + "" for v in values], dtype="str"),
                          "n": np.arange(len(values))}, index=np.arange(len(values)) * 2)
    before = frame["highway"].copy()
    out = share_repeated_text(frame)
    pd.testing.assert_frame_equal(out, frame)
    pd.testing.assert_series_equal(frame["highway"], before)
    held = out["highway"].array._ndarray  # python storage: an object array of str
    strings = [v for v in held if isinstance(v, str)]
    assert len({id(v) for v in strings}) == len(set(strings))


def test_mostly_distinct_text_is_left_as_it_is() -> None:
    # 3 rows, 3 distinct ids: nothing to share, the very same strings are kept
    frame = pd.DataFrame({"building_id": pd.array(["w1", "w2", "w3"], dtype="str")})
    out = share_repeated_text(frame)["building_id"].array._ndarray
    assert all(a is b for a, b in zip(out, frame["building_id"].array._ndarray, strict=True))
