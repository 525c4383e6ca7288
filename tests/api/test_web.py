"""The web map at ``/`` in real headless Chromium against a real server on the Helsinki demo.

The page must load with no failed or non-local requests and no console errors, draw the layers,
open a popup on a hydrant, switch its labels to English and not be blank. Skips cleanly when
Chromium or playwright is missing (see :mod:`tests.browser`).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote, urlsplit

import httpx
import pytest

from tests.api.server import Server, copy_workspace, running_server
from tests.browser import PageWatch, image_stats, wait_until

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page, Route

SHOTS = Path(__file__).resolve().parents[2] / "out" / "test_web"


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``firereach demo`` (central Helsinki, with blockages and proposed hydrants)."""
    out = tmp_path_factory.mktemp("web") / "ws"
    subprocess.run(
        [sys.executable, "-m", "api.cli", "demo", "--out", str(out)],
        check=True, capture_output=True, timeout=600,
    )
    return out


@pytest.fixture(scope="module")
def server(demo_workspace: Path) -> Iterator[Server]:
    with running_server(demo_workspace, env={"FIREREACH_PUBLIC_READ": "true"}) as s:
        yield s



def _open(page: Page, server: Server, query: str = "") -> PageWatch:
    watch = PageWatch.attach(page)
    page.goto(f"{server.url}/{query}", wait_until="load")
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    page.wait_for_timeout(300)
    return watch


def _matched(server: Server, collection: str) -> int:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1})
        return int(r.json()["numberMatched"]) if r.status_code == 200 else 0


def test_page_and_assets_are_served(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "/static/leaflet/leaflet.js" in page.text
        for path in ("/static/leaflet/leaflet.js", "/static/leaflet/leaflet.css",
                     "/static/web/app.js", "/static/web/app.css"):
            assert client.get(path).status_code == 200, path
        for path in ("/static/web/../routers/web.py", "/static/leaflet/../../map.py",
                     "/static/web/missing.js", "/static/leaflet/LICENSE"):
            assert client.get(path).status_code == 404, path
        assert "http://" not in client.get("/static/web/app.js").text.replace("http://127", "")


def test_map_loads_locally_and_draws_layers(page: Page, server: Server) -> None:
    watch = _open(page, server)
    assert watch.problems() == [], watch.problems()
    counts = page.evaluate(
        """() => Object.fromEntries(
            ['fr-road', 'fr-hydrant', 'fr-gap', 'fr-station', 'fr-blockage', 'fr-proposed',
             'fr-highrise'].map(c => [c, document.querySelectorAll('path.' + c).length]))"""
    )
    # Blockages are drawn when the served workspace has any (the demo's may live in the store).
    blockages = _matched(server, "blockages_ranked")
    assert (counts.pop("fr-blockage") > 0) == (blockages > 0), (counts, blockages)
    assert all(n > 0 for n in counts.values()), counts
    assert counts["fr-hydrant"] == _matched(server, "hydrants_analysis")
    assert page.locator("svg path").count() > 100
    # No basemap setting, no ?tiles=: no tile layer at all, the own roads are the basemap.
    assert page.locator("img.leaflet-tile").count() == 0
    assert any(u.endswith("/web/config.json") for u in watch.requests)
    labels = page.locator(".leaflet-control-layers .fr-layer").all_inner_texts()
    assert "覆盖缺口" in labels and "消火栓（按状态）" in labels
    # The demo has no districts: the filter stays hidden.
    assert page.locator("#district-box").is_hidden()


def test_hydrant_popup_language_and_screenshot(page: Page, server: Server) -> None:
    watch = _open(page, server)
    # A hydrant on top at its own centre (some stand on top of each other).
    index = page.evaluate(
        """() => [...document.querySelectorAll('path.fr-hydrant')].findIndex(p => {
            const r = p.getBoundingClientRect();
            return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === p;
        })"""
    )
    assert index >= 0
    page.locator("path.fr-hydrant").nth(index).click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert "消火栓" in popup.inner_text()
    hydrant_id = popup.locator("tr[data-field='hydrant_id'] td").inner_text()
    assert hydrant_id

    # Moving the map reloads the view's features but keeps the open popup.
    page.wait_for_timeout(600)  # the popup's own pan into view
    centre = "() => window.frMap.getCenter().lng"
    before = page.evaluate(centre)
    page.evaluate("() => window.frMap.panBy([60, 0], {animate: false})")
    assert page.evaluate(centre) > before
    page.wait_for_timeout(300)
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    assert popup.is_visible() and hydrant_id in popup.inner_text()

    assert page.locator("#title").inner_text() == "FireReach 消防水源与通道"
    page.locator("#lang").click()
    assert page.locator("#title").inner_text() == "FireReach fire water & access"
    labels = page.locator(".leaflet-control-layers .fr-layer").all_inner_texts()
    assert "Coverage gaps" in labels and "Hydrants (by status)" in labels
    assert page.locator("#lang").inner_text() == "中文"

    page.locator("#lang").click()
    assert page.locator("#title").inner_text() == "FireReach 消防水源与通道"

    page.wait_for_timeout(500)  # the popup's fade-in
    png = page.screenshot(full_page=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "web_map.png").write_bytes(png)
    stats = image_stats(page, png)
    assert stats["width"] == 1280 and stats["height"] == 800
    assert stats["std"] > 10 and stats["colours"] > 50, stats
    assert watch.problems() == [], watch.problems()


def test_layer_toggle_removes_and_reloads(page: Page, server: Server) -> None:
    watch = _open(page, server)
    before = page.locator("path.fr-gap").count()
    assert before > 0
    toggle = page.locator(".leaflet-control-layers-overlays label", has_text="覆盖缺口")
    toggle.locator("input").click()
    assert page.locator("path.fr-gap").count() == 0
    toggle.locator("input").click()
    wait_until(page, "document.querySelectorAll('path.fr-gap').length > 0", timeout=30_000)

    # One legend entry per status geo.vocabulary knows, low pressure included; no phantom ones.
    boxes = page.locator(".fr-legend input[data-hide^='status:']")
    assert [boxes.nth(i).get_attribute("data-hide") for i in range(boxes.count())] == [
        "status:in_service", "status:out_of_service", "status:low_pressure", "status:unknown"]
    assert "水压不足" in page.locator(".fr-legend").inner_text()
    # Hydrants by status: the legend's check boxes hide one status (the demo's are all in service).
    in_service = page.locator(".fr-legend input[data-hide='status:in_service']")
    in_service.click()
    wait_until(page, "document.querySelectorAll('path.fr-hydrant').length === 0", timeout=30_000)
    in_service.click()
    wait_until(page, "document.querySelectorAll('path.fr-hydrant').length > 0", timeout=30_000)
    assert watch.problems() == [], watch.problems()


DISTRICTS = {
    "type": "FeatureCollection",
    "features": [
        {"type": "Feature", "properties": {"name": name},
         "geometry": {"type": "Polygon", "coordinates": [[
             [w, 60.160], [e, 60.160], [e, 60.182], [w, 60.182], [w, 60.160]]]}}
        for name, w, e in (("West 西区", 24.930, 24.944), ("East 东区", 24.944, 24.958))
    ],
}


@pytest.fixture(scope="module")
def district_server(tmp_path_factory: pytest.TempPathFactory, helsinki_pbf: Path) -> Iterator[Server]:
    """Helsinki analysed with two district boxes."""
    from tests.api.server import build_workspace

    root = tmp_path_factory.mktemp("web_districts")
    districts = root / "districts.geojson"
    districts.write_text(json.dumps(DISTRICTS), encoding="utf-8")
    out = build_workspace(root / "ws", osm=helsinki_pbf, districts=districts)
    with running_server(out) as s:
        yield s


def test_district_filter_zooms_to_the_district(page: Page, district_server: Server) -> None:
    watch = _open(page, district_server)
    box = page.locator("#district-box")
    box.wait_for(state="visible", timeout=30_000)
    options = page.locator("#district option").all_inner_texts()
    assert options == ["全部", "West 西区", "East 东区"]
    centre = "() => { const c = window.frMap.getCenter(); return [c.lng, c.lat, window.frMap.getZoom()]; }"
    start = page.evaluate(centre)
    page.select_option("#district", label="East 东区")
    wait_until(page, f"({centre})()[0] > 24.946", timeout=10_000)
    lng, lat, zoom = page.evaluate(centre)
    assert 24.944 < lng < 24.958 and 60.160 < lat < 60.182 and zoom > 10, (lng, lat, zoom, start)
    assert page.evaluate(
        "() => window.frMap.getBounds().contains([[60.160, 24.944], [60.182, 24.958]])"
    )
    page.locator("#lang").click()
    assert page.locator("#district-box span").inner_text() == "District"
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    assert watch.problems() == [], watch.problems()


def test_tile_url_replaces_the_own_basemap(page: Page, server: Server) -> None:
    # Any local image stands in for a tile server here.
    tiles = quote("/static/leaflet/images/layers.png?z={z}&x={x}&y={y}", safe="")
    watch = _open(page, server, f"?tiles={tiles}")
    wait_until(page, "document.querySelectorAll('img.leaflet-tile-loaded').length > 0",
                           timeout=30_000)
    assert page.locator("path.fr-road").count() == 0
    assert page.locator("path.fr-hydrant").count() > 0
    assert watch.problems() == [], watch.problems()


# Any local image stands in for a tile server (the page must never leave the machine in tests).
BASEMAP = "/static/leaflet/images/layers.png?z={z}&x={x}&y={y}"


@pytest.fixture(scope="module")
def basemap_server(tmp_path_factory: pytest.TempPathFactory, demo_workspace: Path) -> Iterator[Server]:
    """The demo served with the ``basemap_url`` and ``basemap_attribution`` settings."""
    ws = copy_workspace(demo_workspace, tmp_path_factory.mktemp("web_basemap") / "ws")
    env = {"FIREREACH_BASEMAP_URL": BASEMAP, "FIREREACH_BASEMAP_ATTRIBUTION": "测试底图 <b>Test</b>"}
    with running_server(ws, env=env) as s:
        yield s


def _tile_sources(page: Page) -> list[str]:
    wait_until(page, "document.querySelectorAll('img.leaflet-tile-loaded').length > 0",
                           timeout=30_000)
    return list(page.evaluate(
        "() => [...document.querySelectorAll('img.leaflet-tile')].map(i => i.getAttribute('src'))"))


def test_basemap_setting_is_the_page_default(page: Page, basemap_server: Server) -> None:
    watch = _open(page, basemap_server)
    sources = _tile_sources(page)
    assert sources and all(s.startswith("/static/leaflet/images/layers.png?z=") for s in sources), sources
    assert page.locator("path.fr-road").count() == 0
    assert page.locator("path.fr-hydrant").count() > 0
    # The credit is shown as plain text, never as markup.
    credit = page.locator(".leaflet-control-attribution").inner_text()
    assert "测试底图 <b>Test</b>" in credit and "OpenStreetMap" in credit
    assert watch.problems() == [], watch.problems()


def test_tiles_parameter_overrides_the_basemap_setting(page: Page, basemap_server: Server) -> None:
    tiles = quote("/static/leaflet/images/marker-icon.png?z={z}&x={x}&y={y}", safe="")
    watch = _open(page, basemap_server, f"?tiles={tiles}")
    sources = _tile_sources(page)
    assert sources and all(s.startswith("/static/leaflet/images/marker-icon.png?z=") for s in sources)
    assert "测试底图" not in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator("path.fr-road").count() == 0
    assert watch.problems() == [], watch.problems()


def _label(popup: Locator, field: str) -> str:
    return popup.locator(f"tr[data-field='{field}'] th").inner_text()


def test_popup_field_labels_follow_the_language(page: Page, server: Server) -> None:
    # A column the page has no label for: it must show under its own name.
    def add_unknown_column(route: Route) -> None:
        response = route.fetch()
        doc = response.json()
        for f in doc["features"]:
            f["properties"]["zz_local_note"] = "备注 note"
        route.fulfill(response=response, json=doc)

    page.route("**/ogc/collections/hydrants_analysis/items?*", add_unknown_column)
    watch = _open(page, server)
    # a hydrant popup in Chinese (the page's default language)
    page.evaluate(_OPEN_POPUP, "snap_offset_m")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=10_000)
    assert _label(popup, "hydrant_id") == "消火栓编号"
    assert _label(popup, "snap_offset_m") == "距道路（m）"
    assert _label(popup, "zz_local_note") == "zz_local_note"
    # the raw column name stays available on hover
    assert popup.locator("tr[data-field='snap_offset_m'] th").get_attribute("title") == "snap_offset_m"
    assert "source_file" not in popup.inner_text()
    # coded values in Chinese words too (the demo hydrants are all in service)
    assert popup.locator("tr[data-field='status'] td").inner_text() == "在用"

    # The open popup follows the language switch.
    page.locator("#lang").click()
    assert _label(popup, "hydrant_id") == "Hydrant ID"
    assert popup.locator("tr[data-field='status'] td").inner_text() == "in service"
    assert _label(popup, "snap_offset_m") == "Distance to road (m)"
    assert _label(popup, "zz_local_note") == "zz_local_note"
    page.locator("#lang").click()
    assert _label(popup, "hydrant_id") == "消火栓编号"
    page.unroute_all(behavior="ignoreErrors")
    assert watch.problems() == [], watch.problems()


def test_popup_field_labels_in_english(page: Page, server: Server) -> None:
    watch = _open(page, server, "?lang=en")
    popup = page.locator(".leaflet-popup-content")
    page.evaluate(_OPEN_POPUP, "flow_deficit_lps")  # a building (buildings_analysis)
    popup.wait_for(timeout=10_000)
    assert _label(popup, "flow_deficit_lps") == "Flow deficit (L/s)"
    assert _label(popup, "required_flow_lps") == "Required flow (L/s)"
    page.evaluate(_OPEN_POPUP, "covered_pct")  # a road (roads_analysis)
    page.wait_for_selector(".leaflet-popup-content tr[data-field='covered_pct']", timeout=10_000)
    assert _label(popup, "covered_pct") == "Covered (%)"
    assert _label(popup, "truck_passable") == "Fire truck passable"
    assert popup.locator("tr[data-field='truck_passable'] td").inner_text() in ("yes", "no")
    page.locator("#lang").click()
    assert _label(popup, "covered_pct") == "覆盖率（%）"
    assert popup.locator("tr[data-field='truck_passable'] td").inner_text() in ("是", "否")
    assert watch.problems() == [], watch.problems()


# Open the popup of the first drawn feature that has a value for the given column.
_OPEN_POPUP = """(field) => {
    let found = null;
    window.frMap.eachLayer(l => {
        const p = l.feature && l.feature.properties;
        if (!found && p && p[field] !== null && p[field] !== undefined && l.getPopup()) { found = l; }
    });
    if (!found) { throw new Error('no drawn feature with ' + field); }
    found.openPopup();
}"""


def _items_requests(urls: list[str], collection: str) -> list[dict[str, str]]:
    """Query parameters of the page's requests for one collection's items, in order."""
    out = []
    for url in urls:
        parts = urlsplit(url)
        if parts.path == f"/ogc/collections/{collection}/items":
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            query.setdefault("offset", "0")
            out.append(query)
    return out


def _matched_in(server: Server, collection: str, bbox: str) -> int:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        r = client.get(f"/ogc/collections/{collection}/items", params={"limit": 1, "bbox": bbox})
        r.raise_for_status()
        return int(r.json()["numberMatched"])


def _final_pages(watch: PageWatch, collection: str) -> tuple[str, set[int], set[str]]:
    """The last view's bbox, the offsets fetched for it and the page sizes asked."""
    requests = _items_requests(watch.requests, collection)
    assert requests, collection
    bbox = requests[-1]["bbox"]
    mine = [r for r in requests if r["bbox"] == bbox]
    return bbox, {int(r["offset"]) for r in mine}, {r["limit"] for r in mine}


def test_pages_are_followed_until_the_view_is_complete(page: Page, server: Server) -> None:
    # 30 features a page: the demo's roads in view take dozens of pages, its hydrants two.
    watch = _open(page, server, "?page_size=30")
    bbox, offsets, limits = _final_pages(watch, "roads_analysis")
    roads = _matched_in(server, "roads_analysis", bbox)
    assert roads > 10 * 30, roads
    assert offsets == set(range(0, roads, 30)) and limits == {"30"}
    assert page.locator("path.fr-road").count() == roads

    bbox, offsets, _ = _final_pages(watch, "hydrants_analysis")
    hydrants = _matched_in(server, "hydrants_analysis", bbox)
    assert 30 < hydrants <= 60 and offsets == {0, 30}
    assert page.locator("path.fr-hydrant").count() == hydrants
    # every feature drawn: no notice
    assert page.locator("#notice").is_hidden()
    assert watch.problems() == [], watch.problems()


def test_cap_on_features_is_told_in_the_bar(page: Page, server: Server) -> None:
    watch = _open(page, server, "?page_size=100&max_features=250")
    bbox, offsets, _ = _final_pages(watch, "roads_analysis")
    roads = _matched_in(server, "roads_analysis", bbox)
    assert roads > 250
    # three pages (the last one cut to 50), then no more `next` links followed
    assert offsets == {0, 100, 200}
    assert page.locator("path.fr-road").count() == 250
    notice = page.locator("#notice")
    assert notice.is_visible()
    assert f"道路 250 / {roads}" in notice.inner_text()
    assert "最多显示 250 个要素" in notice.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "web_map_cap.png"))
    page.locator("#lang").click()
    assert f"Roads 250 / {roads}" in notice.inner_text()
    assert "At most 250 features" in notice.inner_text()

    # Zoomed in, the view holds fewer than the cap: everything is drawn, the notice goes.
    page.evaluate("() => window.frMap.setZoom(window.frMap.getZoom() + 3, {animate: false})")
    page.wait_for_timeout(300)
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    bbox, _, _ = _final_pages(watch, "roads_analysis")
    assert page.locator("path.fr-road").count() == _matched_in(server, "roads_analysis", bbox) <= 250
    assert notice.is_hidden()
    assert watch.problems() == [], watch.problems()


def test_moving_the_view_aborts_the_pages_in_flight(page: Page, server: Server) -> None:
    # The first view's roads from the third page on are held back, as on a slow link, until the
    # view has moved: they must be aborted, and never drawn.
    held: list[Route] = []
    first_bbox: list[str] = []

    def hold(route: Route) -> None:
        query = {k: v[-1] for k, v in parse_qs(urlsplit(route.request.url).query).items()}
        first_bbox[:] = first_bbox or [query["bbox"]]
        if query["bbox"] == first_bbox[0] and int(query.get("offset", "0")) >= 100:
            held.append(route)
        else:
            route.continue_()

    page.route("**/ogc/collections/roads_analysis/items?*", hold)
    watch = PageWatch.attach(page)
    page.goto(f"{server.url}/?page_size=50", wait_until="load")
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page never asked for the third page of roads"
    assert page.locator("path.fr-road").count() == 100  # two pages drawn so far

    # Move to a few blocks of central Helsinki: the held page belongs to the old view.
    page.evaluate("() => window.frMap.setView([60.1695, 24.9410], 18, {animate: false})")
    page.wait_for_selector("body[data-loaded='1']", timeout=60_000)
    for route in held:
        with contextlib.suppress(Exception):  # the browser gave up on it already (aborted)
            route.continue_()
    page.wait_for_timeout(1000)

    bbox, offsets, _ = _final_pages(watch, "roads_analysis")
    assert bbox != first_bbox[0]
    roads = _matched_in(server, "roads_analysis", bbox)
    assert roads > 0 and offsets == set(range(0, roads, 50))
    # Only the new view's roads: nothing from the stale page was drawn, nothing of the old view kept.
    assert page.locator("path.fr-road").count() == roads
    aborted = {f.split(": ")[0] for f in watch.failed if f.endswith("net::ERR_ABORTED")}
    assert [r.request.url for r in held] == [u for u in aborted if "roads_analysis" in u], aborted
    # no page of the old view was asked for after the one held
    old_offsets = [int(r["offset"]) for r in _items_requests(watch.requests, "roads_analysis")
                   if r["bbox"] == first_bbox[0]]
    assert max(old_offsets) == 100, old_offsets
    page.unroute_all(behavior="ignoreErrors")
    others = [p for p in watch.problems() if "net::ERR_ABORTED" not in p]
    assert others == [], others
