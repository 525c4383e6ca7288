"""Writing the outputs of a city (issue 11): the GeoPackage, the XLSX, the PDF and ``map.html``.

The embedded Helsinki extract is tiled to each size as in :mod:`benchmarks.bench_live`
(``tiled_layers``: roads, hydrants, stations, buildings), with ``n / 100`` ledger blockages
beside random streets (``make_reports``), and analysed with preset ``cn-gb`` (siting only up to
20k edges). Then, as ``firereach analyze`` writes them (:mod:`api.pipeline`), each step is timed
with the peak RSS after it:

* ``gpkg``: :func:`reports.export.write_geopackage` of every layer and result (``layers.gpkg``);
* ``reports``: :func:`reports.build.build_reports` (``districts.gpkg``, ``report.xlsx``,
  ``report.pdf``), split into its XLSX and PDF writers by their log lines;
* ``map``: :func:`reports.map.write_map_html` with the district grades (``map.html``);

and the size of every file written. Each size runs in its own process, so the peak RSS belongs
to it. Run ``python -m benchmarks.bench_outputs [sizes ...]`` (default 10k and 100k edges; add
1000000 for a city); one JSON line per size.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyogrio

from benchmarks.bench_live import make_reports, tiled_layers
from geo.presets import load_preset
from reports.build import build_reports
from reports.export import ARROW_IO, write_geopackage
from reports.map import write_map_html
from routing.analysis import AnalysisOptions, analyze

_SITING_MAX = 20_000


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


class _Marks(logging.Handler):
    """Times of the INFO lines that end the XLSX and the PDF writers."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.at: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.at[record.name] = time.perf_counter()


def run_one(n_edges: int) -> dict[str, Any]:
    """Tile, analyse and write the outputs of one size; figures as a dict."""
    layers = tiled_layers(n_edges)
    reports = make_reports(layers.roads, max(50, n_edges // 100), seed=11)
    analysis = analyze(layers, preset=load_preset("cn-gb"),
                       options=AnalysisOptions(siting=len(layers.roads) <= _SITING_MAX), blockages=reports)
    row: dict[str, Any] = {"edges": len(layers.roads), "hydrants": len(layers.hydrants),
                           "buildings": len(layers.buildings), "arrow": ARROW_IO,
                           "rss_before_mb": _rss_mb()}
    with tempfile.TemporaryDirectory(prefix="bench_outputs-") as tmp:
        out = Path(tmp)
        tables = {**layers.as_dict(), "rejects": layers.rejects, **analysis.layers,
                  "findings": analysis.findings}
        t0 = time.perf_counter()
        write_geopackage(tables, out / "layers.gpkg")
        row["gpkg_s"], row["gpkg_rss_mb"] = round(time.perf_counter() - t0, 2), _rss_mb()

        marks = _Marks()
        for name in ("reports.xlsx", "reports.pdf", "reports.export"):
            logging.getLogger(name).addHandler(marks)
            logging.getLogger(name).setLevel(logging.INFO)
        t0 = time.perf_counter()
        build_reports(layers, analysis, out_dir=out, blockages=analysis.layers.get("blockages_ranked"),
                      proposed=analysis.layers.get("proposed_hydrants"),
                      budget_curve=analysis.layers.get("budget_curve"))
        t1 = time.perf_counter()
        row["reports_s"], row["reports_rss_mb"] = round(t1 - t0, 2), _rss_mb()
        if "reports.xlsx" in marks.at and "reports.pdf" in marks.at:
            row["xlsx_s"] = round(marks.at["reports.xlsx"] - marks.at.get("reports.export", t0), 2)
            row["pdf_s"] = round(marks.at["reports.pdf"] - marks.at["reports.xlsx"], 2)

        t0 = time.perf_counter()
        write_map_html(out / "map.html", layers=layers, analysis=analysis,
                       blockages=analysis.layers.get("blockages_ranked"),
                       proposed=analysis.layers.get("proposed_hydrants"),
                       districts=pyogrio.read_dataframe(out / "districts.gpkg"))
        row["map_s"], row["map_rss_mb"] = round(time.perf_counter() - t0, 2), _rss_mb()
        row["files_mb"] = {p.name: round(p.stat().st_size / 1e6, 2) for p in sorted(out.iterdir())}
    row["load"] = [round(x, 2) for x in os.getloadavg()]
    return row


def main(argv: list[str]) -> None:
    """One process per size (``--one N`` runs a size in this process)."""
    if argv[:1] == ["--one"]:
        print(json.dumps(run_one(int(argv[1]))), flush=True)
        return
    for n in [int(a) for a in argv] or [10_000, 100_000]:
        subprocess.run([sys.executable, "-m", "benchmarks.bench_outputs", "--one", str(n)], check=True)


if __name__ == "__main__":
    main(sys.argv[1:])
