"""The rule preset as the analyses receive it: rules, apparatus profiles, flow credit, fire-flow table.

:func:`geo.presets.load_preset` reads, checks and builds a :class:`Preset`; this module holds the
frozen data classes and the vocabulary they use, so that readers of a preset (and the vectorised
lookups in :mod:`geo.preset_lookup`) do not depend on the loader.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import pandas as pd

from geo import vocabulary
from geo.errors import ConfigError
from geo.preset_scope import (
    DEFAULT_COVERAGE_ROADS,
    DEFAULT_HYDRANT_STATUS,
    CoverageRoads,
    HydrantStatusRule,
)

#: ``shall`` (应/不应: a violation) or ``should`` (宜/不宜: a warning).
SEVERITIES: tuple[str, ...] = vocabulary.SEVERITIES

#: Confidence levels and the symbol reports print for them.
CONFIDENCE_SYMBOLS: Mapping[str, str] = MappingProxyType(
    {"verified": "✅", "secondary": "🟡", "unverified": "⚠️"}
)

#: Hydrant ``status`` values (see :data:`geo.schema.HYDRANTS`).
HYDRANT_STATUSES: tuple[str, ...] = vocabulary.HYDRANT_STATUSES

#: Apparatus profiles every preset defines.
APPARATUS_KINDS: tuple[str, ...] = ("pumper", "aerial", "heavy")

#: How a distance rule is measured: along streets (hose-lay) or as the crow flies.
MEASURES: tuple[str, ...] = ("network", "straight_line")

#: Band measures a fire-flow CSV may use: (min column, max column, measure name).
FIRE_FLOW_BANDS: tuple[tuple[str, str, str], ...] = (
    ("volume_min_m3", "volume_max_m3", "volume_m3"),
    ("floor_area_min_m2", "floor_area_max_m2", "floor_area_m2"),
    ("levels_min", "levels_max", "levels"),
)


Severity = Literal["shall", "should"]
Confidence = Literal["verified", "secondary", "unverified"]


# --------------------------------------------------------------------------------------------
# Data classes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One rule of a preset.

    Attributes
    ----------
    id
        Rule id, e.g. ``hydrant_radius``.
    values
        Numeric values keyed with their unit suffix (``value_m``, ``min_lps`` ...).
    clause
        Where the rule comes from, e.g. ``"GB 50974-2014 7.2.5"``.
    severity
        ``shall`` (a violation) or ``should`` (a warning).
    confidence
        ``verified``, ``secondary`` or ``unverified``.
    title_en, title_zh
        Short titles for reports.
    note
        Why a value was chosen where the source is silent, caveats, conversions.
    text
        Other text fields: ``measure`` (``network`` / ``straight_line``), ``source_value`` (the
        source's wording in its own units), ``shape``, ``applies_to``.
    source
        The preset file that last set this rule (a user file when it overrides a built-in).
    """

    id: str
    values: Mapping[str, float]
    clause: str
    severity: Severity
    confidence: Confidence
    title_en: str
    title_zh: str
    note: str = ""
    text: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    source: str = ""

    def value(self, key: str | None = None) -> float:
        """Return one numeric value.

        Parameters
        ----------
        key
            The key, e.g. ``"max_m"``; may be left out when the rule has exactly one value.

        Raises
        ------
        ConfigError
            When the key is missing or ambiguous.
        """
        if key is None:
            if len(self.values) == 1:
                return next(iter(self.values.values()))
            example = next(iter(self.values), "value_m")
            raise ConfigError(
                f"rule {self.id!r} has {len(self.values)} values "
                f"({', '.join(self.values) or 'none'}); name the one you need, "
                f"e.g. rule.value({example!r})"
            )
        if key not in self.values:
            raise ConfigError(
                f"rule {self.id!r} (from {self.source}) has no value {key!r}; "
                f"it has: {', '.join(self.values) or 'none'}"
            )
        return self.values[key]

    @property
    def measure(self) -> str:
        """``network`` or ``straight_line`` for distance rules, ``''`` otherwise."""
        return self.text.get("measure", "")

    @property
    def symbol(self) -> str:
        """✅, 🟡 or ⚠️ for the confidence."""
        return CONFIDENCE_SYMBOLS[self.confidence]

    def describe(self) -> str:
        """One line for reports: ``"<title>: value_m=150 (GB 50974-2014 7.2.5, shall ✅)"``."""
        vals = ", ".join(f"{k}={v:g}" for k, v in self.values.items())
        return f"{self.title_en}: {vals} ({self.clause}, {self.severity} {self.symbol})"


@dataclass(frozen=True)
class ApparatusProfile:
    """What one kind of fire apparatus needs from a lane.

    Attributes
    ----------
    kind
        ``pumper``, ``aerial`` or ``heavy`` (or a user-defined kind).
    min_width_m, min_height_m
        Clear width and clear height the lane must offer.
    turning_radius_m
        Turning radius the lane geometry must allow.
    turnaround_m
        Size of the turnaround at a dead end (side of a square, or a diameter: see ``note``).
    clause, confidence, note
        Provenance, as for :class:`Rule`; ``confidence`` is the weakest of the four values.
    """

    kind: str
    min_width_m: float
    min_height_m: float
    turning_radius_m: float
    turnaround_m: float
    clause: str
    confidence: Confidence
    note: str = ""
    title_en: str = ""
    title_zh: str = ""


@dataclass(frozen=True)
class FlowCreditRule:
    """How much flow a hydrant is credited with when counting supply for a building.

    The credit of a hydrant is the credit of its status; when ``cap_at_measured`` it is lowered
    to the hydrant's measured ``flow_lps`` if that is lower; when a distance is given it is also
    capped by the distance band the hydrant falls in (0 outside every band).

    Attributes
    ----------
    in_service_lps, low_pressure_lps, unknown_lps, out_of_service_lps
        Credit by hydrant status.
    flag_unknown
        Whether hydrants of unknown status are flagged in results (their credit is an assumption).
    cap_at_measured
        Use the hydrant's measured ``flow_lps`` when it is lower than the credit.
    bands
        Distance bands ``(min_m, max_m, max_lps)``: the first band is closed, the others are
        ``min_m < d <= max_m``; a hydrant outside every band is credited 0.
    clause, confidence, note
        Provenance.
    """

    in_service_lps: float
    low_pressure_lps: float
    unknown_lps: float
    out_of_service_lps: float
    flag_unknown: bool
    cap_at_measured: bool
    bands: tuple[tuple[float, float, float], ...]
    clause: str
    confidence: Confidence
    note: str = ""

    def status_credit(self, status: str) -> float:
        """Credit in L/s for one status value."""
        credits = {
            "in_service": self.in_service_lps,
            "low_pressure": self.low_pressure_lps,
            "unknown": self.unknown_lps,
            "out_of_service": self.out_of_service_lps,
        }
        if status not in credits:
            raise ConfigError(
                f"unknown hydrant status {status!r}; expected one of {', '.join(HYDRANT_STATUSES)}"
            )
        return credits[status]


@dataclass(frozen=True)
class FireFlowRow:
    """One cell of a fire-flow table: a building group, a grade and a size band."""

    fire_resistance_grade: str
    building_group: str
    band_min: float
    band_max: float
    flow_lps: float
    confidence: Confidence
    note: str
    line: int


@dataclass(frozen=True)
class FireFlowTable:
    """The outdoor fire-flow table of a preset (GB 50974 Table 3.3.2 for ``cn-gb``).

    Attributes
    ----------
    rows
        The cells. ``flow_lps`` is NaN for cells the source leaves empty ('—').
    measure
        What the bands measure: ``volume_m3``, ``floor_area_m2`` or ``levels``.
    source
        The CSV file.
    clause, confidence, note
        Provenance of the whole table.
    default_grade
        The ``fire_resistance_grade`` used when a building has none (OSM never says).
    groups
        For each grade: building kind (``residential``, ``public_high_rise``, ``warehouse`` ...)
        to the table's ``building_group``.
    """

    rows: tuple[FireFlowRow, ...]
    measure: str
    source: str
    clause: str
    confidence: Confidence
    note: str
    default_grade: str
    groups: Mapping[str, Mapping[str, str]]

    @property
    def grades(self) -> tuple[str, ...]:
        """Grades present in the table, in file order."""
        return tuple(dict.fromkeys(r.fire_resistance_grade for r in self.rows))

    def frame(self) -> pd.DataFrame:
        """The table as a new DataFrame (band columns named after :attr:`measure`)."""
        lo, hi = band_columns(self.measure)
        return pd.DataFrame(
            {
                "fire_resistance_grade": [r.fire_resistance_grade for r in self.rows],
                "building_group": [r.building_group for r in self.rows],
                lo: [r.band_min for r in self.rows],
                hi: [r.band_max for r in self.rows],
                "flow_lps": [r.flow_lps for r in self.rows],
                "confidence": [r.confidence for r in self.rows],
                "note": [r.note for r in self.rows],
            }
        )


@dataclass(frozen=True, eq=False)
class Preset:
    """A loaded, validated rule preset (hashable by identity, so it can key a cache).

    Attributes
    ----------
    name, title_en, title_zh
        Preset name (``cn-gb``, ``us``, ``de`` or the user's) and titles.
    rules
        Rules by id.
    apparatus
        Apparatus profiles by kind (at least ``pumper``, ``aerial`` and ``heavy``).
    speeds_kmh
        Truck speed by OSM highway class, with a ``default`` entry: a setting, not a rule.
    speeds_confidence, speeds_note
        Provenance of the speed table.
    flow_credit
        Hydrant flow credit by status and distance.
    fire_flow
        Outdoor fire-flow table.
    files
        The preset files read, the top one first (a user file, then what it extends).
    hydrant_status
        What a hydrant with no stated status is taken to be (``[hydrant_status]``).
    coverage_roads
        Which roads need hydrants (``[coverage]``).
    """

    name: str
    title_en: str
    title_zh: str
    rules: Mapping[str, Rule]
    apparatus: Mapping[str, ApparatusProfile]
    speeds_kmh: Mapping[str, float]
    speeds_confidence: Confidence
    speeds_note: str
    flow_credit: FlowCreditRule
    fire_flow: FireFlowTable
    files: tuple[str, ...]
    hydrant_status: HydrantStatusRule = DEFAULT_HYDRANT_STATUS
    coverage_roads: CoverageRoads = DEFAULT_COVERAGE_ROADS

    def rule(self, rule_id: str) -> Rule:
        """Return rule ``rule_id``.

        Raises
        ------
        ConfigError
            When the preset has no such rule; the message lists the known ids.
        """
        try:
            return self.rules[rule_id]
        except KeyError:
            raise ConfigError(
                f"preset {self.name!r} ({self.files[0]}) has no rule {rule_id!r}; known rule ids: "
                f"{', '.join(sorted(self.rules))}. Add it in a user preset with "
                f"extends = {self.name!r}"
            ) from None

    def profile(self, kind: str) -> ApparatusProfile:
        """Return apparatus profile ``kind`` (``pumper``, ``aerial``, ``heavy`` ...)."""
        try:
            return self.apparatus[kind]
        except KeyError:
            raise ConfigError(
                f"preset {self.name!r} has no apparatus profile {kind!r}; known: "
                f"{', '.join(self.apparatus)}"
            ) from None

    def rules_frame(self) -> pd.DataFrame:
        """All rules as a new DataFrame: id, values (text), clause, severity, confidence, titles."""
        return pd.DataFrame(
            {
                "id": list(self.rules),
                "values": [", ".join(f"{k}={v:g}" for k, v in r.values.items())
                           for r in self.rules.values()],
                "clause": [r.clause for r in self.rules.values()],
                "severity": [r.severity for r in self.rules.values()],
                "confidence": [r.confidence for r in self.rules.values()],
                "title_en": [r.title_en for r in self.rules.values()],
                "title_zh": [r.title_zh for r in self.rules.values()],
                "note": [r.note for r in self.rules.values()],
                "source": [r.source for r in self.rules.values()],
            }
        )


def band_columns(measure: str) -> tuple[str, str]:
    """The (min, max) column names of a fire-flow band measure (:data:`FIRE_FLOW_BANDS`)."""
    for lo, hi, name in FIRE_FLOW_BANDS:
        if name == measure:
            return lo, hi
    raise ConfigError(f"unknown fire-flow measure {measure!r}")

