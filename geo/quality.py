"""What the inputs held: one data-quality entry per input, and the loud warnings.

Real inputs are incomplete: OSM in China maps almost no hydrants, most buildings have no height,
road widths are rarely tagged, an agency list may have no status column. A figure computed on
such data looks as authoritative as one computed on complete data, so every run says, per input,
what it held, what was assumed in its place and what was missing (:func:`input_quality`), and
raises a warning for the gaps that make a headline result meaningless (:func:`input_warnings`).
:mod:`routing.quality` adds which results each gap weakens and the analysis-level gaps.

An entry (``summary.json`` ``quality.<input>``)::

    {"level": "partial", "held": {"total": 120, ...}, "assumed": {"status": 80},
     "missing": {"status": 12}, "notes": ["..."]}

``held`` counts what the input has, ``assumed`` what the analysis put in place of missing values
(a default of the preset or the data model), ``missing`` what is absent with nothing in its place
(those rows do not count where the value is needed).

Levels
------
The share ``s`` of the rows whose deciding value is not in the data (for hydrants their status,
the value coverage rests on; for buildings their height; for roads their width; for agency
files the rows rejected):

- ``missing``: the input holds no rows, or ``s`` ≥ 90 % (:data:`MOSTLY`) and nothing is assumed
  in place of the value (building heights unknown: classes and volumes are unknown);
- ``assumed``: ``s`` ≥ 90 % and a default stands in for the value (hydrant statuses assumed in
  service, road widths estimated from the road class);
- ``partial``: 5 % (:data:`COMPLETE_MAX`) < ``s`` < 90 %;
- ``complete``: ``s`` ≤ 5 %.

Inputs without a deciding value (stations, water sources, pump connectors, districts) are
``complete`` when they hold rows and ``missing`` when they hold none. Hydrant flows are listed
under ``assumed`` (a hydrant without a flow is credited the preset's flow) but do not set the
level: the status does.

Warnings
--------
A warning is ``{"code", "input", "severity", "count", "message"}``; ``severity`` is ``error``
when a headline result cannot be computed or is not to be trusted (no hydrants, no hydrant in
service, an agency file none of whose rows could be used, no roads) and ``warning`` otherwise
(no stations, ≥ 90 % of building heights unknown, ≥ 90 % of hydrant statuses assumed, half the
statuses unknown, more than 5 % of an agency file's rows rejected). ``message`` is English; the
reports show a translated text for each ``code`` (:mod:`reports.i18n`). Reader notes
(:class:`geo.notes.Note`) are folded in: their message joins the input's ``notes`` and a note of
level ``error`` or ``warning`` becomes a warning with code ``note``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from geo.layers import Layers

#: Share of rows without their deciding value up to which an input is complete.
COMPLETE_MAX = 0.05
#: Share from which an input is ``assumed`` (a default stands in) or ``missing`` (nothing does).
MOSTLY = 0.90
#: Share of hydrants of unknown status (not counted) from which a warning is raised.
UNKNOWN_STATUS_WARN = 0.5
#: The levels, best first.
LEVELS: tuple[str, ...] = ("complete", "partial", "assumed", "missing")
#: Status sources that are data (an OSM tag, an agency file, an inspection), not an assumption.
_STATUS_DATA = ("tag", "agency", "inspection")


def level_of(n: int, gap: int, *, assumed: bool) -> str:
    """The level of an input of ``n`` rows of which ``gap`` lack their deciding value.

    ``assumed``: a default stands in for the missing value (see the module docstring).
    """
    if n == 0:
        return "missing"
    share = gap / n
    if share >= MOSTLY:
        return "assumed" if assumed else "missing"
    return "partial" if share > COMPLETE_MAX else "complete"


def _entry(level: str, held: dict[str, Any], assumed: dict[str, int] | None = None,
           missing: dict[str, int] | None = None) -> dict[str, Any]:
    return {"level": level, "held": held, "assumed": assumed or {}, "missing": missing or {},
            "notes": []}


def _column(frame: pd.DataFrame, name: str) -> np.ndarray:
    """A text column as an array ('' where absent or null)."""
    if name not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    col = frame[name]
    return col.astype(object).where(col.notna(), "").astype(str).to_numpy(dtype=object)


def _roads(layers: Layers) -> dict[str, Any]:
    r = layers.roads
    source = _column(r, "width_source")
    estimated = int((source == "estimated").sum())
    held = {"edges": len(r), "km": round(float(r["length_m"].sum()) / 1000.0, 3),
            "width_tagged": len(r) - estimated}
    return _entry(level_of(len(r), estimated, assumed=True), held,
                  {"width_from_class": estimated} if estimated else {})


def hydrant_quality(layers: Layers) -> dict[str, Any]:
    """The ``hydrants`` entry of :func:`input_quality` alone (notes not added)."""
    h = layers.hydrants
    n = len(h)
    status = _column(h, "status")
    source = _column(h, "status_source")
    assumed = int((source == "assumed").sum())
    unknown = int((status == "unknown").sum())
    flow = pd.to_numeric(h["flow_lps"], errors="coerce").to_numpy(dtype=np.float64) if n else np.zeros(0)
    no_flow = int((~np.isfinite(flow)).sum())
    held = {
        "total": n,
        "in_service": int((status == "in_service").sum()),
        "out_of_service": int((status == "out_of_service").sum()),
        "low_pressure": int((status == "low_pressure").sum()),
        "unknown": unknown,
        "status_from_data": int(np.isin(source, _STATUS_DATA).sum()),
        "flow_known": n - no_flow,
        "from_osm": int((_column(h, "source") == "osm").sum()),
        "from_agency": int((_column(h, "source") == "agency").sum()),
    }
    assumed_counts = {k: v for k, v in (("status", assumed), ("flow_by_preset", no_flow)) if v}
    level = level_of(n, assumed + unknown, assumed=assumed >= unknown)
    entry = _entry(level, held, assumed_counts, {"status": unknown} if unknown else {})
    if assumed:  # what the preset's rule (hydrant_status.missing) made of the unstated statuses
        entry["assumed_status"] = str(pd.Series(status[source == "assumed"]).mode().iloc[0])
    return entry


def _buildings(layers: Layers) -> dict[str, Any]:
    b = layers.buildings
    n = len(b)
    source = _column(b, "height_source")
    unknown = int((source == "unknown").sum())
    from_levels = int((source == "levels").sum())
    held = {"total": n, "height_tagged": int((source == "height").sum()),
            "height_from_levels": from_levels, "use_known": int((_column(b, "use") != "unknown").sum())}
    if n and unknown / n > COMPLETE_MAX:
        level = level_of(n, unknown, assumed=False)
    else:
        level = level_of(n, from_levels, assumed=True)
    return _entry(level, held, {"height_from_levels": from_levels} if from_levels else {},
                  {"height": unknown} if unknown else {})


def _present(frame: pd.DataFrame, **held: int) -> dict[str, Any]:
    """An input without a deciding value: complete when it holds rows."""
    return _entry("complete" if len(frame) else "missing", {"total": len(frame), **held})


def _agency_rejects(layers: Layers, layer: str) -> tuple[int, list[str]]:
    """Rows of agency files for ``layer`` that were rejected (file rows have a row number)."""
    rej = layers.rejects
    if not len(rej) or "row" not in rej.columns:
        return 0, []
    mine = rej.loc[(rej["layer"].astype(str) == layer) & rej["row"].notna()]
    rows = mine.drop_duplicates(["file", "row"])
    return len(rows), sorted({str(f) for f in rows["file"]})


def _agency(layers: Layers, layer: str, frame: pd.DataFrame) -> dict[str, Any] | None:
    """The agency file entry of ``layer`` (None when no agency file was read for it)."""
    used_mask = _column(frame, "source") == "agency"
    used = int(used_mask.sum())
    rejected, files = _agency_rejects(layers, layer)
    if used == 0 and rejected == 0:
        return None
    if "source_file" in frame.columns:
        files = sorted({*files, *(f for f in _column(frame, "source_file")[used_mask] if f)})
    entry = _entry(level_of(used + rejected, rejected, assumed=False) if used else "missing",
                   {"rows_used": used, "rows_rejected": rejected})
    entry["files"] = files
    return entry


def input_quality(layers: Layers) -> dict[str, dict[str, Any]]:
    """One data-quality entry per input of ``layers`` (see the module docstring).

    Inputs: ``roads``, ``hydrants``, ``buildings``, ``stations``, ``water_sources``,
    ``pump_connectors``, ``districts``, and ``agency_hydrants`` / ``agency_stations`` when an
    agency file was read for them (found from the rows it gave or the rows it lost). Reader notes
    (:attr:`geo.layers.Layers.notes`) are added to their input's ``notes``.
    """
    d = layers.districts
    c = layers.pump_connectors
    s = layers.stations
    out: dict[str, dict[str, Any]] = {
        "roads": _roads(layers),
        "hydrants": hydrant_quality(layers),
        "buildings": _buildings(layers),
        "stations": _present(s, from_agency=int((_column(s, "source") == "agency").sum())),
        "water_sources": _present(layers.water_sources),
        "pump_connectors": _present(c, linked=int((_column(c, "building_id") != "").sum())),
        "districts": _present(d, from_file=int(d["admin_level"].isna().sum()) if len(d) else 0),
    }
    for layer, frame in (("hydrants", layers.hydrants), ("stations", s)):
        agency = _agency(layers, layer, frame)
        if agency is not None:
            out[f"agency_{layer}"] = agency
    for note in layers.notes:
        out.setdefault(note.input, _entry("partial", {})).setdefault("notes", []).append(note.message)
    return out


def warning(code: str, input_name: str, severity: str, message: str,
            count: int | None = None) -> dict[str, Any]:
    """One entry of ``quality.warnings``."""
    return {"code": code, "input": input_name, "severity": severity, "count": count,
            "message": message}


def hydrant_warnings(h: dict[str, Any]) -> list[dict[str, Any]]:
    """The warnings of a ``hydrants`` entry (no hydrants, none in service, statuses assumed)."""
    held = h["held"]
    n = int(held["total"])
    if n == 0:
        return [warning(
            "no_hydrants", "hydrants", "error",
            "no hydrants in the study area: the hydrant data is missing (OSM maps few hydrants, "
            "almost none in China), not proof that none exist; street coverage, building water "
            "and district grades are not computed and no hydrants are proposed - give the "
            "agency list with --hydrants FILE",
        )]
    out: list[dict[str, Any]] = []
    if held["in_service"] == 0:
        out.append(warning(
            "no_hydrant_in_service", "hydrants", "error",
            f"none of the {n} hydrants is in service (status unknown, out of service or low "
            "pressure): coverage counts in-service hydrants only, so every street is uncovered; "
            "check the file's status column",
            n,
        ))
    assumed = int(h["assumed"].get("status", 0))
    if assumed and assumed >= MOSTLY * n:
        taken_as = str(h.get("assumed_status", "in_service"))
        out.append({**warning(
            "statuses_assumed", "hydrants", "warning",
            f"{assumed} of {n} hydrant statuses are not in the data and were taken as "
            f"{taken_as.replace('_', ' ')} (preset rule hydrant_status.missing)",
            assumed,
        ), "status": taken_as})
    unknown = int(held["unknown"])
    if unknown and unknown >= UNKNOWN_STATUS_WARN * n and held["in_service"]:
        out.append(warning(
            "statuses_unknown", "hydrants", "warning",
            f"{unknown} of {n} hydrants have an unknown status and are not counted for coverage",
            unknown,
        ))
    return out


def input_warnings(entries: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The loud messages for the gaps in ``entries`` (:func:`input_quality`), errors first."""
    out: list[dict[str, Any]] = []
    if "roads" in entries and entries["roads"]["held"].get("edges", 0) == 0:
        out.append(warning("no_roads", "roads", "error",
                           "no drivable roads in the data: nothing can be measured"))
    if "hydrants" in entries:
        out += hydrant_warnings(entries["hydrants"])
    for layer in ("hydrants", "stations"):
        agency = entries.get(f"agency_{layer}")
        if agency is None:
            continue
        used, rejected = agency["held"]["rows_used"], agency["held"]["rows_rejected"]
        if used == 0:
            out.append(warning(
                "no_agency_rows", f"agency_{layer}", "error",
                f"none of the {rejected} rows of the {layer} file could be used (see "
                "rejects.csv for each row's reason)",
                rejected,
            ))
        elif rejected > COMPLETE_MAX * (used + rejected):
            out.append(warning(
                "agency_rows_rejected", f"agency_{layer}", "warning",
                f"{rejected} of {used + rejected} rows of the {layer} file were rejected (see "
                "rejects.csv)",
                rejected,
            ))
    if "stations" in entries and entries["stations"]["held"]["total"] == 0:
        out.append(warning(
            "no_stations", "stations", "warning",
            "no fire stations: station response and the blockage ranking are not computed - "
            "give --stations FILE",
        ))
    b = entries.get("buildings")
    if b is not None and b["held"]["total"]:
        unknown = int(b["missing"].get("height", 0))
        if unknown >= MOSTLY * b["held"]["total"]:
            out.append(warning(
                "heights_unknown", "buildings", "warning",
                f"{unknown} of {b['held']['total']} buildings have no height or levels: their "
                "high-rise class and required fire flow are unknown",
                unknown,
            ))
    return sorted(out, key=lambda w: w["severity"] != "error")


def note_warnings(layers: Layers) -> list[dict[str, Any]]:
    """The readers' notes of level ``error`` or ``warning`` as warnings (code ``note``; a note's
    ``label``, when it has one, tells the reports how to translate it)."""
    out = []
    for n in layers.notes:
        if n.level in ("error", "warning"):
            w = warning("note", n.input, n.level, n.message, n.count)
            if n.label is not None:
                w["label"] = n.label
            out.append(w)
    return out


def layer_quality(layers: Layers) -> dict[str, Any]:
    """The ``quality`` section of a layers-only run: the entries and their warnings."""
    entries = input_quality(layers)
    warnings = sorted([*input_warnings(entries), *note_warnings(layers)],
                      key=lambda w: w["severity"] != "error")
    return {**entries, "warnings": warnings}
