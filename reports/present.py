"""Results as people read them: ``summary.json``, a scenario's answer, JSON-ready values.

The analysis (:mod:`routing`) keeps raw quantities: lengths in metres, shares as fractions of
one, times in seconds, costs unrounded, NaN for not computed. This module is the one place they
become what a planner reads: kilometres to the metre (3 decimals), percentages to 2 decimals,
yuan to the fen, None for not computed. ``firereach analyze`` writes the summary as
``summary.json``, ``GET /analysis/summary`` answers with it and the PDF, XLSX and map legend
print from it, so they always agree; ``firereach scenario`` and ``POST /analysis/scenario`` give
the same scenario answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from geo.layers import Layers, layer_counts
from routing.analysis import Analysis

__all__ = [
    "PRESENTED",
    "SCENARIO_PRESENTED",
    "json_number",
    "json_records",
    "jsonable",
    "present",
    "present_scenario",
    "present_summary",
    "summary_document",
]

#: A raw figure's presentation: (presented name, factor, decimals).
Rule = tuple[str, float, int]
#: Rules by place in a document: the path of dict keys leading to a dict (a list's rows share
#: its key's path) -> raw key -> rule.
Rules = Mapping[tuple[str, ...], Mapping[str, Rule]]

_KM: tuple[float, int] = (1e-3, 3)  # metres -> km to the metre
_PCT: tuple[float, int] = (100.0, 2)  # share of one -> % with 2 decimals

#: The analysis' summary (:attr:`routing.analysis.Analysis.summary`), by section.
PRESENTED: Rules = {
    ("coverage",): {
        "road_m": ("road_km", *_KM),
        "covered_m": ("covered_km", *_KM),
        "uncovered_m": ("uncovered_km", *_KM),
        "excluded_m": ("excluded_km", *_KM),
        "covered_share": ("covered_pct", *_PCT),
    },
    ("stations",): {
        "roads_within_limit_share": ("roads_within_limit_pct", *_PCT),
        "buildings_within_limit_share": ("buildings_within_limit_pct", *_PCT),
    },
    ("siting",): {
        "added_covered_m": ("added_covered_km", *_KM),
        "cost_cny": ("cost_cny", 1.0, 2),
    },
    ("water", "hydraulics"): {
        "worst_flow_lps": ("worst_flow_lps", 1.0, 2),
    },
    ("water", "mains"): {
        "length_m": ("km", *_KM),
    },
}

#: A scenario's answer (:func:`routing.scenario.scenario_impact`).
SCENARIO_PRESENTED: Rules = {
    ("coverage",): {
        "road_m": ("road_km", *_KM),
        "covered_m_before": ("covered_km_before", *_KM),
        "covered_m_after": ("covered_km_after", *_KM),
        "change_m": ("change_km", *_KM),
        "covered_share_before": ("covered_pct_before", *_PCT),
        "covered_share_after": ("covered_pct_after", *_PCT),
    },
    ("coverage", "edges"): {
        key: (key, 1.0, 1) for key in ("length_m", "covered_m_before", "covered_m_after")
    },
    ("water", "buildings"): {
        key: (key, 1.0, 1)
        for key in ("credited_lps_before", "credited_lps_after", "deficit_lps_after")
    },
    ("blockages",): {
        "lon": ("lon", 1.0, 7), "lat": ("lat", 1.0, 7),
        **{key: (key, 1.0, 2) for key in ("offset_m", "edge_width_m", "remaining_width_m")},
    },
    ("response",): {
        "limit_s": ("limit_s", 1.0, 3),
        "max_delay_s": ("max_delay_s", 1.0, 1),
        "median_delay_s": ("median_delay_s", 1.0, 1),
    },
    ("response", "buildings"): {
        key: (key, 1.0, 1) for key in ("response_s_before", "response_s_after", "delay_s")
    },
}


def json_number(value: object, digits: int = 3) -> float | None:
    """A finite float rounded to ``digits``, else None (not computed)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return round(v, digits) if np.isfinite(v) else None


def jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars to Python, NaN and infinities to None, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows of a table, without its geometry (NaN and inf become null)."""
    if len(frame) == 0:
        return []
    plain = pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))
    rows: list[dict[str, Any]] = json.loads(
        plain.to_json(orient="records", force_ascii=False, default_handler=str)
    )
    return rows


def present(raw: Any, rules: Rules, path: tuple[str, ...] = ()) -> Any:
    """``raw`` with every figure named in ``rules`` converted, rounded and renamed in place
    (same position); a figure that is None or not finite stays None (not computed). Other
    values are kept as they are."""
    if isinstance(raw, Mapping):
        here = rules.get(path, {})
        out: dict[str, Any] = {}
        for key, value in raw.items():
            rule = here.get(key)
            if rule is None:
                out[key] = present(value, rules, (*path, str(key)))
                continue
            name, factor, digits = rule
            number = json_number(value, 12)
            out[name] = None if number is None else round(number * factor, digits)
        return out
    if isinstance(raw, list | tuple):
        return [present(row, rules, path) for row in raw]
    return raw


def present_summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis' summary sections as people read them (:data:`PRESENTED`)."""
    shown: dict[str, Any] = present(raw, PRESENTED)
    return shown


def present_scenario(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A scenario's answer as ``firereach scenario`` and ``POST /analysis/scenario`` give it
    (:data:`SCENARIO_PRESENTED`; NaN as None)."""
    shown: dict[str, Any] = jsonable(present(raw, SCENARIO_PRESENTED))
    return shown


def summary_document(layers: Layers, analysis: Analysis) -> dict[str, Any]:
    """``summary.json`` of an analysis: the layers' counts, the source (with the reader's notes)
    and the analysis' sections as presented by :func:`present_summary`."""
    summary: dict[str, Any] = layer_counts(layers)
    summary["source"] = {"osm": layers.source, "crs": layers.crs.to_string(), **layers.osm_notes}
    for section, values in present_summary(analysis.summary).items():
        summary.setdefault(section, {}).update(values)
    return summary
