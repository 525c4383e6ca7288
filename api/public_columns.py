"""The columns an anonymous caller may see, layer by layer (the allow-lists of :mod:`api.visibility`).

Default-deny: a column that is not listed here is served to keyed callers only, so a column added
to a layer later (or an agency file's own extra columns, such as a 联系电话 column the reader keeps)
stays hidden from the public until it is listed here on purpose. Personal columns
(:data:`api.visibility.PERSONAL`) are never public, listed or not. The ledger's layers and the
rejects have their own lists in :mod:`api.visibility`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from geo.catalog import LayerName

#: Public columns of every catalog layer but the ledger's and the rejects.
PUBLIC_COLUMNS: Mapping[str, frozenset[str]] = MappingProxyType({
    LayerName.BARRIERS: frozenset({
        "access", "barrier", "locked", "node_id", "road_name", "way_id",
    }),
    LayerName.BUDGET_CURVE: frozenset({
        "candidate_id", "cny_per_m", "cost_cny", "cumulative_cost_cny", "cumulative_m",
        "cumulative_weight", "marginal_m", "marginal_weight", "order",
    }),
    LayerName.BUILDING_HYDRANTS: frozenset({
        "branch_capped", "branch_group", "building_id", "credited_lps", "distance_m", "hydrant_id",
        "uncapped_lps",
    }),
    LayerName.BUILDINGS: frozenset({
        "building", "building_id", "class_basis", "footprint_m2", "height_m", "height_source",
        "high_rise_class", "levels", "name", "use", "volume_m3",
    }),
    LayerName.BUILDINGS_ANALYSIS: frozenset({
        "access_edge", "access_offset_m", "access_position_m", "access_reason", "building",
        "building_id", "class_basis", "credited_flow_lps", "first_due_station", "flags",
        "flow_deficit_lps", "footprint_m2", "height_m", "height_source", "high_rise_class",
        "hydrants_in_range", "indoor_hydrants_required", "lane_layout", "levels", "name",
        "nearest_hydrant_m", "pump_connectors", "required_flow_lps", "response_s", "use",
        "volume_m3",
    }),
    LayerName.COVERAGE_PIECES: frozenset({
        "covered", "edge_id", "end_m", "highway", "length_m", "name", "needs_hydrants", "start_m",
        "way_id",
    }),
    LayerName.CRITICAL_LANES: frozenset({
        "buildings_cut", "edge_id", "entrance_node", "high_rises_cut", "name", "rank", "score",
    }),
    LayerName.DEAD_END_LANES: frozenset({
        "edge_ids", "end_node_id", "has_turnaround", "high_rises", "junction_node_id", "length_m",
        "n_edges", "n_high_rises", "turnaround_from_end_m", "turnaround_node_id",
        "turnaround_required_m", "verdict",
    }),
    LayerName.DISTRICTS: frozenset({
        "admin_level", "area_km2", "district_id", "name",
    }),
    LayerName.FINDINGS: frozenset({
        "clause", "confidence", "feature_id", "layer", "limit", "message", "rule_id", "severity",
        "value",
    }),
    LayerName.HIGH_RISE_ACCESS: frozenset({
        "aerial_band_m", "aerial_extent_ok", "aerial_pct", "building_id", "compliant_access",
        "estimated_width_pct", "height_m", "high_rise_class", "layout", "long_side_1_pct",
        "long_side_2_pct", "long_side_m", "long_sides_served", "name", "perimeter_m", "reasons",
        "ring_connections", "served_m", "served_pct", "too_close_m", "use",
    }),
    LayerName.HYDRANTS: frozenset({
        "diameter_mm", "flow_lps", "hydrant_id", "kind", "name", "osm_id", "pressure_mpa", "ref",
        "source", "source_crs", "source_file", "status", "status_source",
    }),
    LayerName.HYDRANTS_ANALYSIS: frozenset({
        "available_flow_lps", "branch_group", "diameter_mm", "flow_limited_by", "flow_lps",
        "hydrant_id", "junction", "kind", "main_distance_m", "main_dn_mm", "main_id", "main_link",
        "name", "osm_id", "pressure_mpa", "ref", "snap_edge", "snap_offset_m", "snap_reason",
        "source", "source_crs", "source_file", "static_pressure_mpa", "status", "status_source",
    }),
    LayerName.NO_PARKING_ZONES: frozenset({
        "clause", "distance_m", "edge_id", "end_m", "length_m", "name", "rule_id", "start_m",
    }),
    LayerName.NOTES: frozenset({
        "column", "count", "input", "kind", "label", "level", "message",
    }),
    LayerName.PROPOSED_HYDRANTS: frozenset({
        "candidate_id", "cost_cny", "cumulative_cost_cny", "edge_id", "highway", "main_distance_m",
        "marginal_m", "marginal_weight", "name", "offset_m", "order", "pipe_m", "position_m",
        "road_width_m", "shift_m", "side", "wall_distance_m",
    }),
    LayerName.PUMP_CONNECTORS: frozenset({
        "building_id", "connector_id", "name",
    }),
    LayerName.PUMP_CONNECTORS_ANALYSIS: frozenset({
        "building_id", "connector_id", "hydrants_15_40m", "hydrants_in_range", "name",
        "nearest_hydrant_m",
    }),
    LayerName.ROADS: frozenset({
        "access", "bridge", "edge_id", "emergency", "highway", "lanes", "length_m", "maxheight_m",
        "motorroad", "name", "oneway", "service", "surface", "tunnel", "u", "v", "way_id",
        "width_m", "width_source",
    }),
    LayerName.ROADS_ANALYSIS: frozenset({
        "access", "bridge", "covered_m", "covered_pct", "edge_id", "emergency",
        "first_due_station", "highway", "lanes", "length_m", "maxheight_m", "motorroad", "name",
        "needs_hydrants", "oneway", "response_s", "service", "surface", "truck_blocked_by",
        "truck_passable", "tunnel", "u", "uncovered_m", "v", "way_id", "width_m", "width_source",
    }),
    LayerName.SPACING_GAPS: frozenset({
        "clause", "confidence", "from_hydrant", "gap_m", "name", "rule_id", "severity",
        "to_hydrant", "way_ids",
    }),
    LayerName.STATION_AREAS: frozenset({
        "area_km2", "nodes", "station", "station_id",
    }),
    LayerName.STATIONS: frozenset({
        "name", "source", "station_id",
    }),
    LayerName.TURNAROUNDS: frozenset({
        "kind", "node_id",
    }),
    LayerName.UNDERSERVED_SEGMENTS: frozenset({
        "clause", "confidence", "length_m", "n_buildings", "n_high_rises", "name", "rank",
        "rule_id", "severity", "way_ids",
    }),
    LayerName.WATER_MAINS: frozenset({
        "branch_group", "diameter_mm", "from_node", "kind", "length_m", "material", "pipe_id",
        "roughness", "status", "to_node",
    }),
    LayerName.WATER_SOURCES: frozenset({
        "kind", "name", "source_id", "volume_m3",
    }),
    LayerName.WATER_SUPPLY: frozenset({
        "head_m", "kind", "node", "pressure_mpa", "supply_id",
    }),
})
