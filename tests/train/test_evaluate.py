"""Test-time augmentation and ensembles."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import run_kzoo
from kzoo.errors import SpecError
from kzoo.train.evaluate import dataset_probabilities, ensemble, views


def test_ensemble_mean_and_majority_vote():
    labels = np.array([0, 1, 2, 2])
    a = np.eye(3)[[0, 1, 2, 0]] * 0.9 + 0.03  # 3/4 right
    b = np.eye(3)[[0, 2, 2, 2]] * 0.6 + 0.13  # 3/4 right
    c = np.eye(3)[[1, 1, 2, 1]] * 0.5 + 0.16  # 2/4 right
    report = ensemble([a, b, c], labels)
    assert report["members"] == [0.75, 0.75, 0.5]
    assert report["majority_vote"] == 0.75  # image 3 votes 0, 2, 1: a tie, broken by the mean probability (a: 0)
    mean = (a + b + c) / 3
    assert report["mean_probability"] == float((mean.argmax(1) == labels).mean())


def test_tta_averages_over_the_variants():
    import keras
    import tensorflow as tf

    x = keras.Input((6, 6, 1))
    model = keras.Model(x, keras.layers.Dense(2, activation="softmax")(keras.layers.Flatten()(x)))
    images = tf.random.uniform((3, 6, 6, 1), seed=1)
    ds = tf.data.Dataset.from_tensor_slices((images, np.array([0, 1, 0]))).batch(3)
    probs, labels = dataset_probabilities(model, ds, ["flip"])
    want = (np.asarray(model(images)) + np.asarray(model(tf.image.flip_left_right(images)))) / 2
    np.testing.assert_allclose(probs, want, rtol=1e-6)
    assert len(views(images, ["flip", "crop"])) == 6
    with pytest.raises(SpecError, match="unknown test-time augmentation"):
        views(images, ["rotate"])


@pytest.mark.slow
def test_evaluate_an_ensemble_of_two_runs(tmp_path, capsys):
    for seed in (1, 2):
        done = run_kzoo(
            "train", "lenet5_modern", "--epochs", "3", "--seed", seed, "--output", tmp_path / f"run{seed}",
            "--set", "verbose=0", timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
    done = run_kzoo("evaluate", tmp_path / "run1", tmp_path / "run2", "--tta", "crop", "--json", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert len(report["members"]) == 2 and report["tta"] == ["crop"] and report["test_images"] == 269
    assert min(report["members"]) > 0.8 and report["mean_probability"] > 0.8
    assert "never flipped" not in done.stderr
    from kzoo.cli import main

    assert main(["evaluate", str(tmp_path / "run1"), "--tta", "flip", "--json"]) == 0  # digits, never flipped
    assert "mirrored images its training never flipped" in capsys.readouterr().err
