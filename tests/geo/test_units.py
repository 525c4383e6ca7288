import math

import pytest

from geo.units import parse_float, parse_length_m


@pytest.mark.parametrize(
    ("raw", "metres"),
    [
        ("3.5", 3.5), ("3.5 m", 3.5), ("3,5", 3.5), ("4m", 4.0), ("12'", 3.6576),
        ("12'6\"", 12 * 0.3048 + 6 * 0.0254), ("14 ft", 14 * 0.3048), ("350 cm", 3.5),
        ("4;3.2", 3.2), (4, 4.0), (2.5, 2.5), ("80 米", 80.0),
    ],
)
def test_parse_length(raw: object, metres: float) -> None:
    assert parse_length_m(raw) == pytest.approx(metres)


@pytest.mark.parametrize("raw", [None, "", "none", "default", "wide", "3 furlongs", -1.0])
def test_parse_length_unreadable_is_nan(raw: object) -> None:
    assert math.isnan(parse_length_m(raw))


def test_parse_float() -> None:
    assert parse_float("3") == 3.0
    assert parse_float("2;4") == 2.0
    assert parse_float("2,5") == 2.5
    assert math.isnan(parse_float("many"))
    assert math.isnan(parse_float(None))
