"""The workspace layers: every input turned into validated GeoDataFrames in one working CRS.

:func:`build_layers` is the one place where OSM data and agency files meet. It picks the working
CRS (automatic UTM or the one the user names), reprojects once, merges agency hydrants with OSM
hydrants, and collects every rejected row in one rejects table.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geo.agency import read_agency_table, read_districts_file, read_status_codes
from geo.buildings import osm_buildings_and_parts
from geo.connectors import osm_connectors
from geo.crs import working_crs
from geo.districts import file_districts, osm_districts
from geo.errors import InputFileError, LayerValidationError
from geo.hydrants import HYDRANT_COLUMNS, merge_hydrants, osm_hydrants, resolve_missing_status
from geo.memory import share_repeated_text
from geo.notes import Note, NoteLevel
from geo.osm import OsmData
from geo.rejects import REJECT_COLUMNS, Reject, rejects_frame
from geo.roads import build_roads
from geo.schema import SCHEMAS, validate_layer
from geo.stations import agency_stations, merge_duplicate_stations, osm_stations
from geo.water import osm_water_sources

log = logging.getLogger(__name__)

LAYER_NAMES = (
    "roads", "barriers", "turnarounds", "hydrants", "buildings", "stations", "water_sources",
    "pump_connectors", "districts",
)


@dataclass(frozen=True)
class LayerOptions:
    """What to read besides the OSM data, and how.

    Attributes
    ----------
    hydrants_file, stations_file, districts_file
        Agency files (CSV, XLSX, GeoJSON, GeoPackage, Shapefile).
    hydrant_crs, station_crs, district_crs
        Source CRS of those files when the file does not say (``gcj02``, ``bd09``, ``EPSG:n``).
    crs
        Working CRS (projected, metres); ``None`` picks the UTM zone of the data.
    missing_status
        Status of a hydrant whose OSM tags or agency row state none (the preset's
        ``[hydrant_status] missing``, :attr:`geo.presets.Preset.hydrant_status`); such hydrants
        get ``status_source = "assumed"``.
    merge_distance_m
        Agency and OSM hydrants closer than this are one hydrant (the agency record wins).
    metres_per_level
        Storey height used when a building has ``building:levels`` but no ``height``.
    study_area_margin_m
        Agency rows farther than this outside the OSM data's extent are rejected.
    hydrant_columns, station_columns
        Canonical field to header of the agency files (``{"id": "编号", "lon": "X坐标"}``),
        as :func:`geo.agency.parse_column_spec` reads ``--hydrant-columns``.
    hydrant_units
        Units of the hydrant file's flow and pressure columns (``{"flow": "gpm"}``).
    hydrant_codes
        A CSV of ``code,status`` mapping the hydrant file's status values
        (:func:`geo.agency.read_status_codes`).
    """

    hydrants_file: Path | None = None
    hydrant_crs: str | None = None
    stations_file: Path | None = None
    station_crs: str | None = None
    districts_file: Path | None = None
    district_crs: str | None = None
    crs: str | None = None
    missing_status: str = "in_service"
    merge_distance_m: float = 10.0
    metres_per_level: float = 3.0
    study_area_margin_m: float = 2000.0
    hydrant_columns: Mapping[str, str] | None = None
    station_columns: Mapping[str, str] | None = None
    hydrant_units: Mapping[str, str] | None = None
    hydrant_codes: Path | None = None


@dataclass(frozen=True)
class Layers:
    """Every layer of a workspace, in one projected working CRS.

    ``notes`` are what the readers guessed or repaired in the inputs (:class:`geo.notes.Note`:
    ``input``, ``level``, ``message``, ``count``, ``column``), for the data-quality section; a
    workspace read back from its GeoPackage has them from its ``notes`` table.
    """

    crs: pyproj.CRS
    roads: gpd.GeoDataFrame
    barriers: gpd.GeoDataFrame
    turnarounds: gpd.GeoDataFrame
    hydrants: gpd.GeoDataFrame
    buildings: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    water_sources: gpd.GeoDataFrame
    pump_connectors: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    rejects: pd.DataFrame
    source: str
    osm_notes: dict[str, int] = field(default_factory=dict)
    notes: tuple[Note, ...] = ()

    def as_dict(self) -> dict[str, gpd.GeoDataFrame]:
        """The layers by name, in :data:`LAYER_NAMES` order."""
        return {name: getattr(self, name) for name in LAYER_NAMES}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Everything a workspace GeoPackage stores of the inputs: the layers, ``rejects`` and
        ``notes`` (:func:`notes_frame`), read back whole by :func:`read_layers`."""
        return {**self.as_dict(), "rejects": self.rejects, "notes": notes_frame(self)}


#: Columns of the ``notes`` table: a reader's note (``kind`` ``note``) or a count of how OSM was
#: tagged (``kind`` ``osm``: ``input`` the key of :attr:`Layers.osm_notes`, ``count`` its value).
NOTE_COLUMNS = ("kind", "input", "level", "message", "count", "column", "label")


def notes_frame(layers: Layers) -> pd.DataFrame:
    """The readers' notes and the OSM tagging counts of ``layers`` as one table."""
    rows = [("note", n.input, n.level, n.message, n.count, n.column, n.label) for n in layers.notes]
    rows += [("osm", k, "info", "", int(v), None, None) for k, v in layers.osm_notes.items()]
    frame = pd.DataFrame(rows, columns=list(NOTE_COLUMNS))
    frame["count"] = frame["count"].astype("Int64")
    return frame.astype({c: object for c in ("kind", "input", "level", "message", "column", "label")})


def _notes_from(frame: pd.DataFrame) -> tuple[tuple[Note, ...], dict[str, int]]:
    """The notes and OSM counts of a ``notes`` table (:func:`notes_frame`)."""
    notes: list[Note] = []
    osm: dict[str, int] = {}
    for r in frame.to_dict("records"):
        count = None if pd.isna(r["count"]) else int(r["count"])
        if r["kind"] == "osm" and count is not None:
            osm[str(r["input"])] = count
        elif r["kind"] == "note":
            column, label = _text_or_none(r["column"]), _text_or_none(r.get("label"))
            level: NoteLevel = "warning" if r["level"] == "warning" else "info"
            notes.append(Note(str(r["input"]), level, str(r["message"]), count, column, label))
    return tuple(notes), osm


def _text_or_none(value: object) -> str | None:
    """A stored text cell, or None when empty or missing (a workspace from before the column)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    return str(value) or None


def _study_area(osm: OsmData, margin_m: float) -> shapely.Polygon:
    """The OSM extent grown by ``margin_m`` (in degrees, approximately), in WGS84."""
    min_lon, min_lat, max_lon, max_lat = osm.bounds
    lat = (min_lat + max_lat) / 2
    dlat = margin_m / 111_320.0
    dlon = margin_m / (111_320.0 * max(np.cos(np.radians(lat)), 0.1))
    return shapely.box(min_lon - dlon, min_lat - dlat, max_lon + dlon, max_lat + dlat)


def _agency_hydrants(
    path: Path, options: LayerOptions, *, study_area: shapely.Polygon, crs: pyproj.CRS
) -> tuple[gpd.GeoDataFrame, list[Reject], list[Note]]:
    codes = read_status_codes(options.hydrant_codes) if options.hydrant_codes is not None else None
    read = read_agency_table(
        path, layer="hydrants", source_crs=options.hydrant_crs,
        columns=options.hydrant_columns, study_area=study_area, units=options.hydrant_units,
        status_codes=codes,
    )
    pts = read.points.to_crs(crs)
    pts["status_source"] = "agency"
    hydrants = gpd.GeoDataFrame(pts[[*HYDRANT_COLUMNS, "geometry"]], crs=crs)
    return hydrants, list(read.rejects), list(read.notes)


def _osm_tagging_notes(*, stations_merged: int, lone_parts: int) -> tuple[Note, ...]:
    """Data-quality notes on how OSM features were tagged."""
    notes: list[Note] = []
    if lone_parts:
        notes.append(Note(
            input="buildings", level="warning", count=lone_parts,
            message=f"{lone_parts} building:part area(s) lie in no building outline and were "
            "taken as buildings of their own", label="lone_building_parts",
        ))
    if stations_merged:
        notes.append(Note(
            input="stations", level="info", count=stations_merged,
            message=f"{stations_merged} fire station(s) mapped twice in OSM (a node and an area, "
            "or two nodes, within 100 m; 250 m with the same name) were merged into one",
        ))
    return tuple(notes)


def build_layers(osm: OsmData, *, options: LayerOptions | None = None) -> Layers:
    """Build every layer from OSM data plus the agency files named in ``options``.

    Parameters
    ----------
    osm
        Raw OSM features (:func:`geo.osm.read_osm` or :func:`geo.online.download_osm`).
    options
        Agency files, source CRSs, working CRS and thresholds.

    Returns
    -------
    Layers
        All layers in the working CRS, validated against :mod:`geo.schema`, and the rejects.
    """
    options = options or LayerOptions()
    min_lon, min_lat, max_lon, max_lat = osm.bounds
    crs = working_crs(
        np.array([min_lon, max_lon]), np.array([min_lat, max_lat]), crs=options.crs
    )
    log.info("working CRS: %s", crs.to_string())
    rejects: list[Reject] = [
        Reject(layer=str(r.layer), file=osm.source, row=None, column=None,
               feature_id=str(r.feature_id), reason=str(r.reason), value=str(r.name) or None)
        for r in osm.unusable.itertuples(index=False)
    ]
    study_area = _study_area(osm, options.study_area_margin_m)
    notes: list[Note] = []

    roads, barriers, turnarounds = build_roads(osm, crs=crs)
    hydrants = osm_hydrants(osm, crs=crs, missing_status=options.missing_status)
    if options.hydrants_file is not None:
        agency, agency_rejects, agency_notes = _agency_hydrants(
            Path(options.hydrants_file), options, study_area=study_area, crs=crs
        )
        rejects.extend(agency_rejects)
        notes.extend(agency_notes)
        hydrants = merge_hydrants(hydrants, agency, merge_distance_m=options.merge_distance_m)
    buildings, lone_parts = osm_buildings_and_parts(
        osm, crs=crs, metres_per_level=options.metres_per_level
    )
    if options.stations_file is not None:
        read = read_agency_table(
            Path(options.stations_file), layer="stations", source_crs=options.station_crs,
            columns=options.station_columns, study_area=study_area,
        )
        rejects.extend(read.rejects)
        notes.extend(read.notes)
        stations = agency_stations(read.points, crs=crs)
        stations_merged = 0
    else:
        stations, stations_merged = merge_duplicate_stations(osm_stations(osm, crs=crs))
    water = osm_water_sources(osm, crs=crs)
    connectors = osm_connectors(osm, crs=crs, buildings=buildings)
    if options.districts_file is not None:
        districts = file_districts(
            read_districts_file(Path(options.districts_file), source_crs=options.district_crs),
            crs=crs,
        )
    else:
        districts = osm_districts(osm, crs=crs)

    layers = Layers(
        crs=crs,
        # the big tables' repeated texts held once (-300 MB at 1M edges, 400,000 buildings)
        roads=share_repeated_text(roads),
        barriers=barriers,
        turnarounds=turnarounds,
        hydrants=share_repeated_text(
            resolve_missing_status(hydrants, missing_status=options.missing_status)
        ),
        buildings=share_repeated_text(buildings),
        stations=stations,
        water_sources=water,
        pump_connectors=connectors,
        districts=districts,
        rejects=rejects_frame(rejects) if rejects else pd.DataFrame(columns=REJECT_COLUMNS),
        source=osm.source,
        osm_notes={
            "way_nodes_outside_file": osm.way_nodes_missing,
            "ways_outside_file": osm.ways_dropped,
            "station_duplicates_merged": stations_merged,
            "building_parts_without_outline": lone_parts,
        },
        notes=(*notes, *_osm_tagging_notes(stations_merged=stations_merged, lone_parts=lone_parts)),
    )
    for name, gdf in layers.as_dict().items():
        validate_layer(gdf, name=name)
    return layers


def _restore(frame: gpd.GeoDataFrame, name: str, crs: pyproj.CRS) -> gpd.GeoDataFrame:
    """Give a layer read back from a GeoPackage the dtypes of its schema."""
    out = frame.copy()
    for col in SCHEMAS[name]:
        if col.name not in out:
            raise LayerValidationError(
                f"layer {name!r} in the workspace lacks column {col.name!r}; rebuild it with "
                "firereach analyze"
            )
        if col.dtype == "str":
            out[col.name] = out[col.name].astype(object).where(out[col.name].notna(), "").astype(str)
        elif col.dtype == "float":
            out[col.name] = pd.to_numeric(out[col.name], errors="coerce").astype("float64")
        elif col.dtype in ("int64", "Int64"):
            out[col.name] = pd.to_numeric(out[col.name], errors="coerce").astype(col.dtype)
        elif col.dtype == "bool":
            out[col.name] = out[col.name].fillna(False).astype(bool)
    return gpd.GeoDataFrame(out, geometry=out.geometry.name, crs=crs)


def read_layers(path: Path) -> Layers:
    """Read the layers of a workspace GeoPackage (written by ``firereach layers/analyze``).

    Raises
    ------
    InputFileError
        If the file is missing or lacks a layer.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(
            f"workspace GeoPackage {str(path)!r} not found; run firereach analyze --out DIR first"
        )
    present = {str(n) for n, _ in pyogrio.list_layers(path)}
    missing = [n for n in LAYER_NAMES if n not in present]
    if missing:
        raise InputFileError(f"workspace {str(path)!r} lacks layers {missing}; rebuild it")
    frames = {n: pyogrio.read_dataframe(path, layer=n) for n in LAYER_NAMES}
    crs = frames["roads"].crs
    if crs is None:
        raise InputFileError(f"workspace {str(path)!r} has no CRS on its roads layer")
    crs = pyproj.CRS.from_user_input(crs)
    restored = {n: _restore(f, n, crs) for n, f in frames.items()}
    rejects = pd.DataFrame(columns=REJECT_COLUMNS)
    if "rejects" in present:
        rejects = pyogrio.read_dataframe(path, layer="rejects", read_geometry=False)
    notes: tuple[Note, ...] = ()
    osm_notes: dict[str, int] = {}
    if "notes" in present:  # workspaces written before the notes table have none
        notes, osm_notes = _notes_from(pyogrio.read_dataframe(path, layer="notes", read_geometry=False))
    log.info("workspace %s: %d road edges, %d hydrants, %d buildings",
             path, len(restored["roads"]), len(restored["hydrants"]), len(restored["buildings"]))
    return Layers(crs=crs, rejects=rejects, source=str(path), osm_notes=osm_notes, notes=notes,
                  **restored)


#: ``status_source`` values and their ``hydrants.*`` count keys in :func:`layer_counts`.
STATUS_SOURCE_KEYS: dict[str, str] = {
    "assumed": "status_assumed", "tag": "status_tagged", "agency": "status_from_agency",
    "inspection": "status_from_inspection",
}


def _status_sources(h: pd.DataFrame) -> dict[str, int]:
    """Hydrants by where their status came from (assumed by the preset's rule, OSM tag, agency
    file, inspection); zeros when the layer has no ``status_source``."""
    source = h["status_source"] if "status_source" in h else pd.Series([], dtype=object)
    counts = source.astype(str).value_counts()
    return {key: int(counts.get(value, 0)) for value, key in STATUS_SOURCE_KEYS.items()}


def layer_counts(layers: Layers) -> dict[str, dict[str, float | int]]:
    """The layer counts of ``summary.json`` (keys are stable; see the README)."""
    b = layers.buildings
    h = layers.hydrants
    status = h["status"].value_counts()
    hr = b["high_rise_class"].value_counts()
    return {
        "roads": {
            "edges": len(layers.roads),
            "km": round(float(layers.roads["length_m"].sum()) / 1000.0, 3),
            "width_tagged": int((layers.roads["width_source"] != "estimated").sum()),
        },
        "barriers": {"total": len(layers.barriers)},
        "hydrants": {
            "total": len(h),
            "in_service": int(status.get("in_service", 0)),
            "out_of_service": int(status.get("out_of_service", 0)),
            "low_pressure": int(status.get("low_pressure", 0)),
            "unknown": int(status.get("unknown", 0)),
            "from_agency": int((h["source"] == "agency").sum()),
            "from_osm": int((h["source"] == "osm").sum()),
            **_status_sources(h),
        },
        "buildings": {
            "total": len(b),
            "high_rise": int(hr.get("class1", 0) + hr.get("class2", 0)),
            "high_rise_class1": int(hr.get("class1", 0)),
            "high_rise_class2": int(hr.get("class2", 0)),
            "height_unknown": int((b["height_source"] == "unknown").sum()),
        },
        "stations": {
            "total": len(layers.stations),
            # only when known: a workspace read back from a GeoPackage has no OSM notes
            **({"merged_duplicates": int(layers.osm_notes["station_duplicates_merged"])}
               if "station_duplicates_merged" in layers.osm_notes else {}),
        },
        "water_sources": {"total": len(layers.water_sources)},
        "pump_connectors": {"total": len(layers.pump_connectors)},
        "districts": {"total": len(layers.districts)},
        "rejects": {"total": len(layers.rejects)},
    }
