"""Downloads: the layers as one GeoPackage, any layer as CSV, the XLSX and PDF reports.

``?district=NAME`` keeps the features that intersect one report unit of
:func:`reports.districts.district_summary` (an administrative district, else a grid square such
as ``B2``; see ``/analysis/districts``), on every download: the reports are then that unit's
own (its figures, tables and maps); an unknown name answers 404 with the valid names. The
GeoPackage is in the workspace's working CRS (metres,
as ``firereach analyze`` writes it); CSV files are UTF-8 with BOM (Excel shows Chinese text) with
the geometry as WGS84 WKT (points also as ``lon``/``lat``).
"""

from __future__ import annotations

import io
import logging
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse

from api import ogc, visibility
from api.auth import Principal
from api.deps import WorkspaceDep
from api.workspace import Workspace
from geo.catalog import LayerName
from geo.errors import ConfigError, NotFoundError
from reports.export import spreadsheet_safe, write_geopackage

log = logging.getLogger(__name__)

router = APIRouter(
    prefix="/downloads", tags=["downloads"], dependencies=[Depends(visibility.READER)]
)
ReaderDep = Annotated[Principal, Depends(visibility.READER)]

GPKG = "application/geopackage+sqlite3"
CSV = "text/csv; charset=utf-8"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PDF = "application/pdf"
#: Tables without geometry offered as CSV besides the collections.
TABLES = ("findings", LayerName.BUILDING_HYDRANTS, "rejects")
_ERRORS = ogc.error_responses(400, 401, 403, 404, 422)

DistrictQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=200, description="name of a report unit (see /analysis/districts)"),
]


class DownloadFiles:
    """Files made for download, one folder per app; each built once per analysis and version.

    Entries are keyed by the identity of the analysis they were made from (checked through a weak
    reference, so a new analysis that reuses an old one's ``id`` is not mistaken for it); the
    folders of analyses that are gone (replaced by a live update) are removed.
    """

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="firereach-downloads-"))
        # removed when the app (and with it this object) goes, or at exit
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.root, ignore_errors=True)
        self._lock = threading.Lock()  # the table below, never held while building
        self._made: dict[tuple[str, int, int], tuple[weakref.ref[Any], Path]] = {}
        self._building: dict[tuple[str, int, int], threading.Lock] = {}

    def _ready(self, key: tuple[str, int, int], owner: object) -> Path | None:
        made = self._made.get(key)
        return made[1] if made is not None and made[0]() is owner and made[1].exists() else None

    def get(self, name: str, owner: object, version: int, build: Callable[[Path], Path]) -> Path:
        """The file ``name`` for this analysis (``owner``) and version, built by ``build(folder)``.

        One build per file at a time (a second caller waits for it, then reads it); files of
        other names, versions or audiences build at the same time, not one after the other.
        """
        key = (name, id(owner), version)
        with self._lock:
            self._purge()
            path = self._ready(key, owner)
            if path is not None:
                return path
            gate = self._building.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                path = self._ready(key, owner)
                if path is not None:
                    return path
                folder = self.root / f"{id(owner):x}-{version}"
                folder.mkdir(parents=True, exist_ok=True)
            try:
                path = build(folder)
                with self._lock:
                    self._made[key] = (weakref.ref(owner), path)
                return path
            finally:
                with self._lock:
                    self._building.pop(key, None)

    def _purge(self) -> None:
        dead = [k for k, (ref, _) in self._made.items() if ref() is None]
        for k in dead:
            _, path = self._made.pop(k)
            shutil.rmtree(path.parent, ignore_errors=True)


def _files(request: Request) -> DownloadFiles:
    files: DownloadFiles = ogc.app_cache(request.app.state, "download_files", DownloadFiles)
    return files


def _attachment(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{name}"'}


def _units(ws: Workspace, request: Request) -> gpd.GeoDataFrame:
    from api.routers.analysis import _memo, district_table

    now = ws.snapshot()
    layers, analysis, version = now.layers, now.analysis, now.version
    table: gpd.GeoDataFrame = _memo(request, "districts", "districts", analysis, version,
                                    lambda: district_table(layers, analysis))
    return table


def district_polygon(units: gpd.GeoDataFrame, name: str) -> shapely.Geometry:
    """The polygon of the report unit called ``name`` (or with that ``district_id``), in its CRS.

    Raises
    ------
    NotFoundError
        No unit has that name; the message lists the names.
    """
    names = units["name"].astype(str)
    hit = units.loc[(names == name) | (units["district_id"].astype(str) == name)]
    hit = hit.loc[~(hit.geometry.isna() | hit.geometry.is_empty)]
    if len(hit) == 0:
        known = sorted(set(names[~(units.geometry.isna() | units.geometry.is_empty)]))
        raise NotFoundError(
            f"no district {name!r}; districts: {', '.join(known[:60])}{' ...' if len(known) > 60 else ''}"
        )
    return shapely.union_all(np.asarray(hit.geometry.array))


def filter_tables(
    tables: Mapping[str, pd.DataFrame], polygon: shapely.Geometry, crs: object
) -> dict[str, pd.DataFrame]:
    """The features of each GeoDataFrame that intersect ``polygon`` (in ``crs``); the findings of
    kept features; other tables whole."""
    out: dict[str, pd.DataFrame] = {}
    kept_ids: set[str] = set()
    for name, frame in tables.items():
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
            same = frame.crs == crs
            geoms = np.asarray((frame if same else frame.to_crs(crs)).geometry.array)
            keep = shapely.intersects(geoms, polygon)
            sub = frame.loc[keep]
            out[name] = sub
            ids, _ = ogc.feature_ids(name, frame)
            kept_ids.update(str(i) for i in ids[keep])
    for name, frame in tables.items():
        if name in out:
            continue
        if "feature_id" in frame.columns:
            out[name] = frame.loc[frame["feature_id"].astype(str).isin(kept_ids)]
        elif "building_id" in frame.columns:
            out[name] = frame.loc[frame["building_id"].astype(str).isin(kept_ids)]
        else:
            out[name] = frame
    return out


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """A table as UTF-8 CSV with BOM; geometry as WGS84 WKT, points also as lon/lat.

    Text that would start a spreadsheet formula is quoted with ``'``
    (:func:`reports.export.spreadsheet_safe`, as the ledger's export); numbers stay numbers.
    """
    table = pd.DataFrame(frame)
    if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
        wgs = frame.geometry.to_crs("EPSG:4326") if frame.crs is not None else frame.geometry
        geoms = np.asarray(wgs.array)
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        points = shapely.get_type_id(geoms) == shapely.GeometryType.POINT
        if len(geoms) and points.all():
            table["lon"] = np.round(shapely.get_x(geoms), 7)
            table["lat"] = np.round(shapely.get_y(geoms), 7)
        table["geometry_wkt"] = shapely.to_wkt(geoms, rounding_precision=7)
    buf = io.StringIO()
    spreadsheet_safe(table, keep=("geometry_wkt",)).to_csv(buf, index=False)
    return buf.getvalue().encode("utf-8-sig")


@router.get(
    "/layers.gpkg", summary="All layers and results as one GeoPackage",
    response_class=FileResponse,
    responses={200: {"content": {GPKG: {"schema": {"type": "string", "format": "binary"}}}}, **_ERRORS},
)
def layers_gpkg(
    ws: WorkspaceDep, request: Request, who: ReaderDep, district: DistrictQuery = None
) -> FileResponse:
    """Every layer, result layer and table (findings, rejects) in the working CRS, with the
    columns the caller may see (:mod:`api.visibility`): one file per audience, built once per
    analysis and version."""
    now = ws.snapshot()
    analysis, version, crs = now.analysis, now.version, now.layers.crs
    tables = {**now.layers.tables(), **analysis.layers, "findings": analysis.findings}
    name = "layers.gpkg"
    if district is not None:
        polygon = district_polygon(_units(ws, request).to_crs(crs), district)
        tables = filter_tables(tables, polygon, crs)
        name = f"layers-{_safe(district)}.gpkg"

    def build(folder: Path) -> Path:
        seen = {layer: visibility.redact(layer, frame, who) for layer, frame in tables.items()}
        return write_geopackage(seen, folder / name)

    path = _files(request).get(f"gpkg:{visibility.audience(who)}:{district}", analysis, version, build)
    return FileResponse(path, media_type=GPKG, filename=name)


@router.get(
    "/report.xlsx", summary="Finance workbook (XLSX)", response_class=FileResponse,
    responses={200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}}, **_ERRORS},
)
def report_xlsx(
    ws: WorkspaceDep, request: Request, who: ReaderDep, district: DistrictQuery = None
) -> FileResponse:
    """``report.xlsx`` of the workspace folder, else made from the served analysis; with
    ``district``, the report of that one unit."""
    path = _report(ws, request, who, "report.xlsx", district)
    return FileResponse(path, media_type=XLSX, filename=path.name)


@router.get(
    "/report.pdf", summary="Report (PDF)", response_class=FileResponse,
    responses={200: {"content": {PDF: {"schema": {"type": "string", "format": "binary"}}}}, **_ERRORS},
)
def report_pdf(
    ws: WorkspaceDep, request: Request, who: ReaderDep, district: DistrictQuery = None
) -> FileResponse:
    """``report.pdf`` of the workspace folder, else made from the served analysis; with
    ``district``, the report of that one unit."""
    path = _report(ws, request, who, "report.pdf", district)
    return FileResponse(path, media_type=PDF, filename=path.name)


@router.get(
    "/{layer}.csv", summary="One layer or table as CSV",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}, **_ERRORS},
)
def layer_csv(
    ws: WorkspaceDep,
    request: Request,
    who: ReaderDep,
    layer: Annotated[str, PathParam(description="a collection (see /ogc/collections) or findings, "
                                                "building_hydrants, rejects", max_length=100)],
    district: DistrictQuery = None,
) -> Response:
    """A collection or a result table as CSV, optionally only one district's features."""
    now = ws.snapshot()
    collections = dict(now.collections)
    tables = {"findings": now.analysis.findings, "rejects": now.layers.rejects,
              LayerName.BUILDING_HYDRANTS: now.analysis.layers[LayerName.BUILDING_HYDRANTS]}
    if layer not in collections and layer not in tables:
        known = sorted([*collections, *tables])
        raise NotFoundError(f"no layer {layer!r}; layers: {', '.join(known)}")
    frame = collections[layer] if layer in collections else tables[layer]
    if district is not None:
        polygon = district_polygon(_units(ws, request).to_crs("EPSG:4326"), district)
        if layer in collections:
            frame = filter_tables({layer: frame}, polygon, "EPSG:4326")[layer]
        elif layer in ("findings", LayerName.BUILDING_HYDRANTS):
            frame = filter_tables({**collections, layer: frame}, polygon, "EPSG:4326")[layer]
        else:
            raise ConfigError(f"table {layer!r} has no geometry: it cannot be filtered by district")
    frame = visibility.redact(layer, frame, who)
    suffix = "" if district is None else "-" + _safe(district)
    return Response(csv_bytes(frame), media_type=CSV, headers=_attachment(f"{layer}{suffix}.csv"))


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def _report(
    ws: Workspace, request: Request, who: Principal, filename: str, district: str | None = None
) -> Path:
    now = ws.snapshot()
    layers, analysis, version, folder = now.layers, now.analysis, now.version, ws.path
    if district is not None:
        district_polygon(_units(ws, request), district)  # 404 naming the valid units
    existing = Path(folder) / filename
    # the workspace's own report may list its reporters: a keyed caller's; the public gets one
    # made with the columns it may see (api.visibility)
    if district is None and existing.is_file() and who.role is not None:
        return existing
    try:
        from reports.build import build_reports
    except ImportError:  # pragma: no cover - reports are part of the package
        raise NotFoundError(
            f"{filename} is not in the workspace folder and the reports package is not installed; "
            "run firereach analyze with reports"
        ) from None

    def named(name: str) -> str:  # one file name per district, as the GeoPackage and the CSV
        return name if district is None else f"{Path(name).stem}-{_safe(district)}{Path(name).suffix}"

    ranked = analysis.layers.get(LayerName.BLOCKAGES_RANKED)

    def build(folder: Path) -> Path:
        out = folder / ("reports" if district is None else f"reports-{_safe(district)}")
        build_reports(
            layers, analysis, out_dir=out, district=district,
            blockages=None if ranked is None else visibility.redact(LayerName.BLOCKAGES_RANKED, ranked, who),
            proposed=analysis.layers.get(LayerName.PROPOSED_HYDRANTS),
            budget_curve=analysis.layers.get(LayerName.BUDGET_CURVE),
        )
        for made in ("report.xlsx", "report.pdf"):
            (out / made).replace(out / named(made))
        return out

    seer = visibility.audience(who)
    path = _files(request).get(f"reports:{seer}:{district}", analysis, version, build) / named(filename)
    if not path.is_file():
        raise NotFoundError(f"{filename} could not be made from the served analysis")
    return path
