"""A preset applied to tables: hydrants' credited flow, buildings' required fire flow, truck speeds.

Each function takes a :class:`~geo.preset_model.Preset` and columns (any sequence or Series) and
returns one numpy value per row, vectorised over the table.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from geo.errors import ConfigError, LayerValidationError
from geo.preset_model import HYDRANT_STATUSES, FireFlowTable, Preset

#: OSM ``building=*`` values that select the ``warehouse`` / ``house`` fire-flow groups.
WAREHOUSE_BUILDINGS = frozenset({"warehouse"})
HOUSE_BUILDINGS = frozenset(
    {"house", "detached", "semidetached_house", "terrace", "bungalow", "farm", "cabin"}
)


def _as_text_array(values: object, n_expected: int | None, what: str) -> npt.NDArray[np.object_]:
    """Normalise a column of category values to lower-case stripped text ('' when missing)."""
    series = pd.Series(values, dtype=object) if not isinstance(values, pd.Series) else values
    if n_expected is not None and len(series) != n_expected:
        raise LayerValidationError(f"{what} has {len(series)} values; expected {n_expected}")
    filled = series.astype(object).where(series.notna(), "")
    return filled.astype(str).str.strip().str.lower().to_numpy(dtype=object, copy=True)


def credited_flow(
    preset: Preset,
    status: object,
    flow_lps: object,
    *,
    distance_m: object | None = None,
) -> npt.NDArray[np.float64]:
    """Flow credited to each hydrant when counting supply for a building, in L/s.

    Parameters
    ----------
    preset
        The rule preset (its :attr:`Preset.flow_credit`).
    status
        Hydrant status per hydrant (``in_service``, ``low_pressure``, ``out_of_service``,
        ``unknown``); missing values count as ``unknown``.
    flow_lps
        Rated or measured flow per hydrant; NaN when unknown. When the preset's
        ``cap_at_measured`` is set, a lower measured flow replaces the credit.
    distance_m
        Optional distance from each hydrant to the building (network distance for the default
        presets). The credit is then capped by the preset's distance bands: 0 outside
        ``hydrant_count_band`` for ``cn-gb`` (5-150 m), the ISO 1,000/670/250 gpm bands for ``us``.

    Returns
    -------
    numpy.ndarray
        Credited flow in L/s, one per hydrant.

    Raises
    ------
    LayerValidationError
        On an unknown status, a negative flow or distance, or arrays of different lengths.
    """
    rule = preset.flow_credit
    stat = _as_text_array(status, None, "status")
    stat[stat == ""] = "unknown"
    bad = ~np.isin(stat, HYDRANT_STATUSES)
    if bad.any():
        pos = np.flatnonzero(bad)[:5].tolist()
        raise LayerValidationError(
            f"hydrant status {sorted(set(stat[bad]))} at positions {pos}; expected one of "
            f"{', '.join(HYDRANT_STATUSES)}: fix the hydrants layer's status column"
        )
    flow = np.asarray(
        pd.to_numeric(pd.Series(flow_lps, dtype=object), errors="coerce"), dtype=float
    ).reshape(-1)
    if flow.shape != stat.shape:
        raise LayerValidationError(f"flow_lps has {flow.size} values; status has {stat.size}")
    if (flow < 0).any():
        raise LayerValidationError(
            f"negative flow_lps at positions {np.flatnonzero(flow < 0)[:5].tolist()}; fix the layer"
        )
    credit = np.select(
        [stat == s for s in HYDRANT_STATUSES],
        [rule.status_credit(s) for s in HYDRANT_STATUSES],
        default=0.0,
    ).astype(float)
    if rule.cap_at_measured:
        credit = np.where(np.isfinite(flow), np.minimum(credit, flow), credit)
    if distance_m is not None:
        dist = np.asarray(distance_m, dtype=float).reshape(-1)
        if dist.shape != stat.shape:
            raise LayerValidationError(f"distance_m has {dist.size} values; status has {stat.size}")
        if (dist < 0).any():
            raise LayerValidationError("distance_m has negative values")
        cap = np.zeros_like(credit)
        for i, (lo, hi, lps) in reversed(list(enumerate(rule.bands))):
            inside = (dist <= hi) & ((dist >= lo) if i == 0 else (dist > lo))
            cap = np.where(inside, lps, cap)
        credit = np.minimum(credit, cap)
    return credit


def credit_flags(preset: Preset, status: object) -> npt.NDArray[np.bool_]:
    """True where a hydrant's credit is an assumption to show in reports.

    That is ``low_pressure`` hydrants (their reduced credit is a setting) and, when the preset's
    ``flag_unknown`` is set, hydrants of ``unknown`` (or missing) status.
    """
    stat = _as_text_array(status, None, "status")
    flagged = stat == "low_pressure"
    if preset.flow_credit.flag_unknown:
        flagged |= (stat == "unknown") | (stat == "")
    return np.asarray(flagged, dtype=bool)


def truck_speed_kmh(preset: Preset, highway: object) -> npt.NDArray[np.float64]:
    """Truck speed in km/h for each OSM highway class (the preset's ``default`` when not listed)."""
    hw = _as_text_array(highway, None, "highway")
    speeds = preset.speeds_kmh
    return np.asarray(
        pd.Series(hw, dtype=object).map(lambda h: speeds.get(h, speeds["default"])), dtype=float
    )


def fire_flow_lookup(
    preset: Preset, buildings: pd.DataFrame, *, grade: str | None = None
) -> pd.DataFrame:
    """Required outdoor fire flow of each building, with the table cell it came from.

    Parameters
    ----------
    preset
        The rule preset (its :attr:`Preset.fire_flow` table).
    buildings
        The buildings layer (:data:`geo.schema.BUILDINGS`) or any frame with ``use`` and the
        band measure of the table: ``volume_m3`` (``cn-gb``), ``floor_area_m2`` or ``footprint_m2``
        and ``levels`` (``us``), ``levels`` (``de``). Optional: ``high_rise_class``, ``building``
        (``warehouse`` and house types pick their own groups) and ``fire_resistance_grade``.
    grade
        Grade for every building; default: the building's ``fire_resistance_grade`` column if
        present, else the table's ``default_grade`` (``1-2`` for ``cn-gb``: OSM never says).

    Returns
    -------
    pandas.DataFrame
        Same index as ``buildings``; columns ``required_flow_lps`` (NaN when the measure is
        unknown or the cell is '—'), ``fire_flow_group`` and ``fire_flow_basis`` (clause,
        confidence, group, grade, band, value).
    """
    table = preset.fire_flow
    n = len(buildings)
    if "use" not in buildings.columns:
        raise LayerValidationError("buildings frame has no 'use' column; classify buildings first")
    use = _as_text_array(buildings["use"], n, "use")
    use[use == ""] = "unknown"
    bad = ~np.isin(use, ("residential", "public", "industrial", "unknown"))
    if bad.any():
        raise LayerValidationError(
            f"buildings 'use' has values {sorted(set(use[bad]))}; expected residential, public,"
            " industrial or unknown"
        )
    grades = _fire_resistance_grades(table, buildings, grade)
    group = _fire_flow_groups(table, buildings, grades, use)
    flow, basis = _fire_flow_cells(table, grades, group, _fire_flow_measure(buildings, table.measure))
    return pd.DataFrame(
        {"required_flow_lps": flow, "fire_flow_group": group, "fire_flow_basis": basis},
        index=buildings.index,
    )


def _fire_resistance_grades(
    table: FireFlowTable, buildings: pd.DataFrame, grade: str | None
) -> npt.NDArray[np.object_]:
    """Each building's grade: ``grade`` for all, else its own column, else the table's default."""
    n = len(buildings)
    if grade is not None:
        if grade not in table.grades:
            raise ConfigError(
                f"fire-resistance grade {grade!r} is not in {table.source}; known: "
                f"{', '.join(table.grades)}"
            )
        return np.full(n, grade, dtype=object)
    if "fire_resistance_grade" not in buildings.columns:
        return np.full(n, table.default_grade, dtype=object)
    grades = pd.Series(buildings["fire_resistance_grade"], dtype=object).where(
        buildings["fire_resistance_grade"].notna(), ""
    ).astype(str).str.strip().to_numpy(dtype=object)
    grades[grades == ""] = table.default_grade
    unknown_grades = sorted(set(grades) - set(table.grades))
    if unknown_grades:
        raise LayerValidationError(
            f"buildings 'fire_resistance_grade' has values {unknown_grades} not in "
            f"{table.source} ({', '.join(table.grades)})"
        )
    return grades


def _fire_flow_groups(
    table: FireFlowTable, buildings: pd.DataFrame, grades: npt.NDArray[np.object_],
    use: npt.NDArray[np.object_],
) -> npt.NDArray[np.object_]:
    """The table's building group of each building ('' when none): by grade, the warehouse or
    house kind of its ``building`` tag, its use and whether it is a high-rise; the most specific
    group the table's ``[fire_flow.groups]`` name wins."""
    n = len(buildings)
    hr = (
        _as_text_array(buildings["high_rise_class"], n, "high_rise_class")
        if "high_rise_class" in buildings.columns else np.full(n, "", dtype=object)
    )
    btag = (
        _as_text_array(buildings["building"], n, "building")
        if "building" in buildings.columns else np.full(n, "", dtype=object)
    )
    special = np.where(
        np.isin(btag, list(WAREHOUSE_BUILDINGS)), "warehouse",
        np.where(np.isin(btag, list(HOUSE_BUILDINGS)), "house", ""),
    ).astype(object)
    is_hr = np.isin(hr, ("class1", "class2"))
    combo = pd.Series(grades + "|" + special + "|" + use + "|" + np.where(is_hr, "h", ""))
    group_of: dict[str, str] = {}
    for key in combo.unique():
        g, sp, u, h = str(key).split("|")
        mapping = table.groups.get(g, {})
        candidates = [c for c in (f"{sp}_high_rise" if sp and h else "", sp,
                                  f"{u}_high_rise" if h else "", u) if c]
        group_of[str(key)] = next((mapping[c] for c in candidates if c in mapping), "")
    return combo.map(group_of).to_numpy(dtype=object)


def _fire_flow_cells(
    table: FireFlowTable, grades: npt.NDArray[np.object_], group: npt.NDArray[np.object_],
    measure: npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.object_]]:
    """The flow of each building's table cell (NaN when none or '—') and the basis text."""
    n = len(grades)
    flow = np.full(n, np.nan)
    basis = np.full(n, "", dtype=object)
    measure_name = table.measure
    unknown_measure = ~np.isfinite(measure)
    basis[:] = f"{table.clause}: {measure_name} unknown"
    for row in table.rows:
        sel = (grades == row.fire_resistance_grade) & (group == row.building_group)
        if not sel.any():
            continue
        full_range = row.band_min == 0 and row.band_max == math.inf
        lower_ok = measure >= row.band_min if row.band_min == 0 else measure > row.band_min
        inside = sel & ((lower_ok & (measure <= row.band_max)) | full_range)
        if not inside.any():
            continue
        flow[inside] = row.flow_lps
        if row.band_max == math.inf:
            band = f"{measure_name} > {row.band_min:g}" if row.band_min else f"any {measure_name}"
        elif row.band_min == 0:
            band = f"{measure_name} <= {row.band_max:g}"
        else:
            band = f"{row.band_min:g} < {measure_name} <= {row.band_max:g}"
        value = f"{row.flow_lps:g} L/s" if math.isfinite(row.flow_lps) else "'—' (no value)"
        basis[inside] = (
            f"{table.clause} [{row.confidence}]: {row.building_group}, grade "
            f"{row.fire_resistance_grade}, {band}: {value}"
        )
    no_group = group == ""
    basis[no_group] = f"{table.clause}: no building group for this use and grade"
    basis[no_group & unknown_measure] = f"{table.clause}: no building group; {measure_name} unknown"
    return flow, basis


def required_fire_flow(
    preset: Preset, buildings: pd.DataFrame, *, grade: str | None = None
) -> pd.Series:
    """Required outdoor fire flow in L/s per building (NaN when the volume/area/levels is unknown).

    See :func:`fire_flow_lookup` for the inputs and for the table cell behind each value.
    """
    flow = fire_flow_lookup(preset, buildings, grade=grade)["required_flow_lps"]
    return flow.rename("required_flow_lps")


def _fire_flow_measure(buildings: pd.DataFrame, measure: str) -> npt.NDArray[np.float64]:
    def col(name: str) -> npt.NDArray[np.float64]:
        if name not in buildings.columns:
            raise LayerValidationError(
                f"buildings frame has no {name!r} column, which this preset's fire-flow table needs"
            )
        return np.asarray(pd.to_numeric(buildings[name], errors="coerce"), dtype=float)

    if measure == "floor_area_m2" and "floor_area_m2" not in buildings.columns:
        return col("footprint_m2") * col("levels")
    return col(measure)

