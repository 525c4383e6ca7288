"""Agency files: hydrant inventories, fire stations, blockage ledgers and district boundaries.

Fire brigades keep their own lists, mostly as spreadsheets with Chinese headers (编号, 经度, 纬度,
类型 地上/地下, 状态 在用/停用, 压力 MPa, 出水量 L/s, 口径 DN), often in GBK, often with
coordinates copied from AMap/Tencent (GCJ-02) or Baidu (BD-09) web maps. This module reads them
into one shape: a point GeoDataFrame in WGS84 with normalised columns, plus a rejects list naming
every row that was not used, where and why, plus notes (:class:`geo.notes.Note`) on what was
guessed or repaired. One bad row never costs the good ones, and nothing is fixed silently: a
whole file whose x/y only make sense swapped is read swapped with a warning (a single swapped
row is a reject), a flow or pressure column without a unit is read in the plausible unit with
a warning (:mod:`geo._quantities`), an unknown status keeps its row as ``unknown`` with a
warning, placeholder ids get generated ids with a warning (:mod:`geo._agency_ids`). Metres
without a CRS and files with no row in the study area stop with the EPSG code to use or the
bounding boxes (:mod:`geo._agency_coords`).

Formats: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030; UTF-16 with a BOM as Excel writes "Unicode
text"), XLSX (the sheet whose header matches best), GeoJSON, GeoPackage and Shapefile (a
Shapefile without ``.cpg`` is tried as UTF-8, then GB18030).

Column headers are recognised case-, space- and punctuation-insensitively, in Chinese and English,
with units read from the header (``压力(kPa)``, ``流量(m³/h)``) or the cell (``0.35MPa``); an
explicit ``columns`` mapping (canonical name or alias to header, as ``--hydrant-columns``
gives it: :func:`parse_column_spec`) overrides the recognition. Canonical
names: ``id``, ``lon``, ``lat``, ``lonlat`` (one column holding ``"lon,lat"``), ``name``, and per
layer ``kind``, ``status``, ``pressure``, ``flow``, ``diameter`` (hydrants) or ``kind``,
``status``, ``reported_at``, ``reporter``, ``photo``, ``remaining_width`` (blockages). When the
source CRS is projected, ``lon``/``lat`` mean the x (easting) and y (northing) columns.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    fix_swapped_axes,
    option_name,
    parse_coordinate,
    source_crs_of,
    stop_if_metres,
    xy_from_columns,
    xy_from_geometry,
)
from geo._agency_ids import file_ids, resolve_ids
from geo._quantities import Quantity, parse_diameters, parse_units_spec, read_quantities, units_of
from geo._tables import (
    Raw,
    cell_text,
    cell_word,
    csv_rows,
    find_header,
    is_missing,
    nfkc,
    read_any,
    read_vector,
)
from geo.errors import ConfigError, InputFileError
from geo.notes import Note, NoteList
from geo.rejects import Reject, RowRejects
from geo.units import parse_length_m

logger = logging.getLogger(__name__)

__all__ = [
    "BLOCKAGE_COLUMNS",
    "COLUMN_ALIASES",
    "HYDRANT_COLUMNS",
    "STATION_COLUMNS",
    "AgencyRead",
    "Layer",
    "parse_column_spec",
    "parse_coordinate",
    "parse_units_spec",
    "read_agency_table",
    "read_districts_file",
    "read_status_codes",
]

Layer = Literal["hydrants", "stations", "blockages"]
_Floats = NDArray[np.float64]

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
    "facilityid",
    "assetid",
    "hydrantno",
    "hydrantnumber",
    "hydrantnum",
    "code",
    "no",
    "number",
    "ref",
    "序号",
)
_COMMON: dict[str, tuple[str, ...]] = {
    "id": _ID,
    "lon": ("经度", "东经", "lon", "lng", "long", "longitude", "x", "x坐标", "坐标x", "pointx", "xcoord"),
    "lat": ("纬度", "北纬", "lat", "latitude", "y", "y坐标", "坐标y", "pointy", "ycoord"),
    "lonlat": ("经纬度", "坐标", "经纬度坐标", "lnglat", "lonlat", "coordinates", "coords"),
}
_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "hydrants": {
        **_COMMON,
        "kind": ("类型", "型式", "形式", "消火栓类型", "type", "kind"),
        "status": (
            "状态",
            "使用状态",
            "状况",
            "完好情况",
            "完好状态",
            "运行状态",
            "status",
            "state",
            "condition",
            "hydrantcondition",
            "operationalstatus",
        ),
        "pressure": (
            "压力",
            "水压",
            "静压",
            "静水压力",
            "pressure",
            "staticpressure",
            "staticpre",
            "static",
            "psi",
        ),
        "flow": ("出水量", "流量", "出水流量", "flow", "flowrate", "fireflow", "gpm"),
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
    **dict.fromkeys(
        ["在用", "正常", "完好", "可用", "良好", "inservice", "ok", "good", "working", "active",
         "operational", "inuse", "available"],
        "in_service",
    ),
    **dict.fromkeys(
        ["停用", "损坏", "故障", "报废", "不可用", "待修", "维修中", "outofservice", "broken",
         "outoforder", "oos", "inactive", "removed", "abandoned", "damaged"],
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
    **dict.fromkeys(["reported", "待整改", "已上报", "上报", "新上报", "未整改", "待处理", "open",
                     "new", "pending", ""], "reported"),
    **dict.fromkeys(["assigned", "已派单", "派单", "已指派", "整改中", "处理中", "inprogress"],
                    "assigned"),
    **dict.fromkeys(["rectified", "已整改", "整改完成", "fixed"], "rectified"),
    **dict.fromkeys(["verified", "已复核", "复核通过"], "verified"),
    **dict.fromkeys(["closed", "已销号", "已关闭", "销号", "关闭"], "closed"),
    **dict.fromkeys(["rejected", "驳回", "已驳回", "不属实", "无效"], "rejected"),
    **dict.fromkeys(["duplicate", "重复", "重复上报", "duplicated"], "duplicate"),
}
_BLOCKAGE_STATUS_HELP = (
    "reported (待整改/已上报/open; also empty), assigned (已派单/整改中), rectified (已整改), "
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
    notes
        What was guessed or repaired on the way (a unit read by plausibility, axes swapped back,
        placeholder ids replaced, status words not recognised), one :class:`geo.notes.Note` each.
    """

    points: gpd.GeoDataFrame
    rejects: list[Reject]
    notes: list[Note] = field(default_factory=list)


#: Column names accepted besides the canonical ones (``x=X坐标`` in ``--hydrant-columns``).
COLUMN_ALIASES = {
    "x": "lon",
    "lng": "lon",
    "longitude": "lon",
    "easting": "lon",
    "y": "lat",
    "latitude": "lat",
    "northing": "lat",
    "xy": "lonlat",
    "lnglat": "lonlat",
    "coordinates": "lonlat",
}


def parse_column_spec(spec: str | None, *, layer: Layer) -> dict[str, str]:
    """Parse a column mapping as the CLI takes it: ``id=编号,x=X坐标,y=Y坐标,status=状态``.

    Field names are the canonical ones of the layer (``id``, ``lon``, ``lat``, ``lonlat``,
    ``name``, ``status`` ...) or an alias (``x``/``lng``/``easting`` for ``lon``, ``y``/
    ``northing`` for ``lat``); a header may hold any character but ``,`` and ``=``. The
    fields are checked against the layer when the file is read (:func:`read_agency_table`),
    where the message can list the file's headers.

    Raises
    ------
    ConfigError
        An item without ``=`` or with an empty header; the message names the option.
    """
    option = option_name(layer, "columns")
    out: dict[str, str] = {}
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, sep, header = item.partition("=")
        if not sep or not header.strip():
            raise ConfigError(
                f"{option} {spec!r}: item {item.strip()!r} is not FIELD=HEADER; write e.g. "
                f"{option} id=编号,x=X坐标,y=Y坐标"
            )
        name = name.strip().lower()
        out[COLUMN_ALIASES.get(name, name)] = header.strip()
    return out


def _canonical_columns(
    columns: Mapping[str, str] | None, *, layer: Layer, fname: str, headers: Sequence[str]
) -> dict[str, str]:
    fields = _FIELDS[layer]
    out: dict[str, str] = {}
    for name, header in (columns or {}).items():
        canon = COLUMN_ALIASES.get(str(name).strip().lower(), str(name).strip().lower())
        if canon not in fields:
            raise ConfigError(
                f"{fname}: {option_name(layer, 'columns')} names the field {name!r}, which "
                f"{layer} do not have; use {', '.join(fields)} (x/y for lon/lat). The file's "
                f"headers: {', '.join(headers)}"
            )
        out[canon] = header
    return out


# ---------------------------------------------------------------------------------------------
# Public readers


def read_agency_table(
    path: str | Path,
    *,
    layer: Layer,
    source_crs: str | None = None,
    columns: Mapping[str, str] | None = None,
    study_area: BaseGeometry | None = None,
    units: Mapping[str, str] | None = None,
    status_codes: Mapping[str, str] | None = None,
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
        the file's CRS for vector files, EPSG:4326 for tables; coordinates in metres without
        a CRS stop the file with a suggested EPSG code. Coordinates stated as GCJ-02 or BD-09
        are un-shifted even near a border where :func:`geo.crs.in_china` is unsure.
    columns
        Canonical name (or alias, :data:`COLUMN_ALIASES`) to header in the file
        (``{"x": "X坐标", "id": "栓号"}``); overrides the automatic recognition for those names.
    study_area
        A WGS84 polygon; rows outside it are rejected, and a file with no row inside stops.
    units
        Hydrants: the unit of the flow and pressure columns (``{"flow": "gpm", "pressure":
        "psi"}``, see :func:`geo._quantities.parse_units_spec`); wins over headers and guesses.
    status_codes
        Hydrants: status value in the file to ``in_service`` / ``out_of_service`` /
        ``low_pressure`` / ``unknown`` (:func:`read_status_codes`); wins over the built-in words.

    Returns
    -------
    AgencyRead
        The good rows as points, the rejects and the notes.

    Raises
    ------
    InputFileError
        The file is missing, unreadable, in an unknown encoding or format, empty, has neither
        geometry nor longitude/latitude columns, a mapped header is not in it, its CRS is
        unknown, its coordinates are metres and no CRS was given, or none of its rows lies in
        the study area.
    ConfigError
        ``layer``, a key of ``columns`` or a unit is not known.
    """
    if layer not in get_args(Layer):
        raise ConfigError(f"unknown layer {layer!r}; use one of {', '.join(get_args(Layer))}")
    path = Path(path)
    fname = str(path)
    fields = _FIELDS[layer]
    notes = NoteList(fname, logger)
    raw = read_any(path, fields=fields, columns=columns)
    columns = _canonical_columns(columns, layer=layer, fname=fname, headers=raw.headers)
    mapping = _map_columns(raw.headers, fields, columns, fname=fname, layer=layer)
    has_xy = "lonlat" in mapping or ("lon" in mapping and "lat" in mapping)
    if raw.geometry is None and not has_xy:
        option = option_name(layer, "columns")
        raise InputFileError(
            f"{fname}: no longitude/latitude columns found (headers: {', '.join(raw.headers)}); "
            f"name them 经度/纬度 or lon/lat, or map them with {option} x=<header>,y=<header>"
        )
    n = len(raw.frame)
    rej = RowRejects(
        layer=layer,
        file=fname,
        ids=file_ids(raw.frame, mapping, path) if "id" in mapping else [],
        blank=raw.blank,
        row_numbers=raw.row_numbers,
    )
    src, lon, lat, x, y = _positions(raw, mapping, columns, source_crs, study_area, rej, notes)
    good = ~rej.rejected_mask(n)
    americas = bool(good.any() and np.median(lon[good]) < -30)
    values = _normalise_fields(
        raw.frame, mapping, layer, rej, notes, units=units_of(units), codes=status_codes,
        americas=americas,
    )
    ids = resolve_ids(raw.frame, mapping, path, lon, lat, rej, notes)
    if study_area is not None:
        _reject_outside(study_area, lon, lat, x, y, rej, src=src)
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
    return AgencyRead(points=points, rejects=rejects, notes=notes.notes)


def _positions(
    raw: Raw,
    mapping: Mapping[str, str],
    columns: Mapping[str, str],
    source_crs: str | None,
    study_area: BaseGeometry | None,
    rej: RowRejects,
    notes: NoteList,
) -> tuple[gcrs.SourceCRS, _Floats, _Floats, _Floats, _Floats]:
    """Source CRS, WGS84 lon/lat and the file's x/y of every row (NaN where rejected)."""
    fname, n, layer = rej.file, len(raw.frame), rej.layer
    crs_option = option_name(layer, "crs")
    explicit_xy = any(k in columns for k in ("lon", "lat", "lonlat"))
    if raw.geometry is not None and not explicit_xy:
        x, y, xcol, ycol = xy_from_geometry(raw.geometry, rej)
    else:
        x, y, xcol, ycol = xy_from_columns(raw.frame, mapping, rej)
    if source_crs is None and raw.crs is None:
        stop_if_metres(x, y, fname=fname, cols=(xcol, ycol), study_area=study_area, option=crs_option)
    src = source_crs_of(source_crs, raw.crs, fname=fname, geometry=raw.geometry, option=crs_option)
    ok = ~rej.rejected_mask(n) & np.isfinite(x) & np.isfinite(y)
    x, y, swap_note = fix_swapped_axes(
        x, y, ok, src=src, study_area=study_area, cols=(xcol, ycol),
        option=option_name(layer, "columns"),
    )
    if swap_note:
        notes.warn(swap_note, count=int(ok.sum()), column=xcol)
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
                notes.warn(
                    f"{int(outside.sum())} points stated as {src.name} lie outside the coarse "
                    f"China boundary; they were converted anyway because the file was stated to "
                    f"be {src.name}",
                    count=int(outside.sum()),
                )
    if src.pyproj_crs is not None and not geographic:
        check_projected(lon, lat, x, y, xcol, src.name, src.pyproj_crs, rej)
    return src, lon, lat, x, y


def _reject_outside(
    study_area: BaseGeometry,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    rej: RowRejects,
    *,
    src: gcrs.SourceCRS,
) -> None:
    """Reject the rows outside the study area; stop the file when none of them is inside."""
    n = len(lon)
    good = ~rej.rejected_mask(n) & ~rej.blank
    inside = np.zeros(n, dtype=bool)
    inside[good] = shapely.intersects_xy(study_area, lon[good], lat[good])
    if good.any() and not inside.any():
        w, s, e, nn = study_area.bounds
        raise InputFileError(
            f"{rej.file}: none of its {int(good.sum())} usable rows lies in the study area. Its "
            f"rows span longitude {np.min(lon[good]):.4f} to {np.max(lon[good]):.4f}, latitude "
            f"{np.min(lat[good]):.4f} to {np.max(lat[good]):.4f} (WGS84, read as {src.name}); "
            f"the study area spans longitude {w:.4f} to {e:.4f}, latitude {s:.4f} to {nn:.4f}. "
            f"Check that the file is for this area and its CRS ({option_name(rej.layer, 'crs')})"
        )
    rej.add(
        good & ~inside,
        None,
        lambda i: (
            f"outside the study area ({lon[i]:.6f}, {lat[i]:.6f} WGS84); "
            "check the coordinates or the study area"
        ),
        [f"{a}, {b}" for a, b in zip(x, y, strict=True)],
    )


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
    layer: str,
) -> dict[str, str]:
    """Canonical field -> header in the file."""
    mapping: dict[str, str] = {}
    by_norm = {nfkc(h).strip(): h for h in headers}
    for canon, header in (columns or {}).items():
        found = by_norm.get(nfkc(str(header)).strip())
        if found is None:
            raise InputFileError(
                f"{fname}: {option_name(layer, 'columns')} maps {canon!r} to column {header!r}, "
                f"which is not in the file; its headers: {', '.join(headers)}"
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
    frame: pd.DataFrame,
    mapping: Mapping[str, str],
    layer: str,
    rej: RowRejects,
    notes: NoteList,
    *,
    units: Mapping[str, str],
    codes: Mapping[str, str] | None,
    americas: bool,
) -> dict[str, object]:
    n = len(frame)
    empty_text = pd.Series([""] * n, dtype=object)

    def text(canon: str) -> pd.Series:
        return cell_text(frame[mapping[canon]]) if canon in mapping else empty_text

    values: dict[str, object] = {"name": text("name").to_numpy()}
    if layer == "hydrants":
        values["status"] = _hydrant_status(text("status"), mapping.get("status"), codes, notes)
        values["kind"] = np.array([_hydrant_kind(v) for v in text("kind")], dtype=object)
        quantities: tuple[tuple[Quantity, str], ...] = (
            ("pressure", "pressure_mpa"), ("flow", "flow_lps")
        )
        for canon, column in quantities:
            values[column] = (
                read_quantities(
                    frame[mapping[canon]], header=mapping[canon], quantity=canon, notes=notes,
                    override=units.get(canon), americas=americas,
                )
                if canon in mapping
                else np.full(n, np.nan)
            )
        values["diameter_mm"] = (
            parse_diameters(frame[mapping["diameter"]]) if "diameter" in mapping else np.full(n, np.nan)
        )
    if layer == "blockages":
        raw = text("status")
        status = np.array([_BLOCKAGE_STATUS.get(cell_word(v), "") for v in raw], dtype=object)
        bad = status == ""
        if "status" in mapping:
            rej.add(
                bad,
                mapping["status"],
                lambda i: f"unknown status word {raw.iloc[i]!r}; use one of {_BLOCKAGE_STATUS_HELP}",
                list(raw),
            )
        status[bad] = "reported"
        values["status"] = status
        values["kind"] = np.array([_blockage_kind(v) for v in text("kind")], dtype=object)
        values["reporter"] = text("reporter").to_numpy()
        values["photo"] = text("photo").to_numpy()
        values["remaining_width_m"] = (
            np.array([parse_length_m(v) for v in _width_cells(frame[mapping["remaining_width"]])])
            if "remaining_width" in mapping
            else np.full(n, np.nan)
        )
        values["reported_at"] = (
            _datetimes(frame[mapping["reported_at"]], notes=notes)
            if "reported_at" in mapping
            else pd.Series(pd.NaT, index=range(n), dtype="datetime64[us]")
        )
    return values


def _hydrant_status(
    raw: pd.Series, column: str | None, codes: Mapping[str, str] | None, notes: NoteList
) -> NDArray[np.object_]:
    """Status words (and the user's codes) to statuses; a value not known becomes ``unknown``.

    A row is never lost over its status: values neither the built-in words nor ``codes`` know
    are kept as ``unknown`` with one warning naming them and the option that maps them.
    """
    table = {**_HYDRANT_STATUS, **{cell_word(k): v for k, v in (codes or {}).items()}}
    words = [cell_word(v) for v in raw]
    status = np.array([table.get(w, "") for w in words], dtype=object)
    bad = status == ""
    if bad.any() and column is not None:
        counts = pd.Series(np.asarray(raw, dtype=object)[bad]).value_counts()
        shown = ", ".join(f"{v!r} ({c})" for v, c in counts.head(8).items())
        more = f" and {len(counts) - 8} more" if len(counts) > 8 else ""
        notes.warn(
            f"{_rows(int(bad.sum()))} a {column!r} value that is not a known status: {shown}"
            f"{more}; kept with status unknown. Map the values with --hydrant-codes FILE (a CSV "
            f"of code,status with status in_service, out_of_service, low_pressure or unknown, or "
            f"在用/停用/水压不足/未知); known words: {_HYDRANT_STATUS_HELP}",
            count=int(bad.sum()),
            column=column,
        )
    status[bad] = "unknown"
    return status


def _rows(n: int) -> str:
    return f"{n} row has" if n == 1 else f"{n} rows have"


def read_status_codes(path: str | Path) -> dict[str, str]:
    """Read a status code table: a CSV of ``code,status`` (a header line is allowed).

    The status is ``in_service``, ``out_of_service``, ``low_pressure`` or ``unknown``, or any
    status word :func:`read_agency_table` knows (在用, 停用, 水压不足, 未知, out of service ...).

    Returns
    -------
    dict
        Code (as written) to status.

    Raises
    ------
    InputFileError
        The file is missing or unreadable, a line has no status, or a status is not known.
    """
    path = Path(path)
    fname = str(path)
    if not path.is_file():
        raise InputFileError(f"{fname}: status code table not found; check the path")
    codes: dict[str, str] = {}
    for i, row in enumerate(csv_rows(path)):
        cells = [str(c).strip() for c in row]
        if not any(cells):
            continue
        status = _HYDRANT_STATUS.get(cell_word(cells[1])) if len(cells) > 1 else None
        if status is None or not cells[0]:
            if i == 0:
                continue  # a header line (code,status / 代码,状态)
            raise InputFileError(
                f"{fname}: line {i + 1} ({','.join(cells)!r}) is not code,status with a known "
                f"status; use in_service, out_of_service, low_pressure or unknown (or "
                f"{_HYDRANT_STATUS_HELP})"
            )
        codes[cells[0]] = status
    if not codes:
        raise InputFileError(f"{fname}: holds no code,status lines")
    return codes


def _width_cells(series: pd.Series) -> list[object]:
    return [None if is_missing(v) else nfkc(str(v)).strip().lower() for v in series.to_numpy()]


def _datetimes(series: pd.Series, *, notes: NoteList) -> pd.Series:
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
        notes.warn(
            f"{unread} report times in column {series.name!r} could not be read; left empty",
            count=unread,
            column=str(series.name),
        )
    return out.reset_index(drop=True)


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

