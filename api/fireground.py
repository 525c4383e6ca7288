"""The fireground supply answer (火场供水) as the CLI and the API give it.

:func:`fireground_point` finds the fire in the working CRS (a WGS84 point or a building, whose
required fire flow comes with it); :func:`fireground_document` plans the trucks with
:func:`routing.fireground.plan_fireground` and returns the JSON answer with a GeoJSON layer of
the hydrants within the search (WGS84). ``firereach fireground`` and ``POST
/analysis/fireground`` both print this document.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.catalog import LayerName
from geo.errors import ConfigError, NotFoundError
from geo.mains import Mains
from geo.presets import Preset
from routing.analysis import Analysis
from routing.fireground import fireground_candidates, plan_fireground, with_model
from routing.hydraulics import hydrant_thresholds

#: The street search around the fire: this many times the hose-lay reach, at least 1,000 m (the
#: relay distances beyond the reach come from it).
SEARCH_FACTOR = 4.0


def fireground_point(
    analysis: Analysis, *, lonlat: tuple[float, float] | None, building: str | None
) -> tuple[shapely.Point, float | None]:
    """The fire point in the working CRS and the required flow (a building's; else None).

    ``lonlat`` is WGS84 (convert GCJ-02 / BD-09 first with :func:`geo.crs.to_wgs84`); a
    ``building`` (``building_id``) gives its representative point and its required fire flow.
    """
    if building is not None:
        b = analysis.layers[LayerName.BUILDINGS_ANALYSIS]
        rows = b.loc[b["building_id"].astype(str) == building]
        if rows.empty:
            raise NotFoundError(f"fireground: building {building!r} is not in the workspace; "
                                "give a building_id from buildings_analysis")
        flow = rows["required_flow_lps"].iloc[0]
        return rows.geometry.iloc[0].representative_point(), (float(flow) if pd.notna(flow) else None)
    if lonlat is None:
        raise ConfigError("fireground: give the fire's lon/lat or a building id")
    pt = gpd.GeoSeries([shapely.Point(*lonlat)], crs="EPSG:4326")
    return pt.to_crs(analysis.graph.crs).iloc[0], None


def fireground_document(
    analysis: Analysis,
    hydrants: gpd.GeoDataFrame,
    preset: Preset,
    *,
    point: shapely.Point,
    required_lps: float | None,
    trucks: int,
    truck_lps: float,
    reach_m: float,
    mains: Mains | None = None,
) -> dict[str, Any]:
    """The plan for ``trucks`` at ``point`` as JSON: plan and naive choice, pressures (with an
    EPANET model in ``mains``), relays, what was assumed and not computed, and ``features``.

    ``hydrants`` is the workspace's hydrants layer (for linking them to the model's junctions).
    """
    hyd = analysis.layers[LayerName.HYDRANTS_ANALYSIS]
    cands = fireground_candidates(analysis.graph, hyd, analysis.hydrant_snaps, point,
                                  search_m=max(SEARCH_FACTOR * reach_m, 1000.0))
    wn = None
    if mains is not None and mains.wntr is not None:
        cands, wn = with_model(cands, hydrants, mains), mains.wntr
    plan = plan_fireground(cands, trucks=trucks, truck_lps=truck_lps, reach_m=reach_m,
                           residual_mpa=hydrant_thresholds(preset).residual_mpa, wn=wn)
    geom = dict(zip(hyd["hydrant_id"].astype(str), hyd.to_crs("EPSG:4326").geometry, strict=True))
    table = plan.candidates.loc[plan.candidates["hose_m"].notna()]
    features = [{"type": "Feature", "geometry": geom[h].__geo_interface__,
                 "properties": {"hydrant_id": h, "hose_m": round(float(d), 1), "status": st,
                                "branch_group": int(g), "role": r,
                                "pressure_mpa": plan.pressures_mpa.get(h)}}
                for h, d, st, g, r in zip(table["hydrant_id"], table["hose_m"], table["status"],
                                          table["group"], table["role"], strict=True)]
    return {
        "model": plan.model, "trucks": trucks, "truck_lps": truck_lps, "reach_m": reach_m,
        "residual_mpa": plan.residual_mpa, "required_flow_lps": required_lps,
        "supplied_lps": plan.supplied_lps, "assigned": plan.assigned,
        "pressures_mpa": plan.pressures_mpa, "naive": plan.naive,
        "naive_pressures_mpa": plan.naive_pressures_mpa,
        "naive_collisions": {str(k): v for k, v in plan.naive_collisions.items()},
        "naive_below_residual": plan.naive_below_residual, "unassigned": plan.unassigned,
        "relay": plan.relay.to_dict("records"), "not_computed": plan.not_computed,
        "assumed": [f"hose-lay reach {reach_m:g} m", f"each truck draws {truck_lps:g} L/s"],
        "features": {"type": "FeatureCollection", "features": features},
    }
