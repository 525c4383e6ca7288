"""map.html: self-contained (no CDN), correct layers, and checked in a real headless Chromium."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pytest

from geo.errors import ConfigError, CRSError, LayerValidationError
from geo.layers import Layers, build_layers
from geo.osm import read_osm
from geo.presets import load_preset
from reports.map import render_map, write_map_html
from routing.analysis import Analysis, analyze
from tests.browser import PageWatch, image_stats, serve_directory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, FloatRect, Page

OUT_OF_SERVICE_NAME = "<b>泵站路</b>"  # must show as text, not as bold markup
# Links that are not resource loads: the OSM copyright page (attribution), Leaflet's home page
# (its attribution prefix), the SVG namespace inside Leaflet's code.
ALLOWED_URLS = {
    "https://www.openstreetmap.org/copyright",
    "https://leafletjs.com",
    "http://www.w3.org/2000/svg",
}
FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Ccircle cx='8' cy='8' r='7' fill='%23e3261b'/%3E%3C/svg%3E"
)
LAYERS_ZH = (
    "底图：街道", "底图：建筑轮廓", "消防站首达辖区", "已覆盖街道", "消火栓覆盖盲区",
    "一类高层建筑", "二类高层建筑", "室外消防用水不足的建筑", "消火栓：在用", "消火栓：水压不足",
    "消火栓：停用", "消火栓：状态不明", "消防站", "生命通道占用点", "拟建消火栓",
)


@dataclasses.dataclass(frozen=True)
class Workspace:
    layers: Layers
    analysis: Analysis
    blockages: gpd.GeoDataFrame
    proposed: gpd.GeoDataFrame
    out_of_service_id: str


@pytest.fixture(scope="module")
def workspace(helsinki_pbf: Path) -> Workspace:
    """The embedded default with every hydrant status, 32 blockages (30 ranked), 3 proposals."""
    layers = build_layers(read_osm(helsinki_pbf))
    hyd = layers.hydrants.copy()
    hyd.loc[0, "status"] = "out_of_service"
    hyd.loc[0, "name"] = OUT_OF_SERVICE_NAME
    hyd.loc[1:3, "status"] = "low_pressure"
    hyd.loc[4:5, "status"] = "unknown"
    layers = dataclasses.replace(layers, hydrants=hyd)
    analysis = analyze(layers, preset=load_preset("cn-gb"))
    mid = layers.roads.geometry.interpolate(0.5, normalized=True)
    rows = np.random.default_rng(7).choice(len(mid), 35, replace=False)
    # as routing.blockages ranks them: the last two are closed, so not ranked and not drawn
    rank = np.arange(1.0, 33.0)
    rank[30:] = np.nan
    blockages = gpd.GeoDataFrame(
        {
            "rank": rank,
            "score": np.linspace(9.0, 1.0, 32),
            "blockage_id": [f"B{i:03d}" for i in range(32)],
            "kind": ["parked_vehicle", "gate", "goods", "structure"] * 8,
            "status": ["reported"] * 30 + ["closed"] * 2,
            "effect": ["full", "narrowed"] * 16,
            "road_name": ["<i>Esplanadi</i>"] + [""] * 31,
            "high_rises_cut": np.arange(32) % 3,
        },
        geometry=mid.iloc[rows[:32]].to_numpy(), crs=layers.crs,
    ).to_crs(4326)  # another CRS than the workspace's: the map reprojects it
    # as routing.siting chooses them
    proposed = gpd.GeoDataFrame(
        {
            "order": np.arange(1, 4),
            "candidate_id": [17, 4, 9],
            "cost_cny": np.full(3, 35_000.0),
            "cumulative_cost_cny": np.array([35_000.0, 70_000.0, 105_000.0]),
            "marginal_m": [420.0, 260.5, 88.0],
        },
        geometry=mid.iloc[rows[32:]].to_numpy(), crs=layers.crs,
    )
    return Workspace(layers, analysis, blockages, proposed, str(hyd.loc[0, "hydrant_id"]))


@pytest.fixture(scope="module")
def map_dir(workspace: Workspace, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``map.html`` (Chinese, default) and ``map_en.html`` in one directory."""
    out = tmp_path_factory.mktemp("map")
    w = workspace
    write_map_html(out / "map.html", layers=w.layers, analysis=w.analysis, blockages=w.blockages,
                   proposed=w.proposed)
    write_map_html(out / "map_en.html", layers=w.layers, analysis=w.analysis, lang="en")
    return out


# --- without a browser -------------------------------------------------------------------------


def test_write_is_atomic_and_returns_the_path(map_dir: Path) -> None:
    assert sorted(p.name for p in map_dir.iterdir()) == ["map.html", "map_en.html"]


def test_no_cdn_or_other_remote_reference(map_dir: Path) -> None:
    for name in ("map.html", "map_en.html"):
        page = (map_dir / name).read_text(encoding="utf-8")
        urls = set(re.findall(r"https?://[^\s\"'<>)\\]+", page))
        assert urls <= ALLOWED_URLS, urls - ALLOWED_URLS
        tags = "".join(re.findall(r"<(?:script|link|img)\b[^>]*>", page)).replace(FAVICON, "")
        assert "://" not in tags
        assert not re.search(r"<script[^>]*\ssrc=", page)
        assert re.findall(r"<link\b[^>]*>", page) == [f'<link rel="icon" href="{FAVICON}">']
        assert not re.search(r"url\((?!data:|#)", "".join(re.findall(r"<style>(.*?)</style>",
                                                                      page, re.DOTALL)))
        for cdn in ("cdn.jsdelivr", "cdnjs", "code.jquery", "bootstrapcdn", "unpkg", "fontawesome"):
            assert cdn not in page
        # the OSM link is the attribution only: an anchor, never something the page loads
        assert page.count("https://www.openstreetmap.org/copyright") == 1
        assert 'href=\\"https://www.openstreetmap.org/copyright\\"' in page
        assert "Leaflet 1.9.4" in page  # inlined, from reports/static


def _layer_data(page: str) -> list[dict[str, Any]]:
    """The GeoJSON FeatureCollections embedded in the page (folium's ``..._add({...});``)."""
    return [json.loads(m) for m in re.findall(r"_add\((\{.*\})\);", page)]


def _coordinates(obj: Any) -> Iterator[list[float]]:
    if isinstance(obj, list) and obj and isinstance(obj[0], int | float):
        yield obj
    elif isinstance(obj, list):
        for item in obj:
            yield from _coordinates(item)


def test_layers_are_wgs84_with_six_decimals(map_dir: Path, workspace: Workspace) -> None:
    page = (map_dir / "map.html").read_text(encoding="utf-8")
    collections = _layer_data(page)
    assert len(collections) == 15
    coords = np.array([
        xy for fc in collections for f in fc["features"]
        for xy in _coordinates(f["geometry"]["coordinates"])
    ])
    assert len(coords) > 10_000
    west, south, east, north = workspace.layers.roads.to_crs(4326).total_bounds
    assert np.all((coords[:, 0] > west - 0.01) & (coords[:, 0] < east + 0.01))
    assert np.all((coords[:, 1] > south - 0.01) & (coords[:, 1] < north + 0.01))
    assert np.allclose(coords, np.round(coords, 6), rtol=0, atol=1e-12)
    hydrants = [f for fc in collections for f in fc["features"] if "diameter" in f["properties"]]
    assert len(hydrants) == 37


def test_file_is_small(map_dir: Path) -> None:
    # Helsinki: 1,131 streets, 446 buildings; Leaflet alone is about 160 kB
    assert (map_dir / "map.html").stat().st_size < 1_500_000


def _js(text: str) -> str:
    """How folium writes a string into the page's script (JSON, non-ASCII escaped)."""
    return json.dumps(text)[1:-1]


def test_languages(map_dir: Path) -> None:
    zh = (map_dir / "map.html").read_text(encoding="utf-8")
    en = (map_dir / "map_en.html").read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    for name in LAYERS_ZH:
        assert _js(name) in zh, name  # in the layer control's configuration
    assert "Hydrants: out of service" in en and "Hydrant coverage gaps" in en
    assert _js("消火栓") not in en
    # optional layers only when given
    assert "Fire-lane blockages" not in en and "Proposed hydrants" not in en


def test_tiles_url_adds_one_tile_layer(workspace: Workspace) -> None:
    w = workspace
    url = "http://tiles.intranet.example/osm/{z}/{x}/{y}.png"
    page = render_map(w.layers, analysis=w.analysis, lang="en", tiles_url=url, title="Test <map>")
    assert page.count(url) == 1 and "L.tileLayer(" in page
    assert "<title>Test &lt;map&gt;</title>" in page
    default = render_map(w.layers, analysis=w.analysis)
    assert "L.tileLayer(" not in default


def test_bad_options_and_inputs_raise(workspace: Workspace, tmp_path: Path) -> None:
    w = workspace
    with pytest.raises(ConfigError, match="language"):
        render_map(w.layers, analysis=w.analysis, lang="fr")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"\{z\}"):
        render_map(w.layers, analysis=w.analysis, tiles_url="http://tiles.example/a.png")
    with pytest.raises(LayerValidationError, match="rank"):
        render_map(w.layers, analysis=w.analysis, blockages=w.blockages.drop(columns="rank"))
    with pytest.raises(LayerValidationError, match="order"):
        render_map(w.layers, analysis=w.analysis, proposed=w.proposed.drop(columns="order"))
    no_crs = w.proposed.set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="no CRS"):
        render_map(w.layers, analysis=w.analysis, proposed=no_crs)
    assert not list(tmp_path.iterdir())


# --- in headless Chromium ----------------------------------------------------------------------



def _open(page: Page, map_dir: Path, how: str) -> PageWatch:
    watch = PageWatch.attach(page)
    if how == "file":
        page.goto((map_dir / "map.html").as_uri(), wait_until="load")
        _wait_for_map(page)
    else:
        with serve_directory(map_dir) as base:
            page.goto(f"{base}/map.html", wait_until="load")
            _wait_for_map(page)
            page.wait_for_load_state("networkidle")
    return watch


def _wait_for_map(page: Page) -> None:
    page.wait_for_function("() => window.fireReach && window.fireReach.map")
    page.wait_for_timeout(300)  # let Leaflet finish drawing


def _box(page: Page, selector: str) -> FloatRect:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box


def _overlap(a: FloatRect, b: FloatRect) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


@pytest.mark.parametrize("how", ["file", "http"])
def test_map_in_chromium(
    page: Page, map_dir: Path, workspace: Workspace, how: str, tmp_path: Path
) -> None:
    watch = _open(page, map_dir, how)
    assert watch.problems() == []
    assert watch.requests and all(u.startswith(("file:", "http://127.0.0.1")) for u in watch.requests)
    assert page.evaluate("() => L.version") == "1.9.4"
    assert page.locator(".leaflet-container").count() == 1

    labels = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]
    for name in LAYERS_ZH:
        assert any(label.startswith(name) for label in labels), (name, labels)
    assert page.locator(".leaflet-control-layers-base label").count() == 0  # no tiles offline

    assert page.locator(".leaflet-fr-base-pane path.fr-street").count() > 500
    assert page.locator(".leaflet-fr-streets-pane path.fr-covered").count() > 50
    assert page.locator(".leaflet-fr-streets-pane path.fr-gap").count() > 50
    assert page.locator(".leaflet-fr-points-pane path.fr-hydrant").count() == 37
    assert page.locator(".leaflet-fr-points-pane path.fr-blockage").count() == 30
    assert page.locator(".leaflet-marker-pane .fr-proposed").count() == 3
    assert page.locator(".leaflet-marker-pane .fr-station").count() == 1

    # legend, layer control and attribution are all on screen and do not cover one another
    legend = _box(page, ".fr-legend")
    layers = _box(page, ".leaflet-control-layers")
    attribution = _box(page, ".leaflet-control-attribution")
    assert not _overlap(legend, layers) and not _overlap(legend, attribution)
    assert "OpenStreetMap" in page.locator(".leaflet-control-attribution").inner_text()

    shot = page.screenshot()
    out = Path(os.environ.get("FIREREACH_SCREENSHOTS", tmp_path))
    out.mkdir(parents=True, exist_ok=True)
    (out / f"map-{how}.png").write_bytes(shot)
    stats = image_stats(page, shot)
    assert stats["width"] == 1280 and stats["height"] == 800
    assert stats["std"] > 20 and stats["colours"] > 50  # not blank, not one flat colour

    # a real click on the out-of-service hydrant opens its popup, names shown as text
    page.evaluate(
        """() => {
            const group = window.fireReach.layers["hydrants.out_of_service"];
            const marker = group.getLayers()[0];
            window.fireReach.map.setView(marker.getLatLng(), 18, {animate: false});
        }"""
    )
    page.wait_for_timeout(300)
    page.locator("path.fr-hydrant-out-of-service").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert workspace.out_of_service_id in text
    assert "停用" in text and OUT_OF_SERVICE_NAME in text
    assert popup.locator("b").count() == 0
    page.wait_for_timeout(400)  # Leaflet fades the popup in
    (out / f"map-{how}-popup.png").write_bytes(page.screenshot())

    # the worst blockage: its popup has the impact columns it was given, text escaped
    page.evaluate(
        """() => {
            const layers = window.fireReach.layers["blockages"].getLayers();
            const worst = layers[layers.length - 1];
            window.fireReach.map.closePopup();
            window.fireReach.map.setView(worst.getLatLng(), 18, {animate: false});
        }"""
    )
    page.wait_for_timeout(300)
    page.locator("path.fr-blockage").last.click()
    popup.wait_for(state="visible")
    text = popup.inner_text()
    for expected in ("排名", "1", "B000", "占道停车", "完全阻断", "<i>Esplanadi</i>", "切断高层"):
        assert expected in text, (expected, text)

    # hovering the worst coverage gap shows its tooltip
    point = page.evaluate(
        """() => {
            const map = window.fireReach.map;
            map.closePopup();
            const gap = window.fireReach.layers["gaps"].getLayers()[0];
            let line = gap.getLatLngs();
            while (Array.isArray(line[0])) line = line[0];
            const mid = L.latLng((line[0].lat + line[1].lat) / 2, (line[0].lng + line[1].lng) / 2);
            map.setView(mid, 19, {animate: false});
            const p = map.latLngToContainerPoint(mid);
            const box = map.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }"""
    )
    page.wait_for_timeout(300)
    page.mouse.move(point[0] - 1, point[1] - 1)
    page.mouse.move(point[0], point[1])
    tooltip = page.locator(".leaflet-tooltip")
    tooltip.wait_for(state="visible", timeout=5000)
    assert "未覆盖" in tooltip.inner_text()
    assert watch.problems() == []


def test_english_map_and_toggling_a_layer(page: Page, map_dir: Path) -> None:
    watch = PageWatch.attach(page)
    page.goto((map_dir / "map_en.html").as_uri(), wait_until="load")
    _wait_for_map(page)
    labels = page.locator(".leaflet-control-layers-overlays label")
    assert labels.filter(has_text="Hydrant coverage gaps").count() == 1
    before = page.locator("path.fr-gap").count()
    assert before > 0
    labels.filter(has_text="Hydrant coverage gaps").locator("input").click()
    assert page.locator("path.fr-gap").count() == 0
    assert watch.problems() == []



def test_small_screen_folds_layer_list_and_legend(chromium: Browser, map_dir: Path, tmp_path: Path) -> None:
    context = chromium.new_context(viewport={"width": 420, "height": 760})
    try:
        page = context.new_page()
        watch = PageWatch.attach(page)
        page.goto((map_dir / "map.html").as_uri(), wait_until="load")
        _wait_for_map(page)
        assert page.locator(".leaflet-control-layers-expanded").count() == 0
        assert page.locator(".fr-legend details:not(.fr-quality)").get_attribute("open") is None
        # the data-quality panel opens by itself only when there is an error (Helsinki has none)
        assert page.locator(".fr-legend details.fr-quality").get_attribute("open") is None
        assert not _overlap(_box(page, ".fr-legend"), _box(page, ".leaflet-control-layers"))
        out = Path(os.environ.get("FIREREACH_SCREENSHOTS", tmp_path))
        out.mkdir(parents=True, exist_ok=True)
        (out / "map-small.png").write_bytes(page.screenshot())
        # pointing at the layers icon opens the list (a raw move: the icon hides as it opens,
        # which Playwright's hover() would wait on)
        icon = _box(page, ".leaflet-control-layers-toggle")
        page.mouse.move(icon["x"] + icon["width"] / 2, icon["y"] + icon["height"] / 2)
        assert page.locator(".leaflet-control-layers-expanded").count() == 1
        assert watch.problems() == []
    finally:
        context.close()
