"""Building height, use and GB 50016-2014 5.1.1 class: boundaries worked out by hand."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from geo.buildings import (
    BUILDING_COLUMNS,
    GB50016_THRESHOLDS,
    HighRiseThresholds,
    building_height,
    building_use,
    building_volume,
    classify_buildings,
    high_rise_class,
    osm_buildings,
)
from geo.errors import ConfigError, LayerValidationError
from geo.presets import load_preset
from geo.schema import BUILDINGS, validate_layer

# ------------------------------------------------------------------------------ height


@pytest.mark.parametrize(
    ("height", "levels", "height_m", "source", "levels_out"),
    [
        ("80 m", None, 80.0, "height", math.nan),
        ("249", None, 249.0, "height", math.nan),
        ("12'", None, 12 * 0.3048, "height", math.nan),
        ("45", "10", 45.0, "height", 10.0),  # the height tag wins over levels
        (None, "10", 30.0, "levels", 10.0),  # 10 x 3.0 m
        (None, "2.5", 7.5, "levels", 2.5),
        (None, None, math.nan, "unknown", math.nan),
        ("", "", math.nan, "unknown", math.nan),
        ("0", None, math.nan, "unknown", math.nan),  # a zero height is no height
        (None, "0", math.nan, "unknown", 0.0),  # 0 levels (a roof) gives no height
        ("tall", "4", 12.0, "levels", 4.0),  # unreadable height: fall back to levels
        ("tall", None, math.nan, "unknown", math.nan),
        (None, "many", math.nan, "unknown", math.nan),
        (None, "-2", math.nan, "unknown", math.nan),
        (27.5, None, 27.5, "height", math.nan),  # numbers as well as text
    ],
)
def test_building_height(
    height: object, levels: object, height_m: float, source: str, levels_out: float
) -> None:
    got = building_height(pd.Series([height], dtype=object), pd.Series([levels], dtype=object))
    assert list(got.columns) == ["height_m", "height_source", "levels"]
    assert got["height_m"].iloc[0] == pytest.approx(height_m, nan_ok=True)
    assert got["height_source"].iloc[0] == source
    assert got["levels"].iloc[0] == pytest.approx(levels_out, nan_ok=True)


def test_building_height_keeps_index_and_option() -> None:
    h = pd.Series([None, "30"], index=["a", "b"], dtype=object)
    lv = pd.Series(["10", None], index=["a", "b"], dtype=object)
    got = building_height(h, lv, metres_per_level=2.8)
    assert list(got.index) == ["a", "b"]
    assert got.loc["a", "height_m"] == pytest.approx(28.0)
    assert got.loc["b", "height_m"] == 30.0


def test_building_height_errors() -> None:
    with pytest.raises(ConfigError, match="metres_per_level"):
        building_height(pd.Series(["1"]), pd.Series(["1"]), metres_per_level=0.0)
    with pytest.raises(LayerValidationError, match="differ in length"):
        building_height(pd.Series(["1", "2"]), pd.Series(["1"]))


# ------------------------------------------------------------------------------ use


@pytest.mark.parametrize(
    ("building", "tags", "use"),
    [
        ("apartments", {}, "residential"),
        ("residential", {}, "residential"),
        ("house", {}, "residential"),
        ("dormitory", {}, "residential"),
        ("semidetached_house", {}, "residential"),
        ("commercial", {}, "public"),
        ("office", {}, "public"),
        ("hospital", {}, "public"),
        ("school", {}, "public"),
        ("kindergarten", {}, "public"),
        ("train_station", {}, "public"),
        ("temple", {}, "public"),
        ("sports_hall", {}, "public"),
        ("industrial", {}, "industrial"),
        ("warehouse", {}, "industrial"),
        ("storage_tank", {}, "industrial"),
        ("yes", {}, "unknown"),
        ("yes", {"amenity": "hospital"}, "public"),
        ("yes", {"amenity": "restaurant"}, "public"),
        ("yes", {"shop": "supermarket"}, "public"),
        ("yes", {"office": "government"}, "public"),
        ("yes", {"tourism": "hotel"}, "public"),
        ("yes", {"amenity": "parking"}, "unknown"),  # a car park is not inferred public
        ("garage", {}, "unknown"),
        ("Apartments", {}, "residential"),  # case and spaces
        ("apartments;retail", {}, "residential"),  # first of a list
        ("apartments", {"shop": "convenience"}, "residential"),  # the building value wins
        (None, {}, "unknown"),
    ],
)
def test_building_use(building: str | None, tags: dict[str, str], use: str) -> None:
    def col(key: str) -> pd.Series:
        return pd.Series([tags.get(key)], dtype=object)

    got = building_use(pd.Series([building], dtype=object), col("amenity"), col("shop"),
                       col("office"), col("tourism"))
    assert got.name == "use"
    assert got.iloc[0] == use


def test_building_use_without_optional_tags() -> None:
    got = building_use(pd.Series(["yes", "retail"], index=[7, 9]))
    assert got.to_dict() == {7: "unknown", 9: "public"}


# ------------------------------------------------------------------------------ high-rise class


@pytest.mark.parametrize(
    ("use", "height", "levels", "building", "amenity", "expected", "basis"),
    [
        # residential: high-rise > 27 m, class 1 > 54 m
        ("residential", 27.0, 9, "apartments", "", "not_high_rise", "27.0 m <= 27 m"),
        ("residential", 27.1, 9, "apartments", "", "class2",
         "27.1 m > 27 m: GB 50016 5.1.1 class 2"),
        ("residential", 54.0, 18, "apartments", "", "class2", "54.0 m > 27 m"),
        ("residential", 54.1, 18, "apartments", "", "class1",
         "54.1 m > 54 m: GB 50016 5.1.1 class 1"),
        # public: high-rise > 24 m (not single storey), class 1 > 50 m
        ("public", 24.0, 6, "office", "", "not_high_rise", "public, 24.0 m <= 24 m"),
        ("public", 24.1, 6, "office", "", "class2",
         "public, 24.1 m > 24 m: GB 50016 5.1.1 class 2"),
        ("public", 50.0, 12, "office", "", "class2", "50.0 m > 24 m"),
        ("public", 50.1, 12, "office", "", "class1", "50.1 m > 50 m: GB 50016 5.1.1 class 1"),
        ("public", 80.0, 20, "office", "", "class1",
         "public, 80.0 m > 50 m: GB 50016 5.1.1 class 1"),
        # single-storey public building (a hall) is never high-rise
        ("public", 30.0, 1, "sports_hall", "", "not_high_rise", "single storey"),
        # hospitals and elderly care: class 1 above 24 m
        ("public", 30.0, 8, "hospital", "", "class1", "(hospital)"),
        ("public", 30.0, 8, "yes", "hospital", "class1", "(hospital)"),
        ("public", 30.0, 8, "yes", "nursing_home", "class1", "(elderly care)"),
        ("public", 24.0, 8, "hospital", "", "not_high_rise", "24.0 m <= 24 m"),
        # unknown height: unknown, even when the use is known
        ("residential", math.nan, math.nan, "apartments", "", "unknown", "height unknown"),
        ("public", math.nan, 30, "office", "", "unknown", "height unknown"),
        # unknown use: the stricter public thresholds
        ("unknown", 25.0, 8, "yes", "", "class2", "stricter public thresholds"),
        ("unknown", 24.0, 8, "yes", "", "not_high_rise", "stricter public thresholds"),
        ("unknown", 50.1, 8, "yes", "", "class1", "50.1 m > 50 m"),
        # industrial: 5.1.1 does not apply; > 24 m multi-storey is high-rise, public thresholds
        ("industrial", 30.0, 6, "industrial", "", "class2", "does not classify"),
        ("industrial", 60.0, 12, "warehouse", "", "class1", "does not classify"),
        ("industrial", 30.0, 1, "warehouse", "", "not_high_rise", "single storey"),
        # residential 25 m would be high-rise as public, not as residential
        ("residential", 25.0, 8, "apartments", "", "not_high_rise", "25.0 m <= 27 m"),
    ],
)
def test_high_rise_class(
    use: str, height: float, levels: float, building: str, amenity: str, expected: str, basis: str
) -> None:
    got = high_rise_class(
        pd.Series([height]), pd.Series([use]), pd.Series([levels], dtype=float),
        pd.Series([building]), amenity_tag=pd.Series([amenity]),
    )
    assert got["high_rise_class"].iloc[0] == expected
    assert basis in got["class_basis"].iloc[0]


def test_storeys_unknown_taken_as_multi_storey() -> None:
    got = high_rise_class(pd.Series([30.0]), pd.Series(["public"]), pd.Series([math.nan]),
                          pd.Series(["office"]))
    assert got["high_rise_class"].iloc[0] == "class2"
    assert "storeys unknown, taken as multi-storey" in got["class_basis"].iloc[0]


def test_important_public_building() -> None:
    got = high_rise_class(
        pd.Series([30.0, 30.0]), pd.Series(["public", "public"]), pd.Series([8.0, 8.0]),
        pd.Series(["yes", "yes"]), important=pd.Series([True, None], dtype=object),
    )
    assert got["high_rise_class"].tolist() == ["class1", "class2"]
    assert "marked important" in got["class_basis"].iloc[0]


def test_high_rise_from_height_and_levels_end_to_end() -> None:
    """Levels 10 -> 30 m -> residential class 2; levels 9 -> 27 m -> not high-rise."""
    h = building_height(pd.Series([None, None, "80 m", None], dtype=object),
                        pd.Series(["10", "9", None, None], dtype=object))
    use = pd.Series(["residential", "residential", "public", "public"])
    got = high_rise_class(h["height_m"], use, h["levels"], pd.Series(["yes"] * 4))
    assert got["high_rise_class"].tolist() == ["class2", "not_high_rise", "class1", "unknown"]
    assert got["class_basis"].iloc[2].startswith("public, 80.0 m > 50 m: GB 50016 5.1.1 class 1")


def test_high_rise_class_errors() -> None:
    with pytest.raises(LayerValidationError, match="office"):
        high_rise_class(pd.Series([30.0]), pd.Series(["office"]), pd.Series([8.0]),
                        pd.Series(["yes"]))
    with pytest.raises(LayerValidationError, match="negative"):
        high_rise_class(pd.Series([-1.0]), pd.Series(["public"]), pd.Series([8.0]),
                        pd.Series(["yes"]))
    with pytest.raises(ConfigError, match="class 1 threshold"):
        HighRiseThresholds(residential_m=30.0, residential_class1_m=20.0)


def test_thresholds_from_preset() -> None:
    assert HighRiseThresholds.from_preset(load_preset("cn-gb")) == GB50016_THRESHOLDS
    with pytest.raises(ConfigError, match="high_rise_residential"):
        HighRiseThresholds.from_preset(load_preset("us"))


# ------------------------------------------------------------------------------ volume


def test_building_volume() -> None:
    got = building_volume(pd.Series([100.0, 250.0, 80.0]), pd.Series([30.0, math.nan, 3.0]))
    assert got.name == "volume_m3"
    assert got.tolist()[0] == 3000.0 and math.isnan(got.tolist()[1]) and got.tolist()[2] == 240.0
    with pytest.raises(LayerValidationError, match="negative"):
        building_volume(pd.Series([-1.0]), pd.Series([3.0]))


def test_classify_buildings() -> None:
    raw = pd.DataFrame(
        {
            "building": ["apartments", "yes", "office"],
            "height": ["80 m", None, None],
            "building:levels": [None, "10", None],
            "amenity": [None, None, None],
            "footprint_m2": [400.0, 200.0, 50.0],
        },
        index=[3, 4, 5],
    )
    got = classify_buildings(raw)
    assert list(got.index) == [3, 4, 5]
    assert got["height_source"].tolist() == ["height", "levels", "unknown"]
    assert got["use"].tolist() == ["residential", "unknown", "public"]
    assert got["high_rise_class"].tolist() == ["class1", "class2", "unknown"]
    assert got["volume_m3"].iloc[:2].tolist() == [32000.0, 6000.0]
    assert math.isnan(got["volume_m3"].iloc[2])
    assert "building:levels" in raw.columns and "use" not in raw.columns  # input untouched


# ------------------------------------------------------------------------------ OSM layer


@dataclass(frozen=True)
class _FakeOsm:
    areas: pd.DataFrame


def test_osm_buildings_layer() -> None:
    crs = pyproj.CRS.from_epsg(32651)  # UTM 51N (Shanghai)
    to_wgs = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    x0, y0 = 355000.0, 3450000.0

    def square(dx: float, side: float) -> shapely.MultiPolygon:
        utm = shapely.box(x0 + dx, y0, x0 + dx + side, y0 + side)
        return shapely.MultiPolygon([shapely.transform(utm, lambda c: np.column_stack(
            to_wgs.transform(c[:, 0], c[:, 1])))])

    areas = pd.DataFrame(
        {
            "osm_type": ["w", "w", "r", "w"],
            "osm_id": [1, 2, 3, 4],
            "tags": [
                {"building": "apartments", "building:levels": "33", "name": "一号楼"},
                {"building": "yes", "amenity": "hospital", "height": "30"},
                {"building": "construction"},
                {"building": "yes"},
            ],
            "geometry": [square(0, 20), square(100, 30), square(200, 10), square(300, 10)],
        }
    )
    layer = osm_buildings(_FakeOsm(areas), crs=crs)
    validate_layer(layer, name="buildings")
    assert list(layer.columns[:-1]) == BUILDING_COLUMNS == [c.name for c in BUILDINGS]
    assert isinstance(layer, gpd.GeoDataFrame) and layer.crs == crs
    by_id = layer.set_index("building_id")
    assert list(by_id.index) == ["osm/w1", "osm/w2", "osm/w4"]  # construction left out
    assert by_id.loc["osm/w1", "name"] == "一号楼"
    assert by_id.loc["osm/w1", "height_m"] == pytest.approx(99.0)
    assert by_id.loc["osm/w1", "high_rise_class"] == "class1"
    assert by_id.loc["osm/w1", "footprint_m2"] == pytest.approx(400.0, rel=1e-3)
    assert by_id.loc["osm/w1", "volume_m3"] == pytest.approx(39600.0, rel=1e-3)
    assert by_id.loc["osm/w2", "use"] == "public"
    assert by_id.loc["osm/w2", "high_rise_class"] == "class1"
    assert by_id.loc["osm/w4", "high_rise_class"] == "unknown"
    assert math.isnan(by_id.loc["osm/w4", "volume_m3"])


def test_osm_buildings_empty() -> None:
    empty = pd.DataFrame(columns=["osm_type", "osm_id", "tags", "geometry"])
    layer = osm_buildings(_FakeOsm(empty), crs=pyproj.CRS.from_epsg(32651))
    assert len(layer) == 0
    assert list(layer.columns[:-1]) == BUILDING_COLUMNS


def test_tag_normalisation_equals_the_plain_string_pipeline() -> None:
    """Each distinct value is normalised once; the result equals normalising every row."""
    from geo.buildings import _norm

    values = [None, np.nan, " Yes ", "a;b", "APARTMENTS", "", ";x", 3, "x ; y", "yes", "商业;住宅"]
    rnd = random.Random(7)
    for _ in range(200):
        rows = [rnd.choice(values) for _ in range(rnd.randint(0, 40))]
        obj = pd.Series(rows, dtype=object)
        plain = obj.where(obj.notna(), "").astype(str).str.split(";").str[0].str.strip().str.lower()
        assert _norm(rows).tolist() == plain.tolist(), rows
