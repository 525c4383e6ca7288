"""The pump connectors layer (水泵接合器): OSM ``emergency=fire_service_inlet``.

A pump connector lets a fire engine feed a building's own fire-water system; GB 50974 6.1.5
counts hydrants 5–40 m from it as its supply. Each connector is tied to the building whose
footprint is nearest (within ``building_distance_m``), when there is one.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo._features import osm_point_features
from geo.osm import OsmData

log = logging.getLogger(__name__)

CONNECTOR_COLUMNS = ["connector_id", "name", "building_id"]


def osm_connectors(
    osm: OsmData,
    *,
    crs: pyproj.CRS,
    buildings: gpd.GeoDataFrame | None = None,
    building_distance_m: float = 15.0,
) -> gpd.GeoDataFrame:
    """Pump connectors from OSM nodes (and areas), as points in the working CRS."""
    feats = osm_point_features(
        osm, lambda t: t.get("emergency") == "fire_service_inlet", crs=crs
    )
    building_id = np.full(len(feats), "", dtype=object)
    if buildings is not None and len(buildings) and len(feats):
        tree = shapely.STRtree(buildings.geometry.to_numpy())
        (q, t) = tree.query_nearest(
            feats.geometry.to_numpy(), max_distance=building_distance_m, all_matches=False
        )
        building_id[q] = buildings["building_id"].astype(str).to_numpy(dtype=object)[t]
    frame = pd.DataFrame(
        {
            "connector_id": [f"osm/{t}{i}" for t, i in zip(feats["osm_type"], feats["osm_id"], strict=True)],
            "name": [t.get("name", t.get("ref", "")) for t in feats["tags"]],
            "building_id": building_id,
        },
        columns=CONNECTOR_COLUMNS,
    )
    log.info("pump connectors from OSM: %d (%d tied to a building)", len(frame),
             int((building_id != "").sum()))
    return gpd.GeoDataFrame(frame, geometry=feats.geometry.to_numpy(), crs=crs)
