"""Snapping points to edges, and linear-reference substrings."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.ops import substring

from geo.errors import ConfigError, CRSError
from routing.graph import build_graph, truck_graph
from routing.snap import line_substrings, snap_points
from tests.routing._graphs import (
    CRS,
    T_NODES,
    E,
    grid_roads,
    point,
    roads_frame,
    single_edge,
    xy,
)


def test_snap_mid_edge_with_offset() -> None:
    # Edge 1 (0,0) -> 2 (400,0); point (150, 10): position 150 m, offset 10 m.
    g = build_graph(single_edge(400.0))
    s = snap_points(g, [point(150.0, 10.0)])
    assert s.edge.tolist() == [0]
    assert s.position_m[0] == pytest.approx(150.0, abs=1e-6)
    assert s.offset_m[0] == pytest.approx(10.0, abs=1e-6)
    assert s.point[0].equals_exact(point(150.0, 0.0), 1e-6)
    assert s.reason.tolist() == [""]
    assert s.snapped.tolist() == [True]
    assert len(s) == 1


def test_position_measured_from_u() -> None:
    # Same line drawn as edge 2 -> 1 (geometry from (400,0) to (0,0)): position 400 - 150 = 250.
    roads = roads_frame({1: (0.0, 0.0), 2: (400.0, 0.0)}, [E(2, 1)])
    s = snap_points(build_graph(roads), [point(150.0, -5.0)])
    assert s.position_m[0] == pytest.approx(250.0, abs=1e-6)


def test_beyond_max_distance_rejected_with_reason() -> None:
    # Point 83.2 m off the edge: not snapped with the 60 m default, snapped with 100 m.
    g = build_graph(single_edge(400.0))
    s = snap_points(g, [point(200.0, 83.2), point(10.0, 59.0)])
    assert s.edge.tolist() == [-1, 0]
    assert s.reason[0] == "no road within 60 m (nearest 83.2 m)"
    assert np.isnan(s.position_m[0]) and np.isnan(s.offset_m[0]) and s.point[0] is None
    assert snap_points(g, [point(200.0, 83.2)], max_distance_m=100.0).edge.tolist() == [0]


def test_tie_goes_to_lowest_edge() -> None:
    # T junction: point (50, 50) is 50 m from edge 0 (1-2, along y = 0) and 50 m from edge 2
    # (2-4, along x = 100): tie -> edge 0. Point (150, 50) is 50 m from
    # edge 1 (2-3) and 50 m from edge 2: tie -> edge 1.
    roads = roads_frame(T_NODES, [E(1, 2), E(2, 3), E(2, 4)])
    s = snap_points(build_graph(roads), [point(50.0, 50.0), point(150.0, 50.0)])
    assert s.edge.tolist() == [0, 1]
    # Reversed row order: the lowest row still wins.
    roads_r = roads_frame(T_NODES, [E(2, 4), E(2, 3), E(1, 2)])
    s_r = snap_points(build_graph(roads_r), [point(50.0, 50.0), point(150.0, 50.0)])
    assert s_r.edge.tolist() == [0, 0]


def test_edge_mask_snaps_to_passable_edges() -> None:
    # Edge 0 (1-2) is 3 m wide (tagged): a truck snap of (50, 10) goes to edge 2 (x = 100):
    # 50 m away, position 10 from node 2.
    roads = roads_frame(T_NODES, [E(1, 2, width_m=3.0, width_source="width"), E(2, 3), E(2, 4)])
    g = build_graph(roads)
    t = truck_graph(g)
    s = snap_points(g, [point(50.0, 10.0)], edge_mask=t.edge_passable)
    assert s.edge.tolist() == [2]
    assert s.offset_m[0] == pytest.approx(50.0)
    assert s.position_m[0] == pytest.approx(10.0)
    none = snap_points(g, [point(50.0, 10.0)], edge_mask=np.zeros(3, dtype=bool))
    assert none.reason.tolist() == ["no eligible road in the graph"]
    with pytest.raises(ConfigError, match="edge_mask"):
        snap_points(g, [point(50.0, 10.0)], edge_mask=np.ones(2, dtype=bool))


def test_empty_missing_and_non_points() -> None:
    g = build_graph(single_edge(400.0))
    pts = [shapely.Point(), None, shapely.LineString([xy(0, 1), xy(1, 1)]), point(5.0, 1.0)]
    s = snap_points(g, pts)
    assert s.edge.tolist() == [-1, -1, -1, 0]
    assert s.reason.tolist() == ["empty geometry", "empty geometry", "not a point (LineString)", ""]


def test_geoseries_crs_checked() -> None:
    g = build_graph(single_edge(400.0))
    same = gpd.GeoSeries([point(10.0, 1.0)], crs=CRS)
    assert snap_points(g, same).edge.tolist() == [0]
    assert snap_points(g, gpd.GeoDataFrame(geometry=same)).edge.tolist() == [0]
    with pytest.raises(CRSError, match="reproject"):
        snap_points(g, same.to_crs("EPSG:4326"))


def test_vectorised_many_points() -> None:
    # 1,000 points along the 400 m edge at 1 m offset: positions are their x.
    g = build_graph(single_edge(400.0))
    x = np.linspace(0.0, 400.0, 1000)
    s = snap_points(g, shapely.points(np.column_stack([x + 500_000.0, np.full(1000, 3_500_001.0)])))
    np.testing.assert_allclose(s.position_m, x, atol=1e-6)
    np.testing.assert_allclose(s.offset_m, 1.0, atol=1e-6)


def test_line_substrings_match_shapely() -> None:
    line = shapely.LineString([(0, 0), (10, 0), (10, 10), (0, 10)])
    other = shapely.LineString([(5, 5), (6, 5)])
    lines = np.array([line, other])
    starts = np.array([0.0, 5.0, 15.0, 2.0, 0.2, 12.0])
    ends = np.array([30.0, 15.0, 25.0, 28.0, 0.7, 12.0])
    idx = np.array([0, 0, 0, 0, 1, 0])
    out = line_substrings(lines, starts, ends, line_index=idx)
    for got, s0, s1, i in zip(out, starts, ends, idx, strict=True):
        want = substring(lines[i], s0, s1)
        if s0 == s1:
            assert got.length == 0
        else:
            assert got.equals_exact(want, 1e-9)
    # Full pieces reuse the exact end vertices.
    assert out[0].equals_exact(line, 0.0)
    assert line_substrings(lines, np.empty(0), np.empty(0)).shape == (0,)


def test_far_points_use_the_fallback_search() -> None:
    # Point 150 m from the edge: beyond the 100 m bounding-box search, found by the fallback when
    # the limit allows it; with a mask that excludes the only edge nearby it goes to edge 1.
    nodes = {1: (0.0, 0.0), 2: (400.0, 0.0), 3: (0.0, 500.0), 4: (400.0, 500.0)}
    g = build_graph(roads_frame(nodes, [E(1, 2), E(3, 4)]))
    s = snap_points(g, [point(200.0, 150.0)], max_distance_m=400.0)
    assert s.edge.tolist() == [0]
    assert s.offset_m[0] == pytest.approx(150.0) and s.position_m[0] == pytest.approx(200.0)
    masked = snap_points(
        g, [point(200.0, 150.0)], max_distance_m=400.0, edge_mask=np.array([False, True])
    )
    assert masked.edge.tolist() == [1] and masked.offset_m[0] == pytest.approx(350.0)
    too_far = snap_points(
        g, [point(200.0, 150.0)], max_distance_m=300.0, edge_mask=np.array([False, True])
    )
    assert too_far.reason.tolist() == ["no road within 300 m (nearest 350.0 m)"]


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.floats(-50, 450), st.floats(-50, 450)), min_size=1, max_size=20),
    st.sampled_from([30.0, 60.0, 150.0]),
    st.integers(0, 2**16),
)
def test_snap_matches_shapely(points: list[tuple[float, float]], limit: float, seed: int) -> None:
    # Against shapely on a small bent grid: the offset is the distance to the nearest eligible
    # edge; the snapped point lies on the chosen edge at its position; too-far points are not
    # snapped.
    g = build_graph(grid_roads(4, 4, seed=seed % 7))
    rng = np.random.default_rng(seed)
    mask = rng.random(g.n_edges) < 0.7
    pts = np.array([point(x, y) for x, y in points])
    s = snap_points(g, pts, max_distance_m=limit, edge_mask=mask)
    dist = shapely.distance(pts[:, None], g.geometry[None, :])
    dist[:, ~mask] = np.inf
    nearest = dist.min(axis=1)
    for i in range(len(pts)):
        if nearest[i] > limit + 1e-6:
            assert s.edge[i] == -1 and s.reason[i].startswith(f"no road within {limit:g} m")
            continue
        if nearest[i] < limit - 1e-6:
            assert s.edge[i] >= 0
        if s.edge[i] < 0:
            continue
        e = s.edge[i]
        assert mask[e]
        assert s.offset_m[i] == pytest.approx(nearest[i], abs=1e-6)
        assert dist[i, e] == pytest.approx(nearest[i], abs=1e-6)
        on_edge = shapely.line_interpolate_point(g.geometry[e], s.position_m[i])
        assert shapely.distance(on_edge, s.point[i]) < 1e-6
        assert shapely.distance(s.point[i], pts[i]) == pytest.approx(s.offset_m[i], abs=1e-6)
