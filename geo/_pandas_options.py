"""pandas options FireReach runs with (imported first by :mod:`geo`, so by every entry point).

pandas 3 backs ``str`` columns with Arrow when pyarrow is installed, and FireReach installs it for
GeoPackage Arrow I/O. FireReach's tables (findings, stretches, buildings) are taken, spliced and
compared row by row far more than they are string-processed, and an Arrow take copies every
string's bytes: a quarter of a live hydrant update at 300k edges (0.69 s against 0.52 s with
Python storage, same analysis time; BENCHMARKS.md). Python storage keeps the ``str`` dtype and its
missing-value semantics: the tables are what they were before pyarrow was installed.
"""

from __future__ import annotations

import pandas as pd

pd.set_option("mode.string_storage", "python")
