"""Which candidate covers which demand, by hose-lay distance (step 3 of :mod:`routing.siting`).

Bounded Dijkstra runs from the candidates' edge ends in chunks; the coverage rule is the one
in :mod:`routing.siting`'s module docstring."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import scipy.sparse as sp

from geo._validate import require_columns
from geo.errors import ConfigError
from routing.bounded import bounded_pairs
from routing.graph import StreetGraph
from routing.siting_sites import CANDIDATE_COLUMNS, DEMAND_COLUMNS, EPS_M, edge_rows

log = logging.getLogger(__name__)

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
    ends = (q <= p + EPS_M) | (b <= p + EPS_M) | (a >= q - EPS_M)
    lo = np.maximum(a, p)
    hi = np.minimum(b, q)
    same = ~np.isnan(own_t)
    own_lo = np.where(same, own_t - own_reach, np.inf)
    own_hi = np.where(same, own_t + own_reach, -np.inf)
    return ends | ((own_lo <= lo + EPS_M) & (own_hi >= hi - EPS_M))


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
    ce = edge_rows(graph, candidates["edge_id"], "candidates")
    ct = candidates["position_m"].to_numpy(dtype=np.float64)
    co = candidates["offset_m"].to_numpy(dtype=np.float64)
    de = edge_rows(graph, demand["edge_id"], "demand")
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
    require_columns(candidates, CANDIDATE_COLUMNS, layer="candidates", hint="use siting_candidates()")
    require_columns(demand, DEMAND_COLUMNS, layer="demand", hint="use demand_segments()")
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


