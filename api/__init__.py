"""api: every way in — the CLI, settings and the jobs they run (the HTTP service comes next)."""

from api.pipeline import LayersRequest, load_layers, run_analyze, run_layers
from api.settings import Settings

__all__ = ["LayersRequest", "Settings", "load_layers", "run_analyze", "run_layers"]
