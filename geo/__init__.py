"""geo: reading OSM and agency layers, coordinates, schemas, rule presets, building classes.

Public names are listed in ``__all__``; each lives in the module named after its concept.
"""

from geo import _pandas_options  # noqa: F401  (first: the options every table is built with)
from geo.agency import (
    AgencyRead,
    parse_column_spec,
    parse_units_spec,
    read_agency_table,
    read_districts_file,
    read_status_codes,
)
from geo.bbox import BBox, parse_bbox
from geo.buildings import building_height, building_use, high_rise_class, osm_buildings
from geo.crs import (
    SourceCRS,
    bd09_to_wgs84,
    gcj02_to_wgs84,
    in_china,
    parse_crs,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
    working_crs,
)
from geo.errors import (
    AnalysisError,
    ConfigError,
    CRSError,
    FireReachError,
    InputFileError,
    LayerValidationError,
    NetworkUnavailableError,
    NotFoundError,
)
from geo.flow_tests import FlowTestRead, read_flow_tests
from geo.layers import LayerOptions, Layers, build_layers, layer_counts
from geo.notes import Note
from geo.online import download_osm
from geo.osm import OsmData, read_osm
from geo.preset_lookup import credited_flow, required_fire_flow
from geo.preset_scope import CoverageRoads, HydrantStatusRule
from geo.presets import Preset, Rule, load_preset
from geo.quality import input_quality, layer_quality
from geo.rejects import Reject, rejects_frame
from geo.roads import build_roads
from geo.schema import SCHEMAS, validate_layer

__all__ = [
    "SCHEMAS", "AgencyRead", "AnalysisError", "BBox", "CRSError", "ConfigError", "CoverageRoads",
    "FireReachError", "FlowTestRead", "HydrantStatusRule",
    "InputFileError", "LayerOptions", "LayerValidationError", "Layers", "NetworkUnavailableError",
    "NotFoundError", "Note", "OsmData", "Preset", "Reject", "Rule", "SourceCRS", "bd09_to_wgs84",
    "build_layers", "build_roads", "building_height", "building_use", "credited_flow",
    "download_osm", "gcj02_to_wgs84", "high_rise_class", "in_china", "input_quality",
    "layer_counts", "layer_quality", "load_preset", "osm_buildings", "parse_bbox", "parse_column_spec",
    "parse_crs", "parse_units_spec", "read_agency_table", "read_districts_file", "read_flow_tests",
    "read_osm",
    "read_status_codes", "rejects_frame", "required_fire_flow", "to_wgs84", "validate_layer",
    "wgs84_to_bd09", "wgs84_to_gcj02", "working_crs",
]
