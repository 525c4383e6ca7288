"""The named tables of a workspace: every input layer and analysis result, with its titles and ids.

One list for the names the four packages (and the web page) agree on: :class:`LayerName` holds
every table's name (a ``str`` enum, so a member is the name itself wherever a string is expected:
as a dict key, in JSON, in a GeoPackage); :data:`CATALOG` tells for each its Chinese and English
title, which column identifies a feature (the OGC API's feature id) and which column the web map
looks a tiled feature up by. The OGC collections, the vector tiles and the web page (through
``/web/vocabulary.json``) take them from here; the analysis and the live update key their result
layers by the members.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "CATALOG",
    "INPUT_LAYERS",
    "RESULT_LAYERS",
    "LayerInfo",
    "LayerName",
    "catalog_document",
    "feature_ids",
]


class LayerName(StrEnum):
    """The name of every table a workspace holds (inputs, analysis results, findings)."""

    # inputs (geo.layers.Layers.tables)
    ROADS = "roads"
    BARRIERS = "barriers"
    TURNAROUNDS = "turnarounds"
    HYDRANTS = "hydrants"
    BUILDINGS = "buildings"
    STATIONS = "stations"
    WATER_SOURCES = "water_sources"
    PUMP_CONNECTORS = "pump_connectors"
    DISTRICTS = "districts"
    REJECTS = "rejects"
    NOTES = "notes"
    # the ledger's blockages as served
    BLOCKAGES = "blockages"
    # results (routing.analysis.analyze)
    ROADS_ANALYSIS = "roads_analysis"
    COVERAGE_PIECES = "coverage_pieces"
    UNDERSERVED_SEGMENTS = "underserved_segments"
    SPACING_GAPS = "spacing_gaps"
    BUILDINGS_ANALYSIS = "buildings_analysis"
    HYDRANTS_ANALYSIS = "hydrants_analysis"
    BUILDING_HYDRANTS = "building_hydrants"
    STATION_AREAS = "station_areas"
    HIGH_RISE_ACCESS = "high_rise_access"
    DEAD_END_LANES = "dead_end_lanes"
    PUMP_CONNECTORS_ANALYSIS = "pump_connectors_analysis"
    NO_PARKING_ZONES = "no_parking_zones"
    PROPOSED_HYDRANTS = "proposed_hydrants"
    BUDGET_CURVE = "budget_curve"
    BLOCKAGES_RANKED = "blockages_ranked"
    CRITICAL_LANES = "critical_lanes"
    WATER_MAINS = "water_mains"
    WATER_SUPPLY = "water_supply"
    FINDINGS = "findings"


@dataclass(frozen=True)
class LayerInfo:
    """What the catalog knows of one table.

    Attributes
    ----------
    name
        The table's name.
    kind
        ``input`` (read or built from the inputs), ``result`` (an analysis result) or ``ledger``.
    zh, en
        Titles (the OGC collection title is the English one).
    id_column
        A column holding one unique value per feature: the OGC API feature id (None: the
        collection composes ids, or numbers its rows).
    find_by
        The column the web map asks ``/items`` for when it opens a tiled feature's popup
        (tiles of a zoomed-out view carry little more than it); None when it does not.
    """

    name: LayerName
    kind: Literal["input", "result", "ledger"]
    zh: str
    en: str
    id_column: str | None = None
    find_by: str | None = None

    def title(self, lang: Literal["zh", "en"] = "zh") -> str:
        """The title in ``lang``."""
        return self.zh if lang == "zh" else self.en


_N = LayerName
_ENTRIES = (
    LayerInfo(_N.ROADS, "input", "道路", "Street edges", "edge_id"),
    LayerInfo(_N.BARRIERS, "input", "路障", "Barriers on drivable ways", "node_id"),
    LayerInfo(_N.TURNAROUNDS, "input", "回车场", "Turning circles and loops", "node_id"),
    LayerInfo(_N.HYDRANTS, "input", "消火栓", "Fire hydrants", "hydrant_id"),
    LayerInfo(_N.BUILDINGS, "input", "建筑", "Buildings", "building_id"),
    LayerInfo(_N.STATIONS, "input", "消防站", "Fire stations", "station_id"),
    LayerInfo(_N.WATER_SOURCES, "input", "其他消防水源", "Other fire water sources", "source_id"),
    LayerInfo(_N.PUMP_CONNECTORS, "input", "水泵接合器", "Fire department pump connectors"),
    LayerInfo(_N.DISTRICTS, "input", "辖区", "Districts", "district_id"),
    LayerInfo(_N.REJECTS, "input", "未采用的输入", "Input rows not used"),
    LayerInfo(_N.NOTES, "input", "读取说明", "Notes of the readers"),
    LayerInfo(_N.BLOCKAGES, "ledger", "通道堵塞上报", "Reported lane blockages", "blockage_id"),
    LayerInfo(_N.ROADS_ANALYSIS, "result", "道路（分析结果）",
              "Street edges with hydrant coverage, truck passability and response time",
              "edge_id", find_by="edge_id"),
    LayerInfo(_N.COVERAGE_PIECES, "result", "道路覆盖分段",
              "Covered and uncovered pieces of every street edge", find_by="edge_id"),
    LayerInfo(_N.UNDERSERVED_SEGMENTS, "result", "缺水路段",
              "Streets beyond the protection radius of any in-service hydrant", find_by="rank"),
    LayerInfo(_N.SPACING_GAPS, "result", "消火栓间距缺口", "Hydrant spacing gaps along streets"),
    LayerInfo(_N.BUILDINGS_ANALYSIS, "result", "建筑（分析结果）",
              "Buildings with water and access verdicts", "building_id", find_by="building_id"),
    LayerInfo(_N.HYDRANTS_ANALYSIS, "result", "消火栓（分析结果）",
              "Fire hydrants with their snap to the street network", "hydrant_id",
              find_by="hydrant_id"),
    LayerInfo(_N.BUILDING_HYDRANTS, "result", "建筑—消火栓配对",
              "Building–hydrant pairs within the hose-lay distance"),
    LayerInfo(_N.STATION_AREAS, "result", "消防站首到辖区", "First-due areas of the fire stations",
              "station_id", find_by="station_id"),
    LayerInfo(_N.HIGH_RISE_ACCESS, "result", "高层建筑消防车道与登高场地",
              "High-rise fire access compliance", "building_id"),
    LayerInfo(_N.DEAD_END_LANES, "result", "尽头式消防车道", "Dead-end lanes", "end_node_id"),
    LayerInfo(_N.PUMP_CONNECTORS_ANALYSIS, "result", "水泵接合器（分析结果）",
              "Pump connectors with the hydrants in range"),
    LayerInfo(_N.NO_PARKING_ZONES, "result", "禁停区域（消火栓、水泵接合器、消防站门前）",
              "No-parking zones beside hydrants, pump connectors and station gates"),
    LayerInfo(_N.PROPOSED_HYDRANTS, "result", "建议新增消火栓", "Proposed hydrants",
              "candidate_id"),
    LayerInfo(_N.BUDGET_CURVE, "result", "投资—覆盖曲线", "Budget curve of the proposal"),
    LayerInfo(_N.BLOCKAGES_RANKED, "result", "通道堵塞（按影响排序）",
              "Reported lane blockages ranked by their effect", find_by="blockage_id"),
    LayerInfo(_N.CRITICAL_LANES, "result", "关键通道", "Critical lanes (their loss cuts off high-rises)"),
    LayerInfo(_N.WATER_MAINS, "result", "供水管网（含枝状分组）",
              "Water mains with their branch groups", "pipe_id"),
    LayerInfo(_N.WATER_SUPPLY, "result", "供水水源点（水厂/加压站/水塔）",
              "Water supply points (plants, boosters, towers)", "supply_id"),
    LayerInfo(_N.FINDINGS, "result", "问题清单", "Findings against the rules"),
)

#: Every table of a workspace by name, in the order above (inputs, then results).
CATALOG: Mapping[str, LayerInfo] = MappingProxyType({e.name.value: e for e in _ENTRIES})
#: The input tables, in catalog order.
INPUT_LAYERS: tuple[LayerName, ...] = tuple(e.name for e in _ENTRIES if e.kind == "input")
#: The analysis results, in catalog order.
RESULT_LAYERS: tuple[LayerName, ...] = tuple(e.name for e in _ENTRIES if e.kind == "result")


def catalog_document() -> dict[str, dict[str, str | None]]:
    """The catalog as JSON: ``{name: {"zh", "en", "id", "find_by"}}`` (served to the web page)."""
    return {
        name: {"zh": e.zh, "en": e.en, "id": e.id_column, "find_by": e.find_by}
        for name, e in CATALOG.items()
    }


def _piece_ids(frame: pd.DataFrame) -> np.ndarray:
    """``<edge_id>-<k>``: the k-th piece of an edge, in the order the pieces are stored."""
    edge = frame["edge_id"].to_numpy()
    k = frame.groupby("edge_id", sort=False).cumcount().to_numpy()
    return np.array([f"{e}-{i}" for e, i in zip(edge, k, strict=True)], dtype=object)


#: Tables without an id column, and the ids their features go by (the findings', the OGC API's
#: and the district reports' one naming).
_COMPOSED: Mapping[str, Callable[[pd.DataFrame], np.ndarray]] = MappingProxyType({
    _N.UNDERSERVED_SEGMENTS: lambda f: np.array([f"underserved/{r}" for r in f["rank"]], dtype=object),
    _N.SPACING_GAPS: lambda f: np.array([f"gap/{i}" for i in range(len(f))], dtype=object),
    _N.COVERAGE_PIECES: _piece_ids,
})


def feature_ids(name: str, frame: pd.DataFrame) -> np.ndarray:
    """The id of each row of table ``name``, as text: its id column's values, or the ids composed
    for a table without one (``underserved/<rank>``, ``gap/<row>``, ``<edge_id>-<k>``).

    A finding names its feature by this id and the OGC API serves the feature under it, so one
    can be looked up from the other.

    Raises
    ------
    KeyError
        The table has neither an id column nor composed ids, or lacks the columns they are
        made of.
    """
    info = CATALOG.get(str(name))
    if info is not None and info.id_column is not None and info.id_column in frame.columns:
        return frame[info.id_column].astype(str).to_numpy(dtype=object)
    return _COMPOSED[str(name)](frame)
