"""Geometry work in thread chunks: the chunks cover every item once, in order, and a chunked
GEOS query equals the one-call query."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely

from geo.threads import chunk_bounds, map_chunks


@pytest.mark.parametrize("n", [0, 1, 19_999, 40_000, 40_001, 123_457])
@pytest.mark.parametrize("workers", [1, 2, 3, 8])
def test_chunks_cover_every_item_once_in_order(n: int, workers: int) -> None:
    bounds = chunk_bounds(n, workers, min_chunk=20_000)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert len(bounds) <= max(1, workers)
    assert all(stop - start >= 20_000 for start, stop in bounds) or len(bounds) == 1


def test_chunked_nearest_query_equals_one_query() -> None:
    rng = np.random.default_rng(5)
    lines = shapely.linestrings(rng.uniform(0, 5000, (3000, 2, 2)))
    boxes = shapely.box(*rng.uniform(0, 5000, (2, 50_000)), *(rng.uniform(0, 5000, (2, 50_000)) + 20))
    tree = shapely.STRtree(lines)
    (q, t), d = tree.query_nearest(boxes, max_distance=60, return_distance=True, all_matches=False)

    def part(start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        (pq, pt), pd_ = tree.query_nearest(
            boxes[start:stop], max_distance=60, return_distance=True, all_matches=False
        )
        return pq + start, pt, pd_

    parts = map_chunks(part, len(boxes), workers=3, min_chunk=10_000)
    assert len(parts) == 3
    assert np.array_equal(np.concatenate([p[1][0] for p in parts]), q)
    assert np.array_equal(np.concatenate([p[1][1] for p in parts]), t)
    assert np.array_equal(np.concatenate([p[1][2] for p in parts]), d)
