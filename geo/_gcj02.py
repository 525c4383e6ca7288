"""GCJ-02 and BD-09 offsets of :mod:`geo.crs`: the forward formulas and their inverses.

Agency hydrant lists often carry coordinates copied from AMap/Tencent (GCJ-02) or Baidu (BD-09)
maps. PROJ does not implement these offsets, so this module does, vectorised with numpy: arrays
in, arrays out, no Python loop over points (arrays are processed in cache-sized chunks). The
forward formulas are the public ones (Krasovsky ellipsoid, ``a = 6378245.0``,
``ee = 0.00669342162296594323``; BD-09 ``x_pi = pi * 3000 / 180``), evaluated with fewer sines
but to the same result within ~1e-15 degrees; the inverses are fixed-point iterations that stop
when a bound on the error (from the last step and the Lipschitz constant of the offset) is below
``1e-9`` degrees (about 0.1 mm), so a round trip is exact to well under 1 cm anywhere in China.
"""

from __future__ import annotations

import logging
import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from geo._china_boundary import (
    _CHUNK,
    _GRID_MIN_POINTS,
    _NEAR_EDGE,
    _OUTSIDE,
    _cell_codes,
    _contains,
)
from geo._validate import FloatArray, xy_arrays

logger = logging.getLogger(__name__)

#: Semi-major axis of the Krasovsky 1940 ellipsoid used by the GCJ-02 formula (metres).
KRASOVSKY_A = 6378245.0
#: First eccentricity squared of the Krasovsky 1940 ellipsoid.
KRASOVSKY_EE = 0.00669342162296594323
#: The BD-09 constant ``pi * 3000 / 180``.
X_PI = math.pi * 3000.0 / 180.0

#: Error bound (degrees, per coordinate) at which the iterative inverses stop; 1e-9 degrees is
#: about 0.1 mm. Where no bound is known (far outside China) they stop when a step is below it.
INVERSE_TOLERANCE_DEG = 1e-9
#: Iteration cap of the inverses; three evaluations are enough for ~99 % of points, four for the
#: rest.
INVERSE_MAX_ITER = 10


# ---------------------------------------------------------------------------------------------
# GCJ-02


_DEG = math.pi / 180.0
#: ``exp(i * 35 degrees)``: turns ``exp(i * (lat - 35) * pi / 180)`` into ``exp(i * lat ...)``.
_ROT_35 = complex(math.cos(35.0 * _DEG), math.sin(35.0 * _DEG))
_GCJ_LAT_SCALE = 180.0 / (KRASOVSKY_A * (1.0 - KRASOVSKY_EE) * math.pi)
_GCJ_LON_SCALE = 180.0 / (KRASOVSKY_A * math.pi)

#: Box (lon min, lon max, lat min, lat max) over which :data:`_GCJ_LIPSCHITZ` holds.
_GCJ_BOX = (70.0, 140.0, 15.0, 56.0)
#: Upper bound of the Lipschitz constant (max norm, degrees per degree) of the GCJ-02 offset over
#: :data:`_GCJ_BOX`, without its ``sqrt(|lon - 105|)`` terms. With ``x = lon - 105`` in
#: [-35, 35], ``y = lat - 35`` in [-20, 21]: the longitude row is at most
#: ``k_lon * (462.1 + 5.5) + |u_lon| * k_lon * tan(56) * pi / 180 = 7.90e-3`` (``k_lon`` =
#: 1.607e-5 degrees per formula unit at 56N, ``|u_lon|`` <= 940), the latitude row
#: ``9.04e-6 * 474.2 = 4.29e-3``.
_GCJ_LIPSCHITZ = 8.0e-3
#: The ``sqrt(|x|)`` terms change by at most ``H |dx| / sqrt(|x|)`` degrees: ``H`` is
#: ``0.2 * 9.04e-6`` (latitude) or ``0.1 * 1.607e-5`` (longitude), rounded up.
_GCJ_SQRT_COEF = 1.9e-6


def _unit_phasor(deg: FloatArray, out: NDArray[np.complex128], scratch: FloatArray) -> None:
    """``out = exp(i * deg * pi / 180)``; the cosine comes from the sine when it is >= 1/2."""
    np.multiply(deg, _DEG, out=scratch)
    sin, cos = out.imag, out.real
    np.sin(scratch, out=sin)
    if deg.min() >= -60.0 and deg.max() <= 60.0:  # False with NaN: np.cos handles those
        np.multiply(sin, sin, out=scratch)
        np.subtract(1.0, scratch, out=scratch)
        np.sqrt(scratch, out=cos)
    else:
        np.cos(scratch, out=cos)


def _turn(
    phasor: NDArray[np.complex128], angle: FloatArray, scratch: FloatArray, out: NDArray[np.complex128]
) -> None:
    """``phasor *= exp(i * angle)`` for ``|angle| <= 1e-3`` (error below 1e-17); ``out`` is
    scratch."""
    cos, sin = out.real, out.imag
    np.multiply(angle, angle, out=scratch)
    np.multiply(scratch, 1.0 / 24.0, out=cos)
    cos -= 0.5
    cos *= scratch
    cos += 1.0
    np.multiply(scratch, -1.0 / 6.0, out=sin)
    sin += 1.0
    sin *= angle
    phasor *= out


def _add_scaled(acc: FloatArray, values: FloatArray, factor: float, scratch: FloatArray) -> None:
    np.multiply(values, factor, out=scratch)
    acc += scratch


class _GcjOffset:
    """The GCJ-02 offset (degrees) of up to ``size`` points at a time, in preallocated arrays.

    The published formula (Krasovsky ellipsoid, see the module docstring) takes the sines of
    ``pi * x`` times 6, 2, 1, 1/3, 1/12 and 1/30 (``x = lon - 105``), of ``pi * y`` times the
    last four (``y = lat - 35``), and of the latitude. These are the imaginary parts of powers of
    ``exp(i * x * pi / 180)`` (exponents 1080, 360, 180, 60, 15 and 6) and of
    ``exp(i * y * pi / 180)``, so two sines and a chain of complex products replace fourteen
    sines of arguments up to 600 radians. The products lose under 1e-13 in the sines, which is
    below 1e-17 degrees in the offset; the result agrees with the literal formula to ~1e-15
    degrees.

    An evaluation ``near`` the previous one (the next fixed-point iterate, at most ~0.01 degrees
    away) turns the two unit complex numbers by the small difference angle (Taylor series,
    error below 1e-17) instead of taking new sines.
    """

    #: Largest angle (radians) turned by the Taylor series; a larger step takes new sines.
    MAX_TURN = 1e-3

    def __init__(self, size: int) -> None:
        self._real = np.empty((8, size))
        self._cplx = np.empty((5, size), dtype=np.complex128)
        self._n = 0  # points of the previous evaluation

    def sqrt_abs_x(self, n: int) -> FloatArray:
        """``sqrt(|lon - 105|)`` of the last evaluated points."""
        return self._real[2, :n]

    def __call__(
        self, lon: FloatArray, lat: FloatArray, *, near: bool = False
    ) -> tuple[FloatArray, FloatArray]:
        """The offset (dlon, dlat) at ``lon``/``lat``; views of buffers reused by the next call.

        ``near``: the points are those of the previous call, moved by a little.
        """
        n = lon.shape[0]
        near = near and n == self._n
        self._n = n
        self._phasors(lon, lat, n, near=near)
        self._harmonics(n)
        self._polynomial(n)
        return self._to_degrees(n)

    def _phasors(self, lon: FloatArray, lat: FloatArray, n: int, *, near: bool) -> None:
        """``e^(i x deg)`` and ``e^(i y deg)`` of the points (turned from the last ones when near)."""
        _, _, _, x, y, t, u, v = (row[:n] for row in self._real)
        ex, ey, a, _, _ = (row[:n] for row in self._cplx)
        for ang, deg, phasor, offset in ((x, lon, ex, 105.0), (y, lat, ey, 35.0)):
            if near:
                np.subtract(deg, offset, out=t)
                np.subtract(t, ang, out=u)
                np.copyto(ang, t)
                if np.abs(u, out=v).max() <= self.MAX_TURN / _DEG:  # False with NaN
                    u *= _DEG
                    _turn(phasor, u, v, a)
                    continue
            else:
                np.subtract(deg, offset, out=ang)
            _unit_phasor(ang, phasor, t)

    def _harmonics(self, n: int) -> None:
        """The sine terms of both offsets, from the phasors by products (no trigonometry)."""
        dlon, dlat, _sq, _x, _y, t, u, _v = (row[:n] for row in self._real)
        ex, ey, a, b, c = (row[:n] for row in self._cplx)
        # Longitude row: sin of 6, 15, 60, 180 psi; both rows: sin of 360, 1080 psi (psi = x deg).
        np.multiply(ex, ex, out=a)
        np.multiply(a, ex, out=b)  # 3
        np.multiply(b, b, out=c)  # 6
        np.multiply(c.imag, 200.0, out=dlon)
        np.multiply(c, c, out=a)  # 12
        np.multiply(a, b, out=c)  # 15
        _add_scaled(dlon, c.imag, 100.0, t)
        np.multiply(c, c, out=a)  # 30
        np.multiply(a, a, out=c)  # 60
        _add_scaled(dlon, c.imag, 80.0 / 3.0, t)
        np.multiply(c, c, out=a)  # 120
        np.multiply(a, c, out=a)  # 180
        _add_scaled(dlon, a.imag, 40.0 / 3.0, t)
        np.multiply(a, a, out=c)  # 360
        np.multiply(c, c, out=b)  # 720
        np.multiply(b, c, out=b)  # 1080
        np.add(b.imag, c.imag, out=u)
        u *= 40.0 / 3.0
        dlon += u
        # Latitude row: sin of 6, 15, 60 and 180 times y degrees.
        np.multiply(ey, ey, out=a)
        np.multiply(a, ey, out=b)  # 3
        np.multiply(b, b, out=c)  # 6
        np.multiply(c.imag, 640.0 / 3.0, out=dlat)
        np.multiply(c, c, out=a)  # 12
        np.multiply(a, b, out=c)  # 15
        _add_scaled(dlat, c.imag, 320.0 / 3.0, t)
        np.multiply(c, c, out=a)  # 30
        np.multiply(a, a, out=c)  # 60
        _add_scaled(dlat, c.imag, 80.0 / 3.0, t)
        np.multiply(c, c, out=a)  # 120
        np.multiply(a, c, out=a)  # 180
        _add_scaled(dlat, a.imag, 40.0 / 3.0, t)
        dlat += u

    def _polynomial(self, n: int) -> None:
        """Add the polynomial and square-root terms of both offsets."""
        dlon, dlat, sq, x, y, t, u, _v = (row[:n] for row in self._real)
        _ex, _ey, _a, _b, _c = (row[:n] for row in self._cplx)
        # Polynomial and sqrt terms: -100 + x (2 + 0.1 y) + y (3 + 0.2 y) + 0.2 sqrt|x| and
        # 300 + x (1 + 0.1 x + 0.1 y) + 2 y + 0.1 sqrt|x|.
        np.abs(x, out=sq)
        np.sqrt(sq, out=sq)
        np.multiply(y, 0.1, out=t)
        np.add(t, 2.0, out=u)
        u *= x
        dlat += u
        np.multiply(y, 0.2, out=u)
        u += 3.0
        u *= y
        dlat += u
        np.multiply(sq, 0.2, out=u)
        u -= 100.0
        dlat += u
        np.multiply(x, 0.1, out=u)
        u += t
        u += 1.0
        u *= x
        dlon += u
        np.multiply(y, 2.0, out=u)
        u += 300.0
        dlon += u
        np.multiply(sq, 0.1, out=u)
        dlon += u

    def _to_degrees(self, n: int) -> tuple[FloatArray, FloatArray]:
        """Scale the offsets (metres-like units) to degrees at each point's latitude."""
        dlon, dlat, _sq, _x, _y, t, u, v = (row[:n] for row in self._real)
        _ex, ey, a, _b, _c = (row[:n] for row in self._cplx)
        # Degrees: dlat * 180 m sqrt(m) / (a (1 - ee) pi), dlon * 180 sqrt(m) / (a cos(lat) pi)
        # with m = 1 - ee sin(lat)^2.
        np.multiply(ey, _ROT_35, out=a)
        np.multiply(a.imag, a.imag, out=t)
        t *= -KRASOVSKY_EE
        t += 1.0
        np.sqrt(t, out=u)
        t *= u
        t *= _GCJ_LAT_SCALE
        dlat *= t
        u *= _GCJ_LON_SCALE
        with np.errstate(divide="ignore"):  # cos(lat) = 0 at a pole
            np.divide(u, a.real, out=v)
        dlon *= v
        return dlon, dlat


def _gcj_step(
    ev: _GcjOffset,
    glon: FloatArray,
    glat: FloatArray,
    wlon: FloatArray,
    wlat: FloatArray,
    *,
    near: bool = False,
) -> NDArray[np.bool_]:
    """One step ``w <- g - delta(w)`` in place; True where the error may still exceed the tolerance.

    With ``d`` the step (max norm) and ``L`` the local Lipschitz constant of the offset, the new
    error is at most ``L d / (1 - L)``, which is at most :data:`INVERSE_TOLERANCE_DEG` when
    ``L (d + tol) <= tol``. In :data:`_GCJ_BOX`, ``L = _GCJ_LIPSCHITZ + _GCJ_SQRT_COEF /
    sqrt|x|`` at the old point; elsewhere, or where that bound fails, a step below the tolerance
    is accepted (the step after it moves the point by less than ``L`` times that).
    """
    n = wlon.shape[0]
    dlon, dlat = ev(wlon, wlat, near=near)
    sq = ev.sqrt_abs_x(n)
    np.subtract(glon, dlon, out=dlon)
    dlon -= wlon
    wlon += dlon
    np.subtract(glat, dlat, out=dlat)
    dlat -= wlat
    wlat += dlat
    step = np.abs(dlon, out=dlon)
    np.fmax(step, np.abs(dlat, out=dlat), out=step)
    tol = INVERSE_TOLERANCE_DEG
    unsure = step > tol
    lon0, lon1, lat0, lat1 = _GCJ_BOX
    if not unsure.any():
        return unsure
    bound = np.multiply(sq, _GCJ_LIPSCHITZ, out=dlat)
    bound += _GCJ_SQRT_COEF
    step += tol
    bound *= step
    sq *= tol
    bound_fails = bound > sq
    if wlon.min() >= lon0 and wlon.max() <= lon1 and wlat.min() >= lat0 and wlat.max() <= lat1:
        unsure &= bound_fails
    else:
        in_box = (wlon >= lon0) & (wlon <= lon1) & (wlat >= lat0) & (wlat <= lat1)
        unsure &= bound_fails | ~in_box
    return unsure


def _gcj_inverse_chunk(
    ev: _GcjOffset, glon: FloatArray, glat: FloatArray, wlon: FloatArray, wlat: FloatArray
) -> NDArray[np.intp]:
    """Invert the GCJ-02 offset of one chunk into ``wlon``/``wlat``; indices that need more steps.

    The one-step inverse ``g - delta(g)`` is off by up to ~5 m; each fixed-point step multiplies
    the error by at most ~0.008, so after two more steps (three evaluations) the error bound of
    :func:`_gcj_step` is below the tolerance for ~99 % of points.
    """
    dlon, dlat = ev(glon, glat)
    np.subtract(glon, dlon, out=wlon)
    np.subtract(glat, dlat, out=wlat)
    dlon, dlat = ev(wlon, wlat, near=True)
    np.subtract(glon, dlon, out=wlon)
    np.subtract(glat, dlat, out=wlat)
    return np.flatnonzero(_gcj_step(ev, glon, glat, wlon, wlat, near=True))


def _gcj_refine(glon: FloatArray, glat: FloatArray, wlon: FloatArray, wlat: FloatArray) -> None:
    """More fixed-point steps, in place, until the error bound is below the tolerance."""
    ev = _GcjOffset(min(wlon.size, _CHUNK))
    for start in range(0, wlon.size, _CHUNK):
        sl = slice(start, start + _CHUNK)
        active = np.arange(wlon[sl].size)
        g_lon, g_lat, w_lon, w_lat = glon[sl], glat[sl], wlon[sl], wlat[sl]
        for _ in range(INVERSE_MAX_ITER - 3):
            a_lon, a_lat = w_lon[active], w_lat[active]
            unsure = _gcj_step(ev, g_lon[active], g_lat[active], a_lon, a_lat)
            w_lon[active], w_lat[active] = a_lon, a_lat
            active = active[unsure]
            if active.size == 0:
                break
        else:
            _warn_not_converged(active.size)


def _warn_not_converged(count: int) -> None:
    logger.warning(
        "inverse did not reach %.0e degrees for %d points in %d iterations",
        INVERSE_TOLERANCE_DEG,
        count,
        INVERSE_MAX_ITER,
    )


class _GcjToWgs:
    """GCJ-02 to WGS84 chunk by chunk, then the China test of the results.

    The grid of :func:`_china_grid` settles the China test on the results of most points; points
    near the boundary are tested exactly at the end, after the few points that need more
    fixed-point steps have had them. Points outside China get their input back.
    """

    def __init__(self, n: int, *, china_only: bool) -> None:
        self._ev = _GcjOffset(min(n, _CHUNK))
        self._china_only = china_only
        self._use_grid = n >= _GRID_MIN_POINTS
        self._refine: list[tuple[NDArray[np.intp], FloatArray, FloatArray]] = []
        self._near: list[tuple[NDArray[np.intp], FloatArray, FloatArray]] = []

    def chunk(
        self, start: int, glon: FloatArray, glat: FloatArray, wlon: FloatArray, wlat: FloatArray
    ) -> None:
        unsure = _gcj_inverse_chunk(self._ev, glon, glat, wlon, wlat)
        if self._china_only:
            # A point in an inside or outside cell is 0.0875 degrees from the boundary, so the
            # last steps of an unsure point cannot change its side.
            codes = _cell_codes(wlon, wlat, use_grid=self._use_grid)
            outside = codes == _OUTSIDE
            np.copyto(wlon, glon, where=outside)
            np.copyto(wlat, glat, where=outside)
            unsure = unsure[~outside[unsure]]
            near = np.flatnonzero(codes == _NEAR_EDGE)
            if near.size:
                self._near.append((near + start, glon[near], glat[near]))
        if unsure.size:
            self._refine.append((unsure + start, glon[unsure], glat[unsure]))

    def finish(self, wlon: FloatArray, wlat: FloatArray) -> None:
        if self._refine:
            idx, g_lon, g_lat = (np.concatenate(p) for p in zip(*self._refine, strict=True))
            w_lon, w_lat = wlon[idx], wlat[idx]
            _gcj_refine(g_lon, g_lat, w_lon, w_lat)
            wlon[idx], wlat[idx] = w_lon, w_lat
        if self._near:
            idx, g_lon, g_lat = (np.concatenate(p) for p in zip(*self._near, strict=True))
            out = ~_contains(wlon[idx], wlat[idx], on_edge=True)
            wlon[idx[out]], wlat[idx[out]] = g_lon[out], g_lat[out]


def wgs84_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 degrees to GCJ-02 (AMap, Tencent).

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude in degrees; arrays of one shape (or scalars).
    china_only
        Shift only points inside :func:`in_china` (default). ``False`` shifts every point, for data
        known to be in China but near a land border where the coarse boundary is unsure.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude; points outside China (when ``china_only``) are unchanged.
    """
    x, y = xy_arrays(lon, lat)
    xs, ys = x.ravel(), y.ravel()
    n = xs.size
    glon, glat = np.empty(n), np.empty(n)
    ev = _GcjOffset(min(n, _CHUNK))
    near_parts: list[NDArray[np.intp]] = []
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        dlon, dlat = ev(xs[sl], ys[sl])
        np.add(xs[sl], dlon, out=glon[sl])
        np.add(ys[sl], dlat, out=glat[sl])
        if china_only:
            codes = _cell_codes(xs[sl], ys[sl], use_grid=n >= _GRID_MIN_POINTS)
            outside = codes == _OUTSIDE
            np.copyto(glon[sl], xs[sl], where=outside)
            np.copyto(glat[sl], ys[sl], where=outside)
            near_parts.append(np.flatnonzero(codes == _NEAR_EDGE) + start)
    if near_parts:
        near = np.concatenate(near_parts)
        out = near[~_contains(xs[near], ys[near], on_edge=False)]
        glon[out], glat[out] = xs[out], ys[out]
    return glon.reshape(x.shape), glat.reshape(x.shape)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 degrees to WGS84 with the iterative inverse (error at most 1e-9 degrees).

    The first guess is the one-step inverse ``g - delta(g)`` (off by up to ~5 m); fixed-point
    steps ``w <- g - delta(w)`` follow until a bound on the error (from the size of the last step
    and the Lipschitz constant of the offset) is below :data:`INVERSE_TOLERANCE_DEG` for every
    point: two steps for ~99 % of points, three for the rest, at most :data:`INVERSE_MAX_ITER`.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.
    china_only
        When True (default), a point whose WGS84 position falls outside :func:`in_china` is
        returned unchanged, mirroring :func:`wgs84_to_gcj02` (a position within about 1 mm of
        the boundary counts as inside). ``False`` un-shifts every point.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    x, y = xy_arrays(lon, lat)
    xs, ys = x.ravel(), y.ravel()
    n = xs.size
    wlon, wlat = np.empty(n), np.empty(n)
    inverse = _GcjToWgs(n, china_only=china_only)
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        inverse.chunk(start, xs[sl], ys[sl], wlon[sl], wlat[sl])
    inverse.finish(wlon, wlat)
    return wlon.reshape(x.shape), wlat.reshape(x.shape)


# ---------------------------------------------------------------------------------------------
# BD-09


def _bd_forward(lon: FloatArray, lat: FloatArray) -> tuple[FloatArray, FloatArray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * X_PI)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


class _BdInverse:
    """The BD-09 step inverted for up to ``size`` points at a time, in preallocated arrays.

    With ``q = b - (0.0065, 0.006)`` and ``R = |q|``, the forward formula maps ``p`` to ``q``
    when ``p = (1 - dz(p) / R) * rot(-eps(p)) q``, ``dz = 2e-5 sin(lat * x_pi)``, ``eps = 3e-6
    cos(lon * x_pi)``: the fixed-point map ``G`` iterated here. ``G(q)`` is the published inverse
    (off by up to ~0.2 m). ``G`` is Lipschitz with ``L <= 1.0473e-3 + 1.5708e-4 R`` (the
    derivatives of ``dz`` and ``R eps``), so a step ``d`` to ``G(p)`` leaves an error of at most
    ``L d / (1 - L)`` if ``G(p)`` is evaluated exactly: two steps after the first guess bring that
    under the tolerance. Only that last evaluation needs full precision; the first two take their
    sines in single precision (after reducing the angle in double precision), which costs about
    1e-10 degrees in their results and nothing in the last one.
    """

    def __init__(self, size: int) -> None:
        self._real = np.empty((3, size))
        self._cplx = np.empty((4, size), dtype=np.complex128)
        self._single = np.empty(size, dtype=np.float32)
        self._n = 0
        self._lipschitz = 1.0

    def setup(self, blon: FloatArray, blat: FloatArray) -> NDArray[np.complex128]:
        """Take BD-09 targets; return the published inverse ``G(q)`` (single-precision sines;
        a reused buffer)."""
        n = self._n = blon.shape[0]
        radius, scale, t = (row[:n] for row in self._real)
        q, w, _, _ = (row[:n] for row in self._cplx)
        np.subtract(blon, 0.0065, out=q.real)
        np.subtract(blat, 0.006, out=q.imag)
        np.multiply(q.real, q.real, out=radius)
        np.multiply(q.imag, q.imag, out=t)
        radius += t
        np.sqrt(radius, out=radius)
        r_max = float(np.fmax.reduce(radius)) if n else 0.0  # NaN ignored
        self._lipschitz = 1.0473e-3 + 1.5708e-4 * r_max
        np.maximum(radius, 1e-300, out=scale)  # q = 0 gives p = 0, not NaN
        np.divide(-0.00002, scale, out=scale)
        self.step(q, w, precise=False)
        return w

    def step(
        self, p: NDArray[np.complex128], out: NDArray[np.complex128], *, precise: bool = True
    ) -> None:
        """``out = G(p)``; ``out`` may be ``p``."""
        n = self._n
        _, scale, t = (row[:n] for row in self._real)
        q, _, _, e = (row[:n] for row in self._cplx)
        er, ei = e.real, e.imag
        single = self._single[:n]
        np.multiply(p.imag, X_PI, out=t)
        _trig(np.sin, t, er, single, precise=precise)
        t *= scale
        t += 1.0  # 1 - dz / R
        np.multiply(p.real, X_PI, out=ei)
        _trig(np.cos, ei, er, single, precise=precise)
        ei *= -0.000003  # -eps; sin(eps) = eps to 2e-12 relative
        np.multiply(ei, ei, out=er)
        er *= -0.5
        er += 1.0  # cos(eps), exact to 4e-24
        er *= t
        ei *= t
        np.multiply(q, e, out=out)

    def unsure(self, new: NDArray[np.complex128], old: NDArray[np.complex128]) -> NDArray[np.bool_]:
        """True where the error of ``new = G(old)`` may exceed the tolerance (see the class)."""
        n = self._n
        _, _, t = (row[:n] for row in self._real)
        d = self._cplx[3, :n]
        np.subtract(new, old, out=d)
        step = np.abs(d.real, out=t)
        np.fmax(step, np.abs(d.imag), out=step)
        tol = INVERSE_TOLERANCE_DEG
        lip = self._lipschitz
        limit = tol * (1.0 - lip) / lip if lip < 1.0 else tol
        return step > max(limit, tol)

    def chunk(self, blon: FloatArray, blat: FloatArray, glon: FloatArray, glat: FloatArray) -> None:
        """Invert one chunk into ``glon``/``glat``."""
        n = blon.shape[0]
        w = self.setup(blon, blat)
        w2 = self._cplx[2, :n]
        self.step(w, w2, precise=False)
        self.step(w2, w)
        unsure = np.flatnonzero(self.unsure(w, w2))
        np.copyto(glon, w.real)
        np.copyto(glat, w.imag)
        if unsure.size:
            g_lon, g_lat = glon[unsure], glat[unsure]
            _bd_refine(blon[unsure], blat[unsure], g_lon, g_lat)
            glon[unsure], glat[unsure] = g_lon, g_lat


def _trig(
    func: np.ufunc, angle: FloatArray, scratch: FloatArray, single: NDArray[np.float32], *, precise: bool
) -> None:
    """``angle = func(angle)`` in place; not ``precise``: reduced to [-pi, pi] in double precision,
    then in single precision (absolute error ~2e-7, and about eight times faster)."""
    if precise:
        func(angle, out=angle)
        return
    np.multiply(angle, 1.0 / (2.0 * math.pi), out=scratch)
    np.rint(scratch, out=scratch)
    scratch *= 2.0 * math.pi
    angle -= scratch
    np.copyto(single, angle, casting="same_kind")
    func(single, out=angle)


def _bd_refine(blon: FloatArray, blat: FloatArray, glon: FloatArray, glat: FloatArray) -> None:
    """More fixed-point steps for a few points, in place, until the error bound is met."""
    ev = _BdInverse(blon.size)
    ev.setup(blon, blat)
    w = glon + 1j * glat
    new = np.empty_like(w)
    unsure = np.ones(w.shape, dtype=bool)
    for _ in range(INVERSE_MAX_ITER - 3):
        ev.step(w, new)
        unsure = ev.unsure(new, w)
        w, new = new, w
        if not unsure.any():
            break
    else:
        _warn_not_converged(int(unsure.sum()))
    glon[:], glat[:] = w.real, w.imag


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert GCJ-02 degrees to BD-09 (Baidu) with the public formula.

    Parameters
    ----------
    lon, lat
        GCJ-02 longitude and latitude in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude (the step applies everywhere, as in Baidu's API).
    """
    x, y = xy_arrays(lon, lat)
    return _bd_forward(x, y)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 degrees to GCJ-02, with an error of at most 1e-9 degrees.

    The published inverse evaluates the perturbation terms at the BD-09 point rather than the
    GCJ-02 one, which leaves up to about 0.2 m of error; it is the first guess of a fixed-point
    iteration that evaluates them at the current estimate instead (see :class:`_BdInverse`).

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude in degrees.

    Returns
    -------
    tuple of numpy.ndarray
        GCJ-02 longitude and latitude.
    """
    x, y = xy_arrays(lon, lat)
    xs, ys = x.ravel(), y.ravel()
    n = xs.size
    glon, glat = np.empty(n), np.empty(n)
    ev = _BdInverse(min(n, _CHUNK))
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        ev.chunk(xs[sl], ys[sl], glon[sl], glat[sl])
    return glon.reshape(x.shape), glat.reshape(x.shape)


def wgs84_to_bd09(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert WGS84 degrees to BD-09: the GCJ-02 step (China only by default), then BD-09.

    Parameters
    ----------
    lon, lat
        WGS84 longitude and latitude in degrees.
    china_only
        Passed to :func:`wgs84_to_gcj02`.

    Returns
    -------
    tuple of numpy.ndarray
        BD-09 longitude and latitude.
    """
    glon, glat = wgs84_to_gcj02(lon, lat, china_only=china_only)
    return _bd_forward(glon, glat)


def bd09_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, china_only: bool = True
) -> tuple[FloatArray, FloatArray]:
    """Convert BD-09 degrees to WGS84 (iterative inverses of both steps, each within 1e-9 deg).

    Parameters
    ----------
    lon, lat
        BD-09 longitude and latitude in degrees.
    china_only
        As in :func:`gcj02_to_wgs84`: points whose WGS84 position is outside China keep the
        GCJ-02 position.

    Returns
    -------
    tuple of numpy.ndarray
        WGS84 longitude and latitude.
    """
    x, y = xy_arrays(lon, lat)
    xs, ys = x.ravel(), y.ravel()
    n = xs.size
    wlon, wlat = np.empty(n), np.empty(n)
    bd = _BdInverse(min(n, _CHUNK))
    g = np.empty((2, min(n, _CHUNK)))
    inverse = _GcjToWgs(n, china_only=china_only)
    for start in range(0, n, _CHUNK):
        sl = slice(start, start + _CHUNK)
        m = xs[sl].size
        glon, glat = g[0, :m], g[1, :m]
        bd.chunk(xs[sl], ys[sl], glon, glat)
        inverse.chunk(start, glon, glat, wlon[sl], wlat[sl])
    inverse.finish(wlon, wlat)
    return wlon.reshape(x.shape), wlat.reshape(x.shape)
