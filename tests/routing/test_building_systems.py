"""Pump connectors and indoor hydrants (GB 50974 5.4.1, 5.4.7, 6.1.5; GB 50016 8.2.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geo.presets import load_preset
from routing.building_systems import (
    connector_findings,
    connector_summary,
    high_rises_without_connector,
    indoor_hydrants_required,
)

CN = load_preset("cn-gb")
US = load_preset("us")


def _buildings() -> pd.DataFrame:
    return pd.DataFrame({
        "building_id": ["t1", "t2", "low", "house", "tall_unknown"],
        "high_rise_class": ["class1", "class2", "not_high_rise", "not_high_rise", "unknown"],
        "use": ["residential", "public", "public", "residential", "residential"],
        "height_m": [80.0, 30.0, 12.0, 21.0, np.nan],
    })


def test_indoor_hydrants_over_21_m_residential() -> None:
    # 80 m residential: required; 21 m residential: not (over 21 m only); public: not this
    # rule (None); height unknown: None
    got = indoor_hydrants_required(_buildings(), preset=CN).tolist()
    assert got == [True, None, None, False, None]
    assert indoor_hydrants_required(_buildings(), preset=US).tolist() == [None] * 5


def test_high_rises_without_a_connector() -> None:
    b = _buildings()
    conns = pd.DataFrame({"connector_id": ["c1", "c2", "c3"], "building_id": ["t1", "t1", ""]})
    per, found, missing = high_rises_without_connector(b, conns, preset=CN)
    # t1 has two; t2 (class 2) none: flagged; low-rise and unknown class are not asked
    assert per.tolist() == [2, 0, 0, 0, 0] and missing == 1
    assert found["feature_id"].tolist() == ["t2"]
    assert found["rule_id"].tolist() == ["pump_connector_required"]
    assert found["clause"].tolist() == ["GB 50974-2014 5.4.1"]
    # no connector recorded at all: not computed (None), never "all missing"
    empty = conns.iloc[:0]
    per, found, missing = high_rises_without_connector(b, empty, preset=CN)
    assert per.tolist() == [None] * 5 and found.empty and missing is None


def test_connector_findings_15_to_40_m() -> None:
    conns = pd.DataFrame({
        "connector_id": ["none", "near_only", "ok"],
        "hydrants_in_range": [0, 2, 1],  # 5–40 m (6.1.5)
        "nearest_hydrant_m": [np.nan, 8.0, 22.0],
        "hydrants_15_40m": pd.array([0, 0, 1], dtype="Int64"),
    })
    found = connector_findings(conns, CN)
    got = sorted(zip(found["feature_id"], found["rule_id"], found["severity"], strict=True))
    # 'none' fails 6.1.5 (shall); 'near_only' has hydrants only 8 m away: 5.4.7 (should)
    assert got == [("near_only", "pump_connector_hydrant_distance", "should"),
                   ("none", "pump_connector_hydrant_band", "shall")]
    msg = found.loc[found["feature_id"] == "near_only", "message"].iloc[0]
    assert msg == "usable hydrants only 8 m away; none 15–40 m from the pump connector (hose-lay)"
    assert connector_summary(conns) == {"total": 3, "without_hydrant_in_band": 1,
                                        "hydrant_distance_not_met": 2}
    # a preset without the 5.4.7 rule (us) raises the band rule only
    us = connector_findings(conns.drop(columns="hydrants_15_40m"), US)
    assert set(us["rule_id"]) <= {"pump_connector_hydrant_band"}
