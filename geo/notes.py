"""Reader notes: what a reader noticed about an input that is not a rejected row.

A reader that keeps every row but has something to say about the input as a whole (a column it
could not map, units it guessed, placeholder ids it replaced, rows far outside the area) records
a :class:`Note`. The notes travel with the layers (:attr:`geo.layers.Layers.notes`) into the
data-quality section of ``summary.json`` and of every report (:mod:`geo.quality`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """One remark about an input.

    Attributes
    ----------
    input
        The input it is about: ``hydrants``, ``stations``, ``districts``, ``blockages``,
        ``roads``, ``buildings`` ...
    level
        ``error`` (a result resting on it is not to be trusted), ``warning`` or ``info``.
    message
        What was noticed, where, and what to do (one sentence, the user's language or English).
    count
        How many rows it concerns, when that is a number.
    """

    input: str
    level: str
    message: str
    count: int | None = None
