"""The water utility's mains: pipes and supply points, read from a GIS layer or an EPANET model.

Two ways in, one result (:class:`Mains`):

- a GIS pipes layer (GeoPackage, Shapefile, GeoJSON, or CSV/XLSX with a WKT column) with Chinese
  or English headers (管径/DN/diameter, 材质/material, C值/roughness, 状态/status, 编号/pipe_id), plus
  an optional supply-point file (水厂/加压站/水塔 with a head in m or a pressure in MPa):
  :func:`read_mains`;
- an EPANET ``.inp`` model with the CRS of its coordinates: :func:`geo.mains_inp.read_inp`
  (the ``wntr.network.WaterNetworkModel`` is kept on the result for the hydraulic solver).

Pipes that cannot be used (no or unreadable diameter, unknown unit, zero length, not a line,
on a piece of network that touches no supply point) go to the rejects with what, where and what
to do; they never stop the reading nor cost the good pipes. A file that cannot be read at all is
an :class:`geo.errors.InputFileError`.

Pipe ends are joined into nodes when they coincide to :data:`NODE_TOLERANCE_M` (a GIS layer's
pipes are assumed split at their junctions, as utility layers are drawn; a pipe touching another
one mid-way is not joined to it).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from geo import crs as gcrs
from geo._agency_coords import source_crs_of, xy_from_columns, xy_from_geometry
from geo._tables import Raw, find_header, is_missing, nfkc, read_any
from geo.errors import InputFileError
from geo.notes import Note, NoteList
from geo.rejects import Reject, RowRejects

logger = logging.getLogger(__name__)

__all__ = [
    "MAINS_COLUMNS",
    "SUPPLY_COLUMNS",
    "Mains",
    "hydrant_pipe_ids",
    "parse_dn_mm",
    "read_mains",
    "read_stored_mains",
    "read_supply",
    "to_working",
]

#: Columns of :attr:`Mains.mains` (besides ``geometry``).
MAINS_COLUMNS = (
    "pipe_id", "from_node", "to_node", "kind", "diameter_mm", "material", "roughness", "status",
    "length_m",
)
#: Columns of :attr:`Mains.supply` (besides ``geometry``).
SUPPLY_COLUMNS = ("supply_id", "kind", "head_m", "pressure_mpa", "node")

#: Pipe ends closer than this (m) are one node (assumption: utility layers are snapped at junctions).
NODE_TOLERANCE_M = 0.5
#: A supply point joins the nearest pipe end within this distance (m) (assumption).
SUPPLY_TOLERANCE_M = 50.0

_PIPE_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("管线编号", "管段编号", "管道编号", "编号", "pipeid", "pipe", "id", "linkid", "gid",
           "facilityid", "assetid", "code"),
    "diameter": ("管径", "口径", "公称直径", "dn", "diameter", "diametermm", "diam", "size"),
    "material": ("材质", "管材", "material", "mat"),
    "roughness": ("c值", "海曾威廉系数", "海澄威廉系数", "粗糙系数", "粗糙度", "roughness", "chw",
                  "hazenwilliams", "cfactor"),
    "status": ("状态", "运行状态", "使用状态", "status", "state"),
    "from_node": ("起点", "起点编号", "起始节点", "fromnode", "from", "startnode", "node1"),
    "to_node": ("终点", "终点编号", "终止节点", "tonode", "to", "endnode", "node2"),
    "wkt": ("wkt", "geometry", "geom", "几何", "shape", "the_geom"),
}
_SUPPLY_FIELDS: dict[str, tuple[str, ...]] = {
    "id": ("编号", "名称", "id", "supplyid", "name", "code"),
    "lon": ("经度", "lon", "lng", "longitude", "x", "x坐标"),
    "lat": ("纬度", "lat", "latitude", "y", "y坐标"),
    "lonlat": ("经纬度", "坐标", "lonlat", "coordinates"),
    "kind": ("类型", "种类", "kind", "type"),
    "head": ("水头", "总水头", "供水水头", "head", "headm", "hydraulichead"),
    "pressure": ("压力", "出厂压力", "供水压力", "pressure", "pressurempa"),
}
_SUPPLY_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("plant", ("水厂", "自来水厂", "净水厂", "plant", "treatment", "wtp")),
    ("booster", ("加压站", "泵站", "增压站", "booster", "pump")),
    ("tower", ("水塔", "tower")),
    ("tank", ("水池", "清水池", "水箱", "tank")),
    ("reservoir", ("水库", "reservoir", "source")),
)
_CLOSED = ("closed", "关闭", "停用", "废弃", "abandoned", "inactive", "关")

_DN = re.compile(r"^(?:dn|φ|ϕ|ø|d)?\s*(\d+(?:\.\d+)?)\s*([a-z\"'″]*|毫米|米|英寸|寸)$")
_DN_UNIT_MM = {"": None, "mm": 1.0, "毫米": 1.0, "cm": 10.0, "m": 1000.0, "米": 1000.0,
               "in": 25.4, "inch": 25.4, "inches": 25.4, '"': 25.4, "″": 25.4, "英寸": 25.4,
               "寸": 25.4}


@dataclass(frozen=True, eq=False)
class Mains:
    """The water mains of a study area, in the working CRS.

    Attributes
    ----------
    mains
        One line per usable link (:data:`MAINS_COLUMNS`): ``kind`` is ``pipe`` (``pump`` or
        ``valve`` from an EPANET model), ``diameter_mm`` the nominal diameter, ``status``
        ``open`` / ``closed`` / ``unknown``, ``length_m`` the stated or measured length.
    supply
        The supply points (:data:`SUPPLY_COLUMNS`): ``kind`` plant / booster / tower / tank /
        reservoir / unknown, ``head_m`` or ``pressure_mpa`` (NaN when not stated), ``node`` the
        pipe end it feeds ('' when none within :data:`SUPPLY_TOLERANCE_M`).
    source
        Where the mains came from (``gis:<file>`` or ``epanet:<file>``).
    rejects, notes
        Pipes and supply rows not used, and what was guessed on the way.
    wntr
        The ``wntr.network.WaterNetworkModel`` when read from an ``.inp`` file, else None.
    hydrant_pipes
        ``hydrant_id`` -> ``pipe_id`` as the hydrant file states it (:func:`hydrant_pipe_ids`);
        hydrants not in it are linked to the nearest pipe.
    """

    mains: gpd.GeoDataFrame
    supply: gpd.GeoDataFrame
    source: str
    rejects: list[Reject] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    wntr: Any = None
    hydrant_pipes: Mapping[str, str] = field(default_factory=dict)

    def counts(self) -> dict[str, Any]:
        """``pipes``, ``length_m``, ``supply_points`` and ``rejected_pipes`` for the summary."""
        return {
            "source": self.source,
            "pipes": int((self.mains["kind"] == "pipe").sum()),
            "length_m": float(self.mains["length_m"].sum()),
            "supply_points": len(self.supply),
            "rejected_pipes": sum(r.layer == "mains" for r in self.rejects),
        }


# ---------------------------------------------------------------------------------------------
# Diameters


def parse_dn_mm(value: object, *, header_unit: str = "") -> tuple[float, str | None]:
    """A nominal diameter in mm, or NaN and the reason it cannot be read.

    Reads ``150``, ``"DN150"``, ``"φ150"``, ``"150mm"``, ``"0.15 m"``, ``"6 in"``, ``6"``. A plain
    number is mm, unless ``header_unit`` (from a header such as ``管径(m)``) says otherwise, or
    it is below 3 (no main is 3 mm wide; read as metres).
    """
    if is_missing(value) or not str(value).strip():
        return math.nan, "no diameter; fill in 管径/DN (mm) or delete the pipe"
    text = nfkc(str(value)).strip().lower().replace(",", ".")
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        number, unit = float(value), ""
    else:
        m = _DN.match(text)
        if m is None:
            return math.nan, f"cannot read the diameter {value!r}; write it as DN150 or 150 (mm)"
        number, unit = float(m.group(1)), m.group(2)
    if unit not in _DN_UNIT_MM:
        return math.nan, (f"unknown diameter unit {unit!r} in {value!r}; use mm, m or in "
                          "(DN150, 0.15 m, 6 in)")
    factor = _DN_UNIT_MM[unit] or _DN_UNIT_MM.get(header_unit) or (1000.0 if number < 3 else 1.0)
    mm = number * factor
    if not mm > 0:
        return math.nan, f"diameter {value!r} is not positive; fill in the real DN"
    return mm, None


#: Headers of a hydrant file's column naming the pipe each hydrant stands on.
HYDRANT_PIPE_HEADERS = ("管线编号", "所在管线", "所在管段", "管段编号", "pipeid", "mainid", "pipe", "main")
_HYDRANT_ID_HEADERS = ("编号", "消火栓编号", "栓号", "id", "hydrantid", "facilityid", "assetid", "ref")


def hydrant_pipe_ids(path: str | Path) -> dict[str, str]:
    """``hydrant id -> pipe id`` from a hydrant file with a pipe column (管线编号/pipe_id), as
    :func:`geo.agency.read_agency_table` names the ids; empty when the file has no such column."""
    raw = read_any(Path(path), fields={"id": _HYDRANT_ID_HEADERS, "pipe": HYDRANT_PIPE_HEADERS},
                   columns=None)
    pipe = find_header(raw.headers, HYDRANT_PIPE_HEADERS)
    ident = find_header([h for h in raw.headers if h != pipe], _HYDRANT_ID_HEADERS)
    if pipe is None or ident is None:
        return {}
    out: dict[str, str] = {}
    for h, p in zip(raw.frame[ident].to_numpy(), raw.frame[pipe].to_numpy(), strict=True):
        if not is_missing(h) and not is_missing(p) and str(p).strip():
            out[nfkc(str(h)).strip()] = nfkc(str(p)).strip()
    return out


def _header_unit(header: str) -> str:
    """The unit in a header such as ``管径(mm)`` or ``diameter_in`` ('' when none)."""
    key = nfkc(header).lower()
    m = re.search(r"[(（\[_ ](mm|cm|m|in|inch|米|毫米|英寸)[)）\]]?$", key)
    return m.group(1) if m else ""


# ---------------------------------------------------------------------------------------------
# GIS layers


def read_mains(
    path: str | Path,
    *,
    working_crs: pyproj.CRS,
    source_crs: str | None = None,
    supply: str | Path | None = None,
    supply_crs: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> Mains:
    """Read a GIS pipes layer (and optionally its supply points) into :class:`Mains`.

    Parameters
    ----------
    path
        GeoPackage, Shapefile, GeoJSON, or a CSV/XLSX with a WKT column (``wkt``/``geometry``).
    working_crs
        The workspace's projected CRS; the result is in it.
    source_crs
        The CRS of the pipes (``--mains-crs``); wins over the file's own. A table without one
        is read as WGS84 degrees when its coordinates are degrees.
    supply, supply_crs
        The supply points (:func:`read_supply`) and their CRS (default: ``source_crs``).
    columns
        Canonical field (``id``, ``diameter``, ``material``, ``roughness``, ``status``,
        ``from_node``, ``to_node``, ``wkt``) to header, overriding the recognition.

    Raises
    ------
    InputFileError
        The file is missing or unreadable, has no geometry, or no pipe in it can be used.
    """
    path = Path(path)
    fname = str(path)
    notes = NoteList(fname, logger)
    raw = read_any(path, fields=_PIPE_FIELDS, columns=columns)
    mapping = _mapping(raw.headers, _PIPE_FIELDS, columns)
    ids = _ids(raw.frame, mapping, "P")
    rej = RowRejects(layer="mains", file=fname, ids=ids, blank=raw.blank, row_numbers=raw.row_numbers)
    geoms = _line_geometries(raw, mapping, rej, fname)
    src = source_crs_of(source_crs, raw.crs, fname=fname, geometry=_bounds_series(geoms),
                        option="--mains-crs")
    geoms = to_working(geoms, src, working_crs)
    n = len(raw.frame)
    diameter = np.full(n, np.nan)
    if "diameter" in mapping:
        col = mapping["diameter"]
        unit = _header_unit(col)
        parsed = [parse_dn_mm(v, header_unit=unit) for v in raw.frame[col].to_numpy()]
        diameter = np.array([p[0] for p in parsed])
        texts = [str(v) for v in raw.frame[col].to_numpy()]
        rej.add(np.array([p[1] is not None for p in parsed], bool), col,
                lambda i: str(parsed[i][1]), texts)
    else:
        rej.add(np.ones(n, bool), None, f"no diameter column (管径/DN/diameter) in {fname}; "
                "add a 管径 or DN column (mm)", [""] * n)
    length = np.asarray(shapely.length(geoms), dtype=np.float64)
    rej.add(np.nan_to_num(length) <= 0.0, "geometry",
            "pipe has zero length; redraw it or delete it", [""] * n)
    frame = gpd.GeoDataFrame(
        {
            "pipe_id": ids,
            "kind": "pipe",
            "diameter_mm": diameter,
            "material": _text(raw.frame, mapping, "material"),
            "roughness": pd.to_numeric(pd.Series(_text(raw.frame, mapping, "roughness")),
                                       errors="coerce").to_numpy(),
            "status": [_status(v) for v in _text(raw.frame, mapping, "status")],
            "length_m": length,
        },
        geometry=geoms, crs=working_crs,
    )
    frame["from_node"], frame["to_node"] = _end_nodes(frame, raw.frame, mapping)
    keep = ~rej.rejected_mask(n) & ~raw.blank
    pipes = frame.loc[keep].reset_index(drop=True)
    rejects = rej.records()
    if supply is not None:
        sup, sup_rejects = read_supply(supply, working_crs=working_crs,
                                       source_crs=supply_crs or source_crs)
        rejects += sup_rejects
    else:
        sup = _empty_supply(working_crs)
        notes.warn("no supply points given (--supply): pieces of the network not fed by a "
                   "plant, booster or tower cannot be found", count=len(pipes))
    pipes, sup, island_rejects = _connect(pipes, sup, rej.row_numbers[keep], fname)
    rejects += island_rejects
    if pipes.empty:
        raise InputFileError(
            f"{fname}: no usable pipe ({len(rejects)} rejected, see rejects.csv); check the "
            "diameter column and the geometry"
        )
    logger.info("%s: %d pipes (%.1f km), %d supply points, %d rejected", fname, len(pipes),
                pipes["length_m"].sum() / 1000, len(sup), len(rejects))
    return Mains(mains=pipes[[*MAINS_COLUMNS, "geometry"]], supply=sup, source=f"gis:{path.name}",
                 rejects=rejects, notes=notes.notes)


def _mapping(
    headers: Sequence[str], fields: Mapping[str, Sequence[str]], columns: Mapping[str, str] | None
) -> dict[str, str]:
    """Canonical field -> header, explicit ``columns`` first."""
    mapping: dict[str, str] = {}
    for canon, header in (columns or {}).items():
        if header not in headers:
            raise InputFileError(f"column {header!r} (for {canon}) is not in the file; its "
                                 f"headers: {', '.join(headers)}")
        mapping[canon] = header
    used = set(mapping.values())
    for canon, names in fields.items():
        if canon in mapping:
            continue
        found = find_header([h for h in headers if h not in used], names)
        if found is not None:
            mapping[canon] = found
            used.add(found)
    return mapping


def _ids(frame: pd.DataFrame, mapping: Mapping[str, str], prefix: str) -> list[str]:
    """The id column's text, or ``<prefix><row>`` where blank or duplicated."""
    out: list[str] = []
    seen: set[str] = set()
    values = frame[mapping["id"]].to_numpy() if "id" in mapping else [None] * len(frame)
    for i, v in enumerate(values):
        text = "" if is_missing(v) else nfkc(str(v)).strip()
        if not text or text in seen:
            text = f"{prefix}{i + 1}"
        seen.add(text)
        out.append(text)
    return out


def _text(frame: pd.DataFrame, mapping: Mapping[str, str], canon: str) -> list[str]:
    if canon not in mapping:
        return [""] * len(frame)
    return ["" if is_missing(v) else str(v).strip() for v in frame[mapping[canon]].to_numpy()]


def _status(value: str) -> str:
    key = nfkc(value).strip().lower()
    if not key:
        return "unknown"
    return "closed" if key in _CLOSED else "open"


def _line_geometries(raw: Raw, mapping: Mapping[str, str], rej: RowRejects, fname: str) -> NDArray[Any]:
    """One LineString per row (None where rejected: no geometry, not a line, bad WKT)."""
    n = len(raw.frame)
    if raw.geometry is not None:
        geoms = np.asarray(raw.geometry.array, dtype=object)
    elif "wkt" in mapping:
        col = mapping["wkt"]
        texts = ["" if is_missing(v) else str(v) for v in raw.frame[col].to_numpy()]
        geoms = np.array(shapely.from_wkt(texts, on_invalid="ignore"), dtype=object)
        bad = np.array([bool(t) for t in texts]) & shapely.is_missing(geoms)
        rej.add(bad, col, lambda i: f"cannot read the WKT {texts[i][:40]!r}; write "
                "LINESTRING (x1 y1, x2 y2, ...)", texts)
    else:
        raise InputFileError(
            f"{fname}: the pipes have no geometry (headers: {', '.join(raw.headers)}); use a "
            "GeoPackage/Shapefile/GeoJSON or a CSV with a WKT column named wkt"
        )
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rej.add(missing, "geometry", "pipe has no geometry; draw it or delete the row", [""] * n)
    merged = geoms.copy()
    multi = shapely.get_type_id(geoms) == 5
    if multi.any():
        merged[multi] = shapely.line_merge(geoms[multi])
    line = shapely.get_type_id(merged) == 1
    types = [str(getattr(g, "geom_type", "")) for g in geoms]
    rej.add(~missing & ~line, "geometry",
            lambda i: f"geometry is a {types[i]}, not a single line; split it into pipes", types)
    out = np.full(n, None, dtype=object)
    out[line] = merged[line]
    return out


def _bounds_series(geoms: NDArray[Any]) -> gpd.GeoSeries | None:
    ok = ~shapely.is_missing(geoms)
    return gpd.GeoSeries(geoms[ok]) if ok.any() else None


def to_working(geoms: NDArray[Any], src: gcrs.SourceCRS, working: pyproj.CRS) -> NDArray[Any]:
    """Geometries from the source CRS (GCJ-02/BD-09 un-shifted) to the working CRS."""
    ok = ~shapely.is_missing(geoms)
    if not ok.any():
        return geoms
    out = geoms.copy()
    coords = shapely.get_coordinates(geoms[ok])
    lon, lat = gcrs.to_wgs84(coords[:, 0], coords[:, 1], src, china_only=False)
    x, y = pyproj.Transformer.from_crs(4326, working, always_xy=True).transform(lon, lat)
    out[ok] = shapely.set_coordinates(geoms[ok].copy(), np.column_stack([x, y]))
    return out


def _end_nodes(
    pipes: gpd.GeoDataFrame, frame: pd.DataFrame, mapping: Mapping[str, str]
) -> tuple[list[str], list[str]]:
    """Node names of both ends: the file's from/to columns, else the rounded end coordinates."""
    geoms = pipes.geometry.to_numpy()
    ok = ~shapely.is_missing(geoms)
    names: list[list[str]] = [[""] * len(pipes), [""] * len(pipes)]
    for k, (canon, index) in enumerate((("from_node", 0), ("to_node", -1))):
        given = _text(frame, mapping, canon) if canon in mapping else None
        ends = np.full(len(pipes), None, dtype=object)
        ends[ok] = shapely.get_point(geoms[ok], index)
        for i in np.flatnonzero(ok):
            if given is not None and given[i]:
                names[k][i] = given[i]
            else:
                q = NODE_TOLERANCE_M
                names[k][i] = f"{round(ends[i].x / q) * q:.1f},{round(ends[i].y / q) * q:.1f}"
    return names[0], names[1]


# ---------------------------------------------------------------------------------------------
# Supply points


def read_supply(
    path: str | Path, *, working_crs: pyproj.CRS, source_crs: str | None = None
) -> tuple[gpd.GeoDataFrame, list[Reject]]:
    """Supply points (水厂/加压站/水塔 …) from a CSV/XLSX with lon/lat or a point layer.

    ``kind`` is read from 类型/kind (``unknown`` when not recognised), ``head_m`` from a
    水头/head column (m), ``pressure_mpa`` from a 压力/pressure column (MPa; ``kPa`` and ``m``
    in the cell or header are converted). Rows without a position go to the rejects.
    """
    path = Path(path)
    fname = str(path)
    raw = read_any(path, fields=_SUPPLY_FIELDS, columns=None)
    mapping = _mapping(raw.headers, _SUPPLY_FIELDS, None)
    ids = _ids(raw.frame, mapping, "S")
    rej = RowRejects(layer="supply", file=fname, ids=ids, blank=raw.blank, row_numbers=raw.row_numbers)
    if raw.geometry is not None:
        x, y, _, _ = xy_from_geometry(raw.geometry, rej)
    elif "lonlat" in mapping or {"lon", "lat"} <= set(mapping):
        x, y, _, _ = xy_from_columns(raw.frame, mapping, rej)
    else:
        raise InputFileError(f"{fname}: supply points need lon/lat (经度/纬度) columns or point "
                             f"geometry; its headers: {', '.join(raw.headers)}")
    src = source_crs_of(source_crs, raw.crs, fname=fname, option="--mains-crs")
    n = len(raw.frame)
    keep = ~rej.rejected_mask(n) & ~raw.blank & np.isfinite(x) & np.isfinite(y)
    lon, lat = np.full(n, np.nan), np.full(n, np.nan)
    if keep.any():
        lon[keep], lat[keep] = gcrs.to_wgs84(x[keep], y[keep], src, china_only=False)
    pressure_col = mapping.get("pressure", "")
    frame = gpd.GeoDataFrame(
        {
            "supply_id": ids,
            "kind": [_supply_kind(v) for v in _text(raw.frame, mapping, "kind")],
            "head_m": pd.to_numeric(pd.Series(_text(raw.frame, mapping, "head")),
                                    errors="coerce").to_numpy(),
            "pressure_mpa": [_pressure_mpa(v, pressure_col) for v in
                             _text(raw.frame, mapping, "pressure")],
            "node": "",
        },
        geometry=gpd.points_from_xy(lon, lat), crs=4326,
    )
    return frame.loc[keep].reset_index(drop=True).to_crs(working_crs), rej.records()


def _supply_kind(value: str) -> str:
    key = nfkc(value).strip().lower()
    for kind, words in _SUPPLY_KINDS:
        if any(w in key for w in words):
            return kind
    return "unknown"


def _pressure_mpa(value: str, header: str) -> float:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)", nfkc(value).lower())
    if m is None:
        return math.nan
    unit = m.group(2) or _header_unit(header) or next(
        (u for u in ("kpa", "mpa") if u in nfkc(header).lower()), "mpa")
    factor = {"mpa": 1.0, "kpa": 0.001, "m": 0.00980665, "bar": 0.1}.get(unit)
    return float(m.group(1)) * factor if factor is not None else math.nan


def _empty_supply(crs: pyproj.CRS) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in SUPPLY_COLUMNS}, geometry=[], crs=crs)


# ---------------------------------------------------------------------------------------------
# Connectivity


def _connect(
    pipes: gpd.GeoDataFrame, supply: gpd.GeoDataFrame, rows: NDArray[np.int64], fname: str
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, list[Reject]]:
    """Join each supply point to its nearest pipe end; reject the pipes of every connected
    piece that no supply point feeds (kept all when no supply point is given)."""
    supply = supply.copy()
    if pipes.empty or supply.empty:
        return pipes, supply, []
    nodes, inverse = np.unique(np.concatenate([pipes["from_node"], pipes["to_node"]]),
                               return_inverse=True)
    m = len(pipes)
    ends = np.concatenate([shapely.get_point(pipes.geometry.to_numpy(), 0),
                           shapely.get_point(pipes.geometry.to_numpy(), -1)])
    tree = shapely.STRtree(ends)
    q, t = tree.query_nearest(supply.geometry.to_numpy(), max_distance=SUPPLY_TOLERANCE_M,
                              all_matches=False)
    supply.loc[supply.index[q], "node"] = nodes[inverse[t]]
    graph = coo_matrix((np.ones(m), (inverse[:m], inverse[m:])), shape=(len(nodes), len(nodes)))
    _, label = connected_components(graph, directed=False)
    fed = set(label[inverse[t]].tolist())
    pipe_label = label[inverse[:m]]
    island = ~np.isin(pipe_label, list(fed))
    rejects = [
        Reject(layer="mains", file=fname, row=int(rows[i]), column=None,
               feature_id=str(pipes["pipe_id"].iat[i]),
               reason=(f"pipe lies on a piece of network that no supply point feeds (no supply "
                       f"within {SUPPLY_TOLERANCE_M:.0f} m of its pieces' ends); join it to the "
                       "network or add its supply point to --supply"))
        for i in np.flatnonzero(island)
    ]
    return pipes.loc[~island].reset_index(drop=True), supply, rejects


def read_stored_mains(path: str | Path) -> Mains | None:
    """The mains an analysed workspace stored in its GeoPackage (``water_mains`` and
    ``water_supply``, written by ``firereach analyze --mains/--network``), or None when it has
    none: a served workspace analyses with the mains it was built with."""
    path = Path(path)
    present = {str(n) for n, _ in pyogrio.list_layers(path)} if path.is_file() else set()
    if "water_mains" not in present:
        return None
    pipes = pyogrio.read_dataframe(path, layer="water_mains")
    for column in ("pipe_id", "from_node", "to_node"):
        pipes[column] = pipes[column].astype(str)
    supply = (pyogrio.read_dataframe(path, layer="water_supply") if "water_supply" in present
              else _empty_supply(pipes.crs))
    named: dict[str, str] = {}
    if "hydrants_analysis" in present:
        hyd = pyogrio.read_dataframe(path, layer="hydrants_analysis", read_geometry=False)
        if {"main_link", "main_id"} <= set(hyd.columns):
            by_id = hyd.loc[hyd["main_link"] == "id"]
            named = dict(zip(by_id["hydrant_id"].astype(str), by_id["main_id"].astype(str),
                             strict=True))
    return Mains(mains=pipes[[*MAINS_COLUMNS, "geometry"]], supply=supply,
                 source=f"workspace:{path.name}", hydrant_pipes=named)
