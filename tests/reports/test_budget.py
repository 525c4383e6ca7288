"""Outputs sized for people: map.html, report.xlsx and report.pdf within their budgets."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from geo.errors import ConfigError
from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import load_preset
from reports.budget import MAP_MAX_POINTS, OutputBudget, capped
from reports.build import build_reports
from reports.i18n import label
from reports.map import render_map, write_map_html
from routing.analysis import Analysis, AnalysisOptions, analyze


def test_capped_keeps_the_first_rows_and_counts_the_rest() -> None:
    frame = pd.DataFrame({"rank": [1, 2, 3, 4, 5]})
    shown, left = capped(frame, 3)
    assert shown["rank"].tolist() == [1, 2, 3] and left == 2  # 5 rows - 3 kept = 2 left out
    shown, left = capped(frame, 5)
    assert len(shown) == 5 and left == 0
    with pytest.raises(ConfigError, match="row budget"):
        capped(frame, -1)


@pytest.fixture(scope="module")
def helsinki(helsinki_pbf: Path) -> tuple[Layers, Analysis]:
    """The embedded default: one hydrant out of service, two at low pressure, the rest in service."""
    layers = build_layers(read_osm(helsinki_pbf))
    hyd = layers.hydrants.copy()
    hyd.loc[0, "status"] = "out_of_service"
    hyd.loc[1:2, "status"] = "low_pressure"
    layers = dataclasses.replace(layers, hydrants=hyd)
    return layers, analyze(layers, preset=load_preset("cn-gb"))


def _collections(page: str) -> list[dict[str, Any]]:
    """The GeoJSON feature collections folium put into the page, in order."""
    return [json.loads(m.group(1)) for m in re.finditer(r"_add\((\{\"features\".*?)\);\n", page)]


def test_small_area_within_the_default_budget_is_drawn_whole(helsinki: tuple[Layers, Analysis]) -> None:
    layers, analysis = helsinki
    page = render_map(layers, analysis=analysis, lang="en")
    assert "not drawn" not in page and "fr-cut\\" not in page  # no note: nothing left out
    n = sum(len(c["features"]) for c in _collections(page))
    # every street and footprint, every hydrant (37 < MAP_MAX_POINTS), every gap and piece
    assert len(analysis.layers["hydrants_analysis"]) < MAP_MAX_POINTS
    assert n >= len(layers.roads) + len(layers.buildings) + len(analysis.layers["hydrants_analysis"])


def test_map_over_budget_draws_the_worst_and_says_what_it_left_out(
    helsinki: tuple[Layers, Analysis], tmp_path: Path
) -> None:
    layers, analysis = helsinki
    budget = OutputBudget(map_max_lines=100, map_max_polygons=10, map_max_points=5)
    path = write_map_html(tmp_path / "map.html", layers=layers, analysis=analysis, lang="en", budget=budget)
    page = path.read_text(encoding="utf-8")
    streets, hydrants = len(layers.roads), len(analysis.layers["hydrants_analysis"])
    # the note: 1,131 streets - 100 drawn = 1,031 left out; 37 hydrants - 1 out of service
    # - 2 low pressure = 34 in service left out (more than 5 hydrants: only those that matter)
    assert f"Basemap: streets: {streets - 100:,} not drawn" in page
    assert f"Hydrants: in service: {hydrants - 3:,} not drawn" in page
    assert "layers.gpkg" in page and "firereach serve" in page
    gaps = analysis.layers["underserved_segments"]
    ranks = sorted(
        int(f["properties"]["rank"].replace(",", ""))
        for c in _collections(page) for f in c["features"] if "rank" in f["properties"]
        and "street" in f["properties"] and "n_buildings" in f["properties"]
    )
    assert ranks == list(range(1, min(100, len(gaps)) + 1))  # the worst ranked stretches
    zh = render_map(layers, analysis=analysis, budget=budget)
    # folium writes the legend as a JSON string, non-ASCII escaped
    assert json.dumps("大城市精简显示")[1:-1] in zh and json.dumps("未画出")[1:-1] in zh


def test_capped_xlsx_sheets_and_pdf_table_say_what_they_left_out(
    helsinki: tuple[Layers, Analysis], tmp_path: Path
) -> None:
    layers, analysis = helsinki
    n_gaps = len(analysis.layers["underserved_segments"])
    assert n_gaps > 5
    build_reports(layers, analysis, out_dir=tmp_path, lang="en",
                  budget=OutputBudget(xlsx_max_rows=5, pdf_max_district_rows=1))
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    rows = list(wb[label("sheet_underserved", "en")].iter_rows(values_only=True))
    wb.close()  # a read-only workbook keeps its file open until closed
    # header + 5 data rows + blank + the note
    assert [r[0] for r in rows[1:6]] == [1, 2, 3, 4, 5]
    assert rows[-1][0] == label("rows_left_out", "en", shown=5, left=n_gaps - 5,
                                where="layers.gpkg (underserved_segments)")
    assert len(rows) == 8
    assert len(PdfReader(tmp_path / "report.pdf").pages) <= 20


@pytest.mark.slow
def test_tiled_100k_city_outputs_stay_within_budget(tmp_path: Path) -> None:
    from benchmarks.bench_live import tiled_layers

    layers = tiled_layers(100_000)
    analysis = analyze(layers, preset=load_preset("cn-gb"), options=AnalysisOptions(siting=False))
    assert len(layers.roads) > 90_000
    build_reports(layers, analysis, out_dir=tmp_path, lang="en", budget=OutputBudget(xlsx_max_rows=5_000))
    path = write_map_html(tmp_path / "map.html", layers=layers, analysis=analysis, lang="en")
    assert path.stat().st_size < 12_000_000  # the ~25 MB budget of a 1M-edge city, with room
    page = path.read_text(encoding="utf-8")
    assert "not drawn" in page and "layers.gpkg" in page
    wb = openpyxl.load_workbook(tmp_path / "report.xlsx", read_only=True)
    ws = wb[label("sheet_underserved", "en")]
    last = [r for r in ws.iter_rows(values_only=True) if r and r[0] is not None][-1]
    wb.close()
    n_gaps = len(analysis.layers["underserved_segments"])
    assert n_gaps > 5_000 and last[0] == label(
        "rows_left_out", "en", shown=5_000, left=n_gaps - 5_000, where="layers.gpkg (underserved_segments)")
    assert len(PdfReader(tmp_path / "report.pdf").pages) <= 30
