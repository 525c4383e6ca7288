"""The web map drawing its big layers from the server's vector tiles (issue 11), in real headless
Chromium against a real server on the Helsinki demo.

The demo is small, so its layers are forced onto tiles with ``?tile_above=0`` (a layer is tiled
when its collection holds more features than that; a city's roads, buildings and hydrants are, by
the default of 20,000) or ``?draw=tiles``. The page must then request ``/tiles/...mvt`` and never
page through those collections' ``/items``, paint the tiles, open a popup from a tile feature,
and, with ``public_read`` off, send the API key as a header (never in the URL).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest

from api.auth import HEADER, create_key
from api.store import open_store
from tests.api.server import Server, copy_workspace, running_server
from tests.browser import PageWatch, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

SHOTS = Path(__file__).resolve().parents[2] / "out" / "test_web"
TILED = ("roads_analysis", "hydrants_analysis", "underserved_segments", "buildings_analysis")
KEY_ITEM = "firereach.apiKey"


@pytest.fixture(scope="module")
def server(helsinki_workspace: Path) -> Iterator[Server]:
    with running_server(helsinki_workspace, env={"FIREREACH_PUBLIC_READ": "true"}) as s:
        yield s


@pytest.fixture(scope="module")
def closed(
    tmp_path_factory: pytest.TempPathFactory, helsinki_workspace: Path
) -> Iterator[tuple[Server, str]]:
    """A server with ``public_read`` off, and a viewer key of its store."""
    ws = copy_workspace(helsinki_workspace, tmp_path_factory.mktemp("web_tiles") / "ws")
    store = open_store(ws)
    try:
        key = create_key(store, "viewer", "web tiles test")
    finally:
        store.close()
    with running_server(ws, env={"FIREREACH_PUBLIC_READ": "false"}) as s:
        yield s, key


def _open_tiled(page: Page, url: str) -> PageWatch:
    watch = PageWatch.attach(page)
    page.goto(url, wait_until="load")
    page.wait_for_selector("body[data-tiles='1']", state="attached", timeout=60_000)
    page.wait_for_timeout(300)
    return watch


def _paths(urls: list[str]) -> list[str]:
    return [urlsplit(u).path for u in urls]


def _painted(page: Page, key: str) -> int:
    """Pixels with any opacity on the canvases of one tiled layer."""
    return int(page.evaluate(
        """key => {
          let n = 0;
          document.querySelectorAll('.fr-tiles-' + key + ' canvas').forEach(c => {
            if (!c.width || !c.height) { return; }
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) { n++; } }
          });
          return n;
        }""", key))


def test_collections_say_their_feature_count(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        doc = client.get("/ogc/collections").json()
        roads = next(c for c in doc["collections"] if c["id"] == "roads_analysis")
        matched = client.get("/ogc/collections/roads_analysis/items", params={"limit": 1}).json()
    assert roads["itemCount"] == matched["numberMatched"] > 0


def test_big_layers_come_from_tiles_not_pages(page: Page, server: Server) -> None:
    watch = _open_tiled(page, f"{server.url}/?tile_above=0")
    paths = _paths(watch.requests)
    for collection in TILED:
        assert not [p for p in paths if p == f"/ogc/collections/{collection}/items"], collection
    tiles = [p for p in paths if p.endswith(".mvt")]
    for collection in ("roads_analysis", "hydrants_analysis", "underserved_segments"):
        assert any(p.startswith(f"/tiles/{collection}/") for p in tiles), collection
    # the small layers stay GeoJSON: stations as SVG paths
    assert "/ogc/collections/stations/items" in paths
    assert page.locator("path.fr-station").count() > 0
    stats: dict[str, Any] = page.evaluate("window.frTiles")
    assert stats["requested"] == stats["answered"] == len(tiles) > 0
    assert stats["features"] > 0
    # roads, hydrants and the coverage gaps are painted on the tile canvases
    assert _painted(page, "roads") > 1000
    assert _painted(page, "hydrants") > 0
    assert _painted(page, "gaps") > 0
    assert watch.problems() == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "web_tiles.png"))


def test_small_collections_keep_the_geojson_pages(page: Page, server: Server) -> None:
    # default threshold: the Helsinki demo's roads (a few thousand edges) are not tiled
    watch = PageWatch.attach(page)
    page.goto(f"{server.url}/", wait_until="load")
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    assert not [u for u in watch.requests if ".mvt" in u]
    assert page.locator("path.fr-road").count() > 0


def _hydrant_point(page: Page, server: Server, zoom: int = 17) -> tuple[float, float]:
    """Screen position (map container pixels) of the first hydrant of the collection."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        items = client.get("/ogc/collections/hydrants_analysis/items", params={"limit": 1}).json()
    feature = items["features"][0]
    lon, lat = feature["geometry"]["coordinates"][:2]
    page.evaluate("([lat, lon, z]) => window.frMap.setView([lat, lon], z, {animate: false})",
                  [lat, lon, zoom])
    page.wait_for_timeout(400)
    page.wait_for_selector("body[data-tiles='1']", state="attached", timeout=60_000)
    point = page.evaluate("([lat, lon]) => { const p = window.frMap.latLngToContainerPoint([lat, lon]); "
                          "return [p.x, p.y]; }", [lat, lon])
    return float(point[0]), float(point[1])


def test_click_on_a_tile_hydrant_opens_its_popup(page: Page, server: Server) -> None:
    _open_tiled(page, f"{server.url}/?draw=tiles")
    x, y = _hydrant_point(page, server)
    page.locator("#map").click(position={"x": x, "y": y})
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "消火栓" in popup.inner_text()
    assert popup.locator("tr[data-field='hydrant_id'] td").inner_text()
    assert popup.locator("tr[data-field='status'] th").inner_text() != "status"  # labelled
    # the open popup follows the language switch
    page.locator("#lang").click()
    assert "Hydrant" in popup.inner_text()


def test_a_zoomed_out_popup_asks_for_the_whole_feature_by_id(page: Page, server: Server) -> None:
    # at z12 the hydrant tiles carry hydrant_id and status only (detail from z13, api.mvt)
    watch = _open_tiled(page, f"{server.url}/?draw=tiles")
    x, y = _hydrant_point(page, server, zoom=12)
    page.locator("#map").click(position={"x": x, "y": y})
    wait_until(page, "document.querySelectorAll('.leaflet-popup-content tr').length > 2", timeout=10_000)
    hydrant_id = page.locator(".leaflet-popup-content tr[data-field='hydrant_id'] td").inner_text()
    asked = [u for u in watch.requests if "/ogc/collections/hydrants_analysis/items" in u]
    assert len(asked) == 1 and "hydrant_id=" in asked[0]
    assert hydrant_id


def test_tiles_carry_the_key_in_a_header_when_reading_is_closed(
    page: Page, closed: tuple[Server, str]
) -> None:
    server, key = closed
    sent: list[tuple[str, str | None, int | None]] = []

    def on_request(request: Request) -> None:
        if ".mvt" in request.url:
            sent.append((request.url, request.headers.get(HEADER.lower()), None))

    page.on("request", on_request)
    page.add_init_script(f"window.sessionStorage.setItem({KEY_ITEM!r}, {key!r});")
    watch = _open_tiled(page, f"{server.url}/?tile_above=0")
    assert sent
    assert all(k == key for _, k, _ in sent)
    assert all(key not in url for url, _, _ in sent)  # never in a URL a log keeps
    assert page.evaluate("window.frTiles")["features"] > 0
    assert _painted(page, "roads") > 1000
    assert watch.problems() == []
    # without the key, the same tile is refused
    with httpx.Client(base_url=server.url, timeout=30) as client:
        path = urlsplit(sent[0][0]).path
        assert client.get(path).status_code == 401
        assert client.get(path, headers={HEADER: key}).status_code in (200, 204)
