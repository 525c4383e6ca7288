"""Water mains from the utility's EPANET model (``.inp``), read with WNTR into :class:`geo.mains.Mains`."""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geo._agency_coords import source_crs_of
from geo.errors import InputFileError
from geo.mains import MAINS_COLUMNS, SUPPLY_COLUMNS, Mains, to_working

logger = logging.getLogger(__name__)

__all__ = ["read_inp"]


def read_inp(path: str | Path, *, crs: str, working_crs: pyproj.CRS) -> Mains:
    """Read an EPANET ``.inp`` model: its links as lines, its reservoirs and tanks as supply.

    WNTR converts the model to SI on reading (whatever its ``[OPTIONS] Units``): diameters in
    m (given here in mm), lengths in m, heads in m. ``crs`` is the CRS of the model's
    ``[COORDINATES]`` (an ``.inp`` file does not state it).

    Raises
    ------
    InputFileError
        The file is missing or WNTR cannot read it, or ``crs`` is not a CRS.
    """
    import wntr

    path = Path(path)
    fname = str(path)
    if not path.is_file():
        raise InputFileError(f"{fname}: file not found; check the --network path")
    try:
        model = wntr.network.WaterNetworkModel(str(path))
    except Exception as exc:  # wntr raises plain exceptions of many kinds on a bad file
        raise InputFileError(f"{fname}: not a readable EPANET .inp file ({exc}); export it "
                             "again from EPANET or the utility's modelling tool") from exc
    src = source_crs_of(crs, None, fname=fname, option="--network-crs")
    rows: list[dict[str, Any]] = []
    lines: list[Any] = []
    for name, link in model.links():
        start = model.get_node(link.start_node_name).coordinates
        end = model.get_node(link.end_node_name).coordinates
        pts = [tuple(start), *[tuple(v) for v in getattr(link, "vertices", [])], tuple(end)]
        lines.append(shapely.LineString(pts))
        kind = link.link_type.lower()
        rows.append({
            "pipe_id": str(name), "from_node": str(link.start_node_name),
            "to_node": str(link.end_node_name), "kind": kind,
            "diameter_mm": float(link.diameter) * 1000.0 if kind == "pipe" else math.nan,
            "material": "", "roughness": float(getattr(link, "roughness", math.nan)),
            "status": "closed" if str(getattr(link, "initial_status", "")).lower() == "closed"
            else "open",
            "length_m": float(link.length) if kind == "pipe" else 0.0,
        })
    geoms = to_working(np.array(lines, dtype=object), src, working_crs)
    mains = gpd.GeoDataFrame(pd.DataFrame(rows, columns=list(MAINS_COLUMNS)), geometry=list(geoms),
                             crs=working_crs)
    supply_rows: list[dict[str, Any]] = []
    points: list[Any] = []
    for name, node in [*model.reservoirs(), *model.tanks()]:
        head = (float(node.base_head) if node.node_type == "Reservoir"
                else float(node.elevation) + float(node.init_level))
        supply_rows.append({"supply_id": str(name), "kind": node.node_type.lower(), "head_m": head,
                            "pressure_mpa": math.nan, "node": str(name)})
        points.append(shapely.Point(node.coordinates))
    sup_geoms = to_working(np.array(points, dtype=object), src, working_crs)
    supply = gpd.GeoDataFrame(pd.DataFrame(supply_rows, columns=list(SUPPLY_COLUMNS)),
                              geometry=list(sup_geoms), crs=working_crs)
    logger.info("%s: %d links, %d supply points (EPANET)", fname, len(mains), len(supply))
    return Mains(mains=mains, supply=supply, source=f"epanet:{path.name}", wntr=model)
