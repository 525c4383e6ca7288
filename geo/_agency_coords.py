"""Coordinates of agency tables: parse degrees, find the source CRS, check and reject positions."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from geo import crs as gcrs
from geo._tables import blank_cell, nfkc
from geo.errors import CRSError, InputFileError
from geo.rejects import RowRejects

logger = logging.getLogger(__name__)

_CHINA_BBOX = (73.0, 18.0, 135.0, 54.0)


def parse_coordinate(value: object) -> float:
    """Parse one longitude or latitude written the ways agency spreadsheets write them.

    Accepts numbers, ``"118.78"``, ``"118.78°"``, ``"１１８．７８"`` (full-width), ``"118,78"``,
    ``"E118.78"``, ``"118.78E"``, ``"东经118.78"``, and degrees-minutes-seconds such as
    ``118°47'30"``, ``118°47′30″E`` or ``118度47分30秒`` (S and W make it negative).

    Parameters
    ----------
    value
        The raw cell.

    Returns
    -------
    float
        Degrees, or NaN when empty or unreadable.
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return math.nan
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    text = nfkc(str(value)).strip()
    if not text:
        return math.nan
    text = (
        text.replace("′′", '"')
        .replace("″", '"')
        .replace("′", "'")
        .replace("’", "'")
        .replace("‘", "'")
        .replace("”", '"')
        .replace("“", '"')
        .replace("''", '"')
        .replace("度", "°")
        .replace("分", "'")
        .replace("秒", '"')
    )
    sign = 1.0
    for prefix, s in (("东经", 1.0), ("北纬", 1.0), ("西经", -1.0), ("南纬", -1.0)):
        if text.startswith(prefix):
            text, sign = text[len(prefix) :].strip(), s
    hemi = re.fullmatch(r"([NSEWnsew])?\s*(.*?)\s*([NSEWnsew])?", text)
    if hemi is not None and (hemi.group(1) or hemi.group(3)) and not (hemi.group(1) and hemi.group(3)):
        letter = (hemi.group(1) or hemi.group(3)).upper()
        text = hemi.group(2)
        if letter in "SW":
            sign = -1.0
    if re.fullmatch(r"[+-]?\d+,\d+", text):
        text = text.replace(",", ".")
    text = text.rstrip("°").strip()
    try:
        return sign * float(text)
    except ValueError:
        pass
    m = re.fullmatch(
        r"""([+-]?\d+(?:\.\d+)?)\s*°\s*(?:(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*"?)?)?""",
        text,
    )
    if m is None:
        return math.nan
    deg = float(m.group(1))
    minutes = float(m.group(2)) if m.group(2) else 0.0
    seconds = float(m.group(3)) if m.group(3) else 0.0
    if minutes >= 60 or seconds >= 60:
        return math.nan
    magnitude = abs(deg) + minutes / 60.0 + seconds / 3600.0
    return sign * math.copysign(magnitude, -1.0 if deg < 0 or text.startswith("-") else 1.0)



# ---------------------------------------------------------------------------------------------
# Coordinates


def source_crs_of(
    spec: str | None,
    file_crs: pyproj.CRS | None,
    *,
    fname: str,
    geometry: gpd.GeoSeries | None = None,
    option: str = "source_crs",
) -> gcrs.SourceCRS:
    """The source CRS: the user's statement, else the file's, else WGS84 for plain degrees.

    ``option`` names the CLI option that states the CRS (``--hydrant-crs``), for the messages.
    """
    if spec is not None:
        try:
            src = gcrs.parse_crs(spec)
        except CRSError as exc:
            raise InputFileError(f"{fname}: {exc}") from exc
        if (
            file_crs is not None
            and src.pyproj_crs is not None
            and not src.pyproj_crs.equals(file_crs, ignore_axis_order=True)
        ):
            logger.warning(
                "%s: %s %s overrides the file's CRS %s",
                fname,
                option,
                src.name,
                file_crs.to_string(),
            )
        return src
    if file_crs is None:
        if geometry is not None:
            x0, y0, x1, y1 = geometry.total_bounds
            if not (-180 <= x0 <= x1 <= 180 and -90 <= y0 <= y1 <= 90):
                raise InputFileError(
                    f"{fname}: has no CRS (a Shapefile's .prj is missing?) and its coordinates "
                    f"are not degrees; pass {option} EPSG:<code> (e.g. EPSG:4549)"
                )
            logger.warning("%s: has no CRS; its coordinates look like degrees: EPSG:4326", fname)
        return gcrs.parse_crs("EPSG:4326")
    code = file_crs.to_epsg(min_confidence=70)
    if code is not None:
        return gcrs.parse_crs(f"EPSG:{code}")
    if file_crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True):
        return gcrs.parse_crs("EPSG:4326")
    name = file_crs.name or ""
    if not name or name.lower() == "unknown":
        raise InputFileError(
            f"{fname}: its CRS cannot be identified ({file_crs.to_string()[:80]}); "
            f"pass {option} EPSG:<code>"
        )
    return gcrs.SourceCRS(name=file_crs.to_string(), pyproj_crs=file_crs)


def xy_from_columns(
    frame: pd.DataFrame, mapping: Mapping[str, str], rej: RowRejects
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, str]:
    n = len(frame)
    if "lon" in mapping and "lat" in mapping:
        xcol, ycol = mapping["lon"], mapping["lat"]
        rx, ry = frame[xcol].to_numpy(), frame[ycol].to_numpy()
    else:
        xcol = ycol = mapping["lonlat"]
        pairs = [_split_pair(v) for v in frame[xcol].to_numpy()]
        rx = np.array([p[0] for p in pairs], dtype=object)
        ry = np.array([p[1] for p in pairs], dtype=object)
    x = _coords(rx)
    y = _coords(ry)
    for raw, vals, col, what in ((rx, x, xcol, "longitude"), (ry, y, ycol, "latitude")):
        missing = np.array([blank_cell(v) for v in raw], dtype=bool)
        rej.add(missing, col, f"missing {what}; fill it in or delete the row", [""] * n)
        unreadable = ~missing & ~np.isfinite(vals)
        texts = [str(v) for v in raw]
        rej.add(
            unreadable,
            col,
            _unreadable_reason(what, texts),
            texts,
        )
    return x, y, xcol, ycol


def _unreadable_reason(what: str, texts: Sequence[str]) -> Callable[[int], str]:
    def reason(i: int) -> str:
        return f"cannot read {what} {texts[i]!r}; write decimal degrees like 118.78 or 118°47'30\""

    return reason


def xy_from_geometry(
    geometry: gpd.GeoSeries, rej: RowRejects
) -> tuple[NDArray[np.float64], NDArray[np.float64], str, str]:
    n = len(geometry)
    geoms = np.asarray(geometry.array, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    rej.add(missing, "geometry", "feature has no geometry; place it on the map or delete it", [""] * n)
    types = shapely.get_type_id(geoms)
    single_multi = (types == 4) & (shapely.get_num_geometries(geoms) == 1)
    pts = np.where(single_multi, shapely.get_geometry(geoms, 0), geoms)
    point = shapely.get_type_id(pts) == 0
    bad_type = ~missing & ~point
    rej.add(
        bad_type,
        "geometry",
        lambda i: f"geometry is a {getattr(geoms[i], 'geom_type', '?')}, not a point",
        [str(getattr(g, "geom_type", "")) for g in geoms],
    )
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    good = point & ~missing
    x[good] = shapely.get_x(pts[good])
    y[good] = shapely.get_y(pts[good])
    return x, y, "geometry", "geometry"


def _coords(raw: NDArray[np.object_]) -> NDArray[np.float64]:
    series = pd.Series(raw, dtype=object)
    fast = np.array(pd.to_numeric(series, errors="coerce"), dtype=np.float64)
    slow = ~np.isfinite(fast)
    if slow.any():
        fast[slow] = [parse_coordinate(v) for v in raw[slow]]
    return fast


def _split_pair(value: object) -> tuple[object, object]:
    if blank_cell(value):
        return "", ""
    text = nfkc(str(value)).strip().strip("()[]")
    parts = re.split(r"\s*[,;]\s*", text) if re.search(r"[,;]", text) else text.split()
    if len(parts) != 2:
        return value, value  # unreadable as a pair: both sides fail to parse
    return parts[0], parts[1]


def _in_bbox(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.bool_]:
    x0, y0, x1, y1 = _CHINA_BBOX
    return (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)


def check_degrees(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    xcol: str,
    ycol: str,
    src: gcrs.SourceCRS,
    rej: RowRejects,
) -> None:
    finite = np.isfinite(x) & np.isfinite(y)
    china_area = src.is_offset or src.name == "EPSG:4490"
    if not china_area and finite.any():
        near = _in_bbox(x, y) | _in_bbox(y, x)
        china_area = bool(near[finite].mean() >= 0.5)
    swapped = finite & (np.abs(y) > 90) & (np.abs(x) <= 90)
    if china_area:
        swapped |= finite & (y >= 73) & (y <= 135) & (x >= 18) & (x <= 54)
    text = [f"{a}, {b}" for a, b in zip(x, y, strict=True)]
    rej.add(
        swapped,
        ycol,
        f"latitude and longitude look swapped ({xcol} holds a latitude, {ycol} a longitude) on "
        "this row only; correct the row (a whole file read the wrong way round is swapped back "
        "by itself)",
        text,
    )
    rej.add(
        finite & (np.abs(y) > 90),
        ycol,
        "latitude out of range (|latitude| > 90)",
        [str(v) for v in y],
    )
    rej.add(
        finite & (np.abs(x) > 180),
        xcol,
        "longitude out of range (|longitude| > 180)",
        [str(v) for v in x],
    )


def check_projected(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    xcol: str,
    name: str,
    crs: pyproj.CRS,
    rej: RowRejects,
) -> None:
    area = crs.area_of_use
    w, s, e, n = area.bounds if area is not None else (-180.0, -90.0, 180.0, 90.0)
    margin = 2.0
    inside = (lon >= w - margin) & (lon <= e + margin) & (lat >= s - margin) & (lat <= n + margin)
    finite_in = np.isfinite(x) & np.isfinite(y)
    rej.add(
        finite_in & ~(np.isfinite(lon) & np.isfinite(lat) & inside),
        xcol,
        f"x/y fall outside the area of {name}; are x (easting) and y (northing) swapped on this "
        f"row (Chinese surveys put the northing in X), or is {option_name(rej.layer, 'crs')} "
        "wrong?",
        [f"{a}, {b}" for a, b in zip(x, y, strict=True)],
    )


# ---------------------------------------------------------------------------------------------
# Projected metres without a CRS, and files read with their axes the wrong way round

_SINGULAR = {"hydrants": "hydrant", "stations": "station", "blockages": "blockage", "districts": "district"}
#: CGCS2000 3° Gauss–Krüger eastings with the zone number in front: zone 25 to 45, 8 digits.
_GK_PREFIXED = (25_000_000.0, 46_000_000.0)
#: Eastings with a false easting of 500 km and no zone number: 6 digits.
_PLAIN_EASTING = (100_000.0, 1_000_000.0)
#: Northings of the northern mid-latitudes (China spans about 1.9 to 5.9 million m): 7 digits.
_NORTHING = (1_000_000.0, 10_000_000.0)


def option_name(layer: str, what: str) -> str:
    """The CLI option for ``what`` (``crs``, ``columns``) of a layer's file: ``--hydrant-crs``."""
    return f"--{_SINGULAR.get(layer, layer)}-{what}"


def _within(value: float, bounds: tuple[float, float]) -> bool:
    return bounds[0] <= value < bounds[1]


def _describe(epsg: int) -> str:
    plain = "six-digit eastings (false easting 500 km, no zone number)"
    if 4534 <= epsg <= 4554:
        cm = 75 + 3 * (epsg - 4534)
        return f"{plain} in the CGCS2000 3° Gauss–Krüger zone with central meridian {cm}°E"
    zone = epsg % 100
    return f"{plain} in UTM zone {zone}{'N' if epsg < 32700 else 'S'}"


def _guess_projection(
    mx: float, my: float, study_area: BaseGeometry | None
) -> tuple[list[int], bool, str]:
    """Candidate EPSG codes (best first), whether x/y are swapped, and a description."""
    for swapped, e, n in ((False, mx, my), (True, my, mx)):
        if _within(e, _GK_PREFIXED) and _within(n, _NORTHING):
            zone = int(e // 1_000_000)
            return (
                [4513 + zone - 25],
                swapped,
                f"CGCS2000 3° Gauss–Krüger zone {zone} (central meridian {3 * zone}°E) with the zone "
                "number in front of the easting",
            )
    for swapped, e, n in ((False, mx, my), (True, my, mx)):
        if not (_within(e, _PLAIN_EASTING) and _within(n, _NORTHING)):
            continue
        if study_area is None or study_area.is_empty:
            return (
                [],
                swapped,
                "six-digit eastings (false easting 500 km, no zone number): a CGCS2000 3° "
                "Gauss–Krüger zone, EPSG = 4534 + (CM − 75)/3 with CM the multiple of 3° nearest "
                "the area's longitude (EPSG:4534–4554), or a UTM zone",
            )
        c = study_area.centroid
        cm = 3 * math.ceil(c.x / 3.0 - 0.5)
        if 75 <= cm <= 135 and 15 <= c.y <= 55:
            best = gcrs.cgcs2000_gk_epsg(c.x)
            near = [best, best - 1, best + 1]  # a city on a zone edge may use the next zone
            return [z for z in near if 4534 <= z <= 4554], swapped, ""
        zone = int((c.x + 180) // 6) % 60 + 1
        base = 32600 if c.y >= 0 else 32700
        near = [zone, zone - 1, zone + 1]
        return [base + z for z in near if 1 <= z <= 60], swapped, ""
    return [], False, ""


def stop_if_metres(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    *,
    fname: str,
    cols: tuple[str, str],
    study_area: BaseGeometry | None,
    option: str,
) -> None:
    """Stop a file whose coordinates are projected metres when no CRS was stated or found.

    Raises
    ------
    InputFileError
        Most rows hold values no degree can have (beyond ±180/±90, magnitudes in the
        thousands). The message suggests the EPSG code (a CGCS2000 3° Gauss–Krüger zone from
        the eastings' zone number or the study area's longitude, else a UTM zone) and says how
        many rows then fall inside the study area.
    """
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return
    xf, yf = x[finite], y[finite]
    beyond = (np.abs(xf) > 180) | (np.abs(yf) > 90)
    if beyond.mean() < 0.5 or float(np.median(np.maximum(np.abs(xf), np.abs(yf)))) < 1000:
        return
    xcol, ycol = cols
    ranges = (
        f"{xcol} {xf.min():,.0f} to {xf.max():,.0f}"
        + (f", {ycol} {yf.min():,.0f} to {yf.max():,.0f}" if ycol != xcol else "")
    )
    head = (
        f"{fname}: the coordinates are projected metres, not degrees ({ranges}), and no CRS was "
        "given"
    )
    candidates, swapped, label = _guess_projection(float(np.median(xf)), float(np.median(yf)), study_area)
    if not candidates and not label:
        raise InputFileError(
            f"{head}; pass {option} EPSG:<code> of the projection they are in (Chinese survey "
            "data: a CGCS2000 3° Gauss–Krüger zone, EPSG:4513–4554)"
        )
    turn = (
        f"; {xcol} holds the northings and {ycol} the eastings (the surveyors' X and Y): they "
        "are read the right way round once the CRS is given"
        if swapped
        else ""
    )
    if not candidates:
        raise InputFileError(f"{head}. They look like {label}{turn}. Pass {option} EPSG:<code>")
    east, north = (yf, xf) if swapped else (xf, yf)
    checked: list[tuple[int, int, int, NDArray[np.float64], NDArray[np.float64]]] = []
    for code in candidates:
        lon, lat = gcrs.to_wgs84(east, north, gcrs.parse_crs(f"EPSG:{code}"), china_only=False)
        inside = int(shapely.intersects_xy(study_area, lon, lat).sum()) if study_area is not None else 0
        checked.append((inside, -len(checked), code, lon, lat))
    inside, _, epsg, lon, lat = max(checked, key=lambda t: (t[0], t[1]))
    label = label or _describe(epsg)
    if study_area is not None:
        check = f"read so, {inside} of {len(xf)} rows fall inside the study area"
        if inside == 0:
            check += " (none: check the zone, and that the file is for this area)"
    else:
        check = (
            f"read so, the rows lie around longitude {np.nanmedian(lon):.4f}, latitude "
            f"{np.nanmedian(lat):.4f}"
        )
    raise InputFileError(
        f"{head}. They read as {label} (EPSG:{epsg}){turn}; {check}. Pass {option} EPSG:{epsg}"
    )


def _plausible(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    src: gcrs.SourceCRS,
    study_area: BaseGeometry | None,
) -> NDArray[np.bool_]:
    """Which positions make sense read as x = easting/longitude, y = northing/latitude."""
    geographic = src.is_offset or bool(src.pyproj_crs is not None and src.pyproj_crs.is_geographic)
    if geographic:
        lon, lat = x, y
        ok = (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    else:
        lon, lat = gcrs.to_wgs84(x, y, src, china_only=False)
        crs = src.pyproj_crs
        area = crs.area_of_use if crs is not None else None
        w, s, e, n = area.bounds if area is not None else (-180.0, -90.0, 180.0, 90.0)
        ok = np.isfinite(lon) & np.isfinite(lat)
        ok &= (lon >= w - 2) & (lon <= e + 2) & (lat >= s - 2) & (lat <= n + 2)
    if study_area is not None and ok.any():
        ok[ok] = shapely.intersects_xy(study_area, lon[ok], lat[ok])
    return np.asarray(ok, dtype=bool)


def fix_swapped_axes(
    x: NDArray[np.float64],
    y: NDArray[np.float64],
    ok: NDArray[np.bool_],
    *,
    src: gcrs.SourceCRS,
    study_area: BaseGeometry | None,
    cols: tuple[str, str],
    option: str,
) -> tuple[NDArray[np.float64], NDArray[np.float64], str | None]:
    """Swap x and y of the whole file when that is the only reading that makes sense.

    Only the whole file is swapped, and only when no row makes sense as read (inside the
    CRS's area and the study area, when given) while at least half of them do swapped; a
    single swapped row in a good file stays a reject (a typo, not a header mistake).

    Returns
    -------
    tuple
        ``x``, ``y`` (swapped or not) and the warning to record, or ``None``.
    """
    if ok.sum() == 0:
        return x, y, None
    as_read = _plausible(x[ok], y[ok], src, study_area)
    turned = _plausible(y[ok], x[ok], src, study_area)
    if as_read.any() or turned.sum() * 2 < ok.sum():
        return x, y, None
    xcol, ycol = cols
    geographic = src.is_offset or bool(src.pyproj_crs is not None and src.pyproj_crs.is_geographic)
    what = ("latitudes", "longitudes") if geographic else ("northings", "eastings")
    where = (
        f"{xcol} holds the {what[0]} and {ycol} the {what[1]}"
        if xcol != ycol
        else f"the pairs in {xcol} are {what[0]} first"
    )
    area = " and the study area" if study_area is not None else ""
    message = (
        f"{where}: no row makes sense as read, {int(turned.sum())} of {int(ok.sum())} do swapped "
        f"(inside the area of {src.name}{area}), so all rows were read swapped; if that is "
        f"wrong, name the columns with {option} x=<header>,y=<header>"
    )
    return y.copy(), x.copy(), message

