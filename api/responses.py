"""Response models of the analysis documents (:mod:`api.documents`, :mod:`reports.present`).

They give API clients a schema (in ``/openapi.json`` and the OGC API definition) for
``GET /analysis/summary``, ``/analysis/districts``, ``/analysis/buildings/{id}`` and
``POST /analysis/scenario`` and ``/analysis/siting``, and check each answer against it before it
leaves. Every figure that may not have been computed is nullable (``null`` = not computed, never a
confident 0). Sections and rows that grow with the product (new summary sections, new layer
columns) are open: their known fields are typed, further ones pass through unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["BuildingOut", "DistrictsOut", "ScenarioOut", "SitingOut", "SummaryOut"]


class _Open(BaseModel):
    """A document part whose known fields are typed; further fields pass through."""

    model_config = ConfigDict(extra="allow")


# --- summary --------------------------------------------------------------------------------------


class CoverageOut(_Open):
    """Street coverage by hydrants within the protection radius (GB 50974 7.2.5)."""

    radius_m: float | None = None
    method: str | None = None
    road_km: float | None = Field(None, description="street counted (needs hydrants)")
    covered_km: float | None = None
    uncovered_km: float | None = None
    covered_pct: float | None = Field(None, description="null: not computed (no hydrant data)")
    excluded_km: float | None = None
    excluded_classes: list[str] = []
    hydrants_used: int | None = None
    hydrants_unsnapped: int | None = None
    underserved_segments: int | None = None
    spacing_gaps: int | None = None
    basis: str | None = Field(None, description="no_hydrant_data when the data holds no hydrant")


class StationsOut(_Open):
    """Fire-station response against the limit."""

    limit_s: float | None = None
    used: int | None = Field(None, description="null: not computed (no station)")
    roads_within_limit_pct: float | None = None
    buildings_within_limit_pct: float | None = None


class SitingSummaryOut(_Open):
    """The siting proposal of the analysis run (null figures: not run)."""

    question: str
    method: str | None = None
    status: str | None = None
    proposed: int | None = None
    cost_cny: float | None = None
    added_covered_km: float | None = None
    lp_bound: float | None = None
    gap: float | None = None
    uncoverable_demand: int | None = None


class SummaryOut(_Open):
    """``summary.json``: what the inputs held, what was found, what was assumed
    (``quality``); further sections (high-rises, lanes, blockages, districts, live …) pass
    through."""

    roads: dict[str, Any] = {}
    hydrants: dict[str, Any] = {}
    buildings: dict[str, Any] = {}
    source: dict[str, Any] = {}
    coverage: CoverageOut | None = None
    stations: StationsOut | None = None
    siting: SitingSummaryOut | None = None
    findings: dict[str, int] = {}
    quality: dict[str, Any] = {}


# --- districts, building --------------------------------------------------------------------------


class DistrictsOut(BaseModel):
    """Every result added up per report unit, with its grade (one row per unit)."""

    units: list[str]
    count: int
    note: str | None
    districts: list[dict[str, Any]]


class BuildingWaterOut(_Open):
    """Hydrants in range and the flow they are credited with against the required flow."""

    hydrants_in_range: int
    credited_flow_lps: float | None
    required_flow_lps: float | None = Field(description="null: not computed (use or size unknown)")
    flow_deficit_lps: float | None
    nearest_hydrant_m: float | None
    hydrants: list[dict[str, Any]]


class BuildingAccessOut(_Open):
    """Where a truck reaches the building, and how fast from the first-due station."""

    edge_id: int | None
    road_name: str | None
    position_m: float | None
    offset_m: float | None
    reason: str
    response_s: float | None
    reachable: bool | None = Field(description="null: not computed (no station)")
    first_due_station: str | None
    response_limit_s: float | None


class BuildingOut(_Open):
    """One building's water and access verdicts and its findings."""

    building_id: str
    name: str
    building: str
    use: str
    height_m: float | None
    high_rise_class: str
    water: BuildingWaterOut
    access: BuildingAccessOut
    flags: list[str]
    findings: list[dict[str, Any]]
    high_rise_access: dict[str, Any] | None = None


# --- scenario -------------------------------------------------------------------------------------


class EdgeChangeOut(BaseModel):
    """A street edge losing coverage in a scenario."""

    edge_id: int
    name: str
    length_m: float | None
    covered_m_before: float | None
    covered_m_after: float | None


class ScenarioCoverageOut(BaseModel):
    """Covered street before and after the hydrants go out of service."""

    radius_m: float
    method: str
    road_km: float | None
    covered_km_before: float | None
    covered_km_after: float | None
    change_km: float | None
    covered_pct_before: float | None
    covered_pct_after: float | None
    hydrants_taken_out: int
    hydrants_already_out: list[str]
    edges_losing_coverage: int
    edges: list[EdgeChangeOut]


class ScenarioWaterOut(_Open):
    """Buildings losing every hydrant in range, or getting a flow deficit."""

    buildings_affected: int
    buildings_losing_water: int
    high_rises_losing_water: int
    buildings_new_flow_deficit: int
    buildings: list[dict[str, Any]]


class ScenarioResponseOut(_Open):
    """Buildings cut off or delayed by all blocking reports together."""

    limit_s: float | None
    note: str | None = Field(None, description="why the response was not computed")
    blocked_edges: int | None = None
    buildings_cut_off: int | None = None
    buildings_delayed: int | None = None
    buildings: list[dict[str, Any]] = []


class ScenarioOut(BaseModel):
    """What a scenario changes against the analysis being served."""

    hydrants_out_of_service: list[str]
    coverage: ScenarioCoverageOut
    water: ScenarioWaterOut
    blockages: list[dict[str, Any]] = Field(description="one entry per report, in input order")
    response: ScenarioResponseOut


# --- siting ---------------------------------------------------------------------------------------


class SitingOut(_Open):
    """A siting proposal: the chosen sites (WGS84), coverage before/after, solver status."""

    problem: str
    method: str
    status: str
    n_hydrants: int
    cost_cny: float | None
    covered_km_added: float | None
    covered_km_before: float | None
    covered_km_after: float | None
    covered_pct_before: float | None
    covered_pct_after: float | None
    covered_weight: float | None
    lp_bound: float | None
    gap: float | None
    guarantee: float | None
    candidates: int
    demand_segments: int
    solve_s: float | None
    sites: list[dict[str, Any]]
    budget_curve: list[dict[str, Any]]


class FiregroundOut(_Open):
    """``POST /analysis/fireground`` (and ``firereach fireground``): the plan beside the naive
    "N nearest", with ``features`` (a GeoJSON FeatureCollection of the hydrants searched)."""

    model: str = Field(description="hydraulic (EPANET) or branch_rule")
    trucks: int
    truck_lps: float
    reach_m: float
    residual_mpa: float | None = None
    required_flow_lps: float | None = Field(default=None, description="null: not computed")
    supplied_lps: float
    assigned: list[str]
    naive: list[str]
    unassigned: int
    not_computed: list[str] = Field(default_factory=list)
    assumed: list[str]
    features: dict[str, Any]
