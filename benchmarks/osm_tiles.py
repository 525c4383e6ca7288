"""City-size OSM files made from a real extract by tiling, for end-to-end benchmarks.

:mod:`benchmarks.tiles` tiles an extract's *layers* in memory; a user starts from an OSM *file*.
:func:`write_tiled_osm` writes an ``n × n`` tiling of a real extract as ``.osm.pbf``: every node
and way of the extract copied once per tile (ids offset by ``tile * 10**12``, coordinates shifted by
the extract's extent plus a 50 m gap), neighbouring tiles stitched by ``highway=tertiary`` ways from
the ``k`` street nodes nearest each tile's east (north) edge to the nearest street node of the next
tile, so the result is one connected city. Relations (multipolygon buildings, stations
mapped as areas, routes) are copied with their members' ids offset the same way.

Options match the cases of issue 11: ``buildings=False`` leaves buildings and building parts (ways,
relations, and the nodes only they use) out, except those that are also something else (a fire
station mapped as a building stays); ``extra_hydrants`` adds that many ``emergency=fire_hydrant``
nodes per tile near streets (length-weighted, a few metres off the centre line, seeded per tile),
because real extracts map few hydrants. All nodes are written before all ways, ids ascending,
as readers expect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import osmium
from scipy.spatial import cKDTree

from geo.osm import is_drivable

_ID_STRIDE = 10**12
_GAP_M = 50.0
_M_PER_DEG_LAT = 110_574.0


@dataclass(frozen=True)
class _Extract:
    """One extract in memory: nodes (id, lon, lat, tags) and ways (id, refs, tags)."""

    node_ids: np.ndarray
    lonlat: np.ndarray
    node_tags: list[dict[str, str]]
    way_ids: np.ndarray
    way_refs: list[list[int]]
    way_tags: list[dict[str, str]]
    relations: list[tuple[int, list[tuple[str, int, str]], dict[str, str]]]


@dataclass(frozen=True)
class TiledOsm:
    """What :func:`write_tiled_osm` wrote."""

    path: Path
    tiles_per_side: int
    nodes: int
    ways: int
    street_ways: int
    hydrants: int
    buildings: int
    stations: int


def _is_building(tags: dict[str, str]) -> bool:
    """A building or building part that is nothing else (fire stations mapped as buildings stay)."""
    return ("building" in tags or "building:part" in tags) and tags.get("amenity") != "fire_station"


def _read(path: Path, *, buildings: bool) -> _Extract:
    ids, lonlat, ntags = [], [], []
    wids, wrefs, wtags = [], [], []
    rels = []
    for o in osmium.FileProcessor(str(path)):
        if o.is_relation():
            tags = dict(o.tags)
            if buildings or not _is_building(tags):
                rels.append((o.id, [(m.type, m.ref, m.role) for m in o.members], tags))
            continue
        if o.is_node():
            ids.append(o.id)
            lonlat.append((o.location.lon, o.location.lat))
            ntags.append(dict(o.tags))
        elif o.is_way():
            tags = dict(o.tags)
            if not buildings and _is_building(tags):
                continue
            wids.append(o.id)
            wrefs.append([n.ref for n in o.nodes])
            wtags.append(tags)
    node_ids = np.asarray(ids, dtype=np.int64)
    keep = np.ones(len(node_ids), dtype=bool)
    if not buildings:  # drop the nodes no kept way uses, unless tagged (hydrants, stations …)
        used = np.unique(np.fromiter((r for refs in wrefs for r in refs), dtype=np.int64))
        keep = np.isin(node_ids, used) | np.array([bool(t) for t in ntags])
    order = np.argsort(node_ids[keep], kind="stable")
    kept = np.flatnonzero(keep)[order]
    worder = np.argsort(np.asarray(wids, dtype=np.int64), kind="stable")
    return _Extract(
        node_ids=node_ids[kept],
        lonlat=np.asarray(lonlat, dtype=float).reshape(-1, 2)[kept],
        node_tags=[ntags[i] for i in kept],
        way_ids=np.asarray(wids, dtype=np.int64)[worder],
        way_refs=[wrefs[i] for i in worder],
        way_tags=[wtags[i] for i in worder],
        relations=sorted(rels, key=lambda r: r[0]),
    )


def _street_segments(ex: _Extract, to_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Street node ids and the start/end metre coordinates of every street segment."""
    index = {int(i): k for k, i in enumerate(ex.node_ids)}
    street_nodes: set[int] = set()
    a, b = [], []
    for refs, tags in zip(ex.way_refs, ex.way_tags, strict=True):
        if not is_drivable(tags):
            continue
        pos = [index[r] for r in refs if r in index]
        street_nodes.update(pos)
        a.extend(pos[:-1])
        b.extend(pos[1:])
    return np.fromiter(sorted(street_nodes), dtype=np.int64), to_xy[a], to_xy[b]


def write_tiled_osm(
    source: Path,
    out: Path,
    n: int,
    *,
    buildings: bool = True,
    extra_hydrants: int = 0,
    stitch_k: int = 8,
    seed: int = 0,
) -> TiledOsm:
    """Write an ``n × n`` tiling of the OSM file ``source`` to ``out`` (``.osm.pbf``).

    Parameters
    ----------
    source
        A real extract (any format pyosmium reads).
    out
        The file to write; an existing file is replaced.
    n
        Tiles per side.
    buildings
        Copy building ways (False: leave them and the nodes only they use out).
    extra_hydrants
        Hydrant nodes added per tile near streets, on top of the extract's own.
    stitch_k
        Connector ways per tile side.
    seed
        Seed of the added hydrants' positions.

    Returns
    -------
    TiledOsm
        Counts of what was written.
    """
    ex = _read(source, buildings=buildings)
    lat0 = float(np.nanmean(ex.lonlat[:, 1]))
    m_per_deg_lon = _M_PER_DEG_LAT * math.cos(math.radians(lat0))
    scale = np.array([m_per_deg_lon, _M_PER_DEG_LAT])
    xy = ex.lonlat * scale
    street, seg_a, seg_b = _street_segments(ex, xy)
    lo, hi = xy[street].min(axis=0), xy[street].max(axis=0)
    step = (hi - lo) + _GAP_M  # metres between tiles
    seg_len = np.hypot(*(seg_b - seg_a).T)

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    tiles = [(i, j) for i in range(n) for j in range(n)]
    max_id = int(max(ex.node_ids.max(), ex.way_ids.max()))
    hydrant_base = max_id + 1
    if hydrant_base + extra_hydrants + 4 * stitch_k >= _ID_STRIDE:
        raise ValueError(f"{source}: ids reach {max_id}, too close to the tile stride {_ID_STRIDE}")
    rng = np.random.default_rng(seed)
    writer = osmium.SimpleWriter(str(out))
    counts = {"nodes": 0, "ways": 0, "hydrants": 0}
    try:
        for t, (i, j) in enumerate(tiles):
            shift = np.array([i, j]) * step / scale  # degrees
            off = t * _ID_STRIDE
            for nid, (lon, lat), tags in zip(ex.node_ids, ex.lonlat + shift, ex.node_tags, strict=True):
                writer.add_node(osmium.osm.mutable.Node(id=int(nid) + off, location=(lon, lat), tags=tags))
            counts["nodes"] += len(ex.node_ids)
            if extra_hydrants and len(seg_len):
                pick = rng.choice(len(seg_len), size=extra_hydrants, p=seg_len / seg_len.sum())
                frac = rng.random((extra_hydrants, 1))
                jitter = rng.uniform(-6, 6, (extra_hydrants, 2))
                pts = seg_a[pick] + frac * (seg_b[pick] - seg_a[pick]) + jitter
                for k, (lon, lat) in enumerate(pts / scale + shift):
                    writer.add_node(osmium.osm.mutable.Node(
                        id=off + hydrant_base + k, location=(lon, lat),
                        tags={"emergency": "fire_hydrant", "fire_hydrant:type": "pillar"}))
                counts["hydrants"] += extra_hydrants
        stitch = _Stitch(ex, street, xy, step, n, stitch_k, hydrant_base + 10**9)
        for t, (i, j) in enumerate(tiles):
            off = t * _ID_STRIDE
            for wid, refs, tags in zip(ex.way_ids, ex.way_refs, ex.way_tags, strict=True):
                refs_t = [r + off for r in refs]
                writer.add_way(osmium.osm.mutable.Way(id=int(wid) + off, nodes=refs_t, tags=tags))
            counts["ways"] += len(ex.way_ids) + stitch.write(writer, i, j)
        for t, _ in enumerate(tiles):
            off = t * _ID_STRIDE
            for rid, members, tags in ex.relations:
                writer.add_relation(osmium.osm.mutable.Relation(
                    id=rid + off, members=[(k, ref + off, role) for k, ref, role in members], tags=tags))
    finally:
        writer.close()
    own = sum(1 for t in ex.node_tags if t.get("emergency") == "fire_hydrant")
    stations = sum(1 for t in [*ex.node_tags, *ex.way_tags, *(r[2] for r in ex.relations)]
                   if t.get("amenity") == "fire_station")
    return TiledOsm(
        path=out, tiles_per_side=n, nodes=counts["nodes"] + counts["hydrants"], ways=counts["ways"],
        street_ways=n * n * sum(is_drivable(t) for t in ex.way_tags) + 2 * n * (n - 1) * stitch_k,
        hydrants=n * n * own + counts["hydrants"],
        buildings=n * n * sum(_is_building(t) for t in ex.way_tags),
        stations=n * n * stations,
    )


class _Stitch:
    """Connector ways from a tile's ``k`` outermost street nodes to the next tile east / north."""

    def __init__(
        self, ex: _Extract, street: np.ndarray, xy: np.ndarray, step: np.ndarray, n: int, k: int,
        first_id: int,
    ) -> None:
        sxy = xy[street]
        self.ex, self.street, self.xy, self.step, self.n, self.first_id = ex, street, xy, step, n, first_id
        self.tree = cKDTree(sxy)
        self.east = street[np.argsort(-sxy[:, 0])[:k]]
        self.north = street[np.argsort(-sxy[:, 1])[:k]]

    def write(self, writer: osmium.SimpleWriter, i: int, j: int) -> int:
        """Write tile ``(i, j)``'s connectors (ids above its own ways'); how many."""
        n, t, written = self.n, i * self.n + j, 0
        for di, dj, side in ((1, 0, self.east), (0, 1, self.north)):
            if i + di >= n or j + dj >= n:
                continue
            t2 = (i + di) * n + (j + dj)
            for a in side:
                _, b = self.tree.query(self.xy[a] - np.array([di, dj]) * self.step)
                refs = [int(self.ex.node_ids[a]) + t * _ID_STRIDE,
                        int(self.ex.node_ids[self.street[b]]) + t2 * _ID_STRIDE]
                writer.add_way(osmium.osm.mutable.Way(
                    id=t * _ID_STRIDE + self.first_id + written, nodes=refs,
                    tags={"highway": "tertiary", "name": "connector"}))
                written += 1
        return written


def tiles_for_edges(n_edges_target: int, n_edges_tile: int) -> int:
    """Tiles per side so that the tiled file has about ``n_edges_target`` graph edges."""
    return max(1, round(math.sqrt(n_edges_target / max(n_edges_tile, 1))))
