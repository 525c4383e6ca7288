"""Fireground supply (火场供水): which hydrants N trucks should draw from at one fire.

Given the hydrants around a fire point with their hose-lay distance along the street graph
(:func:`hydrants_in_reach`, the bounded network search of :mod:`routing.bounded`), their live
status and their branch group on the mains (:func:`routing.mains.branch_groups`), the plan
assigns each truck (drawing ``truck_lps``) to its own usable hydrant:

* with a hydraulic model, greedily, nearest first: a hydrant is taken only if, with every
  truck chosen so far and this one drawing at once (fixed demands at the hydrants' junctions,
  one EPANET run), the pressure at every hydrant used stays at or above the residual
  (GB 55036-2022 3.0.3: 0.10 MPa);
* without one, by the branch rule (GB 50974 6.1.5: a branched main gives one hydrant's flow):
  at most one truck per branch group, hydrants on the looped core first, nearest first.

The naive plan — the N nearest usable hydrants — is computed beside it, with its pressures
(model) or its branch-group collisions (no model). When no usable hydrant is within hose-lay
reach, the nearest usable ones beyond it are given as relay / shuttle distances. Anything not
computed is None, never 0.
"""

from __future__ import annotations

import copy
import logging
import math
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from geo.errors import ConfigError
from routing._epanet import MPA_PER_M
from routing.bounded import bounded_pairs

if TYPE_CHECKING:
    import geopandas as gpd
    import wntr

    from geo.mains import Mains
    from routing.graph import StreetGraph
    from routing.snap import SnapResult

log = logging.getLogger(__name__)

OUT_OF_SERVICE = "out_of_service"
CORE_GROUP = -1
CANDIDATE_COLUMNS = ["hydrant_id", "hose_m", "status", "group", "junction"]
"""Columns :func:`plan_fireground` reads (``junction`` may be None: not on the model)."""


@dataclass(frozen=True)
class FiregroundPlan:
    """The answer of :func:`plan_fireground`.

    Attributes
    ----------
    model
        ``hydraulic`` (pressures simulated) or ``branch_rule``.
    trucks, truck_lps, reach_m, residual_mpa
        The inputs the plan assumed.
    assigned
        Hydrant ids the plan draws from, one truck each, in the order chosen.
    pressures_mpa
        Hydrant id → simulated pressure with the plan's trucks all drawing (model only, else
        empty); None for a hydrant that could not be simulated.
    naive
        The N nearest usable hydrants.
    naive_pressures_mpa
        Their simulated pressures (model only).
    naive_collisions
        Branch group → number of naive trucks on it, for groups with more than one.
    naive_below_residual
        Naive hydrants whose pressure falls below the residual (model), else None.
    unassigned
        Trucks without a hydrant (not enough usable hydrants in reach that keep the rule).
    candidates
        Every hydrant considered, with ``usable``, ``in_reach`` and ``role`` (plan / naive /
        both / ""), sorted by hose-lay distance.
    relay
        Nearest usable hydrants beyond reach (id, hose_m, relay_m = hose_m − reach) when none
        is within reach, else empty.
    not_computed
        What was not computed and why.
    """

    model: str
    trucks: int
    truck_lps: float
    reach_m: float
    residual_mpa: float
    assigned: list[str]
    pressures_mpa: dict[str, float | None]
    naive: list[str]
    naive_pressures_mpa: dict[str, float | None]
    naive_collisions: dict[int, int]
    naive_below_residual: list[str] | None
    unassigned: int
    candidates: pd.DataFrame
    relay: pd.DataFrame
    not_computed: list[str] = field(default_factory=list)

    @property
    def supplied_lps(self) -> float:
        """Flow of the assigned trucks (each at ``truck_lps``)."""
        return len(self.assigned) * self.truck_lps


def hydrants_in_reach(
    graph: StreetGraph, fire_node: int, hydrant_nodes: np.ndarray, *, limit_m: float
) -> np.ndarray:
    """Hose-lay distance (m) from the fire's node to each hydrant's node, NaN beyond ``limit_m``.

    One bounded search from the fire node (:func:`routing.bounded.bounded_pairs`); hydrants
    on the same node share its distance.
    """
    nodes = np.asarray(hydrant_nodes, dtype=np.int64)
    out = np.full(len(nodes), np.nan)
    if len(nodes) == 0:
        return out
    pairs = bounded_pairs(graph, np.array([fire_node], dtype=np.int64), np.unique(nodes), limit_m)
    dist = dict(zip(pairs["t"].to_numpy().tolist(), pairs["d"].to_numpy().tolist(), strict=True))
    for i, n in enumerate(nodes.tolist()):
        if n in dist:
            out[i] = dist[n]
    return out


def draw_pressures(
    wn: wntr.network.WaterNetworkModel, draws: Sequence[str], *, truck_lps: float
) -> dict[str, float | None]:
    """Pressure (MPa) at each junction while every listed draw takes ``truck_lps`` at once.

    A junction listed twice draws twice. One EPANET run of a copy of the model with the draws
    added as fixed demands (the model is not modified). A junction the model does not have, or
    a run that fails, gives None.
    """
    import wntr

    known = set(wn.junction_name_list)
    count = Counter(j for j in draws if j in known)
    result: dict[str, float | None] = {j: None for j in draws}
    if not count:
        return result
    model = copy.deepcopy(wn)
    model.options.time.duration = 0
    for j, k in count.items():
        model.get_node(j).add_demand(k * truck_lps / 1000.0, None, category="fireground")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sim = wntr.sim.EpanetSimulator(model).run_sim(file_prefix=f"{tmp}/fg")
    except Exception as exc:  # EPANET errors vary; the answer is "not computed"
        log.warning("fireground pressure run failed: %s", exc)
        return result
    pressure = sim.node["pressure"].iloc[0]
    for j in count:
        value = float(pressure[j]) * MPA_PER_M
        result[j] = value if math.isfinite(value) else None
    return result


def _check(trucks: int, truck_lps: float, reach_m: float) -> None:
    if trucks < 1:
        raise ConfigError(f"fireground: --trucks must be at least 1, got {trucks}; give the number of trucks")
    if not truck_lps > 0:
        raise ConfigError(f"fireground: --truck-lps must be positive, got {truck_lps}")
    if not reach_m > 0:
        raise ConfigError(f"fireground: hose-lay reach must be positive, got {reach_m} m")


def _by_hydrant(
    pressures: dict[str, float | None], ids: list[str], junction: dict[str, Any]
) -> dict[str, float | None]:
    return {h: pressures.get(junction[h]) if junction.get(h) is not None else None for h in ids}


def plan_fireground(
    candidates: pd.DataFrame,
    *,
    trucks: int,
    truck_lps: float = 15.0,
    reach_m: float,
    residual_mpa: float = 0.10,
    wn: wntr.network.WaterNetworkModel | None = None,
    relay_count: int = 3,
) -> FiregroundPlan:
    """Assign ``trucks`` trucks to hydrants around a fire (see the module docstring).

    Parameters
    ----------
    candidates
        One row per hydrant, columns :data:`CANDIDATE_COLUMNS`: ``hose_m`` the hose-lay distance
        from the fire (NaN: beyond the search), ``status`` the live status (``out_of_service``
        is excluded, ``unknown`` stays usable and is shown), ``group`` the branch group
        (``-1`` the looped core), ``junction`` the model node (None when not on the model).
    trucks, truck_lps
        Number of trucks and the flow each draws (L/s).
    reach_m
        Hose-lay reach (m); hydrants farther away are only relay candidates.
    residual_mpa
        Pressure every drawing hydrant keeps (the preset's ``hydrant_worst_point``).
    wn
        The hydraulic model, or None for the branch rule.
    relay_count
        How many relay hydrants to give when none is within reach.
    """
    _check(trucks, truck_lps, reach_m)
    table = candidates.loc[:, CANDIDATE_COLUMNS].copy()
    table["hydrant_id"] = table["hydrant_id"].astype(str)
    table["usable"] = table["status"].astype(str) != OUT_OF_SERVICE
    table["in_reach"] = table["hose_m"].notna() & (table["hose_m"] <= reach_m)
    table = table.sort_values(["hose_m", "hydrant_id"], na_position="last", kind="stable")
    ok = table[table["usable"] & table["in_reach"]]
    junction = dict(zip(table["hydrant_id"], table["junction"], strict=True))
    group = dict(zip(table["hydrant_id"], table["group"].astype(int), strict=True))
    naive = ok["hydrant_id"].head(trucks).tolist()
    not_computed: list[str] = []
    if wn is not None:
        assigned = _greedy_hydraulic(ok, wn, trucks=trucks, truck_lps=truck_lps, residual_mpa=residual_mpa)
        model = "hydraulic"
        plan_p = _by_hydrant(draw_pressures(wn, [junction[h] for h in assigned if junction[h] is not None],
                                            truck_lps=truck_lps), assigned, junction)
        naive_p = _by_hydrant(draw_pressures(wn, [junction[h] for h in naive if junction[h] is not None],
                                             truck_lps=truck_lps), naive, junction)
        below: list[str] | None = [h for h, p in naive_p.items() if p is not None and p < residual_mpa]
        if any(p is None for p in naive_p.values()):
            not_computed.append("pressure of hydrants not on the hydraulic model")
    else:
        assigned = _greedy_branch_rule(ok, trucks=trucks)
        model = "branch_rule"
        plan_p, naive_p, below = {}, {}, None
        not_computed.append("pressures (no hydraulic model: branch rule applied)")
    collisions = {g: k for g, k in Counter(group[h] for h in naive).items() if g != CORE_GROUP and k > 1}
    table["role"] = [
        ("plan" if h in assigned else "") + ("+naive" if h in naive else "") for h in table["hydrant_id"]
    ]
    table["role"] = table["role"].str.lstrip("+")
    relay = pd.DataFrame(columns=["hydrant_id", "hose_m", "relay_m"])
    if ok.empty:
        far = table[table["usable"] & table["hose_m"].notna() & ~table["in_reach"]].head(relay_count)
        relay = pd.DataFrame({"hydrant_id": far["hydrant_id"], "hose_m": far["hose_m"],
                              "relay_m": far["hose_m"] - reach_m}).reset_index(drop=True)
        if far.empty:
            not_computed.append("relay distances (no usable hydrant within the search distance)")
    return FiregroundPlan(
        model=model, trucks=trucks, truck_lps=truck_lps, reach_m=reach_m, residual_mpa=residual_mpa,
        assigned=assigned, pressures_mpa=plan_p, naive=naive, naive_pressures_mpa=naive_p,
        naive_collisions=collisions, naive_below_residual=below, unassigned=trucks - len(assigned),
        candidates=table.reset_index(drop=True), relay=relay, not_computed=not_computed,
    )


def _greedy_branch_rule(ok: pd.DataFrame, *, trucks: int) -> list[str]:
    """One truck per branch group; looped-core hydrants (any number) first, nearest first."""
    order = ok.assign(_core=ok["group"].astype(int) != CORE_GROUP).sort_values(
        ["_core", "hose_m", "hydrant_id"], kind="stable")
    chosen: list[str] = []
    used: set[int] = set()
    for h, g in zip(order["hydrant_id"], order["group"].astype(int), strict=True):
        if len(chosen) == trucks:
            break
        if g != CORE_GROUP and g in used:
            continue
        used.add(g)
        chosen.append(h)
    return chosen


def _greedy_hydraulic(
    ok: pd.DataFrame, wn: wntr.network.WaterNetworkModel, *, trucks: int, truck_lps: float,
    residual_mpa: float,
) -> list[str]:
    """Nearest first, a hydrant is kept when every hydrant used stays at or above the residual."""
    chosen: list[str] = []
    draws: list[str] = []
    for h, j in zip(ok["hydrant_id"], ok["junction"], strict=True):
        if len(chosen) == trucks:
            break
        if j is None or (isinstance(j, float) and math.isnan(j)):
            continue
        trial = [*draws, str(j)]
        p = draw_pressures(wn, trial, truck_lps=truck_lps)
        if all(v is not None and v >= residual_mpa for v in p.values()):
            chosen.append(h)
            draws = trial
    return chosen


def fireground_candidates(
    graph: StreetGraph, hydrants: pd.DataFrame, snaps: SnapResult, point: object, *, search_m: float,
    snap_distance_m: float = 60.0,
) -> pd.DataFrame:
    """:data:`CANDIDATE_COLUMNS` for :func:`plan_fireground` from an analysis' ``hydrants_analysis``.

    ``snaps`` are the hydrants' snaps (``Analysis.hydrant_snaps``, aligned with ``hydrants``).
    The fire point (shapely point, the graph's CRS) snaps to its nearest street edge
    (:func:`routing.snap.snap_points`); one bounded search (:func:`hydrants_in_reach`) runs from
    the nearer end of that edge. A hydrant's hose-lay distance is the fire's offset to its edge,
    plus the street distance to the nearer end of the hydrant's snapped edge along it, plus the
    hydrant's own offset (NaN: not snapped, or beyond ``search_m``). ``group`` is
    ``branch_group`` (-1 without mains), ``junction`` the model junction (None without one).

    Raises
    ------
    ConfigError
        When the fire point is farther than ``snap_distance_m`` from every street.
    """
    from routing.snap import snap_points

    fire = snap_points(graph, [point], max_distance_m=snap_distance_m)
    edge = int(fire.edge[0])
    if edge < 0:
        raise ConfigError(f"fireground: the fire point is more than {snap_distance_m:g} m from any street; "
                          "give a point on or near a street")
    pos = float(fire.position_m[0])
    length = float(graph.length_m[edge])
    near_u = pos <= length / 2
    start, lead = (int(graph.u_idx[edge]), pos) if near_u else (int(graph.v_idx[edge]), length - pos)
    lead += float(fire.offset_m[0])
    h_edge = np.asarray(snaps.edge, dtype=np.int64)
    snapped = h_edge >= 0
    e = np.where(snapped, h_edge, 0)
    h_pos = np.asarray(snaps.position_m, dtype=np.float64)
    h_off = np.asarray(snaps.offset_m, dtype=np.float64)
    h_len = graph.length_m[e]
    du = hydrants_in_reach(graph, start, graph.u_idx[e], limit_m=search_m) + h_pos
    dv = hydrants_in_reach(graph, start, graph.v_idx[e], limit_m=search_m) + (h_len - h_pos)
    hose = np.fmin(du, dv) + lead + h_off
    hose = np.where(snapped, hose, np.nan)
    same = snapped & (h_edge == edge)  # on the fire's own edge: along it
    hose = np.where(same, np.abs(h_pos - pos) + float(fire.offset_m[0]) + h_off, hose)
    hose = np.where(hose <= search_m, hose, np.nan)
    group = (hydrants["branch_group"].fillna(CORE_GROUP).astype(int).to_numpy()
             if "branch_group" in hydrants.columns else np.full(len(hydrants), CORE_GROUP))
    junction = (hydrants["junction"].astype(object).where(hydrants["junction"].notna(), None).to_numpy()
                if "junction" in hydrants.columns else np.full(len(hydrants), None, dtype=object))
    return pd.DataFrame({"hydrant_id": hydrants["hydrant_id"].astype(str).to_numpy(), "hose_m": hose,
                         "status": hydrants["status"].astype(str).to_numpy(), "group": group,
                         "junction": junction})


def with_model(candidates: pd.DataFrame, hydrants: gpd.GeoDataFrame, mains: Mains) -> pd.DataFrame:
    """``candidates`` (aligned with ``hydrants``) with each hydrant's model junction and branch
    group from ``mains`` (:func:`routing.mains.link_hydrants`, nearest pipe within
    :data:`routing.mains.LINK_TOLERANCE_M`)."""
    from routing.mains import LINK_TOLERANCE_M, hydrant_groups, hydrant_junctions, link_hydrants

    links = link_hydrants(hydrants, mains, tolerance_m=LINK_TOLERANCE_M)
    junctions = hydrant_junctions(hydrants, links, mains)
    out = candidates.copy()
    out["junction"] = [junctions.get(h) for h in out["hydrant_id"]]
    out["group"] = np.asarray(hydrant_groups(links, mains), dtype=np.int64)
    return out
