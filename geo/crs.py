"""Coordinates: source CRSs, the Chinese web-map offsets (GCJ-02, BD-09) and the working CRS.

Agency hydrant lists often carry coordinates copied from AMap/Tencent (GCJ-02) or Baidu (BD-09)
maps. PROJ does not implement these offsets, so this module does, vectorised with numpy: arrays
in, arrays out, no Python loop over points. The forward formulas are the public ones (Krasovsky
ellipsoid, ``a = 6378245.0``, ``ee = 0.00669342162296594323``; BD-09 ``x_pi = pi * 3000 / 180``);
the inverses are fixed-point iterations that stop when the residual is below ``1e-9`` degrees
(about 0.1 mm), so a round trip is exact to well under 1 cm anywhere in China.

GCJ-02 applies only inside mainland China. The usual "inside China" test of the common libraries
is a rectangle that also covers Korea, Japan and Vietnam; here :func:`in_china` uses a coarse
boundary polygon shipped in ``geo/presets/china_boundary.geojson`` (mainland and Hainan; Hong
Kong, Macau, Taiwan, Kinmen and Matsu outside). The polygon is coarse: Hong Kong and Macau
borders are right to about 1-2 km, land borders elsewhere to 5-50 km, so points within a few
tens of km of a land border (Dandong, Heihe, Ruili ...) may fall on the wrong side. For such data
pass ``china_only=False`` to apply the offset regardless, since the user who states that a file is
GCJ-02 knows it is. The BD-09 step itself is a plain formula and applies everywhere, as in
Baidu's own API; only its GCJ-02 part is limited to China.

Everything else (WGS84, CGCS2000 and its Gauss-Krüger zones, UTM ...) goes through pyproj with
``always_xy=True`` (CGCS2000 GK CRSs are northing/easting in EPSG order).
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry import shape

from geo.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

logger = logging.getLogger(__name__)

__all__ = [
    "BOUNDARY_PATH",
    "SourceCRS",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "cgcs2000_gk_epsg",
    "china_boundary",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "in_china",
    "parse_crs",
    "to_wgs84",
    "to_working",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
    "working_crs",
]

FloatArray = NDArray[np.float64]

#: Semi-major axis of the Krasovsky 1940 ellipsoid used by the GCJ-02 formula (metres).
KRASOVSKY_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid.
KRASOVSKY_EE = 0.00669342162296594323
#: The BD-09 constant ``pi * 3000 / 180``.
X_PI = math.pi * 3000.0 / 180.0

#: Residual (degrees) at which the iterative inverses stop; 1e-9 degrees is about 0.1 mm.
INVERSE_TOLERANCE_DEG = 1e-9
#: Iteration cap of the inverses; three or four iterations are enough in practice.
INVERSE_MAX_ITER = 10

#: The coarse China boundary (WGS84 lon/lat; mainland and Hainan, Hong Kong and Macau as holes).
BOUNDARY_PATH = Path(__file__).resolve().parent / "presets" / "china_boundary.geojson"

WGS84 = "EPSG:4326"
GCJ02 = "gcj02"
BD09 = "bd09"

_ALIASES: dict[str, str] = {
    "wgs84": WGS84,
    "wgs": WGS84,
    "gps": WGS84,
    "4326": WGS84,
    "epsg4326": WGS84,
    "cgcs2000": "EPSG:4490",
    "cgcs": "EPSG:4490",
    "gcj02": GCJ02,
    "gcj": GCJ02,
    "amap": GCJ02,
    "gaode": GCJ02,
    "autonavi": GCJ02,
    "tencent": GCJ02,
    "qq": GCJ02,
    "mars": GCJ02,
    "高德": GCJ02,
    "腾讯": GCJ02,
    "火星": GCJ02,
    "火星坐标": GCJ02,
    "bd09": BD09,
    "bd09ll": BD09,
    "bd": BD09,
    "baidu": BD09,
    "百度": BD09,
}

ACCEPTED_FORMS = (
    "'EPSG:4326' / '4326' / 'wgs84', 'cgcs2000' (EPSG:4490), any 'EPSG:<code>' or '<code>' "
    "such as 'EPSG:4549' (CGCS2000 3-degree Gauss-Krüger), 'gcj02' / 'gcj-02' / 'amap' / "
    "'tencent' (AMap/Tencent web maps), 'bd09' / 'bd-09' / 'baidu' (Baidu web maps)"
)


@dataclass(frozen=True)
class SourceCRS:
    """The CRS that a file's coordinates are in.

    Attributes
    ----------
    name
        Normalised name kept as provenance: ``"EPSG:4326"``, ``"EPSG:4490"``, ``"EPSG:4549"``,
        ``"gcj02"`` or ``"bd09"``.
    pyproj_crs
        The pyproj CRS, or ``None`` for the web-map offsets ``gcj02`` and ``bd09`` that PROJ lacks.
    """

    name: str
    pyproj_crs: pyproj.CRS | None

    @property
    def is_offset(self) -> bool:
        """True for GCJ-02 and BD-09, the obfuscated web-map coordinates."""
        return self.pyproj_crs is None


# ---------------------------------------------------------------------------------------------
# Inside China


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


def in_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """Tell which points lie inside the coarse mainland-China boundary.

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
    x, y = _as_arrays(lon, lat)
    return np.asarray(shapely.contains_xy(china_boundary(), x, y), dtype=bool)


def _in_china_or_on_edge(lon: FloatArray, lat: FloatArray) -> NDArray[np.bool_]:
    """:func:`in_china`, counting points within 1e-9 degrees of the edge as inside.

    The inverse lands within about 1e-12 degrees of the forward's input, so a point that lies
    on the boundary itself (a grid point on an edge) must not flip to "outside" on the way back.
    """
    inside = in_china(lon, lat)
    near = ~inside & np.isfinite(lon) & np.isfinite(lat)
    if near.any():
        pts = shapely.points(lon[near], lat[near])
        inside[near] = shapely.dwithin(china_boundary(), pts, INVERSE_TOLERANCE_DEG)
    return inside


# ---------------------------------------------------------------------------------------------
# GCJ-02


def _gcj_delta(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The GCJ-02 offset (degrees) at WGS84 ``lon``/``lat``, from the public formula."""
    x = lon - 105.0
    y = lat - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
    dlat += common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
    dlon += common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - KRASOVSKY_EE * np.sin(radlat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _gcj_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    dlon, dlat = _gcj_delta(lon, lat)
    return lon + dlon, lat + dlat


def _gcj_inverse(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Invert the unconditional GCJ-02 offset by fixed-point iteration."""
    dlon, dlat = _gcj_delta(lon, lat)
    return _fixed_point(_gcj_forward, lon, lat, lon - dlon, lat - dlat)


def _fixed_point(
    forward: Callable[[FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
    target_lon: FloatArray,
    target_lat: FloatArray,
    guess_lon: FloatArray,
    guess_lat: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Solve ``forward(p) = target`` by ``p <- p - (forward(p) - target)``, vectorised.

    Only the points whose residual is still at or above :data:`INVERSE_TOLERANCE_DEG` take part
    in the next iteration (after two iterations that is about 0.1 % of them); NaN points drop out
    at once. At most :data:`INVERSE_MAX_ITER` iterations.
    """
    shape = target_lon.shape
    tlon, tlat = target_lon.ravel(), target_lat.ravel()
    wlon = np.array(guess_lon, dtype=np.float64).ravel()
    wlat = np.array(guess_lat, dtype=np.float64).ravel()
    active: NDArray[np.intp] | None = None  # None: every point
    for _ in range(INVERSE_MAX_ITER):
        if active is None:
            flon, flat = forward(wlon, wlat)
            rlon, rlat = flon - tlon, flat - tlat
            wlon -= rlon
            wlat -= rlat
            active = np.flatnonzero(np.fmax(np.abs(rlon), np.abs(rlat)) >= INVERSE_TOLERANCE_DEG)
        else:
            flon, flat = forward(wlon[active], wlat[active])
            rlon, rlat = flon - tlon[active], flat - tlat[active]
            wlon[active] -= rlon
            wlat[active] -= rlat
            active = active[np.fmax(np.abs(rlon), np.abs(rlat)) >= INVERSE_TOLERANCE_DEG]
        if active.size == 0:
            break
    else:
        logger.warning(
            "inverse did not reach %.0e degrees for %d points in %d iterations",
            INVERSE_TOLERANCE_DEG,
            active.size if active is not None else 0,
            INVERSE_MAX_ITER,
        )
    return wlon.reshape(shape), wlat.reshape(shape)


def wgs84_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 degrees to GCJ-02 (AMap, Tencent).

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude in degrees; arrays of one shape (or scalars).
    china_only
        Shift only points inside :func:`in_china` (default). ``False`` shifts every point, for data
        known to be in China but near a land border where the coarse boundary is unsure.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude; points outside China (when ``china_only``) are unchanged.
    """
    x, y = _as_arrays(lon, lat)
    glon, glat = _gcj_forward(x, y)
    if china_only:
        inside = in_china(x, y)
        glon = np.where(inside, glon, x)
        glat = np.where(inside, glat, y)
    return glon, glat


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 degrees to WGS84 with the iterative inverse (error well under 1 cm).

    The first guess is the one-step inverse ``g - delta(g)`` (off by up to a few metres); a
    fixed-point iteration ``w <- w - (forward(w) - g)`` then runs until the residual is below
    :data:`INVERSE_TOLERANCE_DEG` for every point, at most :data:`INVERSE_MAX_ITER` times.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.
    china_only
        When True (default), a point whose WGS84 position falls outside :func:`in_china` is
        returned unchanged, mirroring :func:`wgs84_to_gcj02`. ``False`` un-shifts every point.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    x, y = _as_arrays(lon, lat)
    wlon, wlat = _gcj_inverse(x, y)
    if china_only:
        inside = _in_china_or_on_edge(wlon, wlat)
        wlon = np.where(inside, wlon, x)
        wlat = np.where(inside, wlat, y)
    return wlon, wlat


# ---------------------------------------------------------------------------------------------
# BD-09


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 degrees to BD-09 (Baidu) with the public formula.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude (the step applies everywhere, as in Baidu's API).
    """
    x, y = _as_arrays(lon, lat)
    return _bd_forward(x, y)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 degrees to GCJ-02, exact to well under 1 cm.

    The published inverse evaluates the perturbation terms at the BD-09 point rather than the
    GCJ-02 one, which leaves up to about a metre of error; it is used as the first guess of a
    fixed-point iteration on :func:`gcj02_to_bd09`.

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude.
    """
    bx, by = _as_arrays(lon, lat)
    x = bx - 0.0065
    y = by - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * X_PI)
    return _fixed_point(_bd_forward, bx, by, z * np.cos(theta), z * np.sin(theta))


def wgs84_to_bd09(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 degrees to BD-09: the GCJ-02 step (China only by default), then BD-09.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude in degrees.
    china_only
        Passed to :func:`wgs84_to_gcj02`.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude.
    """
    glon, glat = wgs84_to_gcj02(lon, lat, china_only=china_only)
    return _bd_forward(glon, glat)


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 degrees to WGS84 (iterative inverses of both steps, under 1 cm).

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude in degrees.
    china_only
        Passed to :func:`gcj02_to_wgs84`.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    glon, glat = bd09_to_gcj02(lon, lat)
    return gcj02_to_wgs84(glon, glat, china_only=china_only)


# ---------------------------------------------------------------------------------------------
# Parsing and reprojection


def parse_crs(spec: str | SourceCRS) -> SourceCRS:
    """Parse a user's statement of a source CRS.

    Parameters
    ----------
    spec
        ``"EPSG:4326"``, ``"4326"``, ``"wgs84"``, ``"cgcs2000"`` (EPSG:4490), ``"EPSG:4549"``
        or any other EPSG code pyproj knows, ``"gcj02"`` / ``"gcj-02"`` / ``"amap"`` /
        ``"tencent"``, ``"bd09"`` / ``"bd-09"`` / ``"baidu"``; case, spaces, dashes and
        underscores do not matter. A :class:`SourceCRS` is returned as it is.

    Returns
    -------
    SourceCRS
        The normalised name and the pyproj CRS (``None`` for ``gcj02`` and ``bd09``).

    Raises
    ------
    CRSError
        The spec is not one of the accepted forms or names an unknown EPSG code.
    """
    if isinstance(spec, SourceCRS):
        return spec
    if not isinstance(spec, str) or not spec.strip():
        raise CRSError(f"empty or non-text CRS {spec!r}; accepted forms: {ACCEPTED_FORMS}")
    key = re.sub(r"[\s_\-/.]+", "", spec.strip().lower())
    name = _ALIASES.get(key)
    if name in (GCJ02, BD09):
        return SourceCRS(name=name, pyproj_crs=None)
    if name is None:
        match = re.fullmatch(r"(?:epsg:?)?(\d{4,6})", key)
        if match is None:
            raise CRSError(f"unknown CRS {spec!r}; accepted forms: {ACCEPTED_FORMS}")
        name = f"EPSG:{int(match.group(1))}"
    return SourceCRS(name=name, pyproj_crs=_pyproj_crs(name, spec))


@functools.cache
def _pyproj_crs(name: str, spec: str) -> pyproj.CRS:
    try:
        return pyproj.CRS.from_user_input(name)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(
            f"unknown CRS {spec!r} ({name} is not in the EPSG database); "
            f"accepted forms: {ACCEPTED_FORMS}"
        ) from exc


@functools.cache
def _to_wgs84_transformer(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(crs, WGS84, always_xy=True)


def to_wgs84(
    x: ArrayLike, y: ArrayLike, source: SourceCRS | str, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert coordinates in a source CRS to WGS84 longitude/latitude.

    Parameters
    ----------
    x, y
        Easting/longitude and northing/latitude, in the order x then y whatever the CRS's own
        axis order (pyproj runs with ``always_xy=True``).
    source
        The source CRS, as a :class:`SourceCRS` or a spec for :func:`parse_crs`.
    china_only
        For ``gcj02``/``bd09``: see :func:`gcj02_to_wgs84`.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude (new arrays; inputs are not modified).
    """
    src = parse_crs(source)
    xa, ya = _as_arrays(x, y)
    if src.name == GCJ02:
        return gcj02_to_wgs84(xa, ya, china_only=china_only)
    if src.name == BD09:
        return bd09_to_wgs84(xa, ya, china_only=china_only)
    if src.pyproj_crs is None:
        raise CRSError(f"source CRS {src.name!r} is neither gcj02, bd09 nor a pyproj CRS")
    if src.name == WGS84:
        return xa.copy(), ya.copy()
    lon, lat = _to_wgs84_transformer(src.pyproj_crs).transform(xa, ya)
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def cgcs2000_gk_epsg(lon: float) -> int:
    """EPSG code of the CGCS2000 3-degree Gauss-Krüger zone (no zone prefix) for a longitude.

    ``EPSG = 4534 + (CM - 75) / 3`` with central meridian ``CM`` the multiple of 3 nearest
    ``lon``; a longitude exactly on a zone edge (``CM + 1.5``) goes to the western zone, as in
    the EPSG areas of use (EPSG:4549, CM 120E, covers 118.5E-121.5E).

    Parameters
    ----------
    lon
        Longitude in degrees east.

    Returns
    -------
    int
        4534 (CM 75E) to 4554 (CM 135E). Shanghai (121.5E) gives 4549, Hefei (117.3E) 4548.

    Raises
    ------
    CRSError
        The central meridian falls outside 75E-135E (the zones CGCS2000 defines).
    """
    if not math.isfinite(lon):
        raise CRSError(f"longitude {lon!r} is not a number; cannot pick a Gauss-Krüger zone")
    cm = 3 * math.ceil(lon / 3.0 - 0.5)
    if not 75 <= cm <= 135:
        raise CRSError(
            f"longitude {lon} has central meridian {cm}E, outside the CGCS2000 3-degree zones "
            "(75E-135E); pass crs=... explicitly or let FireReach pick a UTM zone"
        )
    return 4534 + (cm - 75) // 3


def working_crs(lon: ArrayLike, lat: ArrayLike, *, crs: str | None = None) -> pyproj.CRS:
    """Choose the projected working CRS (metres) for an area.

    Parameters
    ----------
    lon, lat
        WGS84 degrees of the area's features (or just its corners).
    crs
        A configured CRS (for example ``"EPSG:4549"``); it must be projected and in metres.
        When omitted, the WGS84 UTM zone of the median point is used (EPSG:326xx north,
        EPSG:327xx south; the Norway and Svalbard exceptions are not applied).

    Returns
    -------
    pyproj.CRS
        The working CRS.

    Raises
    ------
    CRSError
        ``crs`` is unknown, geographic, a web-map offset or not in metres; or no finite
        coordinates were given to choose a UTM zone from.
    """
    if crs is not None:
        src = parse_crs(crs)
        pcrs = src.pyproj_crs
        if pcrs is None or not pcrs.is_projected:
            raise CRSError(
                f"working CRS {crs!r} is not a projected CRS in metres; use for example a CGCS2000 "
                "Gauss-Krüger zone (geo.crs.cgcs2000_gk_epsg) or a UTM zone"
            )
        unit = pcrs.axis_info[0].unit_name if pcrs.axis_info else ""
        if unit not in ("metre", "meter"):
            raise CRSError(f"working CRS {crs!r} uses {unit!r}, not metres")
        return pcrs
    x, y = _as_arrays(lon, lat)
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise CRSError("no finite coordinates to choose a working CRS from; pass crs=... instead")
    mlon = float(np.median(x[ok]))
    mlat = float(np.median(y[ok]))
    zone = min(max(math.floor((mlon + 180.0) / 6.0) + 1, 1), 60)
    epsg = (32600 if mlat >= 0 else 32700) + zone
    logger.info("working CRS: UTM zone %d%s (EPSG:%d)", zone, "N" if mlat >= 0 else "S", epsg)
    return pyproj.CRS.from_epsg(epsg)


def to_working(gdf: gpd.GeoDataFrame, crs: pyproj.CRS | str) -> gpd.GeoDataFrame:
    """Reproject a GeoDataFrame to the working CRS, returning a new frame.

    Parameters
    ----------
    gdf
        A layer with its CRS set.
    crs
        The working CRS (from :func:`working_crs`), or a spec for :func:`parse_crs`.

    Returns
    -------
    geopandas.GeoDataFrame
        A reprojected copy.

    Raises
    ------
    CRSError
        ``gdf`` has no CRS, or ``crs`` is not a projected CRS in metres.
    """
    if gdf.crs is None:
        raise CRSError(
            "the layer has no CRS; set the CRS its coordinates are in (e.g. gdf.set_crs(4326)) "
            "before reprojecting"
        )
    target = crs if isinstance(crs, pyproj.CRS) else working_crs([], [], crs=crs)
    return gdf.to_crs(target)


# ---------------------------------------------------------------------------------------------
# Helpers


def _as_arrays(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape:
        try:
            xa, ya = np.broadcast_arrays(xa, ya)
        except ValueError as exc:
            raise ValueError(
                f"x and y have shapes {xa.shape} and {ya.shape}, which do not match"
            ) from exc
    return xa, ya
