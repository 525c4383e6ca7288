"""Hydrant coverage of the street network, exact per metre of street.

A point of a street is covered when a hose laid from an in-service hydrant reaches it within the
protection radius (GB 50974 7.2.5: 150 m). The default measures the **hose-lay distance**: the
hydrant's snap offset (hydrant to street) plus the distance along the undirected street network
from the hydrant's snapped position. The straight-line method is offered for comparison only.

Network method, exact by construction: let ``d`` be the multi-source shortest distance to every
node, where each hydrant on edge ``(u, v, L)`` at position ``t`` with offset ``o`` seeds ``u``
with ``o + t`` and ``v`` with ``o + L - t`` (one :func:`scipy.sparse.csgraph.dijkstra` run from a
virtual super-source, limited to the radius). Any hose path to a point ``x`` of edge ``e`` either
enters ``e`` through an end node or starts from a hydrant on ``e`` itself, so the distance to ``x``
is ``min(d_u + x, d_v + L - x, min_h o_h + |x - t_h|)`` and the covered set of ``e`` is the union
of ``[0, R - d_u]``, ``[L - (R - d_v), L]`` and ``[t_h - (R - o_h), t_h + (R - o_h)]`` clipped to
``[0, L]``. Edges without a hydrant are handled in closed form; only edges with hydrants need an
interval merge.

Not every road needs hydrants: access-controlled roads (the preset's ``[coverage]`` table, by
default motorways, their links and ``motorroad=yes``) carry hoses like any street but are left out
of the coverage length, the underserved stretches and siting. :func:`roads_needing_hydrants` gives
that mask once; :func:`hydrant_coverage` keeps it in :attr:`CoverageResult.needs_hydrants`, from
where the pieces, the siting and the live updates read it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from scipy.sparse.csgraph import dijkstra

from geo import vocabulary
from geo._validate import bool_mask, require_same_crs
from geo.errors import ConfigError
from geo.presets import Preset
from routing.graph import StreetGraph
from routing.snap import SnapResult, _as_geometry_array, line_substrings

log = logging.getLogger(__name__)

#: Uncovered gaps shorter than this (m, float rounding) are not reported as pieces.
_MIN_PIECE_M = 1e-9
#: High-rise classes counted in :func:`underserved_segments` (GB 50016 5.1.1).
HIGH_RISE_CLASSES = vocabulary.HIGH_RISE_CLASSES


@dataclass(frozen=True, eq=False)
class CoverageResult:
    """Coverage of every edge by hydrants.

    Attributes
    ----------
    radius_m
        The protection radius used.
    method
        ``'network'`` (hose-lay distance) or ``'straight'`` (straight-line distance).
    covered_m, uncovered_m
        Covered and uncovered length of each edge (aligned with the roads rows).
    road_m, total_covered_m
        Length of the streets that need hydrants and its covered part (every edge when
        ``needs_hydrants`` is None).
    n_hydrants
        Number of hydrants that took part (snapped and in service).
    node_distance_m
        Network method: hose-lay distance from the nearest hydrant to each node, ``inf`` beyond
        the radius. ``None`` for the straight-line method.
    interval_edge, interval_start, interval_end
        (Properties) the covered intervals, merged, sorted by edge then start: roads row and
        metres from the edge's ``u`` end. Built on first access (for the network method, from
        the reach into each edge from its end nodes and the edges' own hydrants).
    needs_hydrants
        Bool per edge: the streets that need hydrants (:func:`roads_needing_hydrants`); the
        others are still covered by hoses but not counted. None: every edge counts.
    """

    radius_m: float
    method: str
    covered_m: np.ndarray = field(repr=False)
    uncovered_m: np.ndarray = field(repr=False)
    road_m: float
    total_covered_m: float
    n_hydrants: int
    node_distance_m: np.ndarray | None = field(default=None, repr=False)
    _interval_data: _IntervalData | None = field(default=None, repr=False)
    needs_hydrants: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_intervals(
        cls,
        *,
        radius_m: float,
        method: str,
        length_m: np.ndarray,
        covered_m: np.ndarray,
        intervals: tuple[np.ndarray, np.ndarray, np.ndarray],
        n_hydrants: int,
        node_distance_m: np.ndarray | None = None,
        needs_hydrants: np.ndarray | None = None,
    ) -> CoverageResult:
        """A result from explicit per-edge covered metres and merged covered intervals
        (``edge``, ``start``, ``end``, sorted by edge then start)."""
        edge, start, end = intervals
        n = len(length_m)
        data = _IntervalData(
            length=length_m, a=np.zeros(n), b=np.zeros(n), busy=np.ones(n, dtype=bool),
            edge=edge, start=start, end=end,
        )
        counted = _counted(needs_hydrants, n)
        return cls(
            radius_m=radius_m, method=method, covered_m=covered_m, uncovered_m=length_m - covered_m,
            road_m=float(length_m[counted].sum()), total_covered_m=float(covered_m[counted].sum()),
            n_hydrants=n_hydrants, node_distance_m=node_distance_m, _interval_data=data,
            needs_hydrants=needs_hydrants,
        )

    @property
    def counted(self) -> np.ndarray:
        """Bool per edge: the edges that count (``needs_hydrants``, or every edge)."""
        return _counted(self.needs_hydrants, len(self.covered_m))

    @property
    def covered_share(self) -> float:
        """Covered share of the street length (0..1)."""
        return self.total_covered_m / self.road_m if self.road_m > 0 else 0.0

    @cached_property
    def _intervals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if self._interval_data is None:
            empty = np.empty(0)
            return empty.astype(np.int64), empty, empty
        return self._interval_data.intervals()

    @property
    def interval_edge(self) -> np.ndarray:
        """Roads row of each covered interval."""
        return self._intervals[0]

    @property
    def interval_start(self) -> np.ndarray:
        """Start of each covered interval (metres from the edge's ``u`` end)."""
        return self._intervals[1]

    @property
    def interval_end(self) -> np.ndarray:
        """End of each covered interval (metres from the edge's ``u`` end)."""
        return self._intervals[2]


@dataclass(frozen=True, eq=False)
class _IntervalData:
    """What the covered intervals are built from.

    Edges without a hydrant of their own (``busy`` False) are covered on ``[0, a]`` and
    ``[L - b, L]``; the merged intervals of the other edges are given as they are.
    """

    length: np.ndarray
    a: np.ndarray
    b: np.ndarray
    busy: np.ndarray
    edge: np.ndarray
    start: np.ndarray
    end: np.ndarray

    def intervals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        plain = np.flatnonzero(~self.busy)
        pa, pb, pl = self.a[plain], self.b[plain], self.length[plain]
        full = pa + pb >= pl
        first_end = np.where(full, pl, pa)
        # Two slots per plain edge, [0, a] (or the whole edge) then [L - b, L].
        e1 = np.repeat(plain, 2)
        s1 = np.empty(2 * len(plain))
        t1 = np.empty(2 * len(plain))
        ok1 = np.empty(2 * len(plain), dtype=bool)
        s1[0::2], s1[1::2] = 0.0, pl - pb
        t1[0::2], t1[1::2] = first_end, pl
        ok1[0::2], ok1[1::2] = first_end > 0, ~full & (pb > 0)
        # Both streams are sorted by (edge, start) and share no edge: a stable sort by edge
        # merges the two runs without reordering within an edge.
        e = np.concatenate([e1[ok1], self.edge])
        order = np.argsort(e, kind="stable")
        return (
            e[order],
            np.concatenate([s1[ok1], self.start])[order],
            np.concatenate([t1[ok1], self.end])[order],
        )


def _merge_intervals(
    edge: np.ndarray, start: np.ndarray, end: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Union of intervals per edge, vectorised; touching intervals are merged.

    Returns the merged intervals sorted by edge, then start.
    """
    if len(edge) == 0:
        return edge.astype(np.int64), start.astype(np.float64), end.astype(np.float64)
    order = np.lexsort((start, edge))
    e, s, t = edge[order], start[order], end[order]
    n = len(e)
    first = np.flatnonzero(np.append(True, e[1:] != e[:-1]))
    size = np.diff(np.append(first, n))
    # Running maximum of the end within each edge: step k updates the k-th interval of every
    # edge that has more than k (edges by decreasing size, so those are a prefix).
    reach = t.copy()
    by_size = np.argsort(-size, kind="stable")
    first_desc, size_desc = first[by_size], size[by_size]
    for k in range(1, int(size.max())):
        rows = first_desc[: np.searchsorted(-size_desc, -k, side="left")] + k
        reach[rows] = np.maximum(reach[rows], reach[rows - 1])
    new = np.ones(n, dtype=bool)
    new[1:] = (e[1:] != e[:-1]) | (s[1:] > reach[:-1])
    begins = np.flatnonzero(new)
    finishes = np.append(begins[1:] - 1, n - 1)
    return e[begins], s[begins], reach[finishes]


def _counted(needs_hydrants: np.ndarray | None, n: int) -> np.ndarray:
    return bool_mask(needs_hydrants, n, what="needs_hydrants (one value per edge)", default=True)


def roads_needing_hydrants(roads: pd.DataFrame, *, preset: Preset) -> np.ndarray:
    """Which roads need hydrants: every edge except the preset's access-controlled roads.

    Parameters
    ----------
    roads
        The roads layer (:data:`geo.schema.ROADS`: ``highway`` and ``motorroad``; a layer
        without ``motorroad`` is read as untagged).
    preset
        Its ``coverage_roads`` (``[coverage]``): the ``highway`` classes left out and whether
        roads tagged ``motorroad=yes`` are left out too.

    Returns
    -------
    numpy.ndarray
        Bool per row of ``roads``: True where the road needs hydrants.
    """
    rule = preset.coverage_roads
    highway = roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    excluded = np.isin(highway, list(rule.exclude_highway))
    if rule.exclude_motorroad and "motorroad" in roads.columns:
        excluded |= roads["motorroad"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    return np.asarray(~excluded, dtype=bool)


def excluded_classes(roads: pd.DataFrame, needs_hydrants: np.ndarray) -> list[str]:
    """The sorted ``highway`` classes of the roads that do not need hydrants (a trunk left out
    for ``motorroad=yes`` is listed as ``trunk``)."""
    highway = roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    return sorted({str(h) for h in highway[~needs_hydrants]})


def _service_mask(in_service: np.ndarray | None, n: int) -> np.ndarray:
    if in_service is None:
        return np.ones(n, dtype=bool)
    mask = np.asarray(in_service)
    if mask.dtype != bool or mask.shape != (n,):
        raise ConfigError(
            f"in_service must be a boolean mask with one value per hydrant ({n}); got dtype "
            f"{mask.dtype}, shape {mask.shape}"
        )
    return mask


def multi_source_distance(
    graph: StreetGraph,
    nodes: np.ndarray,
    initial_m: np.ndarray,
    *,
    limit_m: float = np.inf,
) -> np.ndarray:
    """Hose-lay distance to every node from sources that start at an initial distance.

    Runs one :func:`scipy.sparse.csgraph.dijkstra` from a virtual super-source joined to each
    source node by an arc of its initial distance (exact; repeated nodes keep the minimum).

    Parameters
    ----------
    graph
        The street graph (its hose-lay CSR is used, not modified).
    nodes
        Source node indices.
    initial_m
        Initial distance of each source (metres, >= 0).
    limit_m
        Distances above this are not explored and returned as ``inf``.

    Returns
    -------
    numpy.ndarray
        Distance (metres) of each node, ``inf`` where unreached.
    """
    n = graph.n_nodes
    nodes = np.asarray(nodes, dtype=np.int64)
    initial = np.asarray(initial_m, dtype=np.float64)
    keep = initial <= limit_m
    nodes, initial = nodes[keep], initial[keep]
    if len(nodes) == 0:
        return np.full(n, np.inf)
    order = np.lexsort((initial, nodes))
    nodes, initial = nodes[order], initial[order]
    first = np.ones(len(nodes), dtype=bool)
    first[1:] = nodes[1:] != nodes[:-1]
    nodes, initial = nodes[first], initial[first]
    hose = graph.hose
    indptr = np.append(hose.indptr, hose.indptr[-1] + len(nodes)).astype(hose.indptr.dtype)
    augmented = sp.csr_array(
        (
            np.concatenate([hose.data, initial]),
            np.concatenate([hose.indices, nodes.astype(hose.indices.dtype)]),
            indptr,
        ),
        shape=(n + 1, n + 1),
    )
    dist = dijkstra(augmented, directed=True, indices=n, limit=limit_m)
    return np.asarray(dist[:n], dtype=np.float64)


def _network_coverage(
    graph: StreetGraph,
    edge_h: np.ndarray,
    pos_h: np.ndarray,
    off_h: np.ndarray,
    radius: float,
) -> tuple[np.ndarray, np.ndarray, _IntervalData]:
    """Covered length per edge, node distances, and what the covered intervals are built from."""
    L = graph.length_m
    seeds = np.concatenate([graph.u_idx[edge_h], graph.v_idx[edge_h]])
    initial = np.concatenate([off_h + pos_h, off_h + (L[edge_h] - pos_h)])
    dist = multi_source_distance(graph, seeds, initial, limit_m=radius)

    # Reach into each edge from its end nodes (0 when the node is beyond the radius).
    a = np.clip(radius - dist[graph.u_idx], 0.0, L)
    b = np.clip(radius - dist[graph.v_idx], 0.0, L)
    # Edges without hydrants: [0, a] U [L - b, L] has length min(L, a + b).
    covered = np.minimum(a + b, L)

    # Edges with hydrants: merge the end reaches with each hydrant's own interval.
    reach_h = radius - off_h
    on_edge = reach_h >= 0
    edge_h, pos_h, reach_h = edge_h[on_edge], pos_h[on_edge], reach_h[on_edge]
    busy_mask = np.zeros(graph.n_edges, dtype=bool)
    busy_mask[edge_h] = True
    busy = np.flatnonzero(busy_mask)
    e2 = np.concatenate([busy, busy, edge_h])
    s2 = np.concatenate([np.zeros(len(busy)), L[busy] - b[busy], np.maximum(pos_h - reach_h, 0.0)])
    t2 = np.concatenate([a[busy], L[busy], np.minimum(pos_h + reach_h, L[edge_h])])
    ok2 = t2 > s2
    e2, s2, t2 = _merge_intervals(e2[ok2], s2[ok2], t2[ok2])
    covered[busy] = np.bincount(e2, weights=t2 - s2, minlength=graph.n_edges)[busy]
    data = _IntervalData(length=L, a=a, b=b, busy=busy_mask, edge=e2, start=s2, end=t2)
    return np.minimum(covered, L), dist, data


def _straight_intervals(
    graph: StreetGraph, points: np.ndarray, radius: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Covered intervals by straight-line distance: exact circle-segment intersections."""
    hyd, edge = graph.tree.query(points, predicate="dwithin", distance=radius)
    if len(hyd) == 0:
        empty = np.empty(0)
        return empty.astype(np.int64), empty, empty
    offsets = graph.vertex_offset
    # Expand each (hydrant, edge) pair to the edge's segments (k: segment start vertex).
    n_seg = offsets[edge + 1] - offsets[edge] - 1
    pair = np.repeat(np.arange(len(edge)), n_seg)
    seg_first = np.zeros(len(edge) + 1, dtype=np.int64)
    np.cumsum(n_seg, out=seg_first[1:])
    k = offsets[edge[pair]] + np.arange(len(pair)) - seg_first[pair]
    p0, p1 = graph.vertex_xy[k], graph.vertex_xy[k + 1]
    centre = shapely.get_coordinates(points[hyd[pair]])
    d = p1 - p0
    s = np.hypot(d[:, 0], d[:, 1])
    ok = s > 0
    p0, d, s, centre, k, pair = p0[ok], d[ok], s[ok], centre[ok], k[ok], pair[ok]
    w = centre - p0
    along = (w[:, 0] * d[:, 0] + w[:, 1] * d[:, 1]) / s
    across = np.abs(w[:, 0] * d[:, 1] - w[:, 1] * d[:, 0]) / s
    half = np.sqrt(np.maximum(radius**2 - across**2, 0.0))
    lo = np.maximum(along - half, 0.0)
    hi = np.minimum(along + half, s)
    hit = (across <= radius) & (hi > lo)
    e = edge[pair[hit]]
    base = graph.vertex_m[k[hit]]
    L = graph.length_m[e]
    return _merge_intervals(
        e, np.clip(base + lo[hit], 0.0, L), np.clip(base + hi[hit], 0.0, L)
    )


def hydrant_coverage(
    graph: StreetGraph,
    hydrant_snaps: SnapResult,
    *,
    radius_m: float,
    in_service: np.ndarray | None = None,
    method: Literal["network", "straight"] = "network",
    hydrant_points: object | None = None,
    needs_hydrants: np.ndarray | None = None,
) -> CoverageResult:
    """Which metres of every street lie within the protection radius of a hydrant.

    Parameters
    ----------
    graph
        The street graph.
    hydrant_snaps
        Hydrants snapped with :func:`routing.snap.snap_points` (unsnapped ones take no part).
    radius_m
        Protection radius (GB 50974 7.2.5: 150 m), by hose-lay distance for ``'network'``.
    in_service
        Optional bool per hydrant: only these hydrants cover (status is an input, e.g. a
        hydrant out of service or a scenario).
    method
        ``'network'`` (default): hose-lay distance = snap offset + distance along the streets.
        ``'straight'``: straight-line distance from the hydrant point (for comparison only; it
        ignores blocks, rivers and railways and overstates coverage).
    hydrant_points
        Straight-line method: the hydrants' own locations (aligned with ``hydrant_snaps``); by
        default the snapped points are used, and unsnapped hydrants take no part.
    needs_hydrants
        Bool per edge (:func:`roads_needing_hydrants`): the streets counted in ``road_m`` and
        ``total_covered_m``; the others are covered like any edge but not counted. None: all.

    Returns
    -------
    CoverageResult
    """
    if not radius_m >= 0:
        raise ConfigError(f"radius_m must be >= 0, got {radius_m}")
    if method not in ("network", "straight"):
        raise ConfigError(f"method must be 'network' or 'straight', got {method!r}")
    active = _service_mask(in_service, len(hydrant_snaps))
    node_distance: np.ndarray | None = None
    if method == "network":
        h = np.flatnonzero(active & hydrant_snaps.snapped)
        covered, node_distance, data = _network_coverage(
            graph,
            hydrant_snaps.edge[h],
            hydrant_snaps.position_m[h],
            hydrant_snaps.offset_m[h],
            float(radius_m),
        )
    else:
        if hydrant_points is None:
            points = hydrant_snaps.point
            active &= hydrant_snaps.snapped
        else:
            points = _as_geometry_array(hydrant_points, graph.crs)
            if len(points) != len(hydrant_snaps):
                raise ConfigError(
                    f"hydrant_points has {len(points)} points but hydrant_snaps has "
                    f"{len(hydrant_snaps)}; pass the points that were snapped"
                )
            valid = ~shapely.is_missing(points)
            valid[valid] = ~shapely.is_empty(points[valid])
            active &= valid
        h = np.flatnonzero(active)
        e, s, t = _straight_intervals(graph, points[h], float(radius_m))
        covered = np.minimum(
            np.bincount(e, weights=t - s, minlength=graph.n_edges), graph.length_m
        )
        zeros = np.zeros(graph.n_edges)
        data = _IntervalData(
            length=graph.length_m, a=zeros, b=zeros, busy=np.ones(graph.n_edges, dtype=bool),
            edge=e, start=s, end=t,
        )

    counted = _counted(needs_hydrants, graph.n_edges)
    road_m = float(graph.length_m[counted].sum())
    result = CoverageResult(
        radius_m=float(radius_m),
        method=method,
        covered_m=covered,
        uncovered_m=graph.length_m - covered,
        road_m=road_m,
        total_covered_m=float(covered[counted].sum()),
        n_hydrants=len(h),
        node_distance_m=node_distance,
        _interval_data=data,
        needs_hydrants=needs_hydrants,
    )
    log.info(
        "hydrant coverage (%s, R=%g m): %d hydrants cover %.1f of %.1f km (%.1f %%)",
        method, radius_m, len(h), result.total_covered_m / 1000, road_m / 1000,
        100 * result.covered_share,
    )
    return result


def coverage_gaps(
    graph: StreetGraph, result: CoverageResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every gap between covered intervals as (edge, start, end), unsorted and of any length
    (empty ones included: callers drop what is too short for them): before each interval (from
    the previous end on the same edge, or 0), and after the last interval of each edge (or the
    whole edge when it has none)."""
    ce, cs, ct = result.interval_edge, result.interval_start, result.interval_end
    same = np.zeros(len(ce), dtype=bool)
    same[1:] = ce[1:] == ce[:-1]
    prev_end = np.where(same, np.roll(ct, 1), 0.0)
    last_end = np.zeros(graph.n_edges)
    if len(ce):
        last_end[ce] = ct  # intervals are sorted: the last one per edge wins
    return (
        np.concatenate([ce, np.arange(graph.n_edges)]),
        np.concatenate([prev_end, last_end]),
        np.concatenate([cs, graph.length_m]),
    )


def coverage_pieces(graph: StreetGraph, result: CoverageResult) -> gpd.GeoDataFrame:
    """Covered and uncovered pieces of every edge as LineStrings.

    Parameters
    ----------
    graph
        The street graph the coverage was computed on.
    result
        The coverage result.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``edge_id, way_id, name, highway, start_m, end_m, length_m, covered,
        needs_hydrants`` (the edge's :attr:`CoverageResult.needs_hydrants`) and the piece
        geometry, sorted by edge then ``start_m``; in the graph's CRS.
    """
    ce, cs, ct = result.interval_edge, result.interval_start, result.interval_end
    ge, gs, gt = coverage_gaps(graph, result)
    gap = gt - gs > _MIN_PIECE_M
    edge = np.concatenate([ce, ge[gap]])
    start = np.concatenate([cs, gs[gap]])
    end = np.concatenate([ct, gt[gap]])
    covered = np.concatenate([np.ones(len(ce), dtype=bool), np.zeros(int(gap.sum()), dtype=bool)])
    order = np.lexsort((start, edge))
    edge, start, end, covered = edge[order], start[order], end[order], covered[order]
    geoms = line_substrings(graph.geometry, start, end, line_index=edge)
    roads = graph.roads
    frame = pd.DataFrame(
        {
            "edge_id": graph.edge_id[edge],
            "way_id": roads["way_id"].to_numpy(dtype=np.int64)[edge],
            "name": roads["name"].fillna("").astype(str).to_numpy(dtype=object)[edge],
            "highway": roads["highway"].fillna("").astype(str).to_numpy(dtype=object)[edge],
            "start_m": start,
            "end_m": end,
            "length_m": end - start,
            "covered": covered,
            "needs_hydrants": result.counted[edge],
        }
    )
    pieces = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=graph.crs), crs=graph.crs)
    log.info(
        "coverage pieces: %d covered, %d uncovered", int(covered.sum()), int((~covered).sum())
    )
    return pieces


def street_keys(names: pd.Series, way_ids: pd.Series) -> np.ndarray:
    """Street grouping key per row: ``'name/<name>'``, or ``'way/<way_id>'`` when unnamed."""
    name = pd.Series(names.to_numpy(dtype=object)).fillna("").astype(str).str.strip()
    way = "way/" + pd.Series(way_ids.to_numpy(dtype=np.int64)).astype(str)
    return np.where(name == "", way, "name/" + name).astype(object)


def lists_by_group(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The sorted distinct ``values`` of each group ``0..n-1``, as Python lists."""
    order = np.lexsort((values, group))
    g, v = group[order], values[order]
    keep = np.ones(len(g), dtype=bool)
    keep[1:] = (g[1:] != g[:-1]) | (v[1:] != v[:-1])
    g, v = g[keep], v[keep]
    bounds = np.searchsorted(g, np.arange(n + 1)).tolist()
    flat = v.tolist()
    out = np.empty(n, dtype=object)
    for i in range(n):  # one Python list per row is the output itself
        out[i] = flat[bounds[i] : bounds[i + 1]]
    return out


def merge_streets(lines: np.ndarray, street: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Join the lines of each street (codes ``0..k-1``) with :func:`shapely.line_merge`.

    Returns the merged lines and the street code of each; a street whose lines do not form one
    chain gives several lines.
    """
    order = np.argsort(street, kind="stable")
    merged = shapely.line_merge(shapely.multilinestrings(lines[order], indices=street[order]))
    parts, part_street = shapely.get_parts(merged, return_index=True)
    return np.asarray(parts), np.asarray(part_street, dtype=np.int64)


_UNDERSERVED_COLUMNS = ["rank", "name", "way_ids", "length_m", "n_buildings", "n_high_rises"]


def _empty_underserved(crs: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in _UNDERSERVED_COLUMNS},
        geometry=gpd.GeoSeries([], crs=crs),
        crs=crs,
    )


def uncovered_stretches(
    pieces: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    frontage_m: float = 30.0,
) -> tuple[gpd.GeoDataFrame, np.ndarray, np.ndarray] | None:
    """The unranked stretches of :func:`underserved_segments`, in the order its ranking breaks ties.

    Returns
    -------
    frame, street, first_piece
        The stretches (``rank`` column 0) in merge order (street by street, streets in the order
        of their first uncovered piece in ``pieces``), the street code of each, and for each
        street code the position in ``pieces`` of its first uncovered piece; None when nothing
        is uncovered.
    """
    uncovered = ~pieces["covered"].to_numpy(dtype=bool)
    if "needs_hydrants" in pieces.columns:
        uncovered &= pieces["needs_hydrants"].to_numpy(dtype=bool)
    positions = np.flatnonzero(uncovered)
    unc = pieces.iloc[positions]
    if len(unc) == 0:
        return None
    keys = street_keys(unc["name"], unc["way_id"])
    codes, _ = pd.factorize(pd.Series(keys))
    first_piece = positions[np.unique(codes, return_index=True)[1]]
    geoms = np.asarray(unc.geometry.array)
    parts, street = merge_streets(geoms, codes)

    # Which stretch each piece belongs to: the stretch of its street through its midpoint.
    mid = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    piece_i, part_i = shapely.STRtree(parts).query(mid, predicate="dwithin", distance=1e-6)
    same = street[part_i] == codes[piece_i]
    piece_i, part_i = piece_i[same], part_i[same]
    way_ids = lists_by_group(
        part_i, unc["way_id"].to_numpy(dtype=np.int64)[piece_i], len(parts)
    )
    name_of_street = (
        pd.Series(unc["name"].fillna("").astype(str).to_numpy()).groupby(codes).first()
    )

    n_buildings = np.zeros(len(parts), dtype=np.int64)
    n_high = np.zeros(len(parts), dtype=np.int64)
    if buildings is not None and len(buildings):
        require_same_crs(buildings, pieces.crs, layer="buildings", other="the coverage pieces")
        if "high_rise_class" not in buildings.columns:
            raise ConfigError("buildings need a 'high_rise_class' column (geo.schema.BUILDINGS)")
        # the layer's cached spatial index: built once, shared by every live update
        s_i, b_i = buildings.sindex.query(parts, predicate="dwithin", distance=frontage_m)
        high = np.isin(buildings["high_rise_class"].to_numpy(dtype=object), HIGH_RISE_CLASSES)
        n_buildings = np.bincount(s_i, minlength=len(parts))
        n_high = np.bincount(s_i, weights=high[b_i], minlength=len(parts)).astype(np.int64)

    frame = pd.DataFrame(
        {
            "rank": np.zeros(len(parts), dtype=np.int64),
            "name": name_of_street.to_numpy(dtype=object)[street],
            "way_ids": way_ids,
            "length_m": shapely.length(parts),
            "n_buildings": n_buildings,
            "n_high_rises": n_high,
        }
    )
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(parts, crs=pieces.crs), crs=pieces.crs)
    return out, street, first_piece


def rank_stretches(frame: gpd.GeoDataFrame, tie: np.ndarray) -> gpd.GeoDataFrame:
    """``frame`` ranked worst first (longest, then most high-rises, then ``tie`` ascending)."""
    order = np.lexsort(
        (tie, -frame["n_high_rises"].to_numpy(dtype=np.int64), -frame["length_m"].to_numpy())
    )
    out = frame.iloc[order].reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1, dtype=np.int64)
    return out


def underserved_segments(
    pieces: gpd.GeoDataFrame,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    frontage_m: float = 30.0,
) -> gpd.GeoDataFrame:
    """Contiguous uncovered stretches of each street, ranked worst first.

    Parameters
    ----------
    pieces
        Output of :func:`coverage_pieces`; pieces of roads that do not need hydrants
        (``needs_hydrants`` False) are left out.
    buildings
        Optional buildings layer (:data:`geo.schema.BUILDINGS`, column ``high_rise_class``) in
        the same CRS; buildings within ``frontage_m`` of a stretch front it.
    frontage_m
        Distance (m) within which a building fronts a stretch.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per contiguous uncovered stretch (uncovered pieces of one street, grouped by name
        or, when unnamed, by way id, joined with :func:`shapely.line_merge`; stretches meeting at
        a fork of three or more pieces stay separate). Columns ``rank`` (1 = worst: longest,
        then most high-rises), ``name``, ``way_ids`` (sorted list), ``length_m``,
        ``n_buildings``, ``n_high_rises`` and the geometry; sorted by rank.
    """
    if not frontage_m >= 0:
        raise ConfigError(f"frontage_m must be >= 0, got {frontage_m}")
    stretches = uncovered_stretches(pieces, buildings=buildings, frontage_m=frontage_m)
    if stretches is None:
        return _empty_underserved(pieces.crs)
    frame, street, _ = stretches
    length = frame["length_m"].to_numpy()
    out = rank_stretches(frame, np.arange(len(frame)))
    log.info(
        "underserved: %d uncovered stretches on %d streets, %.1f km",
        len(out), int(street.max()) + 1, float(length.sum()) / 1000,
    )
    return out


def splice_coverage(
    graph: StreetGraph,
    old: CoverageResult,
    part: CoverageResult,
    edges: np.ndarray,
    *,
    n_hydrants: int,
) -> CoverageResult:
    """``old`` with the edges in the bool mask ``edges`` taken from ``part``.

    For a partial recomputation: ``part`` is a run over the same graph whose results are right
    on ``edges`` (every hydrant that can reach them took part). Covered metres and intervals of
    those edges, and node distances at their end nodes, come from ``part``; the rest from ``old``.
    """
    covered = old.covered_m.copy()
    covered[edges] = part.covered_m[edges]
    keep = ~edges[old.interval_edge]
    take = edges[part.interval_edge]
    e = np.concatenate([old.interval_edge[keep], part.interval_edge[take]])
    s = np.concatenate([old.interval_start[keep], part.interval_start[take]])
    t = np.concatenate([old.interval_end[keep], part.interval_end[take]])
    order = np.lexsort((s, e))
    node_distance = None
    if old.node_distance_m is not None and part.node_distance_m is not None:
        node_distance = old.node_distance_m.copy()
        rows = np.flatnonzero(edges)
        nodes = np.unique(np.concatenate([graph.u_idx[rows], graph.v_idx[rows]]))
        node_distance[nodes] = part.node_distance_m[nodes]
    return CoverageResult.from_intervals(
        radius_m=old.radius_m, method=old.method, length_m=graph.length_m, covered_m=covered,
        intervals=(e[order], s[order], t[order]), n_hydrants=n_hydrants,
        node_distance_m=node_distance, needs_hydrants=old.needs_hydrants,
    )
