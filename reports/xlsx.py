"""The XLSX report: one workbook a finance office can read without a map.

Sheets, in order: overview (the ``summary.json`` figures with their keys), data quality (数据说明:
the warnings, then what each input held, assumed and missed and which results it weakens),
districts (one row per
district and a total row), underserved streets, buildings short of water, blockage ranking,
proposed hydrants with cost, budget curve, and findings. Headers are Chinese by default
(``lang="en"`` for English), the header row is frozen and filtered, numbers carry formats
(km with 3 decimals, percentages with 2, yuan with thousands separators) and columns are sized to
their content (a CJK character counts double). An optional table that was not given still gets
its sheet, with one line saying so, so the workbook always has the same sheets. A figure that
was not computed (null in ``summary.json``) is written as the text 不计算 / "not computed", never
as an empty cell or 0.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.budget import XLSX_MAX_ROWS, capped
from reports.districts import (
    COST_COLUMNS,
    DISTRICT_COLUMNS,
    GAIN_COLUMNS,
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
from reports.quality import QUALITY_COLUMNS, input_rows, warning_lines

log = logging.getLogger(__name__)

HEADER_FILL = PatternFill("solid", fgColor="1A3D6B")
TOTAL_FILL = PatternFill("solid", fgColor="DFE6EF")
GRADE_FILLS = {
    "severe": PatternFill("solid", fgColor="F4B6AD"),
    "significant": PatternFill("solid", fgColor="FAD3A8"),
    "general": PatternFill("solid", fgColor="D5E8C4"),
}

KM = "#,##0.000"
PCT = "0.00"
INT = "#,##0"
YUAN = "#,##0"
M = "#,##0.0"
LPS = "0.0"

FORMATS: dict[str, str] = {
    "area_km2": "0.000", "street_km": KM, "covered_km": KM, "uncovered_km": KM, "covered_pct": PCT,
    "uncovered_pct": PCT, "response_within_km": KM, "response_within_pct": PCT,
    "proposed_cost_yuan": YUAN, "proposed_gain_km": KM, "gain_m_per_10k_yuan": M, "covered_pct_after": PCT,
    "blockage_impact": "#,##0.0", "length_m": M, "height_m": M, "credited_flow_lps": LPS,
    "required_flow_lps": LPS, "flow_deficit_lps": LPS, "nearest_hydrant_m": M, "response_s": INT,
    "value": "#,##0.00", "limit": "#,##0.00", "cost_yuan": YUAN, "cumulative_cost_yuan": YUAN,
    "budget_yuan": YUAN, "gain_m": M, "impact": "#,##0.0", "remaining_width_m": "0.0",
    "cost_cny": YUAN, "cumulative_cost_cny": YUAN, "marginal_m": M, "cumulative_m": M, "cny_per_m": M,
    "score": "#,##0.00", "max_delay_s": INT, "position_m": M, "offset_m": M, "edge_width_m": "0.0",
    "occupied_m": "0.0", "pipe_m": M, "marginal_weight": "#,##0.0", "cumulative_weight": "#,##0.0",
    "lon": "0.000000", "lat": "0.000000",
}

# The overview: summary.json key, unit label key
OVERVIEW_KEYS: tuple[tuple[str, str], ...] = (
    ("roads.km", "km"),
    ("coverage.road_km", "km"),
    ("coverage.covered_km", "km"),
    ("coverage.uncovered_km", "km"),
    ("coverage.covered_pct", "pct"),
    ("coverage.radius_m", ""),
    ("coverage.underserved_segments", "count"),
    ("coverage.spacing_gaps", "count"),
    ("hydrants.total", "count"),
    ("hydrants.in_service", "count"),
    ("hydrants.out_of_service", "count"),
    ("hydrants.low_pressure", "count"),
    ("hydrants.unknown", "count"),
    ("buildings.total", "count"),
    ("buildings.high_rise", "count"),
    ("buildings.high_rise_class1", "count"),
    ("buildings.high_rise_class2", "count"),
    ("buildings.without_hydrant_in_range", "count"),
    ("buildings.flow_deficit", "count"),
    ("high_rises.noncompliant_access", "count"),
    ("stations.total", "count"),
    ("stations.roads_within_limit_pct", "pct"),
    ("findings.total", "count"),
    ("findings.shall", "count"),
    ("findings.should", "count"),
)

UNDERSERVED_COLUMNS = ("rank", "name", "district", "length_m", "n_buildings", "n_high_rises", "way_ids")
BUILDING_COLUMNS = (
    "building_id", "name", "district", "building", "use", "height_m", "high_rise_class", "hydrants_in_range",
    "credited_flow_lps", "required_flow_lps", "flow_deficit_lps", "nearest_hydrant_m", "compliant_access",
    "response_s", "first_due_station",
)
FINDING_COLUMNS = ("layer", "feature_id", "rule_id", "clause", "severity", "confidence", "value", "limit",
                   "message")
BLOCKAGE_FIRST = ("rank", "blockage_id", "kind", "status", "effect", "road_name", "name", "district",
                  *IMPACT_COLUMNS, "high_rises_cut", "buildings_cut", "max_delay_s", "remaining_width_m",
                  "reported_at", "lon", "lat")
PROPOSED_FIRST = ("order", "rank", "candidate_id", "hydrant_id", "name", "district", *COST_COLUMNS,
                  "cumulative_cost_cny", *GAIN_COLUMNS, "lon", "lat")
TRANSLATED_VALUES = frozenset(
    {"grade", "severity", "confidence", "high_rise_class", "use", "status", "kind", "effect"}
)


_ABSENT = object()


def _get(summary: Mapping[str, Any], key: str) -> Any:
    """The value at dotted ``key``; :data:`_ABSENT` when the key is not there (None: not computed)."""
    node: Any = summary
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _cell(value: object) -> object:
    """A value openpyxl can write: NaN, NA and infinities become empty cells; numpy to Python."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().replace(tzinfo=None)
    if isinstance(value, list | tuple | set | dict):
        return str(value)
    return value if isinstance(value, str) else str(value)


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


def _write_sheet(
    ws: Worksheet,
    frame: pd.DataFrame,
    *,
    lang: Lang,
    freeze: str = "A2",
    total_last: bool = False,
) -> None:
    """Write a table: translated header, values, formats, frozen header, filter, widths."""
    columns = list(frame.columns)
    ws.append([label(c, lang) for c in columns])
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center", horizontal="center")
    values = frame.to_numpy(dtype=object)
    translate = [c in TRANSLATED_VALUES for c in columns]
    for row in values:
        ws.append([
            label(str(v), lang) if t and isinstance(v, str) and v else _cell(v)
            for v, t in zip(row, translate, strict=True)
        ])
    n = len(values)
    for j, col in enumerate(columns, start=1):
        fmt = FORMATS.get(col)
        if fmt is None and pd.api.types.is_integer_dtype(frame[col]):
            fmt = INT
        elif fmt is None and pd.api.types.is_float_dtype(frame[col]):
            fmt = "#,##0.00"
        if fmt is not None:
            for r in range(2, n + 2):
                ws.cell(row=r, column=j).number_format = fmt
        sample = [label(col, lang), *(ws.cell(row=r, column=j).value for r in range(2, min(n, 300) + 2))]
        widest = max(_width(v) if not isinstance(v, float) else len(f"{v:,.3f}") for v in sample)
        ws.column_dimensions[get_column_letter(j)].width = min(max(widest + 2, 8), 60)
    if "grade" in columns:
        j = columns.index("grade") + 1
        for r, g in enumerate(frame["grade"].astype(str), start=2):
            if g in GRADE_FILLS:
                ws.cell(row=r, column=j).fill = GRADE_FILLS[g]
    if total_last and n:
        for cell in ws[n + 1]:
            cell.font = Font(bold=True)
            cell.fill = TOTAL_FILL
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = freeze
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(n - (1 if total_last else 0), 0) + 1}"


def _write_capped(
    ws: Worksheet, frame: pd.DataFrame, *, lang: Lang, max_rows: int, where: str
) -> None:
    """A table sorted worst first, cut to ``max_rows`` rows with a line saying what was left out."""
    shown, left = capped(frame, max_rows)
    _write_sheet(ws, shown, lang=lang)
    if left:
        ws.append([])
        ws.append([label("rows_left_out", lang, shown=len(shown), left=left, where=where)])
        ws.cell(row=ws.max_row, column=1).font = Font(bold=True, color="9A6700")
        log.info("%s: %d of %d rows written (the worst first), %d left out", ws.title, len(shown),
                 len(frame), left)


_SEVERITY_ORDER = {"shall": 0, "should": 1}
_GPKG = "layers.gpkg"


def _not_provided(ws: Worksheet, lang: Lang) -> None:
    ws.append([label("not_provided", lang)])
    ws.column_dimensions["A"].width = 30


def _plain(frame: pd.DataFrame | None) -> pd.DataFrame:
    """Drop the geometry; add WGS84 lon/lat for point layers with a CRS."""
    if frame is None:
        return pd.DataFrame()
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame.columns:
        out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        geom = frame.geometry
        if frame.crs is not None and len(frame) and (geom.geom_type == "Point").all():
            wgs = geom.to_crs(4326)
            out["lon"] = wgs.x.to_numpy()
            out["lat"] = wgs.y.to_numpy()
        return out
    return pd.DataFrame(frame)


def _ordered(frame: pd.DataFrame, first: Sequence[str]) -> pd.DataFrame:
    cols = [c for c in first if c in frame.columns]
    return frame[cols + [c for c in frame.columns if c not in cols]]


def overview_frame(summary: Mapping[str, Any], districts: pd.DataFrame,
                   proposed: pd.DataFrame | None, *, lang: Lang = "zh") -> pd.DataFrame:
    """The overview sheet: item, value, unit and the ``summary.json`` key of each figure."""
    rows: list[tuple[str, object, str, str]] = []
    for key, unit in OVERVIEW_KEYS:
        v = _get(summary, key)
        if v is not _ABSENT:
            unit_text = label(unit, lang) if unit and v is not None else ""
            rows.append((label(key, lang), _or_not_computed(v, lang), unit_text, key))
    counts = grade_counts(districts) if len(districts) else {"total": 0, "severe": 0, "significant": 0,
                                                              "general": 0}
    for g in ("total", "severe", "significant", "general"):
        rows.append((label(f"districts.{g}", lang), _or_not_computed(counts[g], lang), label("count", lang),
                     f"districts.{g}"))
    if proposed is not None:
        rows.append((label("proposed.total", lang), len(proposed), label("count", lang), "siting.proposed"))
        cost = find_column(proposed, COST_COLUMNS)
        if cost is not None:
            rows.append((label("proposed.cost_yuan", lang), float(proposed[cost].sum()), label("yuan", lang),
                         "siting.cost_cny"))
    return pd.DataFrame(rows, columns=["item", "value", "unit", "key"])


def _or_not_computed(value: object, lang: Lang) -> object:
    """``value``, or the text 不计算 / "not computed" when it is None or NaN."""
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(float(value))):
        return value_or_not_computed(None, lang)
    return value


def quality_frames(summary: Mapping[str, Any], *, lang: Lang = "zh") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data-quality sheet's two tables: the warnings (severity, message) and one row per input."""
    warnings = pd.DataFrame(
        [(label(f"q_{w.severity}", lang), w.text) for w in warning_lines(summary, lang)],
        columns=["q_severity", "q_message"],
    )
    inputs = pd.DataFrame(input_rows(summary, lang), columns=list(QUALITY_COLUMNS))
    return warnings, inputs.rename(columns={c: f"q_{c}" for c in QUALITY_COLUMNS})


_SEVERITY_FONTS = {"error": Font(bold=True, color="B00020"), "warning": Font(bold=True, color="9A6700")}


def _quality_sheet(ws: Worksheet, summary: Mapping[str, Any], lang: Lang) -> None:
    """数据说明: a title, the warnings (red errors, amber warnings), the rule, the table of inputs."""
    _, inputs = quality_frames(summary, lang=lang)
    ws.append([label("quality_warnings", lang)])
    ws.cell(row=1, column=1).font = Font(bold=True, size=13)
    lines = warning_lines(summary, lang)
    if not lines:
        ws.append([label("quality_none", lang)])
    for w in lines:
        ws.append([label(f"q_{w.severity}", lang), w.text])
        font = _SEVERITY_FONTS.get(w.severity)
        if font is not None:
            ws.cell(row=ws.max_row, column=1).font = font
            ws.cell(row=ws.max_row, column=2).font = font
        ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
        last = len(QUALITY_COLUMNS)
        ws.merge_cells(start_row=ws.max_row, start_column=2, end_row=ws.max_row, end_column=last)
        ws.row_dimensions[ws.max_row].height = 15 * max(1, math.ceil(_width(w.text) / 150))
    ws.append([])
    ws.append([label("quality_heading", lang)])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True, size=13)
    ws.append([label("quality_intro", lang)])
    ws.merge_cells(start_row=ws.max_row, start_column=1, end_row=ws.max_row, end_column=len(QUALITY_COLUMNS))
    ws.cell(row=ws.max_row, column=1).alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[ws.max_row].height = 32
    head = ws.max_row + 1
    ws.append([label(c, lang) for c in inputs.columns])
    for cell in ws[head]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = HEADER_FILL
    for row in inputs.itertuples(index=False):
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    widths = (16, 10, 40, 34, 24, 34, 40)
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = width


_NOT_SUMMED = frozenset(
    {"name", "district_id", "unit_kind", "grade", "grade_basis", "admin_level", "gain_m_per_10k_yuan"}
)


def district_frame(
    districts: pd.DataFrame, *, lang: Lang = "zh", thresholds: GradeThresholds | None = None
) -> pd.DataFrame:
    """The district sheet: report columns without the empty optional ones, and a total row."""
    t = thresholds or GradeThresholds()
    d = pd.DataFrame(districts.drop(columns=[c for c in ("geometry",) if c in districts.columns]))
    d = d[[c for c in DISTRICT_COLUMNS if c in d.columns]].copy()
    d.loc[d["district_id"] == OUTSIDE_ID, "name"] = label("outside_name", lang)
    optional = [c for c in d.columns if c.startswith(("blockage", "proposed_", "gain_m", "covered_pct_after",
                                                       "response_within", "high_rise_access"))]
    d = d.drop(columns=[c for c in optional if d[c].isna().all()])
    cell_m = np.sqrt(d["area_km2"].astype("float64").to_numpy()) * 1000.0
    d["unit"] = [_unit_text(str(u), lang, c) for u, c in zip(d["unit"], cell_m, strict=True)]
    d = d.rename(columns={"unit": "unit_kind"})
    sep = "；" if lang == "zh" else "; "
    d["grade_basis"] = [
        sep.join(label(f"basis_{x}", lang, severe=t.severe_uncovered_pct,
                       significant=t.significant_uncovered_pct) for x in str(b).split(";"))
        for b in d["grade_basis"]
    ]
    d = d[["name", *[c for c in d.columns if c != "name"]]]
    if "admin_level" in d and d["admin_level"].isna().all():
        d = d.drop(columns="admin_level")
    total: dict[str, object] = {c: None for c in d.columns}
    total["name"] = label("total", lang)
    for c in d.columns:
        # ratios are recomputed from the sums below, never summed
        if c in _NOT_SUMMED or c.endswith("_pct"):
            continue
        if pd.api.types.is_numeric_dtype(d[c]) and d[c].notna().any():
            total[c] = d[c].sum()
    street = float(total.get("street_km") or 0.0)  # type: ignore[arg-type]
    if street > 0 and total.get("covered_km") is not None:
        total["covered_pct"] = 100.0 * float(total["covered_km"]) / street  # type: ignore[arg-type]
        total["uncovered_pct"] = 100.0 * float(total["uncovered_km"]) / street  # type: ignore[arg-type]
        if total.get("response_within_km") is not None:
            total["response_within_pct"] = 100.0 * float(total["response_within_km"]) / street  # type: ignore[arg-type]
        if total.get("proposed_gain_km") is not None and total.get("covered_km") is not None:
            gain = float(total["proposed_gain_km"])  # type: ignore[arg-type]
            total["covered_pct_after"] = 100.0 * (float(total["covered_km"]) + gain) / street  # type: ignore[arg-type]
            cost = total.get("proposed_cost_yuan")
            if cost is not None and float(cost) > 0:  # type: ignore[arg-type]
                total["gain_m_per_10k_yuan"] = gain * 1000.0 / float(cost) * 10_000.0  # type: ignore[arg-type]
    return pd.concat([d, pd.DataFrame([total])], ignore_index=True)


def _unit_text(unit: str, lang: Lang, cell_m: float) -> str:
    if unit == "grid":
        return label("unit_grid", lang, cell=round(float(cell_m), 1) if math.isfinite(cell_m) else 0)
    return label(f"unit_{unit}", lang)


def write_report_xlsx(
    path: Path,
    *,
    summary: Mapping[str, Any],
    districts: pd.DataFrame,
    underserved: pd.DataFrame,
    buildings: pd.DataFrame,
    findings: pd.DataFrame,
    blockages: pd.DataFrame | None = None,
    proposed: pd.DataFrame | None = None,
    budget_curve: pd.DataFrame | None = None,
    thresholds: GradeThresholds | None = None,
    lang: str = "zh",
    max_rows: int = XLSX_MAX_ROWS,
) -> Path:
    """Write the XLSX report atomically.

    Parameters
    ----------
    path
        Target file.
    summary
        The ``summary.json`` sections.
    districts
        The district summary (:func:`reports.districts.aggregate_districts`).
    underserved
        ``underserved_segments`` (a ``district`` column is written when present).
    buildings
        ``buildings_analysis``: rows with a fire-flow deficit or no usable hydrant in range are
        written, high-rises and the largest deficits first.
    findings
        The findings table.
    blockages, proposed, budget_curve
        Optional tables: blockages worst first (``rank``, else the impact), proposed hydrants in
        building ``order``, the budget curve as given. Column names of :mod:`routing.blockages`
        and :mod:`routing.siting` get translated headers; other columns keep their names.
    thresholds
        The grading rule, written under the overview (default :class:`GradeThresholds`).
    lang
        ``"zh"`` (default) or ``"en"``.
    max_rows
        Data rows per sheet (default :data:`reports.budget.XLSX_MAX_ROWS`, well under Excel's
        1,048,576): longer tables (underserved streets, buildings, blockages, proposed hydrants,
        findings) keep their worst rows and say below the table how many were left out and that
        ``layers.gpkg`` (and ``findings.csv``) hold them all.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    lg = check_lang(lang)
    t = thresholds or GradeThresholds()
    wb = Workbook()
    ws = wb.worksheets[0]
    ws.title = label("sheet_overview", lg)
    prop_plain = _plain(proposed) if proposed is not None else None
    _write_sheet(ws, overview_frame(summary, districts, prop_plain, lang=lg), lang=lg)
    ws.append([])
    ws.append([label("grading_rule", lg), t.describe(lg)])
    ws.cell(row=ws.max_row, column=1).font = Font(bold=True)
    ws.cell(row=ws.max_row, column=2).alignment = Alignment(wrap_text=True, vertical="top")
    ws.merge_cells(start_row=ws.max_row, start_column=2, end_row=ws.max_row, end_column=4)
    ws.row_dimensions[ws.max_row].height = 75

    _quality_sheet(wb.create_sheet(label("sheet_quality", lg)), summary, lg)

    ws = wb.create_sheet(label("sheet_districts", lg))
    d = district_frame(districts, lang=lg, thresholds=t)
    _write_sheet(ws, d, lang=lg, freeze="B2", total_last=True)

    ws = wb.create_sheet(label("sheet_underserved", lg))
    u = _plain(underserved)
    u = u.sort_values("rank") if "rank" in u else u
    _write_capped(ws, u[[c for c in UNDERSERVED_COLUMNS if c in u.columns]], lang=lg, max_rows=max_rows,
                  where=f"{_GPKG} (underserved_segments)")

    ws = wb.create_sheet(label("sheet_buildings", lg))
    b = _plain(buildings)
    short = (np.nan_to_num(b["flow_deficit_lps"].to_numpy(dtype=np.float64)) > 0) | (
        b["hydrants_in_range"].to_numpy() == 0)
    b = b.loc[short].copy()
    b["_high"] = b["high_rise_class"].map({"class1": 0, "class2": 1}).fillna(2)
    b = b.sort_values(["_high", "flow_deficit_lps"], ascending=[True, False], na_position="last")
    _write_capped(ws, b[[c for c in BUILDING_COLUMNS if c in b.columns]], lang=lg, max_rows=max_rows,
                  where=f"{_GPKG} (buildings_analysis)")

    ws = wb.create_sheet(label("sheet_blockages", lg))
    if blockages is None:
        _not_provided(ws, lg)
    else:
        bl = ranked_blockages(_plain(blockages))
        if "rank" not in bl:
            bl.insert(0, "rank", np.arange(1, len(bl) + 1))
        _write_capped(ws, _ordered(bl, BLOCKAGE_FIRST), lang=lg, max_rows=max_rows,
                      where=f"{_GPKG} (blockages_ranked)")

    ws = wb.create_sheet(label("sheet_proposed", lg))
    if prop_plain is None:
        _not_provided(ws, lg)
    else:
        p = ordered_proposals(prop_plain)
        if "rank" not in p and "order" not in p:
            p.insert(0, "rank", np.arange(1, len(p) + 1))
        _write_capped(ws, _ordered(p, PROPOSED_FIRST), lang=lg, max_rows=max_rows,
                      where=f"{_GPKG} (proposed_hydrants)")

    ws = wb.create_sheet(label("sheet_budget", lg))
    if budget_curve is None:
        _not_provided(ws, lg)
    else:
        _write_sheet(ws, _plain(budget_curve), lang=lg)

    ws = wb.create_sheet(label("sheet_findings", lg))
    f = _plain(findings)
    if len(f) > max_rows and "severity" in f:  # shall (violations) before should (warnings)
        f = f.iloc[np.argsort(f["severity"].map(_SEVERITY_ORDER).fillna(2).to_numpy(), kind="stable")]
    _write_capped(ws, f[[c for c in FINDING_COLUMNS if c in f.columns]], lang=lg, max_rows=max_rows,
                  where=f"findings.csv, {_GPKG} (findings)")

    with atomic_path(Path(path)) as tmp:
        wb.save(tmp)
    log.info("wrote %s: %d districts, %d underserved streets, %d buildings short of water, %d findings",
             path, len(districts), len(u), len(b), len(f))
    return Path(path)
