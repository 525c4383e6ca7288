"""The map's look and words: colours, hydrant styles, the zh/en texts and the page's CSS.

Coded values' labels and legend colours come from :mod:`geo.vocabulary`; this module adds the
map's own wording (layer names, popup headers, summary lines).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from geo import vocabulary

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
