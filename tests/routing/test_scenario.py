"""What-ifs (routing.scenario) on a hand-drawn workspace whose answers are worked out on paper.

The workspace, in local metres (EPSG:32650)::

               w3 (350,120)
    4 (300,100) ---- Loop (300 m) ---- 5 (600,100)
        |                                  |
      Loop (100 m)                       Loop (100 m)
        |                                  |
    1 (0,0) -- West St (300 m) -- 2 (300,0) -- East St (300 m) -- 3 (600,0)
       S1 (0,-10)   H1 (100,0)   w1 (105,20)        H2 (450,0)  w2 (465,20)

Hydrants stand on the street (snap offset 0), so each covers 150 m of hose-lay either way:
H1 covers West St 0–250 m, H2 all of East St (300–600), nothing reaches the loop (H2 is 150 m
from nodes 2 and 3): 550 m of 1,100 m covered. The diamond-shaped buildings touch their access
points with one vertex, 20 m from the street: w1 at 105 m on West St, w2 at 165 m on East St, w3
at 50 m on the top of the loop (no hydrant within 150 m: one finding, and a flow deficit).
The station S1 snaps to node 1; residential streets are driven at 20 km/h (18 s per 100 m) after
a 60 s turn-out: w2 is reached after 60 + 465 × 0.18 = 143.7 s.
"""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from api.documents import proposal_document, siting_proposal
from geo.errors import CRSError, LayerValidationError, NotFoundError
from geo.layers import Layers
from geo.presets import load_preset
from geo.rejects import REJECT_COLUMNS
from geo.schema import SCHEMAS
from reports.present import json_number, json_records, jsonable, present_scenario
from routing.analysis import Analysis, AnalysisOptions, analyze
from routing.scenario import (
    SERVED_MARGIN_M,
    scenario_impact,
    siting_problem,
    solve_siting,
)
from routing.siting import CostModel
from tests.routing._graphs import CRS, E, point, roads_frame, xy

CN = load_preset("cn-gb")
OPTIONS = AnalysisOptions(siting=False)
_TO_WGS84 = pyproj.Transformer.from_crs(CRS, "EPSG:4326", always_xy=True)


def _frame(name: str, rows: list[dict[str, Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    columns = [c.name for c in SCHEMAS[name]]
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns), geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS
    )


def _diamond(x: float, y: float) -> shapely.Polygon:
    """A 20 m diamond whose lowest vertex is at local (x, y)."""
    return shapely.Polygon([xy(x, y), xy(x + 10, y + 10), xy(x, y + 20), xy(x - 10, y + 10)])


def tiny_layers(*, stations: bool = True) -> Layers:
    """The workspace drawn in the module docstring (shared with the CLI tests)."""
    roads = roads_frame(
        {1: (0, 0), 2: (300, 0), 3: (600, 0), 4: (300, 100), 5: (600, 100)},
        [E(1, 2, name="West St"), E(2, 3, name="East St"), E(2, 4, name="Loop"),
         E(4, 5, name="Loop"), E(5, 3, name="Loop")],
    )
    hydrants = _frame(
        "hydrants",
        [{"hydrant_id": h, "kind": "pillar", "status": "in_service", "diameter_mm": 100.0,
          "flow_lps": math.nan, "pressure_mpa": math.nan, "ref": "", "name": "", "source": "agency",
          "source_file": "", "source_crs": "", "osm_id": pd.NA} for h in ("H1", "H2")],
        [point(100, 0), point(450, 0)],
    )
    hydrants["osm_id"] = hydrants["osm_id"].astype("Int64")
    buildings = _frame(
        "buildings",
        [{"building_id": f"osm/w{i}", "name": "", "building": "yes", "levels": 2.0, "height_m": 6.0,
          "height_source": "levels", "use": "residential", "high_rise_class": "not_high_rise",
          "class_basis": "", "footprint_m2": 200.0, "volume_m3": 1200.0} for i in (1, 2, 3)],
        [_diamond(105, 20), _diamond(465, 20), _diamond(350, 120)],
    )
    station_rows = [{"station_id": "S1", "name": "Station 1", "source": "agency"}] if stations else []
    return Layers(
        crs=pyproj.CRS(CRS), roads=roads, hydrants=hydrants, buildings=buildings,
        stations=_frame("stations", station_rows, [point(0, -10)] if stations else []),
        rejects=pd.DataFrame(columns=REJECT_COLUMNS), source="hand-drawn",
        **{n: _frame(n, [], []) for n in ("barriers", "turnarounds", "water_sources",
                                          "pump_connectors", "districts")},
    )


def lonlat(x: float, y: float) -> tuple[float, float]:
    """WGS84 lon/lat of local metres (x, y)."""
    lon, lat = _TO_WGS84.transform(*xy(x, y))
    return float(lon), float(lat)


@pytest.fixture(scope="module")
def tiny() -> tuple[Layers, Analysis]:
    layers = tiny_layers()
    return layers, analyze(layers, preset=CN, options=OPTIONS)


def _run(tiny: tuple[Layers, Analysis], **kw: Any) -> dict[str, Any]:
    layers, analysis = tiny  # as the CLI and the API give it
    return present_scenario(scenario_impact(layers, analysis, preset=CN, options=OPTIONS, **kw))


def _gate(x: float, y: float, kind: str = "gate") -> dict[str, Any]:
    lon, lat = lonlat(x, y)
    return {"lon": lon, "lat": lat, "kind": kind}


def _snapshot(layers: Layers, analysis: Analysis) -> dict[str, Any]:
    return {
        "covered": analysis.coverage.covered_m.copy(),
        "passable": analysis.truck.edge_passable.copy(),
        "status": layers.hydrants["status"].tolist(),
        "in_range": analysis.layers["buildings_analysis"]["hydrants_in_range"].tolist(),
        "summary": json.dumps(analysis.summary, sort_keys=True, default=str),
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(np.array_equal(v, b[k]) if isinstance(v, np.ndarray) else v == b[k] for k, v in a.items())


# --- the paper figures ---------------------------------------------------------------------------


def test_the_drawing(tiny: tuple[Layers, Analysis]) -> None:
    _, analysis = tiny
    np.testing.assert_allclose(analysis.coverage.covered_m, [250, 300, 0, 0, 0])
    b = analysis.layers["buildings_analysis"]
    assert b["access_edge"].tolist() == [0, 1, 3]
    assert b["access_position_m"].tolist() == [105.0, 165.0, 50.0]
    assert b["response_s"].round(1).tolist() == [78.9, 143.7, 141.0]
    assert b["hydrants_in_range"].tolist() == [1, 1, 0]


def test_empty_scenario_changes_nothing(tiny: tuple[Layers, Analysis]) -> None:
    doc = _run(tiny)
    cov = doc["coverage"]
    assert cov["covered_km_before"] == cov["covered_km_after"] == 0.55 and cov["change_km"] == 0
    assert cov["road_km"] == 1.1 and cov["covered_pct_before"] == 50.0 and cov["edges"] == []
    assert doc["water"]["buildings_affected"] == 0 and doc["blockages"] == []
    assert doc["response"] == {"limit_s": 300.0, "blocked_edges": 0, "buildings_cut_off": 0,
                               "buildings_delayed": 0, "buildings": []}


def test_hydrant_alone_covering_a_street(tiny: tuple[Layers, Analysis]) -> None:
    layers, analysis = tiny
    before = _snapshot(layers, analysis)
    doc = _run(tiny, out_of_service=["H2"])
    cov = doc["coverage"]
    # H2 alone covers East St (300 m): covered street drops by exactly 0.3 km
    assert (cov["covered_km_before"], cov["covered_km_after"], cov["change_km"]) == (0.55, 0.25, -0.3)
    assert (cov["covered_pct_before"], cov["covered_pct_after"]) == (50.0, 22.73)
    assert cov["hydrants_taken_out"] == 1 and cov["hydrants_already_out"] == []
    assert cov["edges_losing_coverage"] == 1
    assert cov["edges"] == [{"edge_id": 1, "name": "East St", "length_m": 300.0,
                             "covered_m_before": 300.0, "covered_m_after": 0.0}]
    # w2 counted H2 only (15 L/s credited, 15 L/s required): no water left, a 15 L/s deficit
    water = doc["water"]
    assert water["buildings_losing_water"] == water["buildings_new_flow_deficit"] == 1
    assert water["buildings"] == [{
        "building_id": "osm/w2", "high_rise_class": "not_high_rise", "hydrants_before": 1,
        "hydrants_after": 0, "credited_lps_before": 15.0, "credited_lps_after": 0.0,
        "deficit_lps_after": 15.0,
    }]
    assert _same(before, _snapshot(layers, analysis))  # nothing given was modified


def test_both_hydrants_out_and_repeated_ids(tiny: tuple[Layers, Analysis]) -> None:
    doc = _run(tiny, out_of_service=["H2", "H1", "H2"])
    assert doc["hydrants_out_of_service"] == ["H2", "H1"]
    cov = doc["coverage"]
    assert cov["covered_km_after"] == 0.0 and cov["change_km"] == -0.55
    assert [e["name"] for e in cov["edges"]] == ["East St", "West St"]  # the larger loss first
    assert doc["water"]["buildings_losing_water"] == 2


def test_hydrant_already_out_of_service() -> None:
    layers = tiny_layers()
    hydrants = layers.hydrants.copy()
    hydrants.loc[1, "status"] = "out_of_service"
    layers = Layers(**{**layers.__dict__, "hydrants": hydrants})
    analysis = analyze(layers, preset=CN, options=OPTIONS)
    doc = scenario_impact(layers, analysis, preset=CN, options=OPTIONS, out_of_service=["H2"])
    assert doc["coverage"]["hydrants_taken_out"] == 0
    assert doc["coverage"]["hydrants_already_out"] == ["H2"] and doc["coverage"]["change_m"] == 0


def test_unknown_hydrants_are_all_named(tiny: tuple[Layers, Analysis]) -> None:
    with pytest.raises(NotFoundError, match=r"2 hydrant id.*nope-1, nope-2"):
        _run(tiny, out_of_service=["H1", "nope-1", "nope-2"])


def test_max_rows_cuts_lists_not_counts(tiny: tuple[Layers, Analysis]) -> None:
    doc = _run(tiny, out_of_service=["H1", "H2"], max_rows=1)
    assert doc["coverage"]["edges_losing_coverage"] == 2 and len(doc["coverage"]["edges"]) == 1
    assert doc["water"]["buildings_affected"] == 2 and len(doc["water"]["buildings"]) == 1


# --- blocked lanes -------------------------------------------------------------------------------


def test_blocked_lane_sends_the_truck_round_the_loop(tiny: tuple[Layers, Analysis]) -> None:
    layers, analysis = tiny
    before = _snapshot(layers, analysis)
    doc = _run(tiny, blockages=[_gate(400, 0)])
    gate = doc["blockages"][0]
    assert gate["edge_id"] == 1 and gate["road_name"] == "East St" and gate["effect"] == "full"
    assert gate["offset_m"] == 0.0 and gate["width_basis"] == "full_block"
    resp = doc["response"]
    # round the loop: 300 + 100 + 300 + 100 m, then back 135 m along East St = 935 m
    # 60 + 935 × 0.18 = 228.3 s instead of 143.7 s
    assert resp["buildings"] == [{"building_id": "osm/w2", "high_rise_class": "not_high_rise",
                                  "response_s_before": 143.7, "response_s_after": 228.3,
                                  "cut_off": False, "delay_s": 84.6}]
    assert (resp["blocked_edges"], resp["buildings_cut_off"], resp["buildings_delayed"]) == (1, 0, 1)
    assert resp["max_delay_s"] == resp["median_delay_s"] == 84.6 and resp["buildings_past_limit"] == 0
    assert resp["hydrants_unreachable"] == 0  # H2 is reached from node 3
    assert doc["coverage"]["change_km"] == 0  # hoses are laid on foot
    assert _same(before, _snapshot(layers, analysis))


def test_loop_blocked_too_cuts_off(tiny: tuple[Layers, Analysis]) -> None:
    doc = _run(tiny, blockages=[_gate(400, 0), _gate(450, 100, "structure")])
    resp = doc["response"]
    assert (resp["blocked_edges"], resp["buildings_cut_off"], resp["hydrants_unreachable"]) == (2, 1, 1)
    assert resp["buildings"][0]["cut_off"] and resp["buildings"][0]["response_s_after"] is None
    assert resp["buildings_past_limit"] == 1  # no longer reached within 300 s
    # each lane alone leaves the other way open
    assert [r["buildings_cut_alone"] for r in doc["blockages"]] == [0, 0]


def test_parked_car_narrows_a_6_m_lane_to_4_m(tiny: tuple[Layers, Analysis]) -> None:
    doc = _run(tiny, blockages=[_gate(400, 0, "parked_vehicle")])
    car = doc["blockages"][0]
    assert car["effect"] == "narrowed" and car["remaining_width_m"] == 4.0
    assert car["width_basis"] == "estimated" and doc["response"]["blocked_edges"] == 0


def test_far_report_rejected_before_snapping(tiny: tuple[Layers, Analysis]) -> None:
    far = _gate(400, SERVED_MARGIN_M + 200)  # north of the streets' extent by more than the margin
    near = _gate(400, 40)  # near the extent but 40 m from East St: the 30 m snap rejects it
    doc = _run(tiny, blockages=[far, near])
    out, snapped = doc["blockages"]
    assert out["effect"] == "rejected" and "outside the served area" in out["reason"]
    assert out["lon"] == round(far["lon"], 7) and out["edge_id"] is None  # echoed to the centimetre
    assert snapped["effect"] == "rejected" and "30 m" in snapped["reason"]
    assert doc["response"]["reports_rejected"] == 2 and doc["response"]["blocked_edges"] == 0


def test_reports_as_a_frame_in_any_crs(tiny: tuple[Layers, Analysis]) -> None:
    given = [_gate(400, 0), _gate(450, 100, "structure"), _gate(500, 0)]
    by_dicts = _run(tiny, blockages=given[:2])
    wgs84 = gpd.GeoDataFrame(
        {"blockage_id": ["A", "B", "C"], "kind": ["gate", "structure", "gate"],
         "status": ["reported", "assigned", "closed"], "remaining_width_m": [np.nan, np.nan, np.nan]},
        geometry=shapely.points([g["lon"] for g in given], [g["lat"] for g in given]), crs="EPSG:4326",
    )
    for frame in (wgs84, wgs84.to_crs(CRS), wgs84.to_crs("EPSG:3857")):
        doc = _run(tiny, blockages=frame)
        assert doc["response"] == by_dicts["response"]  # the closed report C blocks nothing
        assert [r["blockage_id"] for r in doc["blockages"]] == ["A", "B", "C"]
        assert [r["effect"] for r in doc["blockages"]] == ["full", "full", "none"]
        for row, src in zip(doc["blockages"], given, strict=True):
            assert row["lon"] == pytest.approx(src["lon"], abs=1e-7)
            assert row["lat"] == pytest.approx(src["lat"], abs=1e-7)
        plain = [{k: v for k, v in r.items() if k not in ("blockage_id", "lon", "lat")}
                 for r in doc["blockages"][:2]]
        assert plain == [{k: v for k, v in r.items() if k not in ("lon", "lat")}
                         for r in by_dicts["blockages"]]


def test_report_frame_defaults_and_errors(tiny: tuple[Layers, Analysis]) -> None:
    lon, lat = _gate(400, 0)["lon"], _gate(400, 0)["lat"]
    bare = gpd.GeoDataFrame({"kind": ["gate"]}, geometry=[shapely.Point(lon, lat)], crs="EPSG:4326")
    doc = _run(tiny, blockages=bare)
    assert doc["blockages"][0]["blockage_id"] == "b1" and doc["response"]["blocked_edges"] == 1
    with pytest.raises(CRSError, match="no CRS"):
        _run(tiny, blockages=bare.set_crs(None, allow_override=True))
    with pytest.raises(LayerValidationError, match="'kind'"):
        _run(tiny, blockages=bare.drop(columns="kind"))
    line = gpd.GeoDataFrame(
        {"kind": ["gate"]}, geometry=[shapely.LineString([(lon, lat), (lon, lat + 1e-4)])], crs="EPSG:4326"
    )
    with pytest.raises(LayerValidationError, match="not points"):
        _run(tiny, blockages=line)


def test_no_station_no_response() -> None:
    layers = tiny_layers(stations=False)
    analysis = analyze(layers, preset=CN, options=OPTIONS)
    doc = scenario_impact(layers, analysis, preset=CN, options=OPTIONS, blockages=[_gate(400, 0)])
    assert "no fire station" in doc["response"]["note"] and doc["blockages"] == []


# --- siting --------------------------------------------------------------------------------------


def test_siting_on_the_loop(tiny: tuple[Layers, Analysis]) -> None:
    layers, analysis = tiny
    before = _snapshot(layers, analysis)
    problem = siting_problem(analysis, preset=CN, spacing_m=50.0)
    cost = CostModel(hydrant_cny=15_000.0)
    one = siting_proposal(problem, analysis, k=1, budget_cny=None, cost=cost, method="auto", time_limit_s=10)
    two = siting_proposal(problem, analysis, k=2, budget_cny=None, cost=cost, method="auto", time_limit_s=10)
    assert one["n_hydrants"] == len(one["sites"]) == 1 and two["n_hydrants"] == 2
    assert one["status"] == "optimal" and one["cost_cny"] == 15_000.0
    assert one["covered_km_before"] == 0.55
    assert one["covered_km_after"] == pytest.approx(0.55 + one["covered_km_added"], abs=1e-3)
    # one hydrant lays at most 150 m of hose either way; the loop's two halves are alike
    assert 0 < one["covered_km_added"] <= 0.3
    assert two["covered_km_added"] == pytest.approx(2 * one["covered_km_added"], abs=1e-3)
    # the sites stand by the 500 m loop that nothing covers, given in WGS84
    to_crs = pyproj.Transformer.from_crs("EPSG:4326", CRS, always_xy=True)
    loop = layers.roads.loc[layers.roads["name"] == "Loop"]
    for site in two["sites"]:
        spot = shapely.Point(to_crs.transform(site["lon"], site["lat"]))
        assert site["name"] == "Loop" and loop.distance(spot).min() <= site["offset_m"] + 0.01
    budget = siting_proposal(problem, analysis, k=None, budget_cny=29_999.0, cost=cost, method="greedy",
                             time_limit_s=10)
    assert budget["n_hydrants"] == 1 and budget["cost_cny"] <= 29_999.0
    # the two steps the CLI calls give the same answer
    result = solve_siting(problem, k=1, budget_cny=None, cost=cost, method="auto", time_limit_s=10)
    assert len(result.chosen) == 1 and result.chosen.crs == analysis.graph.crs
    split = proposal_document(result, problem=problem, analysis=analysis)
    assert {k: v for k, v in split.items() if k != "solve_s"} == {
        k: v for k, v in one.items() if k != "solve_s"
    }
    assert _same(before, _snapshot(layers, analysis))


# --- JSON-ready values ---------------------------------------------------------------------------


def test_json_values() -> None:
    value = {"a": np.int64(3), 2: [np.float32(0.5), float("nan"), (np.inf, "x")], "b": {"c": np.bool_(True)}}
    assert jsonable(value) == {"a": 3, "2": [0.5, None, [None, "x"]], "b": {"c": True}}
    assert json.dumps(jsonable(value))  # plain JSON
    assert json_number(1.23456) == 1.235 and json_number("2.5", 0) == 2.0
    assert json_number(float("nan")) is None and json_number(None) is None and json_number("x") is None
    frame = gpd.GeoDataFrame({"id": ["a", "b"], "v": [1.5, np.nan]}, geometry=[point(0, 0), point(1, 1)],
                             crs=CRS)
    assert json_records(frame) == [{"id": "a", "v": 1.5}, {"id": "b", "v": None}]
    assert json_records(frame.iloc[:0]) == []


# --- the branch rule in a what-if (GB 50974 6.1.5(3)) ------------------------------------------


def test_taking_out_a_branchs_credited_hydrant_credits_the_next() -> None:
    """A third hydrant H3 at 130 m on West St; one pipe under West St (a tree: one branch
    group) feeds H1 and H3. w1 (access at 105 m) has both in range but is credited one
    hydrant's flow: 15 L/s. Taking H1 out, H3 (25 m away) is credited instead: still 15 L/s,
    as a full analysis without H1 says. (Before the fix the scenario summed the capped credits
    and said 0 L/s.)"""
    from tests.routing.test_mains import mains_of

    layers = tiny_layers()
    h3 = layers.hydrants.iloc[[0]].copy()
    h3["hydrant_id"] = "H3"
    h3 = h3.set_geometry(gpd.GeoSeries([point(130, 0)], crs=CRS))
    layers = dataclasses.replace(layers, hydrants=pd.concat([layers.hydrants, h3],
                                                             ignore_index=True))
    mains = mains_of([("P1", xy(0, -3), xy(300, -3))])
    analysis = analyze(layers, preset=CN, options=OPTIONS, mains=mains)
    w1 = analysis.layers["buildings_analysis"].set_index("building_id").loc["osm/w1"]
    assert (w1["hydrants_in_range"], w1["credited_flow_lps"]) == (2, 15.0)
    doc = present_scenario(scenario_impact(layers, analysis, preset=CN, options=OPTIONS,
                                           out_of_service=["H1"]))
    row = next(b for b in doc["water"]["buildings"] if b["building_id"] == "osm/w1")
    assert (row["hydrants_after"], row["credited_lps_after"]) == (1, 15.0)
    # equal to a full analysis without H1
    without = dataclasses.replace(layers, hydrants=layers.hydrants.iloc[1:].reset_index(drop=True))
    full = analyze(without, preset=CN, options=OPTIONS, mains=mains)
    w1_full = full.layers["buildings_analysis"].set_index("building_id").loc["osm/w1"]
    assert row["credited_lps_after"] == w1_full["credited_flow_lps"] == 15.0
