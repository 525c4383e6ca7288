"""The summary as people read it: ``summary.json``, the reports' headline figures, the API.

The analysis (:mod:`routing.analysis`) keeps raw quantities in its summary: lengths in metres,
shares as fractions of one, costs unrounded. This module is the one place they become what a
planner reads: kilometres to the metre (3 decimals), percentages to 2 decimals, yuan to the fen.
``firereach analyze`` writes it as ``summary.json``, ``GET /analysis/summary`` answers with it
and the PDF and XLSX print from it, so the three always agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from geo.layers import Layers, layer_counts
from routing.analysis import Analysis

__all__ = ["PRESENTED", "present_summary", "summary_document"]

#: Raw figure -> (presented name, factor, decimals), per summary section. A raw figure that is
#: None (not computed) stays None under its presented name.
PRESENTED: dict[str, dict[str, tuple[str, float, int]]] = {
    "coverage": {
        "road_m": ("road_km", 1e-3, 3),
        "covered_m": ("covered_km", 1e-3, 3),
        "uncovered_m": ("uncovered_km", 1e-3, 3),
        "excluded_m": ("excluded_km", 1e-3, 3),
        "covered_share": ("covered_pct", 100.0, 2),
    },
    "stations": {
        "roads_within_limit_share": ("roads_within_limit_pct", 100.0, 2),
        "buildings_within_limit_share": ("buildings_within_limit_pct", 100.0, 2),
    },
    "siting": {
        "added_covered_m": ("added_covered_km", 1e-3, 3),
        "cost_cny": ("cost_cny", 1.0, 2),
    },
}


def present_summary(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The analysis' summary sections with each raw figure of :data:`PRESENTED` converted and
    rounded in place (same position, presented name); every other value unchanged."""
    out: dict[str, Any] = {}
    for section, values in raw.items():
        rules = PRESENTED.get(section)
        if rules is None or not isinstance(values, Mapping):
            out[section] = values
            continue
        shown: dict[str, Any] = {}
        for key, value in values.items():
            if key not in rules:
                shown[key] = value
                continue
            name, factor, digits = rules[key]
            shown[name] = None if value is None else round(float(value) * factor, digits)
        out[section] = shown
    return out


def summary_document(layers: Layers, analysis: Analysis) -> dict[str, Any]:
    """``summary.json`` of an analysis: the layers' counts, the source (with the reader's notes)
    and the analysis' sections as presented by :func:`present_summary`."""
    summary: dict[str, Any] = layer_counts(layers)
    summary["source"] = {"osm": layers.source, "crs": layers.crs.to_string(), **layers.osm_notes}
    for section, values in present_summary(analysis.summary).items():
        summary.setdefault(section, {}).update(values)
    return summary
