"""A building's own fire-water systems: pump connectors and indoor hydrants.

* **Pump connectors** (水泵接合器) let a fire engine feed a building's system. GB 50974 6.1.5
  counts the hydrants 5–40 m (hose-lay) from a connector as its supply (preset
  ``pump_connector_hydrant_band``, a shall): :func:`connector_water` counts them and flags a
  connector with none. GB 50974 5.4.7 wants a hydrant (or pool) 15–40 m from the connector
  (``pump_connector_hydrant_distance``, a should): a connector whose hydrants in the band all lie
  nearer than 15 m is flagged too. GB 50974 5.4.1 wants a connector for every high-rise civil
  building (``pump_connector_required``): :func:`high_rises_without_connector` flags those with
  no connector tied to their footprint — only when the workspace holds any connector at all,
  since an empty layer means "not recorded", not "none built".
* **Indoor hydrants** (室内消火栓): GB 50016 8.2.1 requires them in residential buildings over
  21 m (``indoor_hydrant_residential``): :func:`indoor_hydrants_required` flags those buildings.
  Whether the system is there and working is a fact of a building registry, not of OSM: without
  one it is "not known" (None).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from geo.layers import Layers
from geo.preset_lookup import credited_flow
from geo.presets import Preset
from routing.findings import FINDING_COLUMNS, concat_findings, findings
from routing.graph import StreetGraph
from routing.snap import SnapResult
from routing.water import WaterOptions, building_access, building_water

#: Columns :func:`connector_water` adds to the pump connectors.
CONNECTOR_RESULT_COLUMNS = ("hydrants_in_range", "nearest_hydrant_m", "hydrants_15_40m")


def _hydrants_within(
    layers: Layers, graph: StreetGraph, snaps: SnapResult, preset: Preset, connectors: gpd.GeoDataFrame,
    *, min_m: float, max_m: float, access_distance_m: float,
) -> pd.DataFrame:
    status = layers.hydrants["status"].to_numpy(dtype=object)
    flow = layers.hydrants["flow_lps"].to_numpy(dtype=np.float64)
    access = building_access(graph, connectors.geometry, max_access_m=access_distance_m)
    per, _ = building_water(
        graph, connectors.geometry, access, snaps, layers.hydrants.geometry,
        credited_lps=credited_flow(preset, status, flow),
        options=WaterOptions(radius_m=max_m, min_distance_m=min_m, max_access_m=access_distance_m),
    )
    return per


def connector_water(
    layers: Layers,
    graph: StreetGraph,
    snaps: SnapResult,
    preset: Preset,
    *,
    access_distance_m: float,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Usable hydrants near each pump connector, and the connector findings.

    Columns added: ``hydrants_in_range`` and ``nearest_hydrant_m`` (hose-lay, within
    ``pump_connector_hydrant_band``: 5–40 m, GB 50974 6.1.5) and ``hydrants_15_40m`` (within
    ``pump_connector_hydrant_distance``: 15–40 m, GB 50974 5.4.7; null when the preset lacks the
    rule).
    """
    out = layers.pump_connectors.copy(deep=False)  # copy on write
    if "pump_connector_hydrant_band" not in preset.rules:
        out["hydrants_in_range"] = 0
        out["nearest_hydrant_m"] = np.nan
        out["hydrants_15_40m"] = pd.array([pd.NA] * len(out), dtype="Int64")
        return out, pd.DataFrame(columns=FINDING_COLUMNS)
    band = preset.rule("pump_connector_hydrant_band")
    if len(out):
        per = _hydrants_within(layers, graph, snaps, preset, out, min_m=band.value("min_m"),
                               max_m=band.value("max_m"), access_distance_m=access_distance_m)
        out["hydrants_in_range"] = per["hydrants_in_range"].to_numpy()
        out["nearest_hydrant_m"] = per["nearest_hydrant_m"].to_numpy()
    else:
        out["hydrants_in_range"] = pd.Series(dtype=np.int64)
        out["nearest_hydrant_m"] = pd.Series(dtype=np.float64)
    if "pump_connector_hydrant_distance" in preset.rules and len(out):
        rule = preset.rule("pump_connector_hydrant_distance")
        per = _hydrants_within(layers, graph, snaps, preset, out, min_m=rule.value("min_m"),
                               max_m=rule.value("max_m"), access_distance_m=access_distance_m)
        out["hydrants_15_40m"] = pd.array(per["hydrants_in_range"].to_numpy(), dtype="Int64")
    else:
        out["hydrants_15_40m"] = pd.array([pd.NA] * len(out), dtype="Int64")
    return out, connector_findings(out, preset)


def connector_findings(connectors: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """Per pump connector: no usable hydrant in the 6.1.5 band (shall); else, when every one of
    them is nearer than 5.4.7's minimum, none 15–40 m away (should)."""
    if "pump_connector_hydrant_band" not in preset.rules:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    band = preset.rule("pump_connector_hydrant_band")
    ids = connectors["connector_id"].to_numpy()
    none = connectors["hydrants_in_range"].to_numpy() == 0
    out = [findings(
        "pump_connectors", ids, none, band, values=0.0, limit=band.value("max_m"),
        message="pump connector with no usable hydrant {limit:.0f} m or less away (hose-lay)",
    )]
    if "pump_connector_hydrant_distance" in preset.rules:
        rule = preset.rule("pump_connector_hydrant_distance")
        in_15_40 = connectors["hydrants_15_40m"].to_numpy(dtype=np.float64, na_value=np.nan)
        too_near = ~none & (in_15_40 == 0)
        out.append(findings(
            "pump_connectors", ids, too_near, rule,
            values=connectors["nearest_hydrant_m"].to_numpy(dtype=np.float64),
            limit=rule.value("min_m"),
            message=f"usable hydrants only {{value:.0f}} m away; none {rule.value('min_m'):.0f}–"
                    f"{rule.value('max_m'):.0f} m from the pump connector (hose-lay)",
        ))
    return concat_findings(out)


def connector_summary(connectors: pd.DataFrame) -> dict[str, int | None]:
    """The ``pump_connectors`` summary: how many; with no hydrant in the 6.1.5 band; with none
    15–40 m away (5.4.7; None when the rule was not applied)."""
    far = connectors["hydrants_15_40m"] if "hydrants_15_40m" in connectors else pd.Series(
        [pd.NA] * len(connectors), dtype="Int64")
    applied = bool(len(connectors)) and bool(far.notna().all())
    return {
        "total": len(connectors),
        "without_hydrant_in_band": int((connectors["hydrants_in_range"] == 0).sum()),
        "hydrant_distance_not_met": int((far == 0).sum()) if applied else None,
    }


def high_rises_without_connector(
    buildings: pd.DataFrame, connectors: pd.DataFrame, *, preset: Preset
) -> tuple[np.ndarray, pd.DataFrame, int | None]:
    """GB 50974 5.4.1: high-rises (class 1 or 2) with no pump connector tied to them.

    Returns each building's number of connectors (None for every building when the workspace
    holds no connector: not recorded), the findings (layer ``buildings``) and the count of
    high-rises without one (None when not computed).
    """
    n = len(buildings)
    high = buildings["high_rise_class"].astype(str).isin(["class1", "class2"]).to_numpy()
    if len(connectors) == 0 or "pump_connector_required" not in preset.rules:
        return np.full(n, None, dtype=object), pd.DataFrame(columns=FINDING_COLUMNS), None
    tied = connectors["building_id"].fillna("").astype(str)
    counts = tied[tied != ""].value_counts()
    ids = buildings["building_id"].astype(str)
    per = ids.map(counts).fillna(0).astype(np.int64).to_numpy()
    missing = high & (per == 0)
    rule = preset.rule("pump_connector_required")
    found = findings(
        "buildings", ids.to_numpy(dtype=object), missing, rule, values=0.0, limit=1.0,
        message="high-rise with no pump connector recorded within 15 m of its footprint",
    )
    return per.astype(object), found, int(missing.sum())


def indoor_hydrants_required(buildings: pd.DataFrame, *, preset: Preset) -> np.ndarray:
    """GB 50016 8.2.1: True for residential buildings over the rule's height (21 m), False for
    residential buildings at or below it, None where not known (height unknown, another use, or
    a preset without the rule)."""
    n = len(buildings)
    out = np.full(n, None, dtype=object)
    if "indoor_hydrant_residential" not in preset.rules:
        return out
    limit = preset.rule("indoor_hydrant_residential").value("value_m")
    residential = buildings["use"].astype(str).to_numpy(dtype=object) == "residential"
    height = buildings["height_m"].to_numpy(dtype=np.float64)
    known = residential & np.isfinite(height)
    out[known] = height[known] > limit
    return out
