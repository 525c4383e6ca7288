"""Shared input checks of geo and routing (one place, like osmnx's ``_validate``).

Each helper raises the :mod:`geo.errors` class its callers raised before; messages say what was
wrong, where, and what to do.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def xy_arrays(x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """``x`` and ``y`` as float64 arrays of one shape (broadcast when they differ).

    Raises
    ------
    ValueError
        The shapes cannot be broadcast together.
    """
    xa = np.asarray(x, dtype=np.float64)
    ya = np.asarray(y, dtype=np.float64)
    if xa.shape != ya.shape:
        try:
            xa, ya = np.broadcast_arrays(xa, ya)
        except ValueError as exc:
            raise ValueError(
                f"x and y have shapes {xa.shape} and {ya.shape}, which do not match"
            ) from exc
    return xa, ya
