"""Live state of a served workspace: the state API over :func:`routing.live.recompute_area`.

A hydrant status change is recomputed for the affected area by :func:`routing.live.recompute_area`
(equal to a full run); here it is applied to the served workspace: :func:`apply_states` computes
the new state under the workspace's write lock without holding the read lock, refreshes the WGS84
copies served to the web map, stamps ``summary['live']['updated_at']`` and swaps everything in
together (:func:`record_inspection`, :func:`replay_events` store and replay the events). The
siting proposal, which the recompute leaves stale, is refreshed in the background by
:class:`SitingRefresh` (every ``siting_refresh_s`` seconds while it is stale).

The blockage ledger drives the blockage ranking: after every ledger write :func:`ledger_write`
ranks the workspace's own reports and the ledger's active items afresh
(:func:`routing.analysis.blockage_ranking`, milliseconds on a district, seconds for 10,000
reports on a million edges; outside the workspace lock, so readers do not wait), so a new
report shows its rank and a rectified one stops counting at once.

At start-up :func:`live_state` opens the store and loads the workspace with each hydrant's latest
stored observation applied and the ledger's active items among the reports, before the one full
analysis: after a restart every result (findings and siting included) is that of the current
state. A workspace handed in already loaded is brought to it by :func:`replay_events`.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from fastapi import Depends, FastAPI, HTTPException, Request

from api.auth import KeyRing, bootstrap_admin
from api.settings import Settings
from api.store import (
    Actor,
    Blockage,
    HydrantEvent,
    HydrantObservation,
    HydrantState,
    IdempotencyKey,
    LedgerQuery,
    Store,
    add_hydrant_event,
    claimed,
    hydrant_event,
    hydrant_states,
    list_blockages,
    open_store,
    remember,
    to_text,
    utc_now,
)
from api.workspace import (
    ACTIVE_LEDGER_STATUSES,
    LEDGER_PREFIX,
    Workspace,
    hydrants_with_states,
    load_workspace,
    served_reports,
)
from geo.catalog import LayerName
from geo.errors import InputFileError, LayerValidationError, NotFoundError
from geo.layers import Layers
from routing.analysis import (
    BLOCKAGE_LAYERS,
    SITING_LAYERS,
    Analysis,
    blockage_ranking,
    refresh_siting,
    with_ranking,
)
from routing.live import RECOMPUTED as RECOMPUTED  # re-exported: the served state's vocabulary
from routing.live import STALE_SITING, AreaUpdate, recompute_area, sort_pieces, splice_runs
from routing.live import affected_edges as affected_edges

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Reported positions farther than this outside the workspace's roads are rejected (m).
EXTENT_MARGIN_M = 2000.0


@dataclass(frozen=True)
class LiveResult:
    """What applying hydrant states to a workspace did (for responses and logs)."""

    applied: bool
    hydrants: tuple[str, ...]
    edges: int
    buildings: int
    seconds: float
    unknown: tuple[str, ...] = ()
    replayed: bool = False  # an Idempotency-Key retry: nothing new was stored or applied


# --------------------------------------------------------------------------------------------
# the served workspace


def _set_rows(frame: gpd.GeoDataFrame, source: pd.DataFrame, rows: np.ndarray,
              columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    """A copy of ``frame`` with ``columns`` at ``rows`` taken from ``source`` (same rows)."""
    out = frame.copy(deep=False)  # copy on write: the other columns stay shared
    for col in columns:
        if col in out and col in source:
            values = out[col].to_numpy().copy()
            values[rows] = source[col].to_numpy()[rows]
            out[col] = values
    return out


def _refresh_collections(
    collections: Mapping[str, gpd.GeoDataFrame],
    layers: Layers,
    analysis: Analysis,
    update: AreaUpdate,
) -> dict[str, gpd.GeoDataFrame]:
    """WGS84 collections after an update: changed attributes copied, new geometries reprojected."""
    out = dict(collections)
    res = analysis.layers
    hyd_cols = ("status", "pressure_mpa", "status_source")
    for name, source in (("hydrants", layers.hydrants),
                         (LayerName.HYDRANTS_ANALYSIS, res[LayerName.HYDRANTS_ANALYSIS])):
        if name in out:
            out[name] = _set_rows(out[name], source, update.hydrants, hyd_cols)
    if len(update.status_changed) == 0:
        return out
    if LayerName.ROADS_ANALYSIS in out:
        out[LayerName.ROADS_ANALYSIS] = _set_rows(
            out[LayerName.ROADS_ANALYSIS], res[LayerName.ROADS_ANALYSIS], update.edges,
            ("covered_m", "uncovered_m", "covered_pct"),
        )
    if LayerName.BUILDINGS_ANALYSIS in out:
        out[LayerName.BUILDINGS_ANALYSIS] = _set_rows(
            out[LayerName.BUILDINGS_ANALYSIS], res[LayerName.BUILDINGS_ANALYSIS], update.buildings,
            ("hydrants_in_range", "credited_flow_lps", "nearest_hydrant_m", "flow_deficit_lps",
             "flags"),
        )
    if LayerName.COVERAGE_PIECES in out:
        ids = analysis.graph.edge_id[update.edges]
        old = out[LayerName.COVERAGE_PIECES]
        new = res[LayerName.COVERAGE_PIECES]
        fresh = sort_pieces(new.loc[np.isin(new["edge_id"].to_numpy(), ids)].to_crs("EPSG:4326"))
        spliced = splice_runs(
            old, old["edge_id"].to_numpy(), fresh, fresh["edge_id"].to_numpy(), ids
        )
        out[LayerName.COVERAGE_PIECES] = gpd.GeoDataFrame(spliced, geometry="geometry", crs="EPSG:4326")
    for name in (LayerName.UNDERSERVED_SEGMENTS, LayerName.SPACING_GAPS, LayerName.PUMP_CONNECTORS_ANALYSIS):
        if name in out:
            out[name] = res[name].to_crs("EPSG:4326")
    return out


def apply_states(ws: Workspace, states: Mapping[str, HydrantState]) -> LiveResult:
    """Apply current hydrant states to the served workspace.

    Under the workspace's write lock (one writer at a time): reads the current state, computes
    the new one without holding the read lock (readers keep being served) and swaps ``layers``,
    ``analysis`` and ``collections`` together; readers see the old or the new state, never a mix
    of one object. Unknown hydrant ids are skipped (returned in ``unknown``).
    """
    start = time.perf_counter()
    with ws.writing() as base:
        base_layers, base_analysis = base.layers, base.analysis
        hydrants, rows, unknown = hydrants_with_states(base_layers.hydrants, states)
        if unknown:
            log.warning("hydrant events for %d hydrant(s) not in the workspace: %s",
                        len(unknown), ", ".join(unknown[:10]))
        if len(rows) == 0:
            return LiveResult(False, (), 0, 0, time.perf_counter() - start, unknown)
        layers, analysis, update = recompute_area(
            base_layers, base_analysis, hydrants, preset=ws.preset, options=ws.options, changed=rows
        )
        if "live" in analysis.summary:
            live = {**analysis.summary["live"], "updated_at": to_text(utc_now())}
            analysis = dataclasses.replace(analysis, summary={**analysis.summary, "live": live})
        collections = _refresh_collections(base.collections, layers, analysis, update)
        ws.swap(layers=layers, analysis=analysis, collections=collections)
    ids = hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)[rows]
    return LiveResult(
        applied=True, hydrants=tuple(str(i) for i in ids), edges=len(update.edges),
        buildings=len(update.buildings), seconds=time.perf_counter() - start, unknown=unknown,
    )


def record_inspection(
    ws: Workspace,
    store: Store,
    hydrant_id: str,
    observation: HydrantObservation,
    *,
    actor: Actor,
    now: datetime,
    claim: IdempotencyKey | None = None,
) -> tuple[HydrantEvent, LiveResult, str | None]:
    """Store an inspection event, then bring the workspace to the hydrant's current state.

    The event is committed (durable) first; then the hydrant's latest observation is applied
    with :func:`apply_states`. Both happen under the workspace's write lock, so the state
    follows the events in the order they were stored. A failed recomputation does not undo the
    stored event (a restart replays it): it is logged and returned as the third value. With
    ``claim`` (an ``Idempotency-Key``), a retry returns the event its first copy stored, and
    nothing is stored or applied again (``replayed``).

    Raises
    ------
    NotFoundError
        If the hydrant is not in the workspace.
    """
    hydrant_row(ws, hydrant_id)
    with ws.writing():  # the state follows the events in the order they are stored
        with store.write() as conn:
            done = None if claim is None else claimed(conn, claim, now=now)
            if done is not None:  # a retry: the event is stored and applied already
                return hydrant_event(conn, done), LiveResult(False, (), 0, 0, 0.0, replayed=True), None
            event = add_hydrant_event(conn, hydrant_id, observation, actor=actor, now=now)
            if claim is not None:
                remember(conn, claim, event.event_id, now=now)
        with store.read() as conn:
            state = hydrant_states(conn, [hydrant_id])[hydrant_id]
        try:
            return event, apply_states(ws, {hydrant_id: state}), None
        except Exception as exc:  # the event is stored either way
            log.exception("live recomputation after hydrant event %d failed", event.event_id)
            return event, LiveResult(False, (), 0, 0, 0.0), f"{type(exc).__name__}: {exc}"


def replay_events(ws: Workspace, store: Store) -> LiveResult:
    """Apply every hydrant's stored current state to a workspace loaded without it.

    :func:`live_state` loads the workspace with the stored states applied before the analysis;
    this is for a workspace handed to the app already loaded (tests, embedding), where the
    live recomputation brings it to the stored state.
    """
    with store.read() as conn:
        states = hydrant_states(conn)
    result = apply_states(ws, states)
    log.info("replayed stored status of %d hydrant(s): %d changed, %d edges, %d buildings",
             len(states), len(result.hydrants), result.edges, result.buildings)
    return result


# --------------------------------------------------------------------------------------------
# the siting proposal


def _stale(analysis: Analysis) -> list[str]:
    live = analysis.summary.get("live")
    return list(live.get("stale", [])) if isinstance(live, dict) else []


def refresh_stale_siting(ws: Workspace) -> bool:
    """Recompute the siting proposal if live updates left it stale; True when one was swapped in.

    The proposal is computed outside the workspace lock from the analysis of that moment, and
    swapped in only if the hydrants did not change meanwhile (the coverage object is the same);
    otherwise it is dropped and the next call computes it again.
    """
    base = ws.snapshot().analysis
    if STALE_SITING not in _stale(base):
        return False
    start = time.perf_counter()
    fresh = refresh_siting(base, options=ws.options)
    with ws.writing() as now:
        current = now.analysis
        if current.coverage is not base.coverage:  # the hydrants changed meanwhile
            return False
        layers = {k: v for k, v in current.layers.items() if k not in SITING_LAYERS}
        layers.update({k: fresh.layers[k] for k in SITING_LAYERS if k in fresh.layers})
        summary = {**current.summary, "siting": fresh.summary["siting"]}
        done = {STALE_SITING, *SITING_LAYERS}
        summary["live"] = {**summary["live"], "stale": [p for p in _stale(current) if p not in done]}
        collections = dict(now.collections)
        for name in SITING_LAYERS:
            frame = layers.get(name)
            if isinstance(frame, gpd.GeoDataFrame):
                collections[name] = frame.to_crs("EPSG:4326")
            else:
                collections.pop(name, None)
        ws.swap(analysis=dataclasses.replace(current, layers=layers, summary=summary),
                collections=collections)
    log.info("siting proposal refreshed after live updates in %.2f s", time.perf_counter() - start)
    return True


class SitingRefresh:
    """A background thread that runs :func:`refresh_stale_siting` every ``interval_s``."""

    def __init__(self, ws: Workspace, *, interval_s: float) -> None:
        self._ws = ws
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="firereach-siting", daemon=True)

    def start(self) -> None:
        """Start refreshing in the background (nothing when the interval is 0: off)."""
        if self._interval > 0:
            self._thread.start()

    def stop(self) -> None:
        """Stop refreshing; waits up to a minute for a refresh under way to finish."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                refresh_stale_siting(self._ws)
            except Exception:  # keep serving; the next round tries again
                log.exception("background siting refresh failed")


# --------------------------------------------------------------------------------------------
# the blockage ledger


@dataclass(frozen=True)
class RankingResult:
    """What re-ranking the blockage reports did (for responses and logs)."""

    reports: int
    ledger_items: int
    ranked: bool
    seconds: float


def active_ledger(store: Store) -> list[Blockage]:
    """The ledger items in :data:`~api.workspace.ACTIVE_LEDGER_STATUSES`, by id."""
    with store.read() as conn:
        items, _ = list_blockages(
            conn, LedgerQuery(status=ACTIVE_LEDGER_STATUSES), sla_days={}, now=utc_now(), page=False
        )
    return items


def rerank_blockages(ws: Workspace, ledger: Sequence[Blockage]) -> RankingResult:
    """Rank the workspace's own reports and these ledger items afresh and swap the result in.

    :func:`routing.analysis.blockage_ranking` on the served analysis (its truck graph and
    station response) runs in this writer's turn (:meth:`Workspace.writing`) without holding
    the read lock, so readers are not kept waiting; the result replaces ``blockages_ranked``,
    ``critical_lanes``, the blockage findings and the ``blockages`` summary, with their WGS84
    collections.
    """
    start = time.perf_counter()
    with ws.writing() as base:
        reports = served_reports(base.reports, ledger, base.layers.crs)
        ranking = blockage_ranking(base.analysis, reports, preset=ws.preset)
        frames = {} if ranking is None else {
            LayerName.BLOCKAGES_RANKED: ranking.blockages.to_crs("EPSG:4326"),
            LayerName.CRITICAL_LANES: ranking.critical_lanes.to_crs("EPSG:4326"),
        }
        analysis = with_ranking(base.analysis, ranking, reports)
        collections = dict(base.collections)  # keeps the order of the collections
        for name in BLOCKAGE_LAYERS:
            if name in frames:
                collections[name] = frames[name]
            else:
                collections.pop(name, None)
        ws.swap(analysis=analysis, collections=collections)
    result = RankingResult(
        reports=0 if reports is None else len(reports), ledger_items=len(ledger),
        ranked=ranking is not None, seconds=time.perf_counter() - start,
    )
    log.info("blockages re-ranked: %d reports (%d from the ledger) in %.3f s",
             result.reports, result.ledger_items, result.seconds)
    return result


def ledger_write(
    ws: Workspace, store: Store, write: Callable[[sqlite3.Connection], T]
) -> tuple[T, str | None]:
    """Run a ledger write, then re-rank the blockages with the ledger's active items.

    The write is committed (durable) first; both happen under the workspace's write lock,
    so the ranking follows the ledger in the order of its writes. A failed ranking does not
    undo the write (a restart ranks again): it is logged and returned as the second value.
    """
    with ws.writing():  # the ranking follows the ledger in the order of its writes
        with store.write() as conn:
            out = write(conn)
        try:
            rerank_blockages(ws, active_ledger(store))
        except Exception as exc:  # the write is stored either way
            log.exception("blockage ranking after a ledger write failed")
            return out, f"{type(exc).__name__}: {exc}"
    return out, None


def ledger_impact(ws: Workspace, blockage_id: int) -> dict[str, Any] | None:
    """The served ranking row of a ledger item (None when it is not among the ranked reports)."""
    ranked = ws.snapshot().analysis.layers.get(LayerName.BLOCKAGES_RANKED)
    if ranked is None or len(ranked) == 0:
        return None
    hit = ranked.loc[ranked["blockage_id"].astype(str) == f"{LEDGER_PREFIX}{blockage_id}"]
    if len(hit) == 0:
        return None
    row = hit.iloc[0]

    def num(col: str) -> float | None:
        value = float(row[col]) if col in row and pd.notna(row[col]) else None
        return value if value is None or np.isfinite(value) else None

    def text(col: str) -> str | None:
        return str(row[col]) or None if col in row and pd.notna(row[col]) else None

    return {
        "effect": str(row["effect"]),
        "reason": text("reason"),
        "rank": None if num("rank") is None else int(row["rank"]),
        "score": num("score"),
        "edge_id": int(row["edge_id"]) if int(row["edge_id"]) >= 0 else None,
        "road_name": text("road_name"),
        "edge_width_m": num("edge_width_m"),
        "remaining_width_m": num("remaining_width_m"),
        "width_basis": text("width_basis"),
        "buildings_cut": int(row["buildings_cut"]),
        "high_rises_cut": int(row["high_rises_cut"]),
        "buildings_delayed": int(row["buildings_delayed"]),
        "hydrants_unreachable": int(row["hydrants_unreachable"]),
        "max_delay_s": num("max_delay_s"),
        "rule_ids": text("rule_ids"),
    }


def hydrant_row(ws: Workspace, hydrant_id: str) -> int:
    """Row of a hydrant in the workspace; :class:`NotFoundError` when unknown."""
    ids = ws.layers.hydrants["hydrant_id"].astype(str).to_numpy(dtype=object)
    hits = np.flatnonzero(ids == hydrant_id)
    if len(hits) == 0:
        raise NotFoundError(f"hydrant {hydrant_id!r} is not in this workspace")
    return int(hits[0])


def locate(ws: Workspace, lon: float, lat: float) -> str:
    """The district name at a WGS84 position ('' when the workspace has no district there).

    Raises
    ------
    LayerValidationError
        If the position is more than :data:`EXTENT_MARGIN_M` outside the workspace's roads
        (often swapped longitude and latitude, or GCJ-02/BD-09 coordinates far off).
    """
    layers = ws.layers
    to_work = pyproj.Transformer.from_crs("EPSG:4326", layers.crs, always_xy=True)
    x, y = to_work.transform(lon, lat)
    west, south, east, north = layers.roads.total_bounds
    dx = max(west - x, x - east, 0.0)
    dy = max(south - y, y - north, 0.0)
    outside = float(np.hypot(dx, dy)) if np.isfinite(x) and np.isfinite(y) else np.inf
    if outside > EXTENT_MARGIN_M:
        raise LayerValidationError(
            f"position lon={lon}, lat={lat} is {outside / 1000:.1f} km outside the served area; "
            "check the order (longitude first) and that the coordinates are WGS84"
        )
    districts = layers.districts
    if len(districts) == 0:
        return ""
    inside = np.flatnonzero(shapely.contains_xy(np.asarray(districts.geometry.array), x, y))
    if len(inside) == 0:
        return ""
    level = districts["admin_level"].to_numpy(dtype=np.float64)[inside]
    area = districts["area_km2"].to_numpy(dtype=np.float64)[inside]
    finest = inside[np.lexsort((area, -np.nan_to_num(level, nan=-1.0)))[0]]
    return str(districts["name"].iloc[finest])


def check_district(ws: Workspace, name: str) -> str:
    """``name`` if the workspace has a district of that name.

    Raises
    ------
    LayerValidationError
        When the workspace has no districts or none of that name (the message lists some).
    """
    names = sorted(set(ws.layers.districts["name"].astype(str)))
    if not names:
        raise LayerValidationError(
            "this workspace has no districts; build it with --districts FILE to filter by district"
        )
    if name not in names:
        shown = ", ".join(names[:20]) + (" ..." if len(names) > 20 else "")
        raise LayerValidationError(f"no district named {name!r}; districts: {shown}")
    return name


# --------------------------------------------------------------------------------------------
# app wiring


@asynccontextmanager
async def live_state(app: FastAPI) -> AsyncIterator[None]:
    """Lifespan: open the store, store the bootstrap admin key, load the workspace in its
    current state.

    The workspace is loaded with the stored hydrant states and the ledger's active items
    (:func:`api.workspace.load_workspace`), so findings, siting and the blockage ranking are
    those of a full analysis of the current state. A workspace handed to the app already
    loaded is brought to that state by the live recomputation instead. Idempotent: when the
    store is already open, it does nothing. :func:`api.app.create_app` owns it (routers declare none).
    """
    if getattr(app.state, "store", None) is not None:
        yield
        return
    settings: Settings = app.state.settings
    loaded: Workspace | None = getattr(app.state, "workspace", None)
    folder = loaded.path if loaded is not None else _workspace_folder(settings)
    store = open_store(folder, busy_timeout_s=settings.store_busy_timeout_s)
    try:
        secret = settings.bootstrap_admin_key
        bootstrap_admin(store, None if secret is None else secret.get_secret_value())
        if loaded is None:
            app.state.workspace = _load_current(settings, store)
        else:
            replay_events(loaded, store)
            ledger = active_ledger(store)
            if ledger or _ranks_ledger_items(loaded):
                rerank_blockages(loaded, ledger)
        app.state.store = store
        app.state.keyring = KeyRing(store)
        siting = SitingRefresh(app.state.workspace, interval_s=settings.siting_refresh_s)
        siting.start()
        try:
            yield
        finally:
            siting.stop()
    finally:
        app.state.store = None
        app.state.keyring = None
        store.close()


def open_workspace(settings: Settings) -> Workspace:
    """The workspace in its current state: :func:`~api.workspace.load_workspace` with the
    store's hydrant states and active ledger items (what the app's start-up does; for the CLI,
    which loads before serving so that a bad workspace, or a locked or read-only store, fails
    with a clear message)."""
    store = open_store(_workspace_folder(settings), busy_timeout_s=settings.store_busy_timeout_s)
    try:
        store.probe()  # locked or read-only: one clear error before anything is loaded
        return _load_current(settings, store)
    finally:
        store.close()


def _workspace_folder(settings: Settings) -> Path:
    folder = Path(settings.workspace)
    if not (folder / "layers.gpkg").is_file():
        raise InputFileError(
            f"{str(folder)!r} is not a workspace (no layers.gpkg): build one with "
            "'firereach analyze' or set FIREREACH_WORKSPACE"
        )
    return folder


def _load_current(settings: Settings, store: Store) -> Workspace:
    with store.read() as conn:
        states = hydrant_states(conn)
    return load_workspace(settings, hydrant_states=states, ledger=active_ledger(store))


def _ranks_ledger_items(ws: Workspace) -> bool:
    ranked = ws.analysis.layers.get(LayerName.BLOCKAGES_RANKED)
    if ranked is None or len(ranked) == 0:
        return False
    return bool(ranked["blockage_id"].astype(str).str.startswith(LEDGER_PREFIX).any())


def get_store(request: Request) -> Store:
    """The workspace's store, opened at start-up by :func:`live_state`."""
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:
        raise HTTPException(status_code=503, detail="the store is not open (start-up did not run)")
    return store


StoreDep = Annotated[Store, Depends(get_store)]
