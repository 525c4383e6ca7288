"""Large benchmark networks made from a real extract by tiling.

The real street pattern of one extract (its roads layer, in metres) is copied onto an
``n × n`` grid of tiles, each shifted by the extract's width/height plus a 50 m gap. Node ids are
made unique per tile (``id + tile * 10**12``). Neighbouring tiles are stitched by connector edges
from each tile's ``k`` nodes nearest its east (north) edge to the nearest node of the next tile,
so the result is one connected city, not ``n²`` islands. Points (hydrants, stations, buildings)
are tiled the same way.

This keeps the real-world degree distribution, edge-length spread, dead ends and one-way
streets of the extract while reaching a million edges.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

_ID_STRIDE = 10**12
_GAP_M = 50.0


def tiles_for(n_edges_target: int, n_edges_tile: int) -> int:
    """Tiles per side so that the tiled network has about ``n_edges_target`` edges."""
    return max(1, round(math.sqrt(n_edges_target / max(n_edges_tile, 1))))


def _offsets(bounds: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, float, float]:
    minx, miny, maxx, maxy = bounds
    dx, dy = (maxx - minx) + _GAP_M, (maxy - miny) + _GAP_M
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    return ii.ravel(), jj.ravel(), dx, dy


def tile_roads(roads: gpd.GeoDataFrame, n: int, *, stitch_k: int = 8) -> gpd.GeoDataFrame:
    """``n × n`` copies of ``roads`` (schema geo.schema.ROADS), stitched into one network."""
    ii, jj, dx, dy = _offsets(roads.total_bounds, n)
    geoms = roads.geometry.to_numpy()
    frames = []
    all_geoms = []
    for t, (i, j) in enumerate(zip(ii, jj, strict=True)):
        f = roads.drop(columns="geometry").copy()
        f["u"] = f["u"].to_numpy() + t * _ID_STRIDE
        f["v"] = f["v"].to_numpy() + t * _ID_STRIDE
        f["way_id"] = f["way_id"].to_numpy() + t * _ID_STRIDE
        frames.append(f)
        all_geoms.append(shapely.transform(geoms, lambda xy, i=i, j=j: xy + np.array([i * dx, j * dy])))
    frame = pd.concat(frames, ignore_index=True)
    out = gpd.GeoDataFrame(frame, geometry=np.concatenate(all_geoms), crs=roads.crs)

    # node coordinates of one tile, to stitch neighbours
    starts = shapely.get_coordinates(shapely.get_point(geoms, 0))
    ends = shapely.get_coordinates(shapely.get_point(geoms, -1))
    node_ids = np.concatenate([roads["u"].to_numpy(), roads["v"].to_numpy()])
    node_xy = np.concatenate([starts, ends])
    node_ids, first = np.unique(node_ids, return_index=True)
    node_xy = node_xy[first]
    tree = cKDTree(node_xy)
    east = np.argsort(-node_xy[:, 0])[:stitch_k]
    north = np.argsort(-node_xy[:, 1])[:stitch_k]
    rows = []
    for t, (i, j) in enumerate(zip(ii, jj, strict=True)):
        for (di, dj, side) in ((1, 0, east), (0, 1, north)):
            if i + di >= n or j + dj >= n:
                continue
            t2 = (i + di) * n + (j + dj)
            shift = np.array([di * dx, dj * dy])
            for a in side:
                # nearest node of the neighbour tile to this boundary node
                _, b = tree.query(node_xy[a] - shift)
                p = node_xy[a] + [i * dx, j * dy]
                q = node_xy[b] + [(i + di) * dx, (j + dj) * dy]
                rows.append((node_ids[a] + t * _ID_STRIDE, node_ids[b] + t2 * _ID_STRIDE, p, q))
    if rows:
        lines = shapely.linestrings([[r[2], r[3]] for r in rows])
        conn = pd.DataFrame(
            {
                "u": [r[0] for r in rows], "v": [r[1] for r in rows], "way_id": -1,
                "highway": "tertiary", "name": "connector", "oneway": False, "lanes": np.nan,
                "width_m": 7.0, "width_source": "estimated", "maxheight_m": np.nan, "access": "",
                "service": "", "surface": "", "bridge": False, "tunnel": False, "emergency": "",
            }
        )
        conn = gpd.GeoDataFrame(conn, geometry=lines, crs=roads.crs)
        conn["length_m"] = conn.geometry.length
        out = pd.concat([out, conn], ignore_index=True)
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=roads.crs)
    out["edge_id"] = np.arange(len(out), dtype=np.int64)
    return out


def tile_points(points: gpd.GeoSeries, bounds: np.ndarray, n: int) -> gpd.GeoSeries:
    """Copies of ``points`` for each tile of :func:`tile_roads` (same bounds and ``n``)."""
    ii, jj, dx, dy = _offsets(bounds, n)
    geoms = points.to_numpy()
    parts = [shapely.transform(geoms, lambda xy, i=i, j=j: xy + np.array([i * dx, j * dy]))
             for i, j in zip(ii, jj, strict=True)]
    return gpd.GeoSeries(np.concatenate(parts) if parts else geoms, crs=points.crs)


def random_points(roads: gpd.GeoDataFrame, n: int, *, seed: int, offset_m: float = 8.0) -> gpd.GeoSeries:
    """``n`` points near random road edges (length-weighted), offset up to ``offset_m``."""
    rng = np.random.default_rng(seed)
    length = roads["length_m"].to_numpy()
    pick = rng.choice(len(roads), size=n, p=length / length.sum())
    frac = rng.random(n)
    pts = shapely.line_interpolate_point(roads.geometry.to_numpy()[pick], frac, normalized=True)
    xy = shapely.get_coordinates(pts) + rng.uniform(-offset_m, offset_m, size=(n, 2))
    return gpd.GeoSeries(shapely.points(xy), crs=roads.crs)
