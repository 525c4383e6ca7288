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

from api.settings import Settings
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


def load_workspace(settings: Settings) -> Workspace:
    """Read ``settings.workspace / layers.gpkg`` and run the analysis once."""
    path = Path(settings.workspace)
    layers = read_layers(path / "layers.gpkg")
    preset = load_preset(settings.preset)
    options = AnalysisOptions(apparatus=settings.apparatus, snap_distance_m=settings.snap_distance_m)
    analysis = analyze(layers, preset=preset, options=options)
    ws = Workspace(
        path=path, layers=layers, preset=preset, options=options, analysis=analysis,
        collections=_wgs84_collections(layers, analysis),
    )
    # the workspace lives as long as the process: keep its objects out of full GC passes
    gc.collect()
    gc.freeze()
    log.info("workspace %s loaded: %d collections", path, len(ws.collections))
    return ws
