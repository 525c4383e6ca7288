"""The map's legend panel: the summary figures, the data-quality notes and a swatch per layer."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from branca.element import MacroElement
from folium.template import Template

from geo.catalog import LayerName
from reports.i18n import label, value_or_not_computed
from reports.map_layers import (
    _Cut,
)
from reports.map_style import (
    _AREA_PALETTE,
    _BLOCKAGE_TIERS,
    _COLOURS,
    _HYDRANT_STYLE,
    HYDRANT_STATUSES,
    Lang,
)
from reports.present import present_summary
from reports.quality import input_rows, warning_lines
from routing.analysis import Analysis


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

    shown = present_summary(analysis.summary)  # the figures as summary.json prints them
    cov = shown.get("coverage", {})
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
    hyd = analysis.layers.get(LayerName.HYDRANTS_ANALYSIS)
    if hyd is not None:
        used = int((hyd["status"].astype(str) == "in_service").sum())
        lines.append(text["sum.hydrants"].format(n=len(hyd), used=used))
    st = shown.get("stations", {})
    if st.get("used") and st.get("roads_within_limit_pct") is not None:
        lines.append(text["sum.response"].format(
            pct=f"{st['roads_within_limit_pct']:.1f}", limit=f"{st.get('limit_s', 0):.0f}"
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
