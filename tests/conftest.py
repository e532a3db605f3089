"""Shared helpers: write YAML into a temporary folder and analyse it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def write(tmp_path):
    """write(text, name="m.yaml") -> path of a dedented YAML file in tmp_path."""

    def _write(text: str, name: str = "m.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return _write


@pytest.fixture
def analyse_text(write):
    """analyse_text(text, **overrides) -> Graph."""
    from kzoo.graph import analyse

    def _analyse(text: str, **overrides):
        return analyse(write(text), overrides)

    return _analyse


def run_python(code: str, env: dict | None = None, cwd: str | Path | None = None, timeout: int = 600):
    """Run Python code in a fresh interpreter; returns the CompletedProcess."""
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=timeout,
    )


def run_kzoo(*args, cwd: str | Path | None = None, timeout: int = 900, env: dict | None = None):
    """Run the kzoo command line in a fresh interpreter; returns the CompletedProcess."""
    return subprocess.run(
        [sys.executable, "-m", "kzoo.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=timeout,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})},
    )


@pytest.fixture
def run(capsys):
    """run(*argv) -> (exit code, stdout, stderr) of the kzoo command line, in this process."""
    from kzoo.cli import main

    def go(*argv):
        capsys.readouterr()
        rc = main([str(a) for a in argv])
        out, err = capsys.readouterr()
        return rc, out, err

    return go
