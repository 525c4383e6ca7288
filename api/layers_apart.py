"""Reading a large city in a process of its own, so that the reader's garbage never meets the analysis.

Reading a 1M-edge city with 400,000 buildings left the reading process holding 2.3 GB once its
garbage was collected and trimmed, for layers that take 0.9 GB: the reader's tags, node lists and
WKB were made between the layers' own objects, and CPython keeps a memory arena as long as one
object in it lives, so the freed ones cannot go back to the OS. The analysis' and the writers'
peaks then sat on those 2.3 GB. Built in a child process and handed over as a pickle (geometries
as WKB, repeated strings once), the very same layers take 1.2 GB here (with the libraries) and
load in about 3 s (``BENCHMARKS.md``).

The child is a plain ``python -m api._layers_child JOB OUT`` (no multiprocessing: nothing of the
caller's ``__main__`` runs again and a threaded server is never forked). It tells its progress and
log records on its standard output, one JSON line each, and they are replayed here as they come.
An error of the input (a :class:`geo.errors.FireReachError`) comes back as itself and is raised
here; should the child fail any other way (a crash, a kill), the layers are built in this process
instead, with a warning.
"""

from __future__ import annotations

import json
import logging
import pickle
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING

from geo._process import start_child
from geo.errors import FireReachError
from geo.layers import Layers

if TYPE_CHECKING:
    from api.pipeline import LayersRequest
    from api.settings import Settings

log = logging.getLogger(__name__)

__all__ = ["INPUT_ERROR", "load_layers_apart"]


def load_layers_apart(
    request: LayersRequest,
    *,
    settings: Settings,
    preset_name: str,
    progress: Callable[[str], None] | None = None,
    workers: int | None = None,
    here: Callable[[], Layers],
) -> Layers:
    """:func:`api.pipeline.load_layers` run in a child process; the layers it built.

    ``preset_name`` is loaded again there (:func:`geo.presets.load_preset`). ``progress`` is told
    what the child's reader tells, as it tells it. ``here`` builds the layers in this process
    (when the child cannot).

    Raises
    ------
    FireReachError
        The child's own error about the input (the same class and message as in this process).
    """
    tell = progress or (lambda _: None)
    try:
        job = pickle.dumps((request, settings, preset_name, workers, logging.getLogger().level))
    except (TypeError, pickle.PicklingError, AttributeError) as exc:  # not expected; be safe
        log.info("layers built in this process (the request does not pickle: %s)", exc)
        return here()
    with tempfile.TemporaryDirectory(prefix="firereach-layers-") as tmp:
        folder = Path(tmp)
        job_file, out, errors = folder / "job.pickle", folder / "layers.pickle", folder / "stderr.txt"
        job_file.write_bytes(job)
        with errors.open("wb") as err_file, start_child(
            "api._layers_child", [str(job_file), str(out)], stdout=subprocess.PIPE,
            stderr=err_file,
        ) as child:
            try:
                assert child.stdout is not None
                _replay(child.stdout, tell)
                child.wait()
            except BaseException:
                child.kill()
                raise
        if child.returncode in (0, INPUT_ERROR) and out.is_file():
            with out.open("rb") as f:
                built = pickle.load(f)
            if isinstance(built, FireReachError):
                raise built
            if isinstance(built, Layers):
                return built
        log.warning(
            "building the layers in a separate process failed (exit %s: %s); building them here",
            child.returncode, errors.read_bytes().decode(errors="replace").strip()[-500:],
        )
    return here()


def _replay(lines: IO[bytes], tell: Callable[[str], None]) -> None:
    """The child's progress and log lines, told and logged here as they come."""
    for raw in lines:
        try:
            kind, payload = json.loads(raw)
        except (ValueError, TypeError):
            continue  # not one of ours (a library printing): ignored
        if kind == "progress":
            tell(str(payload))
        elif kind == "log":
            level, name, message = payload
            logging.getLogger(str(name)).log(int(level), "%s", message)


#: The child's exit status when it pickled an error of the input instead of the layers.
INPUT_ERROR = 3
