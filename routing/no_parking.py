"""No-parking zones beside hydrants, pump connectors and station gates, and parked reports in them.

Two rules, each a distance along the road from the point where the thing meets the street:

* GB 55037-2022 12.0.1 (preset ``hydrant_no_parking``, 5 m in cn-gb): no motor vehicle may park
  within 5 m each side, along the road, of a hydrant or a pump connector.
* 道路交通安全法实施条例 第六十三条 (preset ``law_no_parking_public_road``, 30 m, cn-gb only): no
  parking on the road sections within 30 m of a hydrant or a fire station's gate. Applied to
  public roads only: every edge but ``highway=service`` and edges with ``access=private|no``
  (compound lanes are covered by 12.0.1 and by the lane rules).

A zone is the set of road metres whose distance *along the streets* from a hydrant's
(connector's, station's) snapped position (its offset from the road not counted) is at most the
rule's distance: the same exact interval computation as hydrant coverage
(:func:`routing.coverage.hydrant_coverage` with that radius), so a zone follows the road round a
corner and into side streets. Zones of one rule are merged where they overlap; each piece
carries its rule and clause. The position of a thing off the road is its nearest point on the
road (hydrants as snapped by the analysis; connectors and stations snapped the same way here).

A ``parked_vehicle`` blockage report (open, snapped) lying inside a zone breaks that rule as well
(:func:`parked_in_zones`); goods, stalls and gates are not parking and are judged by the lane
rules only.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.presets import Preset, Rule
from routing.coverage import hydrant_coverage
from routing.graph import StreetGraph
from routing.snap import SnapResult, line_substrings, snap_points

log = logging.getLogger(__name__)

#: Columns of the ``no_parking_zones`` layer (plus the piece geometry).
ZONE_COLUMNS = ("rule_id", "clause", "distance_m", "edge_id", "name", "start_m", "end_m",
                "length_m")

#: The rules, and which kinds of point each applies to.
ZONE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("hydrant_no_parking", ("hydrants", "pump_connectors")),
    ("law_no_parking_public_road", ("hydrants", "stations")),
)

#: A hydrant or pump connector farther than this from a road's centre line is not beside that
#: road and makes no zone on it (an assumption: GB 50974 7.2.6 puts hydrants 0.5–2 m from the
#: kerb, so a half carriageway plus a few metres). Station gates open onto the road they are
#: snapped to, however deep the yard.
BESIDE_ROAD_M = 15.0

_PUBLIC_ONLY = frozenset({"law_no_parking_public_road"})
_NOT_PUBLIC_ACCESS = frozenset({"private", "no"})
_ON_ZONE_TOL_M = 1e-6


def public_roads(graph: StreetGraph) -> np.ndarray:
    """Bool per edge: a public road (not ``highway=service``, not ``access=private|no``)."""
    roads = graph.roads
    highway = roads["highway"].fillna("").astype(str).to_numpy(dtype=object)
    access = (roads["access"].fillna("").astype(str).str.lower().to_numpy(dtype=object)
              if "access" in roads.columns else np.full(len(roads), "", dtype=object))
    return (highway != "service") & ~np.isin(access, list(_NOT_PUBLIC_ACCESS))


def _on_road(snaps: Sequence[tuple[str, SnapResult]]) -> SnapResult:
    """The snapped positions as seeds of a distance along the road (offset 0); hydrants and
    connectors farther than :data:`BESIDE_ROAD_M` from the road are not beside it."""
    edge = np.concatenate([
        np.where((s.offset_m <= BESIDE_ROAD_M) | (kind == "stations"), s.edge, -1)
        for kind, s in snaps]).astype(np.int64)
    return SnapResult(
        edge=edge,
        position_m=np.concatenate([s.position_m for _, s in snaps]),
        offset_m=np.zeros(len(edge)),
        point=np.concatenate([np.asarray(s.point, dtype=object) for _, s in snaps]),
        reason=np.concatenate([np.asarray(s.reason, dtype=object) for _, s in snaps]),
    )


def _empty_zones(crs: object) -> gpd.GeoDataFrame:
    frame = pd.DataFrame({
        "rule_id": pd.Series(dtype=object), "clause": pd.Series(dtype=object),
        "distance_m": pd.Series(dtype=np.float64), "edge_id": pd.Series(dtype=np.int64),
        "name": pd.Series(dtype=object), "start_m": pd.Series(dtype=np.float64),
        "end_m": pd.Series(dtype=np.float64), "length_m": pd.Series(dtype=np.float64),
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _rule_zones(graph: StreetGraph, rule: Rule, snaps: SnapResult, *, public: bool) -> pd.DataFrame:
    distance = float(rule.value("value_m"))
    cov = hydrant_coverage(graph, snaps, radius_m=distance)
    edge, start, end = cov.interval_edge, cov.interval_start, cov.interval_end
    keep = end - start > _ON_ZONE_TOL_M
    if public:
        keep &= public_roads(graph)[edge]
    edge, start, end = edge[keep], start[keep], end[keep]
    names = graph.roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    return pd.DataFrame({
        "rule_id": rule.id, "clause": rule.clause, "distance_m": distance,
        "edge_id": graph.edge_id[edge], "name": names[edge], "start_m": start, "end_m": end,
        "length_m": end - start, "_edge": edge,
    })


def no_parking_zones(
    graph: StreetGraph, points: dict[str, SnapResult], *, preset: Preset
) -> gpd.GeoDataFrame:
    """The no-parking zones of every rule of :data:`ZONE_RULES` the preset has.

    Parameters
    ----------
    graph
        The street graph (every edge: parking rules apply to all roads, passable or not).
    points
        Snapped positions by kind: ``hydrants``, ``pump_connectors``, ``stations`` (a kind
        missing or empty adds nothing).
    preset
        Rule preset; a rule it lacks is not applied.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per merged piece of a rule's zone on one edge, :data:`ZONE_COLUMNS` and the
        piece geometry, sorted by rule then edge then start.
    """
    parts = []
    for rule_id, kinds in ZONE_RULES:
        if rule_id not in preset.rules:
            continue
        snaps = [(k, points[k]) for k in kinds if k in points and len(points[k])]
        if not snaps:
            continue
        parts.append(_rule_zones(graph, preset.rule(rule_id), _on_road(snaps),
                                 public=rule_id in _PUBLIC_ONLY))
    if not parts or not sum(len(p) for p in parts):
        return _empty_zones(graph.crs)
    frame = pd.concat(parts, ignore_index=True)
    geoms = line_substrings(graph.geometry, frame["start_m"].to_numpy(), frame["end_m"].to_numpy(),
                            line_index=frame["_edge"].to_numpy())
    out = gpd.GeoDataFrame(frame.drop(columns="_edge"), geometry=gpd.GeoSeries(geoms, crs=graph.crs),
                           crs=graph.crs)
    log.info("no-parking zones: %s", ", ".join(
        f"{r}: {n} pieces, {m:.0f} m" for r, (n, m) in out.groupby("rule_id")["length_m"]
        .agg(["count", "sum"]).iterrows()))
    return out


def parked_in_zones(
    zones: pd.DataFrame, edge_id: np.ndarray, position_m: np.ndarray, parked: np.ndarray
) -> dict[str, np.ndarray]:
    """For each rule of ``zones``: bool per report, a parked report inside one of its pieces.

    ``edge_id`` (-1 when not snapped) and ``position_m`` say where each report lies on the
    road; ``parked`` which reports are open parked vehicles. A report exactly at a zone's end
    is inside it.
    """
    edge_id = np.asarray(edge_id, dtype=np.int64)
    pos = np.asarray(position_m, dtype=np.float64)
    out: dict[str, np.ndarray] = {}
    for rule_id, z in zones.groupby("rule_id", sort=False):
        key = np.lexsort((z["start_m"].to_numpy(), z["edge_id"].to_numpy()))
        ze = z["edge_id"].to_numpy(dtype=np.int64)[key]
        zs = z["start_m"].to_numpy(dtype=np.float64)[key]
        zt = z["end_m"].to_numpy(dtype=np.float64)[key]
        lo = np.searchsorted(ze, edge_id, side="left")
        hi = np.searchsorted(ze, edge_id, side="right")
        inside = np.zeros(len(edge_id), dtype=bool)
        for r in np.flatnonzero(parked & (edge_id >= 0) & (hi > lo)):
            # the piece of the report's edge with the last start at or before it (no overlaps)
            j = lo[r] + int(np.searchsorted(zs[lo[r]:hi[r]], pos[r] + _ON_ZONE_TOL_M,
                                            side="right")) - 1
            inside[r] = j >= lo[r] and pos[r] <= zt[j] + _ON_ZONE_TOL_M
        out[str(rule_id)] = inside
    return out


def zone_points(
    graph: StreetGraph,
    *,
    hydrant_snaps: SnapResult,
    pump_connectors: gpd.GeoSeries,
    station_snaps: SnapResult | None,
    max_snap_m: float,
) -> dict[str, SnapResult]:
    """Where hydrants, pump connectors and station gates meet the street, for
    :func:`no_parking_zones`: hydrants as the analysis snapped them, connectors snapped to any
    edge within ``max_snap_m`` (the hydrants' snap distance), stations as the response snapped
    them (None: no station)."""
    points = {"hydrants": hydrant_snaps}
    if len(pump_connectors):
        points["pump_connectors"] = snap_points(graph, pump_connectors, max_distance_m=max_snap_m)
    if station_snaps is not None:
        points["stations"] = station_snaps
    return points


def zone_summary(zones: pd.DataFrame) -> dict[str, dict[str, float]]:
    """The ``no_parking_zones`` summary: metres of road in each rule's zones."""
    return {"length_m": {str(r): float(m) for r, m in
                         zones.groupby("rule_id", sort=True)["length_m"].sum().items()}}
