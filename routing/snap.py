"""Snap points (hydrants, stations, buildings' access points) to the nearest street edge.

Points are snapped to the nearest point of the nearest *edge*, not to the nearest node: a hydrant
in the middle of a 300 m block sits in the middle of that block. The snap keeps the position along
the edge (metres from its ``u`` end) and the snap distance, which analyses add to network
distances (the hose runs from the hydrant to the street first).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from geo._validate import bool_mask
from geo.errors import ConfigError, CRSError
from routing.graph import StreetGraph

log = logging.getLogger(__name__)

#: Snapping looks for edges within these distances (m) in turn, by bounding box (fast); points with
#: none fall back to a nearest-neighbour query up to the snap limit.
_PREFILTER_M = (25.0, 100.0)
_QUERY_CELL_M = 500.0
#: Pieces starting or ending this close (m) to a line's end use the exact end vertex.
_END_TOLERANCE_M = 1e-7


@dataclass(frozen=True, eq=False)
class SnapResult:
    """Where each input point snapped to (arrays aligned with the input points).

    Attributes
    ----------
    edge
        Roads row of the edge snapped to, -1 when not snapped.
    position_m
        Distance from the edge's ``u`` end along its geometry to the snapped point (NaN if not
        snapped).
    offset_m
        Straight distance from the point to the edge (NaN if not snapped).
    point
        The snapped points on the edges (None if not snapped).
    reason
        ``''`` when snapped, else why not (``'no road within 60 m (nearest 83.2 m)'``,
        ``'empty geometry'``, ``'not a point (Polygon)'``).
    max_distance_m
        The snap distance limit used.
    """

    edge: np.ndarray
    position_m: np.ndarray
    offset_m: np.ndarray
    point: np.ndarray = field(repr=False)
    reason: np.ndarray = field(repr=False)
    max_distance_m: float = 60.0

    def __len__(self) -> int:
        return len(self.edge)

    @property
    def snapped(self) -> np.ndarray:
        """True where the point was snapped to an edge."""
        return self.edge >= 0


def _as_geometry_array(points: object, crs: pyproj.CRS) -> np.ndarray:
    if isinstance(points, gpd.GeoDataFrame):
        points = points.geometry
    if isinstance(points, gpd.GeoSeries):
        if points.crs is not None and pyproj.CRS.from_user_input(points.crs) != crs:
            raise CRSError(
                f"points are in {points.crs.to_string()} but the street graph is in "
                f"{crs.to_string()}; reproject the points to the working CRS first"
            )
        return np.asarray(points.array, dtype=object)
    arr = np.asarray(points, dtype=object)
    if arr.ndim != 1:
        arr = arr.reshape(-1)
    return arr


def _nearest_on_edges(
    graph: StreetGraph, xy: np.ndarray, point: np.ndarray, edge: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest (point, edge) pair per point among candidate pairs, with numpy.

    ``xy`` holds the points' coordinates; ``point``/``edge`` the candidate pairs. Every pair is
    expanded to its edge's segments and the closest point of each segment is computed; per point
    the smallest distance wins, ties going to the lowest edge, then its first segment.

    Returns the points that have a candidate, and their edge, distance, position along the edge
    and snapped coordinates.
    """
    if len(point) and not (point[1:] >= point[:-1]).all():
        order = np.argsort(point, kind="stable")
        point, edge = point[order], edge[order]
    off = graph.vertex_offset
    n_seg = off[edge + 1] - off[edge] - 1
    if (n_seg == 1).all():  # straight two-vertex edges: one segment per pair
        pair = np.arange(len(edge))
        k = off[edge]
    else:
        pair = np.repeat(np.arange(len(edge)), n_seg)
        first_seg = np.zeros(len(edge) + 1, dtype=np.int64)
        np.cumsum(n_seg, out=first_seg[1:])
        k = off[edge[pair]] + (np.arange(len(pair)) - first_seg[pair])  # segment start vertex
    vx, vy = graph.vertex_xy[:, 0], graph.vertex_xy[:, 1]  # contiguous: stored column-major
    x0, y0, x1, y1 = vx[k], vy[k], vx[k + 1], vy[k + 1]
    q = point[pair]
    cx, cy = xy[q, 0], xy[q, 1]
    dx, dy = x1 - x0, y1 - y0
    ss = dx * dx + dy * dy
    t = ((cx - x0) * dx + (cy - y0) * dy) / np.maximum(ss, np.finfo(np.float64).tiny)
    np.clip(t, 0.0, 1.0, out=t)
    # Segment ends exactly (so that a point equidistant from two edges at a shared node ties).
    end_ = t >= 1.0
    px = np.where(end_, x1, x0 + t * dx)
    py = np.where(end_, y1, y0 + t * dy)
    dist = np.hypot(cx - px, cy - py)
    if len(q) == 0:
        empty = np.empty(0)
        return q, q, empty, empty, np.empty((0, 2))
    # Per point (rows are grouped by point): the smallest distance, then the smallest vertex
    # index k, which orders by edge and then by segment along it.
    starts = np.flatnonzero(np.append(True, q[1:] != q[:-1]))
    group = np.cumsum(np.append(True, q[1:] != q[:-1])) - 1
    tie = dist == np.minimum.reduceat(dist, starts)[group]
    key = np.where(tie, k, np.iinfo(np.int64).max)
    best = np.flatnonzero(tie & (k == np.minimum.reduceat(key, starts)[group]))
    e = edge[pair[best]]
    pos = np.minimum(graph.vertex_m[k[best]] + t[best] * np.sqrt(ss[best]), graph.length_m[e])
    return q[best], e, dist[best], pos, np.column_stack([px[best], py[best]])


def snap_points(
    graph: StreetGraph,
    points: object,
    *,
    max_distance_m: float = 60.0,
    edge_mask: np.ndarray | None = None,
) -> SnapResult:
    """Snap points to the nearest street edge.

    Parameters
    ----------
    graph
        The street graph.
    points
        A GeoSeries (or GeoDataFrame) or an array of shapely Points in the graph's CRS. A
        GeoSeries with a different CRS raises :class:`CRSError`; a plain array is assumed to be in
        the graph's CRS.
    max_distance_m
        Points farther than this from every eligible edge are not snapped.
    edge_mask
        Optional bool per roads row: only these edges are eligible (e.g.
        ``TruckGraph.edge_passable`` to snap to truck-passable edges).

    Returns
    -------
    SnapResult
        Equidistant edges are resolved to the lowest roads row.

    Notes
    -----
    Candidates come from the graph's STRtree by bounding box, first within 25 m, then within
    100 m (capped at ``max_distance_m``); distances, positions and snapped points are computed
    per segment with numpy. Points with no edge that close fall back to
    :meth:`shapely.STRtree.query_nearest` up to ``max_distance_m``.
    """
    if not max_distance_m >= 0:
        raise ConfigError(f"max_distance_m must be >= 0, got {max_distance_m}")
    geoms = _as_geometry_array(points, graph.crs)
    n = len(geoms)
    mask: np.ndarray | None = None
    if edge_mask is not None:
        mask = bool_mask(edge_mask, graph.n_edges, what="edge_mask")
    n_eligible = graph.n_edges if mask is None else int(mask.sum())

    reason = np.full(n, "", dtype=object)
    missing = shapely.is_missing(geoms)
    empty = missing.copy()
    empty[~missing] = shapely.is_empty(geoms[~missing])
    types = shapely.get_type_id(geoms)
    not_point = ~empty & (types != shapely.GeometryType.POINT)
    reason[empty] = "empty geometry"
    if not_point.any():
        reason[not_point] = [f"not a point ({g.geom_type})" for g in geoms[not_point]]
    candidates = np.flatnonzero(~empty & ~not_point)
    xy = np.full((n, 2), np.nan)
    xy[candidates] = shapely.get_coordinates(geoms[candidates])

    s = _Snapping(graph, xy, mask)
    if len(candidates) and n_eligible:
        _snap_staged(s, geoms, candidates, max_distance_m=max_distance_m)

    far = candidates[s.edge[candidates] < 0]
    if len(far):
        if n_eligible:
            tree, _ = s.eligible_tree()
            (qi, _), dist = tree.query_nearest(geoms[far], return_distance=True, all_matches=False)
            nearest = np.full(len(far), np.nan)
            nearest[qi] = dist
            reason[far] = [
                f"no road within {max_distance_m:g} m (nearest {d:.1f} m)" for d in nearest
            ]
        else:
            reason[far] = "no eligible road in the graph"

    ok = s.edge >= 0
    snapped_pt = np.full(n, None, dtype=object)
    snapped_pt[ok] = shapely.points(s.snapped_xy[ok])
    log.info(
        "snapped %d of %d points to edges within %g m (%d too far, %d empty, %d not points)",
        int(ok.sum()), n, max_distance_m, len(far), int(empty.sum()), int(not_point.sum()),
    )
    return SnapResult(
        edge=s.edge,
        position_m=s.position,
        offset_m=s.offset,
        point=snapped_pt,
        reason=reason,
        max_distance_m=float(max_distance_m),
    )


class _Snapping:
    """Working state of :func:`snap_points`: the answer so far for each point (edge -1, NaN
    where none yet), and the eligible edges."""

    def __init__(self, graph: StreetGraph, xy: np.ndarray, mask: np.ndarray | None) -> None:
        n = len(xy)
        self.graph, self.xy, self.mask = graph, xy, mask
        self.edge = np.full(n, -1, dtype=np.int64)
        self.offset = np.full(n, np.nan)
        self.position = np.full(n, np.nan)
        self.snapped_xy = np.full((n, 2), np.nan)
        self._tree: shapely.STRtree | None = None

    def take(self, ids: np.ndarray, q: np.ndarray, e: np.ndarray) -> None:
        """Settle points ``ids[q]`` from candidate pairs (q sorted: index into ids, e: edge)."""
        if self.mask is not None:
            keep = self.mask[e]
            q, e = q[keep], e[keep]
        pt, pe, dist, pos, closest = _nearest_on_edges(self.graph, self.xy[ids], q, e)
        pt = ids[pt]
        self.edge[pt], self.offset[pt], self.position[pt], self.snapped_xy[pt] = (
            pe, dist, pos, closest
        )

    def eligible_tree(self) -> tuple[shapely.STRtree, np.ndarray]:
        """The STRtree of the eligible edges (built once) and their roads rows."""
        graph, mask = self.graph, self.mask
        eligible = np.arange(graph.n_edges) if mask is None else np.flatnonzero(mask)
        if self._tree is None:
            self._tree = graph.tree if mask is None else shapely.STRtree(graph.geometry[eligible])
        return self._tree, eligible


def _snap_staged(
    s: _Snapping, geoms: np.ndarray, candidates: np.ndarray, *, max_distance_m: float
) -> None:
    """Snap ``candidates`` by bounding-box queries of growing size, then nearest queries."""
    graph, xy = s.graph, s.xy
    rest = candidates
    r = 0.0
    for r in sorted({min(float(max_distance_m), b) for b in _PREFILTER_M}):
        # Query in a spatial order (cells of 500 m): the tree is walked far faster.
        c = xy[rest]
        cell = np.floor(c / _QUERY_CELL_M).astype(np.int64)
        near_first = rest[np.argsort(cell[:, 0] * (1 << 32) + cell[:, 1])]
        c = xy[near_first]
        boxes = shapely.box(c[:, 0] - r, c[:, 1] - r, c[:, 0] + r, c[:, 1] + r)
        qi, ei = graph.tree.query(boxes)
        s.take(near_first, qi, ei)
        # Settled: the nearest edge within r is the nearest edge (any closer edge's
        # envelope meets the box). Beyond r or no candidate: try the next stage.
        later = ~(s.offset[rest] <= r)
        s.edge[rest[later]] = -1
        rest = rest[later]
        if len(rest) == 0:
            break
    if len(rest) and max_distance_m > r:
        tree, eligible = s.eligible_tree()
        qi, ti = tree.query_nearest(geoms[rest], max_distance=max_distance_m)
        s.take(rest, qi, eligible[ti])
    unsettled = candidates[s.edge[candidates] < 0]
    s.offset[unsettled] = s.position[unsettled] = np.nan
    s.snapped_xy[unsettled] = np.nan


def _interpolate(
    coords: np.ndarray, odometer: np.ndarray, first: np.ndarray, last: np.ndarray, at: np.ndarray
) -> np.ndarray:
    """Points at odometer readings ``at`` on lines whose vertices are ``first..last``."""
    j = np.clip(np.searchsorted(odometer, at, side="right") - 1, first, np.maximum(last - 1, first))
    step = odometer[np.minimum(j + 1, last)] - odometer[j]
    frac = np.where(step > 0, (at - odometer[j]) / np.where(step > 0, step, 1.0), 0.0)
    frac = np.clip(frac, 0.0, 1.0)[:, None]
    return coords[j] + frac * (coords[np.minimum(j + 1, last)] - coords[j])


def line_substrings(
    lines: np.ndarray,
    start_m: np.ndarray,
    end_m: np.ndarray,
    *,
    line_index: np.ndarray | None = None,
) -> np.ndarray:
    """Cut pieces out of LineStrings by linear reference, vectorised.

    Parameters
    ----------
    lines
        Array of shapely LineStrings.
    start_m, end_m
        Start and end of each piece, metres from the start of its line (``start_m <= end_m``;
        clipped to the line).
    line_index
        Line of each piece (index into ``lines``); by default piece ``i`` is cut from line ``i``.

    Returns
    -------
    numpy.ndarray
        LineStrings running from ``start_m`` to ``end_m``. A piece starting at 0 or ending at the
        line's length uses the line's exact end vertex, so pieces of adjacent lines touch exactly.
    """
    lines = np.asarray(lines, dtype=object)
    start = np.asarray(start_m, dtype=np.float64)
    end = np.asarray(end_m, dtype=np.float64)
    idx = np.arange(len(start)) if line_index is None else np.asarray(line_index, dtype=np.int64)
    if len(idx) == 0:
        return np.empty(0, dtype=object)
    coords = shapely.get_coordinates(lines)
    offsets = np.zeros(len(lines) + 1, dtype=np.int64)
    np.cumsum(shapely.get_num_coordinates(lines), out=offsets[1:])
    seg = np.hypot(*np.diff(coords, axis=0).T) if len(coords) > 1 else np.empty(0)
    seg[offsets[1:-1] - 1] = 0.0  # no segment between the last vertex of a line and the next
    odometer = np.concatenate([[0.0], np.cumsum(seg)])
    base = odometer[offsets[:-1]]
    length = odometer[offsets[1:] - 1] - base
    s0 = np.clip(start, 0.0, length[idx])
    s1 = np.clip(end, s0, length[idx])
    first, last = offsets[idx], offsets[idx + 1] - 1

    # Interior vertices strictly between s0 and s1.
    lo = np.maximum(np.searchsorted(odometer, base[idx] + s0, side="right"), first)
    hi = np.minimum(np.searchsorted(odometer, base[idx] + s1, side="left"), last + 1)
    n_inner = np.maximum(hi - lo, 0)
    head = np.where(
        (s0 <= _END_TOLERANCE_M)[:, None],
        coords[first],
        _interpolate(coords, odometer, first, last, base[idx] + s0),
    )
    at_end = s1 >= length[idx] - _END_TOLERANCE_M
    tail = np.where(
        at_end[:, None],
        coords[last],
        _interpolate(coords, odometer, first, last, base[idx] + s1),
    )
    counts = n_inner + 2
    out_off = np.zeros(len(idx) + 1, dtype=np.int64)
    np.cumsum(counts, out=out_off[1:])
    out = np.empty((out_off[-1], 2), dtype=np.float64)
    out[out_off[:-1]] = head
    out[out_off[1:] - 1] = tail
    total_inner = int(n_inner.sum())
    if total_inner:
        piece_of_inner = np.repeat(np.arange(len(idx)), n_inner)
        inner_start = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(n_inner, out=inner_start[1:])
        rank = np.arange(total_inner) - inner_start[piece_of_inner]
        out[out_off[piece_of_inner] + 1 + rank] = coords[lo[piece_of_inner] + rank]
    return np.asarray(shapely.linestrings(out, indices=np.repeat(np.arange(len(idx)), counts)))
