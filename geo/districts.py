"""The districts layer: OSM ``boundary=administrative`` polygons or a user polygon file."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pyproj

from geo.osm import OsmData
from geo.units import parse_float

log = logging.getLogger(__name__)

DISTRICT_COLUMNS = ["district_id", "name", "admin_level", "area_km2"]


def osm_districts(
    osm: OsmData, *, crs: pyproj.CRS, admin_levels: tuple[int, ...] | None = None
) -> gpd.GeoDataFrame:
    """Administrative areas assembled from OSM, in the working CRS.

    Parameters
    ----------
    admin_levels
        Keep only these ``admin_level`` values (China: 6 = 区/县, 8 = 街道/乡镇; Germany: 8–10).
        ``None`` keeps every level; the analysis then uses the finest level that covers the area.
    """
    areas = osm.areas
    if len(areas):
        mask = areas["tags"].map(lambda t: t.get("boundary") == "administrative").astype(bool)
        areas = areas.loc[mask]
    levels = [parse_float(t.get("admin_level")) for t in areas["tags"]]
    frame = pd.DataFrame(
        {
            "district_id": [f"osm/{t}{i}" for t, i in zip(areas["osm_type"], areas["osm_id"], strict=True)],
            "name": [t.get("name:zh", t.get("name", "")) for t in areas["tags"]],
            "admin_level": levels,
        },
        columns=["district_id", "name", "admin_level"],
    ).astype({"admin_level": "float64"})
    gdf = gpd.GeoDataFrame(
        frame, geometry=gpd.GeoSeries(areas["geometry"].to_numpy(), crs="EPSG:4326")
    ).to_crs(crs)
    if admin_levels is not None:
        gdf = gdf.loc[gdf["admin_level"].isin(admin_levels)]
    gdf = gdf.reset_index(drop=True)
    gdf["area_km2"] = gdf.geometry.area / 1e6
    log.info("districts from OSM: %d", len(gdf))
    return gdf


def file_districts(districts: gpd.GeoDataFrame, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Districts from a user polygon file (read by :func:`geo.agency.read_districts_file`)."""
    gdf = districts.to_crs(crs).reset_index(drop=True)
    gdf["area_km2"] = gdf.geometry.area / 1e6
    if "admin_level" not in gdf:
        gdf["admin_level"] = float("nan")
    return gdf[[*DISTRICT_COLUMNS, "geometry"]]
