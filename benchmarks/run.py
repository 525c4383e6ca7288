"""Run every benchmark module in turn (``make bench``); each prints its own figures."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

MODULES = [
    "benchmarks.bench_crs",
    "benchmarks.bench_layers",
    "benchmarks.bench_coverage",
    "benchmarks.bench_response",
    "benchmarks.bench_access",
    "benchmarks.bench_blockages",
    "benchmarks.bench_siting",
    "benchmarks.bench_api",
    "benchmarks.bench_live",
]


def main() -> None:
    """Run each benchmark that exists, in its own process."""
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        print(f"== {name}", flush=True)
        subprocess.run([sys.executable, "-m", name], check=True)


if __name__ == "__main__":
    main()
