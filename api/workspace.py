"""The served workspace: layers, graphs and results, loaded once at start-up.

A workspace is the output folder of ``firereach analyze`` (its ``layers.gpkg``) plus the live
state kept in its store (``firereach.db``: hydrant inspections, the blockage ledger). At start-up
the layers are read back, each hydrant's latest stored inspection is applied to the hydrants
table, the network analysis is run once with the configured preset on that table and on the
blockage reports (the ones the workspace was analysed with plus the ledger's active items), and
every collection is reprojected to WGS84 once for serving (the API speaks WGS84; analysis stays
in metres). A restart therefore serves exactly what a full analysis of the current state gives.
Scenario requests derive new results from the loaded graphs without touching them; live updates
(:mod:`api.live`) swap new objects in with :meth:`Workspace.swap`.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from api import state_cache
from api.pipeline import split_step
from api.settings import Settings
from api.store import Blockage, HydrantState
from geo.agency import BLOCKAGE_COLUMNS
from geo.catalog import LayerName
from geo.layers import Layers, read_layers
from geo.mains import read_stored_mains
from geo.presets import Preset, load_preset
from routing.analysis import Analysis, AnalysisOptions, analyze

log = logging.getLogger(__name__)


#: ``status_source`` of a hydrant whose status came from an inspection event.
INSPECTION = "inspection"
#: Ledger statuses whose items are ranked with the workspace's own reports. ``rectified`` and
#: ``verified`` items are kept (shown with effect 'none' until they are closed); closed, rejected
#: and duplicate items are history.
ACTIVE_LEDGER_STATUSES = ("reported", "assigned", "rectified", "verified")
#: ``blockage_id`` prefix of ledger items among the blockage reports (``ledger/12``).
LEDGER_PREFIX = "ledger/"


@dataclass(frozen=True)
class Snapshot:
    """The served state at one moment (:meth:`Workspace.snapshot`): what one request reads,
    never a mix of two live updates. Its parts are never changed in place (an update swaps new
    ones in), so holding it needs no lock."""

    layers: Layers
    analysis: Analysis
    collections: Mapping[str, gpd.GeoDataFrame]
    reports: gpd.GeoDataFrame | None
    version: int


@dataclass
class Workspace:
    """Everything the API serves.

    The state API: readers take a :meth:`snapshot`; a writer (hydrant update, ledger ranking,
    siting refresh) takes its turn with :meth:`writing`, computes from the snapshot it is given
    without holding the read lock, and :meth:`swap` s the result in. Readers never wait for a
    computation (seconds on a million-edge city) and writers follow one another in order.
    ``version`` counts the swaps (every cache of the serving side keys on it). ``reports`` are
    the blockage reports the workspace was analysed with (working CRS, report columns only).
    """

    path: Path
    layers: Layers
    preset: Preset
    options: AnalysisOptions
    analysis: Analysis
    collections: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    reports: gpd.GeoDataFrame | None = None
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)
    write_lock: threading.RLock = field(default_factory=threading.RLock)

    def snapshot(self) -> Snapshot:
        """The served state as it is now."""
        with self.lock:
            return Snapshot(self.layers, self.analysis, self.collections, self.reports, self.version)

    @contextmanager
    def writing(self) -> Iterator[Snapshot]:
        """This writer's turn (one at a time, in order): the state when the turn comes; swap the
        result in with :meth:`swap` before leaving."""
        with self.write_lock:
            yield self.snapshot()

    def collection(self, name: str) -> gpd.GeoDataFrame:
        """A collection in WGS84 (KeyError when unknown)."""
        return self.collections[name]

    def swap(
        self,
        *,
        layers: Layers | None = None,
        analysis: Analysis | None = None,
        collections: dict[str, gpd.GeoDataFrame] | None = None,
    ) -> int:
        """Replace the given parts together (under the lock) and bump ``version``; returns it."""
        with self.lock:
            if layers is not None:
                self.layers = layers
            if analysis is not None:
                self.analysis = analysis
            if collections is not None:
                self.collections = collections
            self.version += 1
            return self.version


def hydrants_with_states(
    hydrants: gpd.GeoDataFrame, states: Mapping[str, HydrantState]
) -> tuple[gpd.GeoDataFrame, np.ndarray, tuple[str, ...]]:
    """A copy of ``hydrants`` with the given current states applied.

    Returns
    -------
    hydrants, rows, unknown
        The new frame (``status_source`` 'inspection' where a state applies), the rows whose
        record changed, and the ids of states for hydrants not in the frame.
    """
    ids = hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)
    index = pd.Index(ids)
    wanted = list(states)
    pos = index.get_indexer(wanted) if wanted else np.empty(0, dtype=np.int64)
    unknown = tuple(h for h, p in zip(wanted, pos, strict=True) if p < 0)
    out = hydrants.copy()
    rows = pos[pos >= 0]
    found = [states[h] for h, p in zip(wanted, pos, strict=True) if p >= 0]
    status = out["status"].to_numpy(dtype=object).copy()
    pressure = out["pressure_mpa"].to_numpy(dtype=np.float64).copy()
    source = (
        out["status_source"].to_numpy(dtype=object).copy()
        if "status_source" in out else np.full(len(out), "", dtype=object)
    )
    new_status = np.array([s.status for s in found], dtype=object)
    new_pressure = np.array(
        [np.nan if s.pressure_mpa is None else s.pressure_mpa for s in found], dtype=np.float64
    )
    new_pressure = np.where(np.isnan(new_pressure), pressure[rows], new_pressure)
    differs = (
        (status[rows] != new_status)
        | ~((pressure[rows] == new_pressure) | (np.isnan(pressure[rows]) & np.isnan(new_pressure)))
        | (source[rows] != INSPECTION)
    )
    status[rows] = new_status
    pressure[rows] = new_pressure
    source[rows] = INSPECTION
    out["status"] = status
    out["pressure_mpa"] = pressure
    out["status_source"] = source
    return out, np.sort(rows[differs]), unknown


def ledger_reports(items: Sequence[Blockage]) -> gpd.GeoDataFrame:
    """Ledger items as blockage reports (the columns of ``geo.agency``'s blockages layer, WGS84).

    ``blockage_id`` is ``ledger/<id>``; ``name`` carries the item's note, ``source`` is 'ledger'.
    """
    frame = pd.DataFrame(
        {
            "blockage_id": [f"{LEDGER_PREFIX}{b.blockage_id}" for b in items],
            "kind": [b.kind for b in items],
            "status": [b.status for b in items],
            "reported_at": pd.to_datetime(
                [b.reported_at.replace(tzinfo=None) for b in items]
            ).astype("datetime64[ms]"),
            "reporter": [b.reporter for b in items],
            "photo": [b.photo_url or "" for b in items],
            "remaining_width_m": np.array(
                [np.nan if b.remaining_width_m is None else b.remaining_width_m for b in items],
                dtype=np.float64,
            ),
            "name": [b.note or "" for b in items],
            "source": "ledger",
            "source_file": "",
            "source_crs": "EPSG:4326",
            "source_row": np.array([b.blockage_id for b in items], dtype=np.int64),
        },
        columns=list(BLOCKAGE_COLUMNS),
    )
    points = shapely.points(
        np.array([b.lon for b in items], dtype=np.float64),
        np.array([b.lat for b in items], dtype=np.float64),
    )
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(points, crs="EPSG:4326"), crs="EPSG:4326")


def served_reports(
    stored: gpd.GeoDataFrame | None, ledger: Sequence[Blockage], crs: object
) -> gpd.GeoDataFrame | None:
    """The workspace's own reports followed by the ledger items, in ``crs`` (None when none)."""
    parts = [f.to_crs(crs) for f in (stored,) if f is not None and len(f)]
    if ledger:
        parts.append(ledger_reports(ledger).to_crs(crs))
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    out = pd.concat(parts, ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=parts[0].crs)


def wgs84_collections(layers: Layers, analysis: Analysis) -> dict[str, gpd.GeoDataFrame]:
    """Every served layer and analysis result with a geometry, in WGS84 (the collections)."""
    frames: dict[str, pd.DataFrame] = {**layers.as_dict(), **analysis.layers}
    out: dict[str, gpd.GeoDataFrame] = {}
    for name, frame in frames.items():
        if isinstance(frame, gpd.GeoDataFrame) and frame.geometry.name in frame:
            out[name] = frame.to_crs("EPSG:4326")
    return out


def _stored_reports(path: Path) -> gpd.GeoDataFrame | None:
    """The blockage reports the workspace was analysed with (``blockages_ranked``), if any.

    Only the report columns are kept: their impact is computed afresh at start-up.
    """
    gpkg = path / "layers.gpkg"
    if LayerName.BLOCKAGES_RANKED not in {str(n) for n, _ in pyogrio.list_layers(gpkg)}:
        return None
    frame = pyogrio.read_dataframe(gpkg, layer=LayerName.BLOCKAGES_RANKED.value)
    if "source" in frame:  # ledger items come from the store, never from a file
        frame = frame.loc[frame["source"].astype(str) != "ledger"].reset_index(drop=True)
    keep = [c for c in BLOCKAGE_COLUMNS if c in frame.columns]
    reports = gpd.GeoDataFrame(frame[keep], geometry=frame.geometry, crs=frame.crs)
    for col in ("blockage_id", "kind", "status"):
        reports[col] = reports[col].astype(object).where(reports[col].notna(), "").astype(str)
    if "remaining_width_m" in reports:
        reports["remaining_width_m"] = pd.to_numeric(reports["remaining_width_m"], errors="coerce")
    return reports


def load_workspace(
    settings: Settings,
    *,
    hydrant_states: Mapping[str, HydrantState] | None = None,
    ledger: Sequence[Blockage] = (),
) -> Workspace:
    """Read ``settings.workspace / layers.gpkg`` and run the analysis once.

    The result (layers, analysis, WGS84 collections, stored reports) is cached in the workspace
    (:mod:`api.state_cache`) under a key of every input, so a restart on unchanged inputs reads
    it back instead of analysing again.

    Parameters
    ----------
    settings
        Workspace folder, preset, apparatus and snap distance.
    hydrant_states
        Current hydrant states (the store's inspections) applied to the hydrants table before
        the analysis; states of hydrants not in the workspace are logged and skipped.
    ledger
        Active ledger items, ranked together with the workspace's own blockage reports.
    """
    path = Path(settings.workspace)
    clock = _StartupClock()
    preset = load_preset(settings.preset)
    options = AnalysisOptions(apparatus=settings.apparatus, snap_distance_m=settings.snap_distance_m)
    key = _state_key(settings, path, hydrant_states, ledger)
    cached = state_cache.load(path, key)
    if cached is not None:
        layers, analysis, collections, reports = cached
        clock.done(f"start-up state read from {path / state_cache.FOLDER} (same inputs, code and settings)")
    else:
        layers, analysis, collections, reports = _compute_state(
            path, preset, options, hydrant_states=hydrant_states, ledger=ledger, clock=clock
        )
        written = state_cache.save(path, key, (layers, analysis, collections, reports))
        if written is not None:
            clock.done(f"start-up state cached in {written.name}")
    ws = Workspace(
        path=path, layers=layers, preset=preset, options=options, analysis=analysis,
        collections=collections, reports=reports,
    )
    # the workspace lives as long as the process: keep its objects out of full GC passes
    gc.collect()
    gc.freeze()
    log.info("workspace %s loaded: %d collections, %d findings in %.1f s", path, len(ws.collections),
             len(analysis.findings), clock.total())
    return ws


def _state_key(
    settings: Settings, path: Path, hydrant_states: Mapping[str, HydrantState] | None,
    ledger: Sequence[Blockage],
) -> str:
    """The start-up cache key: the files read, the analysis settings, stored states and ledger."""
    return state_cache.state_key(
        files=[path / "layers.gpkg"],  # the stored blockage reports are a layer of it
        settings={"preset": str(settings.preset), "apparatus": settings.apparatus,
                  "snap_distance_m": settings.snap_distance_m},
        states=sorted((str(k), repr(v)) for k, v in (hydrant_states or {}).items()),
        ledger=[repr(item) for item in ledger],
    )


def _compute_state(
    path: Path, preset: Preset, options: AnalysisOptions, *,
    hydrant_states: Mapping[str, HydrantState] | None, ledger: Sequence[Blockage],
    clock: _StartupClock,
) -> tuple[Layers, Analysis, dict[str, gpd.GeoDataFrame], gpd.GeoDataFrame | None]:
    """Read the layers, apply the stored states, analyse, reproject for serving."""
    layers = read_layers(path / "layers.gpkg")
    clock.done(
        f"read {path / 'layers.gpkg'}: {len(layers.roads)} road edges, {len(layers.hydrants)} "
        f"hydrants, {len(layers.buildings)} buildings, {len(layers.stations)} stations"
    )
    if hydrant_states:
        hydrants, rows, unknown = hydrants_with_states(layers.hydrants, hydrant_states)
        if unknown:
            log.warning("stored status of %d hydrant(s) not in the workspace: %s",
                        len(unknown), ", ".join(unknown[:10]))
        layers = dataclasses.replace(layers, hydrants=hydrants)
        log.info("applied the stored status of %d hydrant(s) before the analysis", len(rows))
    reports = _stored_reports(path)
    blockages = served_reports(reports, ledger, layers.crs)
    clock.done(f"blockage reports: {0 if blockages is None else len(blockages)}")
    analysis = analyze(layers, preset=preset, options=options, blockages=blockages, progress=clock.step,
                       mains=read_stored_mains(path / "layers.gpkg"))
    clock.step(None)
    collections = wgs84_collections(layers, analysis)
    clock.done(f"map collections: {len(collections)}")
    return layers, analysis, collections, reports


class _StartupClock:
    """INFO lines for the start-up steps, each with its seconds."""

    def __init__(self) -> None:
        self.t0 = self.since = time.perf_counter()
        self.current: str | None = None

    def done(self, what: str) -> None:
        """Log ``what`` (a finished step with its counts) and the seconds since the last line."""
        now = time.perf_counter()
        log.info("start-up: %s (%.1f s)", what, now - self.since)
        self.since = now

    def step(self, name: str | None) -> None:
        """A progress callback: log the analysis step that just ended (None: the last one);
        its counts, given as ``name (counts)``, as ``name: counts``."""
        if self.current is not None:
            base, counts = split_step(self.current)
            self.done(f"analysis: {base}: {counts}" if counts else f"analysis: {base}")
        self.current = name

    def total(self) -> float:
        return time.perf_counter() - self.t0
