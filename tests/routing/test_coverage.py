"""Hydrant coverage, exact per metre: hand-drawn graphs and a brute-force networkx reference."""

from __future__ import annotations

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.errors import ConfigError, CRSError
from routing.coverage import (
    CoverageResult,
    _merge_intervals,
    coverage_pieces,
    hydrant_coverage,
    multi_source_distance,
    splice_coverage,
    underserved_segments,
)
from routing.graph import StreetGraph, build_graph
from routing.snap import SnapResult, snap_points
from tests.routing._graphs import (
    CRS,
    T_NODES,
    E,
    barriers_frame,
    grid_roads,
    point,
    roads_frame,
    single_edge,
    snaps,
)

TOL = 1e-6


def intervals(result: CoverageResult, edge: int) -> list[tuple[float, float]]:
    sel = result.interval_edge == edge
    starts, ends = result.interval_start[sel].tolist(), result.interval_end[sel].tolist()
    return list(zip(starts, ends, strict=True))


def assert_intervals(got: list[tuple[float, float]], want: list[tuple[float, float]]) -> None:
    assert len(got) == len(want), (got, want)
    np.testing.assert_allclose(np.array(got), np.array(want), atol=TOL)


# --- hand-drawn graphs ----------------------------------------------------------------------------


def test_hydrant_mid_edge() -> None:
    # 400 m edge, hydrant at 200 on the street, R = 150: covers [50, 350] = 300 m.
    g = build_graph(single_edge(400.0))
    r = hydrant_coverage(g, snaps([0], [200.0]), radius_m=150.0)
    assert_intervals(intervals(r, 0), [(50.0, 350.0)])
    assert r.covered_m[0] == pytest.approx(300.0, abs=TOL)
    assert r.uncovered_m[0] == pytest.approx(100.0, abs=TOL)
    assert r.road_m == pytest.approx(400.0) and r.total_covered_m == pytest.approx(300.0)
    assert r.covered_share == pytest.approx(0.75)
    assert r.n_hydrants == 1 and r.method == "network"
    # Both end nodes are 200 m away: beyond the radius.
    assert r.node_distance_m is not None and np.isinf(r.node_distance_m).all()


def test_hydrant_with_offset_from_snapping() -> None:
    # Hydrant 10 m beside the street at x = 200: hose 10 m to the street, then 140 m either way:
    # [60, 340] = 280 m.
    g = build_graph(single_edge(400.0))
    s = snap_points(g, [point(200.0, 10.0)])
    r = hydrant_coverage(g, s, radius_m=150.0)
    assert_intervals(intervals(r, 0), [(60.0, 340.0)])


def test_two_hydrants_overlapping_on_one_edge() -> None:
    # 1000 m edge, hydrants at 200 and 400, R = 150: [50, 350] U [250, 550] = [50, 550] = 500 m.
    g = build_graph(single_edge(1000.0))
    r = hydrant_coverage(g, snaps([0, 0], [200.0, 400.0]), radius_m=150.0)
    assert_intervals(intervals(r, 0), [(50.0, 550.0)])
    # Apart: 200 and 700 -> [50, 350] and [550, 850], two intervals, 600 m.
    r2 = hydrant_coverage(g, snaps([0, 0], [200.0, 700.0]), radius_m=150.0)
    assert_intervals(intervals(r2, 0), [(50.0, 350.0), (550.0, 850.0)])
    # Nested: at 500 with offset 0 (R 150) and at 510 with offset 100 (reach 50): [350, 650].
    r3 = hydrant_coverage(g, snaps([0, 0], [500.0, 510.0], [0.0, 100.0]), radius_m=150.0)
    assert_intervals(intervals(r3, 0), [(350.0, 650.0)])


def test_t_junction_propagates_through_node() -> None:
    # T: edge 0 = 1-2 (100 m), edge 1 = 2-3 (200 m), edge 2 = 2-4 (200 m). Hydrant on edge 0 at
    # 40 m from node 1, R = 150: edge 0 covered whole ([0, 100], from -110 to 190 clipped);
    # node 2 at 60 m, so edges 1 and 2 are covered [0, 90] from node 2. Total 280 m.
    g = build_graph(roads_frame(T_NODES, [E(1, 2), E(2, 3), E(2, 4)]))
    r = hydrant_coverage(g, snaps([0], [40.0]), radius_m=150.0)
    assert_intervals(intervals(r, 0), [(0.0, 100.0)])
    assert_intervals(intervals(r, 1), [(0.0, 90.0)])
    assert_intervals(intervals(r, 2), [(0.0, 90.0)])
    assert r.total_covered_m == pytest.approx(280.0, abs=TOL)
    # Edge 2 drawn the other way (4 -> 2): covered from its v end: [110, 200].
    g2 = build_graph(roads_frame(T_NODES, [E(1, 2), E(2, 3), E(4, 2)]))
    r2 = hydrant_coverage(g2, snaps([0], [40.0]), radius_m=150.0)
    assert_intervals(intervals(r2, 2), [(110.0, 200.0)])


def test_dead_end() -> None:
    # Dead end 1-2 (100 m, node 1 has degree 1), then 2-3 (200 m). Hydrant 30 m from node 1,
    # R = 150: edge 0 whole; node 2 at 70 m -> edge 1 [0, 80]. Total 180 m.
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (300.0, 0.0)}
    g = build_graph(roads_frame(nodes, [E(1, 2), E(2, 3)]))
    r = hydrant_coverage(g, snaps([0], [30.0]), radius_m=150.0)
    assert_intervals(intervals(r, 0), [(0.0, 100.0)])
    assert_intervals(intervals(r, 1), [(0.0, 80.0)])
    assert r.total_covered_m == pytest.approx(180.0, abs=TOL)


def test_parallel_edges_with_different_lengths() -> None:
    # Nodes 1 (0,0), 2 (100,0); edge 0 straight (100 m), edge 1 bent through (50, 50*sqrt(3)):
    # 2 x 100 = 200 m. Hydrant at node 1 (edge 0, position 0), R = 120: node 2 at 100 m (by the
    # straight edge). Edge 0 covered whole; edge 1 (its own L = 200): [0, 120] from node 1 and
    # [200 - 20, 200] from node 2 -> 140 m.
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0)}
    g = build_graph(roads_frame(nodes, [E(1, 2), E(1, 2, via=((50.0, 50.0 * math.sqrt(3)),))]))
    assert g.length_m[1] == pytest.approx(200.0)
    r = hydrant_coverage(g, snaps([0], [0.0]), radius_m=120.0)
    assert_intervals(intervals(r, 0), [(0.0, 100.0)])
    assert_intervals(intervals(r, 1), [(0.0, 120.0), (180.0, 200.0)])
    # Hydrant in the middle of the long edge (position 100), R = 110: nodes 1 and 2 at 100 m, so
    # edge 0 gets [0, 10] U [90, 100]; edge 1 its own [-10, 210] -> [0, 200].
    r2 = hydrant_coverage(g, snaps([1], [100.0]), radius_m=110.0)
    assert_intervals(intervals(r2, 0), [(0.0, 10.0), (90.0, 100.0)])
    assert_intervals(intervals(r2, 1), [(0.0, 200.0)])


def test_self_loop() -> None:
    # Edge 0: 1-2 (100 m). Edge 1: self-loop at 2 through (100, 100), (200, 100), (200, 0): 400 m.
    # Hydrant at node 1, R = 250: node 2 at 100 -> loop covered [0, 150] and [250, 400].
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0)}
    loop = E(2, 2, via=((100.0, 100.0), (200.0, 100.0), (200.0, 0.0)))
    g = build_graph(roads_frame(nodes, [E(1, 2), loop]))
    r = hydrant_coverage(g, snaps([0], [0.0]), radius_m=250.0)
    assert_intervals(intervals(r, 1), [(0.0, 150.0), (250.0, 400.0)])


def test_oneway_ignored_by_hose_lay() -> None:
    # One-way edges 1->2 and 2->3 (100 m each); hydrant at node 3 still covers backwards.
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (200.0, 0.0)}
    oneway = roads_frame(nodes, [E(1, 2, oneway=True), E(2, 3, oneway=True)])
    twoway = roads_frame(nodes, [E(1, 2), E(2, 3)])
    r1 = hydrant_coverage(build_graph(oneway), snaps([1], [100.0]), radius_m=150.0)
    r2 = hydrant_coverage(build_graph(twoway), snaps([1], [100.0]), radius_m=150.0)
    assert_intervals(intervals(r1, 0), [(50.0, 100.0)])
    np.testing.assert_allclose(r1.covered_m, r2.covered_m)


def test_bollard_does_not_stop_hoses() -> None:
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (200.0, 0.0)}
    barriers = barriers_frame(nodes, [{"node_id": 2, "barrier": "bollard"}])
    g = build_graph(roads_frame(nodes, [E(1, 2), E(2, 3)]), barriers=barriers)
    r = hydrant_coverage(g, snaps([0], [0.0]), radius_m=150.0)
    assert_intervals(intervals(r, 1), [(0.0, 50.0)])


def test_out_of_service_removes_exactly_its_own_coverage() -> None:
    # 1000 m edge; hydrant 0 at 200, hydrant 1 at 400 (R = 150): together [50, 550].
    # Hydrant 1 out of service: [50, 350]; it alone provided (350, 550] = 200 m.
    g = build_graph(single_edge(1000.0))
    s = snaps([0, 0], [200.0, 400.0])
    both = hydrant_coverage(g, s, radius_m=150.0)
    one = hydrant_coverage(g, s, radius_m=150.0, in_service=np.array([True, False]))
    assert_intervals(intervals(one, 0), [(50.0, 350.0)])
    assert both.total_covered_m - one.total_covered_m == pytest.approx(200.0, abs=TOL)
    assert one.n_hydrants == 1
    pieces_both = coverage_pieces(g, both)
    pieces_one = coverage_pieces(g, one)
    lost = pieces_one.loc[~pieces_one["covered"]].geometry.union_all().difference(
        pieces_both.loc[~pieces_both["covered"]].geometry.union_all()
    )
    assert lost.length == pytest.approx(200.0, abs=TOL)
    with pytest.raises(ConfigError, match="in_service"):
        hydrant_coverage(g, s, radius_m=150.0, in_service=np.array([True]))


def _grid_with_one_off() -> tuple[StreetGraph, SnapResult, np.ndarray, np.ndarray, np.ndarray,
                                   CoverageResult, CoverageResult]:
    """An 8×8 grid, 12 hydrants; coverage with all in service and with hydrant 5 out."""
    roads = grid_roads(8, 8, seed=3)
    g = build_graph(roads)
    rng = np.random.default_rng(1)
    edges = rng.choice(g.n_edges, 12, replace=False)
    pos = rng.uniform(0, 1, 12) * g.length_m[edges]
    s = snaps(edges, pos, rng.uniform(0, 20, 12))
    base = hydrant_coverage(g, s, radius_m=150.0)
    mask = np.ones(12, dtype=bool)
    mask[5] = False
    off = hydrant_coverage(g, s, radius_m=150.0, in_service=mask)
    return g, s, edges, pos, mask, base, off


def test_out_of_service_on_grid_changes_only_its_reach() -> None:
    # On a grid: turning one hydrant off changes only edges within R of it (straight line is a
    # lower bound of the hose distance, so edges farther than R from it cannot change).
    g, s, edges, pos, mask, base, off = _grid_with_one_off()
    hydrant_at = shapely.line_interpolate_point(g.geometry[edges[5]], pos[5])
    far = shapely.distance(g.geometry, hydrant_at) > 150.0
    np.testing.assert_allclose(off.covered_m[far], base.covered_m[far], atol=TOL)
    assert (off.covered_m <= base.covered_m + TOL).all()
    ref = reference_covered(g, edges[mask], pos[mask], s.offset_m[mask], 150.0)
    np.testing.assert_allclose(off.covered_m, ref, atol=TOL)


def test_splice_takes_the_masked_edges_from_the_part() -> None:
    # Splicing the run without hydrant 5 into the full run on the edges that changed gives the
    # run without hydrant 5 exactly (intervals, covered metres, node distances).
    g, _, _, _, _, base, off = _grid_with_one_off()
    changed = np.abs(off.covered_m - base.covered_m) > 0
    assert 0 < changed.sum() < g.n_edges
    for take in (changed, np.ones(g.n_edges, dtype=bool)):
        out = splice_coverage(g, base, off, take, n_hydrants=11)
        np.testing.assert_allclose(out.covered_m, off.covered_m, atol=TOL)
        for name in ("interval_edge", "interval_start", "interval_end"):
            np.testing.assert_allclose(getattr(out, name), getattr(off, name), atol=TOL)
        assert out.n_hydrants == 11 and out.total_covered_m == pytest.approx(off.total_covered_m)
    # taking no edge gives the old run back
    same = splice_coverage(g, base, off, np.zeros(g.n_edges, dtype=bool), n_hydrants=12)
    np.testing.assert_array_equal(same.covered_m, base.covered_m)
    np.testing.assert_array_equal(same.interval_start, base.interval_start)
    assert same.node_distance_m is not None and base.node_distance_m is not None
    np.testing.assert_array_equal(same.node_distance_m, base.node_distance_m)


def test_unsnapped_hydrants_and_offset_beyond_radius() -> None:
    g = build_graph(single_edge(400.0))
    s = snaps([-1, 0], [np.nan, 200.0], [np.nan, 200.0])
    r = hydrant_coverage(g, s, radius_m=150.0)
    assert r.total_covered_m == 0.0 and len(r.interval_edge) == 0
    assert r.n_hydrants == 1


def test_radius_and_method_validated() -> None:
    g = build_graph(single_edge(400.0))
    with pytest.raises(ConfigError):
        hydrant_coverage(g, snaps([0], [1.0]), radius_m=-1.0)
    with pytest.raises(ConfigError):
        hydrant_coverage(g, snaps([0], [1.0]), radius_m=1.0, method="euclid")  # type: ignore[arg-type]


def test_multi_source_distance_initial_offsets() -> None:
    # Line 1-2-3 (100 m each): sources node 1 at 30 m and node 3 at 0 m: node 2 at min(130, 100).
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (200.0, 0.0)}
    g = build_graph(roads_frame(nodes, [E(1, 2), E(2, 3)]))
    d = multi_source_distance(g, np.array([0, 2, 2]), np.array([30.0, 5.0, 0.0]))
    np.testing.assert_allclose(d, [30.0, 100.0, 0.0])
    d2 = multi_source_distance(g, np.array([0]), np.array([30.0]), limit_m=100.0)
    assert d2.tolist() == [30.0, math.inf, math.inf]
    assert np.isinf(multi_source_distance(g, np.array([0]), np.array([300.0]), limit_m=100.0)).all()


def test_merge_intervals() -> None:
    e = np.array([1, 0, 0, 0, 1, 1, 2])
    s = np.array([5.0, 0.0, 2.0, 10.0, 0.0, 1.0, 3.0])
    t = np.array([6.0, 3.0, 2.5, 11.0, 5.0, 2.0, 4.0])
    me, ms, mt = _merge_intervals(e, s, t)
    assert me.tolist() == [0, 0, 1, 2]
    assert ms.tolist() == [0.0, 10.0, 0.0, 3.0]
    assert mt.tolist() == [3.0, 11.0, 6.0, 4.0]


# --- straight-line method -------------------------------------------------------------------------


def test_straight_line_uses_hydrant_points() -> None:
    # Hydrant 90 m from a 400 m edge at x = 200: not snapped (> 60 m) so no network coverage;
    # straight line: half-chord sqrt(150^2 - 90^2) = 120 -> [80, 320].
    g = build_graph(single_edge(400.0))
    pts = gpd.GeoSeries([point(200.0, 90.0)], crs=CRS)
    s = snap_points(g, pts)
    assert hydrant_coverage(g, s, radius_m=150.0).total_covered_m == 0.0
    r = hydrant_coverage(g, s, radius_m=150.0, method="straight", hydrant_points=pts)
    assert r.method == "straight" and r.node_distance_m is None
    assert_intervals(intervals(r, 0), [(80.0, 320.0)])
    off = hydrant_coverage(
        g, s, radius_m=150.0, method="straight", hydrant_points=pts, in_service=np.array([False])
    )
    assert off.total_covered_m == 0.0
    with pytest.raises(CRSError):
        hydrant_coverage(g, s, radius_m=150.0, method="straight", hydrant_points=pts.to_crs(4326))


def test_straight_line_bent_edge() -> None:
    # Edge 1 (0,0) -> (100,0) -> (100,100) = node 2; hydrant at (100, 0) (the bend), R = 50:
    # covered [50, 150] along the edge. Snapped points are used when no points are given.
    nodes = {1: (0.0, 0.0), 2: (100.0, 100.0)}
    g = build_graph(roads_frame(nodes, [E(1, 2, via=((100.0, 0.0),))]))
    s = snap_points(g, [point(100.0, 0.0)])
    r = hydrant_coverage(g, s, radius_m=50.0, method="straight")
    assert_intervals(intervals(r, 0), [(50.0, 150.0)])


def test_straight_line_matches_buffer_intersection_on_grid() -> None:
    # Exact circle-segment intersections against shapely's polygonal buffers (quad_segs=256: a
    # chord error under 0.003 m per crossing at R = 150).
    g = build_graph(grid_roads(6, 6, seed=4))
    rng = np.random.default_rng(5)
    pts = gpd.GeoSeries(
        [point(x, y) for x, y in rng.uniform(-50, 550, (6, 2))], crs=CRS
    )
    s = snap_points(g, pts, max_distance_m=1000.0)
    r = hydrant_coverage(g, s, radius_m=150.0, method="straight", hydrant_points=pts)
    disc = shapely.union_all(shapely.buffer(np.asarray(pts.array), 150.0, quad_segs=256))
    want = shapely.length(shapely.intersection(g.geometry, disc))
    np.testing.assert_allclose(r.covered_m, want, atol=0.05)


# --- pieces and underserved stretches -------------------------------------------------------------


def test_coverage_pieces_single_edge() -> None:
    # [0, 50] uncovered, [50, 350] covered, [350, 400] uncovered.
    g = build_graph(single_edge(400.0, name="Elm St"))
    r = hydrant_coverage(g, snaps([0], [200.0]), radius_m=150.0)
    p = coverage_pieces(g, r)
    assert list(p.columns) == [
        "edge_id", "way_id", "name", "highway", "start_m", "end_m", "length_m", "covered",
        "needs_hydrants", "geometry",
    ]
    assert p["covered"].tolist() == [False, True, False]
    np.testing.assert_allclose(p["start_m"], [0.0, 50.0, 350.0])
    np.testing.assert_allclose(p["end_m"], [50.0, 350.0, 400.0])
    np.testing.assert_allclose(p.geometry.length, p["length_m"], atol=TOL)
    assert p.crs == g.roads.crs
    assert (p["name"] == "Elm St").all()
    assert p.geometry.iloc[1].equals_exact(
        shapely.LineString([(500_050.0, 3_500_000.0), (500_350.0, 3_500_000.0)]), 1e-6
    )


def test_coverage_pieces_sum_to_edge_lengths_on_grid() -> None:
    g = build_graph(grid_roads(6, 6, seed=2))
    rng = np.random.default_rng(0)
    edges = rng.choice(g.n_edges, 5, replace=False)
    r = hydrant_coverage(g, snaps(edges, 0.5 * g.length_m[edges]), radius_m=120.0)
    p = coverage_pieces(g, r)
    by_edge = p.groupby("edge_id")["length_m"].sum().reindex(g.edge_id).to_numpy()
    np.testing.assert_allclose(by_edge, g.length_m, atol=TOL)
    cov = p.loc[p["covered"]].groupby("edge_id")["length_m"].sum()
    np.testing.assert_allclose(cov.reindex(g.edge_id, fill_value=0.0), r.covered_m, atol=TOL)
    np.testing.assert_allclose(p.geometry.length, p["length_m"], atol=1e-6)


def test_underserved_segments_merge_and_rank() -> None:
    # "Long Rd": 1-2-3-4 (3 x 100 m, separate edges and ways) and "Short Rd": 4-5 (100 m), plus an
    # unnamed way 5-6 (100 m). Hydrant at node 1 (R = 50): Long Rd uncovered [50, 300] = 250 m in
    # ONE stretch over three edges; Short Rd 100 m; unnamed 100 m. Buildings: a class1 high-rise
    # 10 m from Short Rd, a low building 10 m from the unnamed way, one 500 m away.
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (200.0, 0.0), 4: (300.0, 0.0), 5: (300.0, 100.0),
             6: (300.0, 200.0)}
    roads = roads_frame(
        nodes,
        [E(1, 2, name="Long Rd", way_id=1), E(3, 2, name="Long Rd", way_id=2),
         E(3, 4, name="Long Rd", way_id=2), E(4, 5, name="Short Rd", way_id=3), E(5, 6, way_id=4)],
    )
    g = build_graph(roads)
    r = hydrant_coverage(g, snaps([0], [0.0]), radius_m=50.0)
    pieces = coverage_pieces(g, r)
    buildings = gpd.GeoDataFrame(
        {"high_rise_class": ["class1", "not_high_rise", "class2"]},
        geometry=[point(310.0, 50.0).buffer(5), point(290.0, 150.0).buffer(5),
                  point(800.0, 800.0).buffer(5)],
        crs=CRS,
    )
    u = underserved_segments(pieces, buildings=buildings, frontage_m=30.0)
    assert u["rank"].tolist() == [1, 2, 3]
    assert u["name"].tolist() == ["Long Rd", "Short Rd", ""]
    np.testing.assert_allclose(u["length_m"], [250.0, 100.0, 100.0], atol=TOL)
    assert u["way_ids"].tolist() == [[1, 2], [3], [4]]
    # The high-rise (disc of 5 m at (310, 50)) is 5 m from Short Rd, 46 m from the unnamed way and
    # from Long Rd's end (300, 0); the low building (disc at (290, 150)) is 5 m from the unnamed
    # way only. Short Rd (100 m, one high-rise) ranks above the unnamed way (100 m, none).
    assert u["n_buildings"].tolist() == [0, 1, 1]
    assert u["n_high_rises"].tolist() == [0, 1, 0]
    assert u.geometry.iloc[0].geom_type == "LineString"
    # Without buildings: ties on length keep a stable order; counts are zero.
    u0 = underserved_segments(pieces)
    assert u0["n_buildings"].tolist() == [0, 0, 0]
    # All covered: an empty frame with the columns.
    full = hydrant_coverage(g, snaps([0], [0.0]), radius_m=1000.0)
    empty = underserved_segments(coverage_pieces(g, full))
    assert len(empty) == 0 and "rank" in empty.columns
    with pytest.raises(CRSError):
        underserved_segments(pieces, buildings=buildings.to_crs(4326))


# --- brute-force reference ------------------------------------------------------------------------


def reference_covered(
    graph: StreetGraph,
    edge: np.ndarray,
    position: np.ndarray,
    offset: np.ndarray,
    radius: float,
) -> np.ndarray:
    """Covered length per edge, by brute force with networkx.

    Every hydrant's snap position becomes a real node splitting its edge; a super source joins
    each with an arc of its offset; one Dijkstra gives the distance at every (sub-)node. Inside a
    sub-edge of length l with end distances d1, d2 there is no source, so the covered length is
    min(l, clip(R - d1, 0, l) + clip(R - d2, 0, l)).
    """
    G = nx.MultiGraph()
    G.add_node("S")
    chains: list[list[tuple[object, object, float]]] = []
    for k in range(graph.n_edges):
        L = float(graph.length_m[k])
        here = np.flatnonzero(edge == k)
        cuts = sorted({float(p) for p in position[here]})
        points = [0.0, *cuts, L]
        names: list[object] = [("n", int(graph.u_idx[k]))]
        names += [("h", k, c) for c in cuts]
        names.append(("n", int(graph.v_idx[k])))
        chain = []
        for a, b, pa, pb in zip(names[:-1], names[1:], points[:-1], points[1:], strict=True):
            G.add_edge(a, b, weight=pb - pa)
            chain.append((a, b, pb - pa))
        chains.append(chain)
        for h in here:
            G.add_edge("S", ("h", k, float(position[h])), weight=float(offset[h]))
    dist = nx.single_source_dijkstra_path_length(G, "S")
    covered = np.zeros(graph.n_edges)
    for k, chain in enumerate(chains):
        for a, b, length in chain:
            d1, d2 = dist.get(a, math.inf), dist.get(b, math.inf)
            ra = min(max(radius - d1, 0.0), length)
            rb = min(max(radius - d2, 0.0), length)
            covered[k] += min(length, ra + rb)
    return covered


@st.composite
def random_case(draw: st.DrawFn) -> tuple[gpd.GeoDataFrame, SnapResult, float, np.ndarray]:
    n_nodes = draw(st.integers(2, 9))
    coords = draw(
        st.lists(
            st.tuples(st.integers(0, 40), st.integers(0, 40)),
            min_size=n_nodes, max_size=n_nodes, unique=True,
        )
    )
    nodes = {10 + i: (10.0 * x, 10.0 * y) for i, (x, y) in enumerate(coords)}
    ids = list(nodes)
    n_edges = draw(st.integers(1, 14))
    edges = []
    for _ in range(n_edges):
        u = draw(st.sampled_from(ids))
        v = draw(st.sampled_from(ids))
        bend = draw(st.sampled_from([None, (13.0, 7.0), (-21.0, 35.0)]))
        if u == v and bend is None:
            bend = (30.0, 0.0)
        via: tuple[tuple[float, float], ...] = ()
        if bend is not None:
            (ux, uy), (vx, vy) = nodes[u], nodes[v]
            via = (((ux + vx) / 2 + bend[0], (uy + vy) / 2 + bend[1]),)
            if u == v:
                via = (*via, (ux + bend[1], uy - bend[0] - 5.0))
        edges.append(E(u, v, via=via, oneway=draw(st.booleans())))
    roads = roads_frame(nodes, edges)
    n_h = draw(st.integers(0, 6))
    lengths = roads.geometry.length.to_numpy()
    h_edge = draw(st.lists(st.integers(0, n_edges - 1), min_size=n_h, max_size=n_h))
    frac = draw(
        st.lists(
            st.one_of(st.just(0.0), st.just(1.0), st.just(0.5), st.floats(0.0, 1.0)),
            min_size=n_h, max_size=n_h,
        )
    )
    off = draw(
        st.lists(
            st.one_of(st.just(0.0), st.floats(0.0, 80.0)), min_size=n_h, max_size=n_h
        )
    )
    pos = np.array(frac) * lengths[np.array(h_edge, dtype=np.int64)] if n_h else np.empty(0)
    s = snaps(h_edge, pos, off)
    radius = draw(st.sampled_from([0.0, 25.0, 100.0, 150.0, 333.3]))
    in_service = np.array(draw(st.lists(st.booleans(), min_size=n_h, max_size=n_h)), dtype=bool)
    return roads, s, radius, in_service


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case())
def test_matches_networkx_reference(
    case: tuple[gpd.GeoDataFrame, SnapResult, float, np.ndarray],
) -> None:
    roads, s, radius, in_service = case
    g = build_graph(roads)
    got = hydrant_coverage(g, s, radius_m=radius)
    want = reference_covered(g, s.edge, s.position_m, s.offset_m, radius)
    np.testing.assert_allclose(got.covered_m, want, atol=TOL)
    # Intervals are merged, sorted, inside their edge and add up to the per-edge length.
    e, a, b = got.interval_edge, got.interval_start, got.interval_end
    assert (b > a).all() and (a >= 0).all() and (b <= g.length_m[e] + TOL).all()
    same = e[1:] == e[:-1]
    assert (np.diff(e) >= 0).all() and (a[1:][same] > b[:-1][same]).all()
    by_edge = np.bincount(e, weights=b - a, minlength=g.n_edges)
    np.testing.assert_allclose(by_edge, got.covered_m, atol=TOL)
    # Hydrant status is an input.
    off = hydrant_coverage(g, s, radius_m=radius, in_service=in_service)
    want_off = reference_covered(
        g, s.edge[in_service], s.position_m[in_service], s.offset_m[in_service], radius
    )
    np.testing.assert_allclose(off.covered_m, want_off, atol=TOL)
    assert (off.covered_m <= got.covered_m + TOL).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_case(), st.lists(st.tuples(st.floats(0, 400), st.floats(0, 400)), max_size=6))
def test_snapped_points_straight_covers_network(
    case: tuple[gpd.GeoDataFrame, SnapResult, float, np.ndarray],
    raw: list[tuple[float, float]],
) -> None:
    # Snapping real points, then: network coverage matches the reference, and the straight-line
    # coverage from the same points contains it (straight distance <= hose distance).
    roads, _, radius, _ = case
    g = build_graph(roads)
    pts = gpd.GeoSeries([point(x, y) for x, y in raw], crs=CRS)
    s = snap_points(g, pts, max_distance_m=60.0)
    ok = s.snapped
    got = hydrant_coverage(g, s, radius_m=radius)
    want = reference_covered(g, s.edge[ok], s.position_m[ok], s.offset_m[ok], radius)
    np.testing.assert_allclose(got.covered_m, want, atol=TOL)
    straight = hydrant_coverage(
        g, s, radius_m=radius, method="straight", hydrant_points=pts, in_service=ok
    )
    assert (straight.covered_m >= got.covered_m - 1e-5).all()


def test_medium_grid_matches_reference() -> None:
    # 30 x 30 grid (about 1,700 edges, 8% dropped, some bent), 150 hydrants with offsets.
    g = build_graph(grid_roads(30, 30, seed=7, drop=0.08))
    rng = np.random.default_rng(11)
    n = 150
    edges = rng.integers(0, g.n_edges, n)
    pos = rng.uniform(0, 1, n) * g.length_m[edges]
    off = rng.uniform(0, 30, n)
    r = hydrant_coverage(g, snaps(edges, pos, off), radius_m=150.0)
    want = reference_covered(g, edges, pos, off, 150.0)
    np.testing.assert_allclose(r.covered_m, want, atol=TOL)
    assert 0.0 < r.covered_share < 1.0
    pieces = coverage_pieces(g, r)
    u = underserved_segments(pieces)
    assert u["length_m"].sum() == pytest.approx(r.road_m - r.total_covered_m, abs=1e-3)
    assert (np.diff(u["length_m"].to_numpy()) <= 1e-9).all()
