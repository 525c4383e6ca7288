"""What-ifs on an analysed workspace: a scenario (hydrants out of service, lanes blocked) and a
siting proposal (where to add hydrants).

Both derive new results from an :class:`routing.analysis.Analysis` without touching it (STYLE
habit 3): a scenario is a new in-service mask and a new truck graph, never an edit of the loaded
ones. A scenario's answer is a dict of raw quantities (metres, seconds, shares of one, NaN
for not computed; report points echoed in WGS84), which :func:`reports.present.present_scenario`
rounds for ``POST /analysis/scenario`` and ``firereach scenario``; a siting proposal is a
:class:`routing.siting.SitingResult` in the working CRS, which :mod:`api.documents` presents
(WGS84, rounding) for ``POST /analysis/siting`` and ``firereach site``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geo.catalog import LayerName
from geo.errors import CRSError, LayerValidationError, NotFoundError
from geo.layers import Layers
from geo.presets import Preset
from routing.analysis import Analysis, AnalysisOptions, share
from routing.blockage_rules import BlockageRules
from routing.blockages import blockage_impact
from routing.coverage import hydrant_coverage
from routing.mains import cap_branch_credit
from routing.siting import (
    CandidateOptions,
    CostModel,
    Method,
    SitingResult,
    SolverOptions,
    coverage_matrix,
    demand_segments,
    site_hydrants,
    siting_candidates,
)
from routing.spt import scenario_times
from routing.water import AccessPoints

log = logging.getLogger(__name__)

__all__ = [
    "SERVED_MARGIN_M",
    "SitingProblem",
    "scenario_impact",
    "siting_problem",
    "solve_siting",
]

#: Blockages farther than this (m) outside the streets' extent are rejected without snapping.
SERVED_MARGIN_M = 1000.0


# --- scenario -------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Reports:
    """Blockage reports of a scenario: the frame :func:`blockage_impact` reads (working CRS) and
    what the answer echoes per report."""

    frame: gpd.GeoDataFrame
    lon: list[Any]
    lat: list[Any]
    kind: list[str]
    ids: list[str] | None  # blockage_id of reports given as a frame


def _hydrant_rows(hydrants: pd.DataFrame, ids: Sequence[str]) -> np.ndarray:
    """Rows of the hydrants with these ids; every unknown id is named in the error."""
    known = hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)
    wanted = list(dict.fromkeys(ids))
    missing = [i for i in wanted if i not in set(known.tolist())]
    if missing:
        raise NotFoundError(
            f"{len(missing)} hydrant id(s) not in the workspace: {', '.join(missing)}"
        )
    return np.flatnonzero(np.isin(known, wanted))


def _coverage_change(
    analysis: Analysis, layers: Layers, options: AnalysisOptions, out_rows: np.ndarray, max_rows: int
) -> dict[str, Any]:
    base = analysis.coverage
    road_m, before_m = float(base.road_m), float(base.total_covered_m)
    doc: dict[str, Any] = {
        "radius_m": base.radius_m, "method": base.method, "road_m": road_m,
        "covered_m_before": before_m,
    }
    status = layers.hydrants["status"].to_numpy(dtype=object)
    in_service = status == "in_service"
    taken = np.zeros(len(status), dtype=bool)
    taken[out_rows] = True
    doc["hydrants_taken_out"] = int((taken & in_service).sum())
    doc["hydrants_already_out"] = [
        str(i) for i in layers.hydrants["hydrant_id"].to_numpy(dtype=object)[taken & ~in_service]
    ]
    if not (taken & in_service).any():
        after_m = base.covered_m
    else:
        after = hydrant_coverage(
            analysis.graph, analysis.hydrant_snaps, radius_m=base.radius_m,
            in_service=in_service & ~taken, method=options.coverage_method,
            hydrant_points=layers.hydrants.geometry, needs_hydrants=base.needs_hydrants,
        )
        after_m = after.covered_m
    lost = base.covered_m - after_m
    losing = np.flatnonzero((lost > 1e-6) & base.counted)
    after_total = float(after_m[base.counted].sum())
    doc.update({
        "covered_m_after": after_total,
        "change_m": after_total - before_m,
        "covered_share_before": share(before_m, road_m),
        "covered_share_after": share(after_total, road_m),
        "edges_losing_coverage": len(losing),
    })
    order = losing[np.argsort(-lost[losing], kind="stable")][:max_rows]
    roads = analysis.graph.roads
    doc["edges"] = [
        {"edge_id": int(analysis.graph.edge_id[e]), "name": str(roads["name"].iloc[e]),
         "length_m": float(analysis.graph.length_m[e]),
         "covered_m_before": float(base.covered_m[e]),
         "covered_m_after": float(after_m[e])}
        for e in order.tolist()
    ]
    return doc


def _recapped(pairs: pd.DataFrame) -> np.ndarray:
    """The pairs' credits with the branch rule applied afresh (GB 50974 6.1.5(3)): when a
    group's credited hydrant is taken out, the next best of that group is credited."""
    if "uncapped_lps" not in pairs.columns:  # no mains: each hydrant credited alone
        return pairs["credited_lps"].to_numpy(dtype=np.float64)
    building = pd.factorize(pairs["building_id"].astype(str))[0]
    frame = pd.DataFrame({"building": building, "hydrant": np.arange(len(pairs)),
                          "credited_lps": pairs["uncapped_lps"].to_numpy(dtype=np.float64)})
    capped = cap_branch_credit(frame, pairs["branch_group"].to_numpy(dtype=np.int64))
    return capped["credited_lps"].to_numpy(dtype=np.float64)


def _water_change(analysis: Analysis, out_ids: set[str], max_rows: int) -> dict[str, Any]:
    b = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
    pairs = analysis.layers[LayerName.BUILDING_HYDRANTS]
    kept = pairs.loc[~pairs["hydrant_id"].astype(str).isin(out_ids)]
    grouped = kept.assign(credited_lps=_recapped(kept)).groupby("building_id").agg(
        n=("hydrant_id", "size"), lps=("credited_lps", "sum"))
    ids = b["building_id"].astype(str)
    n_after = ids.map(grouped["n"]).fillna(0).to_numpy(dtype=np.int64)
    lps_after = ids.map(grouped["lps"]).fillna(0.0).to_numpy(dtype=np.float64)
    n_before = b["hydrants_in_range"].to_numpy(dtype=np.int64)
    lps_before = b["credited_flow_lps"].to_numpy(dtype=np.float64)
    required = b["required_flow_lps"].to_numpy(dtype=np.float64)
    deficit_before = np.nan_to_num(b["flow_deficit_lps"].to_numpy(dtype=np.float64))
    deficit_after = np.where(np.isnan(required), 0.0, np.maximum(required - lps_after, 0.0))
    losing = (n_before > 0) & (n_after == 0)
    new_deficit = (deficit_before <= 0) & (deficit_after > 0)
    changed = np.flatnonzero((n_after != n_before) | (np.abs(lps_after - lps_before) > 1e-9))
    high = b["high_rise_class"].isin(["class1", "class2"]).to_numpy()
    order = changed[np.lexsort((-(lps_before - lps_after)[changed], ~losing[changed]))][:max_rows]
    return {
        "buildings_affected": len(changed),
        "buildings_losing_water": int(losing.sum()),
        "high_rises_losing_water": int((losing & high).sum()),
        "buildings_new_flow_deficit": int(new_deficit.sum()),
        "buildings": [
            {"building_id": str(ids.iloc[i]), "high_rise_class": str(b["high_rise_class"].iloc[i]),
             "hydrants_before": int(n_before[i]), "hydrants_after": int(n_after[i]),
             "credited_lps_before": float(lps_before[i]),
             "credited_lps_after": float(lps_after[i]),
             "deficit_lps_after": float(deficit_after[i]) if np.isfinite(required[i]) else None}
            for i in order.tolist()
        ],
    }


def _blockage_frame(blockages: Sequence[Mapping[str, Any]], crs: object) -> gpd.GeoDataFrame:
    """Reports given as WGS84 ``lon``/``lat`` dicts, as a frame in ``crs`` (ids ``b1``, ``b2``…)."""
    lon = [b["lon"] for b in blockages]
    lat = [b["lat"] for b in blockages]
    return gpd.GeoDataFrame(
        {
            "blockage_id": [f"b{i + 1}" for i in range(len(blockages))],
            "kind": [b["kind"] for b in blockages],
            "status": "reported",
            "remaining_width_m": [
                np.nan if b.get("remaining_width_m") is None else float(b["remaining_width_m"])
                for b in blockages
            ],
        },
        geometry=shapely.points(lon, lat), crs="EPSG:4326",
    ).to_crs(crs)


def _text_column(frame: pd.DataFrame, column: str, default: Sequence[str]) -> list[str]:
    if column not in frame.columns:
        return list(default)
    values = frame[column].astype(object).where(frame[column].notna(), "").astype(str).tolist()
    return [v or d for v, d in zip(values, default, strict=True)]


def _frame_reports(blockages: gpd.GeoDataFrame, crs: object) -> _Reports:
    """Reports given as a frame of points in any CRS (:func:`geo.agency.read_agency_table`)."""
    if blockages.crs is None:
        raise CRSError(
            "the blockage reports have no CRS; read them with geo.agency.read_agency_table "
            "(WGS84 points) or set their CRS"
        )
    if "kind" not in blockages.columns:
        raise LayerValidationError(
            "the blockage reports have no 'kind' column "
            f"(columns: {', '.join(map(str, blockages.columns))}); "
            "read them with geo.agency.read_agency_table(path, layer='blockages')"
        )
    geoms = np.asarray(blockages.geometry.array)
    not_point = np.flatnonzero(shapely.get_type_id(geoms) != shapely.GeometryType.POINT)
    if len(not_point):
        raise LayerValidationError(
            f"{len(not_point)} blockage report(s) are not points (first: row {int(not_point[0]) + 1}); "
            "give one point per report"
        )
    n = len(blockages)
    ids = _text_column(blockages, "blockage_id", [f"b{i + 1}" for i in range(n)])
    kind = _text_column(blockages, "kind", ["other"] * n)
    width = (pd.to_numeric(blockages["remaining_width_m"], errors="coerce").to_numpy(dtype=np.float64)
             if "remaining_width_m" in blockages.columns else np.full(n, np.nan))
    frame = gpd.GeoDataFrame(
        {"blockage_id": ids, "kind": kind, "status": _text_column(blockages, "status", ["reported"] * n),
         "remaining_width_m": width},
        geometry=list(geoms), crs=blockages.crs,
    ).to_crs(crs)
    wgs = np.asarray(blockages.geometry.to_crs("EPSG:4326").array)
    lon = [float(v) for v in shapely.get_x(wgs)]
    lat = [float(v) for v in shapely.get_y(wgs)]
    return _Reports(frame=frame, lon=lon, lat=lat, kind=kind, ids=ids)


def _reports(
    blockages: Sequence[Mapping[str, Any]] | gpd.GeoDataFrame, crs: object
) -> _Reports:
    if isinstance(blockages, gpd.GeoDataFrame):
        return _frame_reports(blockages, crs)
    return _Reports(
        frame=_blockage_frame(blockages, crs), lon=[b["lon"] for b in blockages],
        lat=[b["lat"] for b in blockages], kind=[b["kind"] for b in blockages], ids=None,
    )


def _response_change(
    analysis: Analysis,
    layers: Layers,
    preset: Preset,
    options: AnalysisOptions,
    reports: _Reports,
    max_rows: int,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The response section of a scenario (buildings cut off or delayed by the blocking reports)
    and one row per report (snapped, rejected, what it does to its lane)."""
    rules = BlockageRules()
    frame = reports.frame
    # points far from every street (or that do not project) are rejected before snapping
    geoms = np.asarray(frame.geometry.array)
    x, y = shapely.get_x(geoms), shapely.get_y(geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(analysis.graph.geometry)
    pad = SERVED_MARGIN_M
    near = (np.isfinite(x) & np.isfinite(y) & (x >= minx - pad) & (x <= maxx + pad)
            & (y >= miny - pad) & (y <= maxy + pad))
    frame = frame.loc[near].reset_index(drop=True)
    b = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
    access = AccessPoints.from_columns(b, max_access_m=options.access_distance_m)
    limit = float(preset.rule("station_response").value("value_s"))
    if analysis.response is None:
        return {"limit_s": limit, "note": "no fire station in the workspace: response times not computed"}, []
    result = blockage_impact(
        analysis.truck, analysis.response, frame, buildings=b, building_access=access,
        hydrant_snaps=analysis.hydrant_snaps, preset=preset, rules=rules, limit_s=limit,
    )
    rows = result.blockages
    out = _report_rows(reports, near, rows)
    full = (rows["effect"] == "full").to_numpy()
    edge_rows = pd.Index(analysis.graph.edge_id).get_indexer(rows["edge_id"].to_numpy(dtype=np.int64)[full])
    times = scenario_times(
        analysis.truck, analysis.response, edge_rows, rows["position_m"].to_numpy(dtype=np.float64)[full],
        points_edge=access.snaps.edge, points_position_m=access.snaps.position_m,
    )
    delays = _building_delays(b, times.base_point_time_s, times.combined_point_time_s, limit, max_rows)
    worst = delays.pop("buildings")
    doc = {
        "limit_s": limit,
        "blocked_edges": int(result.combined["blocked_edges"]),
        "reports_blocking": int(full.sum()),
        "reports_narrowing": int((rows["effect"] == "narrowed").sum()),
        "reports_rejected": int((rows["effect"] == "rejected").sum()) + int((~near).sum()),
        **delays,
        "hydrants_unreachable": int(result.combined["hydrants_unreachable"]),
        "buildings": worst,
    }
    return doc, out


def _report_rows(reports: _Reports, near: np.ndarray, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One row per report, in input order: what it does to its lane, or why it was rejected
    (``near`` False: outside the served area, before snapping)."""
    out: list[dict[str, Any]] = []
    row_of = np.cumsum(near) - 1
    for i in range(len(near)):
        head: dict[str, Any] = {"index": i}
        if reports.ids is not None:
            head["blockage_id"] = reports.ids[i]
        head.update({"lon": reports.lon[i], "lat": reports.lat[i]})
        if not near[i]:
            out.append({
                **head, "kind": reports.kind[i], "edge_id": None,
                "road_name": None, "offset_m": None, "edge_width_m": None, "remaining_width_m": None,
                "width_basis": "", "effect": "rejected",
                "reason": f"outside the served area (more than {SERVED_MARGIN_M / 1000:g} km from every "
                          "street)",
                "buildings_cut_alone": 0, "high_rises_cut_alone": 0,
            })
            continue
        r = rows.iloc[row_of[i]]
        out.append({
            **head, "kind": str(r["kind"]),
            "edge_id": int(r["edge_id"]) if int(r["edge_id"]) >= 0 else None,
            "road_name": str(r["road_name"]) or None,
            "offset_m": float(r["offset_m"]), "edge_width_m": float(r["edge_width_m"]),
            "remaining_width_m": float(r["remaining_width_m"]), "width_basis": str(r["width_basis"]),
            "effect": str(r["effect"]), "reason": str(r["reason"]) or None,
            "buildings_cut_alone": int(r["buildings_cut"]), "high_rises_cut_alone": int(r["high_rises_cut"]),
        })
    return out


def _building_delays(
    b: pd.DataFrame, before: np.ndarray, after: np.ndarray, limit: float, max_rows: int
) -> dict[str, Any]:
    """Buildings cut off, delayed and pushed past the response limit, and the worst of them."""
    reach_before = np.isfinite(before)
    cut = reach_before & ~np.isfinite(after)
    both = reach_before & np.isfinite(after)
    delay = np.zeros(len(before))
    delay[both] = after[both] - before[both]
    delayed = delay > 1e-6
    past = reach_before & (before <= limit) & (after > limit)
    high = b["high_rise_class"].isin(["class1", "class2"]).to_numpy()
    worst = np.flatnonzero(cut | delayed)
    worst = worst[np.lexsort((-delay[worst], ~cut[worst]))][:max_rows]
    ids = b["building_id"].astype(str).to_numpy(dtype=object)
    return {
        "buildings_cut_off": int(cut.sum()),
        "high_rises_cut_off": int((cut & high).sum()),
        "buildings_delayed": int(delayed.sum()),
        "buildings_past_limit": int(past.sum()),
        "max_delay_s": float(delay.max()) if len(delay) else 0.0,
        "median_delay_s": float(np.median(delay[delayed])) if delayed.any() else 0.0,
        "buildings": [
            {"building_id": str(ids[i]), "high_rise_class": str(b["high_rise_class"].iloc[i]),
             "response_s_before": float(before[i]), "response_s_after": float(after[i]),
             "cut_off": bool(cut[i]), "delay_s": float(delay[i]) if not cut[i] else None}
            for i in worst.tolist()
        ],
    }


def scenario_impact(
    layers: Layers,
    analysis: Analysis,
    *,
    preset: Preset,
    options: AnalysisOptions,
    out_of_service: Sequence[str] = (),
    blockages: Sequence[Mapping[str, Any]] | gpd.GeoDataFrame = (),
    max_rows: int = 50,
) -> dict[str, Any]:
    """What a scenario changes against an analysed workspace (nothing given is modified).

    Parameters
    ----------
    layers, analysis
        The workspace layers and their analysis (:func:`routing.analysis.analyze`).
    preset, options
        The rule preset and analysis options the analysis was run with.
    out_of_service
        ``hydrant_id`` values taken out of service: coverage is recomputed with the in-service
        mask without them; each building's counted hydrants and credited flow drop theirs.
    blockages
        Blocked lanes, either dicts of WGS84 ``lon``, ``lat``, ``kind`` and optional
        ``remaining_width_m`` (status ``reported``, the API's form), or a GeoDataFrame of
        reports in any CRS (:func:`geo.agency.read_agency_table` with ``layer="blockages"``:
        ``kind``, optional ``blockage_id``, ``status``, ``remaining_width_m``; closed reports
        have no effect). Reports more than :data:`SERVED_MARGIN_M` outside the streets' extent
        are rejected; the others are snapped and classified as
        :func:`routing.blockages.blockage_impact` does (30 m snap; width left against the
        apparatus' clear width); the blocking ones remove their lane from a new truck graph
        (:func:`routing.spt.scenario_times`: a point on the blocked lane is still reached
        from its own side).
    max_rows
        Rows per list in the answer (the worst first).

    Returns
    -------
    dict
        Raw quantities (metres, seconds, L/s, shares of one; NaN or None when not computed):
        ``hydrants_out_of_service``; ``coverage`` (covered street before/after, the edges
        losing coverage); ``water`` (buildings losing every hydrant in range or getting a flow
        deficit); ``blockages`` (one entry per report, in input order: ``index``, ``lon``,
        ``lat``, the snapped lane and the ``effect``; with ``blockage_id`` when the reports
        come as a frame); ``response`` (buildings cut off or delayed by all reports together).

    Raises
    ------
    NotFoundError
        A hydrant id is not in the workspace (all missing ids are listed).
    CRSError, LayerValidationError
        Blockage reports given as a frame without a CRS, a ``kind`` column, or as non-points.
    """
    out_rows = _hydrant_rows(layers.hydrants, out_of_service)
    doc: dict[str, Any] = {
        "hydrants_out_of_service": [str(i) for i in dict.fromkeys(out_of_service)],
        "coverage": _coverage_change(analysis, layers, options, out_rows, max_rows),
        "water": _water_change(analysis, {str(i) for i in out_of_service}, max_rows),
    }
    if len(blockages):
        response, reports = _response_change(
            analysis, layers, preset, options, _reports(blockages, layers.crs), max_rows
        )
    else:
        limit = analysis.summary.get("stations", {}).get("limit_s")
        response, reports = {"limit_s": None if limit is None else float(limit),
                             "blocked_edges": 0, "buildings_cut_off": 0, "buildings_delayed": 0,
                             "buildings": []}, []
    doc["blockages"] = reports
    doc["response"] = response
    log.info(
        "scenario: %d hydrants out, %d blockages: %.3f km less covered, %d buildings lose water, "
        "%s cut off", len(out_rows), len(blockages), -doc["coverage"]["change_m"] / 1000.0,
        doc["water"]["buildings_losing_water"], response.get("buildings_cut_off", 0),
    )
    return doc


# --- siting proposal ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Candidates, demand and coverage matrix of a workspace (reused across budgets)."""

    candidates: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    matrix: sp.csr_array


def siting_problem(analysis: Analysis, *, preset: Preset, spacing_m: float) -> SitingProblem:
    """Candidate sites every ``spacing_m`` along the uncovered streets, the demand (uncovered
    street and flow deficit) and which candidate covers which demand by hose-lay distance."""
    graph, coverage = analysis.graph, analysis.coverage
    buildings = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
    candidates = siting_candidates(
        graph, coverage, buildings=buildings,
        options=CandidateOptions.from_preset(preset, spacing_m=spacing_m),
    )
    demand = demand_segments(graph, coverage, buildings=buildings)
    matrix = coverage_matrix(graph, candidates, demand, radius_m=coverage.radius_m)
    return SitingProblem(candidates=candidates, demand=demand, matrix=matrix)


def solve_siting(
    problem: SitingProblem,
    *,
    k: int | None,
    budget_cny: float | None,
    cost: CostModel,
    method: Method,
    time_limit_s: float,
) -> SitingResult:
    """The best ``k`` sites, or sites within ``budget_cny``, or both
    (:func:`routing.siting.site_hydrants`); ``chosen`` is in the working CRS."""
    return site_hydrants(
        problem.candidates, problem.demand, problem.matrix, k=k, budget_cny=budget_cny, cost=cost,
        method=method, options=SolverOptions(time_limit_s=time_limit_s),
    )
