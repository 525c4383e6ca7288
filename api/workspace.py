"""The served workspace: layers, graphs and results, loaded once at start-up.

A workspace is the output folder of ``firereach analyze`` (its ``layers.gpkg``). At start-up the
layers are read back, the network analysis is run once with the configured preset, and every
collection is reprojected to WGS84 once for serving (the API speaks WGS84; analysis stays in
metres). Scenario requests derive new results from the loaded graphs without touching them.
"""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from api.settings import Settings
from geo.agency import BLOCKAGE_COLUMNS
from geo.layers import Layers, read_layers
from geo.presets import Preset, load_preset
from routing.analysis import Analysis, AnalysisOptions, analyze

log = logging.getLogger(__name__)


@dataclass
class Workspace:
    """Everything the API serves. ``lock`` guards the swap of ``analysis`` after live updates."""

    path: Path
    layers: Layers
    preset: Preset
    options: AnalysisOptions
    analysis: Analysis
    collections: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def collection(self, name: str) -> gpd.GeoDataFrame:
        """A collection in WGS84 (KeyError when unknown)."""
        return self.collections[name]


def _wgs84_collections(layers: Layers, analysis: Analysis) -> dict[str, gpd.GeoDataFrame]:
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
    if "blockages_ranked" not in {str(n) for n, _ in pyogrio.list_layers(gpkg)}:
        return None
    frame = pyogrio.read_dataframe(gpkg, layer="blockages_ranked")
    keep = [c for c in BLOCKAGE_COLUMNS if c in frame.columns]
    reports = gpd.GeoDataFrame(frame[keep], geometry=frame.geometry, crs=frame.crs)
    for col in ("blockage_id", "kind", "status"):
        reports[col] = reports[col].astype(object).where(reports[col].notna(), "").astype(str)
    if "remaining_width_m" in reports:
        reports["remaining_width_m"] = pd.to_numeric(reports["remaining_width_m"], errors="coerce")
    return reports


def load_workspace(settings: Settings) -> Workspace:
    """Read ``settings.workspace / layers.gpkg`` and run the analysis once."""
    path = Path(settings.workspace)
    layers = read_layers(path / "layers.gpkg")
    preset = load_preset(settings.preset)
    options = AnalysisOptions(apparatus=settings.apparatus, snap_distance_m=settings.snap_distance_m)
    analysis = analyze(layers, preset=preset, options=options, blockages=_stored_reports(path))
    ws = Workspace(
        path=path, layers=layers, preset=preset, options=options, analysis=analysis,
        collections=_wgs84_collections(layers, analysis),
    )
    # the workspace lives as long as the process: keep its objects out of full GC passes
    gc.collect()
    gc.freeze()
    log.info("workspace %s loaded: %d collections", path, len(ws.collections))
    return ws
