"""Hydrants on an EPANET model get their available fire flow (routing.mains.hydrant_hydraulics)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
import wntr

from geo.mains_inp import read_inp
from geo.presets import load_preset
from routing.hydraulics import available_fire_flow
from routing.mains import hydrant_hydraulics, hydrant_junctions, link_hydrants, water_summary

UTM51 = pyproj.CRS("EPSG:32651")
NET1 = Path(wntr.__file__).parent / "library" / "networks" / "Net1.inp"


def test_hydrants_on_net1_get_the_flow_of_their_nearer_junction() -> None:
    mains = read_inp(NET1, crs="EPSG:32651", working_crs=UTM51)
    pipes = mains.mains.loc[mains.mains["kind"] == "pipe"].reset_index(drop=True)
    first, second = pipes.geometry.iloc[0], pipes.geometry.iloc[3]
    # H1 a tenth along the first pipe (nearer its start), H2 nine tenths along the fourth
    # (nearer its end), H3 far from every pipe: not linked, not computed (never 0)
    points = [shapely.line_interpolate_point(first, 0.1, normalized=True),
              shapely.line_interpolate_point(second, 0.9, normalized=True),
              shapely.Point(-1e6, -1e6)]
    hydrants = gpd.GeoDataFrame({"hydrant_id": ["H1", "H2", "H3"]}, geometry=points, crs=UTM51)
    links = link_hydrants(hydrants, mains)
    junctions = hydrant_junctions(hydrants, links, mains)
    assert junctions == {"H1": str(pipes["from_node"].iloc[0]), "H2": str(pipes["to_node"].iloc[3])}

    preset = load_preset("cn-gb")
    columns, summary = hydrant_hydraulics(hydrants, links, mains, preset=preset)
    assert columns is not None and summary is not None
    # the same answer as asking the kernel for those junctions directly
    direct = available_fire_flow(mains.wntr, junctions, residual_mpa=0.10).set_index("hydrant_id")
    for i, hid in enumerate(["H1", "H2"]):
        assert columns["available_flow_lps"].iloc[i] == pytest.approx(direct.loc[hid, "available_flow_lps"])
        assert columns["static_pressure_mpa"].iloc[i] == pytest.approx(direct.loc[hid, "static_pressure_mpa"])
    assert np.isnan(columns["available_flow_lps"].iloc[2])
    assert columns["flow_limited_by"].iloc[2] == "not on the model"
    assert summary["hydrants_computed"] == 2 and summary["residual_mpa"] == pytest.approx(0.10)
    worst = min(("H1", "H2"), key=lambda h: direct.loc[h, "available_flow_lps"])
    assert summary["worst_hydrant"] == worst
    assert summary["worst_point_met"] == (direct.loc[worst, "available_flow_lps"] >= 15.0)
    section = water_summary(mains, links, np.full(3, -1), summary)
    assert section["model"] == "branch_rule" and section["hydraulics"] is summary


def test_without_a_model_nothing_is_computed() -> None:
    hydrants = gpd.GeoDataFrame({"hydrant_id": ["H1"]}, geometry=[shapely.Point(0, 0)], crs=UTM51)
    assert hydrant_hydraulics(hydrants, None, None, preset=load_preset("cn-gb")) == (None, None)
