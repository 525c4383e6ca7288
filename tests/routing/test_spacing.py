"""Hydrant spacing along streets."""

from __future__ import annotations

import numpy as np
import pytest

from geo.errors import ConfigError
from routing.graph import build_graph
from routing.spacing import spacing_gaps
from tests.routing._graphs import E, grid_roads, roads_frame, snaps

# "A Road" along y = 0: 1 (0) - 2 (200) - 3 (400) - 4 (600) - 5 (900). Edge 1 is drawn 3 -> 2.
A_NODES = {1: (0.0, 0.0), 2: (200.0, 0.0), 3: (400.0, 0.0), 4: (600.0, 0.0), 5: (900.0, 0.0)}
A_EDGES = [
    E(1, 2, name="A Road", way_id=1),
    E(3, 2, name="A Road", way_id=2),
    E(3, 4, name="A Road", way_id=2),
    E(4, 5, name="A Road", way_id=3),
]
# Hydrants at x = 50 (edge 0 at 50), 150 (edge 0 at 150), 400 (edge 1 at 0), 500 (edge 2 at 100).
A_HYDRANTS = snaps([0, 0, 1, 2], [50.0, 150.0, 0.0, 100.0], [3.0, 0.0, 1.0, 0.0])


def test_one_gap_between_consecutive_hydrants() -> None:
    # Consecutive spacings 100, 250, 100: one gap (x 150 -> 400, 250 m) over ways 1 and 2. The
    # 50 m before the first and 400 m after the last hydrant are not spacing gaps.
    g = build_graph(roads_frame(A_NODES, A_EDGES))
    gaps = spacing_gaps(g, A_HYDRANTS, max_spacing_m=120.0)
    assert list(gaps.columns) == [
        "name", "way_ids", "from_hydrant", "to_hydrant", "gap_m", "geometry"
    ]
    assert len(gaps) == 1
    row = gaps.iloc[0]
    assert row["name"] == "A Road"
    assert row["gap_m"] == pytest.approx(250.0, abs=1e-6)
    assert sorted([row["from_hydrant"], row["to_hydrant"]]) == [1, 2]
    assert row["way_ids"] == [1, 2]
    assert row.geometry.length == pytest.approx(250.0, abs=1e-6)
    xs = sorted(x - 500_000.0 for x, _ in row.geometry.coords)
    assert xs[0] == pytest.approx(150.0) and xs[-1] == pytest.approx(400.0)
    assert gaps.crs == g.crs


def test_out_of_service_hydrant_opens_a_gap() -> None:
    # Without the hydrant at x = 150: 50 -> 400 = 350 m.
    g = build_graph(roads_frame(A_NODES, A_EDGES))
    gaps = spacing_gaps(g, A_HYDRANTS, in_service=np.array([True, False, True, True]))
    assert gaps["gap_m"].tolist() == pytest.approx([350.0])
    # A looser rule: no gaps.
    assert len(spacing_gaps(g, A_HYDRANTS, max_spacing_m=300.0)) == 0


def test_unnamed_ways_are_separate_streets() -> None:
    # Two unnamed ways end to end (0-200, 200-400) with a hydrant each at x = 10 and 390: not one
    # street, no gap. Named alike, they form one street: gap 380 m.
    nodes = {1: (0.0, 0.0), 2: (200.0, 0.0), 3: (400.0, 0.0)}
    h = snaps([0, 1], [10.0, 190.0])
    unnamed = build_graph(roads_frame(nodes, [E(1, 2, way_id=7), E(2, 3, way_id=8)]))
    assert len(spacing_gaps(unnamed, h)) == 0
    named = build_graph(
        roads_frame(nodes, [E(1, 2, name="B St", way_id=7), E(2, 3, name="B St", way_id=8)])
    )
    gaps = spacing_gaps(named, h)
    assert gaps["gap_m"].tolist() == pytest.approx([380.0])
    assert gaps["way_ids"].iloc[0] == [7, 8]


def test_street_in_several_lines() -> None:
    # "Split St" in two disconnected pieces (0-200 and 500-700): hydrants at 10 and 690 are on
    # different lines and never paired.
    nodes = {1: (0.0, 0.0), 2: (200.0, 0.0), 3: (500.0, 0.0), 4: (700.0, 0.0)}
    g = build_graph(roads_frame(nodes, [E(1, 2, name="Split St"), E(3, 4, name="Split St")]))
    assert len(spacing_gaps(g, snaps([0, 1], [10.0, 190.0]))) == 0


def test_ring_street_wraps_round() -> None:
    # Square ring of 4 x 100 m: hydrants at (10, 0) and (100, 20): 110 m apart one way (no gap),
    # 290 m the other way round (a gap over all four ways).
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (100.0, 100.0), 4: (0.0, 100.0)}
    edges = [E(1, 2, name="Ring", way_id=1), E(2, 3, name="Ring", way_id=2),
             E(3, 4, name="Ring", way_id=3), E(4, 1, name="Ring", way_id=4)]
    g = build_graph(roads_frame(nodes, edges))
    gaps = spacing_gaps(g, snaps([0, 1], [10.0, 20.0]))
    assert gaps["gap_m"].tolist() == pytest.approx([290.0])
    assert gaps["way_ids"].iloc[0] == [1, 2, 3, 4]
    assert gaps.geometry.iloc[0].length == pytest.approx(290.0, abs=1e-6)
    assert sorted(gaps[["from_hydrant", "to_hydrant"]].iloc[0].tolist()) == [0, 1]


def test_few_or_unsnapped_hydrants() -> None:
    g = build_graph(roads_frame(A_NODES, A_EDGES))
    empty = spacing_gaps(g, snaps([0], [50.0]))
    assert len(empty) == 0 and "gap_m" in empty.columns
    # The unsnapped one takes no part: 50 -> 500 is 450 m.
    s = snaps([0, -1, 2], [50.0, np.nan, 100.0])
    assert spacing_gaps(g, s)["gap_m"].tolist() == pytest.approx([450.0])
    with pytest.raises(ConfigError):
        spacing_gaps(g, s, max_spacing_m=0.0)


def test_grid_gaps_are_consistent() -> None:
    # On a grid every reported gap is longer than the rule and its stretch is that long.
    g = build_graph(grid_roads(8, 8, seed=5))
    rng = np.random.default_rng(2)
    edges = rng.integers(0, g.n_edges, 40)
    gaps = spacing_gaps(g, snaps(edges, rng.uniform(0, 1, 40) * g.length_m[edges]))
    assert len(gaps) > 0
    assert (gaps["gap_m"] > 120.0).all()
    np.testing.assert_allclose(gaps.geometry.length, gaps["gap_m"], atol=1e-6)
    assert (np.diff(gaps["gap_m"].to_numpy()) <= 0).all()
