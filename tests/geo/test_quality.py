"""The data-quality model on hand-made layers: levels, counts, warnings, reader notes."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.layers import Layers
from geo.notes import Note
from geo.quality import input_quality, layer_quality, level_of
from geo.rejects import REJECT_COLUMNS

CRS = pyproj.CRS("EPSG:32651")


def _points(n: int, **columns: Any) -> gpd.GeoDataFrame:
    xy = np.arange(n, dtype=float) * 10.0
    return gpd.GeoDataFrame(columns, geometry=shapely.points(xy, xy), crs=CRS)


def _hydrants(status: list[str], source: list[str], origin: str = "osm") -> gpd.GeoDataFrame:
    n = len(status)
    return _points(n, hydrant_id=[f"h{i}" for i in range(n)], status=status, status_source=source,
                   flow_lps=np.full(n, np.nan), source=[origin] * n, source_file=[""] * n)


def _buildings(height_source: list[str]) -> gpd.GeoDataFrame:
    n = len(height_source)
    return _points(n, building_id=[f"b{i}" for i in range(n)], height_source=height_source,
                   use=["residential"] * n)


def _layers(**over: Any) -> Layers:
    """Four tagged-width roads (1 km), 10 hydrants with tagged status, 20 buildings with a height
    tag, one station; ``over`` replaces any of them."""
    roads = gpd.GeoDataFrame(
        {"length_m": [250.0] * 4, "width_source": ["width"] * 4},
        geometry=[shapely.LineString([(0, i), (250, i)]) for i in range(4)], crs=CRS,
    )
    base: dict[str, Any] = {
        "crs": CRS, "roads": roads, "barriers": _points(0), "turnarounds": _points(0),
        "hydrants": _hydrants(["in_service"] * 10, ["tag"] * 10),
        "buildings": _buildings(["height"] * 20),
        "stations": _points(1, station_id=["s1"], source=["osm"]),
        "water_sources": _points(0), "pump_connectors": _points(0, building_id=[]),
        "districts": _points(1, district_id=["d1"], admin_level=[8.0]),
        "rejects": pd.DataFrame(columns=REJECT_COLUMNS), "source": "hand.osm",
    }
    base.update(over)
    return Layers(**base)


def test_levels_follow_the_documented_thresholds() -> None:
    assert level_of(0, 0, assumed=True) == "missing"  # nothing held
    assert level_of(100, 5, assumed=False) == "complete"  # 5 % is still complete
    assert level_of(100, 6, assumed=False) == "partial"  # 6 % is not
    assert level_of(100, 89, assumed=True) == "partial"
    assert level_of(100, 90, assumed=True) == "assumed"  # 90 %: a default stands in
    assert level_of(100, 90, assumed=False) == "missing"  # 90 %: nothing stands in


def test_complete_inputs_raise_no_warning() -> None:
    q = layer_quality(_layers())
    assert q["hydrants"]["level"] == "complete" and q["hydrants"]["held"]["status_from_data"] == 10
    assert q["buildings"]["level"] == "complete" and q["roads"]["level"] == "complete"
    assert q["stations"]["level"] == "complete"
    assert q["roads"]["held"] == {"edges": 4, "km": 1.0, "width_tagged": 4}
    assert q["warnings"] == []


def test_no_hydrants_is_missing_with_an_error() -> None:
    q = layer_quality(_layers(hydrants=_hydrants([], [])))
    assert q["hydrants"]["level"] == "missing" and q["hydrants"]["held"]["total"] == 0
    first = q["warnings"][0]
    assert first["code"] == "no_hydrants" and first["severity"] == "error"
    assert "not proof that none exist" in first["message"]


def test_all_statuses_assumed() -> None:
    q = layer_quality(_layers(hydrants=_hydrants(["in_service"] * 10, ["assumed"] * 10)))
    h = q["hydrants"]
    assert h["level"] == "assumed"
    assert h["assumed"] == {"status": 10, "flow_by_preset": 10}  # no flow either: the preset's
    codes = {w["code"]: w for w in q["warnings"]}
    assert codes["statuses_assumed"]["count"] == 10 and codes["statuses_assumed"]["severity"] == "warning"


def test_agency_list_without_status_counts_nothing_and_says_so() -> None:
    # the case: an id,lon,lat agency list gives 6 hydrants of unknown status
    h = _hydrants(["unknown"] * 6, ["agency"] * 6, origin="agency")
    h["source_file"] = "hydrants.csv"
    q = layer_quality(_layers(hydrants=h))
    assert q["hydrants"]["level"] == "missing"  # 6 of 6 unknown, nothing assumed in their place
    assert q["hydrants"]["missing"] == {"status": 6}
    assert q["agency_hydrants"]["held"] == {"rows_used": 6, "rows_rejected": 0}
    assert q["agency_hydrants"]["files"] == ["hydrants.csv"]
    first = q["warnings"][0]
    assert first["code"] == "no_hydrant_in_service" and first["severity"] == "error"


def test_agency_file_with_no_usable_row() -> None:
    rejects = pd.DataFrame({
        "layer": ["hydrants"] * 3 + ["roads"], "file": ["h.csv"] * 3 + ["hand.osm"],
        "row": pd.array([1, 2, 3, None], dtype="Int64"), "column": ["lat"] * 3 + [None],
        "feature_id": ["a", "b", "c", "w1"], "reason": ["latitude out of range"] * 3 + ["no nodes"],
        "value": ["3456789"] * 3 + [None],
    })
    q = layer_quality(_layers(rejects=rejects))
    agency = q["agency_hydrants"]
    assert agency["level"] == "missing" and agency["held"] == {"rows_used": 0, "rows_rejected": 3}
    assert agency["files"] == ["h.csv"]
    assert [w["code"] for w in q["warnings"]] == ["no_agency_rows"]
    assert q["warnings"][0]["count"] == 3


def test_heights_mostly_unknown() -> None:
    # 19 of 20 unknown = 95 % >= 90 %: missing; 10 of 20 = 50 %: partial
    q = layer_quality(_layers(buildings=_buildings(["unknown"] * 19 + ["height"])))
    assert q["buildings"]["level"] == "missing" and q["buildings"]["missing"] == {"height": 19}
    assert [w["code"] for w in q["warnings"]] == ["heights_unknown"]
    half = input_quality(_layers(buildings=_buildings(["unknown"] * 10 + ["levels"] * 10)))
    assert half["buildings"]["level"] == "partial"
    assert half["buildings"]["assumed"] == {"height_from_levels": 10}
    # heights from levels x 3 m only: assumed
    levels = input_quality(_layers(buildings=_buildings(["levels"] * 20)))
    assert levels["buildings"]["level"] == "assumed"


def test_no_stations() -> None:
    q = layer_quality(_layers(stations=_points(0, station_id=[], source=[])))
    assert q["stations"]["level"] == "missing"
    assert [w["code"] for w in q["warnings"]] == ["no_stations"]


def test_reader_notes_are_folded_in() -> None:
    notes = (
        Note("hydrants", "warning", "3 placeholder ids 0-0 replaced by generated ids", 3),
        Note("stations", "info", "column 名称 read as the name"),
    )
    q = layer_quality(_layers(notes=notes))
    assert q["hydrants"]["notes"] == ["3 placeholder ids 0-0 replaced by generated ids"]
    assert q["stations"]["notes"] == ["column 名称 read as the name"]
    # only warnings and errors are loud
    assert [(w["code"], w["input"], w["count"]) for w in q["warnings"]] == [("note", "hydrants", 3)]


def test_no_roads_is_an_error() -> None:
    roads = gpd.GeoDataFrame({"length_m": [], "width_source": []}, geometry=[], crs=CRS)
    q = layer_quality(_layers(roads=roads))
    assert q["roads"]["level"] == "missing"
    assert q["warnings"][0]["code"] == "no_roads" and q["warnings"][0]["severity"] == "error"
