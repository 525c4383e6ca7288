"""The map's layers: each analysis layer as simplified WGS84 GeoJSON with its popup and style.

One builder per layer (streets, gaps, buildings, hydrants, stations, areas, district grades,
blockages, proposals); each takes the map's budget (:class:`_Cut`) and leaves out the least
urgent features first on a big city.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.utilities import JsCode

from geo import vocabulary
from geo.catalog import LayerName
from geo.errors import CRSError, LayerValidationError
from geo.layers import Layers
from reports.budget import OutputBudget
from reports.i18n import label
from reports.map_style import (
    _AREA_PALETTE,
    _BLOCKAGE_TIERS,
    _COLOURS,
    _DECIMALS,
    _HYDRANT_STYLE,
    _SIMPLIFY_AREA_M,
    _SIMPLIFY_M,
    HIGH_RISE_CLASSES,
    HYDRANT_STATUSES,
    Lang,
)
from routing.analysis import Analysis

log = logging.getLogger(__name__)

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
    pieces = _usable(analysis.layers[LayerName.COVERAGE_PIECES])
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
    gaps = _usable(analysis.layers.get(LayerName.UNDERSERVED_SEGMENTS, gpd.GeoDataFrame()))
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
    b = _usable(analysis.layers[LayerName.BUILDINGS_ANALYSIS])
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
    h = _usable(analysis.layers[LayerName.HYDRANTS_ANALYSIS])
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
    a = _usable(analysis.layers.get(LayerName.STATION_AREAS, gpd.GeoDataFrame()))
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
