"""JSON documents of analysis results, the same for the CLI and the HTTP API.

Presentation lives here, at the edge: figures rounded for people, NaN as None ("not computed"),
points in WGS84 ``lon``/``lat``. The results themselves (:mod:`routing`) stay in the working CRS
with their raw quantities; ``firereach site`` and ``POST /analysis/siting`` both answer with
:func:`proposal_document`, ``GET /analysis/summary`` with the ``summary.json`` that ``firereach
analyze`` writes (:func:`summary_document`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.catalog import LayerName
from geo.errors import NotFoundError
from geo.layers import Layers
from reports.present import json_number, json_records, jsonable
from reports.present import summary_document as presented_summary
from routing.analysis import Analysis
from routing.scenario import SitingProblem, solve_siting
from routing.siting import CostModel, Method, SitingResult

__all__ = [
    "building_document",
    "districts_document",
    "proposal_document",
    "siting_proposal",
    "summary_document",
]


def summary_document(layers: Layers, analysis: Analysis) -> dict[str, Any]:
    """The sections of ``summary.json`` (as ``firereach analyze`` writes them) for this analysis."""
    result: dict[str, Any] = jsonable(presented_summary(layers, analysis))
    return result


def districts_document(table: gpd.GeoDataFrame) -> dict[str, Any]:
    """The districts answer: one row per report unit (no geometry; bbox in WGS84)."""
    units = sorted(set(table["unit"].astype(str))) if len(table) else []
    bbox: list[list[float] | None] = []
    if len(table):
        wgs = table.geometry.to_crs("EPSG:4326")
        for g in wgs:
            if g is None or g.is_empty:
                bbox.append(None)
            else:
                bbox.append([round(float(v), 7) for v in g.bounds])
    rows = json_records(table)
    for row, b in zip(rows, bbox, strict=True):
        row["bbox"] = b
    note = None
    if units == ["grid"]:
        note = "the workspace has no district boundaries covering its streets: report units are a 1 km grid"
    return {"units": units, "count": len(rows), "note": note, "districts": rows}


def _building_row(analysis: Analysis, building_id: str) -> tuple[int, pd.Series]:
    b = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
    ids = b["building_id"].astype(str).to_numpy(dtype=object)
    hit = np.flatnonzero(ids == building_id)
    if len(hit) == 0:
        raise NotFoundError(f"no building {building_id!r} in the workspace (ids look like osm/w123)")
    return int(hit[0]), b.iloc[int(hit[0])]


def building_document(analysis: Analysis, building_id: str) -> dict[str, Any]:
    """One building's water and access verdicts (see :func:`building`)."""
    _, b = _building_row(analysis, building_id)
    pairs = analysis.layers[LayerName.BUILDING_HYDRANTS]
    mine = pairs.loc[pairs["building_id"].astype(str) == building_id].sort_values("distance_m")
    found = analysis.findings
    found = found.loc[(found["feature_id"].astype(str) == building_id)
                      & found["layer"].isin(["buildings", LayerName.HIGH_RISE_ACCESS])]
    access_edge = int(b["access_edge"])
    response = float(b["response_s"])
    graph = analysis.graph
    doc: dict[str, Any] = {
        "building_id": building_id,
        "name": str(b.get("name", "")),
        "building": str(b.get("building", "")),
        "use": str(b.get("use", "")),
        "height_m": json_number(b.get("height_m")),
        "high_rise_class": str(b.get("high_rise_class", "")),
        "water": {
            "hydrants_in_range": int(b["hydrants_in_range"]),
            "credited_flow_lps": json_number(b["credited_flow_lps"]),
            "required_flow_lps": json_number(b["required_flow_lps"]),
            "flow_deficit_lps": json_number(b["flow_deficit_lps"]),
            "nearest_hydrant_m": json_number(b["nearest_hydrant_m"]),
            "hydrants": json_records(mine[["hydrant_id", "distance_m", "credited_lps"]]),
        },
        "access": {
            "edge_id": int(graph.edge_id[access_edge]) if access_edge >= 0 else None,
            "road_name": str(graph.roads["name"].iloc[access_edge]) if access_edge >= 0 else None,
            "position_m": json_number(b["access_position_m"]),
            "offset_m": json_number(b["access_offset_m"]),
            "reason": str(b["access_reason"]),
            "response_s": json_number(b["response_s"], 1),
            # NaN: not computed (no station), inf: no truck route
            "reachable": None if np.isnan(response) else bool(np.isfinite(response)),
            "first_due_station": str(b["first_due_station"]) or None,
            "response_limit_s": json_number(analysis.summary.get("stations", {}).get("limit_s")),
        },
        "flags": [f for f in str(b.get("flags", "")).split(";") if f],
        "findings": json_records(found),
    }
    high = analysis.layers.get(LayerName.HIGH_RISE_ACCESS)
    if high is not None and len(high):
        hr = high.loc[high["building_id"].astype(str) == building_id]
        doc["high_rise_access"] = json_records(hr)[0] if len(hr) else None
    return doc


def proposal_document(
    result: SitingResult, *, problem: SitingProblem, analysis: Analysis
) -> dict[str, Any]:
    """A solved siting problem as a JSON-ready dict: the chosen sites (WGS84 ``lon``/``lat``),
    covered street before/after, solver status and bounds, the budget curve."""
    chosen = result.chosen
    sites = []
    if len(chosen):
        pts = chosen.geometry.to_crs("EPSG:4326")
        keep = [c for c in ("order", "candidate_id", "edge_id", "name", "highway", "side", "position_m",
                            "offset_m", "cost_cny", "marginal_m", "marginal_weight", "cumulative_cost_cny")
                if c in chosen.columns]
        sites = json_records(pd.DataFrame(chosen[keep]))
        for site, p in zip(sites, pts, strict=True):
            site["lon"], site["lat"] = round(p.x, 7), round(p.y, 7)
    base = analysis.coverage
    road_km = base.road_m / 1000.0
    before_km = base.total_covered_m / 1000.0
    after_km = before_km + result.covered_m / 1000.0
    return {
        "problem": result.problem,
        "method": result.method,
        "status": result.status,
        "n_hydrants": result.n_hydrants,
        "cost_cny": json_number(result.cost_cny, 2),
        "covered_km_added": json_number(result.covered_m / 1000.0),
        "covered_km_before": round(before_km, 3),
        "covered_km_after": round(after_km, 3),
        "covered_pct_before": round(100 * before_km / road_km, 2) if road_km else None,
        "covered_pct_after": round(100 * after_km / road_km, 2) if road_km else None,
        "covered_weight": json_number(result.covered_weight),
        "lp_bound": json_number(result.lp_bound),
        "gap": json_number(result.gap, 6),
        "guarantee": json_number(result.guarantee, 6),
        "candidates": len(problem.candidates),
        "demand_segments": len(problem.demand),
        "solve_s": json_number(result.solve_s),
        "sites": sites,
        "budget_curve": json_records(result.budget_curve),
    }


def siting_proposal(
    problem: SitingProblem,
    analysis: Analysis,
    *,
    k: int | None,
    budget_cny: float | None,
    cost: CostModel,
    method: Method,
    time_limit_s: float,
) -> dict[str, Any]:
    """Solve the siting problem and describe the chosen sites (:func:`proposal_document`)."""
    result = solve_siting(
        problem, k=k, budget_cny=budget_cny, cost=cost, method=method, time_limit_s=time_limit_s
    )
    return proposal_document(result, problem=problem, analysis=analysis)
