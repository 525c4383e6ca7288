"""An EPANET session held open for many solves of one network: draw slots at chosen junctions.

The hydraulic questions of :mod:`routing.hydraulics` ("how much water can this hydrant give
while its pressure stays at 0.10 MPa?") are answered exactly, one EPANET solve each, by a
construction that EPANET's own solver handles: a **draw slot** at junction ``j`` is

    j ──FCV (setting = outlet cap)──▶ m_j ──check-valve pipe (0.01 m, DN 2000)──▶ R_j

where ``R_j`` is a reservoir whose head is set to ``elevation(j) + residual``. When the pressure
at ``j`` exceeds the residual, water runs into ``R_j`` until the pressure at ``j`` has fallen to
the residual (the added pipe's head loss is below a millimetre), or until the flow control
valve reaches its setting (the outlet cap); the check valve forbids the reservoir from feeding
the network when the pressure at ``j`` is below the residual, so such a hydrant draws nothing.
The flow in the check-valve pipe is the available flow: no search over flows, and the rest of
the network (normal demands, pumps, tanks, valves, the model's own demand model DD or PDD) is
solved together with it.

A slot is idle when its FCV is closed and its reservoir stands at the junction's static head
(so the closed valve, which EPANET keeps as a 10⁻⁸ conductance, leaks nothing measurable). The
slots are added once through EPANET's toolkit (``EN_addnode`` / ``EN_addlink``) before the solver
opens; each question then changes a few reservoir heads and valve settings and re-solves in
place from the previous solution, without writing the ``.inp`` again.

The network is written once, in SI units (L/s, metres), to a temporary folder; heads and
pressures inside are metres of water, flows L/s. Only a steady state at the model's start time
is solved (tank levels at their initial values, demand patterns at time 0).
"""

from __future__ import annotations

import ctypes
import logging
import sys
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from geo.errors import AnalysisError

if TYPE_CHECKING:
    import wntr

log = logging.getLogger(__name__)

# EPANET toolkit codes (EPANET 2.2 epanet2_enums.h)
_EN_ELEVATION, _EN_PRESSURE, _EN_HEAD = 0, 11, 10
_EN_DIAMETER, _EN_LENGTH, _EN_ROUGHNESS, _EN_INITSTATUS, _EN_INITSETTING, _EN_FLOW = 0, 1, 2, 4, 5, 8
_EN_DURATION = 0
_EN_JUNCTION, _EN_RESERVOIR = 0, 1
_EN_CVPIPE, _EN_FCV = 0, 6
# warnings of EN_runH that mean the answer cannot be trusted (1: unbalanced, 2: unstable)
_BAD_WARNINGS = frozenset({1, 2})
_SLOT_PREFIX = "FRdraw"
_ID_ENCODING = sys.getdefaultencoding()  # how wntr writes ids into the .inp (utf-8): 节点1 works
_SLOT_PIPE_M, _SLOT_DN_MM = 0.01, 2000.0
_IDLE_MARGIN_M = 1.0

MPA_PER_M = 1000.0 * 9.80665 / 1.0e6
"""Pressure of one metre of water column, MPa (ρ = 1000 kg/m³, g = 9.80665 m/s²)."""


class Solve:
    """The outcome of one solve: converged or not, and the EPANET code."""

    __slots__ = ("code", "ok")

    def __init__(self, code: int) -> None:
        self.code = code
        self.ok = code < 100 and code not in _BAD_WARNINGS


class EpanetSession:
    """One network open in EPANET with a draw slot at each of the given junctions.

    Parameters
    ----------
    wn
        The network (not modified).
    junctions
        The junction names that get a draw slot (hydrant connections); unknown names raise.

    Use as a context manager; :meth:`static_heads` must run before any draw.
    """

    def __init__(self, wn: wntr.network.WaterNetworkModel, junctions: Iterable[str]) -> None:
        from wntr.epanet import toolkit
        from wntr.network.io import write_inpfile

        self.names = list(dict.fromkeys(junctions))
        self._dir = tempfile.TemporaryDirectory(prefix="firereach-epanet-")
        folder = Path(self._dir.name)
        write_inpfile(wn, str(folder / "network.inp"), units="LPS")
        self._en = toolkit.ENepanet()
        try:
            self._en.ENopen(str(folder / "network.inp"), str(folder / "network.rpt"), "")
        except Exception as exc:  # wntr raises EpanetException (a bare Exception subclass)
            self._dir.cleanup()
            raise AnalysisError(
                f"EPANET cannot read the network written from the model ({exc}); check the model "
                "with wntr (wn = wntr.network.WaterNetworkModel(...); wntr.sim.EpanetSimulator(wn))"
            ) from exc
        self._lib: Any = self._en.ENlib
        self._ph = self._en._project
        self._open = False
        try:
            self._call("EN_settimeparam", _EN_DURATION, ctypes.c_long(0))
            self._add_slots(wn)
            self._call("EN_openH")
            self._open = True
        except Exception:
            self.close()
            raise
        self.static_head: dict[str, float] = {}

    # -- toolkit plumbing ----------------------------------------------------------------------

    def _call(self, fn: str, *args: Any) -> int:
        code = int(getattr(self._lib, fn)(self._ph, *args))
        if code >= 100:
            raise AnalysisError(f"EPANET {fn} failed with error {code}; the model may be invalid")
        return code

    def _node(self, name: str) -> int:
        idx = ctypes.c_int()
        self._call("EN_getnodeindex", name.encode(_ID_ENCODING), ctypes.byref(idx))
        return idx.value

    def _link(self, name: str) -> int:
        idx = ctypes.c_int()
        self._call("EN_getlinkindex", name.encode(_ID_ENCODING), ctypes.byref(idx))
        return idx.value

    def _get_node(self, index: int, code: int) -> float:
        out = ctypes.c_double()
        self._lib.EN_getnodevalue(self._ph, index, code, ctypes.byref(out))
        return float(out.value)

    def _set_node(self, index: int, code: int, value: float) -> None:
        self._call("EN_setnodevalue", ctypes.c_int(index), ctypes.c_int(code), ctypes.c_double(value))

    def _get_link(self, index: int, code: int) -> float:
        out = ctypes.c_double()
        self._lib.EN_getlinkvalue(self._ph, index, code, ctypes.byref(out))
        return float(out.value)

    def _set_link(self, index: int, code: int, value: float) -> None:
        self._call("EN_setlinkvalue", ctypes.c_int(index), ctypes.c_int(code), ctypes.c_double(value))

    def _add_slots(self, wn: wntr.network.WaterNetworkModel) -> None:
        roughness = {"H-W": 150.0, "D-W": 0.0, "C-M": 0.009}[wn.options.hydraulic.headloss]
        idx = ctypes.c_int()
        tags = [f"{_SLOT_PREFIX}{k}" for k in range(len(self.names))]
        # junctions first: adding a junction shifts the indices of tanks and reservoirs
        for tag in tags:
            self._call("EN_addnode", f"{tag}m".encode(), _EN_JUNCTION, ctypes.byref(idx))
        for tag in tags:
            self._call("EN_addnode", f"{tag}r".encode(), _EN_RESERVOIR, ctypes.byref(idx))
        for name, tag in zip(self.names, tags, strict=True):
            self._call("EN_addlink", f"{tag}v".encode(), _EN_FCV, name.encode(_ID_ENCODING),
                       f"{tag}m".encode(), ctypes.byref(idx))
            self._call("EN_addlink", f"{tag}p".encode(), _EN_CVPIPE, f"{tag}m".encode(),
                       f"{tag}r".encode(), ctypes.byref(idx))
        self.junction = {n: self._node(n) for n in self.names}
        self.elevation = {n: self._get_node(i, _EN_ELEVATION) for n, i in self.junction.items()}
        self._reservoir = {n: self._node(f"{t}r") for n, t in zip(self.names, tags, strict=True)}
        self._valve = {n: self._link(f"{t}v") for n, t in zip(self.names, tags, strict=True)}
        self._pipe = {n: self._link(f"{t}p") for n, t in zip(self.names, tags, strict=True)}
        for n, tag in zip(self.names, tags, strict=True):
            self._set_node(self._node(f"{tag}m"), _EN_ELEVATION, self.elevation[n])
            self._set_link(self._valve[n], _EN_DIAMETER, _SLOT_DN_MM)
            self._set_link(self._valve[n], _EN_INITSTATUS, 0.0)
            pipe = self._pipe[n]
            for code, value in ((_EN_LENGTH, _SLOT_PIPE_M), (_EN_DIAMETER, _SLOT_DN_MM),
                                (_EN_ROUGHNESS, roughness)):
                self._set_link(pipe, code, value)

    def _run(self) -> Solve:
        t = ctypes.c_long()
        self._lib.EN_initH(self._ph, 0)  # 0: keep the last flows as the starting point
        return Solve(int(self._lib.EN_runH(self._ph, ctypes.byref(t))))

    # -- questions -----------------------------------------------------------------------------

    def static_heads(self) -> Solve:
        """Solve with every slot idle; keep each slot junction's head as its static head.

        Two solves: the first with the slot reservoirs 1,000 m above their junctions (closed
        check valves leak a little at such a head difference), the second with each reservoir
        just above its junction's head from the first, which leaks nothing measurable.
        """
        for n, r in self._reservoir.items():
            self._set_node(r, _EN_ELEVATION, self.elevation[n] + 1000.0)
        first = self._run()
        if not first.ok:
            return first
        for n, r in self._reservoir.items():
            self._set_node(r, _EN_ELEVATION, self._get_node(self.junction[n], _EN_HEAD) + _IDLE_MARGIN_M)
        solve = self._run()
        self.static_head = {n: self._get_node(i, _EN_HEAD) for n, i in self.junction.items()}
        return solve

    def pressure_m(self, name: str) -> float:
        """Pressure (m) at a junction after the last solve."""
        return self._get_node(self.junction[name], _EN_PRESSURE)

    def draw(
        self, caps: Mapping[str, float | None], *, residual_m: float
    ) -> tuple[Solve, dict[str, float], dict[str, float]]:
        """Open the slots of ``caps`` (junction → outlet cap in L/s, None for no cap) and solve.

        Returns the solve, the flow (L/s) drawn at each of those junctions and the pressure (m)
        there during the draw; the slots are idle again afterwards.
        """
        for n, cap in caps.items():
            self._set_node(self._reservoir[n], _EN_ELEVATION, self.elevation[n] + residual_m)
            if cap is None:  # no cap: the valve fixed open (an unreachable setting costs iterations)
                self._set_link(self._valve[n], _EN_INITSTATUS, 1.0)
            else:  # a setting makes the valve active again (it was closed while idle)
                self._set_link(self._valve[n], _EN_INITSETTING, cap)
        try:
            solve = self._run()
            flows = {n: max(self._get_link(self._pipe[n], _EN_FLOW), 0.0) for n in caps}
            pressures = {n: self.pressure_m(n) for n in caps}
        finally:
            for n in caps:
                self._set_link(self._valve[n], _EN_INITSTATUS, 0.0)
                self._set_node(self._reservoir[n], _EN_ELEVATION, self.static_head[n] + _IDLE_MARGIN_M)
        return solve, flows, pressures

    # -- lifetime ------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the EPANET project and remove its temporary files."""
        try:
            if self._open:
                self._lib.EN_closeH(self._ph)
                self._open = False
            self._en.ENclose()
        finally:
            self._dir.cleanup()

    def __enter__(self) -> EpanetSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
