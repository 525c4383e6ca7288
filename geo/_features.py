"""Shared helper: point features from OSM nodes and areas (areas become representative points)."""

from __future__ import annotations

from collections.abc import Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo.osm import OsmData

TagTest = Callable[[dict[str, str]], bool]


def osm_point_features(osm: OsmData, match: TagTest, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Nodes and areas whose tags pass ``match``, as points in ``crs``.

    Columns: ``osm_type`` ('n', 'w' or 'r'), ``osm_id``, ``tags``, geometry. An area is
    represented by a point inside it (``representative_point``), computed in the working CRS.
    """
    pts = osm.points.loc[osm.points["tags"].map(match).astype(bool)]
    areas = osm.areas.loc[osm.areas["tags"].map(match).astype(bool)] if len(osm.areas) else osm.areas
    node_geoms = gpd.GeoSeries(pts["geometry"].to_numpy(), crs="EPSG:4326").to_crs(crs)
    area_geoms = gpd.GeoSeries(areas["geometry"].to_numpy(), crs="EPSG:4326").to_crs(crs)
    frame = pd.concat(
        [pts[["osm_type", "osm_id", "tags"]], areas[["osm_type", "osm_id", "tags"]]],
        ignore_index=True,
    )
    geoms = np.concatenate(
        [node_geoms.to_numpy(), shapely.point_on_surface(area_geoms.to_numpy())]
    ) if len(frame) else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs))
