"""生命通道 blockages: what each reported obstruction of a fire lane costs, and critical lanes.

A city inspection campaign reports tens of thousands of blocked fire lanes (parked cars, gates,
illegal structures, piled goods, stalls). :func:`blockage_impact` tells enforcement which ones
cost the most, and :func:`critical_lanes` where a single blockage would cut a high-rise off.

Effect model (every number lives in :class:`BlockageRules`)
-----------------------------------------------------------
* **Snapping.** Each report is snapped to the nearest road edge of the street graph (any edge,
  at most ``max_snap_m`` = 30 m away). A report farther away is kept in the output with effect
  ``'rejected'`` and the snapping reason (``'no road within 30 m (nearest 50.0 m)'``).
* **Status.** Only open reports count: a status in ``closed_statuses`` (``rectified``,
  ``verified``, ``closed``, and ``rejected`` / ``duplicate`` reports of the ledger) gives effect
  ``'none'``; every other status is open and recorded.
* **Width.** ``gate`` and ``structure`` (违建) block the lane outright (remaining width 0 m).
  ``parked_vehicle`` occupies 2.0 m (a 1.8 m car + 0.2 m), ``goods`` 1.5 m, ``stall`` 2.5 m of the
  edge's ``width_m``; ``other`` (and kinds not listed) block outright. A measured
  ``remaining_width_m`` always overrides the estimate, for every kind (a gate with a measured
  4.5 m opening passes). The lane stays passable (effect ``'narrowed'``) when the remaining
  width is at least the apparatus' :attr:`routing.graph.TruckOptions.min_width_m` (4.0 m), else
  it is blocked (effect ``'full'``): a parked car leaves 6.0 − 2.0 = 4.0 m of a 6 m lane
  (passable) but 5.0 − 2.0 = 3.0 m of a 5 m lane (blocked). An edge without a width cannot be
  estimated: it counts as blocked (``unknown_width_blocks``). OSM barriers are not reports:
  the truck graph handles them already.
* **Position.** A blocking report blocks movement *through its position* on its edge: the graph
  loses the edge in both directions, but a point on the same edge (a building's access point, a
  hydrant, a station) is still reached from the side it is on. Moving from the edge's ``u`` end
  to position ``p`` is blocked by a report at ``b`` when ``0 <= b < p``; from ``v`` when
  ``p < b <= L``; between two points on the edge when ``b`` lies strictly between them. So a point
  exactly at a report is reached from both sides. Reports on the same edge form one scenario.

Impact and score
----------------
For every scenario (one edge with its blocking reports) and for all open reports together:
*cut off* buildings lose every truck route from every station (their access point becomes
unreachable); *delayed* buildings stay reachable but their response time rises past the limit
(preset rule ``station_response``, 300 s) or by more than ``delay_margin_s`` (60 s); hydrants
become *unreachable* when their snapped position does. Each building weighs
``class weight × occupancy``: class weight 10 for a class-1 high-rise, 5 for class 2, 1 for any
other (including ``unknown``); occupancy ``= log1p(floor area / 1000 m²) + 1`` with floor area
``footprint_m2 × max(levels, 1)`` (a proxy for the people inside: 1 for a shed, about 3.4 for a
10,000 m² block). The score of a scenario is

    Σ cut-off weights + 0.5 × Σ weights delayed past the limit
    + 0.1 × Σ weights delayed only by the margin + 1.0 × hydrants unreachable

(factors in :class:`BlockageRules`). Reports are ranked by score, ties by ``blockage_id``.

The rules live in :mod:`routing.blockage_rules`, the shortest-path-tree engine that
recomputes every scenario in :mod:`routing.spt`, and the lanes a single blockage would cut
in :mod:`routing.critical_lanes`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo._validate import require_columns
from geo.errors import ConfigError
from geo.presets import Preset
from geo.schema import require_projected
from routing.blockage_rules import BLOCKAGE_KINDS, BlockageRules, _building_weights
from routing.critical_lanes import _check_access, _critical
from routing.findings import concat_findings, findings
from routing.graph import TruckGraph
from routing.no_parking import parked_in_zones
from routing.response import ResponseResult
from routing.snap import SnapResult, snap_points
from routing.spt import _combined_times, _Groups, _groups, _points, _prepare, _scenarios
from routing.water import AccessPoints

log = logging.getLogger(__name__)

__all__ = ["BlockageResult", "blockage_impact"]
_WIDTH_TOL_M = 1e-9


@dataclass(frozen=True, eq=False)
class BlockageResult:
    """What :func:`blockage_impact` returns.

    Attributes
    ----------
    blockages
        One row per report, in input order: ``blockage_id``, ``kind``, ``status``, ``open``,
        ``edge_id`` (-1 if rejected), ``road_name``, ``position_m`` (along the edge from ``u``),
        ``offset_m`` (report to road), ``edge_width_m``, ``occupied_m``, ``remaining_width_m``,
        ``width_basis`` (``measured``, ``estimated``, ``full_block``, ``unknown``), ``effect``
        (see :data:`routing.blockage_rules.EFFECTS`), ``reason`` (why rejected),
        ``reports_on_edge`` (blocking reports forming its scenario), its impact on its own:
        ``high_rises_cut``, ``buildings_cut``, ``buildings_delayed``, ``high_rises_delayed``,
        ``hydrants_unreachable``, ``max_delay_s``,
        ``score``, ``rank`` (1 = worst; null for rejected and closed reports), and the rules it
        breaks: ``rule_ids``, ``clauses``, ``severity``, ``confidence`` (``' | '``-joined).
        Other input columns (``reported_at``, ``reporter``, ``photo`` ...) are kept.
    combined
        All open reports together: ``blocked_edges``, ``high_rises_cut``, ``buildings_cut``,
        ``buildings_delayed``, ``high_rises_delayed``, ``hydrants_unreachable``, ``score``.
    critical_lanes
        See :func:`routing.critical_lanes.critical_lanes` (lanes carrying an open report are
        left out: they are ranked in ``blockages``).
    findings
        One row per (report, rule broken), :data:`routing.findings.FINDING_COLUMNS`.
    summary
        ``total``, ``snapped``, ``rejected``, ``open``, ``blocking``, ``high_rises_cut_off``,
        ``buildings_cut_off``, ``buildings_delayed``, ``hydrants_unreachable`` (all together),
        ``critical_lanes`` (count), ``limit_s``, ``reference``.
    reference
        What cut off and delayed are measured from: ``'stations'`` (the fire stations'
        response) or ``'main_roads'`` (no station: :func:`routing.response.main_road_reach`;
        delays are then not computed and are null, ``limit_s`` too).
    """

    blockages: gpd.GeoDataFrame = field(repr=False)
    combined: dict[str, Any]
    critical_lanes: gpd.GeoDataFrame = field(repr=False)
    findings: pd.DataFrame = field(repr=False)
    summary: dict[str, Any]
    reference: str = "stations"



# ---------------------------------------------------------------------------------------------
# Reports: snapping, width and effect


_REQUIRED = ("blockage_id", "kind", "status")


def _text(frame: pd.DataFrame, name: str) -> np.ndarray:
    return frame[name].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)


def _classify(
    truck: TruckGraph, blockages: gpd.GeoDataFrame, rules: BlockageRules
) -> pd.DataFrame:
    graph = truck.graph
    require_columns(blockages, _REQUIRED, layer="blockages", hint=(
        "read the ledger with geo.agency.read_agency_table(path, layer='blockages') and "
        "reproject it"
    ))
    require_projected(blockages, name="blockages")
    snaps = snap_points(graph, blockages.geometry, max_distance_m=rules.max_snap_m)
    n = len(blockages)
    kind = _text(blockages, "kind")
    known = np.isin(kind, BLOCKAGE_KINDS)
    if (~known).any():
        log.info("%d reports of unknown kind counted as 'other' (e.g. %r)", int((~known).sum()),
                 str(kind[~known][0]))
    kind = np.where(known, kind, "other")
    status = _text(blockages, "status")
    status = np.where(status == "", "reported", status)
    is_open = ~np.isin(status, list(rules.closed_statuses))
    if "remaining_width_m" in blockages.columns:
        measured = pd.to_numeric(blockages["remaining_width_m"], errors="coerce").to_numpy(float)
    else:
        measured = np.full(n, np.nan)
    snapped = snaps.edge >= 0
    e = np.where(snapped, snaps.edge, 0)
    width = graph.roads["width_m"].to_numpy(dtype=np.float64)[e]
    occupied = pd.Series(kind).map(dict(rules.occupied_width_m)).to_numpy(dtype=np.float64)
    full_kind = np.isin(kind, list(rules.full_block_kinds)) | np.isnan(occupied)
    estimate = np.where(full_kind, 0.0, np.maximum(width - np.nan_to_num(occupied), 0.0))
    estimate[~full_kind & np.isnan(width)] = np.nan
    has_measure = np.isfinite(measured)
    remaining = np.where(has_measure, measured, estimate)
    basis = np.where(has_measure, "measured", np.where(full_kind, "full_block", "estimated"))
    unknown = ~np.isfinite(remaining)
    basis = np.where(unknown, "unknown", basis)
    min_width = truck.options.min_width_m
    passable = np.where(unknown, not rules.unknown_width_blocks,
                        remaining >= min_width - _WIDTH_TOL_M)
    effect = np.where(~snapped, "rejected",
                      np.where(~is_open, "none", np.where(passable, "narrowed", "full")))
    log.info(
        "blockages: %d reports, %d snapped, %d open, %d block a truck (%d narrow the lane)",
        n, int(snapped.sum()), int((is_open & snapped).sum()), int((effect == "full").sum()),
        int((effect == "narrowed").sum()),
    )
    names = graph.roads["name"].fillna("").astype(str).to_numpy(dtype=object)
    return pd.DataFrame(
        {
            "blockage_id": blockages["blockage_id"].astype(str).to_numpy(dtype=object),
            "kind": kind,
            "status": status,
            "open": is_open,
            "edge": np.where(snapped, snaps.edge, -1),
            "edge_id": np.where(snapped, graph.edge_id[e], -1),
            "road_name": np.where(snapped, names[e], ""),
            "position_m": snaps.position_m,
            "offset_m": snaps.offset_m,
            "edge_width_m": np.where(snapped, width, np.nan),
            "occupied_m": np.where(full_kind | ~snapped, np.nan, occupied),
            "remaining_width_m": np.where(snapped, remaining, np.nan),
            "width_basis": np.where(snapped, basis, ""),
            "effect": effect,
            "reason": snaps.reason.astype(str),
        }
    )


# ---------------------------------------------------------------------------------------------
# Impact


_IMPACT = ("high_rises_cut", "buildings_cut", "buildings_delayed", "high_rises_delayed",
           "hydrants_unreachable", "max_delay_s", "score")
#: The delay figures of a report, and of all reports together: null when measured from the
#: main roads (``reference='main_roads'``).
_DELAYS = ("buildings_delayed", "high_rises_delayed", "max_delay_s")
_DELAYS_COMBINED = ("buildings_delayed", "high_rises_delayed")


def _impact(
    k: np.ndarray,
    p: np.ndarray,
    new: np.ndarray,
    base: np.ndarray,
    n_buildings: int,
    weight: np.ndarray,
    high: np.ndarray,
    K: int,
    *,
    limit_s: float,
    rules: BlockageRules,
) -> dict[str, np.ndarray]:
    """Per scenario: what is lost, from the points whose time changed."""
    old = base[p]
    with np.errstate(invalid="ignore"):
        cut = np.isfinite(old) & np.isinf(new)
        fin = np.isfinite(old) & np.isfinite(new)
        past = fin & (old <= limit_s) & (new > limit_s)
        margin = fin & (new - old > rules.delay_margin_s) & ~past
    isb = p < n_buildings
    b = np.where(isb, p, -1)  # -1 picks the appended zero
    w, hi = np.append(weight, 0.0)[b], np.append(high, False)[b]

    def count(mask: np.ndarray, wts: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(k[mask], weights=None if wts is None else wts[mask], minlength=K)

    bcut, bpast, bmargin = cut & isb, past & isb, margin & isb
    delayed = bpast | bmargin
    score = (count(bcut, w) + rules.delay_past_limit_factor * count(bpast, w)
             + rules.delay_margin_factor * count(bmargin, w)
             + rules.hydrant_weight * count(cut & ~isb)).astype(np.float64)
    max_delay = np.zeros(K)
    if fin.any():
        np.maximum.at(max_delay, k[fin & isb], (new - old)[fin & isb])
    return {
        "high_rises_cut": count(bcut & hi).astype(np.int64),
        "buildings_cut": count(bcut).astype(np.int64),
        "buildings_delayed": count(delayed).astype(np.int64),
        "high_rises_delayed": count(delayed & hi).astype(np.int64),
        "hydrants_unreachable": count(cut & ~isb).astype(np.int64),
        "max_delay_s": max_delay,
        "score": score,
    }


def _lost_text(row: Mapping[Any, Any], cut_from: str = "") -> str:
    parts = []
    if row["high_rises_cut"]:
        parts.append(f"cuts off {row['high_rises_cut']} high-rise(s){cut_from}")
    other = row["buildings_cut"] - row["high_rises_cut"]
    if other:
        parts.append(f"cuts off {other} other building(s){cut_from}")
    if row["buildings_delayed"]:
        parts.append(f"delays {row['buildings_delayed']} building(s) (up to "
                     f"{row['max_delay_s']:.0f} s)")
    if row["hydrants_unreachable"]:
        parts.append(f"makes {row['hydrants_unreachable']} hydrant(s) unreachable")
    return "; ".join(parts) if parts else "no loss of truck access"


def _findings(
    frame: pd.DataFrame, preset: Preset, min_width_m: float, *, cut_from: str = ""
) -> pd.DataFrame:
    law = preset.rules.get("law_fire_lane_obstruction")  # 消防法: cn-gb only
    width_rule = preset.rule("fire_lane_width")
    fines = ""
    if "law_fines" in preset.rules:
        f = preset.rule("law_fines")
        fines = (f" Fines ({f.clause}): units CNY {f.value('unit_min_cny'):,.0f}–"
                 f"{f.value('unit_max_cny'):,.0f}, individuals up to CNY "
                 f"{f.value('individual_max_cny'):,.0f}.")
    ids = frame["blockage_id"].to_numpy(dtype=object)
    lost = np.asarray([_lost_text(r, cut_from) for r in
                       frame[list(_IMPACT)].to_dict("index").values()], dtype=object)
    where = (frame["kind"].astype(str) + " on " + frame["road_name"].replace("", "unnamed road")
             + " (edge " + frame["edge_id"].astype(str) + ")").to_numpy(dtype=object)
    remaining = frame["remaining_width_m"].to_numpy(dtype=np.float64)
    is_open = frame["open"].to_numpy(dtype=bool) & (frame["effect"] != "rejected").to_numpy()
    a = pd.DataFrame()
    if law is not None:
        a = findings("blockages", ids, is_open, law, values=remaining, limit=0.0, message="")
        a["message"] = [f"{w}: fire lane occupied; {x}.{fines}" for w, x in
                        zip(where[is_open], lost[is_open], strict=True)]
    narrow = (frame["effect"] == "full").to_numpy()
    b = findings("blockages", ids, narrow, width_rule, values=remaining, limit=min_width_m,
                 message="")
    b["message"] = [f"{w}: {r:.1f} m clear width left, {min_width_m:.1f} m needed; {x}."
                    for w, r, x in zip(where[narrow], np.nan_to_num(remaining[narrow]),
                                       lost[narrow], strict=True)]
    return concat_findings([a, b])


def blockage_impact(
    truck: TruckGraph,
    response: ResponseResult,
    blockages: gpd.GeoDataFrame,
    *,
    buildings: pd.DataFrame,
    building_access: AccessPoints,
    hydrant_snaps: SnapResult,
    preset: Preset,
    rules: BlockageRules | None = None,
    limit_s: float | None = None,
    reference: str = "stations",
    zones: pd.DataFrame | None = None,
) -> BlockageResult:
    """Rank reported fire-lane blockages by what they cost, and find critical lanes.

    Parameters
    ----------
    truck
        The truck graph without the reports (:func:`routing.graph.truck_graph`).
    response
        :func:`routing.response.station_response` on ``truck``.
    blockages
        Reports in the working CRS: ``blockage_id``, ``kind`` (see :data:`BLOCKAGE_KINDS`),
        ``status``, optional ``remaining_width_m``; other columns are kept.
    buildings
        Buildings with ``high_rise_class``, ``footprint_m2``, ``levels``, aligned with
        ``building_access``.
    building_access
        Access points (:func:`routing.water.building_access` with the passable-edge mask).
    hydrant_snaps
        Hydrants snapped to the street graph.
    preset
        Rule preset: ``law_fire_lane_obstruction``, ``fire_lane_width``, ``station_response``
        (and ``law_fines`` for the messages, when present).
    rules
        Effect model and score numbers (:class:`BlockageRules`).
    limit_s
        Response time limit; default the preset's ``station_response`` (300 s).
    reference
        ``'stations'`` when ``response`` is the stations' response; ``'main_roads'`` when it
        is :func:`routing.response.main_road_reach` (no station): reports are then ranked by
        what they cut off from the main roads and the hydrants they make unreachable, and
        every delay figure is null (not computed), since a time from the main roads is no
        response time.
    zones
        No-parking zones (:func:`routing.no_parking.no_parking_zones`): an open parked vehicle
        inside one also breaks that zone's rule (GB 55037 12.0.1; 实施条例 第63条).

    Returns
    -------
    BlockageResult

    Raises
    ------
    LayerValidationError
        Missing columns, or access points not aligned with the buildings.
    CRSError
        Reports not in the graph's projected CRS.
    AnalysisError
        ``response`` was not computed on ``truck``.
    """
    rules = rules or BlockageRules()
    graph = truck.graph
    if reference not in ("stations", "main_roads"):
        raise ConfigError(f"reference must be 'stations' or 'main_roads', got {reference!r}")
    limit = float(preset.rule("station_response").value("value_s") if limit_s is None else limit_s)
    if reference == "main_roads":  # no delay is counted (nor scored): see ``reference``
        limit, rules = np.inf, replace(rules, delay_margin_s=np.inf)
    _check_access(buildings, building_access)
    frame = _classify(truck, blockages, rules)
    blocking = (frame["effect"] == "full").to_numpy()

    net = _prepare(truck, response)
    log.info("shortest-path tree: %d of %d nodes reached from %d stations",
             int(np.isfinite(net.time).sum()), net.n, len(net.sources))
    n_b = len(buildings)
    weight, high = _building_weights(buildings, rules)
    pts = _points(
        net,
        np.concatenate([building_access.snaps.edge, hydrant_snaps.edge]).astype(np.int64),
        np.concatenate([building_access.snaps.position_m, hydrant_snaps.position_m]),
    )
    groups = _groups(graph.n_edges, frame["edge"].to_numpy()[blocking],
                     frame["position_m"].to_numpy()[blocking])
    K = len(groups.edge)
    _, _, _, pk, pp, pt, copies = _scenarios(net, groups, pts)
    alone = _impact(pk, pp, pt, pts.base, n_b, weight, high, K, limit_s=limit, rules=rules)
    log.info("scenarios: %d blocked edges, %d subtree nodes recomputed, %d point times changed",
             K, copies, len(pk))

    _, cpt = _combined_times(net, groups, pts)
    ch = np.flatnonzero(cpt != pts.base)
    comb = _impact(np.zeros(len(ch), np.int64), ch, cpt[ch], pts.base, n_b, weight, high, 1,
                   limit_s=limit, rules=rules)
    combined: dict[str, Any] = {"blocked_edges": K, **{k: comb[k][0].item() for k in _IMPACT}}
    log.info("all open reports together: %d high-rises and %d buildings cut off, %d delayed, "
             "%d hydrants unreachable", combined["high_rises_cut"], combined["buildings_cut"],
             combined["buildings_delayed"], combined["hydrants_unreachable"])

    reported = np.zeros(graph.n_edges, dtype=bool)
    open_rows = frame["open"].to_numpy() & (frame["edge"] >= 0).to_numpy()
    reported[frame["edge"].to_numpy()[open_rows]] = True
    lanes = _critical(net, buildings, building_access, rules, reported)
    log.info("critical lanes: %d unreported lanes cut high-rises off when blocked", len(lanes))

    _rank(frame, blocking, open_rows, groups, alone)
    in_zone = _parked_in_zones(frame, zones, preset)
    found = concat_findings([
        _findings(frame, preset, truck.options.min_width_m,
                  cut_from=" from the main roads" if reference == "main_roads" else ""),
        _zone_findings(frame, in_zone, preset),
    ])
    log.info("ranking: %d open reports ranked, %d findings", int(open_rows.sum()), len(found))
    _rule_columns(frame, preset, in_zone)
    summary = _summary(frame, combined, n_lanes=len(lanes), limit_s=limit)
    if reference == "main_roads":  # delays not computed: null, never 0
        frame[list(_DELAYS)] = np.nan
        combined.update(dict.fromkeys(_DELAYS_COMBINED))
        summary.update(buildings_delayed=None, limit_s=None)
    summary["reference"] = reference
    return BlockageResult(
        blockages=_with_input_columns(frame, blockages), combined=combined,
        critical_lanes=lanes, findings=found, summary=summary, reference=reference,
    )


def _summary(
    frame: pd.DataFrame, combined: dict[str, Any], *, n_lanes: int, limit_s: float
) -> dict[str, Any]:
    """The ``summary`` of :class:`BlockageResult`."""
    snapped = (frame["edge"] >= 0).to_numpy()
    return {
        "total": len(frame),
        "snapped": int(snapped.sum()),
        "rejected": int((frame["effect"] == "rejected").sum()),
        "open": int((frame["open"].to_numpy() & snapped).sum()),
        "blocking": int((frame["effect"] == "full").sum()),
        "high_rises_cut_off": combined["high_rises_cut"],
        "buildings_cut_off": combined["buildings_cut"],
        "buildings_delayed": combined["buildings_delayed"],
        "hydrants_unreachable": combined["hydrants_unreachable"],
        "critical_lanes": n_lanes,
        "limit_s": limit_s,
    }


def _rank(
    frame: pd.DataFrame,
    blocking: np.ndarray,
    open_rows: np.ndarray,
    groups: _Groups,
    alone: dict[str, np.ndarray],
) -> None:
    """Per report (in place): ``reports_on_edge``, its scenario's impact and its ``rank``
    (open snapped reports by score, ties by ``blockage_id``)."""
    K = len(groups.edge)
    g = np.where(blocking, groups.of_edge[np.maximum(frame["edge"].to_numpy(), 0)], -1)
    # index -1 (no scenario) picks the appended zero
    per_group = np.append(np.bincount(g[g >= 0], minlength=K), 0)
    frame["reports_on_edge"] = per_group[g]
    for key in _IMPACT:
        frame[key] = np.append(alone[key], 0)[g]
    order = np.lexsort((frame["blockage_id"].to_numpy(dtype=str),
                        -np.round(frame["score"].to_numpy(), 9)))
    order = order[open_rows[order]]
    rank = pd.array([pd.NA] * len(frame), dtype="Int64")
    rank[order] = np.arange(1, len(order) + 1)
    frame["rank"] = rank


def _with_input_columns(frame: pd.DataFrame, blockages: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The per-report frame with the reports' other input columns and geometry."""
    extra = [c for c in blockages.columns
             if c not in frame.columns and c != blockages.geometry.name]
    out = pd.concat([frame.drop(columns=["edge"]),
                     blockages[extra].reset_index(drop=True)], axis=1)
    return gpd.GeoDataFrame(out, geometry=list(np.asarray(blockages.geometry.array)),
                            crs=blockages.crs)


def _rule_columns(
    frame: pd.DataFrame, preset: Preset, in_zone: dict[str, np.ndarray] | None = None
) -> None:
    """Per report: the rules it breaks, ' | '-joined (in place). Art. 28 for every open report,
    the width rule too for a blocking one, then the no-parking rules whose zone a parked
    vehicle is in."""
    law = preset.rules.get("law_fire_lane_obstruction")  # 消防法: cn-gb only
    width = preset.rule("fire_lane_width")
    art28 = (frame["open"] & (frame["effect"] != "rejected")).to_numpy()
    narrow = (frame["effect"] == "full").to_numpy()
    zone_rules = [(preset.rule(r), inside) for r, inside in (in_zone or {}).items()]
    for col, attr in (("rule_ids", "id"), ("clauses", "clause"), ("severity", "severity"),
                      ("confidence", "confidence")):
        parts = [[] for _ in range(len(frame))]  # type: list[list[str]]
        for rule, mask in ((law, art28), (width, narrow), *zone_rules):
            if rule is None:
                continue
            for i in np.flatnonzero(mask):
                parts[i].append(str(getattr(rule, attr)))
        frame[col] = np.array([" | ".join(dict.fromkeys(p)) for p in parts], dtype=object)


def _parked_in_zones(
    frame: pd.DataFrame, zones: pd.DataFrame | None, preset: Preset
) -> dict[str, np.ndarray]:
    """For each no-parking rule the preset has: its open parked vehicles inside its zones."""
    if zones is None or not len(zones):
        return {}
    parked = (frame["open"].to_numpy(dtype=bool) & (frame["edge_id"] >= 0).to_numpy()
              & (frame["kind"] == "parked_vehicle").to_numpy())
    found = parked_in_zones(zones, frame["edge_id"].to_numpy(dtype=np.int64),
                            frame["position_m"].to_numpy(dtype=np.float64), parked)
    return {r: inside for r, inside in found.items() if r in preset.rules and inside.any()}


def _zone_findings(
    frame: pd.DataFrame, in_zone: dict[str, np.ndarray], preset: Preset
) -> pd.DataFrame:
    ids = frame["blockage_id"].to_numpy(dtype=object)
    out = []
    for rule_id, inside in in_zone.items():
        rule = preset.rule(rule_id)
        what = ("a hydrant or pump connector" if rule_id == "hydrant_no_parking"
                else "a hydrant or a fire station gate")
        out.append(findings(
            "blockages", ids, inside, rule, values=rule.value("value_m"),
            limit=rule.value("value_m"),
            message=f"vehicle parked within {{limit:.0f}} m along the road of {what}",
        ))
    return concat_findings(out)
