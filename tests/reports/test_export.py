"""Output checks: ``--out`` is checked before any work, in one helper that every command uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.errors import ConfigError
from reports.export import check_out_dir, check_out_file


def test_check_out_dir(tmp_path: Path) -> None:
    new = tmp_path / "a" / "b"
    assert check_out_dir(new) == new and new.is_dir()  # created with its parents, as the job would
    assert list(new.iterdir()) == []  # the probe file is gone
    assert check_out_dir(new) == new  # an existing folder is fine
    plain = tmp_path / "plain.txt"
    plain.write_text("keep", encoding="utf-8")
    with pytest.raises(ConfigError, match="this is a file, and a folder is needed"):
        check_out_dir(plain)
    with pytest.raises(ConfigError, match=r"plain\.txt is a file, so the folder .* cannot be created"):
        check_out_dir(plain / "sub" / "out")
    assert plain.read_text(encoding="utf-8") == "keep"


def test_check_out_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "answer.json"
    assert check_out_file(target) == target
    assert target.parent.is_dir() and not target.exists()  # the folder is made, the file not yet
    target.write_text("{}", encoding="utf-8")
    assert check_out_file(target) == target and target.read_text(encoding="utf-8") == "{}"
    with pytest.raises(ConfigError, match="this is a folder, and a file is needed"):
        check_out_file(tmp_path / "new")
    with pytest.raises(ConfigError, match=r"--sites .*answer\.json is a file"):
        check_out_file(target / "x.json", option="--sites")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs /proc (a folder nobody can write in)")
def test_folder_that_cannot_be_created() -> None:
    with pytest.raises(ConfigError, match="cannot write in /proc/firereach-test"):
        check_out_dir(Path("/proc/firereach-test/out"))
