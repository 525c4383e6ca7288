"""Coordinates: source CRSs, the Chinese web-map offsets (GCJ-02, BD-09) and the working CRS.

Agency hydrant lists often carry coordinates copied from AMap/Tencent (GCJ-02) or Baidu (BD-09)
maps. PROJ does not implement these offsets: ``geo._gcj02`` does (vectorised forward formulas and
inverses exact to well under 1 cm; its docstring gives the constants and the error bound), and
``geo._china_boundary`` decides where GCJ-02 applies (a coarse mainland boundary, not a
rectangle; its docstring says how coarse and when to pass ``china_only=False``). BD-09's own
step applies everywhere, as in Baidu's API.

Everything else (WGS84, CGCS2000 and its Gauss-Krüger zones, UTM ...) goes through pyproj with
``always_xy=True`` (CGCS2000 GK CRSs are northing/easting in EPSG order). This module is the
public face of both.
"""

from __future__ import annotations

import functools
import logging
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from geo._china_boundary import BOUNDARY_PATH, china_boundary, in_china
from geo._gcj02 import (
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo._validate import FloatArray, xy_arrays
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
    xa, ya = xy_arrays(x, y)
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
    x, y = xy_arrays(lon, lat)
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
