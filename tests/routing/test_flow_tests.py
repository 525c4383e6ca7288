"""Flow-test extrapolation (NFPA 291 / AWWA M17) and recent tests taking the model's place."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from geo.errors import ConfigError
from routing.flow_tests import FLOW_TEST, MODEL, flow_at_residual, prefer_flow_tests

PSI = 0.006894757293168361  # MPa


def test_worked_example_in_psi() -> None:
    # static 72 psi, 58 psi while 1000 gpm flow; at 20 psi:
    # h_r = 72 − 20 = 52, h_f = 72 − 58 = 14; Q = 1000 · (52/14)^0.54 = 1000 · 3.7143^0.54
    # ln 3.7143 = 1.31218; · 0.54 = 0.70858; e^0.70858 = 2.0312 → 2031 gpm (only the ratio counts,
    # so the same in MPa)
    q = flow_at_residual(1000.0, 72 * PSI, 58 * PSI, target_mpa=20 * PSI)
    assert float(q) == pytest.approx(2031.2, abs=0.5)


def test_worked_example_at_gb_residual() -> None:
    # static 0.42 MPa, 0.31 MPa at 30 L/s; at 0.10 MPa: h_r = 0.32, h_f = 0.11,
    # (0.32/0.11)^0.54 = 2.9091^0.54 = e^(0.54 · 1.06784) = e^0.57663 = 1.7800 → 53.40 L/s
    q = flow_at_residual([30.0], [0.42], [0.31])
    assert q[0] == pytest.approx(53.40, abs=0.01)


def test_edge_cases() -> None:
    # static at the target: no flow at 0.10 MPa; no drop or missing values: NaN (not computed)
    q = flow_at_residual([30.0, 30.0, 30.0, math.nan], [0.10, 0.30, 0.30, 0.4], [0.05, 0.30, 0.35, 0.3])
    assert q[0] == 0.0
    assert np.isnan(q[1:]).all()
    with pytest.raises(ConfigError):
        flow_at_residual(1.0, 0.4, 0.3, target_mpa=-0.1)


def test_recent_test_replaces_the_model() -> None:
    model = pd.DataFrame({"hydrant_id": ["A", "B", "C"], "available_flow_lps": [80.0, 12.0, math.nan]})
    tests = pd.DataFrame({
        "hydrant_id": ["A", "A", "B", "D"],
        "tested_at": pd.to_datetime(["2024-05-12", "2021-04-01", "2015-01-01", "2024-01-01"]),
        "static_mpa": [0.42, 0.45, 0.4, 0.4],
        "residual_mpa": [0.31, 0.35, 0.3, 0.3],
        "flow_lps": [30.0, 28.0, 20.0, 20.0],
    })
    out = prefer_flow_tests(model, tests, now=pd.Timestamp("2025-01-01"), max_age_days=5 * 365)
    out = out.set_index("hydrant_id")
    # A: the latest test (2024-05-12) gives 53.40 L/s at 0.10 MPa (worked above); the model's 80 kept
    assert out.loc["A", "available_flow_lps"] == pytest.approx(53.40, abs=0.01)
    assert out.loc["A", "flow_source"] == FLOW_TEST and out.loc["A", "model_flow_lps"] == 80.0
    assert out.loc["A", "tested_at"] == pd.Timestamp("2024-05-12")
    # B: its test is ten years old: the model stays
    assert out.loc["B", "available_flow_lps"] == 12.0 and out.loc["B", "flow_source"] == MODEL
    assert pd.isna(out.loc["B", "tested_at"])
    # C: no test, the model did not compute: still NaN, never 0
    assert math.isnan(out.loc["C", "available_flow_lps"])
    assert list(model.columns) == ["hydrant_id", "available_flow_lps"]  # input unchanged
    # a shorter max age drops A's test too
    short = prefer_flow_tests(model, tests, now=pd.Timestamp("2025-01-01"), max_age_days=30)
    assert (short["flow_source"] == MODEL).all()
