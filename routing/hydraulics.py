"""Hydrants on their mains: static pressure, available fire flow, simultaneous draws (EPANET).

Inputs are a water utility's hydraulic model as a :class:`wntr.network.WaterNetworkModel` (read
from an EPANET ``.inp`` file or built from a GIS pipes layer) and each hydrant's junction on
the main (its connection node). Three questions are answered with EPANET's solver, with the
model's normal demands running and its own demand model (demand-driven, or pressure-dependent
when ``wn.options.hydraulic.demand_model == "PDD"``):

* **static pressure** at each hydrant's junction, no fire draw;
* **available fire flow** at a residual pressure (GB 55036-2022 3.0.3: 0.10 MPa): the largest
  extra flow that can be drawn at one hydrant's junction while the pressure there stays at or
  above the residual — the quantity a hydrant flow test reports (outlet losses not included);
* **simultaneous flow** of a group of hydrants (those in range of one building): the flow they
  give together when each draws up to an outlet cap and every drawing hydrant keeps the residual
  pressure — less than the sum of their single flows when they share a main.

Method (exact, no search over flows): each hydrant junction gets a *draw slot*, a reservoir held
at the junction's elevation plus the residual pressure, joined through a flow control valve
(the outlet cap) and a check valve (see :mod:`routing._epanet`). One EPANET solve then gives the
flow at which the junction's pressure has fallen to exactly the residual, or the cap, and the
flows of a group's hydrants at the same time. The network is written to EPANET once per call;
every further question re-solves in place from the last solution (a warm start).

Pressures are MPa in results and metres of water inside (1 m = 0.00980665 MPa); flows L/s.
A result that could not be computed (unknown junction, a solve that did not converge) is NaN
with ``limited_by`` saying why, never 0. Thresholds come from the rule preset with
:func:`hydrant_thresholds`.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from geo.errors import ConfigError
from routing._epanet import MPA_PER_M, EpanetSession

if TYPE_CHECKING:
    import wntr

    from geo.preset_model import Preset

log = logging.getLogger(__name__)

FLOW_COLUMNS = [
    "hydrant_id", "junction", "static_pressure_mpa", "available_flow_lps", "draw_pressure_mpa",
    "limited_by",
]
"""Columns of :func:`available_fire_flow`."""

GROUP_COLUMNS = [
    "hydrants", "drawing", "flow_lps", "junction_flows_lps", "lowest_pressure_mpa", "unknown_junctions",
    "limited_by",
]
"""Columns of :func:`simultaneous_flow` (indexed by the group key)."""

RESIDUAL = "residual pressure"
STATIC_LOW = "static below residual"
NO_SUPPLY = "no supply"
FLOW_CAP = "flow cap"
NOT_COMPUTED = "not computed"
UNKNOWN = "unknown junction"
NO_HYDRANTS = "no hydrants"
_DRAWING_LPS = 1e-3  # a slot flow below this is no draw (EPANET's closed links leak ~1e-8)


@dataclass(frozen=True)
class HydrantThresholds:
    """The preset's numbers for hydrants on mains.

    Attributes
    ----------
    residual_mpa
        Pressure a hydrant must keep while it flows (``hydrant_worst_point.pressure_mpa``).
    worst_flow_lps
        Flow the least favourable hydrant must give at that pressure
        (``hydrant_worst_point.flow_lps``).
    per_hydrant_cap_lps
        The most one hydrant is credited with in a simultaneous draw (``hydrant_credit.max_lps``,
        GB 50974 7.3.2: 15 L/s), standing for the outlet and hose limits.
    main_pressure_mpa
        Minimum static (normal use) main pressure (``hydrant_main_pressure.value_mpa``), or
        None when the preset has no such rule.
    clause
        Where ``hydrant_worst_point`` comes from (e.g. ``GB 55036-2022 3.0.3``).
    """

    residual_mpa: float
    worst_flow_lps: float
    per_hydrant_cap_lps: float
    main_pressure_mpa: float | None
    clause: str


def hydrant_thresholds(preset: Preset) -> HydrantThresholds:
    """Read :class:`HydrantThresholds` from a rule preset (``cn-gb``: 0.10 MPa, 15 L/s, 0.14 MPa).

    Raises
    ------
    ConfigError
        When the preset has no ``hydrant_worst_point`` rule or it lacks a value.
    """
    worst = preset.rule("hydrant_worst_point")
    main = preset.rules.get("hydrant_main_pressure")
    return HydrantThresholds(
        residual_mpa=worst.value("pressure_mpa"),
        worst_flow_lps=worst.value("flow_lps"),
        per_hydrant_cap_lps=preset.flow_credit.in_service_lps,
        main_pressure_mpa=main.value("value_mpa") if main is not None else None,
        clause=worst.clause,
    )


def _junction_map(hydrants: Mapping[str, str] | Sequence[str]) -> dict[str, str]:
    if isinstance(hydrants, Mapping):
        return {str(h): str(j) for h, j in hydrants.items()}
    return {str(j): str(j) for j in hydrants}


def supplied_junctions(wn: wntr.network.WaterNetworkModel) -> set[str]:
    """Junctions joined to a reservoir or tank through links that are not closed at the start."""
    from wntr.network.base import LinkStatus

    g = nx.Graph()
    g.add_nodes_from(wn.node_name_list)
    g.add_edges_from(
        (link.start_node_name, link.end_node_name)
        for _, link in wn.links()
        if link.initial_status != LinkStatus.Closed
    )
    sources = set(wn.reservoir_name_list) | set(wn.tank_name_list)
    supplied: set[str] = set()
    for part in nx.connected_components(g):
        if part & sources:
            supplied |= part
    return supplied & set(wn.junction_name_list)


def _check_residual(residual_mpa: float) -> float:
    if not (math.isfinite(residual_mpa) and residual_mpa >= 0):
        raise ConfigError(f"residual_mpa={residual_mpa!r}: give a pressure ≥ 0 in MPa, e.g. 0.10")
    return residual_mpa / MPA_PER_M


def available_fire_flow(
    wn: wntr.network.WaterNetworkModel,
    hydrants: Mapping[str, str] | Sequence[str],
    *,
    residual_mpa: float = 0.10,
    max_flow_lps: float | None = None,
) -> pd.DataFrame:
    """Static pressure and available fire flow at a residual pressure, hydrant by hydrant.

    Each hydrant is drawn alone, with the model's normal demands running: the available flow is
    the largest flow at its junction for which the pressure there stays ≥ ``residual_mpa``.

    Parameters
    ----------
    wn
        The hydraulic model (not modified).
    hydrants
        Hydrant id → junction name, or a list of junction names (then each is its own id).
        Hydrants sharing a junction share its answer.
    residual_mpa
        The residual pressure to keep, MPa (take it from :func:`hydrant_thresholds`).
    max_flow_lps
        Stop at this flow (e.g. the outlet's capacity); None for the main's own limit.

    Returns
    -------
    pandas.DataFrame
        One row per hydrant, columns :data:`FLOW_COLUMNS`: ``static_pressure_mpa``,
        ``available_flow_lps``, ``draw_pressure_mpa`` (pressure at the junction during the
        draw) and ``limited_by``: ``residual pressure``; ``flow cap``; ``static below residual``
        (flow 0: the hydrant cannot give water at that pressure); ``no supply`` (flow 0: no open
        path to a reservoir or tank); ``unknown junction`` or ``not computed`` (the solver
        did not converge): values NaN.
    """
    residual_m = _check_residual(residual_mpa)
    mapping = _junction_map(hydrants)
    known = set(wn.junction_name_list)
    supplied = supplied_junctions(wn)
    slots = [j for j in dict.fromkeys(mapping.values()) if j in supplied]
    answers: dict[str, tuple[float, float, float, str]] = {}
    if slots:
        with EpanetSession(wn, slots) as session:
            answers = _single_draws(session, slots, residual_m=residual_m, cap=max_flow_lps)
    rows = []
    for hydrant, junction in mapping.items():
        if junction not in known:
            rows.append((hydrant, junction, math.nan, math.nan, math.nan, UNKNOWN))
        elif junction not in supplied:
            rows.append((hydrant, junction, math.nan, 0.0, math.nan, NO_SUPPLY))
        else:
            rows.append((hydrant, junction, *answers[junction]))
    out = pd.DataFrame(rows, columns=FLOW_COLUMNS)
    out.attrs["residual_mpa"] = residual_mpa
    log.info(
        "available fire flow at %.3g MPa: %d hydrants on %d junctions, %d not computed",
        residual_mpa, len(out), len(slots), int(out["available_flow_lps"].isna().sum()),
    )
    return out


def _single_draws(
    session: EpanetSession, slots: Sequence[str], *, residual_m: float, cap: float | None
) -> dict[str, tuple[float, float, float, str]]:
    """Per junction: static pressure, available flow, pressure during the draw (MPa), limit."""
    static = session.static_heads()
    if not static.ok:
        log.warning("EPANET did not converge without fire draw (code %d); nothing computed", static.code)
        return {j: (math.nan, math.nan, math.nan, NOT_COMPUTED) for j in slots}
    out = {}
    for j in slots:
        static_m = session.static_head[j] - session.elevation[j]
        p_static = static_m * MPA_PER_M
        if static_m < residual_m:
            out[j] = (p_static, 0.0, p_static, STATIC_LOW)
            continue
        solve, flows, pressures = session.draw({j: cap}, residual_m=residual_m)
        if not solve.ok or not math.isfinite(flows[j]):
            out[j] = (p_static, math.nan, math.nan, NOT_COMPUTED)
            continue
        limit = FLOW_CAP if cap is not None and flows[j] >= cap - _DRAWING_LPS else RESIDUAL
        out[j] = (p_static, flows[j], pressures[j] * MPA_PER_M, limit)
    return out


@dataclass(frozen=True)
class WorstPoint:
    """The least favourable hydrant against the preset's worst-point rule (GB 55036 3.0.3).

    Attributes
    ----------
    flows
        The :func:`available_fire_flow` table at the rule's residual pressure.
    hydrant_id, junction
        The hydrant with the least available flow among those computed (None when none was).
    available_flow_lps
        Its available flow at ``residual_mpa``.
    holds
        True when that flow is ≥ ``required_flow_lps``; None when nothing could be computed.
    below_main_pressure
        Hydrants whose static pressure is below the preset's normal-use minimum (None when the
        preset has no such rule).
    """

    flows: pd.DataFrame
    hydrant_id: str | None
    junction: str | None
    available_flow_lps: float
    required_flow_lps: float
    residual_mpa: float
    holds: bool | None
    below_main_pressure: int | None
    clause: str


def worst_point(
    wn: wntr.network.WaterNetworkModel,
    hydrants: Mapping[str, str] | Sequence[str],
    *,
    thresholds: HydrantThresholds,
) -> WorstPoint:
    """Available fire flow at the preset's residual, and whether the least favourable hydrant holds.

    Parameters
    ----------
    wn
        The hydraulic model.
    hydrants
        Hydrant id → junction name (or junction names).
    thresholds
        From :func:`hydrant_thresholds` (``cn-gb``: 15 L/s at ≥ 0.10 MPa).
    """
    flows = available_fire_flow(wn, hydrants, residual_mpa=thresholds.residual_mpa)
    computed = flows[flows["available_flow_lps"].notna()]
    below = None
    if thresholds.main_pressure_mpa is not None:
        below = int((flows["static_pressure_mpa"] < thresholds.main_pressure_mpa).sum())
    if computed.empty:
        return WorstPoint(flows, None, None, math.nan, thresholds.worst_flow_lps, thresholds.residual_mpa,
                          None, below, thresholds.clause)
    row = computed.iloc[int(np.argmin(computed["available_flow_lps"].to_numpy()))]
    flow = float(row["available_flow_lps"])
    return WorstPoint(
        flows, str(row["hydrant_id"]), str(row["junction"]), flow, thresholds.worst_flow_lps,
        thresholds.residual_mpa, bool(flow >= thresholds.worst_flow_lps), below, thresholds.clause,
    )


def simultaneous_flow(
    wn: wntr.network.WaterNetworkModel,
    junction_groups: Mapping[Hashable, Sequence[str]],
    *,
    residual_mpa: float = 0.10,
    per_hydrant_cap_lps: float | None = 15.0,
) -> pd.DataFrame:
    """The flow each group of hydrants gives when all of them draw at once.

    Algorithm: every hydrant of the group is opened together, each as a draw slot whose flow is
    limited by the outlet cap and by the residual pressure at its own junction (a flow control
    valve and a reservoir at elevation + residual behind a check valve; see
    :mod:`routing._epanet`). One EPANET solve finds the joint answer: each hydrant gives the
    cap if its junction stays at or above the residual while all the others draw, else exactly
    the flow that brings it down to the residual; a hydrant already below the residual gives
    nothing. This is the limit of a pressure-dependent demand with a step at the residual, and
    unlike adding single-hydrant flows it counts the head loss that hydrants on one main
    cause each other. Groups with the same hydrants (as a multiset of junctions) are solved
    once.

    Parameters
    ----------
    wn
        The hydraulic model (not modified).
    junction_groups
        Group key (e.g. a building id) → the junctions of its hydrants; a junction named twice
        stands for two hydrants on that node (its cap doubles).
    residual_mpa
        The pressure every drawing hydrant keeps, MPa (:func:`hydrant_thresholds`).
    per_hydrant_cap_lps
        The most one hydrant gives (:attr:`HydrantThresholds.per_hydrant_cap_lps`); None for
        no cap.

    Returns
    -------
    pandas.DataFrame
        Indexed by group key, columns :data:`GROUP_COLUMNS`: ``hydrants`` (count, known
        junctions), ``drawing`` (those giving water), ``flow_lps`` (total), ``junction_flows_lps``
        (junction → L/s), ``lowest_pressure_mpa`` among the drawing hydrants,
        ``unknown_junctions`` (names not in the model, left out) and ``limited_by``:
        ``flow cap`` (every drawing hydrant at its cap), ``residual pressure``, ``static below
        residual`` or ``no supply`` (flow 0: none can give water at the residual, or none is
        joined to a source), ``no hydrants``, ``unknown junction`` or ``not computed`` (NaN).
    """
    residual_m = _check_residual(residual_mpa)
    known = set(wn.junction_name_list)
    supplied = supplied_junctions(wn)
    keys = {g: _group_key(js, known) for g, js in junction_groups.items()}
    unique = list(dict.fromkeys(k for k, _ in keys.values()))
    slots = list(dict.fromkeys(j for key in unique for j, _ in key if j in supplied))
    answers: dict[tuple[tuple[str, int], ...], tuple[object, ...]] = {}
    if slots:
        with EpanetSession(wn, slots) as session:
            static = session.static_heads()
            for key in unique:
                answers[key] = _group_draw(session, key, supplied=supplied, residual_m=residual_m,
                                           cap=per_hydrant_cap_lps, static_ok=static.ok)
    rows = []
    for key, unknown in keys.values():
        answer = answers.get(key) or _group_draw(None, key, supplied=supplied, residual_m=residual_m,
                                                 cap=per_hydrant_cap_lps, static_ok=True)
        limit = UNKNOWN if answer[0] == 0 and unknown else answer[5]
        flow = math.nan if limit == UNKNOWN else answer[2]
        rows.append((*answer[:2], flow, *answer[3:5], unknown, limit))
    out = pd.DataFrame(rows, columns=GROUP_COLUMNS, index=pd.Index(list(keys), name="group"))
    out.attrs["residual_mpa"] = residual_mpa
    log.info("simultaneous flow: %d groups (%d distinct hydrant sets)", len(out), len(unique))
    return out


def _group_key(junctions: Sequence[str], known: set[str]) -> tuple[tuple[tuple[str, int], ...], int]:
    """The group's junction multiset as a sorted tuple, and how many names were unknown."""
    counts = Counter(str(j) for j in junctions)
    key = tuple(sorted((j, n) for j, n in counts.items() if j in known))
    return key, sum(n for j, n in counts.items() if j not in known)


def _group_draw(
    session: EpanetSession | None,
    key: tuple[tuple[str, int], ...],
    *,
    supplied: set[str],
    residual_m: float,
    cap: float | None,
    static_ok: bool,
) -> tuple[object, ...]:
    """(hydrants, drawing, flow, junction flows, lowest pressure, limited_by) of one group."""
    n = sum(c for _, c in key)
    if n == 0:
        return 0, 0, 0.0, {}, math.nan, NO_HYDRANTS
    if not static_ok:
        return n, 0, math.nan, {}, math.nan, NOT_COMPUTED
    if session is None or not any(j in supplied for j, _ in key):
        return n, 0, 0.0, {j: 0.0 for j, _ in key}, math.nan, NO_SUPPLY
    live = {j: (None if cap is None else cap * c) for j, c in key
            if j in supplied and session.static_head[j] - session.elevation[j] >= residual_m}
    if not live:
        return n, 0, 0.0, {j: 0.0 for j, _ in key}, math.nan, STATIC_LOW
    solve, flows, pressures = session.draw(live, residual_m=residual_m)
    if not solve.ok:
        return n, 0, math.nan, {}, math.nan, NOT_COMPUTED
    per = {j: flows.get(j, 0.0) for j, _ in key}
    drawing = [j for j in live if flows[j] > _DRAWING_LPS]
    if not drawing:
        return n, 0, 0.0, per, math.nan, NO_SUPPLY
    count = {j: c for j, c in key}
    lowest = min(pressures[j] for j in drawing) * MPA_PER_M
    capped = all(flows[j] >= (live[j] or math.inf) - _DRAWING_LPS for j in drawing)
    return (n, sum(count[j] for j in drawing), float(np.sum([flows[j] for j in drawing])), per, lowest,
            FLOW_CAP if capped else RESIDUAL)
