"""Tests of geo._validate, the input checks shared by geo and routing."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo._validate import bool_mask, require_columns, require_same_crs, xy_arrays
from geo.errors import ConfigError, CRSError, LayerValidationError


def test_require_columns_names_what_is_missing_and_where_to_look() -> None:
    frame = gpd.GeoDataFrame({"node_id": [1]}, geometry=[shapely.Point(0, 0)], crs="EPSG:32633")
    require_columns(frame, ["node_id"], layer="turnarounds")  # present: no error
    with pytest.raises(LayerValidationError, match=r"layer 'turnarounds' is missing columns "
                                                   r"\['kind'\]; see geo.schema.TURNAROUNDS"):
        require_columns(frame, ["node_id", "kind"], layer="turnarounds")
    with pytest.raises(LayerValidationError, match=r"\['kind'\]; read it again"):
        require_columns(frame, ["kind"], layer="turnarounds", hint="read it again")


def test_require_same_crs_names_both_crss() -> None:
    frame = gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs="EPSG:32633")
    require_same_crs(frame, frame.crs, layer="buildings", other="the roads graph")
    with pytest.raises(CRSError, match=r"'buildings' \(EPSG:32633\) and the roads graph "
                                       r"\(EPSG:32634\) are in different CRSs"):
        require_same_crs(frame, gpd.GeoSeries(crs="EPSG:32634").crs, layer="buildings",
                         other="the roads graph")
    with pytest.raises(CRSError, match=r"\(no CRS\)"):
        require_same_crs(gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)]), frame.crs,
                         layer="buildings", other="the roads graph")


def test_bool_mask_defaults_to_all_false_and_rejects_other_shapes() -> None:
    assert bool_mask(None, 3, what="edge_mask").tolist() == [False, False, False]
    ok = np.array([True, False])
    assert bool_mask(ok, 2, what="edge_mask").tolist() == [True, False]
    with pytest.raises(ConfigError, match=r"edge_mask must be a boolean mask of shape \(3,\)"):
        bool_mask(ok, 3, what="edge_mask")
    with pytest.raises(ConfigError, match="got dtype int64"):
        bool_mask(np.array([1, 0], dtype=np.int64), 2, what="edge_mask")


def test_xy_arrays_broadcasts_or_says_which_shapes_differ() -> None:
    x, y = xy_arrays([1.0, 2.0], 3.0)
    assert x.tolist() == [1.0, 2.0] and y.tolist() == [3.0, 3.0]
    with pytest.raises(ValueError, match=r"shapes \(2,\) and \(3,\)"):
        xy_arrays([1.0, 2.0], [1.0, 2.0, 3.0])
