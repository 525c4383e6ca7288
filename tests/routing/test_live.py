"""Incremental re-derivations for live updates equal a full run (routing/live.py)."""

from __future__ import annotations

import dataclasses

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.coverage import coverage_pieces, hydrant_coverage, underserved_segments
from routing.graph import build_graph
from routing.live import splice_spacing, splice_underserved
from routing.spacing import spacing_gaps
from tests.routing._graphs import CRS, grid_roads, point, snaps


def _changed_edges(old: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> np.ndarray:
    """Ids of the edges whose pieces differ between two piece tables."""
    def per_edge(p: gpd.GeoDataFrame) -> pd.Series:
        rows = zip(p["start_m"].round(9), p["end_m"].round(9), p["covered"], strict=True)
        return pd.Series(list(rows)).groupby(p["edge_id"].to_numpy()).agg(tuple)

    a, b = per_edge(old), per_edge(new)
    ids = a.index.union(b.index)
    a, b = a.reindex(ids), b.reindex(ids)
    return np.asarray(ids[[x != y for x, y in zip(a, b, strict=True)]])


def _assert_same(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    assert got["rank"].tolist() == want["rank"].tolist()
    assert got["name"].tolist() == want["name"].tolist()
    assert [list(w) for w in got["way_ids"]] == [list(w) for w in want["way_ids"]]
    assert got["n_buildings"].tolist() == want["n_buildings"].tolist()
    assert got["n_high_rises"].tolist() == want["n_high_rises"].tolist()
    np.testing.assert_allclose(got["length_m"].to_numpy(dtype=float),
                               want["length_m"].to_numpy(dtype=float), rtol=0, atol=1e-9)
    for g, w in zip(got.geometry, want.geometry, strict=True):
        assert shapely.equals_exact(g, w, tolerance=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_off=st.integers(1, 4), bends=st.booleans())
def test_splice_underserved_equals_full_run(seed: int, n_off: int, bends: bool) -> None:
    # A 7×7 grid (100 m blocks, so many stretches tie on length: the splice must break ties as
    # the full run does), a third of the rows unnamed (grouped by way), 14 hydrants and 40
    # buildings (some high-rises); n_off random hydrants go out of service, then back in.
    rng = np.random.default_rng(seed)
    roads = grid_roads(7, 7, seed=seed if bends else 0, drop=0.1)
    if not bends:
        roads = roads.set_geometry(shapely.line_merge(roads.geometry.array))
    unnamed = rng.random(len(roads)) < 0.3
    blanks = np.array(["", "  ", None], dtype=object)
    roads.loc[unnamed, "name"] = blanks[rng.integers(0, 3, int(unnamed.sum()))]
    g = build_graph(roads)
    n = 14
    edges = rng.choice(g.n_edges, n, replace=False)
    s = snaps(edges, rng.uniform(0, 1, n) * g.length_m[edges], rng.uniform(0, 20, n))
    buildings = gpd.GeoDataFrame(
        {"high_rise_class": rng.choice(["class1", "class2", "not_high_rise"], 40)},
        geometry=[point(x, y).buffer(5) for x, y in rng.uniform(-50, 650, (40, 2))],
        crs=CRS,
    )
    on = np.ones(n, dtype=bool)
    off = on.copy()
    off[rng.choice(n, n_off, replace=False)] = False
    before = coverage_pieces(g, hydrant_coverage(g, s, radius_m=150.0, in_service=on))
    after = coverage_pieces(g, hydrant_coverage(g, s, radius_m=150.0, in_service=off))
    full_before = underserved_segments(before, buildings=buildings)
    full_after = underserved_segments(after, buildings=buildings)
    changed = _changed_edges(before, after)

    forward = splice_underserved(full_before, after, changed, buildings=buildings)
    _assert_same(forward, full_after)
    back = splice_underserved(full_after, before, changed, buildings=buildings)
    _assert_same(back, full_before)


def _assert_same_gaps(got: gpd.GeoDataFrame, want: gpd.GeoDataFrame) -> None:
    for col in ("name", "from_hydrant", "to_hydrant"):
        assert got[col].tolist() == want[col].tolist()
    assert [list(w) for w in got["way_ids"]] == [list(w) for w in want["way_ids"]]
    np.testing.assert_allclose(got["gap_m"].to_numpy(dtype=float),
                               want["gap_m"].to_numpy(dtype=float), rtol=0, atol=1e-9)
    for g, w in zip(got.geometry, want.geometry, strict=True):
        assert shapely.equals_exact(g, w, tolerance=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_off=st.integers(1, 6))
def test_splice_spacing_equals_full_run(seed: int, n_off: int) -> None:
    # A 6×6 grid with a quarter of the streets unnamed, 40 hydrants (a few unsnapped), a random
    # fifth of the edges not needing hydrants; spacing 120 m. n_off hydrants change status
    # (taken out, or put back), the splice equals a full run both ways.
    rng = np.random.default_rng(seed)
    roads = grid_roads(6, 6, seed=seed, drop=0.1)
    unnamed = rng.random(len(roads)) < 0.25
    roads.loc[unnamed, "name"] = ""
    g = build_graph(roads)
    n = 40
    edges = rng.choice(g.n_edges, n)
    s = snaps(edges, rng.uniform(0, 1, n) * g.length_m[edges], rng.uniform(0, 20, n))
    s = dataclasses.replace(s, edge=np.where(rng.random(n) < 0.1, -1, s.edge))
    needs = rng.random(g.n_edges) >= 0.2
    before = rng.random(n) < 0.8
    changed = rng.choice(n, n_off, replace=False)
    after = before.copy()
    after[changed] = ~after[changed]
    full_before = spacing_gaps(g, s, max_spacing_m=120.0, in_service=before, needs_hydrants=needs)
    full_after = spacing_gaps(g, s, max_spacing_m=120.0, in_service=after, needs_hydrants=needs)
    forward = splice_spacing(full_before, g, s, changed, max_spacing_m=120.0, in_service=after,
                             needs_hydrants=needs)
    _assert_same_gaps(forward, full_after)
    back = splice_spacing(full_after, g, s, changed, max_spacing_m=120.0, in_service=before,
                          needs_hydrants=needs)
    _assert_same_gaps(back, full_before)


def test_pump_connectors_recomputed_near_changed_hydrants_only() -> None:
    """A live status change recomputes the connectors within the band (40 m) of the changed
    hydrant and gives what a full run gives; a change 500 m away leaves them as they were."""
    from geo.layers import build_layers
    from geo.osm import read_osm
    from geo.presets import load_preset
    from routing.analysis import AnalysisOptions, analyze
    from routing.live import recompute_area
    from tests.routing.test_analysis import FIXTURES

    preset = load_preset("cn-gb")
    options = AnalysisOptions(siting=False)
    base = build_layers(read_osm(FIXTURES / "tiny_compound.osm"))
    street = base.roads.geometry.iloc[int(np.argmax(base.roads.geometry.length.to_numpy()))]
    conn = street.interpolate(5.0)
    # the connector on the street, one hydrant 20 m along it (in the 5-40 m band), two 500 m off
    connectors = base.pump_connectors.set_geometry([conn], crs=base.crs)
    one = base.hydrants.iloc[[0, 0, 0]].copy()
    one["hydrant_id"] = ["test/near", "test/far", "test/far2"]
    one["status"] = "in_service"
    one = one.set_geometry([street.interpolate(25.0), shapely.Point(conn.x + 500, conn.y),
                            shapely.Point(conn.x + 520, conn.y)], crs=base.crs)
    hydrants = gpd.GeoDataFrame(pd.concat([base.hydrants, one], ignore_index=True), crs=base.crs)
    layers = dataclasses.replace(base, hydrants=hydrants, pump_connectors=connectors)
    analysis = analyze(layers, preset=preset, options=options)
    before = analysis.layers["pump_connectors_analysis"]["hydrants_in_range"].iloc[0]
    for row in (len(hydrants) - 2, len(hydrants) - 3):  # far first, then near
        changed = hydrants.copy()
        changed.loc[row, "status"] = "out_of_service"
        new_layers, live, _ = recompute_area(layers, analysis, changed, preset=preset,
                                             options=options, changed=np.array([row]))
        full = analyze(new_layers, preset=preset, options=options)
        cols = ["connector_id", "hydrants_in_range", "nearest_hydrant_m"]
        pd.testing.assert_frame_equal(
            pd.DataFrame(live.layers["pump_connectors_analysis"][cols]),
            pd.DataFrame(full.layers["pump_connectors_analysis"][cols]),
        )
        assert live.summary["pump_connectors"] == full.summary["pump_connectors"]
        pd.testing.assert_frame_equal(live.findings, full.findings)
        layers, analysis, hydrants = new_layers, live, changed
    # the near hydrant counted for the connector, and no longer does out of service
    assert analysis.layers["pump_connectors_analysis"]["hydrants_in_range"].iloc[0] == before - 1


@settings(max_examples=200, deadline=None)
@given(
    old_keys=st.lists(st.integers(0, 12), max_size=40),
    fresh_keys=st.lists(st.integers(0, 12), max_size=15),
    extra=st.lists(st.integers(0, 12), max_size=5),
)
def test_splice_runs_equals_concat_and_sort(
    old_keys: list[int], fresh_keys: list[int], extra: list[int]
) -> None:
    """Replacing key runs in place equals dropping them, appending the fresh rows and a stable
    sort by key (the reference), for any keys, empty runs and keys with no rows at all."""
    from routing.live import splice_runs

    old_k = np.sort(np.asarray(old_keys, dtype=np.int64))
    fresh_k = np.sort(np.asarray(fresh_keys, dtype=np.int64))
    replaced = np.unique(np.concatenate([fresh_k, np.asarray(extra, dtype=np.int64)]))
    old = pd.DataFrame({"k": old_k, "tag": [f"old{i}" for i in range(len(old_k))]})
    fresh = pd.DataFrame({"k": fresh_k, "tag": [f"new{i}" for i in range(len(fresh_k))]})
    got = splice_runs(old, old_k, fresh, fresh_k, replaced)
    kept = old.loc[~np.isin(old_k, replaced)]
    both = pd.concat([kept, fresh], ignore_index=True)
    want = both.iloc[np.argsort(both["k"].to_numpy(), kind="stable")].reset_index(drop=True)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), want, check_dtype=False)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.sampled_from(["A St", " A St", "A St ", "B Rd", "", " ", None, "C"]),
                   min_size=1, max_size=30),
    data=st.data(),
)
def test_edge_street_codes_find_the_rows_names_find(names: list[str | None], data: st.DataObject) -> None:
    """A street's edges by the graph's codes are the rows found by the names (stripped; an
    unnamed edge is its own way's street), for any mix of spacing, blanks and missing names."""
    from routing.live import _EdgeStreets, _street_rows

    ways = data.draw(st.lists(st.integers(1, 5), min_size=len(names), max_size=len(names)))
    roads = pd.DataFrame({"name": pd.Series(names, dtype=object), "way_id": np.asarray(ways)})
    streets = _EdgeStreets(roads)
    keys_all = ["name/A St", "name/B Rd", "name/C", "name/Z", *[f"way/{w}" for w in range(7)]]
    keys = set(data.draw(st.lists(st.sampled_from(keys_all), max_size=5)))
    np.testing.assert_array_equal(streets.rows(keys), _street_rows(roads, keys))
    # one code per street: equal codes exactly where street_keys agree
    from routing.coverage import street_keys

    k = street_keys(roads["name"], roads["way_id"])
    same_code = streets.code[:, None] == streets.code[None, :]
    np.testing.assert_array_equal(same_code, k[:, None] == k[None, :])
