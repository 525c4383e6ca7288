"""Child Python processes of a run (the second OSM reader, the reading step apart).

A child is a plain ``python -m MODULE ARGS`` started fresh (no multiprocessing: nothing of the
caller's ``__main__`` runs again and a threaded server is never forked), with this checkout first
on its import path so that it runs the very code of its parent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO

_ROOT = str(Path(__file__).resolve().parent.parent)


def start_child(
    module: str, args: list[str], *, stdout: int | IO[bytes], stderr: IO[bytes]
) -> subprocess.Popen[bytes]:
    """Start ``python -m module *args`` (stdin closed; ``stdout``/``stderr`` as given)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (_ROOT, os.environ.get("PYTHONPATH", "")) if p)}
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env,
    )
