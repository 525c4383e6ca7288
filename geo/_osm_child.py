"""The second reader of a large OSM file (:func:`geo.osm.read_osm` with two workers).

``python -m geo._osm_child FILE OUT`` reads the tagged nodes and assembled areas of ``FILE``
(:func:`geo.osm.read_nodes_and_areas`) and pickles what it kept to ``OUT``; on a bad file it
exits with status 2 and the reason on stderr.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

from geo.errors import FireReachError
from geo.osm import read_nodes_and_areas


def main(argv: list[str]) -> int:
    path, out = argv
    try:
        kept = read_nodes_and_areas(path)
    except FireReachError as exc:
        print(exc, file=sys.stderr)
        return 2
    tmp = Path(out).with_suffix(".part")
    with tmp.open("wb") as f:
        pickle.dump(kept, f, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
