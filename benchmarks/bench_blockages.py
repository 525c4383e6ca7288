"""Blockage impact ranking on large synthetic street grids: ours against recomputing each scenario.

For a perturbed grid of about ``n_target_edges`` edges (the builder of
:mod:`benchmarks.bench_coverage`; widths drawn from 5–8 m so that parked cars block some lanes and
only narrow others), ~100 stations, ~50,000 buildings (3 % class-1 and 7 % class-2 high-rises)
with their access points, ~50,000 hydrants and 10,000 random reports (kinds, statuses and
measured widths mixed; 2 % too far from any road), one run times

(a) ours: :func:`routing.blockages.blockage_impact` (snapping, effects, every scenario on its
    own, all together, critical lanes, findings), with the time of each step taken from its
    INFO log line;
(b) naive: for a sample of blocked edges, ``truck_graph(blocked_edges=...)`` +
    ``station_response`` + ``point_times`` of all buildings and hydrants from scratch; the mean
    time per scenario times the number of scenarios (and times 10,000) is the extrapolation;
(c) a stress run where every report is an open, locked gate (about 10,000 scenarios);
(d) critical lanes with ``respect_oneway=True`` (dominators) on their own.

Setup (graph, truck graph, station response, building access, hydrant snapping) is reported but
not part of (a): an analysis has it already. Peak memory: the process's peak RSS after setup and
after (a); the tracemalloc peak of (a) in a separate run up to 100,000 edges.

Run ``python -m benchmarks.bench_blockages [sizes ...]`` (default 10k, 100k, 1M edges).
"""

from __future__ import annotations

import gc
import json
import logging
import resource
import sys
import time
import tracemalloc
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from benchmarks.bench_coverage import make_roads
from geo.presets import load_preset
from routing.blockages import blockage_impact
from routing.critical_lanes import critical_lanes
from routing.graph import StreetGraph, TruckOptions, truck_graph
from routing.response import point_times, station_response
from routing.snap import snap_points
from routing.water import building_access

N_STATIONS = 100
N_BUILDINGS = 50_000
N_HYDRANTS = 50_000
N_REPORTS = 10_000
NAIVE_SAMPLE = 10
TRACEMALLOC_MAX_EDGES = 100_000


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _along(graph: StreetGraph, rng: np.random.Generator, n: int, offset: tuple[float, float]
           ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random points beside random edges: (points on the edges, points ``offset`` away)."""
    edge = rng.integers(0, graph.n_edges, n)
    on = shapely.line_interpolate_point(graph.geometry[edge], rng.random(n), normalized=True)
    xy = shapely.get_coordinates(on)
    angle = rng.uniform(0, 2 * np.pi, n)
    dist = rng.uniform(*offset, n)
    return xy, xy + np.column_stack([np.cos(angle), np.sin(angle)]) * dist[:, None]


def make_layers(graph: StreetGraph, *, seed: int = 2) -> dict[str, Any]:
    """Stations, buildings, hydrants and reports for a benchmark graph."""
    rng = np.random.default_rng(seed)
    _, st = _along(graph, rng, N_STATIONS, (0.0, 20.0))
    _, bxy = _along(graph, rng, N_BUILDINGS, (12.0, 30.0))
    half = rng.uniform(4.0, 12.0, N_BUILDINGS)
    footprints = shapely.box(bxy[:, 0] - half, bxy[:, 1] - half, bxy[:, 0] + half, bxy[:, 1] + half)
    cls = rng.choice(np.array(["class1", "class2", "not_high_rise", "unknown"], dtype=object),
                     N_BUILDINGS, p=[0.03, 0.07, 0.85, 0.05])
    levels = np.where(np.isin(cls, ["class1", "class2"]), rng.integers(10, 40, N_BUILDINGS),
                      rng.integers(1, 7, N_BUILDINGS)).astype(float)
    buildings = gpd.GeoDataFrame(
        {"building_id": np.arange(N_BUILDINGS).astype(str), "high_rise_class": cls,
         "footprint_m2": shapely.area(footprints), "levels": levels},
        geometry=footprints, crs=graph.crs,
    )
    _, hxy = _along(graph, rng, N_HYDRANTS, (0.0, 10.0))
    _, rxy = _along(graph, rng, N_REPORTS, (0.0, 8.0))
    far = rng.random(N_REPORTS) < 0.02
    rxy[far] += 60.0 * np.sqrt(0.5)  # mostly more than 30 m from any road (blocks are 100 m)
    kind = rng.choice(np.array(["parked_vehicle", "gate", "structure", "goods", "stall", "other"],
                               dtype=object), N_REPORTS, p=[0.5, 0.1, 0.05, 0.15, 0.1, 0.1])
    status = rng.choice(np.array(["reported", "assigned", "rectified", "verified", "closed"],
                                 dtype=object), N_REPORTS, p=[0.6, 0.2, 0.1, 0.05, 0.05])
    measured = np.where(rng.random(N_REPORTS) < 0.2, rng.choice([2.5, 3.5, 4.5], N_REPORTS), np.nan)
    reports = gpd.GeoDataFrame(
        {"blockage_id": [f"B{i:05d}" for i in range(N_REPORTS)], "kind": kind, "status": status,
         "remaining_width_m": measured, "reporter": "grid inspector"},
        geometry=shapely.points(rxy), crs=graph.crs,
    )
    return {
        "stations": gpd.GeoSeries(shapely.points(st), crs=graph.crs),
        "buildings": buildings,
        "hydrants": gpd.GeoSeries(shapely.points(hxy), crs=graph.crs),
        "reports": reports,
    }


class _StepTimes(logging.Handler):
    """Records when each INFO line of routing.blockages was logged."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.marks: list[tuple[float, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.marks.append((time.perf_counter(), record.getMessage().split(":")[0]))


def run(n_target_edges: int, *, naive_sample: int = NAIVE_SAMPLE, oneway: bool = True
        ) -> dict[str, Any]:
    """Time (a) to (d) on a grid of about ``n_target_edges`` edges (seconds)."""
    from routing.graph import build_graph

    t0 = time.perf_counter()
    roads = make_roads(n_target_edges)
    rng = np.random.default_rng(7)
    roads["width_m"] = rng.choice([5.0, 6.0, 7.0, 8.0], len(roads))
    graph = build_graph(roads)
    truck = truck_graph(graph, options=TruckOptions())
    layers = make_layers(graph)
    res = station_response(truck, layers["stations"], turnout_s=60.0)
    access = building_access(graph, layers["buildings"].geometry, edge_mask=truck.edge_passable)
    hyd = snap_points(graph, layers["hydrants"])
    t_setup = time.perf_counter() - t0
    rss_setup = _rss_mb()
    preset = load_preset("cn-gb")

    handler = _StepTimes()
    logger = logging.getLogger("routing.blockages")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    gc.collect()
    t0 = time.perf_counter()
    out = blockage_impact(truck, res, layers["reports"], buildings=layers["buildings"],
                          building_access=access, hydrant_snaps=hyd, preset=preset)
    t_ours = time.perf_counter() - t0
    logger.removeHandler(handler)
    logger.propagate = True
    logger.setLevel(logging.NOTSET)
    steps: dict[str, float] = {}
    prev = t0
    for t, name in handler.marks:
        steps[name] = round(t - prev, 3)
        prev = t
    rss_ours = _rss_mb()

    blk = out.blockages
    blocking = blk.loc[blk["effect"] == "full"]
    edges = np.unique(blocking["edge_id"].to_numpy())
    n_scen = len(edges)
    sample = np.random.default_rng(3).choice(edges, min(naive_sample, n_scen), replace=False)
    row_of = pd.Series(np.arange(graph.n_edges), index=graph.edge_id)
    pe = np.concatenate([access.snaps.edge, hyd.edge])
    pp = np.concatenate([access.snaps.position_m, hyd.position_m])
    gc.collect()
    t0 = time.perf_counter()
    for eid in sample:
        mask = np.zeros(graph.n_edges, dtype=bool)
        mask[row_of[eid]] = True
        ts = truck_graph(graph, options=truck.options, blocked_edges=mask)
        r = station_response(ts, layers["stations"], turnout_s=60.0)
        point_times(ts, r.node_time_s, r.node_station, pe, pp, station_snaps=r.station_snaps,
                    turnout_s=60.0)
    t_naive = (time.perf_counter() - t0) / max(len(sample), 1)

    row: dict[str, Any] = {
        "n_edges": graph.n_edges,
        "n_nodes": graph.n_nodes,
        "reports": len(blk),
        "rejected": out.summary["rejected"],
        "blocking": out.summary["blocking"],
        "scenarios": n_scen,
        "setup_s": round(t_setup, 2),
        "ours_s": round(t_ours, 2),
        "ours_steps_s": steps,
        "naive_per_scenario_s": round(t_naive, 3),
        "naive_sample": len(sample),
        "naive_extrapolated_s": round(t_naive * n_scen, 1),
        "naive_10k_extrapolated_s": round(t_naive * 10_000, 1),
        "speedup": round(t_naive * n_scen / t_ours, 1),
        "high_rises_cut_off_together": out.summary["high_rises_cut_off"],
        "critical_lanes": out.summary["critical_lanes"],
        "top_score": float(blk["score"].max()),
        "max_rss_after_setup_mb": rss_setup,
        "max_rss_after_ours_mb": rss_ours,
    }
    # stress: every report open and a locked gate (10,000 reports, about as many scenarios)
    gates = layers["reports"].assign(kind="gate", status="reported", remaining_width_m=np.nan)
    gc.collect()
    t0 = time.perf_counter()
    worst = blockage_impact(truck, res, gates, buildings=layers["buildings"],
                            building_access=access, hydrant_snaps=hyd, preset=preset)
    row["all_gates_s"] = round(time.perf_counter() - t0, 2)
    row["all_gates_scenarios"] = int(
        worst.blockages.loc[worst.blockages["effect"] == "full", "edge_id"].nunique()
    )
    row["all_gates_high_rises_cut_off_together"] = worst.summary["high_rises_cut_off"]
    row["max_rss_after_all_gates_mb"] = _rss_mb()
    if n_target_edges <= TRACEMALLOC_MAX_EDGES:
        gc.collect()
        tracemalloc.start()
        blockage_impact(truck, res, layers["reports"], buildings=layers["buildings"],
                        building_access=access, hydrant_snaps=hyd, preset=preset)
        row["ours_tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
        tracemalloc.stop()
    if oneway:
        t1 = truck_graph(graph, options=TruckOptions(respect_oneway=True))
        r1 = station_response(t1, layers["stations"], turnout_s=60.0)
        gc.collect()
        t0 = time.perf_counter()
        lanes = critical_lanes(t1, r1, buildings=layers["buildings"], building_access=access)
        row["oneway_critical_lanes_s"] = round(time.perf_counter() - t0, 2)
        row["oneway_critical_lanes"] = len(lanes)
        row["max_rss_end_mb"] = _rss_mb()
    return row


def main(argv: list[str]) -> None:
    """Run the sizes given (default 10k, 100k, 1M)."""
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(float(a)) for a in argv] or [10_000, 100_000, 1_000_000]
    for size in sizes:
        print(json.dumps({"target": size, **run(size)}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
