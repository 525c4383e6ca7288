"""High-rise fire-truck access (生命通道): lanes along the façades, aerial sites, dead-end lanes.

:func:`high_rise_access` checks every high-rise (GB 50016 5.1.1 class 1 or 2) against the lane
layout of GB 50016 7.1.2 and the aerial apparatus operating site of GB 50016 7.2.1 / GB 55037
3.4.6. :func:`dead_end_lanes` finds dead-end lanes of the truck graph longer than the limit
(GB 55037 3.4.5: 40 m) that serve a high-rise and have no turnaround (GB 50016 7.1.9).

How the façade is measured
--------------------------
Each footprint's outer walls (exterior rings; courtyard walls are left out) are sampled every
``sample_step_m`` (1 m, the same points as ``shapely.line_interpolate_point``, computed with numpy
so that each sample keeps its wall segment): a sample stands for that much wall. The lane
segments within reach of each straight wall segment come from one STRtree ``dwithin`` query over
the segments of the passable truck edges (a lane centreline may be nearer yet not in front, so
the plain nearest edge is not enough); each (sample, lane segment) pair is then measured with
numpy:

* the **lane edge distance** is the distance from the wall sample to the lane centreline minus
  half the edge's ``width_m``, clipped at 0 (a carriageway that reaches the wall, usually an
  estimated width that is too wide, counts as 0 m);
* the lane must lie **in front of the wall**: the direction from the sample to the nearest
  point of the centreline is within ``max_facing_deg`` of the wall's outward normal. So a lane
  along the north side serves the north wall, not the ends of the east and west walls it passes
  diagonally; a lane that stops short serves the wall a little past its end.

A sample is **served** when a lane in front of it has its near edge within ``[0, max_lane_m]``
(the nearest such lane is the sample's lane); **too close** when that lane's edge is nearer than
``fire_lane_wall_distance`` (5 m, GB 50016 7.1.8, a should); in the **aerial band** when some
lane in front of it has its near edge within ``aerial_site_facade_min``–``aerial_site_facade_max``
(5–10 m, GB 50016 7.2.2). The lane stands in for the aerial operating site: a hardstanding that is
not in OSM is not seen, and the site's size (15 × 10 m, 20 × 10 m above 50 m) and slope are not
checked. Buildings or walls between the lane and the façade are not seen either, nor lanes that
pass under a building (they count as 0 m from the wall).

Long sides are the two longer sides of the footprint's minimum rotated rectangle; each straight
wall segment belongs to the rectangle side nearest to its midpoint (for a near-square footprint
the choice of long sides is arbitrary).

Layout (one verdict per building, the first that holds):

``ring``
    served length >= ``ring_fraction`` (0.9) of the perimeter;
``two_long_sides``
    both long sides served over >= ``side_fraction`` (0.8) of their wall;
``one_long_side``
    one long side served so;
``quarter_perimeter``
    aerial-band length >= 1/4 of the perimeter and >= one long side;
``insufficient``
    none of these.

Rules (each checked only when the preset has it; ``us`` and ``de`` have none of the GB rules):

``fire_lane_ring_required`` (GB 50016 7.1.2, shall)
    ``ring`` or ``two_long_sides`` pass (two long sides are allowed where a ring is truly
    difficult); ``one_long_side`` passes for residential high-rises only, when that long side is
    also the aerial operating face (its wall in the aerial band over ``side_fraction``). A building
    of unknown use is held to the public-building rule.
``fire_lane_ring_connections`` (GB 50016 7.1.9, shall)
    for a ``ring``: the lanes serving the building meet other passable roads at >= 2 nodes.
``aerial_site_extent`` (GB 50016 7.2.1, shall)
    the aerial band runs continuously along one long side (over ``side_fraction`` of it), or
    over >= 1/4 of the perimeter and not less than one long side. For buildings up to
    ``aerial_site_gap.max_height_m`` (50 m) the site may be broken: the total length counts
    (a building of unknown height is held to the continuous rule).
``aerial_site_gap`` (GB 50016 7.2.1, should)
    for those buildings, the pieces may be at most ``aerial_site_gap.value_m`` (30 m) apart.
``fire_lane_wall_distance`` (GB 50016 7.1.8, should)
    at least ``min_flag_m`` of wall served by a lane nearer than 5 m.

``compliant_access`` is True when no *shall* rule above fails.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import vocabulary
from geo.errors import ConfigError, CRSError, LayerValidationError
from geo.presets import Preset
from geo.schema import require_projected
from routing.findings import FINDING_COLUMNS, concat_findings, findings
from routing.graph import TruckGraph

__all__ = [
    "DEAD_END_COLUMNS",
    "HIGH_RISE_ACCESS_COLUMNS",
    "HIGH_RISE_CLASSES",
    "LAYOUTS",
    "AccessOptions",
    "access_edges",
    "access_summary",
    "dead_end_lanes",
    "high_rise_access",
]

log = logging.getLogger(__name__)

#: ``high_rise_class`` values (:data:`geo.schema.BUILDINGS`) that are checked.
HIGH_RISE_CLASSES: tuple[str, ...] = vocabulary.HIGH_RISE_CLASSES

#: Layout verdicts, best first.
LAYOUTS: tuple[str, ...] = vocabulary.LANE_LAYOUTS

#: Columns of the ``high_rise_access`` layer (plus ``geometry``, the footprint).
HIGH_RISE_ACCESS_COLUMNS: list[str] = [
    "building_id", "name", "high_rise_class", "use", "height_m",
    "perimeter_m", "served_m", "served_pct", "too_close_m", "aerial_band_m", "aerial_pct",
    "long_side_m", "long_side_1_pct", "long_side_2_pct", "long_sides_served",
    "estimated_width_pct", "ring_connections", "layout", "aerial_extent_ok", "compliant_access",
    "reasons",
]

#: Columns of the ``dead_ends`` layer (plus ``geometry``, the chain merged into one line).
DEAD_END_COLUMNS: list[str] = [
    "end_node_id", "junction_node_id", "edge_ids", "n_edges", "length_m", "has_turnaround",
    "turnaround_node_id", "turnaround_from_end_m", "high_rises", "n_high_rises",
    "turnaround_required_m", "verdict",
]

#: Dead-end verdicts: within the limit, with a turnaround, over the limit serving a high-rise
#: without one (a finding), over the limit serving no high-rise (listed, not flagged).
DEAD_END_VERDICTS: tuple[str, ...] = vocabulary.DEAD_END_VERDICTS

_BUILDING_COLUMNS = ("building_id", "name", "high_rise_class", "use", "height_m")
_TURNAROUND_COLUMNS = ("node_id", "kind")
#: (wall sample, lane segment) pairs per chunk of the lane measurement (bounds the memory).
_CHUNK_PAIRS = 1_000_000
#: Slack (m) when comparing lengths summed from samples with side lengths.
_EPS_M = 1e-6


@dataclass(frozen=True)
class AccessOptions:
    """Choices of the façade check that are not rules of the preset.

    Attributes
    ----------
    max_lane_m
        A lane serves the wall when its near edge is within this distance (m). GB 50016 sets no
        maximum for 7.1.2; 15 m is a FireReach assumption (the 10 m aerial-band maximum plus room
        for a kerb and a verge), unverified: set your authority's value.
    ring_fraction
        Share of the perimeter that must be served for a ``ring`` (0.9: corners, entrances and
        short gaps where a lane turns away do not break a ring).
    side_fraction
        Share of a long side's wall that must be served for that side to count (0.8), and that
        must be in the aerial band for the side to be an aerial operating face.
    sample_step_m
        Spacing of the wall samples (m); every ring gets at least 4.
    max_facing_deg
        A lane serves a wall sample only when it lies within this angle of the wall's outward
        normal (45°: in front of the wall, not beside it).
    min_flag_m
        ``fire_lane_wall_distance`` is flagged when at least this much wall (m) is served by a lane
        nearer than the minimum (shorter stretches are corner effects).
    """

    max_lane_m: float = 15.0
    ring_fraction: float = 0.9
    side_fraction: float = 0.8
    sample_step_m: float = 1.0
    max_facing_deg: float = 45.0
    min_flag_m: float = 2.0

    def __post_init__(self) -> None:
        problems = []
        if not self.max_lane_m > 0:
            problems.append(f"max_lane_m must be > 0 (got {self.max_lane_m})")
        for name in ("ring_fraction", "side_fraction"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                problems.append(f"{name} must be in (0, 1] (got {value})")
        if not self.sample_step_m > 0:
            problems.append(f"sample_step_m must be > 0 (got {self.sample_step_m})")
        if not 0 < self.max_facing_deg <= 90:
            problems.append(f"max_facing_deg must be in (0, 90] (got {self.max_facing_deg})")
        if not self.min_flag_m >= 0:
            problems.append(f"min_flag_m must be >= 0 (got {self.min_flag_m})")
        if problems:
            raise ConfigError("AccessOptions: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _check_layer(
    gdf: gpd.GeoDataFrame, truck: TruckGraph, *, name: str, columns: tuple[str, ...]
) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerValidationError(
            f"layer {name!r} must be a GeoDataFrame (got {type(gdf).__name__})"
        )
    missing = [c for c in columns if c not in gdf.columns]
    if missing:
        raise LayerValidationError(
            f"layer {name!r} is missing columns {missing}; see geo.schema.{name.upper()}"
        )
    require_projected(gdf, name=name)
    if gdf.crs != truck.graph.crs:
        raise CRSError(
            f"layer {name!r} ({gdf.crs.to_string()}) and the roads graph "
            f"({truck.graph.crs.to_string()}) are in different CRSs; build all layers with one "
            "working CRS"
        )


def _check_footprints(geoms: np.ndarray, ids: np.ndarray) -> None:
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    bad = ~polygonal | shapely.is_empty(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LayerValidationError(
            f"layer 'buildings': {int(bad.sum())} high-rise rows have no polygon footprint "
            f"(first: building_id {ids[i]!r}, geometry {shapely.get_type_id(geoms[i])!r}); "
            "give every high-rise a Polygon or MultiPolygon"
        )


def _high_rise_rows(buildings: gpd.GeoDataFrame) -> np.ndarray:
    cls = buildings["high_rise_class"].fillna("").astype(str).str.strip().str.lower()
    return np.flatnonzero(cls.isin(HIGH_RISE_CLASSES).to_numpy())


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
    lane = _segments(truck.graph.geometry[passable])
    lane_edge = passable[lane.owner]
    half = width[lane_edge] / 2.0
    reach = max_lane_m + float(half.max())
    tree = shapely.STRtree(
        np.asarray(shapely.linestrings(np.stack([lane.a, lane.b], axis=1)), dtype=object)
    )
    walls = samples.walls
    wall_lines = shapely.linestrings(np.stack([walls.a, walls.b], axis=1))
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


# --------------------------------------------------------------------------------------------
# high_rise_access
# --------------------------------------------------------------------------------------------


def _rule_value(preset: Preset, rule_id: str, key: str) -> float | None:
    return preset.rule(rule_id).value(key) if rule_id in preset.rules else None


def _empty_access(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in HIGH_RISE_ACCESS_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=buildings.crs), crs=buildings.crs)


def high_rise_access(
    truck: TruckGraph,
    buildings: gpd.GeoDataFrame,
    *,
    preset: Preset,
    options: AccessOptions | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Fire lanes and aerial sites along the façades of every high-rise.

    Parameters
    ----------
    truck
        The fire-truck view (:func:`routing.graph.truck_graph`); only passable edges are lanes.
    buildings
        Buildings layer (:data:`geo.schema.BUILDINGS`, at least ``building_id``, ``name``,
        ``high_rise_class``, ``use``, ``height_m``) in the graph's CRS. Rows whose
        ``high_rise_class`` is ``class1`` or ``class2`` are checked; the others are left out.
    preset
        Rule preset: ``fire_lane_wall_distance``, ``aerial_site_facade_min/max``,
        ``aerial_site_extent``, ``aerial_site_gap``, ``fire_lane_ring_required``,
        ``fire_lane_ring_connections``. A rule the preset lacks is not checked.
    options
        Lane reach, layout fractions, sampling; ``AccessOptions()`` by default.

    Returns
    -------
    high_rise_access : geopandas.GeoDataFrame
        One row per high-rise, columns :data:`HIGH_RISE_ACCESS_COLUMNS` and the footprint as
        geometry. Lengths in metres, ``*_pct`` in percent of the perimeter (of the long side for
        ``long_side_*_pct``; side 1 is the better served). ``aerial_band_m``/``aerial_pct`` are
        NaN when the preset has no aerial band; ``ring_connections`` is -1 unless the layout is
        ``ring``; ``estimated_width_pct`` is the share of the served wall whose lane width is
        estimated, not tagged.
    findings : pandas.DataFrame
        :data:`routing.findings.FINDING_COLUMNS`, one row per building and failed rule.

    Raises
    ------
    LayerValidationError
        Columns missing, or a high-rise without a polygon footprint.
    CRSError
        ``buildings`` not in a projected CRS in metres, or not in the graph's CRS.
    """
    options = options if options is not None else AccessOptions()
    _check_layer(buildings, truck, name="buildings", columns=_BUILDING_COLUMNS)
    rows = _high_rise_rows(buildings)
    if len(rows) == 0:
        log.info("high-rise access: no class 1 or class 2 high-rises among %d buildings",
                 len(buildings))
        return _empty_access(buildings), pd.DataFrame(columns=FINDING_COLUMNS)
    hr = buildings.iloc[rows]
    ids = hr["building_id"].astype(str).to_numpy(dtype=object)
    geoms = np.asarray(hr.geometry.array)
    _check_footprints(geoms, ids)
    n_b = len(rows)

    wall_min = _rule_value(preset, "fire_lane_wall_distance", "value_m")
    band_lo = _rule_value(preset, "aerial_site_facade_min", "value_m")
    band_hi = _rule_value(preset, "aerial_site_facade_max", "value_m")
    band = (band_lo, band_hi) if band_lo is not None and band_hi is not None else None

    samples = _sample_walls(geoms, options.sample_step_m)
    log.info("high-rise access: %d high-rises, %d wall samples every %.1f m",
             n_b, len(samples.weight), options.sample_step_m)
    width, estimated = _edge_widths(truck)
    lanes = _lanes(samples, truck, width, max_lane_m=options.max_lane_m, band=band,
                   max_facing_deg=options.max_facing_deg)
    served = lanes.edge >= 0
    too_close = served & (lanes.edge_m < (wall_min if wall_min is not None else -np.inf))
    est = served & estimated[np.maximum(lanes.edge, 0)]
    log.info("high-rise access: %d of %d wall samples served by a lane in front within %.0f m",
             int(served.sum()), len(served), options.max_lane_m)

    b, w = samples.building, samples.weight

    def per_building(mask: np.ndarray) -> np.ndarray:
        return np.bincount(b, weights=w * mask, minlength=n_b)

    perimeter = np.bincount(b, weights=w, minlength=n_b)
    served_m = per_building(served)
    too_close_m = per_building(too_close)
    aerial_m = per_building(lanes.aerial)
    est_m = per_building(est)

    corners = _rectangle_sides(geoms)
    side_len = np.hypot(*np.diff(corners, axis=1).transpose(2, 0, 1))  # (n_b, 4)
    first_pair = side_len[:, 0] + side_len[:, 2] >= side_len[:, 1] + side_len[:, 3]
    is_long = np.column_stack([first_pair, ~first_pair, first_pair, ~first_pair])
    long_side_m = np.where(first_pair, side_len[:, [0, 2]].mean(axis=1),
                           side_len[:, [1, 3]].mean(axis=1))
    walls = samples.walls
    wall_side = _nearest_side((walls.a + walls.b) / 2.0, corners, samples.wall_building)
    side = wall_side[samples.wall]
    key = b * 4 + side
    side_wall = np.bincount(key, weights=w, minlength=n_b * 4).reshape(n_b, 4)
    side_served = np.bincount(key, weights=w * served, minlength=n_b * 4).reshape(n_b, 4)
    side_aerial = np.bincount(key, weights=w * lanes.aerial, minlength=n_b * 4).reshape(n_b, 4)
    side_frac = np.divide(side_served, side_wall, out=np.zeros((n_b, 4)), where=side_wall > 0)
    aerial_frac = np.divide(side_aerial, side_wall, out=np.zeros((n_b, 4)), where=side_wall > 0)
    long_frac = np.where(is_long, side_frac, -1.0)
    long_sorted = -np.sort(-long_frac, axis=1)[:, :2]  # the two long sides, best first
    side_ok = is_long & (side_frac >= options.side_fraction - _EPS_M)
    long_served = side_ok.sum(axis=1)
    aerial_face = (side_ok & (aerial_frac >= options.side_fraction - _EPS_M)).any(axis=1)

    extent_rule = "aerial_site_extent" in preset.rules and band is not None
    frac_value = _rule_value(preset, "aerial_site_extent", "perimeter_frac")
    frac = 0.25 if frac_value is None else frac_value
    quarter = (band is not None) & (aerial_m >= frac * perimeter - _EPS_M) & (
        aerial_m >= long_side_m - _EPS_M
    )
    ring = served_m >= options.ring_fraction * perimeter - _EPS_M
    layout = np.select(
        [ring, long_served >= 2, long_served >= 1, quarter],
        ["ring", "two_long_sides", "one_long_side", "quarter_perimeter"],
        default="insufficient",
    ).astype(object)
    names, counts = np.unique(layout.astype(str), return_counts=True)
    log.info("high-rise access: layouts %s",
             ", ".join(f"{k} {c}" for k, c in zip(names.tolist(), counts.tolist(), strict=True)))

    use = hr["use"].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    residential = use == "residential"
    height = hr["height_m"].to_numpy(dtype=np.float64)

    # fire_lane_ring_required (GB 50016 7.1.2)
    ring_rule = "fire_lane_ring_required" in preset.rules
    ring_ok = (np.isin(layout, ["ring", "two_long_sides"])
               | ((layout == "one_long_side") & residential & (aerial_face | (band is None))))
    # fire_lane_ring_connections (GB 50016 7.1.9)
    conn_rule = "fire_lane_ring_connections" in preset.rules
    connections = np.full(n_b, -1, dtype=np.int64)
    if conn_rule:
        is_ring = layout == "ring"
        connections[is_ring] = _ring_connections(
            truck, b, np.where(is_ring[b], lanes.edge, -1), n_b
        )[is_ring]
        min_conn = preset.rule("fire_lane_ring_connections").value("min_count")
        conn_fail = (layout == "ring") & (connections < min_conn)
    else:
        min_conn, conn_fail = 0.0, np.zeros(n_b, dtype=bool)

    # aerial_site_extent / aerial_site_gap (GB 50016 7.2.1)
    gap_m = _rule_value(preset, "aerial_site_gap", "value_m")
    gap_height = _rule_value(preset, "aerial_site_gap", "max_height_m")
    may_break = (gap_height is not None) & (np.nan_to_num(height, nan=np.inf) <= (gap_height or 0))
    extent_ok = np.ones(n_b, dtype=bool)
    gap_fail = np.zeros(n_b, dtype=bool)
    if extent_rule:
        common: dict[str, Any] = {
            "perimeter": perimeter, "long_side_m": long_side_m, "is_long": is_long,
            "side_wall": side_wall, "perimeter_frac": frac, "side_fraction": options.side_fraction,
        }
        continuous = _extent_ok(samples, lanes.aerial, side, bridge_m=0.0, **common)
        broken = _extent_ok(samples, lanes.aerial, side, bridge_m=np.inf, **common)
        extent_ok = np.where(may_break, broken, continuous)
        if gap_m is not None:
            short_gaps = _extent_ok(samples, lanes.aerial, side, bridge_m=gap_m, **common)
            gap_fail = may_break & broken & ~short_gaps
    too_close_fail = (wall_min is not None) & (too_close_m >= max(options.min_flag_m, _EPS_M))

    compliant = ~((ring_rule & ~ring_ok) | conn_fail | (extent_rule & ~extent_ok))
    served_pct = 100.0 * np.divide(served_m, perimeter, out=np.zeros(n_b), where=perimeter > 0)
    aerial_pct = 100.0 * np.divide(aerial_m, perimeter, out=np.zeros(n_b), where=perimeter > 0)
    est_pct = 100.0 * np.divide(est_m, served_m, out=np.zeros(n_b), where=served_m > 0)

    out = gpd.GeoDataFrame(
        {
            "building_id": ids,
            "name": hr["name"].fillna("").astype(str).to_numpy(dtype=object),
            "high_rise_class": hr["high_rise_class"].astype(str).to_numpy(dtype=object),
            "use": hr["use"].fillna("").astype(str).to_numpy(dtype=object),
            "height_m": height,
            "perimeter_m": perimeter,
            "served_m": served_m,
            "served_pct": served_pct,
            "too_close_m": too_close_m,
            "aerial_band_m": aerial_m if band is not None else np.full(n_b, np.nan),
            "aerial_pct": aerial_pct if band is not None else np.full(n_b, np.nan),
            "long_side_m": long_side_m,
            "long_side_1_pct": 100.0 * long_sorted[:, 0],
            "long_side_2_pct": 100.0 * long_sorted[:, 1],
            "long_sides_served": long_served.astype(np.int64),
            "estimated_width_pct": est_pct,
            "ring_connections": connections,
            "layout": layout,
            "aerial_extent_ok": extent_ok if extent_rule else np.full(n_b, True),
            "compliant_access": compliant,
        },
        geometry=gpd.GeoSeries(geoms, crs=buildings.crs),
        crs=buildings.crs,
    )

    kind = np.where(residential, "residential", np.where(use == "public", "public",
                                                          "unknown-use (held to the public rule)"))
    ring_msg = (kind.astype(object) + " high-rise, layout " + layout
                + np.where(residential, ": no ring, no two long sides and no long side that is "
                           "also the aerial operating face",
                           ": a ring lane is required (two long sides where a ring is truly "
                           "difficult)").astype(object))
    est_note = np.where(est_pct > 0, "; lane width estimated for "
                        + np.round(est_pct).astype(int).astype(str) + "% of the served wall",
                        "").astype(object)
    found: list[pd.DataFrame] = []
    reasons = np.full(n_b, "", dtype=object)

    def add(rule_id: str, failed: np.ndarray, values: np.ndarray, limit: float, message: str,
            reason: np.ndarray | str, per_row: np.ndarray | None = None) -> None:
        nonlocal reasons
        reasons = np.where(failed, reasons + "; " + reason, reasons)
        if not failed.any():
            return
        frame = findings("high_rise_access", ids, failed, preset.rule(rule_id), values=values,
                         limit=limit, message=message)
        text = frame["message"].to_numpy(dtype=object)
        if per_row is not None:
            text = per_row[failed] + " (" + text + ")"
        frame["message"] = text + est_note[failed]
        found.append(frame)

    if ring_rule:
        add("fire_lane_ring_required", ~ring_ok, served_pct, 100.0 * options.ring_fraction,
            "served {value:.0f}% of the perimeter; a ring needs {limit:.0f}%",
            "no required lane layout (7.1.2): " + layout, ring_msg)
    if conn_rule:
        add("fire_lane_ring_connections", conn_fail, connections.astype(float), min_conn,
            "ring lane meets other roads at {value:.0f} place(s); at least {limit:.0f} required",
            f"ring lane meets other roads at fewer than {min_conn:g} places")
    if extent_rule:
        long_text = ("; one long side is " + np.round(long_side_m).astype(int).astype(str)
                     + " m").astype(object)
        add("aerial_site_extent", ~extent_ok, aerial_pct, 100.0 * frac,
            "aerial band (lane edge in the façade band) covers {value:.0f}% of the perimeter; "
            "needs one long side, or >= {limit:.0f}% and not less than one long side",
            "aerial site too short", long_text)
        if gap_m is not None:
            add("aerial_site_gap", gap_fail, aerial_m, gap_m,
                "aerial site long enough ({value:.0f} m) only with pieces more than "
                "{limit:.0f} m apart", f"aerial site pieces more than {gap_m:g} m apart")
    if wall_min is not None:
        add("fire_lane_wall_distance", too_close_fail, too_close_m, wall_min,
            "{value:.0f} m of wall served by a lane whose edge is nearer than {limit:.0f} m",
            f"lane nearer than {wall_min:g} m to the wall")
    notes = np.where((use != "residential") & (use != "public"), "; use unknown: public rule", "")
    reasons = np.where(est_pct > 0, reasons + "; lane widths estimated", reasons) + notes
    out["reasons"] = pd.Series(reasons.astype(str)).str.removeprefix("; ").to_numpy(dtype=object)
    out = out[[*HIGH_RISE_ACCESS_COLUMNS, "geometry"]]
    table = concat_findings(found)
    log.info(
        "high-rise access: %d of %d high-rises non-compliant (shall), %d findings",
        int((~compliant).sum()), n_b, len(table),
    )
    return out, table


def _ring_connections(
    truck: TruckGraph, sample_building: np.ndarray, sample_edge: np.ndarray, n_b: int
) -> np.ndarray:
    """Per building: nodes of its serving lanes that also touch another passable edge.

    ``sample_edge`` is the serving edge of each wall sample (-1: none, or not asked for).
    """
    g = truck.graph
    ok = sample_edge >= 0
    pairs = np.unique(sample_building[ok] * g.n_edges + sample_edge[ok])
    out = np.zeros(n_b, dtype=np.int64)
    if len(pairs) == 0:
        return out
    pb, pe = pairs // g.n_edges, pairs % g.n_edges
    passable = truck.edge_passable
    degree = np.bincount(np.concatenate([g.u_idx[passable], g.v_idx[passable]]),
                         minlength=g.n_nodes)
    ends = np.concatenate([g.u_idx[pe], g.v_idx[pe]])
    owners = np.concatenate([pb, pb])
    bn, within = np.unique(owners * g.n_nodes + ends, return_counts=True)
    outside = degree[bn % g.n_nodes] > within
    np.add.at(out, bn[outside] // g.n_nodes, 1)
    return out


# --------------------------------------------------------------------------------------------
# Dead-end lanes
# --------------------------------------------------------------------------------------------


def access_edges(
    truck: TruckGraph, footprints: gpd.GeoSeries, *, max_access_m: float = 60.0
) -> np.ndarray:
    """Roads row of the passable edge nearest to each footprint (-1 beyond ``max_access_m``).

    The same edge as :func:`routing.water.building_access` picks; use its ``snaps.edge`` when it
    has been computed already.
    """
    geoms = np.asarray(footprints.array if isinstance(footprints, gpd.GeoSeries) else footprints)
    out = np.full(len(geoms), -1, dtype=np.int64)
    candidates = np.flatnonzero(truck.edge_passable)
    if len(candidates) == 0 or len(geoms) == 0:
        return out
    tree = shapely.STRtree(truck.graph.geometry[candidates])
    q, t = tree.query_nearest(geoms, max_distance=max_access_m, all_matches=False)
    out[q] = candidates[t]
    return out


def _turnaround_text(rule_shape: str, size_m: float) -> str:
    if "square" in rule_shape or not rule_shape:
        return f"{size_m:g} × {size_m:g} m"
    return f"{size_m:g} m ({rule_shape})"


def dead_end_lanes(
    truck: TruckGraph,
    *,
    turnarounds: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    access_edge: np.ndarray,
    preset: Preset,
    apparatus: str = "pumper",
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Dead-end lanes of the truck graph, their turnarounds and the high-rises they serve.

    In the undirected graph of passable edges, a dead-end chain runs from a node of degree 1
    through nodes of degree 2 to the first node of degree >= 3 (a chain that ends in a loop
    meets such a node, so it is not a dead end; a path that ends at another degree-1 node is an
    isolated lane, listed once with ``junction_node_id`` -1). Its length is the sum of its
    edges' lengths. It has a turnaround when one of its nodes other than the junction is in
    ``turnarounds`` (OSM ``highway=turning_circle|turning_loop``; their size is not in OSM and
    is not checked). It serves a high-rise when the high-rise's access edge is on it.

    Parameters
    ----------
    truck
        The fire-truck view; only passable edges are lanes.
    turnarounds
        Turnarounds layer (:data:`geo.schema.TURNAROUNDS`: ``node_id``, ``kind``); ids that are
        not graph nodes are ignored.
    buildings
        Buildings layer (``building_id``, ``high_rise_class``) in the graph's CRS.
    access_edge
        Roads row of each building's access edge (aligned with ``buildings``, -1 for none):
        ``building_access(...).snaps.edge`` (:mod:`routing.water`) or :func:`access_edges`.
    preset
        ``fire_lane_dead_end`` (limit) and ``fire_lane_turnaround`` (size to name).
    apparatus
        Apparatus profile (``pumper``, ``aerial``, ``heavy``): the turnaround size named in the
        findings is the larger of the profile's and the rule's high-rise size (18 m for heavy).

    Returns
    -------
    dead_ends : geopandas.GeoDataFrame
        One row per chain, columns :data:`DEAD_END_COLUMNS`; ``high_rises`` joins the ids of the
        high-rises served with ``';'``; ``verdict`` is one of :data:`DEAD_END_VERDICTS`.
    findings : pandas.DataFrame
        One ``fire_lane_dead_end`` row per chain longer than the limit that serves a high-rise
        and has no turnaround.
    """
    _check_layer(buildings, truck, name="buildings", columns=("building_id", "high_rise_class"))
    missing = [c for c in _TURNAROUND_COLUMNS if c not in turnarounds.columns]
    if missing:
        raise LayerValidationError(
            f"layer 'turnarounds' is missing columns {missing}; see geo.schema.TURNAROUNDS"
        )
    access = np.asarray(access_edge)
    if access.shape != (len(buildings),) or not np.issubdtype(access.dtype, np.integer):
        raise LayerValidationError(
            f"access_edge must be an integer array with one roads row per building "
            f"({len(buildings)}); got dtype {access.dtype}, shape {access.shape}"
        )
    g = truck.graph
    if len(access) and (access.max(initial=-1) >= g.n_edges or access.min(initial=0) < -1):
        raise LayerValidationError(
            f"access_edge holds values outside -1..{g.n_edges - 1} (roads rows of the graph)"
        )
    limit_rule = preset.rule("fire_lane_dead_end")
    limit = limit_rule.value("value_m")
    turn_rule = preset.rule("fire_lane_turnaround")
    profile = preset.profile(apparatus)
    required = max(profile.turnaround_m, turn_rule.value("high_rise_m"))
    if apparatus == "heavy":
        required = max(required, turn_rule.value("heavy_m"))
    size_text = _turnaround_text(turn_rule.text.get("shape", ""), required)

    chains = _dead_end_chains(truck)
    turn_ids = turnarounds["node_id"].to_numpy(dtype=np.int64)
    pos = np.minimum(np.searchsorted(g.node_ids, turn_ids), max(g.n_nodes - 1, 0))
    found_node = g.node_ids[pos] == turn_ids if g.n_nodes else np.zeros(0, dtype=bool)
    if len(turn_ids) and not found_node.all():
        log.info("dead ends: ignored %d turnarounds whose node is not in the graph",
                 int((~found_node).sum()))
    is_turn = np.zeros(g.n_nodes, dtype=bool)
    is_turn[pos[found_node]] = True

    n_c = len(chains.end)
    has_turn = np.zeros(n_c, dtype=bool)
    turn_node = np.full(n_c, -1, dtype=np.int64)
    turn_from_end = np.full(n_c, np.nan)
    if n_c:
        hit = is_turn[chains.node]
        # first turnaround from the dead end: nodes are stored from the dead end outwards
        order = np.flatnonzero(hit)
        ch = chains.node_chain[order]
        first = np.ones(len(ch), dtype=bool)
        first[1:] = ch[1:] != ch[:-1]
        has_turn[ch[first]] = True
        turn_node[ch[first]] = g.node_ids[chains.node[order[first]]]
        turn_from_end[ch[first]] = chains.node_dist[order[first]]

    ids = buildings["building_id"].astype(str).to_numpy(dtype=object)
    hr_rows = _high_rise_rows(buildings)
    hr_rows = hr_rows[access[hr_rows] >= 0]
    chain_of = chains.edge_chain[access[hr_rows]]
    served = pd.DataFrame({"chain": chain_of, "id": ids[hr_rows]})
    served = served.loc[served["chain"] >= 0]
    grouped = served.groupby("chain")["id"]
    hr_text = np.full(n_c, "", dtype=object)
    hr_count = np.zeros(n_c, dtype=np.int64)
    if len(served):
        joined = grouped.agg(lambda s: ";".join(sorted(s)))
        hr_text[joined.index.to_numpy()] = joined.to_numpy()
        counts = grouped.size()
        hr_count[counts.index.to_numpy()] = counts.to_numpy()

    over = chains.length > limit
    verdict = np.select(
        [~over, has_turn, hr_count > 0], ["short", "turnaround", "no_turnaround"],
        default="no_turnaround_other",
    ).astype(object)
    out = gpd.GeoDataFrame(
        {
            "end_node_id": g.node_ids[chains.end] if n_c else np.empty(0, dtype=np.int64),
            "junction_node_id": np.where(chains.junction >= 0,
                                         g.node_ids[np.maximum(chains.junction, 0)], -1)
            if n_c else np.empty(0, dtype=np.int64),
            "edge_ids": chains.edge_ids,
            "n_edges": chains.n_edges,
            "length_m": chains.length,
            "has_turnaround": has_turn,
            "turnaround_node_id": turn_node,
            "turnaround_from_end_m": turn_from_end,
            "high_rises": hr_text,
            "n_high_rises": hr_count,
            "turnaround_required_m": np.where(hr_count > 0, required, profile.turnaround_m),
            "verdict": verdict,
        },
        geometry=gpd.GeoSeries(chains.geometry, crs=g.crs),
        crs=g.crs,
    )
    failed = verdict == "no_turnaround"
    feature_ids = np.array([f"dead_end/{n}" for n in out["end_node_id"]], dtype=object)
    table = findings(
        "dead_ends", feature_ids, failed, limit_rule, values=chains.length, limit=limit,
        message="dead-end lane {value:.0f} m long (limit {limit:.0f} m) serving a high-rise "
        f"has no turnaround; a {size_text} turnaround is required ({turn_rule.clause}, "
        f"{apparatus})",
    )
    if len(table):
        table["message"] = table["message"] + ": serves " + hr_text[failed].astype(str)
    log.info(
        "dead ends: %d chains, %d over %.0f m, %d with a turnaround, %d serving high-rises "
        "without one", n_c, int(over.sum()), limit, int((over & has_turn).sum()), int(failed.sum()),
    )
    return out, concat_findings([table])


@dataclass(frozen=True)
class _Chains:
    end: np.ndarray  # dead-end node index per chain
    junction: np.ndarray  # node of degree >= 3 where it meets the network (-1: isolated)
    length: np.ndarray
    n_edges: np.ndarray
    edge_ids: np.ndarray  # ';'-joined edge_id per chain
    geometry: np.ndarray
    edge_chain: np.ndarray  # chain of each roads row (-1: on none)
    node: np.ndarray  # nodes of the chains (junction excluded), dead end first
    node_chain: np.ndarray
    node_dist: np.ndarray  # distance of each of those nodes from the dead end


def _dead_end_chains(truck: TruckGraph) -> _Chains:
    """Walk every dead-end chain of the undirected passable graph."""
    g = truck.graph
    live = np.flatnonzero(truck.edge_passable)
    u, v = g.u_idx[live], g.v_idx[live]
    degree = np.bincount(np.concatenate([u, v]), minlength=g.n_nodes)
    # incidence lists (self-loops count twice in the degree but are never walked)
    walk = u != v
    ends_a = np.concatenate([u[walk], v[walk]])
    ends_b = np.concatenate([v[walk], u[walk]])
    inc_edge = np.concatenate([live[walk], live[walk]])
    order = np.argsort(ends_a, kind="stable")
    ends_a, ends_b, inc_edge = ends_a[order], ends_b[order], inc_edge[order]
    ptr = np.zeros(g.n_nodes + 1, dtype=np.int64)
    np.cumsum(np.bincount(ends_a, minlength=g.n_nodes), out=ptr[1:])

    starts = np.flatnonzero(degree == 1)
    done = np.zeros(g.n_nodes, dtype=bool)
    edge_chain = np.full(g.n_edges, -1, dtype=np.int64)
    ends_l: list[int] = []
    junctions: list[int] = []
    lengths: list[float] = []
    n_edges: list[int] = []
    edge_ids: list[str] = []
    geoms: list[list[int]] = []
    nodes_l: list[int] = []
    node_chain_l: list[int] = []
    node_dist_l: list[float] = []
    length_m, eid = g.length_m, g.edge_id
    for start in starts.tolist():
        if done[start]:
            continue
        done[start] = True
        c = len(ends_l)
        node, prev, dist = start, -1, 0.0
        edges: list[int] = []
        junction = -1
        for _ in range(g.n_edges + 1):
            nodes_l.append(node)
            node_chain_l.append(c)
            node_dist_l.append(dist)
            lo, hi = ptr[node], ptr[node + 1]
            k = lo if hi - lo == 1 or inc_edge[lo] != prev else lo + 1
            e, nxt = int(inc_edge[k]), int(ends_b[k])
            edges.append(e)
            dist += float(length_m[e])
            prev = e
            if degree[nxt] != 2:
                if degree[nxt] == 1:  # an isolated path: its far end is done too
                    done[nxt] = True
                    nodes_l.append(nxt)
                    node_chain_l.append(c)
                    node_dist_l.append(dist)
                else:
                    junction = nxt
                break
            node = nxt
        edge_chain[edges] = c
        ends_l.append(start)
        junctions.append(junction)
        lengths.append(dist)
        n_edges.append(len(edges))
        edge_ids.append(";".join(str(int(eid[e])) for e in edges))
        geoms.append(edges)
    flat = np.fromiter((e for es in geoms for e in es), dtype=np.int64)
    owner = np.repeat(np.arange(len(geoms)), [len(es) for es in geoms])
    merged = (
        shapely.line_merge(shapely.multilinestrings(g.geometry[flat], indices=owner))
        if len(flat) else np.empty(0, dtype=object)
    )
    log.info("dead ends: %d degree-1 nodes, %d chains walked", len(starts), len(ends_l))
    return _Chains(
        end=np.asarray(ends_l, dtype=np.int64),
        junction=np.asarray(junctions, dtype=np.int64),
        length=np.asarray(lengths, dtype=np.float64),
        n_edges=np.asarray(n_edges, dtype=np.int64),
        edge_ids=np.asarray(edge_ids, dtype=object),
        geometry=np.asarray(merged, dtype=object),
        edge_chain=edge_chain,
        node=np.asarray(nodes_l, dtype=np.int64),
        node_chain=np.asarray(node_chain_l, dtype=np.int64),
        node_dist=np.asarray(node_dist_l, dtype=np.float64),
    )


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def access_summary(
    high_rises: gpd.GeoDataFrame, dead_ends: gpd.GeoDataFrame
) -> dict[str, dict[str, Any]]:
    """Counts for ``summary.json``: high-rises by layout and compliance, dead ends by verdict.

    Parameters
    ----------
    high_rises
        The first result of :func:`high_rise_access`.
    dead_ends
        The first result of :func:`dead_end_lanes`.

    Returns
    -------
    dict
        ``{'high_rises': {'checked', 'noncompliant_access', 'ring', 'two_long_sides',
        'one_long_side', 'quarter_perimeter', 'insufficient', 'aerial_site_not_met',
        'lane_too_close', 'served_pct_median'}, 'lanes': {'dead_ends', 'dead_ends_over_limit',
        'with_turnaround', 'serving_high_rise_without_turnaround', 'over_limit_other'}}``.
    """
    layout = high_rises["layout"].astype(str)
    served = high_rises["served_pct"].to_numpy(dtype=np.float64)
    hr: dict[str, Any] = {
        "checked": len(high_rises),
        "noncompliant_access": int((~high_rises["compliant_access"].astype(bool)).sum()),
        **{name: int((layout == name).sum()) for name in LAYOUTS},
        "aerial_site_not_met": int((~high_rises["aerial_extent_ok"].astype(bool)).sum()),
        "lane_too_close": int((high_rises["too_close_m"].to_numpy(dtype=float) > 0).sum()),
        "served_pct_median": round(float(np.median(served)), 1) if len(served) else 0.0,
    }
    verdict = dead_ends["verdict"].astype(str)
    lanes = {
        "dead_ends": len(dead_ends),
        "dead_ends_over_limit": int((verdict != "short").sum()),
        "with_turnaround": int((verdict == "turnaround").sum()),
        "serving_high_rise_without_turnaround": int((verdict == "no_turnaround").sum()),
        "over_limit_other": int((verdict == "no_turnaround_other").sum()),
    }
    return {"high_rises": hr, "lanes": lanes}
