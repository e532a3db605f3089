"""Every example script runs (on data the tests write; the ImageNet one where the internet is reachable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT


def _digits(tmp_path):
    from test_finetune import write_digit_folder

    write_digit_folder(tmp_path / "photos", per_class=20)
    return f"folder:{tmp_path / 'photos'}"


def _pretrained(tmp_path):
    from kzoo.train import train

    train("lenet5_modern", sets={"epochs": 2, "verbose": 0, "callbacks.tensorboard": False}, output=str(tmp_path / "r"))
    return str(tmp_path / "r" / "model.keras")


EXAMPLES = {
    # script: (arguments made from tmp_path, text the output must hold)
    "summarise_and_build.py": (lambda t: ["resnet18", "classes=10", "input=[64,64,3]"], "output shapes: [(1, 10)]"),
    "finetune_from_kzoo_run.py": (lambda t: [_digits(t), str(t / "runs")], "after unfreezing c5, f6"),
    "finetune_keras_file.py": (lambda t: [_pretrained(t), _digits(t), "--epochs", "2"], "test accuracy:"),
    "finetune_imagenet.py": (lambda t: [_digits(t), "64"], "after unfreezing conv5"),
    "transfer_digits.py": (lambda t: ["--quick", "--out", str(t / "transfer")], "wrote"),
}
OFFLINE_OK = {"finetune_imagenet.py": "could not get the ImageNet weights"}  # needs the internet


def test_every_example_is_run_here():
    assert sorted(EXAMPLES) == sorted(p.name for p in (ROOT / "examples").glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", sorted(EXAMPLES))
def test_example_runs(script, tmp_path):
    make_args, expected = EXAMPLES[script]
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *make_args(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    if result.returncode != 0 and script in OFFLINE_OK and OFFLINE_OK[script] in result.stderr:
        pytest.skip(f"{script} needs the internet: {OFFLINE_OK[script]}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert expected in result.stdout
    if script == "transfer_digits.py":
        data = json.loads((tmp_path / "transfer.json").read_text())
        for setting in ("centred", "off-centre"):
            rows = data["settings"][setting]["rows"]
            assert [r["k"] for r in rows] == [1, 10]
            assert all(0 < r[m]["mean"] <= 1 for r in rows for m in ("scratch", "finetune", "features", "pixels"))
        assert (tmp_path / "transfer.svg").read_text().startswith("<?xml")
        text = (tmp_path / "transfer.md").read_text()
        assert "## off-centre" in text and text.count("| 10 (50 images) |") == 2
