"""Parsing of OSM-style measurements (``width``, ``maxheight``, ``height``) into metres."""

from __future__ import annotations

import math
import re

_FEET_INCHES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*(?:\"|'')?)?\s*$")
_NUMBER_UNIT = re.compile(r"^\s*(\d+(?:[.,]\d+)?)\s*([a-zA-Z\"'米]*)\s*$")
_UNIT_M = {"": 1.0, "m": 1.0, "米": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
           "km": 1000.0, "cm": 0.01, "mm": 0.001, "ft": 0.3048, "feet": 0.3048, "foot": 0.3048,
           "'": 0.3048, "in": 0.0254, '"': 0.0254, "mi": 1609.344}

#: Values of ``maxheight``/``maxwidth`` that mean "no limit" or "not signed".
NO_LIMIT = frozenset({"none", "no", "default", "unsigned", "no_sign", "no_indications", "below_default"})


def parse_length_m(value: object) -> float:
    """Parse an OSM length value into metres.

    Accepts ``"3.5"``, ``"3.5 m"``, ``"3,5"``, ``"12'"``, ``"12'6\\""``, ``"14 ft"``, ``"350 cm"``.
    For a ``;``-separated list the smallest value is taken (the binding limit).

    Parameters
    ----------
    value
        The raw tag value (string or number); ``None`` or empty gives NaN.

    Returns
    -------
    float
        Metres, or NaN when the value is missing or cannot be read.
    """
    if value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value >= 0 else math.nan
    text = str(value).strip().lower()
    if not text or text in NO_LIMIT:
        return math.nan
    if ";" in text:
        parts = [parse_length_m(p) for p in text.split(";")]
        finite = [p for p in parts if not math.isnan(p)]
        return min(finite) if finite else math.nan
    m = _FEET_INCHES.match(text)
    if m:
        feet = float(m.group(1))
        inches = float(m.group(2)) if m.group(2) else 0.0
        return feet * 0.3048 + inches * 0.0254
    m = _NUMBER_UNIT.match(text)
    if m:
        number = float(m.group(1).replace(",", "."))
        unit = m.group(2)
        factor = _UNIT_M.get(unit)
        if factor is None:
            return math.nan
        return number * factor
    return math.nan


def parse_float(value: object) -> float:
    """Parse a plain number (``"3"``, ``"2.5"``, ``"3;4"`` takes the first); NaN when unreadable."""
    if value is None:
        return math.nan
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", ".")
    if ";" in text:
        text = text.split(";")[0]
    try:
        return float(text)
    except ValueError:
        return math.nan
