"""The one bbox type: order, degree ranges, min < max, the antimeridian, and messages that help."""

from __future__ import annotations

import math

import pytest

from geo.bbox import BBox, parse_bbox
from geo.errors import ConfigError


def test_parse_gives_a_tuple_like_box() -> None:
    box = parse_bbox(" 24.93, 60.16 ,24.96,60.18")  # spaces around the numbers are fine
    assert box == BBox(24.93, 60.16, 24.96, 60.18) == (24.93, 60.16, 24.96, 60.18)
    west, south, east, north = box
    assert (west, south, east, north) == (24.93, 60.16, 24.96, 60.18)
    assert (box.west, box.north) == (24.93, 60.18) and not box.crosses_antimeridian
    assert BBox.of([-180, -90, 180, 90]) == (-180.0, -90.0, 180.0, 90.0)  # the whole world: edges included


@pytest.mark.parametrize(("text", "message"), [
    ("1,2,3", r"four numbers"),
    ("1,2,3,4,5", r"four numbers"),
    ("", r"four numbers"),
    ("a,b,c,d", r"must be a number"),
    ("0,0,1,nan", r"finite"),
    ("0,0,inf,1", r"finite"),
    # Shanghai given latitude first: 121.49 is no latitude, 31.27 could be a longitude
    ("31.27,121.49,31.29,121.52", r"latitude first: give longitude first"),
    # UTM metres (Helsinki, EPSG:32635)
    ("385000,6670000,386000,6671000", r"metres of a projected CRS"),
    ("-190,0,10,10", r"longitudes \(west, east\) must lie in \[-180, 180\]"),
    ("0,11,1,10", r"south \(11\) must be below north \(10\)"),
    ("0,10,1,10", r"south \(10\) must be below north \(10\)"),  # zero height
    ("121.52,31.27,121.49,31.29", r"west \(121.52\) must be less than east \(121.49\).*antimeridian"),
    ("5,0,5,1", r"west \(5\) must be less than east \(5\)"),  # zero width
])
def test_rules(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as err:
        parse_bbox(text, where="--bbox")
    # what was given, where, and what the numbers must be
    assert str(err.value).startswith(f"--bbox={text!r}")
    assert "WGS84 degrees (longitude first)" in str(err.value)


def test_antimeridian_only_where_accepted() -> None:
    box = parse_bbox("170,-10,-170,10", antimeridian=True)  # 20° wide, across 180°
    assert box.crosses_antimeridian and box == (170, -10, -170, 10)
    with pytest.raises(ConfigError, match="not supported here"):
        parse_bbox("170,-10,-170,10")
    with pytest.raises(ConfigError, match="must be less than east"):
        parse_bbox("170,-10,170,10", antimeridian=True)  # zero width is never a box


def test_of_checks_numbers_too() -> None:
    with pytest.raises(ConfigError, match="four numbers"):
        BBox.of((1.0, 2.0, 3.0))
    with pytest.raises(ConfigError, match="finite"):
        BBox.of((0.0, 0.0, math.nan, 1.0))
    with pytest.raises(ConfigError, match="bbox: south"):
        BBox.of((0.0, 1.0, 1.0, 0.0))
    assert isinstance(ConfigError("x"), ValueError)  # pydantic validators turn it into a 422
