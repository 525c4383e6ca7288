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

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo import crs as gcrs
from geo._agency_coords import (
    check_degrees,
    check_projected,
    parse_coordinate,
    source_crs_of,
    xy_from_columns,
    xy_from_geometry,
)
from geo._tables import (
    blank_cell,
    cell_text,
    cell_word,
    find_header,
    is_missing,
    nfkc,
    read_any,
    read_vector,
)
from geo.errors import ConfigError, InputFileError
from geo.rejects import Reject, RowRejects
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


# Header candidates per canonical field, as normalised keys (see header_key), best first.
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

_HYDRANT_STATUS: dict[str, str] = {
    **dict.fromkeys(["在用", "正常", "完好", "可用", "inservice", "ok", "good", "working"], "in_service"),
    **dict.fromkeys(
        ["停用", "损坏", "故障", "报废", "不可用", "outofservice", "broken", "outoforder"],
        "out_of_service",
    ),
    **dict.fromkeys(["水压不足", "压力不足", "低压", "lowpressure"], "low_pressure"),
    **dict.fromkeys(["未知", "unknown", ""], "unknown"),
}
_HYDRANT_STATUS_HELP = (
    "在用/正常/完好/可用/in service/ok (in_service), 停用/损坏/故障/报废/不可用/out of service/"
    "broken (out_of_service), 水压不足/压力不足/低压/low pressure (low_pressure), 未知/unknown "
    "or empty (unknown)"
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
    raw = read_any(path, fields=fields, columns=columns)
    mapping = _map_columns(raw.headers, fields, columns, fname=fname)
    has_xy = "lonlat" in mapping or ("lon" in mapping and "lat" in mapping)
    if raw.geometry is None and not has_xy:
        raise InputFileError(
            f"{fname}: no longitude/latitude columns found (headers: {', '.join(raw.headers)}); "
            "name them 经度/纬度 or lon/lat, or pass columns={'lon': '<header>', 'lat': '<header>'}"
        )
    src = source_crs_of(source_crs, raw.crs, fname=fname, geometry=raw.geometry)
    frame = raw.frame
    n = len(frame)
    ids = _ids(frame, mapping, path)
    rej = RowRejects(
        layer=layer,
        file=fname,
        ids=ids if "id" in mapping else [],
        blank=raw.blank,
        row_numbers=raw.row_numbers,
    )
    explicit_xy = bool(columns) and any(k in (columns or {}) for k in ("lon", "lat", "lonlat"))
    if raw.geometry is not None and not explicit_xy:
        x, y, xcol, ycol = xy_from_geometry(raw.geometry, rej)
    else:
        x, y, xcol, ycol = xy_from_columns(frame, mapping, rej)

    geographic = src.is_offset or bool(src.pyproj_crs is not None and src.pyproj_crs.is_geographic)
    if geographic:
        check_degrees(x, y, xcol, ycol, src, rej)
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
        check_projected(lon, lat, x, y, xcol, src.name, src.pyproj_crs, rej)

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
    raw = read_vector(path, layer_hint=("district", "districts", "辖区", "区划"))
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
    src = source_crs_of(source_crs, raw.crs, fname=fname, geometry=geom)
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
        name_col = find_header(
            headers, ("名称", "区名", "街道", "辖区", "区县", "name", "district", "区域", "名字")
        )
    id_col = find_header(headers, ("编号", "代码", "区划代码", "adcode", "code", "districtid", "id"))
    n = len(frame)
    default_ids = [f"{path.stem}/{i + 1}" for i in range(n)]
    ids = cell_text(frame[id_col]) if id_col else pd.Series(default_ids)
    ids = pd.Series(np.where(ids == "", default_ids, ids), dtype=object)
    names = cell_text(frame[name_col]) if name_col else pd.Series(default_ids, dtype=object)
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



def _map_columns(
    headers: Sequence[str],
    fields: Mapping[str, Sequence[str]],
    columns: Mapping[str, str] | None,
    *,
    fname: str,
) -> dict[str, str]:
    """Canonical field -> header in the file."""
    mapping: dict[str, str] = {}
    by_norm = {nfkc(h).strip(): h for h in headers}
    for canon, header in (columns or {}).items():
        found = by_norm.get(nfkc(str(header)).strip())
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
        found = find_header([h for h in headers if h not in used], names)
        if found is not None:
            mapping[canon] = found
            used.add(found)
    if ("lon" not in mapping or "lat" not in mapping) and "lonlat" not in mapping:
        found = find_header([h for h in headers if h not in used], fields["lonlat"])
        if found is not None:
            mapping["lonlat"] = found
            for part in ("lon", "lat"):
                if part in mapping and part not in (columns or {}):
                    del mapping[part]
    return mapping


# ---------------------------------------------------------------------------------------------
# Attribute values



def _ids(frame: pd.DataFrame, mapping: Mapping[str, str], path: Path) -> list[str]:
    n = len(frame)
    fallback = [f"{path.stem}/{i + 1}" for i in range(n)]
    if "id" not in mapping:
        return fallback
    text = cell_text(frame[mapping["id"]])
    return [t or f for t, f in zip(text, fallback, strict=True)]


_NUMBER = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*(.*)")


def _quantity(value: object) -> tuple[float, str]:
    """A number and the unit text written after it; NaN when empty or unreadable."""
    if is_missing(value) or isinstance(value, bool):
        return math.nan, ""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value), ""
    text = nfkc(str(value)).strip().lower().replace(",", ".")
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
    head_unit = nfkc(header).lower().replace(" ", "")
    head_factor = factor_of(head_unit) or 1.0
    out = np.full(len(series), np.nan)
    unread = 0
    for i, v in enumerate(series.to_numpy()):
        number, unit = _quantity(v)
        if math.isnan(number):
            unread += not blank_cell(v)
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
        if is_missing(v):
            continue
        if isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool):
            out[i] = float(v) if v > 0 else math.nan
            continue
        text = nfkc(str(v)).strip().lower()
        m = re.match(r"(?:dn|φ|ϕ|ø|Φ)?\s*(\d+(?:\.\d+)?)", text)
        if m:
            out[i] = float(m.group(1))
    return out


def _hydrant_kind(value: object) -> str:
    w = cell_word(value)
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
    w = cell_word(value)
    if not w:
        return "other"
    for kind, words in _BLOCKAGE_KINDS:
        if w == kind.replace("_", "") or any(word in w for word in words):
            return kind
    return "other"


def _normalise_fields(
    frame: pd.DataFrame, mapping: Mapping[str, str], layer: str, rej: RowRejects
) -> dict[str, object]:
    n = len(frame)
    empty_text = pd.Series([""] * n, dtype=object)

    def text(canon: str) -> pd.Series:
        return cell_text(frame[mapping[canon]]) if canon in mapping else empty_text

    values: dict[str, object] = {"name": text("name").to_numpy()}
    if layer in ("hydrants", "blockages"):
        table, helptext, default = (
            (_HYDRANT_STATUS, _HYDRANT_STATUS_HELP, "unknown")
            if layer == "hydrants"
            else (_BLOCKAGE_STATUS, _BLOCKAGE_STATUS_HELP, "reported")
        )
        raw = text("status")
        status = np.array([table.get(cell_word(v), "") for v in raw], dtype=object)
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
    return [None if is_missing(v) else nfkc(str(v)).strip().lower() for v in series.to_numpy()]


def _datetimes(series: pd.Series, *, fname: str) -> pd.Series:
    def clean(v: object) -> object:
        if is_missing(v):
            return None
        if not isinstance(v, str):
            return v
        t = nfkc(v).strip()
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


def _check_duplicates(ids: list[str], mapping: Mapping[str, str], rej: RowRejects, n: int) -> None:
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

