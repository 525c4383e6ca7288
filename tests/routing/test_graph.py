"""Street graph and truck view on hand-drawn graphs (answers worked out in the comments)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra

from geo.errors import AnalysisError, ConfigError, CRSError, LayerValidationError, NotFoundError
from routing.graph import StreetGraph, TruckGraph, TruckOptions, build_graph, truck_graph
from tests.routing._graphs import CRS, T_NODES, E, barriers_frame, roads_frame, single_edge

# A line of three nodes: 1 (0,0) - 2 (100,0) - 3 (200,0); edge 0 = 1-2, edge 1 = 2-3.
LINE = {1: (0.0, 0.0), 2: (100.0, 0.0), 3: (200.0, 0.0)}


def _hose_dist(graph: StreetGraph, a: int, b: int) -> float:
    i, j = graph.node_index([a, b])
    return float(dijkstra(graph.hose, directed=True, indices=i)[j])


def _truck_time(truck: TruckGraph, a: int, b: int) -> float:
    i, j = truck.graph.node_index([a, b])
    return float(dijkstra(truck.csr, directed=True, indices=i)[j])


def test_build_basic_arrays() -> None:
    # T junction: nodes 1..4; edges 1-2 (100 m), 2-3 (200 m), 2-4 (200 m).
    roads = roads_frame(T_NODES, [E(1, 2), E(2, 3), E(2, 4)])
    g = build_graph(roads)
    assert g.node_ids.tolist() == [1, 2, 3, 4]
    assert g.u_idx.tolist() == [0, 1, 1] and g.v_idx.tolist() == [1, 2, 3]
    np.testing.assert_allclose(g.length_m, [100.0, 200.0, 200.0], atol=1e-9)
    assert g.edge_id.tolist() == [0, 1, 2]
    np.testing.assert_allclose(g.node_xy[1] - g.node_xy[0], [100.0, 0.0])
    assert g.n_nodes == 4 and g.n_edges == 3
    # Undirected and symmetric: 3 links stored both ways.
    assert g.hose.nnz == 6
    assert (abs(g.hose - g.hose.T)).max() == 0
    assert _hose_dist(g, 3, 4) == pytest.approx(400.0)
    assert g.node_index(4).tolist() == [3]
    with pytest.raises(NotFoundError):
        g.node_index([99])
    assert g.crs.to_epsg() == 32650


def test_roads_not_modified() -> None:
    roads = roads_frame(LINE, [E(1, 2, oneway=True), E(2, 3)])
    before = roads.copy()
    g = build_graph(roads)
    truck_graph(g, options=TruckOptions(respect_oneway=True), blocked_edges=np.array([True, False]))
    assert roads.equals(before)


def test_geographic_crs_raises() -> None:
    roads = single_edge().to_crs("EPSG:4326")
    with pytest.raises(CRSError, match="geographic"):
        build_graph(roads)


def test_empty_roads_raises() -> None:
    with pytest.raises(AnalysisError, match="empty"):
        build_graph(single_edge().iloc[:0])


def test_missing_column_raises() -> None:
    with pytest.raises(LayerValidationError, match="width_m"):
        build_graph(single_edge().drop(columns=["width_m"]))


def test_geometry_must_run_from_u_to_v() -> None:
    # Edge 1 claims 2 -> 3 but its line runs from 3 to 2: node 2 would sit at two places.
    roads = roads_frame(LINE, [E(1, 2), E(2, 3)])
    roads.loc[1, "geometry"] = roads.geometry.iloc[1].reverse()
    with pytest.raises(LayerValidationError, match="node 2"):
        build_graph(roads)


def test_parallel_edges_keep_minimum_and_self_loops_dropped() -> None:
    # Edges 1-2: straight 100 m, bent 2 x sqrt(50^2 + 50^2) = 141.42 m, and 2-1 reversed 100 m.
    # Self-loop at 2 via (150, 50) and (150, -50).
    nodes = {1: (0.0, 0.0), 2: (100.0, 0.0)}
    roads = roads_frame(
        nodes,
        [
            E(1, 2, via=((50.0, 50.0),)),
            E(1, 2),
            E(2, 1),
            E(2, 2, via=((150.0, 50.0), (150.0, -50.0))),
        ],
    )
    g = build_graph(roads)
    assert g.length_m[0] == pytest.approx(2 * math.hypot(50, 50))
    assert g.hose.nnz == 2  # one link, both ways; no diagonal
    assert g.hose[0, 1] == pytest.approx(100.0) and g.hose[1, 0] == pytest.approx(100.0)
    assert g.hose[1, 1] == 0


def test_oneway_hose_ignores_truck_respects_only_on_request() -> None:
    # Edge 1-2 one-way (legal only 1 -> 2), edge 2-3 two-way; residential 25 km/h: 100 m = 14.4 s.
    roads = roads_frame(LINE, [E(1, 2, oneway=True), E(2, 3)])
    g = build_graph(roads)
    assert _hose_dist(g, 2, 1) == pytest.approx(100.0)
    default = truck_graph(g)
    assert not default.options.respect_oneway
    assert _truck_time(default, 2, 1) == pytest.approx(14.4)
    strict = truck_graph(g, options=TruckOptions(respect_oneway=True))
    assert _truck_time(strict, 1, 3) == pytest.approx(28.8)
    assert math.isinf(_truck_time(strict, 2, 1))
    assert strict.edge_passable.all()  # one-way edges are passable, in one direction


def test_bollard_cuts_truck_graph_not_hose_graph() -> None:
    barriers = barriers_frame(LINE, [{"node_id": 2, "barrier": "bollard"}])
    g = build_graph(roads_frame(LINE, [E(1, 2), E(2, 3)]), barriers=barriers)
    t = truck_graph(g)
    assert math.isinf(_truck_time(t, 1, 3))
    assert t.node_blocked.tolist() == [False, True, False]
    assert t.edge_reason.tolist() == ["barrier", "barrier"]
    assert not t.edge_passable.any()
    assert _hose_dist(g, 1, 3) == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("locked", "access", "gates_locked", "passable"),
    [
        ("no", "", False, True),
        ("unknown", "", False, True),
        ("yes", "", False, False),
        ("unknown", "private", False, False),
        ("no", "", True, False),
    ],
)
def test_gates(locked: str, access: str, gates_locked: bool, passable: bool) -> None:
    barriers = barriers_frame(
        LINE, [{"node_id": 2, "barrier": "lift_gate", "locked": locked, "access": access}]
    )
    g = build_graph(roads_frame(LINE, [E(1, 2), E(2, 3)]), barriers=barriers)
    t = truck_graph(g, options=TruckOptions(gates_locked=gates_locked))
    assert math.isfinite(_truck_time(t, 1, 3)) is passable
    assert t.edge_reason.tolist() == (["", ""] if passable else ["barrier", "barrier"])


def test_unknown_barrier_kind_and_foreign_node_do_not_block() -> None:
    barriers = barriers_frame(
        {**LINE, 9: (500.0, 500.0)},
        [{"node_id": 2, "barrier": "cattle_grid"}, {"node_id": 9, "barrier": "bollard"}],
    )
    g = build_graph(roads_frame(LINE, [E(1, 2), E(2, 3)]), barriers=barriers)
    assert g.barrier_node.tolist() == [1, -1]
    assert truck_graph(g).edge_passable.all()


def test_barriers_in_other_crs_raise() -> None:
    barriers = barriers_frame(LINE, [{"node_id": 2, "barrier": "bollard"}]).to_crs("EPSG:32651")
    with pytest.raises(CRSError, match="different CRSs"):
        build_graph(roads_frame(LINE, [E(1, 2), E(2, 3)]), barriers=barriers)


def test_width_tagged_blocks_estimated_does_not() -> None:
    roads = roads_frame(
        LINE,
        [
            E(1, 2, width_m=3.0, width_source="width"),
            E(2, 3, width_m=3.0, width_source="estimated"),
        ],
    )
    g = build_graph(roads)
    t = truck_graph(g)
    assert t.edge_passable.tolist() == [False, True]
    assert t.edge_reason.tolist() == ["width", ""]
    strict = truck_graph(g, options=TruckOptions(block_on_estimated_width=True))
    assert strict.edge_reason.tolist() == ["width", "width"]
    # maxwidth counts as a tagged width; 4.0 m is exactly the minimum and passes.
    roads2 = roads_frame(
        LINE,
        [E(1, 2, width_m=3.5, width_source="maxwidth"), E(2, 3, width_m=4.0, width_source="width")],
    )
    assert truck_graph(build_graph(roads2)).edge_reason.tolist() == ["width", ""]


def test_height_blocks() -> None:
    roads = roads_frame(LINE, [E(1, 2, maxheight_m=3.5), E(2, 3, maxheight_m=4.5)])
    t = truck_graph(build_graph(roads))
    assert t.edge_reason.tolist() == ["height", ""]


def test_reason_precedence() -> None:
    # Narrow and low: width wins; the scenario mask only shows where nothing else applies.
    narrow_low = E(1, 2, width_m=3.0, width_source="width", maxheight_m=3.0)
    roads = roads_frame(LINE, [narrow_low, E(2, 3)])
    t = truck_graph(build_graph(roads), blocked_edges=np.array([True, True]))
    assert t.edge_reason.tolist() == ["width", "scenario"]


def test_scenario_masks_do_not_mutate_graph() -> None:
    roads = roads_frame(LINE, [E(1, 2), E(2, 3)])
    g = build_graph(roads)
    hose_before = g.hose.copy()
    t = truck_graph(g, blocked_nodes=np.array([False, False, True]))
    assert t.edge_reason.tolist() == ["", "scenario"]
    assert t.node_blocked.tolist() == [False, False, True]
    assert (abs(g.hose - hose_before)).max() == 0
    base = truck_graph(g)
    assert base.edge_passable.all()
    with pytest.raises(ConfigError, match="blocked_edges"):
        truck_graph(g, blocked_edges=np.array([1, 0]))
    with pytest.raises(ConfigError, match="blocked_nodes"):
        truck_graph(g, blocked_nodes=np.array([True]))


def test_speeds_and_links() -> None:
    # 100 m edges: primary 45 km/h -> 8.0 s; primary_link 40 km/h (in defaults) -> 9.0 s;
    # 'foo_link' not listed, parent 'foo' not listed -> default 20 km/h -> 18.0 s.
    roads = roads_frame(
        {**LINE, 4: (300.0, 0.0)},
        [E(1, 2, highway="primary"), E(2, 3, highway="primary_link"), E(3, 4, highway="foo_link")],
    )
    t = truck_graph(build_graph(roads))
    np.testing.assert_allclose(t.edge_time_s, [8.0, 9.0, 18.0])
    opts = TruckOptions(speeds_kmh={"track": 25.0})
    assert opts.speed_kmh("track_link") == 20.0
    assert opts.speed_kmh("primary") == 20.0


def test_parallel_edges_in_truck_graph_map_to_fastest_row() -> None:
    # Row 0: bent 141.4 m residential (20.4 s); row 1: straight 100 m service (15 km/h, 24 s);
    # row 2: straight 100 m residential (14.4 s) -> fastest. Row 3 one-way 2 -> 3 only.
    roads = roads_frame(
        LINE,
        [
            E(1, 2, via=((50.0, 50.0),)),
            E(1, 2, highway="service"),
            E(2, 1),
            E(2, 3, oneway=True),
        ],
    )
    g = build_graph(roads)
    t = truck_graph(g, options=TruckOptions(respect_oneway=True))
    assert t.csr.nnz == 3  # 1->2, 2->1, 2->3
    assert t.edge_of([0, 1, 1, 2], [1, 0, 2, 1]).tolist() == [2, 2, 3, -1]
    assert t.csr[0, 1] == pytest.approx(14.4)


def test_options_validated() -> None:
    with pytest.raises(ConfigError):
        TruckOptions(speeds_kmh={"primary": 0.0})
    with pytest.raises(ConfigError):
        TruckOptions(min_width_m=-1.0)


def test_crs_constant_is_projected() -> None:
    assert build_graph(single_edge()).crs.to_string() == CRS
