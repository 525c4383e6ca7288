"""Dead-end fire lanes (生命通道): chains of the truck graph that end without a way through.

:func:`dead_end_lanes` finds dead-end lanes of the truck graph longer than the limit
(GB 55037 3.4.5: 40 m) that serve a high-rise and have no turnaround (GB 50016 7.1.9).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import vocabulary
from geo._validate import require_columns
from geo.catalog import LayerName, feature_ids
from geo.errors import LayerValidationError
from geo.presets import Preset, Rule
from routing.access import _check_layer, _high_rise_rows
from routing.findings import concat_findings, findings
from routing.graph import StreetGraph, TruckGraph

__all__ = ["DEAD_END_COLUMNS", "DEAD_END_VERDICTS", "access_edges", "dead_end_lanes"]

log = logging.getLogger(__name__)

#: Columns of the ``dead_end_lanes`` layer (plus ``geometry``, the chain merged into one line).
DEAD_END_COLUMNS: list[str] = [
    "end_node_id", "junction_node_id", "edge_ids", "n_edges", "length_m", "has_turnaround",
    "turnaround_node_id", "turnaround_from_end_m", "high_rises", "n_high_rises",
    "turnaround_required_m", "verdict",
]

#: Dead-end verdicts: within the limit, with a turnaround, over the limit serving a high-rise
#: without one (a finding), over the limit serving no high-rise (listed, not flagged).
DEAD_END_VERDICTS: tuple[str, ...] = vocabulary.DEAD_END_VERDICTS
_TURNAROUND_COLUMNS = ("node_id", "kind")


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
    require_columns(turnarounds, _TURNAROUND_COLUMNS, layer="turnarounds")
    g = truck.graph
    access = _access_rows(access_edge, len(buildings), g.n_edges)
    limit_rule = preset.rule("fire_lane_dead_end")
    limit = limit_rule.value("value_m")
    turn_rule = preset.rule("fire_lane_turnaround")
    required = _required_turnaround_m(preset, apparatus)
    size_text = _turnaround_text(turn_rule.text.get("shape", ""), required)

    chains = _dead_end_chains(truck)
    n_c = len(chains.end)
    has_turn, turn_node, turn_from_end = _first_turnarounds(truck, chains, turnarounds)
    hr_text, hr_count = _served_high_rises(chains, buildings, access)

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
            "turnaround_required_m": np.where(hr_count > 0, required,
                                              preset.profile(apparatus).turnaround_m),
            "verdict": verdict,
        },
        geometry=gpd.GeoSeries(chains.geometry, crs=g.crs),
        crs=g.crs,
    )
    failed = verdict == "no_turnaround"
    table = _dead_end_findings(
        out, failed, limit_rule, turn_rule, size_text=size_text, apparatus=apparatus
    )
    log.info(
        "dead ends: %d chains, %d over %.0f m, %d with a turnaround, %d serving high-rises "
        "without one", n_c, int(over.sum()), limit, int((over & has_turn).sum()), int(failed.sum()),
    )
    return out, concat_findings([table])


def _dead_end_findings(
    out: gpd.GeoDataFrame, failed: np.ndarray, limit_rule: Rule, turn_rule: Rule, *,
    size_text: str, apparatus: str,
) -> pd.DataFrame:
    """One ``fire_lane_dead_end`` finding per ``failed`` chain, naming the high-rises it serves."""
    limit = limit_rule.value("value_m")
    table = findings(
        LayerName.DEAD_END_LANES.value, feature_ids(LayerName.DEAD_END_LANES, out), failed, limit_rule,
        values=out["length_m"].to_numpy(),
        limit=limit,
        message="dead-end lane {value:.0f} m long (limit {limit:.0f} m) serving a high-rise "
        f"has no turnaround; a {size_text} turnaround is required ({turn_rule.clause}, "
        f"{apparatus})",
    )
    if len(table):
        hr_text = out["high_rises"].to_numpy(dtype=object)
        table["message"] = table["message"] + ": serves " + hr_text[failed].astype(str)
    return table


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


def _required_turnaround_m(preset: Preset, apparatus: str) -> float:
    """Turnaround size (m) a dead end serving a high-rise needs: the larger of the apparatus
    profile's and the rule's high-rise size (and its heavy size for ``heavy``)."""
    turn_rule = preset.rule("fire_lane_turnaround")
    required = max(preset.profile(apparatus).turnaround_m, turn_rule.value("high_rise_m"))
    if apparatus == "heavy":
        required = max(required, turn_rule.value("heavy_m"))
    return float(required)


def _access_rows(access_edge: np.ndarray, n_buildings: int, n_edges: int) -> np.ndarray:
    """``access_edge`` checked: one integer roads row per building, -1 for none."""
    access = np.asarray(access_edge)
    if access.shape != (n_buildings,) or not np.issubdtype(access.dtype, np.integer):
        raise LayerValidationError(
            f"access_edge must be an integer array with one roads row per building "
            f"({n_buildings}); got dtype {access.dtype}, shape {access.shape}"
        )
    if len(access) and (access.max(initial=-1) >= n_edges or access.min(initial=0) < -1):
        raise LayerValidationError(
            f"access_edge holds values outside -1..{n_edges - 1} (roads rows of the graph)"
        )
    return access


def _first_turnarounds(
    truck: TruckGraph, chains: _Chains, turnarounds: gpd.GeoDataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per chain: has a turnaround, the OSM node id of the first one from the dead end (-1)
    and its distance from the end (NaN)."""
    g = truck.graph
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
    return has_turn, turn_node, turn_from_end


def _served_high_rises(
    chains: _Chains, buildings: gpd.GeoDataFrame, access: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per chain: the ids of the high-rises whose access edge is on it (``';'``-joined, sorted)
    and their count."""
    n_c = len(chains.end)
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
    return hr_text, hr_count


@dataclass(frozen=True)
class _Incidence:
    """Each node's passable non-loop edges (CSR: ``ptr``, the far end ``other`` and the ``edge``)
    and its degree in the undirected passable graph (self-loops count twice)."""

    degree: np.ndarray
    ptr: np.ndarray
    other: np.ndarray
    edge: np.ndarray

    @classmethod
    def of(cls, truck: TruckGraph) -> _Incidence:
        g = truck.graph
        live = np.flatnonzero(truck.edge_passable)
        u, v = g.u_idx[live], g.v_idx[live]
        degree = np.bincount(np.concatenate([u, v]), minlength=g.n_nodes)
        walk = u != v  # self-loops are never walked
        ends_a = np.concatenate([u[walk], v[walk]])
        ends_b = np.concatenate([v[walk], u[walk]])
        inc_edge = np.concatenate([live[walk], live[walk]])
        order = np.argsort(ends_a, kind="stable")
        ptr = np.zeros(g.n_nodes + 1, dtype=np.int64)
        np.cumsum(np.bincount(ends_a, minlength=g.n_nodes), out=ptr[1:])
        return cls(degree, ptr, ends_b[order], inc_edge[order])

    def walk(
        self, start: int, length_m: np.ndarray
    ) -> tuple[list[int], list[int], list[float], int, float]:
        """From a degree-1 node through degree-2 nodes: the edges, the nodes with their distance
        from ``start``, the junction (degree >= 3; -1 when the walk ends at another degree-1
        node, which is then the last node) and the length walked."""
        node, prev, dist = start, -1, 0.0
        edges: list[int] = []
        nodes: list[int] = []
        dists: list[float] = []
        for _ in range(len(length_m) + 1):
            nodes.append(node)
            dists.append(dist)
            lo, hi = self.ptr[node], self.ptr[node + 1]
            k = lo if hi - lo == 1 or self.edge[lo] != prev else lo + 1
            e, nxt = int(self.edge[k]), int(self.other[k])
            edges.append(e)
            dist += float(length_m[e])
            prev = e
            if self.degree[nxt] != 2:
                if self.degree[nxt] == 1:  # an isolated path: ends at its far end
                    nodes.append(nxt)
                    dists.append(dist)
                    return edges, nodes, dists, -1, dist
                return edges, nodes, dists, nxt, dist
            node = nxt
        return edges, nodes, dists, -1, dist


def _dead_end_chains(truck: TruckGraph) -> _Chains:
    """Walk every dead-end chain of the undirected passable graph."""
    g = truck.graph
    inc = _Incidence.of(truck)
    starts = np.flatnonzero(inc.degree == 1)
    done = np.zeros(g.n_nodes, dtype=bool)
    edge_chain = np.full(g.n_edges, -1, dtype=np.int64)
    ends_l: list[int] = []
    junctions: list[int] = []
    lengths: list[float] = []
    geoms: list[list[int]] = []
    nodes_l: list[int] = []
    node_chain_l: list[int] = []
    node_dist_l: list[float] = []
    for start in starts.tolist():
        if done[start]:
            continue
        c = len(ends_l)
        edges, nodes, dists, junction, length = inc.walk(start, g.length_m)
        done[start] = True
        if junction < 0:
            done[nodes[-1]] = True  # an isolated path is listed once, from its first end
        nodes_l += nodes
        node_chain_l += [c] * len(nodes)
        node_dist_l += dists
        edge_chain[edges] = c
        ends_l.append(start)
        junctions.append(junction)
        lengths.append(length)
        geoms.append(edges)
    return _chains_of(g, starts, edge_chain, ends_l, junctions, lengths, geoms,
                      (nodes_l, node_chain_l, node_dist_l))


def _chains_of(
    g: StreetGraph, starts: np.ndarray, edge_chain: np.ndarray, ends_l: list[int],
    junctions: list[int], lengths: list[float], geoms: list[list[int]],
    node_rows: tuple[list[int], list[int], list[float]],
) -> _Chains:
    """The walked chains as arrays, each with its merged geometry."""
    flat = np.fromiter((e for es in geoms for e in es), dtype=np.int64)
    owner = np.repeat(np.arange(len(geoms)), [len(es) for es in geoms])
    merged = (
        shapely.line_merge(shapely.multilinestrings(g.geometry[flat], indices=owner))
        if len(flat) else np.empty(0, dtype=object)
    )
    log.info("dead ends: %d degree-1 nodes, %d chains walked", len(starts), len(ends_l))
    eid = g.edge_id
    nodes_l, node_chain_l, node_dist_l = node_rows
    return _Chains(
        end=np.asarray(ends_l, dtype=np.int64),
        junction=np.asarray(junctions, dtype=np.int64),
        length=np.asarray(lengths, dtype=np.float64),
        n_edges=np.asarray([len(es) for es in geoms], dtype=np.int64),
        edge_ids=np.asarray([";".join(str(int(eid[e])) for e in es) for es in geoms], dtype=object),
        geometry=np.asarray(merged, dtype=object),
        edge_chain=edge_chain,
        node=np.asarray(nodes_l, dtype=np.int64),
        node_chain=np.asarray(node_chain_l, dtype=np.int64),
        node_dist=np.asarray(node_dist_l, dtype=np.float64),
    )
