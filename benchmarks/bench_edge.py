"""Abuse at the edge (issue 12): big bodies without a key and wrong keys, against a real server.

The tiny fixture is analysed into a temporary workspace and served by uvicorn on 127.0.0.1 twice
in the same run: by the code of a baseline checkout (``--baseline DIR``, e.g. the main checkout
before the edge guard) and by this checkout. For each server:

1. ``body``: one POST of 200 MB to ``/ledger`` without a key, announced with ``Content-Length``
   and then chunked (no length), streamed from a generator (the client holds 1 MiB at a time);
   the server's resident memory (``VmRSS`` and its peak ``VmHWM``, from ``/proc``) before and
   after, the status and the seconds until the answer;
2. ``keys``: ``ATTACKERS`` clients send GET ``/ledger`` with random 30-character keys (not
   ``frk_``, shaped like a bootstrap key) for ``SECONDS`` while one client sends the valid key;
   the valid requests' median and p90 latency, against the same client alone first.

Traffic never leaves the loopback interface; every loop is bounded in time and count.
Run ``python -m benchmarks.bench_edge [--baseline /work/main] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
TINY_OSM = REPO / "data" / "fixtures" / "tiny_compound.osm"
KEY = "bench-edge-admin-key-0123456789abcdef"
BODY_MB = 200
ATTACKERS = 40
SECONDS = 10.0
MAX_REQUESTS = 200_000
REPORT = b'{"lon": 0, "lat": 0, "kind": "goods", "reporter": "x", "note": "'


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve(workspace: Path, code: Path) -> Iterator[tuple[str, int]]:
    """``firereach serve`` with the code in ``code``; yields (base URL, server pid)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREREACH_")}
    env.update(PYTHONPATH=str(code), FIREREACH_BOOTSTRAP_ADMIN_KEY=KEY)
    with (workspace / f"server-{port}.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--workspace", str(workspace),
             "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(workspace))
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _memory_mb(pid: int) -> tuple[float, float]:
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return (int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024)


def _body() -> Iterator[bytes]:
    yield REPORT
    chunk = b"x" * 1_048_576
    for _ in range(BODY_MB):
        yield chunk
    yield b'"}'


def body_phase(url: str, pid: int) -> list[str]:
    rows = []
    size = len(REPORT) + BODY_MB * 1_048_576 + 2
    for label, headers in (("Content-Length", {"Content-Length": str(size)}), ("chunked", {})):
        before, _ = _memory_mb(pid)
        t0 = time.perf_counter()
        try:
            r = httpx.post(f"{url}/ledger", content=_body(), timeout=300,
                           headers={"Content-Type": "application/json", **headers})
            status = str(r.status_code)
        except httpx.HTTPError as exc:  # the server may close the connection after its answer
            status = type(exc).__name__
        seconds = time.perf_counter() - t0
        after, peak = _memory_mb(pid)
        rows.append(f"| {BODY_MB} MB, {label}, no key | {status} | {seconds:.2f} s | "
                    f"{before:.0f} → {after:.0f} MB | {peak:.0f} MB |")
    return rows


def _valid_latencies(url: str, until: float) -> list[float]:
    out: list[float] = []
    with httpx.Client(base_url=url, timeout=30, headers={"X-API-Key": KEY}) as c:
        while time.monotonic() < until and len(out) < MAX_REQUESTS:
            t0 = time.perf_counter()
            c.get("/ledger?limit=1")
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _attack(url: str, until: float, counts: dict[int, int]) -> None:
    with httpx.Client(base_url=url, timeout=30) as c:
        n = 0
        while time.monotonic() < until and n < MAX_REQUESTS:
            r = c.get("/ledger?limit=1", headers={"X-API-Key": secrets.token_urlsafe(22)[:30]})
            counts[r.status_code] = counts.get(r.status_code, 0) + 1
            n += 1


def keys_phase(url: str, seconds: float) -> list[str]:
    alone = _valid_latencies(url, time.monotonic() + seconds / 2)
    until = time.monotonic() + seconds
    counts: dict[int, int] = {}
    threads = [threading.Thread(target=_attack, args=(url, until, counts)) for _ in range(ATTACKERS)]
    for t in threads:
        t.start()
    attacked = _valid_latencies(url, until)
    for t in threads:
        t.join()

    def q(values: list[float], p: float) -> str:
        return f"{statistics.quantiles(values, n=10)[int(p * 10) - 1]:.0f}" if len(values) > 10 else "—"

    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))
    return [
        f"| valid key alone | {len(alone)} | {statistics.median(alone):.0f} ms | {q(alone, 0.9)} ms | |",
        f"| valid key + {ATTACKERS} wrong-key clients | {len(attacked)} | "
        f"{statistics.median(attacked):.0f} ms | {q(attacked, 0.9)} ms | {statuses} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, default=None, help="checkout to compare with")
    parser.add_argument("--seconds", type=float, default=SECONDS)
    args = parser.parse_args()
    from api.pipeline import LayersRequest, run_analyze
    from api.settings import Settings
    from routing.analysis import AnalysisOptions

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "ws"
        run_analyze(LayersRequest(osm=TINY_OSM), out=base, settings=Settings(_env_file=None),
                    options=AnalysisOptions())
        codes = ([("baseline", args.baseline)] if args.baseline else []) + [("this", REPO)]
        for name, code in codes:
            ws = Path(tmp) / name
            ws.mkdir()
            for f in ("layers.gpkg", "summary.json"):
                (ws / f).write_bytes((base / f).read_bytes())
            with serve(ws, code) as (url, pid):
                print(f"\n### {name} ({code})\n")
                print("| request | status | time | RSS before → after | peak RSS |\n|---|---|---|---|---|")
                print("\n".join(body_phase(url, pid)), flush=True)
                print("\n| client | requests | p50 | p90 | attackers' answers |\n|---|---|---|---|---|")
                print("\n".join(keys_phase(url, args.seconds)), flush=True)


if __name__ == "__main__":
    main()
