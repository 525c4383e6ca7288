"""Roads that need hydrants (issue 10): access-controlled roads are out of the coverage count.

The workspace, in local metres (EPSG:32650)::

    A (0,0) ------------- motorway (1,000 m) ------------- B (1000,0) -- Elm St (300 m) -- C (1300,0)
          H2 (200,0)              H3 (700,0)                       H1 (1100,0)

Hydrants stand on the road (snap offset 0), radius 150 m (cn-gb), hose-lay:
- Elm St: H1 is 100 m from B and covers [0, 250] of it: 250 m of 300 m.
- motorway: H2 covers [50, 350], H3 [550, 850], H1 reaches 150 - 100 = 50 m past B: [950, 1000];
  650 m of 1,000 m. Those metres are covered (hoses run along any road) but not counted.
- Counted (cn-gb leaves the motorway out): 250 / 300 = 83.33 %, uncovered 0.05 km, 1.0 km
  excluded. Counting every road: (650 + 250) / 1,300 = 69.23 %.
- Spacing: H2 and H3 are 500 m apart (> 120 m) on the motorway: a gap only when it counts; Elm St
  has one hydrant, no gap.
- Underserved and siting: only Elm St's uncovered 50 m ([250, 300]), cut into 2 demand segments
  of 25 m; every candidate stands on Elm St.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest

from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import Preset, load_preset
from geo.rejects import REJECT_COLUMNS
from geo.schema import SCHEMAS
from reports.districts import DistrictInputs, aggregate_districts, report_units
from reports.present import present_scenario, present_summary
from routing.analysis import Analysis, AnalysisOptions, analyze
from routing.coverage import roads_needing_hydrants
from routing.scenario import scenario_impact
from routing.siting import demand_segments, siting_candidates
from tests.routing._graphs import CRS, E, point, roads_frame

CN = load_preset("cn-gb")
MOTORWAY, ELM = 0, 1  # roads rows


def _frame(name: str, rows: list[dict[str, Any]], geoms: list[Any]) -> gpd.GeoDataFrame:
    columns = [c.name for c in SCHEMAS[name]]
    return gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=columns), geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS
    )


def motorway_layers() -> Layers:
    """The workspace drawn in the module docstring (shared with the live-update tests)."""
    roads = roads_frame(
        {1: (0, 0), 2: (1000, 0), 3: (1300, 0)},
        [E(1, 2, highway="motorway", name="Ring Motorway"), E(2, 3, name="Elm St")],
    )
    hydrants = _frame(
        "hydrants",
        [{"hydrant_id": h, "kind": "pillar", "status": "in_service", "status_source": "agency",
          "diameter_mm": 100.0, "flow_lps": np.nan, "pressure_mpa": np.nan, "ref": "", "name": "",
          "source": "agency", "source_file": "", "source_crs": "", "osm_id": pd.NA}
         for h in ("H1", "H2", "H3")],
        [point(1100, 0), point(200, 0), point(700, 0)],
    )
    hydrants["osm_id"] = hydrants["osm_id"].astype("Int64")
    return Layers(
        crs=pyproj.CRS(CRS), roads=roads, hydrants=hydrants, rejects=pd.DataFrame(columns=REJECT_COLUMNS),
        source="hand-drawn",
        **{n: _frame(n, [], []) for n in ("barriers", "turnarounds", "buildings", "stations",
                                          "water_sources", "pump_connectors", "districts")},
    )


def _every_road(tmp_path: Path) -> Preset:
    path = tmp_path / "every_road.toml"
    path.write_text(
        'extends = "cn-gb"\nname = "every-road"\n[coverage]\nexclude_highway = []\n'
        'exclude_motorroad = false\nreason = "count every road"\n',
        encoding="utf-8",
    )
    return load_preset(path)


@pytest.fixture(scope="module")
def motorway() -> tuple[Layers, Analysis]:
    layers = motorway_layers()
    return layers, analyze(layers, preset=CN)


def test_mask_by_class_and_motorroad(tmp_path: Path) -> None:
    roads = roads_frame(
        {i: (100.0 * i, 0.0) for i in range(8)},
        [E(0, 1, highway="motorway"), E(1, 2, highway="motorway_link"),
         E(2, 3, highway="trunk", extra={"motorroad": True}), E(3, 4, highway="trunk"),
         E(4, 5, highway="trunk_link", extra={"motorroad": True}), E(5, 6, highway="primary"),
         E(6, 7, highway="residential")],
    )
    assert roads_needing_hydrants(roads, preset=CN).tolist() == [
        False, False, False, True, False, True, True]
    # the setting: count every road
    assert roads_needing_hydrants(roads, preset=_every_road(tmp_path)).all()
    # a roads layer without the motorroad column: only the classes decide
    untagged = roads.drop(columns="motorroad")
    assert roads_needing_hydrants(untagged, preset=CN).tolist() == [
        False, False, True, True, True, True, True]


def test_coverage_counts_only_the_street(motorway: tuple[Layers, Analysis]) -> None:
    _, result = motorway
    cov = result.summary["coverage"]  # raw: metres and a share of one
    assert cov["road_m"] == pytest.approx(300.0) and cov["covered_m"] == pytest.approx(250.0)
    assert cov["uncovered_m"] == pytest.approx(50.0)
    assert cov["covered_share"] == pytest.approx(250 / 300)
    assert cov["excluded_m"] == pytest.approx(1000.0) and cov["excluded_classes"] == ["motorway"]
    shown = present_summary(result.summary)["coverage"]  # as summary.json prints it
    assert (shown["road_km"], shown["covered_km"], shown["uncovered_km"]) == (0.3, 0.25, 0.05)
    assert shown["covered_pct"] == 83.33 and shown["excluded_km"] == 1.0  # 250 / 300
    roads = result.layers["roads_analysis"]
    assert roads["needs_hydrants"].tolist() == [False, True]
    # the motorway is still covered by hoses (and stays in the graphs), just not counted
    np.testing.assert_allclose(roads["covered_m"], [650.0, 250.0])
    assert roads["truck_passable"].all()
    assert cov["underserved_segments"] == 1 and cov["spacing_gaps"] == 0
    under = result.layers["underserved_segments"]
    assert under["name"].tolist() == ["Elm St"]
    np.testing.assert_allclose(under["length_m"], [50.0])


def test_no_siting_on_the_motorway(motorway: tuple[Layers, Analysis]) -> None:
    _, result = motorway
    demand = demand_segments(result.graph, result.coverage)
    # Elm St's uncovered [250, 300]: ceil(50 / 25) = 2 segments of 25 m
    assert demand["edge_id"].tolist() == [ELM, ELM]
    np.testing.assert_allclose(demand["length_m"], [25.0, 25.0])
    candidates = siting_candidates(result.graph, result.coverage)
    assert len(candidates) > 0 and set(candidates["edge_id"]) == {ELM}
    proposed = result.layers["proposed_hydrants"]
    assert len(proposed) >= 1 and set(proposed["edge_id"]) == {ELM}
    assert result.summary["siting"]["added_covered_m"] == pytest.approx(50.0)


def test_counting_every_road(tmp_path: Path) -> None:
    result = analyze(motorway_layers(), preset=_every_road(tmp_path))
    cov = present_summary(result.summary)["coverage"]
    assert cov["road_km"] == 1.3 and cov["covered_km"] == 0.9
    assert cov["covered_pct"] == 69.23  # (650 + 250) / 1,300
    assert cov["excluded_km"] == 0.0 and cov["excluded_classes"] == []
    # motorway [0, 50], [350, 550], [850, 950] and Elm St [250, 300]; H2-H3 500 m apart
    assert cov["underserved_segments"] == 4 and cov["spacing_gaps"] == 1
    np.testing.assert_allclose(result.layers["spacing_gaps"]["gap_m"], [500.0])
    demand = demand_segments(result.graph, result.coverage)
    assert set(demand["edge_id"]) == {MOTORWAY, ELM}


def test_districts_count_only_the_street(motorway: tuple[Layers, Analysis]) -> None:
    layers, result = motorway
    units = report_units(None, roads=layers.roads)
    table = aggregate_districts(units, DistrictInputs.from_analysis(result))
    assert table["street_km"].sum() == pytest.approx(0.3)
    assert table["uncovered_km"].sum() == pytest.approx(0.05)


def test_scenario_counts_only_the_street(motorway: tuple[Layers, Analysis]) -> None:
    layers, result = motorway
    raw = scenario_impact(layers, result, preset=CN, options=AnalysisOptions(), out_of_service=["H1"])
    assert raw["coverage"]["covered_share_before"] == pytest.approx(250 / 300)
    doc = present_scenario(raw)["coverage"]
    # without H1 nothing reaches Elm St (H3 is 300 m from B): 0 of 300 m; the motorway's lost
    # 50 m past B is not counted
    assert doc["covered_pct_before"] == 83.33 and doc["covered_pct_after"] == 0.0
    assert doc["change_km"] == -0.25
    assert [e["edge_id"] for e in doc["edges"]] == [ELM]


_OSM = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="hand">
  <bounds minlat="31.2790" minlon="121.4990" maxlat="31.2810" maxlon="121.5060"/>
  <node id="1" lat="31.2800" lon="121.5000"/>
  <node id="2" lat="31.2800" lon="121.5010"/>
  <node id="3" lat="31.2800" lon="121.5020"/>
  <node id="4" lat="31.2800" lon="121.5030"/>
  <node id="5" lat="31.2800" lon="121.5040"/>
  <way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="trunk"/><tag k="motorroad" v="yes"/></way>
  <way id="2"><nd ref="2"/><nd ref="3"/><tag k="highway" v="trunk"/></way>
  <way id="3"><nd ref="3"/><nd ref="4"/><tag k="highway" v="motorway"/></way>
  <way id="4"><nd ref="4"/><nd ref="5"/><tag k="highway" v="residential"/><tag k="motorroad" v="no"/></way>
</osm>
"""


def test_motorroad_tag_read_from_osm(tmp_path: Path) -> None:
    path = tmp_path / "roads.osm"
    path.write_text(_OSM, encoding="utf-8")
    roads = build_layers(read_osm(path)).roads.sort_values("way_id")
    assert roads["motorroad"].tolist() == [True, False, False, False]
    # a trunk with motorroad=yes is left out, a trunk without it is a street that needs hydrants
    assert roads_needing_hydrants(roads, preset=CN).tolist() == [False, True, False, True]
