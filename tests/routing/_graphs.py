"""Tiny hand-drawn street graphs for the routing tests.

Coordinates are written in metres relative to an origin in UTM zone 50N (EPSG:32650) so that the
answers can be worked out on paper; the builders add the origin and fill every column of
:data:`geo.schema.ROADS` / :data:`geo.schema.BARRIERS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike

from geo.schema import BARRIERS, ROADS
from routing.snap import SnapResult

CRS = "EPSG:32650"
X0, Y0 = 500_000.0, 3_500_000.0

Nodes = Mapping[int, tuple[float, float]]


@dataclass(frozen=True)
class E:
    """One edge from node ``u`` to node ``v`` (through the ``via`` vertices, local metres)."""

    u: int
    v: int
    via: tuple[tuple[float, float], ...] = ()
    name: str = ""
    highway: str = "residential"
    oneway: bool = False
    width_m: float = 6.0
    width_source: str = "estimated"
    maxheight_m: float = math.nan
    way_id: int | None = None
    access: str = ""
    service: str = ""
    extra: dict[str, object] = field(default_factory=dict)


def xy(x: float, y: float) -> tuple[float, float]:
    """Local metres to working-CRS coordinates."""
    return (X0 + x, Y0 + y)


def point(x: float, y: float) -> shapely.Point:
    """A shapely Point at local metres."""
    return shapely.Point(xy(x, y))


def roads_frame(nodes: Nodes, edges: Sequence[E | tuple[int, int]]) -> gpd.GeoDataFrame:
    """A roads layer with every :data:`geo.schema.ROADS` column."""
    specs = [e if isinstance(e, E) else E(*e) for e in edges]
    rows = []
    geoms = []
    for i, e in enumerate(specs):
        coords = [xy(*nodes[e.u]), *(xy(*p) for p in e.via), xy(*nodes[e.v])]
        line = shapely.LineString(coords)
        geoms.append(line)
        rows.append(
            {
                "edge_id": i,
                "u": e.u,
                "v": e.v,
                "way_id": e.way_id if e.way_id is not None else 1000 + i,
                "highway": e.highway,
                "name": e.name,
                "oneway": e.oneway,
                "lanes": math.nan,
                "width_m": e.width_m,
                "width_source": e.width_source,
                "maxheight_m": e.maxheight_m,
                "access": e.access,
                "service": e.service,
                "surface": "",
                "bridge": False,
                "tunnel": False,
                "emergency": "",
                "motorroad": False,
                "length_m": line.length,
                **e.extra,
            }
        )
    frame = pd.DataFrame(rows, columns=[c.name for c in ROADS]).astype(
        {"edge_id": "int64", "u": "int64", "v": "int64", "way_id": "int64", "oneway": bool,
         "motorroad": bool}
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def barriers_frame(nodes: Nodes, rows: Sequence[Mapping[str, object]]) -> gpd.GeoDataFrame:
    """A barriers layer; each row needs ``node_id`` and ``barrier``."""
    full = [
        {"locked": "unknown", "access": "", "way_id": 0, "road_name": "", **r} for r in rows
    ]
    frame = pd.DataFrame(full, columns=[c.name for c in BARRIERS]).astype(
        {"node_id": "int64", "way_id": "int64"}
    )
    geoms = [point(*nodes[int(r["node_id"])]) for r in full]  # type: ignore[call-overload]
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=CRS), crs=CRS)


def snaps(
    edge: ArrayLike, position_m: ArrayLike, offset_m: ArrayLike | None = None
) -> SnapResult:
    """A SnapResult written by hand (points are not needed by the network coverage)."""
    e = np.asarray(edge, dtype=np.int64)
    off = np.zeros(len(e)) if offset_m is None else np.asarray(offset_m, dtype=np.float64)
    return SnapResult(
        edge=e,
        position_m=np.asarray(position_m, dtype=np.float64),
        offset_m=off,
        point=np.full(len(e), None, dtype=object),
        reason=np.full(len(e), "", dtype=object),
    )


# --- named graphs -------------------------------------------------------------------------------


def single_edge(length: float = 400.0, **kw: object) -> gpd.GeoDataFrame:
    """Nodes 1 (0, 0) and 2 (length, 0), one edge 1 -> 2."""
    return roads_frame({1: (0.0, 0.0), 2: (length, 0.0)}, [E(1, 2, **kw)])  # type: ignore[arg-type]


T_NODES: dict[int, tuple[float, float]] = {
    1: (0.0, 0.0), 2: (100.0, 0.0), 3: (300.0, 0.0), 4: (100.0, 200.0),
}


def t_junction() -> gpd.GeoDataFrame:
    """A T: edge 0 = 1-2 (100 m), edge 1 = 2-3 (200 m), edge 2 = 2-4 (200 m)."""
    return roads_frame(T_NODES, [E(1, 2), E(2, 3), E(2, 4)])


def grid_nodes(nx: int, ny: int, spacing: float = 100.0) -> dict[int, tuple[float, float]]:
    """Nodes ``i * ny + j`` at ``(i * spacing, j * spacing)``."""
    return {i * ny + j: (i * spacing, j * spacing) for i in range(nx) for j in range(ny)}


def grid_roads(
    nx: int, ny: int, spacing: float = 100.0, *, seed: int = 0, drop: float = 0.0
) -> gpd.GeoDataFrame:
    """A grid of streets; rows named ``'Row <j>'``, columns ``'Col <i>'``.

    Some edges get a bend vertex (longer than ``spacing``) and a share ``drop`` of edges is left
    out, so that distances are not all multiples of the spacing.
    """
    rng = np.random.default_rng(seed)
    nodes = grid_nodes(nx, ny, spacing)
    edges: list[E] = []
    for i in range(nx):
        for j in range(ny):
            n = i * ny + j
            if i + 1 < nx:
                edges.append(_grid_edge(rng, nodes, n, n + ny, f"Row {j}", 10 + j))
            if j + 1 < ny:
                edges.append(_grid_edge(rng, nodes, n, n + 1, f"Col {i}", 10_000 + i))
    keep = rng.random(len(edges)) >= drop
    return roads_frame(nodes, [e for e, k in zip(edges, keep, strict=True) if k])


def _grid_edge(
    rng: np.random.Generator, nodes: Nodes, a: int, b: int, name: str, way: int
) -> E:
    (xa, ya), (xb, yb) = nodes[a], nodes[b]
    via: tuple[tuple[float, float], ...] = ()
    if rng.random() < 0.3:
        mx, my = (xa + xb) / 2, (ya + yb) / 2
        bend = float(rng.uniform(-20, 20))
        via = ((mx, my + bend),) if ya == yb else ((mx + bend, my),)
    u, v = (a, b) if rng.random() < 0.7 else (b, a)
    if (u, v) == (b, a):
        via = via[::-1]
    return E(u, v, via=via, name=name, way_id=way, oneway=bool(rng.random() < 0.1))
