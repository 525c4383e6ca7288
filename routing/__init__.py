"""routing: the street network as graphs — build, snap, coverage, water, response, access,
what-ifs.

Public names are listed in ``__all__``; each lives in the module named after its concept.
"""

from routing.access import AccessOptions, access_summary, high_rise_access
from routing.analysis import Analysis, AnalysisOptions, analyze, truck_options
from routing.blockage_rules import BlockageRules
from routing.blockages import BlockageResult, blockage_impact
from routing.bounded import bounded_pairs
from routing.coverage import (
    CoverageResult,
    coverage_pieces,
    hydrant_coverage,
    multi_source_distance,
    roads_needing_hydrants,
    underserved_segments,
)
from routing.critical_lanes import critical_lanes
from routing.dead_ends import dead_end_lanes
from routing.findings import FINDING_COLUMNS, concat_findings, findings
from routing.flow_tests import flow_at_residual, prefer_flow_tests
from routing.graph import StreetGraph, TruckGraph, TruckOptions, build_graph, truck_graph
from routing.hydraulics import (
    HydrantThresholds,
    WorstPoint,
    available_fire_flow,
    hydrant_thresholds,
    simultaneous_flow,
    worst_point,
)
from routing.live import AreaUpdate, recompute_area, splice_spacing, splice_underserved
from routing.quality import analysis_quality
from routing.response import ResponseResult, first_due_areas, point_times, station_response
from routing.scenario import (
    SitingProblem,
    scenario_impact,
    siting_problem,
    solve_siting,
)
from routing.siting import (
    CostModel,
    SitingResult,
    budget_curve,
    cover_all,
    coverage_matrix,
    demand_segments,
    site_hydrants,
    siting_candidates,
)
from routing.snap import SnapResult, snap_points
from routing.spacing import spacing_gaps
from routing.water import AccessPoints, WaterOptions, building_access, building_water, hydrant_pairs

__all__ = [
    "FINDING_COLUMNS",
    "AccessOptions",
    "AccessPoints",
    "Analysis",
    "AnalysisOptions",
    "AreaUpdate",
    "BlockageResult",
    "BlockageRules",
    "CostModel",
    "CoverageResult",
    "HydrantThresholds",
    "ResponseResult",
    "SitingProblem",
    "SitingResult",
    "SnapResult",
    "StreetGraph",
    "TruckGraph",
    "TruckOptions",
    "WaterOptions",
    "WorstPoint",
    "access_summary",
    "analysis_quality",
    "analyze",
    "available_fire_flow",
    "blockage_impact",
    "bounded_pairs",
    "budget_curve",
    "build_graph",
    "building_access",
    "building_water",
    "concat_findings",
    "cover_all",
    "coverage_matrix",
    "coverage_pieces",
    "critical_lanes",
    "dead_end_lanes",
    "demand_segments",
    "findings",
    "first_due_areas",
    "flow_at_residual",
    "high_rise_access",
    "hydrant_coverage",
    "hydrant_pairs",
    "hydrant_thresholds",
    "multi_source_distance",
    "point_times",
    "prefer_flow_tests",
    "recompute_area",
    "roads_needing_hydrants",
    "scenario_impact",
    "simultaneous_flow",
    "site_hydrants",
    "siting_candidates",
    "siting_problem",
    "snap_points",
    "solve_siting",
    "spacing_gaps",
    "splice_spacing",
    "splice_underserved",
    "station_response",
    "truck_graph",
    "truck_options",
    "underserved_segments",
    "worst_point",
]
