"""The whole network analysis of a workspace: coverage, spacing, building water, station response.

:func:`analyze` builds the graphs once from :class:`geo.layers.Layers`, runs every analysis with
the numbers of a rule preset, and returns result layers, the findings table (every flag with its
rule id, clause, severity and confidence) and the summary figures. The CLI and the API call it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.agency import BLOCKAGE_COLUMNS
from geo.catalog import LayerName, feature_ids
from geo.layers import Layers
from geo.mains import Mains
from geo.preset_lookup import credited_flow, required_fire_flow
from geo.presets import Preset, Rule
from routing.access import access_summary, high_rise_access, lane_layout, lane_layout_column
from routing.blockages import BlockageResult, blockage_impact
from routing.building_systems import (
    connector_summary,
    connector_water,
    high_rises_without_connector,
    indoor_hydrants_required,
)
from routing.coverage import (
    CoverageResult,
    coverage_pieces,
    excluded_classes,
    hydrant_coverage,
    roads_needing_hydrants,
    underserved_segments,
)
from routing.dead_ends import dead_end_lanes
from routing.findings import concat_findings, findings
from routing.graph import StreetGraph, TruckGraph, TruckOptions, build_graph, truck_graph
from routing.mains import (
    LINK_TOLERANCE_M,
    HydrantsOnMains,
    hydrants_on_mains,
    mains_layers,
    small_main_findings,
    water_summary,
)
from routing.no_parking import no_parking_zones, zone_points, zone_summary
from routing.quality import (
    analysis_quality,
    has_hydrant_data,
    with_blockage_quality,
    with_mains_quality,
)
from routing.response import (
    ResponseResult,
    first_due_areas,
    main_road_reach,
    point_times,
    station_response,
)
from routing.siting import (
    CandidateOptions,
    SitingResult,
    cover_all,
    coverage_matrix,
    demand_segments,
    site_hydrants,
    siting_candidates,
)
from routing.snap import SnapResult, snap_points
from routing.spacing import spacing_gaps
from routing.water import AccessPoints, WaterOptions, building_access, building_water

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnalysisOptions:
    """Choices that are not rules.

    Attributes
    ----------
    apparatus
        Apparatus profile of the preset (``pumper``, ``aerial``, ``heavy``): clear width/height.
    respect_oneway
        Forbid driving one-way streets against the flow (default: allowed on an emergency call).
    gates_locked
        Pessimistic scenario: every gate on the roads is locked.
    coverage_method
        ``network`` (hose-lay distance, the default) or ``straight`` (radius as the crow flies,
        for comparison with agencies that use it).
    snap_distance_m
        Hydrants farther than this from any road are not snapped (reported with the reason).
    access_distance_m
        Buildings farther than this from a passable road have no access point.
    station_snap_m
        Stations farther than this from a passable road are left out.
    main_link_m
        Hydrants farther than this from every main are not linked to one
        (:data:`routing.mains.LINK_TOLERANCE_M`, an assumption).
    new_hydrants, budget_cny
        Siting question (a): where ``new_hydrants`` new hydrants (or a budget in CNY) cover the
        most. When neither is given, question (b): the fewest new hydrants that cover every
        coverable gap.
    siting
        Run the siting at all (it is the slowest step on large areas). Without any hydrant in
        the data it runs only when asked explicitly (``new_hydrants`` or ``budget_cny``): with
        no hydrant data every street would look uncovered.
    """

    apparatus: str = "pumper"
    respect_oneway: bool = False
    gates_locked: bool = False
    coverage_method: Literal["network", "straight"] = "network"
    snap_distance_m: float = 60.0
    access_distance_m: float = 60.0
    station_snap_m: float = 500.0
    new_hydrants: int | None = None
    budget_cny: float | None = None
    siting: bool = True
    main_link_m: float = LINK_TOLERANCE_M


@dataclass(frozen=True, eq=False)
class Analysis:
    """Everything :func:`analyze` produces.

    ``summary`` holds raw quantities: lengths in metres (``road_m``, ``covered_m`` …), shares
    as fractions of one (``covered_share``; None when not computed), costs unrounded.
    :func:`reports.present.present_summary` turns them into the km and % of ``summary.json``.
    """

    graph: StreetGraph = field(repr=False)
    truck: TruckGraph = field(repr=False)
    hydrant_snaps: SnapResult = field(repr=False)
    coverage: CoverageResult = field(repr=False)
    response: ResponseResult | None = field(repr=False)
    layers: dict[str, gpd.GeoDataFrame] = field(repr=False)
    findings: pd.DataFrame = field(repr=False)
    summary: dict[str, Any]


def truck_options(preset: Preset, options: AnalysisOptions) -> TruckOptions:
    """The truck view's options from the preset's apparatus profile and speed table."""
    profile = preset.profile(options.apparatus)
    speeds = dict(preset.speeds_kmh)
    default = speeds.pop("default", 20.0)
    return TruckOptions(
        min_width_m=profile.min_width_m,
        min_height_m=profile.min_height_m,
        respect_oneway=options.respect_oneway,
        gates_locked=options.gates_locked,
        speeds_kmh=speeds,
        default_speed_kmh=default,
    )


def analyze(
    layers: Layers,
    *,
    preset: Preset,
    options: AnalysisOptions | None = None,
    blockages: gpd.GeoDataFrame | None = None,
    progress: Callable[[str], None] | None = None,
    mains: Mains | None = None,
) -> Analysis:
    """Run the network analysis of a workspace.

    Parameters
    ----------
    layers
        The workspace layers (:func:`geo.layers.build_layers`).
    preset
        Rule preset (:func:`geo.presets.load_preset`): radius, spacing, counting band, flow
        credit and required flow, response limit.
    options
        Apparatus, one-way and gate choices, coverage method, snap distances, siting question.
    blockages
        Blockage reports (:func:`geo.agency.read_agency_table` with ``layer="blockages"``), in
        the working CRS or any CRS; ranked by impact with the critical lanes.
    progress
        Told the name of each step as it starts (``street graph``, ``hydrant coverage``,
        ``building water``, ``station response``, ``high-rise access``, ``siting``, ``findings``,
        ``blockage ranking``): the CLI shows them with their time.
    mains
        The water mains (:mod:`geo.mains`): each hydrant is linked to its main and the branch
        rule applied to building water (``summary["water"]["model"]`` ``branch_rule``); None:
        each hydrant credited alone (``points``).

    Returns
    -------
    Analysis
        Its ``summary`` holds ``quality`` (:mod:`routing.quality`). A figure that could not be
        computed is None: without stations the response figures, and without any hydrant in
        the data (missing data, not proof that none exist) the coverage, building-water and
        pump-connector figures; the water findings are then not raised and the siting runs only
        when asked explicitly. ``response_s`` is NaN without stations (inf: unreachable).
    """
    options = options or AnalysisOptions()
    note = progress or _quiet
    note(f"street graph ({_count(len(layers.roads), 'road edge')})")
    graph = build_graph(layers.roads, barriers=layers.barriers)
    truck = truck_graph(graph, options=truck_options(preset, options))
    note(f"hydrant coverage ({_count(len(layers.hydrants), 'hydrant')})")
    h = _hydrant_steps(layers, graph, preset, options)

    note(f"building water ({_count(len(layers.buildings), 'building')})")
    on_mains = hydrants_on_mains(layers.hydrants, mains, tolerance_m=options.main_link_m, preset=preset)
    groups = None if on_mains is None else on_mains.groups
    buildings, pairs = _building_water(layers, graph, truck, h.snaps, preset, options, groups)
    note(f"station response ({_count(len(layers.stations), 'station')})")
    response = _response(layers, truck, preset, options)
    roads = _roads_result(layers, truck, h.coverage, response)
    areas = _buildings_response(layers, truck, response, buildings)

    note(f"high-rise access ({_count(len(layers.buildings), 'building')})")
    high_rises, access_findings = high_rise_access(truck, buildings, preset=preset)
    layouts, layout_findings = lane_layout(truck, buildings, preset=preset)
    buildings["lane_layout"] = lane_layout_column(buildings, high_rises, layouts)
    dead_ends, dead_end_findings = dead_end_lanes(
        truck, turnarounds=layers.turnarounds, buildings=buildings,
        access_edge=buildings["access_edge"].to_numpy(), preset=preset, apparatus=options.apparatus,
    )

    hydrant_data = has_hydrant_data(layers)
    connectors, connector_found = connector_water(layers, graph, h.snaps, preset,
                                                  access_distance_m=options.access_distance_m)
    buildings["pump_connectors"], no_connector, missing_connector = high_rises_without_connector(
        buildings, connectors, preset=preset)
    buildings["indoor_hydrants_required"] = indoor_hydrants_required(buildings, preset=preset)
    zones = no_parking_zones(graph, zone_points(
        graph, hydrant_snaps=h.snaps, pump_connectors=layers.pump_connectors.geometry,
        station_snaps=None if response is None else response.station_snaps,
        max_snap_m=options.snap_distance_m), preset=preset)
    siting_mode = _siting_mode(options, hydrant_data=hydrant_data)
    siting = None
    if siting_mode not in _NOT_SITED:
        note("siting")
        siting = _siting(graph, h.coverage, buildings, options, h.radius_rule.value("value_m"),
                         mains=None if mains is None else mains.mains)
    note(f"findings ({_count(len(h.underserved), 'underserved stretch', 'es')}, "
         f"{_count(len(h.spacing), 'spacing gap')})")
    hyd = _hydrants_layer(layers.hydrants, h.snaps, on_mains)
    found = concat_findings(
        [*_findings(layers, preset, buildings, h.underserved, h.spacing, response, areas, hyd),
         access_findings, layout_findings, dead_end_findings, no_connector,
         small_main_findings(hyd, preset),
         connector_found if hydrant_data else pd.DataFrame()]
    )
    summary = _summary(
        preset, h.coverage, buildings, roads, response, h.underserved, h.spacing, found, options, hyd
    )
    for section, values in access_summary(high_rises, dead_ends).items():
        summary.setdefault(section, {}).update(values)
    summary["siting"] = _siting_summary(siting, options)
    summary["buildings"].update(
        low_rise_lane_layout_checked=len(layouts),
        low_rise_lane_layout_not_met=int((~layouts["lane_layout_ok"].astype(bool)).sum()),
        over_21m_residential=int(buildings["indoor_hydrants_required"].eq(True).sum()),
        indoor_system_missing=None,  # a building registry's fact: not known from OSM
    )
    summary["pump_connectors"] = {**connector_summary(connectors),
                                  "missing_for_high_rise": missing_connector}
    summary["no_parking_zones"] = zone_summary(zones)
    summary["water"] = (water_summary(None, None, None) if on_mains is None else water_summary(
        mains, on_mains.links, on_mains.groups, on_mains.hydraulics))
    if summary["water"].get("mains") is not None:
        summary["water"]["mains"]["hydrants_below_min_dn"] = int(
            (found["rule_id"] == "fire_main_min_dn").sum())
    _with_quality(summary, layers, preset, response, siting_mode=siting_mode)
    summary["quality"] = with_mains_quality(summary["quality"], summary["water"])
    buildings["flags"] = building_flags(buildings, found)
    result_layers = {
        LayerName.ROADS_ANALYSIS: roads,
        LayerName.COVERAGE_PIECES: h.pieces,
        LayerName.UNDERSERVED_SEGMENTS: with_rule(h.underserved, h.radius_rule),
        LayerName.SPACING_GAPS: with_rule(h.spacing, h.spacing_rule),
        LayerName.BUILDINGS_ANALYSIS: buildings,
        LayerName.HYDRANTS_ANALYSIS: hyd,
        LayerName.BUILDING_HYDRANTS: _pairs_layer(layers, pairs),
        LayerName.STATION_AREAS: areas,
        LayerName.HIGH_RISE_ACCESS: high_rises,
        LayerName.DEAD_END_LANES: dead_ends,
        LayerName.PUMP_CONNECTORS_ANALYSIS: connectors,
        LayerName.NO_PARKING_ZONES: zones,
        **_siting_layers(siting),
        **mains_layers(mains),
    }
    analysis = Analysis(
        graph=graph, truck=truck, hydrant_snaps=h.snaps, coverage=h.coverage, response=response,
        layers=result_layers, findings=found, summary=summary,
    )
    note("blockage ranking")
    return rank_blockages(analysis, blockages, preset=preset)


@dataclass(frozen=True)
class _HydrantSteps:
    """Hydrants on the street graph: snaps, coverage and its pieces, underserved stretches and
    spacing gaps, with the two rules they were measured against."""

    snaps: SnapResult
    coverage: CoverageResult
    pieces: gpd.GeoDataFrame
    underserved: gpd.GeoDataFrame
    spacing: gpd.GeoDataFrame
    radius_rule: Rule
    spacing_rule: Rule


def _hydrant_steps(
    layers: Layers, graph: StreetGraph, preset: Preset, options: AnalysisOptions
) -> _HydrantSteps:
    """Snap the hydrants, cover the streets that need hydrants, find the gaps between them."""
    hydrants = layers.hydrants
    snaps = snap_points(graph, hydrants.geometry, max_distance_m=options.snap_distance_m)
    in_service = hydrants["status"].to_numpy(dtype=object) == "in_service"
    radius_rule = preset.rule("hydrant_radius")
    needs = roads_needing_hydrants(layers.roads, preset=preset)
    coverage = hydrant_coverage(
        graph, snaps, radius_m=radius_rule.value("value_m"), in_service=in_service,
        method=options.coverage_method, hydrant_points=hydrants.geometry, needs_hydrants=needs,
    )
    pieces = coverage_pieces(graph, coverage)
    spacing_rule = preset.rule("hydrant_spacing")
    spacing = spacing_gaps(
        graph, snaps, max_spacing_m=spacing_rule.value("value_m"), in_service=in_service,
        needs_hydrants=needs,
    )
    return _HydrantSteps(
        snaps=snaps, coverage=coverage, pieces=pieces,
        underserved=underserved_segments(pieces, buildings=layers.buildings), spacing=spacing,
        radius_rule=radius_rule, spacing_rule=spacing_rule,
    )


def _hydrants_layer(
    hydrants: gpd.GeoDataFrame, snaps: SnapResult, on_mains: HydrantsOnMains | None = None
) -> gpd.GeoDataFrame:
    """The hydrants with where each snapped on the street graph (or why not), and with mains
    the main each stands on and its branch group (-1: looped core or no main); with an EPANET
    model their static pressure and available fire flow (:func:`routing.mains.hydrant_hydraulics`)."""
    hyd = hydrants.copy(deep=False)  # copy on write: the hydrant columns stay shared
    hyd["snap_edge"] = snaps.edge
    hyd["snap_offset_m"] = snaps.offset_m
    hyd["snap_reason"] = snaps.reason.astype(str)
    if on_mains is None:
        return hyd
    for column in ("main_id", "main_dn_mm", "main_distance_m", "main_link"):
        hyd[column] = on_mains.links[column].to_numpy()
    hyd["branch_group"] = on_mains.groups
    if on_mains.flows is not None:
        for column in on_mains.flows.columns:
            hyd[column] = on_mains.flows[column].to_numpy()
    return hyd


def _buildings_response(
    layers: Layers, truck: TruckGraph, response: ResponseResult | None, buildings: pd.DataFrame
) -> gpd.GeoDataFrame:
    """Set each building's ``response_s`` and ``first_due_station`` (in place); the stations'
    first-due areas. Without stations: NaN (not computed, not unreachable) and no areas."""
    if response is None:
        buildings["response_s"] = np.nan
        buildings["first_due_station"] = ""
        return gpd.GeoDataFrame({"station_id": [], "area_km2": []}, geometry=[], crs=layers.crs)
    b_time, b_station = point_times(
        truck, response.node_time_s, response.node_station,
        buildings["access_edge"].to_numpy(), buildings["access_position_m"].to_numpy(),
        station_snaps=response.station_snaps, turnout_s=response.turnout_s,
    )
    buildings["response_s"] = b_time
    buildings["first_due_station"] = _station_ids(layers, b_station)
    areas = first_due_areas(truck, response, n_stations=len(layers.stations))
    areas.insert(0, "station_id", _station_ids(layers, areas["station"].to_numpy()))
    return areas


def _siting_layers(siting: tuple[SitingResult, pd.DataFrame] | None) -> dict[str, pd.DataFrame]:
    """The siting proposal's result layers (none when the siting did not run)."""
    if siting is None:
        return {}
    return {"proposed_hydrants": siting[0].chosen, LayerName.BUDGET_CURVE: siting[1]}


def _count(n: int, noun: str, plural: str = "s") -> str:
    """``1 station``, ``1,034 road edges``: a count for the progress display."""
    return f"{n:,} {noun}{'' if n == 1 else plural}"


def _quiet(_: str) -> None:
    """No progress display."""


#: Result layers :func:`rank_blockages` writes (placed before the siting layers).
BLOCKAGE_LAYERS = (LayerName.BLOCKAGES_RANKED, LayerName.CRITICAL_LANES)


def rank_blockages(
    analysis: Analysis, blockages: gpd.GeoDataFrame | None, *, preset: Preset
) -> Analysis:
    """The analysis with its blockage ranking done afresh for ``blockages``.

    Ranks the reports with :func:`routing.blockages.blockage_impact` on the analysis' truck
    graph and station response (the reports' effect is not applied to the other results), and
    replaces the ``blockages_ranked`` and ``critical_lanes`` layers, the findings of layer
    ``blockages`` and the ``blockages``, ``lanes.critical`` and ``findings`` summary figures.
    Everything else is shared with ``analysis``, which is not modified. :func:`analyze` ends
    with it; the served workspace calls it again whenever its blockage ledger changes.

    Parameters
    ----------
    analysis
        A result of :func:`analyze`.
    blockages
        Reports in any CRS (:func:`geo.agency.read_agency_table` with ``layer="blockages"``);
        None or empty: critical lanes only.
    preset
        The preset ``analysis`` was computed with.
    """
    return with_ranking(analysis, blockage_ranking(analysis, blockages, preset=preset), blockages)


def blockage_ranking(
    analysis: Analysis, blockages: gpd.GeoDataFrame | None, *, preset: Preset
) -> BlockageResult | None:
    """The ranking of :func:`rank_blockages` alone.

    Against the stations' response; without a station, against the main road network
    (:func:`routing.response.main_road_reach`: what a report cuts off from the main roads, no
    delays). None when there is neither a station nor a main road.

    It reads only what hydrant status does not change (truck graph, station response,
    buildings' classes and access points, hydrant positions), so a ranking computed on one
    state of a served analysis may be put on a later one with :func:`with_ranking`.
    """
    response, reference = analysis.response, "stations"
    if response is None:
        response, reference = main_road_reach(analysis.truck), "main_roads"
        if response is None:
            if blockages is not None and len(blockages):
                log.warning("no fire stations and no main road: blockage impact cannot be "
                            "ranked (give --stations FILE)")
            return None
        if blockages is not None and len(blockages):
            log.warning("no fire stations: blockages ranked by what they cut off from the main "
                        "roads; delays not computed (give --stations FILE)")
    buildings = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
    return blockage_impact(
        analysis.truck, response, _blockage_frame(blockages, buildings.crs),
        buildings=buildings, building_access=AccessPoints.from_columns(buildings),
        hydrant_snaps=analysis.hydrant_snaps, preset=preset, reference=reference,
        zones=analysis.layers.get(LayerName.NO_PARKING_ZONES),
    )


def with_ranking(
    analysis: Analysis, result: BlockageResult | None, blockages: gpd.GeoDataFrame | None
) -> Analysis:
    """``analysis`` with a blockage ranking of ``blockages`` (:func:`blockage_ranking`) in place
    of its own: layers, findings of layer ``blockages`` and summary figures."""
    layers = {k: v for k, v in analysis.layers.items() if k not in BLOCKAGE_LAYERS}
    found = analysis.findings
    found = found.loc[found["layer"] != "blockages"] if len(found) else found
    if result is not None:
        found = concat_findings([found, result.findings])
        at = next((i for i, k in enumerate(layers)
                   if k in (LayerName.PROPOSED_HYDRANTS, LayerName.BUDGET_CURVE)), len(layers))
        items = list(layers.items())
        layers = dict([*items[:at], (LayerName.BLOCKAGES_RANKED, result.blockages),
                       (LayerName.CRITICAL_LANES, result.critical_lanes), *items[at:]])
    found = found.reset_index(drop=True)
    summary = {k: dict(v) if isinstance(v, dict) else v for k, v in analysis.summary.items()}
    summary["blockages"] = _blockage_summary(result, blockages)
    summary["lanes"] = {
        **summary.get("lanes", {}),
        "critical": int(result.summary[LayerName.CRITICAL_LANES]) if result is not None else None,
    }
    summary["findings"] = findings_summary(found)
    summary["quality"] = with_blockage_quality(
        summary.get("quality"), summary["blockages"], given=blockages is not None
    )
    return dataclasses.replace(analysis, layers=layers, findings=found, summary=summary)


#: Result layers of the siting proposal (:func:`refresh_siting`).
SITING_LAYERS = (LayerName.PROPOSED_HYDRANTS, LayerName.BUDGET_CURVE)


def refresh_siting(analysis: Analysis, *, options: AnalysisOptions) -> Analysis:
    """The analysis with its siting proposal (layers and ``siting`` summary) computed again
    from its coverage and buildings: for a served analysis whose hydrants changed live."""
    siting = _siting(
        analysis.graph, analysis.coverage, analysis.layers[LayerName.BUILDINGS_ANALYSIS], options,
        analysis.coverage.radius_m, mains=analysis.layers.get(LayerName.WATER_MAINS),
    )
    layers = {k: v for k, v in analysis.layers.items() if k not in SITING_LAYERS}
    if siting is not None:
        layers[LayerName.PROPOSED_HYDRANTS] = siting[0].chosen
        layers[LayerName.BUDGET_CURVE] = siting[1]
    summary = {**analysis.summary, "siting": _siting_summary(siting, options)}
    return dataclasses.replace(analysis, layers=layers, summary=summary)


def building_flags(buildings: pd.DataFrame, found: pd.DataFrame) -> pd.Series:
    """Each building's finding rule ids, ``;``-joined and sorted ('' when none)."""
    flagged = found.loc[found["layer"] == "buildings"].groupby("feature_id")["rule_id"].agg(
        lambda ids: ";".join(sorted(set(ids)))
    )
    ids = buildings["building_id"].astype(str)
    return ids.map(flagged).astype(object).where(ids.isin(flagged.index), "")


def findings_summary(found: pd.DataFrame) -> dict[str, int]:
    """The ``findings`` summary: how many, by severity."""
    return {
        "total": len(found),
        "shall": int((found["severity"] == "shall").sum()),
        "should": int((found["severity"] == "should").sum()),
    }


def _blockage_frame(blockages: gpd.GeoDataFrame | None, crs: Any) -> gpd.GeoDataFrame:
    """Reports in the working CRS; an empty frame (critical lanes only) when none are given."""
    if blockages is None:
        empty = pd.DataFrame({c: pd.Series(dtype=object) for c in BLOCKAGE_COLUMNS})
        return gpd.GeoDataFrame(empty, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return blockages.to_crs(crs)


def _blockage_summary(
    result: BlockageResult | None, blockages: gpd.GeoDataFrame | None
) -> dict[str, Any]:
    if result is None:  # not ranked (no station): the impact figures are not computed
        n = 0 if blockages is None else len(blockages)
        return {"total": n, "snapped": None, "rejected": None, "high_rises_cut_off": None,
                "ranked": False}
    out = {k: v for k, v in result.summary.items() if k != LayerName.CRITICAL_LANES}
    out["ranked"] = True
    return out


def _siting(
    graph: StreetGraph,
    coverage: CoverageResult,
    buildings: gpd.GeoDataFrame,
    options: AnalysisOptions,
    radius_m: float,
    *,
    mains: gpd.GeoDataFrame | None = None,
) -> tuple[SitingResult, pd.DataFrame] | None:
    """Siting question (a) or (b) and its budget curve; None when switched off.

    The curve is the proposal itself, one row per proposed hydrant in its build ``order`` (each
    next one adds the most weight per yuan among the proposed ones not yet built), so the curve's
    first K rows are the proposal's first K hydrants and its last row the whole proposal.
    With ``mains`` (pipes in the working CRS), sites off a main of the minimum DN cost the pipe
    to reach them (:func:`routing.siting_sites.siting_candidates`, ``beyond_main="pipe"``).
    """
    if not options.siting:
        return None
    sites = None
    if mains is not None:  # sites beyond a main are kept, costed with the pipe to reach them
        mains = mains.loc[(mains["kind"] == "pipe") & (mains["status"] != "closed")]
        sites = CandidateOptions(beyond_main="pipe")
    candidates = siting_candidates(graph, coverage, buildings=buildings, mains=mains, options=sites)
    demand = demand_segments(graph, coverage, buildings=buildings)
    matrix = coverage_matrix(graph, candidates, demand, radius_m=radius_m)
    if options.new_hydrants is not None or options.budget_cny is not None:
        result = site_hydrants(
            candidates, demand, matrix, k=options.new_hydrants, budget_cny=options.budget_cny
        )
    else:
        result = cover_all(candidates, demand, matrix)
    return result, result.budget_curve


def _siting_summary(
    siting: tuple[SitingResult, pd.DataFrame] | None, options: AnalysisOptions
) -> dict[str, Any]:
    if siting is None:  # not run: nothing proposed, and no figure claimed
        return {"proposed": None, "cost_cny": None, "added_covered_m": None, "question": "none"}
    result = siting[0]
    question = (
        "max_coverage" if options.new_hydrants is not None or options.budget_cny is not None
        else "cover_all"
    )
    return {
        "question": question,
        "method": result.method,
        "status": result.status,
        "proposed": int(result.n_hydrants),
        "cost_cny": float(result.cost_cny),
        "added_covered_m": float(result.covered_m),
        "lp_bound": result.lp_bound,
        "gap": result.gap,
        "uncoverable_demand": len(result.uncoverable),
    }


def with_rule(frame: gpd.GeoDataFrame, rule: Rule) -> gpd.GeoDataFrame:
    """Every row of ``frame`` is a flag of ``rule``: say which, with clause and confidence."""
    out = frame.copy(deep=False)  # copy on write
    out["rule_id"] = rule.id
    out["clause"] = rule.clause
    out["severity"] = rule.severity
    out["confidence"] = rule.confidence
    return out


def _station_ids(layers: Layers, idx: np.ndarray) -> np.ndarray:
    ids = layers.stations["station_id"].astype(str).to_numpy(dtype=object)
    idx = np.asarray(idx, dtype=np.int64)
    out = np.full(len(idx), "", dtype=object)
    ok = idx >= 0
    out[ok] = ids[idx[ok]]
    return out


def _building_water(
    layers: Layers,
    graph: StreetGraph,
    truck: TruckGraph,
    snaps: SnapResult,
    preset: Preset,
    options: AnalysisOptions,
    groups: np.ndarray | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    b = layers.buildings
    access = building_access(
        graph, b.geometry, edge_mask=truck.edge_passable, max_access_m=options.access_distance_m
    )
    per, pairs = building_water(
        graph, b.geometry, access, snaps, layers.hydrants.geometry,
        credited_lps=hydrant_credit(preset, layers.hydrants),
        options=building_water_options(preset, options), branch_groups=groups,
    )
    out = b.copy(deep=False)  # copy on write: the building columns stay shared
    out["access_edge"] = access.snaps.edge
    out["access_position_m"] = access.snaps.position_m
    out["access_offset_m"] = access.offset_m
    out["access_reason"] = access.reason.astype(str)
    out["hydrants_in_range"] = per["hydrants_in_range"].to_numpy()
    out["credited_flow_lps"] = per["credited_flow_lps"].to_numpy()
    out["nearest_hydrant_m"] = per["nearest_hydrant_m"].to_numpy()
    required = required_fire_flow(preset, b).to_numpy(dtype=np.float64)
    out["required_flow_lps"] = required
    out["flow_deficit_lps"] = flow_deficit(required, out["credited_flow_lps"].to_numpy())
    return out, pairs


def hydrant_credit(
    preset: Preset, hydrants: gpd.GeoDataFrame
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The flow (L/s) a hydrant row at a hose-lay distance counts for a building (the preset's
    :func:`~geo.preset_lookup.credited_flow` of the hydrants' status and flow)."""
    status = hydrants["status"].to_numpy(dtype=object)
    flow = hydrants["flow_lps"].to_numpy(dtype=np.float64)

    def credit(hyd: np.ndarray, dist: np.ndarray) -> np.ndarray:
        return credited_flow(preset, status[hyd], flow[hyd], distance_m=dist)

    return credit


def building_water_options(preset: Preset, options: AnalysisOptions) -> WaterOptions:
    """The counting band of hydrants for buildings (GB 50974 6.1.5) as water options."""
    band = preset.rule("hydrant_count_band")
    return WaterOptions(
        radius_m=band.value("max_m"), min_distance_m=band.value("min_m"),
        max_access_m=options.access_distance_m,
    )


def flow_deficit(required: np.ndarray, credited: np.ndarray) -> np.ndarray:
    """Required minus credited flow (L/s), at least 0; NaN (not computed) where the required
    flow is unknown."""
    required = np.asarray(required, dtype=np.float64)
    return np.where(np.isnan(required), np.nan, np.maximum(required - credited, 0.0))


def _pairs_layer(layers: Layers, pairs: pd.DataFrame) -> pd.DataFrame:
    b_ids = layers.buildings["building_id"].astype(str).to_numpy(dtype=object)
    h_ids = layers.hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)
    out = pd.DataFrame(
        {
            "building_id": b_ids[pairs["building"].to_numpy(dtype=np.int64)],
            "hydrant_id": h_ids[pairs["hydrant"].to_numpy(dtype=np.int64)],
            "distance_m": pairs["distance_m"].to_numpy(),
            "credited_lps": pairs["credited_lps"].to_numpy(),
        }
    )
    for column in ("branch_group", "branch_capped", "uncapped_lps"):  # with mains: the branch rule
        if column in pairs.columns:
            out[column] = pairs[column].to_numpy()
    return out


def _response(
    layers: Layers, truck: TruckGraph, preset: Preset, options: AnalysisOptions
) -> ResponseResult | None:
    if len(layers.stations) == 0:
        log.warning("no fire stations: station response is skipped (give --stations FILE)")
        return None
    return station_response(
        truck, layers.stations.geometry,
        turnout_s=preset.rule("station_turnout").value("value_s"),
        max_snap_m=options.station_snap_m,
    )


def _roads_result(
    layers: Layers, truck: TruckGraph, coverage: CoverageResult, response: ResponseResult | None
) -> gpd.GeoDataFrame:
    roads = with_road_coverage(layers.roads, coverage)
    roads["needs_hydrants"] = coverage.counted
    roads["truck_passable"] = truck.edge_passable
    roads["truck_blocked_by"] = truck.edge_reason.astype(str)
    if response is not None:
        roads["response_s"] = response.edge_time_s
        roads["first_due_station"] = _station_ids(layers, response.edge_station)
    else:
        roads["response_s"] = np.nan  # not computed (no station), not unreachable
        roads["first_due_station"] = ""
    return roads


def with_road_coverage(roads: gpd.GeoDataFrame, coverage: CoverageResult) -> gpd.GeoDataFrame:
    """A copy of ``roads`` with each edge's covered and uncovered metres and covered %.
    (pandas copies on write: the road columns stay shared with ``roads``.)"""
    out = roads.copy(deep=False)
    out["covered_m"] = coverage.covered_m
    out["uncovered_m"] = coverage.uncovered_m
    length = out["length_m"].to_numpy()
    out["covered_pct"] = np.where(length > 0, 100.0 * coverage.covered_m / length, 0.0)
    return out


def water_findings(
    preset: Preset,
    buildings: pd.DataFrame,
    underserved: pd.DataFrame,
    spacing: pd.DataFrame,
) -> pd.DataFrame:
    """The findings that follow hydrant status: buildings without a hydrant in the counting
    band, high-rises with too few, fire-flow deficits, underserved streets, spacing gaps."""
    return concat_findings(
        [*building_water_findings(preset, buildings), *street_water_findings(
            preset, underserved, spacing
        )]
    )


def building_water_findings(preset: Preset, buildings: pd.DataFrame) -> list[pd.DataFrame]:
    """The buildings' part of :func:`water_findings`: one frame per rule, in building order."""
    out: list[pd.DataFrame] = []
    band = preset.rule("hydrant_count_band")
    ids = buildings["building_id"].to_numpy()
    n_in = buildings["hydrants_in_range"].to_numpy()
    out.append(findings(
        "buildings", ids, n_in == 0, band, values=0.0, limit=band.value("max_m"),
        message="no usable hydrant within {limit:.0f} m by hose-lay distance",
    ))
    if "hydrants_firefighting_side" in preset.rules:  # a GB 50974 rule; not in every preset
        side = preset.rule("hydrants_firefighting_side")
        high = buildings["high_rise_class"].isin(["class1", "class2"]).to_numpy()
        out.append(findings(
            "buildings", ids, high & (n_in > 0) & (n_in < side.value("min_count")), side,
            values=n_in.astype(float), limit=side.value("min_count"),
            message="high-rise with {value:.0f} hydrant(s) in range; at least {limit:.0f} expected",
        ))
    deficit = buildings["flow_deficit_lps"].to_numpy()
    credit_rule = preset.rule("hydrant_credit")
    out.append(findings(
        "buildings", ids, np.nan_to_num(deficit) > 0, credit_rule, values=deficit,
        limit=0.0, message="outdoor fire flow short by {value:.1f} L/s (Table 3.3.2 unverified)",
    ))
    return out


def street_water_findings(
    preset: Preset, underserved: pd.DataFrame, spacing: pd.DataFrame,
    *, known: pd.DataFrame | None = None,
) -> list[pd.DataFrame]:
    """Findings of the underserved stretches and spacing gaps; ``known``: the current findings,
    whose messages are reused for equal values (a live update)."""

    def earlier(layer: str) -> pd.DataFrame | None:
        if known is None or len(known) == 0:
            return None
        return known.loc[(known["layer"] == layer).to_numpy()]

    out: list[pd.DataFrame] = []
    radius = preset.rule("hydrant_radius")
    seg_ids = feature_ids(LayerName.UNDERSERVED_SEGMENTS, underserved)
    out.append(findings(
        LayerName.UNDERSERVED_SEGMENTS, seg_ids, np.ones(len(underserved), dtype=bool), radius,
        values=underserved["length_m"].to_numpy() if len(underserved) else 0.0,
        limit=radius.value("value_m"),
        message="{value:.0f} m of street beyond {limit:.0f} m of any in-service hydrant",
        known=earlier(LayerName.UNDERSERVED_SEGMENTS),
    ))
    spacing_rule = preset.rule("hydrant_spacing")
    gap_ids = feature_ids(LayerName.SPACING_GAPS, spacing)
    out.append(findings(
        LayerName.SPACING_GAPS, gap_ids,
        np.ones(len(spacing), dtype=bool), spacing_rule,
        values=spacing["gap_m"].to_numpy() if len(spacing) else 0.0,
        limit=spacing_rule.value("value_m"),
        message="hydrants {value:.0f} m apart along the street (limit {limit:.0f} m)",
        known=earlier(LayerName.SPACING_GAPS),
    ))
    return out


def _findings(
    layers: Layers,
    preset: Preset,
    buildings: gpd.GeoDataFrame,
    underserved: gpd.GeoDataFrame,
    spacing: gpd.GeoDataFrame,
    response: ResponseResult | None,
    areas: gpd.GeoDataFrame,
    hydrants: gpd.GeoDataFrame,
) -> list[pd.DataFrame]:
    # without any hydrant in the data, "no hydrant in range" is missing data, not a finding
    out: list[pd.DataFrame] = (
        [water_findings(preset, buildings, underserved, spacing)] if has_hydrant_data(layers) else []
    )
    radius = preset.rule("hydrant_radius")
    ids = buildings["building_id"].to_numpy()
    if response is not None:
        limit_rule = preset.rule("station_response")
        limit = limit_rule.value("value_s")
        t = buildings["response_s"].to_numpy()
        out.append(findings(
            "buildings", ids, t > limit, limit_rule, values=t, limit=limit,
            message="first truck arrives after {value:.0f} s (limit {limit:.0f} s)",
        ))
        if "station_district_area" in preset.rules:  # 建标152; not in every preset
            area_rule = preset.rule("station_district_area")
            area_limit = area_rule.value("class1_km2")
            out.append(findings(
                LayerName.STATION_AREAS, areas["station_id"].to_numpy(),
                areas["area_km2"].to_numpy() > area_limit, area_rule,
                values=areas["area_km2"].to_numpy(), limit=area_limit,
                message="first-due area {value:.1f} km² exceeds {limit:.0f} km²",
            ))
    unsnapped = hydrants["snap_edge"].to_numpy() < 0
    out.append(findings(
        "hydrants", hydrants["hydrant_id"].to_numpy(), unsnapped, radius,
        values=hydrants["snap_offset_m"].to_numpy(), limit=0.0,
        message="hydrant not on the street network: not counted",
    ))
    return out


def share(part: float, whole: float) -> float | None:
    """``part`` as a fraction of ``whole`` (unrounded); None (not computed) when ``whole`` is 0:
    no building within the limit of none is not 0 %. People read it as a percentage
    (:func:`reports.present.present_summary`)."""
    return float(part) / float(whole) if whole > 0 else None


def coverage_figures(
    coverage: CoverageResult, underserved: pd.DataFrame, spacing: pd.DataFrame
) -> dict[str, Any]:
    """The ``coverage`` summary figures that follow hydrant status (raw: metres and shares)."""
    road_m, covered = float(coverage.road_m), float(coverage.total_covered_m)
    return {
        "covered_m": covered,
        "uncovered_m": road_m - covered,
        "covered_share": share(covered, road_m),
        "hydrants_used": int(coverage.n_hydrants),
        "underserved_segments": len(underserved),
        "spacing_gaps": len(spacing),
    }


def building_water_figures(buildings: pd.DataFrame) -> dict[str, int]:
    """The ``buildings`` summary figures that follow hydrant status."""
    return {
        "without_hydrant_in_range": int((buildings["hydrants_in_range"] == 0).sum()),
        "flow_deficit": int((np.nan_to_num(buildings["flow_deficit_lps"]) > 0).sum()),
    }


def _summary(
    preset: Preset,
    coverage: CoverageResult,
    buildings: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    response: ResponseResult | None,
    underserved: gpd.GeoDataFrame,
    spacing: gpd.GeoDataFrame,
    found: pd.DataFrame,
    options: AnalysisOptions,
    hydrants: gpd.GeoDataFrame,
) -> dict[str, Any]:
    limit = preset.rule("station_response").value("value_s")
    water = coverage_figures(coverage, underserved, spacing)
    summary: dict[str, Any] = {
        "coverage": {
            "radius_m": coverage.radius_m,
            "method": coverage.method,
            "road_m": float(coverage.road_m),
            **{k: water[k] for k in ("covered_m", "uncovered_m", "covered_share", "hydrants_used")},
            "excluded_m": float(roads["length_m"].to_numpy()[~coverage.counted].sum()),
            "excluded_classes": excluded_classes(roads, coverage.counted),
            "hydrants_unsnapped": int((hydrants["snap_edge"] < 0).sum()),
            "underserved_segments": water["underserved_segments"],
            "spacing_gaps": water["spacing_gaps"],
        },
        "buildings": {
            **building_water_figures(buildings),
            "flow_unknown": int(buildings["required_flow_lps"].isna().sum()),
            "without_access": int((buildings["access_edge"] < 0).sum()),
        },
        "stations": {"limit_s": limit},
        "analysis": {
            "preset": preset.name,
            "apparatus": options.apparatus,
            "respect_oneway": options.respect_oneway,
            "gates_locked": options.gates_locked,
            "missing_status": preset.hydrant_status.missing,
        },
        "findings": findings_summary(found),
    }
    if response is not None:
        within_edges = roads["response_s"].to_numpy() <= limit
        length = roads["length_m"].to_numpy()
        summary["stations"].update(
            {
                "used": int(response.station_snaps.snapped.sum()),
                "roads_within_limit_share": share(float(length[within_edges].sum()), float(length.sum())),
                "buildings_within_limit_share": share(
                    float((buildings["response_s"].to_numpy() <= limit).sum()), float(len(buildings))
                ),
            }
        )
    else:  # not computed: no station
        summary["stations"].update(
            {"used": None, "roads_within_limit_share": None, "buildings_within_limit_share": None}
        )
    return summary


#: Figures that claim a measurement against hydrants: None when the data holds no hydrant.
_HYDRANT_FIGURES: dict[str, tuple[str, ...]] = {
    "coverage": ("covered_m", "uncovered_m", "covered_share", "underserved_segments", "spacing_gaps"),
    "buildings": ("without_hydrant_in_range", "flow_deficit"),
    "pump_connectors": ("without_hydrant_in_band",),
}


def _with_quality(
    summary: dict[str, Any], layers: Layers, preset: Preset, response: ResponseResult | None, *,
    siting_mode: str,
) -> None:
    """Add ``quality`` to ``summary``; without any hydrant in the data, set the hydrant figures
    to None (not computed) and say why in ``coverage.basis``."""
    if not has_hydrant_data(layers):
        for section, keys in _HYDRANT_FIGURES.items():
            for key in keys:
                summary.setdefault(section, {})[key] = None
        summary["coverage"]["basis"] = "no_hydrant_data"
    summary["quality"] = analysis_quality(
        layers, preset=preset, siting=siting_mode,
        stations_used=int(response.station_snaps.snapped.sum()) if response is not None else None,
    )


#: Siting modes in which no siting is run.
_NOT_SITED = ("off", "no_hydrant_data")


def _siting_mode(options: AnalysisOptions, *, hydrant_data: bool) -> str:
    """``run``, ``off``, ``no_hydrant_data`` (not run) or ``without_hydrant_data`` (asked for)."""
    if not options.siting:
        return "off"
    if hydrant_data:
        return "run"
    asked = options.new_hydrants is not None or options.budget_cny is not None
    return "without_hydrant_data" if asked else "no_hydrant_data"
