"""Tests of geo.crs: GCJ-02 / BD-09 offsets, the China boundary, CRS parsing and working CRSs."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from numpy.typing import ArrayLike
from shapely.geometry import Point

from geo import _china_boundary as cb
from geo import _gcj02 as gcj
from geo import crs as gc
from geo.errors import CRSError

GEOD = pyproj.Geod(ellps="WGS84")


def _metres(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> np.ndarray:
    """Geodesic distance in metres between two sets of points."""
    _, _, dist = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(dist)


# --- an independent, scalar implementation written directly from the published formula -------

_A = 6378245.0
_EE = 0.00669342162296594323
_XPI = math.pi * 3000.0 / 180.0


def _ref_wgs_to_gcj(lng: float, lat: float) -> tuple[float, float]:
    x, y = lng - 105.0, lat - 35.0
    t_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    t_lat += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    t_lat += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    t_lat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    t_lng = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    t_lng += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    t_lng += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    t_lng += (
        (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    )
    radlat = lat / 180.0 * math.pi
    magic = 1 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (t_lat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * math.pi)
    dlng = (t_lng * 180.0) / (_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lng + dlng, lat + dlat


def _ref_gcj_to_bd(lng: float, lat: float) -> tuple[float, float]:
    z = math.sqrt(lng * lng + lat * lat) + 0.00002 * math.sin(lat * _XPI)
    theta = math.atan2(lat, lng) + 0.000003 * math.cos(lng * _XPI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


# WGS84 / GCJ-02 pairs published with the eviltransform project's tests (lon, lat).
PUBLISHED_PAIRS = [
    ((121.5272106, 31.1774276), (121.531541859215, 31.17530398364597)),  # Shanghai
    ((113.912316, 22.543847), (113.9171764808363, 22.540796131694766)),  # Shenzhen
    ((116.377817, 39.911954), (116.38404722455657, 39.91334545536069)),  # Beijing
]

CHINESE_CITIES = {
    "Beijing Tiananmen": (116.3912, 39.9075),
    "Shanghai People's Square": (121.4737, 31.2304),
    "Nanjing Xinjiekou": (118.7784, 32.0415),
    "Guangzhou": (113.2644, 23.1291),
    "Shenzhen Futian": (114.0579, 22.5431),
    "Chengdu": (104.0665, 30.5723),
    "Wuhan": (114.3055, 30.5928),
    "Xi'an": (108.9398, 34.3416),
    "Harbin": (126.6424, 45.7567),
    "Kunming": (102.8329, 24.8801),
    "Urumqi": (87.6168, 43.8256),
    "Lhasa": (91.1322, 29.6604),
    "Haikou": (110.3312, 20.0311),
    "Qingdao": (120.3826, 36.0671),
    "Xiamen": (118.0894, 24.4798),
}

OUTSIDE = {
    "Seoul": (126.9780, 37.5665),
    "Tokyo": (139.6917, 35.6895),
    "Hanoi": (105.8342, 21.0278),
    "Helsinki": (24.9384, 60.1699),
    "Hong Kong Central": (114.1588, 22.2819),
    "Macau": (113.5439, 22.1987),
    "Taipei": (121.5654, 25.0330),
    "Pyongyang": (125.7625, 39.0392),
    "Ulaanbaatar": (106.9057, 47.8864),
    "Kathmandu": (85.3240, 27.7172),
}


# --- forward formulas -------------------------------------------------------------------------


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED_PAIRS)
def test_forward_gcj02_matches_published_pairs(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lon, lat = gc.wgs84_to_gcj02(*wgs)
    assert lon == pytest.approx(gcj[0], abs=1e-9)
    assert lat == pytest.approx(gcj[1], abs=1e-9)


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED_PAIRS)
def test_inverse_gcj02_recovers_published_pairs_to_a_millimetre(
    wgs: tuple[float, float], gcj: tuple[float, float]
) -> None:
    lon, lat = gc.gcj02_to_wgs84(*gcj)
    assert _metres(lon, lat, np.float64(wgs[0]), np.float64(wgs[1])) < 0.001


def test_forward_matches_independent_scalar_implementation() -> None:
    lons = np.array([p[0] for p in CHINESE_CITIES.values()])
    lats = np.array([p[1] for p in CHINESE_CITIES.values()])
    glon, glat = gc.wgs84_to_gcj02(lons, lats)
    blon, blat = gc.wgs84_to_bd09(lons, lats)
    for i, (lon, lat) in enumerate(zip(lons, lats, strict=True)):
        rg = _ref_wgs_to_gcj(lon, lat)
        rb = _ref_gcj_to_bd(*rg)
        assert (glon[i], glat[i]) == pytest.approx(rg, abs=1e-12)
        assert (blon[i], blat[i]) == pytest.approx(rb, abs=1e-12)


def test_forward_offset_is_in_the_known_range_for_chinese_cities() -> None:
    lons = np.array([p[0] for p in CHINESE_CITIES.values()])
    lats = np.array([p[1] for p in CHINESE_CITIES.values()])
    glon, glat = gc.wgs84_to_gcj02(lons, lats)
    d = _metres(lons, lats, glon, glat)
    assert np.all((d > 100) & (d < 700)), dict(zip(CHINESE_CITIES, d.round(), strict=True))
    # BD-09 adds roughly another 0.0065 E / 0.006 N on top of GCJ-02.
    blon, blat = gc.gcj02_to_bd09(glon, glat)
    d_bd = _metres(glon, glat, blon, blat)
    assert np.all((d_bd > 500) & (d_bd < 1200))


def test_arrays_in_arrays_out_keep_shape_and_do_not_modify_inputs() -> None:
    lon = np.full((3, 4), 118.78)
    lat = np.full((3, 4), 32.04)
    before = lon.copy()
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    assert glon.shape == (3, 4) and glat.shape == (3, 4)
    assert np.array_equal(lon, before)
    wlon, _ = gc.bd09_to_wgs84(*gc.wgs84_to_bd09(lon, lat))
    assert wlon.shape == (3, 4)


def test_nan_passes_through_without_warnings() -> None:
    lon = np.array([118.78, np.nan])
    lat = np.array([32.04, 32.04])
    glon, _ = gc.wgs84_to_gcj02(lon, lat)
    wlon, wlat = gc.gcj02_to_wgs84(glon, lat)
    assert np.isnan(glon[1]) and np.isnan(wlon[1])
    assert np.isfinite(wlat[0])


def test_mismatched_shapes_raise() -> None:
    with pytest.raises(ValueError, match="do not match"):
        gc.wgs84_to_gcj02([1.0, 2.0, 3.0], [1.0, 2.0])


# --- round trips --------------------------------------------------------------------------------


def _china_grid(step: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = np.meshgrid(np.arange(73.0, 135.5, step), np.arange(17.5, 54.0, step))
    lon, lat = lon.ravel(), lat.ravel()
    inside = gc.in_china(lon, lat)
    return lon[inside], lat[inside]


def test_gcj02_round_trip_under_1cm_on_a_dense_grid_over_china() -> None:
    lon, lat = _china_grid()
    assert lon.size > 80_000
    wlon, wlat = gc.gcj02_to_wgs84(*gc.wgs84_to_gcj02(lon, lat))
    assert _metres(lon, lat, wlon, wlat).max() < 0.01


def test_bd09_round_trip_under_1cm_on_a_dense_grid_over_china() -> None:
    lon, lat = _china_grid()
    wlon, wlat = gc.bd09_to_wgs84(*gc.wgs84_to_bd09(lon, lat))
    assert _metres(lon, lat, wlon, wlat).max() < 0.01
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    g2lon, g2lat = gc.bd09_to_gcj02(*gc.gcj02_to_bd09(glon, glat))
    assert _metres(glon, glat, g2lon, g2lat).max() < 0.01


def test_one_step_inverses_are_metres_off_so_iteration_matters() -> None:
    lon, lat = _china_grid(0.5)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    # One-step GCJ inverse: subtract the offset evaluated at the GCJ point.
    one = [_ref_wgs_to_gcj(x, y) for x, y in zip(glon, glat, strict=True)]
    one_lon = 2 * glon - np.array([p[0] for p in one])
    one_lat = 2 * glat - np.array([p[1] for p in one])
    assert _metres(lon, lat, one_lon, one_lat).max() > 1.0


def test_round_trip_of_points_on_the_boundary_edge() -> None:
    ring = np.asarray(gc.china_boundary().exterior.coords)
    mid = (ring[:-1] + ring[1:]) / 2  # edge midpoints: "inside" or not is a floating-point tie
    lon, lat = mid[:, 0], mid[:, 1]
    inside = gc.in_china(lon, lat)
    wlon, wlat = gc.gcj02_to_wgs84(*gc.wgs84_to_gcj02(lon, lat))
    assert _metres(lon[inside], lat[inside], wlon[inside], wlat[inside]).max() < 0.01


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(min_value=73.0, max_value=135.0, allow_nan=False),
    lat=st.floats(min_value=18.0, max_value=53.5, allow_nan=False),
)
def test_round_trip_property(lon: float, lat: float) -> None:
    assume(bool(gc.in_china(lon, lat)))
    x, y = np.float64(lon), np.float64(lat)
    assert _metres(x, y, *gc.gcj02_to_wgs84(*gc.wgs84_to_gcj02(x, y))) < 0.01
    assert _metres(x, y, *gc.bd09_to_wgs84(*gc.wgs84_to_bd09(x, y))) < 0.01


# --- the fast evaluation, its error bounds and the China grid -----------------------------------

TOL = gcj.INVERSE_TOLERANCE_DEG


def _random_china(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(73.0, 135.0, 3 * n), rng.uniform(18.0, 54.0, 3 * n)
    inside = gc.in_china(lon, lat)
    return lon[inside][:n], lat[inside][:n]


def _max_deg(lon1: ArrayLike, lat1: ArrayLike, lon2: ArrayLike, lat2: ArrayLike) -> float:
    """Worst per-coordinate difference in degrees."""
    dlon = np.abs(np.asarray(lon1) - np.asarray(lon2))
    dlat = np.abs(np.asarray(lat1) - np.asarray(lat2))
    return float(np.max(np.fmax(dlon, dlat)))


def test_forward_matches_the_literal_formula_everywhere() -> None:
    rng = np.random.default_rng(11)
    lon = np.concatenate([rng.uniform(73.0, 135.0, 6000), rng.uniform(-180.0, 180.0, 3000)])
    lat = np.concatenate([rng.uniform(18.0, 54.0, 6000), rng.uniform(-80.0, 80.0, 3000)])
    glon, glat = gc.wgs84_to_gcj02(lon, lat, china_only=False)
    ref = np.array([_ref_wgs_to_gcj(x, y) for x, y in zip(lon, lat, strict=True)])
    assert _max_deg(glon, glat, ref[:, 0], ref[:, 1]) <= 1e-12


def test_offset_turned_from_the_previous_point_matches_a_fresh_evaluation() -> None:
    lon, lat = _random_china(5000, 12)
    step = np.random.default_rng(13).uniform(-0.01, 0.01, (2, lon.size))
    fresh = gcj._GcjOffset(lon.size)
    want = [d.copy() for d in fresh(lon + step[0], lat + step[1])]
    turned = gcj._GcjOffset(lon.size)
    turned(lon, lat)
    got = turned(lon + step[0], lat + step[1], near=True)
    assert _max_deg(*got, *want) <= 1e-15
    turned(lon, lat)
    far = turned(lon + 1.0, lat, near=True)  # too far to turn: new sines
    want_far = fresh(lon + 1.0, lat)
    assert _max_deg(*far, *want_far) == 0.0


def test_gcj02_inverse_error_is_within_the_tolerance() -> None:
    lon, lat = _random_china(200_000, 14)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    wlon, wlat = gc.gcj02_to_wgs84(glon, glat)
    assert _max_deg(lon, lat, wlon, wlat) <= TOL + 1e-13
    # The published one-step inverse is metres off; the iteration is what makes it exact.
    assert _max_deg(lon, lat, 2 * glon - gc.wgs84_to_gcj02(glon, glat)[0], lat) > 1e-5


def test_bd09_inverses_error_is_within_the_tolerance() -> None:
    lon, lat = _random_china(200_000, 15)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    blon, blat = gc.gcj02_to_bd09(glon, glat)
    assert _max_deg(glon, glat, *gc.bd09_to_gcj02(blon, blat)) <= TOL + 1e-13
    assert _max_deg(lon, lat, *gc.bd09_to_wgs84(blon, blat)) <= 2 * TOL + 1e-13


def test_inverses_converge_far_from_china_without_the_china_test() -> None:
    rng = np.random.default_rng(16)
    lon, lat = rng.uniform(-180.0, 180.0, 20_000), rng.uniform(-75.0, 75.0, 20_000)
    glon, glat = gc.wgs84_to_gcj02(lon, lat, china_only=False)
    assert _max_deg(lon, lat, *gc.gcj02_to_wgs84(glon, glat, china_only=False)) <= TOL
    blon, blat = gc.gcj02_to_bd09(glon, glat)
    assert _max_deg(glon, glat, *gc.bd09_to_gcj02(blon, blat)) <= TOL


def test_inverse_at_and_around_105e_where_the_offset_has_a_square_root(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rng = np.random.default_rng(17)
    lon = np.concatenate([np.full(3000, 105.0), 105.0 + rng.normal(0.0, 1e-6, 3000)])
    lat = rng.uniform(22.0, 40.0, lon.size)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    with caplog.at_level("WARNING", logger="geo._gcj02"):
        wlon, wlat = gc.gcj02_to_wgs84(glon, glat)
    assert _max_deg(lon, lat, wlon, wlat) <= TOL
    assert not caplog.records


def test_a_few_points_need_a_third_step_and_get_it() -> None:
    lon, lat = _random_china(gcj._CHUNK, 18)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    wlon, wlat = np.empty_like(lon), np.empty_like(lat)
    unsure = gcj._gcj_inverse_chunk(gcj._GcjOffset(lon.size), glon, glat, wlon, wlat)
    assert 0 < unsure.size < lon.size // 20
    sure = np.setdiff1d(np.arange(lon.size), unsure)
    assert _max_deg(lon[sure], lat[sure], wlon[sure], wlat[sure]) <= TOL
    flon, flat = gc.gcj02_to_wgs84(glon[unsure], glat[unsure])
    assert _max_deg(lon[unsure], lat[unsure], flon, flat) <= TOL


def test_iteration_cap_is_reported(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    lon, lat = _random_china(gcj._CHUNK, 19)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    monkeypatch.setattr(gcj, "INVERSE_MAX_ITER", 3)  # no steps beyond the first three
    with caplog.at_level("WARNING", logger="geo._gcj02"):
        wlon, wlat = gc.gcj02_to_wgs84(glon, glat)
    assert any("did not reach" in r.getMessage() for r in caplog.records)
    assert _max_deg(lon, lat, wlon, wlat) < 1e-7  # still close, just without the guarantee


def test_gcj_lipschitz_bound_of_the_stopping_rule_holds() -> None:
    """|delta(a) - delta(b)| <= L |a - b| + H |xa - xb| / sqrt(|xa|) over the box (max norm)."""
    rng = np.random.default_rng(20)
    lon0, lon1, lat0, lat1 = gcj._GCJ_BOX
    n = 200_000
    a_lon, a_lat = rng.uniform(lon0, lon1, n), rng.uniform(lat0, lat1, n)
    b_lon = np.clip(a_lon + rng.uniform(-1e-3, 1e-3, n), lon0, lon1)
    b_lat = np.clip(a_lat + rng.uniform(-1e-3, 1e-3, n), lat0, lat1)
    da = [d.copy() for d in gcj._GcjOffset(n)(a_lon, a_lat)]
    db = gcj._GcjOffset(n)(b_lon, b_lat)
    change = np.fmax(np.abs(da[0] - db[0]), np.abs(da[1] - db[1]))
    dist = np.fmax(np.abs(a_lon - b_lon), np.abs(a_lat - b_lat))
    sqrt_part = gcj._GCJ_SQRT_COEF * np.abs(a_lon - b_lon) / np.sqrt(np.abs(a_lon - 105.0))
    ratio = (change - sqrt_part) / dist
    assert ratio.max() <= gcj._GCJ_LIPSCHITZ
    assert ratio.max() > 0.5 * gcj._GCJ_LIPSCHITZ  # the bound is not wildly loose


def test_bd_lipschitz_bound_of_the_stopping_rule_holds() -> None:
    rng = np.random.default_rng(21)
    n = 100_000
    blon, blat = rng.uniform(-180.0, 180.0, n), rng.uniform(-90.0, 90.0, n)
    ev = gcj._BdInverse(n)
    ev.setup(blon, blat)
    a = rng.uniform(-180.0, 180.0, n) + 1j * rng.uniform(-90.0, 90.0, n)
    b = a + rng.uniform(-1e-3, 1e-3, n) + 1j * rng.uniform(-1e-3, 1e-3, n)
    ga, gb = np.empty_like(a), np.empty_like(b)
    ev.step(a, ga)
    ev.step(b, gb)
    change = np.fmax(np.abs((ga - gb).real), np.abs((ga - gb).imag))
    dist = np.fmax(np.abs((a - b).real), np.abs((a - b).imag))
    radius = np.hypot(blon - 0.0065, blat - 0.006)
    assert np.all(change <= (1.0473e-3 + 1.5708e-4 * radius) * dist)


def test_in_china_grid_gives_the_polygon_answer() -> None:
    rng = np.random.default_rng(22)
    poly = gc.china_boundary()
    rings = [np.asarray(poly.exterior.coords), *(np.asarray(r.coords) for r in poly.interiors)]
    vertices = np.concatenate(rings)
    mids = np.concatenate([(r[:-1] + r[1:]) / 2 for r in rings])
    jitter = np.repeat(vertices, 20, axis=0) + rng.normal(0.0, 1e-3, (20 * len(vertices), 2))
    tiny = np.repeat(mids, 4, axis=0) + rng.choice([-1e-12, 1e-12], (4 * len(mids), 2))
    wide = np.column_stack([rng.uniform(60.0, 150.0, 300_000), rng.uniform(5.0, 60.0, 300_000)])
    odd = np.array([[np.nan, 30.0], [110.0, np.nan], [np.inf, 30.0], [-np.inf, 30.0], [110, np.inf]])
    pts = np.concatenate([vertices, mids, jitter, tiny, wide, odd])
    assert pts.shape[0] >= cb._GRID_MIN_POINTS
    want = shapely.contains_xy(poly, pts[:, 0], pts[:, 1])
    assert np.array_equal(gc.in_china(pts[:, 0], pts[:, 1]), want)
    m = pts.shape[0] // 4 * 4  # and in 2-D
    grid2d = gc.in_china(pts[:m, 0].reshape(-1, 4), pts[:m, 1].reshape(-1, 4))
    assert grid2d.shape == (m // 4, 4) and np.array_equal(grid2d.ravel(), want[:m])


def test_grid_cells_off_the_edge_are_far_from_the_boundary() -> None:
    grid = cb._china_grid()
    codes = grid.codes.reshape(grid.ny, grid.nx)
    near = codes == cb._NEAR_EDGE
    ring = near.copy()  # the cells next to "near" ones are the closest that skip the polygon test
    ring[1:] |= near[:-1]
    ring[:-1] |= near[1:]
    ring[:, 1:] |= ring[:, :-1].copy()
    ring[:, :-1] |= ring[:, 1:].copy()
    iy, ix = np.nonzero(ring & ~near)
    cell = cb._GRID_CELL_DEG
    cx, cy = grid.lon0 + (ix + 0.5) * cell, grid.lat0 + (iy + 0.5) * cell
    dist = shapely.distance(gc.china_boundary().boundary, shapely.points(cx, cy))
    assert dist.min() > 0.5 * cell + 0.875 * cell * 0.99  # every point of the cell >= 7/8 cell away
    inside = shapely.contains_xy(gc.china_boundary(), cx, cy)
    assert np.array_equal(codes[iy, ix] == cb._INSIDE, inside)
    assert not near[[0, -1], :].any() and not near[:, [0, -1]].any()
    assert (codes[[0, -1], :] == cb._OUTSIDE).all() and (codes[:, [0, -1]] == cb._OUTSIDE).all()


def _edge_points(seed: int, copies: int) -> tuple[np.ndarray, np.ndarray]:
    """Points on and within a few km of the boundary, enough for the grid path."""
    rng = np.random.default_rng(seed)
    poly = gc.china_boundary()
    rings = [np.asarray(poly.exterior.coords), *(np.asarray(r.coords) for r in poly.interiors)]
    on = np.concatenate([r[:-1] + (r[1:] - r[:-1]) * rng.uniform(0, 1, (len(r) - 1, 1)) for r in rings])
    mids = np.concatenate([(r[:-1] + r[1:]) / 2 for r in rings])
    pts = np.concatenate([on, mids, *rings])
    pts = np.repeat(pts, copies, axis=0)
    scale = np.repeat(10.0 ** rng.integers(-12, -1, pts.shape[0] // copies), copies)
    pts[copies:] += rng.normal(0.0, 1.0, pts[copies:].shape) * scale[copies:, None]
    return pts[:, 0], pts[:, 1]


def test_grid_path_and_polygon_path_agree_on_the_boundary() -> None:
    """Big arrays (grid) and small ones (polygon test for all) give the same answers."""
    lon, lat = _edge_points(23, 12)
    assert lon.size >= cb._GRID_MIN_POINTS
    small = 500  # below the grid threshold
    for fn in (gc.wgs84_to_gcj02, gc.gcj02_to_wgs84, gc.bd09_to_wgs84):
        big_lon, big_lat = fn(lon, lat)
        parts = [fn(lon[i : i + small], lat[i : i + small]) for i in range(0, lon.size, small)]
        sm_lon = np.concatenate([p[0] for p in parts])
        sm_lat = np.concatenate([p[1] for p in parts])
        assert np.array_equal(big_lon == lon, sm_lon == lon), fn.__name__
        assert _max_deg(big_lon, big_lat, sm_lon, sm_lat) <= 1e-12, fn.__name__


def test_round_trip_on_the_boundary_with_the_grid() -> None:
    lon, lat = _edge_points(24, 12)
    inside = gc.in_china(lon, lat)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    assert np.array_equal(glon != lon, inside)  # shifted exactly where inside
    wlon, wlat = gc.gcj02_to_wgs84(glon, glat)
    assert _max_deg(lon[inside], lat[inside], wlon[inside], wlat[inside]) <= TOL
    blon, blat = gc.gcj02_to_bd09(glon, glat)
    wlon, wlat = gc.bd09_to_wgs84(blon, blat)
    assert _max_deg(lon[inside], lat[inside], wlon[inside], wlat[inside]) <= 2 * TOL


def test_no_shift_outside_china_for_big_arrays() -> None:
    rng = np.random.default_rng(25)
    lon = np.concatenate([rng.uniform(126.5, 129.5, 3000), rng.uniform(130.0, 141.0, 3000)])
    lat = np.concatenate([rng.uniform(34.5, 37.5, 3000), rng.uniform(31.0, 40.0, 3000)])
    keep = ~gc.in_china(lon, lat)  # Korea and Japan
    lon, lat = lon[keep], lat[keep]
    assert lon.size > cb._GRID_MIN_POINTS
    for fn in (gc.wgs84_to_gcj02, gc.gcj02_to_wgs84):
        out_lon, out_lat = fn(lon, lat)
        assert np.array_equal(out_lon, lon) and np.array_equal(out_lat, lat)


def test_empty_and_scalar_inputs() -> None:
    for fn in (gc.wgs84_to_gcj02, gc.gcj02_to_wgs84, gc.bd09_to_gcj02, gc.bd09_to_wgs84):
        out_lon, out_lat = fn(np.empty(0), np.empty(0))
        assert out_lon.shape == (0,) and out_lat.shape == (0,)
        out_lon, out_lat = fn(118.78, 32.04)
        assert np.shape(out_lon) == () and math.isfinite(float(out_lon))
    assert gc.in_china(np.empty(0), np.empty(0)).shape == (0,)
    assert gc.bd09_to_gcj02(0.0065, 0.006) == (0.0, 0.0)  # the BD-09 origin has no direction


# --- inside / outside China ---------------------------------------------------------------------


def test_in_china_cities_and_neighbours() -> None:
    inside = np.array(list(CHINESE_CITIES.values()))
    outside = np.array(list(OUTSIDE.values()))
    assert gc.in_china(inside[:, 0], inside[:, 1]).all()
    assert not gc.in_china(outside[:, 0], outside[:, 1]).any()
    assert not gc.in_china(np.nan, 30.0)


def test_boundary_is_one_valid_polygon_with_hong_kong_and_macau_as_holes() -> None:
    poly = gc.china_boundary()
    assert poly.is_valid
    assert len(poly.interiors) == 2
    assert 40 <= len(poly.exterior.coords) <= 160
    hk, macau = Point(OUTSIDE["Hong Kong Central"]), Point(OUTSIDE["Macau"])
    holes = [type(poly)(ring) for ring in poly.interiors]
    assert any(h.contains(hk) for h in holes) and any(h.contains(macau) for h in holes)


@pytest.mark.parametrize("name", list(OUTSIDE))
def test_no_shift_outside_china(name: str) -> None:
    lon, lat = OUTSIDE[name]
    assert gc.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gc.gcj02_to_wgs84(lon, lat) == (lon, lat)


def test_china_only_false_shifts_everywhere() -> None:
    lon, lat = OUTSIDE["Seoul"]
    glon, glat = gc.wgs84_to_gcj02(lon, lat, china_only=False)
    assert _metres(np.float64(lon), np.float64(lat), glon, glat) > 100
    wlon, wlat = gc.gcj02_to_wgs84(glon, glat, china_only=False)
    assert _metres(np.float64(lon), np.float64(lat), wlon, wlat) < 0.01


def test_bd09_step_applies_outside_china_but_gcj_step_does_not() -> None:
    lon, lat = OUTSIDE["Tokyo"]
    blon, blat = gc.wgs84_to_bd09(lon, lat)
    assert (blon, blat) == pytest.approx(_ref_gcj_to_bd(lon, lat), abs=1e-12)
    wlon, wlat = gc.bd09_to_wgs84(blon, blat)
    assert _metres(np.float64(lon), np.float64(lat), wlon, wlat) < 0.01


# --- parse_crs / to_wgs84 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("EPSG:4326", "EPSG:4326"),
        ("epsg:4326", "EPSG:4326"),
        ("4326", "EPSG:4326"),
        ("wgs84", "EPSG:4326"),
        ("WGS 84", "EPSG:4326"),
        ("WGS-84", "EPSG:4326"),
        ("cgcs2000", "EPSG:4490"),
        ("CGCS2000", "EPSG:4490"),
        ("EPSG:4490", "EPSG:4490"),
        ("EPSG:4549", "EPSG:4549"),
        ("4549", "EPSG:4549"),
        ("gcj02", "gcj02"),
        ("GCJ-02", "gcj02"),
        ("amap", "gcj02"),
        ("Tencent", "gcj02"),
        ("bd09", "bd09"),
        ("BD-09", "bd09"),
        ("baidu", "bd09"),
        (" Baidu ", "bd09"),
    ],
)
def test_parse_crs_accepted_forms(spec: str, name: str) -> None:
    src = gc.parse_crs(spec)
    assert src.name == name
    if name in ("gcj02", "bd09"):
        assert src.pyproj_crs is None and src.is_offset
    else:
        assert src.pyproj_crs == pyproj.CRS.from_user_input(name)


@pytest.mark.parametrize("spec", ["", "wgs1984x", "EPSG:999999", "mercator", "EPSG:", "gcj03"])
def test_parse_crs_rejects_unknown_forms_and_lists_accepted_ones(spec: str) -> None:
    with pytest.raises(CRSError, match="accepted forms") as info:
        gc.parse_crs(spec)
    assert "gcj02" in str(info.value) and "bd09" in str(info.value)


def test_source_crs_is_frozen() -> None:
    src = gc.parse_crs("wgs84")
    with pytest.raises(AttributeError):
        src.name = "x"  # type: ignore[misc]


def test_to_wgs84_through_pyproj_for_cgcs2000_gauss_kruger() -> None:
    lon, lat = np.array([118.7784, 121.4737]), np.array([32.0415, 31.2304])
    fwd = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4549", always_xy=True)
    x, y = fwd.transform(lon, lat)
    assert np.all(x > 1e5) and np.all(x < 9e5)  # easting first with always_xy
    wlon, wlat = gc.to_wgs84(x, y, "EPSG:4549")
    assert _metres(lon, lat, wlon, wlat).max() < 0.001


def test_to_wgs84_cgcs2000_is_within_a_metre_of_wgs84() -> None:
    lon, lat = np.array([118.7784]), np.array([32.0415])
    wlon, wlat = gc.to_wgs84(lon, lat, "cgcs2000")
    assert _metres(lon, lat, wlon, wlat).max() < 1.0


def test_to_wgs84_dispatches_web_map_offsets_and_copies_wgs84() -> None:
    glon, glat = gc.wgs84_to_gcj02(118.7784, 32.0415)
    assert gc.to_wgs84(glon, glat, "amap") == gc.gcj02_to_wgs84(glon, glat)
    blon, blat = gc.gcj02_to_bd09(glon, glat)
    assert gc.to_wgs84(blon, blat, gc.parse_crs("baidu")) == gc.bd09_to_wgs84(blon, blat)
    src = np.array([24.9])
    out, _ = gc.to_wgs84(src, np.array([60.1]), "EPSG:4326")
    out[0] = 0.0
    assert src[0] == 24.9


# --- zones and working CRS ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (121.5, 4549),  # Shanghai; exactly on the 121.5E edge: the western zone, as EPSG's area
        (121.47, 4549),  # Shanghai People's Square
        (118.8, 4549),  # Nanjing: 118.8E is nearer CM 120E than 117E
        (117.27, 4548),  # Hefei, CM 117E
        (116.39, 4548),  # Beijing, CM 117E
        (75.99, 4534),  # Kashgar, CM 75E
        (134.5, 4554),  # Fuyuan area, CM 135E
    ],
)
def test_cgcs2000_gk_epsg(lon: float, epsg: int) -> None:
    assert gc.cgcs2000_gk_epsg(lon) == epsg
    area = pyproj.CRS.from_epsg(epsg).area_of_use
    assert area is not None
    west, _, east, _ = area.bounds
    assert west - 1.5 <= lon <= east + 1.5  # EPSG's own area of use agrees (clipped to land)


@pytest.mark.parametrize("lon", [24.9, 60.0, 137.0, float("nan")])
def test_cgcs2000_gk_epsg_outside_the_zones_raises(lon: float) -> None:
    with pytest.raises(CRSError):
        gc.cgcs2000_gk_epsg(lon)


def test_working_crs_auto_utm() -> None:
    assert gc.working_crs([24.93, 24.95], [60.16, 60.17]).to_epsg() == 32635  # Helsinki
    assert gc.working_crs([121.47], [31.23]).to_epsg() == 32651  # Shanghai
    assert gc.working_crs([151.21], [-33.87]).to_epsg() == 32756  # Sydney
    assert gc.working_crs([118.78, np.nan], [32.04, np.nan]).to_epsg() == 32650


def test_working_crs_explicit() -> None:
    assert gc.working_crs([], [], crs="EPSG:4549").to_epsg() == 4549
    for bad in ("EPSG:4326", "cgcs2000", "gcj02", "EPSG:2263"):  # 2263 is in US feet
        with pytest.raises(CRSError):
            gc.working_crs([118.0], [32.0], crs=bad)
    with pytest.raises(CRSError, match="no finite"):
        gc.working_crs([np.nan], [np.nan])


def test_to_working_reprojects_a_copy_and_requires_a_crs() -> None:
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[Point(24.94, 60.17)], crs="EPSG:4326")
    out = gc.to_working(gdf, gc.working_crs([24.94], [60.17]))
    assert out.crs.to_epsg() == 32635 and gdf.crs.to_epsg() == 4326
    assert 380_000 < out.geometry.x.iloc[0] < 390_000
    assert gc.to_working(gdf, "EPSG:4549").crs.to_epsg() == 4549
    with pytest.raises(CRSError, match="no CRS"):
        gc.to_working(gpd.GeoDataFrame({"a": [1]}, geometry=[Point(0, 0)]), "EPSG:32635")
