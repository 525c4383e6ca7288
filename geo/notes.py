"""Data-quality notes: what an input held, assumed or lacked, for the reports' 数据说明 section."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Note:
    """One data-quality note.

    Attributes
    ----------
    input
        The input it is about (``'stations'``, ``'buildings'``, ``'hydrants'`` ...).
    level
        ``'info'`` or ``'warning'``.
    message
        One sentence for the reader, with the count in it.
    count
        The number of features concerned.
    """

    input: str
    level: str
    message: str
    count: int
