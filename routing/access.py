"""High-rise fire-truck access (生命通道): lanes along the façades, aerial sites, dead-end lanes.

:func:`high_rise_access` checks every high-rise (GB 50016 5.1.1 class 1 or 2) against the lane
layout of GB 55037 3.4.3 and the aerial apparatus operating site of GB 50016 7.2.1 / GB 55037
3.4.6. :func:`routing.dead_ends.dead_end_lanes` finds dead-end lanes of the truck graph longer
than the limit (GB 55037 3.4.5: 40 m) that serve a high-rise and have no turnaround (GB 50016
7.1.9). The façade measurement itself lives in :mod:`routing.facade`.

How the façade is measured
--------------------------
Each footprint's outer walls (exterior rings; courtyard walls are left out) are sampled every
``sample_step_m`` (1 m, the same points as ``shapely.line_interpolate_point``, computed with numpy
so that each sample keeps its wall segment): a sample stands for that much wall. The lane
segments within reach of each straight wall segment come from one STRtree ``dwithin`` query over
the segments of the passable truck edges (a lane centreline may be nearer yet not in front, so
the plain nearest edge is not enough); each (sample, lane segment) pair is then measured with
numpy:

* the **lane edge distance** is the distance from the wall sample to the lane centreline minus
  half the edge's ``width_m``, clipped at 0 (a carriageway that reaches the wall, usually an
  estimated width that is too wide, counts as 0 m);
* the lane must lie **in front of the wall**: the direction from the sample to the nearest
  point of the centreline is within ``max_facing_deg`` of the wall's outward normal. So a lane
  along the north side serves the north wall, not the ends of the east and west walls it passes
  diagonally; a lane that stops short serves the wall a little past its end.

A sample is **served** when a lane in front of it has its near edge within ``[0, max_lane_m]``
(the nearest such lane is the sample's lane); **too close** when that lane's edge is nearer than
``fire_lane_wall_distance`` (5 m, GB 50016 7.1.8, a should); in the **aerial band** when some
lane in front of it has its near edge within ``aerial_site_facade_min``–``aerial_site_facade_max``
(5–10 m, GB 50016 7.2.2). The lane stands in for the aerial operating site: a hardstanding that is
not in OSM is not seen, and the site's size (15 × 10 m, 20 × 10 m above 50 m) and slope are not
checked. Buildings or walls between the lane and the façade are not seen either, nor lanes that
pass under a building (they count as 0 m from the wall).

Long sides are the two longer sides of the footprint's minimum rotated rectangle; each straight
wall segment belongs to the rectangle side nearest to its midpoint (for a near-square footprint
the choice of long sides is arbitrary).

Layout (one verdict per building, the first that holds):

``ring``
    served length >= ``ring_fraction`` (0.9) of the perimeter;
``two_long_sides``
    both long sides served over >= ``side_fraction`` (0.8) of their wall;
``one_long_side``
    one long side served so;
``quarter_perimeter``
    aerial-band length >= 1/4 of the perimeter and >= one long side;
``insufficient``
    none of these.

Rules (each checked only when the preset has it; ``us`` and ``de`` have none of the GB rules):

``fire_lane_layout`` (GB 55037-2022 3.4.3, shall; GB 50016 7.1.2's ring is preferred, not the
floor)
    public high-rises: lanes along at least two long sides (``ring`` or ``two_long_sides``);
    residential high-rises: ``one_long_side`` passes too, when that long side is also the aerial
    operating face (its wall in the aerial band over ``side_fraction``). A building of unknown
    use is held to the public-building rule. Below high-rise, :func:`lane_layout` checks the
    same clause for public buildings over ``public_footprint_m2`` (3,000 m²) of footprint (two
    long sides) and every residential building (one long side).
``fire_lane_ring_connections`` (GB 50016 7.1.9, shall)
    for a ``ring``: the lanes serving the building meet other passable roads at >= 2 nodes.
``aerial_site_extent`` (GB 50016 7.2.1, shall)
    the aerial band runs continuously along one long side (over ``side_fraction`` of it), or
    over >= 1/4 of the perimeter and not less than one long side. For buildings up to
    ``aerial_site_gap.max_height_m`` (50 m) the site may be broken: the total length counts
    (a building of unknown height is held to the continuous rule).
``aerial_site_gap`` (GB 50016 7.2.1, should)
    for those buildings, the pieces may be at most ``aerial_site_gap.value_m`` (30 m) apart.
``fire_lane_wall_distance`` (GB 50016 7.1.8, should)
    at least ``min_flag_m`` of wall served by a lane nearer than 5 m.

``compliant_access`` is True when no *shall* rule above fails.
"""


from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo import vocabulary
from geo._validate import require_columns, require_same_crs
from geo.catalog import LayerName
from geo.errors import ConfigError, LayerValidationError
from geo.presets import Preset
from geo.schema import require_projected
from routing.facade import (
    _EPS_M,
    _edge_widths,
    _extent_ok,
    _Lanes,
    _lanes,
    _nearest_side,
    _rectangle_sides,
    _sample_walls,
    _Samples,
)
from routing.findings import FINDING_COLUMNS, concat_findings, findings
from routing.graph import TruckGraph

__all__ = [
    "HIGH_RISE_ACCESS_COLUMNS",
    "HIGH_RISE_CLASSES",
    "LANE_LAYOUT_COLUMNS",
    "LAYOUTS",
    "AccessOptions",
    "access_summary",
    "high_rise_access",
    "lane_layout",
]

log = logging.getLogger(__name__)

#: ``high_rise_class`` values (:data:`geo.schema.BUILDINGS`) that are checked.
HIGH_RISE_CLASSES: tuple[str, ...] = vocabulary.HIGH_RISE_CLASSES

#: Layout verdicts, best first.
LAYOUTS: tuple[str, ...] = vocabulary.LANE_LAYOUTS

#: Columns of the ``high_rise_access`` layer (plus ``geometry``, the footprint).
HIGH_RISE_ACCESS_COLUMNS: list[str] = [
    "building_id", "name", "high_rise_class", "use", "height_m",
    "perimeter_m", "served_m", "served_pct", "too_close_m", "aerial_band_m", "aerial_pct",
    "long_side_m", "long_side_1_pct", "long_side_2_pct", "long_sides_served",
    "estimated_width_pct", "ring_connections", "layout", "aerial_extent_ok", "compliant_access",
    "reasons",
]

_BUILDING_COLUMNS = ("building_id", "name", "high_rise_class", "use", "height_m")


@dataclass(frozen=True)
class AccessOptions:
    """Choices of the façade check that are not rules of the preset.

    Attributes
    ----------
    max_lane_m
        A lane serves the wall when its near edge is within this distance (m). GB 50016 sets no
        maximum for 7.1.2; 15 m is a FireReach assumption (the 10 m aerial-band maximum plus room
        for a kerb and a verge), unverified: set your authority's value.
    ring_fraction
        Share of the perimeter that must be served for a ``ring`` (0.9: corners, entrances and
        short gaps where a lane turns away do not break a ring).
    side_fraction
        Share of a long side's wall that must be served for that side to count (0.8), and that
        must be in the aerial band for the side to be an aerial operating face.
    sample_step_m
        Spacing of the wall samples (m); every ring gets at least 4.
    max_facing_deg
        A lane serves a wall sample only when it lies within this angle of the wall's outward
        normal (45°: in front of the wall, not beside it).
    min_flag_m
        ``fire_lane_wall_distance`` is flagged when at least this much wall (m) is served by a lane
        nearer than the minimum (shorter stretches are corner effects).
    """

    max_lane_m: float = 15.0
    ring_fraction: float = 0.9
    side_fraction: float = 0.8
    sample_step_m: float = 1.0
    max_facing_deg: float = 45.0
    min_flag_m: float = 2.0

    def __post_init__(self) -> None:
        problems = []
        if not self.max_lane_m > 0:
            problems.append(f"max_lane_m must be > 0 (got {self.max_lane_m})")
        for name in ("ring_fraction", "side_fraction"):
            value = getattr(self, name)
            if not 0 < value <= 1:
                problems.append(f"{name} must be in (0, 1] (got {value})")
        if not self.sample_step_m > 0:
            problems.append(f"sample_step_m must be > 0 (got {self.sample_step_m})")
        if not 0 < self.max_facing_deg <= 90:
            problems.append(f"max_facing_deg must be in (0, 90] (got {self.max_facing_deg})")
        if not self.min_flag_m >= 0:
            problems.append(f"min_flag_m must be >= 0 (got {self.min_flag_m})")
        if problems:
            raise ConfigError("AccessOptions: " + "; ".join(problems))


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _check_layer(
    gdf: gpd.GeoDataFrame, truck: TruckGraph, *, name: str, columns: tuple[str, ...]
) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise LayerValidationError(
            f"layer {name!r} must be a GeoDataFrame (got {type(gdf).__name__})"
        )
    require_columns(gdf, columns, layer=name)
    require_projected(gdf, name=name)
    require_same_crs(gdf, truck.graph.crs, layer=name, other="the roads graph")


def _check_footprints(geoms: np.ndarray, ids: np.ndarray) -> None:
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    bad = ~polygonal | shapely.is_empty(geoms)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise LayerValidationError(
            f"layer 'buildings': {int(bad.sum())} high-rise rows have no polygon footprint "
            f"(first: building_id {ids[i]!r}, geometry {shapely.get_type_id(geoms[i])!r}); "
            "give every high-rise a Polygon or MultiPolygon"
        )


def _high_rise_rows(buildings: gpd.GeoDataFrame) -> np.ndarray:
    cls = buildings["high_rise_class"].fillna("").astype(str).str.strip().str.lower()
    return np.flatnonzero(cls.isin(HIGH_RISE_CLASSES).to_numpy())


# --------------------------------------------------------------------------------------------
# high_rise_access
# --------------------------------------------------------------------------------------------


def _rule_value(preset: Preset, rule_id: str, key: str) -> float | None:
    return preset.rule(rule_id).value(key) if rule_id in preset.rules else None


def _empty_access(buildings: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype=object) for c in HIGH_RISE_ACCESS_COLUMNS})
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=buildings.crs), crs=buildings.crs)


def high_rise_access(
    truck: TruckGraph,
    buildings: gpd.GeoDataFrame,
    *,
    preset: Preset,
    options: AccessOptions | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Fire lanes and aerial sites along the façades of every high-rise.

    Parameters
    ----------
    truck
        The fire-truck view (:func:`routing.graph.truck_graph`); only passable edges are lanes.
    buildings
        Buildings layer (:data:`geo.schema.BUILDINGS`, at least ``building_id``, ``name``,
        ``high_rise_class``, ``use``, ``height_m``) in the graph's CRS. Rows whose
        ``high_rise_class`` is ``class1`` or ``class2`` are checked; the others are left out.
    preset
        Rule preset: ``fire_lane_wall_distance``, ``aerial_site_facade_min/max``,
        ``aerial_site_extent``, ``aerial_site_gap``, ``fire_lane_layout``,
        ``fire_lane_ring_connections``. A rule the preset lacks is not checked.
    options
        Lane reach, layout fractions, sampling; ``AccessOptions()`` by default.

    Returns
    -------
    high_rise_access : geopandas.GeoDataFrame
        One row per high-rise, columns :data:`HIGH_RISE_ACCESS_COLUMNS` and the footprint as
        geometry. Lengths in metres, ``*_pct`` in percent of the perimeter (of the long side for
        ``long_side_*_pct``; side 1 is the better served). ``aerial_band_m``/``aerial_pct`` are
        NaN when the preset has no aerial band; ``ring_connections`` is -1 unless the layout is
        ``ring``; ``estimated_width_pct`` is the share of the served wall whose lane width is
        estimated, not tagged.
    findings : pandas.DataFrame
        :data:`routing.findings.FINDING_COLUMNS`, one row per building and failed rule.

    Raises
    ------
    LayerValidationError
        Columns missing, or a high-rise without a polygon footprint.
    CRSError
        ``buildings`` not in a projected CRS in metres, or not in the graph's CRS.
    """
    options = options if options is not None else AccessOptions()
    _check_layer(buildings, truck, name="buildings", columns=_BUILDING_COLUMNS)
    rows = _high_rise_rows(buildings)
    if len(rows) == 0:
        log.info("high-rise access: no class 1 or class 2 high-rises among %d buildings",
                 len(buildings))
        return _empty_access(buildings), pd.DataFrame(columns=FINDING_COLUMNS)
    hr = buildings.iloc[rows]
    ids = hr["building_id"].astype(str).to_numpy(dtype=object)
    geoms = np.asarray(hr.geometry.array)
    _check_footprints(geoms, ids)

    limits = _limits(preset)
    m = _measure(truck, geoms, limits=limits, options=options)
    layout = _layouts(m, limits=limits, options=options)
    use = hr["use"].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    height = hr["height_m"].to_numpy(dtype=np.float64)
    v = _verdicts(truck, m, layout, limits, preset=preset, options=options,
                  residential=use == "residential", height=height)
    out = _access_frame(hr, ids, m, layout, v, band=limits.band, crs=buildings.crs)
    reasons, table = _access_findings(ids, m, layout, v, limits, preset=preset, options=options,
                                      use=use)
    out["reasons"] = reasons
    out = out[[*HIGH_RISE_ACCESS_COLUMNS, "geometry"]]
    log.info(
        "high-rise access: %d of %d high-rises non-compliant (shall), %d findings",
        int((~v.compliant).sum()), len(rows), len(table),
    )
    return out, table


#: Columns of :func:`lane_layout`'s table.
LANE_LAYOUT_COLUMNS = ("building_id", "lane_layout", "lane_layout_ok")


def lane_layout(
    truck: TruckGraph,
    buildings: gpd.GeoDataFrame,
    *,
    preset: Preset,
    options: AccessOptions | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GB 55037 3.4.3 for the buildings below high-rise that it names.

    Public buildings (``use == 'public'``) whose ``footprint_m2`` exceeds the rule's
    ``public_footprint_m2`` (3,000 m²) need lanes along at least two long sides (a ``ring`` or
    ``two_long_sides``); residential buildings need one long side (no aerial site is asked of
    them). The façades are measured as for :func:`high_rise_access`. High-rises, buildings of
    unknown height class (their rule is not known) and of unknown use are left out; none when
    the preset lacks ``fire_lane_layout``.

    Returns
    -------
    table : pandas.DataFrame
        One row per checked building: :data:`LANE_LAYOUT_COLUMNS` (``lane_layout`` one of
        :data:`LAYOUTS`).
    findings : pandas.DataFrame
        One ``fire_lane_layout`` finding (layer ``buildings``) per building that fails.
    """
    options = options if options is not None else AccessOptions()
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in LANE_LAYOUT_COLUMNS})
    if "fire_lane_layout" not in preset.rules:
        return empty, pd.DataFrame(columns=FINDING_COLUMNS)
    rule = preset.rule("fire_lane_layout")
    _check_layer(buildings, truck, name="buildings", columns=(*_BUILDING_COLUMNS, "footprint_m2"))
    cls = buildings["high_rise_class"].fillna("").astype(str).str.strip().str.lower().to_numpy()
    use = buildings["use"].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    big = buildings["footprint_m2"].to_numpy(dtype=np.float64) > rule.value("public_footprint_m2")
    geoms = np.asarray(buildings.geometry.array)
    polygonal = np.isin(shapely.get_type_id(geoms), [shapely.GeometryType.POLYGON,
                                                     shapely.GeometryType.MULTIPOLYGON])
    rows = np.flatnonzero((cls == "not_high_rise") & polygonal & ~shapely.is_empty(geoms)
                          & (((use == "public") & big) | (use == "residential")))
    if len(rows) == 0:
        return empty, pd.DataFrame(columns=FINDING_COLUMNS)
    m = _measure(truck, geoms[rows], limits=_limits(preset), options=options)
    layout = _layouts(m, limits=_limits(preset), options=options)
    residential = use[rows] == "residential"
    ok = np.isin(layout, ["ring", "two_long_sides"]) | (residential & (layout == "one_long_side"))
    ids = buildings["building_id"].astype(str).to_numpy(dtype=object)[rows]
    found = findings(
        "buildings", ids, ~ok, rule, values=m.long_served.astype(np.float64),
        limit=0.0, message="",
    )
    need = np.where(residential, "one long side (residential)",
                    "two long sides (public building over "
                    f"{rule.value('public_footprint_m2'):,.0f} m²)").astype(object)
    found["message"] = (
        "lanes along " + need[~ok] + " required; " + m.long_served[~ok].astype(str)
        + " long side(s) served, layout " + layout[~ok]).astype(object)
    found["limit"] = np.where(residential[~ok], 1.0, 2.0)
    log.info("lane layout (GB 55037 3.4.3): %d buildings below high-rise checked, %d not met",
             len(rows), int((~ok).sum()))
    table = pd.DataFrame({"building_id": ids, "lane_layout": layout, "lane_layout_ok": ok})
    return table, found


@dataclass(frozen=True)
class _Limits:
    """The preset's numbers of the façade check (None: the preset lacks the rule)."""

    wall_min: float | None  # fire_lane_wall_distance
    band: tuple[float, float] | None  # aerial_site_facade_min / _max
    frac: float  # aerial_site_extent perimeter_frac (1/4 when not given)


def _limits(preset: Preset) -> _Limits:
    band_lo = _rule_value(preset, "aerial_site_facade_min", "value_m")
    band_hi = _rule_value(preset, "aerial_site_facade_max", "value_m")
    frac_value = _rule_value(preset, "aerial_site_extent", "perimeter_frac")
    return _Limits(
        wall_min=_rule_value(preset, "fire_lane_wall_distance", "value_m"),
        band=(band_lo, band_hi) if band_lo is not None and band_hi is not None else None,
        frac=0.25 if frac_value is None else frac_value,
    )


@dataclass(frozen=True, eq=False)
class _Measured:
    """Per building: what the wall samples found (lengths in m), and its long sides."""

    samples: _Samples
    lanes: _Lanes
    side: np.ndarray  # rectangle side (0..3) of each sample's wall
    perimeter: np.ndarray
    served_m: np.ndarray
    too_close_m: np.ndarray
    aerial_m: np.ndarray
    est_m: np.ndarray  # served wall whose lane width is estimated
    is_long: np.ndarray  # (n_b, 4) which rectangle sides are the long ones
    side_wall: np.ndarray  # (n_b, 4) wall per rectangle side
    long_side_m: np.ndarray
    long_sorted: np.ndarray  # (n_b, 2) served share of the two long sides, best first
    long_served: np.ndarray  # long sides served over ``side_fraction``
    aerial_face: np.ndarray  # a served long side also in the aerial band over ``side_fraction``

    def pct(self, part: np.ndarray, whole: np.ndarray) -> np.ndarray:
        """``100 × part / whole`` per building (0 where ``whole`` is 0)."""
        return 100.0 * np.divide(part, whole, out=np.zeros(len(whole)), where=whole > 0)


def _measure(
    truck: TruckGraph, geoms: np.ndarray, *, limits: _Limits, options: AccessOptions
) -> _Measured:
    """Sample the walls, find the lane in front of each sample and sum per building and side."""
    n_b = len(geoms)
    samples = _sample_walls(geoms, options.sample_step_m)
    log.info("façades: %d buildings, %d wall samples every %.1f m",
             n_b, len(samples.weight), options.sample_step_m)
    width, estimated = _edge_widths(truck)
    lanes = _lanes(samples, truck, width, max_lane_m=options.max_lane_m, band=limits.band,
                   max_facing_deg=options.max_facing_deg)
    served = lanes.edge >= 0
    wall_min = limits.wall_min
    too_close = served & (lanes.edge_m < (wall_min if wall_min is not None else -np.inf))
    est = served & estimated[np.maximum(lanes.edge, 0)]
    log.info("high-rise access: %d of %d wall samples served by a lane in front within %.0f m",
             int(served.sum()), len(served), options.max_lane_m)

    b, w = samples.building, samples.weight

    def per_building(mask: np.ndarray) -> np.ndarray:
        return np.bincount(b, weights=w * mask, minlength=n_b)

    corners = _rectangle_sides(geoms)
    side_len = np.hypot(*np.diff(corners, axis=1).transpose(2, 0, 1))  # (n_b, 4)
    first_pair = side_len[:, 0] + side_len[:, 2] >= side_len[:, 1] + side_len[:, 3]
    is_long = np.column_stack([first_pair, ~first_pair, first_pair, ~first_pair])
    walls = samples.walls
    wall_side = _nearest_side((walls.a + walls.b) / 2.0, corners, samples.wall_building)
    side = wall_side[samples.wall]
    key = b * 4 + side
    side_wall = np.bincount(key, weights=w, minlength=n_b * 4).reshape(n_b, 4)
    side_served = np.bincount(key, weights=w * served, minlength=n_b * 4).reshape(n_b, 4)
    side_aerial = np.bincount(key, weights=w * lanes.aerial, minlength=n_b * 4).reshape(n_b, 4)
    side_frac = np.divide(side_served, side_wall, out=np.zeros((n_b, 4)), where=side_wall > 0)
    aerial_frac = np.divide(side_aerial, side_wall, out=np.zeros((n_b, 4)), where=side_wall > 0)
    side_ok = is_long & (side_frac >= options.side_fraction - _EPS_M)
    return _Measured(
        samples=samples, lanes=lanes, side=side,
        perimeter=np.bincount(b, weights=w, minlength=n_b),
        served_m=per_building(served), too_close_m=per_building(too_close),
        aerial_m=per_building(lanes.aerial), est_m=per_building(est),
        is_long=is_long, side_wall=side_wall,
        long_side_m=np.where(first_pair, side_len[:, [0, 2]].mean(axis=1),
                             side_len[:, [1, 3]].mean(axis=1)),
        # the two long sides, best first
        long_sorted=-np.sort(-np.where(is_long, side_frac, -1.0), axis=1)[:, :2],
        long_served=side_ok.sum(axis=1),
        aerial_face=np.asarray(
            (side_ok & (aerial_frac >= options.side_fraction - _EPS_M)).any(axis=1)
        ),
    )


def _layouts(m: _Measured, *, limits: _Limits, options: AccessOptions) -> np.ndarray:
    """The layout verdict of each building (:data:`LAYOUTS`, the first that holds)."""
    quarter = (limits.band is not None) & (
        m.aerial_m >= limits.frac * m.perimeter - _EPS_M
    ) & (m.aerial_m >= m.long_side_m - _EPS_M)
    ring = m.served_m >= options.ring_fraction * m.perimeter - _EPS_M
    layout = np.select(
        [ring, m.long_served >= 2, m.long_served >= 1, quarter],
        ["ring", "two_long_sides", "one_long_side", "quarter_perimeter"],
        default="insufficient",
    ).astype(object)
    names, counts = np.unique(layout.astype(str), return_counts=True)
    log.info("high-rise access: layouts %s",
             ", ".join(f"{k} {c}" for k, c in zip(names.tolist(), counts.tolist(), strict=True)))
    return layout


@dataclass(frozen=True, eq=False)
class _Verdicts:
    """Per building: which rule holds (the ``*_rule`` flags: the preset has the rule)."""

    ring_rule: bool
    ring_ok: np.ndarray
    conn_rule: bool
    connections: np.ndarray  # -1 unless the layout is a ring
    min_conn: float
    conn_fail: np.ndarray
    extent_rule: bool
    extent_ok: np.ndarray
    gap_m: float | None
    gap_fail: np.ndarray
    too_close_fail: np.ndarray
    compliant: np.ndarray  # no *shall* rule fails


def _verdicts(
    truck: TruckGraph,
    m: _Measured,
    layout: np.ndarray,
    limits: _Limits,
    *,
    preset: Preset,
    options: AccessOptions,
    residential: np.ndarray,
    height: np.ndarray,
) -> _Verdicts:
    """Check GB 55037 3.4.3, GB 50016 7.1.9, 7.2.1 and 7.1.8 on the measured façades."""
    n_b = len(layout)
    # fire_lane_layout (GB 55037 3.4.3)
    ring_rule = "fire_lane_layout" in preset.rules
    ring_ok = (np.isin(layout, ["ring", "two_long_sides"])
               | ((layout == "one_long_side") & residential
                  & (m.aerial_face | (limits.band is None))))
    # fire_lane_ring_connections (GB 50016 7.1.9)
    conn_rule = "fire_lane_ring_connections" in preset.rules
    connections = np.full(n_b, -1, dtype=np.int64)
    if conn_rule:
        is_ring = layout == "ring"
        b = m.samples.building
        connections[is_ring] = _ring_connections(
            truck, b, np.where(is_ring[b], m.lanes.edge, -1), n_b
        )[is_ring]
        min_conn = preset.rule("fire_lane_ring_connections").value("min_count")
        conn_fail = (layout == "ring") & (connections < min_conn)
    else:
        min_conn, conn_fail = 0.0, np.zeros(n_b, dtype=bool)

    # aerial_site_extent / aerial_site_gap (GB 50016 7.2.1)
    extent_rule = "aerial_site_extent" in preset.rules and limits.band is not None
    gap_m = _rule_value(preset, "aerial_site_gap", "value_m")
    gap_height = _rule_value(preset, "aerial_site_gap", "max_height_m")
    may_break = (gap_height is not None) & (np.nan_to_num(height, nan=np.inf) <= (gap_height or 0))
    extent_ok = np.ones(n_b, dtype=bool)
    gap_fail = np.zeros(n_b, dtype=bool)
    if extent_rule:
        common: dict[str, Any] = {
            "perimeter": m.perimeter, "long_side_m": m.long_side_m, "is_long": m.is_long,
            "side_wall": m.side_wall, "perimeter_frac": limits.frac,
            "side_fraction": options.side_fraction,
        }
        aerial, side = m.lanes.aerial, m.side
        continuous = _extent_ok(m.samples, aerial, side, bridge_m=0.0, **common)
        broken = _extent_ok(m.samples, aerial, side, bridge_m=np.inf, **common)
        extent_ok = np.where(may_break, broken, continuous)
        if gap_m is not None:
            short_gaps = _extent_ok(m.samples, aerial, side, bridge_m=gap_m, **common)
            gap_fail = may_break & broken & ~short_gaps
    too_close_fail = (limits.wall_min is not None) & (
        m.too_close_m >= max(options.min_flag_m, _EPS_M)
    )
    return _Verdicts(
        ring_rule=ring_rule, ring_ok=ring_ok, conn_rule=conn_rule, connections=connections,
        min_conn=min_conn, conn_fail=conn_fail, extent_rule=extent_rule, extent_ok=extent_ok,
        gap_m=gap_m, gap_fail=gap_fail, too_close_fail=too_close_fail,
        compliant=~((ring_rule & ~ring_ok) | conn_fail | (extent_rule & ~extent_ok)),
    )


def _access_frame(
    hr: gpd.GeoDataFrame,
    ids: np.ndarray,
    m: _Measured,
    layout: np.ndarray,
    v: _Verdicts,
    *,
    band: tuple[float, float] | None,
    crs: Any,
) -> gpd.GeoDataFrame:
    """The ``high_rise_access`` layer without its ``reasons``."""
    n_b = len(ids)
    return gpd.GeoDataFrame(
        {
            "building_id": ids,
            "name": hr["name"].fillna("").astype(str).to_numpy(dtype=object),
            "high_rise_class": hr["high_rise_class"].astype(str).to_numpy(dtype=object),
            "use": hr["use"].fillna("").astype(str).to_numpy(dtype=object),
            "height_m": hr["height_m"].to_numpy(dtype=np.float64),
            "perimeter_m": m.perimeter,
            "served_m": m.served_m,
            "served_pct": m.pct(m.served_m, m.perimeter),
            "too_close_m": m.too_close_m,
            "aerial_band_m": m.aerial_m if band is not None else np.full(n_b, np.nan),
            "aerial_pct": m.pct(m.aerial_m, m.perimeter) if band is not None
            else np.full(n_b, np.nan),
            "long_side_m": m.long_side_m,
            "long_side_1_pct": 100.0 * m.long_sorted[:, 0],
            "long_side_2_pct": 100.0 * m.long_sorted[:, 1],
            "long_sides_served": m.long_served.astype(np.int64),
            "estimated_width_pct": m.pct(m.est_m, m.served_m),
            "ring_connections": v.connections,
            "layout": layout,
            "aerial_extent_ok": v.extent_ok if v.extent_rule else np.full(n_b, True),
            "compliant_access": v.compliant,
        },
        geometry=gpd.GeoSeries(np.asarray(hr.geometry.array), crs=crs),
        crs=crs,
    )


def _access_findings(
    ids: np.ndarray,
    m: _Measured,
    layout: np.ndarray,
    v: _Verdicts,
    limits: _Limits,
    *,
    preset: Preset,
    options: AccessOptions,
    use: np.ndarray,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Per building the ``reasons`` text, and the findings (one row per failed rule)."""
    residential = use == "residential"
    served_pct = m.pct(m.served_m, m.perimeter)
    est_pct = m.pct(m.est_m, m.served_m)
    kind = np.where(residential, "residential", np.where(use == "public", "public",
                                                          "unknown-use (held to the public rule)"))
    ring_msg = (kind.astype(object) + " high-rise, layout " + layout
                + np.where(residential, ": no long side served that is also the aerial "
                           "operating face",
                           ": lanes along at least two long sides are required").astype(object))
    est_note = np.where(est_pct > 0, "; lane width estimated for "
                        + np.round(est_pct).astype(int).astype(str) + "% of the served wall",
                        "").astype(object)
    found: list[pd.DataFrame] = []
    reasons = np.full(len(ids), "", dtype=object)

    def add(rule_id: str, failed: np.ndarray, values: np.ndarray, limit: float, message: str,
            reason: np.ndarray | str, per_row: np.ndarray | None = None) -> None:
        nonlocal reasons
        reasons = np.where(failed, reasons + "; " + reason, reasons)
        if not failed.any():
            return
        frame = findings(LayerName.HIGH_RISE_ACCESS.value, ids, failed, preset.rule(rule_id), values=values,
                         limit=limit, message=message)
        text = frame["message"].to_numpy(dtype=object)
        if per_row is not None:
            text = per_row[failed] + " (" + text + ")"
        frame["message"] = text + est_note[failed]
        found.append(frame)

    if v.ring_rule:
        add("fire_lane_layout", ~v.ring_ok, served_pct, 100.0 * options.ring_fraction,
            "served {value:.0f}% of the perimeter; a ring ({limit:.0f}%) is preferred",
            "no required lane layout (GB 55037 3.4.3): " + layout, ring_msg)
    if v.conn_rule:
        add("fire_lane_ring_connections", v.conn_fail, v.connections.astype(float), v.min_conn,
            "ring lane meets other roads at {value:.0f} place(s); at least {limit:.0f} required",
            f"ring lane meets other roads at fewer than {v.min_conn:g} places")
    if v.extent_rule:
        long_text = ("; one long side is " + np.round(m.long_side_m).astype(int).astype(str)
                     + " m").astype(object)
        add("aerial_site_extent", ~v.extent_ok, m.pct(m.aerial_m, m.perimeter),
            100.0 * limits.frac,
            "aerial band (lane edge in the façade band) covers {value:.0f}% of the perimeter; "
            "needs one long side, or >= {limit:.0f}% and not less than one long side",
            "aerial site too short", long_text)
        if v.gap_m is not None:
            add("aerial_site_gap", v.gap_fail, m.aerial_m, v.gap_m,
                "aerial site long enough ({value:.0f} m) only with pieces more than "
                "{limit:.0f} m apart", f"aerial site pieces more than {v.gap_m:g} m apart")
    if limits.wall_min is not None:
        add("fire_lane_wall_distance", v.too_close_fail, m.too_close_m, limits.wall_min,
            "{value:.0f} m of wall served by a lane whose edge is nearer than {limit:.0f} m",
            f"lane nearer than {limits.wall_min:g} m to the wall")
    notes = np.where((use != "residential") & (use != "public"), "; use unknown: public rule", "")
    reasons = np.where(est_pct > 0, reasons + "; lane widths estimated", reasons) + notes
    text = pd.Series(reasons.astype(str)).str.removeprefix("; ").to_numpy(dtype=object)
    return text, concat_findings(found)


def _ring_connections(
    truck: TruckGraph, sample_building: np.ndarray, sample_edge: np.ndarray, n_b: int
) -> np.ndarray:
    """Per building: nodes of its serving lanes that also touch another passable edge.

    ``sample_edge`` is the serving edge of each wall sample (-1: none, or not asked for).
    """
    g = truck.graph
    ok = sample_edge >= 0
    pairs = np.unique(sample_building[ok] * g.n_edges + sample_edge[ok])
    out = np.zeros(n_b, dtype=np.int64)
    if len(pairs) == 0:
        return out
    pb, pe = pairs // g.n_edges, pairs % g.n_edges
    passable = truck.edge_passable
    degree = np.bincount(np.concatenate([g.u_idx[passable], g.v_idx[passable]]),
                         minlength=g.n_nodes)
    ends = np.concatenate([g.u_idx[pe], g.v_idx[pe]])
    owners = np.concatenate([pb, pb])
    bn, within = np.unique(owners * g.n_nodes + ends, return_counts=True)
    outside = degree[bn % g.n_nodes] > within
    np.add.at(out, bn[outside] // g.n_nodes, 1)
    return out


# --------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------


def access_summary(
    high_rises: gpd.GeoDataFrame, dead_ends: gpd.GeoDataFrame
) -> dict[str, dict[str, Any]]:
    """Counts for ``summary.json``: high-rises by layout and compliance, dead ends by verdict.

    Parameters
    ----------
    high_rises
        The first result of :func:`high_rise_access`.
    dead_ends
        The first result of :func:`routing.dead_ends.dead_end_lanes`.

    Returns
    -------
    dict
        ``{'high_rises': {'checked', 'noncompliant_access', 'ring', 'two_long_sides',
        'one_long_side', 'quarter_perimeter', 'insufficient', 'aerial_site_not_met',
        'lane_too_close', 'served_pct_median'}, 'lanes': {'dead_ends', 'dead_ends_over_limit',
        'with_turnaround', 'serving_high_rise_without_turnaround', 'over_limit_other'}}``.
    """
    layout = high_rises["layout"].astype(str)
    served = high_rises["served_pct"].to_numpy(dtype=np.float64)
    hr: dict[str, Any] = {
        "checked": len(high_rises),
        "noncompliant_access": int((~high_rises["compliant_access"].astype(bool)).sum()),
        **{name: int((layout == name).sum()) for name in LAYOUTS},
        "aerial_site_not_met": int((~high_rises["aerial_extent_ok"].astype(bool)).sum()),
        "lane_too_close": int((high_rises["too_close_m"].to_numpy(dtype=float) > 0).sum()),
        "served_pct_median": round(float(np.median(served)), 1) if len(served) else 0.0,
    }
    verdict = dead_ends["verdict"].astype(str)
    lanes = {
        "dead_ends": len(dead_ends),
        "dead_ends_over_limit": int((verdict != "short").sum()),
        "with_turnaround": int((verdict == "turnaround").sum()),
        "serving_high_rise_without_turnaround": int((verdict == "no_turnaround").sum()),
        "over_limit_other": int((verdict == "no_turnaround_other").sum()),
    }
    return {"high_rises": hr, "lanes": lanes}


def lane_layout_column(
    buildings: pd.DataFrame, high_rises: pd.DataFrame, layouts: pd.DataFrame
) -> np.ndarray:
    """Each building's lane layout (GB 55037 3.4.3), from :func:`high_rise_access` or
    :func:`lane_layout`; None where the clause was not checked (unknown height class or use,
    industrial buildings)."""
    found = pd.concat([
        high_rises[["building_id", "layout"]].rename(columns={"layout": "lane_layout"}),
        layouts[["building_id", "lane_layout"]],
    ], ignore_index=True)
    by_id = pd.Series(found["lane_layout"].to_numpy(dtype=object),
                      index=found["building_id"].astype(str).to_numpy())
    mapped = buildings["building_id"].astype(str).map(by_id)
    return mapped.astype(object).where(mapped.notna(), None).to_numpy(dtype=object)
