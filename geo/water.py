"""The static water sources layer: ``emergency=water_tank|suction_point|fire_water_pond``."""

from __future__ import annotations

import logging

import geopandas as gpd
import pandas as pd
import pyproj

from geo._features import osm_point_features
from geo.osm import OsmData
from geo.units import parse_float

log = logging.getLogger(__name__)

WATER_KINDS = frozenset({"water_tank", "suction_point", "fire_water_pond"})


def osm_water_sources(osm: OsmData, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Static water sources from OSM nodes and areas, as points in the working CRS."""
    feats = osm_point_features(osm, lambda t: t.get("emergency") in WATER_KINDS, crs=crs)
    frame = pd.DataFrame(
        {
            "source_id": [f"osm/{t}{i}" for t, i in zip(feats["osm_type"], feats["osm_id"], strict=True)],
            "kind": [t["emergency"] for t in feats["tags"]],
            "name": [t.get("name", "") for t in feats["tags"]],
            "volume_m3": [parse_float(t.get("water_tank:volume", t.get("volume"))) for t in feats["tags"]],
        },
        columns=["source_id", "kind", "name", "volume_m3"],
    ).astype({"volume_m3": "float64"})
    log.info("water sources from OSM: %d", len(frame))
    return gpd.GeoDataFrame(frame, geometry=feats.geometry.to_numpy(), crs=crs)
