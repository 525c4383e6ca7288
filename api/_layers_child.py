"""The child of :func:`api.layers_apart.load_layers_apart`: ``python -m api._layers_child JOB OUT``.

Builds the layers of the pickled job (:func:`api.pipeline.load_layers`) and pickles them to
``OUT`` (or the input's :class:`geo.errors.FireReachError`, exit status
:data:`api.layers_apart.INPUT_ERROR`); its progress and log records go to its standard output,
one JSON line each.
"""

from __future__ import annotations

import json
import logging
import pickle
import sys
from pathlib import Path
from typing import IO, Any

from api.layers_apart import INPUT_ERROR
from api.pipeline import load_layers
from geo.errors import FireReachError
from geo.presets import load_preset


class _LineHandler(logging.Handler):
    """Log records as ``["log", [level, logger, message]]`` lines on the child's stdout."""

    def __init__(self, stream: IO[str]) -> None:
        super().__init__()
        self.stream = stream

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record as a JSON line (its message formatted here)."""
        try:
            line = json.dumps(["log", [record.levelno, record.name, record.getMessage()]])
            self.stream.write(line + "\n")
            self.stream.flush()
        except (ValueError, OSError):  # the parent has gone
            pass


def main(argv: list[str]) -> int:
    """The child: build the layers of the pickled job and pickle them (or the input's error)."""
    job_file, out = (Path(a) for a in argv)
    request, settings, preset_name, workers, level = pickle.loads(job_file.read_bytes())
    stdout = sys.stdout
    root = logging.getLogger()
    root.handlers[:] = [_LineHandler(stdout)]
    root.setLevel(level)

    def tell(what: str) -> None:
        stdout.write(json.dumps(["progress", what]) + "\n")
        stdout.flush()

    status = 0
    built: Any
    try:
        built = load_layers(request, settings=settings, preset=load_preset(preset_name),
                            progress=tell, workers=workers)
    except FireReachError as exc:
        try:
            pickle.loads(pickle.dumps(exc))
        except Exception:  # an error that does not survive a pickle: the parent builds here
            raise exc from None
        built, status = exc, INPUT_ERROR
    tmp = out.with_suffix(".part")
    with tmp.open("wb") as f:
        pickle.dump(built, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(out)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
