"""One district's report: the city's tables cut to one unit, its figures from its own row."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.errors import NotFoundError
from reports.build import build_reports
from reports.district_report import find_district, one_district
from tests.reports.test_districts import CRS, helsinki_analysis


def _districts() -> pd.DataFrame:
    """Two units and the outside row: A1 has 2 km of street, 0.5 km uncovered (75 % covered)."""
    return pd.DataFrame({
        "district_id": ["A1", "B1", "outside"], "name": ["A1", "B1", ""],
        "unit": ["grid", "grid", "outside"], "street_km": [2.0, 1.0, 0.1],
        "covered_km": [1.5, 1.0, 0.0], "uncovered_km": [0.5, 0.0, 0.1],
        "covered_pct": [75.0, 100.0, 0.0], "hydrants_total": [3, 1, 0], "hydrants_in_service": [2, 1, 0],
        "high_rise_class1": [1, 0, 0], "high_rise_class2": [0, 0, 0],
        "response_within_pct": [np.nan, 100.0, np.nan], "grade": ["significant", "general", "general"],
    })


def _points(ids: list[str], districts: list[str], **cols: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ids, "district": districts, **cols},
                            geometry=[shapely.Point(i, 0) for i in range(len(ids))], crs=CRS)


def test_one_district_on_paper() -> None:
    buildings = _points(["b1", "b2", "b3"], ["A1", "A1", "B1"], building_id=["b1", "b2", "b3"],
                        flow_deficit_lps=[5.0, 0.0, 10.0], hydrants_in_range=[0, 2, 1],
                        high_rise_class=["class1", "", ""])
    underserved = _points(["u"], ["A1"], rank=[1])
    proposed = _points(["p1", "p2", "p3"], ["B1", "A1", "A1"], candidate_id=[7, 4, 9],
                       cost_cny=[15_000.0] * 3)
    curve = pd.DataFrame({"order": [1, 2, 3], "candidate_id": [7, 4, 9], "marginal_m": [300.0, 400.0, 200.0],
                          "cost_cny": [15_000.0] * 3})
    findings = pd.DataFrame({"layer": ["buildings", "buildings", "underserved_segments", "spacing_gaps",
                                       "spacing_gaps"],
                             "feature_id": ["b1", "b3", "underserved/1", "gap/0", "gap/1"]})
    city = {"coverage": {"radius_m": 150.0, "road_km": 3.1}, "stations": {"limit_s": 300.0, "total": 4},
            "source": {"osm": "x.osm"}}
    one = one_district(
        "A1", summary=city, districts=_districts(),
        tables={"underserved": underserved, "buildings": buildings, "blockages": None, "proposed": proposed},
        spacing_districts=np.array(["B1", "A1"], dtype=object), findings=findings, budget_curve=curve,
    )
    s = one.summary
    assert s["coverage"] == {"radius_m": 150.0, "road_km": 2.0, "covered_km": 1.5, "uncovered_km": 0.5,
                             "covered_pct": 75.0, "underserved_segments": 1}
    assert s["hydrants"]["total"] == 3 and s["hydrants"]["in_service"] == 2
    assert s["hydrants"]["low_pressure"] is None  # no such column: not computed, never 0
    assert s["buildings"] == {"total": 2, "high_rise": 1, "high_rise_class1": 1, "high_rise_class2": 0,
                              "without_hydrant_in_range": 1, "flow_deficit": 1}
    # A1 has no response figure (NaN): not computed; the city's 4 stations are not the district's
    assert s["stations"] == {"limit_s": 300.0, "roads_within_limit_pct": None}
    assert s["source"] == {"osm": "x.osm"}
    assert one.districts["name"].tolist() == ["A1"]
    assert one.findings["feature_id"].tolist() == ["b1", "underserved/1", "gap/1"]
    assert one.proposed is not None and one.proposed["candidate_id"].tolist() == [4, 9]
    # the district's hydrants in the proposal's build order: 400 m, then 200 m, capped at A1's 500 m gap
    assert one.budget_curve is not None
    assert one.budget_curve["order"].tolist() == [1, 2]
    assert one.budget_curve["cumulative_m"].tolist() == [400.0, 500.0]
    assert one.budget_curve["cumulative_cost_cny"].tolist() == [15_000.0, 30_000.0]


def test_unknown_district_lists_the_valid_ones() -> None:
    with pytest.raises(NotFoundError, match=r"no district 'C9'; districts: A1, B1$"):
        find_district(_districts(), "C9")
    with pytest.raises(NotFoundError):
        find_district(_districts(), "outside")  # not a district


def test_build_reports_for_one_district(tmp_path: Path) -> None:
    layers, analysis = helsinki_analysis()
    city = build_reports(layers, analysis, out_dir=tmp_path / "city", lang="en")
    table = gpd.read_file(tmp_path / "city" / "districts.gpkg", layer="district_summary")
    row = table.loc[table["street_km"].idxmax()]
    one = build_reports(layers, analysis, out_dir=tmp_path / "one", lang="en", district=str(row["name"]))
    assert city["districts"]["total"] > 1 and one["districts"]["total"] == 1
    sheet = pd.read_excel(tmp_path / "one" / "report.xlsx", sheet_name="Districts")
    assert sheet["Name"].tolist() == [row["name"], "Total"]
    overview = openpyxl.load_workbook(tmp_path / "one" / "report.xlsx")["Overview"]
    figures = {r[3]: r[1] for r in overview.iter_rows(values_only=True)}
    assert figures["coverage.road_km"] == pytest.approx(row["street_km"], abs=1e-3)
    assert figures["coverage.uncovered_km"] == pytest.approx(row["uncovered_km"], abs=1e-3)
    with pytest.raises(NotFoundError, match="no district 'nope'"):
        build_reports(layers, analysis, out_dir=tmp_path / "bad", district="nope")
