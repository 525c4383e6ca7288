"""Available fire flow for thousands of hydrants against one WNTR simulation (issue 13).

The network is generated here: a 100 × 100 grid of junctions 100 m apart (10,000 junctions,
19,800 pipes; DN300 on every fifth street, DN150 elsewhere, Hazen–Williams C 120), ground
rising 0.05 m per block, 0.05 L/s normal demand at each junction (500 L/s in all), fed by two
reservoirs at head 70 m on opposite corners. Hydrants stand on every fifth junction (2,000),
and optionally on all.

Timed in the same run: one plain WNTR EPANET simulation of the network (``EpanetSimulator``,
a single steady state: write the ``.inp``, solve, read the results), then
:func:`routing.hydraulics.available_fire_flow` for the 2,000 hydrants (the network written once,
one in-place solve per hydrant) and :func:`routing.hydraulics.simultaneous_flow` for 500
groups of 4 neighbouring hydrants. The naive way — one full WNTR simulation per hydrant with a
search over flows (≈ 10 simulations each) — would cost 2,000 × 10 simulations.

Run ``python -m benchmarks.bench_hydraulics [--all]`` (``--all``: every junction a hydrant;
wrap in ``flock /tmp/firereach-big.lock nice`` as it runs over a minute).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import wntr

from routing.hydraulics import available_fire_flow, simultaneous_flow

N = 100
N_GROUPS = 500


def grid(n: int = N) -> wntr.network.WaterNetworkModel:
    """The n × n grid network described above."""
    wn = wntr.network.WaterNetworkModel()
    for r in range(n):
        for c in range(n):
            wn.add_junction(f"J{r}_{c}", base_demand=0.00005, elevation=10.0 + (r + c) * 0.05,
                            coordinates=(c * 100.0, r * 100.0))
    for r in range(n):
        for c in range(n):
            if c + 1 < n:
                wn.add_pipe(f"H{r}_{c}", f"J{r}_{c}", f"J{r}_{c + 1}", length=100.0,
                            diameter=0.3 if r % 5 == 0 else 0.15, roughness=120.0)
            if r + 1 < n:
                wn.add_pipe(f"V{r}_{c}", f"J{r}_{c}", f"J{r + 1}_{c}", length=100.0,
                            diameter=0.3 if c % 5 == 0 else 0.15, roughness=120.0)
    wn.add_reservoir("R1", base_head=70.0, coordinates=(-100.0, 0.0))
    wn.add_pipe("PR1", "R1", "J0_0", length=10.0, diameter=0.6, roughness=120.0)
    wn.add_reservoir("R2", base_head=70.0, coordinates=(n * 100.0, n * 100.0))
    wn.add_pipe("PR2", "R2", f"J{n - 1}_{n - 1}", length=10.0, diameter=0.6, roughness=120.0)
    wn.options.time.duration = 0
    return wn


def _timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    dt = time.perf_counter() - t0
    print(f"{label:<58s} {dt:8.2f} s", flush=True)
    return out, dt


def main(argv: list[str]) -> None:
    wn, _ = _timed("build the 10,000-junction grid", grid)
    with tempfile.TemporaryDirectory() as tmp:
        sims = []
        for _ in range(3):
            _, dt = _timed("one WNTR EpanetSimulator run", wntr.sim.EpanetSimulator(wn).run_sim,
                           file_prefix=str(Path(tmp) / "plain"))
            sims.append(dt)
    sim = min(sims)
    hydrants = wn.junction_name_list[::5]
    flows, dt = _timed(f"available fire flow, {len(hydrants):,} hydrants", available_fire_flow, wn, hydrants)
    print(f"  = {dt / sim:,.0f} simulations' time; {dt / len(hydrants) * 1000:.1f} ms per hydrant; "
          f"limited_by: {flows['limited_by'].value_counts().to_dict()}", flush=True)
    print(f"  available flow L/s: min {flows['available_flow_lps'].min():.1f}, median "
          f"{flows['available_flow_lps'].median():.1f}, max {flows['available_flow_lps'].max():.1f}")
    groups = {}
    for r in range(0, N - 1, 1):
        for c in range(0, N - 5, 5):
            groups[f"b{r}_{c}"] = [f"J{r}_{c}", f"J{r}_{c + 5}", f"J{r + 1}_{c}", f"J{r + 1}_{c + 5}"]
    groups = dict(list(groups.items())[:N_GROUPS])
    together, dt = _timed(f"simultaneous flow, {len(groups):,} groups of 4", simultaneous_flow, wn, groups)
    limits = together["limited_by"].value_counts().to_dict()
    print(f"  = {dt / sim:,.0f} simulations' time; median group flow "
          f"{together['flow_lps'].median():.1f} L/s; limited_by: {limits}", flush=True)
    if "--all" in argv:
        everything, dt = _timed("available fire flow, every junction (10,000)", available_fire_flow, wn,
                                wn.junction_name_list)
        print(f"  = {dt / sim:,.0f} simulations' time; {dt / len(everything) * 1000:.1f} ms per hydrant")


if __name__ == "__main__":
    main(sys.argv[1:])
