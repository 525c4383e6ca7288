"""Hydrant status from OSM tags and the agency/OSM merge rule (10 m, agency wins)."""

from __future__ import annotations

import math

import geopandas as gpd
import pandas as pd
import pyproj
import pytest
import shapely

from geo.errors import ConfigError
from geo.hydrants import (
    HYDRANT_COLUMNS,
    STATUS_NOT_STATED,
    _osm_status,
    diameter_mm,
    merge_hydrants,
    osm_hydrants,
    resolve_missing_status,
)
from geo.osm import read_osm
from tests.conftest import FIXTURES

CRS = "EPSG:32651"


def _hydrants(rows: list[tuple[str, float, float, str]], source: str) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(
        {
            "hydrant_id": [r[0] for r in rows],
            "kind": "pillar",
            "status": [r[3] for r in rows],
            "status_source": "agency" if source == "agency" else "assumed",
            "diameter_mm": 100.0,
            "flow_lps": 15.0,
            "pressure_mpa": 0.2,
            "ref": "",
            "name": "",
            "source": source,
            "source_file": "x",
            "source_crs": "EPSG:4326",
            "osm_id": pd.array(
                [int(r[0].split("/")[1]) if source == "osm" else pd.NA for r in rows], dtype="Int64"
            ),
        },
        columns=HYDRANT_COLUMNS,
    )
    return gpd.GeoDataFrame(
        frame, geometry=shapely.points([(r[1], r[2]) for r in rows]), crs=CRS
    )


def test_merge_within_10_m_agency_wins() -> None:
    osm = _hydrants([("osm/1", 0, 0, "in_service"), ("osm/2", 100, 0, "in_service"),
                     ("osm/3", 200, 0, "in_service")], "osm")
    agency = _hydrants([("A1", 3, 4, "out_of_service"),      # 5 m from osm/1: merged
                        ("A2", 100, 10.5, "low_pressure"),   # 10.5 m from osm/2: separate
                        ("A3", 500, 0, "in_service")], "agency")
    merged = merge_hydrants(osm, agency, merge_distance_m=10.0).set_index("hydrant_id")
    assert sorted(merged.index) == ["A1", "A2", "A3", "osm/2", "osm/3"]
    assert merged.loc["A1", "status"] == "out_of_service"
    assert merged.loc["A1", "osm_id"] == 1
    assert pd.isna(merged.loc["A2", "osm_id"])


def test_one_osm_hydrant_merges_into_one_agency_record() -> None:
    osm = _hydrants([("osm/1", 0, 0, "in_service")], "osm")
    agency = _hydrants([("A1", 2, 0, "in_service"), ("A2", -6, 0, "in_service")], "agency")
    merged = merge_hydrants(osm, agency).set_index("hydrant_id")
    assert sorted(merged.index) == ["A1", "A2"]  # osm/1 went into the nearer A1
    assert merged.loc["A1", "osm_id"] == 1 and pd.isna(merged.loc["A2", "osm_id"])


def test_no_agency_file_keeps_osm() -> None:
    osm = _hydrants([("osm/1", 0, 0, "in_service")], "osm")
    assert len(merge_hydrants(osm, None)) == 1


@pytest.mark.parametrize(
    ("tags", "status"),
    [
        ({}, ("in_service", "assumed")),
        ({"operational_status": "broken"}, ("out_of_service", "tag")),
        ({"disused:emergency": "fire_hydrant"}, ("out_of_service", "tag")),
        ({"fire_hydrant:status": "low_pressure"}, ("low_pressure", "tag")),
        ({"operational_status": "ok"}, ("in_service", "tag")),
        ({"operational_status": "unknown"}, ("unknown", "tag")),
    ],
)
def test_osm_status(tags: dict[str, str], status: tuple[str, str]) -> None:
    assert _osm_status(tags) == status


def test_osm_status_without_tag_follows_the_rule() -> None:
    # the preset's status for hydrants without one; an explicit tag still wins
    assert _osm_status({}, "unknown") == ("unknown", "assumed")
    assert _osm_status({"operational_status": "ok"}, "unknown") == ("in_service", "tag")


def test_osm_hydrants_missing_status() -> None:
    osm = read_osm(FIXTURES / "tiny_compound.osm")
    crs = pyproj.CRS("EPSG:32651")
    # node 6: no status tag; node 42: disused:emergency=fire_hydrant
    default = osm_hydrants(osm, crs=crs).set_index("hydrant_id")
    assert default.loc["osm/6", ["status", "status_source"]].tolist() == ["in_service", "assumed"]
    strict = osm_hydrants(osm, crs=crs, missing_status="unknown").set_index("hydrant_id")
    assert strict.loc["osm/6", ["status", "status_source"]].tolist() == ["unknown", "assumed"]
    assert strict.loc["osm/42", ["status", "status_source"]].tolist() == ["out_of_service", "tag"]
    with pytest.raises(ConfigError, match="'working'; expected one of in_service"):
        osm_hydrants(osm, crs=crs, missing_status="working")


def test_resolve_missing_status_keeps_stated_unknown() -> None:
    rows = [("A", 0.0, 0.0, "in_service"), ("B", 50.0, 0.0, STATUS_NOT_STATED),
            ("C", 100.0, 0.0, "unknown")]
    out = resolve_missing_status(_hydrants(rows, "agency"), missing_status="in_service")
    assert out["status"].tolist() == ["in_service", "in_service", "unknown"]
    assert out["status_source"].tolist() == ["agency", "assumed", "agency"]
    with pytest.raises(ConfigError, match="'ok'; expected one of"):
        resolve_missing_status(_hydrants(rows, "agency"), missing_status="ok")


def test_unstated_agency_status_takes_the_osm_tag() -> None:
    # A (no status) and osm/1 (tagged out of service) are 3 m apart: one hydrant, out of service
    # by the tag; B (no status) and osm/2 (status assumed) are 4 m apart: B stays not stated
    osm = _hydrants([("osm/1", 3.0, 0.0, "out_of_service"), ("osm/2", 504.0, 0.0, "in_service")],
                    "osm")
    osm["status_source"] = ["tag", "assumed"]
    agency = _hydrants([("A", 0.0, 0.0, STATUS_NOT_STATED), ("B", 500.0, 0.0, STATUS_NOT_STATED)],
                       "agency")
    merged = merge_hydrants(osm, agency).set_index("hydrant_id")
    assert merged.loc["A", ["status", "status_source"]].tolist() == ["out_of_service", "tag"]
    assert merged.loc["B", ["status", "status_source"]].tolist() == [STATUS_NOT_STATED, "agency"]
    assert len(merged) == 2


@pytest.mark.parametrize(("raw", "mm"), [("100", 100), ("DN150", 150), ("100 mm", 100), ('4"', 101.6)])
def test_diameter(raw: str, mm: float) -> None:
    assert diameter_mm(raw) == pytest.approx(mm)


def test_diameter_unreadable() -> None:
    assert math.isnan(diameter_mm("big"))


@pytest.mark.parametrize(
    ("tags", "flow", "pressure"),
    [
        ({"flow_capacity": "1500 l/min", "fire_hydrant:pressure": "4 bar"}, 25.0, 0.4),
        ({"flow_capacity": "90 m3/h", "pressure": "0.3 MPa"}, 25.0, 0.3),
        ({"flow_capacity": "15 l/s", "pressure": "300 kPa"}, 15.0, 0.3),
        ({"flow_capacity": "1200"}, 20.0, math.nan),
    ],
)
def test_flow_and_pressure_units(tags: dict[str, str], flow: float, pressure: float) -> None:
    from geo.hydrants import _flow_lps, _pressure_mpa

    assert _flow_lps(tags) == pytest.approx(flow)
    got = _pressure_mpa(tags)
    assert (math.isnan(got) and math.isnan(pressure)) or got == pytest.approx(pressure)
