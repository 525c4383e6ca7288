"""Hydrants on their mains, and the branch rule of GB 50974 6.1.5(3).

Each hydrant is linked to the main it stands on (:func:`link_hydrants`): by the hydrant file's
pipe-id column when it has one, else the nearest pipe within a tolerance. The pipe graph's looped
core (its 2-edge-connected part) and the trees hanging off it (bridges) are found with networkx
(:func:`branch_groups`); the hydrants on one tree form a branch group, and a building is credited
at most one hydrant's flow (the largest) from each group (:func:`cap_branch_credit`): "枝状管网
上的室外消火栓，其保护范围内的消火栓应只计一个". Hydrants on the looped core and hydrants with no
main link keep their own credit.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from geo.catalog import LayerName
from geo.mains import Mains
from geo.presets import Preset
from routing.findings import FINDING_COLUMNS, findings
from routing.hydraulics import hydrant_thresholds, worst_point

log = logging.getLogger(__name__)

__all__ = [
    "HYDRAULIC_COLUMNS",
    "LINK_TOLERANCE_M",
    "HydrantsOnMains",
    "MainLinks",
    "branch_groups",
    "cap_branch_credit",
    "hydrant_groups",
    "hydrant_hydraulics",
    "hydrant_junctions",
    "hydrants_on_mains",
    "link_hydrants",
]

#: Hydrants farther than this from every pipe are left unlinked (assumption: a hydrant's lead
#: from the main is rarely longer; utility layers are drawn to a few metres).
LINK_TOLERANCE_M = 30.0

#: Hydrant columns that name the pipe a hydrant stands on (normalised: lower case, no spaces).
_PIPE_ID_COLUMNS = ("pipe_id", "main_id", "管线编号", "管段编号", "所在管线", "pipeid", "mainid")


MainLinks = pd.DataFrame  # columns main_id, main_dn_mm, main_distance_m, main_link


def link_hydrants(
    hydrants: gpd.GeoDataFrame, mains: Mains, *, tolerance_m: float = LINK_TOLERANCE_M
) -> MainLinks:
    """The main each hydrant stands on: the pipe its row names (a ``pipe_id``/``管线编号``
    column of ``hydrants``, or :attr:`geo.mains.Mains.hydrant_pipes` by ``hydrant_id``), else
    the nearest pipe within ``tolerance_m``.

    Returns a frame aligned with ``hydrants``: ``main_id`` (missing when unlinked), ``main_dn_mm``
    and ``main_distance_m`` (NaN when unlinked, never 0 for "unknown"), ``main_link`` (``id``:
    the file's pipe column; ``nearest``; ``none``).
    """
    n = len(hydrants)
    pipes = mains.mains
    main_id = np.full(n, None, dtype=object)
    dist = np.full(n, np.nan)
    how = np.full(n, "none", dtype=object)
    index = {str(p): i for i, p in enumerate(pipes["pipe_id"].astype(str))}
    pipe_geoms = pipes.geometry.to_numpy()
    points = hydrants.geometry.to_numpy()
    column = next((c for c in hydrants.columns if str(c).strip().lower() in _PIPE_ID_COLUMNS), None)
    by_id = np.full(n, -1, dtype=np.int64)
    if column is not None:
        named = hydrants[column].astype(str).str.strip().to_numpy()
        by_id = np.array([index.get(v, -1) for v in named], dtype=np.int64)
    if mains.hydrant_pipes and "hydrant_id" in hydrants.columns:
        stated = [mains.hydrant_pipes.get(str(h), "") for h in hydrants["hydrant_id"]]
        from_file = np.array([index.get(p, -1) for p in stated], dtype=np.int64)
        by_id = np.where(by_id >= 0, by_id, from_file)
    ok = by_id >= 0
    main_id[ok] = pipes["pipe_id"].to_numpy()[by_id[ok]]
    dist[ok] = shapely.distance(points[ok], pipe_geoms[by_id[ok]])
    how[ok] = "id"
    rest = np.flatnonzero(~ok & ~shapely.is_missing(points))
    if len(rest) and len(pipes):
        tree = shapely.STRtree(pipe_geoms)
        (q, t), d = tree.query_nearest(points[rest], max_distance=tolerance_m,
                                       return_distance=True, all_matches=False)
        main_id[rest[q]] = pipes["pipe_id"].to_numpy()[t]
        dist[rest[q]] = d
        how[rest[q]] = "nearest"
    dn = pipes.set_index("pipe_id")["diameter_mm"]
    main_dn = np.array([dn.get(m, np.nan) if pd.notna(m) else np.nan for m in main_id],
                       dtype=np.float64)
    log.info("hydrants on mains: %d by id, %d nearest within %.0f m, %d unlinked",
             int((how == "id").sum()), int((how == "nearest").sum()), tolerance_m,
             int((how == "none").sum()))
    return pd.DataFrame({"main_id": main_id, "main_dn_mm": main_dn, "main_distance_m": dist,
                         "main_link": how})


def branch_groups(mains: Mains) -> pd.Series:
    """Each pipe's branch group: -1 on the looped core, else the id of the tree it belongs to.

    The looped core is every 2-edge-connected component with a cycle; removing it (its pipes
    and the core nodes' incidences) leaves the trees that hang off it, each one group. A
    network with no loop at all is one group per connected piece. Closed pipes are left out
    of the graph (they carry no water) and get their own group. Parallel pipes between the
    same two nodes form a loop.
    """
    pipes = mains.mains
    open_ = pipes["status"].to_numpy() != "closed"
    ends = list(zip(pipes["from_node"], pipes["to_node"], strict=True))
    simple = nx.Graph()
    count: dict[frozenset[object], int] = {}
    for i in np.flatnonzero(open_):
        u, v = ends[i]
        simple.add_edge(u, v)
        count[frozenset((u, v))] = count.get(frozenset((u, v)), 0) + 1
    bridges = {frozenset(e) for e in nx.bridges(simple) if count[frozenset(e)] == 1}
    on_tree = np.array([open_[i] and frozenset(ends[i]) in bridges for i in range(len(pipes))],
                       dtype=bool)
    core_nodes = {n for i in np.flatnonzero(open_ & ~on_tree) for n in ends[i]}
    # trees: bridge pipes joined where they share a node off the core
    forest = nx.Graph()
    at_node: dict[object, list[int]] = {}
    for i in np.flatnonzero(on_tree):
        forest.add_node(int(i))
        for node in ends[i]:
            if node not in core_nodes:
                at_node.setdefault(node, []).append(int(i))
    for ks in at_node.values():
        forest.add_edges_from(itertools.pairwise(ks))
    group = np.full(len(pipes), -1, dtype=np.int64)
    next_group = 0
    for comp in nx.connected_components(forest):
        group[sorted(comp)] = next_group
        next_group += 1
    for i in np.flatnonzero(~open_):
        group[i] = next_group
        next_group += 1
    return pd.Series(group, index=pipes.index, name="branch_group")


def hydrant_groups(links: MainLinks, mains: Mains) -> np.ndarray:
    """Each hydrant's branch group (-1: on the looped core or not linked to a main)."""
    groups = branch_groups(mains)
    by_pipe = dict(zip(mains.mains["pipe_id"], groups.to_numpy(), strict=True))
    return np.array([by_pipe.get(m, -1) if pd.notna(m) else -1 for m in links["main_id"]],
                    dtype=np.int64)


def cap_branch_credit(pairs: pd.DataFrame, groups: np.ndarray) -> pd.DataFrame:
    """Credit at most one hydrant per (building, branch group): the largest credit.

    ``pairs`` has ``building``, ``hydrant``, ``credited_lps``; the others of a group keep their
    row (they are in range) with ``credited_lps`` 0 and ``branch_capped`` True, and every row
    keeps its own credit as ``uncapped_lps`` (so that a what-if without a group's credited
    hydrant can cap the rest again).
    """
    out = pairs.copy()
    group = np.asarray(groups, dtype=np.int64)[out["hydrant"].to_numpy()]
    out["branch_group"] = group
    out["branch_capped"] = False
    out["uncapped_lps"] = out["credited_lps"].to_numpy(dtype=np.float64)
    on_branch = group >= 0
    if not on_branch.any():
        return out
    branch = out.loc[on_branch].sort_values(["building", "branch_group", "credited_lps"],
                                            ascending=[True, True, False], kind="stable")
    extra = branch.duplicated(["building", "branch_group"], keep="first")
    capped = branch.index[extra.to_numpy()]
    out.loc[capped, "credited_lps"] = 0.0
    out.loc[capped, "branch_capped"] = True
    return out


def small_main_findings(hydrants: pd.DataFrame, preset: Preset) -> pd.DataFrame:
    """GB 50974 8.1.4: one finding per hydrant linked to a main below the preset's
    ``fire_main_min_dn`` (DN100), naming the pipe. Hydrants on no known main, or on a main of
    unknown diameter, are not judged; none when the preset lacks the rule."""
    if "fire_main_min_dn" not in preset.rules or "main_dn_mm" not in hydrants.columns:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    rule = preset.rule("fire_main_min_dn")
    limit = 1000.0 * rule.value("value_m")  # nominal diameter in mm, as main_dn_mm
    dn = hydrants["main_dn_mm"].to_numpy(dtype=np.float64, na_value=np.nan)
    small = np.isfinite(dn) & (dn < limit - 1e-9)
    found = findings("hydrants", hydrants["hydrant_id"].to_numpy(), small, rule, values=dn,
                     limit=limit, message="hydrant on a DN{value:.0f} main; fire mains must be at "
                     "least DN{limit:.0f}")
    pipes = hydrants["main_id"].astype(str).to_numpy(dtype=object)[small]
    found["message"] = found["message"].to_numpy(dtype=object) + " (pipe " + pipes + ")"
    return found


def water_summary(
    mains: Mains | None,
    links: MainLinks | None,
    groups: np.ndarray | None,
    hydraulics: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``summary.json``'s ``water`` section: the model used and the mains' counts.

    ``model`` is ``points`` (no mains: each hydrant credited alone) or ``branch_rule`` (mains
    given: one credit per branch group). With an EPANET model, ``hydraulics`` holds each
    hydrant's available fire flow summed up (:func:`hydrant_hydraulics`); buildings are still
    credited by the branch rule (a simultaneous draw per building is not yet used), so the
    model label stays ``branch_rule``.
    """
    if mains is None or links is None or groups is None:
        return {"model": "points", "mains": None}
    linked = links["main_id"].notna().to_numpy()
    unlinked = int((~linked).sum())
    return {
        "model": "branch_rule",
        "note": (f"{unlinked} hydrant(s) stand on no known main (none named, none within the link "
                 "tolerance): each credited alone, as without mains; check the mains layer there"
                 if unlinked else None),
        "mains": {
            **mains.counts(),
            "hydrants_linked": int(linked.sum()),
            "hydrants_unlinked": int((~linked).sum()),
            "hydrants_on_branches": int((groups >= 0).sum()),
            "branch_groups": len(np.unique(groups[groups >= 0])),
        },
        "hydraulics": hydraulics,
    }


def mains_layers(mains: Mains | None) -> dict[str, gpd.GeoDataFrame]:
    """The result layers of the mains (none without mains): the pipes with their branch group
    (-1: looped core) and the supply points."""
    if mains is None:
        return {}
    pipes = mains.mains.copy()
    pipes["branch_group"] = branch_groups(mains).to_numpy()
    return {LayerName.WATER_MAINS: pipes, LayerName.WATER_SUPPLY: mains.supply}


def hydrant_junctions(hydrants: gpd.GeoDataFrame, links: MainLinks, mains: Mains) -> dict[str, str]:
    """Hydrant id -> the model junction it draws from: the nearer end node of the main it stands
    on (a hydrant's lead joins the main between two junctions of the model; the nearer one
    stands for it). Unlinked hydrants are left out."""
    pipes = mains.mains
    if len(pipes) == 0 or "from_node" not in pipes.columns:
        return {}
    row_of = {str(p): i for i, p in enumerate(pipes["pipe_id"].astype(str))}
    rows = np.array([row_of.get(str(m), -1) if pd.notna(m) else -1 for m in links["main_id"]],
                    dtype=np.int64)
    ok = np.flatnonzero(rows >= 0)
    lines = pipes.geometry.to_numpy()[rows[ok]]
    points = hydrants.geometry.to_numpy()[ok]
    near_start = (shapely.distance(points, shapely.get_point(lines, 0))
                  <= shapely.distance(points, shapely.get_point(lines, -1)))
    start = pipes["from_node"].astype(str).to_numpy()[rows[ok]]
    end = pipes["to_node"].astype(str).to_numpy()[rows[ok]]
    ids = hydrants["hydrant_id"].astype(str).to_numpy()[ok]
    return dict(zip(ids.tolist(), np.where(near_start, start, end).tolist(), strict=True))


#: Columns the hydraulic model adds to ``hydrants_analysis`` (:func:`hydrant_hydraulics`).
HYDRAULIC_COLUMNS = ("junction", "static_pressure_mpa", "available_flow_lps", "flow_limited_by")


def hydrant_hydraulics(
    hydrants: gpd.GeoDataFrame, links: MainLinks | None, mains: Mains | None, *, preset: Preset
) -> tuple[pd.DataFrame | None, dict[str, Any] | None]:
    """With an EPANET model (``--network``): each linked hydrant's static pressure and available
    fire flow at the preset's residual pressure (:func:`routing.hydraulics.worst_point`), as
    columns aligned with ``hydrants`` (:data:`HYDRAULIC_COLUMNS`; NaN and ``not on the model``
    where not computed), and the ``water.hydraulics`` summary: the least favourable hydrant
    against GB 55036 3.0.3. (None, None) without a model."""
    if mains is None or mains.wntr is None or links is None:
        return None, None
    thresholds = hydrant_thresholds(preset)
    point = worst_point(mains.wntr, hydrant_junctions(hydrants, links, mains), thresholds=thresholds)
    flows = point.flows.drop_duplicates("hydrant_id").set_index("hydrant_id")
    ids = hydrants["hydrant_id"].astype(str)
    columns = pd.DataFrame({
        "junction": ids.map(flows["junction"]).to_numpy(dtype=object),
        "static_pressure_mpa": ids.map(flows["static_pressure_mpa"]).to_numpy(dtype=np.float64),
        "available_flow_lps": ids.map(flows["available_flow_lps"]).to_numpy(dtype=np.float64),
        "flow_limited_by": ids.map(flows["limited_by"]).fillna("not on the model").to_numpy(dtype=object),
    })
    computed = int(np.isfinite(columns["available_flow_lps"].to_numpy()).sum())
    summary = {
        "hydrants_computed": computed,
        "residual_mpa": thresholds.residual_mpa,
        "required_flow_lps": thresholds.worst_flow_lps,
        "worst_hydrant": point.hydrant_id,
        "worst_flow_lps": point.available_flow_lps if point.hydrant_id is not None else None,
        "worst_point_met": point.holds,
        "below_main_pressure": point.below_main_pressure if computed else None,
        "clause": thresholds.clause,
    }
    log.info("hydraulics: available fire flow of %d hydrant(s); least favourable %s (%s L/s)",
             computed, point.hydrant_id, summary["worst_flow_lps"])
    return columns, summary


@dataclass(frozen=True)
class HydrantsOnMains:
    """What :func:`hydrants_on_mains` found: each hydrant's main (:func:`link_hydrants`), its
    branch group (:func:`hydrant_groups`) and, with an EPANET model, its available fire flow
    (:func:`hydrant_hydraulics`: columns and summary, None without a model)."""

    links: MainLinks
    groups: np.ndarray
    flows: pd.DataFrame | None
    hydraulics: dict[str, Any] | None


def hydrants_on_mains(
    hydrants: gpd.GeoDataFrame, mains: Mains | None, *, tolerance_m: float, preset: Preset
) -> HydrantsOnMains | None:
    """The hydrants on the mains, for :func:`routing.analysis.analyze` (None without mains)."""
    if mains is None:
        return None
    links = link_hydrants(hydrants, mains, tolerance_m=tolerance_m)
    flows, hydraulics = hydrant_hydraulics(hydrants, links, mains, preset=preset)
    return HydrantsOnMains(links, hydrant_groups(links, mains), flows, hydraulics)
