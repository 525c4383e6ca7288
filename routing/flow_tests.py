"""Hydrant flow tests in the analysis: the flow at a chosen residual, and tests over the model.

A flow test (NFPA 291, AWWA M17) opens one or more hydrants and reads, at a test hydrant nearby,
the static pressure before and the residual pressure during the draw, with the flow measured
at the open outlets. The flow the main would give at another residual follows from the
Hazen–Williams shape of the pressure drop (drop ∝ Q^1.85, hence the exponent 1/1.85 = 0.54):

    Q_R = Q_F × (h_r / h_f)^0.54

* ``Q_F``: the flow during the test;
* ``h_f``: the pressure drop during the test, static − residual during the test;
* ``h_r``: the pressure drop allowed, static − the desired residual (GB 55036-2022 3.0.3: 0.10
  MPa);
* ``Q_R``: the flow available at the desired residual.

Issue 13 writes it Q_R = Q_F·(H_R/H_F)^0.54; H_R and H_F are these pressure *drops*, not the
pressures themselves. Any one pressure unit serves, as only the ratio counts.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from geo.errors import ConfigError

log = logging.getLogger(__name__)

EXPONENT = 0.54
"""1 / 1.85, the Hazen–Williams flow exponent's inverse (NFPA 291 4.10)."""

DEFAULT_MAX_AGE_DAYS = 5 * 365
"""Tests older than this give way to the model: a FireReach assumption (mains age, valves get
shut, demand grows); set it from the utility's own test cycle."""

FLOW_TEST = "flow test"
MODEL = "model"


def flow_at_residual(
    flow_lps: ArrayLike,
    static_mpa: ArrayLike,
    residual_mpa: ArrayLike,
    *,
    target_mpa: float = 0.10,
) -> NDArray[np.float64]:
    """The flow at ``target_mpa`` extrapolated from a flow test: Q_F × (h_r / h_f)^0.54.

    Parameters
    ----------
    flow_lps
        Flow during the test, L/s (``Q_F``).
    static_mpa
        Static pressure before the test, MPa.
    residual_mpa
        Residual pressure during the test, MPa; ``h_f = static − residual``.
    target_mpa
        The residual the answer is for; ``h_r = static − target``.

    Returns
    -------
    numpy.ndarray
        ``Q_R`` in L/s; 0 where the static pressure is at or below the target (the main cannot
        hold it at any flow); NaN where a value is missing, the flow negative, or the residual
        not below the static pressure (no drop: the test cannot be extrapolated).
    """
    if not np.isfinite(target_mpa) or target_mpa < 0:
        raise ConfigError(f"target_mpa={target_mpa!r}: give a pressure ≥ 0 in MPa, e.g. 0.10")
    q = np.asarray(flow_lps, dtype=float)
    static = np.asarray(static_mpa, dtype=float)
    residual = np.asarray(residual_mpa, dtype=float)
    h_f = static - residual
    h_r = np.clip(static - target_mpa, 0.0, None)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = q * (h_r / h_f) ** EXPONENT
    bad = ~(np.isfinite(q) & np.isfinite(h_f) & (q >= 0) & (h_f > 0))
    return np.where(bad, np.nan, out)


def prefer_flow_tests(
    model: pd.DataFrame,
    tests: pd.DataFrame,
    *,
    now: pd.Timestamp,
    max_age_days: float = DEFAULT_MAX_AGE_DAYS,
    target_mpa: float = 0.10,
) -> pd.DataFrame:
    """Available flow per hydrant from its latest recent flow test where there is one, else the model.

    Parameters
    ----------
    model
        One row per hydrant with ``hydrant_id`` and ``available_flow_lps`` (e.g.
        :func:`routing.hydraulics.available_fire_flow` at ``target_mpa``); not modified.
    tests
        Flow tests with ``hydrant_id``, ``tested_at``, ``static_mpa``, ``residual_mpa``,
        ``flow_lps`` (:func:`geo.flow_tests.read_flow_tests`).
    now
        The date the analysis is for (tests after it are ignored).
    max_age_days
        A test older than this gives way to the model.
    target_mpa
        The residual pressure of the answer (the model's residual).

    Returns
    -------
    pandas.DataFrame
        ``model`` with ``available_flow_lps`` replaced where a test counts, and new columns
        ``model_flow_lps`` (the model's answer, kept), ``tested_at`` (of the test used, NaT
        otherwise) and ``flow_source``: ``flow test`` or ``model``.
    """
    if not max_age_days > 0:
        raise ConfigError(f"max_age_days={max_age_days!r}: give a positive number of days, e.g. 1825")
    tested_at = pd.to_datetime(tests["tested_at"])
    age = (now - tested_at).dt.total_seconds() / 86400.0
    recent = tests[(age >= 0) & (age <= max_age_days)].copy()
    recent["tested_at"] = tested_at[recent.index]
    recent["flow_at_target"] = flow_at_residual(
        recent["flow_lps"], recent["static_mpa"], recent["residual_mpa"], target_mpa=target_mpa
    )
    recent = recent[recent["flow_at_target"].notna()]
    latest = recent.sort_values("tested_at").drop_duplicates("hydrant_id", keep="last")
    latest.index = pd.Index(latest["hydrant_id"].astype(str))
    out = model.copy()
    ids = out["hydrant_id"].astype(str)
    used = ids.isin(latest.index).to_numpy()
    out["model_flow_lps"] = out["available_flow_lps"]
    out["tested_at"] = latest["tested_at"].reindex(ids).to_numpy()
    test_flow = latest["flow_at_target"].reindex(ids).to_numpy(dtype=float)
    out["available_flow_lps"] = np.where(used, test_flow, out["available_flow_lps"].to_numpy(dtype=float))
    out["flow_source"] = np.where(used, FLOW_TEST, MODEL)
    unmatched = int((~latest.index.isin(ids)).sum())
    log.info("flow tests: %d hydrants take a test of the last %g days over the model; %d tested hydrants "
             "are not in the model", int(used.sum()), max_age_days, unmatched)
    return out
