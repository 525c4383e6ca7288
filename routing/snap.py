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

from geo.errors import ConfigError, CRSError
from routing.graph import StreetGraph

log = logging.getLogger(__name__)

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
    """
    if not max_distance_m >= 0:
        raise ConfigError(f"max_distance_m must be >= 0, got {max_distance_m}")
    geoms = _as_geometry_array(points, graph.crs)
    n = len(geoms)
    if edge_mask is None:
        eligible = np.arange(graph.n_edges, dtype=np.int64)
        tree = graph.tree
    else:
        mask = np.asarray(edge_mask)
        if mask.dtype != bool or mask.shape != (graph.n_edges,):
            raise ConfigError(
                f"edge_mask must be a boolean mask of shape ({graph.n_edges},); got dtype "
                f"{mask.dtype}, shape {mask.shape}"
            )
        eligible = np.flatnonzero(mask)
        tree = shapely.STRtree(graph.geometry[eligible])

    edge = np.full(n, -1, dtype=np.int64)
    offset = np.full(n, np.nan)
    position = np.full(n, np.nan)
    snapped_pt = np.full(n, None, dtype=object)
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

    if len(candidates) and len(eligible):
        (qi, ti), dist = tree.query_nearest(
            geoms[candidates], max_distance=max_distance_m, return_distance=True, all_matches=True
        )
        # Ties: keep the lowest tree index (= lowest roads row) per point.
        order = np.lexsort((ti, qi))
        qi, ti, dist = qi[order], ti[order], dist[order]
        first = np.ones(len(qi), dtype=bool)
        first[1:] = qi[1:] != qi[:-1]
        pts = candidates[qi[first]]
        edge[pts] = eligible[ti[first]]
        offset[pts] = dist[first]
        lines = graph.geometry[edge[pts]]
        pos = np.clip(shapely.line_locate_point(lines, geoms[pts]), 0.0, graph.length_m[edge[pts]])
        position[pts] = pos
        snapped_pt[pts] = shapely.line_interpolate_point(lines, pos)

    far = candidates[edge[candidates] < 0]
    if len(far):
        if len(eligible):
            (qi, _), dist = tree.query_nearest(geoms[far], return_distance=True, all_matches=False)
            nearest = np.full(len(far), np.nan)
            nearest[qi] = dist
            reason[far] = [
                f"no road within {max_distance_m:g} m (nearest {d:.1f} m)" for d in nearest
            ]
        else:
            reason[far] = "no eligible road in the graph"

    log.info(
        "snapped %d of %d points to edges within %g m (%d too far, %d empty, %d not points)",
        int((edge >= 0).sum()), n, max_distance_m, len(far), int(empty.sum()),
        int(not_point.sum()),
    )
    return SnapResult(
        edge=edge,
        position_m=position,
        offset_m=offset,
        point=snapped_pt,
        reason=reason,
        max_distance_m=float(max_distance_m),
    )


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
        shapely.get_coordinates(shapely.line_interpolate_point(lines[idx], s0)),
    )
    at_end = s1 >= length[idx] - _END_TOLERANCE_M
    tail = np.where(
        at_end[:, None],
        coords[last],
        shapely.get_coordinates(shapely.line_interpolate_point(lines[idx], s1)),
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
