"""The PDF report: Chinese text extractable, pages rendered and not blank, the font shipped and complete."""

from __future__ import annotations

import shutil
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from PIL import Image
from pypdf import PdfReader
from reportlab.pdfbase.ttfonts import TTFont

from reports import charts
from reports.build import build_reports
from reports.districts import GradeThresholds, aggregate_districts, report_units
from reports.i18n import LABELS, all_label_text
from reports.inputs import MapInputs, ReportInputs
from reports.pdf import write_report_pdf
from tests.conftest import missing
from tests.reports.test_districts import CRS, _districts, _inputs, helsinki_analysis

FONTS = Path(charts.__file__).parent / "fonts"
ATTRIBUTION = "© OpenStreetMap contributors"
RULE = GradeThresholds(severe_uncovered_pct=60.0, min_street_km=0.75, high_rise_water_is_significant=False)


def _optional(analysis: Any) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """Small blockage, proposal and budget tables on the Helsinki streets (their modules are not here yet)."""
    roads = analysis.layers["roads_analysis"]
    pieces = analysis.layers["coverage_pieces"]
    gaps = pieces.loc[~pieces["covered"]].geometry.to_numpy()[:12]
    proposed = gpd.GeoDataFrame(
        {"hydrant_id": [f"P{i}" for i in range(len(gaps))], "cost_yuan": np.full(len(gaps), 45_000.0),
         "gain_m": np.linspace(300, 100, len(gaps))},
        geometry=shapely.line_interpolate_point(gaps, 0.5, normalized=True), crs=roads.crs,
    )
    spots = roads.geometry.to_numpy()[::100]
    blockages = gpd.GeoDataFrame(
        {"blockage_id": [f"B{i}" for i in range(len(spots))], "kind": "parked_vehicle",
         "status": ["reported", "closed"] * (len(spots) // 2) + ["assigned"] * (len(spots) % 2),
         "impact": np.arange(len(spots), dtype=float)},
        geometry=shapely.line_interpolate_point(spots, 0.5, normalized=True), crs=roads.crs,
    )
    cost = np.cumsum(proposed["cost_yuan"].to_numpy())
    covered = (analysis.summary["coverage"]["covered_m"] + np.cumsum(proposed["gain_m"].to_numpy())) / 1000
    curve = pd.DataFrame({"hydrants": np.arange(1, len(gaps) + 1), "cumulative_cost_yuan": cost,
                          "covered_pct": 100 * covered / (analysis.summary["coverage"]["road_m"] / 1000)})
    return blockages, proposed, curve


@pytest.fixture(scope="module")
def helsinki_reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    layers, analysis = helsinki_analysis()
    blockages, proposed, curve = _optional(analysis)
    out = tmp_path_factory.mktemp("reports")
    result = build_reports(layers, analysis, out_dir=out, blockages=blockages, proposed=proposed,
                           budget_curve=curve, area_name="赫尔辛基市中心")
    return out, result


def _pages_png(pdf: Path, tmp: Path, dpi: int = 40) -> list[np.ndarray]:
    if shutil.which("pdftoppm") is None:
        missing("pdftoppm (Debian poppler-utils) not installed: run `bash scripts/ensure-chromium.sh`")
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(tmp / "page")], check=True)
    return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(tmp.glob("page-*.png"))]


def test_font_shipped_with_licence_and_small() -> None:
    font = charts.font_path()
    assert font.parent == FONTS and font.exists()
    assert font.stat().st_size <= 3.2e6
    assert "Apache License" in (FONTS / "LICENSE-Apache-2.0.txt").read_text(encoding="utf-8")
    assert "WenQuanYi" in (FONTS / "README.md").read_text(encoding="utf-8")


def test_font_has_every_label_character() -> None:
    face = TTFont("check", str(charts.font_path())).face
    missing = sorted({c for c in all_label_text() if ord(c) not in face.charToGlyph and c != "\n"})
    assert missing == [], f"rebuild the font (reports/fonts/subset_font.py): missing {missing}"
    # all of GB 2312's hanzi and common names outside it
    for c in "消火栓严重较重一般璟堃喆浜泾（），。：；≥≤²©":
        assert ord(c) in face.charToGlyph, c


def test_labels_have_both_languages() -> None:
    for key, (zh, en) in LABELS.items():
        assert zh and en, key


def test_build_reports_returns_summary(helsinki_reports: tuple[Path, dict[str, Any]]) -> None:
    out, result = helsinki_reports
    d = result["districts"]
    assert d["total"] == d["severe"] + d["significant"] + d["general"] > 0
    assert d["unit"] == "grid"
    assert sorted(p.name for p in out.iterdir()) == ["districts.gpkg", "report.pdf", "report.xlsx"]
    table = gpd.read_file(out / "districts.gpkg", layer="district_summary")
    assert len(table) == d["total"]


def test_pdf_text_is_chinese_and_attributed(helsinki_reports: tuple[Path, dict[str, Any]]) -> None:
    out, _ = helsinki_reports
    reader = PdfReader(out / "report.pdf")
    texts = [p.extract_text() or "" for p in reader.pages]
    assert len(texts) >= 8  # title, 5 maps, charts, tables
    first = texts[0]
    assert "消防水源覆盖与补建评估报告" in first
    assert "赫尔辛基市中心" in first
    assert "缺水等级" in first and "严重" in first and "主要指标" in first
    whole = "\n".join(texts)
    for heading in ("消火栓保护范围缺口", "分区缺水等级", "消火栓状态", "生命通道占堵点", "拟建消火栓",
                    "图表", "分区汇总", "缺水路段"):
        assert heading in whole, heading
    assert all(ATTRIBUTION in t for t in texts)  # page footer on every page
    assert reader.metadata is not None and reader.metadata.title == "消防水源覆盖与补建评估报告"
    # the shipped font is embedded (a subset), not a system font
    fonts = set()
    for page in reader.pages:
        res = page["/Resources"]["/Font"]
        for ref in res.values():
            font = ref.get_object()
            fonts.add(str(font["/BaseFont"]))
    assert any("WenQuanYi" in f or "FireReach" in f for f in fonts), fonts


def test_pdf_pages_render_and_are_not_blank(
    helsinki_reports: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    out, _ = helsinki_reports
    pages = _pages_png(out / "report.pdf", tmp_path)
    assert len(pages) == len(PdfReader(out / "report.pdf").pages)
    for i, img in enumerate(pages, start=1):
        grey = img.mean(axis=2)
        assert grey.std() > 8, f"page {i} looks blank"
    # the coverage map (the first page after the title page and its data-quality table): uncovered
    # streets are red
    texts = [p.extract_text() or "" for p in PdfReader(out / "report.pdf").pages]
    at = next(i for i, t in enumerate(texts) if "消火栓保护范围缺口" in t)
    red = (pages[at][..., 0] > 180) & (pages[at][..., 1] < 90) & (pages[at][..., 2] < 90)
    assert red.sum() > 100


def test_english_report_without_optional_tables(tmp_path: Path) -> None:
    inputs = _inputs()
    units = report_units(_districts({"a": (shapely.box(0, 0, 1000, 1000), 8),
                                     "b": (shapely.box(1000, 0, 2000, 1000), 8)}), roads=inputs.roads)
    districts = aggregate_districts(units, inputs)
    assert inputs.pieces is not None
    report = ReportInputs(
        summary={"coverage": {"covered_pct": 83.3, "radius_m": 150.0}}, districts=districts,
        underserved=gpd.GeoDataFrame({"rank": [1], "name": [""], "length_m": [500.0], "n_buildings": [0],
                                      "n_high_rises": [0]},
                                     geometry=[shapely.LineString([(1500, 500), (2000, 500)])], crs=CRS),
        buildings=inputs.buildings, findings=pd.DataFrame(),
        maps=MapInputs(roads=inputs.roads, pieces=inputs.pieces, hydrants=inputs.hydrants),
        area_name="Paper town",
    )
    path = write_report_pdf(
        tmp_path / "en.pdf", report, title="Water report", generated_at=datetime(2024, 5, 1, 9, 30),
        thresholds=RULE, lang="en",
    )
    reader = PdfReader(path)
    text = "\n".join(p.extract_text() or "" for p in reader.pages)
    assert "Water report" in text and "Paper town" in text and "2024-05-01 09:30" in text
    # the printed grading rule is the thresholds' own description
    assert " ".join(RULE.describe("en").split()) in " ".join(text.split())
    assert "District summary" in text and "(unnamed)" in text
    assert "Budget and coverage: not provided" in text
    assert "Fire-lane blockages" not in text  # no blockages given: no map, no table
    assert len(reader.pages) == 6  # title, coverage, grades, hydrants, charts, tables
    assert [p.name for p in tmp_path.iterdir()] == ["en.pdf"]


def test_matplotlib_uses_the_shipped_font() -> None:
    assert charts.font_family() == "WenQuanYi Micro Hei"
    png = charts.coverage_chart(
        pd.DataFrame({"district_id": ["a", "b"], "name": ["杨浦区", "虹口区"], "street_km": [1.0, 2.0],
                      "covered_pct": [40.0, 90.0], "grade": ["severe", "general"]}),
        overall_pct=70.0,
    )
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert charts.budget_chart(pd.DataFrame({"x": [1]})) is None


def test_budget_points_from_siting_curve() -> None:
    """routing.siting's budget curve (metres gained, cumulative cost) becomes coverage % per yuan."""
    curve = pd.DataFrame({"order": [1, 2], "cumulative_m": [150.0, 250.0],
                          "cost_cny": [15_000.0, 15_000.0], "cumulative_cost_cny": [15_000.0, 30_000.0]})
    points = charts.budget_points(curve, covered_km=0.5, road_km=1.0)
    assert points is not None
    assert points["cost_yuan"].tolist() == [0.0, 15_000.0, 30_000.0]
    assert points["covered_pct"].tolist() == pytest.approx([50.0, 65.0, 75.0])
    # without today's coverage the metres cannot become a percentage
    assert charts.budget_points(curve) is None
    per_step = pd.DataFrame({"cost_yuan": [10.0, 20.0], "covered_pct": [60.0, 70.0]})
    steps = charts.budget_points(per_step)
    assert steps is not None and steps["cost_yuan"].tolist() == [10.0, 30.0]
