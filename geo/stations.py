"""The fire stations layer (OSM ``amenity=fire_station`` or an agency file)."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pyproj

from geo._features import osm_point_features
from geo.osm import OsmData

log = logging.getLogger(__name__)

STATION_COLUMNS = ["station_id", "name", "source"]


def osm_stations(osm: OsmData, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Fire stations mapped in OSM as nodes or areas, as points in the working CRS."""
    feats = osm_point_features(osm, lambda t: t.get("amenity") == "fire_station", crs=crs)
    frame = pd.DataFrame(
        {
            "station_id": [f"osm/{t}{i}" for t, i in zip(feats["osm_type"], feats["osm_id"], strict=True)],
            "name": [t.get("name", t.get("name:zh", "")) for t in feats["tags"]],
            "source": "osm",
        },
        columns=STATION_COLUMNS,
    )
    log.info("fire stations from OSM: %d", len(frame))
    return gpd.GeoDataFrame(frame, geometry=feats.geometry.to_numpy(), crs=crs)


def agency_stations(points: gpd.GeoDataFrame, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Stations from an agency file (read by :func:`geo.agency.read_agency_table`)."""
    pts = points.to_crs(crs).reset_index(drop=True)
    return gpd.GeoDataFrame(pts[[*STATION_COLUMNS, "geometry"]], crs=crs)
