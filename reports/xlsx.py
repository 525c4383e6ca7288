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

import datetime
import logging
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.utility import xl_cell_to_rowcol
from xlsxwriter.worksheet import Worksheet

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
from reports.inputs import ReportInputs
from reports.quality import QUALITY_COLUMNS, input_rows, warning_lines

log = logging.getLogger(__name__)

HEADER_FILL = "#1A3D6B"
TOTAL_FILL = "#DFE6EF"
GRADE_FILLS = {"severe": "#F4B6AD", "significant": "#FAD3A8", "general": "#D5E8C4"}
#: Number format of date-time cells (Excel shows a bare number without one).
DATETIME = "yyyy-mm-dd hh:mm:ss"

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
    """A value a cell can hold: NaN, NA and infinities become empty cells; numpy to Python."""
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


def _column_cells(column: pd.Series, *, lang: Lang, translate: bool) -> list[object]:
    """The cells of one column (:func:`_cell` of each value; vocabulary values translated):
    numbers converted as one array, other values one by one."""
    if pd.api.types.is_bool_dtype(column) and not column.hasnans:
        return list(column.astype(bool).tolist())
    if pd.api.types.is_integer_dtype(column) and not column.hasnans:
        return list(column.astype(np.int64).tolist())
    if pd.api.types.is_float_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        cells: list[object] = values.tolist()
        for i in np.flatnonzero(~np.isfinite(values)).tolist():
            cells[i] = None
        return cells
    return [label(str(v), lang) if translate and isinstance(v, str) and v else _cell(v)
            for v in column.to_numpy(dtype=object)]


def _width(value: object) -> int:
    text = "" if value is None else str(value)
    return sum(2 if ord(c) > 0x2E7F else 1 for c in text)


class _Sheet:
    """One worksheet written with XlsxWriter, row after row, its formats shared by the workbook.

    XlsxWriter writes the sheet's XML with string formatting (several times faster than
    openpyxl's element-by-element serialisation of every cell) and shares one format object per
    distinct style instead of styling each cell.
    """

    def __init__(self, book: _Book, name: str) -> None:
        self.book = book
        self.ws: Worksheet = book.wb.add_worksheet(name)
        self.row = 0  # the next row to write (0-based)

    def fmt(self, **props: object) -> Format | None:
        """The workbook's shared format with these properties (None when there are none)."""
        return self.book.fmt(**props)

    def append(self, values: Sequence[object], fmt: Format | None = None) -> int:
        """Write ``values`` in the next row (all in ``fmt``); the row's 0-based index."""
        r = self.row
        for j, v in enumerate(values):
            self.write(r, j, v, fmt)
        self.row += 1
        return r

    def write(self, r: int, j: int, value: object, fmt: Format | None) -> None:
        """One cell: numbers as numbers, text as text (never a formula), None and '' as an empty
        cell."""
        ws = self.ws
        if value is None or (isinstance(value, str) and not value):
            if fmt is not None:
                ws.write_blank(r, j, None, fmt)
        elif isinstance(value, bool):
            ws.write_boolean(r, j, value, fmt)
        elif isinstance(value, int | float):
            ws.write_number(r, j, value, fmt)
        elif isinstance(value, datetime.datetime | datetime.date):
            ws.write_datetime(r, j, value, fmt or self.fmt(num_format=DATETIME))
        else:
            ws.write_string(r, j, str(value), fmt)

    def merge(self, r: int, first: int, last: int, value: object, fmt: Format | None) -> None:
        """Cells ``first`` … ``last`` of row ``r`` merged, holding ``value``."""
        self.ws.merge_range(r, first, r, last, "" if value is None else str(value), fmt)

    def width(self, j: int, width: float) -> None:
        self.ws.set_column(j, j, width)


class _Book:
    """An XlsxWriter workbook and its shared formats."""

    def __init__(self, path: Path) -> None:
        self.wb = xlsxwriter.Workbook(str(path), {
            "strings_to_numbers": False, "strings_to_formulas": False, "strings_to_urls": False,
        })
        self._formats: dict[tuple[tuple[str, object], ...], Format] = {}

    def fmt(self, **props: object) -> Format | None:
        if not props:
            return None
        key = tuple(sorted(props.items()))
        if key not in self._formats:
            self._formats[key] = self.wb.add_format(dict(props))
        return self._formats[key]

    def sheet(self, name: str) -> _Sheet:
        return _Sheet(self, name)


_HEADER = {"bold": True, "font_color": "#FFFFFF", "bg_color": HEADER_FILL}
_WRAP_TOP = {"text_wrap": True, "valign": "top"}


def _column_format(frame: pd.DataFrame, col: str) -> str | None:
    fmt = FORMATS.get(col)
    if fmt is None and pd.api.types.is_integer_dtype(frame[col]):
        return INT
    if fmt is None and pd.api.types.is_float_dtype(frame[col]):
        return "#,##0.00"
    return fmt


def _write_sheet(
    ws: _Sheet,
    frame: pd.DataFrame,
    *,
    lang: Lang,
    freeze: str = "A2",
    total_last: bool = False,
) -> None:
    """Write a table: translated header, values, formats, frozen header, filter, widths."""
    columns = list(frame.columns)
    head = ws.append([label(c, lang) for c in columns],
                     ws.fmt(**_HEADER, text_wrap=True, valign="vcenter", align="center"))
    ws.ws.set_row(head, 32)
    n = len(frame)
    cells_by_col = [_column_cells(frame[c], lang=lang, translate=c in TRANSLATED_VALUES) for c in columns]
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in columns]
    number = [_column_format(frame, c) for c in columns]
    plain = [ws.fmt(num_format=f) if f else None for f in number]
    grade_at = columns.index("grade") if "grade" in columns else -1
    grades = frame["grade"].astype(str).tolist() if grade_at >= 0 else []
    write_number = ws.ws.write_number
    r0 = ws.row
    for j, cells in enumerate(cells_by_col):
        fmt = plain[j]
        if numeric[j]:  # numbers or empty: no type test per cell
            for i, v in enumerate(cells):
                if v is not None:
                    write_number(r0 + i, j, v, fmt)
                elif fmt is not None:
                    ws.write(r0 + i, j, None, fmt)
        else:
            for i, v in enumerate(cells):
                ws.write(r0 + i, j, v, fmt)
    _write_fills(ws, r0, cells_by_col, number, grades, grade_at=grade_at, total_last=total_last)
    ws.row += n
    for j, col in enumerate(columns):
        sample = [label(col, lang), *cells_by_col[j][:300]]
        widest = max(_width(v) if not isinstance(v, float) else len(f"{v:,.3f}") for v in sample)
        ws.width(j, min(max(widest + 2, 8), 60))
    fr, fc = xl_cell_to_rowcol(freeze)
    ws.ws.freeze_panes(fr, fc)
    if columns:
        ws.ws.autofilter(0, 0, max(n - (1 if total_last else 0), 0), len(columns) - 1)


def _write_fills(
    ws: _Sheet, r0: int, cells_by_col: list[list[object]], number: list[str | None],
    grades: list[str], *, grade_at: int, total_last: bool,
) -> None:
    """Cells with a fill of their own written again over the plain ones: the grade column's
    colours and the total row (bold on its own fill)."""
    n = len(cells_by_col[0]) if cells_by_col else 0
    for i in range(n):
        total = total_last and i == n - 1
        for j in range(len(cells_by_col)) if total else ([grade_at] if grade_at >= 0 else []):
            graded = j == grade_at and grades[i] in GRADE_FILLS
            if not (total or graded):
                continue
            props: dict[str, object] = {"num_format": number[j]} if number[j] else {}
            if graded:
                props["bg_color"] = GRADE_FILLS[grades[i]]
            if total:
                props.update(bold=True, bg_color=TOTAL_FILL)
            ws.write(r0 + i, j, cells_by_col[j][i], ws.fmt(**props))


def _write_capped(
    ws: _Sheet, frame: pd.DataFrame, *, lang: Lang, max_rows: int, where: str
) -> None:
    """A table sorted worst first, cut to ``max_rows`` rows with a line saying what was left out."""
    shown, left = capped(frame, max_rows)
    _write_sheet(ws, shown, lang=lang)
    if left:
        ws.row += 1
        ws.append([label("rows_left_out", lang, shown=len(shown), left=left, where=where)],
                  ws.fmt(bold=True, font_color="#9A6700"))
        log.info("%s: %d of %d rows written (the worst first), %d left out", ws.ws.name, len(shown),
                 len(frame), left)


_SEVERITY_ORDER = {"shall": 0, "should": 1}
_GPKG = "layers.gpkg"


def _not_provided(ws: _Sheet, lang: Lang) -> None:
    ws.append([label("not_provided", lang)])
    ws.width(0, 30)


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
    model = _get(summary, "water.model")
    if isinstance(model, str):  # which water model credited the buildings' flow
        rows.append((label("water.model", lang), label(f"water_model_{model}", lang), "", "water.model"))
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


_SEVERITY_FONTS = {"error": {"bold": True, "font_color": "#B00020"},
                   "warning": {"bold": True, "font_color": "#9A6700"}}


def _quality_sheet(ws: _Sheet, summary: Mapping[str, Any], lang: Lang) -> None:
    """数据说明: a title, the warnings (red errors, amber warnings), the rule, the table of inputs."""
    _, inputs = quality_frames(summary, lang=lang)
    title = ws.fmt(bold=True, size=13)
    last = len(QUALITY_COLUMNS) - 1
    ws.append([label("quality_warnings", lang)], title)
    lines = warning_lines(summary, lang)
    if not lines:
        ws.append([label("quality_none", lang)])
    for w in lines:
        font = _SEVERITY_FONTS.get(w.severity, {})
        r = ws.row
        ws.write(r, 0, label(f"q_{w.severity}", lang), ws.fmt(**font))
        ws.merge(r, 1, last, w.text, ws.fmt(**font, **_WRAP_TOP))
        ws.ws.set_row(r, 15 * max(1, math.ceil(_width(w.text) / 150)))
        ws.row += 1
    ws.row += 1
    ws.append([label("quality_heading", lang)], title)
    r = ws.row
    ws.merge(r, 0, last, label("quality_intro", lang), ws.fmt(**_WRAP_TOP))
    ws.ws.set_row(r, 32)
    ws.row += 1
    ws.append([label(c, lang) for c in inputs.columns], ws.fmt(**_HEADER))
    wrap = ws.fmt(**_WRAP_TOP)
    for row in inputs.itertuples(index=False):
        ws.append([_cell(v) for v in row], wrap)
    widths = (16, 10, 40, 34, 24, 34, 40)
    for j, width in enumerate(widths):
        ws.width(j, width)


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
    inputs: ReportInputs,
    *,
    thresholds: GradeThresholds | None = None,
    lang: str = "zh",
    max_rows: int = XLSX_MAX_ROWS,
) -> Path:
    """Write the XLSX report atomically.

    Parameters
    ----------
    path
        Target file.
    inputs
        The summary and tables (:class:`reports.inputs.ReportInputs`; its map layers are not
        used): ``underserved`` (a ``district`` column is written when present); ``buildings``,
        of which the rows with a fire-flow deficit or no usable hydrant in range are written,
        high-rises and the largest deficits first; the findings; optionally blockages worst first
        (``rank``, else the impact), proposed hydrants in building ``order`` and the budget
        curve as given. Column names of :mod:`routing.blockages` and :mod:`routing.siting` get
        translated headers; other columns keep their names.
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
    summary, districts, underserved = inputs.summary, inputs.districts, inputs.underserved
    buildings, findings, proposed = inputs.buildings, inputs.findings, inputs.proposed
    lg = check_lang(lang)
    t = thresholds or GradeThresholds()
    prop_plain = _plain(proposed) if proposed is not None else None
    with atomic_path(Path(path)) as tmp:
        book = _Book(tmp)
        ws = book.sheet(label("sheet_overview", lg))
        _write_sheet(ws, overview_frame(summary, districts, prop_plain, lang=lg), lang=lg)
        ws.row += 1
        r = ws.row
        ws.write(r, 0, label("grading_rule", lg), ws.fmt(bold=True))
        ws.merge(r, 1, 3, t.describe(lg), ws.fmt(**_WRAP_TOP))
        ws.ws.set_row(r, 75)
        ws.row += 1

        _quality_sheet(book.sheet(label("sheet_quality", lg)), summary, lg)

        d = district_frame(districts, lang=lg, thresholds=t)
        _write_sheet(book.sheet(label("sheet_districts", lg)), d, lang=lg, freeze="B2", total_last=True)

        u = _plain(underserved)
        u = u.sort_values("rank") if "rank" in u else u
        _write_capped(book.sheet(label("sheet_underserved", lg)),
                      u[[c for c in UNDERSERVED_COLUMNS if c in u.columns]], lang=lg, max_rows=max_rows,
                      where=f"{_GPKG} (underserved_segments)")

        b = _short_of_water(_plain(buildings))
        _write_capped(book.sheet(label("sheet_buildings", lg)),
                      b[[c for c in BUILDING_COLUMNS if c in b.columns]], lang=lg, max_rows=max_rows,
                      where=f"{_GPKG} (buildings_analysis)")

        _optional_sheets(book, lg, blockages=inputs.blockages, proposed=prop_plain,
                         budget_curve=inputs.budget_curve, max_rows=max_rows)

        f = _plain(findings)
        if len(f) > max_rows and "severity" in f:  # shall (violations) before should (warnings)
            f = f.iloc[np.argsort(f["severity"].map(_SEVERITY_ORDER).fillna(2).to_numpy(), kind="stable")]
        _write_capped(book.sheet(label("sheet_findings", lg)),
                      f[[c for c in FINDING_COLUMNS if c in f.columns]], lang=lg, max_rows=max_rows,
                      where=f"findings.csv, {_GPKG} (findings)")
        book.wb.close()
    log.info("wrote %s: %d districts, %d underserved streets, %d buildings short of water, %d findings",
             path, len(districts), len(u), len(b), len(f))
    return Path(path)


def _short_of_water(b: pd.DataFrame) -> pd.DataFrame:
    """Buildings with a fire-flow deficit or no hydrant in range, high-rises and the largest
    deficits first."""
    short = (np.nan_to_num(b["flow_deficit_lps"].to_numpy(dtype=np.float64)) > 0) | (
        b["hydrants_in_range"].to_numpy() == 0)
    b = b.loc[short].copy()
    b["_high"] = b["high_rise_class"].map({"class1": 0, "class2": 1}).fillna(2)
    return b.sort_values(["_high", "flow_deficit_lps"], ascending=[True, False], na_position="last")


def _optional_sheets(
    book: _Book,
    lg: Lang,
    *,
    blockages: pd.DataFrame | None,
    proposed: pd.DataFrame | None,
    budget_curve: pd.DataFrame | None,
    max_rows: int,
) -> None:
    """The blockage ranking, proposed hydrants and budget curve sheets (a line when not given)."""
    ws = book.sheet(label("sheet_blockages", lg))
    if blockages is None:
        _not_provided(ws, lg)
    else:
        bl = ranked_blockages(_plain(blockages))
        if "rank" not in bl:
            bl.insert(0, "rank", np.arange(1, len(bl) + 1))
        _write_capped(ws, _ordered(bl, BLOCKAGE_FIRST), lang=lg, max_rows=max_rows,
                      where=f"{_GPKG} (blockages_ranked)")

    ws = book.sheet(label("sheet_proposed", lg))
    if proposed is None:
        _not_provided(ws, lg)
    else:
        p = ordered_proposals(proposed)
        if "rank" not in p and "order" not in p:
            p.insert(0, "rank", np.arange(1, len(p) + 1))
        _write_capped(ws, _ordered(p, PROPOSED_FIRST), lang=lg, max_rows=max_rows,
                      where=f"{_GPKG} (proposed_hydrants)")

    ws = book.sheet(label("sheet_budget", lg))
    if budget_curve is None:
        _not_provided(ws, lg)
    else:
        _write_sheet(ws, _plain(budget_curve), lang=lg)
