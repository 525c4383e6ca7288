"""Load on the serving side: OGC API items and vector tiles from a real uvicorn server on loopback.

The Helsinki default is analysed into a temporary workspace (or ``--workspace DIR`` is used), the
app is served by uvicorn in its own process on 127.0.0.1 (one worker, access log off), and
``CLIENTS`` concurrent clients (asyncio, one keep-alive HTTP/1.1 connection each) send requests
for ``SECONDS`` per phase, then stop:

1. ``items``: ``/ogc/collections/{layer}/items?limit=100&offset=...`` over the buildings, roads
   and hydrants (random pages);
2. ``tiles``: ``/tiles/{layer}/{z}/{x}/{y}.mvt`` over every tile of the four big layers at zoom
   14-17 that holds features (the tile cache is warm after the first pass);
3. ``mixed``: half of each.

Before the phases every tile is fetched once by one client: the cold render time per tile.
Reported per phase: requests, throughput (req/s), p50/p99 latency (ms), errors (non-2xx, 204
counted as success), MB received. The client and the server share the machine (2 cores here), so
throughput is bounded by both. Traffic never leaves the loopback interface; every loop is bounded
in time and count.

Run ``python -m benchmarks.bench_api [--seconds 10] [--clients 50] [--workspace DIR]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

SECONDS = 10.0
CLIENTS = 50
MAX_REQUESTS = 500_000
TILE_LAYERS = ("roads_analysis", "buildings_analysis", "coverage_pieces", "hydrants")
ITEM_LAYERS = ("buildings_analysis", "roads_analysis", "hydrants")
ZOOMS = (14, 15, 16, 17)
SEED = 20240611

_SERVER = """
import sys, uvicorn
from api.app import create_app
from api.settings import Settings
from api.workspace import load_workspace
settings = Settings(workspace=sys.argv[1], _env_file=None)
app = create_app(settings, workspace=load_workspace(settings))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning", access_log=False)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_workspace(out: Path) -> Path:
    """Analyse the embedded Helsinki extract into ``out`` (as ``firereach demo`` does)."""
    from api.cli import default_osm_path
    from api.pipeline import LayersRequest, run_analyze
    from api.settings import Settings
    from routing.analysis import AnalysisOptions

    run_analyze(LayersRequest(osm=default_osm_path()), out=out, settings=Settings(_env_file=None),
                options=AnalysisOptions())
    return out


@contextmanager
def serve(workspace: Path, *, timeout_s: float = 120.0) -> Iterator[str]:
    """uvicorn on a free loopback port in its own process; yields the base URL, then stops it."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREREACH_")}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(workspace), str(port)],
                                stdout=log, stderr=subprocess.STDOUT, cwd=str(workspace), env=env)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    if httpx.get(f"{url}/ogc", timeout=2.0).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"server did not start: {log.read()[-3000:].decode(errors='replace')}")
                time.sleep(0.2)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def _tile_xy(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    lat_r = math.radians(lat)
    return int((lon + 180.0) / 360.0 * n), int((1.0 - math.asinh(math.tan(lat_r)) / math.pi) / 2.0 * n)


def tile_urls(client: httpx.Client) -> list[str]:
    """Every tile of the big layers at :data:`ZOOMS` inside each layer's bounds."""
    urls = []
    for layer in TILE_LAYERS:
        tj = client.get(f"/tiles/{layer}.json").json()
        lon0, lat0, lon1, lat1 = tj["bounds"]
        for z in ZOOMS:
            if z < tj["minzoom"]:
                continue
            x0, y0 = _tile_xy(lon0, lat1, z)
            x1, y1 = _tile_xy(lon1, lat0, z)
            urls += [f"/tiles/{layer}/{z}/{x}/{y}.mvt" for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
    return urls


def item_urls(client: httpx.Client) -> list[str]:
    """Pages of 100 features of :data:`ITEM_LAYERS` (every offset that returns features)."""
    urls = []
    for layer in ITEM_LAYERS:
        n = client.get(f"/ogc/collections/{layer}/items", params={"limit": 1}).json()["numberMatched"]
        urls += [f"/ogc/collections/{layer}/items?limit=100&offset={o}" for o in range(0, n, 100)]
    return urls


@dataclass
class Phase:
    """What one phase measured."""

    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    bytes: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        lat = np.asarray(self.latencies) * 1000.0
        n = len(lat)
        return {
            "requests": n,
            "throughput_rps": round(n / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(float(np.percentile(lat, 50)), 2) if n else None,
            "p99_ms": round(float(np.percentile(lat, 99)), 2) if n else None,
            "max_ms": round(float(lat.max()), 2) if n else None,
            "errors": self.errors,
            "mb_received": round(self.bytes / 2**20, 2),
        }


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str) -> tuple[int, int]:
    """One keep-alive HTTP/1.1 GET on an open connection: status and body length."""
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: identity\r\n\r\n".encode())
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status, length


async def _load(url: str, paths: list[str], *, seconds: float, clients: int, name: str) -> Phase:
    """``clients`` connections sending GETs of random ``paths`` until the time is up.

    A bare asyncio HTTP/1.1 client (one keep-alive connection per client): httpx's own overhead
    caps a single Python process at a few hundred requests per second on this machine, below
    what the server answers, and would measure the client instead.
    """
    phase = Phase(name)
    deadline = time.perf_counter() + seconds
    budget = [MAX_REQUESTS]
    host, port = "127.0.0.1", int(url.rsplit(":", 1)[1])

    async def worker(i: int) -> None:
        rng = random.Random(SEED + i)
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < deadline and budget[0] > 0:
                budget[0] -= 1
                path = paths[rng.randrange(len(paths))]
                t0 = time.perf_counter()
                try:
                    status, length = await asyncio.wait_for(_get(reader, writer, path), timeout=30.0)
                except (TimeoutError, OSError, asyncio.IncompleteReadError):
                    phase.errors += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                phase.latencies.append(time.perf_counter() - t0)
                phase.errors += status >= 300
                phase.bytes += length
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(clients)))
    phase.seconds = time.perf_counter() - t0
    return phase


def run(
    seconds: float = SECONDS, clients: int = CLIENTS, workspace: Path | None = None
) -> dict[str, Any]:
    """Serve a workspace and measure items, tiles and a mix under ``clients`` concurrent clients.

    Parameters
    ----------
    seconds
        Length of each load phase (three phases).
    clients
        Concurrent clients.
    workspace
        Analysed workspace to serve; default: the Helsinki demo, built in a temporary folder.

    Returns
    -------
    dict
        Workspace sizes, the cold tile render times and, per phase, requests, throughput,
        p50/p99/max latency, errors and MB received.
    """
    with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
        ws = workspace if workspace is not None else demo_workspace(Path(tmp) / "helsinki")
        with serve(ws) as url, httpx.Client(base_url=url, timeout=60.0) as client:
            tiles, items = tile_urls(client), item_urls(client)
            cold: list[float] = []
            nonempty: list[str] = []
            for path in tiles:  # one pass, one client: every tile rendered once (cold cache)
                t0 = time.perf_counter()
                r = client.get(path)
                cold.append(time.perf_counter() - t0)
                if r.status_code == 200:
                    nonempty.append(path)
            empty = len(tiles) - len(nonempty)
            out: dict[str, Any] = {
                "workspace": str(ws),
                "clients": clients,
                "seconds_per_phase": seconds,
                "tile_urls": len(tiles),
                "tiles_empty": empty,
                "item_pages": len(items),
                "cold_tile_ms": {
                    "p50": round(float(np.percentile(cold, 50)) * 1000, 2),
                    "p99": round(float(np.percentile(cold, 99)) * 1000, 2),
                    "max": round(max(cold) * 1000, 2),
                },
            }
            for name, paths in (("items", items), ("tiles", nonempty), ("mixed", items + nonempty)):
                phase = asyncio.run(_load(url, paths, seconds=seconds, clients=clients, name=name))
                out[name] = phase.summary()
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m benchmarks.bench_api [--seconds S] [--clients N] [--workspace DIR]``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--workspace", type=Path, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.seconds, args.clients, args.workspace), indent=2), flush=True)


if __name__ == "__main__":
    main()
