"""生命通道 blockages: what each reported obstruction of a fire lane costs, and critical lanes.

A city inspection campaign reports tens of thousands of blocked fire lanes (parked cars, gates,
illegal structures, piled goods, stalls). :func:`blockage_impact` tells enforcement which ones
cost the most, and :func:`critical_lanes` where a single blockage would cut a high-rise off.

Effect model (every number lives in :class:`BlockageRules`)
-----------------------------------------------------------
* **Snapping.** Each report is snapped to the nearest road edge of the street graph (any edge,
  at most ``max_snap_m`` = 30 m away). A report farther away is kept in the output with effect
  ``'rejected'`` and the snapping reason (``'no road within 30 m (nearest 50.0 m)'``).
* **Status.** Only open reports count: a status in ``closed_statuses`` (``rectified``,
  ``verified``, ``closed``, and ``rejected`` / ``duplicate`` reports of the ledger) gives effect
  ``'none'``; every other status is open and recorded.
* **Width.** ``gate`` and ``structure`` (违建) block the lane outright (remaining width 0 m).
  ``parked_vehicle`` occupies 2.0 m (a 1.8 m car + 0.2 m), ``goods`` 1.5 m, ``stall`` 2.5 m of the
  edge's ``width_m``; ``other`` (and kinds not listed) block outright. A measured
  ``remaining_width_m`` always overrides the estimate, for every kind (a gate with a measured
  4.5 m opening passes). The lane stays passable (effect ``'narrowed'``) when the remaining
  width is at least the apparatus' :attr:`routing.graph.TruckOptions.min_width_m` (4.0 m), else
  it is blocked (effect ``'full'``): a parked car leaves 6.0 − 2.0 = 4.0 m of a 6 m lane
  (passable) but 5.0 − 2.0 = 3.0 m of a 5 m lane (blocked). An edge without a width cannot be
  estimated: it counts as blocked (``unknown_width_blocks``). OSM barriers are not reports:
  the truck graph handles them already.
* **Position.** A blocking report blocks movement *through its position* on its edge: the graph
  loses the edge in both directions, but a point on the same edge (a building's access point, a
  hydrant, a station) is still reached from the side it is on. Moving from the edge's ``u`` end
  to position ``p`` is blocked by a report at ``b`` when ``0 <= b < p``; from ``v`` when
  ``p < b <= L``; between two points on the edge when ``b`` lies strictly between them. So a point
  exactly at a report is reached from both sides. Reports on the same edge form one scenario.

Impact and score
----------------
For every scenario (one edge with its blocking reports) and for all open reports together:
*cut off* buildings lose every truck route from every station (their access point becomes
unreachable); *delayed* buildings stay reachable but their response time rises past the limit
(preset rule ``station_response``, 300 s) or by more than ``delay_margin_s`` (60 s); hydrants
become *unreachable* when their snapped position does. Each building weighs
``class weight × occupancy``: class weight 10 for a class-1 high-rise, 5 for class 2, 1 for any
other (including ``unknown``); occupancy ``= log1p(floor area / 1000 m²) + 1`` with floor area
``footprint_m2 × max(levels, 1)`` (a proxy for the people inside: 1 for a shed, about 3.4 for a
10,000 m² block). The score of a scenario is

    Σ cut-off weights + 0.5 × Σ weights delayed past the limit
    + 0.1 × Σ weights delayed only by the margin + 1.0 × hydrants unreachable

(factors in :class:`BlockageRules`). Reports are ranked by score, ties by ``blockage_id``.

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

Critical lanes
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
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import depth_first_order, dijkstra

from geo import vocabulary
from geo.errors import AnalysisError, ConfigError, LayerValidationError
from geo.presets import Preset
from geo.schema import require_projected
from routing.findings import concat_findings, findings
from routing.graph import TruckGraph
from routing.response import ResponseResult, edge_directions, point_times
from routing.snap import SnapResult, snap_points
from routing.water import AccessPoints

log = logging.getLogger(__name__)

__all__ = [
    "BLOCKAGE_KINDS",
    "EFFECTS",
    "BlockageResult",
    "BlockageRules",
    "ScenarioTimes",
    "blockage_impact",
    "critical_lanes",
    "scenario_times",
]

#: Kinds of report (``geo.agency`` normalises agency spellings to these).
BLOCKAGE_KINDS: tuple[str, ...] = vocabulary.BLOCKAGE_KINDS
#: Effect of a report on its lane.
EFFECTS: tuple[str, ...] = vocabulary.BLOCKAGE_EFFECTS

#: Width (m) a report of each kind occupies; kinds not listed block the lane outright.
DEFAULT_OCCUPIED_WIDTH_M: Mapping[str, float] = MappingProxyType(
    {"parked_vehicle": 2.0, "goods": 1.5, "stall": 2.5}
)
#: Building weight by GB 50016 high-rise class; other classes weigh ``other_weight``.
DEFAULT_CLASS_WEIGHTS: Mapping[str, float] = MappingProxyType({"class1": 10.0, "class2": 5.0})
HIGH_RISE_CLASSES: frozenset[str] = frozenset(vocabulary.HIGH_RISE_CLASSES)

_MIN_WEIGHT = 1e-9  # as routing.response: sparse graphs drop explicit zeros
_WIDTH_TOL_M = 1e-9
_CHUNK_COPIES = 2_000_000  # node copies per disjoint-union Dijkstra
_CHECK_TOL_S = 1e-6


@dataclass(frozen=True, eq=False)
class BlockageRules:
    """The numbers of the blockage effect model and of the ranking score.

    Attributes
    ----------
    max_snap_m
        A report farther than this from every road edge is rejected.
    full_block_kinds
        Kinds that block the lane outright (unless a remaining width is measured).
    occupied_width_m
        Width each kind occupies; kinds in neither set (``other``) block outright.
    closed_statuses
        Statuses of reports that no longer count (effect ``'none'``).
    unknown_width_blocks
        An edge without ``width_m`` (and a report without a measured width) counts as blocked.
    delay_margin_s
        A building is delayed when its response time rises by more than this, or past the limit.
    class_weights, other_weight
        Building weight by ``high_rise_class``; classes not listed weigh ``other_weight``.
    floor_area_scale_m2
        Occupancy proxy ``log1p(footprint_m2 × max(levels, 1) / floor_area_scale_m2) + 1``.
    delay_past_limit_factor, delay_margin_factor
        Share of a building's weight scored when it is delayed past the limit, or only by more
        than the margin (a cut-off building scores its whole weight).
    hydrant_weight
        Score of each hydrant trucks can no longer reach.
    """

    max_snap_m: float = 30.0
    full_block_kinds: frozenset[str] = frozenset({"gate", "structure"})
    occupied_width_m: Mapping[str, float] = field(default_factory=lambda: DEFAULT_OCCUPIED_WIDTH_M)
    closed_statuses: frozenset[str] = frozenset(
        {"rectified", "verified", "closed", "rejected", "duplicate"}
    )
    unknown_width_blocks: bool = True
    delay_margin_s: float = 60.0
    class_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_CLASS_WEIGHTS)
    other_weight: float = 1.0
    floor_area_scale_m2: float = 1000.0
    delay_past_limit_factor: float = 0.5
    delay_margin_factor: float = 0.1
    hydrant_weight: float = 1.0

    def __post_init__(self) -> None:
        numbers = {
            "max_snap_m": self.max_snap_m, "delay_margin_s": self.delay_margin_s,
            "other_weight": self.other_weight, "delay_past_limit_factor": self.delay_past_limit_factor,
            "delay_margin_factor": self.delay_margin_factor, "hydrant_weight": self.hydrant_weight,
            **{f"occupied_width_m[{k!r}]": v for k, v in self.occupied_width_m.items()},
            **{f"class_weights[{k!r}]": v for k, v in self.class_weights.items()},
        }
        bad = {k: v for k, v in numbers.items() if not (isinstance(v, int | float) and v >= 0)}
        if bad or not self.floor_area_scale_m2 > 0:
            raise ConfigError(
                f"BlockageRules: values must be numbers >= 0 (floor_area_scale_m2 > 0); got "
                f"{bad or {'floor_area_scale_m2': self.floor_area_scale_m2}}"
            )


@dataclass(frozen=True, eq=False)
class BlockageResult:
    """What :func:`blockage_impact` returns.

    Attributes
    ----------
    blockages
        One row per report, in input order: ``blockage_id``, ``kind``, ``status``, ``open``,
        ``edge_id`` (-1 if rejected), ``road_name``, ``position_m`` (along the edge from ``u``),
        ``offset_m`` (report to road), ``edge_width_m``, ``occupied_m``, ``remaining_width_m``,
        ``width_basis`` (``measured``, ``estimated``, ``full_block``, ``unknown``), ``effect``
        (see :data:`EFFECTS`), ``reason`` (why rejected), ``reports_on_edge`` (blocking reports
        forming its scenario), its impact on its own: ``high_rises_cut``, ``buildings_cut``,
        ``buildings_delayed``, ``high_rises_delayed``, ``hydrants_unreachable``, ``max_delay_s``,
        ``score``, ``rank`` (1 = worst; null for rejected and closed reports), and the rules it
        breaks: ``rule_ids``, ``clauses``, ``severity``, ``confidence`` (``' | '``-joined).
        Other input columns (``reported_at``, ``reporter``, ``photo`` ...) are kept.
    combined
        All open reports together: ``blocked_edges``, ``high_rises_cut``, ``buildings_cut``,
        ``buildings_delayed``, ``high_rises_delayed``, ``hydrants_unreachable``, ``score``.
    critical_lanes
        See :func:`critical_lanes` (lanes carrying an open report are left out: they are
        ranked in ``blockages``).
    findings
        One row per (report, rule broken), :data:`routing.findings.FINDING_COLUMNS`.
    summary
        ``total``, ``snapped``, ``rejected``, ``open``, ``blocking``, ``high_rises_cut_off``,
        ``buildings_cut_off``, ``buildings_delayed``, ``hydrants_unreachable`` (all together),
        ``critical_lanes`` (count), ``limit_s``.
    """

    blockages: gpd.GeoDataFrame = field(repr=False)
    combined: dict[str, Any]
    critical_lanes: gpd.GeoDataFrame = field(repr=False)
    findings: pd.DataFrame = field(repr=False)
    summary: dict[str, Any]


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
    seed_edge = np.concatenate([se[fw], se[bw]])
    seed_side = np.concatenate([np.ones(int(fw.sum()), np.int8), np.zeros(int(bw.sum()), np.int8)])
    seed_pos = snaps.position_m[seed_station]
    seed_in_ptr, seed_in = _index(seed_node, n)
    station_edge = np.where(snaps.snapped, snaps.edge, -1)
    station_pos = np.where(snaps.snapped, snaps.position_m, np.nan)

    empty = np.empty(0, dtype=np.int64)
    net = _Net(
        truck=truck, n=n, root=n + n_st, fwd=fwd, bwd=bwd, arc_tail=tail, arc_head=head,
        arc_w=w, arc_edge=edge, out_ptr=out_ptr, out_arc=out_arc, in_ptr=in_ptr, in_arc=in_arc,
        sources=n + ok, seed_station=seed_station, seed_node=seed_node, seed_w=seed_w,
        seed_edge=seed_edge, seed_side=seed_side, seed_pos=seed_pos, seed_in_ptr=seed_in_ptr,
        seed_in=seed_in, station_edge=station_edge, station_pos=station_pos,
        time=np.empty(0), par=empty, tree_edge=empty, tree_seed=empty, tin=empty, size=empty,
        order=empty, levels=(), snaps=snaps, turnout=turnout,
    )
    time, pred, arcs = _dijkstra(
        net, np.ones(len(edge), bool), np.ones(len(seed_node), bool), predecessors=True
    )
    base = np.asarray(response.node_time_s, dtype=np.float64)
    same_reach = np.array_equal(np.isfinite(time), np.isfinite(base))
    fin = np.isfinite(time)
    if not same_reach or (fin.any() and np.abs(time[fin] - base[fin]).max() > _CHECK_TOL_S):
        raise AnalysisError(
            "the response times do not match the truck graph (different graph, options or "
            "turnout); compute the response with station_response on the same truck graph"
        )

    P = n + n_st + 1
    par = np.full(P, -1, dtype=np.int64)
    reached = pred >= 0
    par[:n][reached] = pred[reached]
    par[n + ok] = n + n_st
    tree_edge = np.full(n, -1, dtype=np.int64)
    tree_seed = np.full(n, -1, dtype=np.int64)
    real = np.flatnonzero(reached & (pred < n))
    if len(real):
        keys = tail[arcs] * n + head[arcs]  # sorted: arcs are lexsorted by (tail, head)
        pos = np.searchsorted(keys, pred[real] * n + real)
        tree_edge[real] = edge[arcs[pos]]
    virt = np.flatnonzero(reached & (pred >= n))
    if len(virt):
        skeys = seed_station * n + seed_node
        sorder = np.argsort(skeys, kind="stable")
        pos = np.searchsorted(skeys[sorder], (pred[virt] - n) * n + virt)
        tree_seed[virt] = sorder[pos]
    tin, size, levels = _layout(par, n + n_st)
    order = np.empty(int((tin >= 0).sum()), dtype=np.int64)
    order[tin[tin >= 0]] = np.flatnonzero(tin >= 0)
    return replace(
        net, time=time, par=par, tree_edge=tree_edge, tree_seed=tree_seed, tin=tin, size=size,
        order=order, levels=levels,
    )


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


def _run_chunk(
    net: _Net, groups: _Groups, removed: np.ndarray, iv: _Intervals, pts: _Points,
    ks: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node and point times of scenarios ``ks`` (their intervals ``iv``), where they change."""
    graph = net.truck.graph
    P = net.n_total + 1
    counts = iv.hi - iv.lo
    cstart = np.cumsum(counts) - counts
    T = int(counts.sum())
    owner, cpos = _expand(iv.lo, counts)
    copy_k = iv.k[owner]
    copy_node = net.order[cpos]
    ikey = iv.k * P + iv.lo
    scen_edge = groups.edge

    def locate(kk: np.ndarray, nodes: np.ndarray) -> np.ndarray:
        pos = net.tin[nodes]
        if len(ikey) == 0:
            return np.full(len(nodes), -1, dtype=np.int64)
        j = np.searchsorted(ikey, kk * P + pos, side="right") - 1
        jj = np.maximum(j, 0)
        ok = (pos >= 0) & (j >= 0) & (iv.k[jj] == kk) & (pos < iv.hi[jj])
        return np.where(ok, cstart[jj] + pos - iv.lo[jj], -1)

    new = np.empty(0)
    if T:
        # arcs inside the copies
        own, apos = _expand(net.out_ptr[copy_node], net.out_ptr[copy_node + 1] - net.out_ptr[copy_node])
        a = net.out_arc[apos]
        keep = net.arc_edge[a] != scen_edge[copy_k[own]]
        own, a = own[keep], a[keep]
        dst = locate(copy_k[own], net.arc_head[a])
        inner = dst >= 0
        r_src, r_dst, r_w = own[inner], dst[inner], net.arc_w[a[inner]]
        # arcs entering the copies from unaffected nodes
        own, apos = _expand(net.in_ptr[copy_node], net.in_ptr[copy_node + 1] - net.in_ptr[copy_node])
        a = net.in_arc[apos]
        y = net.arc_tail[a]
        keep = (net.arc_edge[a] != scen_edge[copy_k[own]]) & np.isfinite(net.time[y])
        own, a, y = own[keep], a[keep], y[keep]
        outside = locate(copy_k[own], y) < 0
        init = np.full(T, np.inf)
        np.minimum.at(init, own[outside], net.time[y[outside]] + net.arc_w[a[outside]])
        # station seeds not crossing a report
        own, spos = _expand(net.seed_in_ptr[copy_node],
                            net.seed_in_ptr[copy_node + 1] - net.seed_in_ptr[copy_node])
        j = net.seed_in[spos]
        keep = ~(removed[j] & (net.seed_edge[j] == scen_edge[copy_k[own]]))
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
        new = np.asarray(dijkstra(union, directed=True, indices=T))[:T]
    changed = new != net.time[copy_node] if T else np.zeros(0, dtype=bool)
    node_k, node, node_t = copy_k[changed], copy_node[changed], new[changed]

    # points on edges touching a recomputed node, and on the blocked edge itself
    own, apos = _expand(pts.att_ptr[copy_node], pts.att_ptr[copy_node + 1] - pts.att_ptr[copy_node])
    e_ks = groups.edge[ks]
    own2, opos = _expand(pts.on_ptr[e_ks], pts.on_ptr[e_ks + 1] - pts.on_ptr[e_ks])
    n_pts = len(pts.edge)
    keys = np.unique(np.concatenate([copy_k[own] * n_pts + pts.att[apos],
                                     ks[own2] * n_pts + pts.on[opos]]))
    pk, pp = keys // max(n_pts, 1), keys % max(n_pts, 1)
    f = pts.edge[pp]
    u, v = graph.u_idx[f], graph.v_idx[f]
    cu, cv = locate(pk, u), locate(pk, v)
    tu = np.where(cu >= 0, new[np.maximum(cu, 0)] if T else 0.0, net.time[u])
    tv = np.where(cv >= 0, new[np.maximum(cv, 0)] if T else 0.0, net.time[v])
    g = np.where(f == groups.edge[pk], pk, -1)
    pt = _point_new(net, pts, pp, tu, tv, g, groups)
    pch = pt != pts.base[pp]
    return node_k, node, node_t, pk[pch], pp[pch], pt[pch]


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


# ---------------------------------------------------------------------------------------------
# Critical lanes


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


def _building_weights(buildings: pd.DataFrame, rules: BlockageRules) -> tuple[np.ndarray, np.ndarray]:
    missing = [c for c in ("high_rise_class", "footprint_m2", "levels") if c not in buildings.columns]
    if missing:
        raise LayerValidationError(
            f"layer 'buildings' is missing columns {missing}; build it with geo.layers (see "
            "geo.schema.BUILDINGS)"
        )
    cls = buildings["high_rise_class"].fillna("unknown").astype(str).to_numpy(dtype=object)
    w_cls = pd.Series(cls).map(dict(rules.class_weights)).fillna(rules.other_weight).to_numpy(float)
    fp = np.nan_to_num(pd.to_numeric(buildings["footprint_m2"], errors="coerce").to_numpy(float))
    levels = pd.to_numeric(buildings["levels"], errors="coerce").to_numpy(float)
    floor = np.maximum(fp, 0.0) * np.maximum(np.nan_to_num(levels, nan=1.0), 1.0)
    occupancy = np.log1p(floor / rules.floor_area_scale_m2) + 1.0
    return w_cls * occupancy, np.isin(cls, list(HIGH_RISE_CLASSES))


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
    exclude = _mask(exclude_edges, truck.graph.n_edges)
    out = _critical(net, buildings, building_access, rules, exclude)
    log.info("critical lanes: %d lanes cut high-rises off when blocked", len(out))
    return out


def _mask(value: np.ndarray | None, n: int) -> np.ndarray:
    if value is None:
        return np.zeros(n, dtype=bool)
    arr = np.asarray(value)
    if arr.dtype != bool or arr.shape != (n,):
        raise ConfigError(
            f"exclude_edges must be a boolean mask of shape ({n},); got dtype {arr.dtype}, "
            f"shape {arr.shape}"
        )
    return arr


# ---------------------------------------------------------------------------------------------
# Reports: snapping, width and effect


_REQUIRED = ("blockage_id", "kind", "status")


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)


def _classify(
    truck: TruckGraph, blockages: gpd.GeoDataFrame, rules: BlockageRules
) -> pd.DataFrame:
    graph = truck.graph
    missing = [c for c in _REQUIRED if c not in blockages.columns]
    if missing:
        raise LayerValidationError(
            f"layer 'blockages' is missing columns {missing}; read the ledger with "
            "geo.agency.read_agency_table(path, layer='blockages') and reproject it"
        )
    require_projected(blockages, name="blockages")
    snaps = snap_points(graph, blockages.geometry, max_distance_m=rules.max_snap_m)
    n = len(blockages)
    kind = _text(blockages, "kind")
    known = np.isin(kind, BLOCKAGE_KINDS)
    if (~known).any():
        log.info("%d reports of unknown kind counted as 'other' (e.g. %r)", int((~known).sum()),
                 str(kind[~known][0]))
    kind = np.where(known, kind, "other")
    status = _text(blockages, "status")
    status = np.where(status == "", "reported", status)
    is_open = ~np.isin(status, list(rules.closed_statuses))
    if "remaining_width_m" in blockages.columns:
        measured = pd.to_numeric(blockages["remaining_width_m"], errors="coerce").to_numpy(float)
    else:
        measured = np.full(n, np.nan)
    snapped = snaps.edge >= 0
    e = np.where(snapped, snaps.edge, 0)
    width = graph.roads["width_m"].to_numpy(dtype=np.float64)[e]
    occupied = pd.Series(kind).map(dict(rules.occupied_width_m)).to_numpy(dtype=np.float64)
    full_kind = np.isin(kind, list(rules.full_block_kinds)) | np.isnan(occupied)
    estimate = np.where(full_kind, 0.0, np.maximum(width - np.nan_to_num(occupied), 0.0))
    estimate[~full_kind & np.isnan(width)] = np.nan
    has_measure = np.isfinite(measured)
    remaining = np.where(has_measure, measured, estimate)
    basis = np.where(has_measure, "measured", np.where(full_kind, "full_block", "estimated"))
    unknown = ~np.isfinite(remaining)
    basis = np.where(unknown, "unknown", basis)
    min_width = truck.options.min_width_m
    passable = np.where(unknown, not rules.unknown_width_blocks,
                        remaining >= min_width - _WIDTH_TOL_M)
    effect = np.where(~snapped, "rejected",
                      np.where(~is_open, "none", np.where(passable, "narrowed", "full")))
    names = graph.roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "blockage_id": blockages["blockage_id"].astype(str).to_numpy(dtype=object),
            "kind": kind,
            "status": status,
            "open": is_open,
            "edge": np.where(snapped, snaps.edge, -1),
            "edge_id": np.where(snapped, graph.edge_id[e], -1),
            "road_name": np.where(snapped, names[e], ""),
            "position_m": snaps.position_m,
            "offset_m": snaps.offset_m,
            "edge_width_m": np.where(snapped, width, np.nan),
            "occupied_m": np.where(full_kind | ~snapped, np.nan, occupied),
            "remaining_width_m": np.where(snapped, remaining, np.nan),
            "width_basis": np.where(snapped, basis, ""),
            "effect": effect,
            "reason": snaps.reason.astype(str),
        }
    )


# ---------------------------------------------------------------------------------------------
# Impact


_IMPACT = ("high_rises_cut", "buildings_cut", "buildings_delayed", "high_rises_delayed",
           "hydrants_unreachable", "max_delay_s", "score")


def _impact(
    k: np.ndarray,
    p: np.ndarray,
    new: np.ndarray,
    base: np.ndarray,
    n_buildings: int,
    weight: np.ndarray,
    high: np.ndarray,
    K: int,
    *,
    limit_s: float,
    rules: BlockageRules,
) -> dict[str, np.ndarray]:
    """Per scenario: what is lost, from the points whose time changed."""
    old = base[p]
    with np.errstate(invalid="ignore"):
        cut = np.isfinite(old) & np.isinf(new)
        fin = np.isfinite(old) & np.isfinite(new)
        past = fin & (old <= limit_s) & (new > limit_s)
        margin = fin & (new - old > rules.delay_margin_s) & ~past
    isb = p < n_buildings
    b = np.where(isb, p, -1)  # -1 picks the appended zero
    w, hi = np.append(weight, 0.0)[b], np.append(high, False)[b]

    def count(mask: np.ndarray, wts: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(k[mask], weights=None if wts is None else wts[mask], minlength=K)

    bcut, bpast, bmargin = cut & isb, past & isb, margin & isb
    delayed = bpast | bmargin
    score = (count(bcut, w) + rules.delay_past_limit_factor * count(bpast, w)
             + rules.delay_margin_factor * count(bmargin, w)
             + rules.hydrant_weight * count(cut & ~isb)).astype(np.float64)
    max_delay = np.zeros(K)
    if fin.any():
        np.maximum.at(max_delay, k[fin & isb], (new - old)[fin & isb])
    return {
        "high_rises_cut": count(bcut & hi).astype(np.int64),
        "buildings_cut": count(bcut).astype(np.int64),
        "buildings_delayed": count(delayed).astype(np.int64),
        "high_rises_delayed": count(delayed & hi).astype(np.int64),
        "hydrants_unreachable": count(cut & ~isb).astype(np.int64),
        "max_delay_s": max_delay,
        "score": score,
    }


def _lost_text(row: Mapping[Any, Any]) -> str:
    parts = []
    if row["high_rises_cut"]:
        parts.append(f"cuts off {row['high_rises_cut']} high-rise(s)")
    other = row["buildings_cut"] - row["high_rises_cut"]
    if other:
        parts.append(f"cuts off {other} other building(s)")
    if row["buildings_delayed"]:
        parts.append(f"delays {row['buildings_delayed']} building(s) (up to "
                     f"{row['max_delay_s']:.0f} s)")
    if row["hydrants_unreachable"]:
        parts.append(f"makes {row['hydrants_unreachable']} hydrant(s) unreachable")
    return "; ".join(parts) if parts else "no loss of truck access"


def _findings(frame: pd.DataFrame, preset: Preset, min_width_m: float) -> pd.DataFrame:
    law = preset.rules.get("law_fire_lane_obstruction")  # 消防法: cn-gb only
    width_rule = preset.rule("fire_lane_width")
    fines = ""
    if "law_fines" in preset.rules:
        f = preset.rule("law_fines")
        fines = (f" Fines ({f.clause}): units CNY {f.value('unit_min_cny'):,.0f}–"
                 f"{f.value('unit_max_cny'):,.0f}, individuals up to CNY "
                 f"{f.value('individual_max_cny'):,.0f}.")
    ids = frame["blockage_id"].to_numpy(dtype=object)
    lost = np.asarray([_lost_text(r) for r in frame[list(_IMPACT)].to_dict("index").values()],
                      dtype=object)
    where = (frame["kind"].astype(str) + " on " + frame["road_name"].replace("", "unnamed road")
             + " (edge " + frame["edge_id"].astype(str) + ")").to_numpy(dtype=object)
    remaining = frame["remaining_width_m"].to_numpy(dtype=np.float64)
    is_open = frame["open"].to_numpy(dtype=bool) & (frame["effect"] != "rejected").to_numpy()
    a = pd.DataFrame()
    if law is not None:
        a = findings("blockages", ids, is_open, law, values=remaining, limit=0.0, message="")
        a["message"] = [f"{w}: fire lane occupied; {x}.{fines}" for w, x in
                        zip(where[is_open], lost[is_open], strict=True)]
    narrow = (frame["effect"] == "full").to_numpy()
    b = findings("blockages", ids, narrow, width_rule, values=remaining, limit=min_width_m,
                 message="")
    b["message"] = [f"{w}: {r:.1f} m clear width left, {min_width_m:.1f} m needed; {x}."
                    for w, r, x in zip(where[narrow], np.nan_to_num(remaining[narrow]),
                                       lost[narrow], strict=True)]
    return concat_findings([a, b])


def blockage_impact(
    truck: TruckGraph,
    response: ResponseResult,
    blockages: gpd.GeoDataFrame,
    *,
    buildings: pd.DataFrame,
    building_access: AccessPoints,
    hydrant_snaps: SnapResult,
    preset: Preset,
    rules: BlockageRules | None = None,
    limit_s: float | None = None,
) -> BlockageResult:
    """Rank reported fire-lane blockages by what they cost, and find critical lanes.

    Parameters
    ----------
    truck
        The truck graph without the reports (:func:`routing.graph.truck_graph`).
    response
        :func:`routing.response.station_response` on ``truck``.
    blockages
        Reports in the working CRS: ``blockage_id``, ``kind`` (see :data:`BLOCKAGE_KINDS`),
        ``status``, optional ``remaining_width_m``; other columns are kept.
    buildings
        Buildings with ``high_rise_class``, ``footprint_m2``, ``levels``, aligned with
        ``building_access``.
    building_access
        Access points (:func:`routing.water.building_access` with the passable-edge mask).
    hydrant_snaps
        Hydrants snapped to the street graph.
    preset
        Rule preset: ``law_fire_lane_obstruction``, ``fire_lane_width``, ``station_response``
        (and ``law_fines`` for the messages, when present).
    rules
        Effect model and score numbers (:class:`BlockageRules`).
    limit_s
        Response time limit; default the preset's ``station_response`` (300 s).

    Returns
    -------
    BlockageResult

    Raises
    ------
    LayerValidationError
        Missing columns, or access points not aligned with the buildings.
    CRSError
        Reports not in the graph's projected CRS.
    AnalysisError
        ``response`` was not computed on ``truck``.
    """
    rules = rules or BlockageRules()
    graph = truck.graph
    limit = float(preset.rule("station_response").value("value_s") if limit_s is None else limit_s)
    _check_access(buildings, building_access)
    frame = _classify(truck, blockages, rules)
    blocking = (frame["effect"] == "full").to_numpy()
    log.info(
        "blockages: %d reports, %d snapped, %d open, %d block a truck (%d narrow the lane)",
        len(frame), int((frame["edge"] >= 0).sum()),
        int((frame["open"] & (frame["edge"] >= 0)).sum()), int(blocking.sum()),
        int((frame["effect"] == "narrowed").sum()),
    )

    net = _prepare(truck, response)
    log.info("shortest-path tree: %d of %d nodes reached from %d stations",
             int(np.isfinite(net.time).sum()), net.n, len(net.sources))
    n_b = len(buildings)
    weight, high = _building_weights(buildings, rules)
    pts = _points(
        net,
        np.concatenate([building_access.snaps.edge, hydrant_snaps.edge]).astype(np.int64),
        np.concatenate([building_access.snaps.position_m, hydrant_snaps.position_m]),
    )
    groups = _groups(graph.n_edges, frame["edge"].to_numpy()[blocking],
                     frame["position_m"].to_numpy()[blocking])
    K = len(groups.edge)
    _, _, _, pk, pp, pt, copies = _scenarios(net, groups, pts)
    alone = _impact(pk, pp, pt, pts.base, n_b, weight, high, K, limit_s=limit, rules=rules)
    log.info("scenarios: %d blocked edges, %d subtree nodes recomputed, %d point times changed",
             K, copies, len(pk))

    _, cpt = _combined_times(net, groups, pts)
    ch = np.flatnonzero(cpt != pts.base)
    comb = _impact(np.zeros(len(ch), np.int64), ch, cpt[ch], pts.base, n_b, weight, high, 1,
                   limit_s=limit, rules=rules)
    combined: dict[str, Any] = {"blocked_edges": K}
    for key in _IMPACT:
        combined[key] = comb[key][0].item()
    log.info("all open reports together: %d high-rises and %d buildings cut off, %d delayed, "
             "%d hydrants unreachable", combined["high_rises_cut"], combined["buildings_cut"],
             combined["buildings_delayed"], combined["hydrants_unreachable"])

    reported = np.zeros(graph.n_edges, dtype=bool)
    open_rows = frame["open"].to_numpy() & (frame["edge"] >= 0).to_numpy()
    reported[frame["edge"].to_numpy()[open_rows]] = True
    lanes = _critical(net, buildings, building_access, rules, reported)
    log.info("critical lanes: %d unreported lanes cut high-rises off when blocked", len(lanes))

    g = np.where(blocking, groups.of_edge[np.maximum(frame["edge"].to_numpy(), 0)], -1)
    # index -1 (no scenario) picks the appended zero
    per_group = np.append(np.bincount(g[g >= 0], minlength=K), 0)
    frame["reports_on_edge"] = per_group[g]
    for key in _IMPACT:
        frame[key] = np.append(alone[key], 0)[g]
    ranked = open_rows
    order = np.lexsort((frame["blockage_id"].to_numpy(dtype=str),
                        -np.round(frame["score"].to_numpy(), 9)))
    order = order[ranked[order]]
    rank = pd.array([pd.NA] * len(frame), dtype="Int64")
    rank[order] = np.arange(1, len(order) + 1)
    frame["rank"] = rank

    min_width = truck.options.min_width_m
    found = _findings(frame, preset, min_width)
    log.info("ranking: %d open reports ranked, %d findings", int(open_rows.sum()), len(found))
    _rule_columns(frame, preset)
    extra = [c for c in blockages.columns
             if c not in frame.columns and c != blockages.geometry.name]
    out = pd.concat([frame.drop(columns=["edge"]),
                     blockages[extra].reset_index(drop=True)], axis=1)
    result = gpd.GeoDataFrame(out, geometry=list(np.asarray(blockages.geometry.array)),
                              crs=blockages.crs)
    summary = {
        "total": len(frame),
        "snapped": int((frame["edge"] >= 0).sum()),
        "rejected": int((frame["effect"] == "rejected").sum()),
        "open": int(open_rows.sum()),
        "blocking": int(blocking.sum()),
        "high_rises_cut_off": combined["high_rises_cut"],
        "buildings_cut_off": combined["buildings_cut"],
        "buildings_delayed": combined["buildings_delayed"],
        "hydrants_unreachable": combined["hydrants_unreachable"],
        "critical_lanes": len(lanes),
        "limit_s": limit,
    }
    return BlockageResult(blockages=result, combined=combined, critical_lanes=lanes,
                          findings=found, summary=summary)


def _rule_columns(frame: pd.DataFrame, preset: Preset) -> None:
    """Per report: the rules it breaks, ' | '-joined (in place). Art. 28 for every open report,
    the width rule too for a blocking one (the second set contains the first)."""
    law = preset.rules.get("law_fire_lane_obstruction")  # 消防法: cn-gb only
    width = preset.rule("fire_lane_width")
    art28 = (frame["open"] & (frame["effect"] != "rejected")).to_numpy()
    narrow = (frame["effect"] == "full").to_numpy()
    for col, attr in (("rule_ids", "id"), ("clauses", "clause"), ("severity", "severity"),
                      ("confidence", "confidence")):
        one = str(getattr(law, attr)) if law is not None else ""
        both = " | ".join(v for v in dict.fromkeys([one, str(getattr(width, attr))]) if v)
        frame[col] = np.where(narrow, both, np.where(art28, one, "")).astype(object)
