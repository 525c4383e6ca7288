"""Vector tiles through HTTP, decoded back with mapbox-vector-tile (a decoder nobody here wrote).

Geometry is checked in tile coordinates against the workspace's own features projected by hand,
the encoder against the worked examples of the MVT 2.1 specification, and the cache against a
live update (version bump).
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import geopandas as gpd
import httpx
import mapbox_vector_tile
import numpy as np
import pytest
import shapely

from api import mvt
from api.app import create_app
from api.settings import Settings
from api.workspace import Workspace
from tests.api.server import asgi_client

pytestmark = pytest.mark.anyio

BIG_LAYERS = ("roads_analysis", "buildings_analysis", "coverage_pieces", "hydrants")


@pytest.fixture(scope="module")
async def client(ws: Workspace, helsinki_workspace: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(workspace=helsinki_workspace, _env_file=None), workspace=ws)
    async with asgi_client(app) as c:
        c.app = app  # type: ignore[attr-defined]
        yield c


def _centre_tile(ws: Workspace, z: int) -> tuple[int, int]:
    lon0, lat0, lon1, lat1 = ws.collections["roads_analysis"].total_bounds
    return mvt.lonlat_to_tile((lon0 + lon1) / 2, (lat0 + lat1) / 2, z)


def _decode(data: bytes) -> dict[str, Any]:
    tile: dict[str, Any] = mapbox_vector_tile.decode(
        data, default_options={"y_coord_down": True, "geojson": False}
    )
    return tile


def _coords(geometry: dict[str, Any]) -> np.ndarray:
    return np.asarray(shapely.get_coordinates(shapely.geometry.shape(geometry)))


def _tile_xy(lon: np.ndarray, lat: np.ndarray, z: int, x: int, y: int) -> np.ndarray:
    """WGS84 to tile units (4096, y down) of tile z/x/y, by the textbook formula."""
    n = 2**z
    px = (lon + 180.0) / 360.0 * n
    py = (1.0 - np.arcsinh(np.tan(np.radians(lat))) / math.pi) / 2.0 * n
    return np.column_stack([(px - x) * mvt.EXTENT, (py - y) * mvt.EXTENT])


# --- through HTTP -----------------------------------------------------------------------------------


@pytest.mark.parametrize("layer", BIG_LAYERS)
async def test_tiles_decode_with_geometry_in_extent(
    client: httpx.AsyncClient, ws: Workspace, layer: str
) -> None:
    z = 15
    x, y = _centre_tile(ws, z)
    r = await client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    tile = _decode(r.content)
    assert list(tile) == [layer]
    decoded = tile[layer]
    assert decoded["extent"] == 4096 and decoded["version"] == 2
    feats = decoded["features"]
    assert feats
    ids = [f["id"] for f in feats]
    assert len(set(ids)) == len(ids)
    wanted = set(mvt.layer_spec(layer).properties or ())
    for f in feats:
        xy = _coords(f["geometry"])
        assert (xy >= -mvt.BUFFER).all() and (xy <= mvt.EXTENT + mvt.BUFFER).all()
        assert set(f["properties"]) <= wanted
    # every feature is a row of the collection, and its id property matches that row
    frame = ws.collections[layer]
    id_col = {"roads_analysis": "edge_id", "buildings_analysis": "building_id", "coverage_pieces": "edge_id",
              "hydrants": "hydrant_id"}[layer]
    for f in feats[:50]:
        assert f["properties"][id_col] == frame[id_col].iloc[f["id"]]


async def test_points_land_where_the_hydrants_are(client: httpx.AsyncClient, ws: Workspace) -> None:
    hyd = ws.collections["hydrants"]
    z = 16
    lon, lat = hyd.geometry.x.to_numpy(), hyd.geometry.y.to_numpy()
    x, y = mvt.lonlat_to_tile(float(lon[0]), float(lat[0]), z)
    tile = _decode((await client.get(f"/tiles/hydrants/{z}/{x}/{y}.mvt")).content)["hydrants"]
    expected_xy = _tile_xy(lon, lat, z, x, y)
    inside = ((expected_xy >= -mvt.BUFFER) & (expected_xy <= mvt.EXTENT + mvt.BUFFER)).all(axis=1)
    got = {f["properties"]["hydrant_id"]: _coords(f["geometry"])[0] for f in tile["features"]}
    assert set(got) == set(hyd.loc[inside, "hydrant_id"])
    for i in np.flatnonzero(inside):
        np.testing.assert_allclose(got[hyd["hydrant_id"].iloc[i]], expected_xy[i], atol=0.51)
        props = next(f["properties"] for f in tile["features"]
                     if f["properties"]["hydrant_id"] == hyd["hydrant_id"].iloc[i])
        assert props["status"] == hyd["status"].iloc[i]


async def test_lines_are_clipped_and_simplified_by_zoom(client: httpx.AsyncClient, ws: Workspace) -> None:
    roads = ws.collections["roads_analysis"]
    z_low, z_high = 12, 17
    x, y = _centre_tile(ws, z_low)
    low = _decode((await client.get(f"/tiles/roads_analysis/{z_low}/{x}/{y}.mvt")).content)["roads_analysis"]
    vertices_low = sum(len(_coords(f["geometry"])) for f in low["features"])
    ids = [f["id"] for f in low["features"]]
    source_vertices = int(shapely.get_num_coordinates(np.asarray(roads.geometry.array)[ids]).sum())
    assert vertices_low < 0.9 * source_vertices  # vertices closer than a tile unit are dropped
    curvy = int(np.argmax(shapely.get_num_coordinates(np.asarray(roads.geometry.array))))
    drawn = next(f for f in low["features"] if f["id"] == curvy)
    assert len(_coords(drawn["geometry"])) < len(roads.geometry.iloc[curvy].coords)
    xh, yh = _centre_tile(ws, z_high)
    high = _decode((await client.get(f"/tiles/roads_analysis/{z_high}/{xh}/{yh}.mvt")).content)
    assert 0 < len(high["roads_analysis"]["features"]) < len(roads)  # only what meets the tile
    # a line's decoded vertices sit on the projected source line (within a tile unit)
    f = max(high["roads_analysis"]["features"], key=lambda f: len(_coords(f["geometry"])))
    src = roads.geometry.iloc[f["id"]]
    line = shapely.LineString(_tile_xy(*np.asarray(src.coords).T, z_high, xh, yh))
    box = shapely.box(-mvt.BUFFER, -mvt.BUFFER, mvt.EXTENT + mvt.BUFFER, mvt.EXTENT + mvt.BUFFER)
    for pt in _coords(f["geometry"]):
        assert line.distance(shapely.Point(pt)) < 1.5
        assert box.buffer(0.5).contains(shapely.Point(pt))


async def test_polygons_keep_exterior_rings_positive(client: httpx.AsyncClient, ws: Workspace) -> None:
    z = 16
    x, y = _centre_tile(ws, z)
    tile = _decode((await client.get(f"/tiles/buildings_analysis/{z}/{x}/{y}.mvt")).content)
    for f in tile["buildings_analysis"]["features"]:
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon")
        coords = f["geometry"]["coordinates"]
        polys = [coords] if f["geometry"]["type"] == "Polygon" else coords
        for rings in polys:
            assert shapely.Polygon(rings[0]).is_valid


async def test_empty_area_and_low_zoom_are_204(client: httpx.AsyncClient, ws: Workspace) -> None:
    r = await client.get("/tiles/roads_analysis/14/0/0.mvt")
    assert r.status_code == 204 and r.content == b""
    x, y = _centre_tile(ws, 10)
    assert (await client.get(f"/tiles/buildings_analysis/10/{x}/{y}.mvt")).status_code == 204  # < minzoom
    assert (await client.get(f"/tiles/roads_analysis/10/{x}/{y}.mvt")).status_code == 200
    assert (await client.get("/tiles/districts/14/0/0.mvt")).status_code == 204  # empty collection


@pytest.mark.parametrize("path", ["3/8/0", "3/0/8", "25/0/0", "-1/0/0", "2/a/0", "0/0/1"])
async def test_bad_tile_address_is_422(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(f"/tiles/hydrants/{path}.mvt")
    assert r.status_code == 422, path
    assert r.json()["status"] == 422


async def test_unknown_layer_is_404(client: httpx.AsyncClient) -> None:
    for url in ("/tiles/nope/1/0/0.mvt", "/tiles/nope.json"):
        r = await client.get(url)
        assert r.status_code == 404 and "roads_analysis" in r.json()["error"]


async def test_tilejson(client: httpx.AsyncClient, ws: Workspace) -> None:
    r = await client.get("/tiles/roads_analysis.json")
    assert r.status_code == 200
    doc = r.json()
    assert doc["tilejson"] == "3.0.0"
    # no public_base_url configured: a path on this server (never the request's Host)
    assert doc["tiles"] == ["/tiles/roads_analysis/{z}/{x}/{y}.mvt"]
    assert doc["minzoom"] == 10 and doc["maxzoom"] >= 18
    np.testing.assert_allclose(doc["bounds"], ws.collections["roads_analysis"].total_bounds)
    layer = doc["vector_layers"][0]
    assert layer["id"] == "roads_analysis"
    assert layer["fields"]["covered_pct"] == "Number" and layer["fields"]["name"] == "String"
    assert layer["fields"]["truck_passable"] == "Boolean"


async def test_cache_etag_and_version_bump(client: httpx.AsyncClient, ws: Workspace) -> None:
    app = client.app  # type: ignore[attr-defined]
    x, y = mvt.lonlat_to_tile(*ws.collections["hydrants"].geometry.iloc[0].coords[0], 15)
    url = f"/tiles/hydrants/15/{x}/{y}.mvt"
    first = await client.get(url)
    cache: mvt.TileCache = app.state.tile_cache
    hits = cache.hits
    second = await client.get(url)
    assert second.content == first.content and cache.hits == hits + 1
    etag = first.headers["etag"]
    assert (await client.get(url, headers={"If-None-Match": etag})).status_code == 304
    # a live update: a hydrant goes out of service, the version is bumped
    old = ws.collections["hydrants"]
    changed = old.copy()
    changed["status"] = "out_of_service"
    try:
        with ws.lock:
            ws.collections["hydrants"] = changed
            ws.version = 1  # type: ignore[attr-defined]
        third = await client.get(url)
        assert third.headers["etag"] != etag
        statuses = {f["properties"]["status"] for f in _decode(third.content)["hydrants"]["features"]}
        assert statuses == {"out_of_service"}
    finally:
        with ws.lock:
            ws.collections["hydrants"] = old
            ws.version = 0  # type: ignore[attr-defined]


# --- the encoder, against the MVT 2.1 specification's examples (section 4.3.5) ---------------------


@pytest.mark.parametrize(
    ("geometry", "commands"),
    [
        (shapely.Point(25, 17), [9, 50, 34]),
        (shapely.MultiPoint([(5, 7), (3, 2)]), [17, 10, 14, 3, 9]),
        (shapely.LineString([(2, 2), (2, 10), (10, 10)]), [9, 4, 4, 18, 0, 16, 16, 0]),
        (shapely.MultiLineString([[(2, 2), (2, 10), (10, 10)], [(1, 1), (3, 5)]]),
         [9, 4, 4, 18, 0, 16, 16, 0, 9, 17, 17, 10, 4, 8]),
        (shapely.Polygon([(3, 6), (8, 12), (20, 34), (3, 6)]), [9, 6, 12, 18, 10, 12, 24, 44, 15]),
        (shapely.MultiPolygon([
            shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)]),
            shapely.Polygon([(11, 11), (20, 11), (20, 20), (11, 20), (11, 11)],
                            [[(13, 13), (13, 17), (17, 17), (17, 13), (13, 13)]]),
         ]),
         [9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15, 9, 22, 2, 26, 18, 0, 0, 18, 17, 0, 15,
          9, 4, 13, 26, 0, 8, 8, 0, 0, 7, 15]),
    ],
)
def test_geometry_commands_match_the_spec(geometry: shapely.Geometry, commands: list[int]) -> None:
    kind, got = mvt.geometry_commands(np.array([geometry], dtype=object))[0]
    assert got == commands
    kinds = {"Point": 1, "MultiPoint": 1, "LineString": 2, "MultiLineString": 2}
    assert kind == kinds.get(geometry.geom_type, 3)


def test_polygon_winding_is_fixed_and_holes_survive() -> None:
    # a square with a hole given with the wrong winding (exterior negative in tile coordinates)
    outer = [(0.0, 0.0), (0.0, 0.001), (0.001, 0.001), (0.001, 0.0), (0.0, 0.0)]
    hole = [(0.0004, 0.0004), (0.0006, 0.0004), (0.0006, 0.0006), (0.0004, 0.0006), (0.0004, 0.0004)]
    frame = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Polygon(outer, [hole])], crs=4326)
    source = mvt.tile_source("squares", frame, spec=mvt.LayerSpec(minzoom=0))
    x, y = mvt.lonlat_to_tile(0.0005, 0.0005, 16)
    data = mvt.render_tile(source, 16, x, y)
    feats = _decode(data)["squares"]["features"]
    assert len(feats) == 1 and feats[0]["geometry"]["type"] == "Polygon"
    rings = feats[0]["geometry"]["coordinates"]
    assert len(rings) == 2

    def signed_area(ring: list[list[float]]) -> float:
        xy = np.asarray(ring, dtype=float)
        return float(np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1]) / 2)

    # in tile coordinates (y down) the exterior ring has positive area, the hole negative
    assert signed_area(rings[0]) > 0 > signed_area(rings[1])


def test_varints_match_protobuf() -> None:
    values = np.array([0, 1, 127, 128, 300, 2**21, 2**35 + 7, 2**63 + 5], dtype=np.uint64)
    data, nbytes = mvt._varints(values)
    expected = b"".join(mvt._varint(int(v)) for v in values)
    assert data.tobytes() == expected
    assert nbytes.tolist() == [len(mvt._varint(int(v))) for v in values]


def test_values_keep_their_types() -> None:
    frame = gpd.GeoDataFrame(
        {"s": ["水源", "b"], "i": [-3, 2**40], "f": [1.5, np.nan], "b": [True, False]},
        geometry=[shapely.Point(0.0001, 0.0001), shapely.Point(0.0002, 0.0002)], crs=4326,
    )
    source = mvt.tile_source("pts", frame, spec=mvt.LayerSpec(minzoom=0))
    x, y = mvt.lonlat_to_tile(0.00015, 0.00015, 14)
    feats = _decode(mvt.render_tile(source, 14, x, y))["pts"]["features"]
    props = sorted((f["properties"] for f in feats), key=lambda p: p["i"])
    assert props[0] == {"s": "水源", "i": -3, "f": 1.5, "b": True}
    assert props[1] == {"s": "b", "i": 2**40, "b": False}  # NaN is left out, not encoded


def test_tile_cache_is_bounded() -> None:
    cache = mvt.TileCache(max_entries=3, max_bytes=10)
    for i in range(5):
        cache.put(("l", 1, i, 0, 0, 0), b"abc")
    assert len(cache) == 3 and cache.size_bytes == 9
    assert cache.get(("l", 1, 0, 0, 0, 0)) is None and cache.get(("l", 1, 4, 0, 0, 0)) == b"abc"
    cache.put(("l", 1, 9, 0, 0, 0), b"x" * 8)
    assert cache.size_bytes <= 10


def test_tile_bounds_cover_the_world() -> None:
    assert mvt.tile_bounds(0, 0, 0) == pytest.approx(
        (-mvt.HALF_WORLD_M, -mvt.HALF_WORLD_M, mvt.HALF_WORLD_M, mvt.HALF_WORLD_M)
    )
    minx, miny, _, maxy = mvt.tile_bounds(1, 1, 0)
    assert minx == pytest.approx(0.0) and miny == pytest.approx(0.0)
    assert maxy == pytest.approx(mvt.HALF_WORLD_M)
    assert mvt.tile_in_range(3, 7, 7) and not mvt.tile_in_range(3, 8, 0)


def test_zoomed_out_tiles_carry_only_the_overview_properties() -> None:
    frame = gpd.GeoDataFrame(
        {"hydrant_id": ["h1"], "status": ["faulty"], "note": ["behind the gate"], "tags": [["a", 1]]},
        geometry=[shapely.Point(0.0001, 0.0001)], crs=4326,
    )
    spec = mvt.LayerSpec(minzoom=0, detail_zoom=14, overview=("hydrant_id", "status"))
    source = mvt.tile_source("h", frame, spec=spec)
    x13, y13 = mvt.lonlat_to_tile(0.0001, 0.0001, 13)
    x14, y14 = mvt.lonlat_to_tile(0.0001, 0.0001, 14)
    # z13 < detail_zoom 14: the id and the styling column only
    assert _decode(mvt.render_tile(source, 13, x13, y13))["h"]["features"][0]["properties"] == {
        "hydrant_id": "h1", "status": "faulty"}
    # z14: every property; a list in a text column travels as JSON text
    assert _decode(mvt.render_tile(source, 14, x14, y14))["h"]["features"][0]["properties"] == {
        "hydrant_id": "h1", "status": "faulty", "note": "behind the gate", "tags": '["a", 1]'}
    # the TileJSON still lists every field
    assert set(source.fields()) == {"hydrant_id", "status", "note", "tags"}
