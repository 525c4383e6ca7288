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
) -> pd.DataFrame:
    """Rows for the features where ``failed`` is True.

    ``message`` may use ``{value}`` and ``{limit}`` (formatted with one decimal).
    """
    failed = np.asarray(failed, dtype=bool)
    ids = np.asarray(feature_ids, dtype=object)[failed]
    vals = np.broadcast_to(np.asarray(values, dtype=np.float64), failed.shape)[failed]
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
            "message": [message.format(value=v, limit=limit) for v in vals],
        },
        columns=FINDING_COLUMNS,
    )


def concat_findings(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """All findings in one table (empty with the right columns when there are none)."""
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=FINDING_COLUMNS)
    return pd.concat(frames, ignore_index=True)
