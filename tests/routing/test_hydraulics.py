"""Available fire flow and simultaneous draws on networks worked on paper, and WNTR's examples.

Hazen–Williams in SI units, as EPANET uses it (its 4.727 in ft/cfs is 10.667 in m, m³/s):

    h_f = 10.667 · L · Q^1.852 / (C^1.852 · D^4.871)        (h_f, L, D in m; Q in m³/s)

0.10 MPa is 0.10 / 0.00980665 = 10.197 m of water. Every network here has a reservoir at head
50 m, junctions at elevation 0 and no normal demand, so a hydrant keeps 0.10 MPa while the head
loss from the reservoir to it is at most 50 − 10.197 = 39.803 m.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

wntr = pytest.importorskip("wntr")

from geo.errors import ConfigError  # noqa: E402
from geo.presets import load_preset  # noqa: E402
from routing._epanet import MPA_PER_M  # noqa: E402
from routing.hydraulics import (  # noqa: E402
    FLOW_CAP,
    NO_SUPPLY,
    RESIDUAL,
    STATIC_LOW,
    UNKNOWN,
    available_fire_flow,
    hydrant_thresholds,
    simultaneous_flow,
    worst_point,
)

RESIDUAL_M = 0.10 / MPA_PER_M  # 10.197 m
LOSS_M = 50.0 - RESIDUAL_M  # 39.803 m of head loss allowed
NETWORKS = Path(wntr.__file__).parent / "library" / "networks"


def hw_loss(q_lps: float, length: float, diameter: float, c: float = 100.0) -> float:
    """Head loss (m) of one pipe, Hazen–Williams in SI."""
    return 10.667 * length * (q_lps / 1000.0) ** 1.852 / (c**1.852 * diameter**4.871)


def hw_flow(loss: float, length: float, diameter: float, c: float = 100.0) -> float:
    """The flow (L/s) that loses ``loss`` m in one pipe."""
    return 1000.0 * (loss * c**1.852 * diameter**4.871 / (10.667 * length)) ** (1 / 1.852)


def network(pipes: list[tuple[str, str, str, float, float]], junctions: list[str]) -> object:
    wn = wntr.network.WaterNetworkModel()
    wn.add_reservoir("R", base_head=50.0)
    for j in junctions:
        wn.add_junction(j, base_demand=0.0, elevation=0.0)
    for name, a, b, length, diameter in pipes:
        wn.add_pipe(name, a, b, length=length, diameter=diameter, roughness=100.0)
    return wn


def test_one_pipe_flow_at_residual_matches_hazen_williams() -> None:
    # R (50 m) — 1000 m DN200, C 100 — J. Static pressure 50 m = 0.4903 MPa.
    # Q with 39.803 m loss: (39.803 · 100^1.852 · 0.2^4.871 / (10.667 · 1000))^(1/1.852) = 70.88 L/s
    wn = network([("P", "R", "J", 1000.0, 0.2)], ["J"])
    out = available_fire_flow(wn, {"H1": "J"})
    row = out.iloc[0]
    assert row["hydrant_id"] == "H1" and row["junction"] == "J"
    assert row["static_pressure_mpa"] == pytest.approx(50.0 * MPA_PER_M, abs=1e-4)
    assert hw_flow(LOSS_M, 1000.0, 0.2) == pytest.approx(70.88, abs=0.01)
    assert row["available_flow_lps"] == pytest.approx(70.88, rel=0.005)
    assert row["draw_pressure_mpa"] == pytest.approx(0.10, abs=1e-4)
    assert row["limited_by"] == RESIDUAL
    # the input network is not changed: no extra nodes or links
    assert wn.num_nodes == 2 and wn.num_links == 1


def test_lower_residual_gives_more_and_cap_stops_the_draw() -> None:
    # at 0.05 MPa (5.099 m) the loss may be 44.901 m: Q = 70.88 · (44.901 / 39.803)^(1/1.852) = 75.64 L/s
    wn = network([("P", "R", "J", 1000.0, 0.2)], ["J"])
    low = available_fire_flow(wn, ["J"], residual_mpa=0.05).iloc[0]
    expected = hw_flow(50.0 - 0.05 / MPA_PER_M, 1000.0, 0.2)
    assert low["available_flow_lps"] == pytest.approx(expected, rel=0.005)
    assert low["available_flow_lps"] == pytest.approx(75.64, rel=0.005)
    capped = available_fire_flow(wn, ["J"], max_flow_lps=30.0).iloc[0]
    assert capped["available_flow_lps"] == pytest.approx(30.0, abs=0.01)
    assert capped["limited_by"] == FLOW_CAP
    assert capped["draw_pressure_mpa"] > 0.10  # at 30 L/s the junction keeps more than the residual
    with pytest.raises(ConfigError, match="residual_mpa"):
        available_fire_flow(wn, ["J"], residual_mpa=-1.0)


def test_chinese_junction_names() -> None:
    # ids as a Chinese utility writes them; same answer as test_one_pipe: 70.88 L/s
    wn = network([("管1", "R", "消火栓节点1", 1000.0, 0.2)], ["消火栓节点1"])
    out = available_fire_flow(wn, {"XJK-001": "消火栓节点1"}).iloc[0]
    assert out["available_flow_lps"] == pytest.approx(70.88, rel=0.005)


def test_loop_of_two_parallel_pipes_adds_their_flows() -> None:
    # R — J through DN200 and DN150 (both 1000 m): each loses the same 39.803 m at the residual,
    # so Q = 70.88 + (39.803 · 100^1.852 · 0.15^4.871 / 10667)^(1/1.852) = 70.88 + 33.26 = 104.14 L/s
    wn = network([("A", "R", "J", 1000.0, 0.2), ("B", "R", "J", 1000.0, 0.15)], ["J"])
    flow = available_fire_flow(wn, ["J"]).iloc[0]["available_flow_lps"]
    assert hw_flow(LOSS_M, 1000.0, 0.15) == pytest.approx(33.26, abs=0.01)
    assert flow == pytest.approx(104.14, rel=0.005)


def branch(length_b: float = 500.0) -> object:
    # R — 1000 m DN200 — J1 — 500 m DN100 — J2 (a branched main with a hydrant at J1 and at J2)
    return network([("A", "R", "J1", 1000.0, 0.2), ("B", "J1", "J2", length_b, 0.1)], ["J1", "J2"])


def test_branch_single_flows() -> None:
    # J1 alone: 70.88 L/s (pipe A only). J2 alone: h_A(Q) + h_B(Q) = 39.803 m, solved below;
    # B is the bottleneck (DN100): 16.06 L/s (h_A = 2.36 m, h_B = 37.44 m).
    out = available_fire_flow(branch(), ["J1", "J2"]).set_index("junction")
    q2 = brentq(lambda q: hw_loss(q, 1000.0, 0.2) + hw_loss(q, 500.0, 0.1) - LOSS_M, 0.1, 500.0)
    assert out.loc["J1", "available_flow_lps"] == pytest.approx(70.88, rel=0.005)
    assert q2 == pytest.approx(16.06, abs=0.01)
    assert out.loc["J2", "available_flow_lps"] == pytest.approx(q2, rel=0.005)


def test_branch_simultaneous_draw_is_less_than_the_sum_of_singles() -> None:
    # Uncapped, both drawing: J1 at the residual means pipe A already loses 39.803 m, so nothing
    # is left for J2 (pipe B would need head below the residual): together = J1 alone = 70.88 L/s.
    wn = branch()
    singles = available_fire_flow(wn, ["J1", "J2"])["available_flow_lps"].sum()
    both = simultaneous_flow(wn, {"b": ["J1", "J2"]}, per_hydrant_cap_lps=None).loc["b"]
    assert both["flow_lps"] == pytest.approx(70.88, rel=0.005)
    assert both["flow_lps"] < singles - 10.0
    assert both["junction_flows_lps"]["J2"] == pytest.approx(0.0, abs=0.05)
    assert both["limited_by"] == RESIDUAL
    # Capped at 15 L/s: J1 gives 15 if J2's draw leaves it above the residual; J2 gives q with
    # h_A(15 + q) + h_B(q) = 39.803 m: q = 14.75 L/s, below its single 16.06 L/s since J1's
    # 15 L/s also runs in A (h_A(29.75) = 7.97 m, h_B(14.75) = 31.83 m). J1 keeps 50 − 7.97 m.
    q = brentq(lambda x: hw_loss(15.0 + x, 1000.0, 0.2) + hw_loss(x, 500.0, 0.1) - LOSS_M, 0.0, 100.0)
    assert q == pytest.approx(14.75, abs=0.01)
    capped = simultaneous_flow(wn, {"b": ["J1", "J2"]}, per_hydrant_cap_lps=15.0).loc["b"]
    assert capped["junction_flows_lps"]["J1"] == pytest.approx(15.0, abs=0.01)
    assert capped["junction_flows_lps"]["J2"] == pytest.approx(q, rel=0.01)
    assert capped["flow_lps"] == pytest.approx(15.0 + q, rel=0.01)
    assert capped["drawing"] == 2 and capped["limited_by"] == RESIDUAL
    assert capped["lowest_pressure_mpa"] == pytest.approx(0.10, abs=1e-3)


def test_groups_share_answers_and_report_edge_cases() -> None:
    # one pipe DN200: two hydrants on J (J named twice) draw 2 × 15 = 30 L/s < 70.88: at the cap
    wn = network([("P", "R", "J", 1000.0, 0.2)], ["J"])
    out = simultaneous_flow(
        wn, {"a": ["J", "J"], "b": ["J", "J"], "none": [], "ghost": ["nowhere"]}, per_hydrant_cap_lps=15.0
    )
    assert out.loc["a", "flow_lps"] == pytest.approx(30.0, abs=0.01)
    assert out.loc["a", "hydrants"] == 2 and out.loc["a", "limited_by"] == FLOW_CAP
    assert out.loc["b", "flow_lps"] == out.loc["a", "flow_lps"]
    assert out.loc["none", "flow_lps"] == 0.0
    assert math.isnan(out.loc["ghost", "flow_lps"]) and out.loc["ghost", "limited_by"] == UNKNOWN
    assert out.loc["ghost", "unknown_junctions"] == 1


def test_no_supply_low_static_and_unknown_junctions() -> None:
    # J3 hangs on a closed pipe (no supply); JH stands at elevation 45 m: static 5 m < 10.197 m
    wn = network([("P", "R", "J", 1000.0, 0.2), ("C", "J", "J3", 100.0, 0.2)], ["J", "J3"])
    wn.get_link("C").initial_status = wntr.network.LinkStatus.Closed
    wn.add_junction("JH", base_demand=0.0, elevation=45.0)
    wn.add_pipe("PH", "J", "JH", length=10.0, diameter=0.2, roughness=100.0)
    out = available_fire_flow(wn, {"h3": "J3", "hh": "JH", "hx": "X9"}).set_index("hydrant_id")
    assert out.loc["h3", "limited_by"] == NO_SUPPLY and out.loc["h3", "available_flow_lps"] == 0.0
    assert out.loc["hh", "limited_by"] == STATIC_LOW and out.loc["hh", "available_flow_lps"] == 0.0
    assert out.loc["hh", "static_pressure_mpa"] == pytest.approx(5.0 * MPA_PER_M, abs=1e-4)
    assert out.loc["hx", "limited_by"] == UNKNOWN and math.isnan(out.loc["hx", "available_flow_lps"])


def test_worst_point_against_the_cn_gb_preset() -> None:
    # cn-gb: 15 L/s at ≥ 0.10 MPa (GB 55036-2022 3.0.3). With 800 m of DN100 to J2, J2 alone gives
    # Q with h_A(Q) + h_B(Q) = 39.803 m: 12.63 L/s < 15, so the least favourable hydrant fails.
    thresholds = hydrant_thresholds(load_preset("cn-gb"))
    assert (thresholds.residual_mpa, thresholds.worst_flow_lps) == (0.10, 15.0)
    check = worst_point(branch(800.0), {"H1": "J1", "H2": "J2"}, thresholds=thresholds)
    assert check.hydrant_id == "H2" and check.holds is False
    assert check.available_flow_lps == pytest.approx(12.63, rel=0.005)
    assert check.below_main_pressure == 0  # static 50 m = 0.49 MPa ≥ 0.14 MPa everywhere
    ok = worst_point(branch(), {"H1": "J1"}, thresholds=thresholds)
    assert ok.holds is True and "GB 55036" in ok.clause


@pytest.mark.parametrize(
    ("name", "demand_model"), [("Net1.inp", "DD"), ("Net3.inp", "DD"), ("Net1.inp", "PDD")]
)
def test_wntr_example_networks(name: str, demand_model: str, tmp_path: Path) -> None:
    wn = wntr.network.WaterNetworkModel(str(NETWORKS / name))
    # PDD: normal demands fall off below 20 m (the model's own demand model is solved)
    wn.options.hydraulic.demand_model = demand_model
    wn.options.hydraulic.required_pressure = 20.0
    junctions = wn.junction_name_list
    out = available_fire_flow(wn, junctions).set_index("junction")
    # static pressure = a plain simulation's pressure at time 0
    wn.options.time.duration = 0
    plain = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(tmp_path / "plain"))
    expected = plain.node["pressure"].iloc[0][junctions].to_numpy() * MPA_PER_M
    np.testing.assert_allclose(out.loc[junctions, "static_pressure_mpa"].to_numpy(), expected, atol=1e-4)
    flows = out["available_flow_lps"]
    assert flows.notna().all() and (flows >= 0).all()
    assert (flows > 0).sum() > len(junctions) // 2
    # monotone: a lower residual never gives less water
    low = available_fire_flow(wn, junctions, residual_mpa=0.05).set_index("junction")["available_flow_lps"]
    assert (low >= flows - 1e-6).all()
    assert (low > flows).any()


def test_net3_groups_never_beat_their_singles() -> None:
    # each hydrant in a group gives at most min(cap, its single flow): the others' draws only
    # lower its pressure; so a group gives at most the sum of its capped singles
    wn = wntr.network.WaterNetworkModel(str(NETWORKS / "Net3.inp"))
    junctions = wn.junction_name_list
    singles = available_fire_flow(wn, junctions).set_index("junction")["available_flow_lps"]
    rng = np.random.default_rng(13)
    groups = {f"g{k}": list(rng.choice(junctions, size=4, replace=False)) for k in range(30)}
    for cap in (15.0, None):
        out = simultaneous_flow(wn, groups, per_hydrant_cap_lps=cap)
        for g, members in groups.items():
            limit = {j: singles[j] if cap is None else min(cap, singles[j]) for j in members}
            flows = out.loc[g, "junction_flows_lps"]
            assert all(flows[j] <= limit[j] + 0.05 for j in members), (g, flows, limit)
            assert out.loc[g, "flow_lps"] <= sum(limit.values()) + 0.2
            assert out.loc[g, "flow_lps"] >= 0.0
        assert (out["flow_lps"] > 0).sum() >= 25
