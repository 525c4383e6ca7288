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
   joined with numpy in bounded chunks of candidates.
4. :func:`site_hydrants` (the most weighted demand covered with ``k`` new hydrants or a budget in
   CNY) and :func:`cover_all` (the fewest new hydrants covering a target set), exact as a MIP
   (HiGHS through :func:`scipy.optimize.milp`, status checked) or by a lazy greedy (CELF) with its
   guarantee and the gap to the LP-relaxation bound; :func:`budget_curve` shows what each yuan
   buys.

Steps 1 and 2 live in :mod:`routing.siting_sites`, step 3 in :mod:`routing.siting_matrix`; this
module holds step 4 and exports all four.

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
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse.csgraph import connected_components

from geo._validate import bool_mask, require_columns
from geo.errors import AnalysisError, ConfigError
from routing.siting_matrix import coverage_matrix
from routing.siting_sites import (
    CANDIDATE_COLUMNS,
    DEMAND_COLUMNS,
    CandidateOptions,
    DemandWeights,
    demand_segments,
    siting_candidates,
)

log = logging.getLogger(__name__)

__all__ = [
    "CandidateOptions", "CostModel", "DemandWeights", "SitingResult", "SolverOptions",
    "budget_curve", "cover_all", "coverage_matrix", "demand_segments", "site_hydrants",
    "siting_candidates",
]

#: The greedy's a-priori guarantee for k hydrants (Nemhauser, Wolsey and Fisher 1978).
GREEDY_FACTOR = 1.0 - 1.0 / math.e

Method = Literal["auto", "mip", "greedy"]


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
    require_columns(candidates, CANDIDATE_COLUMNS, layer="candidates", hint="use siting_candidates()")
    require_columns(demand, DEMAND_COLUMNS, layer="demand", hint="use demand_segments()")
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


def _max_coverage_model(
    A: sp.csr_array, w: np.ndarray, c_unit: np.ndarray, *, k: int | None, budget_cny: float | None
) -> tuple[np.ndarray, list[LinearConstraint]]:
    """The max-coverage MIP over ``x`` (candidates) then ``y`` (demand columns): the objective
    ``-sum w y`` and the constraints ``y <= A^T x``, ``sum x <= k``, ``sum cost x <= budget``."""
    n, m = A.shape
    obj = np.concatenate([np.zeros(n), -w])
    cons = [LinearConstraint(sp.hstack([-A.T.astype(np.float64), sp.identity(m)], format="csr"),
                             -np.inf, 0.0)]
    if k is not None:
        cons.append(LinearConstraint(np.concatenate([np.ones(n), np.zeros(m)])[None, :], -np.inf, k))
    if budget_cny is not None:
        cons.append(
            LinearConstraint(np.concatenate([c_unit, np.zeros(m)])[None, :], -np.inf, budget_cny)
        )
    return obj, cons


def _greedy_max_coverage(
    A: sp.csr_array, w: np.ndarray, c_unit: np.ndarray, *, k_eff: int, k: int | None,
    budget_cny: float | None,
) -> tuple[np.ndarray, float | None, float | None]:
    """Lazy greedy picks, their guarantee and (by count only) the online bound; with a budget,
    the better of the plain and the gain-per-yuan greedy."""
    n = A.shape[0]
    every = np.arange(n)
    online = None
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
    return np.asarray(picks, dtype=np.int64), guarantee, online


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
    _check_question(k, budget_cny)
    t0 = time.perf_counter()
    matrix, unit, weight = _prepare(candidates, demand, matrix, cost)
    red = _reduce(matrix, np.arange(len(demand)), weight)
    chosen_method = _choose_method(method, red, options)
    picked, solved = _solve_max_coverage(
        red, unit[red.cand], k=k, budget_cny=budget_cny, method=chosen_method, options=options
    )
    order = _order_chosen(matrix, red.cand[picked], weight, unit)
    _, (gain,) = _replay(matrix, order, [weight])
    order = order[gain > 0]  # sites that add nothing
    result = _result(
        candidates, demand, matrix, order, cost=unit, target=np.ones(len(demand), dtype=bool),
        solved=solved, t0=t0,
    )
    log.info(
        "site hydrants (%s, %s): %d new hydrants, CNY %.0f, cover %.1f of %.1f weight "
        "(%.0f m of street); LP bound %s, gap %s",
        chosen_method, solved.status, result.n_hydrants, result.cost_cny, result.covered_weight,
        float(weight.sum()), result.covered_m, _fmt(solved.lp_bound), _fmt(result.gap),
    )
    return result


def _check_question(k: int | None, budget_cny: float | None) -> None:
    """``k``, a budget or both, neither negative."""
    if k is None and budget_cny is None:
        raise ConfigError("site_hydrants needs k (number of hydrants) or budget_cny, or both")
    if k is not None and not k >= 0:
        raise ConfigError(f"k must be >= 0, got {k}")
    if budget_cny is not None and not budget_cny >= 0:
        raise ConfigError(f"budget_cny must be >= 0, got {budget_cny}")


def _solve_max_coverage(
    red: _Reduced,
    c_unit: np.ndarray,
    *,
    k: int | None,
    budget_cny: float | None,
    method: str,
    options: SolverOptions,
) -> tuple[np.ndarray, _Solved]:
    """The reduced max-coverage problem solved by ``method`` (``mip`` or ``greedy``): the picked
    rows of ``red.A`` and how they were found (LP bound, MIP gap, greedy guarantees)."""
    A, w = red.A, red.weight
    n, m = A.shape
    obj, cons = _max_coverage_model(A, w, c_unit, k=k, budget_cny=budget_cny)
    what = f"max coverage ({n} candidates x {m} demand columns)"
    if n == 0 or m == 0:
        picked = np.empty(0, dtype=np.int64)
        return picked, _Solved("max_coverage", method, "optimal",
                               lp_bound=0.0 if options.lp_bound else None)
    mip_gap = guarantee = online = None
    neg = _lp_bound(obj, cons, options, what)
    lp = None if neg is None else -neg
    if method == "mip":
        rank = np.arange(n) / max(n, 1)
        secondary = np.concatenate([c_unit / c_unit.max() + 1e-3 * rank, np.zeros(m)])
        x, status, mip_gap = _solve_mip(
            obj, cons, np.concatenate([np.ones(n), np.zeros(m)]), secondary, options, what
        )
        picked = np.flatnonzero(x[:n] > 0.5)
    else:
        status = "heuristic"
        k_eff = n if k is None else int(min(k, n))
        picked, guarantee, online = _greedy_max_coverage(
            A, w, c_unit, k_eff=k_eff, k=k, budget_cny=budget_cny
        )
    return picked, _Solved("max_coverage", method, status, lp_bound=lp, mip_gap=mip_gap,
                           guarantee=guarantee, online_bound=online)


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


def _greedy_cover(A: sp.csr_array, count: np.ndarray, per: np.ndarray) -> tuple[np.ndarray, float]:
    """Lazy greedy on newly covered target rows (per ``per`` of a pick), redundant picks removed;
    and its guarantee (the harmonic number of the largest candidate's cover)."""
    n, m = A.shape
    picks, _ = _lazy_greedy(A, count, rows=np.arange(n), per=per, k=n)
    picked = np.asarray(_drop_redundant(A, picks, m), dtype=np.int64)
    sizes = np.bincount(np.repeat(np.arange(n), np.diff(A.indptr)),
                        weights=count[A.indices], minlength=n)
    return picked, _harmonic(int(sizes.max()))


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
    tmask = bool_mask(target, len(demand), what="target (one value per demand row)", default=True)
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
            picked, guarantee = _greedy_cover(A, red.count, np.ones(n) if objective == "count" else c_unit)
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
