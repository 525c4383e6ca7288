"""Candidate hydrant sites and the demand they are to cover (steps 1 and 2 of
:mod:`routing.siting`): where a new hydrant may stand on the kerb, and which street metres
and buildings short of fire flow it should reach."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo._validate import require_columns
from geo.errors import ConfigError, CRSError, LayerValidationError
from geo.presets import Preset
from routing.coverage import HIGH_RISE_CLASSES, CoverageResult, coverage_gaps
from routing.graph import StreetGraph
from routing.snap import line_substrings, snap_points

log = logging.getLogger(__name__)

#: Uncovered pieces shorter than this (m, float rounding) are ignored.
_MIN_PIECE_M = 1e-6
#: Tolerance (m) of the coverage comparisons.
EPS_M = 1e-6
#: Half length (m) of the chord that gives the street direction at a candidate.
_TANGENT_M = 0.5
#: Building clearance is measured up to this distance (m, or twice the wall distance if more);
#: farther is reported as NaN.
_CLEARANCE_CAP_M = 20.0
#: Columns a demand layer needs for :func:`coverage_matrix`.
DEMAND_COLUMNS = ("demand_id", "kind", "edge_id", "start_m", "end_m", "length_m", "offset_m", "weight")
CANDIDATE_COLUMNS = ("candidate_id", "edge_id", "position_m", "offset_m", "pipe_m")
#: Columns of the buildings analysis layer used for the flow-deficit demand.
_DEFICIT_COLUMNS = ("flow_deficit_lps", "access_edge", "access_position_m", "access_offset_m")



# --- options --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CandidateOptions:
    """Where candidate sites may stand.

    Attributes
    ----------
    spacing_m
        Candidate spacing along a stretch: the uncovered pieces joined through the nodes where
        exactly two of them meet (so OSM ways split into short edges do not crowd the sites).
        A stretch of length ``l`` gets ``ceil(l / spacing)`` sites, evenly spaced, the first and
        last half a step from its ends. 50 m by default, well inside the 120 m hydrant spacing
        of GB 50974 7.2.5.
    kerb_offset_m
        Distance from the kerb to the hydrant (GB 50974 7.2.6: ≥ 0.5 m should, ≤ 2.0 m shall;
        default 1.0 m). The hydrant stands ``width_m / 2 + kerb_offset_m`` from the centreline,
        which is also its hose length to the street.
    wall_distance_m
        Minimum straight distance from any building footprint (GB 50974 7.2.6: 5 m).
    both_sides_width_m
        Roads wider than this get candidates on both sides, staggered by half a step
        (GB 50974 7.2.3: 60 m); narrower roads get one site per step, on the side with more
        clearance from buildings, counted up to twice ``wall_distance_m`` (on a tie the
        right-hand side of the edge's direction).
    default_width_m
        Road width used where ``width_m`` is missing or not positive.
    max_shift_m, shift_step_m
        A site too close to a wall (or inside a footprint, or on another road's carriageway) is
        moved along the street by ``±shift_step_m``, ``±2 shift_step_m`` ... up to
        ``max_shift_m``; if no position fits it is dropped.
    main_distance_m
        With a mains layer: the farthest a site may stand from a main of ``min_main_dn_mm`` or
        more (straight distance; an assumption, 10 m).
    min_main_dn_mm
        Smallest main a hydrant may be fed from (DN100; GB 50974 8.1.4 as quoted in the issue,
        not verified here). Mains with an unknown diameter do not count.
    beyond_main
        ``'drop'`` (default): sites farther than ``main_distance_m`` from a main are dropped.
        ``'pipe'``: they are kept with ``pipe_m`` = their straight distance to the nearest main
        (a lower bound on the real trench length), costed by :class:`CostModel`.
    under_supplied
        Also place candidates along the whole edge of every building short of fire flow (from a
        buildings analysis layer with ``flow_deficit_lps`` and ``access_edge``).
    """

    spacing_m: float = 50.0
    kerb_offset_m: float = 1.0
    wall_distance_m: float = 5.0
    both_sides_width_m: float = 60.0
    default_width_m: float = 6.0
    max_shift_m: float = 10.0
    shift_step_m: float = 5.0
    main_distance_m: float = 10.0
    min_main_dn_mm: float = 100.0
    beyond_main: Literal["drop", "pipe"] = "drop"
    under_supplied: bool = True

    def __post_init__(self) -> None:
        if not self.spacing_m > 0:
            raise ConfigError(f"CandidateOptions.spacing_m must be > 0, got {self.spacing_m}")
        if not self.shift_step_m > 0:
            raise ConfigError(f"CandidateOptions.shift_step_m must be > 0, got {self.shift_step_m}")
        for name in ("kerb_offset_m", "wall_distance_m", "both_sides_width_m", "max_shift_m",
                     "main_distance_m", "min_main_dn_mm"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"CandidateOptions.{name} must be >= 0, got {getattr(self, name)}")
        if not self.default_width_m > 0:
            raise ConfigError(
                f"CandidateOptions.default_width_m must be > 0, got {self.default_width_m}"
            )
        if self.beyond_main not in ("drop", "pipe"):
            raise ConfigError(
                f"CandidateOptions.beyond_main must be 'drop' or 'pipe', got {self.beyond_main!r}"
            )

    @classmethod
    def from_preset(cls, preset: Preset, **overrides: object) -> CandidateOptions:
        """Options with the wall distance, both-sides width and kerb range of a rule preset.

        Reads ``hydrant_wall_distance``, ``hydrant_both_sides_road_width`` and
        ``hydrant_kerb_distance_min``/``_max`` where the preset has them; the kerb offset is the
        default 1.0 m clipped into the preset's range. ``overrides`` win.
        """
        values: dict[str, object] = {}
        rules = preset.rules
        if "hydrant_wall_distance" in rules:
            values["wall_distance_m"] = rules["hydrant_wall_distance"].value("value_m")
        if "hydrant_both_sides_road_width" in rules:
            values["both_sides_width_m"] = rules["hydrant_both_sides_road_width"].value("value_m")
        kerb = cls.kerb_offset_m
        if "hydrant_kerb_distance_min" in rules:
            kerb = max(kerb, rules["hydrant_kerb_distance_min"].value("value_m"))
        if "hydrant_kerb_distance_max" in rules:
            kerb = min(kerb, rules["hydrant_kerb_distance_max"].value("value_m"))
        values["kerb_offset_m"] = kerb
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DemandWeights:
    """Weights of the demand (all in 'weight units'; by default one unit is one metre of street).

    Attributes
    ----------
    per_m
        Weight of one uncovered metre of street.
    high_rise_per_m
        Extra weight of one uncovered metre fronting a high-rise of ``high_rise_classes``
        (within ``frontage_m``); 1.0 counts such metres twice.
    frontage_m
        A building within this distance of a segment fronts it (as in
        :func:`routing.coverage.underserved_segments`).
    per_lps
        Weight of one L/s of outdoor fire-flow deficit of a building (an assumption: 10, so a
        building 15 L/s short weighs as much as 150 m of uncovered street).
    high_rise_classes
        GB 50016 5.1.1 classes that count as high-rise.
    """

    per_m: float = 1.0
    high_rise_per_m: float = 1.0
    frontage_m: float = 30.0
    per_lps: float = 10.0
    high_rise_classes: tuple[str, ...] = HIGH_RISE_CLASSES

    def __post_init__(self) -> None:
        for name in ("per_m", "high_rise_per_m", "frontage_m", "per_lps"):
            if not getattr(self, name) >= 0:
                raise ConfigError(f"DemandWeights.{name} must be >= 0, got {getattr(self, name)}")


# --- helpers on the graph -------------------------------------------------------------------------


def _check_coverage(graph: StreetGraph, coverage: CoverageResult) -> None:
    if len(coverage.covered_m) != graph.n_edges:
        raise ConfigError(
            f"the coverage result has {len(coverage.covered_m)} edges but the street graph has "
            f"{graph.n_edges}; compute the coverage on this graph"
        )


def _check_crs(frame: gpd.GeoDataFrame, graph: StreetGraph, name: str) -> None:
    if frame.crs is None or pyproj.CRS.from_user_input(frame.crs) != graph.crs:
        raise CRSError(
            f"layer {name!r} is in {frame.crs} but the street graph is in {graph.crs.to_string()}; "
            "build all layers with one working CRS"
        )


def edge_rows(graph: StreetGraph, edge_ids: pd.Series, name: str) -> np.ndarray:
    """Roads rows of ``edge_id`` values."""
    ids = edge_ids.to_numpy(dtype=np.int64)
    rows = pd.Index(graph.edge_id).get_indexer(ids)
    if (rows < 0).any():
        bad = ids[rows < 0][:5].tolist()
        raise LayerValidationError(
            f"{name}: edge_id {bad} are not edges of the street graph; build the {name} from "
            "this graph"
        )
    return rows.astype(np.int64)


def _uncovered_pieces(
    graph: StreetGraph, coverage: CoverageResult
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Uncovered pieces (edge, start, end), sorted by edge then start: the gaps between intervals,
    on the roads that need hydrants (:attr:`CoverageResult.needs_hydrants`) only."""
    e, s, t = coverage_gaps(graph, coverage)
    keep = (t - s > _MIN_PIECE_M) & coverage.counted[e]
    e, s, t = e[keep], s[keep], t[keep]
    order = np.lexsort((s, e))
    return e[order].astype(np.int64), s[order], t[order]


def _split(
    edge: np.ndarray, start: np.ndarray, end: np.ndarray, step_m: float, frac: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut each stretch into ``ceil(length / step_m)`` equal parts.

    Returns per part: the stretch index, its start and end, and the point ``frac`` along it.
    """
    length = end - start
    n = np.maximum(np.ceil(length / step_m - 1e-9), 1).astype(np.int64)
    stretch = np.repeat(np.arange(len(edge)), n)
    first = np.zeros(len(edge) + 1, dtype=np.int64)
    np.cumsum(n, out=first[1:])
    k = np.arange(len(stretch)) - first[stretch]
    step = (length / n)[stretch]
    s = start[stretch] + k * step
    t = np.where(k == n[stretch] - 1, end[stretch], s + step)
    return stretch, s, t, start[stretch] + (k + frac) * step


def _road_width(graph: StreetGraph, default_m: float) -> np.ndarray:
    width = pd.to_numeric(graph.roads["width_m"], errors="coerce").to_numpy(dtype=np.float64)
    return np.where(np.isfinite(width) & (width > 0), width, default_m)


def _deficit_buildings(buildings: gpd.GeoDataFrame | None, n_edges: int) -> np.ndarray:
    """Rows of buildings short of fire flow that have an access point (empty if not known)."""
    if buildings is None or not all(c in buildings.columns for c in _DEFICIT_COLUMNS):
        return np.empty(0, dtype=np.int64)
    deficit = np.nan_to_num(buildings["flow_deficit_lps"].to_numpy(dtype=np.float64), nan=0.0)
    edge = np.nan_to_num(buildings["access_edge"].to_numpy(dtype=np.float64), nan=-1.0)
    pos = buildings["access_position_m"].to_numpy(dtype=np.float64)
    ok = (deficit > 0) & (edge >= 0) & (edge < n_edges) & np.isfinite(pos)
    return np.flatnonzero(ok).astype(np.int64)


# --- step 1: candidates ---------------------------------------------------------------------------


def _offset_points(
    graph: StreetGraph, edge: np.ndarray, pos: np.ndarray, signed_offset: np.ndarray
) -> np.ndarray:
    """Points ``signed_offset`` to the left (> 0) or right (< 0) of the edges at ``pos``."""
    lines = graph.geometry[edge]
    L = graph.length_m[edge]
    here = shapely.get_coordinates(shapely.line_interpolate_point(lines, pos))
    a = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.maximum(pos - _TANGENT_M, 0)))
    b = shapely.get_coordinates(shapely.line_interpolate_point(lines, np.minimum(pos + _TANGENT_M, L)))
    d = b - a
    norm = np.hypot(d[:, 0], d[:, 1])
    norm = np.where(norm > 0, norm, 1.0)
    left = np.column_stack([-d[:, 1], d[:, 0]]) / norm[:, None]
    return np.asarray(shapely.points(here + signed_offset[:, None] * left))


def _eligible_mains(mains: gpd.GeoDataFrame, graph: StreetGraph, min_dn: float) -> np.ndarray:
    _check_crs(mains, graph, "mains")
    require_columns(mains, ("diameter_mm",), layer="mains", hint=
                     "give each main its nominal diameter in mm (NaN if unknown)")
    geoms = np.asarray(mains.geometry.array)
    ok = ~shapely.is_missing(geoms)
    ok[ok] = ~shapely.is_empty(geoms[ok])
    types = shapely.get_type_id(geoms)
    lines = np.isin(types, [shapely.GeometryType.LINESTRING, shapely.GeometryType.MULTILINESTRING])
    if (ok & ~lines).any():
        i = int(np.flatnonzero(ok & ~lines)[0])
        raise LayerValidationError(
            f"layer 'mains': row {i} is a {geoms[i].geom_type}; mains must be LineStrings"
        )
    dn = pd.to_numeric(mains["diameter_mm"], errors="coerce").to_numpy(dtype=np.float64)
    return geoms[ok & (dn >= min_dn)]


def _stretch_sites(
    graph: StreetGraph, e: np.ndarray, s: np.ndarray, t: np.ndarray, spacing_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites every ``spacing_m`` along the stretches made of the pieces ``(e, s, t)``.

    Pieces are joined into stretches where exactly two of them meet (:func:`shapely.line_merge`),
    so that the spacing holds across the short edges OSM ways are split into. A stretch of
    length ``l`` gets ``ceil(l / spacing_m)`` sites, half a step from each other and from its
    ends. Returns each site's edge, position on it and the step of its stretch.
    """
    empty = np.empty(0)
    if len(e) == 0:
        return empty.astype(np.int64), empty, empty
    pieces = line_substrings(graph.geometry, s, t, line_index=e)
    stretches = np.asarray(shapely.get_parts(shapely.line_merge(shapely.multilinestrings(pieces))))
    length = shapely.length(stretches)
    idx, _, _, along = _split(np.arange(len(stretches)), np.zeros(len(stretches)), length,
                              spacing_m, 0.5)
    points = shapely.line_interpolate_point(stretches[idx], along)
    eligible = np.zeros(graph.n_edges, dtype=bool)
    eligible[e] = True
    snapped = snap_points(graph, points, max_distance_m=1.0, edge_mask=eligible)
    ok = snapped.snapped
    step = (length / np.maximum(np.ceil(length / spacing_m - 1e-9), 1))[idx]
    return snapped.edge[ok], snapped.position_m[ok], step[ok]


def _check_sites(
    graph: StreetGraph,
    points: np.ndarray,
    edge: np.ndarray,
    offset: np.ndarray,
    fp_tree: shapely.STRtree | None,
    mains_tree: shapely.STRtree | None,
    o: CandidateOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Clearance from footprints (inf beyond the cap), validity, main distance, pipe length."""
    n = len(points)
    clearance = np.full(n, np.inf)
    if fp_tree is not None:
        cap = max(_CLEARANCE_CAP_M, 2.0 * o.wall_distance_m)
        pi, bi = fp_tree.query(points, predicate="dwithin", distance=cap)
        if len(pi):
            np.minimum.at(clearance, pi, shapely.distance(points[pi], fp_tree.geometries[bi]))
    valid = clearance >= o.wall_distance_m - EPS_M
    # Not on another road's carriageway: as far from every other centreline as from its own.
    pi, ei = graph.tree.query(points, predicate="dwithin", distance=float(offset.max()))
    other = ei != edge[pi]
    pi, ei = pi[other], ei[other]
    near = shapely.distance(points[pi], graph.geometry[ei]) < offset[ei] - EPS_M
    valid[pi[near]] = False
    main_dist = np.full(n, np.nan)
    pipe = np.zeros(n)
    if mains_tree is not None:
        main_dist[:] = np.inf
        if len(mains_tree.geometries):
            (qi, _), dist = mains_tree.query_nearest(points, return_distance=True, all_matches=False)
            main_dist[qi] = dist
        beyond = ~(main_dist <= o.main_distance_m + EPS_M)
        if o.beyond_main == "drop":
            valid &= ~beyond
        else:
            valid &= np.isfinite(main_dist)
            pipe = np.where(beyond, main_dist, 0.0)
    return clearance, valid, main_dist, pipe


@dataclass(frozen=True)
class _Variants:
    """Every variant of every site (one row each): the site, its shift rank, side, edge, position."""

    site: np.ndarray  # index of the site
    rank: np.ndarray  # 0 unshifted, then +d, -d, +2d, -2d ...
    side: np.ndarray  # 1 left, 2 right
    edge: np.ndarray
    pos: np.ndarray
    offset: np.ndarray  # centreline to kerb site


def _candidate_stretches(
    graph: StreetGraph,
    coverage: CoverageResult,
    buildings: gpd.GeoDataFrame | None,
    o: CandidateOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, np.ndarray]:
    """The stretches to site along, sorted by edge and start: ``(edge, start_m, end_m)``, the
    number of uncovered pieces among them and the edges added whole for under-supplied
    buildings (:attr:`CandidateOptions.under_supplied`)."""
    e, s, t = _uncovered_pieces(graph, coverage)
    n_uncovered = len(e)
    deficit_edges = np.empty(0, dtype=np.int64)
    if buildings is None or not o.under_supplied:
        return e, s, t, n_uncovered, deficit_edges
    rows = _deficit_buildings(buildings, graph.n_edges)
    if len(rows):
        edge_of = buildings["access_edge"].to_numpy(dtype=np.float64)[rows].astype(np.int64)
        deficit_edges = np.unique(edge_of)
        deficit_edges = deficit_edges[coverage.counted[deficit_edges]]
    keep = ~np.isin(e, deficit_edges)
    e = np.concatenate([e[keep], deficit_edges])
    s = np.concatenate([s[keep], np.zeros(len(deficit_edges))])
    t = np.concatenate([t[keep], graph.length_m[deficit_edges]])
    order = np.lexsort((s, e))
    return e[order], s[order], t[order], n_uncovered, deficit_edges


def _staggered_sites(
    graph: StreetGraph, site_edge: np.ndarray, site_pos: np.ndarray, step: np.ndarray,
    width: np.ndarray, both_sides_width_m: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sites by road width: ``(edge, position_m, side)``.

    Narrow roads: one site per step, its side chosen later (side 0). Wide roads: a left site
    (1) a quarter step before and a right one (2) a quarter step after: staggered
    (GB 50974 7.2.3).
    """
    wide = width[site_edge] > both_sides_width_m
    we, wp, ws = site_edge[wide], site_pos[wide], step[wide]
    edge = np.concatenate([site_edge[~wide], we, we])
    pos = np.concatenate([
        site_pos[~wide],
        np.clip(wp - ws / 4, 0.0, graph.length_m[we]),
        np.clip(wp + ws / 4, 0.0, graph.length_m[we]),
    ])
    side = np.concatenate(
        [np.zeros(int((~wide).sum()), np.int8), np.ones(len(we), np.int8), np.full(len(we), 2, np.int8)]
    )
    return edge, pos, side


def _site_variants(
    graph: StreetGraph, site_edge: np.ndarray, site_pos: np.ndarray, site_side: np.ndarray,
    offset: np.ndarray, o: CandidateOptions,
) -> _Variants:
    """Every variant of every site: shifts 0, +d, -d, +2d, -2d ...; narrow sites on both sides."""
    n_steps = math.floor(o.max_shift_m / o.shift_step_m + 1e-9)
    shifts = np.zeros(2 * n_steps + 1)
    shifts[1::2] = o.shift_step_m * np.arange(1, n_steps + 1)
    shifts[2::2] = -o.shift_step_m * np.arange(1, n_steps + 1)
    n_sides = np.where(site_side == 0, 2, 1)
    per_site = n_sides * len(shifts)
    v_site = np.repeat(np.arange(len(site_pos)), per_site)
    first = np.zeros(len(site_pos) + 1, dtype=np.int64)
    np.cumsum(per_site, out=first[1:])
    j = np.arange(len(v_site)) - first[v_site]
    v_rank = j // n_sides[v_site]
    v_edge = site_edge[v_site]
    return _Variants(
        site=v_site,
        rank=v_rank,
        side=np.where(site_side[v_site] == 0, 1 + j % 2, site_side[v_site]),
        edge=v_edge,
        pos=np.clip(site_pos[v_site] + shifts[v_rank], 0.0, graph.length_m[v_edge]),
        offset=offset[v_edge],
    )


def _fit_variants(
    graph: StreetGraph, v: _Variants, n_sites: int, offset: np.ndarray,
    buildings: gpd.GeoDataFrame | None, mains: gpd.GeoDataFrame | None, o: CandidateOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Points and checks of the variants: ``(points, clearance, valid, main_distance, pipe)``.

    Unshifted variants first; shifted ones only for the sites that none of those fits.
    """
    fp_tree = None
    if buildings is not None and len(buildings):
        fp = np.asarray(buildings.geometry.array)
        fp_tree = shapely.STRtree(fp[~shapely.is_missing(fp)])
    mains_tree = None
    if mains is not None:
        mains_tree = shapely.STRtree(_eligible_mains(mains, graph, o.min_main_dn_mm))
    n_var = len(v.site)
    points = np.full(n_var, None, dtype=object)
    clearance, main_dist = np.full(n_var, np.inf), np.full(n_var, np.nan)
    valid, pipe = np.zeros(n_var, dtype=bool), np.zeros(n_var)
    todo = np.flatnonzero(v.rank == 0)
    for _ in range(2):
        points[todo] = _offset_points(
            graph, v.edge[todo], v.pos[todo], np.where(v.side[todo] == 1, v.offset[todo], -v.offset[todo])
        )
        clearance[todo], valid[todo], main_dist[todo], pipe[todo] = _check_sites(
            graph, points[todo], v.edge[todo], offset, fp_tree, mains_tree, o
        )
        fitted = np.zeros(n_sites, dtype=bool)
        fitted[v.site[valid]] = True
        todo = np.flatnonzero((v.rank > 0) & ~fitted[v.site])
    return points, clearance, valid, main_dist, pipe


def _pick_variants(
    v: _Variants, clearance: np.ndarray, valid: np.ndarray, pipe: np.ndarray, wall_distance_m: float
) -> np.ndarray:
    """Per site the first valid variant: least shift, least pipe, most clearance, right side;
    sorted by edge, position and side. Clearance beyond twice the wall distance makes no
    difference to the side."""
    cap = np.minimum(clearance, 2.0 * wall_distance_m)
    ok = np.flatnonzero(valid)
    pref = ok[np.lexsort((-v.side[ok], -cap[ok], pipe[ok], v.rank[ok], v.site[ok]))]
    firsts = np.ones(len(pref), dtype=bool)
    firsts[1:] = v.site[pref][1:] != v.site[pref][:-1]
    pick = pref[firsts]
    return pick[np.lexsort((v.side[pick], v.pos[pick], v.edge[pick]))]


def siting_candidates(
    graph: StreetGraph,
    coverage: CoverageResult,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    mains: gpd.GeoDataFrame | None = None,
    options: CandidateOptions | None = None,
) -> gpd.GeoDataFrame:
    """Candidate sites for new hydrants along the uncovered and under-supplied streets.

    Parameters
    ----------
    graph
        The street graph (``roads.width_m`` gives the carriageway width).
    coverage
        Hydrant coverage on ``graph`` (:func:`routing.coverage.hydrant_coverage`): candidates
        stand on its uncovered pieces.
    buildings
        Optional footprints (working CRS): sites keep ``wall_distance_m`` from every footprint.
        A buildings analysis layer (``Analysis.layers['buildings_analysis']``, with
        ``flow_deficit_lps``, ``access_edge`` as roads rows of ``graph``) also adds the whole
        edge of every building short of fire flow (``options.under_supplied``).
    mains
        Optional water mains (LineStrings with ``diameter_mm``, working CRS); see
        :attr:`CandidateOptions.beyond_main`.
    options
        Spacing, kerb offset, wall distance, both-sides width, shifting, mains rule.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per site, sorted by edge, position and side: ``candidate_id`` (0, 1, ...),
        ``edge_id, name, highway``, ``position_m`` (from the edge's ``u`` end), ``side``
        (``'left'``/``'right'`` of the edge's direction), ``offset_m`` (hose from the site to
        the centreline: ``width_m / 2 + kerb_offset_m``), ``road_width_m``, ``shift_m`` (moved
        along the street to clear a wall), ``wall_distance_m`` (to the nearest footprint, NaN
        beyond 20 m or without buildings), ``main_distance_m`` (NaN without mains), ``pipe_m``
        (new main needed, 0 when within reach of one) and the Point geometry.
    """
    o = options if options is not None else CandidateOptions()
    _check_coverage(graph, coverage)
    if buildings is not None:
        _check_crs(buildings, graph, "buildings")
    e, s, t, n_uncovered, deficit_edges = _candidate_stretches(graph, coverage, buildings, o)
    width = _road_width(graph, o.default_width_m)
    offset = width / 2 + o.kerb_offset_m
    site_edge, site_pos, step = _stretch_sites(graph, e, s, t, o.spacing_m)
    site_edge, site_pos, site_side = _staggered_sites(
        graph, site_edge, site_pos, step, width, o.both_sides_width_m
    )
    v = _site_variants(graph, site_edge, site_pos, site_side, offset, o)
    points, clearance, valid, main_dist, pipe = _fit_variants(
        graph, v, len(site_pos), offset, buildings, mains, o
    )
    pick = _pick_variants(v, clearance, valid, pipe, o.wall_distance_m)

    roads = graph.roads
    pe = v.edge[pick]
    frame = pd.DataFrame(
        {
            "candidate_id": np.arange(len(pick), dtype=np.int64),
            "edge_id": graph.edge_id[pe],
            "name": roads["name"].fillna("").astype(str).to_numpy(dtype=object)[pe],
            "highway": roads["highway"].fillna("").astype(str).to_numpy(dtype=object)[pe],
            "position_m": v.pos[pick],
            "side": np.where(v.side[pick] == 1, "left", "right").astype(object),
            "offset_m": v.offset[pick],
            "road_width_m": width[pe],
            "shift_m": v.pos[pick] - site_pos[v.site[pick]],
            "wall_distance_m": np.where(np.isfinite(clearance[pick]), clearance[pick], np.nan),
            "main_distance_m": np.where(np.isinf(main_dist[pick]), np.nan, main_dist[pick]),
            "pipe_m": pipe[pick],
        }
    )
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points[pick], crs=graph.crs), crs=graph.crs)
    log.info(
        "siting candidates: %d sites on %d uncovered pieces and %d under-supplied edges "
        "(every %g m, kerb %g m; %d of %d sites dropped: walls, carriageways or mains)",
        len(out), n_uncovered, len(deficit_edges), o.spacing_m, o.kerb_offset_m,
        len(site_pos) - len(pick), len(site_pos),
    )
    return out


# --- step 2: demand -------------------------------------------------------------------------------


def _street_demand(
    e: np.ndarray, s: np.ndarray, t: np.ndarray, geoms: np.ndarray,
    buildings: gpd.GeoDataFrame | None, w: DemandWeights,
) -> pd.DataFrame:
    """Uncovered street segments (edge rows ``e`` from ``s`` to ``t``), weighted by length and
    by the length fronting a high-rise (within ``w.frontage_m``)."""
    length = t - s
    high_m = np.zeros(len(e))
    if buildings is not None and "high_rise_class" in buildings.columns and len(e):
        high = np.isin(buildings["high_rise_class"].to_numpy(dtype=object), w.high_rise_classes)
        fp = np.asarray(buildings.geometry.array)[high]
        if len(fp):
            si, _ = shapely.STRtree(fp).query(geoms, predicate="dwithin", distance=w.frontage_m)
            fronting = np.zeros(len(e), dtype=bool)
            fronting[si] = True
            high_m = np.where(fronting, length, 0.0)
    return pd.DataFrame(
        {
            "kind": "uncovered",
            "edge": e,
            "start_m": s,
            "end_m": t,
            "length_m": length,
            "offset_m": 0.0,
            "high_rise_m": high_m,
            "deficit_lps": 0.0,
            "building_id": "",
            "weight": w.per_m * length + w.high_rise_per_m * high_m,
        }
    )


def _deficit_demand(
    graph: StreetGraph, buildings: gpd.GeoDataFrame, rows: np.ndarray, w: DemandWeights
) -> tuple[pd.DataFrame, np.ndarray]:
    """One demand per building short of flow (``rows``) at its access point, weighted by the
    deficit; and the access points."""
    be = buildings["access_edge"].to_numpy(dtype=np.float64)[rows].astype(np.int64)
    bp = np.clip(buildings["access_position_m"].to_numpy(dtype=np.float64)[rows], 0,
                 graph.length_m[be])
    boff = np.nan_to_num(buildings["access_offset_m"].to_numpy(dtype=np.float64)[rows], nan=0.0)
    deficit = buildings["flow_deficit_lps"].to_numpy(dtype=np.float64)[rows]
    ids = (
        buildings["building_id"].astype(str).to_numpy(dtype=object)[rows]
        if "building_id" in buildings.columns else rows.astype(str).astype(object)
    )
    frame = pd.DataFrame(
        {
            "kind": "flow_deficit",
            "edge": be,
            "start_m": bp,
            "end_m": bp,
            "length_m": 0.0,
            "offset_m": boff,
            "high_rise_m": 0.0,
            "deficit_lps": deficit,
            "building_id": ids,
            "weight": w.per_lps * deficit,
        }
    )
    return frame, np.asarray(shapely.line_interpolate_point(graph.geometry[be], bp))


def demand_segments(
    graph: StreetGraph,
    coverage: CoverageResult,
    *,
    buildings: gpd.GeoDataFrame | None = None,
    weights: DemandWeights | None = None,
    max_segment_m: float = 25.0,
) -> gpd.GeoDataFrame:
    """What new hydrants should cover: uncovered street segments and buildings short of flow.

    Parameters
    ----------
    graph
        The street graph.
    coverage
        Hydrant coverage on ``graph``: its uncovered pieces are the street demand.
    buildings
        Optional buildings (working CRS). With ``high_rise_class`` (:data:`geo.schema.BUILDINGS`),
        segments within ``weights.frontage_m`` of a high-rise get the extra weight. A buildings
        analysis layer (with ``flow_deficit_lps``, ``access_edge``, ``access_position_m``,
        ``access_offset_m``; ``access_edge`` as roads rows of ``graph``) adds one demand point
        per building short of flow.
    weights
        Weights per metre, per high-rise metre and per L/s of deficit.
    max_segment_m
        Each uncovered piece of length ``l`` is cut into ``ceil(l / max_segment_m)`` equal
        segments (25 m by default).

    Returns
    -------
    geopandas.GeoDataFrame
        ``demand_id`` (0, 1, ...), ``kind`` (``'uncovered'`` street segment or ``'flow_deficit'``
        building), ``edge_id, name, highway, start_m, end_m, length_m`` (0 for buildings),
        ``offset_m`` (0 for streets; footprint to access point for buildings: added to the hose
        length), ``high_rise_m`` (metres fronting a high-rise), ``deficit_lps``, ``building_id``
        (``''`` for streets), ``weight`` and the geometry (the street piece, or the building's
        access point on the street).

    Notes
    -----
    A building's deficit is a demand of its own at its access point, not a weight added to the
    street segment there: most buildings short of flow front covered streets (one hydrant in
    range, not enough flow), where there is no uncovered segment. Any one new hydrant within
    the radius of the access point (hose-lay, plus the access offset) counts the whole deficit;
    that one hydrant may not make up a deficit larger than its credited flow is not modelled.
    """
    w = weights if weights is not None else DemandWeights()
    if not max_segment_m > 0:
        raise ConfigError(f"max_segment_m must be > 0, got {max_segment_m}")
    _check_coverage(graph, coverage)
    pe, ps, pt = _uncovered_pieces(graph, coverage)
    stretch, s, t, _ = _split(pe, ps, pt, float(max_segment_m), 0.5)
    e = pe[stretch]
    geoms = line_substrings(graph.geometry, s, t, line_index=e)
    if buildings is not None:
        _check_crs(buildings, graph, "buildings")
    street = _street_demand(e, s, t, geoms, buildings, w)
    length, high_m = street["length_m"].to_numpy(), street["high_rise_m"].to_numpy()
    frames = [street]
    geometry = [geoms]
    rows = _deficit_buildings(buildings, graph.n_edges)
    if buildings is not None and len(rows):
        deficit_frame, deficit_points = _deficit_demand(graph, buildings, rows, w)
        frames.append(deficit_frame)
        geometry.append(deficit_points)
    roads = graph.roads
    names = roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    highways = roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else street
    edge = frame.pop("edge").to_numpy(dtype=np.int64)
    frame.insert(0, "demand_id", np.arange(len(frame), dtype=np.int64))
    frame.insert(2, "edge_id", graph.edge_id[edge])
    frame.insert(3, "name", names[edge])
    frame.insert(4, "highway", highways[edge])
    out = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(np.concatenate(geometry), crs=graph.crs), crs=graph.crs
    )
    log.info(
        "demand: %d street segments (%.1f km uncovered, %.1f km fronting high-rises), "
        "%d buildings short of flow (%.0f L/s), total weight %.1f",
        len(street), length.sum() / 1000, high_m.sum() / 1000, len(rows),
        float(out["deficit_lps"].sum()), float(out["weight"].sum()),
    )
    return out


