"""Serving a city (issue 11): start-up of ``firereach serve``, vector tiles, the web map's first draw.

For each size, the Helsinki default is tiled to about N road edges
(:func:`benchmarks.bench_live.tiled_layers`, with N/100 blockage reports), analysed and written
as ``firereach analyze`` writes its workspace (:func:`api.pipeline.write_analysis_outputs`:
``layers.gpkg``, findings, summary; no reports), or
``--workspace DIR`` is used as it is. Then, in one run:

1. ``startup_s``: ``python -m api.cli serve --workspace DIR`` until ``/health`` answers 200, with
   the server's own start-up lines (read, analysis steps, WGS84 collections);
2. ``collections_s``: the first ``/ogc/collections`` (it builds the collection indexes);
3. per big layer: ``prepare_s`` (the first TileJSON, which prepares the tile source: EPSG:3857
   copy and STRtree), then three adjacent tiles at the centre of the layer at z12, z14, z16
   (median ms, largest KB);
4. ``first_draw_s`` (when headless Chromium and playwright are there): the web map opened at
   ``/`` until every tile layer in view has drawn (``body[data-tiles='1']``), with the number of
   requests, tile requests and ``/items`` requests, and a screenshot ``--shots DIR/serve-N.png``.

Run ``python -m benchmarks.bench_serve [N ...] [--workspace DIR] [--shots DIR]``; sizes of 300k
edges and more under ``flock /tmp/firereach-big.lock nice`` (a 1M workspace takes ~8 GB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("roads_analysis", "buildings_analysis", "hydrants_analysis", "underserved_segments")
CHROMIUM = Path("/usr/bin/chromium")


def build_workspace(n_edges: int, out: Path) -> dict[str, Any]:
    """Tile, analyse and write a workspace of about ``n_edges`` road edges into ``out``."""
    from api.pipeline import write_analysis_outputs
    from benchmarks.bench_live import make_reports, tiled_layers
    from geo.presets import load_preset
    from routing.analysis import AnalysisOptions, analyze

    t0 = time.perf_counter()
    layers = tiled_layers(n_edges)
    reports = make_reports(layers.roads, max(50, n_edges // 100), seed=11)
    result = analyze(layers, preset=load_preset("cn-gb"),
                     options=AnalysisOptions(siting=len(layers.roads) <= 20_000), blockages=reports)
    write_analysis_outputs(layers, result, out=out)
    return {"edges": len(layers.roads), "hydrants": len(layers.hydrants),
            "buildings": len(layers.buildings), "build_s": round(time.perf_counter() - t0, 1)}


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tiles(client: httpx.Client, doc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for c in doc["collections"]:
        if c["id"] not in LAYERS or "extent" not in c:
            continue
        bbox = c["extent"]["spatial"]["bbox"][0]
        lon, lat = (bbox[0] + bbox[2]) / 2, (bbox[1] + bbox[3]) / 2
        t0 = time.perf_counter()
        client.get(f"/tiles/{c['id']}.json").raise_for_status()
        row: dict[str, Any] = {"features": c.get("itemCount"),
                               "prepare_s": round(time.perf_counter() - t0, 2)}
        for z in (12, 14, 16):
            x, y = _tile_of(lon, lat, z)
            times, sizes = [], []
            for dx in range(3):
                t0 = time.perf_counter()
                r = client.get(f"/tiles/{c['id']}/{z}/{x + dx}/{y}.mvt")
                times.append(time.perf_counter() - t0)
                sizes.append(len(r.content))
            row[f"z{z}"] = {"ms": round(statistics.median(times) * 1000), "max_kb": round(max(sizes) / 1024)}
        out[c["id"]] = row
    return out


def _first_draw(url: str, shot: Path | None) -> dict[str, Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"first_draw_s": None}
    if not CHROMIUM.is_file():
        return {"first_draw_s": None}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 800})
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        t0 = time.perf_counter()
        page.goto(url + "/", wait_until="load")
        page.wait_for_selector("body[data-tiles='1']", state="attached", timeout=900_000)
        first = time.perf_counter() - t0
        page.wait_for_timeout(300)
        if shot is not None:
            page.screenshot(path=str(shot))
        stats = page.evaluate("window.frTiles")
        browser.close()
    return {"first_draw_s": round(first, 1), "requests": len(requests),
            "tile_requests": sum(".mvt" in u for u in requests),
            "items_requests": sum("/items" in u for u in requests), "tile_features": stats["features"]}


def measure(workspace: Path, *, shot: Path | None = None) -> dict[str, Any]:
    """Start-up, tiles and the first draw of the web map on ``workspace``."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "FIREREACH_PUBLIC_READ": "true"}
    log_path = workspace / f"bench-serve-{port}.log"
    row: dict[str, Any] = {}
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--workspace", str(workspace),
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(workspace),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            while process.poll() is None:
                try:
                    if httpx.get(url + "/health", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            row["startup_s"] = round(time.perf_counter() - t0, 1)
            with httpx.Client(base_url=url, timeout=900) as client:
                t0 = time.perf_counter()
                doc = client.get("/ogc/collections").json()
                row["collections_s"] = round(time.perf_counter() - t0, 2)
                row["tiles"] = _tiles(client, doc)
            row.update(_first_draw(url, shot))
        finally:
            process.terminate()
            process.wait(timeout=60)
    row["startup_lines"] = [line.split("start-up: ", 1)[1].strip() for line in
                            log_path.read_text(encoding="utf-8", errors="replace").splitlines()
                            if "start-up: " in line]
    return row


def main(argv: list[str]) -> None:
    """Build (or take) a workspace per size and print one JSON line per size."""
    parser = argparse.ArgumentParser(prog="bench_serve")
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000])
    parser.add_argument("--workspace", type=Path)
    parser.add_argument("--shots", type=Path)
    args = parser.parse_args(argv)
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    if args.workspace:
        shot = args.shots / "serve.png" if args.shots else None
        print(json.dumps(measure(args.workspace, shot=shot)), flush=True)
        return
    for n in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="bench_serve-"))
        try:
            row = build_workspace(n, tmp / "ws")
            shot = args.shots / f"serve-{n}.png" if args.shots else None
            row.update(measure(tmp / "ws", shot=shot))
            print(json.dumps(row), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
