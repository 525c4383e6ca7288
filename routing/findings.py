"""Findings: every flag in every output, with its rule id, clause, severity and confidence.

One table (``findings`` in ``layers.gpkg``) holds one row per (feature, rule) that fails, so a
reader can filter by severity (shall = violation, should = warning) or by rule, and always sees
which clause and how sure the number is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from geo.presets import Rule

FINDING_COLUMNS = [
    "layer", "feature_id", "rule_id", "clause", "severity", "confidence", "value", "limit",
    "message",
]


def findings(
    layer: str,
    feature_ids: Sequence[object] | np.ndarray,
    failed: np.ndarray,
    rule: Rule,
    *,
    values: np.ndarray | float,
    limit: float,
    message: str,
    known: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rows for the features where ``failed`` is True.

    ``message`` may use ``{value}`` and ``{limit}`` (formatted with one decimal). ``known``:
    earlier findings of the same rule, template and limit, whose messages are reused for equal
    values (a message depends on its value only), so only new values are formatted.
    """
    failed = np.asarray(failed, dtype=bool)
    ids = np.asarray(feature_ids, dtype=object)[failed]
    vals = np.broadcast_to(np.asarray(values, dtype=np.float64), failed.shape)[failed]
    if known is None or len(known) == 0:
        texts: list[str] | np.ndarray = [message.format(value=v, limit=limit) for v in vals]
    else:
        texts = _reused_messages(vals, known, message=message, limit=limit)
    return pd.DataFrame(
        {
            "layer": layer,
            "feature_id": ids.astype(str),
            "rule_id": rule.id,
            "clause": rule.clause,
            "severity": rule.severity,
            "confidence": rule.confidence,
            "value": vals,
            "limit": float(limit),
            "message": texts,
        },
        columns=FINDING_COLUMNS,
    )


def _reused_messages(
    values: np.ndarray, known: pd.DataFrame, *, message: str, limit: float
) -> np.ndarray:
    """Messages for ``values``: those of ``known`` where a value recurs, formatted otherwise."""
    lookup = pd.Series(known["message"].to_numpy(dtype=object),
                       index=known["value"].to_numpy(dtype=np.float64))
    lookup = lookup[~lookup.index.duplicated()]
    out = pd.Series(values).map(lookup).to_numpy(dtype=object)
    miss = np.flatnonzero(pd.isna(out))
    out[miss] = [message.format(value=v, limit=limit) for v in values[miss]]
    return out


def concat_findings(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """All findings in one table (empty with the right columns when there are none)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    return pd.concat(frames, ignore_index=True)
