"""Every example script runs (on data the tests write; the ImageNet one where the internet is reachable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from helpers import write_digit_folder

from conftest import ROOT


def _digits(tmp_path):

    write_digit_folder(tmp_path / "photos", per_class=20)
    return f"folder:{tmp_path / 'photos'}"


def _pretrained(tmp_path):
    from kzoo.train import train

    train("lenet5_modern", sets={"epochs": 2, "verbose": 0, "callbacks.tensorboard": False}, output=str(tmp_path / "r"))
    return str(tmp_path / "r" / "model.keras")


def _run_example(script, args, tmp_path):
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script), *args],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )


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
    result = _run_example(script, make_args(tmp_path), tmp_path)
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


@pytest.mark.slow
def test_transfer_experiment_runs_on_an_npz_in_keras_datasets_layout(tmp_path):
    """The path a user with the internet takes for MNIST (keras.datasets' mnist.npz), on digits 28x28 we write."""
    import numpy as np
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.pad(np.kron(digits.images, np.ones((3, 3))), ((0, 0), (2, 2), (2, 2))) * (255 / 16)
    images = images.astype("uint8")  # (1797, 28, 28) like MNIST
    n = 1400
    np.savez(
        tmp_path / "mnist.npz",
        x_train=images[:n],
        y_train=digits.target[:n],
        x_test=images[n:],
        y_test=digits.target[n:],
    )
    out = tmp_path / "t"
    args = ["--data", f"npz:{tmp_path / 'mnist.npz'}", "--setting", "centred", "--quick", "--out", str(out)]
    result = _run_example("transfer_digits.py", args, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    data = json.loads(out.with_suffix(".json").read_text())
    assert data["pad"] == 2 and list(data["settings"]) == ["centred"]
    assert data["settings"]["centred"]["test_images_5_9"] == int((digits.target[n:] >= 5).sum())
    assert "28x28 in a 32x32 frame" in out.with_suffix(".md").read_text()


def test_transfer_experiment_bad_data_is_a_clear_error(tmp_path):
    result = _run_example("transfer_digits.py", ["--data", f"npz:{tmp_path / 'none.npz'}"], tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "transfer_digits: error: npz: no such file" in result.stderr and "hint:" in result.stderr
