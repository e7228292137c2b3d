"""A missing real component fails a test; only a development run may skip it instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ALLOW_MISSING, need

ROOT = Path(__file__).resolve().parent.parent


def test_a_missing_component_fails_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(ALLOW_MISSING, raising=False)
    with pytest.raises(pytest.fail.Exception, match="missing: glusterd is not running"):
        need("glusterd is not running")


def test_development_runs_may_skip_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv(ALLOW_MISSING, "1")
    with pytest.raises(pytest.skip.Exception, match="glusterd is not running"):
        need("glusterd is not running")


def test_ci_never_skips(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(ALLOW_MISSING, "1")
    with pytest.raises(pytest.fail.Exception):
        need("glusterd is not running")


def test_the_test_command_sets_ci_itself() -> None:
    # .ci/run only runs scripts/test.sh; a runner without CI in its environment must
    # still fail on a missing component.
    lines = (ROOT / "scripts" / "test.sh").read_text().splitlines()
    assert "export CI=true" in lines
    assert f"unset {ALLOW_MISSING}" in lines
    assert lines.index("export CI=true") < next(
        i for i, line in enumerate(lines) if "pytest" in line and not line.startswith("#")
    )
