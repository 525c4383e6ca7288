"""数据说明 and "not computed" in every report: summary.json, XLSX, PDF (first page) and map.html."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from pypdf import PdfReader

from api.pipeline import ReportOptions, write_analysis_outputs, write_reports
from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import load_preset
from reports.i18n import value_or_not_computed
from routing.analysis import AnalysisOptions, analyze

CN = load_preset("cn-gb")


def _run(layers: Layers, out: Path, *, lang: str) -> dict[str, Any]:
    result = analyze(layers, preset=CN, options=AnalysisOptions())
    write_analysis_outputs(layers, result, out=out)
    return write_reports(layers, result, out=out, report=ReportOptions(lang=lang))


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: Path) -> Layers:
    return build_layers(read_osm(helsinki_pbf))


@pytest.fixture(scope="module")
def no_stations(helsinki: Layers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("no_stations")
    _run(dataclasses.replace(helsinki, stations=helsinki.stations.iloc[:0]), out, lang="zh")
    return out


@pytest.fixture(scope="module")
def no_hydrants(helsinki: Layers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("no_hydrants")
    _run(dataclasses.replace(helsinki, hydrants=helsinki.hydrants.iloc[:0]), out, lang="en")
    return out


def _pdf_pages(path: Path) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(path).pages]


def test_formatter() -> None:
    assert value_or_not_computed(None, "zh") == "不计算"
    assert value_or_not_computed(float("nan"), "en") == "not computed"
    assert value_or_not_computed(0.0, "en", digits=1, suffix=" %") == "0.0 %"  # a real zero stays 0
    assert value_or_not_computed(12345, "en") == "12,345"


def test_no_stations_summary_is_null(no_stations: Path) -> None:
    s = json.loads((no_stations / "summary.json").read_text(encoding="utf-8"))
    assert s["stations"]["roads_within_limit_pct"] is None
    assert s["stations"]["buildings_within_limit_pct"] is None and s["stations"]["used"] is None
    assert s["quality"]["stations"]["level"] == "missing"
    assert "no_stations" in [w["code"] for w in s["quality"]["warnings"]]


def test_no_stations_xlsx_says_not_computed(no_stations: Path) -> None:
    wb = openpyxl.load_workbook(no_stations / "report.xlsx")
    assert wb.sheetnames[:2] == ["总览", "数据说明"]
    rows = {r[3]: r for r in wb["总览"].iter_rows(min_row=2, values_only=True) if r[3]}
    assert rows["stations.roads_within_limit_pct"][1:3] == ("不计算", None)  # no "%" after it
    assert isinstance(rows["coverage.covered_pct"][1], float)  # computed: a number
    quality = [r for r in wb["数据说明"].iter_rows(values_only=True)]
    assert quality[0][0] == "数据警示"
    messages = [str(r[1]) for r in quality if r[0] == "警示"]
    assert any("没有消防站数据" in m for m in messages)
    stations = next(r for r in quality if r[0] == "消防站")
    assert stations[1] == "缺失" and "出动响应时间" in stations[5]


def test_no_stations_pdf_and_map_say_not_computed(no_stations: Path) -> None:
    pages = _pdf_pages(no_stations / "report.pdf")
    assert "数据警示" in pages[0] and "没有消防站数据" in pages[0]  # on the first page
    assert "道路响应达标率\n 不计算" in pages[0]
    assert "数据说明" in pages[0] + pages[1]
    html = (no_stations / "map.html").read_text(encoding="utf-8")
    # the legend is embedded as a JSON string: non-ASCII characters are \u escapes
    assert json.dumps("不计算")[1:-1] in html
    assert json.dumps("数据说明")[1:-1] in html


def test_no_hydrants_first_page_warns(no_hydrants: Path) -> None:
    s = json.loads((no_hydrants / "summary.json").read_text(encoding="utf-8"))
    assert s["coverage"]["covered_pct"] is None
    assert s["districts"]["severe"] is None and s["districts"]["not_computed"] == s["districts"]["total"]
    assert s["siting"]["proposed"] is None
    first = _pdf_pages(no_hydrants / "report.pdf")[0]
    assert "No hydrants in the study area" in first
    assert "not graded (no hydrant data)" in first
    assert "Coverage\n not computed" in first
    assert "0.0" not in first.split("Coverage")[1][:30]  # never a confident 0 %
    wb = openpyxl.load_workbook(no_hydrants / "report.xlsx")
    assert wb.sheetnames[1] == "Data quality"
    grades = [r[-2] for r in wb["Districts"].iter_rows(min_row=2, values_only=True)][:-1]
    assert grades and set(grades) == {"not computed"}
