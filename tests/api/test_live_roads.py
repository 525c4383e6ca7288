"""Live hydrant updates on a workspace with a motorway: the live recompute counts only the roads
that need hydrants, like a full run (the workspace of tests/routing/test_coverage_roads.py)."""

from __future__ import annotations

import numpy as np

from api.live import recompute_area
from api.store import HydrantState, utc_now
from api.workspace import hydrants_with_states
from geo.presets import load_preset
from reports.present import present_summary
from routing.analysis import AnalysisOptions, analyze
from tests.api.test_live import assert_same_as_full
from tests.routing.test_coverage_roads import motorway_layers


def test_live_update_counts_only_the_street() -> None:
    preset, options = load_preset("cn-gb"), AnalysisOptions()
    layers = motorway_layers()
    analysis = analyze(layers, preset=preset, options=options)
    steps = [("H1", "out_of_service", 0.0), ("H2", "out_of_service", 0.0), ("H1", "in_service", 83.33)]
    for hid, status, pct in steps:
        state = HydrantState(hydrant_id=hid, status=status, observed_at=utc_now(), event_id=0,
                             pressure_mpa=None)
        hydrants, rows, _ = hydrants_with_states(layers.hydrants, {hid: state})
        layers, analysis, _ = recompute_area(
            layers, analysis, hydrants, preset=preset, options=options, changed=rows
        )
        assert_same_as_full(layers, analysis, preset, options)
        # Elm St: 250 of 300 m with H1 in service, nothing without; the motorway never counts
        cov = present_summary(analysis.summary)["coverage"]
        assert cov["covered_pct"] == pct and cov["road_km"] == 0.3 and cov["excluded_km"] == 1.0
        assert analysis.layers["roads_analysis"]["needs_hydrants"].tolist() == [False, True]
        assert np.isin(analysis.layers["coverage_pieces"]["needs_hydrants"], [True, False]).all()
