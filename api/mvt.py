"""Mapbox Vector Tiles (MVT 2.1) of the workspace collections, Web Mercator XYZ.

:func:`tile_source` prepares a collection once per workspace version: geometries in EPSG:3857,
an STRtree, and the property columns a tile carries. :func:`render_tile` cuts one tile: the
features whose envelope meets the tile (plus a buffer) are clipped to the buffered tile, moved to
tile coordinates (``extent`` units, y down), simplified by a fraction of a tile unit, snapped to
the integer grid (GEOS keeps polygons valid and drops what collapses), oriented (exterior rings
clockwise on screen, i.e. positive area in tile coordinates, holes the other way) and encoded.

The encoder writes the protobuf wire format of ``vector_tile.proto`` directly, with the geometry
command streams built for all features of a tile at once in numpy (no per-vertex Python loop):
``MoveTo``/``LineTo``/``ClosePath`` with zigzag-encoded deltas, one ``MoveTo`` with a count for
(multi)points, and a ``Value`` table shared by the layer's features.

:class:`TileCache` is an in-memory LRU of encoded tiles keyed by layer, z/x/y, the workspace
version and the source's serial number, bounded in entries and bytes.
"""

from __future__ import annotations

import itertools
import json
import logging
import math
import struct
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from api.ogc import column_kind
from geo.catalog import LayerName

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64
MAX_ZOOM = 24
#: Half the side of the Web Mercator square (m).
HALF_WORLD_M = 20037508.342789244
#: Float properties are rounded to this many decimals (metres to the millimetre) to keep tiles small.
FLOAT_DECIMALS = 3
#: Simplification tolerance in tile units (1/4096 of the tile side).
SIMPLIFY_UNITS = 0.5

POINT, LINESTRING, POLYGON = 1, 2, 3
_MOVE_TO, _LINE_TO, _CLOSE_PATH = 1, 2, 7


@dataclass(frozen=True)
class LayerSpec:
    """What a layer's tiles carry.

    Attributes
    ----------
    properties
        Property columns, in order (None: every column of a simple type).
    minzoom
        Below this zoom the layer's tiles are empty (204): too many features to draw.
    detail_zoom
        Below this zoom the tiles carry only the ``overview`` properties (a city-wide view would
        otherwise send megabytes of properties nobody reads; a popup asks for the feature by id).
    overview
        The properties of tiles below ``detail_zoom``: the feature id and what the map styles by.
    """

    properties: tuple[str, ...] | None = None
    minzoom: int = 0
    detail_zoom: int = 0
    overview: tuple[str, ...] = ()


#: The big layers of the web map, with the properties its styles and popups use.
LAYER_SPECS: Mapping[str, LayerSpec] = {
    LayerName.ROADS_ANALYSIS: LayerSpec(
        ("edge_id", "name", "highway", "width_m", "length_m", "covered_m", "uncovered_m",
         "covered_pct", "truck_passable", "truck_blocked_by", "response_s", "first_due_station"),
        minzoom=10, detail_zoom=14, overview=("edge_id",),
    ),
    LayerName.BUILDINGS_ANALYSIS: LayerSpec(
        ("building_id", "name", "building", "height_m", "high_rise_class", "hydrants_in_range",
         "credited_flow_lps", "required_flow_lps", "flow_deficit_lps", "nearest_hydrant_m",
         "response_s", "first_due_station", "flags"),
        minzoom=13, detail_zoom=15, overview=("building_id", "high_rise_class"),
    ),
    LayerName.COVERAGE_PIECES: LayerSpec(("edge_id", "name", "highway", "covered", "length_m"), minzoom=10,
                                 detail_zoom=14, overview=("edge_id", "covered")),
    "hydrants": LayerSpec(
        ("hydrant_id", "kind", "status", "diameter_mm", "flow_lps", "pressure_mpa", "name", "source"),
        minzoom=10,
    ),
    LayerName.HYDRANTS_ANALYSIS: LayerSpec(
        ("hydrant_id", "kind", "status", "flow_lps", "pressure_mpa", "name", "snap_offset_m",
         "snap_reason"),
        minzoom=10, detail_zoom=13, overview=("hydrant_id", "status"),
    ),
    "buildings": LayerSpec(minzoom=13),
    "roads": LayerSpec(minzoom=10),
}
_DEFAULT_SPEC = LayerSpec(minzoom=8)


def layer_spec(name: str) -> LayerSpec:
    """The :class:`LayerSpec` of a collection (a generic one for layers not listed)."""
    return LAYER_SPECS.get(name, _DEFAULT_SPEC)


def tile_in_range(z: int, x: int, y: int) -> bool:
    """True when z/x/y is a tile of the Web Mercator XYZ grid (0 <= x, y < 2**z)."""
    return 0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """EPSG:3857 bounds ``(minx, miny, maxx, maxy)`` of XYZ tile z/x/y (y counts from the north)."""
    size = 2 * HALF_WORLD_M / (1 << z)
    minx = -HALF_WORLD_M + x * size
    maxy = HALF_WORLD_M - y * size
    return minx, maxy - size, minx + size, maxy


# --- sources --------------------------------------------------------------------------------------

_SERIAL = itertools.count(1)


@dataclass(frozen=True, eq=False)
class TileSource:
    """A collection prepared for tiling (see :func:`tile_source`).

    Attributes
    ----------
    name
        Layer name in the tiles.
    geometry
        EPSG:3857 geometries (numpy object array; None for missing).
    tree
        STRtree over ``geometry``.
    columns
        Property name, kind (``str``, ``bool``, ``int``, ``float``) and values (numpy arrays).
    minzoom
        Tiles below this zoom are empty.
    bounds
        WGS84 extent ``(min lon, min lat, max lon, max lat)``, None when empty.
    serial
        A number unique to this preparation (part of the tile cache key).
    detail_zoom, overview
        Below ``detail_zoom`` only the ``overview`` columns go into a tile (:class:`LayerSpec`).
    """

    name: str
    geometry: np.ndarray = field(repr=False)
    tree: shapely.STRtree = field(repr=False)
    columns: tuple[tuple[str, str, np.ndarray], ...] = field(repr=False)
    minzoom: int
    bounds: tuple[float, float, float, float] | None
    serial: int
    detail_zoom: int = 0
    overview: tuple[str, ...] = ()

    def columns_at(self, z: int) -> tuple[tuple[str, str, np.ndarray], ...]:
        """The property columns of a tile at zoom ``z``."""
        if z >= self.detail_zoom:
            return self.columns
        return tuple(c for c in self.columns if c[0] in self.overview)

    def fields(self) -> dict[str, str]:
        """TileJSON ``fields``: property name to ``String``, ``Number`` or ``Boolean``."""
        names = {"str": "String", "bool": "Boolean", "int": "Number", "float": "Number"}
        return {name: names[kind] for name, kind, _ in self.columns}


def _column_values(values: pd.Series, kind: str) -> np.ndarray:
    if kind == "float":
        return np.round(values.to_numpy(dtype=np.float64, na_value=np.nan), FLOAT_DECIMALS)
    if kind == "int":
        if values.isna().any():
            return values.to_numpy(dtype=np.float64, na_value=np.nan)  # nullable ints: NaN = null
        return values.to_numpy(dtype=np.int64)
    if kind == "bool":
        return values.to_numpy(dtype=object)
    out = values.astype(object).where(values.notna(), None).to_numpy(dtype=object, copy=True)
    # lists and mappings in a text column (e.g. the reasons of an underserved stretch) are not
    # MVT values: carry them as JSON text, as the GeoJSON pages show them
    nested = np.fromiter((isinstance(v, (list, tuple, dict, np.ndarray)) for v in out), bool, len(out))
    if nested.any():
        out[nested] = [json.dumps(v.tolist() if isinstance(v, np.ndarray) else v, default=str)
                       for v in out[nested]]
    return out


def tile_source(name: str, frame: gpd.GeoDataFrame, *, spec: LayerSpec | None = None) -> TileSource:
    """Prepare a WGS84 collection for :func:`render_tile`.

    Parameters
    ----------
    name
        Layer name.
    frame
        The collection (WGS84).
    spec
        Properties and minimum zoom (default :func:`layer_spec` of ``name``).
    """
    spec = spec or layer_spec(name)
    geom_col = frame.geometry.name
    if spec.properties is None:
        wanted = [str(c) for c in frame.columns if c != geom_col]
    else:
        wanted = [c for c in spec.properties if c in frame.columns]
    columns = []
    for c in wanted:
        kind = column_kind(frame[c].dtype)
        if kind == "other":
            continue
        columns.append((c, kind, _column_values(frame[c], kind)))
    wgs84 = np.asarray(frame.geometry.array, dtype=object)
    if len(frame):
        clipped = shapely.clip_by_rect(wgs84, -180.0, -85.05112878, 180.0, 85.05112878)
        merc = np.asarray(gpd.GeoSeries(clipped, crs=frame.crs).to_crs(3857).array, dtype=object)
    else:
        merc = np.empty(0, dtype=object)
    present = ~(shapely.is_missing(wgs84) | shapely.is_empty(wgs84)) if len(wgs84) else np.zeros(0, bool)
    bounds = None
    if present.any():
        b = shapely.total_bounds(wgs84[present])
        bounds = (float(b[0]), float(b[1]), float(b[2]), float(b[3]))
    log.info("tile source %s: %d features, %d properties", name, len(frame), len(columns))
    return TileSource(
        name=name, geometry=merc, tree=shapely.STRtree(merc), columns=tuple(columns),
        minzoom=spec.minzoom, bounds=bounds, serial=next(_SERIAL),
        detail_zoom=spec.detail_zoom, overview=spec.overview,
    )


# --- protobuf -------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _varints(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Varint bytes of many non-negative integers at once, and the byte count of each."""
    v = np.asarray(values, dtype=np.uint64)
    if len(v) == 0:
        return np.empty(0, dtype=np.uint8), np.empty(0, dtype=np.int64)
    nbytes = np.ones(len(v), dtype=np.int64)
    for shift in range(7, 64, 7):
        nbytes += v >= np.uint64(1 << shift)
    total = int(nbytes.sum())
    owner = np.repeat(np.arange(len(v)), nbytes)
    starts = np.cumsum(nbytes) - nbytes
    byte_no = np.arange(total) - np.repeat(starts, nbytes)
    chunk = (v[owner] >> (7 * byte_no).astype(np.uint64)) & np.uint64(0x7F)
    more = (byte_no < nbytes[owner] - 1).astype(np.uint64) << np.uint64(7)
    return (chunk | more).astype(np.uint8), nbytes


def _field(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def _value(kind: str, value: Any) -> bytes:
    """One ``Value`` message."""
    if kind == "str":
        return _bytes_field(1, str(value).encode("utf-8"))
    if kind == "bool":
        return _field(7, 0) + _varint(int(bool(value)))
    if kind == "int" and float(value).is_integer() and abs(value) < 2**63:
        v = int(value)
        if v >= 0:
            return _field(5, 0) + _varint(v)  # uint_value
        return _field(6, 0) + _varint((v << 1) ^ (v >> 63))  # sint_value, zigzag
    return _field(3, 1) + struct.pack("<d", float(value))  # double_value


# --- geometry commands ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Paths:
    """Integer vertices of the paths of some features, in feature order.

    ``xy`` holds all vertices; path ``p`` owns ``count[p]`` of them and belongs to feature
    ``feature[p]`` (non-decreasing). Polygon rings come without their closing vertex.
    """

    xy: np.ndarray
    count: np.ndarray
    feature: np.ndarray


def _zigzag(d: np.ndarray) -> np.ndarray:
    return ((d << 1) ^ (d >> 63)).astype(np.uint64)


def _commands(paths: _Paths, kind: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """The command integers of every feature, concatenated, and the integer count per feature.

    Lines and rings: ``MoveTo(1) x y LineTo(n-1) ...`` (+ ``ClosePath`` for rings); points: one
    ``MoveTo(n)`` per feature with all its points. Parameters are deltas from the previous
    vertex of the same feature (from (0, 0) for its first), zigzag encoded.
    """
    count = paths.count.astype(np.int64)
    xy = paths.xy.astype(np.int64)
    vertex_path = np.repeat(np.arange(len(count)), count)
    vertex_feature = paths.feature[vertex_path]
    prev = np.zeros_like(xy)
    prev[1:] = xy[:-1]
    first_of_feature = np.ones(len(xy), dtype=bool)
    first_of_feature[1:] = vertex_feature[1:] != vertex_feature[:-1]
    prev[first_of_feature] = 0
    delta = _zigzag(xy - prev)
    path_start_vertex = np.cumsum(count) - count
    j = np.arange(len(xy)) - path_start_vertex[vertex_path]  # index within its path

    if kind == POINT:
        # one path per feature: merge the feature's points
        per_feature = np.bincount(paths.feature, weights=count, minlength=n_features).astype(np.int64)
        size = 1 + 2 * per_feature
        start = np.cumsum(size) - size
        out = np.empty(int(size.sum()), dtype=np.uint64)
        out[start] = ((per_feature.astype(np.uint64) << np.uint64(3)) | np.uint64(_MOVE_TO))
        fstart_vertex = np.cumsum(per_feature) - per_feature
        k = np.arange(len(xy)) - fstart_vertex[vertex_feature]
        pos = start[vertex_feature] + 1 + 2 * k
        out[pos] = delta[:, 0]
        out[pos + 1] = delta[:, 1]
        return out, size

    closed = kind == POLYGON
    size = 2 + 2 * count + (1 if closed else 0)
    start = np.cumsum(size) - size
    out = np.empty(int(size.sum()), dtype=np.uint64)
    out[start] = np.uint64((1 << 3) | _MOVE_TO)
    out[start + 3] = ((count - 1).astype(np.uint64) << np.uint64(3)) | np.uint64(_LINE_TO)
    if closed:
        out[start + size - 1] = np.uint64((1 << 3) | _CLOSE_PATH)
    pos = start[vertex_path] + 1 + 2 * j + (j > 0)
    out[pos] = delta[:, 0]
    out[pos + 1] = delta[:, 1]
    per_feature = np.bincount(paths.feature, weights=size, minlength=n_features).astype(np.int64)
    return out, per_feature


def _drop_repeats(xy: np.ndarray, count: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices equal to the previous vertex of the same path."""
    path = np.repeat(np.arange(len(count)), count)
    keep = np.ones(len(xy), dtype=bool)
    same = (xy[1:] == xy[:-1]).all(axis=1) & (path[1:] == path[:-1])
    keep[1:] = ~same
    return xy[keep], np.bincount(path[keep], minlength=len(count)).astype(np.int64)


def _line_paths(geoms: np.ndarray) -> _Paths:
    parts, owner = shapely.get_parts(geoms, return_index=True)
    ok = shapely.get_type_id(parts) == shapely.GeometryType.LINESTRING
    parts, owner = parts[ok], owner[ok]
    xy = shapely.get_coordinates(parts).round().astype(np.int64)
    xy, count = _drop_repeats(xy, shapely.get_num_coordinates(parts))
    valid = count >= 2
    path = np.repeat(np.arange(len(count)), count)
    keep_v = valid[path]
    return _Paths(xy=xy[keep_v], count=count[valid], feature=owner[valid])


def _polygon_paths(geoms: np.ndarray) -> _Paths:
    parts, owner = shapely.get_parts(geoms, return_index=True)
    ok = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts = shapely.orient_polygons(parts[ok], exterior_cw=False)
    owner = owner[ok]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy_all = shapely.get_coordinates(rings).round().astype(np.int64)
    n = shapely.get_num_coordinates(rings).astype(np.int64)
    ring = np.repeat(np.arange(len(n)), n)
    last = np.cumsum(n) - 1
    keep = np.ones(len(xy_all), dtype=bool)
    keep[last] = False  # the closing vertex: ClosePath draws it
    xy, count = _drop_repeats(xy_all[keep], np.bincount(ring[keep], minlength=len(n)).astype(np.int64))
    valid = count >= 3
    # a polygon whose exterior collapsed is dropped with its holes
    is_exterior = np.ones(len(n), dtype=bool)
    is_exterior[1:] = ring_part[1:] != ring_part[:-1]
    bad_part = np.zeros(len(parts), dtype=bool)
    bad_part[ring_part[is_exterior & ~valid]] = True
    valid &= ~bad_part[ring_part]
    path = np.repeat(np.arange(len(count)), count)
    return _Paths(xy=xy[valid[path]], count=count[valid], feature=owner[ring_part[valid]])


def _point_paths(geoms: np.ndarray) -> _Paths:
    parts, owner = shapely.get_parts(geoms, return_index=True)
    ok = (shapely.get_type_id(parts) == shapely.GeometryType.POINT) & ~shapely.is_empty(parts)
    parts, owner = parts[ok], owner[ok]
    xy = shapely.get_coordinates(parts).round().astype(np.int64)
    inside = ((xy >= -BUFFER) & (xy <= EXTENT + BUFFER)).all(axis=1)
    return _Paths(xy=xy[inside], count=np.ones(int(inside.sum()), dtype=np.int64), feature=owner[inside])


_Chunk = tuple[int, np.ndarray, np.ndarray, np.ndarray]


def _encode_geometries(shapes: np.ndarray, family: np.ndarray) -> list[_Chunk]:
    """Command integers of geometries in tile coordinates, by MVT geometry type.

    Returns one ``(kind, kept, ints, per_feature)`` per type present: the positions in ``shapes``
    of the geometries that still draw something, their command integers concatenated, and the
    number of integers of each. ``family`` is the MVT type of each input (a clipped polygon may
    have become a collection; its polygon parts are kept).
    """
    chunks: list[_Chunk] = []
    for kind, build in ((POINT, _point_paths), (LINESTRING, _line_paths), (POLYGON, _polygon_paths)):
        sel = np.flatnonzero(family == kind)
        if len(sel) == 0:
            continue
        paths = build(shapes[sel])
        if len(paths.count) == 0:
            continue
        present = np.unique(paths.feature)
        remap = np.full(len(sel), -1, dtype=np.int64)
        remap[present] = np.arange(len(present))
        paths = _Paths(xy=paths.xy, count=paths.count, feature=remap[paths.feature])
        ints, per_feature = _commands(paths, kind, len(present))
        chunks.append((kind, sel[present], ints, per_feature))
    return chunks


def geometry_commands(shapes: np.ndarray) -> list[tuple[int, list[int]]]:
    """The MVT type and command integers of each geometry, given in tile coordinates.

    Geometries that draw nothing (empty, collapsed) are left out; the others keep their order.
    Polygons are oriented as MVT requires (exterior rings positive area in tile coordinates).
    """
    shapes = np.asarray(shapes, dtype=object)
    found: dict[int, tuple[int, list[int]]] = {}
    for kind, kept, ints, per_feature in _encode_geometries(shapes, _family(shapely.get_type_id(shapes))):
        ends = np.cumsum(per_feature)
        for i, pos in enumerate(kept.tolist()):
            found[pos] = (kind, [int(v) for v in ints[ends[i] - per_feature[i] : ends[i]]])
    return [found[i] for i in sorted(found)]


# --- tiles ----------------------------------------------------------------------------------------


def _to_tile(geoms: np.ndarray, bounds: tuple[float, float, float, float], extent: int) -> np.ndarray:
    minx, _, maxx, maxy = bounds
    scale = extent / (maxx - minx)
    return shapely.transform(
        geoms, lambda xy: np.column_stack([(xy[:, 0] - minx) * scale, (maxy - xy[:, 1]) * scale])
    )


def _family(types: np.ndarray) -> np.ndarray:
    """MVT geometry type of each shapely type id (0 for others)."""
    out = np.zeros(len(types), dtype=np.int64)
    out[np.isin(types, [0, 4])] = POINT
    out[np.isin(types, [1, 2, 5])] = LINESTRING
    out[np.isin(types, [3, 6])] = POLYGON
    return out


def _tags(
    columns: Sequence[tuple[str, str, np.ndarray]], rows: np.ndarray
) -> tuple[list[bytes], list[bytes], np.ndarray, np.ndarray]:
    """Keys, encoded values, and the flat (key, value) tag integers with a count per feature."""
    keys: list[bytes] = []
    values: list[bytes] = []
    key_idx: list[np.ndarray] = []
    val_idx: list[np.ndarray] = []
    for name, kind, arr in columns:
        v = arr[rows]
        if kind in ("float", "int") and v.dtype.kind == "f":
            valid = np.isfinite(v)
        else:
            valid = pd.notna(v)
            valid = np.asarray(valid, dtype=bool)
        if not valid.any():
            continue
        codes, uniques = pd.factorize(pd.Series(v[valid]), sort=False)
        k = len(keys)
        keys.append(_bytes_field(3, name.encode("utf-8")))
        offset = len(values)
        values.extend(_bytes_field(4, _value(kind, u)) for u in uniques)
        kcol = np.full(len(rows), -1, dtype=np.int64)
        vcol = np.full(len(rows), -1, dtype=np.int64)
        kcol[valid] = k
        vcol[valid] = offset + codes
        key_idx.append(kcol)
        val_idx.append(vcol)
    if not key_idx:
        return keys, values, np.empty(0, dtype=np.uint64), np.zeros(len(rows), dtype=np.int64)
    K = np.column_stack(key_idx)
    V = np.column_stack(val_idx)
    mask = K >= 0
    pairs = np.stack([K, V], axis=2)[mask]  # row-major: grouped by feature
    return keys, values, pairs.reshape(-1).astype(np.uint64), mask.sum(axis=1).astype(np.int64)


def render_tile(
    source: TileSource, z: int, x: int, y: int, *, extent: int = EXTENT, buffer: int = BUFFER
) -> bytes:
    """Encode tile z/x/y of ``source`` (one layer); ``b""`` when no feature is in it.

    Parameters
    ----------
    source
        A prepared collection (:func:`tile_source`).
    z, x, y
        XYZ tile (checked with :func:`tile_in_range` by the caller).
    extent
        Tile extent in tile units (4096).
    buffer
        Tile units drawn beyond each edge, so that lines and polygon edges meet across tiles.
    """
    if z < source.minzoom or len(source.geometry) == 0:
        return b""
    bounds = tile_bounds(z, x, y)
    pad = (bounds[2] - bounds[0]) * buffer / extent
    minx, miny, maxx, maxy = bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad
    rows = np.sort(source.tree.query(shapely.box(minx, miny, maxx, maxy)))
    if len(rows) == 0:
        return b""
    geoms = source.geometry[rows]
    family = _family(shapely.get_type_id(geoms))
    shapes = _to_tile(shapely.clip_by_rect(geoms, minx, miny, maxx, maxy), bounds, extent)
    shaped = family > POINT
    if shaped.any():
        simple = shapely.simplify(shapes[shaped], SIMPLIFY_UNITS, preserve_topology=True)
        shapes[shaped] = shapely.set_precision(simple, 1.0)

    chunks = _encode_geometries(shapes, family)
    if not chunks:
        return b""
    all_rows = np.concatenate([rows[c[1]] for c in chunks])
    keys, values, tag_ints, tag_counts = _tags(source.columns_at(z), all_rows)
    tag_bytes, tag_nbytes = _varints(tag_ints)
    tag_feature_bytes = np.bincount(
        np.repeat(np.arange(len(all_rows)), 2 * tag_counts), weights=tag_nbytes, minlength=len(all_rows)
    ).astype(np.int64)
    tag_end = np.cumsum(tag_feature_bytes)
    tag_blob = tag_bytes.tobytes()

    feature_bytes: list[bytes] = []
    f = 0
    for kind, kept, ints, per_feature in chunks:
        feat_rows = rows[kept]
        geom_bytes, geom_nbytes = _varints(ints)
        owner = np.repeat(np.arange(len(per_feature)), per_feature)
        feat_geom_bytes = np.bincount(owner, weights=geom_nbytes, minlength=len(per_feature)).astype(np.int64)
        geom_end = np.cumsum(feat_geom_bytes)
        blob = geom_bytes.tobytes()
        type_field = _field(3, 0) + _varint(kind)
        for i, row in enumerate(feat_rows.tolist()):
            g = blob[geom_end[i] - feat_geom_bytes[i] : geom_end[i]]
            t = tag_blob[tag_end[f] - tag_feature_bytes[f] : tag_end[f]]
            body = _field(1, 0) + _varint(int(row))
            if t:
                body += _bytes_field(2, t)
            body += type_field + _bytes_field(4, g)
            feature_bytes.append(_bytes_field(2, body))
            f += 1

    layer = b"".join(
        [
            _field(15, 0) + _varint(2),
            _bytes_field(1, source.name.encode("utf-8")),
            *feature_bytes,
            *keys,
            *values,
            _field(5, 0) + _varint(extent),
        ]
    )
    return _bytes_field(3, layer)


# --- TileJSON and cache ---------------------------------------------------------------------------


def tilejson(source: TileSource, *, tiles_url: str, maxzoom: int = 22) -> dict[str, Any]:
    """TileJSON 3.0.0 of one layer (``tiles_url`` has ``{z}/{x}/{y}`` placeholders)."""
    bounds = list(source.bounds) if source.bounds else [-180.0, -85.05112878, 180.0, 85.05112878]
    center_zoom = max(source.minzoom, min(14, maxzoom))
    return {
        "tilejson": "3.0.0",
        "name": source.name,
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": source.minzoom,
        "maxzoom": maxzoom,
        "bounds": bounds,
        "center": [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, center_zoom],
        "vector_layers": [
            {"id": source.name, "fields": source.fields(), "minzoom": source.minzoom, "maxzoom": maxzoom}
        ],
    }


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile holding a WGS84 point at zoom ``z``."""
    n = 1 << z
    lat_r = math.radians(max(min(lat, 85.05112878), -85.05112878))
    x = int((lon + 180.0) / 360.0 * n)
    y = int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)


TileKey = tuple[str, int, int, int, int, int]


class TileCache:
    """An LRU of encoded tiles, bounded in entries and bytes (thread-safe).

    Keys are ``(layer, z, x, y, workspace version, source serial)``: bumping the workspace
    version (a live update) or replacing a collection makes old tiles unreachable; they age out.
    """

    def __init__(self, max_entries: int = 20_000, max_bytes: int = 128 * 2**20) -> None:
        self._items: OrderedDict[TileKey, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0

    def get(self, key: TileKey) -> bytes | None:
        """The cached tile, or None."""
        with self._lock:
            tile = self._items.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key: TileKey, tile: bytes) -> None:
        """Store a tile, evicting the least recently used ones beyond the bounds."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old)
            self._items[key] = tile
            self._bytes += len(tile)
            while self._items and (len(self._items) > self.max_entries or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def size_bytes(self) -> int:
        """Bytes of the cached tiles."""
        return self._bytes
