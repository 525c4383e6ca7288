"""Rule presets: the numbers the analyses check, each with its clause, severity and confidence.

A preset is a TOML file (read with :mod:`tomllib`) plus a fire-flow CSV table. Three ship with
FireReach in ``geo/presets/``: ``cn-gb`` (China, the default), ``us`` (ISO / IFC / NFPA) and ``de``
(DVGW W 405 / DIN 14090). A user file may start from one of them with ``extends = "cn-gb"`` and
change only the keys it names::

    extends = "cn-gb"
    name = "shanghai-yangpu"

    [rules.hydrant_radius]
    value_m = 120.0
    note = "district practice: 120 m"

Every rule carries its values with the unit in the key name (``value_m``, ``min_lps``,
``pressure_mpa`` ...), its clause, severity (``shall``: a violation; ``should``: a warning) and
confidence (``verified`` ✅, ``secondary`` 🟡, ``unverified`` ⚠️). Only SI-style units are
accepted in a file (metres, L/s, MPa, seconds ...): a US or German value is stored converted, with
the wording of the source kept in ``source_value``.

Nothing here reads settings or the environment: :func:`load_preset` takes a name or a path and
returns a frozen :class:`Preset` that the analyses receive as an argument.
"""

from __future__ import annotations

import io
import logging
import math
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from geo.errors import ConfigError
from geo.preset_model import (
    APPARATUS_KINDS,
    CONFIDENCE_SYMBOLS,
    FIRE_FLOW_BANDS,
    HYDRANT_STATUSES,
    MEASURES,
    SEVERITIES,
    ApparatusProfile,
    Confidence,
    FireFlowRow,
    FireFlowTable,
    FlowCreditRule,
    Preset,
    Rule,
    Severity,
)
from geo.preset_scope import (
    build_scope_tables,
    check_scope_tables,
)

log = logging.getLogger(__name__)

#: The model (:mod:`geo.preset_model`) is part of this module's public interface.
__all__ = [
    "APPARATUS_KINDS", "BUILTIN_PRESETS", "CONFIDENCE_SYMBOLS", "CORE_RULES", "FIRE_FLOW_BANDS",
    "FIRE_FLOW_GROUP_KEYS", "HYDRANT_STATUSES", "MEASURES", "RULE_KEYS", "RULE_TEXT_KEYS",
    "SEVERITIES", "UNITS", "ApparatusProfile", "Confidence", "FireFlowRow", "FireFlowTable",
    "FlowCreditRule", "Preset", "Rule", "Severity", "load_preset",
]

#: Names of the presets shipped in ``geo/presets/``.
BUILTIN_PRESETS: tuple[str, ...] = ("cn-gb", "us", "de")

#: Unit suffixes accepted at the end of a numeric key, and what they mean.
UNITS: Mapping[str, str] = MappingProxyType(
    {
        "m": "metres",
        "m2": "square metres",
        "km2": "square kilometres",
        "lps": "litres per second",
        "mpa": "megapascals",
        "s": "seconds",
        "h": "hours",
        "pct": "percent",
        "frac": "fraction between 0 and 1",
        "count": "a count",
        "cny": "yuan (CNY)",
        "kmh": "kilometres per hour",
    }
)

# Units a source may use but a preset file may not: what to store instead.
_FOREIGN_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "ft": "metres (1 ft = 0.3048 m)",
        "in": "metres (1 in = 0.0254 m)",
        "yd": "metres (1 yd = 0.9144 m)",
        "mi": "metres (1 mi = 1609.344 m)",
        "km": "metres",
        "cm": "metres",
        "mm": "metres",
        "gpm": "L/s (1 US gpm = 0.0630902 L/s)",
        "lpm": "L/s (1 L/min = 1/60 L/s)",
        "m3h": "L/s (1 m3/h = 1/3.6 L/s)",
        "psi": "MPa (1 psi = 0.00689476 MPa)",
        "bar": "MPa (1 bar = 0.1 MPa)",
        "kpa": "MPa (1 kPa = 0.001 MPa)",
        "min": "seconds",
        "mph": "km/h (1 mph = 1.609344 km/h)",
        "ft2": "square metres (1 ft2 = 0.09290304 m2)",
    }
)

#: Text keys a rule may have; the first five are required.
RULE_TEXT_KEYS: tuple[str, ...] = (
    "clause", "severity", "confidence", "title_en", "title_zh",
    "note", "measure", "source_value", "shape", "applies_to",
)
_RULE_REQUIRED_TEXT = RULE_TEXT_KEYS[:5]

#: Numeric keys (with units) each known rule must have. Rules not listed may have any keys.
RULE_KEYS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        # hydrants
        "hydrant_radius": ("value_m",),
        "hydrant_spacing": ("value_m",),
        "hydrant_both_sides_road_width": ("value_m",),
        "hydrant_kerb_distance_min": ("value_m",),
        "hydrant_kerb_distance_max": ("value_m",),
        "hydrant_wall_distance": ("value_m",),
        "hydrant_worst_point": ("flow_lps", "pressure_mpa"),
        "hydrant_main_pressure": ("value_mpa",),
        "hydrant_credit": ("min_lps", "max_lps", "default_lps"),
        "hydrant_count_band": ("min_m", "max_m"),
        "pump_connector_hydrant_band": ("min_m", "max_m"),
        "pump_connector_hydrant_distance": ("min_m", "max_m"),
        "fire_main_min_dn": ("value_m",),
        "indoor_hydrant_residential": ("value_m",),
        "hydrants_firefighting_side": ("min_count",),
        "hydrant_no_parking": ("value_m",),
        "fire_duration": ("civil_h", "important_h"),
        # buildings
        "high_rise_residential": ("value_m",),
        "high_rise_residential_class1": ("value_m",),
        "high_rise_public": ("value_m",),
        "high_rise_public_class1": ("value_m",),
        "building_metres_per_level": ("value_m",),
        # fire lanes
        "fire_lane_width": ("value_m",),
        "fire_lane_height": ("value_m",),
        "fire_lane_slope": ("value_pct",),
        "fire_lane_slope_should": ("value_pct",),
        "fire_lane_wall_distance": ("value_m",),
        "fire_lane_dead_end": ("value_m",),
        "fire_lane_turnaround": ("standard_m", "high_rise_m", "heavy_m"),
        "fire_lane_layout": ("public_footprint_m2",),
        "fire_lane_ring_connections": ("min_count",),
        "fire_lane_turning_radius": ("pumper_m", "aerial_m", "heavy_m"),
        # aerial apparatus operating sites
        "aerial_site_extent": ("perimeter_frac",),
        "aerial_site_podium_depth": ("value_m",),
        "aerial_site_gap": ("value_m", "max_height_m"),
        "aerial_site_size": ("length_m", "width_m"),
        "aerial_site_size_tall": ("length_m", "width_m", "above_height_m"),
        "aerial_site_facade_min": ("value_m",),
        "aerial_site_facade_max": ("value_m",),
        "aerial_site_slope": ("value_pct",),
        # stations
        "station_turnout": ("value_s",),
        "station_travel": ("value_s",),
        "station_response": ("value_s",),
        "station_district_area": ("class1_km2", "class2_km2", "small_km2", "suburban_km2"),
        # law
        "law_fines": ("unit_min_cny", "unit_max_cny", "individual_max_cny"),
        "law_no_parking_public_road": ("value_m",),
    }
)

#: Rules every preset must define (after ``extends``): the analyses read them unconditionally.
CORE_RULES: tuple[str, ...] = (
    "hydrant_radius", "hydrant_spacing", "hydrant_credit", "hydrant_count_band",
    "pump_connector_hydrant_band", "hydrant_worst_point", "hydrant_no_parking", "fire_duration",
    "building_metres_per_level",
    "fire_lane_width", "fire_lane_height", "fire_lane_slope", "fire_lane_dead_end",
    "fire_lane_turnaround", "fire_lane_turning_radius",
    "station_turnout", "station_travel", "station_response",
)

_TOP_KEYS = (
    "name", "title_en", "title_zh", "extends", "note",
    "rules", "apparatus", "speeds", "flow_credit", "fire_flow", "hydrant_status", "coverage",
)
_APPARATUS_NUMBERS = ("min_width_m", "min_height_m", "turning_radius_m", "turnaround_m")
_APPARATUS_TEXT = ("clause", "confidence", "note", "title_en", "title_zh")
_SPEED_TEXT = ("confidence", "note")
_FLOW_CREDIT_NUMBERS = ("in_service_lps", "low_pressure_lps", "unknown_lps", "out_of_service_lps")
_FLOW_CREDIT_BOOLS = ("flag_unknown", "cap_at_measured")
_FLOW_CREDIT_LISTS = ("band_min_m", "band_max_m", "band_lps")
_FLOW_CREDIT_TEXT = ("clause", "confidence", "note")
_FIRE_FLOW_TEXT = ("csv", "clause", "confidence", "note", "default_grade")

_FIRE_FLOW_COLUMNS = ("fire_resistance_grade", "building_group", "flow_lps", "confidence", "note")

#: Keys of ``[fire_flow.groups]``: building use, optionally a tag-based kind, and ``_high_rise``.
FIRE_FLOW_GROUP_KEYS: tuple[str, ...] = tuple(
    f"{base}{suffix}"
    for base in ("residential", "public", "industrial", "unknown", "warehouse", "house")
    for suffix in ("", "_high_rise")
)
_FIRE_FLOW_REQUIRED_GROUPS = ("residential", "public", "industrial", "unknown")

# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileRef:
    """A preset or CSV file: built-in package data or a user path."""

    label: str
    location: Traversable
    directory: Traversable | None  # None for built-ins: relative refs resolve to built-ins


def _builtin_dir() -> Traversable:
    return resources.files("geo") / "presets"


def _builtin_ref(filename: str) -> _FileRef:
    return _FileRef(f"geo/presets/{filename} (built-in)", _builtin_dir() / filename, None)


def _resolve(ref: str | os.PathLike[str], *, relative_to: _FileRef | None, what: str) -> _FileRef:
    """Find a preset (``what='preset'``) or CSV (``what='csv'``) file."""
    text = os.fspath(ref)
    if what == "preset" and text in BUILTIN_PRESETS:
        return _builtin_ref(f"{text}.toml")
    if relative_to is not None and relative_to.directory is None:
        # a built-in file refers to another built-in file
        return _builtin_ref(text)
    path = Path(text).expanduser()
    if not path.is_absolute() and relative_to is not None and relative_to.directory is not None:
        path = Path(str(relative_to.directory)) / path
    path = path.resolve()
    if not path.is_file():
        hint = (
            f"not one of the built-in presets ({', '.join(BUILTIN_PRESETS)}) and no such file"
            if what == "preset" else "no such file"
        )
        where = f" (named in {relative_to.label})" if relative_to is not None else ""
        raise ConfigError(f"{what} {text!r}{where}: {hint}; give a built-in name or a file path")
    return _FileRef(str(path), path, path.parent)


def load_preset(name_or_path: str | os.PathLike[str]) -> Preset:
    """Load and validate a rule preset.

    Parameters
    ----------
    name_or_path
        ``"cn-gb"``, ``"us"`` or ``"de"`` for a built-in preset, or the path of a user TOML file,
        which may start from another preset with ``extends = "cn-gb"`` (or a path relative to it).

    Returns
    -------
    Preset
        The merged, validated preset.

    Raises
    ------
    ConfigError
        When a file is missing or unreadable, or a key is missing, has a wrong unit, a wrong type
        or a negative value; the message names the file and the key.
    """
    top = _resolve(name_or_path, relative_to=None, what="preset")
    doc, sources, files = _load_doc(top, seen=())
    preset = _build(doc, sources, files)
    log.info(
        "preset %s: %d rules, %d apparatus profiles, %d fire-flow cells (%s)",
        preset.name, len(preset.rules), len(preset.apparatus), len(preset.fire_flow.rows),
        " <- ".join(files),
    )
    return preset


def _load_doc(
    ref: _FileRef, *, seen: tuple[str, ...]
) -> tuple[dict[str, Any], dict[tuple[str, str], str], tuple[str, ...]]:
    """Read one file, check it, and merge it over what it extends."""
    if ref.label in seen:
        raise ConfigError(
            f"preset file {ref.label}: 'extends' loops back to itself ({' -> '.join(seen)});"
            " remove the cycle"
        )
    try:
        doc = tomllib.loads(ref.location.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"preset file {ref.label} is not valid TOML: {exc}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"preset file {ref.label} cannot be read: {exc}") from exc
    _check_doc(doc, ref)
    sources = {
        (section, name): ref.label
        for section in ("rules", "apparatus")
        for name in doc.get(section, {})
    }
    sources.update(
        {(section, ""): ref.label for section in doc if section not in ("rules", "apparatus")}
    )
    files: tuple[str, ...] = (ref.label,)
    if "extends" in doc:
        base_ref = _resolve(doc["extends"], relative_to=ref, what="preset")
        base, base_sources, base_files = _load_doc(base_ref, seen=(*seen, ref.label))
        if "groups" in doc.get("fire_flow", {}) and "fire_flow" in base:
            # a new group mapping replaces the old one (it usually goes with a new table)
            base["fire_flow"] = {k: v for k, v in base["fire_flow"].items() if k != "groups"}
        doc = _merge(base, {k: v for k, v in doc.items() if k != "extends"})
        base_sources.update(sources)
        sources = base_sources
        files = (*files, *base_files)
    return doc, sources, files


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge of TOML tables (``over`` wins; lists and values are replaced)."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


# --------------------------------------------------------------------------------------------
# Checks of one file (before merging): types, units, signs
# --------------------------------------------------------------------------------------------


def _number(value: object, where: str, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{where} is {value!r}; expected a number")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(f"{where} is {number}; expected a finite number")
    if number < 0 or (positive and number == 0):
        sign = "greater than 0" if positive else "0 or more"
        raise ConfigError(f"{where} is {number:g}; it must be {sign}: fix the value")
    return number


def _text(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where} must be text in quotes, got {value!r}")
    return value


def _table(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a table ([...] section), got {value!r}")
    return value


def _check_unit(key: str, where: str, *, expected: Sequence[str] = ()) -> None:
    stem, sep, unit = key.rpartition("_")
    if not sep or not stem:
        raise ConfigError(
            f"{where}: a numeric key must end in its unit, e.g. value_m; known units: "
            f"{', '.join(f'_{u} ({m})' for u, m in UNITS.items())}"
        )
    if unit in _FOREIGN_UNITS:
        raise ConfigError(
            f"{where}: wrong unit '{unit}'; preset files store {_FOREIGN_UNITS[unit]}. Convert the"
            f" value, rename the key, and keep the source's wording in source_value"
        )
    if unit not in UNITS:
        raise ConfigError(
            f"{where}: unknown unit '{unit}'; known units: "
            f"{', '.join(f'_{u} ({m})' for u, m in UNITS.items())}"
        )
    for exp in expected:
        exp_stem, _, exp_unit = exp.rpartition("_")
        if exp_stem == stem and exp_unit != unit:
            raise ConfigError(
                f"{where}: wrong unit '{unit}'; this rule expects {exp} ({UNITS[exp_unit]})"
            )


def _check_enum(key: str, value: str, where: str) -> None:
    allowed: tuple[str, ...] = ()
    if key == "severity":
        allowed = SEVERITIES
    elif key == "confidence":
        allowed = tuple(CONFIDENCE_SYMBOLS)
    elif key == "measure":
        allowed = MEASURES
    if allowed and value not in allowed:
        raise ConfigError(f"{where} is {value!r}; expected one of {', '.join(allowed)}")


def _check_doc(doc: Mapping[str, Any], ref: _FileRef) -> None:
    """Check one file's keys, types, units and signs (completeness is checked after merging)."""
    at = f"preset file {ref.label}"
    for key in doc:
        if key not in _TOP_KEYS:
            raise ConfigError(
                f"{at}: unknown top-level key {key!r}; allowed: {', '.join(_TOP_KEYS)}"
            )
    if "name" not in doc:
        raise ConfigError(
            f"{at}: missing key 'name'; add name = \"...\" at the top (every preset file names"
            " itself, also one that extends another)"
        )
    for key in ("name", "title_en", "title_zh", "extends", "note"):
        if key in doc:
            _text(doc[key], f"{at}: {key}")
    _check_rules(_table(doc.get("rules", {}), f"{at}: rules"), at)
    _check_apparatus(_table(doc.get("apparatus", {}), f"{at}: apparatus"), at)
    _check_speeds(_table(doc.get("speeds", {}), f"{at}: speeds"), at)
    _check_flow_credit(_table(doc.get("flow_credit", {}), f"{at}: flow_credit"), at)
    _check_fire_flow(_table(doc.get("fire_flow", {}), f"{at}: fire_flow"), at, ref)
    check_scope_tables(doc, at)


def _check_rules(rules: dict[str, Any], at: str) -> None:
    """``[rules.<id>]``: text keys from :data:`RULE_TEXT_KEYS`, numbers with a unit suffix."""
    for rule_id, raw in rules.items():
        rule = _table(raw, f"{at}: rules.{rule_id}")
        for key, value in rule.items():
            where = f"{at}: rules.{rule_id}.{key}"
            if key in RULE_TEXT_KEYS:
                _check_enum(key, _text(value, where), where)
            elif isinstance(value, str):
                if key.rpartition("_")[2] in UNITS:
                    raise ConfigError(
                        f"{where} is {value!r} (text); write the number without quotes"
                    )
                raise ConfigError(
                    f"{where}: unknown text key; rule text keys are {', '.join(RULE_TEXT_KEYS)}"
                )
            else:
                _check_unit(key, where, expected=RULE_KEYS.get(rule_id, ()))
                _number(value, where)


def _check_apparatus(apparatus: dict[str, Any], at: str) -> None:
    """``[apparatus.<kind>]``: the four positive sizes and provenance text."""
    for kind, raw in apparatus.items():
        prof = _table(raw, f"{at}: apparatus.{kind}")
        for key, value in prof.items():
            where = f"{at}: apparatus.{kind}.{key}"
            if key in _APPARATUS_TEXT:
                _check_enum(key, _text(value, where), where)
            elif key in _APPARATUS_NUMBERS:
                _number(value, where, positive=True)
            else:
                _check_unit(key, where, expected=_APPARATUS_NUMBERS)
                raise ConfigError(
                    f"{where}: unknown key; apparatus keys are "
                    f"{', '.join(_APPARATUS_NUMBERS + _APPARATUS_TEXT)}"
                )


def _check_speeds(speeds: dict[str, Any], at: str) -> None:
    """``[speeds]``: positive ``<highway>_kmh`` values and provenance text."""
    for key, value in speeds.items():
        where = f"{at}: speeds.{key}"
        if key in _SPEED_TEXT:
            _check_enum(key, _text(value, where), where)
        else:
            _check_unit(key, where, expected=("default_kmh",))
            if not key.endswith("_kmh"):
                raise ConfigError(f"{where}: speeds are keyed <highway>_kmh, e.g. residential_kmh")
            _number(value, where, positive=True)


def _check_flow_credit(table: dict[str, Any], at: str) -> None:
    for key, value in table.items():
        where = f"{at}: flow_credit.{key}"
        if key in _FLOW_CREDIT_TEXT:
            _check_enum(key, _text(value, where), where)
        elif key in _FLOW_CREDIT_NUMBERS:
            _number(value, where)
        elif key in _FLOW_CREDIT_BOOLS:
            if not isinstance(value, bool):
                raise ConfigError(f"{where} is {value!r}; expected true or false")
        elif key in _FLOW_CREDIT_LISTS:
            if not isinstance(value, list):
                raise ConfigError(f"{where} must be a list of numbers, e.g. [0.0, 91.44]")
            for i, item in enumerate(value):
                _number(item, f"{where}[{i}]")
        else:
            _check_unit(key, where, expected=_FLOW_CREDIT_NUMBERS + _FLOW_CREDIT_LISTS)
            known = (
                _FLOW_CREDIT_NUMBERS + _FLOW_CREDIT_BOOLS + _FLOW_CREDIT_LISTS + _FLOW_CREDIT_TEXT
            )
            raise ConfigError(f"{where}: unknown key; flow_credit keys are {', '.join(known)}")


def _check_fire_flow(table: dict[str, Any], at: str, ref: _FileRef) -> None:
    for key, value in table.items():
        where = f"{at}: fire_flow.{key}"
        if key in _FIRE_FLOW_TEXT:
            _check_enum(key, _text(value, where), where)
        elif key == "groups":
            groups = _table(value, where)
            for gkey, gval in groups.items():
                if isinstance(gval, dict):
                    for kind, group in gval.items():
                        _check_group_key(kind, f"{where}.{gkey}.{kind}")
                        _text(group, f"{where}.{gkey}.{kind}")
                else:
                    _check_group_key(gkey, f"{where}.{gkey}")
                    _text(gval, f"{where}.{gkey}")
        else:
            known = ", ".join((*_FIRE_FLOW_TEXT, "groups"))
            raise ConfigError(f"{where}: unknown key; fire_flow keys are {known}")
    if "csv" in table:
        # resolve now, relative to the file that names it
        table["csv"] = _resolve(table["csv"], relative_to=ref, what="csv")


def _check_group_key(key: str, where: str) -> None:
    if key not in FIRE_FLOW_GROUP_KEYS:
        raise ConfigError(
            f"{where}: unknown building kind {key!r}; allowed: {', '.join(FIRE_FLOW_GROUP_KEYS)}"
        )


# --------------------------------------------------------------------------------------------
# Building the preset (after merging): completeness and consistency
# --------------------------------------------------------------------------------------------


def _build(
    doc: dict[str, Any], sources: dict[tuple[str, str], str], files: tuple[str, ...]
) -> Preset:
    top = files[0]
    chain = f"preset file {top}"
    if len(files) > 1:
        chain += f" (extends {' -> '.join(files[1:])})"
    rules = _build_rules(doc.get("rules", {}), sources, chain)
    apparatus = _build_apparatus(doc.get("apparatus", {}), sources, chain)
    speeds = dict(doc.get("speeds", {}))
    if "default_kmh" not in speeds:
        raise ConfigError(
            f"{chain}: missing key speeds.default_kmh (the speed for road classes not listed)"
        )
    for key in ("confidence", "note"):
        if key not in speeds:
            raise ConfigError(f"{chain}: missing key speeds.{key}")
    speeds_kmh = {k.removesuffix("_kmh"): float(v) for k, v in speeds.items() if k.endswith("_kmh")}
    flow_credit = _build_flow_credit(doc.get("flow_credit", {}), rules, chain)
    fire_flow = _build_fire_flow(doc.get("fire_flow", {}), chain)
    hydrant_status, coverage_roads = build_scope_tables(doc)
    return Preset(
        name=doc["name"],
        title_en=doc.get("title_en", doc["name"]),
        title_zh=doc.get("title_zh", ""),
        rules=MappingProxyType(rules),
        apparatus=MappingProxyType(apparatus),
        speeds_kmh=MappingProxyType(speeds_kmh),
        speeds_confidence=speeds["confidence"],
        speeds_note=speeds["note"],
        flow_credit=flow_credit,
        fire_flow=fire_flow,
        files=files,
        hydrant_status=hydrant_status,
        coverage_roads=coverage_roads,
    )


def _build_rules(
    raw_rules: Mapping[str, Any], sources: Mapping[tuple[str, str], str], chain: str
) -> dict[str, Rule]:
    missing = [r for r in CORE_RULES if r not in raw_rules]
    if missing:
        raise ConfigError(
            f"{chain}: missing rules {', '.join('rules.' + m for m in missing)}; every preset needs"
            f" them. Add them, or start from a built-in preset with extends = \"cn-gb\""
        )
    rules: dict[str, Rule] = {}
    for rule_id, raw in raw_rules.items():
        at = f"preset file {sources.get(('rules', rule_id), chain)}"
        for key in _RULE_REQUIRED_TEXT:
            if key not in raw:
                raise ConfigError(f"{at}: rules.{rule_id} is missing key {key!r}")
        for key in RULE_KEYS.get(rule_id, ()):
            if key not in raw:
                raise ConfigError(
                    f"{at}: rules.{rule_id} is missing key {key!r} "
                    f"({UNITS[key.rpartition('_')[2]]}); it needs {', '.join(RULE_KEYS[rule_id])}"
                )
        values = {k: float(v) for k, v in raw.items() if k not in RULE_TEXT_KEYS}
        text = {k: v for k, v in raw.items() if k in RULE_TEXT_KEYS[5:] and k != "note"}
        _check_rule_consistency(rule_id, values, f"{at}: rules.{rule_id}")
        rules[rule_id] = Rule(
            id=rule_id,
            values=MappingProxyType(values),
            clause=raw["clause"],
            severity=raw["severity"],
            confidence=raw["confidence"],
            title_en=raw["title_en"],
            title_zh=raw["title_zh"],
            note=raw.get("note", ""),
            text=MappingProxyType(text),
            source=sources.get(("rules", rule_id), ""),
        )
    if "measure" not in rules["hydrant_radius"].text:
        raise ConfigError(
            f"{chain}: rules.hydrant_radius is missing key 'measure'"
            " (\"network\" or \"straight_line\")"
        )
    return rules


def _check_rule_consistency(rule_id: str, values: Mapping[str, float], where: str) -> None:
    pairs = [("min_m", "max_m"), ("min_lps", "max_lps"), ("unit_min_cny", "unit_max_cny")]
    for lo, hi in pairs:
        if lo in values and hi in values and values[lo] > values[hi]:
            raise ConfigError(
                f"{where}: {lo} ({values[lo]:g}) is greater than {hi} ({values[hi]:g})"
            )
    if rule_id == "hydrant_credit" and not (
        values["min_lps"] <= values["default_lps"] <= values["max_lps"]
    ):
        raise ConfigError(
            f"{where}: default_lps ({values['default_lps']:g}) must lie between min_lps and max_lps"
        )
    if "perimeter_frac" in values and values["perimeter_frac"] > 1:
        raise ConfigError(f"{where}: perimeter_frac is a fraction between 0 and 1")


def _build_apparatus(
    raw: Mapping[str, Any], sources: Mapping[tuple[str, str], str], chain: str
) -> dict[str, ApparatusProfile]:
    missing = [k for k in APPARATUS_KINDS if k not in raw]
    if missing:
        raise ConfigError(
            f"{chain}: missing apparatus profiles {', '.join('apparatus.' + m for m in missing)}"
        )
    out: dict[str, ApparatusProfile] = {}
    for kind, prof in raw.items():
        at = f"preset file {sources.get(('apparatus', kind), chain)}"
        for key in (*_APPARATUS_NUMBERS, "clause", "confidence"):
            if key not in prof:
                raise ConfigError(f"{at}: apparatus.{kind} is missing key {key!r}")
        out[kind] = ApparatusProfile(
            kind=kind,
            min_width_m=float(prof["min_width_m"]),
            min_height_m=float(prof["min_height_m"]),
            turning_radius_m=float(prof["turning_radius_m"]),
            turnaround_m=float(prof["turnaround_m"]),
            clause=prof["clause"],
            confidence=prof["confidence"],
            note=prof.get("note", ""),
            title_en=prof.get("title_en", kind),
            title_zh=prof.get("title_zh", ""),
        )
    return out


def _build_flow_credit(
    raw: Mapping[str, Any], rules: Mapping[str, Rule], chain: str
) -> FlowCreditRule:
    credit = rules["hydrant_credit"]
    band = rules["hydrant_count_band"]
    for key in ("low_pressure_lps", "out_of_service_lps", "confidence", "clause"):
        if key not in raw:
            raise ConfigError(f"{chain}: missing key flow_credit.{key}")
    lists = [raw.get(k) for k in _FLOW_CREDIT_LISTS]
    if any(v is not None for v in lists):
        if any(v is None for v in lists) or len({len(v) for v in lists if v is not None}) != 1:
            raise ConfigError(
                f"{chain}: flow_credit.band_min_m, band_max_m and band_lps must all be given, with"
                " the same length"
            )
        bands = tuple(
            (float(a), float(b), float(c))
            for a, b, c in zip(raw["band_min_m"], raw["band_max_m"], raw["band_lps"], strict=True)
        )
        for i, (a, b, _c) in enumerate(bands):
            if a > b:
                raise ConfigError(
                    f"{chain}: flow_credit band {i}: band_min_m {a:g} > band_max_m {b:g}"
                )
    else:
        bands = ((band.value("min_m"), band.value("max_m"), math.inf),)
    return FlowCreditRule(
        in_service_lps=float(raw.get("in_service_lps", credit.value("default_lps"))),
        low_pressure_lps=float(raw["low_pressure_lps"]),
        unknown_lps=float(raw.get("unknown_lps", credit.value("min_lps"))),
        out_of_service_lps=float(raw["out_of_service_lps"]),
        flag_unknown=bool(raw.get("flag_unknown", True)),
        cap_at_measured=bool(raw.get("cap_at_measured", True)),
        bands=bands,
        clause=raw["clause"],
        confidence=raw["confidence"],
        note=raw.get("note", ""),
    )


def _build_fire_flow(raw: Mapping[str, Any], chain: str) -> FireFlowTable:
    for key in ("csv", "clause", "confidence", "default_grade", "groups"):
        if key not in raw:
            raise ConfigError(f"{chain}: missing key fire_flow.{key}")
    ref: _FileRef = raw["csv"]
    rows, measure = _read_fire_flow_csv(ref)
    grades = tuple(dict.fromkeys(r.fire_resistance_grade for r in rows))
    if raw["default_grade"] not in grades:
        raise ConfigError(
            f"{chain}: fire_flow.default_grade {raw['default_grade']!r} is not a grade of "
            f"{ref.label} ({', '.join(grades)})"
        )
    groups_raw: Mapping[str, Any] = raw["groups"]
    if all(isinstance(v, str) for v in groups_raw.values()):
        per_grade = {g: dict(groups_raw) for g in grades}
    else:
        per_grade = {}
        for grade, mapping in groups_raw.items():
            if not isinstance(mapping, dict):
                raise ConfigError(
                    f"{chain}: fire_flow.groups mixes a flat mapping with per-grade tables;"
                    " use one or the other"
                )
            if grade not in grades:
                raise ConfigError(
                    f"{chain}: fire_flow.groups.{grade}: no such grade in {ref.label} "
                    f"({', '.join(grades)})"
                )
            per_grade[grade] = dict(mapping)
    known = {(r.fire_resistance_grade, r.building_group) for r in rows}
    for grade, mapping in per_grade.items():
        missing = [k for k in _FIRE_FLOW_REQUIRED_GROUPS if k not in mapping]
        if missing:
            raise ConfigError(
                f"{chain}: fire_flow.groups for grade {grade!r} is missing {', '.join(missing)}"
            )
        for kind, group in mapping.items():
            if (grade, group) not in known:
                raise ConfigError(
                    f"{chain}: fire_flow.groups maps {kind!r} to {group!r}, which has no rows of "
                    f"grade {grade!r} in {ref.label}"
                )
    return FireFlowTable(
        rows=rows,
        measure=measure,
        source=ref.label,
        clause=raw["clause"],
        confidence=raw["confidence"],
        note=raw.get("note", ""),
        default_grade=raw["default_grade"],
        groups=MappingProxyType({g: MappingProxyType(m) for g, m in per_grade.items()}),
    )


def _csv_number(cell: object, *, empty: float, where: str) -> float:
    """A number from a CSV cell: ``empty`` for '' or '—', an error for text or negatives."""
    text = str(cell).strip()
    if text in ("", "—", "-", "–"):
        return empty
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{where}: {text!r} is not a number") from None
    if math.isnan(value):
        raise ConfigError(f"{where}: {text!r} is not a number")
    if value < 0:
        raise ConfigError(f"{where}: {value:g} is negative")
    return value


def _read_fire_flow_csv(ref: _FileRef) -> tuple[tuple[FireFlowRow, ...], str]:
    at = f"fire-flow table {ref.label}"
    try:
        frame = pd.read_csv(
            io.BytesIO(ref.location.read_bytes()), dtype=str, keep_default_na=False,
            encoding="utf-8",
        )
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ConfigError(f"{at} cannot be read as CSV: {exc}") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in _FIRE_FLOW_COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{at}: missing columns {', '.join(missing)}")
    found = [(lo, hi, name) for lo, hi, name in FIRE_FLOW_BANDS if lo in frame.columns]
    if len(found) != 1 or found[0][1] not in frame.columns:
        options = "; ".join(f"{lo}+{hi}" for lo, hi, _ in FIRE_FLOW_BANDS)
        raise ConfigError(f"{at}: needs exactly one pair of band columns ({options})")
    lo_col, hi_col, measure = found[0]
    rows = []
    for i, rec in enumerate(frame.to_dict(orient="records")):
        line = i + 2  # header is line 1
        where = f"{at} line {line}"

        conf = str(rec["confidence"]).strip()
        _check_enum("confidence", conf, f"{where}, column confidence")
        grade = str(rec["fire_resistance_grade"]).strip()
        group = str(rec["building_group"]).strip()
        if not grade or not group:
            raise ConfigError(f"{where}: fire_resistance_grade and building_group are required")
        band_min = _csv_number(rec[lo_col], empty=0.0, where=f"{where}, column {lo_col}")
        band_max = _csv_number(rec[hi_col], empty=math.inf, where=f"{where}, column {hi_col}")
        if band_min > band_max:
            raise ConfigError(f"{where}: {lo_col} {band_min:g} > {hi_col} {band_max:g}")
        rows.append(
            FireFlowRow(
                fire_resistance_grade=grade,
                building_group=group,
                band_min=band_min,
                band_max=band_max,
                flow_lps=_csv_number(
                    rec["flow_lps"], empty=math.nan, where=f"{where}, column flow_lps"
                ),
                confidence=conf,  # type: ignore[arg-type]
                note=str(rec["note"]).strip(),
                line=line,
            )
        )
    if not rows:
        raise ConfigError(f"{at} has no rows")
    return tuple(rows), measure


