"""The XLSX report read back: sheets, headers, formats, and figures equal to the summary and inputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from geo.errors import ConfigError
from reports.districts import (
    DistrictInputs,
    GradeThresholds,
    aggregate_districts,
    district_summary,
    report_units,
)
from reports.i18n import label
from reports.inputs import ReportInputs
from reports.present import summary_document
from reports.xlsx import write_report_xlsx
from tests.reports.test_districts import CRS, _districts, _inputs, helsinki_analysis

ZH_SHEETS = [
    "总览", "数据说明", "分区汇总", "缺水路段", "缺水建筑", "通道占堵排名", "拟建消火栓", "投资效益曲线",
    "问题清单",
]


def _summary(layers: Any, analysis: Any) -> dict[str, Any]:
    return summary_document(layers, analysis)  # as summary.json has it


@pytest.fixture(scope="module")
def helsinki_xlsx(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], Any, Any]:
    layers, analysis = helsinki_analysis()
    districts = district_summary(layers, analysis)
    summary = _summary(layers, analysis)
    path = tmp_path_factory.mktemp("xlsx") / "report.xlsx"
    write_report_xlsx(path, ReportInputs(
        summary=summary, districts=districts, underserved=analysis.layers["underserved_segments"],
        buildings=analysis.layers["buildings_analysis"], findings=analysis.findings,
    ))
    return path, summary, districts, analysis


def _rows(ws: Any) -> list[tuple[Any, ...]]:
    return list(ws.iter_rows(values_only=True))


def test_sheets_headers_and_layout(helsinki_xlsx: tuple[Path, dict[str, Any], Any, Any]) -> None:
    path, _, _, _ = helsinki_xlsx
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ZH_SHEETS
    ws = wb["分区汇总"]
    header = [c.value for c in ws[1]]
    assert header[:2] == ["名称", "分区编号"]
    assert "道路长度（km）" in header and "缺水等级" in header
    assert ws.freeze_panes == "B2"
    assert wb["问题清单"].freeze_panes == "A2"
    km = header.index("道路长度（km）") + 1
    assert ws.cell(row=2, column=km).number_format == "#,##0.000"
    assert ws.column_dimensions["A"].width >= 8
    # the header styled, the table filtered, each grade filled, the total row bold and shaded
    assert ws.cell(row=1, column=1).font.b and ws.cell(row=1, column=1).fill.fgColor.rgb.endswith("1A3D6B")
    n = ws.max_row
    assert ws.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(len(header))}{n - 1}"
    grade = header.index("缺水等级") + 1
    fills = {"严重": "F4B6AD", "较重": "FAD3A8", "一般": "D5E8C4"}
    graded = [(c.value, c.fill.fgColor.rgb) for c in ws[openpyxl.utils.get_column_letter(grade)][1:n - 1]]
    assert any(v in fills for v, _ in graded), graded
    assert all(rgb.endswith(fills[v]) for v, rgb in graded if v in fills), graded
    assert all(c.font.b and c.fill.fgColor.rgb.endswith("DFE6EF") for c in ws[n])
    assert ws.cell(row=n, column=km).number_format == "#,##0.000"  # the total keeps its format
    # text is never a formula, a missing value is an empty cell
    assert all(not (isinstance(v, str) and v.startswith("=")) for row in _rows(ws) for v in row)
    # optional tables that were not given still have their sheet, saying so
    assert _rows(wb["通道占堵排名"]) == [("未提供",)]
    # no temporary file left beside the report
    assert [p.name for p in path.parent.iterdir()] == ["report.xlsx"]


def test_overview_equals_summary(helsinki_xlsx: tuple[Path, dict[str, Any], Any, Any]) -> None:
    path, summary, districts, _ = helsinki_xlsx
    overview = pd.read_excel(path, sheet_name="总览")
    assert overview.columns[:4].tolist() == ["项目", "数值", "单位", "summary.json 键名"]
    keyed = overview.dropna(subset=["summary.json 键名"])
    by_key = dict(zip(keyed["summary.json 键名"], keyed["数值"], strict=True))
    assert by_key["coverage.covered_pct"] == pytest.approx(summary["coverage"]["covered_pct"])
    assert by_key["coverage.uncovered_km"] == pytest.approx(summary["coverage"]["uncovered_km"])
    assert by_key["hydrants.total"] == summary["hydrants"]["total"]
    assert by_key["buildings.flow_deficit"] == summary["buildings"]["flow_deficit"]
    assert by_key["findings.total"] == summary["findings"]["total"]
    assert by_key["districts.total"] == len(districts)
    assert by_key["districts.severe"] == int((districts["grade"] == "severe").sum())


def test_district_sheet_adds_up_to_summary(helsinki_xlsx: tuple[Path, dict[str, Any], Any, Any]) -> None:
    path, summary, districts, _ = helsinki_xlsx
    sheet = pd.read_excel(path, sheet_name="分区汇总")
    body, total = sheet.iloc[:-1], sheet.iloc[-1]
    assert total["名称"] == "合计"
    assert len(body) == len(districts)
    assert total["道路长度（km）"] == pytest.approx(summary["coverage"]["road_km"], abs=0.002)
    assert total["未覆盖（km）"] == pytest.approx(summary["coverage"]["uncovered_km"], abs=0.002)
    assert total["覆盖率（%）"] == pytest.approx(summary["coverage"]["covered_pct"], abs=0.01)
    assert total["消火栓"] == summary["hydrants"]["total"]
    assert total["在用"] == summary["hydrants"]["in_service"]
    assert total["一类高层"] == summary["buildings"]["high_rise_class1"]
    assert total["二类高层"] == summary["buildings"]["high_rise_class2"]
    assert total["响应达标率（%）"] == pytest.approx(summary["stations"]["roads_within_limit_pct"], abs=0.02)
    assert set(body["缺水等级"]) <= {"严重", "较重", "一般"}
    # per district the figures are the district table's
    first = districts.iloc[0]
    assert body["道路长度（km）"].iloc[0] == pytest.approx(first["street_km"])
    assert body["名称"].iloc[0] == first["name"]


def test_tables_equal_inputs(helsinki_xlsx: tuple[Path, dict[str, Any], Any, Any]) -> None:
    path, summary, _, analysis = helsinki_xlsx
    findings = pd.read_excel(path, sheet_name="问题清单")
    assert len(findings) == len(analysis.findings) == summary["findings"]["total"]
    assert set(findings["严重性"]) <= {"应（强制）", "宜（推荐）"}
    assert findings["条款"].tolist() == analysis.findings["clause"].tolist()
    under = pd.read_excel(path, sheet_name="缺水路段")
    assert len(under) == summary["coverage"]["underserved_segments"]
    expected = analysis.layers["underserved_segments"]["length_m"].sum()
    assert under["长度（米）"].sum() == pytest.approx(expected)
    b = analysis.layers["buildings_analysis"]
    short = (np.nan_to_num(b["flow_deficit_lps"]) > 0) | (b["hydrants_in_range"] == 0)
    buildings = pd.read_excel(path, sheet_name="缺水建筑")
    assert len(buildings) == int(short.sum())
    assert set(buildings["建筑编号"]) == set(b.loc[short, "building_id"])
    # high-rises first
    classes = buildings["高层分类"].tolist()
    high = [c in ("一类高层", "二类高层") for c in classes]
    assert high == sorted(high, reverse=True)


def _optional_tables() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    blockages = gpd.GeoDataFrame(
        {"blockage_id": ["b1", "b2", "b3"], "kind": ["gate", "goods", "parked_vehicle"],
         "status": ["reported", "closed", "assigned"], "impact": [2.0, 9.0, 5.0],
         "reported_at": pd.to_datetime(["2024-05-01", "2024-05-02", "2024-05-03"])},
        geometry=shapely.points([(500, 500), (600, 500), (1500, 500)]), crs=CRS,
    )
    proposed = gpd.GeoDataFrame(
        {"hydrant_id": ["p1", "p2"], "cost_yuan": [50_000.0, 60_000.0], "gain_m": [300.0, 200.0]},
        geometry=shapely.points([(1700, 500), (1800, 500)]), crs=CRS,
    )
    curve = pd.DataFrame({"hydrants": [0, 1, 2], "cumulative_cost_yuan": [0.0, 50_000.0, 110_000.0],
                          "covered_pct": [83.3, 90.0, 96.7]})
    return blockages, proposed, curve


def test_optional_tables_and_english(tmp_path: Path) -> None:
    blockages, proposed, curve = _optional_tables()
    inputs: DistrictInputs = _inputs(blockages=blockages, proposed=proposed)
    units = report_units(_districts({"a": (shapely.box(0, 0, 1000, 1000), 8),
                                     "b": (shapely.box(1000, 0, 2000, 1000), 8)}), roads=inputs.roads)
    districts = aggregate_districts(units, inputs)
    path = tmp_path / "en.xlsx"
    findings = pd.DataFrame({"layer": ["buildings"], "feature_id": ["x"], "rule_id": ["r"], "clause": ["c"],
                             "severity": ["shall"], "confidence": ["verified"], "value": [1.0],
                             "limit": [0.0], "message": ["m"]})
    write_report_xlsx(path, ReportInputs(
        summary={"coverage": {"covered_pct": 83.33}}, districts=districts,
        underserved=gpd.GeoDataFrame(
            {"rank": [1], "name": ["四平路"], "length_m": [500.0], "n_buildings": [2], "n_high_rises": [0],
             "way_ids": ["[1]"]},
            geometry=[shapely.LineString([(1500, 500), (2000, 500)])], crs=CRS,
        ),
        buildings=inputs.buildings.assign(building_id=["w1", "w2", "w3", "w4"]),
        findings=findings, blockages=blockages, proposed=proposed, budget_curve=curve,
    ), lang="en")
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Overview" and "Blockage ranking" in wb.sheetnames
    ranking = pd.read_excel(path, sheet_name="Blockage ranking")
    assert ranking["Blockage id"].tolist() == ["b2", "b3", "b1"]  # by impact
    assert ranking["Rank"].tolist() == [1, 2, 3]
    assert ranking["Status"].tolist() == ["closed", "assigned", "reported"]
    assert ranking["Longitude"].between(112, 113).all()  # x near 0 in UTM 50N: 4.5° west of 117°E
    prop = pd.read_excel(path, sheet_name="Proposed hydrants")
    assert prop["Cost (yuan)"].sum() == pytest.approx(110_000.0)
    assert wb["Proposed hydrants"].cell(row=2, column=prop.columns.get_loc("Cost (yuan)") + 1).number_format \
        == "#,##0"
    budget = pd.read_excel(path, sheet_name="Budget curve")
    assert budget["Cumulative cost (yuan)"].tolist() == [0, 50_000, 110_000]
    sheet = pd.read_excel(path, sheet_name="Districts")
    assert sheet["Proposed cost (yuan)"].iloc[-1] == pytest.approx(110_000.0)
    assert sheet["Blockages"].iloc[-1] == 3
    # the hydrant at (5000, 5000) is outside both districts: its own row, so the total still adds up
    assert sheet["Name"].tolist() == ["区a", "区b", "Outside the districts", "Total"]
    assert sheet["Water-shortage grade"].iloc[:-1].tolist() == ["severe", "significant", "general"]
    assert sheet["Hydrants"].iloc[-1] == 4
    rows = wb["Overview"].iter_rows(values_only=True)
    rule = [row for row in rows if row[0] == "Water-shortage grading rule"]
    assert len(rule) == 1 and rule[0][1] == GradeThresholds().describe("en")  # printed = the code's rule
    overview = pd.read_excel(path, sheet_name="Overview")
    cost = overview.loc[overview["summary.json key"] == "siting.cost_cny", "Value"].iloc[0]
    assert cost == pytest.approx(110_000.0)


def test_bad_language_writes_nothing(tmp_path: Path) -> None:
    empty = pd.DataFrame()
    with pytest.raises(ConfigError, match="zh"):
        write_report_xlsx(tmp_path / "x.xlsx", ReportInputs(
            summary={}, districts=empty, underserved=empty, buildings=empty, findings=empty,
        ), lang="fr")
    assert not list(tmp_path.iterdir())
    assert label("severe", "zh") == "严重"


def test_routing_tables_ranked_and_ordered(tmp_path: Path) -> None:
    """routing.blockages ranks (1 = worst, closed unranked) and routing.siting orders proposals."""
    blockages = gpd.GeoDataFrame(
        {"blockage_id": ["x", "y", "z"], "status": ["closed", "reported", "assigned"],
         "score": [np.nan, 1.0, 7.0], "rank": [np.nan, 2.0, 1.0], "effect": ["none", "narrowed", "full"]},
        geometry=shapely.points([(500, 500), (600, 500), (1500, 500)]), crs=CRS,
    )
    proposed = gpd.GeoDataFrame(
        {"order": [2, 1], "candidate_id": [3, 7], "cost_cny": [20_000.0, 15_000.0],
         "marginal_m": [100.0, 200.0]},
        geometry=shapely.points([(1800, 500), (1700, 500)]), crs=CRS,
    )
    inputs = _inputs(blockages=blockages, proposed=proposed)
    units = report_units(_districts({"a": (shapely.box(0, 0, 1000, 1000), 8),
                                     "b": (shapely.box(1000, 0, 2000, 1000), 8)}), roads=inputs.roads)
    path = write_report_xlsx(tmp_path / "r.xlsx", ReportInputs(
        summary={}, districts=aggregate_districts(units, inputs),
        underserved=pd.DataFrame({"rank": [], "name": [], "length_m": []}),
        buildings=inputs.buildings.assign(building_id=["w1", "w2", "w3", "w4"]),
        findings=pd.DataFrame({"rule_id": []}), blockages=blockages, proposed=proposed,
    ))
    ranking = pd.read_excel(path, sheet_name="通道占堵排名")
    assert ranking["占堵编号"].tolist() == ["z", "y", "x"]
    assert ranking["影响方式"].tolist() == ["完全阻断", "变窄（可通行）", "不计（已整改等）"]
    assert ranking["影响评分"].iloc[:2].tolist() == [7.0, 1.0]
    prop = pd.read_excel(path, sheet_name="拟建消火栓")
    assert prop["建设顺序"].tolist() == [1, 2]
    assert prop["候选点编号"].tolist() == [7, 3]
    assert prop["费用（元）"].tolist() == [15_000, 20_000]
