"""The two kernels behind critical lanes, against networkx on many random street graphs.

``_bridges`` (two-way streets: is the shortest-path-tree link into each node a bridge?) and
``_dominators`` (one-way streets respected: immediate dominators of the flow graph root →
stations → seeds → arcs) are checked directly, not only through the critical-lane totals: a
one-character slip in either (``<`` for ``<=``) changes a bridge or a dominator on some of these
graphs, which have dead ends, parallel streets (two ways between the same junctions), one-way
streets, lanes too narrow for the truck and one to three stations.
"""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from routing.critical_lanes import _bridges, _dominators
from routing.graph import TruckOptions, build_graph, truck_graph
from routing.response import station_response
from routing.spt import _prepare
from tests.routing.test_response import CRS, make_roads

SPEEDS = {"residential": 36.0}
SEEDS = range(120)


def _random_city(seed: int, *, respect_oneway: bool) -> tuple:
    """A jittered 5 × 5 grid with a share of links gone, parallel links, one-ways, narrow lanes."""
    rng = np.random.default_rng(seed)
    side = 5
    pts = {i * side + j: (i * 100.0 + rng.uniform(-20, 20), j * 100.0 + rng.uniform(-20, 20))
           for i in range(side) for j in range(side)}
    links = [(a, a + side) for a in pts if a + side in pts] + [
        (a, a + 1) for a in pts if (a + 1) % side]
    keep = rng.random(len(links)) >= rng.uniform(0.1, 0.5)
    edges = []
    for a, b in (link for link, k in zip(links, keep, strict=True) if k):
        edges.append((a, b, [pts[a], pts[b]]))
        if rng.random() < 0.12:  # a parallel street: same junctions, another way round
            (xa, ya), (xb, yb) = pts[a], pts[b]
            bend = ((xa + xb) / 2 + 15.0, (ya + yb) / 2 + 15.0)
            edges.append((a, b, [pts[a], bend, pts[b]]))
    roads = make_roads(edges)
    roads["oneway"] = rng.random(len(roads)) < 0.25
    roads["width_m"] = np.where(rng.random(len(roads)) < 0.08, 3.0, 6.0)
    roads["width_source"] = "width"
    graph = build_graph(roads)
    truck = truck_graph(graph, options=TruckOptions(speeds_kmh=SPEEDS, respect_oneway=respect_oneway))
    n_st = int(rng.integers(1, 4))
    stations = gpd.GeoSeries(shapely.points(rng.uniform(0, 400, (n_st, 2)) + graph.node_xy.min(axis=0)),
                             crs=CRS)
    response = station_response(truck, stations, turnout_s=60, max_snap_m=1e6)
    return truck, response


@pytest.mark.parametrize("seed", SEEDS)
def test_bridges_equal_networkx(seed: int) -> None:
    truck, response = _random_city(seed, respect_oneway=False)
    net = _prepare(truck, response)
    graph = truck.graph
    n = net.n
    H = nx.MultiGraph()
    H.add_nodes_from(range(net.n_total))
    for e in np.flatnonzero(net.fwd):
        u, v = int(graph.u_idx[e]), int(graph.v_idx[e])
        if u != v:
            H.add_edge(u, v, key=("lane", int(e)))
    for i, (s, node) in enumerate(zip(net.seed_station, net.seed_node, strict=True)):
        H.add_edge(int(n + s), int(node), key=("seed", i))
    for src in net.sources:
        H.add_edge(int(net.root), int(src), key="root")
    bridges = {frozenset(b) for b in nx.bridges(H)}
    got = _bridges(net)
    expected = np.zeros(n, dtype=bool)
    for v in range(n):
        p = int(net.par[v])
        if net.tin[v] >= 0 and 0 <= p < n:
            expected[v] = frozenset((p, v)) in bridges
    assert expected.any() or not got.any()  # most of these graphs have bridges
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("seed", SEEDS)
def test_dominators_equal_networkx(seed: int) -> None:
    truck, response = _random_city(seed, respect_oneway=True)
    net = _prepare(truck, response)
    n = net.n
    G = nx.DiGraph()
    G.add_node(int(net.root))
    G.add_edges_from((int(net.root), int(s)) for s in net.sources)
    G.add_edges_from((int(n + s), int(v)) for s, v in zip(net.seed_station, net.seed_node, strict=True))
    G.add_edges_from(zip(net.arc_tail.tolist(), net.arc_head.tolist(), strict=True))
    expected = nx.immediate_dominators(G, int(net.root))
    got = _dominators(net)
    reached = {int(v) for v in np.flatnonzero(got >= 0)}
    assert reached == set(expected) - {int(net.root)}
    for v in reached:
        assert got[v] == expected[v], v
