"""Reading agency tables into raw cells: CSV/XLSX/vector files, header rows, merged header cells.

Nothing here interprets values: :mod:`geo.agency` gives the cells their meaning. Headers are
recognised case-, space- and punctuation-insensitively (:func:`header_key`), with a unit written
after the name (``压力(kPa)``, ``flow_gpm``) ignored for the match.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pyogrio
import pyproj
from numpy.typing import NDArray

from geo.errors import InputFileError

logger = logging.getLogger(__name__)

_TABLE_SUFFIXES = {".csv", ".txt", ".tsv"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp"}
_HEADER_SCAN_ROWS = 10
_UNIT_SUFFIXES = (
    "mpa", "kpa", "bar", "psi", "lps", "ls", "lpm", "lmin", "gpm", "m3h", "m³h", "mm", "cm", "m", "米", "毫米"
)


# ---------------------------------------------------------------------------------------------
# Reading files into raw frames


@dataclass(frozen=True)
class Raw:
    """A file's data rows as raw cells, before any interpretation."""

    frame: pd.DataFrame  # object columns, named by the file's headers
    headers: list[str]
    geometry: gpd.GeoSeries | None
    crs: pyproj.CRS | None
    row_numbers: NDArray[np.int64]  # 1-based data row of each frame row
    blank: NDArray[np.bool_]  # rows with no value at all (skipped, not rejected)


def read_any(path: Path, *, fields: Mapping[str, Sequence[str]], columns: Mapping[str, str] | None) -> Raw:
    fname = str(path)
    if not path.exists():
        raise InputFileError(f"{fname}: file not found; check the path")
    if path.is_dir():
        raise InputFileError(f"{fname}: is a folder, not a file; give the file itself")
    suffix = path.suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        rows = csv_rows(path)
        return _table_from_rows(rows, fname=fname, fields=fields, columns=columns)
    if suffix in _EXCEL_SUFFIXES:
        return _read_xlsx(path, fields=fields, columns=columns)
    if suffix in _VECTOR_SUFFIXES:
        return read_vector(path, layer_hint=())
    if suffix == ".xls":
        raise InputFileError(f"{fname}: old Excel .xls format; save it as .xlsx or CSV (UTF-8)")
    raise InputFileError(
        f"{fname}: unsupported file type {suffix or '(none)'!r}; use CSV, XLSX, GeoJSON, "
        "GeoPackage or Shapefile"
    )


def _decode(data: bytes, fname: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" not in text:
            if encoding != "utf-8-sig":
                logger.info("%s: decoded as %s", fname, encoding)
            return text
    raise InputFileError(
        f"{fname}: cannot be decoded as UTF-8 or GBK/GB18030 text (is it a binary file?); "
        "save it as CSV UTF-8 (Excel: 另存为 → CSV UTF-8)"
    )


def csv_rows(path: Path) -> list[list[str]]:
    fname = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputFileError(f"{fname}: cannot be read ({exc}); check permissions") from exc
    text = _decode(data, fname)
    if not text.strip():
        raise InputFileError(f"{fname}: is empty; export the table with its header row")
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((",", "\t", ";", "|"), key=first.count)
    if first.count(delimiter) == 0:
        delimiter = ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise InputFileError(f"{fname}: is not a readable CSV table ({exc})") from exc


def _read_xlsx(path: Path, *, fields: Mapping[str, Sequence[str]], columns: Mapping[str, str] | None) -> Raw:
    fname = str(path)
    sheets = _workbook_rows(path)
    best: tuple[int, str] | None = None
    for name, rows in sheets.items():
        if not rows:
            continue
        _, score, has_xy = header_row(rows, fields, columns)
        key = (score + (100 if has_xy else 0), str(name))
        if best is None or key[0] > best[0]:
            best = key
    if best is None:
        raise InputFileError(f"{fname}: every sheet is empty; put the table on the first sheet")
    if len(sheets) > 1:
        logger.info("%s: using sheet %r of %d", fname, best[1], len(sheets))
    return _table_from_rows(
        sheets[best[1]],
        fname=f"{fname} (sheet {best[1]})" if len(sheets) > 1 else fname,
        fields=fields,
        columns=columns,
    )


def _workbook_rows(path: Path) -> dict[str, list[list[object]]]:
    """Every sheet's cells, with each merged range's value copied into all of its cells.

    Spreadsheets merge header cells (编号 over two rows, 坐标 over 经度/纬度) and group cells
    (a district over its rows); read cell by cell, all but the top-left cell would be empty.
    """
    fname = str(path)
    try:
        # not read_only: merged ranges are only known to the full model
        book = openpyxl.load_workbook(path, data_only=True)
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputFileError(
            f"{fname}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel and save it again as .xlsx"
        ) from exc
    sheets: dict[str, list[list[object]]] = {}
    for ws in book.worksheets:
        grid: list[list[object]] = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:
            value = grid[rng.min_row - 1][rng.min_col - 1] if rng.min_row <= len(grid) else None
            for r in range(rng.min_row - 1, min(rng.max_row, len(grid))):
                for c in range(rng.min_col - 1, min(rng.max_col, len(grid[r]))):
                    grid[r][c] = value
        rows = [["" if is_missing(v) else v for v in row] for row in grid]
        while rows and all(blank_cell(v) for v in rows[-1]):
            rows.pop()
        sheets[ws.title] = rows
    book.close()
    return sheets


def _table_from_rows(
    rows: Sequence[Sequence[object]],
    *,
    fname: str,
    fields: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None,
) -> Raw:
    rows = [list(r) for r in rows]
    while rows and all(blank_cell(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        raise InputFileError(f"{fname}: is empty; export the table with its header row")
    header_idx, _, _ = header_row(rows, fields, columns)
    width = max(len(r) for r in rows)
    header = [str(h).strip() if not blank_cell(h) else "" for h in rows[header_idx]]
    header += [""] * (width - len(header))
    if header_idx > 0:
        # a header over two rows: a blank sub-header cell takes the name above it, unless the
        # row above is a title (one value across the table)
        above = list(rows[header_idx - 1]) + [""] * width
        if len({str(v).strip() for v in above if not blank_cell(v)}) >= 2:
            header = [
                h or ("" if blank_cell(above[i]) else str(above[i]).strip())
                for i, h in enumerate(header)
            ]
    headers = unique_headers(header)
    data = [list(r) + [""] * (width - len(r)) for r in rows[header_idx + 1 :]]
    if not data:
        raise InputFileError(f"{fname}: has a header but no data rows")
    frame = pd.DataFrame(data, columns=headers, dtype=object)
    blank = np.array([all(blank_cell(v) for v in r) for r in data], dtype=bool)
    if blank.all():
        raise InputFileError(f"{fname}: has a header but no data rows")
    return Raw(
        frame=frame,
        headers=[h for h in headers if not h.startswith("column_")] or headers,
        geometry=None,
        crs=None,
        row_numbers=np.arange(1, len(data) + 1, dtype=np.int64),
        blank=blank,
    )


def read_vector(path: Path, *, layer_hint: Sequence[str]) -> Raw:
    fname = str(path)
    if not path.exists():
        raise InputFileError(f"{fname}: file not found; check the path")
    try:
        layers = pyogrio.list_layers(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputFileError(
            f"{fname}: cannot be opened as a vector file ({exc}); check that it is a complete "
            "GeoJSON, GeoPackage or Shapefile (with its .shx and .dbf)"
        ) from exc
    if len(layers) == 0:
        raise InputFileError(f"{fname}: holds no layers")
    names = [str(n) for n in layers[:, 0]]
    chosen = names[0]
    if len(names) > 1:
        hinted = [n for n in names if n.lower() in layer_hint]
        pointy = [n for n, t in zip(names, layers[:, 1], strict=True) if t and "Point" in str(t)]
        chosen = (hinted or pointy or names)[0]
        logger.info("%s: using layer %r of %s", fname, chosen, names)
    kwargs: dict[str, object] = {}
    if path.suffix.lower() == ".shp" and not path.with_suffix(".cpg").exists():
        kwargs["encoding"] = "utf-8"
    try:
        try:
            gdf = gpd.read_file(path, layer=chosen, engine="pyogrio", **kwargs)
        except UnicodeDecodeError:
            logger.info("%s: attributes are not UTF-8; reading them as GB18030", fname)
            gdf = gpd.read_file(path, layer=chosen, engine="pyogrio", encoding="gb18030")
    except Exception as exc:
        raise InputFileError(f"{fname}: cannot be read ({type(exc).__name__}: {exc})") from exc
    if len(gdf) == 0:
        raise InputFileError(f"{fname}: holds no features")
    geometry: gpd.GeoSeries | None = None
    crs = None
    if isinstance(gdf, gpd.GeoDataFrame) and gdf.geometry.name in gdf.columns:
        geometry = gdf.geometry.reset_index(drop=True)
        crs = gdf.crs
        if geometry.isna().all() or geometry.is_empty.all():
            geometry = None
        attrs = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    else:
        attrs = pd.DataFrame(gdf)
    attrs = attrs.astype(object).reset_index(drop=True)
    attrs.columns = unique_headers([str(c) for c in attrs.columns])
    n = len(attrs)
    return Raw(
        frame=attrs,
        headers=list(attrs.columns),
        geometry=geometry,
        crs=crs,
        row_numbers=np.arange(1, n + 1, dtype=np.int64),
        blank=np.zeros(n, dtype=bool),
    )


# ---------------------------------------------------------------------------------------------
# Headers and columns


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def header_key(header: object) -> str:
    """Normalised header: NFKC, lower case, bracketed units and punctuation removed."""
    text = nfkc(str(header)).lower()
    text = re.sub(r"[(\[{（【].*?[)\]}）】]", "", text)
    return re.sub(r"[\W_]+", "", text)


def _candidates(header: object) -> list[str]:
    key = header_key(header)
    keys = [key]
    for suffix in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            keys.append(key[: -len(suffix)])
    return keys


def header_rank(header: object, names: Sequence[str]) -> int | None:
    best: int | None = None
    for key in _candidates(header):
        if key in names:
            r = names.index(key)
            best = r if best is None else min(best, r)
    return best


def find_header(headers: Sequence[str], names: Sequence[str]) -> str | None:
    ranked = [(r, i, h) for i, h in enumerate(headers) if (r := header_rank(h, names)) is not None]
    return min(ranked)[2] if ranked else None


def header_row(
    rows: Sequence[Sequence[object]],
    fields: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None,
) -> tuple[int, int, bool]:
    """Index of the header row among the first rows, its score, and whether it has coordinates."""
    explicit = {nfkc(str(v)).strip() for v in (columns or {}).values()}
    best = (0, -1, False)
    for idx, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        cells = [c for c in row if isinstance(c, str) and c.strip()]
        matched = {f for f, names in fields.items() for c in cells if header_rank(c, names) is not None}
        matched |= {f"explicit:{c}" for c in cells if nfkc(c).strip() in explicit}
        has_xy = "lonlat" in matched or {"lon", "lat"} <= matched
        score = len(matched)
        if score > best[1] or (has_xy and not best[2] and score >= best[1]):
            best = (idx, score, has_xy)
    return best


def unique_headers(header: Sequence[str]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for i, h in enumerate(header):
        h = h or f"column_{i + 1}"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        out.append(h)
    return out



def is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def blank_cell(value: object) -> bool:
    return is_missing(value) or (isinstance(value, str) and not value.strip())


def cell_text(series: pd.Series) -> pd.Series:
    """Cells as stripped text; numbers without a spurious '.0'; missing as ''."""

    def one(v: object) -> str:
        if is_missing(v):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return nfkc(str(v)).strip()

    return pd.Series([one(v) for v in series.to_numpy()], index=series.index, dtype=object)


def cell_word(value: object) -> str:
    return re.sub(r"[\s_\-]+", "", nfkc(str(value)).lower()) if not is_missing(value) else ""
