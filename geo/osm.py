"""Reading OpenStreetMap files into raw feature tables.

pyosmium reads ``.osm``, ``.osm.gz``, ``.osm.bz2`` and ``.osm.pbf`` in one pass with node
locations and assembled areas. Unlike osmnx's XML loader it accepts extracts cut at a bounding
box: a way whose nodes are partly outside the file keeps its parts inside (each run of at least two
known nodes becomes one part) and the missing references are counted, never silently dropped.

The result, :class:`OsmData`, is still in WGS84 degrees and still raw (tags as dicts): the layer
modules (:mod:`geo.roads`, :mod:`geo.hydrants`, :mod:`geo.buildings` ...) turn it into validated
layers in the working CRS.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import tempfile
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import osmium
import pandas as pd
import shapely

from geo._process import start_child
from geo.errors import InputFileError

log = logging.getLogger(__name__)

#: Highway classes a fire truck can drive on (osmnx's ``drive`` set plus service roads of every
#: kind and ``road``). ``track`` is left out by default: add it for rural areas.
DRIVABLE_HIGHWAYS = frozenset(
    {
        "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
        "secondary", "secondary_link", "tertiary", "tertiary_link", "unclassified",
        "residential", "living_street", "service", "road", "busway",
    }
)

#: Non-road classes that still count when the way is tagged as a fire lane
#: (``emergency=yes|designated`` or ``service=emergency_access``): pedestrian zones and
#: paths in Chinese compounds are often the 消防车道.
FIRE_LANE_CAPABLE = frozenset({"pedestrian", "footway", "path", "cycleway", "track"})

_NOT_BUILT = frozenset({"construction", "proposed", "abandoned", "razed", "planned"})

#: Node tags worth keeping (key -> values, or None for any value).
_POINT_KEYS: dict[str, frozenset[str] | None] = {
    "barrier": None,
    "emergency": frozenset(
        {"fire_hydrant", "water_tank", "suction_point", "fire_water_pond", "fire_service_inlet"}
    ),
    "amenity": frozenset({"fire_station", "fire_hydrant"}),
    "entrance": None,
    "highway": frozenset({"turning_circle", "turning_loop"}),
    "disused:emergency": frozenset({"fire_hydrant"}),
}

#: Point tags also read from open ways (a hydrant or water source drawn as a line): the way's
#: midpoint stands for it. Barriers are not: a fence drawn as a way is not a point obstacle.
_WAY_POINT_KEYS: dict[str, frozenset[str] | None] = {
    "emergency": frozenset({"fire_hydrant", "water_tank", "suction_point", "fire_water_pond"}),
    "amenity": frozenset({"fire_hydrant"}),
    "disused:emergency": frozenset({"fire_hydrant"}),
}

#: Area tags worth keeping (``building:part`` for the heights of tall parts).
_AREA_KEYS: dict[str, frozenset[str] | None] = {
    "building": None,
    "building:part": None,
    "amenity": frozenset({"fire_station", "fire_hydrant"}),
    "emergency": frozenset({"water_tank", "fire_water_pond", "suction_point", "fire_hydrant"}),
    "boundary": frozenset({"administrative"}),
}


#: The tags of a drivable way the road layer reads (:func:`geo.roads.build_roads`, fire lanes).
#: Only these are copied out of pyosmium: a city road carries a dozen more (names in other
#: languages, lighting, sidewalks …) that cost memory and reading time and that nothing uses.
ROAD_TAG_KEYS: tuple[str, ...] = (
    "highway", "service", "name", "name:zh", "oneway", "junction", "lanes", "width", "maxwidth",
    "maxwidth:physical", "maxheight", "maxheight:physical", "access", "vehicle", "motor_vehicle",
    "surface", "bridge", "tunnel", "emergency", "motorroad", "area",
)

#: Tags as a dict or as pyosmium's tag list (both have ``get`` and ``in``).
TagLookup = Mapping[str, str] | osmium.osm.TagList


@dataclass(frozen=True)
class OsmData:
    """Raw OSM features from one file, in WGS84.

    Attributes
    ----------
    source
        The file path (or a description of an online download).
    ways
        Drivable ways, one row per *part* (a way cut by the extract boundary has several):
        ``way_id``, ``part``, ``tags`` (dict of the :data:`ROAD_TAG_KEYS` present),
        ``n_nodes`` (int), ``fire_lane`` (bool: tagged emergency access). The parts' nodes are
        in ``way_nodes`` and ``way_lonlat``, part after part in row order
        (:meth:`part_nodes`).
    way_nodes, way_lonlat
        Node ids (int64) and their (lon, lat) (float64, one row per node) of all way parts end
        to end: three numbers a node instead of a Python list, int and float objects each (a
        1M-edge city has 3.5 million of them).
    points
        Tagged nodes of interest: ``osm_type`` ('n'), ``osm_id``, ``tags``, ``geometry`` (Point);
        also open ways carrying a point tag (a hydrant or water source drawn as a line), as
        ``osm_type`` 'w' at the way's midpoint along its length. Closed ways come as areas.
    areas
        Assembled areas of interest (buildings, stations, water, districts): ``osm_type``
        ('w' or 'r'), ``osm_id``, ``tags``, ``geometry`` (MultiPolygon).
    way_nodes_missing
        Node references of drivable ways that point outside the file.
    ways_dropped
        Drivable ways with fewer than two nodes inside the file (nothing usable left).
    bounds
        (min lon, min lat, max lon, max lat) of what was read: drivable way parts, points and
        areas (not of nodes no feature uses).
    unusable
        Features of interest that cannot become part of a layer, with the reason: building ways
        with no complete footprint (cut by the extract boundary, or a ring that does not close)
        and buildings mapped as a single node.
    """

    source: str
    ways: pd.DataFrame
    points: pd.DataFrame
    areas: pd.DataFrame
    way_nodes_missing: int = 0
    ways_dropped: int = 0
    bounds: tuple[float, float, float, float] = field(default=(0.0, 0.0, 0.0, 0.0))
    unusable: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["layer", "feature_id", "name", "reason"])
    )
    way_nodes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    way_lonlat: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.float64))

    def part_nodes(self, row: int) -> np.ndarray:
        """The node ids of the way part in row ``row`` (position) of :attr:`ways`."""
        sizes = self.ways["n_nodes"].to_numpy(dtype=np.int64)
        start = int(sizes[:row].sum())
        return self.way_nodes[start : start + int(sizes[row])]


def is_drivable(tags: TagLookup) -> bool:
    """Whether a way with these tags belongs in the fire-truck road layer.

    Keeps ``access=private`` compound roads, ``service=emergency_access`` fire lanes and every
    other service road (osmnx's ``drive`` filter drops them); access is recorded, not filtered.
    """
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False
    if highway in _NOT_BUILT:
        return False
    if highway in DRIVABLE_HIGHWAYS:
        return True
    if highway in FIRE_LANE_CAPABLE:
        return is_fire_lane(tags)
    return False


def is_fire_lane(tags: TagLookup) -> bool:
    """Whether the way is tagged as an emergency-access lane (消防车道)."""
    return (
        tags.get("service") == "emergency_access"
        or tags.get("emergency") in {"yes", "designated"}
        or tags.get("motor_vehicle") == "emergency"
    )


def _keep(tags: TagLookup, keys: dict[str, frozenset[str] | None]) -> bool:
    for key, values in keys.items():
        value = tags.get(key)
        if value is not None and (values is None or value in values):
            return True
    return False


class _Collector:
    """What :func:`read_osm` keeps of each object the key filters let through.

    Tags are looked up on pyosmium's tag list (in C++) and copied only for what is kept, roads
    only their :data:`ROAD_TAG_KEYS`: most objects that pass the key filters (crossings,
    footways, shops …) are not kept. Area outlines are collected as WKB and parsed in one call.
    """

    def __init__(self) -> None:
        self.wkb = osmium.geom.WKBFactory()
        self.ways: list[dict[str, object]] = []
        #: the kept way parts' nodes end to end (node id, lon, lat), 8 bytes a number
        self.way_nodes = array("q")
        self.way_lon = array("d")
        self.way_lat = array("d")
        self.points: list[dict[str, object]] = []
        self.area_rows: list[tuple[str, int, dict[str, str]]] = []
        self.area_wkb: list[str] = []
        #: Closed building ways (id -> name): each should come back as an assembled area.
        self.building_ways: dict[int, str] = {}
        self.unusable: list[dict[str, object]] = []
        self.missing = 0
        self.dropped = 0

    @property
    def way_box(self) -> tuple[float, float, float, float]:
        """Extent of the drivable way parts kept (infinite when none)."""
        if not self.way_lon:
            return (float("inf"), float("inf"), float("-inf"), float("-inf"))
        lon, lat = np.frombuffer(self.way_lon), np.frombuffer(self.way_lat)
        return (float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max()))

    def kept(self, seen: int) -> str:
        """What has been kept of the ``seen`` objects so far, for a progress display."""
        return (
            f"{seen:,} objects: {len(self.ways):,} road parts, {len(self.points):,} points, "
            f"{len(self.area_rows):,} areas"
        )

    def node(self, obj: osmium.osm.Node) -> None:
        """A tagged node: a point feature, or a building without a footprint."""
        loc = obj.location
        if not loc.valid():
            return
        tags = obj.tags
        if "building" in tags:
            self._unusable(f"osm/n{obj.id}", tags.get("name") or "",
                           "building mapped as a single node: no footprint to analyse")
        if _keep(tags, _POINT_KEYS):
            self.points.append({"osm_type": "n", "osm_id": obj.id, "tags": dict(tags),
                                "lon": loc.lon, "lat": loc.lat})

    def way(self, obj: osmium.osm.Way) -> None:
        """A way: a building outline, a point drawn as a line, or a drivable road (split where cut)."""
        self.building_way(obj)
        self.road_way(obj)

    def building_way(self, obj: osmium.osm.Way) -> None:
        """A way as a building outline (nothing when it has no ``building`` tag)."""
        tags = obj.tags
        if "building" in tags:
            self._building_way(obj, tags)

    def road_way(self, obj: osmium.osm.Way) -> None:
        """A way as a point drawn as a line, or as a drivable road (split where cut)."""
        tags = obj.tags
        if _keep(tags, _WAY_POINT_KEYS) and not obj.is_closed():
            mid = _way_midpoint(obj)
            if mid is not None:
                self.points.append({"osm_type": "w", "osm_id": obj.id, "tags": dict(tags),
                                    "lon": mid[0], "lat": mid[1]})
        if not is_drivable(tags):
            return
        parts, n_missing = _way_parts(obj)
        self.missing += n_missing
        if not parts:
            self.dropped += 1
            return
        road_tags = {key: value for key in ROAD_TAG_KEYS if (value := tags.get(key)) is not None}
        fire_lane = is_fire_lane(road_tags)
        for k, (ids, lons, lats) in enumerate(parts):
            self.way_nodes.extend(ids)
            self.way_lon.extend(lons)
            self.way_lat.extend(lats)
            self.ways.append({"way_id": obj.id, "part": k, "tags": road_tags,
                              "n_nodes": len(ids), "fire_lane": fire_lane})

    def _building_way(self, obj: osmium.osm.Way, tags: osmium.osm.TagList) -> None:
        """Note a closed building way (its area must follow); an open one has no footprint."""
        name = tags.get("name") or ""
        if obj.is_closed():
            self.building_ways[obj.id] = name
        elif all(n.location.valid() for n in obj.nodes):
            self._unusable(f"osm/w{obj.id}", name,
                           "building way is not closed (its first and last nodes differ): no "
                           "footprint; close the outline in OSM")
        else:
            self._unusable(f"osm/w{obj.id}", name, _CUT_BUILDING)

    def _unusable(self, feature_id: str, name: str, reason: str) -> None:
        self.unusable.append(
            {"layer": "buildings", "feature_id": feature_id, "name": name, "reason": reason}
        )

    def area(self, obj: osmium.osm.Area) -> None:
        """An assembled area with a kept key (buildings, stations, water, districts)."""
        tags = obj.tags
        if not _keep(tags, _AREA_KEYS):
            return
        try:
            wkb = self.wkb.create_multipolygon(obj)
        except RuntimeError:
            return
        self.area_rows.append(("w" if obj.from_way() else "r", obj.orig_id(), dict(tags)))
        self.area_wkb.append(wkb)

    def area_frame(self) -> pd.DataFrame:
        """The assembled areas whose outline parses; closed building ways without one are noted."""
        geoms = shapely.from_wkb(np.asarray(self.area_wkb, dtype=object), on_invalid="ignore")
        ok = ~shapely.is_missing(geoms)
        frame = pd.DataFrame(
            [row for row, good in zip(self.area_rows, ok, strict=True) if good],
            columns=["osm_type", "osm_id", "tags"],
        )
        frame["geometry"] = geoms[ok]
        assembled = set(frame.loc[frame["osm_type"] == "w", "osm_id"].tolist())
        for way_id, name in self.building_ways.items():
            if way_id not in assembled:
                self._unusable(f"osm/w{way_id}", name, _CUT_BUILDING)
        return frame


_CUT_BUILDING = (
    "building way has no complete footprint: nodes outside the file (cut by the extract "
    "boundary; use a larger extract) or a ring that cannot be assembled"
)


#: Objects read between two progress reports of :func:`read_osm`.
PROGRESS_EVERY = 1 << 17


def read_osm(
    path: str | Path,
    *,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
) -> OsmData:
    """Read an OSM file (``.osm``, ``.osm.gz``, ``.osm.bz2``, ``.osm.pbf``).

    Parameters
    ----------
    path
        The file to read.
    progress
        Told what has been kept so far (``"1,310,720 objects: 420,118 road parts, …"``) every
        :data:`PROGRESS_EVERY` objects the key filters let through, and once at the end.
    workers
        Processes reading at once: with 2 or more, the tagged nodes and the assembled areas are
        read by a second process while this one reads the ways (each pass reads the file, the
        Python work per object is split in two). Default: 2 on a machine with 2 or more cores
        for a file of :data:`PARALLEL_MIN_BYTES` or more, else 1. The result is the same.

    Returns
    -------
    OsmData
        Drivable ways (split where the extract cut them), tagged points and assembled areas.

    Raises
    ------
    InputFileError
        If the file does not exist or pyosmium cannot parse it.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"OSM file {str(path)!r} not found; check the path given to --osm")
    name = path.name.lower()
    if not name.endswith((".osm", ".osm.gz", ".osm.bz2", ".pbf", ".osm.xml", ".xml")):
        raise InputFileError(
            f"OSM file {str(path)!r} has an unknown extension; use .osm, .osm.gz, .osm.bz2 or "
            ".osm.pbf"
        )
    tell = progress or (lambda _: None)
    found, seen = None, 0
    if _read_workers(path, workers) > 1:
        try:
            found, seen = _read_split(path, tell)
        except OSError as exc:  # no temporary folder, no process to start: read in one
            log.warning("reading %s in one process: %s", path.name, exc)
    if found is None:
        found, seen = _read_pass(path, ("node", "way", "area"), tell)
    area_frame = found.area_frame()
    tell(found.kept(seen))
    ways, points, unusable = found.ways, found.points, found.unusable
    missing, dropped = found.missing, found.dropped

    way_frame = pd.DataFrame(ways, columns=["way_id", "part", "tags", "n_nodes", "fire_lane"])
    point_frame = pd.DataFrame(points, columns=["osm_type", "osm_id", "tags", "lon", "lat"])
    point_frame["geometry"] = np.asarray(shapely.points(
        point_frame["lon"].to_numpy(float), point_frame["lat"].to_numpy(float)
    ), dtype=object)
    bounds = _extent(found.way_box, point_frame, area_frame)
    log.info(
        "read %s: %d drivable way parts, %d tagged points, %d areas; %d way-node references "
        "outside the file, %d ways with nothing inside",
        path.name, len(way_frame), len(point_frame), len(area_frame), missing, dropped,
    )
    if len(way_frame) == 0 and len(area_frame) == 0 and len(point_frame) == 0:
        raise InputFileError(
            f"OSM file {str(path)!r} has no roads, buildings or fire features; is it the right "
            "extract?"
        )
    return OsmData(
        source=str(path),
        ways=way_frame,
        points=point_frame,
        areas=area_frame,
        way_nodes_missing=missing,
        ways_dropped=dropped,
        bounds=(float(bounds[0]), float(bounds[1]), float(bounds[2]), float(bounds[3])),
        unusable=pd.DataFrame(unusable, columns=["layer", "feature_id", "name", "reason"]),
        way_nodes=np.frombuffer(found.way_nodes, dtype=np.int64).copy(),
        way_lonlat=np.column_stack([np.frombuffer(found.way_lon), np.frombuffer(found.way_lat)]),
    )


#: File size from which :func:`read_osm` reads with two processes by default: below it, starting
#: the second process costs more than it saves.
PARALLEL_MIN_BYTES = 48 << 20


def _read_workers(path: Path, workers: int | None) -> int:
    if workers is not None:
        return max(1, int(workers))
    if (os.cpu_count() or 1) < 2 or path.stat().st_size < PARALLEL_MIN_BYTES:
        return 1
    return 2


def _read_pass(
    path: Path, kinds: tuple[str, ...], tell: Callable[[str], None]
) -> tuple[_Collector, int]:
    """One libosmium read of ``path`` calling back for ``kinds`` (``node``, ``way``, ``area``);
    the collector and how many objects it was shown."""
    found = _Collector()
    handler = _handler(kinds)(found, tell)
    try:
        handler.apply_file(str(path), locations=True, filters=_filters(kinds))
    except RuntimeError as exc:  # pyosmium reports parse errors as RuntimeError
        raise InputFileError(
            f"cannot read OSM file {str(path)!r}: {exc}. Is it a complete OSM XML or PBF file?"
        ) from exc
    return found, handler.seen


def read_nodes_and_areas(path: str | Path) -> tuple[Any, ...]:
    """The second reader of :func:`_read_split` (run by :mod:`geo._osm_child`): what the
    collector kept of the tagged nodes, building ways and assembled areas, and how many objects
    it was shown."""
    found, seen = _read_pass(Path(path), ("node", "building", "area"), lambda _: None)
    return found.points, found.unusable, found.building_ways, found.area_rows, found.area_wkb, seen


def _read_split(path: Path, tell: Callable[[str], None]) -> tuple[_Collector, int]:
    """Roads here; tagged nodes, building ways and areas in a second Python process at the same
    time; merged in file order (nodes before ways), as one pass would have collected them.

    The second process is a plain ``python -m geo._osm_child`` (no multiprocessing: nothing of
    the caller's ``__main__`` is run again, and a threaded server is never forked). Should it
    fail while this pass succeeded, its part is read here instead, with a warning.
    """
    with tempfile.TemporaryDirectory(prefix="firereach-osm-") as tmp:
        out, errors = Path(tmp) / "nodes_areas.pickle", Path(tmp) / "stderr.txt"
        # its messages to a file, not a pipe: a full pipe would stall it while this pass runs
        with errors.open("wb") as err_file, start_child(
            "geo._osm_child", [str(path), str(out)], stdout=subprocess.DEVNULL, stderr=err_file,
        ) as child:
            try:
                found, seen = _read_pass(path, ("road",), tell)
            except BaseException:
                child.kill()
                raise
            child.wait()
        err = errors.read_bytes()
        if child.returncode == 0 and out.is_file():
            with out.open("rb") as f:
                there = pickle.load(f)
        else:
            log.warning(
                "the second OSM reader failed (exit %s: %s); reading nodes and areas here",
                child.returncode, err.decode(errors="replace").strip()[-500:],
            )
            there = read_nodes_and_areas(path)
    points, unusable, found.building_ways, found.area_rows, found.area_wkb, seen_there = there
    found.points = points + found.points
    found.unusable = unusable + found.unusable
    return found, seen + seen_there


#: What a reading pass calls back for: the libosmium callback and the collector's method.
_KINDS: dict[str, tuple[str, str]] = {
    "node": ("node", "node"),
    "way": ("way", "way"),
    "road": ("way", "road_way"),
    "building": ("way", "building_way"),
    "area": ("area", "area"),
}


class _Handler(osmium.SimpleHandler):
    """libosmium calls back for each object the filters let through (node locations stored,
    areas assembled in a second pass); a third cheaper than iterating a ``FileProcessor``.
    Subclasses made by :func:`_handler` have only the callbacks a pass needs: libosmium skips
    the Python call for the others (and the area assembly when there is no ``area``)."""

    def __init__(self, found: _Collector, tell: Callable[[str], None]) -> None:
        super().__init__()
        self.found, self.tell, self.seen = found, tell, 0

    def _tick(self) -> None:
        self.seen += 1
        if self.seen % PROGRESS_EVERY == 0:
            self.tell(self.found.kept(self.seen))


def _handler(kinds: tuple[str, ...]) -> type[_Handler]:
    """A :class:`_Handler` calling back for exactly ``kinds`` (keys of :data:`_KINDS`)."""
    methods: dict[str, Callable[[_Handler, Any], None]] = {}
    for kind in kinds:
        callback, method = _KINDS[kind]

        def call(self: _Handler, obj: Any, _method: str = method) -> None:
            self._tick()
            getattr(self.found, _method)(obj)

        methods[callback] = call
    return type(f"_Handler_{'_'.join(kinds)}", (_Handler,), methods)


def _filters(kinds: tuple[str, ...]) -> list[object]:
    """Only the objects a pass over ``kinds`` uses.

    The key filters run in libosmium before Python sees an object (node locations are stored for
    every node first), so untagged nodes, footways, rivers, land use … cost no Python time: on a
    city extract that is most of the file.
    """
    node_keys = osmium.filter.KeyFilter(*(_POINT_KEYS.keys() | {"building"}))
    node_keys.enable_for(osmium.osm.NODE)
    way_key_set: set[str] = set()
    if "way" in kinds or "road" in kinds:
        way_key_set |= _WAY_POINT_KEYS.keys() | {"highway"}
    if "way" in kinds or "building" in kinds:
        way_key_set.add("building")
    way_keys = osmium.filter.KeyFilter(*sorted(way_key_set))
    way_keys.enable_for(osmium.osm.WAY)
    area_keys = osmium.filter.KeyFilter(*_AREA_KEYS.keys())
    area_keys.enable_for(osmium.osm.AREA)
    return [node_keys, way_keys, area_keys]


def _extent(
    ways: tuple[float, float, float, float], points: pd.DataFrame, areas: pd.DataFrame
) -> tuple[float, float, float, float]:
    """Extent (lon/lat) of what was read: road parts, points and areas; zeros when nothing."""
    boxes = [ways] if np.isfinite(ways).all() else []
    if len(points):
        lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
        boxes.append((lon.min(), lat.min(), lon.max(), lat.max()))
    if len(areas):
        boxes.append(tuple(shapely.total_bounds(areas["geometry"].to_numpy())))
    if not boxes:
        return (0.0, 0.0, 0.0, 0.0)
    b = np.asarray(boxes, dtype=float)
    return (float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))


def _way_parts(way: osmium.osm.Way) -> tuple[list[tuple[list[int], list[float], list[float]]], int]:
    """Split a way into runs of nodes whose locations are in the file."""
    parts: list[tuple[list[int], list[float], list[float]]] = []
    ids: list[int] = []
    lons: list[float] = []
    lats: list[float] = []
    missing = 0
    for node in way.nodes:
        loc = node.location
        if loc.valid():
            ids.append(node.ref)
            lons.append(loc.lon)
            lats.append(loc.lat)
            continue
        missing += 1
        if len(ids) >= 2:
            parts.append((ids, lons, lats))
        ids, lons, lats = [], [], []
    if len(ids) >= 2:
        parts.append((ids, lons, lats))
    return parts, missing


def _way_midpoint(way: osmium.osm.Way) -> tuple[float, float] | None:
    """The point halfway along an open way (in degrees; its known nodes), None if < 1 node."""
    coords = [(n.location.lon, n.location.lat) for n in way.nodes if n.location.valid()]
    if not coords:
        return None
    if len(coords) == 1:
        return coords[0]
    mid = shapely.line_interpolate_point(shapely.LineString(coords), 0.5, normalized=True)
    return float(shapely.get_x(mid)), float(shapely.get_y(mid))
