"""A non-editable install carries the architecture files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import ROOT, run_python


@pytest.mark.slow
def test_wheel_install_loads_resnet50_from_another_directory(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (site / "kzoo" / "architectures" / "families" / "resnet.yaml").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_python(
        f"""
        import kzoo
        assert kzoo.__file__.startswith({str(site)!r}), kzoo.__file__
        assert "resnet50" in kzoo.list_architectures()
        model = kzoo.load("resnet50")
        assert model.count_params() == 25_636_712
        print("ok")
    """,
        env={"PYTHONPATH": str(site)},
        cwd=elsewhere,
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
