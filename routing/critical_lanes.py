"""Critical lanes: passable lanes whose single blockage would cut a high-rise off.

--------------
A lane is critical when one blockage on it would cut at least one high-rise off from every
station. The hypothetical blockage sits at the lane's entrance (the tail of its SPT arc; for a
one-way lane its start), the worst position. With two-way lanes (the default truck graph) the
lanes that cut nodes off are the bridges among the SPT arcs (a non-tree link leaving the subtree
keeps it connected; checked for all arcs at once with subtree minima/maxima of preorder
positions). With ``respect_oneway=True`` an arc ``p → x`` cuts off exactly the nodes dominated by
``x`` when every other arc into ``x`` comes from a node ``x`` dominates; the dominator tree is
computed once (Lengauer–Tarjan, SNCA variant). Building weights are summed over subtrees by
prefix sums in preorder. Lanes a station stands on are not assessed (a blocked station
frontage is a different problem).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import depth_first_order

from geo._validate import bool_mask
from geo.errors import LayerValidationError
from routing.blockage_rules import BlockageRules, _building_weights
from routing.graph import TruckGraph
from routing.response import ResponseResult
from routing.spt import _combine, _expand, _index, _layout, _Net, _Points, _points, _prepare
from routing.water import AccessPoints

log = logging.getLogger(__name__)

__all__ = ["critical_lanes"]


def _bridges(net: _Net) -> np.ndarray:
    """Per node: True when the SPT link into it is a bridge of the (two-way) truck graph."""
    graph = net.truck.graph
    n, tin = net.n, net.tin
    e = np.flatnonzero(net.fwd)
    u, v = graph.u_idx[e], graph.v_idx[e]
    is_tree = ((net.tree_edge[v] == e) & (net.par[v] == u)) | (
        (net.tree_edge[u] == e) & (net.par[u] == v)
    )
    a = np.concatenate([u[~is_tree], n + net.seed_station])
    b = np.concatenate([v[~is_tree], net.seed_node])
    seed_tree = net.tree_seed[net.seed_node] == np.arange(len(net.seed_node))
    keep = np.concatenate([np.ones(int((~is_tree).sum()), bool), ~seed_tree])
    a, b = a[keep], b[keep]
    ok = (tin[a] >= 0) & (tin[b] >= 0)
    a, b = a[ok], b[ok]
    lo = tin.astype(np.int64).copy()
    hi = tin.astype(np.int64).copy()
    for x, y in ((a, b), (b, a)):
        np.minimum.at(lo, x, tin[y])
        np.maximum.at(hi, x, tin[y])
    for lev in reversed(net.levels[1:]):
        np.minimum.at(lo, net.par[lev], lo[lev])
        np.maximum.at(hi, net.par[lev], hi[lev])
    bridge = (tin >= 0) & (lo >= tin) & (hi < tin + net.size)
    return bridge[:n] & (net.par[:n] >= 0) & (net.par[:n] < n)


def _dominators(net: _Net) -> np.ndarray:
    """Immediate dominator of every node of the flow graph (root → stations → seeds → arcs).

    Lengauer–Tarjan, SNCA variant: semidominators with path compression over a DFS tree
    (scipy), then immediate dominators by nearest-common-ancestor walks. -1 where unreachable.
    """
    n, P, root = net.n, net.n_total, net.root
    rows = np.concatenate([np.full(len(net.sources), root), n + net.seed_station, net.arc_tail])
    cols = np.concatenate([net.sources, net.seed_node, net.arc_head])
    g = sp.csr_array((np.ones(len(rows), np.int8), (rows, cols)), shape=(P, P))
    order, dfs_par = depth_first_order(g, root, directed=True, return_predecessors=True)
    m = len(order)
    num = np.full(P, -1, dtype=np.int64)
    num[order] = np.arange(m)
    parent = np.zeros(m, dtype=np.int64)
    parent[1:] = num[dfs_par[order[1:]]]
    # predecessors (in DFS numbers) with a larger number than the node: the only ones that need
    # an eval; smaller ones give their own number, and the DFS parent bounds the semidominator
    pr, pc = num[rows], num[cols]
    ok = (pr >= 0) & (pc >= 0) & (pr > pc)
    hp, ho = _index(pc[ok], m)
    high = pr[ok][ho]
    ok_low = (pr >= 0) & (pc >= 0) & (pr < pc)
    semi_np = np.arange(m, dtype=np.int64)
    semi_np[1:] = parent[1:]
    np.minimum.at(semi_np, pc[ok_low], pr[ok_low])
    semi = semi_np.tolist()
    label = list(range(m))
    anc = [-1] * m
    hp_l = hp.tolist()
    high_l = high.tolist()
    parent_l = parent.tolist()
    for w in range(m - 1, 0, -1):
        s = semi[w]
        for i in range(hp_l[w], hp_l[w + 1]):
            v = high_l[i]
            # eval(v) with path compression (v > w, so v is linked)
            if anc[anc[v]] != -1:
                stack = []
                x = v
                while anc[anc[x]] != -1:
                    stack.append(x)
                    x = anc[x]
                for y in reversed(stack):
                    ay = anc[y]
                    if semi[label[ay]] < semi[label[y]]:
                        label[y] = label[ay]
                    anc[y] = anc[ay]
            sv = semi[label[v]]
            if sv < s:
                s = sv
        semi[w] = s
        anc[w] = parent_l[w]
    idom = [0] * m
    for w in range(1, m):
        x = parent_l[w]
        sw = semi[w]
        while x > sw:
            x = idom[x]
        idom[w] = x
    out = np.full(P, -1, dtype=np.int64)
    out[order[1:]] = order[np.asarray(idom[1:], dtype=np.int64)]
    return out


@dataclass(frozen=True, eq=False)
class _Cut:
    """Which lanes cut which nodes: lane ``e`` cuts the ``tin``/``size`` subtree of
    ``far[e]`` when ``cuts[e]``; points are anchored at a node of that tree."""

    tin: np.ndarray
    size: np.ndarray
    entrance: np.ndarray
    far: np.ndarray
    cuts: np.ndarray
    anchor: np.ndarray


def _cut_structure(net: _Net, pts: _Points, p: np.ndarray) -> _Cut:
    graph = net.truck.graph
    n_edges = graph.n_edges
    u, v = graph.u_idx, graph.v_idx
    e = np.arange(n_edges)
    tree_v = (net.tree_edge[v] == e) & (net.par[v] == u) & (u != v)
    tree_u = (net.tree_edge[u] == e) & (net.par[u] == v) & (u != v)
    oneway = net.fwd & ~net.bwd
    earlier_u = net.time[u] <= net.time[v]
    entrance = np.where(tree_v, u, np.where(tree_u, v, np.where(oneway | earlier_u, u, v)))
    far = np.where(entrance == u, v, u)
    tree_arc = tree_u | tree_v
    two_way = bool(np.array_equal(net.fwd, net.bwd))
    f = pts.edge[p]
    pu, pv = u[f], v[f]
    if two_way:
        tin, size = net.tin, net.size
        cuts = tree_arc & _bridges(net)[far]
        anchor = np.where(np.isfinite(pts.direct[p]), -1, pu)
    else:
        idom = _dominators(net)
        tin, size, levels = _layout(idom, net.root)
        depth = np.full(net.n_total, -1, dtype=np.int64)
        for d, lev in enumerate(levels):
            depth[lev] = d
        cuts = np.zeros(n_edges, dtype=bool)
        t = np.flatnonzero(tree_arc)
        cuts[t] = _arc_dominates(net, far[t], t, tin, size)
        live_u = net.fwd[f] & np.isfinite(net.time[pu])
        live_v = net.bwd[f] & np.isfinite(net.time[pv])
        both = live_u & live_v
        anchor = np.where(live_u, pu, np.where(live_v, pv, -1))
        anchor[both] = _nca(idom, depth, pu[both], pv[both])
        anchor[np.isfinite(pts.direct[p])] = -1
    return _Cut(tin=tin, size=size, entrance=entrance, far=far, cuts=cuts, anchor=anchor)


def _arc_dominates(
    net: _Net, far: np.ndarray, e: np.ndarray, tin: np.ndarray, size: np.ndarray
) -> np.ndarray:
    """For each edge: every arc into ``far`` but the edge's own comes from a node ``far``
    dominates (or that no station reaches)."""
    x = far
    own, apos = _expand(net.in_ptr[x], net.in_ptr[x + 1] - net.in_ptr[x])
    a = net.in_arc[apos]
    y = net.arc_tail[a]
    other = net.arc_edge[a] != e[own]
    inside = (tin[y] >= tin[x[own]]) & (tin[y] < tin[x[own]] + size[x[own]])
    bad = other & (tin[y] >= 0) & ~inside
    ok = np.bincount(own[bad], minlength=len(x)) == 0
    ok &= net.seed_in_ptr[x + 1] == net.seed_in_ptr[x]  # no station seeds it directly
    return ok & (tin[x] >= 0)


def _nca(par: np.ndarray, depth: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Nearest common ancestors in the tree ``par`` (vectorised climbing)."""
    a, b = a.copy(), b.copy()
    while True:
        diff = a != b
        if not diff.any():
            return a
        deeper_a = diff & (depth[a] >= depth[b])
        deeper_b = diff & (depth[b] > depth[a])
        a[deeper_a] = par[a[deeper_a]]
        b[deeper_b] = par[b[deeper_b]]


def _lane_losses(
    net: _Net, pts: _Points, p: np.ndarray, weights: np.ndarray, *, exclude: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per lane: weighted sums of the points (``weights``: one column per measure) a blockage at
    the lane's entrance would cut off. Also returns the entrance node per lane."""
    graph = net.truck.graph
    n_edges = graph.n_edges
    reach = np.isfinite(pts.base[p])
    p, weights = p[reach], weights[reach]
    cut = _cut_structure(net, pts, p)
    P = len(cut.tin)
    # subtree sums of anchored weights in preorder
    has = cut.anchor >= 0
    W = np.zeros((P + 1, weights.shape[1]))
    np.add.at(W, cut.tin[cut.anchor[has]] + 1, weights[has])
    C = np.cumsum(W, axis=0)
    lanes = np.flatnonzero(cut.cuts & ~exclude)
    x = cut.far[lanes]
    total = np.zeros((n_edges, weights.shape[1]))
    total[lanes] = C[cut.tin[x] + cut.size[x]] - C[cut.tin[x]]
    # points on the lane itself: not by subtree, but by the entrance rule
    f = pts.edge[p]
    on_cut = cut.cuts[f]
    xs = cut.far[f]
    inside = has & on_cut & (cut.tin[np.maximum(cut.anchor, 0)] >= cut.tin[xs]) & (
        cut.tin[np.maximum(cut.anchor, 0)] < cut.tin[xs] + cut.size[xs]
    )
    np.subtract.at(total, f[inside], weights[inside])
    ent = cut.entrance[f]
    at_u = ent == graph.u_idx[f]
    length = graph.length_m[f]
    t_ent = net.time[ent]
    t_far = np.where(on_cut, np.inf, net.time[xs])
    tu = np.where(at_u, t_ent, t_far)
    tv = np.where(at_u, t_far, t_ent)
    ok_u = np.where(at_u, ~(pts.pos[p] > 0), True)  # a cut at 0 blocks u -> p when p > 0
    ok_v = np.where(at_u, True, ~(pts.pos[p] < length))
    new = _combine(net, f, pts.frac[p], tu, tv, ok_u, ok_v, pts.direct[p])
    lost = np.isinf(new)
    np.add.at(total, f[lost], weights[lost])
    total[exclude] = 0.0
    return total, cut.entrance



def _check_access(buildings: pd.DataFrame, access: AccessPoints) -> None:
    if len(access.snaps.edge) != len(buildings):
        raise LayerValidationError(
            f"building_access has {len(access.snaps.edge)} points but buildings has "
            f"{len(buildings)} rows; compute it with routing.water.building_access on these "
            "buildings"
        )


def _critical(
    net: _Net,
    buildings: pd.DataFrame,
    access: AccessPoints,
    rules: BlockageRules,
    exclude: np.ndarray,
) -> gpd.GeoDataFrame:
    graph = net.truck.graph
    weight, high = _building_weights(buildings, rules)
    pts = _points(net, access.snaps.edge, access.snaps.position_m)
    p = np.flatnonzero(pts.edge >= 0)
    station_lane = np.zeros(graph.n_edges, dtype=bool)
    station_lane[net.station_edge[net.station_edge >= 0]] = True
    cols = np.column_stack([weight[p], high[p].astype(float), np.ones(len(p))])
    total, entrance = _lane_losses(net, pts, p, cols, exclude=exclude | station_lane)
    n_high = np.rint(total[:, 1]).astype(np.int64)
    lanes = np.flatnonzero(n_high >= 1)
    score = total[lanes, 0]
    eid = graph.edge_id[lanes]
    o = np.lexsort((eid, -np.round(score, 9)))
    lanes, score, eid = lanes[o], score[o], eid[o]
    names = graph.roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    out = gpd.GeoDataFrame(
        {
            "edge_id": eid,
            "name": names[lanes],
            "high_rises_cut": n_high[lanes],
            "buildings_cut": np.rint(total[lanes, 2]).astype(np.int64),
            "score": score,
            "rank": np.arange(1, len(lanes) + 1, dtype=np.int64),
            "entrance_node": graph.node_ids[entrance[lanes]],
        },
        geometry=list(graph.geometry[lanes]),
        crs=graph.crs,
    )
    return out


def critical_lanes(
    truck: TruckGraph,
    response: ResponseResult,
    *,
    buildings: pd.DataFrame,
    building_access: AccessPoints,
    rules: BlockageRules | None = None,
    exclude_edges: np.ndarray | None = None,
) -> gpd.GeoDataFrame:
    """Passable lanes whose single blockage would cut high-rises off from every station.

    Parameters
    ----------
    truck
        The truck graph (two-way by default; ``respect_oneway=True`` uses dominators).
    response
        :func:`routing.response.station_response` on ``truck``.
    buildings
        Buildings with ``high_rise_class``, ``footprint_m2`` and ``levels``.
    building_access
        Their access points (:func:`routing.water.building_access` on passable edges).
    rules
        Building weights (class weight × occupancy).
    exclude_edges
        Optional bool per roads row: lanes not to list (e.g. those with an open report).

    Returns
    -------
    geopandas.GeoDataFrame
        One row per lane that cuts at least one high-rise off when blocked at its entrance:
        ``edge_id``, ``name``, ``high_rises_cut``, ``buildings_cut``, ``score`` (sum of the
        cut-off buildings' weights), ``rank`` (1 = worst; ties by ``edge_id``),
        ``entrance_node`` (OSM node id of the end where the blockage would sit: where to paint
        禁停 markings), geometry. Lanes a station stands on are not assessed.
    """
    rules = rules or BlockageRules()
    _check_access(buildings, building_access)
    net = _prepare(truck, response)
    exclude = bool_mask(exclude_edges, truck.graph.n_edges, what="exclude_edges")
    out = _critical(net, buildings, building_access, rules, exclude)
    log.info("critical lanes: %d lanes cut high-rises off when blocked", len(out))
    return out


