"""The PDF report: title page, maps, charts and tables for the finance and planning offices.

Layout (A4 portrait): a title page with the area, the date, a box with the data warnings (no
hydrants, no stations, statuses assumed ...: :mod:`reports.quality`), the district grades and the
grading rule, the key figures (不计算 / "not computed" for a figure the inputs could not give)
and the data-quality section (数据说明: each input's level, assumptions, gaps and the results
they weaken); one page per map (coverage gaps, water-shortage grade by district, hydrants
by status, and, when given, blockages and proposed hydrants); the charts (coverage by district,
budget curve); then the tables (district summary with a total row, the top underserved streets,
and the top blockages and proposed hydrants when given). Every page footer and every map carries
"© OpenStreetMap contributors".

Text uses the CJK font shipped in ``reports/fonts`` (ReportLab embeds only the glyphs used), so
Chinese renders on a machine with no CJK font installed.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    Image,
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from geo.errors import ConfigError
from reports import charts
from reports.budget import PDF_MAX_DISTRICT_ROWS
from reports.districts import (
    COST_COLUMNS,
    GAIN_COLUMNS,
    GRADES,
    IMPACT_COLUMNS,
    OUTSIDE_ID,
    GradeThresholds,
    find_column,
    grade_counts,
    ordered_proposals,
    ranked_blockages,
)
from reports.export import atomic_path
from reports.i18n import Lang, check_lang, label, value_or_not_computed
from reports.inputs import MapInputs, ReportInputs
from reports.quality import QUALITY_COLUMNS, coverage_computed, input_rows, warning_lines

log = logging.getLogger(__name__)

FONT_NAME = "FireReachCJK"
PAGE_W, PAGE_H = A4
MARGIN = 16 * mm
FRAME_W = PAGE_W - 2 * MARGIN
FRAME_H = PAGE_H - 2 * MARGIN - 8 * mm  # room for the footer
TOP_ROWS = 20


@cache
def register_font() -> str:
    """Register the shipped CJK font with ReportLab (once) and return its name."""
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(charts.font_path())))
    return FONT_NAME


@dataclass(frozen=True)
class _Styles:
    title: ParagraphStyle
    subtitle: ParagraphStyle
    h1: ParagraphStyle
    body: ParagraphStyle
    small: ParagraphStyle
    cell: ParagraphStyle
    cell_right: ParagraphStyle
    head: ParagraphStyle


def _styles(lang: Lang) -> _Styles:
    font = register_font()
    wrap = "CJK" if lang == "zh" else None

    def style(name: str, size: float, **kw: Any) -> ParagraphStyle:
        kw.setdefault("leading", size * 1.35)
        return ParagraphStyle(name, fontName=font, fontSize=size, wordWrap=wrap, **kw)

    return _Styles(
        title=style("title", 24, alignment=1, spaceAfter=6 * mm, leading=32),
        subtitle=style("subtitle", 15, alignment=1, spaceAfter=3 * mm, textColor=colors.HexColor("#333333")),
        h1=style("h1", 14, spaceBefore=2 * mm, spaceAfter=3 * mm, textColor=colors.HexColor("#1a3d6b"),
                 keepWithNext=1),
        body=style("body", 9.5, spaceAfter=2 * mm),
        small=style("small", 8, textColor=colors.HexColor("#444444"), spaceAfter=1.5 * mm),
        cell=style("cell", 7.5, leading=9.5),
        cell_right=style("cell_right", 7.5, leading=9.5, alignment=2),
        head=style("head", 7.5, leading=9.5, textColor=colors.white),
    )


def _fmt(value: object, digits: int = 1, *, thousands: bool = True) -> str:
    """A number for a table cell: '' for NaN/None, thousands separators, fixed digits."""
    if value is None:
        return ""
    if isinstance(value, float | np.floating):
        if not math.isfinite(float(value)):
            return ""
        return f"{float(value):,.{digits}f}" if thousands else f"{float(value):.{digits}f}"
    if isinstance(value, int | np.integer):
        return f"{int(value):,}" if thousands else str(int(value))
    return str(value)


def _esc(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _image(png: bytes, *, max_w: float = FRAME_W, max_h: float = FRAME_H - 30 * mm) -> Image:
    w, h = ImageReader(io.BytesIO(png)).getSize()
    scale = min(max_w / w, max_h / h)
    return Image(io.BytesIO(png), width=w * scale, height=h * scale)


def _has(summary: Mapping[str, Any], key: str) -> bool:
    """Whether dotted ``key`` is in ``summary`` (its value may be None: not computed)."""
    *parents, last = key.split(".")
    node = _get(summary, ".".join(parents)) if parents else summary
    return isinstance(node, Mapping) and last in node


def _get(summary: Mapping[str, Any], key: str) -> Any:
    node: Any = summary
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _table(
    rows: Sequence[Sequence[object]],
    *,
    widths: Sequence[float],
    st: _Styles,
    right: Sequence[int] = (),
    extra: Sequence[tuple[Any, ...]] = (),
    total_row: bool = False,
) -> Table:
    """A table with a dark header row (repeated on every page), thin grid and zebra rows."""
    head = [Paragraph(_esc(c).replace("\n", "<br/>"), st.head) for c in rows[0]]
    body = [
        [Paragraph(_esc(v), st.cell_right if j in right else st.cell) for j, v in enumerate(r)]
        for r in rows[1:]
    ]
    scale = FRAME_W / sum(widths)
    t = Table([head, *body], colWidths=[w * scale for w in widths], repeatRows=1)
    style: list[tuple[Any, ...]] = [
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#1a3d6b")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.HexColor("#b0b0b0")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    for i in range(1, len(rows)):
        if i % 2 == 0:
            style.append(("BACKGROUND", (0, i), (-1, i), colors.HexColor("#f3f5f8")))
    if total_row and len(rows) > 1:
        style.append(("BACKGROUND", (0, len(rows) - 1), (-1, len(rows) - 1), colors.HexColor("#dfe6ef")))
    t.setStyle(TableStyle([*style, *extra]))
    return t


def _footer(title: str, lang: Lang) -> Callable[[Canvas, Any], None]:
    def draw(canvas: Canvas, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(register_font(), 7.5)
        canvas.setFillColor(colors.HexColor("#555555"))
        y = MARGIN - 6 * mm
        canvas.drawString(MARGIN, y, f"{title} · {label('attribution', lang)}")
        canvas.drawRightString(PAGE_W - MARGIN, y, label("page", lang, n=doc.page))
        canvas.setStrokeColor(colors.HexColor("#cccccc"))
        canvas.setLineWidth(0.4)
        canvas.line(MARGIN, y + 3.5 * mm, PAGE_W - MARGIN, y + 3.5 * mm)
        canvas.restoreState()

    return draw


# ---------------------------------------------------------------------------------------------
# Sections


_KEY_FIGURES: tuple[tuple[str, str, int], ...] = (  # summary key, unit key, digits
    ("coverage.road_km", "km", 2),
    ("coverage.uncovered_km", "km", 2),
    ("coverage.covered_pct", "pct", 1),
    ("coverage.underserved_segments", "", 0),
    ("hydrants.total", "", 0),
    ("hydrants.in_service", "", 0),
    ("hydrants.out_of_service", "", 0),
    ("hydrants.low_pressure", "", 0),
    ("buildings.high_rise_class1", "", 0),
    ("buildings.high_rise_class2", "", 0),
    ("buildings.flow_deficit", "", 0),
    ("high_rises.noncompliant_access", "", 0),
    ("stations.roads_within_limit_pct", "pct", 1),
)


def _title_page(
    *,
    title: str,
    area_name: str,
    generated_at: datetime,
    summary: Mapping[str, Any],
    districts: pd.DataFrame,
    proposed: gpd.GeoDataFrame | None,
    thresholds: GradeThresholds,
    st: _Styles,
    lang: Lang,
) -> list[Flowable]:
    story: list[Flowable] = [Spacer(1, 28 * mm), Paragraph(_esc(title), st.title),
                             Paragraph(_esc(area_name), st.subtitle)]
    story.append(Paragraph(
        f"{label('generated_at', lang)}：{generated_at:%Y-%m-%d %H:%M} · {label('generated_by', lang)}"
        if lang == "zh" else
        f"{label('generated_at', lang)}: {generated_at:%Y-%m-%d %H:%M} · {label('generated_by', lang)}",
        ParagraphStyle("date", parent=st.body, alignment=1),
    ))
    story.append(Spacer(1, 10 * mm))

    story += _warning_box(summary, st, lang)
    counts = grade_counts(districts) if len(districts) else {g: 0 for g in GRADES}
    if counts.get("severe", 0) is None:  # not graded: no hydrant data
        story += [Paragraph(label("grades_heading", lang, n=counts.get("total", 0)), st.h1),
                  Paragraph(_esc(label("grade_not_computed", lang)), st.body)]
        return [*story, *_key_figures(summary, proposed, st, lang)]
    grade_cells = [
        Paragraph(f"{label(g, lang)}<br/><font size=20>{counts[g]}</font>",
                  ParagraphStyle(f"g_{g}", parent=st.body, alignment=1, fontSize=11, leading=24,
                                 textColor=colors.white))
        for g in GRADES
    ]
    grades = Table([grade_cells], colWidths=[FRAME_W / 3] * 3, rowHeights=[18 * mm])
    grades.setStyle(TableStyle([
        *[("BACKGROUND", (i, 0), (i, 0), colors.HexColor(charts.GRADE_COLOURS[g]))
          for i, g in enumerate(GRADES)],
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEAFTER", (0, 0), (1, 0), 2, colors.white),
    ]))
    story += [Paragraph(label("grades_heading", lang, n=counts.get("total", 0)),
                        st.h1), grades, Spacer(1, 2 * mm)]
    story.append(Paragraph(_esc(thresholds.describe(lang)), st.small))
    return [*story, *_key_figures(summary, proposed, st, lang)]


def _key_figures(
    summary: Mapping[str, Any], proposed: gpd.GeoDataFrame | None, st: _Styles, lang: Lang
) -> list[Flowable]:
    """The key figures table, the preset and method, the attribution and the data-quality section."""
    story: list[Flowable] = []
    rows: list[list[object]] = [[label("item", lang), label("value", lang), label("unit", lang)]]
    for key, unit, digits in _KEY_FIGURES:
        if not _has(summary, key):
            continue
        v = _get(summary, key)
        text = value_or_not_computed(
            None if v is None else (float(v) if digits else int(v)), lang, digits=digits
        )
        rows.append([label(key, lang), text, label(unit, lang) if unit and v is not None else ""])
    if proposed is not None:
        cost_col = find_column(proposed, COST_COLUMNS)
        rows.append([label("proposed.total", lang), _fmt(len(proposed)), ""])
        if cost_col is not None:
            rows.append([label("cost_10k_yuan", lang), _fmt(float(proposed[cost_col].sum()) / 1e4, 1), ""])
    story += [Paragraph(label("key_figures", lang), st.h1),
              _table(rows, widths=[3, 1.4, 0.8], st=st, right=(1,))]
    method = _get(summary, "coverage.method")
    notes = []
    if _get(summary, "analysis.preset"):
        notes.append(f"{label('preset', lang)}: {_get(summary, 'analysis.preset')}")
    if method in ("network", "straight"):
        notes.append(f"{label('method', lang)}: {label('method_' + str(method), lang)}, "
                     f"{label('coverage.radius_m', lang)} {_fmt(_get(summary, 'coverage.radius_m'), 0)}")
    model = _get(summary, "water.model")
    if isinstance(model, str):
        notes.append(f"{label('water.model', lang)}: {label('water_model_' + model, lang)}")
    story += [Spacer(1, 3 * mm), Paragraph(_esc(" · ".join(notes)), st.small),
              Paragraph(_esc(label("attribution_note", lang)), st.small)]
    return [*story, *_quality_section(summary, st, lang), PageBreak()]


_SEVERITY_COLOURS = {"error": "#b00020", "warning": "#9a6700", "info": "#444444"}


def _warning_box(summary: Mapping[str, Any], st: _Styles, lang: Lang) -> list[Flowable]:
    """The data warnings in a framed box (red frame when one is an error); [] when none."""
    lines = warning_lines(summary, lang)
    if not lines:
        return []
    parts: list[Flowable] = [Paragraph(f"<b>{_esc(label('quality_warnings', lang))}</b>", st.body)]
    for w in lines:
        colour = _SEVERITY_COLOURS.get(w.severity, "#444444")
        parts.append(Paragraph(
            f'<font color="{colour}">■ {_esc(label("q_" + w.severity, lang))}：</font>{_esc(w.text)}'
            if lang == "zh" else
            f'<font color="{colour}">■ {_esc(label("q_" + w.severity, lang))}:</font> {_esc(w.text)}',
            st.body,
        ))
    error = any(w.severity == "error" for w in lines)
    box = Table([[parts]], colWidths=[FRAME_W])
    box.setStyle(TableStyle([
        ("BOX", (0, 0), (-1, -1), 1.5 if error else 0.8,
         colors.HexColor(_SEVERITY_COLOURS["error" if error else "warning"])),
        ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#fff4f2" if error else "#fffaf0")),
        ("LEFTPADDING", (0, 0), (-1, -1), 6), ("RIGHTPADDING", (0, 0), (-1, -1), 6),
        ("TOPPADDING", (0, 0), (-1, -1), 4), ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]))
    return [box, Spacer(1, 4 * mm)]


def _quality_section(summary: Mapping[str, Any], st: _Styles, lang: Lang) -> list[Flowable]:
    """数据说明: each input's level, what was assumed and missing, and the results it weakens."""
    rows = input_rows(summary, lang)
    if not rows:
        return []
    keys = [c for c in QUALITY_COLUMNS if c != "notes" or any(r["notes"] for r in rows)]
    table = [[label(f"q_{k}", lang) for k in keys], *([r[k] for k in keys] for r in rows)]
    widths = [1.15, 0.85, 2.5, 2.0, 1.3, 1.8, 1.8][: len(keys)]
    return [Spacer(1, 4 * mm), Paragraph(label("quality_heading", lang), st.h1),
            Paragraph(_esc(label("quality_intro", lang)), st.small),
            _table(table, widths=widths, st=st)]


def _map_page(heading: str, png: bytes, note: str | None, st: _Styles) -> list[Flowable]:
    """A map with its heading and note, kept on one page."""
    parts: list[Flowable] = [Paragraph(_esc(heading), st.h1)]
    if note:
        parts.append(Paragraph(_esc(note), st.small))
    parts.append(_image(png))
    return [KeepTogether(parts), PageBreak()]


_GRADE_ORDER = {"severe": 0, "significant": 1, "general": 2}


def _worst_districts(districts: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` worst districts (grade, then uncovered km), in their own order; all when fewer."""
    if len(districts) <= n:
        return districts
    grade = districts["grade"].astype(str).map(_GRADE_ORDER).fillna(len(_GRADE_ORDER)).to_numpy()
    uncovered = np.nan_to_num(districts["uncovered_km"].to_numpy(dtype=float))
    keep = np.sort(np.lexsort((-uncovered, grade))[:n])
    return districts.iloc[keep]


def _district_rows(
    districts: pd.DataFrame, lang: Lang, *, all_districts: pd.DataFrame | None = None
) -> tuple[list[list[object]], list[float], list[int], int]:
    """Rows (header first, total last: of ``all_districts`` when given), column widths,
    right-aligned columns, grade column."""
    d = districts.copy()
    d.loc[d["district_id"] == OUTSIDE_ID, "name"] = label("outside_name", lang)
    has_resp = d["response_within_pct"].notna().any()
    has_prop = d["proposed_hydrants"].notna().any()
    has_cost = has_prop and d["proposed_cost_yuan"].notna().any()
    header: list[object] = [label(k, lang) for k in (
        "pdf_name", "pdf_street_km", "pdf_uncovered_km", "pdf_covered_pct", "pdf_hydrants", "pdf_high_rise",
        "pdf_deficit", "pdf_no_water")]
    widths = [1.7, 1.1, 1.1, 1.1, 1.3, 1.3, 1.1, 1.0]
    if has_resp:
        header.append(label("pdf_response", lang))
        widths.append(1.2)
    if has_prop:
        header.append(label("pdf_proposed", lang))
        widths.append(1.0 if lang == "zh" else 1.2)
    if has_cost:
        header.append(label("pdf_cost", lang))
        widths.append(1.1)
    header.append(label("pdf_grade", lang))
    widths.append(0.9 if lang == "zh" else 1.35)
    rows: list[list[object]] = [header]

    def row(r: Mapping[Any, Any], name: str, grade: str) -> list[object]:
        def nc(value: object, digits: int = 0) -> str:  # NaN: not computed (no hydrant data)
            return value_or_not_computed(value, lang, digits=digits)

        out: list[object] = [
            name, _fmt(r["street_km"], 2), nc(r["uncovered_km"], 2), nc(r["covered_pct"], 1),
            f"{_fmt(r['hydrants_in_service'])}/{_fmt(r['hydrants_total'])}",
            f"{_fmt(r['high_rise_class1'])}/{_fmt(r['high_rise_class2'])}",
            nc(r["high_rise_flow_deficit"]), nc(r["high_rise_no_water"]),
        ]
        if has_resp:
            out.append(_fmt(r["response_within_pct"], 1))
        if has_prop:
            out.append(_fmt(r["proposed_hydrants"]))
        if has_cost:
            out.append(_fmt(float(r["proposed_cost_yuan"]) / 1e4, 1))
        out.append(grade)
        return out

    for r in d.to_dict("records"):
        rows.append(row(r, str(r["name"]), label(str(r["grade"]), lang)))
    tot = _totals(d if all_districts is None else all_districts)
    rows.append(row(tot, label("total", lang), ""))
    right = list(range(1, len(header) - 1))
    return rows, widths, right, len(header) - 1


def _totals(d: pd.DataFrame) -> dict[str, Any]:
    """Sums of the count and length columns, and percentages recomputed from the sums."""
    tot: dict[str, Any] = {}
    for c in d.columns:
        if c in ("geometry",) or not pd.api.types.is_numeric_dtype(d[c]):
            continue
        tot[c] = d[c].sum(min_count=1)
    street = float(tot.get("street_km", 0.0) or 0.0)
    if street > 0:
        tot["covered_pct"] = 100.0 * float(tot["covered_km"]) / street
        tot["uncovered_pct"] = 100.0 * float(tot["uncovered_km"]) / street
        if pd.notna(tot.get("response_within_km")):
            tot["response_within_pct"] = 100.0 * float(tot["response_within_km"]) / street
    for c in ("hydrants_total", "hydrants_in_service", "high_rise_class1", "high_rise_class2",
              "high_rise_flow_deficit", "high_rise_no_water", "proposed_hydrants"):
        if c in tot and pd.notna(tot[c]):
            tot[c] = int(tot[c])
    return tot


def _underserved_rows(underserved: pd.DataFrame, lang: Lang, n: int) -> list[list[object]]:
    top = underserved.sort_values("length_m", ascending=False).head(n)
    rows: list[list[object]] = [[
        label(k, lang) for k in ("rank", "street", "district", "length_m", "n_buildings", "n_high_rises")
    ]]
    for i, r in enumerate(top.to_dict("records"), start=1):
        name = str(r.get("name") or "") or label("unnamed_street", lang)
        rows.append([i, name, r.get("district", ""), _fmt(float(r["length_m"]), 0),
                     _fmt(r.get("n_buildings")), _fmt(r.get("n_high_rises"))])
    return rows


def _street(r: Mapping[Any, Any], lang: Lang) -> str:
    name = r.get("road_name") or r.get("name") or ""
    return str(name) if isinstance(name, str) and name else label("unnamed_street", lang)


def _blockage_rows(blockages: pd.DataFrame, lang: Lang, n: int) -> tuple[list[list[object]], list[float]]:
    """Worst first: rank, id, kind, status, street, district, impact, high-rises cut off."""
    impact = find_column(blockages, IMPACT_COLUMNS)
    b = ranked_blockages(blockages)
    keys = ["rank", "blockage_id", "kind", "status", "street", "district"]
    if impact is not None:
        keys.append(impact if impact == "score" else "impact")
    if "high_rises_cut" in b.columns:
        keys.append("high_rises_cut")
    rows: list[list[object]] = [[label(k, lang) for k in keys]]
    for i, r in enumerate(b.head(n).to_dict("records"), start=1):
        rank = r.get("rank", i)
        ranked = isinstance(rank, int | float | np.number) and math.isfinite(float(rank))
        row: list[object] = [
            _fmt(int(rank)) if ranked else "",
            r.get("blockage_id", ""), label(str(r.get("kind", "")), lang),
            label(str(r.get("status", "")), lang), _street(r, lang), r.get("district", ""),
        ]
        if impact is not None:
            row.append(_fmt(r.get(impact), 1))
        if "high_rises_cut" in b.columns:
            row.append(_fmt(r.get("high_rises_cut"), 0))
        rows.append(row)
    widths = [0.6, 1.2, 1.2, 1.0, 2.0, 1.0, 0.9, 0.9][: len(keys)]
    return rows, widths


def _proposed_rows(proposed: pd.DataFrame, lang: Lang, n: int) -> tuple[list[list[object]], list[float]]:
    """In building order: order, id, street, district, cost, newly covered metres."""
    cost = find_column(proposed, COST_COLUMNS)
    gain = find_column(proposed, GAIN_COLUMNS)
    ident = find_column(proposed, ("candidate_id", "hydrant_id", "proposal_id", "id"))
    p = ordered_proposals(proposed)
    keys = ("order", ident or "candidate_id", "street", "district", "cost_cny", "gain_m")
    rows: list[list[object]] = [[label(k, lang) for k in keys]]
    for i, r in enumerate(p.head(n).to_dict("records"), start=1):
        rows.append([r.get("order", i), r.get(ident, "") if ident else "", _street(r, lang),
                     r.get("district", ""), _fmt(r.get(cost), 0) if cost else "",
                     _fmt(r.get(gain), 0) if gain else ""])
    return rows, [0.6, 1.1, 2.2, 1.0, 1.2, 1.2]


# ---------------------------------------------------------------------------------------------
# The report


def _map_pages(
    inputs: ReportInputs, maps: MapInputs, *, st: _Styles, lang: Lang
) -> tuple[list[Flowable], int]:
    """A page per map (coverage, grades, hydrants, blockages, proposals) and how many there are."""
    lg = lang
    districts, summary = inputs.districts, inputs.summary
    blockages, proposed = inputs.blockages, inputs.proposed
    radius = _get(summary, "coverage.radius_m") or 150.0
    computed = coverage_computed(summary)
    n_maps = 2
    story = _map_page(
        label("map_coverage", lg),
        charts.coverage_map(maps.pieces, hydrants=maps.hydrants, stations=maps.stations,
                            districts=districts, lang=lg),
        label("map_coverage_note", lg, radius=float(radius)) if computed
        else label("map_coverage_no_data", lg), st,
    )
    if len(districts) and computed:
        grade_png = charts.grade_map(districts, maps.roads, lang=lg)
        story += _map_page(label("map_grades", lg), grade_png, None, st)
        n_maps += 1
    story += _map_page(label("map_hydrants", lg),
                       charts.hydrant_map(maps.roads, maps.hydrants, districts=districts, lang=lg), None, st)
    if blockages is not None and len(blockages):
        impact = find_column(blockages, IMPACT_COLUMNS)
        story += _map_page(label("map_blockages", lg), charts.blockage_map(
            maps.roads, blockages, impact_column=impact, districts=districts, lang=lg),
            label("blockage_size_note", lg) if impact else None, st)
        n_maps += 1
    if proposed is not None and len(proposed):
        story += _map_page(label("map_proposed", lg), charts.proposed_map(
            maps.pieces, maps.hydrants, proposed, districts=districts, lang=lg), None, st)
        n_maps += 1
    return story, n_maps


def _chart_page(
    districts: gpd.GeoDataFrame, *, summary: Mapping[str, Any], budget_curve: pd.DataFrame | None,
    st: _Styles, lang: Lang,
) -> list[Flowable]:
    """The charts page: coverage by district, and the budget curve when there is one."""
    lg = lang
    chart_parts: list[Flowable] = [Paragraph(label("contents_charts", lg), st.h1)]
    if len(districts) and coverage_computed(summary):
        chart_parts.append(_image(
            charts.coverage_chart(districts, overall_pct=_get(summary, "coverage.covered_pct"), lang=lg),
            max_h=FRAME_H * 0.55,
        ))
    budget_png = None
    if budget_curve is not None:
        budget_png = charts.budget_chart(
            budget_curve, covered_km=_get(summary, "coverage.covered_km"),
            road_km=_get(summary, "coverage.road_km"), lang=lg,
        )
    if budget_png is not None:
        chart_parts += [Spacer(1, 4 * mm), _image(budget_png, max_h=FRAME_H * 0.35)]
    else:
        chart_parts.append(Paragraph(f"{label('chart_budget', lg)}: {label('not_provided', lg)}", st.small))
    return [*chart_parts, PageBreak()]


def _table_pages(
    inputs: ReportInputs, *, max_district_rows: int, st: _Styles, lang: Lang
) -> list[Flowable]:
    """The tables: worst districts (graded colours), underserved streets, blockages, proposals."""
    lg = lang
    districts, underserved = inputs.districts, inputs.underserved
    story: list[Flowable] = []
    if len(districts):
        shown = _worst_districts(districts, max_district_rows)
        rows, widths, right, grade_col = _district_rows(shown, lg, all_districts=districts)
        extra = []
        for i, g in enumerate(shown["grade"].astype(str), start=1):
            if g in charts.GRADE_COLOURS:
                colour = colors.HexColor(charts.GRADE_COLOURS[g])
                extra.append(("BACKGROUND", (grade_col, i), (grade_col, i), colour))
        story += [Paragraph(label("table_districts", lg), st.h1),
                  _table(rows, widths=widths, st=st, right=right, extra=extra, total_row=True),
                  Spacer(1, 1.5 * mm), Paragraph(_esc(label("pdf_table_note", lg)), st.small)]
        if len(shown) < len(districts):
            story.append(Paragraph(_esc(label(
                "rows_left_out", lg, shown=len(shown), left=len(districts) - len(shown),
                where="report.xlsx, districts.gpkg")), st.small))
        story.append(Spacer(1, 5 * mm))
    if underserved is not None and len(underserved):
        story += [Paragraph(label("table_underserved", lg, n=TOP_ROWS), st.h1),
                  _table(_underserved_rows(underserved, lg, TOP_ROWS), widths=[0.6, 3, 1.4, 1.1, 1.1, 1.1],
                         st=st, right=(0, 3, 4, 5)), Spacer(1, 6 * mm)]
    if inputs.blockages is not None and len(inputs.blockages):
        b_rows, b_widths = _blockage_rows(inputs.blockages, lg, TOP_ROWS)
        story += [Paragraph(label("table_blockages", lg, n=TOP_ROWS), st.h1),
                  _table(b_rows, widths=b_widths, st=st, right=(0, *range(6, len(b_widths)))),
                  Spacer(1, 6 * mm)]
    if inputs.proposed is not None and len(inputs.proposed):
        p_rows, p_widths = _proposed_rows(inputs.proposed, lg, 30)
        story += [Paragraph(label("table_proposed", lg, n=30), st.h1),
                  _table(p_rows, widths=p_widths, st=st, right=(0, 4, 5))]

    return story


def write_report_pdf(
    path: Path,
    inputs: ReportInputs,
    *,
    title: str,
    generated_at: datetime,
    thresholds: GradeThresholds | None = None,
    lang: str = "zh",
    max_district_rows: int = PDF_MAX_DISTRICT_ROWS,
) -> Path:
    """Write the PDF report atomically.

    The report stays readable whatever the city: maps are PNG images, the tables hold the worst
    rows only (:data:`TOP_ROWS`, ``max_district_rows``) and say where the rest is.

    Parameters
    ----------
    path
        Target file (written beside under a temporary name, then moved into place).
    inputs
        The summary, tables and map layers (:class:`reports.inputs.ReportInputs`; ``maps`` is
        required, blockages, proposed hydrants and the budget curve are optional; the top-20
        table comes from ``underserved``); ``area_name`` goes on the title page.
    title, generated_at
        Title page text and date.
    thresholds
        The grading rule printed on the title page (default :class:`GradeThresholds`).
    lang
        ``"zh"`` (default) or ``"en"``.
    max_district_rows
        District rows in the table (default :data:`reports.budget.PDF_MAX_DISTRICT_ROWS`): more
        districts keep the worst graded (then most uncovered km), the total row stays the total
        of all, and a note says how many were left out (all are in the XLSX).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    lg = check_lang(lang)
    if inputs.maps is None:
        raise ConfigError("the PDF report needs the map layers (ReportInputs.maps)")
    st = _styles(lg)
    thresholds = thresholds or GradeThresholds()
    area_name, districts = inputs.area_name, inputs.districts
    story = _title_page(
        title=title, area_name=area_name, generated_at=generated_at, summary=inputs.summary,
        districts=districts, proposed=inputs.proposed, thresholds=thresholds, st=st, lang=lg,
    )
    map_pages, n_maps = _map_pages(inputs, inputs.maps, st=st, lang=lg)
    story += map_pages
    story += _chart_page(districts, summary=inputs.summary, budget_curve=inputs.budget_curve, st=st,
                         lang=lg)
    story += _table_pages(inputs, max_district_rows=max_district_rows, st=st, lang=lg)

    footer = _footer(title, lg)
    with atomic_path(Path(path)) as tmp:
        doc = SimpleDocTemplate(
            str(tmp), pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
            bottomMargin=MARGIN + 6 * mm, title=title, author="FireReach", subject=area_name,
            creator="FireReach",
        )
        doc.build(story, onFirstPage=footer, onLaterPages=footer)
    log.info("wrote %s: %d maps, %d districts", path, n_maps, len(districts))
    return Path(path)
