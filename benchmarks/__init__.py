"""Benchmarks: run with ``make bench`` (``python -m benchmarks.run``); figures go to BENCHMARKS.md."""
