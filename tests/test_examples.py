"""Every example script runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT

ARGS = {"summarise_and_build.py": ["resnet18", "classes=10", "input=[64,64,3]"]}


def test_every_example_has_arguments_here():
    assert sorted(ARGS) == sorted(p.name for p in (ROOT / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(ARGS))
def test_example_runs(script):
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *ARGS[script]],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "output shapes: [(1, 10)]" in result.stdout
