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
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from folium.utilities import JsCode

from geo import vocabulary
from geo.errors import ConfigError, CRSError, LayerValidationError
from geo.layers import Layers
from reports.budget import OutputBudget
from reports.export import atomic_path
from reports.i18n import label, value_or_not_computed
from reports.quality import input_rows, warning_lines
from routing.analysis import Analysis

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
LEAFLET_VERSION = "1.9.4"
OSM_ATTRIBUTION = (
    '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'
)
HYDRANT_STATUSES = vocabulary.HYDRANT_STATUSES
HIGH_RISE_CLASSES = vocabulary.HIGH_RISE_CLASSES

Lang = Literal["zh", "en"]

_SMALL_SCREEN_PX = 700  # narrower windows start with the layer list and legend folded
_DECIMALS = 6  # WGS84 degrees: 1e-6° is about 0.1 m
_SIMPLIFY_M = 0.5  # streets and footprints
_SIMPLIFY_AREA_M = 2.0  # first-due areas

# Colours: coverage gaps red over green covered streets; hydrants blue / amber / black / hollow.
_COLOURS = {
    "background": "#f2efe9",
    "street": "#ffffff",
    "street_edge": "#c8c2b8",
    "building": "#dcd6cc",
    "building_edge": "#bfb6a8",
    "covered": "#4e9a6a",
    "gap": "#e3261b",
    **{c: str(vocabulary.BUILDING_CLASS.colour(c)) for c in vocabulary.HIGH_RISE_CLASSES},
    "deficit": "#ef6c00",
    "station": "#b71c1c",
    "proposed": "#00897b",
}
# Hydrants: filled dots in their status colour; status unknown is hollow, ringed in its colour.
_HYDRANT_STYLE: dict[str, dict[str, Any]] = {
    t.code: {"fillColor": t.colour, "color": "#ffffff", "weight": 1.5}
    if t.code != "unknown" else {"fillColor": "#ffffff", "color": t.colour, "weight": 2.0}
    for t in vocabulary.HYDRANT_STATUS.terms
}
# Blockage tiers: (highest rank in the tier, colour, radius in px).
_BLOCKAGE_TIERS: tuple[tuple[float, str, float], ...] = (
    (10, "#ad1457", 8.0),
    (50, "#ec407a", 6.5),
    (np.inf, "#f8a5c2", 5.0),
)
_AREA_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#ff7f0e", "#7f7f7f",
)

# Panes, bottom to top (Leaflet: tiles 200, overlays 400, markers 600, popups 700).
# An inline icon, or the browser asks the server for /favicon.ico: a hydrant-red dot.
_FAVICON = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E"
    "%3Ccircle cx='8' cy='8' r='7' fill='%23e3261b'/%3E%3C/svg%3E"
)
_PANES = {"areas": 405, "base": 410, "buildings": 415, "streets": 420, "points": 440}

# Labels of coded values, from geo.vocabulary, under the prefixes the map's popups use.
_VALUE_PREFIXES: tuple[tuple[str, vocabulary.Vocabulary], ...] = (
    ("status", vocabulary.HYDRANT_STATUS), ("class", vocabulary.BUILDING_CLASS),
    ("kind", vocabulary.HYDRANT_KIND), ("kind", vocabulary.BLOCKAGE_KIND),
    ("use", vocabulary.BUILDING_USE), ("bstatus", vocabulary.LEDGER_STATUS),
    ("source", vocabulary.FEATURE_SOURCE), ("effect", vocabulary.BLOCKAGE_EFFECT),
)


def _value_text(lang: Lang) -> dict[str, str]:
    """``prefix.code`` labels and the legend's ``hydrants.<status>`` / ``class1`` entries."""
    out = {f"{prefix}.{t.code}": t.label(lang) for prefix, v in _VALUE_PREFIXES for t in v.terms}
    lead = "消火栓：" if lang == "zh" else "Hydrants: "
    out.update({f"hydrants.{t.code}": lead + t.label(lang) for t in vocabulary.HYDRANT_STATUS.terms})
    for c in vocabulary.HIGH_RISE_CLASSES:
        name = vocabulary.BUILDING_CLASS.label(c, lang)
        out[c] = name + "建筑" if lang == "zh" else name[:1].upper() + name[1:]
    return out


_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        **_value_text("zh"),
        "html_lang": "zh-CN",
        "title": "FireReach 消火栓覆盖与消防车通达图",
        "legend": "图例",
        "tiles": "在线瓦片底图",
        "streets": "底图：街道",
        "buildings": "底图：建筑轮廓",
        "areas": "消防站首达辖区",
        "covered": "已覆盖街道（{radius} m 内有消火栓）",
        "gaps": "消火栓覆盖盲区（未覆盖街道）",
        "deficit": "室外消防用水不足的建筑",
        "stations": "消防站",
        "blockages": "生命通道占用点（按排名）",
        "proposed": "拟建消火栓（按建设顺序）",
        "unnamed": "无名道路",
        "not_snapped": "未接入路网（不计入覆盖）",
        "snapped": "已接入路网",
        "f.id": "编号",
        "f.name": "名称",
        "f.status": "状态",
        "f.kind": "类型",
        "f.diameter": "口径 (mm)",
        "f.flow": "流量 (L/s)",
        "f.pressure": "压力 (MPa)",
        "f.source": "来源",
        "f.network": "路网",
        "f.street": "街道",
        "f.rank": "排名",
        "f.length": "长度 (m)",
        "f.n_buildings": "沿街建筑 (栋)",
        "f.n_high_rises": "沿街高层 (栋)",
        "f.class": "高层类别",
        "f.height": "高度 (m)",
        "f.use": "用途",
        "f.in_range": "范围内消火栓 (个)",
        "f.credited": "计入流量 (L/s)",
        "f.required": "需水量 (L/s)",
        "f.deficit": "缺口 (L/s)",
        "f.response": "首车到场 (s)",
        "f.first_due": "首达消防站",
        "f.station": "消防站",
        "f.area": "辖区面积 (km²)",
        "f.score": "评分",
        "f.width": "剩余宽度 (m)",
        "f.order": "建设顺序",
        "f.cost": "造价 (元)",
        "f.cumulative_cost": "累计造价 (元)",
        "f.gain": "新增覆盖街道 (m)",
        "f.effect": "影响",
        "f.high_rises_cut": "切断高层 (栋)",
        "f.buildings_cut": "切断建筑 (栋)",
        "f.delay": "最大延误 (s)",
        "tip.hydrant": "消火栓 {id}（{status}）",
        "tip.gap": "{street}：{length} m 未覆盖",
        "tip.station": "消防站 {name}",
        "tip.building": "{name}：{cls}",
        "tip.blockage": "占用点 #{rank}：{kind}",
        "tip.proposed": "拟建消火栓 #{order}",
        "sum.coverage": "街道覆盖率 {pct}%（{radius} m，{method}）",
        "sum.network": "沿路网距离",
        "sum.straight": "直线距离",
        "sum.response": "{limit} s 内可达街道 {pct}%",
        "sum.hydrants": "消火栓 {n} 个，其中在用 {used} 个",
        "lg.covered": "已覆盖街道",
        "lg.gaps": "覆盖盲区",
        "lg.streets": "街道",
        "lg.buildings": "建筑",
        "lg.area": "首达辖区",
        "lg.tier1": "占用点 排名 1–10",
        "lg.tier2": "占用点 排名 11–50",
        "lg.tier3": "占用点 排名 > 50",
        "lg.proposed": "拟建消火栓（数字为顺序）",
        "badge.station": "站",
        "cut.head": "大城市精简显示：以下要素未全部画出（按严重程度优先）",
        "cut.item": "{name}：未画出 {n:,} 个",
        "cut.where": "完整数据见 layers.gpkg（GIS 软件打开）和在线地图（firereach serve）。",
    },
    "en": {
        **_value_text("en"),
        "html_lang": "en",
        "title": "FireReach: hydrant coverage and fire-truck access",
        "legend": "Legend",
        "tiles": "Online tiles",
        "streets": "Basemap: streets",
        "buildings": "Basemap: building footprints",
        "areas": "Station first-due areas",
        "covered": "Covered streets (hydrant within {radius} m)",
        "gaps": "Hydrant coverage gaps (uncovered streets)",
        "deficit": "Buildings short of outdoor fire flow",
        "stations": "Fire stations",
        "blockages": "Fire-lane blockages (by rank)",
        "proposed": "Proposed hydrants (by order)",
        "unnamed": "unnamed street",
        "not_snapped": "not on the street network (not counted)",
        "snapped": "on the street network",
        "f.id": "ID",
        "f.name": "Name",
        "f.status": "Status",
        "f.kind": "Type",
        "f.diameter": "Diameter (mm)",
        "f.flow": "Flow (L/s)",
        "f.pressure": "Pressure (MPa)",
        "f.source": "Source",
        "f.network": "Network",
        "f.street": "Street",
        "f.rank": "Rank",
        "f.length": "Length (m)",
        "f.n_buildings": "Buildings along",
        "f.n_high_rises": "High-rises along",
        "f.class": "High-rise class",
        "f.height": "Height (m)",
        "f.use": "Use",
        "f.in_range": "Hydrants in range",
        "f.credited": "Credited flow (L/s)",
        "f.required": "Required flow (L/s)",
        "f.deficit": "Deficit (L/s)",
        "f.response": "First truck (s)",
        "f.first_due": "First-due station",
        "f.station": "Station",
        "f.area": "Area (km²)",
        "f.score": "Score",
        "f.width": "Remaining width (m)",
        "f.order": "Order",
        "f.cost": "Cost (CNY)",
        "f.cumulative_cost": "Cumulative cost (CNY)",
        "f.gain": "Street newly covered (m)",
        "f.effect": "Effect",
        "f.high_rises_cut": "High-rises cut off",
        "f.buildings_cut": "Buildings cut off",
        "f.delay": "Largest delay (s)",
        "tip.hydrant": "Hydrant {id} ({status})",
        "tip.gap": "{street}: {length} m uncovered",
        "tip.station": "Fire station {name}",
        "tip.building": "{name}: {cls}",
        "tip.blockage": "Blockage #{rank}: {kind}",
        "tip.proposed": "Proposed hydrant #{order}",
        "sum.coverage": "{pct}% of streets covered ({radius} m, {method})",
        "sum.network": "network distance",
        "sum.straight": "straight line",
        "sum.response": "{pct}% of streets reached within {limit} s",
        "sum.hydrants": "{n} hydrants, {used} in service",
        "lg.covered": "Covered street",
        "lg.gaps": "Coverage gap",
        "lg.streets": "Street",
        "lg.buildings": "Building",
        "lg.area": "First-due area",
        "lg.tier1": "Blockage rank 1–10",
        "lg.tier2": "Blockage rank 11–50",
        "lg.tier3": "Blockage rank > 50",
        "lg.proposed": "Proposed hydrant (number = order)",
        "badge.station": "FS",
        "cut.head": "City-size map: not every feature is drawn (worst first)",
        "cut.item": "{name}: {n:,} not drawn",
        "cut.where": "Full detail: layers.gpkg (open in a GIS) and the served map (firereach serve).",
    },
}

_CSS = """
.fr-cut {
    background: #fff8e1; border: 1px solid #f0c36d; padding: 4px 6px; margin-bottom: 4px;
    font-size: 12px; max-width: 320px;
}
.fr-cut ul { margin: 2px 0 2px 16px; padding: 0; }
.leaflet-container { background: %(background)s;
  font-family: "Noto Sans CJK SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC",
    "Helvetica Neue", Arial, sans-serif; }
.leaflet-control-layers-expanded { max-height: 60vh; overflow-y: auto; font-size: 12px; }
.leaflet-popup-content { font-size: 12px; }
.foliumpopup th { color: #555; font-weight: normal; white-space: nowrap; }
.foliumtooltip { font-size: 12px; }
.fr-legend { background: rgba(255, 255, 255, 0.93); padding: 6px 10px; border-radius: 5px;
  box-shadow: 0 1px 5px rgba(0, 0, 0, 0.4); font-size: 12px; line-height: 18px; color: #222;
  max-width: 270px; max-height: 55vh; overflow-y: auto; }
.fr-legend summary { font-weight: bold; font-size: 13px; cursor: pointer; }
.fr-legend .fr-sum { color: #444; margin: 2px 0 4px; line-height: 16px; }
.fr-legend .fr-q { white-space: normal; line-height: 16px; margin: 2px 0; }
.fr-legend .fr-row { display: flex; align-items: center; white-space: nowrap; }
.fr-sw { display: inline-block; flex: none; box-sizing: border-box; width: 20px; height: 12px;
  margin-right: 6px; }
.fr-sw-line { height: 0; border-top-style: solid; }
.fr-sw-dot { width: 12px; height: 12px; margin: 0 10px 0 4px; border-radius: 50%%;
  border-style: solid; }
.fr-sw-poly { border-style: solid; border-width: 1px; }
.fr-divicon { background: none; border: none; }
.fr-station { box-sizing: border-box; width: 22px; height: 22px; background: %(station)s;
  color: #fff; border: 2px solid #fff; border-radius: 4px; font: bold 11px/18px sans-serif;
  text-align: center; box-shadow: 0 0 3px rgba(0, 0, 0, 0.6); }
.fr-proposed { box-sizing: border-box; width: 22px; height: 22px; background: #fff;
  color: %(proposed)s; border: 3px solid %(proposed)s; border-radius: 50%%;
  font: bold 11px/16px sans-serif; text-align: center; box-shadow: 0 0 3px rgba(0, 0, 0, 0.5); }
.fr-legend .fr-station, .fr-legend .fr-proposed { flex: none; width: 18px; height: 18px;
  margin-right: 6px; line-height: 14px; font-size: 9px; }
"""


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


@dataclass(frozen=True)
class _Detail:
    """A layer's popup table: property keys and their labels (the tooltip is property ``tip``)."""

    fields: tuple[str, ...]
    aliases: tuple[str, ...]


@dataclass
class _Cut:
    """The map's budget and what it left out: features not drawn per layer name."""

    budget: OutputBudget
    left: dict[str, int] = field(default_factory=dict)

    def take(self, gdf: gpd.GeoDataFrame, limit: int, name: str) -> tuple[gpd.GeoDataFrame, bool]:
        """The first ``limit`` rows (the caller sorts worst first) and whether any were left out."""
        if len(gdf) <= limit:
            return gdf, False
        self.left[name] = self.left.get(name, 0) + len(gdf) - limit
        return gdf.iloc[:limit].reset_index(drop=True), True

    def drop(self, n: int, name: str) -> None:
        """A whole layer of ``n`` features left out."""
        if n:
            self.left[name] = self.left.get(name, 0) + n

    def tol(self, base: float, reduced: bool) -> float:
        """Simplification of a layer: coarser when it was cut to its budget."""
        return max(base, self.budget.map_reduced_simplify_m) if reduced else base


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


def _wgs84(geoms: gpd.GeoSeries, *, tolerance_m: float) -> np.ndarray:
    """Simplify in the working CRS, reproject to WGS84, round to 6 decimals."""
    values = np.asarray(geoms.array, dtype=object)
    if tolerance_m > 0:
        values = shapely.simplify(values, tolerance_m, preserve_topology=True)
    lonlat = gpd.GeoSeries(values, crs=geoms.crs).to_crs(4326)
    return shapely.transform(
        np.asarray(lonlat.array, dtype=object), lambda xy: np.round(xy, _DECIMALS)
    )


def _usable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Rows whose geometry can be drawn, index reset."""
    geom = gdf.geometry
    ok = geom.notna().to_numpy() & ~geom.is_empty.to_numpy()
    return gdf.loc[ok].reset_index(drop=True)


def _collection(
    gdf: gpd.GeoDataFrame, props: Mapping[str, Sequence[object]], *, tolerance_m: float
) -> dict[str, Any]:
    """A GeoJSON FeatureCollection in WGS84 with integer feature ids and the given properties."""
    geoms = _wgs84(gdf.geometry, tolerance_m=tolerance_m)
    keys = list(props)
    columns = [list(props[k]) for k in keys]
    features = []
    for i, geom in enumerate(geoms):
        features.append({
            "type": "Feature",
            "id": i,
            "properties": {k: col[i] for k, col in zip(keys, columns, strict=True)},
            "geometry": shapely.geometry.mapping(geom),
        })
    return {"type": "FeatureCollection", "features": features}


def _num(values: Any, digits: int = 0) -> list[str]:
    """Numbers as text with ``digits`` decimals; missing or infinite as a dash."""
    arr = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").to_numpy(dtype=float)
    return [f"{v:,.{digits}f}" if np.isfinite(v) else "—" for v in arr]


def _txt(values: Any) -> list[str]:
    """Text, HTML-escaped (popups are filled with innerHTML); missing or empty as a dash."""
    out = []
    for v in pd.Series(values, dtype=object).tolist():
        missing = v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == ""
        out.append("—" if missing else html.escape(str(v)))
    return out


def _label(values: Any, text: Mapping[str, str], prefix: str) -> list[str]:
    """Code values (``in_service``) as their label in the map's language."""
    return [html.escape(text.get(f"{prefix}.{v}", str(v))) for v in pd.Series(values).tolist()]


def _column(gdf: pd.DataFrame, name: str, default: object = None) -> pd.Series:
    if name in gdf.columns:
        return gdf[name]
    return pd.Series([default] * len(gdf), index=gdf.index, dtype=object)


def _street_names(gdf: pd.DataFrame, text: Mapping[str, str]) -> list[str]:
    names = _txt(_column(gdf, "name"))
    return [html.escape(text["unnamed"]) if n == "—" else n for n in names]


def _detail(text: Mapping[str, str], *fields: tuple[str, str]) -> _Detail:
    """Popup fields as (property key, label key) pairs."""
    return _Detail(
        fields=tuple(k for k, _ in fields), aliases=tuple(text[f"f.{a}"] for _, a in fields)
    )


def _geojson(
    data: dict[str, Any],
    *,
    name: str,
    pane: str,
    style: Mapping[str, Any] | Callable[[dict[str, Any]], dict[str, Any]],
    detail: _Detail | None = None,
    tooltip: bool = True,
    show: bool = True,
    marker: folium.CircleMarker | folium.Marker | None = None,
    options: Mapping[str, Any] | None = None,
) -> folium.GeoJson:
    """One overlay of the layer control, with its popup table and hover tooltip."""
    # folium's marker options keep neither the pane nor a fill: the style carries them
    extra = {"pane": f"fr-{pane}", "fill": True} if isinstance(marker, folium.CircleMarker) else {}
    if callable(style):
        styler = style

        def style_function(feature: dict[str, Any]) -> dict[str, Any]:
            return {**styler(feature), **extra}
    else:
        fixed = {**style, **extra}

        def style_function(feature: dict[str, Any]) -> dict[str, Any]:
            return fixed

    interactive = detail is not None or tooltip
    layer = folium.GeoJson(
        data, name=name, style_function=style_function, marker=marker, show=show,
        pane=f"fr-{pane}", interactive=interactive, **dict(options or {}),
    )
    if tooltip:
        folium.GeoJsonTooltip(fields=["tip"], labels=False, sticky=True).add_to(layer)
    if detail is not None:
        folium.GeoJsonPopup(
            fields=list(detail.fields), aliases=list(detail.aliases), localize=False,
            max_width=360,
        ).add_to(layer)
    return layer


def _count_name(name: str, n: int) -> str:
    return html.escape(f"{name} ({n})")


# --- layers ------------------------------------------------------------------------------------


def _major_first(roads: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Streets ordered for a cut basemap: major classes first, then the longest."""
    rank = _column(roads, "highway", "").astype(str).str.removesuffix("_link").map(_MAJOR).fillna(len(_MAJOR))
    length = roads.geometry.length.to_numpy()
    order = np.lexsort((-length, rank.to_numpy(dtype=float)))
    return roads.iloc[order].reset_index(drop=True)


_MAJOR = {c: i for i, c in enumerate(("motorway", "trunk", "primary", "secondary", "tertiary"))}


def _basemap(layers: Layers, text: Mapping[str, str], cut: _Cut) -> dict[str, folium.GeoJson]:
    """The workspace's own building footprints and streets, drawn under everything else.

    Over the budget: the largest footprints and the major, longest streets.
    """
    out: dict[str, folium.GeoJson] = {}
    buildings = _usable(layers.buildings)
    if len(buildings) > cut.budget.map_max_polygons:
        buildings = buildings.iloc[np.argsort(-buildings.geometry.area.to_numpy(), kind="stable")]
    buildings, b_cut = cut.take(buildings, cut.budget.map_max_polygons, text["buildings"])
    if len(buildings):
        out["buildings"] = _geojson(
            _collection(buildings, {}, tolerance_m=cut.tol(_SIMPLIFY_M, b_cut)),
            name=html.escape(text["buildings"]), pane="base", tooltip=False,
            style={"color": _COLOURS["building_edge"], "weight": 0.6,
                   "fillColor": _COLOURS["building"], "fillOpacity": 1.0},
            options={"class_name": "fr-building"},
        )
    roads = _usable(layers.roads)
    if len(roads) > cut.budget.map_max_lines:
        roads = _major_first(roads)
    roads, r_cut = cut.take(roads, cut.budget.map_max_lines, text["streets"])
    if len(roads):
        out["streets"] = _geojson(
            _collection(roads, {}, tolerance_m=cut.tol(_SIMPLIFY_M, r_cut)),
            name=html.escape(text["streets"]), pane="base", tooltip=False,
            style={"color": _COLOURS["street_edge"], "weight": 6, "opacity": 1.0,
                   "lineCap": "round", "lineJoin": "round"},
            options={"class_name": "fr-street"},
        )
    return out


def _streets(analysis: Analysis, text: Mapping[str, str], cut: _Cut) -> dict[str, folium.GeoJson]:
    """Covered streets in green; the gaps (uncovered pieces, as ranked stretches) in red.

    Over the budget: covered streets are left out (the basemap shows the streets) and the gaps
    are the worst ranked ones.
    """
    out: dict[str, folium.GeoJson] = {}
    radius = f"{analysis.coverage.radius_m:.0f}"
    pieces = _usable(analysis.layers["coverage_pieces"])
    covered = pieces.loc[pieces["covered"].to_numpy(dtype=bool)].reset_index(drop=True)
    if len(covered) > cut.budget.map_max_lines:
        cut.drop(len(covered), text["covered"].format(radius=radius))
        covered = covered.iloc[:0]
    if len(covered):
        out["covered"] = _geojson(
            _collection(covered, {"tip": _street_names(covered, text)}, tolerance_m=_SIMPLIFY_M),
            name=_count_name(text["covered"].format(radius=radius), len(covered)),
            pane="streets", style={"color": _COLOURS["covered"], "weight": 3, "opacity": 0.95},
            options={"class_name": "fr-covered"},
        )
    gaps = _usable(analysis.layers.get("underserved_segments", gpd.GeoDataFrame()))
    n_gaps = len(gaps)
    if len(gaps):
        gaps = gaps.sort_values("rank", kind="stable").reset_index(drop=True)
        gaps, g_cut = cut.take(gaps, cut.budget.map_max_lines, text["gaps"])
        street = _street_names(gaps, text)
        length = _num(gaps["length_m"])
        props: dict[str, Sequence[object]] = {
            "tip": [text["tip.gap"].format(street=s, length=n) for s, n in zip(street, length,
                                                                           strict=True)],
            "rank": _num(gaps["rank"]),
            "street": street,
            "length": length,
            "n_buildings": _num(_column(gaps, "n_buildings")),
            "n_high_rises": _num(_column(gaps, "n_high_rises")),
        }
        detail = _detail(text, ("rank", "rank"), ("street", "street"), ("length", "length"),
                         ("n_buildings", "n_buildings"), ("n_high_rises", "n_high_rises"))
    else:  # no ranked stretches: the uncovered pieces themselves
        gaps = pieces.loc[~pieces["covered"].to_numpy(dtype=bool)].reset_index(drop=True)
        n_gaps = len(gaps)
        if len(gaps) > cut.budget.map_max_lines:
            gaps = gaps.iloc[np.argsort(-gaps["length_m"].to_numpy(dtype=float), kind="stable")]
        gaps, g_cut = cut.take(gaps, cut.budget.map_max_lines, text["gaps"])
        street = _street_names(gaps, text)
        length = _num(gaps["length_m"])
        props = {
            "tip": [text["tip.gap"].format(street=s, length=n) for s, n in zip(street, length,
                                                                           strict=True)],
            "street": street,
            "length": length,
        }
        detail = _detail(text, ("street", "street"), ("length", "length"))
    if len(gaps):
        out["gaps"] = _geojson(
            _collection(gaps, props, tolerance_m=cut.tol(_SIMPLIFY_M, g_cut)),
            name=_count_name(text["gaps"], n_gaps), pane="streets", detail=detail,
            style={"color": _COLOURS["gap"], "weight": 4, "opacity": 1.0},
            options={"class_name": "fr-gap"},
        )
    return out


def _building_props(b: pd.DataFrame, text: Mapping[str, str]) -> dict[str, Sequence[object]]:
    ident = _txt(b["building_id"])
    names = _txt(_column(b, "name"))
    label = [n if n != "—" else i for n, i in zip(names, ident, strict=True)]
    cls = _label(b["high_rise_class"], text, "class")
    return {
        "tip": [text["tip.building"].format(name=n, cls=c) for n, c in zip(label, cls,
                                                                          strict=True)],
        "id": ident,
        "name": names,
        "class": cls,
        "height": _num(_column(b, "height_m"), 1),
        "use": _label(_column(b, "use", "unknown"), text, "use"),
        "in_range": _num(_column(b, "hydrants_in_range")),
        "credited": _num(_column(b, "credited_flow_lps"), 1),
        "required": _num(_column(b, "required_flow_lps"), 1),
        "deficit": _num(_column(b, "flow_deficit_lps"), 1),
        "response": _num(_column(b, "response_s")),
        "first_due": _txt(_column(b, "first_due_station")),
    }


def _worst_buildings(b: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Buildings with problems first: largest fire-flow deficit, no hydrant in range, slowest."""
    deficit = np.nan_to_num(_column(b, "flow_deficit_lps", np.nan).to_numpy(dtype=float))
    dry = (_column(b, "hydrants_in_range", 1).to_numpy(dtype=float) == 0).astype(float)
    slow = np.nan_to_num(_column(b, "response_s", np.nan).to_numpy(dtype=float), nan=np.inf)
    order = np.lexsort((-slow, -dry, -deficit))
    return b.iloc[order].reset_index(drop=True)


def _buildings(analysis: Analysis, text: Mapping[str, str], cut: _Cut) -> dict[str, folium.GeoJson]:
    """High-rises by class, and (hidden at first) buildings short of outdoor fire flow.

    Over the budget: the ones with problems first (largest deficit, no hydrant in range, slowest).
    """
    out: dict[str, folium.GeoJson] = {}
    b = _usable(analysis.layers["buildings_analysis"])
    detail = _detail(
        text, ("id", "id"), ("name", "name"), ("class", "class"), ("height", "height"),
        ("use", "use"), ("in_range", "in_range"), ("credited", "credited"),
        ("required", "required"), ("deficit", "deficit"), ("response", "response"),
        ("first_due", "first_due"),
    )
    deficit = b.loc[np.nan_to_num(b["flow_deficit_lps"].to_numpy(dtype=float)) > 0]
    deficit = deficit.reset_index(drop=True)
    n_deficit = len(deficit)
    if n_deficit > cut.budget.map_max_polygons:
        deficit = _worst_buildings(deficit)
    deficit, d_cut = cut.take(deficit, cut.budget.map_max_polygons, text["deficit"])
    if len(deficit):
        out["deficit"] = _geojson(
            _collection(deficit, _building_props(deficit, text), tolerance_m=cut.tol(_SIMPLIFY_M, d_cut)),
            name=_count_name(text["deficit"], n_deficit), pane="buildings", detail=detail,
            show=False,
            style={"color": _COLOURS["deficit"], "weight": 2, "fillColor": _COLOURS["deficit"],
                   "fillOpacity": 0.25},
            options={"class_name": "fr-deficit"},
        )
    for cls in HIGH_RISE_CLASSES:
        sel = b.loc[b["high_rise_class"].to_numpy() == cls].reset_index(drop=True)
        if len(sel) == 0:
            continue
        n_sel = len(sel)
        if n_sel > cut.budget.map_max_polygons:
            sel = _worst_buildings(sel)
        sel, s_cut = cut.take(sel, cut.budget.map_max_polygons, text[cls])
        out[cls] = _geojson(
            _collection(sel, _building_props(sel, text), tolerance_m=cut.tol(_SIMPLIFY_M, s_cut)),
            name=_count_name(text[cls], n_sel), pane="buildings", detail=detail,
            style={"color": _COLOURS[cls], "weight": 1.5, "fillColor": _COLOURS[cls],
                   "fillOpacity": 0.6},
            options={"class_name": f"fr-{cls}"},
        )
    return out


def _hydrants(analysis: Analysis, text: Mapping[str, str], cut: _Cut) -> dict[str, folium.GeoJson]:
    """One overlay per hydrant status, circle markers coloured by status.

    Over the budget (all statuses together): only the hydrants that need attention, out of
    service and low pressure, each up to the budget.
    """
    out: dict[str, folium.GeoJson] = {}
    h = _usable(analysis.layers["hydrants_analysis"])
    all_drawn = len(h) <= cut.budget.map_max_points
    detail = _detail(
        text, ("id", "id"), ("status", "status"), ("kind", "kind"), ("diameter", "diameter"),
        ("flow", "flow"), ("pressure", "pressure"), ("name", "name"), ("source", "source"),
        ("network", "network"),
    )
    status = h["status"].astype(str).to_numpy()
    for st in HYDRANT_STATUSES:
        sel = h.loc[status == st].reset_index(drop=True)
        if len(sel) == 0:
            continue
        n_sel = len(sel)
        if not all_drawn and st in ("in_service", "unknown"):
            cut.drop(n_sel, text[f"hydrants.{st}"])
            continue
        sel, _ = cut.take(sel, cut.budget.map_max_points, text[f"hydrants.{st}"])
        ident = _txt(sel["hydrant_id"])
        label = text[f"status.{st}"]
        snapped = _column(sel, "snap_edge", 0).to_numpy(dtype=float) >= 0
        props: dict[str, Sequence[object]] = {
            "tip": [text["tip.hydrant"].format(id=i, status=label) for i in ident],
            "id": ident,
            "status": [html.escape(label)] * len(sel),
            "kind": _label(_column(sel, "kind", "unknown"), text, "kind"),
            "diameter": _num(_column(sel, "diameter_mm")),
            "flow": _num(_column(sel, "flow_lps"), 1),
            "pressure": _num(_column(sel, "pressure_mpa"), 2),
            "name": _txt(_column(sel, "name")),
            "source": _label(_column(sel, "source", ""), text, "source"),
            "network": [html.escape(text["snapped" if s else "not_snapped"]) for s in snapped],
        }
        cls = f"fr-hydrant fr-hydrant-{st.replace('_', '-')}"
        out[f"hydrants.{st}"] = _geojson(
            _collection(sel, props, tolerance_m=0.0),
            name=_count_name(text[f"hydrants.{st}"], n_sel), pane="points", detail=detail,
            style={**_HYDRANT_STYLE[st], "fillOpacity": 1.0, "opacity": 1.0},
            marker=folium.CircleMarker(radius=6, class_name=cls),
        )
    return out


def _stations(layers: Layers, text: Mapping[str, str]) -> dict[str, folium.GeoJson]:
    s = _usable(layers.stations)
    if len(s) == 0:
        return {}
    names = _txt(_column(s, "name"))
    ident = _txt(s["station_id"])
    label = [n if n != "—" else i for n, i in zip(names, ident, strict=True)]
    props: dict[str, Sequence[object]] = {
        "tip": [text["tip.station"].format(name=n) for n in label],
        "id": ident,
        "name": names,
        "source": _label(_column(s, "source", ""), text, "source"),
    }
    badge = f'<div class="fr-station">{html.escape(text["badge.station"])}</div>'
    icon = folium.DivIcon(html=badge, icon_size=(22, 22), icon_anchor=(11, 11),
                          class_name="fr-divicon")
    return {
        "stations": _geojson(
            _collection(s, props, tolerance_m=0.0), name=_count_name(text["stations"], len(s)),
            pane="points", detail=_detail(text, ("id", "id"), ("name", "name"),
                                          ("source", "source")),
            style={}, marker=folium.Marker(icon=icon),
        )
    }


def _station_areas(
    layers: Layers, analysis: Analysis, text: Mapping[str, str]
) -> dict[str, folium.GeoJson]:
    a = _usable(analysis.layers.get("station_areas", gpd.GeoDataFrame()))
    if len(a) == 0:
        return {}
    names = dict(zip(layers.stations["station_id"].astype(str),
                     layers.stations["name"].astype(str), strict=True))
    ident = a["station_id"].astype(str)
    station = _txt([names.get(i) or i for i in ident])
    props: dict[str, Sequence[object]] = {  # no hover tooltip: it would follow every move
        "station": station,
        "id": _txt(ident),
        "area": _num(a["area_km2"], 2),
    }
    colours = [_AREA_PALETTE[i % len(_AREA_PALETTE)] for i in range(len(a))]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = colours[int(feature["id"])]
        return {"color": colour, "weight": 2, "dashArray": "6 4", "fillColor": colour,
                "fillOpacity": 0.06}

    return {
        "areas": _geojson(
            _collection(a, props, tolerance_m=_SIMPLIFY_AREA_M),
            name=_count_name(text["areas"], len(a)), pane="areas", style=style, tooltip=False,
            detail=_detail(text, ("station", "station"), ("id", "id"), ("area", "area")),
            options={"class_name": "fr-area"},
        )
    }


_GRADE_COLOURS = {t.code: str(t.colour) for t in vocabulary.DISTRICT_GRADE.terms}


def _district_grades(
    districts: gpd.GeoDataFrame, layers: Layers, text: Mapping[str, str], *, show: bool
) -> dict[str, folium.GeoJson]:
    """Districts filled by their water-shortage grade (shown at first on a cut map only)."""
    if districts.crs is None:
        raise CRSError("districts has no CRS: set one (gdf.set_crs(...)) before drawing it on the map")
    d = _usable(districts.to_crs(layers.crs))
    if len(d) == 0:
        return {}
    lang: Lang = "zh" if text["html_lang"].startswith("zh") else "en"
    grade = _column(d, "grade", "").astype(str).tolist()
    names = _txt(_column(d, "name"))
    grade_text = [html.escape(label(g, lang)) if g in _GRADE_COLOURS else "—" for g in grade]
    props: dict[str, Sequence[object]] = {
        "tip": [f"{n}: {g}" for n, g in zip(names, grade_text, strict=True)],
        "name": names,
        "grade": grade_text,
        "street_km": _num(_column(d, "street_km"), 1),
        "uncovered_pct": _num(_column(d, "uncovered_pct"), 1),
    }

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        colour = _GRADE_COLOURS.get(grade[int(feature["id"])], "#9e9e9e")
        return {"color": colour, "weight": 1.5, "fillColor": colour, "fillOpacity": 0.25}

    detail = _Detail(
        fields=("name", "grade", "street_km", "uncovered_pct"),
        aliases=(text["f.name"], label("grade", lang), label("street_km", lang),
                 label("uncovered_pct", lang)),
    )
    return {
        "districts": _geojson(
            _collection(d, props, tolerance_m=_SIMPLIFY_AREA_M),
            name=_count_name(label("grade", lang), len(d)), pane="areas", style=style,
            detail=detail, show=show, options={"class_name": "fr-district"},
        )
    }


def _points_in(gdf: gpd.GeoDataFrame, layers: Layers, *, what: str, column: str) -> gpd.GeoDataFrame:
    """An optional input layer checked and moved to the working CRS."""
    if column not in gdf.columns:
        raise LayerValidationError(
            f"{what} has no {column!r} column (columns: {', '.join(map(str, gdf.columns))}); "
            f"give {column!r} (1 = first) to draw it on the map"
        )
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS: set one (gdf.set_crs(...)) before drawing it on the map")
    return _usable(gdf.to_crs(layers.crs))


_Optional = tuple[str, tuple[str, ...], Callable[[pd.Series, Mapping[str, str]], list[str]]]
# (property key = label key, candidate columns, formatter)


def _optional(
    gdf: pd.DataFrame, text: Mapping[str, str], spec: Sequence[_Optional]
) -> tuple[dict[str, Sequence[object]], list[tuple[str, str]]]:
    """Popup properties for the columns an input has (the first present of each candidate list)."""
    props: dict[str, Sequence[object]] = {}
    fields: list[tuple[str, str]] = []
    for key, candidates, fmt in spec:
        column = next((c for c in candidates if c in gdf.columns), None)
        if column is None:
            continue
        props[key] = fmt(gdf[column], text)
        fields.append((key, key))
    return props, fields


def _as_num(digits: int) -> Callable[[pd.Series, Mapping[str, str]], list[str]]:
    return lambda values, _text: _num(values, digits)


def _as_txt(values: pd.Series, _text: Mapping[str, str]) -> list[str]:
    return _txt(values)


def _as_label(prefix: str) -> Callable[[pd.Series, Mapping[str, str]], list[str]]:
    return lambda values, text: _label(values.fillna(""), text, prefix)


# Popup rows of a blockage, in order (routing.blockages.BlockageResult.blockages names; an
# agency ledger has some of them).
_BLOCKAGE_FIELDS: tuple[_Optional, ...] = (
    ("score", ("score",), _as_num(2)),
    ("id", ("blockage_id",), _as_txt),
    ("kind", ("kind",), _as_label("kind")),
    ("status", ("status",), _as_label("bstatus")),
    ("effect", ("effect",), _as_label("effect")),
    ("street", ("road_name", "name"), _as_txt),
    ("width", ("remaining_width_m",), _as_num(1)),
    ("high_rises_cut", ("high_rises_cut",), _as_num(0)),
    ("buildings_cut", ("buildings_cut",), _as_num(0)),
    ("delay", ("max_delay_s",), _as_num(0)),
)
# Popup rows of a proposed hydrant (routing.siting: SitingResult.chosen names).
_PROPOSED_FIELDS: tuple[_Optional, ...] = (
    ("cost", ("cost_cny", "cost"), _as_num(0)),
    ("cumulative_cost", ("cumulative_cost_cny",), _as_num(0)),
    ("gain", ("marginal_m",), _as_num(0)),
    ("id", ("candidate_id", "proposal_id"), _as_txt),
    ("street", ("road_name", "name"), _as_txt),
)


def _blockages(
    blockages: gpd.GeoDataFrame, layers: Layers, text: Mapping[str, str], cut: _Cut
) -> dict[str, folium.GeoJson]:
    """Ranked blockages as circle markers, darker and larger the higher their rank.

    Reports without a rank (closed or rejected ones in :func:`routing.blockages.blockage_impact`)
    are not drawn.
    """
    b = _points_in(blockages, layers, what="blockages", column="rank")
    rank_all = pd.to_numeric(b["rank"], errors="coerce")
    b = b.assign(_rank=rank_all).loc[rank_all.notna().to_numpy()]
    if len(b) < len(rank_all):
        log.info("map: %d of %d blockages have no rank (closed or rejected): not drawn",
                 len(rank_all) - len(b), len(rank_all))
    if len(b) == 0:
        return {}
    n_ranked = len(b)
    b = b.sort_values("_rank", kind="stable").reset_index(drop=True)
    b, _ = cut.take(b, cut.budget.map_max_points, text["blockages"])  # the worst ranks
    b = b.iloc[::-1].reset_index(drop=True)
    rank = b["_rank"].to_numpy(dtype=float)  # worst drawn last, on top
    tier = np.searchsorted(np.array([t[0] for t in _BLOCKAGE_TIERS]), rank, side="left")
    kind = _label(_column(b, "kind", "other").fillna("other"), text, "kind")
    ranks = _num(rank)
    extra, fields = _optional(b, text, _BLOCKAGE_FIELDS)
    props: dict[str, Sequence[object]] = {
        "tip": [text["tip.blockage"].format(rank=r, kind=k) for r, k in zip(ranks, kind,
                                                                           strict=True)],
        "rank": ranks,
        **extra,
    }
    styles = [
        {"fillColor": colour, "color": "#ffffff", "weight": 1.5, "fillOpacity": 1.0,
         "radius": radius}
        for _, colour, radius in _BLOCKAGE_TIERS
    ]

    def style(feature: dict[str, Any]) -> dict[str, Any]:
        return styles[int(tier[int(feature["id"])])]

    return {
        "blockages": _geojson(
            _collection(b, props, tolerance_m=0.0), name=_count_name(text["blockages"], n_ranked),
            pane="points", style=style, detail=_detail(text, ("rank", "rank"), *fields),
            marker=folium.CircleMarker(radius=5, class_name="fr-blockage"),
        )
    }


_PROPOSED_ICON = JsCode(
    """function(feature, latlng) {
        return L.marker(latlng, {icon: L.divIcon({
            className: "fr-divicon", iconSize: [22, 22], iconAnchor: [11, 11],
            html: '<div class="fr-proposed">' + feature.properties.badge + '</div>'})});
    }"""
)


def _proposed(
    proposed: gpd.GeoDataFrame, layers: Layers, text: Mapping[str, str], cut: _Cut
) -> dict[str, folium.GeoJson]:
    """Proposed hydrants as numbered badges (the number is the building order)."""
    p = _points_in(proposed, layers, what="proposed hydrants", column="order")
    if len(p) == 0:
        return {}
    n_proposed = len(p)
    p = p.assign(_order=pd.to_numeric(p["order"], errors="coerce")).sort_values(
        "_order", na_position="last", kind="stable"
    ).reset_index(drop=True)
    p, _ = cut.take(p, cut.budget.map_max_points, text["proposed"])  # the first to build
    p = p.iloc[::-1].reset_index(drop=True)  # first to build drawn last, on top
    order = _num(p["_order"])
    extra, fields = _optional(p, text, _PROPOSED_FIELDS)
    props: dict[str, Sequence[object]] = {
        "tip": [text["tip.proposed"].format(order=o) for o in order],
        "badge": [o if len(o) <= 3 else "…" for o in order],
        "order": order,
        **extra,
    }
    return {
        "proposed": _geojson(
            _collection(p, props, tolerance_m=0.0), name=_count_name(text["proposed"], n_proposed),
            pane="points", style={}, detail=_detail(text, ("order", "order"), *fields),
            options={"point_to_layer": _PROPOSED_ICON},
        )
    }


# --- legend ------------------------------------------------------------------------------------


class _Legend(MacroElement):
    """The legend: a Leaflet control in the bottom-left corner, collapsible."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var legend = L.control({position: "bottomleft"});
            legend.onAdd = function() {
                var div = L.DomUtil.create("div", "fr-legend leaflet-control");
                div.innerHTML = {{ this.body|tojson }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, body: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.body = body


_Q_COLOURS = {"error": "#b00020", "warning": "#9a6700", "info": "#444444"}


def _cut_html(cut: _Cut, text: Mapping[str, str]) -> str:
    """A note above the legend, always visible: what the budget left out and where it all is."""
    if not cut.left:
        return ""
    items = "".join(
        f"<li>{html.escape(text['cut.item'].format(name=name, n=n))}</li>" for name, n in cut.left.items()
    )
    return (
        f'<div class="fr-cut"><b>{html.escape(text["cut.head"])}</b><ul>{items}</ul>'
        f'{html.escape(text["cut.where"])}</div>'
    )


def _quality_html(summary: Mapping[str, Any], lang: Lang) -> str:
    """数据说明 under the legend: the data warnings and each input's level (open on an error)."""
    warnings = warning_lines(summary, lang)
    rows = input_rows(summary, lang)
    if not warnings and not rows:
        return ""
    colon = "：" if lang == "zh" else ": "
    parts = [
        f'<div class="fr-q" style="color:{_Q_COLOURS.get(w.severity, "#444")}">'
        f"■ {html.escape(w.text)}</div>"
        for w in warnings
    ]
    parts += [f'<div class="fr-q">{html.escape(r["input"] + colon + r["level"])}</div>' for r in rows]
    is_open = " open" if any(w.severity == "error" for w in warnings) else ""
    return (
        f'<details class="fr-quality"{is_open}><summary>{html.escape(label("quality_heading", lang))}'
        f'</summary>{"".join(parts)}</details>'
    )


def _legend_html(
    analysis: Analysis, text: Mapping[str, str], title: str, *, drawn: frozenset[str]
) -> str:
    """The legend's HTML: title, coverage figures, and a key to every layer that is drawn."""
    def row(swatch: str, label: str) -> str:
        return f'<div class="fr-row">{swatch}<span>{html.escape(label)}</span></div>'

    def line(colour: str, width: int, dash: str = "solid") -> str:
        return (f'<span class="fr-sw fr-sw-line" style="border-top-color:{colour};'
                f'border-top-width:{width}px;border-top-style:{dash}"></span>')

    def dot(fill: str, edge: str) -> str:
        return f'<span class="fr-sw fr-sw-dot" style="background:{fill};border-color:{edge};' \
               'border-width:2px"></span>'

    def poly(fill: str, edge: str) -> str:
        return f'<span class="fr-sw fr-sw-poly" style="background:{fill};border-color:{edge}">' \
               '</span>'

    cov = analysis.summary.get("coverage", {})
    lang: Lang = "zh" if text["html_lang"].startswith("zh") else "en"
    colon = "：" if lang == "zh" else ": "
    lines = []
    if cov and cov.get("covered_pct", 0.0) is None:  # no hydrant data: not computed, never 0 %
        lines.append(f"{label('coverage.covered_pct', lang)}{colon}{value_or_not_computed(None, lang)}")
    elif cov:
        lines.append(text["sum.coverage"].format(
            pct=f"{cov.get('covered_pct', 0.0):.1f}", radius=f"{cov.get('radius_m', 0):.0f}",
            method=text["sum.network" if cov.get("method") != "straight" else "sum.straight"],
        ))
    hyd = analysis.layers.get("hydrants_analysis")
    if hyd is not None:
        used = int((hyd["status"].astype(str) == "in_service").sum())
        lines.append(text["sum.hydrants"].format(n=len(hyd), used=used))
    st = analysis.summary.get("stations", {})
    if st.get("used"):
        lines.append(text["sum.response"].format(
            pct=f"{st.get('roads_within_limit_pct', 0.0):.1f}", limit=f"{st.get('limit_s', 0):.0f}"
        ))
    elif "roads_within_limit_pct" in st and st["roads_within_limit_pct"] is None:
        lines.append(f"{label('stations.roads_within_limit_pct', lang)}{colon}"
                     f"{value_or_not_computed(None, lang)}")
    keys: list[tuple[str, str, str]] = [  # (layer key, swatch, label)
        ("covered", line(_COLOURS["covered"], 3), text["lg.covered"]),
        ("gaps", line(_COLOURS["gap"], 4), text["lg.gaps"]),
        ("streets", line(_COLOURS["street_edge"], 5), text["lg.streets"]),
        ("buildings", poly(_COLOURS["building"], _COLOURS["building_edge"]), text["lg.buildings"]),
    ]
    for s in HYDRANT_STATUSES:
        style = _HYDRANT_STYLE[s]
        edge = style["color"] if s == "unknown" else style["fillColor"]
        keys.append((f"hydrants.{s}", dot(style["fillColor"], edge), text[f"hydrants.{s}"]))
    keys += [
        ("class1", poly(_COLOURS["class1"], _COLOURS["class1"]), text["class1"]),
        ("class2", poly(_COLOURS["class2"], _COLOURS["class2"]), text["class2"]),
        ("deficit", poly("rgba(239,108,0,0.25)", _COLOURS["deficit"]), text["deficit"]),
        ("stations", f'<span class="fr-station">{html.escape(text["badge.station"])}</span>',
         text["stations"]),
        ("areas", line(_AREA_PALETTE[0], 2, "dashed"), text["lg.area"]),
    ]
    keys += [
        ("blockages", dot(colour, colour), text[f"lg.tier{i + 1}"])
        for i, (_, colour, _) in enumerate(_BLOCKAGE_TIERS)
    ]
    keys.append(("proposed", '<span class="fr-proposed">1</span>', text["lg.proposed"]))
    rows = [row(swatch, label) for key, swatch, label in keys if key in drawn]
    summary = "".join(f"<div>{html.escape(s)}</div>" for s in lines)
    return (
        f"<details open><summary>{html.escape(title)}</summary>"
        f'<div class="fr-sum">{summary}</div>{"".join(rows)}</details>'
    )
