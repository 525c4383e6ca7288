"""The façade measurement of :func:`routing.access.high_rise_access`: wall samples, lanes in
front of the wall, and the aerial operating site's extent along each ring.

How the façade is measured (sampling, lane edge distance, in front of the wall, long
sides) is described in :mod:`routing.access`.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import shapely

from routing.graph import TruckGraph

#: (wall sample, lane segment) pairs per chunk of the lane measurement (bounds the memory).
_CHUNK_PAIRS = 250_000
#: Slack (m) when comparing lengths summed from samples with side lengths.
_EPS_M = 1e-6


# --------------------------------------------------------------------------------------------
# Geometry helpers (all vectorised)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Segments:
    """Straight pieces of a set of lines: start, end, length, owner (line index)."""

    a: np.ndarray
    b: np.ndarray
    length: np.ndarray
    owner: np.ndarray


def _segments(lines: np.ndarray) -> _Segments:
    """Non-degenerate segments of LineStrings / LinearRings, in line then vertex order."""
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    same = owner[1:] == owner[:-1]
    a, b, own = coords[:-1][same], coords[1:][same], owner[:-1][same]
    length = np.hypot(*(b - a).T)
    keep = length > 1e-9
    return _Segments(a=a[keep], b=b[keep], length=length[keep], owner=own[keep])


@dataclass(frozen=True)
class _Samples:
    """Wall samples of the footprints, ordered by ring then position along the ring."""

    xy: np.ndarray  # (n, 2)
    weight: np.ndarray  # metres of wall each sample stands for
    ring: np.ndarray  # ring index of each sample
    building: np.ndarray  # building index (into the footprints) of each sample
    wall: np.ndarray  # wall segment of each sample (non-decreasing)
    ring_start: np.ndarray  # first sample of each ring
    ring_count: np.ndarray  # samples per ring
    walls: _Segments  # the straight wall segments; ``owner`` is the ring
    wall_normal: np.ndarray  # (n_walls, 2) outward unit normal of each wall segment
    wall_building: np.ndarray  # building of each wall segment


def _sample_walls(footprints: np.ndarray, step_m: float) -> _Samples:
    """Sample the exterior rings of ``footprints`` every ``step_m`` (at least 4 per ring)."""
    parts, part_building = shapely.get_parts(footprints, return_index=True)
    rings = shapely.get_exterior_ring(parts)
    seg = _segments(rings)
    n_rings, n_seg = len(rings), len(seg.length)
    ring_len = np.bincount(seg.owner, weights=seg.length, minlength=n_rings)
    # orientation from the shoelace sum (coordinates centred to keep precision)
    centre = seg.a.mean(axis=0) if n_seg else np.zeros(2)
    ca, cb = seg.a - centre, seg.b - centre
    area2 = np.bincount(seg.owner, weights=ca[:, 0] * cb[:, 1] - cb[:, 0] * ca[:, 1],
                        minlength=n_rings)
    n_samp = np.where(ring_len > 0, np.maximum(np.ceil(ring_len / step_m - 1e-9), 4), 0)
    n_samp = n_samp.astype(np.int64)
    ring_start = np.zeros(n_rings, dtype=np.int64)
    np.cumsum(n_samp[:-1], out=ring_start[1:])
    ring = np.repeat(np.arange(n_rings), n_samp)
    spacing = np.divide(ring_len, n_samp, out=np.zeros(n_rings), where=n_samp > 0)
    k = np.arange(len(ring)) - ring_start[ring]
    pos = (k + 0.5) * spacing[ring]

    # the same as shapely.line_interpolate_point on the rings, plus the segment of each sample
    seg_start = np.zeros(n_seg)
    np.cumsum(seg.length[:-1], out=seg_start[1:])
    last = max(n_seg - 1, 0)
    first_seg = np.minimum(np.searchsorted(seg.owner, np.arange(n_rings)), last)
    odo = seg_start[first_seg][ring] + pos
    wall = np.clip(np.searchsorted(seg_start, odo, side="right") - 1, 0, last)
    t = (odo - seg_start[wall]) / seg.length[wall] if len(wall) else np.empty(0)
    xy = seg.a[wall] + t[:, None] * (seg.b[wall] - seg.a[wall])
    unit = (seg.b - seg.a) / seg.length[:, None] if n_seg else np.empty((0, 2))
    ccw = area2[seg.owner] > 0
    # the outside is on the right of a counter-clockwise ring, on the left of a clockwise one
    normal = np.where(ccw[:, None], np.column_stack([unit[:, 1], -unit[:, 0]]),
                      np.column_stack([-unit[:, 1], unit[:, 0]]))
    return _Samples(
        xy=xy, weight=spacing[ring], ring=ring,
        building=part_building[ring].astype(np.int64), wall=wall.astype(np.int64),
        ring_start=ring_start, ring_count=n_samp, walls=seg, wall_normal=normal,
        wall_building=part_building[seg.owner].astype(np.int64),
    )


def _rectangle_sides(footprints: np.ndarray) -> np.ndarray:
    """Corners ``(n, 5, 2)`` of each footprint's minimum rotated rectangle (closed ring)."""
    rect = shapely.minimum_rotated_rectangle(footprints)
    ring = shapely.get_exterior_ring(rect)
    ok = (shapely.get_type_id(rect) == shapely.GeometryType.POLYGON) & (
        shapely.get_num_coordinates(ring) == 5
    )
    if not ok.all():  # degenerate footprints: fall back to the bounding box
        bounds = shapely.bounds(footprints[~ok])
        rect = rect.copy()
        rect[~ok] = shapely.box(*bounds.T)
        ring = shapely.get_exterior_ring(rect)
    return shapely.get_coordinates(ring).reshape(-1, 5, 2)


def _nearest_side(xy: np.ndarray, corners: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Index (0..3) of the side of rectangle ``corners[owner]`` nearest to each point.

    Called with the midpoints of the wall segments: a straight wall belongs to one side.
    """
    best = np.full(len(xy), np.inf)
    side = np.zeros(len(xy), dtype=np.int64)
    for s in range(4):
        d = _point_segment(xy, corners[owner, s], corners[owner, s + 1])[0]
        closer = d < best
        best[closer] = d[closer]
        side[closer] = s
    return side


def _point_segment(
    p: np.ndarray, a: np.ndarray, b: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from points ``p`` to segments ``a``-``b`` and the nearest point on each."""
    ab = b - a
    den = np.einsum("ij,ij->i", ab, ab)
    t = np.divide(np.einsum("ij,ij->i", p - a, ab), den, out=np.zeros(len(p)), where=den > 0)
    c = a + np.clip(t, 0.0, 1.0)[:, None] * ab
    return np.hypot(*(p - c).T), c


# --------------------------------------------------------------------------------------------
# Lanes in front of the wall
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Lanes:
    """Per wall sample: the serving lane and the bands it falls in."""

    edge_m: np.ndarray  # near-edge distance of the nearest serving lane (inf when none)
    edge: np.ndarray  # roads row of that lane (-1 when none)
    aerial: np.ndarray  # some lane in front within the aerial band


def _edge_widths(truck: TruckGraph) -> tuple[np.ndarray, np.ndarray]:
    roads = truck.graph.roads
    width = roads["width_m"].to_numpy(dtype=np.float64)
    source = roads["width_source"].fillna("").astype(str).str.strip().str.lower().to_numpy()
    estimated = ~np.isin(source, ["width", "maxwidth"]) | ~np.isfinite(width)
    width = np.where(np.isfinite(width), width, truck.options.min_width_m)
    return width, estimated


def _lanes(
    samples: _Samples,
    truck: TruckGraph,
    width: np.ndarray,
    *,
    max_lane_m: float,
    band: tuple[float, float] | None,
    max_facing_deg: float,
) -> _Lanes:
    """The lanes in front of each wall sample.

    One STRtree ``dwithin`` query per wall segment (not per sample) finds the lane segments
    within reach; each such pair is then expanded to the samples of that wall segment and
    measured with numpy. Chunks hold whole wall segments, so each sample's candidates are all in
    one chunk.
    """
    n = len(samples.weight)
    edge_m = np.full(n, np.inf)
    best_edge = np.full(n, -1, dtype=np.int64)
    aerial = np.zeros(n, dtype=bool)
    passable = np.flatnonzero(truck.edge_passable)
    if n == 0 or len(passable) == 0:
        return _Lanes(edge_m=edge_m, edge=best_edge, aerial=aerial)
    reach = max_lane_m + float((width[passable] / 2.0).max())
    walls = samples.walls
    wall_lines = shapely.linestrings(np.stack([walls.a, walls.b], axis=1))
    # Only the edges within reach of some wall are cut into segments (a segment is never
    # nearer a wall than its edge): at 1M edges this keeps a few percent of ~5M segments.
    _, near = truck.graph.tree.query(wall_lines, predicate="dwithin", distance=reach)
    near = np.unique(near)
    near = near[truck.edge_passable[near]]
    if len(near) == 0:
        return _Lanes(edge_m=edge_m, edge=best_edge, aerial=aerial)
    lane = _segments(truck.graph.geometry[near])
    lane_edge = near[lane.owner]
    half = width[lane_edge] / 2.0
    tree = shapely.STRtree(
        np.asarray(shapely.linestrings(np.stack([lane.a, lane.b], axis=1)), dtype=object)
    )
    wi, li = tree.query(wall_lines, predicate="dwithin", distance=reach)
    order = np.lexsort((li, wi))
    wi, li = wi[order], li[order]
    n_walls = len(walls.length)
    wall_first = np.searchsorted(samples.wall, np.arange(n_walls))
    wall_count = np.bincount(samples.wall, minlength=n_walls)
    cnt = wall_count[wi]
    cos_max = math.cos(math.radians(max_facing_deg))
    if len(wi) == 0:
        return _Lanes(edge_m=edge_m, edge=best_edge, aerial=aerial)
    # chunks of whole wall segments, about _CHUNK_PAIRS expanded pairs each
    starts = np.flatnonzero(np.concatenate([[True], wi[1:] != wi[:-1]]))
    before = (np.cumsum(cnt) - cnt)[starts] // _CHUNK_PAIRS
    bounds = [0, *starts[np.flatnonzero(np.diff(before)) + 1].tolist(), len(wi)]
    for lo, hi in itertools.pairwise(bounds):
        c_wall, c_lane, c_cnt = wi[lo:hi], li[lo:hi], cnt[lo:hi]
        total = int(c_cnt.sum())
        offset = np.repeat(np.cumsum(c_cnt) - c_cnt, c_cnt)
        q = np.repeat(wall_first[c_wall], c_cnt) + (np.arange(total) - offset)
        s = np.repeat(c_lane, c_cnt)
        p = samples.xy[q]
        d, c = _point_segment(p, lane.a[s], lane.b[s])
        toward = np.einsum("ij,ij->i", c - p, samples.wall_normal[np.repeat(c_wall, c_cnt)])
        e_m = np.maximum(d - half[s], 0.0)
        ok = ((d < 1e-6) | (toward >= cos_max * d)) & (e_m <= max_lane_m)
        q, s, e_m = q[ok], s[ok], e_m[ok]
        if band is not None:
            aerial[q[(e_m >= band[0]) & (e_m <= band[1])]] = True
        np.minimum.at(edge_m, q, e_m)
        best = e_m == edge_m[q]
        best_edge[q[best]] = lane_edge[s[best]]
    return _Lanes(edge_m=edge_m, edge=best_edge, aerial=aerial)


# --------------------------------------------------------------------------------------------
# Aerial site extent: runs of aerial-band wall along each ring
# --------------------------------------------------------------------------------------------


def _rotate_rings(samples: _Samples, flag: np.ndarray) -> np.ndarray:
    """Permutation that starts each ring at the first sample of a non-flagged run.

    After it no run of flagged samples wraps round the ring's start (unless the whole ring is
    flagged), and the unflagged run at the start is whole.
    """
    n = len(flag)
    if n == 0:
        return np.empty(0, dtype=np.int64)
    r = samples.ring
    start, count = samples.ring_start[r], samples.ring_count[r]
    local = np.arange(n) - start
    prev = start + (local - 1) % count
    candidate = ~flag & flag[prev]
    first = np.full(len(samples.ring_start), np.iinfo(np.int64).max)
    np.minimum.at(first, r[candidate], local[candidate])
    shift = np.where(first == np.iinfo(np.int64).max, 0, first)
    return start + (local + shift[r]) % count


def _extent_ok(
    samples: _Samples,
    flag: np.ndarray,
    side: np.ndarray,
    *,
    bridge_m: float,
    perimeter: np.ndarray,
    long_side_m: np.ndarray,
    is_long: np.ndarray,
    side_wall: np.ndarray,
    perimeter_frac: float,
    side_fraction: float,
) -> np.ndarray:
    """Whether the flagged wall meets the aerial-site extent, joining pieces <= ``bridge_m`` apart.

    Pieces of flagged wall separated by unflagged stretches no longer than ``bridge_m`` form one
    site whose length is the flagged length only. A building passes when one site covers
    ``side_fraction`` of a long side's wall, or is >= ``perimeter_frac`` of the perimeter and
    >= one long side.
    """
    n_b = len(perimeter)
    ok = np.zeros(n_b, dtype=bool)
    n = len(flag)
    if n == 0 or not flag.any():
        return ok
    perm = _rotate_rings(samples, flag)
    f, w, r, sd = flag[perm], samples.weight[perm], samples.ring[perm], side[perm]
    at_start = np.zeros(n, dtype=bool)
    at_start[samples.ring_start[samples.ring_count > 0]] = True
    # runs of equal flag within a ring
    run_break = at_start.copy()
    run_break[1:] |= f[1:] != f[:-1]
    run = np.cumsum(run_break) - 1
    run_len = np.bincount(run, weights=w)
    run_flag = f[run_break]
    run_ring = r[run_break]
    ring_has = np.bincount(r, weights=f, minlength=len(samples.ring_start)) > 0
    bridged = ~run_flag & (run_len <= bridge_m) & ring_has[run_ring]
    cover = (run_flag | bridged)[run]
    grp_break = at_start.copy()
    grp_break[1:] |= cover[1:] != cover[:-1]
    group = np.cumsum(grp_break) - 1
    # a bridged gap at a ring's start joins the ring's last site to its first
    starts = samples.ring_start[samples.ring_count > 0]
    ends = starts + samples.ring_count[samples.ring_count > 0] - 1
    wrap = cover[starts] & cover[ends] & ~f[starts]
    remap = np.arange(group[-1] + 1)
    remap[group[ends[wrap]]] = group[starts[wrap]]
    group = remap[group]

    fw = w * f
    grp_flag_m = np.bincount(group, weights=fw, minlength=len(remap))
    grp_building = np.zeros(len(remap), dtype=np.int64)
    grp_building[group] = samples.building[perm]
    best = np.zeros(n_b)
    np.maximum.at(best, grp_building, grp_flag_m)
    need = np.maximum(perimeter_frac * perimeter, long_side_m) - _EPS_M
    ok |= best >= need
    # along one long side: flagged wall of one site on that side
    key = group * 4 + sd
    gs_m = np.bincount(key, weights=fw, minlength=len(remap) * 4).reshape(-1, 4)
    b_of = grp_building
    side_need = side_fraction * side_wall[b_of] - _EPS_M
    side_ok = (gs_m >= side_need) & is_long[b_of] & (side_wall[b_of] > 0)
    hit = np.zeros(n_b, dtype=bool)
    np.logical_or.at(hit, b_of, side_ok.any(axis=1))
    return ok | hit
