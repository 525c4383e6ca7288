"""The roads layer (graph-ready edges) and the barriers that sit on them.

A drivable OSM way is cut into edges at every node it shares with another way (or with itself),
at its ends, at the ends of parts cut by the extract boundary, and at every barrier node, so that
each barrier is a node of the graph and each edge has uniform attributes. ``oneway=-1`` ways are
reversed so that ``oneway`` always means "legal only from u to v".
"""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.osm import ROAD_TAG_KEYS, OsmData
from geo.units import parse_float, parse_length_m

log = logging.getLogger(__name__)

#: Carriageway width estimate (m) by highway class when neither ``width`` nor ``maxwidth`` nor
#: ``lanes`` is tagged. Typical urban cross-sections; flagged ``width_source='estimated'``.
ESTIMATED_WIDTH_M: dict[str, float] = {
    "motorway": 7.5, "trunk": 7.5, "primary": 7.0, "secondary": 7.0, "tertiary": 6.5,
    "unclassified": 5.5, "residential": 5.5, "living_street": 4.5, "service": 4.0,
    "road": 5.0, "busway": 3.5, "track": 3.0, "pedestrian": 4.0, "footway": 2.5,
    "path": 2.0, "cycleway": 2.5,
}
#: Service sub-types with their own typical width.
ESTIMATED_SERVICE_WIDTH_M: dict[str, float] = {
    "driveway": 3.5, "parking_aisle": 5.0, "alley": 3.0, "emergency_access": 4.0,
    "drive-through": 3.5,
}
#: Width of one lane (m) when only ``lanes`` is tagged.
LANE_WIDTH_M = 3.25

_YES = frozenset({"yes", "true", "1"})
_REVERSE = frozenset({"-1", "reverse"})
_IMPLIED_ONEWAY = frozenset({"motorway"})


def estimate_width_m(highway: str, service: str, lanes: float) -> float:
    """Estimate carriageway width from highway class, service type and lane count."""
    if not math.isnan(lanes) and lanes > 0:
        return lanes * LANE_WIDTH_M
    if highway == "service" and service in ESTIMATED_SERVICE_WIDTH_M:
        return ESTIMATED_SERVICE_WIDTH_M[service]
    base = highway.removesuffix("_link")
    return ESTIMATED_WIDTH_M.get(base, 4.0)


def _oneway(tags: dict[str, str]) -> tuple[bool, bool]:
    """Return (oneway, reverse) for a way's tags."""
    value = tags.get("oneway", "").lower()
    if value in _REVERSE:
        return True, True
    if value in _YES:
        return True, False
    if value in {"no", "false", "0", "reversible", "alternating"}:
        return False, False
    if tags.get("junction") in {"roundabout", "circular"}:
        return True, False
    return tags.get("highway") in _IMPLIED_ONEWAY, False


def _access(tags: dict[str, str]) -> str:
    for key in ("motor_vehicle", "vehicle", "access"):
        if key in tags:
            return tags[key]
    return ""


def _width(tags: dict[str, str], highway: str, service: str, lanes: float) -> tuple[float, str]:
    for key in ("width", "maxwidth", "maxwidth:physical"):
        width = parse_length_m(tags.get(key))
        if not math.isnan(width) and width > 0:
            return width, "maxwidth" if key.startswith("maxwidth") else "width"
    return estimate_width_m(highway, service, lanes), "estimated"


def _maxheight(tags: dict[str, str]) -> float:
    values = [parse_length_m(tags.get(k)) for k in ("maxheight", "maxheight:physical")]
    finite = [v for v in values if not math.isnan(v) and v > 0]
    return min(finite) if finite else math.nan


_ROAD_COLUMNS = (
    "way_id", "highway", "name", "oneway", "lanes", "width_m", "width_source",
    "maxheight_m", "access", "service", "surface", "bridge", "tunnel", "emergency", "motorroad",
)


def _way_row(way_id: int, tags: dict[str, str]) -> tuple[tuple[object, ...], bool]:
    """The attributes of one way (in :data:`_ROAD_COLUMNS` order) and whether it runs reversed."""
    highway = tags.get("highway", "")
    service = tags.get("service", "")
    lanes = parse_float(tags.get("lanes"))
    width, width_source = _width(tags, highway, service, lanes)
    oneway, reverse = _oneway(tags)
    row = (
        int(way_id), highway, tags.get("name", tags.get("name:zh", "")), oneway, lanes, width,
        width_source, _maxheight(tags), _access(tags), service, tags.get("surface", ""),
        tags.get("bridge", "no") not in {"no", ""}, tags.get("tunnel", "no") not in {"no", ""},
        tags.get("emergency", ""), tags.get("motorroad", "").lower() in _YES,
    )
    return row, reverse


def _cut_ways(
    ids: np.ndarray, xy: np.ndarray, sizes: np.ndarray, barrier_nodes: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut the ways (their node ids and coordinates end to end, ``sizes`` nodes each, each way
    already in its legal direction) into edges: ``(way row, u, v, geometry)``.

    A way is cut at its ends, at every node used more than once anywhere (shared by ways, or a
    way crossing itself) and at every barrier node; edges keep way order, then order along it.
    """
    if not len(sizes) or not sizes.sum():
        empty = np.empty(0, dtype=np.int64)
        return empty, empty, empty, np.empty(0, dtype=object)
    way_of = np.repeat(np.arange(len(sizes)), sizes)
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    cut = (counts[inverse] > 1) | np.isin(ids, barrier_nodes)
    first = np.cumsum(sizes) - sizes
    used = sizes > 0
    cut[first[used]] = True
    cut[(first + sizes - 1)[used]] = True
    at = np.flatnonzero(cut)
    same_way = way_of[at[:-1]] == way_of[at[1:]]
    start, end = at[:-1][same_way], at[1:][same_way]
    lens = end - start + 1
    offsets = np.cumsum(lens) - lens
    points = np.repeat(start - offsets, lens) + np.arange(int(lens.sum()))
    geoms = shapely.linestrings(xy[points], indices=np.repeat(np.arange(len(start)), lens))
    return way_of[start], ids[start], ids[end], np.asarray(geoms, dtype=object)


def _way_attributes(tags: pd.Series) -> tuple[pd.DataFrame, np.ndarray]:
    """The attribute rows of the ways (:data:`_ROAD_COLUMNS` but ``way_id``) and whether each
    runs reversed (``oneway=-1``).

    :func:`_way_row` runs once per distinct combination of the tags it reads (a city's ways
    share a few thousand), the name is taken per way.
    """
    frame = pd.DataFrame.from_records(list(tags), columns=list(ROAD_TAG_KEYS), nrows=len(tags))
    keys = [k for k in ROAD_TAG_KEYS if k not in ("name", "name:zh")]
    if len(frame):
        group = frame.groupby(keys, dropna=False, sort=False).ngroup().to_numpy()
        _, first = np.unique(group, return_index=True)
    else:
        group, first = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    distinct = [
        _way_row(0, {str(k): v for k, v in row.items() if isinstance(v, str)})
        for row in frame.iloc[first][keys].to_dict("records")
    ]
    columns = list(_ROAD_COLUMNS[1:])
    rows = pd.DataFrame([row[1:] for row, _ in distinct], columns=columns)
    reverse = np.fromiter((rev for _, rev in distinct), dtype=bool, count=len(distinct))
    out = rows.iloc[group].reset_index(drop=True)
    name = frame["name"].to_numpy(dtype=object)
    zh = frame["name:zh"].to_numpy(dtype=object)
    out["name"] = np.where(pd.isna(name), np.where(pd.isna(zh), "", zh), name)
    return out, reverse[group]


def _flat_nodes(osm: OsmData, reverse: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ways' node ids and coordinates end to end (reversed ways backwards) and their sizes."""
    sizes = osm.ways["n_nodes"].to_numpy(dtype=np.int64)
    total = int(sizes.sum())
    ids, lon, lat = osm.way_nodes, osm.way_lonlat[:, 0], osm.way_lonlat[:, 1]
    first = np.cumsum(sizes) - sizes
    owner = np.repeat(np.arange(len(sizes)), sizes)
    at = np.arange(total)
    back = reverse[owner]
    at[back] = 2 * first[owner[back]] + sizes[owner[back]] - 1 - at[back]
    return ids[at], np.column_stack([lon[at], lat[at]]), sizes


def build_roads(
    osm: OsmData, *, crs: pyproj.CRS
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Build the roads (edges) and barriers layers from raw OSM data.

    Parameters
    ----------
    osm
        Raw features from :func:`geo.osm.read_osm`.
    crs
        The projected working CRS (metres).

    Returns
    -------
    roads, barriers, turnarounds
        GeoDataFrames following :data:`geo.schema.ROADS`, :data:`geo.schema.BARRIERS` and
        :data:`geo.schema.TURNAROUNDS` (``highway=turning_circle|turning_loop`` nodes on roads).
    """
    ways = osm.ways
    points = osm.points
    barrier_tags: dict[int, dict[str, str]] = {
        int(i): t
        for i, t in zip(points["osm_id"], points["tags"], strict=True)
        if "barrier" in t
    }
    # One attribute row per way, and per edge only its ends and the row of its way: a city has
    # a million edges, and a dict of attributes for each would cost gigabytes.
    per_way, reverse = _way_attributes(ways["tags"])
    per_way.insert(0, "way_id", ways["way_id"].to_numpy(dtype=np.int64))
    ids, xy, sizes = _flat_nodes(osm, reverse)
    barrier_nodes = np.fromiter(barrier_tags, dtype=np.int64, count=len(barrier_tags))
    edge_way, edge_u, edge_v, geoms = _cut_ways(ids, xy, sizes, barrier_nodes)
    frame = per_way.iloc[edge_way].reset_index(drop=True)
    frame.insert(0, "v", edge_v)
    frame.insert(0, "u", edge_u)
    roads = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:4326")).to_crs(crs)
    # Edges whose two ends are the same location (duplicate nodes) carry no length.
    roads["length_m"] = roads.geometry.length.to_numpy()
    degenerate = roads["length_m"] <= 0
    if degenerate.any():
        log.info("dropped %d zero-length road edges (duplicate node positions)", int(degenerate.sum()))
        roads = roads.loc[~degenerate]
    roads = roads.reset_index(drop=True)
    roads.insert(0, "edge_id", np.arange(len(roads), dtype=np.int64))
    roads = roads.astype({"u": "int64", "v": "int64", "way_id": "int64", "lanes": "float64"})

    barriers = _barriers(points, barrier_tags, roads, crs=crs)
    turnarounds = _turnarounds(points, roads, crs=crs)
    log.info(
        "roads: %d edges, %.1f km from %d way parts; %d barriers on roads",
        len(roads), roads["length_m"].sum() / 1000, len(ways), len(barriers),
    )
    return roads, barriers, turnarounds


def _turnarounds(points: pd.DataFrame, roads: gpd.GeoDataFrame, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """``highway=turning_circle|turning_loop`` nodes that are nodes of the roads graph."""
    nodes = np.union1d(roads["u"].to_numpy(np.int64), roads["v"].to_numpy(np.int64))
    kind = points["tags"].map(lambda t: t.get("highway", ""))
    keep = kind.isin(["turning_circle", "turning_loop"]) & points["osm_id"].isin(nodes)
    sel = points.loc[keep]
    frame = pd.DataFrame(
        {"node_id": sel["osm_id"].astype("int64").to_numpy(), "kind": kind[keep].to_numpy()},
        columns=["node_id", "kind"],
    ).astype({"node_id": "int64"})
    geoms = gpd.GeoSeries(sel["geometry"].to_numpy(), crs="EPSG:4326").to_crs(crs)
    return gpd.GeoDataFrame(frame, geometry=geoms.to_numpy(), crs=crs)


def _barriers(
    points: pd.DataFrame,
    barrier_tags: dict[int, dict[str, str]],
    roads: gpd.GeoDataFrame,
    *,
    crs: pyproj.CRS,
) -> gpd.GeoDataFrame:
    """Barrier nodes that are nodes of the roads graph, with the road they sit on."""
    # The first edge (u before v) that has the barrier node at an end gives its road.
    ends = np.column_stack([roads["u"].to_numpy(np.int64), roads["v"].to_numpy(np.int64)]).ravel()
    on_road = np.flatnonzero(np.isin(ends, np.fromiter(barrier_tags, np.int64, len(barrier_tags))))
    nodes, first = np.unique(ends[on_road], return_index=True)
    edge = on_road[first] // 2
    node_way: dict[int, tuple[int, str]] = dict(zip(
        nodes.tolist(),
        zip(roads["way_id"].to_numpy(np.int64)[edge].tolist(),
            roads["name"].astype(str).to_numpy(object)[edge].tolist(), strict=True),
        strict=True,
    ))
    keep = points["osm_id"].isin(list(node_way)) & points["tags"].map(lambda t: "barrier" in t)
    sel = points.loc[keep]
    records = []
    for osm_id, tags in zip(sel["osm_id"], sel["tags"], strict=True):
        locked = tags.get("locked", "").lower()
        way_id, road_name = node_way[int(osm_id)]
        records.append(
            {
                "node_id": int(osm_id),
                "barrier": tags["barrier"],
                "locked": "yes" if locked in _YES else "no" if locked in {"no", "false", "0"}
                else "unknown",
                "access": _access(tags),
                "way_id": way_id,
                "road_name": road_name,
            }
        )
    frame = pd.DataFrame(
        records, columns=["node_id", "barrier", "locked", "access", "way_id", "road_name"]
    ).astype({"node_id": "int64", "way_id": "int64"})
    geoms = gpd.GeoSeries(sel["geometry"].to_numpy(), crs="EPSG:4326").to_crs(crs)
    return gpd.GeoDataFrame(frame, geometry=geoms.to_numpy(), crs=crs)
