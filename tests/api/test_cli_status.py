"""``firereach layers --preset``: the preset's rule for hydrants without a status (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from tests.conftest import FIXTURES

runner = CliRunner()


def test_layers_preset_decides_unstated_status(tmp_path: Path) -> None:
    strict = tmp_path / "strict.toml"
    strict.write_text(
        'extends = "cn-gb"\nname = "strict"\n[hydrant_status]\nmissing = "unknown"\n', encoding="utf-8"
    )
    base = ["layers", "--osm", str(FIXTURES / "tiny_compound.osm"),
            "--hydrants", str(FIXTURES / "hydrants_ids_only.csv")]
    for preset, in_service, unknown in ((None, 4, 0), (str(strict), 0, 4)):
        out = tmp_path / ("default" if preset is None else "strict")
        args = [*base, "--out", str(out), *(["--preset", preset] if preset else [])]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        h = json.loads((out / "summary.json").read_text(encoding="utf-8"))["hydrants"]
        # 3 agency rows without a status column + OSM node 6 without a tag: 4 assumed;
        # node 42 is tagged disused (out of service)
        assert (h["in_service"], h["unknown"], h["out_of_service"]) == (in_service, unknown, 1)
        assert h["status_assumed"] == 4 and h["status_tagged"] == 1
