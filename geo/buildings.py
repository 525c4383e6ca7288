"""Buildings: height, use and GB 50016-2014 5.1.1 high-rise class from OSM tags.

The classification functions are pure functions over pandas columns, vectorised, and never guess:
a building with neither a ``height`` nor a ``building:levels`` tag has ``height_m`` NaN,
``height_source`` ``'unknown'`` and ``high_rise_class`` ``'unknown'``.

GB 50016-2014 (2018 ed.) 5.1.1:

============  ======================  ==========================================================
class         residential             public (not single storey)
============  ======================  ==========================================================
high-rise     height > 27 m           height > 24 m
class 1       > 54 m                  > 50 m; or > 24 m for hospitals, important public buildings,
                                      large mixed-use floors, elderly-care facilities
class 2       27-54 m                 other high-rise public buildings
============  ======================  ==========================================================

Buildings of unknown use get the stricter public thresholds; factories and warehouses (which
5.1.1 does not classify) are high-rise above 24 m when not single storey (the term of 2.1.1) and
get the public class-1 threshold. ``class_basis`` says which rule was applied.

:func:`osm_buildings` turns the raw OSM areas into the ``buildings`` layer
(:data:`geo.schema.BUILDINGS`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely

from geo.errors import ConfigError, LayerValidationError
from geo.presets import Preset
from geo.schema import require_projected
from geo.units import parse_float, parse_length_m

log = logging.getLogger(__name__)

#: Building uses FireReach distinguishes.
USES: tuple[str, ...] = ("residential", "public", "industrial", "unknown")

#: Every ``high_rise_class`` value (GB 50016 5.1.1, plus ``unknown`` when the height is unknown)
#: is :data:`geo.vocabulary.BUILDING_CLASSES`.

#: OSM ``building=*`` values taken as residential.
RESIDENTIAL_BUILDINGS = frozenset(
    {"apartments", "residential", "house", "dormitory", "detached", "terrace",
     "semidetached_house", "bungalow", "farm", "cabin"}
)

#: OSM ``building=*`` values taken as public (GB 50016: 公共建筑, including shops and offices).
PUBLIC_BUILDINGS = frozenset(
    {"commercial", "office", "retail", "hospital", "school", "university", "college",
     "kindergarten", "hotel", "public", "civic", "government", "train_station", "transportation",
     "church", "cathedral", "chapel", "mosque", "temple", "synagogue", "shrine", "religious",
     "supermarket", "stadium", "sports_hall", "sports_centre", "fire_station", "kiosk"}
)

#: OSM ``building=*`` values taken as industrial (factories and warehouses: 厂房、仓库).
INDUSTRIAL_BUILDINGS = frozenset(
    {"industrial", "warehouse", "factory", "manufacture", "storage_tank", "hangar", "silo"}
)

#: ``amenity=*`` values that do not make a building public (parking structures, shelters ...).
NON_PUBLIC_AMENITIES = frozenset(
    {"parking", "parking_space", "parking_entrance", "bicycle_parking", "motorcycle_parking",
     "shelter", "waste_disposal", "recycling", "no"}
)

#: Tag values that make a public building > 24 m class 1 regardless of height (GB 50016 5.1.1):
#: hospitals (医疗建筑) and, since the 2018 edition, elderly-care facilities (老年人照料设施).
HOSPITAL_VALUES = frozenset({"hospital"})
ELDERLY_CARE_VALUES = frozenset({"nursing_home"})

#: ``building=*`` values that are not standing buildings and are left out of the layer.
NOT_BUILDINGS = frozenset(
    {"no", "construction", "proposed", "planned", "demolished", "razed", "abandoned", "ruins",
     "destroyed", "disused"}
)

BUILDING_COLUMNS = [
    "building_id", "name", "building", "levels", "height_m", "height_source", "use",
    "high_rise_class", "class_basis", "footprint_m2", "volume_m3",
]


@dataclass(frozen=True)
class HighRiseThresholds:
    """Height thresholds of GB 50016-2014 5.1.1, in metres.

    Attributes
    ----------
    residential_m
        Residential buildings above this are high-rise (27 m).
    residential_class1_m
        Residential buildings above this are class 1 (54 m).
    public_m
        Public buildings (not single storey) above this are high-rise (24 m).
    public_class1_m
        Public buildings above this are class 1 (50 m).
    clause
        Cited in ``class_basis``.
    """

    residential_m: float = 27.0
    residential_class1_m: float = 54.0
    public_m: float = 24.0
    public_class1_m: float = 50.0
    clause: str = "GB 50016 5.1.1"

    def __post_init__(self) -> None:
        values = (
            self.residential_m, self.residential_class1_m, self.public_m, self.public_class1_m
        )
        if not all(np.isfinite(v) and v > 0 for v in values):
            raise ConfigError(f"high-rise thresholds must be positive numbers of metres: {values}")
        if self.residential_class1_m < self.residential_m or self.public_class1_m < self.public_m:
            raise ConfigError(
                "a class 1 threshold is below its high-rise threshold: "
                f"residential {self.residential_m:g}/{self.residential_class1_m:g} m, "
                f"public {self.public_m:g}/{self.public_class1_m:g} m"
            )

    @classmethod
    def from_preset(cls, preset: Preset) -> HighRiseThresholds:
        """Thresholds from a preset's ``high_rise_*`` rules (``cn-gb`` and presets extending it)."""
        ids = ("high_rise_residential", "high_rise_residential_class1", "high_rise_public",
               "high_rise_public_class1")
        r = [preset.rule(i) for i in ids]
        return cls(r[0].value("value_m"), r[1].value("value_m"), r[2].value("value_m"),
                   r[3].value("value_m"))


GB50016_THRESHOLDS = HighRiseThresholds()


def _norm(values: object, *, n: int | None = None, what: str = "column") -> npt.NDArray[np.object_]:
    """Tag values as lower-case stripped text, the first of a ``;`` list, ``''`` when missing."""
    series = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    if n is not None and len(series) != n:
        raise LayerValidationError(f"{what} has {len(series)} values; expected {n}")
    obj = series.astype(object)
    # Tag values repeat (a city has 400,000 buildings and a few hundred distinct values):
    # normalise each distinct value once.
    codes, uniques = pd.factorize(obj.where(obj.notna(), "").astype(str), use_na_sentinel=False)
    text = pd.Series(uniques, dtype=object).str.split(";").str[0].str.strip().str.lower()
    return text.to_numpy(dtype=object)[codes] if len(codes) else np.array([], dtype=object)


def _floats(values: object, *, n: int, what: str) -> npt.NDArray[np.float64]:
    arr = np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype=float).reshape(-1)
    if arr.size != n:
        raise LayerValidationError(f"{what} has {arr.size} values; expected {n}")
    return arr


def _parse_each(values: object, parse: Callable[[object], float]) -> npt.NDArray[np.float64]:
    """Apply a scalar parser once per distinct value (tags repeat a lot: "3", "6", "18 m")."""
    obj = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    codes, uniques = pd.factorize(obj.to_numpy(dtype=object), use_na_sentinel=True)
    parsed = np.array([parse(u) for u in uniques] + [np.nan], dtype=float)
    return parsed[codes]  # code -1 (missing) picks the trailing NaN


def _index(values: object, n: int) -> pd.Index:
    return values.index if isinstance(values, pd.Series) else pd.RangeIndex(n)


def building_height(
    height_tag: pd.Series, levels_tag: pd.Series, *, metres_per_level: float = 3.0
) -> pd.DataFrame:
    """Building height from the OSM ``height`` tag, else ``building:levels`` × storey height.

    Parameters
    ----------
    height_tag
        Raw ``height`` values (``"80"``, ``"80 m"``, ``"12'"``, ...); missing is NaN/None.
    levels_tag
        Raw ``building:levels`` values, aligned by position with ``height_tag``.
    metres_per_level
        Storey height used for buildings with levels but no height (a setting: the preset's
        ``building_metres_per_level``).

    Returns
    -------
    pandas.DataFrame
        Index of ``height_tag``; columns ``height_m`` (NaN when unknown), ``height_source``
        (``'height'``, ``'levels'`` or ``'unknown'``) and ``levels`` (NaN when not tagged).
        An unreadable or non-positive height, or levels of 0, do not give a height.
    """
    if not (np.isfinite(metres_per_level) and metres_per_level > 0):
        raise ConfigError(
            f"metres_per_level must be a positive number of metres, got {metres_per_level!r}"
        )
    n = len(height_tag)
    if len(levels_tag) != n:
        raise LayerValidationError(
            f"height ({n} values) and building:levels ({len(levels_tag)} values) differ in length"
        )
    height = _parse_each(height_tag, parse_length_m)
    height[~(height > 0)] = np.nan
    levels = _parse_each(levels_tag, parse_float)
    levels[~(np.isfinite(levels) & (levels >= 0))] = np.nan
    from_levels = ~np.isfinite(height) & (levels > 0)
    height_m = np.where(from_levels, levels * metres_per_level, height)
    source = np.select(
        [np.isfinite(height), from_levels], ["height", "levels"], default="unknown"
    ).astype(object)
    return pd.DataFrame(
        {"height_m": height_m, "height_source": source, "levels": levels},
        index=_index(height_tag, n),
    )


def building_use(
    building_tag: pd.Series,
    amenity_tag: pd.Series | None = None,
    shop_tag: pd.Series | None = None,
    office_tag: pd.Series | None = None,
    tourism_tag: pd.Series | None = None,
) -> pd.Series:
    """Building use: ``residential``, ``public``, ``industrial`` or ``unknown``.

    An explicit ``building=*`` value decides (:data:`RESIDENTIAL_BUILDINGS`,
    :data:`PUBLIC_BUILDINGS`, :data:`INDUSTRIAL_BUILDINGS`). For ``building=yes`` and other values,
    an ``amenity`` (except parking and the like), ``shop``, ``office`` or ``tourism`` tag makes the
    building public; otherwise its use is ``unknown``.

    Parameters
    ----------
    building_tag
        Raw ``building`` values.
    amenity_tag, shop_tag, office_tag, tourism_tag
        Raw tag values aligned by position with ``building_tag``; ``None`` when not available.

    Returns
    -------
    pandas.Series
        Named ``use``, index of ``building_tag``.
    """
    n = len(building_tag)
    b = _norm(building_tag, what="building")
    empty = np.full(n, "", dtype=object)
    amenity = _norm(amenity_tag, n=n, what="amenity") if amenity_tag is not None else empty
    others = [
        _norm(t, n=n, what=name) if t is not None else empty
        for t, name in ((shop_tag, "shop"), (office_tag, "office"), (tourism_tag, "tourism"))
    ]
    tagged_public = (amenity != "") & ~np.isin(amenity, list(NON_PUBLIC_AMENITIES))
    for tag in others:
        tagged_public |= (tag != "") & (tag != "no")
    use = np.select(
        [
            np.isin(b, list(RESIDENTIAL_BUILDINGS)),
            np.isin(b, list(PUBLIC_BUILDINGS)),
            np.isin(b, list(INDUSTRIAL_BUILDINGS)),
            tagged_public,
        ],
        ["residential", "public", "industrial", "public"],
        default="unknown",
    ).astype(object)
    return pd.Series(use, index=_index(building_tag, n), name="use", dtype=object)


def high_rise_class(
    height_m: pd.Series,
    use: pd.Series,
    levels: pd.Series,
    building_tag: pd.Series,
    *,
    amenity_tag: pd.Series | None = None,
    important: pd.Series | None = None,
    thresholds: HighRiseThresholds = GB50016_THRESHOLDS,
) -> pd.DataFrame:
    """High-rise class of each building under GB 50016-2014 5.1.1.

    Parameters
    ----------
    height_m
        Height in metres, NaN when unknown (from :func:`building_height`).
    use
        ``residential``, ``public``, ``industrial`` or ``unknown`` (from :func:`building_use`);
        missing counts as ``unknown``.
    levels
        Number of storeys, NaN when unknown; a public building with 1 storey is never high-rise.
        When levels are unknown the building is taken as multi-storey (and ``class_basis`` says so).
    building_tag
        Raw ``building`` values (``building=hospital`` makes a public building class 1 above the
        high-rise threshold).
    amenity_tag
        Raw ``amenity`` values: ``hospital`` and ``nursing_home`` make a public building class 1
        above the high-rise threshold.
    important
        Optional booleans: buildings the user knows are important public buildings, large
        mixed-use floors and the like (class 1 above the high-rise threshold).
    thresholds
        The 5.1.1 heights; default GB 50016 (27/54 m residential, 24/50 m public).

    Returns
    -------
    pandas.DataFrame
        Index of ``height_m``; columns ``high_rise_class`` (``not_high_rise``, ``class2``,
        ``class1`` or ``unknown``) and ``class_basis`` (threshold and rule, e.g.
        ``"public, 80.0 m > 50 m: GB 50016 5.1.1 class 1"``).
    """
    n = len(height_m)
    h, u, lv, b, a, imp = _high_rise_inputs(height_m, use, levels, building_tag, amenity_tag, important)
    t = thresholds
    known = np.isfinite(h)
    residential = u == "residential"
    base = np.where(residential, t.residential_m, t.public_m)
    top = np.where(residential, t.residential_class1_m, t.public_class1_m)
    single = ~residential & (lv > 0) & (lv <= 1)
    hospital = np.isin(b, list(HOSPITAL_VALUES)) | np.isin(a, list(HOSPITAL_VALUES))
    elderly = np.isin(a, list(ELDERLY_CARE_VALUES))
    special = ~residential & (hospital | elderly | imp)
    above = known & (h > base) & ~single
    by_height = above & (h > top)
    by_kind = above & ~by_height & special
    cls = np.select(
        [~known, ~above, by_height | by_kind], ["unknown", "not_high_rise", "class1"],
        default="class2",
    ).astype(object)
    reason = np.select(
        [hospital, elderly, imp], [" (hospital)", " (elderly care)", " (marked important)"],
        default="",
    ).astype(object)
    basis = np.select(
        [~known, single & ~(h <= base), ~above, by_height, by_kind],
        ["unknown", "single", "below", "top", "kind"], default="base",
    ).astype(object)
    basis = _class_basis(basis, u, h, base, top, reason, t.clause)
    storeys_unknown = above & ~residential & ~np.isfinite(lv)
    basis[storeys_unknown] = basis[storeys_unknown] + "; storeys unknown, taken as multi-storey"
    return pd.DataFrame(
        {"high_rise_class": cls, "class_basis": basis}, index=_index(height_m, n)
    )


def _high_rise_inputs(
    height_m: pd.Series,
    use: pd.Series,
    levels: pd.Series,
    building_tag: pd.Series,
    amenity_tag: pd.Series | None,
    important: pd.Series | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The inputs of :func:`high_rise_class` checked and as arrays: heights, uses, levels,
    building and amenity tags, important flags."""
    n = len(height_m)
    h = _floats(height_m, n=n, what="height_m")
    if (h < 0).any():
        raise LayerValidationError(
            f"height_m has negative values at positions {np.flatnonzero(h < 0)[:5].tolist()}"
        )
    u = _norm(use, n=n, what="use")
    u[u == ""] = "unknown"
    bad = ~np.isin(u, USES)
    if bad.any():
        raise LayerValidationError(
            f"use has values {sorted(set(u[bad]))}; expected one of {', '.join(USES)}"
        )
    lv = _floats(levels, n=n, what="levels")
    b = _norm(building_tag, n=n, what="building")
    a = (
        _norm(amenity_tag, n=n, what="amenity") if amenity_tag is not None
        else np.full(n, "", dtype=object)
    )
    imp = (
        pd.Series(important, dtype="boolean").fillna(False).to_numpy(dtype=bool)
        if important is not None else np.zeros(n, dtype=bool)
    )
    if imp.size != n:
        raise LayerValidationError(f"important has {imp.size} values; expected {n}")
    return h, u, lv, b, a, imp


def _class_basis(
    case: np.ndarray, u: np.ndarray, h: np.ndarray, base: np.ndarray, top: np.ndarray,
    reason: np.ndarray, clause: str,
) -> np.ndarray:
    """The ``class_basis`` text of each building from its case (``unknown`` height, ``single``
    storey, ``below`` the threshold, above the class-1 ``top``, class 1 by ``kind``, class 2
    above the ``base``)."""
    label = np.select(
        [u == "residential", u == "public", u == "industrial"],
        [
            "residential",
            "public",
            "industrial (5.1.1 does not classify factories or warehouses; public thresholds"
            " applied, high-rise per 2.1.1)",
        ],
        default="use unknown (stricter public thresholds applied)",
    ).astype(object)
    out = np.empty(len(case), dtype=object)
    out[case == "unknown"] = "height unknown: no usable height or building:levels tag"
    # each text built for its own rows only (all five for every row cost seconds at 400k)
    texts = {
        "single": lambda m: label[m] + ", single storey, " + _metres(h[m], "%.1f m")
        + f": not high-rise ({clause})",
        "below": lambda m: label[m] + ", " + _metres(h[m], "%.1f m") + " <= "
        + _metres(base[m], "%g m") + f": not high-rise ({clause})",
        "top": lambda m: label[m] + ", " + _metres(h[m], "%.1f m") + " > "
        + _metres(top[m], "%g m") + f": {clause} class 1",
        "kind": lambda m: label[m] + ", " + _metres(h[m], "%.1f m") + " > "
        + _metres(base[m], "%g m") + f": {clause} class 1" + reason[m],
    }
    for name, text in texts.items():
        rows = np.flatnonzero(case == name)
        if len(rows):
            out[rows] = text(rows)
    rest = np.flatnonzero(~np.isin(case, ["unknown", *texts]))
    if len(rest):
        out[rest] = (label[rest] + ", " + _metres(h[rest], "%.1f m") + " > "
                     + _metres(base[rest], "%g m") + f": {clause} class 2")
    return out


def _metres(values: np.ndarray, fmt: str) -> np.ndarray:
    """``values`` formatted with ``fmt`` as an object array of text (for concatenation)."""
    return np.char.mod(fmt, values).astype(object)


def building_volume(footprint_m2: pd.Series, height_m: pd.Series) -> pd.Series:
    """Building volume in m³: footprint × height; NaN where either is unknown.

    Raises
    ------
    LayerValidationError
        On a negative footprint or height, or inputs of different lengths.
    """
    n = len(footprint_m2)
    area = _floats(footprint_m2, n=n, what="footprint_m2")
    h = _floats(height_m, n=n, what="height_m")
    if (area < 0).any() or (h < 0).any():
        raise LayerValidationError("footprint_m2 and height_m must not be negative")
    return pd.Series(area * h, index=_index(footprint_m2, n), name="volume_m3")


def classify_buildings(
    raw: pd.DataFrame,
    *,
    metres_per_level: float = 3.0,
    thresholds: HighRiseThresholds = GB50016_THRESHOLDS,
) -> pd.DataFrame:
    """All derived building columns from raw tag columns, as a new frame.

    Parameters
    ----------
    raw
        Columns ``building`` (required), ``footprint_m2`` (required) and the OSM tags
        ``height``, ``building:levels``, ``amenity``, ``shop``, ``office``, ``tourism`` when
        present (absent tags count as missing); optionally ``part_height_m`` and
        ``part_levels``, the tallest ``building:part`` inside the outline (see
        :func:`_with_parts`).
    metres_per_level, thresholds
        See :func:`building_height` and :func:`high_rise_class`.

    Returns
    -------
    pandas.DataFrame
        ``raw``'s index; columns ``levels``, ``height_m``, ``height_source``, ``use``,
        ``high_rise_class``, ``class_basis``, ``volume_m3``.
    """
    for col in ("building", "footprint_m2"):
        if col not in raw.columns:
            raise LayerValidationError(f"building table has no {col!r} column")

    def tag(key: str) -> pd.Series | None:
        return raw[key] if key in raw.columns else None

    missing = pd.Series([None] * len(raw), index=raw.index, dtype=object)
    height = building_height(
        raw["height"] if "height" in raw.columns else missing,
        raw["building:levels"] if "building:levels" in raw.columns else missing,
        metres_per_level=metres_per_level,
    )
    if "part_height_m" in raw.columns:
        height = _with_parts(
            height, raw["part_height_m"],
            raw["part_levels"] if "part_levels" in raw.columns else missing,
        )
    use = building_use(raw["building"], tag("amenity"), tag("shop"), tag("office"), tag("tourism"))
    classes = high_rise_class(
        height["height_m"], use, height["levels"], raw["building"],
        amenity_tag=tag("amenity"), thresholds=thresholds,
    )
    return pd.DataFrame(
        {
            "levels": height["levels"],
            "height_m": height["height_m"],
            "height_source": height["height_source"],
            "use": use,
            "high_rise_class": classes["high_rise_class"],
            "class_basis": classes["class_basis"],
            "volume_m3": building_volume(raw["footprint_m2"], height["height_m"]),
        },
        index=raw.index,
    )


def _with_parts(
    height: pd.DataFrame, part_height_m: pd.Series, part_levels: pd.Series
) -> pd.DataFrame:
    """Heights raised to the tallest ``building:part`` inside each outline.

    A building's height is the larger of its own and its tallest part's; where the part wins
    (or the outline has no height) ``height_source`` is ``'building:part'``. ``levels`` is the
    larger of the outline's and the parts' ``building:levels``.
    """
    n = len(height)
    own = height["height_m"].to_numpy(dtype=float)
    part = _floats(part_height_m, n=n, what="part_height_m")
    taller = np.isfinite(part) & ~(own >= part)
    part_lv = _floats(part_levels, n=n, what="part_levels")
    return pd.DataFrame(
        {
            "height_m": np.where(taller, part, own),
            "height_source": np.where(
                taller, "building:part", height["height_source"].to_numpy(dtype=object)
            ).astype(object),
            "levels": np.fmax(height["levels"].to_numpy(dtype=float), part_lv),
        },
        index=height.index,
    )


def _tag_values(areas: pd.DataFrame, key: str) -> pd.Series:
    """One tag as lower-case stripped text per area ('' when absent)."""
    if len(areas) == 0:
        return pd.Series([], dtype=object)
    return areas["tags"].map(lambda t: str(t.get(key, "")).strip().lower())


def _part_heights(
    outlines: gpd.GeoSeries, parts: pd.DataFrame, *, crs: pyproj.CRS, metres_per_level: float
) -> tuple[pd.DataFrame, npt.NDArray[np.bool_]]:
    """The tallest ``building:part`` whose representative point lies in each outline.

    Parameters
    ----------
    outlines
        Building footprints in ``crs``.
    parts
        Raw ``building:part`` areas (``tags``, WGS84 ``geometry``).

    Returns
    -------
    tuple of (pandas.DataFrame, numpy.ndarray)
        Per outline (``outlines``' index): ``part_height_m`` and ``part_levels`` (NaN without
        parts); and per part whether it lies in any outline.
    """
    empty = pd.DataFrame(
        {"part_height_m": np.nan, "part_levels": np.nan}, index=outlines.index, dtype=float
    )
    if len(parts) == 0:
        return empty, np.zeros(0, dtype=bool)
    tags = list(parts["tags"])
    heights = building_height(
        pd.Series([t.get("height") for t in tags], dtype=object),
        pd.Series([t.get("building:levels") for t in tags], dtype=object),
        metres_per_level=metres_per_level,
    )
    geoms = gpd.GeoSeries(parts["geometry"].to_numpy(), crs="EPSG:4326").to_crs(crs)
    points = shapely.point_on_surface(geoms.to_numpy())
    part_idx, outline_idx = shapely.STRtree(outlines.to_numpy()).query(points, predicate="within")
    matched = np.zeros(len(parts), dtype=bool)
    matched[part_idx] = True
    per_pair = pd.DataFrame({
        "outline": outline_idx,
        "part_height_m": heights["height_m"].to_numpy(dtype=float)[part_idx],
        "part_levels": heights["levels"].to_numpy(dtype=float)[part_idx],
    })
    tallest = per_pair.groupby("outline").max()
    out = empty.copy()
    rows = tallest.index.to_numpy()
    out.iloc[rows, 0] = tallest["part_height_m"].to_numpy()
    out.iloc[rows, 1] = tallest["part_levels"].to_numpy()
    return out, matched


class OsmAreas(Protocol):
    """What :func:`osm_buildings` needs of :class:`geo.osm.OsmData`: its assembled areas."""

    @property
    def areas(self) -> pd.DataFrame:
        """``osm_type``, ``osm_id``, ``tags`` (dict) and ``geometry`` (WGS84) per area."""
        ...


def osm_buildings(
    osm: OsmAreas,
    *,
    crs: pyproj.CRS,
    metres_per_level: float = 3.0,
    thresholds: HighRiseThresholds = GB50016_THRESHOLDS,
) -> gpd.GeoDataFrame:
    """The buildings layer (:data:`geo.schema.BUILDINGS`) from OSM building areas.

    See :func:`osm_buildings_and_parts`; this returns the layer only.
    """
    layer, _ = osm_buildings_and_parts(
        osm, crs=crs, metres_per_level=metres_per_level, thresholds=thresholds
    )
    return layer


def osm_buildings_and_parts(
    osm: OsmAreas,
    *,
    crs: pyproj.CRS,
    metres_per_level: float = 3.0,
    thresholds: HighRiseThresholds = GB50016_THRESHOLDS,
) -> tuple[gpd.GeoDataFrame, int]:
    """The buildings layer from OSM building outlines and ``building:part`` areas.

    A building's height is the tallest of its own (``height``, else ``building:levels`` ×
    ``metres_per_level``) and that of the ``building:part`` areas whose representative point
    lies inside its outline (``height_source`` ``'building:part'`` when a part decides); its
    ``levels`` likewise. ``min_height`` and ``building:min_level`` are not read (a part's top
    is what makes a building high-rise). A part that lies in no outline (its outline is a
    relation that failed to assemble, or was never drawn) becomes a building of its own, so it
    is not lost; each such part counts separately.

    Parameters
    ----------
    osm
        Raw OSM data (:func:`geo.osm.read_osm`); its ``areas`` with a ``building`` tag are used,
        except values in :data:`NOT_BUILDINGS` (construction, ruins ...), and those with a
        ``building:part`` tag (same exclusions, and ``no``).
    crs
        Projected working CRS (metres).
    metres_per_level, thresholds
        See :func:`classify_buildings`.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, int)
        The layer (columns :data:`BUILDING_COLUMNS` and the footprint polygons, in ``crs``) and
        the number of parts that lay in no outline and became buildings of their own.
    """
    areas = osm.areas
    building = _tag_values(areas, "building")
    part = _tag_values(areas, "building:part")
    is_outline = (building != "") & ~building.isin(list(NOT_BUILDINGS))
    is_part = ~is_outline & (part != "") & ~part.isin(list(NOT_BUILDINGS))
    parts = areas.loc[is_part.to_numpy()].reset_index(drop=True) if len(areas) else areas
    areas = areas.loc[is_outline.to_numpy()].reset_index(drop=True) if len(areas) else areas
    geoms = gpd.GeoSeries(areas["geometry"].to_numpy() if len(areas) else [], crs="EPSG:4326")
    part_max, matched = _part_heights(
        geoms.to_crs(crs), parts, crs=crs, metres_per_level=metres_per_level
    )
    lone = parts.loc[~matched]
    if len(lone):
        lone_tags = [{**t, "building": t["building:part"]} for t in lone["tags"]]
        lone = lone.assign(tags=pd.Series(lone_tags, index=lone.index, dtype=object))
        areas = pd.concat([areas, lone], ignore_index=True)
        part_max = pd.concat(
            [part_max, pd.DataFrame({"part_height_m": np.full(len(lone), np.nan),
                                     "part_levels": np.full(len(lone), np.nan)})],
            ignore_index=True,
        )
        geoms = gpd.GeoSeries(areas["geometry"].to_numpy(), crs="EPSG:4326")
    frame = gpd.GeoDataFrame(geometry=geoms.to_crs(crs), crs=crs)
    require_projected(frame, name="buildings")
    tags: list[dict[str, Any]] = list(areas["tags"]) if len(areas) else []
    keys = ("building", "height", "building:levels", "amenity", "shop", "office", "tourism")
    raw = pd.DataFrame(
        {key: [t.get(key) for t in tags] for key in keys}, index=frame.index, dtype=object
    )
    raw["footprint_m2"] = frame.geometry.area.to_numpy()
    raw["part_height_m"] = part_max["part_height_m"].to_numpy(dtype=float)
    raw["part_levels"] = part_max["part_levels"].to_numpy(dtype=float)
    derived = classify_buildings(raw, metres_per_level=metres_per_level, thresholds=thresholds)
    out = pd.DataFrame(
        {
            "building_id": [f"osm/{t}{i}" for t, i in zip(areas.get("osm_type", []),
                                                          areas.get("osm_id", []), strict=True)],
            "name": [str(t.get("name", t.get("name:zh", "")) or "") for t in tags],
            "building": raw["building"].fillna("").astype(str).to_numpy(),
            "footprint_m2": raw["footprint_m2"].to_numpy(),
        },
        index=frame.index,
    )
    out = out.join(derived)[BUILDING_COLUMNS]
    log.info(
        "buildings from OSM: %d (%d high-rise, %d of unknown height, %d heights from "
        "building:part, %d stand-alone parts)",
        len(out), int(out["high_rise_class"].isin(["class1", "class2"]).sum()),
        int((out["height_source"] == "unknown").sum()),
        int((out["height_source"] == "building:part").sum()), len(lone),
    )
    return gpd.GeoDataFrame(out, geometry=frame.geometry, crs=crs), len(lone)
