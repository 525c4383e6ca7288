"""OGC API – Features under /ogc, through HTTP: in-process (httpx + ASGI) and, for GDAL's OAPIF
driver (a client nobody here wrote), a real uvicorn server on loopback.

Everything is checked against the loaded Helsinki workspace: counts, ids, attribute values,
coordinates, paging links, bbox and property filters, error codes and media types.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from api import ogc
from api.app import create_app
from api.settings import Settings
from api.workspace import Workspace
from tests.api.server import asgi_client, server_url

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
async def client(ws: Workspace, helsinki_workspace: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(workspace=helsinki_workspace, _env_file=None), workspace=ws)
    async with asgi_client(app) as c:
        yield c


def _links(doc: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in doc["links"]}


def _path(href: str) -> str:
    return href.removeprefix("http://testserver")


# --- landing, conformance, API definition ---------------------------------------------------------


async def test_landing_page_under_ogc_not_root(client: httpx.AsyncClient) -> None:
    r = await client.get("/ogc")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    links = _links(r.json())
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(links)
    assert links["service-desc"]["type"] == ogc.OPENAPI_JSON_30
    assert _path(links["data"]["href"]) == "/ogc/collections"
    root = await client.get("/")
    assert root.status_code != 200 or "conformance" not in root.text  # "/" belongs to the web map


async def test_conformance_classes(client: httpx.AsyncClient) -> None:
    r = await client.get("/ogc/conformance")
    assert r.status_code == 200
    assert set(r.json()["conformsTo"]) == {
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    }


def _walk(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


async def test_api_definition_is_openapi_30(client: httpx.AsyncClient) -> None:
    r = await client.get("/ogc/api")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"] == "3.0.3"
    items = doc["paths"]["/ogc/collections/{collection_id}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["minimum"] == 1 and limit["schema"]["maximum"] == 10_000
    assert limit["schema"]["default"] == 100
    # no JSON Schema 2020-12 forms left over
    for node in _walk(doc):
        if isinstance(node, dict):
            assert node.get("type") != "null" and not isinstance(node.get("type"), list)
            assert not isinstance(node.get("exclusiveMinimum"), int | float) or isinstance(
                node.get("exclusiveMinimum"), bool
            )


# --- collections ----------------------------------------------------------------------------------


async def test_every_collection_is_served(client: httpx.AsyncClient, ws: Workspace) -> None:
    r = await client.get("/ogc/collections")
    assert r.status_code == 200
    docs = {c["id"]: c for c in r.json()["collections"]}
    assert set(docs) == set(ws.collections)
    hydrants = docs["hydrants"]
    assert hydrants["itemType"] == "feature" and hydrants["crs"] == [ogc.CRS84]
    bbox = hydrants["extent"]["spatial"]["bbox"][0]
    np.testing.assert_allclose(bbox, ws.collections["hydrants"].total_bounds, atol=1e-9)
    links = _links(hydrants)
    assert links["items"]["type"] == "application/geo+json"
    assert links["describedby"]["type"] == "application/xml"
    assert "extent" not in docs["districts"]  # empty in Helsinki: no extent rather than NaN
    one = await client.get("/ogc/collections/buildings_analysis")
    assert one.status_code == 200 and one.json()["id"] == "buildings_analysis"


async def test_unknown_collection_is_404_json(client: httpx.AsyncClient) -> None:
    for url in ("/ogc/collections/nope", "/ogc/collections/nope/items", "/ogc/collections/nope/items/1"):
        r = await client.get(url)
        assert r.status_code == 404, url
        assert r.json()["status"] == 404 and "hydrants" in r.json()["error"]


async def test_schemas_give_types(client: httpx.AsyncClient) -> None:
    r = await client.get("/ogc/collections/hydrants/schema")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/schema+json")
    props = r.json()["properties"]["properties"]["properties"]
    assert props["osm_id"] == {"type": "integer", "format": "int64"}
    assert props["flow_lps"]["type"] == "number" and props["status"]["type"] == "string"
    xsd = await client.get("/ogc/collections/roads_analysis/schema.xsd")
    assert xsd.status_code == 200
    root = ET.fromstring(xsd.content)
    ns = {"xs": "http://www.w3.org/2001/XMLSchema"}
    types = {e.get("name"): e.get("type") for e in root.iterfind(".//xs:sequence/xs:element", ns)}
    assert types["u"] == "xs:long" and types["truck_passable"] == "xs:boolean"
    assert types["geometry"] == "gml:CurvePropertyType" and types["name"] == "xs:string"


# --- items ----------------------------------------------------------------------------------------


async def test_items_counts_ids_values_and_media_type(client: httpx.AsyncClient, ws: Workspace) -> None:
    frame = ws.collections["hydrants"]
    r = await client.get("/ogc/collections/hydrants/items", params={"limit": 1000})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    doc = r.json()
    assert doc["type"] == "FeatureCollection"
    assert doc["numberMatched"] == doc["numberReturned"] == len(frame)
    got = {f["id"]: f for f in doc["features"]}
    assert set(got) == set(frame["hydrant_id"])
    for _, row in frame.iloc[[0, 5, len(frame) - 1]].iterrows():
        f = got[row["hydrant_id"]]
        assert f["properties"]["status"] == row["status"]
        assert f["properties"]["osm_id"] == int(row["osm_id"])
        assert f["geometry"]["type"] == "Point"
        np.testing.assert_allclose(f["geometry"]["coordinates"], [row.geometry.x, row.geometry.y], atol=1e-7)
    # NaN is not JSON: missing values are null
    nan_rows = frame["flow_lps"].isna()
    assert nan_rows.any()
    assert all(got[i]["properties"]["flow_lps"] is None for i in frame.loc[nan_rows, "hydrant_id"])
    # ids are stable between requests
    again = await client.get("/ogc/collections/hydrants/items", params={"limit": 1000})
    assert [f["id"] for f in again.json()["features"]] == [f["id"] for f in doc["features"]]


async def test_integer_ids_and_infinite_values(client: httpx.AsyncClient, ws: Workspace) -> None:
    frame = ws.collections["roads_analysis"]
    r = await client.get("/ogc/collections/roads_analysis/items", params={"limit": 10_000})
    feats = r.json()["features"]
    assert [f["id"] for f in feats] == frame["edge_id"].tolist()
    unreachable = ~np.isfinite(frame["response_s"].to_numpy())
    if unreachable.any():  # inf (no truck route) is not JSON either
        i = int(np.flatnonzero(unreachable)[0])
        assert feats[i]["properties"]["response_s"] is None


async def test_paging_walks_every_feature_once(client: httpx.AsyncClient, ws: Workspace) -> None:
    frame = ws.collections["buildings_analysis"]
    url: str | None = "/ogc/collections/buildings_analysis/items?limit=100"
    seen: list[str] = []
    pages = 0
    while url is not None:
        doc = (await client.get(url)).json()
        links = _links(doc)
        assert doc["numberMatched"] == len(frame)
        assert links["collection"]["href"].endswith("/ogc/collections/buildings_analysis")
        assert ("prev" in links) == (pages > 0)
        seen += [f["id"] for f in doc["features"]]
        pages += 1
        url = _path(links["next"]["href"]) if "next" in links else None
    assert pages == -(-len(frame) // 100)
    assert seen == frame["building_id"].tolist()


async def test_offset_past_the_end_is_an_empty_page(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/ogc/collections/hydrants/items", params={"offset": 1000})).json()
    assert doc["numberReturned"] == 0 and doc["numberMatched"] == 37 and doc["features"] == []
    assert "next" not in _links(doc) and "prev" in _links(doc)


async def test_bbox_filter_matches_geometry_query(client: httpx.AsyncClient, ws: Workspace) -> None:
    frame = ws.collections["buildings_analysis"]
    minx, miny, maxx, maxy = frame.total_bounds
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    expected = set(frame.loc[frame.intersects(shapely.box(*box)), "building_id"])
    assert 0 < len(expected) < len(frame)
    doc = (await client.get("/ogc/collections/buildings_analysis/items",
                            params={"bbox": ",".join(map(str, box)), "limit": 1000})).json()
    assert doc["numberMatched"] == len(expected)
    assert {f["id"] for f in doc["features"]} == expected
    # next links keep the filter
    small = (await client.get("/ogc/collections/buildings_analysis/items",
                              params={"bbox": ",".join(map(str, box)), "limit": 5})).json()
    assert "bbox=" in _links(small)["next"]["href"]
    # a box across the antimeridian, far from Helsinki
    far = await client.get("/ogc/collections/hydrants/items", params={"bbox": "170,-10,-170,10"})
    assert far.status_code == 200 and far.json()["numberMatched"] == 0


@pytest.mark.parametrize(
    "bbox", ["1,2,3", "a,b,c,d", "0,91,1,92", "0,10,1,5", "nan,0,1,1", "181,0,182,1", "1,2,3,4,5,6", ""]
)
async def test_bad_bbox_is_400(client: httpx.AsyncClient, bbox: str) -> None:
    r = await client.get("/ogc/collections/hydrants/items", params={"bbox": bbox})
    assert r.status_code == 400, bbox
    assert r.json()["status"] == 400


@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 10_001}, {"limit": "x"}, {"offset": -1}, {"f": "html"},
     {"bbox-crs": "EPSG:4326"}, {"crs": "EPSG:3857"}, {"datetime": "yesterday"},
     {"datetime": "2024-01-01/2024-02-01/2024-03-01"}],
)
async def test_bad_parameters_are_400(client: httpx.AsyncClient, params: dict[str, Any]) -> None:
    r = await client.get("/ogc/collections/hydrants/items", params=params)
    assert r.status_code == 400, params
    assert r.headers["content-type"].startswith("application/json")


async def test_limit_bounds_and_format_accepted(client: httpx.AsyncClient) -> None:
    for params in ({"limit": 1}, {"limit": 10_000}, {"f": "json"}, {"f": "geojson"}, {"bbox-crs": ogc.CRS84},
                   {"datetime": "2024-05-01T00:00:00Z"}, {"datetime": "2024-05-01/.."},
                   {"datetime": "2024-05-01T08:00:00+08:00/2024-06-01"}):
        r = await client.get("/ogc/collections/hydrants/items", params=params)
        assert r.status_code == 200, params
    assert (await client.get("/ogc/collections/hydrants/items", params={"limit": 1})).json()[
        "numberReturned"
    ] == 1


async def test_property_filters(client: httpx.AsyncClient, ws: Workspace) -> None:
    hyd = ws.collections["hydrants"]
    doc = (await client.get("/ogc/collections/hydrants/items",
                            params={"status": "in_service", "limit": 1000})).json()
    assert doc["numberMatched"] == int((hyd["status"] == "in_service").sum())
    one = hyd.iloc[3]
    doc = (await client.get("/ogc/collections/hydrants/items",
                            params={"hydrant_id": one["hydrant_id"]})).json()
    assert [f["id"] for f in doc["features"]] == [one["hydrant_id"]]
    # a property given twice: either value
    two = hyd["hydrant_id"].iloc[[1, 2]].tolist()
    q = [("hydrant_id", two[0]), ("hydrant_id", two[1])]
    assert (await client.get("/ogc/collections/hydrants/items", params=q)).json()["numberMatched"] == 2
    roads = ws.collections["roads_analysis"]
    doc = (await client.get("/ogc/collections/roads_analysis/items",
                            params={"truck_passable": "false", "limit": 10_000})).json()
    assert doc["numberMatched"] == int((~roads["truck_passable"]).sum())
    doc = (await client.get("/ogc/collections/roads_analysis/items", params={"edge_id": 5})).json()
    assert [f["id"] for f in doc["features"]] == [5]
    both = (await client.get("/ogc/collections/roads_analysis/items",
                             params={"highway": "residential", "truck_passable": "true", "limit": 1})).json()
    assert both["numberMatched"] == int(((roads["highway"] == "residential") & roads["truck_passable"]).sum())


async def test_bad_property_filters_are_400(client: httpx.AsyncClient) -> None:
    r = await client.get("/ogc/collections/hydrants/items", params={"colour": "red"})
    assert r.status_code == 400
    assert "colour" in r.json()["error"] and "status" in r.json()["error"]  # says what exists
    assert (await client.get("/ogc/collections/roads_analysis/items",
                             params={"edge_id": "five"})).status_code == 400
    assert (await client.get("/ogc/collections/roads_analysis/items",
                             params={"edge_id": "1.5"})).status_code == 400
    assert (await client.get("/ogc/collections/roads_analysis/items",
                             params={"truck_passable": "maybe"})).status_code == 400


async def test_one_feature_by_stable_id(client: httpx.AsyncClient, ws: Workspace) -> None:
    row = ws.collections["buildings_analysis"].iloc[10]
    r = await client.get(f"/ogc/collections/buildings_analysis/items/{row['building_id']}")
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == row["building_id"]
    assert f["properties"]["hydrants_in_range"] == int(row["hydrants_in_range"])
    assert {"self", "collection"} <= set(_links(f))
    encoded = row["building_id"].replace("/", "%2F")
    assert (await client.get(f"/ogc/collections/buildings_analysis/items/{encoded}")).json()["id"] == f["id"]
    edge = await client.get("/ogc/collections/roads_analysis/items/7")
    assert edge.json()["id"] == 7
    piece = (await client.get("/ogc/collections/coverage_pieces/items", params={"limit": 1})).json()
    pid = piece["features"][0]["id"]
    assert (await client.get(f"/ogc/collections/coverage_pieces/items/{pid}")).json()["id"] == pid
    missing = await client.get("/ogc/collections/buildings_analysis/items/osm/w0")
    assert missing.status_code == 404 and "osm/w0" in missing.json()["error"]


async def test_live_update_swapping_a_collection_is_served(client: httpx.AsyncClient, ws: Workspace) -> None:
    old = ws.collections["hydrants"]
    try:
        with ws.lock:
            ws.collections["hydrants"] = old.iloc[:5].copy()
        doc = (await client.get("/ogc/collections/hydrants/items")).json()
        assert doc["numberMatched"] == 5
    finally:
        with ws.lock:
            ws.collections["hydrants"] = old
    assert (await client.get("/ogc/collections/hydrants/items")).json()["numberMatched"] == len(old)


# --- helpers ----------------------------------------------------------------------------------------


def test_openapi_30_rewrites_nullable_and_bounds() -> None:
    doc = {
        "openapi": "3.1.0",
        "paths": {"/x": {"get": {"parameters": [
            {"name": "a", "in": "query",
             "schema": {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}]}},
            {"name": "b", "in": "query", "schema": {"type": "number", "exclusiveMinimum": 0}},
            {"name": "c", "in": "query", "schema": {"const": "x", "examples": ["x"]}},
        ], "responses": {}}}},
        "components": {"schemas": {"S": {"type": ["string", "null"]}}},
    }
    out = ogc.openapi_30(doc)
    a, b, c = (p["schema"] for p in out["paths"]["/x"]["get"]["parameters"])
    assert a == {"type": "integer", "minimum": 1, "nullable": True}
    assert b == {"type": "number", "minimum": 0, "exclusiveMinimum": True}
    assert c == {"enum": ["x"], "example": "x"}
    assert out["components"]["schemas"]["S"] == {"type": "string", "nullable": True}
    assert doc["openapi"] == "3.1.0"  # input untouched


def test_feature_ids_fall_back_when_not_unique() -> None:
    frame = pd.DataFrame({"hydrant_id": ["a", "a", "b"]})
    ids, column = ogc.feature_ids("hydrants", frame)
    assert column is None and ids.tolist() == ["hydrants/0", "hydrants/1", "hydrants/2"]
    ids, column = ogc.feature_ids("hydrants", pd.DataFrame({"hydrant_id": ["x", "y"]}))
    assert column == "hydrant_id" and ids.tolist() == ["x", "y"]


# --- GDAL's OAPIF driver against a real server --------------------------------------------------------


@pytest.fixture(scope="module")
def server(helsinki_workspace: Path) -> Iterator[str]:
    """``firereach serve`` on a free loopback port (public read: no key), stopped after the module."""
    with server_url(helsinki_workspace) as url:
        yield url


def test_gdal_oapif_reads_the_layers(server: str, ws: Workspace) -> None:
    source = f"OAPIF:{server}/ogc"
    names = {str(n) for n, _ in pyogrio.list_layers(source)}
    assert names == set(ws.collections)

    hydrants = pyogrio.read_dataframe(source, layer="hydrants")
    expected = ws.collections["hydrants"].set_index("hydrant_id")
    assert len(hydrants) == len(expected)
    got = hydrants.set_index("hydrant_id")
    assert set(got.index) == set(expected.index)
    # 64-bit OSM ids survive (the GML schema says xs:long), statuses and positions match
    assert str(got["osm_id"].dtype) == "int64"
    assert (got["osm_id"] == expected.loc[got.index, "osm_id"].astype("int64")).all()
    assert int(got["osm_id"].max()) > 2**31
    assert (got["status"] == expected.loc[got.index, "status"]).all()
    dist = shapely.distance(np.asarray(got.geometry.array),
                            np.asarray(expected.loc[got.index].geometry.array))
    assert dist.max() < 1e-6

    # more than one page (GDAL asks for 1000 at a time and follows the next links)
    roads = pyogrio.read_dataframe(source, layer="roads_analysis")
    assert len(roads) == len(ws.collections["roads_analysis"]) > 1000
    assert sorted(roads["edge_id"]) == sorted(ws.collections["roads_analysis"]["edge_id"])
    assert roads["truck_passable"].dtype == bool

    b = pyogrio.read_dataframe(source, layer="buildings_analysis").set_index("building_id")
    exp_b = ws.collections["buildings_analysis"].set_index("building_id")
    assert len(b) == len(exp_b)
    np.testing.assert_allclose(b["credited_flow_lps"], exp_b.loc[b.index, "credited_flow_lps"])
    assert (b["hydrants_in_range"] == exp_b.loc[b.index, "hydrants_in_range"]).all()


def test_gdal_oapif_bbox_goes_to_the_server(server: str, ws: Workspace) -> None:
    frame = ws.collections["buildings_analysis"]
    minx, miny, maxx, maxy = frame.total_bounds
    box = (minx, miny, (minx + maxx) / 2, (miny + maxy) / 2)
    sub = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="buildings_analysis", bbox=box)
    expected = set(frame.loc[frame.intersects(shapely.box(*box)), "building_id"])
    assert set(sub["building_id"]) == expected
    q = httpx.get(f"{server}/ogc/collections/buildings_analysis/items",
                  params={"bbox": ",".join(map(str, box)), "limit": 1})
    assert q.json()["numberMatched"] == len(expected)
    assert json.loads(q.text)["numberReturned"] == 1
