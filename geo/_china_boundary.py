"""The coarse China boundary and the vectorised "inside mainland China" test of :mod:`geo.crs`.

GCJ-02 applies only inside mainland China. The usual "inside China" test of the common libraries
is a rectangle that also covers Korea, Japan and Vietnam; here :func:`in_china` uses a coarse
boundary polygon shipped in ``geo/presets/china_boundary.geojson`` (mainland and Hainan; Hong
Kong, Macau, Taiwan, Kinmen and Matsu outside). The polygon is coarse: Hong Kong and Macau
borders are right to about 1-2 km, land borders elsewhere to 5-50 km, so points within a few
tens of km of a land border (Dandong, Heihe, Ruili ...) may fall on the wrong side. For such data
pass ``china_only=False`` to apply the offset regardless, since the user who states that a file is
GCJ-02 knows it is. The BD-09 step itself is a plain formula and applies everywhere, as in
Baidu's own API; only its GCJ-02 part is limited to China.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape

from geo._validate import FloatArray, xy_arrays
from geo.errors import CRSError

#: Points per chunk of the vectorised conversions: the two dozen working arrays of a chunk stay
#: in the CPU cache through the few dozen array operations of one formula evaluation.
_CHUNK = 1 << 14
#: The coarse China boundary (WGS84 lon/lat; mainland and Hainan, Hong Kong and Macau as holes).
BOUNDARY_PATH = Path(__file__).resolve().parent / "presets" / "china_boundary.geojson"

# ---------------------------------------------------------------------------------------------
# Inside China

#: Cell size (degrees) of the lookup grid that settles most points of the China test without a
#: polygon test: only points in cells within about one cell of the boundary need one.
_GRID_CELL_DEG = 0.1
#: Below this many points the polygon test runs on all of them (no grid is built).
_GRID_MIN_POINTS = 2048
#: Grid cell codes.
_OUTSIDE, _INSIDE, _NEAR_EDGE = 0, 1, 2
#: On the way back a point within this distance (degrees, about 1 mm) of the boundary counts as
#: inside: a point on an edge returns from the round trip within ``INVERSE_TOLERANCE_DEG`` per
#: coordinate, so up to ``sqrt(2)`` times that away.
_EDGE_TOLERANCE_DEG = 1e-8


@functools.cache
def china_boundary() -> shapely.Polygon:
    """Return the coarse China boundary polygon (WGS84), prepared for fast point tests.

    Returns
    -------
    shapely.Polygon
        Mainland China and Hainan, with Hong Kong and Macau as holes. See the module docstring
        for its accuracy.
    """
    with BOUNDARY_PATH.open(encoding="utf-8") as fh:
        data = json.load(fh)
    geom = shape(data["features"][0]["geometry"])
    if not isinstance(geom, shapely.Polygon) or not geom.is_valid:
        raise CRSError(f"{BOUNDARY_PATH} must hold one valid polygon; reinstall FireReach")
    shapely.prepare(geom)
    return geom


@dataclass(frozen=True)
class _Grid:
    """Cells of :data:`_GRID_CELL_DEG` over the boundary's extent, each outside, inside or near.

    A cell is "near" when the boundary passes through it or one of its eight neighbours; every
    point of any other cell is more than 7/8 of a cell (0.0875 degrees, 5-10 km) from the
    boundary, so the whole cell is on the side of its centre, which is tested once.
    """

    lon0: float
    lat0: float
    inv_cell: float
    nx: int
    ny: int
    codes: NDArray[np.uint8]  # row-major (lat, lon), flattened

    def lookup(self, lon: FloatArray, lat: FloatArray) -> NDArray[np.uint8]:
        """The code of each point's cell; NaN and points off the grid get an outside cell."""
        fx = np.subtract(lon, self.lon0)
        fx *= self.inv_cell
        np.fmax(fx, 0.0, out=fx)  # NaN and -inf to the first column, which is outside
        np.fmin(fx, self.nx - 1.0, out=fx)
        fy = np.subtract(lat, self.lat0)
        fy *= self.inv_cell
        np.fmax(fy, 0.0, out=fy)
        np.fmin(fy, self.ny - 1.0, out=fy)
        idx = fy.astype(np.intp)
        idx *= self.nx
        idx += fx.astype(np.intp)
        return self.codes[idx]


@functools.cache
def _china_grid() -> _Grid:
    poly = china_boundary()
    cell = _GRID_CELL_DEG
    inv = 1.0 / cell
    minx, miny, maxx, maxy = poly.bounds
    # Three cells of margin: the outer rows and columns are outside and never near the edge.
    lon0, lat0 = minx - 3 * cell, miny - 3 * cell
    nx, ny = int((maxx - lon0) * inv) + 4, int((maxy - lat0) * inv) + 4
    near = np.zeros((ny, nx), dtype=bool)
    for ring in (poly.exterior, *poly.interiors):
        xy = np.asarray(ring.coords)
        seg = np.diff(xy, axis=0)
        # Samples at most a quarter cell apart: every boundary point is within 1/8 cell of one.
        steps = np.ceil(np.abs(seg).max(axis=1) * 4 * inv).astype(int) + 1
        for (x0, y0), (dx, dy), k in zip(xy[:-1], seg, steps, strict=True):
            t = np.linspace(0.0, 1.0, k + 1)
            ix = ((x0 + t * dx - lon0) * inv).astype(np.intp)
            iy = ((y0 + t * dy - lat0) * inv).astype(np.intp)
            near[iy, ix] = True
    grown = near.copy()
    grown[1:] |= near[:-1]
    grown[:-1] |= near[1:]
    near = grown.copy()
    near[:, 1:] |= grown[:, :-1]
    near[:, :-1] |= grown[:, 1:]
    cx, cy = np.meshgrid(lon0 + (np.arange(nx) + 0.5) * cell, lat0 + (np.arange(ny) + 0.5) * cell)
    inside = shapely.contains_xy(poly, cx, cy)
    codes = np.where(near, _NEAR_EDGE, np.where(inside, _INSIDE, _OUTSIDE)).astype(np.uint8)
    return _Grid(lon0, lat0, inv, nx, ny, codes.ravel())


def _cell_codes(lon: FloatArray, lat: FloatArray, *, use_grid: bool) -> NDArray[np.uint8]:
    """Grid codes of 1-D arrays, or "near" for all when the grid is not worth building."""
    if use_grid:
        return _china_grid().lookup(lon, lat)
    return np.full(lon.shape, _NEAR_EDGE, dtype=np.uint8)


def _contains(lon: FloatArray, lat: FloatArray, *, on_edge: bool) -> NDArray[np.bool_]:
    """The exact polygon test; with ``on_edge``, points within ``_EDGE_TOLERANCE_DEG`` count."""
    inside = np.asarray(shapely.contains_xy(china_boundary(), lon, lat), dtype=bool)
    if on_edge:
        near = np.flatnonzero(~inside)
        near = near[shapely.contains_xy(_edge_band(), lon[near], lat[near])]
        if near.size:
            pts = shapely.points(lon[near], lat[near])
            inside[near] = shapely.dwithin(china_boundary(), pts, _EDGE_TOLERANCE_DEG)
    return inside


@functools.cache
def _edge_band() -> shapely.Geometry:
    """The boundary polygon grown by twice the edge tolerance: a cheap superset of the points
    within ``_EDGE_TOLERANCE_DEG`` of it (its arcs are at most 2 % inside the true offset)."""
    band = china_boundary().buffer(2 * _EDGE_TOLERANCE_DEG)
    shapely.prepare(band)
    return band


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Tell which points lie inside the coarse mainland-China boundary.

    Large arrays are first looked up in a 0.1-degree grid; only points within about a cell of
    the boundary need the polygon test, which gives the same answer for every point.

    Parameters
    ----------
    lon, lat
        WGS84 (or GCJ-02, the difference does not matter at this accuracy) degrees; any
        broadcastable shapes.

    Returns
    -------
    numpy.ndarray of bool
        True inside mainland China or Hainan; False elsewhere, including Hong Kong, Macau,
        Taiwan, Korea, Japan and Vietnam, and for NaN coordinates.
    """
    x, y = xy_arrays(lon, lat)
    if x.size < _GRID_MIN_POINTS:
        return _contains(x, y, on_edge=False)
    xs, ys = x.ravel(), y.ravel()
    inside = np.empty(xs.size, dtype=bool)
    for start in range(0, xs.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        codes = _china_grid().lookup(xs[sl], ys[sl])
        np.equal(codes, _INSIDE, out=inside[sl])
        near = np.flatnonzero(codes == _NEAR_EDGE) + start
        if near.size:
            inside[near] = _contains(xs[near], ys[near], on_edge=False)
    return inside.reshape(x.shape)
