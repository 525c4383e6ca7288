"""Static maps and charts for the PDF report (matplotlib, PNG bytes, Chinese labels).

Maps are drawn from the layers alone, in the working CRS (metres), with no basemap tiles: streets
as lines, hydrants and blockages as markers, districts as outlines or grade colours, a scale bar,
a north arrow and "© OpenStreetMap contributors" on every map. Text uses the CJK font shipped in
``reports/fonts`` (:func:`font_path`), with DejaVu Sans as the glyph fallback, so Chinese renders
on a machine without any CJK font. Figures are built with :class:`matplotlib.figure.Figure`
directly: no pyplot, no global backend switch, safe in threads.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import geopandas as gpd
import matplotlib as mpl
import numpy as np
import numpy.typing as npt
import pandas as pd
import shapely
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.path import Path as MplPath

from reports.districts import COST_COLUMNS, GRADES, OUTSIDE_ID, find_column
from reports.i18n import Lang, label

log = logging.getLogger(__name__)

FONT_FILE = Path(__file__).resolve().parent / "fonts" / "wqy-microhei-subset.ttf"
DPI = 200

GRADE_COLOURS = {"severe": "#d7301f", "significant": "#f28e2b", "general": "#8cbf5f"}
UNCOVERED = "#d7301f"
COVERED = "#b8b8b8"
STREET = "#c8c8c8"
HYDRANT_STYLE: dict[str, tuple[str, str]] = {  # status: (colour, marker)
    "in_service": ("#1f6fb4", "o"),
    "low_pressure": ("#f28e2b", "^"),
    "out_of_service": ("#d7301f", "X"),
    "unknown": ("#7f7f7f", "s"),
}
BLOCKAGE_STYLE: dict[str, str] = {
    "reported": "#d7301f", "assigned": "#f28e2b", "rectified": "#e3c214",
    "verified": "#4daf4a", "closed": "#1f6fb4",
}


def font_path() -> Path:
    """The CJK font file shipped with FireReach (subset of WenQuanYi Micro Hei)."""
    return FONT_FILE


@cache
def font_family() -> str:
    """Register the shipped font with matplotlib (once) and return its family name."""
    font_manager.fontManager.addfont(str(FONT_FILE))
    return str(font_manager.FontProperties(fname=str(FONT_FILE)).get_name())


@contextmanager
def _style() -> Iterator[None]:
    with mpl.rc_context(
        {
            "font.family": [font_family(), "DejaVu Sans"],
            "axes.unicode_minus": False,
            "font.size": 9,
            "axes.titlesize": 11,
            "legend.fontsize": 8,
            "legend.frameon": True,
            "legend.framealpha": 0.9,
            "savefig.facecolor": "white",
        }
    ):
        yield


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# Geometry to matplotlib


def _geoms(frame: gpd.GeoDataFrame | gpd.GeoSeries | None) -> npt.NDArray[np.object_]:
    if frame is None or len(frame) == 0:
        return np.empty(0, dtype=object)
    geom = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    arr = np.asarray(geom.to_numpy(), dtype=object)
    return arr[~(shapely.is_missing(arr) | shapely.is_empty(arr))]


#: Vertices per drawn path: Agg rasterises each path in bounded memory, and a city's streets in a
#: few paths instead of one object per street piece.
_PATH_VERTICES = 100_000


def _line_paths(geoms: npt.NDArray[np.object_]) -> list[MplPath]:
    """Every linestring (polygons: every ring) as moves and lines, in paths of about
    :data:`_PATH_VERTICES` vertices, each path cut only where a line starts."""
    if len(geoms) == 0:
        return []
    kind = shapely.get_type_id(geoms)
    polys = np.isin(kind, (3, 6))
    if polys.any():
        geoms = np.concatenate([geoms[~polys], shapely.boundary(geoms[polys])])
    parts = shapely.get_parts(geoms)
    parts = parts[np.isin(shapely.get_type_id(parts), (1, 2))]
    if len(parts) == 0:
        return []
    coords, idx = shapely.get_coordinates(parts, return_index=True)
    starts = np.flatnonzero(np.r_[True, np.diff(idx) != 0])
    codes = np.full(len(coords), MplPath.LINETO, dtype=MplPath.code_type)
    codes[starts] = MplPath.MOVETO
    cuts = starts[np.unique(starts // _PATH_VERTICES, return_index=True)[1]][1:]
    return [MplPath(v, c) for v, c in zip(np.split(coords, cuts), np.split(codes, cuts), strict=True)]


def _draw_lines(ax: Axes, geoms: npt.NDArray[np.object_], *, color: str, width: float, z: float = 1) -> None:
    paths = _line_paths(geoms)
    if paths:
        ax.add_collection(
            PathCollection(paths, facecolors="none", edgecolors=color, linewidths=width, zorder=z,
                           capstyle="round", joinstyle="round"),
            autolim=False,
        )


def _points_xy(frame: gpd.GeoDataFrame | None) -> npt.NDArray[np.float64]:
    g = _geoms(frame)
    if len(g) == 0:
        return np.empty((0, 2))
    pts = shapely.point_on_surface(g)
    return np.asarray(shapely.get_coordinates(pts), dtype=np.float64)


def _extent(*frames: gpd.GeoDataFrame | None) -> tuple[float, float, float, float]:
    geoms = [g for g in (_geoms(f) for f in frames) if len(g)]
    if not geoms:
        return (0.0, 0.0, 1000.0, 1000.0)
    minx, miny, maxx, maxy = (float(v) for v in shapely.total_bounds(np.concatenate(geoms)))
    pad = max(maxx - minx, maxy - miny, 200.0) * 0.03
    return (minx - pad, miny - pad, maxx + pad, maxy + pad)


@dataclass(frozen=True)
class MapFrame:
    """A map's figure and axes with its extent (working CRS, metres)."""

    fig: Figure
    ax: Axes
    extent: tuple[float, float, float, float]


def _map(extent: tuple[float, float, float, float], *, width_in: float, max_height_in: float) -> MapFrame:
    minx, miny, maxx, maxy = extent
    w, h = maxx - minx, maxy - miny
    aspect = h / w if w > 0 else 1.0
    height = min(max(width_in * aspect, 3.0), max_height_in)
    fig = Figure(figsize=(width_in, height), layout="constrained")
    ax = fig.add_subplot()
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_color("#888888")
        side.set_linewidth(0.6)
    return MapFrame(fig, ax, extent)


def _nice_length(target: float) -> float:
    if target <= 0:
        return 100.0
    exp = 10 ** math.floor(math.log10(target))
    for step in (5, 2, 1):
        if step * exp <= target:
            return float(step * exp)
    return float(exp)


def _decorate(m: MapFrame, *, lang: Lang) -> None:
    """Scale bar, north arrow and the OpenStreetMap attribution."""
    ax = m.ax
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    length = _nice_length(w / 5)
    bx, by = x0 + 0.04 * w, y0 + 0.05 * h
    ax.plot([bx, bx + length], [by, by], color="black", linewidth=2.5, solid_capstyle="butt", zorder=20)
    ax.plot([bx, bx], [by - 0.006 * h, by + 0.006 * h], color="black", linewidth=1, zorder=20)
    ax.plot([bx + length] * 2, [by - 0.006 * h, by + 0.006 * h], color="black", linewidth=1, zorder=20)
    text = label("scale_km", lang, n=length / 1000) if length >= 1000 else label("scale_m", lang, n=length)
    ax.text(bx + length / 2, by + 0.015 * h, text, ha="center", va="bottom", fontsize=7.5, zorder=20,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1})
    ax.annotate(
        label("north", lang), xy=(0.95, 0.95), xytext=(0.95, 0.86), xycoords="axes fraction",
        ha="center", va="center", fontsize=9, zorder=20,
        arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 1.2},
    )
    ax.text(0.995, 0.005, label("attribution", lang), transform=ax.transAxes, ha="right", va="bottom",
            fontsize=7, color="#333333", zorder=21,
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1.5})


def _district_outlines(ax: Axes, districts: gpd.GeoDataFrame | None, *, names: bool) -> None:
    if districts is None or len(districts) == 0:
        return
    real = districts.loc[districts["district_id"] != OUTSIDE_ID]
    present = ~(real.geometry.isna() | real.geometry.is_empty).to_numpy()
    real = real.loc[present]
    geoms = _geoms(real)
    _draw_lines(ax, geoms, color="#404040", width=0.6, z=3)
    if names and len(real) <= 60:
        x0, x1 = ax.get_xlim()
        y0, y1 = ax.get_ylim()
        # label the part of each district that is on the map, not the whole district
        visible = shapely.intersection(geoms, shapely.box(x0, y0, x1, y1))
        for name, part in zip(real["name"].astype(str), visible, strict=True):
            if part is None or part.is_empty or part.area < 0.01 * (x1 - x0) * (y1 - y0):
                continue
            pt = shapely.point_on_surface(part)
            ax.text(pt.x, pt.y, name, ha="center", va="center", fontsize=8, color="#202020", zorder=4,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 1.0})


def _legend(ax: Axes, handles: Sequence[Line2D | Patch]) -> None:
    if handles:
        ax.legend(handles=list(handles), loc="upper left", fontsize=7.5)


# ---------------------------------------------------------------------------------------------
# Maps


def coverage_map(
    pieces: gpd.GeoDataFrame,
    *,
    hydrants: gpd.GeoDataFrame | None = None,
    stations: gpd.GeoDataFrame | None = None,
    districts: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    width_in: float = 6.7,
    max_height_in: float = 8.6,
) -> bytes:
    """Coverage gaps: uncovered street pieces red on grey covered streets, hydrants, stations.

    Parameters
    ----------
    pieces
        ``coverage_pieces`` (``covered`` flag per piece).
    hydrants, stations, districts
        Optional context layers.
    lang
        Label language.
    width_in, max_height_in
        Figure size in inches.

    Returns
    -------
    bytes
        A PNG image.
    """
    with _style():
        m = _map(_extent(pieces), width_in=width_in, max_height_in=max_height_in)
        covered = pieces["covered"].to_numpy(dtype=bool) if len(pieces) else np.zeros(0, dtype=bool)
        g = _geoms(pieces) if len(pieces) else np.empty(0, dtype=object)
        _draw_lines(m.ax, g[covered], color=COVERED, width=0.8, z=1)
        _draw_lines(m.ax, g[~covered], color=UNCOVERED, width=1.4, z=2)
        _district_outlines(m.ax, districts, names=True)
        handles: list[Line2D | Patch] = [
            Line2D([], [], color=UNCOVERED, linewidth=2, label=label("legend_uncovered", lang)),
            Line2D([], [], color=COVERED, linewidth=2, label=label("legend_covered", lang)),
        ]
        xy = _points_xy(hydrants)
        if len(xy):
            m.ax.scatter(xy[:, 0], xy[:, 1], s=9, c=HYDRANT_STYLE["in_service"][0], edgecolors="white",
                         linewidths=0.3, zorder=5)
            handles.append(Line2D([], [], color=HYDRANT_STYLE["in_service"][0], marker="o", linestyle="",
                                  markersize=4, label=label("legend_hydrant", lang)))
        sxy = _points_xy(stations)
        if len(sxy):
            m.ax.scatter(sxy[:, 0], sxy[:, 1], s=40, marker="s", c="#7b2d8b", edgecolors="white",
                         linewidths=0.5, zorder=6)
            handles.append(Line2D([], [], color="#7b2d8b", marker="s", linestyle="", markersize=5,
                                  label=label("station", lang)))
        if districts is not None and len(districts):
            handles.append(
                Line2D([], [], color="#404040", linewidth=0.8, label=label("legend_district", lang))
            )
        _legend(m.ax, handles)
        _decorate(m, lang=lang)
        return _png(m.fig)


def hydrant_map(
    roads: gpd.GeoDataFrame,
    hydrants: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    width_in: float = 6.7,
    max_height_in: float = 8.6,
) -> bytes:
    """Hydrants by status (colour and marker shape) on grey streets. Returns PNG bytes."""
    with _style():
        m = _map(_extent(roads), width_in=width_in, max_height_in=max_height_in)
        _draw_lines(m.ax, _geoms(roads), color=STREET, width=0.7)
        _district_outlines(m.ax, districts, names=False)
        status = (
            hydrants["status"].fillna("unknown").astype(str).to_numpy() if len(hydrants)
            else np.empty(0, dtype=object)
        )
        xy = _points_xy(hydrants)
        handles: list[Line2D | Patch] = []
        for s, (colour, marker) in HYDRANT_STYLE.items():
            sel = status == s
            n = int(sel.sum())
            if n == 0:
                continue
            m.ax.scatter(xy[sel, 0], xy[sel, 1], s=18, c=colour, marker=marker, edgecolors="white",
                         linewidths=0.4, zorder=5)
            handles.append(Line2D([], [], color=colour, marker=marker, linestyle="", markersize=5,
                                  label=f"{label(s, lang)} ({n})"))
        _legend(m.ax, handles)
        _decorate(m, lang=lang)
        return _png(m.fig)


def grade_map(
    districts: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame,
    *,
    lang: Lang = "zh",
    width_in: float = 6.7,
    max_height_in: float = 8.6,
) -> bytes:
    """Districts filled by water-shortage grade, streets in grey, names on top. Returns PNG bytes."""
    with _style():
        m = _map(_extent(roads), width_in=width_in, max_height_in=max_height_in)
        real = districts.loc[districts["district_id"] != OUTSIDE_ID]
        geoms = _geoms(real)
        keep = ~(shapely.is_missing(real.geometry.to_numpy()) | shapely.is_empty(real.geometry.to_numpy()))
        grades = real["grade"].astype(str).to_numpy()[keep]
        parts, idx = shapely.get_parts(geoms, return_index=True)
        polys = np.isin(shapely.get_type_id(parts), (3,))
        rings = [np.asarray(shapely.get_coordinates(shapely.get_exterior_ring(p))) for p in parts[polys]]
        colours = [GRADE_COLOURS.get(grades[i], "#dddddd") for i in idx[polys]]
        if rings:
            m.ax.add_collection(PolyCollection(rings, facecolors=colours, edgecolors="none", alpha=0.45,
                                               zorder=0))
        _draw_lines(m.ax, _geoms(roads), color="#8a8a8a", width=0.5, z=1)
        _district_outlines(m.ax, districts, names=True)
        handles: list[Line2D | Patch] = [
            Patch(facecolor=GRADE_COLOURS[g], alpha=0.6,
                  label=f"{label(g, lang)} ({int((grades == g).sum())})")
            for g in GRADES
        ]
        _legend(m.ax, handles)
        _decorate(m, lang=lang)
        return _png(m.fig)


def blockage_map(
    roads: gpd.GeoDataFrame,
    blockages: gpd.GeoDataFrame,
    *,
    impact_column: str | None = None,
    districts: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    width_in: float = 6.7,
    max_height_in: float = 8.6,
) -> bytes:
    """Blockages coloured by status, sized by impact (when given), on grey streets. PNG bytes."""
    with _style():
        m = _map(_extent(roads, blockages), width_in=width_in, max_height_in=max_height_in)
        _draw_lines(m.ax, _geoms(roads), color=STREET, width=0.7)
        _district_outlines(m.ax, districts, names=False)
        xy = _points_xy(blockages)
        status = (
            blockages["status"].fillna("reported").astype(str).to_numpy() if "status" in blockages
            else np.full(len(blockages), "reported", dtype=object)
        )
        if impact_column is not None and len(blockages):
            impact = np.nan_to_num(blockages[impact_column].to_numpy(dtype=np.float64))
            top = impact.max() if impact.max() > 0 else 1.0
            size = 12 + 80 * np.clip(impact / top, 0, 1)
        else:
            size = np.full(len(blockages), 22.0)
        handles: list[Line2D | Patch] = []
        for s, colour in BLOCKAGE_STYLE.items():
            sel = status == s
            if not sel.any():
                continue
            m.ax.scatter(xy[sel, 0], xy[sel, 1], s=size[sel], c=colour, marker="D", edgecolors="black",
                         linewidths=0.3, alpha=0.85, zorder=5)
            handles.append(Line2D([], [], color=colour, marker="D", linestyle="", markersize=5,
                                  label=f"{label(s, lang)} ({int(sel.sum())})"))
        _legend(m.ax, handles)
        _decorate(m, lang=lang)
        return _png(m.fig)


def proposed_map(
    pieces: gpd.GeoDataFrame,
    hydrants: gpd.GeoDataFrame,
    proposed: gpd.GeoDataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    lang: Lang = "zh",
    width_in: float = 6.7,
    max_height_in: float = 8.6,
) -> bytes:
    """Proposed hydrants (stars) over today's gaps (red) and existing hydrants. PNG bytes."""
    with _style():
        m = _map(_extent(pieces, proposed), width_in=width_in, max_height_in=max_height_in)
        covered = pieces["covered"].to_numpy(dtype=bool) if len(pieces) else np.zeros(0, dtype=bool)
        g = _geoms(pieces) if len(pieces) else np.empty(0, dtype=object)
        _draw_lines(m.ax, g[covered], color=COVERED, width=0.7, z=1)
        _draw_lines(m.ax, g[~covered], color=UNCOVERED, width=1.2, z=2)
        _district_outlines(m.ax, districts, names=False)
        hxy = _points_xy(hydrants)
        pxy = _points_xy(proposed)
        handles: list[Line2D | Patch] = [
            Line2D([], [], color=UNCOVERED, linewidth=2, label=label("legend_uncovered", lang)),
        ]
        if len(hxy):
            m.ax.scatter(hxy[:, 0], hxy[:, 1], s=9, c="#1f6fb4", edgecolors="white", linewidths=0.3, zorder=5)
            handles.append(Line2D([], [], color="#1f6fb4", marker="o", linestyle="", markersize=4,
                                  label=f"{label('existing', lang)} ({len(hxy)})"))
        if len(pxy):
            m.ax.scatter(pxy[:, 0], pxy[:, 1], s=70, c="#2ca02c", marker="*", edgecolors="black",
                         linewidths=0.4, zorder=6)
            handles.append(Line2D([], [], color="#2ca02c", marker="*", linestyle="", markersize=8,
                                  label=f"{label('proposed', lang)} ({len(pxy)})"))
        _legend(m.ax, handles)
        _decorate(m, lang=lang)
        return _png(m.fig)


# ---------------------------------------------------------------------------------------------
# Charts


def coverage_chart(
    districts: pd.DataFrame,
    *,
    overall_pct: float | None = None,
    lang: Lang = "zh",
    max_bars: int = 25,
    width_in: float = 6.7,
) -> bytes:
    """Horizontal bars of street coverage per district, least covered on top, coloured by grade.

    Parameters
    ----------
    districts
        The district summary (:func:`reports.districts.aggregate_districts`).
    overall_pct
        The area's coverage (drawn as a dashed line), e.g. ``summary["coverage"]["covered_pct"]``.
    lang
        Label language.
    max_bars
        Only the least covered districts when there are more.
    width_in
        Figure width in inches.

    Returns
    -------
    bytes
        A PNG image.
    """
    d = districts.loc[(districts["street_km"] > 0)].copy()
    d.loc[d["district_id"] == OUTSIDE_ID, "name"] = label("outside_name", lang)
    d = d.sort_values("covered_pct", ascending=True)
    more = len(d) > max_bars
    d = d.head(max_bars).iloc[::-1]
    with _style():
        height = min(max(1.6 + 0.22 * len(d), 2.6), 5.4)  # fits the page at full width
        fig = Figure(figsize=(width_in, height), layout="constrained")
        ax = fig.add_subplot()
        y = np.arange(len(d))
        colours = [GRADE_COLOURS.get(g, "#999999") for g in d["grade"].astype(str)]
        ax.barh(y, d["covered_pct"].to_numpy(dtype=float), color=colours, edgecolor="none", height=0.7)
        ax.set_yticks(y, labels=[str(n) for n in d["name"]], fontsize=8)
        ax.set_xlim(0, 105)
        ax.set_xlabel(label("axis_coverage_pct", lang))
        for yi, v in zip(y.tolist(), d["covered_pct"].to_numpy(dtype=float).tolist(), strict=True):
            ax.text(min(v + 1, 97), yi, f"{v:.0f}%", va="center", fontsize=7.5,
                     bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 0.5})
        handles: list[Line2D | Patch] = [
            Patch(facecolor=GRADE_COLOURS[g], label=label(g, lang)) for g in GRADES
        ]
        if overall_pct is not None:
            ax.axvline(overall_pct, color="#333333", linestyle="--", linewidth=0.9, zorder=0)
            handles.append(Line2D([], [], color="#333333", linestyle="--", linewidth=0.9,
                                  label=label("legend_overall", lang, pct=float(overall_pct))))
        title = label("chart_coverage", lang)
        if more:
            title += " " + label("chart_coverage_more", lang, n=max_bars)
        ax.set_title(title)
        ax.spines[["top", "right"]].set_visible(False)
        ax.legend(handles=handles, loc="lower right", fontsize=7.5)
        return _png(fig)


def budget_points(
    budget_curve: pd.DataFrame, *, covered_km: float | None = None, road_km: float | None = None
) -> pd.DataFrame | None:
    """The budget curve as (cumulative cost in yuan, coverage %) points; ``None`` if it cannot be.

    Parameters
    ----------
    budget_curve
        One row per step. Cost: ``cumulative_cost_cny`` / ``cumulative_cost_yuan`` /
        ``budget_yuan``, else the running sum of a per-step cost (``cost_cny``, ``cost_yuan``).
        Coverage: ``covered_pct`` / ``coverage_pct``, else ``cumulative_m`` (street metres newly
        covered, as :func:`routing.siting.site_hydrants` gives) added to ``covered_km`` over
        ``road_km``; the curve then starts at today's coverage for no cost.
    covered_km, road_km
        Today's covered and total street length (``summary["coverage"]``).

    Returns
    -------
    pandas.DataFrame or None
        ``cost_yuan`` and ``covered_pct``, sorted by cost.
    """
    if len(budget_curve) == 0:
        return None
    cum = find_column(budget_curve, ("cumulative_cost_cny", "cumulative_cost_yuan", "budget_yuan"))
    step = find_column(budget_curve, COST_COLUMNS)
    if cum is not None:
        cost = budget_curve[cum].to_numpy(dtype=np.float64)
    elif step is not None:
        cost = np.cumsum(np.nan_to_num(budget_curve[step].to_numpy(dtype=np.float64)))
    else:
        return None
    pct = find_column(budget_curve, ("covered_pct", "coverage_pct"))
    if pct is not None:
        out = pd.DataFrame({"cost_yuan": cost, "covered_pct": budget_curve[pct].to_numpy(dtype=np.float64)})
    elif "cumulative_m" in budget_curve.columns and covered_km is not None and road_km:
        gained = budget_curve["cumulative_m"].to_numpy(dtype=np.float64)
        gained = np.concatenate([[0.0], gained])
        out = pd.DataFrame({
            "cost_yuan": np.concatenate([[0.0], cost]),
            "covered_pct": 100.0 * (covered_km * 1000.0 + gained) / (road_km * 1000.0),
        })
    else:
        return None
    return out.sort_values("cost_yuan", kind="stable").reset_index(drop=True)


def budget_chart(
    budget_curve: pd.DataFrame,
    *,
    covered_km: float | None = None,
    road_km: float | None = None,
    lang: Lang = "zh",
    width_in: float = 6.7,
) -> bytes | None:
    """Street coverage against cumulative cost (10,000 yuan): what each yuan buys.

    Parameters
    ----------
    budget_curve
        See :func:`budget_points`.
    covered_km, road_km
        Today's covered and total street length, for curves given as metres gained.
    lang
        Label language.
    width_in
        Figure width in inches.

    Returns
    -------
    bytes or None
        A PNG image; ``None`` (and a warning) when the curve lacks a cost or coverage column.
    """
    points = budget_points(budget_curve, covered_km=covered_km, road_km=road_km)
    if points is None:
        log.warning("budget curve needs a cost and a coverage column; got %s", list(budget_curve.columns))
        return None
    x = points["cost_yuan"].to_numpy(dtype=float) / 10_000.0
    y = points["covered_pct"].to_numpy(dtype=float)
    with _style():
        fig = Figure(figsize=(width_in, 3.6), layout="constrained")
        ax = fig.add_subplot()
        ax.plot(x, y, color="#1f6fb4", linewidth=1.8, marker="o", markersize=3.5)
        ax.fill_between(x, y, y.min(), color="#1f6fb4", alpha=0.08)
        ax.set_xlabel(label("axis_cost_10k", lang))
        ax.set_ylabel(label("axis_coverage_pct", lang))
        ax.set_title(label("chart_budget", lang))
        ax.grid(True, color="#e0e0e0", linewidth=0.6)
        ax.spines[["top", "right"]].set_visible(False)
        ax.annotate(f"{y[-1]:.1f}%", xy=(x[-1], y[-1]), xytext=(-6, 6), textcoords="offset points",
                    ha="right", fontsize=8)
        ax.annotate(f"{y[0]:.1f}%", xy=(x[0], y[0]), xytext=(6, -10), textcoords="offset points",
                    ha="left", fontsize=8)
        return _png(fig)
