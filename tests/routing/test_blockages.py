"""Blockage impact: hand-drawn graphs worked out on paper, and from-scratch references.

Every graph is in metres and trucks drive 10 m/s (36 km/h), so times are metres / 10 plus the
60 s turnout. The property tests compare the subtree-recomputation against recomputing every
scenario from scratch (truck_graph(blocked_edges=...) + Dijkstra/station_response +
point_times), and the critical lanes against removing every lane in turn.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra

from geo.errors import AnalysisError, ConfigError, LayerValidationError
from geo.presets import load_preset
from routing.blockage_rules import BlockageRules
from routing.blockages import blockage_impact
from routing.critical_lanes import critical_lanes
from routing.graph import StreetGraph, TruckGraph, TruckOptions, build_graph, truck_graph
from routing.response import (
    ResponseResult,
    edge_directions,
    main_road_reach,
    point_times,
    station_response,
)
from routing.snap import SnapResult, snap_points
from routing.spt import scenario_times
from routing.water import AccessPoints, building_access
from tests.routing._graphs import grid_roads, xy
from tests.routing.test_response import CRS, make_roads

SPEEDS = {"residential": 36.0, "service": 18.0}  # 10 m/s and 5 m/s
FAST = TruckOptions(speeds_kmh=SPEEDS)
PRESET = load_preset("cn-gb")


def _diamond(tip: tuple[float, float], towards: str) -> shapely.Polygon:
    """A 20 m footprint whose nearest point to a road below/left/right of it is ``tip``."""
    x, y = tip
    if towards == "down":
        return shapely.Polygon([(x, y), (x + 10, y + 10), (x, y + 20), (x - 10, y + 10)])
    if towards == "up":
        return shapely.Polygon([(x, y), (x + 10, y - 10), (x, y - 20), (x - 10, y - 10)])
    if towards == "left":
        return shapely.Polygon([(x, y), (x + 10, y + 10), (x + 20, y), (x + 10, y - 10)])
    return shapely.Polygon([(x, y), (x - 10, y + 10), (x - 20, y), (x - 10, y - 10)])


def _buildings(tips: list[tuple[tuple[float, float], str, str]]) -> gpd.GeoDataFrame:
    """Buildings (tip, side, class): 400 m² footprint weight, 20 levels for high-rises."""
    return gpd.GeoDataFrame(
        {
            "building_id": [f"b{i}" for i in range(len(tips))],
            "high_rise_class": [c for _, _, c in tips],
            "footprint_m2": 400.0,
            "levels": [20.0 if c.startswith("class") else 3.0 for _, _, c in tips],
        },
        geometry=[_diamond(t, s) for t, s, _ in tips],
        crs=CRS,
    )


def _reports(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "xy"} for r in rows])
    for col, default in (("status", "reported"), ("remaining_width_m", np.nan)):
        if col not in frame:
            frame[col] = default
        frame[col] = frame[col].fillna(default) if col == "status" else frame[col]
    geoms = [shapely.Point(*r["xy"]) for r in rows]  # type: ignore[misc]
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=CRS)


def _setup(
    roads: gpd.GeoDataFrame, stations: list[tuple[float, float]], *, respect: bool = False
) -> tuple[StreetGraph, TruckGraph, ResponseResult]:
    graph = build_graph(roads)
    opts = TruckOptions(speeds_kmh=SPEEDS, respect_oneway=respect)
    truck = truck_graph(graph, options=opts)
    res = station_response(truck, gpd.GeoSeries(shapely.points(stations), crs=CRS), turnout_s=60)
    return graph, truck, res


def _impact(
    truck: TruckGraph,
    res: ResponseResult,
    reports: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    hydrants: list[tuple[float, float]] = (),  # type: ignore[assignment]
    **kw: object,
) -> object:
    graph = truck.graph
    access = building_access(graph, buildings.geometry, edge_mask=truck.edge_passable)
    hyd = snap_points(graph, gpd.GeoSeries(shapely.points(list(hydrants)), crs=CRS)
                      if hydrants else np.empty(0, dtype=object))
    return blockage_impact(truck, res, reports, buildings=buildings, building_access=access,
                           hydrant_snaps=hyd, preset=PRESET, **kw)  # type: ignore[arg-type]


def _weight(levels: float, cls: str) -> float:
    w = {"class1": 10.0, "class2": 5.0}.get(cls, 1.0)
    return w * (math.log1p(400.0 * levels / 1000.0) + 1.0)


# --- paper cases -------------------------------------------------------------------------------


def _compound() -> tuple[StreetGraph, TruckGraph, ResponseResult]:
    # street A(0,0) --200-- B(200,0); compound lane B --100-- C(200,100) (a dead end)
    # station at A: A 60 s, B 80 s, C 90 s
    roads = make_roads([(1, 2, [(0, 0), (200, 0)]), (2, 3, [(200, 0), (200, 100)])])
    return _setup(roads, [(0, 0)])


def test_gate_cuts_the_compound_high_rise_off() -> None:
    graph, truck, res = _compound()
    # high-rise beside the lane, access point (200, 90): 80 + 9 = 89 s;
    # a low building on the street at 100 m (70 s)
    b = _buildings([((210, 90), "left", "class1"), ((100, 10), "down", "not_high_rise")])
    reports = _reports([
        {"blockage_id": "G1", "kind": "gate", "xy": (203, 10)},  # across the lane at 10 m
    ])
    out = _impact(truck, res, reports, b, hydrants=[(205, 95)])
    row = out.blockages.iloc[0]
    assert row["effect"] == "full" and row["width_basis"] == "full_block"
    assert row["remaining_width_m"] == 0.0 and row["edge_id"] == 1
    assert row["position_m"] == pytest.approx(10.0)
    assert (row["high_rises_cut"], row["buildings_cut"], row["hydrants_unreachable"]) == (1, 1, 1)
    # class1, 400 m² x 20 levels: 10 x (log1p(8) + 1) = 31.97; plus 1 hydrant
    assert row["score"] == pytest.approx(_weight(20, "class1") + 1.0)
    assert row["rank"] == 1
    assert out.summary["high_rises_cut_off"] == 1 and out.summary["hydrants_unreachable"] == 1
    assert row["rule_ids"] == "law_fire_lane_obstruction | fire_lane_width"
    assert row["clauses"].count(" | ") == 1 and row["severity"] == "shall"
    assert set(out.findings["rule_id"]) == {"law_fire_lane_obstruction", "fire_lane_width"}
    msg = out.findings.loc[out.findings["rule_id"] == "fire_lane_width", "message"].iloc[0]
    assert "cuts off 1 high-rise(s)" in msg and "0.0 m clear width left" in msg
    # the lane is critical, but it carries a report: listed in critical_lanes(), not in the result
    assert len(out.critical_lanes) == 0
    access = building_access(graph, b.geometry, edge_mask=truck.edge_passable)
    lanes = critical_lanes(truck, res, buildings=b, building_access=access)
    assert list(lanes["edge_id"]) == [1] and list(lanes["high_rises_cut"]) == [1]
    assert lanes["entrance_node"].iloc[0] == 2  # B: paint 禁停 where the lane leaves the street


def test_open_gate_and_closed_reports_pass() -> None:
    _, truck, res = _compound()
    b = _buildings([((210, 90), "left", "class1")])
    reports = _reports([
        {"blockage_id": "G1", "kind": "gate", "xy": (203, 10), "remaining_width_m": 4.5},
        {"blockage_id": "G2", "kind": "gate", "xy": (203, 20), "status": "rectified"},
        {"blockage_id": "G3", "kind": "structure", "xy": (203, 30), "status": "closed"},
        # ledger items found not to be blockages, or reported twice, do not count either
        {"blockage_id": "G4", "kind": "structure", "xy": (203, 40), "status": "rejected"},
        {"blockage_id": "G5", "kind": "structure", "xy": (203, 50), "status": "duplicate"},
    ])
    out = _impact(truck, res, reports, b)
    assert list(out.blockages["effect"]) == ["narrowed", "none", "none", "none", "none"]
    assert list(out.blockages["width_basis"]) == ["measured", *["full_block"] * 4]
    assert out.blockages["score"].sum() == 0 and out.summary["high_rises_cut_off"] == 0
    assert list(out.blockages["open"]) == [True, False, False, False, False]
    assert out.blockages["rank"].iloc[0] == 1 and out.blockages["rank"].iloc[1:].isna().all()
    # Art. 28 only for the open one, no width finding
    assert list(out.findings["feature_id"]) == ["G1"]
    assert list(out.findings["rule_id"]) == ["law_fire_lane_obstruction"]


def _ring() -> tuple[StreetGraph, TruckGraph, ResponseResult]:
    # A(0,0) --300-- B(300,0) --100-- C(300,100) --300-- D(0,100) --100-- A; lane B-C is 5 m
    # station on A-B at 50 m: A 65, B 85, D 75, C min(85 + 10, 75 + 30) = 95 (via B)
    roads = make_roads([(1, 2, [(0, 0), (300, 0)]), (2, 3, [(300, 0), (300, 100)]),
                        (3, 4, [(300, 100), (0, 100)]), (4, 1, [(0, 100), (0, 0)])])
    roads.loc[1, "width_m"] = 5.0
    return _setup(roads, [(50, 0)])


def test_ring_road_blocked_on_one_side_takes_the_detour() -> None:
    _, truck, res = _ring()
    np.testing.assert_allclose(res.node_time_s, [65, 85, 95, 75])
    # high-rise at (300, 90): via B 85 + 9 = 94 s; via C 95 + 1 (C is reached via B)
    b = _buildings([((310, 90), "left", "class1")])
    # a car parked 20 m up the 5 m lane B-C leaves 3 m: blocked. C now via D: 75 + 30 = 105,
    # the high-rise from C's side: 105 + 1 = 106 s (12 s more)
    reports = _reports([{"blockage_id": "P1", "kind": "parked_vehicle", "xy": (298, 20)}])
    out = _impact(truck, res, reports, b)
    row = out.blockages.iloc[0]
    assert row["effect"] == "full" and row["remaining_width_m"] == pytest.approx(3.0)
    assert row["occupied_m"] == 2.0 and row["width_basis"] == "estimated"
    assert row["max_delay_s"] == pytest.approx(12.0)
    assert (row["buildings_cut"], row["buildings_delayed"]) == (0, 0)  # 106 s: within limits
    assert row["score"] == 0
    # with a 100 s limit the high-rise is now late (94 -> 106): half its weight
    out = _impact(truck, res, reports, b, limit_s=100.0)
    row = out.blockages.iloc[0]
    assert (row["buildings_delayed"], row["high_rises_delayed"]) == (1, 1)
    assert row["score"] == pytest.approx(0.5 * _weight(20, "class1"))
    assert out.combined["buildings_delayed"] == 1 and out.summary["limit_s"] == 100.0
    # a margin of 10 s also flags it without a limit: a tenth of its weight
    out = _impact(truck, res, reports, b, rules=BlockageRules(delay_margin_s=10.0))
    assert out.blockages["score"].iloc[0] == pytest.approx(0.1 * _weight(20, "class1"))
    # the ring has no critical lane
    assert len(out.critical_lanes) == 0


def test_parked_car_narrows_a_6_m_lane_but_blocks_a_5_m_lane() -> None:
    _, truck, res = _ring()
    # A-B is 6 m: 6 - 2 = 4.0 m left, passable; B-C is 5 m: 3.0 m left, blocked
    reports = _reports([
        {"blockage_id": "A", "kind": "parked_vehicle", "xy": (150, 2)},
        {"blockage_id": "B", "kind": "parked_vehicle", "xy": (298, 50)},
        {"blockage_id": "C", "kind": "goods", "xy": (298, 60)},  # 5 - 1.5 = 3.5 m: blocked
        {"blockage_id": "D", "kind": "stall", "xy": (150, 98)},  # 6 - 2.5 = 3.5 m: blocked
        {"blockage_id": "E", "kind": "other", "xy": (150, 97)},  # full unless measured
        {"blockage_id": "F", "kind": "other", "xy": (150, 96), "remaining_width_m": 4.0},
    ])
    out = _impact(truck, res, reports, _buildings([((100, 10), "down", "not_high_rise")]))
    blk = out.blockages.set_index("blockage_id")
    np.testing.assert_allclose(blk["remaining_width_m"], [4.0, 3.0, 3.5, 3.5, 0.0, 4.0])
    assert list(blk["effect"]) == ["narrowed", "full", "full", "full", "full", "narrowed"]
    # B and C share the lane: one scenario of two reports; D and E too
    assert list(blk["reports_on_edge"]) == [0, 2, 2, 2, 2, 0]
    widths = out.findings.loc[out.findings["rule_id"] == "fire_lane_width", "feature_id"]
    assert sorted(widths) == ["B", "C", "D", "E"]
    assert (out.findings["rule_id"] == "law_fire_lane_obstruction").sum() == 6


def test_dead_end_and_points_between_two_reports() -> None:
    # A(0,0) --100-- B(100,0) --300-- C(400,0) (dead end); station at A
    roads = make_roads([(1, 2, [(0, 0), (100, 0)]), (2, 3, [(100, 0), (400, 0)])])
    _, truck, res = _setup(roads, [(0, 0)])
    # buildings on B-C at 50 m, 150 m and 250 m (x = 150, 250, 350); reports at 100 and 200 m
    b = _buildings([((150, 10), "down", "not_high_rise"), ((250, 10), "down", "class2"),
                    ((350, 10), "down", "not_high_rise")])
    reports = _reports([{"blockage_id": "S2", "kind": "stall", "xy": (300, -3)},
                        {"blockage_id": "S1", "kind": "structure", "xy": (200, -3)}])
    out = _impact(truck, res, reports, b, hydrants=[(380, 5)])
    # both on one lane (one scenario): x = 150 keeps its way from B; 250 sits between the
    # reports, 350 beyond: both cut off; the hydrant at 380 too
    for _, row in out.blockages.iterrows():
        assert (row["buildings_cut"], row["high_rises_cut"]) == (2, 1)
        assert row["hydrants_unreachable"] == 1 and row["reports_on_edge"] == 2
    # equal scores: ranked by blockage_id
    assert list(out.blockages.sort_values("rank")["blockage_id"]) == ["S1", "S2"]
    assert out.summary["buildings_cut_off"] == 2


def test_report_far_from_roads_is_rejected() -> None:
    _, truck, res = _compound()
    reports = _reports([{"blockage_id": "X", "kind": "gate", "xy": (100, -50)}])
    out = _impact(truck, res, reports, _buildings([((100, 10), "down", "not_high_rise")]))
    row = out.blockages.iloc[0]
    assert row["effect"] == "rejected" and row["edge_id"] == -1
    assert row["reason"] == "no road within 30 m (nearest 50.0 m)"
    assert pd.isna(row["rank"]) and len(out.findings) == 0
    assert out.summary["rejected"] == 1 and out.summary["snapped"] == 0


def test_tie_detour_of_equal_length_changes_nothing() -> None:
    # square ring 100 m, station at A(0,0): C(100,100) is 80 s both ways (a tie)
    roads = make_roads([(1, 2, [(0, 0), (100, 0)]), (2, 3, [(100, 0), (100, 100)]),
                        (3, 4, [(100, 100), (0, 100)]), (4, 1, [(0, 100), (0, 0)])])
    _, truck, res = _setup(roads, [(0, 0)])
    b = _buildings([((100, 110), "down", "class1")])  # access at C: 80 s
    # blocking either side next to C leaves the other, equally fast
    reports = _reports([{"blockage_id": "T2", "kind": "gate", "xy": (98, 90)},
                        {"blockage_id": "T1", "kind": "gate", "xy": (90, 98)}])
    out = _impact(truck, res, reports, b)
    assert list(out.blockages["max_delay_s"]) == [0.0, 0.0]
    assert list(out.blockages["score"]) == [0.0, 0.0]
    assert list(out.blockages["rank"]) == [2, 1]  # tie: by blockage_id
    # together they cut C off
    assert out.summary["high_rises_cut_off"] == 1


def test_station_on_the_blocked_lane_leaves_the_other_way() -> None:
    # A(0,0) --200-- B(200,0) --100-- C(300,0); station at 50 m on A-B; a gate at 100 m
    roads = make_roads([(1, 2, [(0, 0), (200, 0)]), (2, 3, [(200, 0), (300, 0)])])
    _, truck, res = _setup(roads, [(50, 0)])
    times = scenario_times(truck, res, np.array([0]), np.array([100.0]),
                           points_edge=np.array([0, 0, 1]),
                           points_position_m=np.array([20.0, 150.0, 50.0]))
    # base: A 65, B 75, C 85; the station can only leave towards A now: B and C unreachable
    np.testing.assert_allclose(times.base_node_time_s, [65, 75, 85])
    assert list(times.node_times(0)) == [65, np.inf, np.inf]
    # the point at 20 m (behind the station) still 63 s; 150 m beyond the gate: cut
    np.testing.assert_allclose(times.point_times(0), [63, np.inf, np.inf])


def test_errors_say_what_to_do() -> None:
    _, truck, res = _compound()
    b = _buildings([((210, 90), "left", "class1")])
    reports = _reports([{"blockage_id": "G1", "kind": "gate", "xy": (203, 10)}])
    with pytest.raises(LayerValidationError, match="blockage_id"):
        _impact(truck, res, reports.drop(columns=["blockage_id"]), b)
    with pytest.raises(LayerValidationError, match="levels"):
        _impact(truck, res, reports, b.drop(columns=["levels"]))
    # a response from another truck graph (a scenario) is refused
    other = truck_graph(truck.graph, options=FAST, blocked_edges=np.array([False, True]))
    with pytest.raises(AnalysisError, match="same truck graph"):
        _impact(other, res, reports, b)
    with pytest.raises(ConfigError, match="BlockageRules"):
        BlockageRules(delay_margin_s=-1)


def test_no_reports_unknown_kind_and_lanes_trucks_cannot_use() -> None:
    _, truck, res = _compound()
    b = _buildings([((210, 90), "left", "class1")])
    empty = _reports([{"blockage_id": "x", "kind": "gate", "xy": (0, 0)}]).iloc[:0]
    out = _impact(truck, res, empty, b)
    assert len(out.blockages) == 0 and len(out.findings) == 0
    assert out.summary["total"] == 0 and out.summary["critical_lanes"] == 1  # lane B-C
    assert out.combined["blocked_edges"] == 0
    # an unknown kind counts as 'other' (full block); kept columns pass through
    reports = _reports([{"blockage_id": "K", "kind": "Scaffolding", "xy": (203, 50),
                         "reporter": "网格员 7"}])
    out = _impact(truck, res, reports, b)
    assert out.blockages["kind"].iloc[0] == "other" and out.blockages["effect"].iloc[0] == "full"
    assert out.blockages["reporter"].iloc[0] == "网格员 7"
    assert out.blockages.crs == reports.crs
    # a lane too narrow for trucks anyway (tagged 3 m): a gate on it costs nothing more
    roads = make_roads([(1, 2, [(0, 0), (200, 0)]), (2, 3, [(200, 0), (200, 100)])])
    roads.loc[1, ["width_m", "width_source"]] = [3.0, "width"]
    _, truck3, res3 = _setup(roads, [(0, 0)])
    out = _impact(truck3, res3, _reports([{"blockage_id": "G", "kind": "gate", "xy": (203, 50)}]),
                  _buildings([((100, 10), "down", "class1")]))
    assert out.blockages["effect"].iloc[0] == "full" and out.blockages["score"].iloc[0] == 0


def test_reports_in_another_crs_are_refused() -> None:
    from geo.errors import CRSError

    _, truck, res = _compound()
    reports = _reports([{"blockage_id": "G", "kind": "gate", "xy": (203, 10)}]).to_crs(4326)
    with pytest.raises(CRSError, match="blockages"):
        _impact(truck, res, reports, _buildings([((210, 90), "left", "class1")]))


def test_scenario_times_without_cuts_is_the_base() -> None:
    _, truck, res = _ring()
    times = scenario_times(truck, res, np.empty(0, dtype=np.int64), np.empty(0),
                           points_edge=np.array([1, -1]), points_position_m=np.array([90.0, 0.0]))
    assert len(times.edge) == 0 and len(times.node) == 0
    np.testing.assert_allclose(times.combined_node_time_s, res.node_time_s)
    np.testing.assert_allclose(times.combined_point_time_s, [94.0, np.inf])


# --- property tests: fast == from scratch -------------------------------------------------------


def _reference(
    graph: StreetGraph,
    options: TruckOptions,
    res: ResponseResult,
    cuts: dict[int, list[float]],
    pe: np.ndarray,
    pp: np.ndarray,
    stations: gpd.GeoSeries,
) -> tuple[np.ndarray, np.ndarray]:
    """Node and point times with ``cuts`` (edge -> report positions), from scratch."""
    n = graph.n_nodes
    mask = np.zeros(graph.n_edges, dtype=bool)
    mask[list(cuts)] = True
    ts = truck_graph(graph, options=options, blocked_edges=mask)
    fwd, bwd = edge_directions(truck_graph(graph, options=options))
    snaps, turnout = res.station_snaps, res.turnout_s
    ok = np.flatnonzero(snaps.snapped)
    rows, cols, data = [], [], []
    for s in ok:
        e, pos = int(snaps.edge[s]), float(snaps.position_m[s])
        frac, t = pos / graph.length_m[e], ts.edge_time_s[e]
        c = cuts.get(e, [])
        if fwd[e] and not any(b > pos for b in c):
            rows.append(n + s), cols.append(graph.v_idx[e]), data.append(turnout + (1 - frac) * t)
        if bwd[e] and not any(b < pos for b in c):
            rows.append(n + s), cols.append(graph.u_idx[e]), data.append(turnout + frac * t)
    coo = ts.csr.tocoo()
    size = n + len(snaps)
    aug = sp.csr_array(
        (np.maximum(np.concatenate([coo.data, data]), 1e-9),
         (np.concatenate([coo.row, rows]).astype(int), np.concatenate([coo.col, cols]).astype(int))),
        shape=(size, size),
    )
    node = np.asarray(dijkstra(aug, directed=True, indices=n + ok, min_only=True))[:n]
    if not np.isin(snaps.edge[ok], list(cuts)).any():  # stations keep their snaps
        again = station_response(ts, stations, turnout_s=turnout, max_snap_m=snaps.max_distance_m)
        np.testing.assert_allclose(again.node_time_s, node, rtol=0, atol=1e-9)
    out = np.full(len(pe), np.inf)
    free = np.flatnonzero((pe >= 0) & ~np.isin(pe, list(cuts)))
    out[free], _ = point_times(ts, node, np.zeros(n, dtype=np.int64), pe[free], pp[free],
                               station_snaps=snaps, turnout_s=turnout)
    for i in np.flatnonzero(np.isin(pe, list(cuts))):
        e, p = int(pe[i]), float(pp[i])
        length, t, c = graph.length_m[e], ts.edge_time_s[e], cuts[e]
        frac = min(max(p / length, 0.0), 1.0)
        best = math.inf
        if fwd[e] and not any(0 <= b < p for b in c):
            best = min(best, node[graph.u_idx[e]] + frac * t)
        if bwd[e] and not any(p < b <= length for b in c):
            best = min(best, node[graph.v_idx[e]] + (1 - frac) * t)
        for s in ok[snaps.edge[ok] == e]:
            sp_, sfrac = float(snaps.position_m[s]), snaps.position_m[s] / length
            allowed = fwd[e] if frac >= sfrac else bwd[e]
            if allowed and not any(min(sp_, p) < b < max(sp_, p) for b in c):
                best = min(best, turnout + abs(frac - sfrac) * t)
        out[i] = best
    return node, out


FRACTIONS = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0, 0.3])


@st.composite
def networks(draw: st.DrawFn) -> dict[str, object]:
    """Small graphs on a 100 m lattice (many equal-time paths), parallel and one-way edges."""
    n = draw(st.integers(3, 10))
    pts = draw(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), min_size=n, max_size=n,
                        unique=True))
    xy = [(100.0 * a, 100.0 * b) for a, b in pts]
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                          min_size=n - 1, max_size=2 * n))
    edges = [(a, b, [xy[a], xy[b]]) for a, b in pairs if a != b]
    if not edges:
        edges = [(0, 1, [xy[0], xy[1]])]
    m = len(edges)
    roads = make_roads(edges)
    roads["oneway"] = draw(st.lists(st.booleans(), min_size=m, max_size=m))
    roads["highway"] = draw(st.lists(st.sampled_from(["residential", "residential", "service"]),
                                     min_size=m, max_size=m))
    station_on = draw(st.lists(st.tuples(st.integers(0, m - 1), FRACTIONS), min_size=1,
                               max_size=3))
    points = draw(st.lists(st.tuples(st.integers(0, m - 1), FRACTIONS), max_size=12))
    blocked = draw(st.lists(st.tuples(st.integers(0, m - 1), FRACTIONS), min_size=1, max_size=6))
    return {"roads": roads, "stations": station_on, "points": points, "blocked": blocked,
            "respect": draw(st.booleans()), "classes": draw(st.lists(
                st.sampled_from(["class1", "class2", "not_high_rise", "unknown"]),
                min_size=len(points), max_size=len(points)))}


def _case(case: dict[str, object]) -> tuple[StreetGraph, TruckOptions, ResponseResult, gpd.GeoSeries]:
    roads = case["roads"]
    graph = build_graph(roads)  # type: ignore[arg-type]
    opts = TruckOptions(speeds_kmh=SPEEDS, respect_oneway=bool(case["respect"]))
    truck = truck_graph(graph, options=opts)
    geoms = graph.geometry
    stations = gpd.GeoSeries(
        [shapely.line_interpolate_point(geoms[e], f, normalized=True)
         for e, f in case["stations"]], crs=CRS)  # type: ignore[attr-defined]
    res = station_response(truck, stations, turnout_s=60, max_snap_m=1e6)
    return graph, opts, res, stations


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_scenarios_equal_recomputing_from_scratch(case: dict[str, object]) -> None:
    graph, opts, res, stations = _case(case)
    truck = truck_graph(graph, options=opts)
    pe = np.array([e for e, _ in case["points"]], dtype=np.int64)  # type: ignore[attr-defined]
    pp = np.array([f * graph.length_m[e] for e, f in case["points"]])  # type: ignore[attr-defined]
    ce = np.array([e for e, _ in case["blocked"]], dtype=np.int64)  # type: ignore[attr-defined]
    cp = np.array([f * graph.length_m[e] for e, f in case["blocked"]])  # type: ignore[attr-defined]
    times = scenario_times(truck, res, ce, cp, points_edge=pe, points_position_m=pp)
    np.testing.assert_allclose(times.base_node_time_s, res.node_time_s, rtol=0, atol=1e-9)
    assert list(times.edge) == sorted(set(ce.tolist()))
    for k, e in enumerate(times.edge):
        cuts = {int(e): cp[ce == e].tolist()}
        node, pts = _reference(graph, opts, res, cuts, pe, pp, stations)
        np.testing.assert_allclose(times.node_times(k), node, rtol=0, atol=1e-9)
        np.testing.assert_allclose(times.point_times(k), pts, rtol=0, atol=1e-9)
    all_cuts = {int(e): cp[ce == e].tolist() for e in times.edge}
    node, pts = _reference(graph, opts, res, all_cuts, pe, pp, stations)
    np.testing.assert_allclose(times.combined_node_time_s, node, rtol=0, atol=1e-9)
    np.testing.assert_allclose(times.combined_point_time_s, pts, rtol=0, atol=1e-9)


def _access(graph: StreetGraph, pe: np.ndarray, pp: np.ndarray) -> AccessPoints:
    snaps = SnapResult(edge=pe, position_m=pp, offset_m=np.zeros(len(pe)),
                       point=np.full(len(pe), None, dtype=object),
                       reason=np.full(len(pe), "", dtype=object))
    return AccessPoints(snaps=snaps, offset_m=np.zeros(len(pe)), reason=snaps.reason)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_blockage_impact_counts_equal_from_scratch(case: dict[str, object]) -> None:
    graph, opts, res, stations = _case(case)
    truck = truck_graph(graph, options=opts)
    pe = np.array([e for e, _ in case["points"]], dtype=np.int64)  # type: ignore[attr-defined]
    pp = np.array([f * graph.length_m[e] for e, f in case["points"]])  # type: ignore[attr-defined]
    classes = list(case["classes"])  # type: ignore[call-overload]
    nb = len(pe) // 2  # first half buildings, second half hydrants
    buildings = pd.DataFrame({"high_rise_class": classes[:nb], "footprint_m2": 500.0,
                              "levels": 4.0})
    hyd = _access(graph, pe[nb:], pp[nb:]).snaps
    reports = gpd.GeoDataFrame(
        {"blockage_id": [f"r{i:02d}" for i in range(len(case["blocked"]))],  # type: ignore[arg-type]
         "kind": "gate", "status": "reported"},
        geometry=[shapely.line_interpolate_point(graph.geometry[e], f, normalized=True)
                  for e, f in case["blocked"]], crs=CRS)  # type: ignore[attr-defined]
    out = blockage_impact(truck, res, reports, buildings=buildings,
                          building_access=_access(graph, pe[:nb], pp[:nb]), hydrant_snaps=hyd,
                          preset=PRESET, limit_s=150.0)
    blk = out.blockages
    edge_of_id = dict(zip(graph.edge_id.tolist(), range(graph.n_edges), strict=True))
    edges = np.array([edge_of_id[i] for i in blk["edge_id"]])
    pos = blk["position_m"].to_numpy()
    base = point_times(truck, res.node_time_s, res.node_station, pe, pp,
                       station_snaps=res.station_snaps, turnout_s=60.0)[0]
    high = np.isin(classes[:nb], ["class1", "class2"])
    for e in np.unique(edges):
        _, t = _reference(graph, opts, res, {int(e): pos[edges == e].tolist()}, pe, pp, stations)
        cut = np.isfinite(base) & np.isinf(t)
        fin = np.isfinite(base) & np.isfinite(t)
        rise = np.where(fin, t - np.where(fin, base, 0.0), 0.0)
        delayed = fin & (((base <= 150) & (t > 150)) | (rise > 60))
        for _, row in blk[edges == e].iterrows():
            assert row["buildings_cut"] == cut[:nb].sum()
            assert row["high_rises_cut"] == (cut[:nb] & high).sum()
            assert row["hydrants_unreachable"] == cut[nb:].sum()
            assert row["buildings_delayed"] == delayed[:nb].sum()
    _, t = _reference(graph, opts, res, {int(e): pos[edges == e].tolist() for e in set(edges)},
                      pe, pp, stations)
    cut = np.isfinite(base) & np.isinf(t)
    assert out.summary["buildings_cut_off"] == cut[:nb].sum()
    assert out.summary["hydrants_unreachable"] == cut[nb:].sum()
    ranks = blk.sort_values("rank")
    assert list(ranks["rank"]) == list(range(1, len(blk) + 1))
    keys = list(zip(-ranks["score"].round(9), ranks["blockage_id"], strict=True))
    assert keys == sorted(keys)


def _check_critical(
    graph: StreetGraph,
    opts: TruckOptions,
    res: ResponseResult,
    stations: gpd.GeoSeries,
    pe: np.ndarray,
    pp: np.ndarray,
    classes: np.ndarray,
) -> int:
    """critical_lanes == removing every lane in turn (truck_graph + station_response)."""
    truck = truck_graph(graph, options=opts)
    buildings = pd.DataFrame({"high_rise_class": classes, "footprint_m2": 800.0, "levels": 2.0})
    lanes = critical_lanes(truck, res, buildings=buildings, building_access=_access(graph, pe, pp))
    got = {int(r.edge_id): (r.high_rises_cut, r.buildings_cut) for r in lanes.itertuples()}
    fwd, bwd = edge_directions(truck)
    base = point_times(truck, res.node_time_s, res.node_station, pe, pp,
                       station_snaps=res.station_snaps, turnout_s=60.0)[0]
    high = np.isin(classes, ["class1", "class2"])
    station_edges = set(res.station_snaps.edge[res.station_snaps.snapped].tolist())
    expected = {}
    for e in np.flatnonzero(fwd):
        if e in station_edges:
            continue
        mask = np.zeros(graph.n_edges, dtype=bool)
        mask[e] = True
        ts = truck_graph(graph, options=opts, blocked_edges=mask)
        node = station_response(ts, stations, turnout_s=60, max_snap_m=1e6).node_time_s
        t = np.full(len(pe), np.inf)
        other = pe != e
        t[other] = point_times(ts, node, np.zeros(graph.n_nodes, dtype=np.int64), pe[other],
                               pp[other], station_snaps=res.station_snaps, turnout_s=60.0)[0]
        cut = np.isfinite(base) & np.isinf(t)
        # points on the lane: a report right at either end, the worse of the two
        u, v, length = graph.u_idx[e], graph.v_idx[e], graph.length_m[e]
        for i in np.flatnonzero(~other & np.isfinite(base)):
            at_u_end = not (bwd[e] and np.isfinite(node[v])) and pp[i] > 0  # report at 0
            at_v_end = not (fwd[e] and np.isfinite(node[u])) and pp[i] < length  # at L
            cut[i] = at_u_end or at_v_end
        if (cut & high).sum() >= 1:
            expected[int(graph.edge_id[e])] = ((cut & high).sum(), cut.sum())
    assert got == expected
    assert list(lanes["rank"]) == list(range(1, len(lanes) + 1))
    return len(lanes)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(networks())
def test_critical_lanes_equal_removing_every_lane(case: dict[str, object]) -> None:
    graph, opts, res, stations = _case(case)
    pe = np.array([e for e, _ in case["points"]], dtype=np.int64)  # type: ignore[attr-defined]
    pp = np.array([f * graph.length_m[e] for e, f in case["points"]])  # type: ignore[attr-defined]
    # mostly high-rises here, so that lanes cutting them off are common
    classes = np.array([{"unknown": "class1"}.get(c, c) for c in case["classes"]],  # type: ignore[attr-defined]
                       dtype=object)
    _check_critical(graph, opts, res, stations, pe, pp, classes)


@pytest.mark.parametrize("respect", [False, True])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_critical_lanes_on_a_sparse_grid_equal_removing_every_lane(respect: bool, seed: int) -> None:
    # a 7 x 7 grid with 35 % of the links gone: many dead ends and bridges, one-way streets
    rng = np.random.default_rng(seed)
    roads = grid_roads(7, 7, seed=seed, drop=0.35)
    graph = build_graph(roads)
    opts = TruckOptions(speeds_kmh=SPEEDS, respect_oneway=respect)
    truck = truck_graph(graph, options=opts)
    stations = gpd.GeoSeries([shapely.Point(xy(310, 290))], crs=graph.crs)
    res = station_response(truck, stations, turnout_s=60)
    pe = rng.integers(0, graph.n_edges, 60)
    pp = rng.choice([0.0, 0.3, 0.5, 1.0], 60) * graph.length_m[pe]
    classes = rng.choice(np.array(["class1", "class2", "not_high_rise"], dtype=object), 60)
    assert _check_critical(graph, opts, res, stations, pe, pp, classes) > 0


# --- no station: measured from the main roads ----------------------------------------------------


def _main_road_compound() -> TruckGraph:
    # main road A(0,0) --200-- B(200,0) (primary); compound lane B --100-- C(200,100), no station.
    # main_road_reach seeds a truck at the main road's midpoint (100, 0), no turnout:
    # A 10 s, B 10 s, C 20 s at 10 m/s
    roads = make_roads([(1, 2, [(0, 0), (200, 0)]), (2, 3, [(200, 0), (200, 100)])])
    roads.loc[0, "highway"] = "primary"
    return truck_graph(build_graph(roads), options=TruckOptions(
        speeds_kmh={**SPEEDS, "primary": 36.0}))


def test_without_a_station_a_gate_cuts_off_from_the_main_roads() -> None:
    truck = _main_road_compound()
    reach = main_road_reach(truck)
    assert reach is not None
    np.testing.assert_allclose(reach.node_time_s, [10.0, 10.0, 20.0])
    assert reach.turnout_s == 0.0 and list(reach.station_snaps.edge) == [0]
    b = _buildings([((210, 90), "left", "class1"), ((100, 10), "down", "not_high_rise")])
    reports = _reports([
        {"blockage_id": "G1", "kind": "gate", "xy": (203, 10)},  # across the lane at 10 m
        {"blockage_id": "P1", "kind": "parked_vehicle", "xy": (203, 60)},  # 6 - 2 = 4 m left
    ])
    out = _impact(truck, reach, reports, b, hydrants=[(205, 95)], reference="main_roads")
    g1 = out.blockages.set_index("blockage_id").loc["G1"]
    assert (g1["high_rises_cut"], g1["buildings_cut"], g1["hydrants_unreachable"]) == (1, 1, 1)
    # no delay is computed from the main roads: null, never 0
    assert all(pd.isna(g1[c]) for c in ("buildings_delayed", "high_rises_delayed", "max_delay_s"))
    assert g1["score"] == pytest.approx(_weight(20, "class1") + 1.0) and g1["rank"] == 1
    assert out.reference == "main_roads"
    s = out.summary
    assert (s["reference"], s["snapped"], s["high_rises_cut_off"]) == ("main_roads", 2, 1)
    assert s["buildings_delayed"] is None and s["limit_s"] is None
    assert out.combined["buildings_delayed"] is None
    msg = out.findings.loc[out.findings["rule_id"] == "fire_lane_width", "message"].iloc[0]
    assert "cuts off 1 high-rise(s) from the main roads" in msg


def test_without_a_station_critical_lanes_are_found_from_the_main_roads() -> None:
    truck = _main_road_compound()
    reach = main_road_reach(truck)
    assert reach is not None
    b = _buildings([((210, 90), "left", "class1")])
    far = _reports([{"blockage_id": "X", "kind": "gate", "xy": (100, 500)}])  # 500 m off: rejected
    out = _impact(truck, reach, far, b, reference="main_roads")
    assert out.summary["rejected"] == 1
    # the lane B-C (edge 1) carries the high-rise's only way in; the main road is no lane
    assert list(out.critical_lanes["edge_id"]) == [1]
    assert list(out.critical_lanes["high_rises_cut"]) == [1]


def test_main_road_reach_needs_a_main_road() -> None:
    roads = make_roads([(1, 2, [(0, 0), (200, 0)])])  # residential only
    assert main_road_reach(truck_graph(build_graph(roads), options=FAST)) is None


def test_reference_is_checked() -> None:
    truck = _main_road_compound()
    reach = main_road_reach(truck)
    assert reach is not None
    with pytest.raises(ConfigError, match="reference"):
        _impact(truck, reach, _reports([{"blockage_id": "G", "kind": "gate", "xy": (203, 10)}]),
                _buildings([((210, 90), "left", "class1")]), reference="roads")


def test_a_car_parked_beside_a_hydrant_breaks_the_no_parking_rules() -> None:
    from routing.no_parking import no_parking_zones

    graph, truck, res = _compound()
    # hydrant 3 m off the street at x = 100: 5 m zone [95, 105], 30 m zone [70, 130] on edge 0;
    # the station at A (x = 0) makes a 30 m zone [0, 30] as well
    zones = no_parking_zones(graph, {"hydrants": snap_points(
        graph, gpd.GeoSeries(shapely.points([(100, 3)]), crs=CRS)),
        "stations": res.station_snaps}, preset=PRESET)
    reports = _reports([
        {"blockage_id": "P1", "kind": "parked_vehicle", "xy": (104, 2)},  # in both zones
        {"blockage_id": "P2", "kind": "parked_vehicle", "xy": (120, 2)},  # 30 m zone only
        {"blockage_id": "P3", "kind": "parked_vehicle", "xy": (180, 2)},  # in none
        {"blockage_id": "S1", "kind": "stall", "xy": (100, 2)},  # a stall is no parking
        {"blockage_id": "P4", "kind": "parked_vehicle", "xy": (101, 2), "status": "closed"},
    ])
    b = _buildings([((100, 10), "down", "not_high_rise")])
    out = _impact(truck, res, reports, b, zones=zones)
    rules = dict(zip(out.blockages["blockage_id"], out.blockages["rule_ids"], strict=True))
    assert rules["P1"] == "law_fire_lane_obstruction | hydrant_no_parking | law_no_parking_public_road"
    assert rules["P2"] == "law_fire_lane_obstruction | law_no_parking_public_road"
    assert rules["P3"] == "law_fire_lane_obstruction"
    # a stall is no parking: only the lane rules (6 - 2.5 = 3.5 m < 4 m left)
    assert rules["S1"] == "law_fire_lane_obstruction | fire_lane_width"
    assert rules["P4"] == ""
    zone = out.findings.loc[out.findings["rule_id"].isin(
        ["hydrant_no_parking", "law_no_parking_public_road"])]
    assert sorted(zip(zone["feature_id"], zone["rule_id"], strict=True)) == [
        ("P1", "hydrant_no_parking"), ("P1", "law_no_parking_public_road"),
        ("P2", "law_no_parking_public_road")]
    msg = zone.loc[zone["rule_id"] == "hydrant_no_parking", "message"].iloc[0]
    assert msg == "vehicle parked within 5 m along the road of a hydrant or pump connector"
    # the severities follow the rules (all shall here), once each
    assert out.blockages.set_index("blockage_id").loc["P1", "severity"] == "shall"
