"""Bounded searches: every pair of graph nodes within a distance, touching only what lies near.

A protection radius (150 m) is tiny against a city. A Dijkstra per source over the whole graph
(or a dense row per source, as :func:`scipy.sparse.csgraph.dijkstra` returns) costs
sources × nodes and grows with the square of the city. Here sources are grouped by square cells
and each group runs on the subgraph of nodes within its bounding box grown by the limit: a path
is never shorter than the straight line between its points, so that subgraph holds every path of
length at most the limit, and the answer is exact. The cost grows with the number of sources
times the nodes near them: linearly with the city.

Used by building water (:func:`routing.water.hydrant_pairs`) and siting
(:func:`routing.siting.coverage_matrix`).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from routing.graph import StreetGraph

#: Sources are grouped by square cells of at least this side (m) ...
_CELL_M = 1000.0
#: ... and at most this many sources per run.
_MAX_SOURCES = 512
#: Node coordinates may sit up to 0.01 m off their edges' ends; pad the local subgraph by this.
_PAD_M = 1.0


def _chunks(xy: np.ndarray, sources: np.ndarray, limit: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``sources`` sorted by cell, and (start, stop) runs of at most ``_MAX_SOURCES`` per cell."""
    cell_m = max(_CELL_M, 4.0 * limit)
    cells = np.floor(xy[sources] / cell_m).astype(np.int64)
    order = np.lexsort((sources, cells[:, 1], cells[:, 0]))
    sources, cells = sources[order], cells[order]
    new_cell = np.ones(len(sources), dtype=bool)
    new_cell[1:] = (cells[1:] != cells[:-1]).any(axis=1)
    bounds = np.append(np.flatnonzero(new_cell), len(sources))
    chunks = [
        (a, min(a + _MAX_SOURCES, int(b1)))
        for b0, b1 in itertools.pairwise(bounds)
        for a in range(int(b0), int(b1), _MAX_SOURCES)
    ]
    return sources, chunks


def bounded_pairs(
    graph: StreetGraph, sources: np.ndarray, targets: np.ndarray, limit: float
) -> pd.DataFrame:
    """Every (source node, target node) pair within ``limit`` by hose-lay distance.

    Parameters
    ----------
    graph
        The street graph (its symmetric hose-lay CSR and node coordinates).
    sources, targets
        Node indices (unique).
    limit
        Largest distance (m) of a pair.

    Returns
    -------
    pandas.DataFrame
        Columns ``s``, ``t`` (node indices) and ``d`` (metres), one row per pair within ``limit``
        (a node is its own target at distance 0).
    """
    xy = graph.node_xy
    sources = np.asarray(sources, dtype=np.int64)
    targets = np.asarray(targets, dtype=np.int64)
    if len(sources) == 0 or len(targets) == 0:
        return pd.DataFrame({"s": np.empty(0, np.int64), "t": np.empty(0, np.int64),
                             "d": np.empty(0)})
    sources, chunks = _chunks(xy, sources, limit)
    x_order = graph.node_x_order
    xs = xy[x_order, 0]
    is_target = np.zeros(graph.n_nodes, dtype=bool)
    is_target[targets] = True
    local_id = np.full(graph.n_nodes, -1, dtype=np.int64)
    hose = graph.hose
    out_s, out_t, out_d = [], [], []
    pad = limit + _PAD_M
    for a, b in chunks:
        src = sources[a:b]
        lo = xy[src].min(axis=0) - pad
        hi = xy[src].max(axis=0) + pad
        sub = x_order[np.searchsorted(xs, lo[0], "left") : np.searchsorted(xs, hi[0], "right")]
        ys = xy[sub, 1]
        sub = np.sort(sub[(ys >= lo[1]) & (ys <= hi[1])])
        local_id[sub] = np.arange(len(sub))
        rows = hose[sub]
        col = local_id[rows.indices]
        keep = col >= 0
        row = np.repeat(np.arange(len(sub)), np.diff(rows.indptr))
        local = sp.csr_array((rows.data[keep], (row[keep], col[keep])), shape=(len(sub), len(sub)))
        dist = dijkstra(local, directed=True, indices=local_id[src], limit=limit)
        local_id[sub] = -1
        cols = np.flatnonzero(is_target[sub])
        block = dist[:, cols]
        i, j = np.nonzero(block <= limit)
        out_s.append(src[i])
        out_t.append(sub[cols[j]])
        out_d.append(block[i, j])
    return pd.DataFrame(
        {"s": np.concatenate(out_s), "t": np.concatenate(out_t), "d": np.concatenate(out_d)}
    )
