"""Shortest-path-tree engine: response times with blocked edges, one scenario per edge.

:func:`scenario_times` serves :func:`routing.blockages.blockage_impact`,
:func:`routing.critical_lanes.critical_lanes` and the what-if scenarios of
:mod:`routing.scenario`; what a report blocks is described in :mod:`routing.blockages`.

Algorithm (why 10,000 scenarios take seconds, not hours)
--------------------------------------------------------
One multi-source Dijkstra from the stations (scipy, one virtual node per station) gives the
shortest-path tree (SPT). Removing an edge that carries no SPT arc changes no node time, ties or
not: every node keeps its tree path. Removing the edge of the SPT arc ``p → x`` can only change
the nodes of the subtree under ``x`` (everyone else keeps a tree path avoiding it); those are
recomputed exactly by a Dijkstra restricted to the subtree, seeded from every arc entering it
from an unaffected node (and from station seeds). Where an equal alternative path exists the
recomputation simply finds the same time. All scenarios' subtrees are copied into one
disjoint-union graph with one super source, so a single scipy Dijkstra call serves a whole chunk
of scenarios; points (buildings, hydrants) are re-timed in closed form only where an end of their
edge changed or their edge is the blocked one. Subtrees are preorder intervals of the SPT
(computed level by level with numpy), so selecting and locating them is vectorised.

"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from geo.errors import AnalysisError, ConfigError
from routing.graph import TruckGraph
from routing.response import ResponseResult, edge_directions, point_times
from routing.snap import SnapResult

log = logging.getLogger(__name__)

__all__ = ["ScenarioTimes", "scenario_times"]

_MIN_WEIGHT = 1e-9  # as routing.response: sparse graphs drop explicit zeros
_CHUNK_COPIES = 2_000_000  # node copies per disjoint-union Dijkstra
_CHECK_TOL_S = 1e-6


@dataclass(frozen=True, eq=False)
class ScenarioTimes:
    """Response times when edges are blocked, one scenario per blocked edge.

    Node and point times are stored only where they differ from the base; use
    :meth:`node_times` and :meth:`point_times` for whole arrays.

    Attributes
    ----------
    edge
        Roads row blocked in each scenario.
    cuts_m
        Positions (m from ``u``) of the blocking reports of each scenario, sorted.
    node_scenario, node, node_time_s
        Nodes whose time changes, per scenario (inf: unreachable).
    point_scenario, point, point_time_s
        Points (indices into the points given) whose time changes, per scenario.
    base_node_time_s, base_point_time_s
        Times without any blockage.
    combined_node_time_s, combined_point_time_s
        Times with every scenario's edge blocked at once.
    """

    edge: np.ndarray
    cuts_m: tuple[np.ndarray, ...] = field(repr=False)
    node_scenario: np.ndarray = field(repr=False)
    node: np.ndarray = field(repr=False)
    node_time_s: np.ndarray = field(repr=False)
    point_scenario: np.ndarray = field(repr=False)
    point: np.ndarray = field(repr=False)
    point_time_s: np.ndarray = field(repr=False)
    base_node_time_s: np.ndarray = field(repr=False)
    base_point_time_s: np.ndarray = field(repr=False)
    combined_node_time_s: np.ndarray = field(repr=False)
    combined_point_time_s: np.ndarray = field(repr=False)

    def node_times(self, k: int) -> np.ndarray:
        """Time of every node in scenario ``k``."""
        out = self.base_node_time_s.copy()
        m = self.node_scenario == k
        out[self.node[m]] = self.node_time_s[m]
        return out

    def point_times(self, k: int) -> np.ndarray:
        """Time of every point in scenario ``k``."""
        out = self.base_point_time_s.copy()
        m = self.point_scenario == k
        out[self.point[m]] = self.point_time_s[m]
        return out



# ---------------------------------------------------------------------------------------------
# The prepared network: arcs, station seeds, base times and the shortest-path tree


@dataclass(frozen=True, eq=False)
class _Net:
    truck: TruckGraph
    n: int
    root: int  # virtual root: node n + n_stations; station s is node n + s
    fwd: np.ndarray
    bwd: np.ndarray
    arc_tail: np.ndarray
    arc_head: np.ndarray
    arc_w: np.ndarray
    arc_edge: np.ndarray
    out_ptr: np.ndarray
    out_arc: np.ndarray
    in_ptr: np.ndarray
    in_arc: np.ndarray
    sources: np.ndarray  # virtual nodes of the snapped stations
    seed_station: np.ndarray
    seed_node: np.ndarray
    seed_w: np.ndarray
    seed_edge: np.ndarray
    seed_side: np.ndarray  # 0: the seed runs to u, 1: to v
    seed_pos: np.ndarray  # station position along its edge
    seed_in_ptr: np.ndarray
    seed_in: np.ndarray
    station_edge: np.ndarray  # per station, -1 if not snapped
    station_pos: np.ndarray
    time: np.ndarray  # base node times (n,)
    par: np.ndarray  # SPT parent over n + n_stations + 1 nodes, -1 if none
    tree_edge: np.ndarray  # roads row of the SPT arc into each node, -1 if none
    tree_seed: np.ndarray  # seed of the SPT arc into each node, -1 if none
    tin: np.ndarray  # SPT preorder position, -1 if not reached
    size: np.ndarray  # SPT subtree size
    order: np.ndarray  # node at each preorder position
    levels: tuple[np.ndarray, ...] = field(repr=False)
    snaps: SnapResult = field(repr=False)
    turnout: float = 0.0

    @property
    def n_total(self) -> int:
        return len(self.par)


def _index(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR-like index: items sorted by key (stable) and the pointer per key value."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, order


def _expand(starts: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ranges ``starts[i] : starts[i] + counts[i]``: owner ``i`` and position of each item."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts
    pos = np.arange(total, dtype=np.int64) - first[owner] + np.asarray(starts, np.int64)[owner]
    return owner, pos


def _prepare(truck: TruckGraph, response: ResponseResult) -> _Net:
    """The network with its arcs and station seeds, and the base shortest-path tree (checked to
    give the ``response`` times)."""
    net = _network(truck, response)
    n = net.n
    time, pred, arcs = _dijkstra(
        net, np.ones(len(net.arc_edge), bool), np.ones(len(net.seed_node), bool), predecessors=True
    )
    base = np.asarray(response.node_time_s, dtype=np.float64)
    same_reach = np.array_equal(np.isfinite(time), np.isfinite(base))
    fin = np.isfinite(time)
    if not same_reach or (fin.any() and np.abs(time[fin] - base[fin]).max() > _CHECK_TOL_S):
        raise AnalysisError(
            "the response times do not match the truck graph (different graph, options or "
            "turnout); compute the response with station_response on the same truck graph"
        )
    n_st = len(net.snaps)
    par = np.full(n + n_st + 1, -1, dtype=np.int64)
    reached = pred >= 0
    par[:n][reached] = pred[reached]
    par[net.sources] = n + n_st
    tree_edge, tree_seed = _tree_arcs(net, pred, arcs)
    tin, size, levels = _layout(par, n + n_st)
    order = np.empty(int((tin >= 0).sum()), dtype=np.int64)
    order[tin[tin >= 0]] = np.flatnonzero(tin >= 0)
    return replace(
        net, time=time, par=par, tree_edge=tree_edge, tree_seed=tree_seed, tin=tin, size=size,
        order=order, levels=levels,
    )


def _network(truck: TruckGraph, response: ResponseResult) -> _Net:
    """The directed arcs of the truck graph (by tail and by head) and one seed arc per station
    and direction it may leave its edge in; the tree fields still empty."""
    graph = truck.graph
    n = graph.n_nodes
    snaps = response.station_snaps
    if len(response.node_time_s) != n:
        raise ConfigError(
            f"response has {len(response.node_time_s)} node times but the truck graph has {n} "
            "nodes; compute the response with station_response on this truck graph"
        )
    fwd, bwd = edge_directions(truck)
    f, b = np.flatnonzero(fwd), np.flatnonzero(bwd)
    tail = np.concatenate([graph.u_idx[f], graph.v_idx[b]])
    head = np.concatenate([graph.v_idx[f], graph.u_idx[b]])
    edge = np.concatenate([f, b])
    w = np.maximum(truck.edge_time_s[edge], _MIN_WEIGHT)
    out_ptr, out_arc = _index(tail, n)
    in_ptr, in_arc = _index(head, n)

    n_st = len(snaps)
    ok = np.flatnonzero(snaps.snapped)
    if len(ok) == 0:
        raise AnalysisError("no fire station is on the truck graph; check the stations layer")
    se = snaps.edge[ok]
    frac = snaps.position_m[ok] / graph.length_m[se]
    t_edge = truck.edge_time_s[se]
    fw, bw = fwd[se], bwd[se]
    turnout = float(response.turnout_s)
    seed_station = np.concatenate([ok[fw], ok[bw]])
    seed_node = np.concatenate([graph.v_idx[se[fw]], graph.u_idx[se[bw]]])
    seed_w = np.maximum(
        np.concatenate([turnout + (1 - frac[fw]) * t_edge[fw], turnout + frac[bw] * t_edge[bw]]),
        _MIN_WEIGHT,
    )
    seed_in_ptr, seed_in = _index(seed_node, n)
    empty = np.empty(0, dtype=np.int64)
    return _Net(
        truck=truck, n=n, root=n + n_st, fwd=fwd, bwd=bwd, arc_tail=tail, arc_head=head,
        arc_w=w, arc_edge=edge, out_ptr=out_ptr, out_arc=out_arc, in_ptr=in_ptr, in_arc=in_arc,
        sources=n + ok, seed_station=seed_station, seed_node=seed_node, seed_w=seed_w,
        seed_edge=np.concatenate([se[fw], se[bw]]),
        seed_side=np.concatenate([np.ones(int(fw.sum()), np.int8), np.zeros(int(bw.sum()), np.int8)]),
        seed_pos=snaps.position_m[seed_station], seed_in_ptr=seed_in_ptr, seed_in=seed_in,
        station_edge=np.where(snaps.snapped, snaps.edge, -1),
        station_pos=np.where(snaps.snapped, snaps.position_m, np.nan),
        time=np.empty(0), par=empty, tree_edge=empty, tree_seed=empty, tin=empty, size=empty,
        order=empty, levels=(), snaps=snaps, turnout=turnout,
    )


def _tree_arcs(net: _Net, pred: np.ndarray, arcs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The roads row (real arcs) or seed (station arcs) of the tree arc into each node, -1 if none."""
    n = net.n
    tree_edge = np.full(n, -1, dtype=np.int64)
    tree_seed = np.full(n, -1, dtype=np.int64)
    reached = pred >= 0
    real = np.flatnonzero(reached & (pred < n))
    if len(real):
        keys = net.arc_tail[arcs] * n + net.arc_head[arcs]  # sorted: arcs lexsorted by (tail, head)
        pos = np.searchsorted(keys, pred[real] * n + real)
        tree_edge[real] = net.arc_edge[arcs[pos]]
    virt = np.flatnonzero(reached & (pred >= n))
    if len(virt):
        skeys = net.seed_station * n + net.seed_node
        sorder = np.argsort(skeys, kind="stable")
        pos = np.searchsorted(skeys[sorder], (pred[virt] - n) * n + virt)
        tree_seed[virt] = sorder[pos]
    return tree_edge, tree_seed


def _dijkstra(
    net: _Net, arc_ok: np.ndarray, seed_ok: np.ndarray, *, predecessors: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Multi-source Dijkstra over the arcs and seeds kept (parallel arcs: the fastest).

    Returns node times, SPT predecessors (-1 for none; ``n + s`` for station ``s``) and the arcs
    used (lexsorted by tail, head).
    """
    n = net.n
    tail, head, w, edge = net.arc_tail, net.arc_head, net.arc_w, net.arc_edge
    a = np.flatnonzero(arc_ok)
    a = a[np.lexsort((edge[a], w[a], head[a], tail[a]))]
    if len(a):
        first = np.ones(len(a), dtype=bool)
        first[1:] = (tail[a][1:] != tail[a][:-1]) | (head[a][1:] != head[a][:-1])
        a = a[first]
    s = np.flatnonzero(seed_ok)
    size = net.root  # n real nodes + one virtual node per station
    rows = np.concatenate([tail[a], n + net.seed_station[s]])
    cols = np.concatenate([head[a], net.seed_node[s]])
    data = np.concatenate([w[a], net.seed_w[s]])
    aug = sp.csr_array((data, (rows, cols)), shape=(size, size))
    if predecessors:
        dist, pred, _ = dijkstra(
            aug, directed=True, indices=net.sources, min_only=True, return_predecessors=True
        )
        pred = np.where(pred[:n] < 0, -1, pred[:n]).astype(np.int64)
    else:
        dist = dijkstra(aug, directed=True, indices=net.sources, min_only=True)
        pred = np.empty(0, dtype=np.int64)
    return np.asarray(dist[:n], dtype=np.float64), pred, a


def _layout(par: np.ndarray, root: int) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, ...]]:
    """Preorder position and subtree size of every node of the tree ``par`` (root ``root``).

    Level by level: children grouped by parent, sizes summed bottom-up, positions assigned
    top-down as parent position + 1 + sizes of the earlier siblings. Nodes not under the root
    get position -1.
    """
    P = len(par)
    child = np.flatnonzero(par >= 0)
    cptr, corder = _index(par[child], P)
    child = child[corder]
    levels = [np.array([root], dtype=np.int64)]
    while True:
        cur = levels[-1]
        counts = cptr[cur + 1] - cptr[cur]
        if not counts.any():
            break
        _, pos = _expand(cptr[cur], counts)
        levels.append(child[pos])
    size = np.zeros(P, dtype=np.int64)
    for lev in levels:
        size[lev] = 1
    for lev in reversed(levels[1:]):
        np.add.at(size, par[lev], size[lev])
    tin = np.full(P, -1, dtype=np.int64)
    tin[root] = 0
    for lev in levels[1:]:
        s = size[lev]
        cs = np.cumsum(s)
        p = par[lev]
        start = np.ones(len(lev), dtype=bool)
        start[1:] = p[1:] != p[:-1]
        g = np.maximum.accumulate(np.where(start, np.arange(len(lev)), 0))
        tin[lev] = tin[p] + 1 + (cs - s) - (cs[g] - s[g])
    return tin, size, tuple(levels)


# ---------------------------------------------------------------------------------------------
# Points (buildings' access points, hydrants) on edges


@dataclass(frozen=True, eq=False)
class _Points:
    edge: np.ndarray
    pos: np.ndarray
    frac: np.ndarray
    base: np.ndarray  # base time
    direct: np.ndarray  # base time straight from a station on the same edge (inf if none)
    att_ptr: np.ndarray  # node -> points on its edges
    att: np.ndarray
    on_ptr: np.ndarray  # edge -> points on it
    on: np.ndarray


def _points(net: _Net, edge: np.ndarray, pos: np.ndarray) -> _Points:
    graph = net.truck.graph
    edge = np.asarray(edge, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.float64)
    valid = edge >= 0
    e = np.where(valid, edge, 0)
    frac = np.clip(pos / graph.length_m[e], 0.0, 1.0)
    n_pts = len(edge)
    inf_nodes = np.full(net.n, np.inf)
    direct, _ = point_times(
        net.truck, inf_nodes, np.full(net.n, -1), edge, pos, station_snaps=net.snaps,
        turnout_s=net.turnout,
    )
    base = _combine(net, edge, frac, net.time[graph.u_idx[e]], net.time[graph.v_idx[e]],
                    np.ones(n_pts, bool), np.ones(n_pts, bool), direct)
    base[~valid] = np.inf
    idx = np.flatnonzero(valid)
    u, v = graph.u_idx[edge[idx]], graph.v_idx[edge[idx]]
    nodes = np.concatenate([u, v[v != u]])
    owners = np.concatenate([idx, idx[v != u]])
    att_ptr, att_order = _index(nodes, net.n)
    on_ptr, on_order = _index(edge[idx], graph.n_edges)
    return _Points(
        edge=edge, pos=pos, frac=frac, base=base, direct=direct, att_ptr=att_ptr,
        att=owners[att_order], on_ptr=on_ptr, on=idx[on_order],
    )


def _combine(
    net: _Net,
    edge: np.ndarray,
    frac: np.ndarray,
    tu: np.ndarray,
    tv: np.ndarray,
    ok_u: np.ndarray,
    ok_v: np.ndarray,
    direct: np.ndarray,
) -> np.ndarray:
    """Point time from its edge's end times, exactly as :func:`routing.response.point_times`."""
    e = np.where(edge >= 0, edge, 0)
    t = net.truck.edge_time_s[e]
    with np.errstate(invalid="ignore"):
        via_u = np.where(net.fwd[e] & ok_u, tu + frac * t, np.inf)
        via_v = np.where(net.bwd[e] & ok_v, tv + (1 - frac) * t, np.inf)
    return np.minimum(np.minimum(via_u, via_v), direct)


@dataclass(frozen=True, eq=False)
class _Groups:
    """Scenarios: one per blocked edge, with the sorted positions of its blocking reports."""

    edge: np.ndarray
    ptr: np.ndarray
    pos: np.ndarray
    of_edge: np.ndarray  # scenario of each roads row, -1 if none

    @property
    def first(self) -> np.ndarray:
        return self.pos[self.ptr[:-1]]

    @property
    def last(self) -> np.ndarray:
        return self.pos[self.ptr[1:] - 1]


def _groups(n_edges: int, edge: np.ndarray, pos: np.ndarray) -> _Groups:
    edge = np.asarray(edge, dtype=np.int64)
    pos = np.asarray(pos, dtype=np.float64)
    o = np.lexsort((pos, edge))
    edge, pos = edge[o], pos[o]
    uniq, start = np.unique(edge, return_index=True)
    ptr = np.append(start, len(edge)).astype(np.int64)
    of_edge = np.full(n_edges, -1, dtype=np.int64)
    of_edge[uniq] = np.arange(len(uniq))
    return _Groups(edge=uniq, ptr=ptr, pos=pos, of_edge=of_edge)


def _seed_removed(net: _Net, groups: _Groups) -> np.ndarray:
    """Seeds that cross a report on their station's edge (per the scenario of that edge)."""
    g = groups.of_edge[net.seed_edge]
    has = g >= 0
    out = np.zeros(len(g), dtype=bool)
    gg = g[has]
    side = net.seed_side[has]
    spos = net.seed_pos[has]
    out[has] = np.where(side == 0, groups.first[gg] < spos, groups.last[gg] > spos)
    return out


def _on_edge_direct(
    net: _Net, pts: _Points, p: np.ndarray, groups: _Groups, g: np.ndarray
) -> np.ndarray:
    """Time straight from stations on a blocked edge to points on it, given its reports."""
    out = pts.direct[p].copy()
    graph = net.truck.graph
    st = np.flatnonzero(net.station_edge >= 0)
    on_station_edge = np.isin(pts.edge[p], net.station_edge[st])
    for i in np.flatnonzero(on_station_edge & (g >= 0)):  # stations on blocked edges: few
        e = int(pts.edge[p[i]])
        cuts = groups.pos[groups.ptr[g[i]] : groups.ptr[g[i] + 1]]
        length = graph.length_m[e]
        t_edge = net.truck.edge_time_s[e]
        best = np.inf
        for s in st[net.station_edge[st] == e]:
            s_pos = net.station_pos[s]
            p_pos = pts.pos[p[i]]
            ahead = pts.frac[p[i]] >= s_pos / length
            allowed = net.fwd[e] if ahead else net.bwd[e]
            lo, hi = min(s_pos, p_pos), max(s_pos, p_pos)
            if not allowed or ((cuts > lo) & (cuts < hi)).any():
                continue
            best = min(best, net.turnout + abs(pts.frac[p[i]] - s_pos / length) * t_edge)
        out[i] = best
    return out


def _point_new(
    net: _Net, pts: _Points, p: np.ndarray, tu: np.ndarray, tv: np.ndarray, g: np.ndarray,
    groups: _Groups,
) -> np.ndarray:
    """New times of points ``p`` given their edge ends' times; ``g`` is the scenario of their own
    edge when it is blocked (-1 otherwise)."""
    on = g >= 0
    ok_u = np.ones(len(p), dtype=bool)
    ok_v = np.ones(len(p), dtype=bool)
    gg = g[on]
    ok_u[on] = ~(groups.first[gg] < pts.pos[p[on]])
    ok_v[on] = ~(groups.last[gg] > pts.pos[p[on]])
    direct = _on_edge_direct(net, pts, p, groups, g) if on.any() else pts.direct[p]
    return _combine(net, pts.edge[p], pts.frac[p], tu, tv, ok_u, ok_v, direct)


# ---------------------------------------------------------------------------------------------
# Scenarios: one blocked edge each, recomputed on SPT subtrees in one disjoint-union Dijkstra


@dataclass(frozen=True, eq=False)
class _Intervals:
    k: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _intervals(net: _Net, groups: _Groups, removed: np.ndarray) -> _Intervals:
    """Merged preorder intervals of the SPT subtrees each scenario must recompute."""
    graph = net.truck.graph
    K = len(groups.edge)
    ks = np.arange(K, dtype=np.int64)
    e = groups.edge
    hk, hx = [], []
    for end in (graph.u_idx[e], graph.v_idx[e]):
        m = net.tree_edge[end] == e
        hk.append(ks[m])
        hx.append(end[m])
    j = np.flatnonzero(removed)
    tgt = net.seed_node[j]
    m = net.tree_seed[tgt] == j
    hk.append(groups.of_edge[net.seed_edge[j[m]]])
    hx.append(tgt[m])
    k = np.concatenate(hk)
    x = np.concatenate(hx)
    lo = net.tin[x]
    hi = lo + net.size[x]
    o = np.lexsort((-hi, lo, k))
    k, lo, hi = k[o], lo[o], hi[o]
    P = net.n_total + 1
    if len(k):
        cummax = np.maximum.accumulate(k * P + hi)
        prev = np.concatenate([[-1], cummax[:-1]])
        keep = k * P + lo >= prev
        k, lo, hi = k[keep], lo[keep], hi[keep]
    return _Intervals(k=k, lo=lo, hi=hi)


@dataclass(frozen=True)
class _Copies:
    """The node copies a chunk of scenarios recomputes: for each scenario interval of the tree's
    preorder (``iv``), its nodes in order (``node``), with their scenario (``k``)."""

    iv: _Intervals
    P: int
    start: np.ndarray  # first copy of each interval
    k: np.ndarray
    node: np.ndarray
    key: np.ndarray  # interval keys k * P + lo, sorted

    @classmethod
    def of(cls, net: _Net, iv: _Intervals) -> _Copies:
        counts = iv.hi - iv.lo
        owner, cpos = _expand(iv.lo, counts)
        P = net.n_total + 1
        return cls(iv=iv, P=P, start=np.cumsum(counts) - counts, k=iv.k[owner],
                   node=net.order[cpos], key=iv.k * P + iv.lo)

    def locate(self, net: _Net, kk: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        """The copy of each node in scenario ``kk``, -1 when the scenario does not recompute it."""
        pos = net.tin[nodes]
        if len(self.key) == 0:
            return np.full(len(nodes), -1, dtype=np.int64)
        iv = self.iv
        j = np.searchsorted(self.key, kk * self.P + pos, side="right") - 1
        jj = np.maximum(j, 0)
        ok = (pos >= 0) & (j >= 0) & (iv.k[jj] == kk) & (pos < iv.hi[jj])
        return np.where(ok, self.start[jj] + pos - iv.lo[jj], -1)


def _run_chunk(
    net: _Net, groups: _Groups, removed: np.ndarray, iv: _Intervals, pts: _Points,
    ks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node and point times of scenarios ``ks`` (their intervals ``iv``), where they change."""
    c = _Copies.of(net, iv)
    T = len(c.node)
    new = _copy_times(net, groups, removed, c) if T else np.empty(0)
    changed = new != net.time[c.node] if T else np.zeros(0, dtype=bool)
    pk, pp, pt = _point_changes(net, groups, pts, ks, c, new)
    return c.k[changed], c.node[changed], new[changed], pk, pp, pt


def _copy_times(net: _Net, groups: _Groups, removed: np.ndarray, c: _Copies) -> np.ndarray:
    """New times of the copies: one Dijkstra over all copies of the chunk, from a root joined to
    each copy by the best arc from an unaffected node or a station seed."""
    T = len(c.node)
    scen_edge = groups.edge
    # arcs inside the copies
    own, apos = _expand(net.out_ptr[c.node], net.out_ptr[c.node + 1] - net.out_ptr[c.node])
    a = net.out_arc[apos]
    keep = net.arc_edge[a] != scen_edge[c.k[own]]
    own, a = own[keep], a[keep]
    dst = c.locate(net, c.k[own], net.arc_head[a])
    inner = dst >= 0
    r_src, r_dst, r_w = own[inner], dst[inner], net.arc_w[a[inner]]
    # arcs entering the copies from unaffected nodes
    own, apos = _expand(net.in_ptr[c.node], net.in_ptr[c.node + 1] - net.in_ptr[c.node])
    a = net.in_arc[apos]
    y = net.arc_tail[a]
    keep = (net.arc_edge[a] != scen_edge[c.k[own]]) & np.isfinite(net.time[y])
    own, a, y = own[keep], a[keep], y[keep]
    outside = c.locate(net, c.k[own], y) < 0
    init = np.full(T, np.inf)
    np.minimum.at(init, own[outside], net.time[y[outside]] + net.arc_w[a[outside]])
    # station seeds not crossing a report
    own, spos = _expand(net.seed_in_ptr[c.node],
                        net.seed_in_ptr[c.node + 1] - net.seed_in_ptr[c.node])
    j = net.seed_in[spos]
    keep = ~(removed[j] & (net.seed_edge[j] == scen_edge[c.k[own]]))
    np.minimum.at(init, own[keep], net.seed_w[j[keep]])
    seeded = np.flatnonzero(np.isfinite(init))
    rows = np.concatenate([r_src, np.full(len(seeded), T)])
    cols = np.concatenate([r_dst, seeded])
    data = np.maximum(np.concatenate([r_w, init[seeded]]), _MIN_WEIGHT)
    o = np.lexsort((data, cols, rows))
    rows, cols, data = rows[o], cols[o], data[o]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    union = sp.csr_array((data[first], (rows[first], cols[first])), shape=(T + 1, T + 1))
    return np.asarray(dijkstra(union, directed=True, indices=T))[:T]


def _point_changes(
    net: _Net, groups: _Groups, pts: _Points, ks: np.ndarray, c: _Copies, new: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points on edges touching a recomputed node, and on each blocked edge itself, whose time
    changes: (scenario, point, new time)."""
    graph = net.truck.graph
    T = len(c.node)
    own, apos = _expand(pts.att_ptr[c.node], pts.att_ptr[c.node + 1] - pts.att_ptr[c.node])
    e_ks = groups.edge[ks]
    own2, opos = _expand(pts.on_ptr[e_ks], pts.on_ptr[e_ks + 1] - pts.on_ptr[e_ks])
    n_pts = len(pts.edge)
    keys = np.unique(np.concatenate([c.k[own] * n_pts + pts.att[apos],
                                     ks[own2] * n_pts + pts.on[opos]]))
    pk, pp = keys // max(n_pts, 1), keys % max(n_pts, 1)
    f = pts.edge[pp]
    u, v = graph.u_idx[f], graph.v_idx[f]
    cu, cv = c.locate(net, pk, u), c.locate(net, pk, v)
    tu = np.where(cu >= 0, new[np.maximum(cu, 0)] if T else 0.0, net.time[u])
    tv = np.where(cv >= 0, new[np.maximum(cv, 0)] if T else 0.0, net.time[v])
    g = np.where(f == groups.edge[pk], pk, -1)
    pt = _point_new(net, pts, pp, tu, tv, g, groups)
    pch = pt != pts.base[pp]
    return pk[pch], pp[pch], pt[pch]


def _scenarios(
    net: _Net, groups: _Groups, pts: _Points
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    removed = _seed_removed(net, groups)
    iv = _intervals(net, groups, removed)
    K = len(groups.edge)
    copies = np.bincount(iv.k, weights=iv.hi - iv.lo, minlength=K) if K else np.zeros(0)
    out: list[tuple[np.ndarray, ...]] = []
    start = 0
    cum = np.cumsum(copies)
    while start < K:
        base = cum[start - 1] if start else 0.0
        stop = int(np.searchsorted(cum, base + _CHUNK_COPIES, side="right"))
        stop = max(stop, start + 1)
        ks = np.arange(start, stop, dtype=np.int64)
        m = (iv.k >= start) & (iv.k < stop)
        sub = _Intervals(k=iv.k[m], lo=iv.lo[m], hi=iv.hi[m])
        out.append(_run_chunk(net, groups, removed, sub, pts, ks))
        start = stop
    if not out:
        e64, ef = np.empty(0, np.int64), np.empty(0)
        return e64, e64, ef, e64, e64, ef, 0
    cat = [np.concatenate([o[i] for o in out]) for i in range(6)]
    return cat[0], cat[1], cat[2], cat[3], cat[4], cat[5], int(copies.sum())


def _combined_times(
    net: _Net, groups: _Groups, pts: _Points
) -> tuple[np.ndarray, np.ndarray]:
    graph = net.truck.graph
    blocked = np.zeros(graph.n_edges, dtype=bool)
    blocked[groups.edge] = True
    removed = _seed_removed(net, groups)
    time, _, _ = _dijkstra(net, ~blocked[net.arc_edge], ~removed)
    p = np.arange(len(pts.edge))
    valid = pts.edge >= 0
    f = np.where(valid, pts.edge, 0)
    g = np.where(valid, groups.of_edge[f], -1)
    pt = _point_new(net, pts, p, time[graph.u_idx[f]], time[graph.v_idx[f]], g, groups)
    pt[~valid] = np.inf
    return time, pt


def scenario_times(
    truck: TruckGraph,
    response: ResponseResult,
    cut_edge: np.ndarray,
    cut_position_m: np.ndarray,
    *,
    points_edge: np.ndarray,
    points_position_m: np.ndarray,
) -> ScenarioTimes:
    """Response times of nodes and points with each edge blocked in turn, and all at once.

    Parameters
    ----------
    truck
        The truck graph.
    response
        :func:`routing.response.station_response` on ``truck`` (stations and turnout).
    cut_edge, cut_position_m
        Blocking reports: roads row and position (m from ``u``); reports on the same edge form
        one scenario (see the module docstring for what a report blocks).
    points_edge, points_position_m
        Points to time (buildings' access points, hydrants): roads row (-1 for none) and position.

    Returns
    -------
    ScenarioTimes
    """
    net = _prepare(truck, response)
    groups = _groups(truck.graph.n_edges, cut_edge, cut_position_m)
    pts = _points(net, points_edge, points_position_m)
    nk, nn, nt, pk, pp, pt, _ = _scenarios(net, groups, pts)
    ctime, cpt = _combined_times(net, groups, pts)
    return ScenarioTimes(
        edge=groups.edge,
        cuts_m=tuple(groups.pos[a:b] for a, b in zip(groups.ptr[:-1], groups.ptr[1:], strict=True)),
        node_scenario=nk, node=nn, node_time_s=nt, point_scenario=pk, point=pp, point_time_s=pt,
        base_node_time_s=net.time, base_point_time_s=pts.base,
        combined_node_time_s=ctime, combined_point_time_s=cpt,
    )
