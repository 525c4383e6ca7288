"""The hydrants layer: OSM hydrants, agency hydrants, and their merge.

Status is normalised to ``in_service``, ``out_of_service``, ``low_pressure`` or ``unknown``.
OSM rarely states a hydrant's condition: an OSM hydrant without a status tag (``disused:*``,
``operational_status``, ``fire_hydrant:status`` ...) gets the preset's status for hydrants with
none (``[hydrant_status] missing``, by default ``in_service``); agency rows with a blank or no
status column get the same (:func:`resolve_missing_status`). The column ``status_source``
records whether the status was tagged (``tag``), given by the agency (``agency``) or assumed
(``assumed``); an explicit ``unknown`` is a stated status, not an assumed one.

An agency hydrant and an OSM hydrant within ``merge_distance_m`` (default 10 m) are one hydrant:
the agency record wins and keeps the OSM id in ``osm_id``.
"""

from __future__ import annotations

import logging
import math
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj

from geo._features import osm_point_features
from geo.errors import ConfigError
from geo.osm import OsmData
from geo.units import parse_float
from geo.vocabulary import HYDRANT_KINDS, HYDRANT_STATUSES

log = logging.getLogger(__name__)

STATUSES = HYDRANT_STATUSES
KINDS = HYDRANT_KINDS

HYDRANT_COLUMNS = [
    "hydrant_id", "kind", "status", "status_source", "diameter_mm", "flow_lps", "pressure_mpa",
    "ref", "name", "source", "source_file", "source_crs", "osm_id",
]

_OUT = frozenset({"out_of_service", "broken", "disused", "defect", "defective", "no", "damaged",
                  "inoperable", "not_operational", "abandoned", "removed"})
_LOW = frozenset({"low_pressure", "restricted", "limited"})
_OK = frozenset({"ok", "operational", "in_service", "yes", "working", "good"})

#: ``status`` of an agency row whose file states none (blank cell or no status column), until
#: :func:`resolve_missing_status` gives it the preset's status for hydrants with none.
STATUS_NOT_STATED = "not_stated"


def _check_missing(missing_status: str) -> None:
    if missing_status not in STATUSES:
        raise ConfigError(
            f"status for hydrants without one is {missing_status!r}; expected one of "
            f"{', '.join(STATUSES)} (preset [hydrant_status] missing)"
        )


def _osm_status(tags: dict[str, str], missing_status: str = "in_service") -> tuple[str, str]:
    if "disused:emergency" in tags or tags.get("disused") == "yes":
        return "out_of_service", "tag"
    for key in ("operational_status", "fire_hydrant:status", "status", "condition"):
        value = tags.get(key, "").lower()
        if value in _OUT:
            return "out_of_service", "tag"
        if value in _LOW:
            return "low_pressure", "tag"
        if value in _OK:
            return "in_service", "tag"
        if value == "unknown":
            return "unknown", "tag"
    return missing_status, "assumed"


def resolve_missing_status(hydrants: gpd.GeoDataFrame, *, missing_status: str) -> gpd.GeoDataFrame:
    """The hydrants (a new frame, index reset) with every unstated status resolved.

    Rows whose status is :data:`STATUS_NOT_STATED` (agency rows with a blank or no status)
    get ``missing_status`` (the preset's ``[hydrant_status] missing``) and
    ``status_source = "assumed"``; the other rows are kept as they are.
    """
    _check_missing(missing_status)
    out = hydrants.reset_index(drop=True)
    status = out["status"].to_numpy(dtype=object)
    absent = status == STATUS_NOT_STATED
    if absent.any():
        out = out.copy()
        out["status"] = np.where(absent, missing_status, status).astype(object)
        out["status_source"] = np.where(
            absent, "assumed", out["status_source"].to_numpy(dtype=object)
        ).astype(object)
        log.info("hydrants: %d of %d without a stated status, taken as %s (assumed)",
                 int(absent.sum()), len(out), missing_status)
    return out


def _kind(value: str) -> str:
    value = value.lower()
    if value in {"pillar", "underground", "wall", "pipe"}:
        return value
    if value in {"pond", "suction"}:
        return "pipe"
    return "unknown"


def diameter_mm(value: object) -> float:
    """Nominal diameter in mm from ``"100"``, ``"DN100"``, ``"100 mm"``, ``"4\""`` or ``"4 in"``."""
    if value is None:
        return math.nan
    text = str(value).strip().lower()
    inches = text.endswith(('"', "in", "inch"))
    number = parse_float("".join(ch for ch in text if ch.isdigit() or ch == "."))
    if math.isnan(number) or number <= 0:
        return math.nan
    return number * 25.4 if inches else number


_LEADING_NUMBER = re.compile(r"^([0-9]+(?:[.,][0-9]+)?)")


def _number_and_unit(raw: str | None) -> tuple[float, str]:
    """The number in a tag value and the value as lower-case text without spaces."""
    if not raw:
        return math.nan, ""
    text = raw.lower().replace(" ", "")
    match = _LEADING_NUMBER.match(text)
    return (parse_float(match.group(1)) if match else math.nan), text


def _flow_lps(tags: dict[str, str]) -> float:
    """``flow_capacity`` in L/s; OSM values may be ``"1500 l/min"``, ``"90 m3/h"`` or a number
    (taken as L/min, the OSM wiki's default unit)."""
    number, text = _number_and_unit(tags.get("flow_capacity") or tags.get("fire_hydrant:flow_capacity"))
    if math.isnan(number):
        return math.nan
    if "m3/h" in text or "m³/h" in text:
        return number / 3.6
    if "l/s" in text:
        return number
    return number / 60.0


def _pressure_mpa(tags: dict[str, str]) -> float:
    number, text = _number_and_unit(tags.get("fire_hydrant:pressure") or tags.get("pressure"))
    if math.isnan(number):
        return math.nan
    if "mpa" in text:
        return number
    if "kpa" in text:
        return number / 1000.0
    if "psi" in text:
        return number * 0.00689476
    return number / 10.0  # OSM's default unit is bar


def osm_hydrants(
    osm: OsmData, *, crs: pyproj.CRS, missing_status: str = "in_service"
) -> gpd.GeoDataFrame:
    """Hydrants tagged in OSM (``emergency=fire_hydrant``, legacy ``amenity=fire_hydrant``,
    and ``disused:emergency=fire_hydrant`` as out of service), in the working CRS.

    A hydrant without a status tag gets ``missing_status`` (the preset's
    ``[hydrant_status] missing``) with ``status_source = "assumed"``. Nodes keep ids
    ``osm/<id>``. Hydrants drawn as a closed way or an area stand at a point on their surface, as
    an open way at its midpoint; their ids are ``osm/w<id>`` (``osm/r<id>``).
    """
    _check_missing(missing_status)
    sel = osm_point_features(
        osm,
        lambda t: t.get("emergency") == "fire_hydrant"
        or t.get("amenity") == "fire_hydrant"
        or t.get("disused:emergency") == "fire_hydrant",
        crs=crs,
    )
    records = []
    for osm_type, osm_id, tags in zip(sel["osm_type"], sel["osm_id"], sel["tags"], strict=True):
        status, status_source = _osm_status(tags, missing_status)
        diameter = diameter_mm(tags.get("fire_hydrant:diameter") or tags.get("diameter"))
        prefix = "" if osm_type == "n" else str(osm_type)
        records.append(
            {
                "hydrant_id": f"osm/{prefix}{int(osm_id)}",
                "kind": _kind(tags.get("fire_hydrant:type", "")),
                "status": status,
                "status_source": status_source,
                "diameter_mm": diameter,
                "flow_lps": _flow_lps(tags),
                "pressure_mpa": _pressure_mpa(tags),
                "ref": tags.get("ref", ""),
                "name": tags.get("name", tags.get("addr:street", "")),
                "source": "osm",
                "source_file": osm.source,
                "source_crs": "EPSG:4326",
                "osm_id": int(osm_id),
            }
        )
    frame = pd.DataFrame(records, columns=HYDRANT_COLUMNS).astype({"osm_id": "Int64"})
    gdf = gpd.GeoDataFrame(frame, geometry=sel.geometry.to_numpy(), crs=crs)
    log.info("hydrants from OSM: %d (%d status tagged, %d assumed %s)", len(gdf),
             int((gdf["status_source"] == "tag").sum()),
             int((gdf["status_source"] == "assumed").sum()), missing_status)
    return gdf


def merge_hydrants(
    osm: gpd.GeoDataFrame,
    agency: gpd.GeoDataFrame | None,
    *,
    merge_distance_m: float = 10.0,
) -> gpd.GeoDataFrame:
    """Merge agency and OSM hydrants: within ``merge_distance_m`` they are one hydrant.

    The agency record wins (its status, flow and id) and gains the OSM hydrant's ``osm_id``;
    an agency record that states no status (:data:`STATUS_NOT_STATED`) takes the status an OSM
    tag gives the same hydrant (``status_source = "tag"``).
    Each OSM hydrant merges into at most one agency record (its nearest), and each agency record
    takes at most one OSM hydrant.
    """
    if agency is None or len(agency) == 0:
        return osm.reset_index(drop=True)
    if osm.crs != agency.crs:
        agency = agency.to_crs(osm.crs)
    agency = agency.reset_index(drop=True).copy()
    if len(osm) == 0:
        return gpd.GeoDataFrame(agency[[*HYDRANT_COLUMNS, "geometry"]], crs=agency.crs)
    pairs = gpd.sjoin_nearest(
        agency[["geometry"]], osm[["geometry"]].reset_index(drop=True),
        how="inner", max_distance=merge_distance_m, distance_col="dist",
    )
    pairs = pairs.reset_index().rename(columns={"index": "agency_idx"})
    pairs = pairs.sort_values(["dist", "agency_idx", "index_right"], kind="stable")
    pairs = pairs.drop_duplicates("agency_idx").drop_duplicates("index_right")
    osm_reset = osm.reset_index(drop=True)
    osm_ids = osm_reset["osm_id"].to_numpy()
    agency["osm_id"] = pd.array([pd.NA] * len(agency), dtype="Int64")
    agency.loc[pairs["agency_idx"].to_numpy(), "osm_id"] = osm_ids[pairs["index_right"].to_numpy()]
    a_idx, o_idx = pairs["agency_idx"].to_numpy(), pairs["index_right"].to_numpy()
    tagged = osm_reset["status_source"].to_numpy(dtype=object)[o_idx] == "tag"
    take = tagged & (agency["status"].to_numpy(dtype=object)[a_idx] == STATUS_NOT_STATED)
    agency.loc[a_idx[take], "status"] = osm_reset["status"].to_numpy(dtype=object)[o_idx[take]]
    agency.loc[a_idx[take], "status_source"] = "tag"
    keep_osm = np.ones(len(osm_reset), dtype=bool)
    keep_osm[pairs["index_right"].to_numpy()] = False
    merged = pd.concat(
        [agency[[*HYDRANT_COLUMNS, "geometry"]], osm_reset.loc[keep_osm, [*HYDRANT_COLUMNS, "geometry"]]],
        ignore_index=True,
    )
    log.info("hydrants: %d agency + %d OSM, %d pairs merged within %.0f m",
             len(agency), len(osm_reset), len(pairs), merge_distance_m)
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=osm.crs)
