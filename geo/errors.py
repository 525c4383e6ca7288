"""The FireReach error hierarchy.

Every error subclasses both :class:`FireReachError` and the matching built-in, so callers can catch
either. Messages say what was wrong, where (file, row, column, feature id) and what to do. The API
maps these classes to HTTP codes in one table; the CLI maps them to exit code 2.
"""

from __future__ import annotations


class FireReachError(Exception):
    """Base class of every error FireReach raises on purpose."""


class InputFileError(FireReachError, ValueError):
    """A whole input file is unusable: unreadable, wrong encoding, no geometry, unknown CRS."""


class LayerValidationError(FireReachError, ValueError):
    """A layer does not have the columns, geometry type or values its schema requires."""


class CRSError(FireReachError, ValueError):
    """A coordinate reference system is unknown, geographic where metres are needed, or mismatched."""


class ConfigError(FireReachError, ValueError):
    """A preset, setting or option is invalid."""


class AnalysisError(FireReachError, RuntimeError):
    """An analysis cannot run on the given inputs (for example an empty graph)."""


class NotFoundError(FireReachError, LookupError):
    """A requested feature, layer or record does not exist."""


class NetworkUnavailableError(FireReachError, ConnectionError):
    """Online OSM download was requested but the network cannot be reached."""


class OutputWriteError(FireReachError, OSError):
    """One or more output writers failed; the files of the others were written."""
