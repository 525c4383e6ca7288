"""Shared input checks of geo and routing (one place, like osmnx's ``_validate``).

Each helper raises the :mod:`geo.errors` class its callers raised before; messages say what was
wrong, where (layer, column, argument), and what to do. Layer schemas and the projected-CRS check
stay public in :mod:`geo.schema`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from geo.errors import ConfigError, CRSError, LayerValidationError

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


def require_columns(
    frame: pd.DataFrame, columns: Iterable[str], *, layer: str, hint: str | None = None
) -> None:
    """Raise :class:`LayerValidationError` naming the ``columns`` that ``frame`` lacks.

    ``hint`` says what to do; by default it points at the layer's schema in :mod:`geo.schema`.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise LayerValidationError(
            f"layer {layer!r} is missing columns {missing}; "
            + (hint if hint is not None else f"see geo.schema.{layer.upper()}")
        )


def require_same_crs(frame: Any, crs: Any, *, layer: str, other: str) -> None:
    """Raise :class:`CRSError` unless layer ``frame`` is in ``crs``, the CRS of ``other``."""
    if frame.crs != crs:
        raise CRSError(
            f"layer {layer!r} ({_crs_text(frame.crs)}) and {other} ({_crs_text(crs)}) are in "
            "different CRSs; build all layers with one working CRS"
        )


def bool_mask(
    value: ArrayLike | None, n: int, *, what: str, default: bool = False
) -> NDArray[np.bool_]:
    """``value`` checked as a boolean mask of shape ``(n,)``; all ``default`` when None.

    Raises
    ------
    ConfigError
        Not a boolean array of that shape.
    """
    if value is None:
        return np.full(n, default, dtype=bool)
    arr = np.asarray(value)
    if arr.dtype != bool or arr.shape != (n,):
        raise ConfigError(
            f"{what} must be a boolean mask of shape ({n},); got dtype {arr.dtype}, "
            f"shape {arr.shape}"
        )
    return arr


def _crs_text(crs: Any) -> str:
    return "no CRS" if crs is None else str(crs.to_string())
