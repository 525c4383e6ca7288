"""Where to add hydrants (补建市政消火栓): candidate sites, demand, network coverage, the choice.

Four steps, each a function that takes the previous step's output:

1. :func:`siting_candidates`: candidate hydrant sites every ``spacing_m`` along the uncovered
   pieces of the streets (and along the streets where buildings are short of fire flow), on the
   kerb side of the carriageway: offset from the centreline by half the road width plus the kerb
   distance (GB 50974 7.2.6: 0.5–2.0 m), at least 5 m from building walls (7.2.6), on both sides
   of roads wider than 60 m, staggered (7.2.3); optionally only near a water main of DN100 or
   more, or with the cost of a pipe to the nearest one.
2. :func:`demand_segments`: what is to be covered. The uncovered street, cut into segments of at
   most 25 m, weighted per metre, with an extra weight per metre fronting a high-rise (GB 50016
   class 1 or 2); and the buildings short of fire flow, one demand point each at the building's
   access point, weighted per L/s of deficit.
3. :func:`coverage_matrix`: which candidate covers which demand, by **hose-lay distance** (the
   candidate's offset to the street centreline plus the distance along the undirected street
   network, plus the demand's own offset), never by straight-line distance. Bounded Dijkstra runs
   from the candidates' edge ends in spatial chunks (each on the local subgraph within the radius),
   joined with pandas as in :func:`routing.water.hydrant_pairs`.
4. :func:`site_hydrants` (the most weighted demand covered with ``k`` new hydrants or a budget in
   CNY) and :func:`cover_all` (the fewest new hydrants covering a target set), exact as a MIP
   (HiGHS through :func:`scipy.optimize.milp`, status checked) or by a lazy greedy (CELF) with its
   guarantee and the gap to the LP-relaxation bound; :func:`budget_curve` shows what each yuan
   buys.

Only roads that need hydrants (:attr:`routing.coverage.CoverageResult.needs_hydrants`; not
motorways by default) carry candidates and street demand; the hose still runs along any road.

Coverage rule. For a candidate on edge ``c`` at position ``t_c`` with offset ``o_c`` and a demand
segment ``[a, b]`` on edge ``e`` (length ``L``) with offset ``o_d`` (0 for street segments, the
footprint-to-road distance for buildings), let ``r = R - o_d``, ``D_u`` and ``D_v`` the hose-lay
distances from the candidate to the ends of ``e`` (through the network). The candidate reaches
``[0, r - D_u]`` and ``[L - (r - D_v), L]`` of ``e``, and, when ``e`` is its own edge, also
``[t_c - (r - o_c), t_c + (r - o_c)]`` (exactly the intervals of :mod:`routing.coverage`). The
segment is covered when it lies wholly inside the union of these intervals, i.e. when its
farthest point is within the radius. A segment covered half by one new hydrant and half by another
does not count; with segments of at most 25 m this loses at most one segment at each end of a
hydrant's reach.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse as sp
import shapely
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from geo.errors import AnalysisError, ConfigError, CRSError, LayerValidationError
from geo.presets import Preset
from routing.bounded import bounded_pairs
from routing.coverage import HIGH_RISE_CLASSES, CoverageResult
from routing.graph import StreetGraph
from routing.snap import line_substrings, snap_points

log = logging.getLogger(__name__)

__all__ = [
    "CandidateOptions", "CostModel", "DemandWeights", "SitingResult", "SolverOptions",
    "budget_curve", "cover_all", "coverage_matrix", "demand_segments", "site_hydrants",
    "siting_candidates",
]

#: Uncovered pieces shorter than this (m, float rounding) are ignored.
_MIN_PIECE_M = 1e-6
#: Tolerance (m) of the coverage comparisons.
_EPS_M = 1e-6
#: Half length (m) of the chord that gives the street direction at a candidate.
_TANGENT_M = 0.5
#: Building clearance is measured up to this distance (m, or twice the wall distance if more);
#: farther is reported as NaN.
_CLEARANCE_CAP_M = 20.0
#: The greedy's a-priori guarantee for k hydrants (Nemhauser, Wolsey and Fisher 1978).
GREEDY_FACTOR = 1.0 - 1.0 / math.e
#: Columns a demand layer needs for :func:`coverage_matrix`.
_DEMAND_COLUMNS = ("demand_id", "kind", "edge_id", "start_m", "end_m", "length_m", "offset_m", "weight")
_CANDIDATE_COLUMNS = ("candidate_id", "edge_id", "position_m", "offset_m", "pipe_m")
#: Columns of the buildings analysis layer used for the flow-deficit demand.
_DEFICIT_COLUMNS = ("flow_deficit_lps", "access_edge", "access_position_m", "access_offset_m")

Method = Literal["auto", "mip", "greedy"]


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


@dataclass(frozen=True)
class CostModel:
    """What a new hydrant costs.

    Attributes
    ----------
    hydrant_cny
        Cost of one municipal hydrant installed (hydrant, valve, branch and reinstatement):
        CNY 15,000, an assumption to be replaced by the district's unit price.
    pipe_cny_per_m
        Cost of one metre of new main to reach a site beyond the mains (``pipe_m`` of the
        candidates): CNY 800/m, an assumption (DN150 ductile iron laid in a street).
    currency
        Currency label of the figures ('CNY').
    """

    hydrant_cny: float = 15_000.0
    pipe_cny_per_m: float = 800.0
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if not self.hydrant_cny > 0:
            raise ConfigError(f"CostModel.hydrant_cny must be > 0, got {self.hydrant_cny}")
        if not self.pipe_cny_per_m >= 0:
            raise ConfigError(f"CostModel.pipe_cny_per_m must be >= 0, got {self.pipe_cny_per_m}")

    def cost_of(self, candidates: pd.DataFrame) -> np.ndarray:
        """Cost of each candidate: the hydrant plus ``pipe_m`` metres of main."""
        pipe = np.nan_to_num(candidates["pipe_m"].to_numpy(dtype=np.float64), nan=0.0)
        return self.hydrant_cny + self.pipe_cny_per_m * pipe


@dataclass(frozen=True)
class SolverOptions:
    """How the choice is computed.

    Attributes
    ----------
    time_limit_s
        Time limit of each HiGHS run (MIP and LP bound). A MIP stopped by it returns its best
        solution with status ``'time_limit'`` and its gap; without one it raises.
    mip_rel_gap
        Relative MIP gap at which HiGHS stops (1e-6: optimal for any practical purpose).
    auto_max_candidates, auto_max_nonzeros
        ``method='auto'`` solves the MIP when the reduced problem (useful candidates, distinct
        demand columns) has at most this many candidates and matrix entries, else the greedy.
    lp_bound
        Also solve the LP relaxation, for the bound and the gap (on by default).
    tie_break
        After an optimal MIP, solve once more for a deterministic choice among the optima:
        max coverage, the cheapest of the sets with the optimal weight, then the one with the
        smallest sum of candidate rows; cover, the smallest sum of candidate rows among the
        optimal sets. Off: HiGHS's own optimum (deterministic too, but not by id).
    """

    time_limit_s: float = 60.0
    mip_rel_gap: float = 1e-6
    auto_max_candidates: int = 2_000
    auto_max_nonzeros: int = 200_000
    lp_bound: bool = True
    tie_break: bool = True

    def __post_init__(self) -> None:
        if not self.time_limit_s > 0:
            raise ConfigError(f"SolverOptions.time_limit_s must be > 0, got {self.time_limit_s}")
        if not self.mip_rel_gap >= 0:
            raise ConfigError(f"SolverOptions.mip_rel_gap must be >= 0, got {self.mip_rel_gap}")


@dataclass(frozen=True, eq=False)
class SitingResult:
    """The chosen sites and what they cover.

    Attributes
    ----------
    problem
        ``'max_coverage'`` (:func:`site_hydrants`) or ``'cover_all'`` (:func:`cover_all`).
    method
        ``'mip'`` or ``'greedy'``.
    status
        ``'optimal'`` (MIP solved to ``mip_rel_gap``), ``'time_limit'`` (MIP stopped with a
        solution) or ``'heuristic'`` (greedy).
    chosen
        The chosen candidates' rows in order of marginal gain per yuan (each next one adds the
        most weight per CNY given the ones before; ties to the lower ``candidate_id``), with
        ``order`` (1, 2, ...), ``cost_cny``, ``marginal_weight``, ``marginal_m``,
        ``cumulative_cost_cny``.
    demand
        The demand rows with ``target`` (cover_all: in the target set), ``coverable`` (some
        candidate covers it), ``covered`` (a chosen one does) and ``covered_by`` (the
        ``candidate_id`` of the first chosen one that does, in ``order``; -1 if none).
    budget_curve
        One row per chosen hydrant in ``order``: ``order, candidate_id, marginal_weight,
        marginal_m, cumulative_weight, cumulative_m, cost_cny, cumulative_cost_cny,
        cny_per_m`` (cost of the hydrant per newly covered metre; NaN when it adds none).
    objective
        Max coverage: the covered weight. Cover: the number of hydrants (``objective='count'``)
        or their cost in CNY (``'cost'``).
    covered_weight, covered_m
        Weight and street metres covered by the chosen sites.
    cost_cny
        Total cost of the chosen sites.
    n_hydrants
        Number of chosen sites.
    lp_bound
        Optimum of the LP relaxation (an upper bound for max coverage, a lower bound for
        cover), or None when not computed.
    gap
        ``|lp_bound - objective| / max(|lp_bound|, |objective|)``: how far the answer can be from
        the optimum at most, as a share (0 when both are 0); None without an LP bound.
    mip_gap
        HiGHS's final relative MIP gap (None for the greedy).
    guarantee
        The greedy's a-priori ratio: ``1 - 1/e`` for ``k`` hydrants, ``(1 - 1/e) / 2`` for a
        budget (the better of the plain and the cost-benefit greedy, Krause and Guestrin 2005),
        ``H(d)`` (harmonic number of the largest candidate's demand count) for cover; None for
        the MIP or where none holds (both ``k`` and a budget).
    online_bound
        Greedy with ``k``: the data-dependent upper bound ``f(S) + sum of the k largest
        marginal gains after S`` (Leskovec et al. 2007); else None.
    uncoverable
        ``demand_id`` of the demand (of the target, for cover) that no candidate can cover.
    solve_s
        Wall time of the solve (s).
    """

    problem: str
    method: str
    status: str
    chosen: gpd.GeoDataFrame = field(repr=False)
    demand: gpd.GeoDataFrame = field(repr=False)
    budget_curve: pd.DataFrame = field(repr=False)
    objective: float
    covered_weight: float
    covered_m: float
    cost_cny: float
    n_hydrants: int
    lp_bound: float | None
    gap: float | None
    mip_gap: float | None
    guarantee: float | None
    online_bound: float | None
    uncoverable: np.ndarray = field(repr=False)
    solve_s: float


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


def _require_columns(frame: pd.DataFrame, columns: tuple[str, ...], name: str, hint: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LayerValidationError(f"{name} is missing columns {missing}; {hint}")


def _edge_rows(graph: StreetGraph, edge_ids: pd.Series, name: str) -> np.ndarray:
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
    L = graph.length_m
    ce, cs, ct = coverage.interval_edge, coverage.interval_start, coverage.interval_end
    same = np.zeros(len(ce), dtype=bool)
    same[1:] = ce[1:] == ce[:-1]
    prev_end = np.where(same, np.roll(ct, 1), 0.0)
    last_end = np.zeros(graph.n_edges)
    if len(ce):
        last = np.flatnonzero(np.append(ce[1:] != ce[:-1], True))
        last_end[ce[last]] = ct[last]
    e = np.concatenate([ce, np.arange(graph.n_edges)])
    s = np.concatenate([prev_end, last_end])
    t = np.concatenate([cs, L])
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
    _require_columns(mains, ("diameter_mm",), "layer 'mains'",
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
    valid = clearance >= o.wall_distance_m - _EPS_M
    # Not on another road's carriageway: as far from every other centreline as from its own.
    pi, ei = graph.tree.query(points, predicate="dwithin", distance=float(offset.max()))
    other = ei != edge[pi]
    pi, ei = pi[other], ei[other]
    near = shapely.distance(points[pi], graph.geometry[ei]) < offset[ei] - _EPS_M
    valid[pi[near]] = False
    main_dist = np.full(n, np.nan)
    pipe = np.zeros(n)
    if mains_tree is not None:
        main_dist[:] = np.inf
        if len(mains_tree.geometries):
            (qi, _), dist = mains_tree.query_nearest(points, return_distance=True, all_matches=False)
            main_dist[qi] = dist
        beyond = ~(main_dist <= o.main_distance_m + _EPS_M)
        if o.beyond_main == "drop":
            valid &= ~beyond
        else:
            valid &= np.isfinite(main_dist)
            pipe = np.where(beyond, main_dist, 0.0)
    return clearance, valid, main_dist, pipe


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
    e, s, t = _uncovered_pieces(graph, coverage)
    n_uncovered = len(e)
    if buildings is not None:
        _check_crs(buildings, graph, "buildings")
    deficit_edges = np.empty(0, dtype=np.int64)
    if buildings is not None and o.under_supplied:
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
        e, s, t = e[order], s[order], t[order]

    width = _road_width(graph, o.default_width_m)
    offset = width / 2 + o.kerb_offset_m
    site_edge, site_pos, step = _stretch_sites(graph, e, s, t, o.spacing_m)
    # Narrow roads: one site per step, its side chosen below (0). Wide roads: a left site a
    # quarter step before and a right one a quarter step after: staggered (GB 50974 7.2.3).
    wide = width[site_edge] > o.both_sides_width_m
    we, wp, ws = site_edge[wide], site_pos[wide], step[wide]
    site_edge = np.concatenate([site_edge[~wide], we, we])
    site_pos = np.concatenate([
        site_pos[~wide],
        np.clip(wp - ws / 4, 0.0, graph.length_m[we]),
        np.clip(wp + ws / 4, 0.0, graph.length_m[we]),
    ])
    site_side = np.concatenate(
        [np.zeros(int((~wide).sum()), np.int8), np.ones(len(we), np.int8), np.full(len(we), 2, np.int8)]
    )

    # Every variant of every site: shifts 0, +d, -d, +2d, -2d ...; narrow sites on both sides.
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
    v_side = np.where(site_side[v_site] == 0, 1 + j % 2, site_side[v_site])  # 1 left, 2 right
    v_edge = site_edge[v_site]
    v_pos = np.clip(site_pos[v_site] + shifts[v_rank], 0.0, graph.length_m[v_edge])
    v_off = offset[v_edge]
    fp_tree = None
    if buildings is not None and len(buildings):
        fp = np.asarray(buildings.geometry.array)
        fp_tree = shapely.STRtree(fp[~shapely.is_missing(fp)])
    mains_tree = None
    if mains is not None:
        mains_tree = shapely.STRtree(_eligible_mains(mains, graph, o.min_main_dn_mm))

    # Unshifted variants first; shifted ones only for the sites that none of those fits.
    n_var = len(v_site)
    points = np.full(n_var, None, dtype=object)
    clearance, main_dist = np.full(n_var, np.inf), np.full(n_var, np.nan)
    valid, pipe = np.zeros(n_var, dtype=bool), np.zeros(n_var)
    todo = np.flatnonzero(v_rank == 0)
    for _ in range(2):
        points[todo] = _offset_points(
            graph, v_edge[todo], v_pos[todo], np.where(v_side[todo] == 1, v_off[todo], -v_off[todo])
        )
        clearance[todo], valid[todo], main_dist[todo], pipe[todo] = _check_sites(
            graph, points[todo], v_edge[todo], offset, fp_tree, mains_tree, o
        )
        fitted = np.zeros(len(site_pos), dtype=bool)
        fitted[v_site[valid]] = True
        todo = np.flatnonzero((v_rank > 0) & ~fitted[v_site])

    # Per site the first valid variant: least shift, least pipe, most clearance, right side.
    # Clearance beyond twice the wall distance makes no difference to the side.
    cap = np.minimum(clearance, 2.0 * o.wall_distance_m)
    ok = np.flatnonzero(valid)
    pref = ok[np.lexsort((-v_side[ok], -cap[ok], pipe[ok], v_rank[ok], v_site[ok]))]
    firsts = np.ones(len(pref), dtype=bool)
    firsts[1:] = v_site[pref][1:] != v_site[pref][:-1]
    pick = pref[firsts]
    pick = pick[np.lexsort((v_side[pick], v_pos[pick], v_edge[pick]))]

    roads = graph.roads
    pe = v_edge[pick]
    frame = pd.DataFrame(
        {
            "candidate_id": np.arange(len(pick), dtype=np.int64),
            "edge_id": graph.edge_id[pe],
            "name": roads["name"].fillna("").astype(str).to_numpy(dtype=object)[pe],
            "highway": roads["highway"].fillna("").astype(str).to_numpy(dtype=object)[pe],
            "position_m": v_pos[pick],
            "side": np.where(v_side[pick] == 1, "left", "right").astype(object),
            "offset_m": v_off[pick],
            "road_width_m": width[pe],
            "shift_m": v_pos[pick] - site_pos[v_site[pick]],
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
    length = t - s
    geoms = line_substrings(graph.geometry, s, t, line_index=e)
    high_m = np.zeros(len(e))
    if buildings is not None:
        _check_crs(buildings, graph, "buildings")
    if buildings is not None and "high_rise_class" in buildings.columns and len(e):
        high = np.isin(buildings["high_rise_class"].to_numpy(dtype=object), w.high_rise_classes)
        fp = np.asarray(buildings.geometry.array)[high]
        if len(fp):
            si, _ = shapely.STRtree(fp).query(geoms, predicate="dwithin", distance=w.frontage_m)
            fronting = np.zeros(len(e), dtype=bool)
            fronting[si] = True
            high_m = np.where(fronting, length, 0.0)
    roads = graph.roads
    names = roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    highways = roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    street = pd.DataFrame(
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
    frames = [street]
    geometry = [geoms]
    rows = _deficit_buildings(buildings, graph.n_edges)
    if buildings is not None and len(rows):
        be = buildings["access_edge"].to_numpy(dtype=np.float64)[rows].astype(np.int64)
        bp = np.clip(buildings["access_position_m"].to_numpy(dtype=np.float64)[rows], 0,
                     graph.length_m[be])
        boff = np.nan_to_num(buildings["access_offset_m"].to_numpy(dtype=np.float64)[rows], nan=0.0)
        deficit = buildings["flow_deficit_lps"].to_numpy(dtype=np.float64)[rows]
        ids = (
            buildings["building_id"].astype(str).to_numpy(dtype=object)[rows]
            if "building_id" in buildings.columns else rows.astype(str).astype(object)
        )
        frames.append(
            pd.DataFrame(
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
        )
        geometry.append(np.asarray(shapely.line_interpolate_point(graph.geometry[be], bp)))
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


# --- step 3: the coverage matrix ------------------------------------------------------------------


def _covers(
    L: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    r: np.ndarray,
    du: np.ndarray,
    dv: np.ndarray,
    own_t: np.ndarray,
    own_reach: np.ndarray,
) -> np.ndarray:
    """Whether ``[a, b]`` lies inside ``[0, r - du] ∪ [L - (r - dv), L] ∪ [t - reach, t + reach]``.

    ``own_t`` is NaN where the candidate is not on the segment's edge.
    """
    p = r - du  # covered from u up to p
    q = L - (r - dv)  # covered from q to v
    ends = (q <= p + _EPS_M) | (b <= p + _EPS_M) | (a >= q - _EPS_M)
    lo = np.maximum(a, p)
    hi = np.minimum(b, q)
    same = ~np.isnan(own_t)
    own_lo = np.where(same, own_t - own_reach, np.inf)
    own_hi = np.where(same, own_t + own_reach, -np.inf)
    return ends | ((own_lo <= lo + _EPS_M) & (own_hi >= hi - _EPS_M))


#: Reached (candidate, node) pairs handled at once while the coverage matrix is built; the joins
#: that follow (demand edges at a node, demand segments on an edge) grow from these, so this
#: bounds the working memory whatever the size of the city.
_MATRIX_CHUNK = 1_000_000


def _runs(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stable order of ``keys`` (in ``0 .. n - 1``), and each key's start and count in it."""
    order = np.argsort(keys, kind="stable")
    counts = np.bincount(keys, minlength=n)
    return order, np.cumsum(counts) - counts, counts


def _expand(
    runs: tuple[np.ndarray, np.ndarray, np.ndarray], keys: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each row's key, every item of its run: ``(row, item)`` pairs, rows in order."""
    order, starts, counts = runs
    n = counts[keys]
    owner = np.repeat(np.arange(len(keys)), n)
    first = np.cumsum(n) - n
    pos = np.arange(len(owner), dtype=np.int64) - (first - starts[keys])[owner]
    return owner, order[pos]


@dataclass(frozen=True, eq=False)
class _MatrixInputs:
    """Arrays the coverage matrix is built from, with their lookups (runs) by key."""

    R: float
    L: np.ndarray  # length of every graph edge
    ce: np.ndarray  # candidate's edge row ...
    ct: np.ndarray  # ... position on it ...
    co: np.ndarray  # ... and offset from the street
    end_cand: np.ndarray  # candidate of each end (its edge's u or v) within the radius ...
    end_s: np.ndarray  # ... the graph node of that end ...
    end_d0: np.ndarray  # ... and the distance along the edge to it
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray]  # bounded pairs by source node (runs) ...
    pair_t: np.ndarray  # ... their target node ...
    pair_d: np.ndarray  # ... and distance
    dem_edges: np.ndarray  # distinct demand edge rows, sorted
    edge_pos: np.ndarray  # position in dem_edges of every graph edge, -1 if none
    at_u: tuple[np.ndarray, np.ndarray, np.ndarray]  # dem_edges positions by u node (runs)
    at_v: tuple[np.ndarray, np.ndarray, np.ndarray]  # dem_edges positions by v node (runs)
    segments: tuple[np.ndarray, np.ndarray, np.ndarray]  # demand rows by edge position (runs)
    a: np.ndarray  # demand start_m ...
    b: np.ndarray  # ... end_m ...
    r: np.ndarray  # ... and the radius left after its offset


def _node_dist(x: _MatrixInputs, ends: slice, n_nodes: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cand, node, dist)``: the shortest distance from each candidate to each node it reaches."""
    owner, pair = _expand(x.pairs, x.end_s[ends])
    dist = x.end_d0[ends][owner] + x.pair_d[pair]
    keep = dist <= x.R
    key = x.end_cand[ends][owner[keep]] * np.int64(n_nodes) + x.pair_t[pair[keep]]
    dist = dist[keep]
    del owner, pair, keep
    order = np.argsort(key, kind="stable")
    key, dist = key[order], dist[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    dist = np.minimum.reduceat(dist, first) if len(first) else dist[:0]
    key = key[first]
    return key // n_nodes, key % n_nodes, dist


def _cand_edges(
    x: _MatrixInputs, cands: np.ndarray, n_nodes: int, ends: slice
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(cand, edge position, du, dv)`` for every demand edge that ``cands`` reach or lie on.

    ``du`` / ``dv``: distance from the candidate to the edge's u / v node, inf where not reached.
    """
    cand, node, dist = _node_dist(x, ends, n_nodes)
    m = np.int64(len(x.dem_edges))
    ou, eu = _expand(x.at_u, node)
    ov, ev = _expand(x.at_v, node)
    own = cands[x.edge_pos[x.ce[cands]] >= 0]
    keys = np.concatenate([cand[ou] * m + eu, cand[ov] * m + ev, own * m + x.edge_pos[x.ce[own]]])
    uniq, inv = np.unique(keys, return_inverse=True)
    du = np.full(len(uniq), np.inf)
    dv = np.full(len(uniq), np.inf)
    du[inv[: len(ou)]] = dist[ou]
    dv[inv[len(ou) : len(ou) + len(ov)]] = dist[ov]
    return uniq // m, uniq % m, du, dv


def _chunk_hits(
    x: _MatrixInputs, cands: np.ndarray, n_nodes: int, ends: slice
) -> tuple[np.ndarray, np.ndarray]:
    """``(cand, demand)`` rows where a candidate of ``cands`` covers a demand segment, sorted."""
    cand, epos, du, dv = _cand_edges(x, cands, n_nodes, ends)
    owner, drow = _expand(x.segments, epos)
    c = cand[owner]
    e = x.dem_edges[epos[owner]]
    r = x.r[drow]
    same = x.ce[c] == e
    hit = _covers(
        x.L[e], x.a[drow], x.b[drow], r, du[owner], dv[owner], np.where(same, x.ct[c], np.nan),
        r - x.co[c],
    )
    rows, cols = c[hit], drow[hit]
    order = np.lexsort((cols, rows))
    return rows[order], cols[order]


def _matrix_inputs(
    graph: StreetGraph, candidates: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, R: float
) -> _MatrixInputs:
    """Candidates' ends within ``R``, the bounded node pairs from them, and the demand lookups."""
    L = graph.length_m
    n_nodes, n_c = graph.n_nodes, len(candidates)
    ce = _edge_rows(graph, candidates["edge_id"], "candidates")
    ct = candidates["position_m"].to_numpy(dtype=np.float64)
    co = candidates["offset_m"].to_numpy(dtype=np.float64)
    de = _edge_rows(graph, demand["edge_id"], "demand")
    end_cand = np.repeat(np.arange(n_c, dtype=np.int64), 2)
    end_s = np.column_stack([graph.u_idx[ce], graph.v_idx[ce]]).ravel()
    end_d0 = np.column_stack([co + ct, co + L[ce] - ct]).ravel()
    near = end_d0 <= R
    end_cand, end_s, end_d0 = end_cand[near], end_s[near], end_d0[near]
    dem_edges = np.unique(de)
    targets = np.unique(np.concatenate([graph.u_idx[dem_edges], graph.v_idx[dem_edges]]))
    pairs = bounded_pairs(graph, np.unique(end_s), targets, R)
    pair_s = pairs["s"].to_numpy()
    pair_t = pairs["t"].to_numpy()
    pair_d = pairs["d"].to_numpy()
    del pairs
    edge_pos = np.full(graph.n_edges, -1, dtype=np.int64)
    edge_pos[dem_edges] = np.arange(len(dem_edges))
    return _MatrixInputs(
        R=R, L=L, ce=ce, ct=ct, co=co, end_cand=end_cand, end_s=end_s, end_d0=end_d0,
        pairs=_runs(pair_s, n_nodes), pair_t=pair_t, pair_d=pair_d, dem_edges=dem_edges,
        edge_pos=edge_pos, at_u=_runs(graph.u_idx[dem_edges], n_nodes),
        at_v=_runs(graph.v_idx[dem_edges], n_nodes), segments=_runs(edge_pos[de], len(dem_edges)),
        a=demand["start_m"].to_numpy(dtype=np.float64),
        b=demand["end_m"].to_numpy(dtype=np.float64),
        r=R - np.nan_to_num(demand["offset_m"].to_numpy(dtype=np.float64), nan=0.0),
    )


def _chunks(x: _MatrixInputs, n_c: int) -> list[tuple[int, int]]:
    """Candidate ranges of about ``_MATRIX_CHUNK`` reached pairs each (a range holds >= 1)."""
    work = x.pairs[2][x.end_s]
    per_cand = np.bincount(x.end_cand, weights=work, minlength=n_c)
    cum = np.cumsum(per_cand)
    cuts = np.searchsorted(cum, np.arange(_MATRIX_CHUNK, cum[-1] if n_c else 0, _MATRIX_CHUNK),
                           side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [n_c]]))
    return [(int(c0), int(c1)) for c0, c1 in itertools.pairwise(bounds)]


def coverage_matrix(
    graph: StreetGraph,
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    *,
    radius_m: float,
) -> sp.csr_array:
    """Which candidate covers which demand, by hose-lay distance.

    Parameters
    ----------
    graph
        The street graph the candidates and demand were built on.
    candidates
        Output of :func:`siting_candidates` (``edge_id``, ``position_m``, ``offset_m``).
    demand
        Output of :func:`demand_segments` (``edge_id``, ``start_m``, ``end_m``, ``offset_m``).
    radius_m
        Protection radius by hose-lay distance (GB 50974 7.2.5: 150 m).

    Returns
    -------
    scipy.sparse.csr_array
        Boolean ``(len(candidates), len(demand))``, rows and columns in the frames' row order;
        True where the candidate covers the whole demand segment (see the module notes).
    """
    if not radius_m >= 0:
        raise ConfigError(f"radius_m must be >= 0, got {radius_m}")
    _require_columns(candidates, _CANDIDATE_COLUMNS, "candidates", "use siting_candidates()")
    _require_columns(demand, _DEMAND_COLUMNS, "demand", "use demand_segments()")
    R = float(radius_m)
    n_c, n_d = len(candidates), len(demand)
    shape = (n_c, n_d)
    if n_c == 0 or n_d == 0:
        return sp.csr_array(shape, dtype=bool)
    x = _matrix_inputs(graph, candidates, demand, R)
    parts = []
    for c0, c1 in _chunks(x, n_c):
        ends = slice(*np.searchsorted(x.end_cand, [c0, c1]))
        parts.append(_chunk_hits(x, np.arange(c0, c1, dtype=np.int64), graph.n_nodes, ends))
    del x
    rows = np.concatenate([p[0] for p in parts])
    cols = np.concatenate([p[1] for p in parts]).astype(np.int32)
    del parts
    indptr = np.zeros(n_c + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n_c), out=indptr[1:])
    matrix = sp.csr_array((np.ones(len(rows), dtype=bool), cols, indptr), shape=shape)
    log.info(
        "coverage matrix (R=%g m, hose-lay): %d candidates x %d demand, %d pairs; %d demand "
        "coverable, %d candidates cover something",
        R, n_c, n_d, matrix.nnz, int((np.bincount(cols, minlength=n_d) > 0).sum()),
        int((np.diff(indptr) > 0).sum()),
    )
    return matrix


# --- step 4: the choice ---------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Reduced:
    """The problem on distinct coverable demand columns and useful candidates."""

    A: sp.csr_array  # useful candidates x distinct columns, bool
    weight: np.ndarray  # summed weight of each distinct column
    count: np.ndarray  # demand rows in each distinct column
    cand: np.ndarray  # original candidate row of each row of A


def _reduce(matrix: sp.csr_array, columns: np.ndarray, weight: np.ndarray) -> _Reduced:
    """Keep ``columns`` that some candidate covers; merge identical columns; drop idle rows."""
    csc = sp.csc_array(matrix[:, columns])
    csc.sort_indices()
    indptr, indices = csc.indptr, csc.indices
    nnz = np.diff(indptr)
    group = np.full(len(columns), -1, dtype=np.int64)
    seen: dict[bytes, int] = {}
    for j in np.flatnonzero(nnz > 0):
        key = indices[indptr[j] : indptr[j + 1]].tobytes()
        group[j] = seen.setdefault(key, len(seen))
    m = len(seen)
    ok = group >= 0
    w = np.bincount(group[ok], weights=weight[columns][ok], minlength=m)
    count = np.bincount(group[ok], minlength=m).astype(np.float64)
    firsts = np.full(m, -1, dtype=np.int64)
    firsts[group[ok][::-1]] = np.flatnonzero(ok)[::-1]
    A = sp.csr_array(csc[:, firsts]) if m else sp.csr_array((matrix.shape[0], 0), dtype=bool)
    useful = np.flatnonzero(np.diff(A.indptr) > 0)
    A = sp.csr_array(A[useful])
    A.sort_indices()
    return _Reduced(A=A, weight=w, count=count, cand=useful)


def _lazy_greedy(
    A: sp.csr_array,
    weight: np.ndarray,
    *,
    rows: np.ndarray,
    per: np.ndarray,
    k: int,
    cost: np.ndarray | None = None,
    budget: float | None = None,
) -> tuple[list[int], list[float]]:
    """Lazy greedy (CELF): repeatedly take the row of ``rows`` with the largest gain / ``per``.

    Gains are the summed ``weight`` of the row's columns not yet covered. Ties go to the lower
    row. Stops after ``k`` picks, when no row gains, or (with a budget) when nothing fits.
    Returns the picks and their gains.

    A popped row's gain is recomputed only when a pick since its last evaluation covered one of
    its columns (``stale``, marked through the columns of each pick), not after every pick: an
    unchanged gain would come back with the same key and be popped again, so the picks are
    those of plain CELF, with work growing with the matrix instead of picks × rows.
    """
    indptr, indices = A.indptr, A.indices
    w = weight.astype(np.float64, copy=True)
    by_column = sp.csc_array(A)
    col_ptr, col_rows = by_column.indptr, by_column.indices
    stale = np.zeros(A.shape[0], dtype=bool)

    def gain(i: int) -> float:
        return float(np.sum(w[indices[indptr[i] : indptr[i + 1]]]))

    spent = 0.0
    heap = []
    for i in rows.tolist():
        g = gain(i)
        if g > 0 and (budget is None or cost is None or cost[i] <= budget + 1e-9):
            heap.append((-g / per[i], i, 0, g))
    heapq.heapify(heap)
    picks: list[int] = []
    gains: list[float] = []
    while heap and len(picks) < k:
        _, i, _, g = heapq.heappop(heap)
        if budget is not None and cost is not None and spent + cost[i] > budget + 1e-9:
            continue  # the budget left only shrinks: it never fits again
        if stale[i]:
            stale[i] = False
            g = gain(i)
            if g > 0:
                heapq.heappush(heap, (-g / per[i], i, len(picks), g))
            continue
        picks.append(i)
        gains.append(g)
        cols = indices[indptr[i] : indptr[i + 1]]
        changed = cols[w[cols] != 0.0]
        if len(changed):
            touched = [col_rows[col_ptr[j] : col_ptr[j + 1]] for j in changed.tolist()]
            stale[np.concatenate(touched)] = True
        w[cols] = 0.0
        if cost is not None:
            spent += float(cost[i])
    return picks, gains


def _order_chosen(
    matrix: sp.csr_array, chosen: np.ndarray, weight: np.ndarray, cost: np.ndarray
) -> np.ndarray:
    """The chosen rows in greedy order of gain per yuan (ties: lower row; idle ones last)."""
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))
    if len(chosen) == 0:
        return chosen
    A = sp.csr_array(matrix)
    A.sort_indices()
    picks, _ = _lazy_greedy(A, weight, rows=chosen, per=cost, k=len(chosen))
    rest = np.setdiff1d(chosen, picks)
    return np.concatenate([np.asarray(picks, dtype=np.int64), rest])


def _solve_milp(
    c: np.ndarray,
    constraints: list[LinearConstraint],
    integrality: np.ndarray,
    options: SolverOptions,
    what: str,
) -> tuple[np.ndarray, str, float | None]:
    """Run HiGHS; return x, the status word and the MIP gap. Raise unless a solution came back."""
    res = milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0.0, 1.0),
        options={"time_limit": options.time_limit_s, "mip_rel_gap": options.mip_rel_gap,
                 "disp": False},
    )
    if res.status == 0 and res.x is not None:
        gap = getattr(res, "mip_gap", None)
        return np.asarray(res.x), "optimal", None if gap is None else float(gap)
    if res.status == 1 and res.x is not None:
        gap = getattr(res, "mip_gap", None)
        log.warning("%s stopped at the time limit (%g s), gap %s", what, options.time_limit_s, gap)
        return np.asarray(res.x), "time_limit", None if gap is None else float(gap)
    hint = (
        "raise SolverOptions.time_limit_s or use method='greedy'"
        if res.status == 1 else "check the candidates, the demand and the constraints"
    )
    raise AnalysisError(
        f"{what}: HiGHS returned status {res.status} ({res.message}) without a solution; {hint}"
    )


def _solve_mip(
    c: np.ndarray,
    constraints: list[LinearConstraint],
    integrality: np.ndarray,
    secondary: np.ndarray,
    options: SolverOptions,
    what: str,
) -> tuple[np.ndarray, str, float | None]:
    """Solve the MIP; when optimal (and ``options.tie_break``), minimise ``secondary`` over its
    optima (objective at most the optimum plus 1e-9 relative)."""
    x, status, gap = _solve_milp(c, constraints, integrality, options, what)
    if status != "optimal" or not options.tie_break:
        return x, status, gap
    best = float(c @ x)
    keep = LinearConstraint(c[None, :], -np.inf, best + 1e-9 * max(1.0, abs(best)))
    try:
        x2, _, _ = _solve_milp(secondary, [*constraints, keep], integrality, options,
                               f"{what} (tie break)")
    except AnalysisError as exc:  # the first answer stands
        log.warning("%s", exc)
        return x, status, gap
    return (x2, status, gap) if float(c @ x2) <= best + 1e-6 * max(1.0, abs(best)) else (x, status, gap)


def _lp_bound(
    c: np.ndarray, constraints: list[LinearConstraint], options: SolverOptions, what: str
) -> float | None:
    if not options.lp_bound:
        return None
    x, status, _ = _solve_milp(c, constraints, np.zeros(len(c)), options, f"{what} (LP relaxation)")
    if status != "optimal":
        return None
    return float(c @ x)


#: Nonzeros of the constraint matrix per HiGHS run of the cover LP bound: whole independent
#: blocks are gathered up to about this size (a block larger than it is solved alone).
_LP_BLOCK_NNZ = 20_000


def _cover_lp_bound(
    c: np.ndarray, A: sp.csr_array, options: SolverOptions, what: str
) -> float | None:
    """The LP bound of the cover ``A x >= 1`` (rows: candidates, columns: demand), by blocks.

    Candidates and demand columns that share no entry, directly or through others, form
    independent blocks (connected components of the bipartite graph of ``A``): the LP optimum
    is the sum of the blocks' optima. Blocks are solved in batches of about
    :data:`_LP_BLOCK_NNZ` entries, so that the simplex, whose time grows faster than the size
    of the problem, runs on city-independent sizes. None unless every batch is optimal.
    """
    if not options.lp_bound:
        return None
    n = A.shape[0]
    graph = sp.bmat([[None, A], [A.T, None]], format="csr")
    _, label = connected_components(graph, directed=False)
    cand_label, col_label = label[:n], label[n:]
    # batches of consecutive labels, cut where the running entry count passes a multiple of
    # the batch size
    nnz_by_label = np.bincount(col_label[A.indices], minlength=int(label.max()) + 1)
    batch_of_label = (np.cumsum(nnz_by_label) - nnz_by_label) // _LP_BLOCK_NNZ
    cand_batch, col_batch = batch_of_label[cand_label], batch_of_label[col_label]
    cand_order = np.argsort(cand_batch, kind="stable")
    col_order = np.argsort(col_batch, kind="stable")
    n_batches = int(batch_of_label.max()) + 1
    cand_bounds = np.searchsorted(cand_batch[cand_order], np.arange(n_batches + 1))
    col_bounds = np.searchsorted(col_batch[col_order], np.arange(n_batches + 1))
    total = 0.0
    for b in range(n_batches):
        rows = cand_order[cand_bounds[b] : cand_bounds[b + 1]]
        cols = col_order[col_bounds[b] : col_bounds[b + 1]]
        if len(cols) == 0:
            continue  # candidates covering nothing: 0 in the optimum
        block = A[rows][:, cols]
        cons = [LinearConstraint(block.T.astype(np.float64).tocsr(), 1.0, np.inf)]
        x, status, _ = _solve_milp(c[rows], cons, np.zeros(len(rows)), options,
                                   f"{what} (LP relaxation, block {b + 1} of {n_batches})")
        if status != "optimal":
            return None
        total += float(c[rows] @ x)
    return total


def _rel_gap(bound: float | None, objective: float) -> float | None:
    if bound is None:
        return None
    scale = max(abs(bound), abs(objective))
    return 0.0 if scale == 0 else abs(bound - objective) / scale


def _check_inputs(
    candidates: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, matrix: sp.csr_array
) -> None:
    _require_columns(candidates, _CANDIDATE_COLUMNS, "candidates", "use siting_candidates()")
    _require_columns(demand, _DEMAND_COLUMNS, "demand", "use demand_segments()")
    if matrix.shape != (len(candidates), len(demand)):
        raise ConfigError(
            f"matrix is {matrix.shape[0]} x {matrix.shape[1]} but there are {len(candidates)} "
            f"candidates and {len(demand)} demand rows; build it with coverage_matrix()"
        )


def _choose_method(method: str, reduced: _Reduced, options: SolverOptions) -> str:
    if method not in ("auto", "mip", "greedy"):
        raise ConfigError(f"method must be 'auto', 'mip' or 'greedy', got {method!r}")
    if method != "auto":
        return method
    small = (
        reduced.A.shape[0] <= options.auto_max_candidates
        and reduced.A.nnz <= options.auto_max_nonzeros
    )
    return "mip" if small else "greedy"


def _street_metres(demand: pd.DataFrame) -> np.ndarray:
    kind = demand["kind"].to_numpy(dtype=object)
    return np.where(kind == "uncovered", demand["length_m"].to_numpy(dtype=np.float64), 0.0)


def _replay(
    matrix: sp.csr_array, order: np.ndarray, values: list[np.ndarray]
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Add the rows of ``order`` one by one: first coverer of each column, and the marginal sum
    of each of ``values`` per step."""
    covered_by = np.full(matrix.shape[1], -1, dtype=np.int64)
    margins = [np.zeros(len(order)) for _ in values]
    for step, i in enumerate(order.tolist()):
        cols = matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]
        new = cols[covered_by[cols] < 0]
        covered_by[new] = i
        for v, out in zip(values, margins, strict=True):
            out[step] = v[new].sum()
    return covered_by, margins


@dataclass(frozen=True)
class _Solved:
    """What a solver run says beyond the chosen rows."""

    problem: str
    method: str
    status: str
    objective: float | None = None  # None: the covered weight
    lp_bound: float | None = None
    mip_gap: float | None = None
    guarantee: float | None = None
    online_bound: float | None = None


def _result(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    matrix: sp.csr_array,
    order: np.ndarray,
    *,
    cost: np.ndarray,
    target: np.ndarray,
    solved: _Solved,
    t0: float,
) -> SitingResult:
    """Assemble the result layers and figures for the candidate rows ``order``, in that order."""
    weight = demand["weight"].to_numpy(dtype=np.float64)
    metres = _street_metres(demand)
    covered_row, (m_weight, m_metres) = _replay(matrix, order, [weight, metres])
    ids = candidates["candidate_id"].to_numpy(dtype=np.int64)
    c = cost[order]
    curve = pd.DataFrame(
        {
            "order": np.arange(1, len(order) + 1, dtype=np.int64),
            "candidate_id": ids[order],
            "marginal_weight": m_weight,
            "marginal_m": m_metres,
            "cumulative_weight": np.cumsum(m_weight),
            "cumulative_m": np.cumsum(m_metres),
            "cost_cny": c,
            "cumulative_cost_cny": np.cumsum(c),
            "cny_per_m": np.where(m_metres > 0, c / np.where(m_metres > 0, m_metres, 1.0), np.nan),
        }
    )
    chosen = candidates.iloc[order].copy().reset_index(drop=True)
    chosen.insert(0, "order", curve["order"].to_numpy())
    for col in ("cost_cny", "marginal_weight", "marginal_m", "cumulative_cost_cny"):
        chosen[col] = curve[col].to_numpy()
    coverable = np.diff(sp.csc_array(matrix).indptr) > 0
    out_demand = demand.copy()
    out_demand["target"] = target
    out_demand["coverable"] = coverable
    out_demand["covered"] = covered_row >= 0
    out_demand["covered_by"] = np.where(covered_row >= 0, ids[np.maximum(covered_row, 0)], -1)
    covered_weight = float(m_weight.sum())
    objective = covered_weight if solved.objective is None else float(solved.objective)
    return SitingResult(
        problem=solved.problem,
        method=solved.method,
        status=solved.status,
        chosen=chosen,
        demand=out_demand,
        budget_curve=curve,
        objective=objective,
        covered_weight=covered_weight,
        covered_m=float(m_metres.sum()),
        cost_cny=float(c.sum()),
        n_hydrants=len(order),
        lp_bound=solved.lp_bound,
        gap=_rel_gap(solved.lp_bound, objective),
        mip_gap=solved.mip_gap,
        guarantee=solved.guarantee,
        online_bound=solved.online_bound,
        uncoverable=demand["demand_id"].to_numpy(dtype=np.int64)[target & ~coverable],
        solve_s=time.perf_counter() - t0,
    )


def _online_bound(A: sp.csr_array, picks: list[int], w: np.ndarray, k: int) -> float:
    """``f(S) + sum of the k largest marginal gains after S``: an upper bound on the optimum."""
    covered = np.zeros(A.shape[1], dtype=bool)
    for i in picks:
        covered[A.indices[A.indptr[i] : A.indptr[i + 1]]] = True
    gains = A.astype(np.float64) @ np.where(covered, 0.0, w)
    top = np.sort(gains)[::-1][:k]
    return float(w[covered].sum() + top.sum())


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _prepare(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    matrix: sp.csr_array,
    cost: CostModel,
) -> tuple[sp.csr_array, np.ndarray, np.ndarray]:
    _check_inputs(candidates, demand, matrix)
    A = sp.csr_array(matrix, dtype=bool)
    A.sort_indices()
    return A, cost.cost_of(candidates), demand["weight"].to_numpy(dtype=np.float64)


def site_hydrants(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    matrix: sp.csr_array,
    *,
    k: int | None = None,
    budget_cny: float | None = None,
    cost: CostModel | None = None,
    method: Method = "auto",
    options: SolverOptions | None = None,
) -> SitingResult:
    """Where ``k`` new hydrants (or a budget) cover the most weighted demand (max coverage).

    Parameters
    ----------
    candidates, demand, matrix
        From :func:`siting_candidates`, :func:`demand_segments`, :func:`coverage_matrix`.
    k
        Number of new hydrants, at most.
    budget_cny
        Budget in CNY, at most (each candidate costs ``cost.cost_of``). ``k``, a budget or both.
    cost
        Unit costs; :class:`CostModel` defaults (CNY 15,000 per hydrant, 800 per metre of pipe).
    method
        ``'mip'``: exact (HiGHS). ``'greedy'``: lazy greedy; with a budget, the better of the
        plain and the gain-per-yuan greedy. ``'auto'``: the MIP when the reduced problem is
        within the :class:`SolverOptions` limits, else the greedy.
    options
        Time limit, MIP gap, ``auto`` limits, LP bound.

    Returns
    -------
    SitingResult
        ``objective`` is the covered weight. Chosen sites that add nothing are left out (the MIP
        may pick such when ``k`` is more than needed).

    Raises
    ------
    ConfigError
        If neither ``k`` nor ``budget_cny`` is given, or one is negative.
    AnalysisError
        If HiGHS fails, or stops at the time limit without a solution.

    Notes
    -----
    The model works on the demand that some candidate covers, with identical columns merged
    (weights summed) and candidates that cover nothing left out: maximise ``sum w_j y_j`` with
    ``y_j <= sum_{i covers j} x_i``, ``sum x_i <= k``, ``sum cost_i x_i <= budget``, ``x``
    binary, ``y`` in ``[0, 1]``. The LP bound relaxes ``x`` to ``[0, 1]``.
    """
    cost = cost if cost is not None else CostModel()
    options = options if options is not None else SolverOptions()
    if k is None and budget_cny is None:
        raise ConfigError("site_hydrants needs k (number of hydrants) or budget_cny, or both")
    if k is not None and not k >= 0:
        raise ConfigError(f"k must be >= 0, got {k}")
    if budget_cny is not None and not budget_cny >= 0:
        raise ConfigError(f"budget_cny must be >= 0, got {budget_cny}")
    t0 = time.perf_counter()
    matrix, unit, weight = _prepare(candidates, demand, matrix, cost)
    red = _reduce(matrix, np.arange(len(demand)), weight)
    chosen_method = _choose_method(method, red, options)
    A, w, rows = red.A, red.weight, red.cand
    n, m = A.shape
    c_unit = unit[rows]
    k_eff = n if k is None else int(min(k, n))

    obj = np.concatenate([np.zeros(n), -w])
    cons = [LinearConstraint(sp.hstack([-A.T.astype(np.float64), sp.identity(m)], format="csr"),
                             -np.inf, 0.0)]
    if k is not None:
        cons.append(LinearConstraint(np.concatenate([np.ones(n), np.zeros(m)])[None, :], -np.inf, k))
    if budget_cny is not None:
        cons.append(
            LinearConstraint(np.concatenate([c_unit, np.zeros(m)])[None, :], -np.inf, budget_cny)
        )
    what = f"max coverage ({n} candidates x {m} demand columns)"

    lp: float | None = None
    mip_gap = guarantee = online = None
    if n == 0 or m == 0:
        picked = np.empty(0, dtype=np.int64)
        status = "optimal"
        lp = 0.0 if options.lp_bound else None
    else:
        neg = _lp_bound(obj, cons, options, what)
        lp = None if neg is None else -neg
        if chosen_method == "mip":
            rank = np.arange(n) / max(n, 1)
            secondary = np.concatenate([c_unit / c_unit.max() + 1e-3 * rank, np.zeros(m)])
            x, status, mip_gap = _solve_mip(
                obj, cons, np.concatenate([np.ones(n), np.zeros(m)]), secondary, options, what
            )
            picked = np.flatnonzero(x[:n] > 0.5)
        else:
            status = "heuristic"
            every = np.arange(n)
            picks, gains = _lazy_greedy(A, w, rows=every, per=np.ones(n), k=k_eff, cost=c_unit,
                                        budget=budget_cny)
            if budget_cny is not None:
                alt, alt_gains = _lazy_greedy(A, w, rows=every, per=c_unit, k=k_eff, cost=c_unit,
                                              budget=budget_cny)
                if sum(alt_gains) > sum(gains):
                    picks = alt
                guarantee = GREEDY_FACTOR / 2 if k is None else None
            else:
                guarantee = GREEDY_FACTOR
                online = _online_bound(A, picks, w, k_eff)
            picked = np.asarray(picks, dtype=np.int64)

    order = _order_chosen(matrix, rows[picked], weight, unit)
    _, (gain,) = _replay(matrix, order, [weight])
    order = order[gain > 0]  # sites that add nothing
    result = _result(
        candidates, demand, matrix, order, cost=unit, target=np.ones(len(demand), dtype=bool),
        solved=_Solved("max_coverage", chosen_method, status, lp_bound=lp, mip_gap=mip_gap,
                       guarantee=guarantee, online_bound=online),
        t0=t0,
    )
    log.info(
        "site hydrants (%s, %s): %d new hydrants, CNY %.0f, cover %.1f of %.1f weight "
        "(%.0f m of street); LP bound %s, gap %s",
        chosen_method, status, result.n_hydrants, result.cost_cny, result.covered_weight,
        float(weight.sum()), result.covered_m, _fmt(lp), _fmt(result.gap),
    )
    return result


def _harmonic(n: int) -> float:
    return float(np.sum(1.0 / np.arange(1, n + 1))) if n > 0 else 1.0


def _drop_redundant(A: sp.csr_array, picks: list[int], m: int) -> list[int]:
    """Leave out picks (last first) whose columns the other picks all cover."""
    count = np.zeros(m, dtype=np.int64)
    for i in picks:
        count[A.indices[A.indptr[i] : A.indptr[i + 1]]] += 1
    keep = []
    for i in reversed(picks):
        cols = A.indices[A.indptr[i] : A.indptr[i + 1]]
        if (count[cols] >= 2).all():
            count[cols] -= 1
        else:
            keep.append(i)
    return keep[::-1]


def cover_all(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    matrix: sp.csr_array,
    *,
    target: np.ndarray | None = None,
    cost: CostModel | None = None,
    objective: Literal["count", "cost"] = "count",
    method: Method = "auto",
    options: SolverOptions | None = None,
) -> SitingResult:
    """The fewest (or cheapest) new hydrants that cover every coverable demand of a target set.

    Parameters
    ----------
    candidates, demand, matrix
        From :func:`siting_candidates`, :func:`demand_segments`, :func:`coverage_matrix`.
    target
        Bool per demand row: the rows to cover (default: all). Rows that no candidate covers
        are reported in ``uncoverable`` and left out of the constraints.
    cost
        Unit costs (:class:`CostModel`).
    objective
        ``'count'`` (default): fewest hydrants, the cheapest of those on a tie. ``'cost'``:
        least CNY.
    method
        ``'mip'``, ``'greedy'`` (lazy greedy on newly covered target rows, per yuan for
        ``'cost'``, then redundant picks removed) or ``'auto'``.
    options
        Time limit, MIP gap, ``auto`` limits, LP bound.

    Returns
    -------
    SitingResult
        ``objective`` is the number of hydrants or their cost.

    Raises
    ------
    ConfigError
        On a bad ``target``, ``objective`` or ``method``.
    AnalysisError
        If HiGHS fails, or stops at the time limit without a solution.
    """
    cost = cost if cost is not None else CostModel()
    options = options if options is not None else SolverOptions()
    if objective not in ("count", "cost"):
        raise ConfigError(f"objective must be 'count' or 'cost', got {objective!r}")
    t0 = time.perf_counter()
    matrix, unit, weight = _prepare(candidates, demand, matrix, cost)
    if target is None:
        tmask = np.ones(len(demand), dtype=bool)
    else:
        tmask = np.asarray(target)
        if tmask.dtype != bool or tmask.shape != (len(demand),):
            raise ConfigError(
                f"target must be a boolean mask with one value per demand row ({len(demand)}); "
                f"got dtype {tmask.dtype}, shape {tmask.shape}"
            )
    red = _reduce(matrix, np.flatnonzero(tmask), weight)
    chosen_method = _choose_method(method, red, options)
    A, rows = red.A, red.cand
    n, m = A.shape
    c_unit = unit[rows]
    # Count: one per hydrant plus a cost term summing to less than 1, so that of the fewest
    # hydrants the cheapest wins.
    price = np.ones(n) + 0.5 * c_unit / c_unit.sum() if objective == "count" and n else c_unit
    cons = [LinearConstraint(A.T.astype(np.float64).tocsr(), 1.0, np.inf)]
    what = f"cover ({n} candidates x {m} demand columns)"
    lp: float | None = None
    mip_gap = guarantee = None
    if m == 0:
        picked = np.empty(0, dtype=np.int64)
        status = "optimal"
        lp = 0.0 if options.lp_bound else None
    else:
        lp = _cover_lp_bound(np.ones(n) if objective == "count" else c_unit, A, options, what)
        if chosen_method == "mip":
            rank = np.arange(n) / max(n, 1)
            secondary = rank if objective == "count" else np.ones(n) + 1e-3 * rank
            x, status, mip_gap = _solve_mip(price, cons, np.ones(n), secondary, options, what)
            picked = np.flatnonzero(x > 0.5)
        else:
            status = "heuristic"
            per = np.ones(n) if objective == "count" else c_unit
            picks, _ = _lazy_greedy(A, red.count, rows=np.arange(n), per=per, k=n)
            picked = np.asarray(_drop_redundant(A, picks, m), dtype=np.int64)
            sizes = np.bincount(np.repeat(np.arange(n), np.diff(A.indptr)),
                                weights=red.count[A.indices], minlength=n)
            guarantee = _harmonic(int(sizes.max()))
    order = _order_chosen(matrix, rows[picked], weight, unit)
    value = float(len(order)) if objective == "count" else float(unit[order].sum())
    result = _result(
        candidates, demand, matrix, order, cost=unit, target=tmask,
        solved=_Solved("cover_all", chosen_method, status, objective=value, lp_bound=lp,
                       mip_gap=mip_gap, guarantee=guarantee),
        t0=t0,
    )
    log.info(
        "cover all (%s, %s, %s): %d new hydrants, CNY %.0f, cover %d target rows; %d "
        "uncoverable; LP bound %s, gap %s",
        chosen_method, status, objective, result.n_hydrants, result.cost_cny,
        int((result.demand["covered"] & tmask).sum()), len(result.uncoverable), _fmt(lp),
        _fmt(result.gap),
    )
    return result


def budget_curve(
    candidates: gpd.GeoDataFrame,
    demand: gpd.GeoDataFrame,
    matrix: sp.csr_array,
    *,
    cost: CostModel | None = None,
    max_hydrants: int | None = None,
) -> pd.DataFrame:
    """What each yuan buys: add the site with the most weight per CNY, one after another.

    Parameters
    ----------
    candidates, demand, matrix
        From :func:`siting_candidates`, :func:`demand_segments`, :func:`coverage_matrix`.
    cost
        Unit costs (:class:`CostModel`).
    max_hydrants
        Stop after this many (default: when no site adds anything).

    Returns
    -------
    pandas.DataFrame
        One row per added hydrant, as :attr:`SitingResult.budget_curve`: ``order,
        candidate_id, marginal_weight, marginal_m, cumulative_weight, cumulative_m, cost_cny,
        cumulative_cost_cny, cny_per_m``.
    """
    cost = cost if cost is not None else CostModel()
    if max_hydrants is not None and not max_hydrants >= 0:
        raise ConfigError(f"max_hydrants must be >= 0, got {max_hydrants}")
    t0 = time.perf_counter()
    matrix, unit, weight = _prepare(candidates, demand, matrix, cost)
    limit = len(candidates) if max_hydrants is None else int(max_hydrants)
    picks, _ = _lazy_greedy(matrix, weight, rows=np.arange(len(candidates)), per=unit, k=limit)
    result = _result(
        candidates, demand, matrix, np.asarray(picks, dtype=np.int64), cost=unit,
        target=np.ones(len(demand), dtype=bool),
        solved=_Solved("max_coverage", "greedy", "heuristic"), t0=t0,
    )
    curve = result.budget_curve
    log.info(
        "budget curve: %d hydrants, CNY %.0f for %.1f weight (%.0f m of street)",
        len(curve), result.cost_cny, result.covered_weight, result.covered_m,
    )
    return curve
