"""Two preset tables that decide what the analyses count, not how they measure.

``[hydrant_status]``: what a hydrant whose status nobody stated is taken to be, one rule for
OSM hydrants and agency files alike::

    [hydrant_status]
    missing = "in_service"   # in_service, low_pressure, out_of_service or unknown
    reason = "..."

``[coverage]``: the roads that need hydrants. Access-controlled roads (motorways, their links,
and roads tagged ``motorroad=yes``) are not streets fire trucks draw water on; they stay in the
hose-lay and truck graphs but are left out of the coverage denominator and of siting::

    [coverage]
    exclude_highway = ["motorway", "motorway_link"]
    exclude_motorroad = true
    reason = "..."

Both tables are optional in a file: a preset without them (and without ``extends``) gets
:data:`DEFAULT_HYDRANT_STATUS` and :data:`DEFAULT_COVERAGE_ROADS`. :mod:`geo.presets` checks and
builds them with :func:`check_scope_tables` and :func:`build_scope_tables`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from geo.errors import ConfigError
from geo.vocabulary import HYDRANT_STATUSES

#: Hydrant ``status`` values.
_STATUSES: tuple[str, ...] = HYDRANT_STATUSES

_STATUS_KEYS = ("missing", "reason")
_COVERAGE_KEYS = ("exclude_highway", "exclude_motorroad", "reason")


@dataclass(frozen=True)
class HydrantStatusRule:
    """What a hydrant with no stated status is taken to be.

    Attributes
    ----------
    missing
        The status given to a hydrant whose OSM tags or agency row state none; such hydrants
        are marked ``status_source = "assumed"``. An explicit 未知/unknown stays ``unknown``.
    reason
        Why (printed with the counts of assumed statuses).
    """

    missing: str = "in_service"
    reason: str = ""


@dataclass(frozen=True)
class CoverageRoads:
    """Which roads need hydrants (the coverage denominator and where siting may place them).

    Attributes
    ----------
    exclude_highway
        OSM ``highway=*`` classes left out (access-controlled roads).
    exclude_motorroad
        Also leave out every road tagged ``motorroad=yes`` (expressway-like trunk roads).
    reason
        Why (printed with the excluded length).
    """

    exclude_highway: tuple[str, ...] = ("motorway", "motorway_link")
    exclude_motorroad: bool = True
    reason: str = ""


DEFAULT_HYDRANT_STATUS = HydrantStatusRule(
    reason="a hydrant whose status nobody recorded is taken to be in service (FireReach default)"
)
DEFAULT_COVERAGE_ROADS = CoverageRoads(
    reason="access-controlled roads (motorways, their links, motorroad=yes) are not streets "
    "that fire trucks draw hydrant water on (FireReach default)"
)


def check_status_word(value: object, where: str) -> str:
    """``value`` if it is a hydrant status word, else a :class:`ConfigError` naming ``where``."""
    if not isinstance(value, str) or value not in _STATUSES:
        raise ConfigError(f"{where} is {value!r}; expected one of {', '.join(_STATUSES)}")
    return value


def check_scope_tables(doc: Mapping[str, Any], at: str) -> None:
    """Check the ``[hydrant_status]`` and ``[coverage]`` tables of one preset file."""
    for section, keys in (("hydrant_status", _STATUS_KEYS), ("coverage", _COVERAGE_KEYS)):
        table = doc.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{at}: {section} must be a table ([{section}] section), got {table!r}")
        for key, value in table.items():
            where = f"{at}: {section}.{key}"
            if key not in keys:
                raise ConfigError(f"{where}: unknown key; {section} keys are {', '.join(keys)}")
            if key == "missing":
                check_status_word(value, where)
            elif key == "reason" and not isinstance(value, str):
                raise ConfigError(f"{where} must be text in quotes, got {value!r}")
            elif key == "exclude_motorroad" and not isinstance(value, bool):
                raise ConfigError(f"{where} is {value!r}; expected true or false")
            elif key == "exclude_highway" and (
                not isinstance(value, list) or not all(isinstance(v, str) and v for v in value)
            ):
                raise ConfigError(
                    f"{where} must be a list of OSM highway classes, e.g. [\"motorway\"], got "
                    f"{value!r}"
                )


def build_scope_tables(doc: Mapping[str, Any]) -> tuple[HydrantStatusRule, CoverageRoads]:
    """The two rules of a merged, checked preset document (defaults for absent keys)."""
    status = doc.get("hydrant_status", {})
    coverage = doc.get("coverage", {})
    return (
        HydrantStatusRule(
            missing=str(status.get("missing", DEFAULT_HYDRANT_STATUS.missing)),
            reason=str(status.get("reason", DEFAULT_HYDRANT_STATUS.reason)),
        ),
        CoverageRoads(
            exclude_highway=tuple(coverage.get("exclude_highway", DEFAULT_COVERAGE_ROADS.exclude_highway)),
            exclude_motorroad=bool(
                coverage.get("exclude_motorroad", DEFAULT_COVERAGE_ROADS.exclude_motorroad)
            ),
            reason=str(coverage.get("reason", DEFAULT_COVERAGE_ROADS.reason)),
        ),
    )
