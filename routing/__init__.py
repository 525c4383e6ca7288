"""routing: the street network as graphs — build, snap, coverage, water, response, access.

Public names are listed in ``__all__``; each lives in the module named after its concept.
"""

from routing.access import AccessOptions, access_summary, dead_end_lanes, high_rise_access
from routing.analysis import Analysis, AnalysisOptions, analyze, truck_options
from routing.coverage import (
    CoverageResult,
    coverage_pieces,
    hydrant_coverage,
    multi_source_distance,
    underserved_segments,
)
from routing.findings import FINDING_COLUMNS, concat_findings, findings
from routing.graph import StreetGraph, TruckGraph, TruckOptions, build_graph, truck_graph
from routing.response import ResponseResult, first_due_areas, point_times, station_response
from routing.snap import SnapResult, snap_points
from routing.spacing import spacing_gaps
from routing.water import AccessPoints, WaterOptions, building_access, building_water, hydrant_pairs

__all__ = [
    "FINDING_COLUMNS", "AccessOptions", "AccessPoints", "Analysis", "AnalysisOptions",
    "CoverageResult", "ResponseResult", "SnapResult", "StreetGraph", "TruckGraph", "TruckOptions",
    "WaterOptions", "access_summary", "analyze", "build_graph", "building_access", "building_water",
    "concat_findings", "coverage_pieces", "dead_end_lanes", "findings", "first_due_areas",
    "high_rise_access", "hydrant_coverage", "hydrant_pairs", "multi_source_distance", "point_times",
    "snap_points", "spacing_gaps", "station_response", "truck_graph", "truck_options",
    "underserved_segments",
]
