"""The numbers of the 生命通道 blockage effect model and of its ranking score.

The model itself is described in :mod:`routing.blockages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from geo import vocabulary
from geo._validate import require_columns
from geo.errors import ConfigError

__all__ = [
    "BLOCKAGE_KINDS",
    "DEFAULT_CLASS_WEIGHTS",
    "DEFAULT_OCCUPIED_WIDTH_M",
    "EFFECTS",
    "HIGH_RISE_CLASSES",
    "BlockageRules",
]

#: Kinds of report (``geo.agency`` normalises agency spellings to these).
BLOCKAGE_KINDS: tuple[str, ...] = vocabulary.BLOCKAGE_KINDS
#: Effect of a report on its lane.
EFFECTS: tuple[str, ...] = vocabulary.BLOCKAGE_EFFECTS

#: Width (m) a report of each kind occupies; kinds not listed block the lane outright.
DEFAULT_OCCUPIED_WIDTH_M: Mapping[str, float] = MappingProxyType(
    {"parked_vehicle": 2.0, "goods": 1.5, "stall": 2.5}
)
#: Building weight by GB 50016 high-rise class; other classes weigh ``other_weight``.
DEFAULT_CLASS_WEIGHTS: Mapping[str, float] = MappingProxyType({"class1": 10.0, "class2": 5.0})
HIGH_RISE_CLASSES: frozenset[str] = frozenset(vocabulary.HIGH_RISE_CLASSES)



@dataclass(frozen=True, eq=False)
class BlockageRules:
    """The numbers of the blockage effect model and of the ranking score.

    Attributes
    ----------
    max_snap_m
        A report farther than this from every road edge is rejected.
    full_block_kinds
        Kinds that block the lane outright (unless a remaining width is measured).
    occupied_width_m
        Width each kind occupies; kinds in neither set (``other``) block outright.
    closed_statuses
        Statuses of reports that no longer count (effect ``'none'``).
    unknown_width_blocks
        An edge without ``width_m`` (and a report without a measured width) counts as blocked.
    delay_margin_s
        A building is delayed when its response time rises by more than this, or past the limit.
    class_weights, other_weight
        Building weight by ``high_rise_class``; classes not listed weigh ``other_weight``.
    floor_area_scale_m2
        Occupancy proxy ``log1p(footprint_m2 × max(levels, 1) / floor_area_scale_m2) + 1``.
    delay_past_limit_factor, delay_margin_factor
        Share of a building's weight scored when it is delayed past the limit, or only by more
        than the margin (a cut-off building scores its whole weight).
    hydrant_weight
        Score of each hydrant trucks can no longer reach.
    """

    max_snap_m: float = 30.0
    full_block_kinds: frozenset[str] = frozenset({"gate", "structure"})
    occupied_width_m: Mapping[str, float] = field(default_factory=lambda: DEFAULT_OCCUPIED_WIDTH_M)
    closed_statuses: frozenset[str] = frozenset(
        {"rectified", "verified", "closed", "rejected", "duplicate"}
    )
    unknown_width_blocks: bool = True
    delay_margin_s: float = 60.0
    class_weights: Mapping[str, float] = field(default_factory=lambda: DEFAULT_CLASS_WEIGHTS)
    other_weight: float = 1.0
    floor_area_scale_m2: float = 1000.0
    delay_past_limit_factor: float = 0.5
    delay_margin_factor: float = 0.1
    hydrant_weight: float = 1.0

    def __post_init__(self) -> None:
        numbers = {
            "max_snap_m": self.max_snap_m, "delay_margin_s": self.delay_margin_s,
            "other_weight": self.other_weight, "delay_past_limit_factor": self.delay_past_limit_factor,
            "delay_margin_factor": self.delay_margin_factor, "hydrant_weight": self.hydrant_weight,
            **{f"occupied_width_m[{k!r}]": v for k, v in self.occupied_width_m.items()},
            **{f"class_weights[{k!r}]": v for k, v in self.class_weights.items()},
        }
        bad = {k: v for k, v in numbers.items() if not (isinstance(v, int | float) and v >= 0)}
        if bad or not self.floor_area_scale_m2 > 0:
            raise ConfigError(
                f"BlockageRules: values must be numbers >= 0 (floor_area_scale_m2 > 0); got "
                f"{bad or {'floor_area_scale_m2': self.floor_area_scale_m2}}"
            )



def _building_weights(buildings: pd.DataFrame, rules: BlockageRules) -> tuple[np.ndarray, np.ndarray]:
    require_columns(buildings, ("high_rise_class", "footprint_m2", "levels"), layer="buildings",
                    hint="build it with geo.layers (see geo.schema.BUILDINGS)")
    cls = buildings["high_rise_class"].fillna("unknown").astype(str).to_numpy(dtype=object)
    w_cls = pd.Series(cls).map(dict(rules.class_weights)).fillna(rules.other_weight).to_numpy(float)
    fp = np.nan_to_num(pd.to_numeric(buildings["footprint_m2"], errors="coerce").to_numpy(float))
    levels = pd.to_numeric(buildings["levels"], errors="coerce").to_numpy(float)
    floor = np.maximum(fp, 0.0) * np.maximum(np.nan_to_num(levels, nan=1.0), 1.0)
    occupancy = np.log1p(floor / rules.floor_area_scale_m2) + 1.0
    return w_cls * occupancy, np.isin(cls, list(HIGH_RISE_CLASSES))
