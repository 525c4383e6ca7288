"""Analysis results and what-if requests: summary, districts, one building, scenario, siting.

The GET endpoints read the analysis loaded at start-up. ``POST /analysis/scenario`` and
``POST /analysis/siting`` derive new results from the loaded graphs and layers without touching
them (STYLE habit 3): a scenario is a new truck graph and a new in-service mask, never an edit.
The work is done by the functions at the end of this module, which take explicit arguments and
return plain dicts; the route handlers only read the workspace and validate the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api import ogc
from api.auth import require
from api.deps import WorkspaceDep
from api.live import live_state
from api.workspace import Workspace
from geo.errors import NotFoundError
from geo.layers import Layers, layer_counts
from geo.presets import Preset
from routing.analysis import Analysis, AnalysisOptions
from routing.blockages import BlockageRules, blockage_impact, scenario_times
from routing.coverage import hydrant_coverage
from routing.siting import (
    CandidateOptions,
    CostModel,
    SolverOptions,
    coverage_matrix,
    demand_segments,
    site_hydrants,
    siting_candidates,
)
from routing.snap import SnapResult
from routing.water import AccessPoints

log = logging.getLogger(__name__)

router = APIRouter(prefix="/analysis", tags=["analysis"], lifespan=live_state)
#: Reading results is ``read`` (public when ``public_read``); what-ifs are planning (planner, admin).
READ = [Depends(require("read"))]
PLAN = [Depends(require("plan"))]

MAX_IDS = 1000
MAX_BLOCKAGES = 500
MAX_ROWS = 1000
#: Blockages farther than this (m) outside the streets' extent are rejected without snapping.
_SERVED_MARGIN_M = 1000.0
_ERRORS = ogc.error_responses(400, 401, 403, 404, 409, 422)

#: The kinds of :data:`routing.blockages.BLOCKAGE_KINDS` (a test checks they agree).
BlockageKind = Literal["parked_vehicle", "gate", "structure", "goods", "stall", "other"]


# --- requests -------------------------------------------------------------------------------------


def _integral(value: Any) -> Any:
    """JSON has one number type: 12.0 is the integer 12 (JSON Schema agrees); 12.5 is not."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value




class ScenarioBlockage(BaseModel):
    """One blocked lane, as an inspector reports it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False, description="WGS84 longitude")
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False, description="WGS84 latitude")
    kind: BlockageKind = Field(description="what blocks the lane")
    remaining_width_m: float | None = Field(
        default=None, ge=0, le=100, allow_inf_nan=False,
        description="measured clear width left (m); else estimated from the kind and the lane width",
    )


class ScenarioIn(BaseModel):
    """A what-if: hydrants out of service and lanes blocked, on top of the loaded workspace."""

    model_config = ConfigDict(extra="forbid", strict=True)

    hydrants_out_of_service: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=MAX_IDS, description="hydrant_id values"
    )
    blockages: list[ScenarioBlockage] = Field(default_factory=list, max_length=MAX_BLOCKAGES)
    max_rows: int = Field(default=50, ge=0, le=MAX_ROWS, description="rows per list in the answer")

    _integral_rows = field_validator("max_rows", mode="before")(_integral)


class SitingIn(BaseModel):
    """Where to add hydrants: ``k`` new hydrants, a budget in CNY, or both."""

    model_config = ConfigDict(
        extra="forbid", strict=True,
        json_schema_extra={"anyOf": [
            {"required": ["k"], "properties": {"k": {"type": "integer", "minimum": 1, "maximum": 500}}},
            {"required": ["budget_cny"],
             "properties": {"budget_cny": {"type": "number", "minimum": 1, "maximum": 1e10}}},
        ]},
    )

    k: int | None = Field(default=None, ge=1, le=500, description="number of new hydrants, at most")
    budget_cny: Annotated[float, Field(ge=1, le=1e10, allow_inf_nan=False)] | None = Field(
        default=None, description="budget in CNY, at most"
    )
    hydrant_cny: float = Field(default=15_000.0, ge=1, le=1e7, allow_inf_nan=False,
                               description="cost of one hydrant installed (an assumption)")
    method: Literal["auto", "mip", "greedy"] = "auto"
    spacing_m: float = Field(default=50.0, ge=10, le=500, allow_inf_nan=False,
                             description="candidate spacing along uncovered streets")
    time_limit_s: float = Field(default=20.0, gt=0, le=60, allow_inf_nan=False)

    _integral_k = field_validator("k", mode="before")(_integral)

    @model_validator(mode="after")
    def _k_or_budget(self) -> SitingIn:
        if self.k is None and self.budget_cny is None:
            raise ValueError("give k (number of new hydrants) or budget_cny, or both")
        return self


# --- helpers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    layers: Layers
    analysis: Analysis
    preset: Preset
    options: AnalysisOptions
    version: int


def _state(ws: Workspace) -> _State:
    with ws.lock:
        return _State(ws.layers, ws.analysis, ws.preset, ws.options, ogc.workspace_version(ws))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (NaN and inf become null)."""
    if len(frame) == 0:
        return []
    plain = pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))
    rows: list[dict[str, Any]] = json.loads(
        plain.to_json(orient="records", force_ascii=False, default_handler=str)
    )
    return rows


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN and infinities to None, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _num(value: object, digits: int = 3) -> float | None:
    """A finite float rounded, else None."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(v, digits) if np.isfinite(v) else None


def _memo(request: Request, kind: str, name: str, owner: object, version: int, build: Any) -> Any:
    """A result derived from ``owner`` (the analysis), built once per analysis and version."""
    cache: ogc.FrameCache[Any] = ogc.app_cache(request.app.state, f"memo_{kind}", ogc.FrameCache)
    return cache.get(name, owner, version, build)


# --- routes ---------------------------------------------------------------------------------------


@router.get("/summary", summary="Analysis summary (summary.json)", responses=_ERRORS, dependencies=READ)
def summary(ws: WorkspaceDep) -> dict[str, Any]:
    """The figures of ``summary.json``: layer counts, source, coverage, buildings, stations,
    high-rises, lanes, findings, for the analysis being served."""
    st = _state(ws)
    return summary_document(st.layers, st.analysis)


@router.get("/districts", summary="Coverage summary by district", responses=_ERRORS, dependencies=READ)
def districts(ws: WorkspaceDep, request: Request) -> dict[str, Any]:
    """Every result added up per report unit (administrative district, else a 1 km grid) and
    graded 严重/较重/一般 (:mod:`reports.districts`)."""
    st = _state(ws)
    table = _memo(request, "districts", "districts", st.analysis, st.version,
                  lambda: district_table(st.layers, st.analysis))
    return districts_document(table)


@router.get(
    "/buildings/{building_id:path}", summary="One building's water and access verdicts", responses=_ERRORS,
    dependencies=READ,
)
def building(
    ws: WorkspaceDep,
    building_id: Annotated[str, Path(description="building_id, e.g. osm/w8042215", max_length=200)],
) -> dict[str, Any]:
    """Hydrants in range, credited and required flow, deficit, access point, response time,
    first-due station, high-rise access and the findings of one building."""
    st = _state(ws)
    return building_document(st.analysis, building_id)


@router.post(
    "/scenario", summary="What-if: hydrants out of service, lanes blocked", responses=_ERRORS,
    dependencies=PLAN,
)
def scenario(ws: WorkspaceDep, body: ScenarioIn) -> dict[str, Any]:
    """Impact of taking hydrants out of service and blocking lanes, against the loaded analysis:
    covered street km before/after, buildings losing water, buildings cut off or delayed."""
    st = _state(ws)
    return scenario_impact(
        st.layers, st.analysis, preset=st.preset, options=st.options,
        out_of_service=body.hydrants_out_of_service,
        blockages=[b.model_dump() for b in body.blockages], max_rows=body.max_rows,
    )


@router.post("/siting", summary="Where to add hydrants", responses=_ERRORS, dependencies=PLAN)
def siting(ws: WorkspaceDep, request: Request, body: SitingIn) -> dict[str, Any]:
    """A proposal of new hydrant sites (routing.siting): the most uncovered street and flow
    deficit covered by ``k`` hydrants or a budget, by hose-lay distance."""
    st = _state(ws)
    problem = _memo(request, "siting", f"siting/{body.spacing_m:g}", st.analysis, st.version,
                    lambda: siting_problem(st.analysis, preset=st.preset, spacing_m=body.spacing_m))
    return siting_proposal(
        problem, st.analysis, k=body.k, budget_cny=body.budget_cny,
        cost=CostModel(hydrant_cny=body.hydrant_cny), method=body.method,
        time_limit_s=body.time_limit_s,
    )


# --- summary, districts, building -----------------------------------------------------------------


def summary_document(layers: Layers, analysis: Analysis) -> dict[str, Any]:
    """The sections of ``summary.json`` (as ``firereach analyze`` writes them) for this analysis."""
    out: dict[str, Any] = layer_counts(layers)
    out["source"] = {"osm": layers.source, "crs": layers.crs.to_string(), **layers.osm_notes}
    for section, values in analysis.summary.items():
        out.setdefault(section, {}).update(values)
    result: dict[str, Any] = jsonable(out)
    return result


def district_table(layers: Layers, analysis: Analysis) -> gpd.GeoDataFrame:
    """The district summary of :func:`reports.districts.district_summary`."""
    from reports.districts import district_summary

    return district_summary(layers, analysis)


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
    rows = _records(table)
    for row, b in zip(rows, bbox, strict=True):
        row["bbox"] = b
    note = None
    if units == ["grid"]:
        note = "the workspace has no district boundaries covering its streets: report units are a 1 km grid"
    return {"units": units, "count": len(rows), "note": note, "districts": rows}


def _building_row(analysis: Analysis, building_id: str) -> tuple[int, pd.Series]:
    b = analysis.layers["buildings_analysis"]
    ids = b["building_id"].astype(str).to_numpy(dtype=object)
    hit = np.flatnonzero(ids == building_id)
    if len(hit) == 0:
        raise NotFoundError(f"no building {building_id!r} in the workspace (ids look like osm/w123)")
    return int(hit[0]), b.iloc[int(hit[0])]


def building_document(analysis: Analysis, building_id: str) -> dict[str, Any]:
    """One building's water and access verdicts (see :func:`building`)."""
    _, b = _building_row(analysis, building_id)
    pairs = analysis.layers["building_hydrants"]
    mine = pairs.loc[pairs["building_id"].astype(str) == building_id].sort_values("distance_m")
    found = analysis.findings
    found = found.loc[(found["feature_id"].astype(str) == building_id)
                      & found["layer"].isin(["buildings", "high_rise_access"])]
    access_edge = int(b["access_edge"])
    graph = analysis.graph
    doc: dict[str, Any] = {
        "building_id": building_id,
        "name": str(b.get("name", "")),
        "building": str(b.get("building", "")),
        "use": str(b.get("use", "")),
        "height_m": _num(b.get("height_m")),
        "high_rise_class": str(b.get("high_rise_class", "")),
        "water": {
            "hydrants_in_range": int(b["hydrants_in_range"]),
            "credited_flow_lps": _num(b["credited_flow_lps"]),
            "required_flow_lps": _num(b["required_flow_lps"]),
            "flow_deficit_lps": _num(b["flow_deficit_lps"]),
            "nearest_hydrant_m": _num(b["nearest_hydrant_m"]),
            "hydrants": _records(mine[["hydrant_id", "distance_m", "credited_lps"]]),
        },
        "access": {
            "edge_id": int(graph.edge_id[access_edge]) if access_edge >= 0 else None,
            "road_name": str(graph.roads["name"].iloc[access_edge]) if access_edge >= 0 else None,
            "position_m": _num(b["access_position_m"]),
            "offset_m": _num(b["access_offset_m"]),
            "reason": str(b["access_reason"]),
            "response_s": _num(b["response_s"], 1),
            "reachable": bool(np.isfinite(float(b["response_s"]))),
            "first_due_station": str(b["first_due_station"]) or None,
            "response_limit_s": _num(analysis.summary.get("stations", {}).get("limit_s")),
        },
        "flags": [f for f in str(b.get("flags", "")).split(";") if f],
        "findings": _records(found),
    }
    high = analysis.layers.get("high_rise_access")
    if high is not None and len(high):
        hr = high.loc[high["building_id"].astype(str) == building_id]
        doc["high_rise_access"] = _records(hr)[0] if len(hr) else None
    return doc


# --- scenario -------------------------------------------------------------------------------------


def _access_points(buildings: pd.DataFrame) -> AccessPoints:
    offset = buildings["access_offset_m"].to_numpy(dtype=np.float64)
    reason = buildings["access_reason"].astype(str).to_numpy(dtype=object)
    snaps = SnapResult(
        edge=buildings["access_edge"].to_numpy(dtype=np.int64),
        position_m=buildings["access_position_m"].to_numpy(dtype=np.float64),
        offset_m=offset, point=np.full(len(buildings), None, dtype=object), reason=reason,
    )
    return AccessPoints(snaps=snaps, offset_m=offset, reason=reason)


def _hydrant_rows(hydrants: pd.DataFrame, ids: Sequence[str]) -> np.ndarray:
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
    road_km = base.road_m / 1000.0
    before_km = base.total_covered_m / 1000.0
    doc: dict[str, Any] = {
        "radius_m": base.radius_m, "method": base.method, "road_km": round(road_km, 3),
        "covered_km_before": round(before_km, 3),
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
            hydrant_points=layers.hydrants.geometry,
        )
        after_m = after.covered_m
    lost = base.covered_m - after_m
    losing = np.flatnonzero(lost > 1e-6)
    after_km = float(after_m.sum()) / 1000.0
    doc.update({
        "covered_km_after": round(after_km, 3),
        "change_km": round(after_km - before_km, 3),
        "covered_pct_before": round(100 * before_km / road_km, 2) if road_km else 0.0,
        "covered_pct_after": round(100 * after_km / road_km, 2) if road_km else 0.0,
        "edges_losing_coverage": len(losing),
    })
    order = losing[np.argsort(-lost[losing], kind="stable")][:max_rows]
    roads = analysis.graph.roads
    doc["edges"] = [
        {"edge_id": int(analysis.graph.edge_id[e]), "name": str(roads["name"].iloc[e]),
         "length_m": _num(analysis.graph.length_m[e], 1), "covered_m_before": _num(base.covered_m[e], 1),
         "covered_m_after": _num(after_m[e], 1)}
        for e in order.tolist()
    ]
    return doc


def _water_change(analysis: Analysis, out_ids: set[str], max_rows: int) -> dict[str, Any]:
    b = analysis.layers["buildings_analysis"]
    pairs = analysis.layers["building_hydrants"]
    kept = pairs.loc[~pairs["hydrant_id"].astype(str).isin(out_ids)]
    grouped = kept.groupby("building_id").agg(n=("hydrant_id", "size"), lps=("credited_lps", "sum"))
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
             "credited_lps_before": _num(lps_before[i], 1), "credited_lps_after": _num(lps_after[i], 1),
             "deficit_lps_after": _num(deficit_after[i], 1) if np.isfinite(required[i]) else None}
            for i in order.tolist()
        ],
    }


def _blockage_frame(blockages: Sequence[dict[str, Any]], crs: object) -> gpd.GeoDataFrame:
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


def _response_change(
    analysis: Analysis, layers: Layers, preset: Preset, blockages: Sequence[dict[str, Any]], max_rows: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    rules = BlockageRules()
    frame = _blockage_frame(blockages, layers.crs)
    # points far from every street (or that do not project) are rejected before snapping
    xy = shapely.get_coordinates(np.asarray(frame.geometry.array))
    minx, miny, maxx, maxy = shapely.total_bounds(analysis.graph.geometry)
    pad = _SERVED_MARGIN_M
    near = (np.isfinite(xy).all(axis=1) & (xy[:, 0] >= minx - pad) & (xy[:, 0] <= maxx + pad)
            & (xy[:, 1] >= miny - pad) & (xy[:, 1] <= maxy + pad))
    frame = frame.loc[near].reset_index(drop=True)
    b = analysis.layers["buildings_analysis"]
    access = _access_points(b)
    limit = float(preset.rule("station_response").value("value_s"))
    reports: list[dict[str, Any]] = []
    if analysis.response is None:
        return {"limit_s": limit, "note": "no fire station in the workspace: response times not computed"}, []
    result = blockage_impact(
        analysis.truck, analysis.response, frame, buildings=b, building_access=access,
        hydrant_snaps=analysis.hydrant_snaps, preset=preset, rules=rules, limit_s=limit,
    )
    rows = result.blockages
    row_of = np.cumsum(near) - 1
    for i, src in enumerate(blockages):
        if not near[i]:
            reports.append({
                "index": i, "lon": src["lon"], "lat": src["lat"], "kind": src["kind"], "edge_id": None,
                "road_name": None, "offset_m": None, "edge_width_m": None, "remaining_width_m": None,
                "width_basis": "", "effect": "rejected",
                "reason": f"outside the served area (more than {pad / 1000:g} km from every street)",
                "buildings_cut_alone": 0, "high_rises_cut_alone": 0,
            })
            continue
        r = rows.iloc[row_of[i]]
        reports.append({
            "index": i, "lon": src["lon"], "lat": src["lat"], "kind": str(r["kind"]),
            "edge_id": int(r["edge_id"]) if int(r["edge_id"]) >= 0 else None,
            "road_name": str(r["road_name"]) or None,
            "offset_m": _num(r["offset_m"], 2), "edge_width_m": _num(r["edge_width_m"], 2),
            "remaining_width_m": _num(r["remaining_width_m"], 2), "width_basis": str(r["width_basis"]),
            "effect": str(r["effect"]), "reason": str(r["reason"]) or None,
            "buildings_cut_alone": int(r["buildings_cut"]), "high_rises_cut_alone": int(r["high_rises_cut"]),
        })
    full = (rows["effect"] == "full").to_numpy()
    edge_rows = pd.Index(analysis.graph.edge_id).get_indexer(rows["edge_id"].to_numpy(dtype=np.int64)[full])
    times = scenario_times(
        analysis.truck, analysis.response, edge_rows, rows["position_m"].to_numpy(dtype=np.float64)[full],
        points_edge=access.snaps.edge, points_position_m=access.snaps.position_m,
    )
    before = times.base_point_time_s
    after = times.combined_point_time_s
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
    doc = {
        "limit_s": limit,
        "blocked_edges": int(result.combined["blocked_edges"]),
        "reports_blocking": int(full.sum()),
        "reports_narrowing": int((rows["effect"] == "narrowed").sum()),
        "reports_rejected": int((rows["effect"] == "rejected").sum()) + int((~near).sum()),
        "buildings_cut_off": int(cut.sum()),
        "high_rises_cut_off": int((cut & high).sum()),
        "buildings_delayed": int(delayed.sum()),
        "buildings_past_limit": int(past.sum()),
        "max_delay_s": _num(delay.max() if len(delay) else 0.0, 1),
        "median_delay_s": _num(np.median(delay[delayed]) if delayed.any() else 0.0, 1),
        "hydrants_unreachable": int(result.combined["hydrants_unreachable"]),
        "buildings": [
            {"building_id": str(ids[i]), "high_rise_class": str(b["high_rise_class"].iloc[i]),
             "response_s_before": _num(before[i], 1), "response_s_after": _num(after[i], 1),
             "cut_off": bool(cut[i]), "delay_s": _num(delay[i], 1) if not cut[i] else None}
            for i in worst.tolist()
        ],
    }
    return doc, reports


def scenario_impact(
    layers: Layers,
    analysis: Analysis,
    *,
    preset: Preset,
    options: AnalysisOptions,
    out_of_service: Sequence[str] = (),
    blockages: Sequence[dict[str, Any]] = (),
    max_rows: int = 50,
) -> dict[str, Any]:
    """What a scenario changes against the loaded analysis (nothing loaded is modified).

    Parameters
    ----------
    layers, analysis
        The served workspace.
    preset, options
        Its rule preset and analysis options.
    out_of_service
        ``hydrant_id`` values taken out of service: coverage is recomputed with the in-service
        mask without them; each building's counted hydrants and credited flow drop theirs.
    blockages
        Blocked lanes (``lon``, ``lat``, ``kind``, optional ``remaining_width_m``): snapped and
        classified as :func:`routing.blockages.blockage_impact` does (30 m snap; width left
        against the apparatus' clear width); the blocking ones remove their lane from a new
        truck graph (:func:`routing.blockages.scenario_times`: a point on the blocked lane is
        still reached from its own side).
    max_rows
        Rows per list in the answer (the worst first).

    Raises
    ------
    NotFoundError
        A hydrant id is not in the workspace (all missing ids are listed).
    """
    out_rows = _hydrant_rows(layers.hydrants, out_of_service)
    doc: dict[str, Any] = {
        "hydrants_out_of_service": [str(i) for i in dict.fromkeys(out_of_service)],
        "coverage": _coverage_change(analysis, layers, options, out_rows, max_rows),
        "water": _water_change(analysis, {str(i) for i in out_of_service}, max_rows),
    }
    if blockages:
        response, reports = _response_change(analysis, layers, preset, blockages, max_rows)
    else:
        response, reports = {"limit_s": _num(analysis.summary.get("stations", {}).get("limit_s")),
                             "blocked_edges": 0, "buildings_cut_off": 0, "buildings_delayed": 0,
                             "buildings": []}, []
    doc["blockages"] = reports
    doc["response"] = response
    log.info(
        "scenario: %d hydrants out, %d blockages: %.3f km less covered, %d buildings lose water, "
        "%s cut off", len(out_rows), len(blockages), -doc["coverage"]["change_km"],
        doc["water"]["buildings_losing_water"], response.get("buildings_cut_off", 0),
    )
    return doc


# --- siting ---------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Candidates, demand and coverage matrix of a workspace (reused across budgets)."""

    candidates: gpd.GeoDataFrame
    demand: gpd.GeoDataFrame
    matrix: Any


def siting_problem(analysis: Analysis, *, preset: Preset, spacing_m: float) -> SitingProblem:
    """Candidate sites along the uncovered streets, the demand and who covers what."""
    graph, coverage = analysis.graph, analysis.coverage
    buildings = analysis.layers["buildings_analysis"]
    candidates = siting_candidates(
        graph, coverage, buildings=buildings,
        options=CandidateOptions.from_preset(preset, spacing_m=spacing_m),
    )
    demand = demand_segments(graph, coverage, buildings=buildings)
    matrix = coverage_matrix(graph, candidates, demand, radius_m=coverage.radius_m)
    return SitingProblem(candidates=candidates, demand=demand, matrix=matrix)


def siting_proposal(
    problem: SitingProblem,
    analysis: Analysis,
    *,
    k: int | None,
    budget_cny: float | None,
    cost: CostModel,
    method: Literal["auto", "mip", "greedy"],
    time_limit_s: float,
) -> dict[str, Any]:
    """Solve the siting problem and describe the chosen sites (WGS84)."""
    result = site_hydrants(
        problem.candidates, problem.demand, problem.matrix, k=k, budget_cny=budget_cny, cost=cost,
        method=method, options=SolverOptions(time_limit_s=time_limit_s),
    )
    chosen = result.chosen
    sites = []
    if len(chosen):
        pts = chosen.geometry.to_crs("EPSG:4326")
        keep = [c for c in ("order", "candidate_id", "edge_id", "name", "highway", "side", "position_m",
                            "offset_m", "cost_cny", "marginal_m", "marginal_weight", "cumulative_cost_cny")
                if c in chosen.columns]
        sites = _records(pd.DataFrame(chosen[keep]))
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
        "cost_cny": _num(result.cost_cny, 2),
        "covered_km_added": _num(result.covered_m / 1000.0),
        "covered_km_before": round(before_km, 3),
        "covered_km_after": round(after_km, 3),
        "covered_pct_before": round(100 * before_km / road_km, 2) if road_km else 0.0,
        "covered_pct_after": round(100 * after_km / road_km, 2) if road_km else 0.0,
        "covered_weight": _num(result.covered_weight),
        "lp_bound": _num(result.lp_bound),
        "gap": _num(result.gap, 6),
        "guarantee": _num(result.guarantee, 6),
        "candidates": len(problem.candidates),
        "demand_segments": len(problem.demand),
        "solve_s": _num(result.solve_s),
        "sites": sites,
        "budget_curve": _records(result.budget_curve),
    }
