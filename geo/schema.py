"""Layer schemas: the columns, units and meaning of every layer FireReach produces.

Each layer is one GeoDataFrame in the projected working CRS (metres). The dictionaries below are
the single source for validation (:func:`validate_layer`) and for the README's schema tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd

from geo._validate import require_columns
from geo.errors import CRSError, LayerValidationError


@dataclass(frozen=True)
class Column:
    """One column of a layer schema."""

    name: str
    dtype: str
    unit: str
    meaning: str


def _cols(*items: tuple[str, str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*i) for i in items)


ROADS = _cols(
    ("edge_id", "int64", "", "edge number, 0..n-1, stable within one build"),
    ("u", "int64", "", "OSM node id at the start of the edge (geometry runs u to v)"),
    ("v", "int64", "", "OSM node id at the end of the edge"),
    ("way_id", "int64", "", "OSM way id the edge was cut from"),
    ("highway", "str", "", "OSM highway class"),
    ("name", "str", "", "street name (Chinese names kept as tagged), empty if none"),
    ("oneway", "bool", "", "True: legal traffic only u to v (OSM oneway=-1 is reversed on load)"),
    ("lanes", "float", "lanes", "number of lanes, NaN if not tagged"),
    ("width_m", "float", "m", "carriageway width"),
    ("width_source", "str", "", "'width' or 'maxwidth' tag, or 'estimated' from class and lanes"),
    ("maxheight_m", "float", "m", "signed clearance, NaN if none"),
    ("access", "str", "", "OSM access (motor_vehicle/vehicle/access, most specific wins), '' if none"),
    ("service", "str", "", "OSM service=* (driveway, parking_aisle, emergency_access ...), '' if none"),
    ("surface", "str", "", "OSM surface, '' if none"),
    ("bridge", "bool", "", "on a bridge"),
    ("tunnel", "bool", "", "in a tunnel"),
    ("emergency", "str", "", "OSM emergency=* on the way (yes/designated marks a fire lane), ''"),
    ("motorroad", "bool", "", "OSM motorroad=yes: an access-controlled road (expressway)"),
    ("length_m", "float", "m", "edge length in the working CRS"),
)

BARRIERS = _cols(
    ("node_id", "int64", "", "OSM node id; always a node of the roads graph"),
    ("barrier", "str", "", "gate, lift_gate, bollard, chain, block, swing_gate, ..."),
    ("locked", "str", "", "'yes', 'no' or 'unknown'"),
    ("access", "str", "", "OSM access on the barrier, '' if none"),
    ("way_id", "int64", "", "a drivable OSM way the barrier sits on"),
    ("road_name", "str", "", "name of that way"),
)

HYDRANTS = _cols(
    ("hydrant_id", "str", "", "stable id: agency 编号, or 'osm/<node id>'"),
    ("kind", "str", "", "pillar, underground, wall, pipe or unknown"),
    ("status", "str", "", "in_service, out_of_service, low_pressure or unknown"),
    ("diameter_mm", "float", "mm", "nominal diameter (DN), NaN if unknown"),
    ("flow_lps", "float", "L/s", "rated or measured flow, NaN if unknown"),
    ("pressure_mpa", "float", "MPa", "static or measured pressure, NaN if unknown"),
    ("ref", "str", "", "OSM ref or agency number"),
    ("name", "str", "", "name or address"),
    ("source", "str", "", "'osm' or 'agency'"),
    ("source_file", "str", "", "file the record came from"),
    ("source_crs", "str", "", "CRS of the source coordinates (EPSG:4326, gcj02, bd09, ...)"),
    ("osm_id", "Int64", "", "OSM node id when an OSM hydrant is merged in, else null"),
)

BUILDINGS = _cols(
    ("building_id", "str", "", "'osm/w<way id>' or 'osm/r<relation id>'"),
    ("name", "str", "", "name (Chinese names kept), '' if none"),
    ("building", "str", "", "OSM building=* value"),
    ("levels", "float", "floors", "building:levels (most of outline and parts), NaN if unknown"),
    ("height_m", "float", "m", "height, NaN if unknown"),
    ("height_source", "str", "", "'height' tag, 'levels' (levels x metres per level), "
     "'building:part' (tallest part inside the outline) or 'unknown'"),
    ("use", "str", "", "residential, public, industrial or unknown"),
    ("high_rise_class", "str", "", "GB 50016 5.1.1: not_high_rise, class2, class1 or unknown"),
    ("class_basis", "str", "", "why that class (threshold and use)"),
    ("footprint_m2", "float", "m2", "footprint area"),
    ("volume_m3", "float", "m3", "footprint x height, NaN when height unknown"),
)

TURNAROUNDS = _cols(
    ("node_id", "int64", "", "OSM node id; a node of the roads graph"),
    ("kind", "str", "", "turning_circle or turning_loop (OSM highway=*)"),
)

STATIONS = _cols(
    ("station_id", "str", "", "agency id or 'osm/<type><id>'"),
    ("name", "str", "", "station name"),
    ("source", "str", "", "'osm' or 'agency'"),
)

WATER_SOURCES = _cols(
    ("source_id", "str", "", "'osm/<type><id>'"),
    ("kind", "str", "", "water_tank, suction_point or fire_water_pond"),
    ("name", "str", "", "name, '' if none"),
    ("volume_m3", "float", "m3", "capacity if tagged, NaN otherwise"),
)

PUMP_CONNECTORS = _cols(
    ("connector_id", "str", "", "'osm/<type><id>' (OSM emergency=fire_service_inlet)"),
    ("name", "str", "", "name or ref, '' if none"),
    ("building_id", "str", "", "the building it feeds (nearest footprint within 15 m), ''"),
)

DISTRICTS = _cols(
    ("district_id", "str", "", "'osm/r<relation id>' or the file's id"),
    ("name", "str", "", "district or sub-district name"),
    ("admin_level", "float", "", "OSM admin_level, NaN for user files"),
    ("area_km2", "float", "km2", "area"),
)

SCHEMAS: dict[str, tuple[Column, ...]] = {
    "roads": ROADS,
    "barriers": BARRIERS,
    "turnarounds": TURNAROUNDS,
    "hydrants": HYDRANTS,
    "buildings": BUILDINGS,
    "stations": STATIONS,
    "water_sources": WATER_SOURCES,
    "pump_connectors": PUMP_CONNECTORS,
    "districts": DISTRICTS,
}


def require_projected(gdf: gpd.GeoDataFrame, *, name: str) -> None:
    """Raise :class:`CRSError` unless ``gdf`` is in a projected CRS in metres."""
    crs = gdf.crs
    if crs is None:
        raise CRSError(f"layer {name!r} has no CRS; set one (e.g. EPSG:4326) before analysis")
    if not crs.is_projected:
        raise CRSError(
            f"layer {name!r} is in geographic CRS {crs.to_string()}; analysis needs metres: "
            "reproject to the working CRS first (geo.crs.working_crs)"
        )
    unit = crs.axis_info[0].unit_name if crs.axis_info else "metre"
    if unit not in ("metre", "meter", "m"):
        raise CRSError(f"layer {name!r} CRS {crs.to_string()} uses {unit}, not metres")


def validate_layer(gdf: gpd.GeoDataFrame, *, name: str) -> gpd.GeoDataFrame:
    """Check that ``gdf`` has every column of schema ``name`` and a projected CRS; return it."""
    if name not in SCHEMAS:
        raise LayerValidationError(f"unknown layer {name!r}; known: {', '.join(SCHEMAS)}")
    require_columns(gdf, [c.name for c in SCHEMAS[name]], layer=name)
    require_projected(gdf, name=name)
    return gdf


def same_crs(*layers: tuple[str, gpd.GeoDataFrame]) -> None:
    """Raise :class:`CRSError` if the named layers are not all in one CRS."""
    crss = {name: gdf.crs for name, gdf in layers}
    first_name, first = next(iter(crss.items()))
    for name, crs in crss.items():
        if crs != first:
            raise CRSError(
                f"layers {first_name!r} ({first}) and {name!r} ({crs}) are in different CRSs; "
                "build all layers with one working CRS"
            )
