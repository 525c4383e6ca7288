"""GCJ-02 / BD-09 to WGS84 throughput on 1,000,000 random points inside China.

Every conversion is timed best of five on the same points. The baseline, measured in the same
run, is the forward WGS84 -> GCJ-02 transform (one formula evaluation plus the China test): the
inverses are reported as a ratio to it. A pure-Python loop (``math`` module, the same fixed-point
inverse) over 10,000 points, extrapolated to the full count, is reported as well.

Run ``python -m benchmarks.bench_crs``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import numpy as np
import pyproj

from geo import _gcj02 as gcj
from geo import crs as gc

N_POINTS = 1_000_000
N_PYTHON = 10_000
REPEATS = 5
SEED = 20240501
#: Targets (seconds per million points) of the inverses on the 2-core reference machine.
TARGET_GCJ02_S = 0.5
TARGET_BD09_S = 0.6


def _points(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniformly random WGS84 points inside the China boundary."""
    rng = np.random.default_rng(seed)
    lon_parts: list[np.ndarray] = []
    lat_parts: list[np.ndarray] = []
    have = 0
    while have < n:
        lon = rng.uniform(73.0, 135.0, 2 * n)
        lat = rng.uniform(18.0, 54.0, 2 * n)
        inside = gc.in_china(lon, lat)
        lon_parts.append(lon[inside])
        lat_parts.append(lat[inside])
        have += int(inside.sum())
    return np.concatenate(lon_parts)[:n], np.concatenate(lat_parts)[:n]


def _best(fn: Callable[[], object], repeats: int = REPEATS) -> float:
    """Best wall-clock time (seconds) of ``repeats`` calls."""
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _py_delta(lon: float, lat: float) -> tuple[float, float]:
    x, y = lon - 105.0, lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    dlat += common + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    dlat += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    dlon += common + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    dlon += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    radlat = lat / 180.0 * math.pi
    a, ee = gcj.KRASOVSKY_A, gcj.KRASOVSKY_EE
    magic = 1 - ee * math.sin(radlat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = dlat * 180.0 / ((a * (1 - ee)) / (magic * sqrt_magic) * math.pi)
    dlon = dlon * 180.0 / (a / sqrt_magic * math.cos(radlat) * math.pi)
    return dlon, dlat


def _py_gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    dlon, dlat = _py_delta(lon, lat)
    wlon, wlat = lon - dlon, lat - dlat
    for _ in range(gcj.INVERSE_MAX_ITER):
        dlon, dlat = _py_delta(wlon, wlat)
        rlon, rlat = wlon + dlon - lon, wlat + dlat - lat
        wlon, wlat = wlon - rlon, wlat - rlat
        if abs(rlon) < gcj.INVERSE_TOLERANCE_DEG and abs(rlat) < gcj.INVERSE_TOLERANCE_DEG:
            break
    return wlon, wlat


def run(n: int = N_POINTS, n_python: int = N_PYTHON, repeats: int = REPEATS) -> dict[str, float]:
    """Measure the conversions; return the figures (seconds, points per second, ratios, errors).

    Parameters
    ----------
    n
        Number of points for the vectorised conversions.
    n_python
        Number of points for the pure-Python baseline (extrapolated to ``n``).
    repeats
        Calls per conversion; the best time counts.

    Returns
    -------
    dict
        ``*_s`` best-of-``repeats`` seconds for ``n`` points, ``*_pts_per_s`` throughputs,
        ``*_vs_forward`` the inverses' times over the forward transform's (the baseline, same
        run), the extrapolated pure-Python seconds, and the worst round-trip errors in metres
        (geodesic) and degrees.
    """
    lon, lat = _points(n)
    glon, glat = gc.wgs84_to_gcj02(lon, lat)
    blon, blat = gc.gcj02_to_bd09(glon, glat)

    t_forward = _best(lambda: gc.wgs84_to_gcj02(lon, lat), repeats)
    t_in_china = _best(lambda: gc.in_china(lon, lat), repeats)
    t_gcj = _best(lambda: gc.gcj02_to_wgs84(glon, glat), repeats)
    t_bd_gcj = _best(lambda: gc.bd09_to_gcj02(blon, blat), repeats)
    t_bd = _best(lambda: gc.bd09_to_wgs84(blon, blat), repeats)

    plon, plat = glon[:n_python].tolist(), glat[:n_python].tolist()
    t0 = time.perf_counter()
    for a, b in zip(plon, plat, strict=True):
        _py_gcj02_to_wgs84(a, b)
    t_python = (time.perf_counter() - t0) * n / n_python

    geod = pyproj.Geod(ellps="WGS84")
    wlon, wlat = gc.gcj02_to_wgs84(glon, glat)
    err_gcj = float(np.max(geod.inv(lon, lat, wlon, wlat)[2]))
    err_gcj_deg = float(np.max(np.fmax(np.abs(wlon - lon), np.abs(wlat - lat))))
    wlon, wlat = gc.bd09_to_wgs84(blon, blat)
    err_bd = float(np.max(geod.inv(lon, lat, wlon, wlat)[2]))
    err_bd_deg = float(np.max(np.fmax(np.abs(wlon - lon), np.abs(wlat - lat))))

    return {
        "points": float(n),
        "baseline_wgs84_to_gcj02_s": t_forward,
        "baseline_wgs84_to_gcj02_pts_per_s": n / t_forward,
        "gcj02_to_wgs84_s": t_gcj,
        "gcj02_to_wgs84_pts_per_s": n / t_gcj,
        "gcj02_to_wgs84_vs_forward": t_gcj / t_forward,
        "bd09_to_wgs84_s": t_bd,
        "bd09_to_wgs84_pts_per_s": n / t_bd,
        "bd09_to_wgs84_vs_forward": t_bd / t_forward,
        "bd09_to_gcj02_s": t_bd_gcj,
        "bd09_to_gcj02_pts_per_s": n / t_bd_gcj,
        "in_china_s": t_in_china,
        "in_china_pts_per_s": n / t_in_china,
        "baseline_python_loop_gcj02_to_wgs84_s_extrapolated": t_python,
        "baseline_python_loop_pts_per_s": n / t_python,
        "speedup_vs_python_loop": t_python / t_gcj,
        "max_round_trip_error_gcj02_m": err_gcj,
        "max_round_trip_error_gcj02_deg": err_gcj_deg,
        "max_round_trip_error_bd09_m": err_bd,
        "max_round_trip_error_bd09_deg": err_bd_deg,
    }


def _main() -> None:
    figures = run()
    width = max(len(k) for k in figures)
    for key, value in figures.items():
        if key.endswith("pts_per_s") or key == "points":
            text = f"{value:,.0f}"
        elif key.endswith(("_m", "_deg")):
            text = f"{value:.2e}"
        elif key.endswith("_vs_forward") or key.startswith("speedup"):
            text = f"{value:.2f}x"
        else:
            text = f"{value:.3f}"
        print(f"{key:<{width}}  {text}")
    scale = N_POINTS / figures["points"]
    for name, target in (("gcj02_to_wgs84", TARGET_GCJ02_S), ("bd09_to_wgs84", TARGET_BD09_S)):
        seconds = figures[f"{name}_s"] * scale
        verdict = "meets" if seconds <= target else "MISSES"
        print(f"{name}: {seconds:.3f} s per million points {verdict} the {target} s target")


if __name__ == "__main__":
    _main()
