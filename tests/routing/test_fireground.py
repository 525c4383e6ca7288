"""Fireground supply on hand-made networks: a looped core with a branch hanging off it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import wntr

from geo.errors import ConfigError
from routing.fireground import draw_pressures, hydrants_in_reach, plan_fireground
from routing.graph import build_graph
from tests.routing.test_response import make_roads

MPA = 0.00980665  # MPa per metre of water


def mains() -> wntr.network.WaterNetworkModel:
    # R (head 50 m) —P0 100 m DN300— J1; loop J1—J2—J3—J1 (300 m DN200 each);
    # branch J2 —PB1 200 m DN100— B1 —PB2 100 m DN100— B2. All junctions at elevation 0.
    wn = wntr.network.WaterNetworkModel()
    wn.add_reservoir("R", base_head=50.0)
    for j in ["J1", "J2", "J3", "B1", "B2"]:
        wn.add_junction(j, base_demand=0.0, elevation=0.0)
    for name, a, b, length, d in [("P0", "R", "J1", 100.0, 0.3), ("L1", "J1", "J2", 300.0, 0.2),
                                  ("L2", "J2", "J3", 300.0, 0.2), ("L3", "J3", "J1", 300.0, 0.2),
                                  ("PB1", "J2", "B1", 200.0, 0.1), ("PB2", "B1", "B2", 100.0, 0.1)]:
        wn.add_pipe(name, a, b, length=length, diameter=d, roughness=100.0)
    return wn


def candidates(**status: str) -> pd.DataFrame:
    # hydrants at B2 (40 m hose lay), B1 (60 m) on the branch (group 0), J3 (150 m) and J1 (200 m)
    # on the looped core (group -1), and H_FAR 400 m away (beyond a 250 m reach).
    rows = [("H_B2", 40.0, 0, "B2"), ("H_B1", 60.0, 0, "B1"), ("H_J3", 150.0, -1, "J3"),
            ("H_J1", 200.0, -1, "J1"), ("H_FAR", 400.0, -1, "J1")]
    return pd.DataFrame({"hydrant_id": [r[0] for r in rows], "hose_m": [r[1] for r in rows],
                         "status": [status.get(r[0], "in_service") for r in rows],
                         "group": [r[2] for r in rows], "junction": [r[3] for r in rows]})


def hw(q_lps: float, length: float, d: float) -> float:
    """Hazen-Williams head loss (m), C = 100: 10.67·L·Q^1.852 / (C^1.852·D^4.87)."""
    return 10.67 * length * (q_lps / 1000) ** 1.852 / (100.0**1.852 * d**4.87)


def test_branch_rule_spreads_the_trucks_the_naive_plan_stacks_them() -> None:
    plan = plan_fireground(candidates(), trucks=2, reach_m=250.0)
    # naive: the two nearest, H_B2 and H_B1, both on branch group 0 (a collision of 2)
    assert plan.naive == ["H_B2", "H_B1"]
    assert plan.naive_collisions == {0: 2}
    # plan: core first (H_J3 150 m, H_J1 200 m); the branch would get at most one truck
    assert plan.assigned == ["H_J3", "H_J1"]
    assert plan.model == "branch_rule" and plan.pressures_mpa == {} and plan.naive_below_residual is None
    assert plan.unassigned == 0 and plan.supplied_lps == 30.0
    # three trucks: core twice, then one on the branch (nearest: H_B2), never H_B1 too
    three = plan_fireground(candidates(), trucks=3, reach_m=250.0)
    assert three.assigned == ["H_J3", "H_J1", "H_B2"]
    four = plan_fireground(candidates(), trucks=4, reach_m=250.0)
    assert four.unassigned == 1  # H_B1 shares the branch, H_FAR is beyond reach


def test_hand_computed_pressures_with_two_trucks_on_the_branch() -> None:
    wn = mains()
    # both trucks on the branch: 30 L/s through PB1 = hw(30, 200, 0.1) ≈ 47.4 m; B1 ≈ 50 − 47.4
    # − (core losses ≈ 1 m: P0 hw(30, 100, 0.3) ≈ 0.2 m + the loop) ≈ 2 m ≈ 0.02 MPa, far below 0.10
    loss = hw(30.0, 200.0, 0.1)
    assert loss == pytest.approx(47.4, abs=0.2)
    p = draw_pressures(wn, ["B2", "B1"], truck_lps=15.0)
    assert p["B1"] is not None and p["B1"] == pytest.approx((50.0 - loss) * MPA, abs=1.5 * MPA)
    # one truck on B1 alone: hw(15, 200, 0.1) ≈ 13.1 m, B1 ≈ 36.9 m ≈ 0.36 MPa (core < 0.5 m)
    one = draw_pressures(wn, ["B1"], truck_lps=15.0)["B1"]
    assert one is not None and one == pytest.approx((50.0 - hw(15.0, 200.0, 0.1)) * MPA, abs=0.5 * MPA)
    assert draw_pressures(wn, ["NOPE"], truck_lps=15.0) == {"NOPE": None}
    assert wn.get_node("B1").demand_timeseries_list[0].base_value == 0.0  # model untouched


def test_hydraulic_plan_keeps_the_residual_the_naive_plan_does_not() -> None:
    plan = plan_fireground(candidates(), trucks=2, reach_m=250.0, wn=mains())
    assert plan.model == "hydraulic"
    # naive H_B2 + H_B1: 30 L/s on the branch, B2 ≈ 50 − 47.4 − hw(15, 100, 0.1) (6.6 m) < 0
    assert plan.naive_below_residual == ["H_B2", "H_B1"]
    assert all(v is not None and v < 0.10 for v in plan.naive_pressures_mpa.values())
    # plan: H_B2 alone leaves B2 at ≈ 50 − hw(15, 300, 0.1) ≈ 30.3 m ≈ 0.30 MPa; adding H_B1
    # breaks the residual, so the second truck goes to H_J3 on the core (≈ 49.5 m)
    assert plan.assigned == ["H_B2", "H_J3"]
    assert all(v is not None and v >= 0.10 for v in plan.pressures_mpa.values())
    # (H_J3 drawing at the same time takes < 1 m more on P0 and the loop)
    assert plan.pressures_mpa["H_B2"] == pytest.approx((50.0 - hw(15.0, 300.0, 0.1)) * MPA, abs=1.0 * MPA)
    roles = dict(zip(plan.candidates["hydrant_id"], plan.candidates["role"], strict=True))
    assert roles == {"H_B2": "plan+naive", "H_B1": "naive", "H_J3": "plan", "H_J1": "", "H_FAR": ""}


def test_out_of_service_is_excluded_unknown_is_kept() -> None:
    plan = plan_fireground(candidates(H_J3="out_of_service", H_J1="unknown"), trucks=2, reach_m=250.0)
    assert plan.assigned == ["H_J1", "H_B2"]
    assert "H_J3" not in plan.naive


def test_relay_when_nothing_usable_is_in_reach() -> None:
    # every hydrant within 250 m out of service: relay to H_FAR, 400 − 250 = 150 m beyond reach
    down = {h: "out_of_service" for h in ["H_B2", "H_B1", "H_J3", "H_J1"]}
    plan = plan_fireground(candidates(**down), trucks=2, reach_m=250.0)
    assert plan.assigned == [] and plan.unassigned == 2
    assert plan.relay.to_dict("records") == [{"hydrant_id": "H_FAR", "hose_m": 400.0, "relay_m": 150.0}]
    with pytest.raises(ConfigError, match="trucks"):
        plan_fireground(candidates(), trucks=0, reach_m=250.0)


def test_hydrants_in_reach_along_the_streets() -> None:
    # 0 --100-- 1 --100-- 2 --100-- 3: from node 0 with a 150 m limit, node 1 at 100 m, 2 beyond
    graph = build_graph(make_roads([(1, 2, [(0, 0), (100, 0)]), (2, 3, [(100, 0), (200, 0)]),
                                    (3, 4, [(200, 0), (300, 0)])]))
    x = graph.node_xy[:, 0]
    a, b, c = (int(np.argmin(abs(x - v))) for v in (0.0, 100.0, 200.0))
    got = hydrants_in_reach(graph, a, np.array([b, c, b]), limit_m=150.0)
    assert got[0] == 100.0 and np.isnan(got[1]) and got[2] == 100.0
