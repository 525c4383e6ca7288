"""The interactive map ``map.html``: coverage gaps, hydrants, high-rises, stations, blockages, proposals.

:func:`write_map_html` draws the analysis of a workspace as a folium (Leaflet) map with a layer
control and a legend, labelled in Chinese by default (``lang="en"`` for English):

* the workspace's own streets and building footprints as the basemap (no tile layer by default;
  ``tiles_url`` adds one where the network allows);
* covered streets in green and coverage gaps (the uncovered pieces, merged into the ranked
  underserved stretches) in red;
* first-due areas of the stations, and the stations;
* high-rises by class (GB 50016 5.1.1) and buildings short of fire flow;
* hydrants by status (in service, low pressure, out of service, unknown);
* optionally blockages by rank and proposed hydrants by order.

The page is one self-contained file that works on an isolated intranet and can be e-mailed:
Leaflet (vendored under ``reports/static``; see its README for versions and licences) is inlined,
and folium's CDN links (jQuery, Bootstrap, Leaflet.awesome-markers, Font Awesome) are dropped —
points are circle markers or CSS ``divIcon`` badges, popups are built with Leaflet's DOM helpers.
Layers are GeoJSON in WGS84: simplified in the working CRS, reprojected here only, coordinates
rounded to 6 decimals (about 0.1 m).

This module assembles the page; the layers are built in :mod:`reports.map_layers`, the legend in
:mod:`reports.map_legend`, colours and words in :mod:`reports.map_style`.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

import folium
import geopandas as gpd
import numpy as np
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from geo.errors import ConfigError
from geo.layers import Layers
from reports.budget import OutputBudget
from reports.export import atomic_path
from reports.map_layers import (
    _basemap,
    _blockages,
    _buildings,
    _Cut,
    _district_grades,
    _hydrants,
    _proposed,
    _station_areas,
    _stations,
    _streets,
)
from reports.map_legend import (
    _cut_html,
    _Legend,
    _legend_html,
    _quality_html,
)
from reports.map_style import (
    _COLOURS,
    _CSS,
    _FAVICON,
    _PANES,
    _SMALL_SCREEN_PX,
    _TEXT,
    Lang,
)
from routing.analysis import Analysis

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
LEAFLET_VERSION = "1.9.4"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)


class _OfflineMap(folium.Map):
    """folium's map without its CDN scripts and stylesheets (Leaflet is inlined instead)."""

    default_js: list[tuple[str, str]] = []  # noqa: RUF012 - class attribute read by folium
    default_css: list[tuple[str, str]] = []  # noqa: RUF012


class _Raw(Element):
    """Text put into the page as it is (inlined vendored code, a style sheet)."""

    _template = Template("{{ this.code }}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "Raw"
        self.code = code


class _Script(MacroElement):
    """JavaScript run after the map and its layers exist."""

    _template = Template("{% macro script(this, kwargs) %}{{ this.code }}{% endmacro %}")

    def __init__(self, code: str) -> None:
        super().__init__()
        self._name = "FireReachScript"
        self.code = code





def write_map_html(
    path: Path | str,
    *,
    layers: Layers,
    analysis: Analysis,
    blockages: gpd.GeoDataFrame | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    tiles_url: str | None = None,
    title: str | None = None,
    districts: gpd.GeoDataFrame | None = None,
    budget: OutputBudget | None = None,
) -> Path:
    """Write the interactive map ``map.html``: one self-contained page that works offline.

    Parameters
    ----------
    path
        Target file (written atomically through a temporary file beside it).
    layers
        The workspace layers (:func:`geo.layers.build_layers`): streets, buildings, stations.
    analysis
        The network analysis (:func:`routing.analysis.analyze`); its layers
        ``roads_analysis``, ``coverage_pieces``, ``underserved_segments``,
        ``buildings_analysis``, ``hydrants_analysis`` and ``station_areas`` are drawn.
    blockages
        Optional ranked blockages (points, any CRS), for example
        ``routing.blockages.blockage_impact(...).blockages``: column ``rank`` (1 = worst)
        required, rows without a rank (closed, rejected) are left out; ``score``,
        ``blockage_id``, ``kind``, ``status``, ``effect``, ``road_name``, ``remaining_width_m``,
        ``high_rises_cut``, ``buildings_cut``, ``max_delay_s`` are shown when present.
    proposed
        Optional proposed hydrants (points, any CRS), for example
        ``routing.siting.site_hydrants(...).chosen``: column ``order`` (1 = build first)
        required; ``cost_cny`` (or ``cost``), ``cumulative_cost_cny``, ``marginal_m``,
        ``candidate_id`` and ``road_name`` are shown when present.
    lang
        ``"zh"`` (default) or ``"en"``: layer names, legend, popups and tooltips.
    tiles_url
        Optional XYZ tile URL template (``.../{z}/{x}/{y}.png``) added as an overlay below the
        data, for networks that reach a tile server. Without it the page loads nothing.
    title
        Page and legend title; a default title in ``lang`` otherwise.
    districts
        Optional district summary (:func:`reports.districts.aggregate_districts`): the districts
        with their grades, shown at first only on a map cut to its budget.
    budget
        Features per layer (default :class:`reports.budget.OutputBudget`). A layer within it is
        drawn whole; a larger one worst first up to it (gaps by rank, blockages by rank, proposed
        hydrants by order, buildings by deficit, hydrants out of service and low pressure only,
        streets major and long first), simplified more coarsely, and the legend says how many
        features each layer left out and that ``layers.gpkg`` and the served map hold them all.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    geo.errors.ConfigError
        Unknown ``lang`` or a ``tiles_url`` without ``{z}``, ``{x}`` and ``{y}``.
    geo.errors.CRSError
        ``blockages`` or ``proposed`` without a CRS.
    geo.errors.LayerValidationError
        ``blockages`` without ``rank`` or ``proposed`` without ``order``.
    """
    target = Path(path)
    page = render_map(
        layers, analysis=analysis, blockages=blockages, proposed=proposed, lang=lang,
        tiles_url=tiles_url, title=title, districts=districts, budget=budget,
    )
    with atomic_path(target) as tmp:
        tmp.write_text(page, encoding="utf-8")
    log.info("wrote %s: %.0f kB, self-contained (Leaflet %s inlined), lang=%s, tiles=%s", target,
             len(page.encode("utf-8")) / 1024, LEAFLET_VERSION, lang, "yes" if tiles_url else "none")
    return target


def render_map(
    layers: Layers,
    *,
    analysis: Analysis,
    blockages: gpd.GeoDataFrame | None = None,
    proposed: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    tiles_url: str | None = None,
    title: str | None = None,
    districts: gpd.GeoDataFrame | None = None,
    budget: OutputBudget | None = None,
) -> str:
    """The HTML text of the map that :func:`write_map_html` writes (same parameters)."""
    if lang not in _TEXT:
        raise ConfigError(f"map language {lang!r} is not supported; use 'zh' or 'en'")
    if tiles_url is not None and not all(k in tiles_url for k in ("{z}", "{x}", "{y}")):
        raise ConfigError(
            f"tiles_url {tiles_url!r} is not an XYZ template: it needs {{z}}, {{x}} and {{y}}, "
            "for example http://tiles.intranet/osm/{z}/{x}/{y}.png"
        )
    text = _TEXT[lang]
    page_title = title if title else text["title"]
    fmap = _base_map(layers, page_title=page_title)
    if tiles_url is not None:
        folium.TileLayer(
            tiles=tiles_url, attr=OSM_ATTRIBUTION, name=text["tiles"], overlay=True, control=True,
            max_zoom=21, max_native_zoom=19,
        ).add_to(fmap)

    handles: dict[str, folium.GeoJson] = {}
    cut = _Cut(budget or OutputBudget())
    builders: list[Callable[[], dict[str, folium.GeoJson]]] = [
        lambda: _station_areas(layers, analysis, text),
        lambda: _basemap(layers, text, cut),
        lambda: _buildings(analysis, text, cut),
        lambda: _streets(analysis, text, cut),
    ]
    if blockages is not None:  # under the hydrants: a blockage often sits on one
        builders.append(lambda: _blockages(blockages, layers, text, cut))
    builders += [lambda: _hydrants(analysis, text, cut), lambda: _stations(layers, text)]
    if proposed is not None:
        builders.append(lambda: _proposed(proposed, layers, text, cut))
    for build in builders:
        for key, layer in build().items():
            layer.add_to(fmap)
            handles[key] = layer

    if districts is not None and len(districts):  # first: under everything else
        grades = _district_grades(districts, layers, text, show=bool(cut.left))
        for key, layer in grades.items():
            layer.add_to(fmap)
            handles[key] = layer
    _Legend(
        _cut_html(cut, text)
        + _legend_html(analysis, text, page_title, drawn=frozenset(handles))
        + _quality_html(analysis.summary, lang)
    ).add_to(fmap)
    # small screens: the layer list starts folded (an icon), so it does not cover the legend
    small = JsCode(f"window.innerWidth < {_SMALL_SCREEN_PX}")
    folium.LayerControl(position="topright", collapsed=small).add_to(fmap)  # type: ignore[arg-type]
    layer_refs = ", ".join(f"{_js_str(k)}: {v.get_name()}" for k, v in handles.items())
    m = fmap.get_name()
    _Script(
        f"{m}.attributionControl.addAttribution({_js_str(OSM_ATTRIBUTION)});\n"
        f"if ({small.js_code}) {{  // and the legend folded to its title\n"
        f"    {m}.getContainer().querySelectorAll('.fr-legend details')"
        ".forEach(function (d) { d.open = false; });\n"
        "}\n"
        f"window.fireReach = {{map: {m}, layers: {{{layer_refs}}}}};"
    ).add_to(fmap)

    page = fmap.get_root().render()
    page = page.replace("<html>", f'<html lang="{text["html_lang"]}">', 1)
    _check_offline(page)
    log.debug("map: %d layers (%s), lang=%s, tiles=%s", len(handles), ", ".join(handles), lang,
             "yes" if tiles_url else "none")
    return page


# --- page and assets -------------------------------------------------------------------------


@cache
def _leaflet_assets() -> tuple[str, str]:
    """Leaflet's JS and CSS, the CSS images made ``data:`` URIs so the page fetches nothing."""
    root = STATIC_DIR / "leaflet"
    js = (root / "leaflet.js").read_text(encoding="utf-8").replace("</script", "<\\/script")
    css = (root / "leaflet.css").read_text(encoding="utf-8")

    def data_uri(match: re.Match[str]) -> str:
        png = (root / "images" / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode('ascii')})"

    css = re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)  # comments (they cite bug trackers)
    css = re.sub(r"url\(images/([\w.-]+\.png)\)", data_uri, css)
    return js, css.replace("</style", "<\\/style")


def _base_map(layers: Layers, *, page_title: str) -> folium.Map:
    bounds = _wgs84_bounds(layers)
    if bounds is None:
        fmap = _OfflineMap(location=None, tiles=None, control_scale=True, max_zoom=21)
    else:
        (south, west), (north, east) = bounds
        fmap = _OfflineMap(
            location=[(south + north) / 2, (west + east) / 2], zoom_start=15, tiles=None,
            control_scale=True, max_zoom=21,
        )
        fmap.fit_bounds(bounds, padding=(10, 10))
    figure = fmap.get_root()
    if isinstance(figure, Figure):
        figure.title = html.escape(page_title)
        js, css = _leaflet_assets()
        figure.header.add_child(_Raw(f'<link rel="icon" href="{_FAVICON}">'), name="favicon")
        figure.header.add_child(_Raw(f"<style>{css}</style>"), name="leaflet_css")
        figure.header.add_child(_Raw(f"<style>{_CSS % _COLOURS}</style>"), name="firereach_css")
        figure.header.add_child(_Raw(f"<script>{js}</script>"), name="leaflet_js")
    for name, z in _PANES.items():
        folium.map.CustomPane(f"fr-{name}", z_index=z, pointer_events=False).add_to(fmap)
    return fmap


def _wgs84_bounds(layers: Layers) -> list[list[float]] | None:
    geoms = layers.roads.geometry if len(layers.roads) else layers.buildings.geometry
    if len(geoms) == 0:
        return None
    west, south, east, north = geoms.to_crs(4326).total_bounds
    if not np.all(np.isfinite([west, south, east, north])):
        return None
    return [[float(south), float(west)], [float(north), float(east)]]


_TAG_LOADS = re.compile(
    r"<(?:script|img|iframe|embed|source|audio|video)\b[^>]*\ssrc\s*=\s*(?![\"']?data:)"
    r"|<link\b[^>]*\shref\s*=\s*(?![\"']?data:)",
    re.IGNORECASE,
)
_CSS_LOADS = re.compile(r"@import|url\(\s*(?![\"']?(?:data:|#))", re.IGNORECASE)
_STYLE_BLOCKS = re.compile(r"<style[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)


def _check_offline(page: str) -> None:
    """Fail loudly if the page would load anything (a CDN script, a stylesheet, an image).

    Looks at the page's own markup and style sheets; the vendored Leaflet code is left out (it
    only builds image URLs for marker icons, which the map does not use).
    """
    js, _ = _leaflet_assets()
    markup = page.replace(js, "")
    found = _TAG_LOADS.search(markup)
    if found is None:
        for block in _STYLE_BLOCKS.finditer(markup):
            found = _CSS_LOADS.search(block.group(1))
            if found is not None:
                markup = block.group(1)
                break
    if found is not None:
        start = max(found.start() - 60, 0)
        raise RuntimeError(
            "map.html would load an external resource near "
            f"{markup[start:found.end() + 60]!r}: a folium element brought a CDN link"
        )


def _js_str(value: str) -> str:
    """A JavaScript string literal, safe inside a <script> element."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    )


# --- geometry and properties ------------------------------------------------------------------





# --- legend ------------------------------------------------------------------------------------
