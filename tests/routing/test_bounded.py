"""Bounded searches equal the whole-graph Dijkstra they replace, on random multi-cell graphs."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from routing.bounded import bounded_pairs
from routing.graph import build_graph
from tests.routing.test_response import make_roads


@st.composite
def grid_case(draw: st.DrawFn) -> tuple[list, np.ndarray, np.ndarray, float]:
    """A random street graph over 6 km × 3 km (several 1 km source cells), sources, targets."""
    n = draw(st.integers(20, 120))
    pts = draw(st.lists(st.tuples(st.integers(0, 6000), st.integers(0, 3000)), min_size=n,
                        max_size=n, unique=True))
    # streets join near neighbours (short edges, long paths), plus a few long ones
    order = sorted(range(n), key=lambda i: pts[i])
    pairs = [(order[i], order[i + 1]) for i in range(n - 1)]
    pairs += draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n))
    edges = [(a, b, [pts[a], pts[b]]) for a, b in pairs if a != b]
    limit = draw(st.sampled_from([150.0, 400.0, 900.0]))
    seed = draw(st.integers(0, 2**31 - 1))
    return edges, np.asarray(pts, dtype=float), np.asarray([seed]), limit


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid_case())
def test_bounded_pairs_equal_whole_graph_dijkstra(case: tuple) -> None:
    edges, _, seed, limit = case
    graph = build_graph(make_roads(edges))
    rng = np.random.default_rng(int(seed[0]))
    n = graph.n_nodes
    sources = np.unique(rng.choice(n, size=max(1, n // 2), replace=True))
    targets = np.unique(rng.choice(n, size=max(1, n // 2), replace=True))
    got = bounded_pairs(graph, sources, targets, limit)
    # the old building-water path: one dense Dijkstra row per source over the whole graph
    full = dijkstra(graph.hose, directed=False, indices=sources, limit=limit)[:, targets]
    i, j = np.nonzero(np.isfinite(full) & (full <= limit))
    expected = {(int(sources[a]), int(targets[b])): full[a, b] for a, b in zip(i, j, strict=True)}
    found = {(int(s), int(t)): d for s, t, d in got.itertuples(index=False)}
    assert found.keys() == expected.keys()
    for key, d in found.items():
        assert d == expected[key]


def test_bounded_pairs_on_paper() -> None:
    # 0 --100-- 1 --100-- 2 --100-- 3 ; within 150 m of node 0: itself (0) and node 1 (100)
    graph = build_graph(make_roads([(1, 2, [(0, 0), (100, 0)]), (2, 3, [(100, 0), (200, 0)]),
                                    (3, 4, [(200, 0), (300, 0)])]))
    x = graph.node_xy[:, 0]
    a, b, c = (int(np.argmin(abs(x - v))) for v in (0.0, 100.0, 200.0))
    got = bounded_pairs(graph, np.array([a]), np.arange(graph.n_nodes), 150.0)
    assert sorted(zip(got["t"], got["d"], strict=True)) == sorted([(a, 0.0), (b, 100.0)])
    assert c not in set(got["t"])
    empty = bounded_pairs(graph, np.array([], dtype=np.int64), np.array([a]), 150.0)
    assert list(empty.columns) == ["s", "t", "d"] and len(empty) == 0
