"""Agency files: hydrant inventories, fire stations, blockage ledgers and district boundaries.

Fire brigades keep their own lists, mostly as spreadsheets with Chinese headers (编号, 经度, 纬度,
类型 地上/地下, 状态 在用/停用, 压力 MPa, 出水量 L/s, 口径 DN), often in GBK, often with
coordinates copied from AMap/Tencent (GCJ-02) or Baidu (BD-09) web maps. This module reads them
into one shape: a point GeoDataFrame in WGS84 with normalised columns, plus a rejects list naming
every row that was not used, where and why. One bad row never costs the good ones; nothing is
silently "fixed" (swapped latitude/longitude is reported, not swapped back).

Formats: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030; UTF-16 with a BOM as Excel writes "Unicode
text"), XLSX (the sheet whose header matches best), GeoJSON, GeoPackage and Shapefile (a
Shapefile without ``.cpg`` is tried as UTF-8, then GB18030).

Column headers are recognised case-, space- and punctuation-insensitively, in Chinese and English,
with units read from the header (``压力(kPa)``, ``流量(m³/h)``) or the cell (``0.35MPa``); an
explicit ``columns`` mapping (canonical name to header) overrides the recognition. Canonical
names: ``id``, ``lon``, ``lat``, ``lonlat`` (one column holding ``"lon,lat"``), ``name``, and per
layer ``kind``, ``status``, ``pressure``, ``flow``, ``diameter`` (hydrants) or ``kind``,
``status``, ``reported_at``, ``reporter``, ``photo``, ``remaining_width`` (blockages). When the
source CRS is projected, ``lon``/``lat`` mean the x (easting) and y (northing) columns.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo import crs as gcrs
from geo.errors import ConfigError, CRSError, InputFileError
from geo.rejects import Reject
from geo.units import parse_length_m

logger = logging.getLogger(__name__)

__all__ = [
    "BLOCKAGE_COLUMNS",
    "HYDRANT_COLUMNS",
    "STATION_COLUMNS",
    "AgencyRead",
    "Layer",
    "parse_coordinate",
    "read_agency_table",
    "read_districts_file",
]

Layer = Literal["hydrants", "stations", "blockages"]

#: Output columns (besides ``geometry``) of each layer, in order.
HYDRANT_COLUMNS = (
    "hydrant_id",
    "kind",
    "status",
    "diameter_mm",
    "flow_lps",
    "pressure_mpa",
    "ref",
    "name",
    "source",
    "source_file",
    "source_crs",
    "osm_id",
    "source_row",
)
STATION_COLUMNS = ("station_id", "name", "source", "source_file", "source_crs", "source_row")
BLOCKAGE_COLUMNS = (
    "blockage_id",
    "kind",
    "status",
    "reported_at",
    "reporter",
    "photo",
    "remaining_width_m",
    "name",
    "source",
    "source_file",
    "source_crs",
    "source_row",
)

_TABLE_SUFFIXES = {".csv", ".txt", ".tsv"}
_EXCEL_SUFFIXES = {".xlsx", ".xlsm"}
_VECTOR_SUFFIXES = {".geojson", ".json", ".gpkg", ".shp"}
_HEADER_SCAN_ROWS = 10
_CHINA_BBOX = (73.0, 18.0, 135.0, 54.0)

# Header candidates per canonical field, as normalised keys (see _key), best first.
_ID = (
    "编号",
    "消火栓编号",
    "栓号",
    "设施编号",
    "站点编号",
    "消防站编号",
    "id",
    "hydrantid",
    "stationid",
    "blockageid",
    "code",
    "no",
    "number",
    "ref",
    "序号",
)
_COMMON: dict[str, tuple[str, ...]] = {
    "id": _ID,
    "lon": ("经度", "东经", "lon", "lng", "long", "longitude", "x", "x坐标", "坐标x"),
    "lat": ("纬度", "北纬", "lat", "latitude", "y", "y坐标", "坐标y"),
    "lonlat": ("经纬度", "坐标", "经纬度坐标", "lnglat", "lonlat", "coordinates", "coords"),
}
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "hydrants": {
        **_COMMON,
        "kind": ("类型", "型式", "形式", "消火栓类型", "type", "kind"),
        "status": ("状态", "使用状态", "status", "state"),
        "pressure": ("压力", "水压", "静压", "pressure"),
        "flow": ("出水量", "流量", "flow", "flowrate"),
        "diameter": ("口径", "管径", "dn", "diameter"),
        "name": ("名称", "地址", "位置", "name", "address", "location"),
    },
    "stations": {
        **_COMMON,
        "name": ("站名", "消防站", "消防站名称", "名称", "name", "station", "地址", "address"),
    },
    "blockages": {
        **_COMMON,
        "kind": ("类型", "占用类型", "障碍类型", "type", "kind"),
        "status": ("状态", "整改状态", "处理状态", "status", "state"),
        "reported_at": (
            "上报时间",
            "时间",
            "日期",
            "发现时间",
            "reportedat",
            "reported",
            "date",
            "time",
            "datetime",
        ),
        "reporter": ("上报人", "报告人", "发现人", "reporter"),
        "photo": ("照片", "图片", "photo", "image", "picture"),
        "remaining_width": ("剩余宽度", "剩余通道宽度", "通道宽度", "remainingwidth", "width"),
        "name": ("地址", "位置", "名称", "address", "location", "name"),
    },
}
_UNIT_SUFFIXES = ("mpa", "kpa", "bar", "lps", "ls", "m3h", "m³h", "mm", "cm", "m", "米", "毫米")

_HYDRANT_STATUS: dict[str, str] = {
    **dict.fromkeys(["在用", "正常", "完好", "可用", "inservice", "ok", "good", "working"], "in_service"),
    **dict.fromkeys(
        ["停用", "损坏", "故障", "报废", "不可用", "outofservice", "broken", "outoforder"],
        "out_of_service",
    ),
    **dict.fromkeys(["水压不足", "压力不足", "低压", "lowpressure"], "low_pressure"),
    **dict.fromkeys(["未知", "unknown"], "unknown"),
    # a blank cell states nothing: geo.layers gives it the preset's status (geo.hydrants)
    "": "not_stated",
}
_HYDRANT_STATUS_HELP = (
    "在用/正常/完好/可用/in service/ok (in_service), 停用/损坏/故障/报废/不可用/out of service/"
    "broken (out_of_service), 水压不足/压力不足/低压/low pressure (low_pressure), 未知/unknown "
    "(unknown), or empty (the preset's status for hydrants without one)"
)
_BLOCKAGE_STATUS: dict[str, str] = {
    **dict.fromkeys(["reported", "待整改", "已上报", "上报", "新上报", ""], "reported"),
    **dict.fromkeys(["assigned", "已派单", "派单", "已指派"], "assigned"),
    **dict.fromkeys(["rectified", "已整改", "整改完成", "fixed"], "rectified"),
    **dict.fromkeys(["verified", "已复核", "复核通过"], "verified"),
    **dict.fromkeys(["closed", "已销号", "已关闭", "销号", "关闭"], "closed"),
    **dict.fromkeys(["rejected", "驳回", "已驳回", "不属实", "无效"], "rejected"),
    **dict.fromkeys(["duplicate", "重复", "重复上报", "duplicated"], "duplicate"),
}
_BLOCKAGE_STATUS_HELP = (
    "reported (待整改/已上报; also empty), assigned (已派单), rectified (已整改), "
    "verified (已复核), closed (已销号/已关闭), rejected (驳回/不属实), duplicate (重复)"
)
_BLOCKAGE_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("parked_vehicle", ("parkedvehicle", "停车", "车辆", "vehicle", "car", "parked")),
    ("gate", ("gate", "门", "栅栏", "道闸", "barrier", "fence", "bollard", "隔离桩")),
    ("structure", ("structure", "违建", "搭建", "构筑物", "building")),
    ("goods", ("goods", "堆物", "杂物", "堆放", "debris")),
    ("stall", ("stall", "摊位", "摊贩", "vendor")),
    ("parked_vehicle", ("占用",)),
    ("other", ("other", "其他", "其它")),
)


@dataclass(frozen=True)
class AgencyRead:
    """What :func:`read_agency_table` returns.

    Attributes
    ----------
    points
        One row per good input row, EPSG:4326 points, the layer's columns (for example
        :data:`HYDRANT_COLUMNS`); ``source_row`` is the 1-based data row in the file.
    rejects
        One :class:`geo.rejects.Reject` per row that was not used.
    """

    points: gpd.GeoDataFrame
    rejects: list[Reject]


# ---------------------------------------------------------------------------------------------
# Public readers


def read_agency_table(
    path: str | Path,
    *,
    layer: Layer,
    source_crs: str | None = None,
    columns: Mapping[str, str] | None = None,
    study_area: BaseGeometry | None = None,
) -> AgencyRead:
    """Read an agency hydrant, station or blockage file into WGS84 points and rejects.

    Parameters
    ----------
    path
        A CSV, XLSX, GeoJSON, GeoPackage or Shapefile.
    layer
        ``"hydrants"``, ``"stations"`` or ``"blockages"``: decides the columns recognised and
        produced.
    source_crs
        The CRS the coordinates are in (see :func:`geo.crs.parse_crs`), for example ``"gcj02"``
        for coordinates copied from AMap. It wins over a vector file's own CRS (which is right
        when the coordinates were pasted from a web map into a file labelled WGS84). Default:
        the file's CRS for vector files, EPSG:4326 for tables. Coordinates stated as GCJ-02 or
        BD-09 are un-shifted even near a border where :func:`geo.crs.in_china` is unsure.
    columns
        Canonical name to header in the file (``{"lon": "X坐标", "id": "栓号"}``); overrides the
        automatic recognition for those names.
    study_area
        A WGS84 polygon; rows outside it are rejected.

    Returns
    -------
    AgencyRead
        The good rows as points and the rejects.

    Raises
    ------
    InputFileError
        The file is missing, unreadable, in an unknown encoding or format, empty, has neither
        geometry nor longitude/latitude columns, or its CRS is unknown.
    ConfigError
        ``layer`` or a key of ``columns`` is not known.
    """
    if layer not in get_args(Layer):
        raise ConfigError(f"unknown layer {layer!r}; use one of {', '.join(get_args(Layer))}")
    path = Path(path)
    fname = str(path)
    fields = _FIELDS[layer]
    if columns:
        unknown = sorted(set(columns) - set(fields))
        if unknown:
            raise ConfigError(
                f"columns= names {unknown} are not known for layer {layer!r}; use {', '.join(fields)}"
            )
    raw = _read_any(path, fields=fields, columns=columns)
    mapping = _map_columns(raw.headers, fields, columns, fname=fname)
    has_xy = "lonlat" in mapping or ("lon" in mapping and "lat" in mapping)
    if raw.geometry is None and not has_xy:
        raise InputFileError(
            f"{fname}: no longitude/latitude columns found (headers: {', '.join(raw.headers)}); "
            "name them 经度/纬度 or lon/lat, or pass columns={'lon': '<header>', 'lat': '<header>'}"
        )
    src = _source_crs(source_crs, raw.crs, fname=fname, geometry=raw.geometry)
    frame = raw.frame
    n = len(frame)
    ids = _ids(frame, mapping, path)
    rej = _Rejects(
        layer=layer,
        file=fname,
        ids=ids if "id" in mapping else [],
        blank=raw.blank,
        row_numbers=raw.row_numbers,
    )
    explicit_xy = bool(columns) and any(k in (columns or {}) for k in ("lon", "lat", "lonlat"))
    if raw.geometry is not None and not explicit_xy:
        x, y, xcol, ycol = _xy_from_geometry(raw.geometry, rej)
    else:
        x, y, xcol, ycol = _xy_from_columns(frame, mapping, rej)

    geographic = src.is_offset or bool(src.pyproj_crs is not None and src.pyproj_crs.is_geographic)
    if geographic:
        _check_degrees(x, y, xcol, ycol, src, rej)
    ok = ~rej.rejected_mask(n) & np.isfinite(x) & np.isfinite(y)
    lon = np.full(n, np.nan)
    lat = np.full(n, np.nan)
    if ok.any():
        lon[ok], lat[ok] = gcrs.to_wgs84(x[ok], y[ok], src, china_only=False)
        if src.is_offset:
            outside = ok.copy()
            outside[ok] = ~gcrs.in_china(lon[ok], lat[ok])
            if outside.any():
                logger.warning(
                    "%s: %d points stated as %s lie outside the coarse China boundary; "
                    "they were converted anyway because the file was stated to be %s",
                    fname,
                    int(outside.sum()),
                    src.name,
                    src.name,
                )
    if src.pyproj_crs is not None and not geographic:
        _check_projected(lon, lat, x, y, xcol, src.name, src.pyproj_crs, rej)

    values = _normalise_fields(frame, mapping, layer, rej)
    _check_duplicates(ids, mapping, rej, n)
    if study_area is not None:
        good = ~rej.rejected_mask(n)
        inside = np.zeros(n, dtype=bool)
        inside[good] = shapely.intersects_xy(study_area, lon[good], lat[good])
        rej.add(
            good & ~inside,
            None,
            lambda i: (
                f"outside the study area ({lon[i]:.6f}, {lat[i]:.6f} WGS84); "
                "check the coordinates or the study area"
            ),
            [f"{a}, {b}" for a, b in zip(x, y, strict=True)],
        )

    keep = ~rej.rejected_mask(n) & ~raw.blank
    points = _build_points(layer, values, ids, keep, lon, lat, raw.row_numbers, fname, src)
    rejects = rej.records()
    logger.info(
        "%s: read %d %s (source CRS %s, columns %s); %d rows rejected",
        fname,
        len(points),
        layer,
        src.name,
        ", ".join(f"{k}={v}" for k, v in mapping.items()),
        len(rejects),
    )
    return AgencyRead(points=points, rejects=rejects)


def read_districts_file(
    path: str | Path, *, source_crs: str | None = None, name_column: str | None = None
) -> gpd.GeoDataFrame:
    """Read district or sub-district boundaries (polygons) from a GeoJSON, GeoPackage or Shapefile.

    Parameters
    ----------
    path
        The vector file.
    source_crs
        The CRS of the coordinates when the file has none or it is wrong (``"gcj02"`` for
        boundaries traced on AMap). Default: the file's CRS.
    name_column
        The column holding the district name. Default: the first of 名称, 区名, 街道, 辖区,
        name, district ... found, else the file name and a number.

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326 polygons with ``district_id``, ``name``, ``admin_level`` (NaN) and
        ``source_file``. Features without geometry are dropped (and logged).

    Raises
    ------
    InputFileError
        The file is missing or unreadable, has no CRS and none was given, holds anything but
        polygons, or ``name_column`` is not in it.
    """
    path = Path(path)
    fname = str(path)
    raw = _read_vector(path, layer_hint=("district", "districts", "辖区", "区划"))
    if raw.geometry is None:
        raise InputFileError(f"{fname}: has no geometry; districts need polygons")
    geom = raw.geometry
    present = ~(geom.isna().to_numpy() | geom.is_empty.to_numpy())
    if not present.all():
        logger.warning(
            "%s: dropped %d features without geometry (rows %s)",
            fname,
            int((~present).sum()),
            list(np.flatnonzero(~present) + 1)[:20],
        )
    types = set(geom[present].geom_type)
    if not types or not types <= {"Polygon", "MultiPolygon"}:
        raise InputFileError(
            f"{fname}: holds {', '.join(sorted(types)) or 'no geometries'}; district files "
            "must hold polygons (export the district layer, not its points or lines)"
        )
    src = _source_crs(source_crs, raw.crs, fname=fname, geometry=geom)
    frame = raw.frame.loc[present].reset_index(drop=True)
    shapes = geom[present].reset_index(drop=True)

    def _transform(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        lon, lat = gcrs.to_wgs84(coords[:, 0], coords[:, 1], src, china_only=False)
        return np.column_stack([lon, lat])

    wgs = shapely.transform(np.asarray(shapes.array, dtype=object), _transform)
    invalid = ~shapely.is_valid(wgs)
    if invalid.any():
        logger.info("%s: repaired %d invalid polygons", fname, int(invalid.sum()))
        wgs[invalid] = shapely.make_valid(wgs[invalid])

    headers = list(frame.columns)
    if name_column is not None:
        if name_column not in headers:
            raise InputFileError(
                f"{fname}: name_column {name_column!r} not found; columns: {', '.join(headers)}"
            )
        name_col: str | None = name_column
    else:
        name_col = _find_header(
            headers, ("名称", "区名", "街道", "辖区", "区县", "name", "district", "区域", "名字")
        )
    id_col = _find_header(headers, ("编号", "代码", "区划代码", "adcode", "code", "districtid", "id"))
    n = len(frame)
    default_ids = [f"{path.stem}/{i + 1}" for i in range(n)]
    ids = _text(frame[id_col]) if id_col else pd.Series(default_ids)
    ids = pd.Series(np.where(ids == "", default_ids, ids), dtype=object)
    names = _text(frame[name_col]) if name_col else pd.Series(default_ids, dtype=object)
    out = gpd.GeoDataFrame(
        {
            "district_id": ids.astype(str).to_numpy(),
            "name": names.astype(str).to_numpy(),
            "admin_level": np.full(n, np.nan),
            "source_file": [fname] * n,
        },
        geometry=list(wgs),
        crs="EPSG:4326",
    )
    logger.info("%s: read %d districts (source CRS %s, name column %s)", fname, n, src.name, name_col)
    return out


def parse_coordinate(value: object) -> float:
    """Parse one longitude or latitude written the ways agency spreadsheets write them.

    Accepts numbers, ``"118.78"``, ``"118.78°"``, ``"１１８．７８"`` (full-width), ``"118,78"``,
    ``"E118.78"``, ``"118.78E"``, ``"东经118.78"``, and degrees-minutes-seconds such as
    ``118°47'30"``, ``118°47′30″E`` or ``118度47分30秒`` (S and W make it negative).

    Parameters
    ----------
    value
        The raw cell.

    Returns
    -------
    float
        Degrees, or NaN when empty or unreadable.
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = _nfkc(str(value)).strip()
    if not text:
        return math.nan
    text = (
        text.replace("′′", '"')
        .replace("″", '"')
        .replace("′", "'")
        .replace("’", "'")
        .replace("‘", "'")
        .replace("”", '"')
        .replace("“", '"')
        .replace("''", '"')
        .replace("度", "°")
        .replace("分", "'")
        .replace("秒", '"')
    )
    sign = 1.0
    for prefix, s in (("东经", 1.0), ("北纬", 1.0), ("西经", -1.0), ("南纬", -1.0)):
        if text.startswith(prefix):
            text, sign = text[len(prefix) :].strip(), s
    hemi = re.fullmatch(r"([NSEWnsew])?\s*(.*?)\s*([NSEWnsew])?", text)
    if hemi is not None and (hemi.group(1) or hemi.group(3)) and not (hemi.group(1) and hemi.group(3)):
        letter = (hemi.group(1) or hemi.group(3)).upper()
        text = hemi.group(2)
        if letter in "SW":
            sign = -1.0
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    text = text.rstrip("°").strip()
    try:
        return sign * float(text)
    except ValueError:
        pass
    m = re.fullmatch(
        r"""([+-]?\d+(?:\.\d+)?)\s*°\s*(?:(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*"?)?)?""",
        text,
    )
    if m is None:
        return math.nan
    deg = float(m.group(1))
    minutes = float(m.group(2)) if m.group(2) else 0.0
    seconds = float(m.group(3)) if m.group(3) else 0.0
    if minutes >= 60 or seconds >= 60:
        return math.nan
    magnitude = abs(deg) + minutes / 60.0 + seconds / 3600.0
    return sign * math.copysign(magnitude, -1.0 if deg < 0 or text.startswith("-") else 1.0)


# ---------------------------------------------------------------------------------------------
# Reading files into raw frames


@dataclass(frozen=True)
class _Raw:
    """A file's data rows as raw cells, before any interpretation."""

    frame: pd.DataFrame  # object columns, named by the file's headers
    headers: list[str]
    geometry: gpd.GeoSeries | None
    crs: pyproj.CRS | None
    row_numbers: NDArray[np.int64]  # 1-based data row of each frame row
    blank: NDArray[np.bool_]  # rows with no value at all (skipped, not rejected)


def _read_any(path: Path, *, fields: Mapping[str, Sequence[str]], columns: Mapping[str, str] | None) -> _Raw:
    fname = str(path)
    if not path.exists():
        raise InputFileError(f"{fname}: file not found; check the path")
    if path.is_dir():
        raise InputFileError(f"{fname}: is a folder, not a file; give the file itself")
    suffix = path.suffix.lower()
    if suffix in _TABLE_SUFFIXES:
        rows = _csv_rows(path)
        return _table_from_rows(rows, fname=fname, fields=fields, columns=columns)
    if suffix in _EXCEL_SUFFIXES:
        return _read_xlsx(path, fields=fields, columns=columns)
    if suffix in _VECTOR_SUFFIXES:
        return _read_vector(path, layer_hint=())
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


def _csv_rows(path: Path) -> list[list[str]]:
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


def _read_xlsx(path: Path, *, fields: Mapping[str, Sequence[str]], columns: Mapping[str, str] | None) -> _Raw:
    fname = str(path)
    try:
        sheets = pd.read_excel(path, sheet_name=None, header=None, dtype=object, engine="openpyxl")
    except Exception as exc:  # openpyxl raises many types for broken files
        raise InputFileError(
            f"{fname}: cannot be read as an Excel workbook ({type(exc).__name__}: {exc}); "
            "open it in Excel and save it again as .xlsx"
        ) from exc
    best: tuple[int, str] | None = None
    for name, sheet in sheets.items():
        rows = _sheet_rows(sheet)
        if not rows:
            continue
        _, score, has_xy = _header_row(rows, fields, columns)
        key = (score + (100 if has_xy else 0), str(name))
        if best is None or key[0] > best[0]:
            best = key
    if best is None:
        raise InputFileError(f"{fname}: every sheet is empty; put the table on the first sheet")
    if len(sheets) > 1:
        logger.info("%s: using sheet %r of %d", fname, best[1], len(sheets))
    rows = _sheet_rows(sheets[best[1]])
    return _table_from_rows(
        rows,
        fname=f"{fname} (sheet {best[1]})" if len(sheets) > 1 else fname,
        fields=fields,
        columns=columns,
    )


def _sheet_rows(sheet: pd.DataFrame) -> list[list[object]]:
    rows: list[list[object]] = []
    for values in sheet.itertuples(index=False, name=None):
        rows.append(["" if _is_missing(v) else v for v in values])
    while rows and all(_blank_cell(v) for v in rows[-1]):
        rows.pop()
    return rows


def _table_from_rows(
    rows: Sequence[Sequence[object]],
    *,
    fname: str,
    fields: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None,
) -> _Raw:
    rows = [list(r) for r in rows]
    while rows and all(_blank_cell(v) for v in rows[-1]):
        rows.pop()
    if not rows:
        raise InputFileError(f"{fname}: is empty; export the table with its header row")
    header_idx, _, _ = _header_row(rows, fields, columns)
    width = max(len(r) for r in rows)
    header = [str(h).strip() if not _blank_cell(h) else "" for h in rows[header_idx]]
    header += [""] * (width - len(header))
    headers = _unique_headers(header)
    data = [list(r) + [""] * (width - len(r)) for r in rows[header_idx + 1 :]]
    if not data:
        raise InputFileError(f"{fname}: has a header but no data rows")
    frame = pd.DataFrame(data, columns=headers, dtype=object)
    blank = np.array([all(_blank_cell(v) for v in r) for r in data], dtype=bool)
    if blank.all():
        raise InputFileError(f"{fname}: has a header but no data rows")
    return _Raw(
        frame=frame,
        headers=[h for h in headers if not h.startswith("column_")] or headers,
        geometry=None,
        crs=None,
        row_numbers=np.arange(1, len(data) + 1, dtype=np.int64),
        blank=blank,
    )


def _read_vector(path: Path, *, layer_hint: Sequence[str]) -> _Raw:
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
    attrs.columns = _unique_headers([str(c) for c in attrs.columns])
    n = len(attrs)
    return _Raw(
        frame=attrs,
        headers=list(attrs.columns),
        geometry=geometry,
        crs=crs,
        row_numbers=np.arange(1, n + 1, dtype=np.int64),
        blank=np.zeros(n, dtype=bool),
    )


# ---------------------------------------------------------------------------------------------
# Headers and columns


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _key(header: object) -> str:
    """Normalised header: NFKC, lower case, bracketed units and punctuation removed."""
    text = _nfkc(str(header)).lower()
    text = re.sub(r"[(\[{（【].*?[)\]}）】]", "", text)
    return re.sub(r"[\W_]+", "", text)


def _candidates(header: object) -> list[str]:
    key = _key(header)
    keys = [key]
    for suffix in _UNIT_SUFFIXES:
        if key.endswith(suffix) and len(key) > len(suffix):
            keys.append(key[: -len(suffix)])
    return keys


def _rank(header: object, names: Sequence[str]) -> int | None:
    best: int | None = None
    for key in _candidates(header):
        if key in names:
            r = names.index(key)
            best = r if best is None else min(best, r)
    return best


def _find_header(headers: Sequence[str], names: Sequence[str]) -> str | None:
    ranked = [(r, i, h) for i, h in enumerate(headers) if (r := _rank(h, names)) is not None]
    return min(ranked)[2] if ranked else None


def _header_row(
    rows: Sequence[Sequence[object]],
    fields: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None,
) -> tuple[int, int, bool]:
    """Index of the header row among the first rows, its score, and whether it has coordinates."""
    explicit = {_nfkc(str(v)).strip() for v in (columns or {}).values()}
    best = (0, -1, False)
    for idx, row in enumerate(rows[:_HEADER_SCAN_ROWS]):
        cells = [c for c in row if isinstance(c, str) and c.strip()]
        matched = {f for f, names in fields.items() for c in cells if _rank(c, names) is not None}
        matched |= {f"explicit:{c}" for c in cells if _nfkc(c).strip() in explicit}
        has_xy = "lonlat" in matched or {"lon", "lat"} <= matched
        score = len(matched)
        if score > best[1] or (has_xy and not best[2] and score >= best[1]):
            best = (idx, score, has_xy)
    return best


def _unique_headers(header: Sequence[str]) -> list[str]:
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


def _map_columns(
    headers: Sequence[str],
    fields: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None,
    *,
    fname: str,
) -> dict[str, str]:
    """Canonical field -> header in the file."""
    mapping: dict[str, str] = {}
    by_norm = {_nfkc(h).strip(): h for h in headers}
    for canon, header in (columns or {}).items():
        found = by_norm.get(_nfkc(str(header)).strip())
        if found is None:
            raise InputFileError(
                f"{fname}: column {header!r} given for {canon!r} is not in the file; "
                f"headers found: {', '.join(headers)}"
            )
        mapping[canon] = found
    used = set(mapping.values())
    for canon, names in fields.items():
        if canon in mapping or canon == "lonlat":
            continue
        found = _find_header([h for h in headers if h not in used], names)
        if found is not None:
            mapping[canon] = found
            used.add(found)
    if ("lon" not in mapping or "lat" not in mapping) and "lonlat" not in mapping:
        found = _find_header([h for h in headers if h not in used], fields["lonlat"])
        if found is not None:
            mapping["lonlat"] = found
            for part in ("lon", "lat"):
                if part in mapping and part not in (columns or {}):
                    del mapping[part]
    return mapping


# ---------------------------------------------------------------------------------------------
# Coordinates


def _source_crs(
    spec: str | None,
    file_crs: pyproj.CRS | None,
    *,
    fname: str,
    geometry: gpd.GeoSeries | None = None,
) -> gcrs.SourceCRS:
    """The source CRS: the user's statement, else the file's, else WGS84 for plain degrees."""
    if spec is not None:
        try:
            src = gcrs.parse_crs(spec)
        except CRSError as exc:
            raise InputFileError(f"{fname}: {exc}") from exc
        if (
            file_crs is not None
            and src.pyproj_crs is not None
            and not src.pyproj_crs.equals(file_crs, ignore_axis_order=True)
        ):
            logger.warning(
                "%s: source_crs=%s overrides the file's CRS %s",
                fname,
                src.name,
                file_crs.to_string(),
            )
        return src
    if file_crs is None:
        if geometry is not None:
            x0, y0, x1, y1 = geometry.total_bounds
            if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
                raise InputFileError(
                    f"{fname}: has no CRS (a Shapefile's .prj is missing?) and its coordinates "
                    "are not degrees; pass source_crs='EPSG:<code>' (e.g. EPSG:4549)"
                )
            logger.warning("%s: has no CRS; its coordinates look like degrees: EPSG:4326", fname)
        return gcrs.parse_crs("EPSG:4326")
    code = file_crs.to_epsg(min_confidence=70)
    if code is not None:
        return gcrs.parse_crs(f"EPSG:{code}")
    if file_crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return gcrs.parse_crs("EPSG:4326")
    name = file_crs.name or ""
    if not name or name.lower() == "unknown":
        raise InputFileError(
            f"{fname}: its CRS cannot be identified ({file_crs.to_string()[:80]}); "
            "pass source_crs='EPSG:<code>'"
        )
    return gcrs.SourceCRS(name=file_crs.to_string(), pyproj_crs=file_crs)


def _xy_from_columns(
    frame: pd.DataFrame, mapping: Mapping[str, str], rej: _Rejects
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, str]:
    n = len(frame)
    if "lon" in mapping and "lat" in mapping:
        xcol, ycol = mapping["lon"], mapping["lat"]
        rx, ry = frame[xcol].to_numpy(), frame[ycol].to_numpy()
    else:
        xcol = ycol = mapping["lonlat"]
        pairs = [_split_pair(v) for v in frame[xcol].to_numpy()]
        rx = np.array([p[0] for p in pairs], dtype=object)
        ry = np.array([p[1] for p in pairs], dtype=object)
    x = _coords(rx)
    y = _coords(ry)
    for raw, vals, col, what in ((rx, x, xcol, "longitude"), (ry, y, ycol, "latitude")):
        missing = np.array([_blank_cell(v) for v in raw], dtype=bool)
        rej.add(missing, col, f"missing {what}; fill it in or delete the row", [""] * n)
        unreadable = ~missing & ~np.isfinite(vals)
        texts = [str(v) for v in raw]
        rej.add(
            unreadable,
            col,
            _unreadable_reason(what, texts),
            texts,
        )
    return x, y, xcol, ycol


def _unreadable_reason(what: str, texts: Sequence[str]) -> Callable[[int], str]:
    def reason(i: int) -> str:
        return f"cannot read {what} {texts[i]!r}; write decimal degrees like 118.78 or 118°47'30\""

    return reason


def _xy_from_geometry(
    geometry: gpd.GeoSeries, rej: _Rejects
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, str]:
    n = len(geometry)
    geoms = np.asarray(geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rej.add(missing, "geometry", "feature has no geometry; place it on the map or delete it", [""] * n)
    types = shapely.get_type_id(geoms)
    single_multi = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    pts = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    point = shapely.get_type_id(pts) == 0
    bad_type = ~missing & ~point
    rej.add(
        bad_type,
        "geometry",
        lambda i: f"geometry is a {getattr(geoms[i], 'geom_type', '?')}, not a point",
        [str(getattr(g, "geom_type", "")) for g in geoms],
    )
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    good = point & ~missing
    x[good] = shapely.get_x(pts[good])
    y[good] = shapely.get_y(pts[good])
    return x, y, "geometry", "geometry"


def _coords(raw: NDArray[np.object_]) -> NDArray[np.float64]:
    series = pd.Series(raw, dtype=object)
    fast = np.array(pd.to_numeric(series, errors="coerce"), dtype=np.float64)
    slow = ~np.isfinite(fast)
    if slow.any():
        fast[slow] = [parse_coordinate(v) for v in raw[slow]]
    return fast


def _split_pair(value: object) -> tuple[object, object]:
    if _blank_cell(value):
        return "", ""
    text = _nfkc(str(value)).strip().strip("()[]")
    parts = re.split(r"\s*[,;]\s*", text) if re.search(r"[,;]", text) else text.split()
    if len(parts) != 2:
        return value, value  # unreadable as a pair: both sides fail to parse
    return parts[0], parts[1]


def _in_bbox(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    x0, y0, x1, y1 = _CHINA_BBOX
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def _check_degrees(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    xcol: str,
    ycol: str,
    src: gcrs.SourceCRS,
    rej: _Rejects,
) -> None:
    finite = np.isfinite(x) & np.isfinite(y)
    china_area = src.is_offset or src.name == "EPSG:4490"
    if not china_area and finite.any():
        near = _in_bbox(x, y) | _in_bbox(y, x)
        china_area = bool(near[finite].mean() >= 0.5)
    swapped = finite & (np.abs(y) > 90) & (np.abs(x) <= 90)
    if china_area:
        swapped |= finite & (y >= 73) & (y <= 135) & (x >= 18) & (x <= 54)
    text = [f"{a}, {b}" for a, b in zip(x, y, strict=True)]
    rej.add(
        swapped,
        ycol,
        f"latitude and longitude look swapped ({xcol} holds a latitude, {ycol} a longitude); "
        "swap the columns or pass columns=...",
        text,
    )
    rej.add(
        finite & (np.abs(y) > 90),
        ycol,
        "latitude out of range (|latitude| > 90)",
        [str(v) for v in y],
    )
    rej.add(
        finite & (np.abs(x) > 180),
        xcol,
        "longitude out of range (|longitude| > 180)",
        [str(v) for v in x],
    )


def _check_projected(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    xcol: str,
    name: str,
    crs: pyproj.CRS,
    rej: _Rejects,
) -> None:
    area = crs.area_of_use
    w, s, e, n = area.bounds if area is not None else (-180.0, -90.0, 180.0, 90.0)
    margin = 2.0
    inside = (lon >= w - margin) & (lon <= e + margin) & (lat >= s - margin) & (lat <= n + margin)
    finite_in = np.isfinite(x) & np.isfinite(y)
    rej.add(
        finite_in & ~(np.isfinite(lon) & np.isfinite(lat) & inside),
        xcol,
        f"x/y fall outside the area of {name}; are the x (easting) and y (northing) columns "
        f"swapped? (Chinese surveys put northing in X: pass columns={{'lon': ..., 'lat': ...}}) "
        "or is source_crs wrong?",
        [f"{a}, {b}" for a, b in zip(x, y, strict=True)],
    )


# ---------------------------------------------------------------------------------------------
# Attribute values


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False


def _blank_cell(value: object) -> bool:
    return _is_missing(value) or (isinstance(value, str) and not value.strip())


def _text(series: pd.Series) -> pd.Series:
    """Cells as stripped text; numbers without a spurious '.0'; missing as ''."""

    def one(v: object) -> str:
        if _is_missing(v):
            return ""
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return _nfkc(str(v)).strip()

    return pd.Series([one(v) for v in series.to_numpy()], index=series.index, dtype=object)


def _word(value: object) -> str:
    return re.sub(r"[\s_\-]+", "", _nfkc(str(value)).lower()) if not _is_missing(value) else ""


def _ids(frame: pd.DataFrame, mapping: Mapping[str, str], path: Path) -> list[str]:
    n = len(frame)
    fallback = [f"{path.stem}/{i + 1}" for i in range(n)]
    if "id" not in mapping:
        return fallback
    text = _text(frame[mapping["id"]])
    return [t or f for t, f in zip(text, fallback, strict=True)]


_NUMBER = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(.*)")


def _quantity(value: object) -> tuple[float, str]:
    """A number and the unit text written after it; NaN when empty or unreadable."""
    if _is_missing(value) or isinstance(value, bool):
        return math.nan, ""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value), ""
    text = _nfkc(str(value)).strip().lower().replace(",", ".")
    m = _NUMBER.fullmatch(text)
    if m is None:
        return math.nan, ""
    return float(m.group(1)), m.group(2).replace(" ", "")


def _pressure_factor(unit: str) -> float | None:
    if "kpa" in unit or "千帕" in unit:
        return 0.001
    if "mpa" in unit or "兆帕" in unit:
        return 1.0
    if "bar" in unit:
        return 0.1
    return None


def _flow_factor(unit: str) -> float | None:
    u = unit.replace("³", "3").replace("^", "")
    if "m3/h" in u or "m3h" in u or "立方米/小时" in u or "方/小时" in u or "m3/hr" in u:
        return 1.0 / 3.6
    if "l/min" in u or "升/分" in u:
        return 1.0 / 60.0
    if "l/s" in u or "升/秒" in u or "lps" in u:
        return 1.0
    return None


def _numbers(
    series: pd.Series,
    header: str,
    factor_of: Callable[[str], float | None],
    what: str,
    *,
    fname: str,
) -> NDArray[np.float64]:
    head_unit = _nfkc(header).lower().replace(" ", "")
    head_factor = factor_of(head_unit) or 1.0
    out = np.full(len(series), np.nan)
    unread = 0
    for i, v in enumerate(series.to_numpy()):
        number, unit = _quantity(v)
        if math.isnan(number):
            unread += not _blank_cell(v)
            continue
        factor = factor_of(unit) if unit else None
        if unit and factor is None:
            unread += 1
            continue
        value = number * (factor if factor is not None else head_factor)
        out[i] = value if value >= 0 else math.nan
    if unread:
        logger.warning(
            "%s: %d %s values in column %r could not be read; left empty",
            fname,
            unread,
            what,
            header,
        )
    return out


def _diameters(series: pd.Series) -> NDArray[np.float64]:
    out = np.full(len(series), np.nan)
    for i, v in enumerate(series.to_numpy()):
        if _is_missing(v):
            continue
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            out[i] = float(v) if v > 0 else math.nan
            continue
        text = _nfkc(str(v)).strip().lower()
        m = re.match(r"(?:dn|φ|ϕ|ø|Φ)?\s*(\d+(?:\.\d+)?)", text)
        if m:
            out[i] = float(m.group(1))
    return out


def _hydrant_kind(value: object) -> str:
    w = _word(value)
    if not w:
        return "unknown"
    if w in ("pillar", "underground", "wall", "pipe", "unknown"):
        return w
    if "地上" in w or re.match(r"ss\d", w) or w in ("aboveground", "overground", "standpost"):
        return "pillar"
    if "地下" in w or re.match(r"sa\d", w) or w in ("belowground", "buried", "flush"):
        return "underground"
    if "墙" in w:
        return "wall"
    if "立管" in w:
        return "pipe"
    return "unknown"


def _blockage_kind(value: object) -> str:
    w = _word(value)
    if not w:
        return "other"
    for kind, words in _BLOCKAGE_KINDS:
        if w == kind.replace("_", "") or any(word in w for word in words):
            return kind
    return "other"


def _normalise_fields(
    frame: pd.DataFrame, mapping: Mapping[str, str], layer: str, rej: _Rejects
) -> dict[str, object]:
    n = len(frame)
    empty_text = pd.Series([""] * n, dtype=object)

    def text(canon: str) -> pd.Series:
        return _text(frame[mapping[canon]]) if canon in mapping else empty_text

    values: dict[str, object] = {"name": text("name").to_numpy()}
    if layer in ("hydrants", "blockages"):
        table, helptext, default = (
            (_HYDRANT_STATUS, _HYDRANT_STATUS_HELP, "unknown")
            if layer == "hydrants"
            else (_BLOCKAGE_STATUS, _BLOCKAGE_STATUS_HELP, "reported")
        )
        raw = text("status")
        status = np.array([table.get(_word(v), "") for v in raw], dtype=object)
        bad = status == ""
        if "status" in mapping:
            rej.add(
                bad,
                mapping["status"],
                lambda i: f"unknown status word {raw.iloc[i]!r}; use one of {helptext}",
                list(raw),
            )
        status[bad] = default
        values["status"] = status
    if layer == "hydrants":
        values["kind"] = np.array([_hydrant_kind(v) for v in text("kind")], dtype=object)
        values["pressure_mpa"] = (
            _numbers(
                frame[mapping["pressure"]],
                mapping["pressure"],
                _pressure_factor,
                "pressure",
                fname=rej.file,
            )
            if "pressure" in mapping
            else np.full(n, np.nan)
        )
        values["flow_lps"] = (
            _numbers(frame[mapping["flow"]], mapping["flow"], _flow_factor, "flow", fname=rej.file)
            if "flow" in mapping
            else np.full(n, np.nan)
        )
        values["diameter_mm"] = (
            _diameters(frame[mapping["diameter"]]) if "diameter" in mapping else np.full(n, np.nan)
        )
    if layer == "blockages":
        values["kind"] = np.array([_blockage_kind(v) for v in text("kind")], dtype=object)
        values["reporter"] = text("reporter").to_numpy()
        values["photo"] = text("photo").to_numpy()
        values["remaining_width_m"] = (
            np.array([parse_length_m(v) for v in _width_cells(frame[mapping["remaining_width"]])])
            if "remaining_width" in mapping
            else np.full(n, np.nan)
        )
        values["reported_at"] = (
            _datetimes(frame[mapping["reported_at"]], fname=rej.file)
            if "reported_at" in mapping
            else pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
        )
    return values


def _width_cells(series: pd.Series) -> list[object]:
    return [None if _is_missing(v) else _nfkc(str(v)).strip().lower() for v in series.to_numpy()]


def _datetimes(series: pd.Series, *, fname: str) -> pd.Series:
    def clean(v: object) -> object:
        if _is_missing(v):
            return None
        if not isinstance(v, str):
            return v
        t = _nfkc(v).strip()
        t = re.sub(r"(\d)\s*[年月]\s*", r"\1-", t)
        t = re.sub(r"(\d)\s*日\s*", r"\1 ", t)
        t = re.sub(r"(\d)\s*[时点]\s*", r"\1:", t)
        t = re.sub(r"(\d)\s*分\s*", r"\1", t).strip()
        t = t.rstrip(":")
        return t or None

    cleaned = pd.Series([clean(v) for v in series.to_numpy()], dtype=object)
    out = pd.to_datetime(cleaned, errors="coerce", format="mixed")
    unread = int((out.isna() & cleaned.notna()).sum())
    if unread:
        logger.warning(
            "%s: %d report times in column %r could not be read; left empty",
            fname,
            unread,
            series.name,
        )
    return out.reset_index(drop=True)


def _check_duplicates(ids: list[str], mapping: Mapping[str, str], rej: _Rejects, n: int) -> None:
    if "id" not in mapping:
        return
    first: dict[str, int] = {}
    dup = np.zeros(n, dtype=bool)
    firsts = np.zeros(n, dtype=np.int64)
    rejected = rej.rejected_mask(n)
    for i, ident in enumerate(ids):
        if rejected[i] or rej.blank[i]:
            continue
        if ident in first:
            dup[i] = True
            firsts[i] = first[ident]
        else:
            first[ident] = i
    rej.add(
        dup,
        mapping["id"],
        lambda i: (
            f"duplicate id {ids[i]!r}: first used on row {rej.row_number(firsts[i])}; "
            "give each feature its own id"
        ),
        ids,
    )


# ---------------------------------------------------------------------------------------------
# Output


def _build_points(
    layer: str,
    values: Mapping[str, object],
    ids: list[str],
    keep: NDArray[np.bool_],
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    row_numbers: NDArray[np.int64],
    fname: str,
    src: gcrs.SourceCRS,
) -> gpd.GeoDataFrame:
    k = int(keep.sum())

    def pick(name: str) -> object:
        v = values[name]
        if isinstance(v, pd.Series):
            return v[keep].reset_index(drop=True)
        return np.asarray(v)[keep]

    ident = np.asarray(ids, dtype=object)[keep]
    common = {
        "source": ["agency"] * k,
        "source_file": [fname] * k,
        "source_crs": [src.name] * k,
        "source_row": row_numbers[keep].astype(np.int64),
    }
    data: dict[str, object]
    order: tuple[str, ...]
    if layer == "hydrants":
        data = {
            "hydrant_id": ident,
            "kind": pick("kind"),
            "status": pick("status"),
            "diameter_mm": pick("diameter_mm"),
            "flow_lps": pick("flow_lps"),
            "pressure_mpa": pick("pressure_mpa"),
            "ref": ident,
            "name": pick("name"),
            **common,
            "osm_id": pd.array([pd.NA] * k, dtype="Int64"),
        }
        order = HYDRANT_COLUMNS
    elif layer == "stations":
        data = {"station_id": ident, "name": pick("name"), **common}
        order = STATION_COLUMNS
    else:
        data = {
            "blockage_id": ident,
            "kind": pick("kind"),
            "status": pick("status"),
            "reported_at": pick("reported_at"),
            "reporter": pick("reporter"),
            "photo": pick("photo"),
            "remaining_width_m": pick("remaining_width_m"),
            "name": pick("name"),
            **common,
        }
        order = BLOCKAGE_COLUMNS
    frame = pd.DataFrame({c: data[c] for c in order})
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon[keep], lat[keep]), crs="EPSG:4326")


class _Rejects:
    """Collects at most one reject per row: the first problem found wins."""

    def __init__(
        self,
        *,
        layer: str,
        file: str,
        ids: list[str],
        blank: NDArray[np.bool_],
        row_numbers: NDArray[np.int64],
    ) -> None:
        self.layer = layer
        self.file = file
        self.ids = ids
        self.blank = blank
        self.row_numbers = row_numbers
        self._rows: dict[int, tuple[str | None, str, str | None]] = {}

    def add(
        self,
        mask: NDArray[np.bool_],
        column: str | None,
        reason: str | Callable[[int], str],
        values: Sequence[object],
    ) -> None:
        for j in np.flatnonzero(mask):
            i = int(j)
            if i in self._rows or self.blank[i]:
                continue
            text = reason(i) if callable(reason) else reason
            value = values[i]
            self._rows[i] = (column, text, None if value is None else str(value))

    def rejected_mask(self, n: int) -> NDArray[np.bool_]:
        mask = np.zeros(n, dtype=bool)
        if self._rows:
            mask[list(self._rows)] = True
        return mask

    def row_number(self, i: int) -> int:
        return int(self.row_numbers[i])

    def records(self) -> list[Reject]:
        out = []
        for i in sorted(self._rows):
            column, reason, value = self._rows[i]
            out.append(
                Reject(
                    layer=self.layer,
                    file=self.file,
                    row=int(self.row_numbers[i]),
                    column=column,
                    feature_id=self.ids[i] if i < len(self.ids) else None,
                    reason=reason,
                    value=value,
                )
            )
        return out
