"""The fire stations layer (OSM ``amenity=fire_station`` or an agency file).

OSM often maps one station twice: a node for the station and an area for its building (3-15 m
apart), or two nodes. :func:`merge_duplicate_stations` merges them: two stations are one when
they lie within ``merge_distance_m`` (default 100 m) and their names agree or one has no name,
or within ``same_name_distance_m`` (default 250 m) when both carry the same name. 100 m is well
above the node-to-area offsets seen in real data yet well below the spacing of real stations
(a 5-minute district is several km across, and 建标152-2017 gives 2-15 km² per station), so two
real stations are not merged; two differently named stations are never merged (a 微型消防站 next
to a brigade station stays).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import scipy.sparse
import shapely
from scipy.sparse.csgraph import connected_components

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


def merge_duplicate_stations(
    stations: gpd.GeoDataFrame,
    *,
    merge_distance_m: float = 100.0,
    same_name_distance_m: float = 250.0,
) -> tuple[gpd.GeoDataFrame, int]:
    """Merge stations mapped more than once (see the module docstring for the rule).

    Parameters
    ----------
    stations
        The stations layer in a projected CRS (metres).
    merge_distance_m
        Stations closer than this are one unless both are named and the names differ.
    same_name_distance_m
        Stations with the same non-empty name closer than this are one.

    Returns
    -------
    tuple of (geopandas.GeoDataFrame, int)
        One record per group (the named one first, then an area over a node, then the first id;
        it keeps its own point) and the number of records merged away.
    """
    n = len(stations)
    if n < 2:
        return stations.reset_index(drop=True), 0
    st = stations.reset_index(drop=True)
    geoms = st.geometry.to_numpy()
    names = st["name"].fillna("").astype(str).str.strip().str.lower().to_numpy(dtype=object)
    reach = max(merge_distance_m, same_name_distance_m)
    left, right = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=reach)
    keep = left < right
    left, right = left[keep], right[keep]
    dist = shapely.distance(geoms[left], geoms[right])
    same = (names[left] == names[right]) & (names[left] != "")
    blank = (names[left] == "") | (names[right] == "")
    joined = ((dist <= merge_distance_m) & (same | blank)) | ((dist <= same_name_distance_m) & same)
    graph = scipy.sparse.coo_matrix(
        (np.ones(int(joined.sum())), (left[joined], right[joined])), shape=(n, n)
    )
    _, group = connected_components(graph, directed=False)
    ids = st["station_id"].astype(str)
    rank = pd.DataFrame({
        "group": group,
        "unnamed": names == "",
        "node": ids.str.startswith("osm/n").to_numpy(),
        "id": ids.to_numpy(),
    })
    first = rank.sort_values(["group", "unnamed", "node", "id"], kind="stable")
    kept = np.sort(first.drop_duplicates("group").index.to_numpy())
    merged = n - len(kept)
    if merged:
        log.info("fire stations: %d duplicates merged (within %.0f m, %.0f m for the same name)",
                 merged, merge_distance_m, same_name_distance_m)
    return gpd.GeoDataFrame(st.loc[kept].reset_index(drop=True), crs=stations.crs), merged


def agency_stations(points: gpd.GeoDataFrame, *, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Stations from an agency file (read by :func:`geo.agency.read_agency_table`)."""
    pts = points.to_crs(crs).reset_index(drop=True)
    return gpd.GeoDataFrame(pts[[*STATION_COLUMNS, "geometry"]], crs=crs)
