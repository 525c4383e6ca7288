"""High-rise access and dead-end lanes: hand-drawn cases in metres, answers worked out on paper.

The standard building is a 40 × 20 m box, x 0..40, y 0..20 (local metres, see ``_graphs``): its
perimeter is 120 m, its long sides (south y=0, north y=20) are 40 m, the wall is sampled every
1 m (120 samples at x = 0.5, 1.5, ...). Lanes are 6 m wide with an estimated width unless said
otherwise, so a centreline 10 m from the wall puts the lane's near edge 7 m from it: inside the
5–10 m aerial band of GB 50016 7.2.2.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.errors import ConfigError, CRSError, LayerValidationError
from geo.presets import load_preset
from routing.access import HIGH_RISE_ACCESS_COLUMNS, AccessOptions, access_summary, high_rise_access
from routing.dead_ends import DEAD_END_COLUMNS, access_edges, dead_end_lanes
from routing.findings import FINDING_COLUMNS
from routing.graph import TruckGraph, build_graph, truck_graph
from tests.conftest import shared_file
from tests.routing._graphs import CRS, E, Nodes, roads_frame, xy

GB = load_preset("cn-gb")


def truck(nodes: Nodes, edges: list[E]) -> TruckGraph:
    return truck_graph(build_graph(roads_frame(nodes, edges)))


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(*xy(x0, y0), *xy(x1, y1))


def buildings(*rows: dict[str, object]) -> gpd.GeoDataFrame:
    """Buildings rows (building_id, use, height_m, high_rise_class, geometry) with defaults."""
    full = [
        {"building_id": f"b{i}", "name": "", "building": "yes", "levels": np.nan,
         "height_m": 60.0, "height_source": "height", "use": "public",
         "high_rise_class": "class1", "class_basis": "", "footprint_m2": 0.0,
         "volume_m3": np.nan, **r}
        for i, r in enumerate(rows)
    ]
    geoms = [r.pop("geometry") for r in full]
    return gpd.GeoDataFrame(pd.DataFrame(full), geometry=geoms, crs=CRS)


STD = {"geometry": box(0, 0, 40, 20)}

# Ring of lanes 10 m out from the walls (edges 7 m), joined to the rest of the network at the
# south-west (node 1) and north-east (node 3) corners.
RING_NODES: Nodes = {1: (-10, -10), 2: (50, -10), 3: (50, 30), 4: (-10, 30),
                     5: (-100, -10), 6: (140, 30)}
RING_EDGES = [E(1, 2), E(2, 3), E(3, 4), E(4, 1), E(1, 5), E(3, 6)]

# Straight lanes running well past both ends of the building.
SOUTH = ({11: (-30, -10), 12: (70, -10)}, E(11, 12))
NORTH = ({21: (-30, 30), 22: (70, 30)}, E(21, 22))


def lanes_parts(*parts: tuple[Nodes, E]) -> tuple[Nodes, list[E]]:
    nodes: dict[int, tuple[float, float]] = {}
    for n, _ in parts:
        nodes.update(n)
    return nodes, [e for _, e in parts]


def lanes(*parts: tuple[Nodes, E]) -> TruckGraph:
    return truck(*lanes_parts(*parts))


def run(t: TruckGraph, b: gpd.GeoDataFrame, **kw: object) -> tuple[pd.Series, pd.DataFrame]:
    out, found = high_rise_access(t, b, preset=kw.pop("preset", GB), **kw)  # type: ignore[arg-type]
    assert list(out.columns) == [*HIGH_RISE_ACCESS_COLUMNS, "geometry"]
    assert list(found.columns) == FINDING_COLUMNS
    return out.iloc[0], found


# ---------------------------------------------------------------------------- façade layouts


def test_ring_on_all_four_sides() -> None:
    # Every wall sample has a lane straight in front, centreline 10 m, edge 7 m: all 120 m
    # served and in the aerial band; the corner lanes lie 90° off the wall normal and do not
    # count. Ring lane nodes: 1 and 3 also touch other roads, 2 and 4 do not: 2 connections.
    row, found = run(truck(RING_NODES, RING_EDGES), buildings(STD))
    assert row["perimeter_m"] == pytest.approx(120.0)
    assert row["served_m"] == pytest.approx(120.0)
    assert row["served_pct"] == pytest.approx(100.0)
    assert row["aerial_band_m"] == pytest.approx(120.0)
    assert row["aerial_pct"] == pytest.approx(100.0)
    assert row["too_close_m"] == 0.0
    assert row["long_side_m"] == pytest.approx(40.0)
    assert row["long_sides_served"] == 2
    assert row["layout"] == "ring"
    assert row["ring_connections"] == 2
    assert row["aerial_extent_ok"] and row["compliant_access"]
    assert row["estimated_width_pct"] == pytest.approx(100.0)
    assert row["reasons"] == "lane widths estimated"
    assert found.empty


def test_ring_with_one_driveway_needs_two_connections() -> None:
    # The same ring, joined to the network only at node 1: 1 connection < 2 (GB 50016 7.1.9).
    edges = [E(1, 2), E(2, 3), E(3, 4), E(4, 1), E(1, 5)]
    row, found = run(truck(RING_NODES, edges), buildings(STD))
    assert row["layout"] == "ring" and row["ring_connections"] == 1
    assert not row["compliant_access"]
    assert found["rule_id"].tolist() == ["fire_lane_ring_connections"]
    assert found["clause"].iloc[0] == "GB 50016-2014 7.1.9"
    assert found["value"].iloc[0] == 1.0 and found["limit"].iloc[0] == 2.0


def test_two_long_sides() -> None:
    # South and north lanes only: 40 + 40 = 80 of 120 m served (66.7 %), both long sides 100 %;
    # the west and east walls see the lanes at 90° (beside them, not in front).
    row, found = run(lanes(SOUTH, NORTH), buildings(STD))
    assert row["served_m"] == pytest.approx(80.0)
    assert row["served_pct"] == pytest.approx(200 / 3)
    assert row["long_side_1_pct"] == pytest.approx(100.0)
    assert row["long_side_2_pct"] == pytest.approx(100.0)
    assert row["layout"] == "two_long_sides"
    assert row["compliant_access"]  # GB 55037 3.4.3: two long sides (a ring is preferred)
    assert found.empty


@pytest.mark.parametrize(
    ("use", "passes"), [("residential", True), ("public", False), ("unknown", False)]
)
def test_one_long_side_residential_only(use: str, passes: bool) -> None:
    # North lane only: 40 of 120 m served (33.3 %), one long side at 100 %, and that side is the
    # aerial face (edge 7 m). GB 55037 3.4.3 lets residential buildings use one long side (on
    # the aerial-site side); public high-rises (and those of unknown use, held to the public
    # rule) need two long sides.
    row, found = run(lanes(NORTH), buildings({**STD, "use": use}))
    assert row["served_m"] == pytest.approx(40.0)
    assert row["long_sides_served"] == 1
    assert row["long_side_1_pct"] == pytest.approx(100.0)
    assert row["long_side_2_pct"] == 0.0
    assert row["layout"] == "one_long_side"
    assert row["aerial_extent_ok"]  # continuous along one long side
    assert bool(row["compliant_access"]) == passes
    if passes:
        assert found.empty
    else:
        assert found["rule_id"].tolist() == ["fire_lane_layout"]
        f = found.iloc[0]
        assert (f["severity"], f["confidence"], f["clause"]) == (
            "shall", "verified", "GB 55037-2022 3.4.3; GB 50016-2014 7.1.2",
        )
        assert f["feature_id"] == "b0" and f["layer"] == "high_rise_access"
        assert f["value"] == pytest.approx(100 / 3) and f["limit"] == pytest.approx(90.0)
        assert "one_long_side" in f["message"] and "estimated" in f["message"]
        assert "two long sides are required" in f["message"]
    assert ("use unknown" in row["reasons"]) == (use == "unknown")


def test_lane_two_metres_from_the_wall_is_too_close() -> None:
    # North lane centreline 5 m from the wall, 6 m wide: edge 2 m. Served (40 m), but all of it
    # nearer than 5 m (GB 50016 7.1.8, should) and none in the 5-10 m aerial band, so there is
    # no aerial site (7.2.1, shall) and the residential one-long-side exemption of 7.1.2 fails
    # too (that side must be the aerial face).
    t = truck({1: (-30, 25), 2: (70, 25)}, [E(1, 2)])
    row, found = run(t, buildings({**STD, "use": "residential"}))
    assert row["served_m"] == pytest.approx(40.0)
    assert row["too_close_m"] == pytest.approx(40.0)
    assert row["aerial_band_m"] == 0.0
    assert row["layout"] == "one_long_side"
    assert not row["compliant_access"]
    by_rule = found.set_index("rule_id")
    assert set(by_rule.index) == {
        "fire_lane_layout", "aerial_site_extent", "fire_lane_wall_distance",
    }
    close = by_rule.loc["fire_lane_wall_distance"]
    assert close["severity"] == "should" and close["clause"] == "GB 50016-2014 7.1.8"
    assert close["value"] == pytest.approx(40.0) and close["limit"] == 5.0
    assert by_rule.loc["aerial_site_extent", "severity"] == "shall"


def test_lane_thirty_metres_away_does_not_serve() -> None:
    # North lane centreline 33 m out: edge 30 m > 15 m (AccessOptions.max_lane_m).
    t = truck({1: (-30, 53), 2: (70, 53)}, [E(1, 2)])
    row, found = run(t, buildings(STD))
    assert row["served_m"] == 0.0 and row["aerial_band_m"] == 0.0
    assert row["layout"] == "insufficient" and not row["compliant_access"]
    assert set(found["rule_id"]) == {"fire_lane_layout", "aerial_site_extent"}
    assert row["estimated_width_pct"] == 0.0
    # a wider reach serves the north wall (edge 30 m <= 35 m), still no aerial band
    row35, _ = run(t, buildings(STD), options=AccessOptions(max_lane_m=35.0))
    assert row35["served_m"] == pytest.approx(40.0) and row35["aerial_band_m"] == 0.0


def test_tagged_width_moves_the_lane_edge() -> None:
    # Centreline 10 m from the north wall. Tagged width 10 m: edge 5 m, still in the aerial
    # band, and nothing is estimated. Tagged 16 m: edge 2 m, too close, no aerial band.
    for width, close_m, aerial_m in ((10.0, 0.0, 40.0), (16.0, 40.0, 0.0)):
        t = truck(NORTH[0], [E(21, 22, width_m=width, width_source="width")])
        row, _ = run(t, buildings(STD))
        assert row["served_m"] == pytest.approx(40.0)
        assert row["too_close_m"] == pytest.approx(close_m)
        assert row["aerial_band_m"] == pytest.approx(aerial_m)
        assert row["estimated_width_pct"] == 0.0


def test_lane_that_stops_short_serves_the_wall_in_front_of_it() -> None:
    # North lane from x=-30 to x=10, centreline 10 m out. A north-wall sample at x sees the lane
    # end (10, 30) at a horizontal offset x-10: in front while offset <= 10 m (45°), so samples
    # x = 0.5 .. 19.5 → 20 m served. Aerial band: sqrt((x-10)² + 10²) - 3 <= 10, x <= 18.31 →
    # samples 0.5 .. 17.5 → 18 m. The west wall sees the lane straight north, 90° off: none.
    t = truck({1: (-30, 30), 2: (10, 30)}, [E(1, 2)])
    row, _ = run(t, buildings(STD))
    assert row["served_m"] == pytest.approx(20.0)
    assert row["aerial_band_m"] == pytest.approx(18.0)
    assert row["long_side_1_pct"] == pytest.approx(50.0)
    assert row["layout"] == "insufficient"
    # a 60° cone would reach offset 10·tan 60° = 17.3 m, but the edge must stay within 15 m:
    # sqrt(off² + 10²) - 3 <= 15, off <= 14.97 → samples up to 24.5 → 25 m
    row60, _ = run(t, buildings(STD), options=AccessOptions(max_facing_deg=60.0))
    assert row60["served_m"] == pytest.approx(25.0)


def test_clockwise_and_multipolygon_footprints_give_the_same_answer() -> None:
    cw = shapely.Polygon(list(box(0, 0, 40, 20).exterior.coords)[::-1])
    multi = shapely.MultiPolygon([box(0, 0, 40, 20)])
    t = lanes(NORTH)
    base, _ = run(t, buildings(STD))
    for geom in (cw, multi):
        row, _ = run(t, buildings({"geometry": geom}))
        assert row["served_m"] == pytest.approx(base["served_m"])
        assert row["long_side_1_pct"] == pytest.approx(base["long_side_1_pct"])


# ---------------------------------------------------------------------------- aerial site


def test_aerial_site_at_both_ends_only() -> None:
    # Lanes in front of the west and east walls only (x=-10 and x=50, edge 7 m): 20 + 20 = 40 m
    # of aerial band, two pieces 40 m apart (along the north and the south wall). Layout:
    # 40 >= 120/4 and >= the 40 m long side → quarter_perimeter (7.1.2 still fails).
    # Height 60 m: the site must be continuous → aerial_site_extent (shall).
    # Height 40 m: it may be broken and its total 40 m counts, but the gaps exceed 30 m →
    # aerial_site_gap (should) only.
    t = truck({1: (-10, -40), 2: (-10, 60), 3: (50, -40), 4: (50, 60)}, [E(1, 2), E(3, 4)])
    tall, f_tall = run(t, buildings({**STD, "height_m": 60.0}))
    low, f_low = run(t, buildings({**STD, "height_m": 40.0, "high_rise_class": "class2"}))
    for row in (tall, low):
        assert row["served_m"] == pytest.approx(40.0)
        assert row["aerial_band_m"] == pytest.approx(40.0)
        assert row["long_sides_served"] == 0
        assert row["layout"] == "quarter_perimeter"
    assert not tall["aerial_extent_ok"]
    assert set(f_tall["rule_id"]) == {"fire_lane_layout", "aerial_site_extent"}
    assert low["aerial_extent_ok"]
    assert set(f_low["rule_id"]) == {"fire_lane_layout", "aerial_site_gap"}
    gap = f_low.set_index("rule_id").loc["aerial_site_gap"]
    assert gap["severity"] == "should" and gap["limit"] == 30.0
    assert gap["value"] == pytest.approx(40.0)


@pytest.mark.parametrize(("height", "ok"), [(40.0, True), (60.0, False)])
def test_aerial_site_broken_along_a_long_side(height: float, ok: bool) -> None:
    # North lane in two pieces, x -20..9 and 31..60, centreline 10 m out. Aerial band reaches
    # 8.31 m past each end (sqrt(13² - 10²)): samples 0.5..16.5 and 23.5..39.5, 17 + 17 = 34 m,
    # a 6 m gap; 34 >= 0.8 × 40 = 32. Served (45° cone, 10 m past the ends): 19 + 19 = 38 m.
    # Up to 50 m the site may be broken (gap 6 <= 30 m): passes. Above 50 m it must be
    # continuous: the longest piece is 17 m < 32 m → aerial_site_extent. Residential, and the
    # north side is the aerial face (34/40 = 85 % >= 80 %), so 7.1.2 passes either way.
    t = truck({1: (-20, 30), 2: (9, 30), 3: (31, 30), 4: (60, 30)}, [E(1, 2), E(3, 4)])
    row, found = run(t, buildings({**STD, "use": "residential", "height_m": height}))
    assert row["aerial_band_m"] == pytest.approx(34.0)
    assert row["served_m"] == pytest.approx(38.0)
    assert row["layout"] == "one_long_side"
    assert bool(row["aerial_extent_ok"]) == ok
    assert bool(row["compliant_access"]) == ok
    assert found["rule_id"].tolist() == ([] if ok else ["aerial_site_extent"])


# ---------------------------------------------------------------------------- bulk, presets


def test_buildings_are_independent_and_only_high_rises_are_checked() -> None:
    # The four layouts side by side, 1 km apart, in one call: each row equals its own run.
    shift = 1000.0
    cases = [(RING_NODES, RING_EDGES), lanes_parts(SOUTH, NORTH), lanes_parts(NORTH),
             ({1: (-30, 53), 2: (70, 53)}, [E(1, 2)])]
    nodes: dict[int, tuple[float, float]] = {}
    edges: list[E] = []
    rows = []
    singles = []
    for k, (ns, es) in enumerate(cases):
        off = {n + 100 * k: (x + shift * k, y) for n, (x, y) in ns.items()}
        nodes.update(off)
        edges += [E(e.u + 100 * k, e.v + 100 * k) for e in es]
        rows.append({"geometry": box(shift * k, 0, 40 + shift * k, 20)})
        singles.append(run(truck(ns, list(es)), buildings(STD))[0])
    rows.append({"geometry": box(10, 40, 20, 50), "high_rise_class": "not_high_rise"})
    out, _ = high_rise_access(truck(nodes, edges), buildings(*rows), preset=GB)
    assert out["building_id"].tolist() == ["b0", "b1", "b2", "b3"]
    assert out["layout"].tolist() == ["ring", "two_long_sides", "one_long_side", "insufficient"]
    for k, single in enumerate(singles):
        assert out["served_m"].iloc[k] == pytest.approx(single["served_m"])
        assert out["aerial_band_m"].iloc[k] == pytest.approx(single["aerial_band_m"])


def test_chunked_lane_measurement_gives_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny chunks (whole wall segments each) must not change any figure.
    import routing.facade as facade

    t = truck(RING_NODES, RING_EDGES)
    b = buildings(STD, {"geometry": box(-5, 40, 30, 55), "use": "residential"},
                  {"geometry": shapely.Polygon([xy(0, -20), xy(40, -20), xy(20, -35)])})
    whole, _ = high_rise_access(t, b, preset=GB)
    monkeypatch.setattr(facade, "_CHUNK_PAIRS", 7)
    chunked, _ = high_rise_access(t, b, preset=GB)
    pd.testing.assert_frame_equal(whole, chunked)


def test_preset_without_the_gb_rules_checks_nothing_but_measures() -> None:
    # The us preset has no 7.1.2 / 7.2.1 / 7.1.8 rules: lengths are measured, nothing flagged.
    row, found = run(lanes(NORTH), buildings(STD), preset=load_preset("us"))
    assert row["served_m"] == pytest.approx(40.0)
    assert np.isnan(row["aerial_band_m"]) and np.isnan(row["aerial_pct"])
    assert row["layout"] == "one_long_side" and row["compliant_access"]
    assert found.empty


def test_no_high_rises_gives_empty_tables() -> None:
    out, found = high_rise_access(
        lanes(NORTH), buildings({**STD, "high_rise_class": "unknown"}), preset=GB
    )
    assert out.empty and found.empty
    assert list(out.columns) == [*HIGH_RISE_ACCESS_COLUMNS, "geometry"]


def test_inputs_are_not_mutated() -> None:
    t = truck(RING_NODES, RING_EDGES)
    b = buildings(STD, {"geometry": box(100, 100, 120, 110), "use": "residential"})
    b_before, roads_before = b.copy(), t.graph.roads.copy()
    high_rise_access(t, b, preset=GB)
    dead_end_lanes(t, turnarounds=turnarounds([]), buildings=b,
                   access_edge=access_edges(t, b.geometry), preset=GB)
    pd.testing.assert_frame_equal(b, b_before)
    pd.testing.assert_frame_equal(t.graph.roads, roads_before)


def test_bad_input_raises_clear_errors() -> None:
    t = lanes(NORTH)
    b = buildings(STD)
    with pytest.raises(CRSError, match="geographic"):
        high_rise_access(t, b.to_crs("EPSG:4326"), preset=GB)
    with pytest.raises(CRSError, match="different CRSs"):
        high_rise_access(t, b.to_crs("EPSG:32651"), preset=GB)
    with pytest.raises(LayerValidationError, match=r"missing columns \['use'\]"):
        high_rise_access(t, b.drop(columns="use"), preset=GB)
    point = buildings({"geometry": shapely.Point(xy(0, 0)), "building_id": "osm/w7"})
    with pytest.raises(LayerValidationError, match="osm/w7"):
        high_rise_access(t, point, preset=GB)
    with pytest.raises(ConfigError, match="ring_fraction"):
        AccessOptions(ring_fraction=1.5)
    with pytest.raises(LayerValidationError, match="access_edge"):
        dead_end_lanes(t, turnarounds=turnarounds([]), buildings=b,
                       access_edge=np.array([0, 1]), preset=GB)
    with pytest.raises(LayerValidationError, match="turnarounds"):
        dead_end_lanes(t, turnarounds=gpd.GeoDataFrame({"x": []}), buildings=b,
                       access_edge=np.array([0]), preset=GB)


# ---------------------------------------------------------------------------- dead ends

# A block of streets (a cycle: no dead ends) with a spur north from node 2 at (0, 0).
BLOCK: Nodes = {10: (-100, 0), 2: (0, 0), 11: (100, 0), 12: (100, -100), 13: (-100, -100)}
BLOCK_EDGES = [E(10, 2), E(2, 11), E(11, 12), E(12, 13), E(13, 10)]
# High-rise east of the spur, x 10..30, y 20..50: 10 m from the spur, 20 m from the street.
SPUR_TOWER = {"geometry": box(10, 20, 30, 50), "use": "residential"}


def turnarounds(node_ids: list[int]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"node_id": np.array(node_ids, dtype=np.int64), "kind": "turning_circle"},
        geometry=[shapely.Point(0, 0)] * len(node_ids), crs=CRS,
    )


def dead_ends(
    spur: Nodes, spur_edges: list[E], *, turns: tuple[int, ...] = (),
    tower: dict[str, object] | None = None, apparatus: str = "pumper",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    t = truck({**BLOCK, **spur}, [*BLOCK_EDGES, *spur_edges])
    b = buildings(dict(tower if tower is not None else SPUR_TOWER))
    out, found = dead_end_lanes(
        t, turnarounds=turnarounds(list(turns)), buildings=b,
        access_edge=access_edges(t, b.geometry), preset=GB, apparatus=apparatus,
    )
    assert list(out.columns) == [*DEAD_END_COLUMNS, "geometry"]
    assert list(found.columns) == FINDING_COLUMNS
    return out, found


def test_sixty_metre_dead_end_serving_a_high_rise_without_turnaround() -> None:
    out, found = dead_ends({4: (0, 60)}, [E(2, 4)])
    assert len(out) == 1
    d = out.iloc[0]
    assert (d["end_node_id"], d["junction_node_id"], d["n_edges"]) == (4, 2, 1)
    assert d["length_m"] == pytest.approx(60.0)
    assert d["geometry"].length == pytest.approx(60.0)
    assert not d["has_turnaround"]
    assert (d["high_rises"], d["n_high_rises"]) == ("b0", 1)
    assert d["verdict"] == "no_turnaround"
    assert d["turnaround_required_m"] == 15.0  # high-rise: 15 × 15 m (GB 50016 7.1.9)
    assert len(found) == 1
    f = found.iloc[0]
    assert (f["rule_id"], f["clause"], f["severity"], f["confidence"]) == (
        "fire_lane_dead_end", "GB 55037-2022 3.4.5", "shall", "secondary",
    )
    assert f["feature_id"] == "4" and f["layer"] == "dead_end_lanes"
    assert f["value"] == pytest.approx(60.0) and f["limit"] == 40.0
    assert "15 × 15 m" in f["message"] and "b0" in f["message"]


def test_heavy_apparatus_needs_the_larger_turnaround() -> None:
    out, found = dead_ends({4: (0, 60)}, [E(2, 4)], apparatus="heavy")
    assert out["turnaround_required_m"].iloc[0] == 18.0
    assert "18 × 18 m" in found["message"].iloc[0]


def test_turning_circle_at_the_end_satisfies_the_rule() -> None:
    out, found = dead_ends({4: (0, 60)}, [E(2, 4)], turns=(4,))
    d = out.iloc[0]
    assert d["has_turnaround"] and d["turnaround_node_id"] == 4
    assert d["turnaround_from_end_m"] == 0.0
    assert d["verdict"] == "turnaround"
    assert found.empty


def test_turnaround_on_the_chain_through_a_degree_two_node() -> None:
    # Spur 2 -> 4 (0, 30) -> 7 (0, 60): one chain of two edges, 60 m; turning circle at 4,
    # 30 m from the dead end at 7.
    out, found = dead_ends({4: (0, 30), 7: (0, 60)}, [E(2, 4), E(4, 7)], turns=(4,))
    d = out.iloc[0]
    assert (d["end_node_id"], d["n_edges"]) == (7, 2)
    assert d["length_m"] == pytest.approx(60.0)
    assert d["edge_ids"] == "6;5"  # walked from the dead end: edge 6 (4-7), then 5 (2-4)
    assert d["turnaround_from_end_m"] == pytest.approx(30.0)
    assert d["verdict"] == "turnaround" and found.empty
    # without the turning circle it is a finding
    _, found = dead_ends({4: (0, 30), 7: (0, 60)}, [E(2, 4), E(4, 7)])
    assert found["value"].tolist() == pytest.approx([60.0])


def test_thirty_metre_dead_end_is_short() -> None:
    out, found = dead_ends({4: (0, 30)}, [E(2, 4)],
                           tower={"geometry": box(10, 5, 30, 25)})
    assert out["verdict"].tolist() == ["short"]
    assert out["length_m"].iloc[0] == pytest.approx(30.0)
    assert found.empty


def test_dead_end_ending_in_a_loop_is_not_a_dead_end() -> None:
    # 2 -> 4 (0, 60), then a loop 4 -> 5 -> 6 -> 4: node 4 has degree 3, no node has degree 1.
    out, found = dead_ends({4: (0, 60), 5: (-20, 80), 6: (20, 80)},
                           [E(2, 4), E(4, 5), E(5, 6), E(6, 4)])
    assert out.empty and found.empty


def test_long_dead_end_serving_no_high_rise_is_listed_not_flagged() -> None:
    out, found = dead_ends({4: (0, 60)}, [E(2, 4)],
                           tower={**SPUR_TOWER, "high_rise_class": "not_high_rise"})
    assert out["verdict"].tolist() == ["no_turnaround_other"]
    assert out["turnaround_required_m"].iloc[0] == 12.0  # pumper, 12 × 12 m
    assert found.empty


def test_isolated_lane_is_one_chain() -> None:
    # A lane 20 -> 21 (80 m) touching nothing: both ends have degree 1, listed once.
    out, _ = dead_ends({20: (500, 500), 21: (580, 500)}, [E(20, 21)])
    assert len(out) == 1
    assert out["junction_node_id"].iloc[0] == -1
    assert out["length_m"].iloc[0] == pytest.approx(80.0)


def test_impassable_edge_makes_a_dead_end() -> None:
    # A 3 m wide (tagged) link 4 -> 11 closes the spur into a loop for cars, not for trucks.
    out, found = dead_ends({4: (0, 60)}, [E(2, 4), E(4, 11, width_m=3.0, width_source="width")])
    assert out["verdict"].tolist() == ["no_turnaround"] and len(found) == 1


def test_summary_counts() -> None:
    t = truck({**RING_NODES, 7: (-10, 90)}, [*RING_EDGES, E(4, 7)])
    b = buildings(STD, {"geometry": box(200, 200, 240, 220), "use": "residential"})
    hr, _ = high_rise_access(t, b, preset=GB)
    de, _ = dead_end_lanes(t, turnarounds=turnarounds([]), buildings=b,
                           access_edge=access_edges(t, b.geometry), preset=GB)
    s = access_summary(hr, de)
    assert s["high_rises"]["checked"] == 2
    assert s["high_rises"]["ring"] == 1 and s["high_rises"]["insufficient"] == 1
    assert s["high_rises"]["noncompliant_access"] == 1
    # dead ends: 1 -> 5 (90 m), 3 -> 6 (90 m), 4 -> 7 (60 m); none serves a high-rise
    assert s["lanes"]["dead_ends"] == 3
    assert s["lanes"]["dead_ends_over_limit"] == 3
    assert s["lanes"]["serving_high_rise_without_turnaround"] == 0


# ---------------------------------------------------------------------------- real extracts


def _real(path: Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    from geo.layers import build_layers
    from geo.osm import read_osm
    from routing.analysis import AnalysisOptions, truck_options

    layers = build_layers(read_osm(path))
    t = truck_graph(build_graph(layers.roads, barriers=layers.barriers),
                    options=truck_options(GB, AnalysisOptions()))
    hr, found = high_rise_access(t, layers.buildings, preset=GB)
    de, de_found = dead_end_lanes(
        t, turnarounds=layers.turnarounds, buildings=layers.buildings,
        access_edge=access_edges(t, layers.buildings.geometry), preset=GB,
    )
    n_high = int(layers.buildings["high_rise_class"].isin(["class1", "class2"]).sum())
    assert len(hr) == n_high
    for frame in (hr, de):
        assert frame.crs == layers.crs
    assert hr["served_pct"].between(0, 100).all()
    assert hr["aerial_pct"].between(0, 100).all()
    assert (hr["served_m"] <= hr["perimeter_m"] + 1e-6).all()
    assert (hr["too_close_m"] <= hr["served_m"] + 1e-6).all()
    assert set(hr["layout"]) <= {"ring", "two_long_sides", "one_long_side", "quarter_perimeter",
                                 "insufficient"}
    # every non-compliant building has a shall finding, and only those
    shall = set(found.loc[found["severity"] == "shall", "feature_id"])
    assert shall == set(hr.loc[~hr["compliant_access"], "building_id"])
    assert (de["length_m"] > 0).all()
    assert set(de_found["feature_id"]) == {
        str(n) for n in de.loc[de["verdict"] == "no_turnaround", "end_node_id"]
    }
    return hr, found, de, de_found


@pytest.mark.shared
def test_nanjing_xinjiekou() -> None:
    hr, _, de, _ = _real(shared_file("osm/nanjing-xinjiekou.osm"))
    # ~80 high-rises in the extract (73 class 1 or 2 from the height/levels tags)
    assert 60 <= len(hr) <= 100
    assert (~hr["compliant_access"]).any()
    # some towers stand on a lane: a long side served, an aerial site met
    assert (hr["long_sides_served"] >= 1).any()
    assert hr["aerial_extent_ok"].any()
    # most CBD towers stand in compounds whose internal lanes OSM does not map
    assert hr["served_pct"].median() < 50
    assert (de["verdict"] == "no_turnaround").any()


def test_helsinki_default(helsinki_pbf: Path) -> None:
    hr, _, de, _ = _real(helsinki_pbf)
    assert len(hr) >= 5
    assert (~hr["compliant_access"]).any()
    assert (hr["served_m"] > 0).any()
    assert (de["verdict"] == "turnaround").any()  # OSM turning circles in the extract
    summary = access_summary(hr, de)
    assert summary["high_rises"]["checked"] == len(hr)



# --- GB 55037 3.4.3 below high-rise: lane_layout -------------------------------------------


def _low(use: str, footprint_m2: float, **kw: object) -> dict[str, object]:
    return {**STD, "use": use, "height_m": 12.0, "high_rise_class": "not_high_rise",
            "footprint_m2": footprint_m2, **kw}


def test_low_rise_lane_layout_by_use_and_footprint() -> None:
    from routing.access import lane_layout

    # North lane only (one long side served, see test_one_long_side_residential_only).
    # b0 residential: one long side is enough; b1 public over 3,000 m²: two long sides needed;
    # b2 public of 800 m² (40 x 20): not named by 3.4.3, not checked; b3 unknown use: not
    # checked; b4 a high-rise: high_rise_access checks it, not this; b5 industrial: not checked
    t = lanes(NORTH)
    b = buildings(_low("residential", 800.0), _low("public", 3200.0), _low("public", 800.0),
                  _low("unknown", 3200.0), {**STD, "use": "residential"},
                  _low("industrial", 5000.0))
    table, found = lane_layout(t, b, preset=GB)
    assert table["building_id"].tolist() == ["b0", "b1"]
    assert table["lane_layout"].tolist() == ["one_long_side", "one_long_side"]
    assert table["lane_layout_ok"].tolist() == [True, False]
    assert found["feature_id"].tolist() == ["b1"] and found["layer"].tolist() == ["buildings"]
    f = found.iloc[0]
    assert (f["rule_id"], f["severity"], f["value"], f["limit"]) == ("fire_lane_layout", "shall",
                                                                     1.0, 2.0)
    assert f["message"] == ("lanes along two long sides (public building over 3,000 m²) "
                            "required; 1 long side(s) served, layout one_long_side")


def test_low_rise_lane_layout_two_sides_and_none() -> None:
    from routing.access import lane_layout

    south = ({31: (-30, -10), 32: (70, -10)}, E(31, 32))
    both = lanes(NORTH, south)
    table, found = lane_layout(both, buildings(_low("public", 3200.0)), preset=GB)
    assert table["lane_layout"].tolist() == ["two_long_sides"] and found.empty
    # no lane within 15 m: a residential building with no long side served fails
    far = lanes(({41: (-30, 60), 42: (70, 60)}, E(41, 42)))
    table, found = lane_layout(far, buildings(_low("residential", 800.0)), preset=GB)
    assert table["lane_layout"].tolist() == ["insufficient"]
    assert found["message"].iloc[0].startswith("lanes along one long side (residential) required")
    # a preset without the clause checks nothing
    table, found = lane_layout(far, buildings(_low("residential", 800.0)),
                               preset=load_preset("us"))
    assert table.empty and found.empty
