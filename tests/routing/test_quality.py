"""The analysis' data-quality section and its not-computed figures, on the embedded Helsinki extract."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pytest

from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import load_preset
from reports.present import present_summary
from routing.analysis import Analysis, AnalysisOptions, analyze
from routing.live import refresh_water_findings
from routing.quality import INPUTS, with_hydrant_quality

CN = load_preset("cn-gb")


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: Any) -> Layers:
    return build_layers(read_osm(helsinki_pbf))


def _codes(analysis: Analysis) -> list[str]:
    return [w["code"] for w in analysis.summary["quality"]["warnings"]]


def test_every_input_has_an_entry(helsinki: Layers) -> None:
    q = analyze(helsinki, preset=CN, options=AnalysisOptions(siting=False)).summary["quality"]
    assert [k for k in q if k != "warnings"] == [k for k in INPUTS if k in q]
    assert {"roads", "hydrants", "buildings", "stations", "speeds", "water_sources",
            "pump_connectors", "districts", "blockages"} <= set(q)
    for name, entry in q.items():
        if name != "warnings":
            assert entry["level"] in ("complete", "partial", "assumed", "missing"), name
            assert {"held", "assumed", "missing", "weakens"} <= set(entry), name
    # Helsinki's 37 OSM hydrants carry no condition tag: every status assumed, no flow known
    assert q["hydrants"]["level"] == "assumed"
    assert q["hydrants"]["assumed"] == {"status": 37, "flow_by_preset": 37}
    assert q["hydrants"]["weakens"] == ["coverage", "building_water", "grading", "siting"]
    assert q["speeds"]["level"] == "assumed" and q["speeds"]["weakens"] == ["response", "blockage_ranking"]
    assert q["stations"]["level"] == "complete" and q["stations"]["weakens"] == []
    assert q["stations"]["held"]["used"] == 1
    # and 6 building:part areas of the bbox-cut extract lie in no outline: the reader's note
    assert _codes_of(q) == ["statuses_assumed", "note"]
    assert "6 building:part area(s) lie in no building outline" in q["warnings"][1]["message"]
    # which the reports show in the report's language
    from reports.quality import warning_lines

    assert q["warnings"][1]["label"] == "lone_building_parts"
    zh = [w.text for w in warning_lines({"quality": q}, "zh")]
    assert "6 个 building:part（建筑局部）不在任何建筑轮廓内，已各自按独立建筑处理。" in zh
    assert not any("lie in no building outline" in t for t in zh)


def _codes_of(q: dict[str, Any]) -> list[str]:
    return [w["code"] for w in q["warnings"]]


def test_without_stations_the_response_is_not_computed(helsinki: Layers) -> None:
    layers = dataclasses.replace(helsinki, stations=helsinki.stations.iloc[:0])
    result = analyze(layers, preset=CN, options=AnalysisOptions(siting=False))
    s = result.summary
    assert s["stations"]["used"] is None
    assert s["stations"]["roads_within_limit_share"] is None
    assert s["stations"]["buildings_within_limit_share"] is None
    # not computed is NaN, never inf (inf means: no truck route)
    for name in ("roads_analysis", "buildings_analysis"):
        t = result.layers[name]["response_s"].to_numpy(dtype=float)
        assert np.isnan(t).all() and not np.isinf(t).any(), name
    # blockages and critical lanes are measured from the main roads instead, without delays
    assert s["blockages"]["ranked"] is True and s["blockages"]["reference"] == "main_roads"
    assert s["blockages"]["buildings_delayed"] is None and s["blockages"]["limit_s"] is None
    assert isinstance(s["lanes"]["critical"], int)
    assert s["quality"]["stations"]["level"] == "missing"
    assert "no_stations" in _codes(result)
    text = json.dumps(present_summary(s))  # null in summary.json
    assert '"roads_within_limit_pct": null' in text


def test_without_hydrants_nothing_is_claimed(helsinki: Layers) -> None:
    layers = dataclasses.replace(helsinki, hydrants=helsinki.hydrants.iloc[:0])
    result = analyze(layers, preset=CN)
    s = result.summary
    assert s["coverage"]["covered_share"] is None and s["coverage"]["basis"] == "no_hydrant_data"
    assert s["coverage"]["covered_m"] is None and s["coverage"]["underserved_segments"] is None
    assert s["buildings"]["without_hydrant_in_range"] is None and s["buildings"]["flow_deficit"] is None
    assert s["coverage"]["road_m"] == pytest.approx(32_282.0, abs=1.0)  # measured all the same
    # siting is not run unless asked for
    assert s["siting"]["proposed"] is None and "proposed_hydrants" not in result.layers
    assert _codes(result)[0] == "no_hydrants" and "siting_not_run" in _codes(result)
    # no "no hydrant in range" flood: missing data is not a finding
    water = result.findings["layer"].isin(["underserved_segments", "spacing_gaps", "pump_connectors"])
    assert not water.any()


def test_siting_without_hydrants_when_asked(helsinki: Layers) -> None:
    layers = dataclasses.replace(helsinki, hydrants=helsinki.hydrants.iloc[:0])
    result = analyze(layers, preset=CN, options=AnalysisOptions(new_hydrants=3))
    assert result.summary["siting"]["proposed"] == 3
    assert "siting_without_hydrants" in _codes(result)


def test_inspections_turn_assumed_statuses_into_data(helsinki: Layers) -> None:
    options = AnalysisOptions(siting=False)
    result = analyze(helsinki, preset=CN, options=options)
    h = helsinki.hydrants.copy()
    source = h["status_source"].to_numpy(dtype=object).copy()
    source[:5] = "inspection"
    layers = dataclasses.replace(helsinki, hydrants=h.assign(status_source=source))
    # 37 - 5 = 32 assumed; 32 < 0.9 x 37 = 33.3: no longer "all assumed", and partial
    q = with_hydrant_quality(result.summary["quality"], layers)
    assert q["hydrants"]["assumed"]["status"] == 32 and q["hydrants"]["level"] == "partial"
    assert "statuses_assumed" not in _codes_of(q)
    refreshed = refresh_water_findings(result, layers, preset=CN, options=options)
    assert refreshed.summary["quality"]["hydrants"]["held"]["status_from_data"] == 5


def test_mains_entry() -> None:
    from routing.quality import mains_entry, with_mains_quality

    # no mains: missing, building water credited hydrant by hydrant
    none = mains_entry({"model": "points", "mains": None})
    assert none["level"] == "missing" and none["weakens"] == ["building_water"]
    # 40 pipes read, 2 rejected (2/42 = 4.8 % < 5 %): complete; 1 of 30 hydrants unlinked
    water = {"mains": {"source": "gis:pipes.gpkg", "pipes": 40, "rejected_pipes": 2,
                       "length_m": 12_345.6, "supply_points": 1, "hydrants_linked": 29,
                       "hydrants_unlinked": 1}}
    e = mains_entry(water)
    assert e["level"] == "complete" and e["weakens"] == []
    assert e["held"] == {"total": 40, "km": 12.346, "supply_points": 1, "hydrants_linked": 29}
    assert e["missing"] == {"pipes_rejected": 2, "hydrants_unlinked": 1}
    # 3 of 20 hydrants on no known main (15 %): partial
    water["mains"].update(hydrants_linked=17, hydrants_unlinked=3)
    assert mains_entry(water)["level"] == "partial"
    # the reader's notes (an entry named after the file) join the mains entry
    q = {"pipes.gpkg": {"level": "partial", "notes": ["invented"]}, "warnings": [{"code": "x"}]}
    out = with_mains_quality(q, water)
    assert "pipes.gpkg" not in out and out["mains"]["notes"] == ["invented"]
    assert out["warnings"] == [{"code": "x"}]
