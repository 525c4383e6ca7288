"""Analysis results and what-if requests: summary, districts, one building, scenario, siting.

The GET endpoints read the analysis loaded at start-up. ``POST /analysis/scenario`` and
``POST /analysis/siting`` derive new results from the loaded graphs and layers without touching
them (STYLE habit 3): a scenario is a new truck graph and a new in-service mask, never an edit.
The work is done by :mod:`routing.scenario` and presented by :mod:`api.documents`, which
``firereach scenario`` and ``firereach site`` call too; the route handlers only read the
workspace, validate the request and call them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import geopandas as gpd
from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api import ogc
from api.auth import require
from api.deps import WorkspaceDep
from api.documents import building_document, districts_document, siting_proposal, summary_document
from api.fireground import fireground_document, fireground_point
from api.responses import (
    BuildingOut,
    DistrictsOut,
    FiregroundOut,
    ScenarioOut,
    SitingOut,
    SummaryOut,
)
from api.workspace import Workspace
from geo.crs import to_wgs84
from geo.layers import Layers
from geo.presets import Preset
from reports.districts import district_summary, grade_counts
from reports.present import jsonable, present_scenario
from routing.analysis import Analysis, AnalysisOptions
from routing.scenario import scenario_impact, siting_problem
from routing.siting import CostModel

log = logging.getLogger(__name__)

router = APIRouter(prefix="/analysis", tags=["analysis"])
#: Reading results is ``read`` (public when ``public_read``); what-ifs are planning (planner, admin).
READ = [Depends(require("read"))]
PLAN = [Depends(require("plan"))]

MAX_IDS = 1000
MAX_BLOCKAGES = 500
MAX_ROWS = 1000
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


def _one_fire_schema(schema: dict[str, Any]) -> None:
    """A point or a building, said in the schema: lon/lat/building_id are given as values
    (never null) and exactly one of the two forms is present."""
    for name in ("lon", "lat", "building_id"):
        prop = schema["properties"][name]
        kept = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        prop.pop("default", None)
        if kept:
            prop.update(kept[0])
    schema["oneOf"] = [
        {"required": ["lon", "lat"], "not": {"required": ["building_id"]}},
        {"required": ["building_id"], "not": {"anyOf": [{"required": ["lon"]}, {"required": ["lat"]}]}},
    ]


class FiregroundIn(BaseModel):
    """A fire: a point (``lon``, ``lat`` in ``crs``) or a ``building_id``, and the trucks."""

    model_config = ConfigDict(extra="forbid", strict=True, json_schema_extra=_one_fire_schema)

    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    crs: Literal["wgs84", "gcj02", "bd09"] = Field(
        default="wgs84", description="of lon/lat: a phone map in China gives gcj02 or bd09")
    building_id: str | None = Field(default=None, min_length=1, max_length=200)
    trucks: int = Field(ge=1, le=50, description="trucks to supply")
    truck_lps: float = Field(default=15.0, gt=0, le=200, description="flow each truck draws, L/s")
    reach_m: float = Field(default=150.0, gt=0, le=2000, description="hose-lay reach, m")

    _integral_trucks = field_validator("trucks", mode="before")(_integral)

    @model_validator(mode="after")
    def _one_fire(self) -> FiregroundIn:
        point = self.lon is not None and self.lat is not None
        if point == (self.building_id is not None) or (self.lon is None) != (self.lat is None):
            raise ValueError("give either lon and lat, or building_id")
        return self


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
    now = ws.snapshot()
    return _State(now.layers, now.analysis, ws.preset, ws.options, now.version)


def _memo(request: Request, kind: str, name: str, owner: object, version: int, build: Any) -> Any:
    """A result derived from ``owner`` (the analysis), built once per analysis and version."""
    cache: ogc.FrameCache[Any] = ogc.app_cache(request.app.state, f"memo_{kind}", ogc.FrameCache)
    return cache.get(name, owner, version, build)


# --- routes ---------------------------------------------------------------------------------------


@router.get("/summary", summary="Analysis summary (summary.json)", responses=_ERRORS, dependencies=READ,
            response_model=SummaryOut, response_model_exclude_unset=True)
def summary(ws: WorkspaceDep, request: Request) -> dict[str, Any]:
    """The figures of ``summary.json``: layer counts, source, coverage, buildings, stations,
    high-rises, lanes, findings and the district grades, for the analysis being served."""
    st = _state(ws)
    doc = summary_document(st.layers, st.analysis)
    table = _memo(request, "districts", "districts", st.analysis, st.version,
                  lambda: district_table(st.layers, st.analysis))
    doc["districts"] = {**doc.get("districts", {}), **grade_counts(table)}  # as the reports add it
    return doc


@router.get("/districts", summary="Coverage summary by district", responses=_ERRORS, dependencies=READ,
            response_model=DistrictsOut)
def districts(ws: WorkspaceDep, request: Request) -> dict[str, Any]:
    """Every result added up per report unit (administrative district, else a 1 km grid) and
    graded 严重/较重/一般 (:mod:`reports.districts`)."""
    st = _state(ws)
    table = _memo(request, "districts", "districts", st.analysis, st.version,
                  lambda: district_table(st.layers, st.analysis))
    return districts_document(table)


@router.get(
    "/buildings/{building_id:path}", summary="One building's water and access verdicts", responses=_ERRORS,
    dependencies=READ, response_model=BuildingOut, response_model_exclude_unset=True,
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
    dependencies=PLAN, response_model=ScenarioOut, response_model_exclude_unset=True,
)
def scenario(ws: WorkspaceDep, body: ScenarioIn) -> dict[str, Any]:
    """Impact of taking hydrants out of service and blocking lanes, against the loaded analysis:
    covered street km before/after, buildings losing water, buildings cut off or delayed."""
    st = _state(ws)
    return present_scenario(scenario_impact(
        st.layers, st.analysis, preset=st.preset, options=st.options,
        out_of_service=body.hydrants_out_of_service,
        blockages=[b.model_dump() for b in body.blockages], max_rows=body.max_rows,
    ))


@router.post(
    "/fireground", summary="Fireground supply: which hydrants N trucks should draw from",
    responses=_ERRORS, dependencies=PLAN, response_model=FiregroundOut,
    response_model_exclude_unset=True,
)
def fireground(ws: WorkspaceDep, body: FiregroundIn) -> dict[str, Any]:
    """The hydrants within hose-lay reach of a fire with their live status, the trucks spread
    over the branch mains (GB 50974 6.1.5(3); a served workspace keeps the pipes, not a
    hydraulic model, so pressures are not computed here: use ``firereach fireground --network``),
    the naive "N nearest" beside it, and relay distances when nothing usable is in reach."""
    st = _state(ws)
    lonlat = None
    if body.lon is not None and body.lat is not None:
        x, y = to_wgs84([body.lon], [body.lat], body.crs)
        lonlat = (float(x[0]), float(y[0]))
    point, required = fireground_point(st.analysis, lonlat=lonlat, building=body.building_id)
    return jsonable(fireground_document(
        st.analysis, st.layers.hydrants, st.preset, point=point, required_lps=required,
        trucks=body.trucks, truck_lps=body.truck_lps, reach_m=body.reach_m,
    ))


@router.post("/siting", summary="Where to add hydrants", responses=_ERRORS, dependencies=PLAN,
             response_model=SitingOut, response_model_exclude_unset=True)
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


def district_table(layers: Layers, analysis: Analysis) -> gpd.GeoDataFrame:
    """The district summary of :func:`reports.districts.district_summary`."""
    return district_summary(layers, analysis)
