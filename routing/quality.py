"""The data-quality section of an analysis: what the inputs held and which results each gap weakens.

:func:`analysis_quality` starts from :func:`geo.quality.input_quality` and adds what only the
analysis knows: the stations it could use, the truck speeds (always the preset's table: assumed),
the blockage reports (:func:`blockage_quality`) and, for every input that is not complete, the
results its gap weakens (``weakens``, codes of :data:`WEAKENS`). Its warnings add the results
that were not computed because of a gap (siting not run without hydrant data, blockages not
ranked without stations).

``summary.json`` ``quality`` holds one entry per input and ``warnings`` (see :mod:`geo.quality`).
"""

from __future__ import annotations

from typing import Any

from geo.layers import Layers
from geo.presets import Preset
from geo.quality import (
    hydrant_quality,
    hydrant_warnings,
    input_quality,
    input_warnings,
    level_of,
    note_warnings,
    warning,
)

#: Display order of the inputs (agency files follow what they feed).
INPUTS: tuple[str, ...] = (
    "roads", "hydrants", "agency_hydrants", "buildings", "stations", "agency_stations", "speeds",
    "water_sources", "pump_connectors", "mains", "districts", "blockages",
)

#: The results a gap in each input weakens (result codes, translated in ``reports.i18n``).
WEAKENS: dict[str, tuple[str, ...]] = {
    "roads": ("response", "high_rise_access", "blockage_ranking"),
    "hydrants": ("coverage", "building_water", "grading", "siting"),
    "agency_hydrants": ("coverage", "building_water", "grading", "siting"),
    "buildings": ("high_rise_classes", "building_water", "high_rise_access", "blockage_ranking",
                  "grading"),
    "stations": ("response", "blockage_ranking"),
    "agency_stations": ("response", "blockage_ranking"),
    "speeds": ("response", "blockage_ranking"),
    "water_sources": (),
    "pump_connectors": ("building_water",),
    "mains": ("building_water",),
    "districts": ("grading",),
    "blockages": ("blockage_ranking",),
}


def has_hydrant_data(layers: Layers) -> bool:
    """Whether the study area holds any hydrant at all.

    None means the hydrant data is missing (OSM in China maps almost none), not that the area has
    no hydrant: coverage, building water and grades are then not computed.
    """
    return len(layers.hydrants) > 0


def _weakens(entries: dict[str, dict[str, Any]]) -> None:
    for name, entry in entries.items():
        if name == "warnings":
            continue
        gap = entry["level"] != "complete" or bool(entry.get("notes"))
        entry["weakens"] = list(WEAKENS.get(name, ())) if gap else []


def _ordered(entries: dict[str, dict[str, Any]]) -> dict[str, Any]:
    known = [k for k in INPUTS if k in entries]
    return {k: entries[k] for k in [*known, *(k for k in entries if k not in INPUTS)]}


def speeds_entry(preset: Preset) -> dict[str, Any]:
    """Truck speeds: always the preset's table by road class (no measured speeds are read)."""
    n = len(preset.speeds_kmh)
    return {"level": "assumed", "held": {"classes": n}, "assumed": {"speeds_kmh": n},
            "missing": {}, "notes": []}


def analysis_quality(
    layers: Layers,
    *,
    preset: Preset,
    stations_used: int | None,
    siting: str,
) -> dict[str, Any]:
    """The ``quality`` section of an analysis (without the blockage entry: see
    :func:`with_blockage_quality`).

    Parameters
    ----------
    layers
        The workspace layers.
    preset
        The preset (its speed table is an assumption).
    stations_used
        Stations snapped to a passable road, None when there were none to snap.
    siting
        ``run``, ``off`` (switched off), ``no_hydrant_data`` (not run: no hydrants) or
        ``without_hydrant_data`` (run on request although no hydrants are known).
    """
    entries = input_quality(layers)
    stations = entries["stations"]
    if stations_used is not None:
        total = int(stations["held"]["total"])
        stations["held"]["used"] = stations_used
        stations["missing"] = {"snapped": total - stations_used} if stations_used < total else {}
        if stations_used == 0 and total:
            stations["level"] = "missing"
        elif stations_used < total:
            stations["level"] = level_of(total, total - stations_used, assumed=False)
    entries["speeds"] = speeds_entry(preset)
    _weakens(entries)
    warnings = [*input_warnings(entries), *note_warnings(layers)]
    if stations_used == 0 and stations["held"]["total"]:
        warnings.append(warning(
            "stations_not_snapped", "stations", "warning",
            f"none of the {stations['held']['total']} stations is near a passable road: station "
            "response is not computed",
        ))
    if siting == "no_hydrant_data":
        warnings.append(warning(
            "siting_not_run", "hydrants", "warning",
            "no hydrants proposed: with no hydrant data every street would look uncovered; ask "
            "explicitly with --new-hydrants K or --budget CNY to plan as if there were none",
        ))
    elif siting == "without_hydrant_data":
        warnings.append(warning(
            "siting_without_hydrants", "hydrants", "warning",
            "the proposed hydrants assume that no hydrant exists today (no hydrant data): the "
            "figures added are relative to no coverage at all",
        ))
    return {**_ordered(entries), "warnings": _sorted(warnings)}


def _sorted(warnings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(warnings, key=lambda w: w["severity"] != "error")


def blockage_entry(summary: dict[str, Any], *, given: bool) -> dict[str, Any]:
    """The ``blockages`` entry from the ``blockages`` summary figures."""
    total = int(summary.get("total") or 0)
    if not given or total == 0:
        return {"level": "missing", "held": {"total": 0}, "assumed": {}, "missing": {},
                "notes": [], "weakens": list(WEAKENS["blockages"])}
    rejected = summary.get("rejected")
    held: dict[str, Any] = {"total": total}  # the snapped share is told by ``missing``
    ranked = bool(summary.get("ranked"))
    level = level_of(total, int(rejected or 0), assumed=False) if ranked else "partial"
    entry = {"level": level, "held": held, "assumed": {},
             "missing": {"snapped": int(rejected)} if rejected else {}, "notes": []}
    entry["weakens"] = list(WEAKENS["blockages"]) if level != "complete" else []
    return entry


def with_blockage_quality(
    quality: dict[str, Any] | None, summary: dict[str, Any], *, given: bool
) -> dict[str, Any]:
    """``quality`` with its ``blockages`` entry and warnings made afresh for a blockage ranking.

    ``summary`` is the ``blockages`` summary section; ``given``: reports were given at all.
    """
    out = {k: v for k, v in (quality or {}).items() if k not in ("blockages", "warnings")}
    old = (quality or {}).get("blockages", {})
    entry = blockage_entry(summary, given=given)
    entry["notes"] = list(old.get("notes", []))
    out["blockages"] = entry
    warnings = [w for w in (quality or {}).get("warnings", []) if w.get("input") != "blockages"
                or w.get("code") == "note"]
    total = int(summary.get("total") or 0)
    if given and total and not summary.get("ranked"):
        warnings.append(warning(
            "blockages_not_ranked", "blockages", "warning",
            f"{total} blockage reports are not ranked: there is neither a fire station nor a "
            "main road to measure their impact from",
            total,
        ))
    return {**_ordered(out), "warnings": _sorted(warnings)}



#: Warning codes that follow the hydrants' statuses (made afresh by :func:`with_hydrant_quality`).
_HYDRANT_CODES = frozenset({"no_hydrants", "no_hydrant_in_service", "statuses_assumed",
                            "statuses_unknown"})


def mains_entry(water: dict[str, Any]) -> dict[str, Any]:
    """The ``mains`` entry from ``summary.json``'s ``water`` section: the pipes and supply
    points read, the pipes rejected and the hydrants on no known main. Without mains it is
    missing, and building water is credited hydrant by hydrant (the point model)."""
    mains = water.get("mains")
    if not mains:
        return {"level": "missing", "held": {"total": 0}, "assumed": {}, "missing": {},
                "notes": [], "weakens": list(WEAKENS["mains"])}
    pipes, rejected = int(mains.get("pipes") or 0), int(mains.get("rejected_pipes") or 0)
    unlinked = int(mains.get("hydrants_unlinked") or 0)
    linked = int(mains.get("hydrants_linked") or 0)
    level = level_of(pipes + rejected, rejected, assumed=False)
    if level == "complete" and unlinked and unlinked >= 0.05 * (linked + unlinked):
        level = "partial"
    missing = {k: v for k, v in (("pipes_rejected", rejected), ("hydrants_unlinked", unlinked))
               if v}
    entry = {"level": level,
             "held": {"total": pipes, "km": round(float(mains.get("length_m") or 0.0) / 1000.0, 3),
                      "supply_points": mains.get("supply_points"),
                      "hydrants_linked": linked},
             "assumed": {}, "missing": missing, "notes": []}
    entry["weakens"] = list(WEAKENS["mains"]) if level != "complete" else []
    return entry


def with_mains_quality(quality: dict[str, Any] | None, water: dict[str, Any]) -> dict[str, Any]:
    """``quality`` with its ``mains`` entry made from the ``water`` summary section."""
    out = {k: v for k, v in (quality or {}).items() if k != "warnings"}
    entry = mains_entry(water)
    # the mains reader's notes (an entry named after its file) belong to this entry
    source = str((water.get("mains") or {}).get("source") or "")
    own = out.pop(source.split(":", 1)[-1], None) if source else None
    if own is not None:
        entry["notes"] = list(own.get("notes", []))
        if entry["notes"]:  # a reader's warning (e.g. invented mains): not complete
            entry["weakens"] = list(WEAKENS["mains"])
            entry["level"] = "partial" if entry["level"] == "complete" else entry["level"]
    out["mains"] = entry
    return {**_ordered(out), "warnings": list((quality or {}).get("warnings", []))}


def with_hydrant_quality(quality: dict[str, Any] | None, layers: Layers) -> dict[str, Any]:
    """``quality`` with its ``hydrants`` entry and status warnings made afresh from ``layers``.

    For live hydrant updates: an inspection turns an assumed status into data.
    """
    if not quality:
        return {}
    entries = {"hydrants": hydrant_quality(layers)}  # the one input a status change touches
    _weakens(entries)
    entries["hydrants"]["notes"] = list(quality.get("hydrants", {}).get("notes", []))
    warnings = [w for w in quality.get("warnings", []) if w.get("code") not in _HYDRANT_CODES]
    out = {**{k: v for k, v in quality.items() if k != "warnings"}, **entries}
    return {**_ordered(out), "warnings": _sorted([*hydrant_warnings(entries["hydrants"]), *warnings])}
