"""A test that needs a missing tool or file skips on a user's machine and fails under CI."""

from __future__ import annotations

import pytest

from tests.conftest import missing


def test_missing_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI this is an error"):
        missing("chromium not found")


def test_missing_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium not found"):
        missing("chromium not found")
