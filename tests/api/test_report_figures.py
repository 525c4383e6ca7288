"""Every figure of ``report.pdf`` and ``report.xlsx`` checked against ``summary.json`` and the layers.

The analysed Helsinki workspace (``helsinki_workspace``: ``firereach analyze`` with its reports) is
read back as a user gets it: the PDF's text (pypdf) and the XLSX's cells (openpyxl). The expected
figures are worked out here from ``summary.json``, ``layers.gpkg`` and ``districts.gpkg``, with
the report's rounding (km to 2 decimals, percentages to 1, metres to 0, 万元 = yuan / 10,000 to 1);
percentages are recomputed from lengths (covered % = 100 × covered km / street km), never read from
the column they check. The tables are compared row by row and in order, so a dropped row (a
misspelt summary key) fails as surely as a wrong number.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pytest
from pypdf import PdfReader

from reports.districts import OUTSIDE_ID, district_of
from reports.i18n import label

ATTRIBUTION = "© OpenStreetMap contributors"

# The key figures of the PDF title page, in order: summary key, decimals, unit label key.
KEY_FIGURES: tuple[tuple[str, int, str], ...] = (
    ("coverage.road_km", 2, "km"),
    ("coverage.uncovered_km", 2, "km"),
    ("coverage.covered_pct", 1, "pct"),
    ("coverage.underserved_segments", 0, ""),
    ("hydrants.total", 0, ""),
    ("hydrants.in_service", 0, ""),
    ("hydrants.out_of_service", 0, ""),
    ("hydrants.low_pressure", 0, ""),
    ("buildings.high_rise_class1", 0, ""),
    ("buildings.high_rise_class2", 0, ""),
    ("buildings.flow_deficit", 0, ""),
    ("high_rises.noncompliant_access", 0, ""),
    ("stations.roads_within_limit_pct", 1, "pct"),
)

# XLSX overview rows that must be there (a misspelt key drops its row or empties it).
OVERVIEW_KEYS = (
    "roads.km", "coverage.road_km", "coverage.covered_km", "coverage.uncovered_km", "coverage.covered_pct",
    "coverage.underserved_segments", "hydrants.total", "hydrants.in_service", "buildings.high_rise_class1",
    "buildings.high_rise_class2", "buildings.flow_deficit", "stations.roads_within_limit_pct",
    "findings.total", "districts.total", "districts.severe",
)


# ---------------------------------------------------------------------------------------------
# helpers


def _fmt(value: Any, digits: int) -> str:
    """The report's number text: thousands separators, ``digits`` decimals; 不计算 for None/NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return label("not_computed", "zh")
    if digits == 0:
        return f"{round(float(value)):,}"
    return f"{float(value):,.{digits}f}"


def _get(summary: dict[str, Any], key: str) -> Any:
    node: Any = summary
    for part in key.split("."):
        assert isinstance(node, dict) and part in node, f"{key} not in summary.json"
        node = node[part]
    return node


def _pct(part: float, whole: float) -> float | None:
    return 100.0 * part / whole if whole > 0 else None


def _find_run(lines: Sequence[str], run: Sequence[str], start: int = 0) -> int:
    """Index where ``run`` occurs as consecutive ``lines`` (from ``start``); fails with context."""
    n = len(run)
    for i in range(start, len(lines) - n + 1):
        if list(lines[i:i + n]) == list(run):
            return i
    near = next((i for i in range(start, len(lines)) if lines[i] == run[0]), None)
    shown = lines[near:near + n] if near is not None else "first cell not found"
    raise AssertionError(f"PDF rows not found:\n expected {list(run)}\n near     {shown}")


@pytest.fixture(scope="module")
def outputs(helsinki_workspace: Path) -> Iterator[dict[str, Any]]:
    ws = helsinki_workspace
    summary = json.loads((ws / "summary.json").read_text(encoding="utf-8"))
    districts = pyogrio.read_dataframe(ws / "districts.gpkg", layer="district_summary")
    pages = [p.extract_text() or "" for p in PdfReader(ws / "report.pdf").pages]
    lines = [s.strip() for page in pages for s in page.splitlines()
             if s.strip() and ATTRIBUTION not in s and not re.fullmatch(r"第 \d+ 页", s.strip())]
    book = openpyxl.load_workbook(ws / "report.xlsx", read_only=True)  # keeps the file open
    try:
        yield {
            "summary": summary, "districts": districts, "pages": pages, "lines": lines,
            "xlsx": book,
            "layer": lambda name: pyogrio.read_dataframe(ws / "layers.gpkg", layer=name),
        }
    finally:
        book.close()


def _sheet(outputs: dict[str, Any], name: str) -> tuple[list[Any], list[tuple[Any, ...]]]:
    rows = list(outputs["xlsx"][name].iter_rows(values_only=True))
    return list(rows[0]), rows[1:]


# ---------------------------------------------------------------------------------------------
# PDF


def test_pdf_key_figures_equal_summary(outputs: dict[str, Any]) -> None:
    summary, lines = outputs["summary"], outputs["lines"]
    proposed = outputs["layer"]("proposed_hydrants")
    assert summary["coverage"]["covered_pct"] == pytest.approx(
        100 * summary["coverage"]["covered_km"] / summary["coverage"]["road_km"], abs=0.01
    )  # e.g. 100 × 14.766 / 32.282 = 45.74 → "45.7" in the PDF
    run = [label("item", "zh"), label("value", "zh"), label("unit", "zh")]
    for key, digits, unit in KEY_FIGURES:
        run += [label(key, "zh"), _fmt(_get(summary, key), digits)]
        if unit:
            run.append(label(unit, "zh"))
    # the proposed hydrants: their count and cost in 万元 (70 × 15,000 yuan = 1,050,000 → 105.0)
    run += [label("proposed.total", "zh"), _fmt(len(proposed), 0),
            label("cost_10k_yuan", "zh"), _fmt(proposed["cost_cny"].sum() / 1e4, 1)]
    assert len(proposed) == summary["siting"]["proposed"]
    assert proposed["cost_cny"].sum() == pytest.approx(summary["siting"]["cost_cny"])
    _find_run(lines, [label("key_figures", "zh"), *run])
    radius = f"{label('coverage.radius_m', 'zh')} {_fmt(summary['coverage']['radius_m'], 0)}"
    assert radius in outputs["pages"][0]


def test_pdf_grade_counts_equal_districts(outputs: dict[str, Any]) -> None:
    summary, districts = outputs["summary"], outputs["districts"]
    counts = summary["districts"]
    assert counts["total"] == len(districts) == counts["severe"] + counts["significant"] + counts["general"]
    for grade in ("severe", "significant", "general"):
        assert counts[grade] == int((districts["grade"] == grade).sum())
    run = [label("grades_heading", "zh", n=counts["total"])]
    for grade in ("severe", "significant", "general"):
        run += [label(grade, "zh"), str(counts[grade])]
    _find_run(outputs["lines"], run)


def _district_cells(r: dict[str, Any], name: str, grade: str) -> list[str]:
    street = float(r["street_km"])
    return [
        name, _fmt(street, 2), _fmt(r["uncovered_km"], 2), _fmt(_pct(float(r["covered_km"]), street), 1),
        f"{int(r['hydrants_in_service'])}/{int(r['hydrants_total'])}",
        f"{int(r['high_rise_class1'])}/{int(r['high_rise_class2'])}",
        _fmt(r["high_rise_flow_deficit"], 0), _fmt(r["high_rise_no_water"], 0),
        _fmt(_pct(float(r["response_within_km"]), street), 1), _fmt(r["proposed_hydrants"], 0),
        _fmt(float(r["proposed_cost_yuan"]) / 1e4, 1), grade,
    ]


def test_pdf_district_table_equals_districts_and_summary(outputs: dict[str, Any]) -> None:
    summary, districts = outputs["summary"], outputs["districts"]
    assert len(districts) <= 40  # all shown (no "rows left out" note to follow)
    start = _find_run(outputs["lines"], [label("table_districts", "zh")])
    run: list[str] = []
    for r in districts.to_dict("records"):
        name = label("outside_name", "zh") if r["district_id"] == OUTSIDE_ID else str(r["name"])
        run += _district_cells(r, name, label(str(r["grade"]), "zh"))
    cov, siting = summary["coverage"], summary["siting"]
    # the total row: summary.json's figures (32.282 km → "32.28"; 45.74 % → "45.7")
    run += [
        label("total", "zh"), _fmt(cov["road_km"], 2), _fmt(cov["uncovered_km"], 2),
        _fmt(cov["covered_pct"], 1),
        f"{summary['hydrants']['in_service']}/{summary['hydrants']['total']}",
        f"{summary['buildings']['high_rise_class1']}/{summary['buildings']['high_rise_class2']}",
        _fmt(districts["high_rise_flow_deficit"].sum(), 0), _fmt(districts["high_rise_no_water"].sum(), 0),
        _fmt(summary["stations"]["roads_within_limit_pct"], 1), _fmt(siting["proposed"], 0),
        _fmt(siting["cost_cny"] / 1e4, 1),
    ]
    _find_run(outputs["lines"], run, start)
    # the districts add up to the summary (tiles of one grid: nothing counted twice)
    assert districts["street_km"].sum() == pytest.approx(cov["road_km"], abs=0.001)
    assert districts["covered_km"].sum() == pytest.approx(cov["covered_km"], abs=0.001)
    assert int(districts["hydrants_total"].sum()) == summary["hydrants"]["total"]
    # per district, the counts are those of the layers' features placed in it
    hydrants = outputs["layer"]("hydrants_analysis")
    buildings = outputs["layer"]("buildings_analysis")
    in_service = hydrants["status"] == "in_service"
    hydrant_at = district_of(hydrants, districts).to_numpy()
    building_at = district_of(buildings, districts).to_numpy()
    for r in districts.to_dict("records"):
        here = hydrant_at == r["name"]
        assert r["hydrants_total"] == here.sum() and r["hydrants_in_service"] == (here & in_service).sum()
        for cls in ("class1", "class2"):
            n = ((building_at == r["name"]) & (buildings["high_rise_class"] == cls)).sum()
            assert r[f"high_rise_{cls}"] == n, (r["name"], cls)


def test_pdf_worst_streets_equal_underserved_layer(outputs: dict[str, Any]) -> None:
    under = outputs["layer"]("underserved_segments")
    assert len(under) == outputs["summary"]["coverage"]["underserved_segments"]
    under["district"] = district_of(under, outputs["districts"]).to_numpy()
    top = under.sort_values("length_m", ascending=False, kind="stable").head(20)
    run = [label("table_underserved", "zh", n=20), *(label(k, "zh") for k in (
        "rank", "street", "district", "length_m", "n_buildings", "n_high_rises"))]
    for i, r in enumerate(top.to_dict("records"), start=1):
        run += [str(i), str(r["name"] or "") or label("unnamed_street", "zh"), str(r["district"]),
                _fmt(r["length_m"], 0), _fmt(r["n_buildings"], 0), _fmt(r["n_high_rises"], 0)]
    _find_run(outputs["lines"], run)


def test_pdf_proposed_table_equals_siting_layer(outputs: dict[str, Any]) -> None:
    proposed = outputs["layer"]("proposed_hydrants").sort_values("order")
    proposed["district"] = district_of(proposed, outputs["districts"]).to_numpy()
    run = [label("table_proposed", "zh", n=30)]
    for r in proposed.head(30).to_dict("records"):
        street = str(r["name"] or "") or label("unnamed_street", "zh")
        run += [str(int(r["order"])), str(r["candidate_id"]), street, str(r["district"]),
                _fmt(r["cost_cny"], 0), _fmt(r["marginal_m"], 0)]
    start = _find_run(outputs["lines"], run[:1])
    _find_run(outputs["lines"], run[1:], start)


def _quality_cells(summary: dict[str, Any]) -> list[str]:
    """Each input's level and its ``name：n`` counts (zero counts other than totals left out)."""
    cells = []
    for name, entry in summary["quality"].items():
        if name == "warnings":
            continue
        cells.append(label(f"ql.{entry['level']}", "zh"))
        held = entry.get("held", {})
        parts = ["held", "assumed", "missing"]
        if not held.get("total", held.get("edges", 1)):  # nothing held: 无数据 instead of 总数：0
            cells.append(label("no_data", "zh"))
            parts.remove("held")
        for part in parts:
            cells += [f"{label('qk.' + k, 'zh')}：{v}" for k, v in entry.get(part, {}).items()
                      if v or k in ("total", "edges")]
    return cells


def test_pdf_quality_table_equals_summary(outputs: dict[str, Any]) -> None:
    summary = outputs["summary"]
    page = next(p for p in outputs["pages"] if label("quality_heading", "zh") in p)
    flat = re.sub(r"\s+", "", page)
    cells = _quality_cells(summary)
    # e.g. roads: 路段：1131 (summary roads.edges) and 公里：32.282
    assert f"{label('qk.edges', 'zh')}：{summary['roads']['edges']}" in cells
    for cell in cells:
        assert re.sub(r"\s+", "", cell) in flat, cell


# ---------------------------------------------------------------------------------------------
# XLSX


def test_xlsx_overview_equals_summary(outputs: dict[str, Any]) -> None:
    summary = outputs["summary"]
    header, rows = _sheet(outputs, "总览")
    key_col, value_col = header.index("summary.json 键名"), header.index("数值")
    by_key = {r[key_col]: r[value_col] for r in rows if r[key_col]}
    assert set(OVERVIEW_KEYS) <= set(by_key), set(OVERVIEW_KEYS) - set(by_key)
    # the proposed hydrants are counted from their table, under the summary's siting keys:
    # 70 hydrants, 70 × 15,000 = 1,050,000 yuan, as the siting section says
    proposed = outputs["layer"]("proposed_hydrants")
    assert by_key["siting.proposed"] == len(proposed) == summary["siting"]["proposed"]
    assert summary["siting"]["cost_cny"] == pytest.approx(proposed["cost_cny"].sum())
    for key, value in by_key.items():  # _get fails on a key summary.json does not have
        expected = _get(summary, key)
        if expected is None:
            assert value in (None, label("not_computed", "zh")), key
        elif isinstance(expected, int | float) and not isinstance(expected, bool):
            assert value == pytest.approx(expected, rel=1e-9), key
        elif key == "water.model":  # a code, printed as its label
            assert value == label(f"water_model_{expected}", "zh"), key
        else:
            assert str(value) == str(expected), key


_DISTRICT_COLUMNS = {  # XLSX header → districts.gpkg column
    "道路长度（km）": "street_km", "已覆盖（km）": "covered_km", "未覆盖（km）": "uncovered_km",
    "消火栓": "hydrants_total", "在用": "hydrants_in_service", "一类高层": "high_rise_class1",
    "二类高层": "high_rise_class2", "流量不足高层": "high_rise_flow_deficit",
    "无水源高层": "high_rise_no_water",
    "响应达标道路（km）": "response_within_km", "拟建消火栓": "proposed_hydrants",
    "拟建费用（元）": "proposed_cost_yuan",
}


def test_xlsx_district_sheet_equals_districts_and_summary(outputs: dict[str, Any]) -> None:
    summary, districts = outputs["summary"], outputs["districts"]
    header, rows = _sheet(outputs, "分区汇总")
    col = {h: i for i, h in enumerate(header)}
    body, total = rows[:-1], rows[-1]
    assert [r[col["名称"]] for r in body] == districts["name"].tolist()
    for r, d in zip(body, districts.to_dict("records"), strict=True):
        for head, column in _DISTRICT_COLUMNS.items():
            assert r[col[head]] == pytest.approx(d[column]), (d["name"], head)
        street = float(d["street_km"])
        # covered % from lengths, e.g. B1: 100 × 0.5858 / 1.3690 = 42.79
        assert r[col["覆盖率（%）"]] == pytest.approx(_pct(float(d["covered_km"]), street))
        assert r[col["未覆盖率（%）"]] == pytest.approx(_pct(float(d["uncovered_km"]), street))
        assert r[col["响应达标率（%）"]] == pytest.approx(_pct(float(d["response_within_km"]), street))
        assert r[col["缺水等级"]] == label(str(d["grade"]), "zh")
    cov = summary["coverage"]
    assert total[col["名称"]] == label("total", "zh")
    assert total[col["道路长度（km）"]] == pytest.approx(cov["road_km"], abs=0.0005)
    assert total[col["已覆盖（km）"]] == pytest.approx(cov["covered_km"], abs=0.0005)
    assert total[col["未覆盖（km）"]] == pytest.approx(cov["uncovered_km"], abs=0.0005)
    assert total[col["覆盖率（%）"]] == pytest.approx(cov["covered_pct"], abs=0.005)
    assert total[col["消火栓"]] == summary["hydrants"]["total"]
    assert total[col["在用"]] == summary["hydrants"]["in_service"]
    assert total[col["一类高层"]] == summary["buildings"]["high_rise_class1"]
    assert total[col["二类高层"]] == summary["buildings"]["high_rise_class2"]
    response = summary["stations"]["roads_within_limit_pct"]
    assert total[col["响应达标率（%）"]] == pytest.approx(response, abs=0.005)
    assert total[col["拟建消火栓"]] == summary["siting"]["proposed"]
    assert total[col["拟建费用（元）"]] == pytest.approx(summary["siting"]["cost_cny"])


def test_xlsx_underserved_sheet_equals_layer(outputs: dict[str, Any]) -> None:
    under = outputs["layer"]("underserved_segments")
    under["district"] = district_of(under, outputs["districts"]).to_numpy()
    header, rows = _sheet(outputs, "缺水路段")
    col = {h: i for i, h in enumerate(header)}
    assert len(rows) == len(under) == outputs["summary"]["coverage"]["underserved_segments"]
    assert [r[col["排名"]] for r in rows] == list(range(1, len(rows) + 1))
    got = sorted((round(r[col["长度（米）"]], 6), r[col["沿线建筑"]], r[col["沿线高层"]], r[col["所在分区"]],
                  r[col["名称"]] or "") for r in rows)
    want = sorted((round(float(r["length_m"]), 6), int(r["n_buildings"]), int(r["n_high_rises"]),
                   r["district"], r["name"] or "") for r in under.to_dict("records"))
    assert got == want
    lengths = [r[col["长度（米）"]] for r in rows]
    assert lengths == sorted(lengths, reverse=True)  # longest first


def test_xlsx_proposed_and_budget_sheets_equal_siting(outputs: dict[str, Any]) -> None:
    proposed = outputs["layer"]("proposed_hydrants").sort_values("order")
    header, rows = _sheet(outputs, "拟建消火栓")
    col = {h: i for i, h in enumerate(header)}
    assert len(rows) == len(proposed) == outputs["summary"]["siting"]["proposed"]
    cost = proposed["cost_cny"].to_numpy()
    for r, p, running in zip(rows, proposed.to_dict("records"), np.cumsum(cost), strict=True):
        assert r[col["建设顺序"]] == p["order"] and r[col["候选点编号"]] == p["candidate_id"]
        assert r[col["费用（元）"]] == pytest.approx(p["cost_cny"])
        assert r[col["累计投资（元）"]] == pytest.approx(running)  # 15,000, 30,000, 45,000 ...
        assert r[col["新增覆盖（米）"]] == pytest.approx(p["marginal_m"])
    curve = outputs["layer"]("budget_curve")
    header, rows = _sheet(outputs, "投资效益曲线")
    col = {h: i for i, h in enumerate(header)}
    assert len(rows) == len(curve)
    gains = [r[col["新增覆盖（米）"]] for r in rows]
    assert gains == pytest.approx(proposed["marginal_m"].tolist())
    assert [r[col["累计新增覆盖（米）"]] for r in rows] == pytest.approx(np.cumsum(gains).tolist())
    assert [r[col["累计投资（元）"]] for r in rows] == pytest.approx(np.cumsum(cost).tolist())
    # the last step: all proposals built, their gain is the summary's added km (17.469 km)
    assert sum(gains) / 1000 == pytest.approx(outputs["summary"]["siting"]["added_covered_km"], abs=0.0005)


def test_xlsx_buildings_and_findings_sheets_equal_layers(outputs: dict[str, Any]) -> None:
    b = outputs["layer"]("buildings_analysis")
    short = (np.nan_to_num(b["flow_deficit_lps"].to_numpy(dtype=float)) > 0) | (b["hydrants_in_range"] == 0)
    header, rows = _sheet(outputs, "缺水建筑")
    col = {h: i for i, h in enumerate(header)}
    expected = b.loc[short].set_index("building_id")
    assert sorted(r[col["建筑编号"]] for r in rows) == sorted(expected.index)
    for r in rows:
        e = expected.loc[r[col["建筑编号"]]]
        assert r[col["范围内消火栓"]] == e["hydrants_in_range"]
        for head, column in (("流量缺口（L/s）", "flow_deficit_lps"), ("高度（米）", "height_m")):
            if pd.isna(e[column]):
                assert r[col[head]] is None, head
            else:
                assert r[col[head]] == pytest.approx(e[column]), head
    findings = outputs["layer"]("findings")
    header, rows = _sheet(outputs, "问题清单")
    col = {h: i for i, h in enumerate(header)}
    assert len(rows) == len(findings) == outputs["summary"]["findings"]["total"]
    assert [r[col["要素编号"]] for r in rows] == findings["feature_id"].tolist()
    assert [r[col["条款"]] for r in rows] == findings["clause"].tolist()


def test_xlsx_quality_sheet_equals_summary(outputs: dict[str, Any]) -> None:
    _, rows = _sheet(outputs, "数据说明")
    flat = re.sub(r"\s+", "", "".join(str(c) for r in rows for c in r if c is not None))
    for cell in _quality_cells(outputs["summary"]):
        assert re.sub(r"\s+", "", cell) in flat, cell
