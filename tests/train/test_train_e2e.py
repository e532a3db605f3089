"""Real training on real data, end to end (CLI in subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers import write_image_folder

from conftest import ROOT, run_kzoo, run_python

kzoo = run_kzoo


@pytest.mark.slow
def test_train_writes_a_complete_run_directory(tmp_path):
    out = tmp_path / "run"
    result = kzoo("train", "lenet5_modern", "--epochs", "4", "--output", out, "--set", "verbose=2")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "test accuracy" in result.stdout and str(out) in result.stdout
    for name in ("model.keras", "best.keras", "recipe.yaml", "log.csv", "results.json"):
        assert (out / name).is_file(), name
    assert any((out / "tensorboard").rglob("*tfevents*"))
    results = json.loads((out / "results.json").read_text())
    for key in ("test_accuracy", "test_loss", "epochs_run", "wall_seconds", "seed"):
        assert key in results
    assert results["epochs_run"] == 4 and results["test_accuracy"] > 0.85  # 4 epochs of real learning
    check = run_python(f"""
        import kzoo, keras, numpy as np
        from kzoo.train.data import load_data
        from kzoo.train.recipe import DataSection
        m = keras.saving.load_model("{out / "model.keras"}")
        assert m.layers[1].name == "normalization"   # the training set's statistics travel with the model
        s = load_data(DataSection(pad=4), (32, 32, 1))
        print(m.evaluate(s.test.batch(64), return_dict=True, verbose=0)["accuracy"])
    """)
    assert check.returncode == 0, check.stderr[-2000:]
    assert float(check.stdout.strip().splitlines()[-1]) == pytest.approx(results["test_accuracy"], abs=1e-6)


@pytest.mark.slow
def test_train_on_a_folder_of_images_with_a_recipe(tmp_path):

    write_image_folder(tmp_path / "photos", classes=("red", "green", "blue"), per_class=20, size=24)
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"""
data: {{source: "folder:{tmp_path / "photos"}", validation_split: 0.2, test_split: 0.2}}
epochs: 6
batch_size: 8
optimizer: {{name: sgd, lr: 0.01, nesterov: true}}
momentum_ramp: {{start: 0.5, end: 0.9, epochs: 2}}
schedule: {{warmup_epochs: 1}}
augment: {{flip: horizontal, color_pca: 0.05, crop_padding: 2}}
weight_decay: 1.0e-4
verbose: 0
""")
    out = tmp_path / "run"
    result = kzoo("train", "lenet5_modern", "--param", "input=[32,32,3]", "--recipe", recipe, "--output", out)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] >= 0.9  # one colour per class: easy, but only if training works
    log = (out / "log.csv").read_text().splitlines()
    assert "learning_rate" in log[0] and "momentum" in log[0]


@pytest.mark.slow
def test_divergence_stops_with_a_message_naming_the_learning_rate(tmp_path):
    result = kzoo(
        "train",
        "lenet5_modern",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--epochs",
        "2",
        "--output",
        tmp_path / "run",
        "--set",
        "verbose=0",
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "learning rate 1e+06" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_mirrored_over_two_cpus_gives_the_weights_of_one_device(tmp_path):
    code = f"""
        import tensorflow as tf
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
        import numpy as np, keras
        from kzoo.train import train
        common = {{"epochs": 2, "verbose": 0, "callbacks.tensorboard": False, "augment.shift": 0,
                   "augment.rotation": 0, "data.cache": True}}
        # Several replicas drop an epoch's last partial batch; one device keeps it unless told not to.
        a = train("lenet5_modern", sets={{**common, "strategy": "one_device", "devices": ["/cpu:0"],
                                          "data.partial_batches": False}},
                  output="{tmp_path / "one"}")
        b = train("lenet5_modern", sets={{**common, "strategy": "mirrored", "devices": ["/cpu:0", "/cpu:1"]}},
                  output="{tmp_path / "two"}")
        assert b["replicas"] == 2 and a["replicas"] == 1
        wa = keras.saving.load_model("{tmp_path / "one" / "model.keras"}").get_weights()
        wb = keras.saving.load_model("{tmp_path / "two" / "model.keras"}").get_weights()
        print(max(float(np.abs(x - y).max()) for x, y in zip(wa, wb)))
    """
    result = run_python(code)
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout.strip().splitlines()[-1]) < 1e-5  # measured here: 5.9e-7


DROPOUT_NET = """
name: dropnet
paper: none (a small net with dropout, for the resume test)
input: [16, 16, 1]
params: {classes: 10}
layers:
  - conv: {filters: 8, kernel: 3, activation: relu}
  - maxpool: 2
  - flatten
  - dropout: 0.5
  - dense: {units: 32, activation: relu}
  - dropout: 0.3
  - dense: {units: $classes, activation: softmax}
"""


@pytest.mark.slow
def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    import os
    import signal
    import time

    import keras
    import numpy as np

    import kzoo  # noqa: F401  (registers kzoo's objects: the saved models hold kzoo>SGD)

    arch = tmp_path / "dropnet.yaml"
    arch.write_text(DROPOUT_NET)
    args = [
        "train",
        str(arch),
        "--epochs",
        "6",
        "--batch-size",
        "8",
        "--optimizer",
        "sgd",
        "--lr",
        "0.02",
        "--set",
        "verbose=0",
        "--set",
        "callbacks.tensorboard=false",
        "--set",
        "callbacks.early_stopping=null",
        "--set",
        "augment.rotation=10",  # augmentation is stateless (keyed per batch), so it resumes exactly too
        "--set",
        "augment.shift=0.1",
        "--set",
        "augment.flip=horizontal",
        "--set",
        "augment.crop_padding=1",
    ]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    whole = run_kzoo(*args, "--output", tmp_path / "whole", timeout=600)
    assert whole.returncode == 0, whole.stderr[-2000:]

    out = tmp_path / "killed"
    proc = subprocess.Popen(
        [sys.executable, "-m", "kzoo.cli", *args, "--output", str(out)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_backup(out, 2, proc)
    time.sleep(0.3)  # into the third epoch
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "model.keras").exists()
    resumed = run_kzoo(*args, "--output", out, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["epochs_this_session"] < 6 and results["epochs_run"] == 6  # it did resume, and counts all
    a = keras.saving.load_model(tmp_path / "whole" / "model.keras").get_weights()
    b = keras.saving.load_model(out / "model.keras").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True)), "resumed weights differ"


def _wait_for_backup(run_dir, epoch: int, proc: subprocess.Popen, timeout: float = 300) -> None:
    """Until the run's backup holds ``epoch`` completed epochs (or the process ends, or time runs out)."""
    import time

    meta = run_dir / "backup" / "latest.json"
    deadline = time.time() + timeout
    while time.time() < deadline and proc.poll() is None:
        if meta.is_file() and json.loads(meta.read_text() or "{}").get("epoch", 0) >= epoch:
            return
        time.sleep(0.05)


def _free_ports(n: int) -> list[int]:
    import socket

    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _start_workers(args: list[str], env: dict, n: int = 2) -> list[subprocess.Popen]:
    ports = _free_ports(n)
    procs = []
    for index in range(n):
        config = {"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]}, "task": {"type": "worker", "index": index}}
        procs.append(
            subprocess.Popen(
                args,
                env={**env, "TF_CONFIG": json.dumps(config)},
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return procs


@pytest.mark.slow
def test_two_workers_on_localhost_train_resume_after_a_kill_and_agree(tmp_path):
    """MultiWorkerMirroredStrategy, two worker processes on 127.0.0.1 (kzoo's compat shim at work)."""
    import os
    import signal
    import time

    import keras
    import numpy as np

    import kzoo  # noqa: F401

    common = ["train", "lenet5_modern", "--epochs", "4", "--batch-size", "32"]
    common += ["--set", "verbose=0", "--set", "callbacks.tensorboard=false", "--set", "augment.rotation=0"]
    common += ["--set", "augment.shift=0"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = tmp_path / "cluster"
    args = [sys.executable, "-m", "kzoo.cli", *common, "--strategy", "multi_worker", "--output", str(out)]

    # Train; kill worker 1 in the second epoch.
    procs = _start_workers(args, env)
    _wait_for_backup(out, 1, procs[0])
    time.sleep(0.3)
    assert procs[1].poll() is None, "the workers ended before one could be killed"
    os.kill(procs[1].pid, signal.SIGKILL)
    try:
        _, err = procs[0].communicate(timeout=120)
    except subprocess.TimeoutExpired:
        procs[0].kill()
        pytest.fail("the surviving worker did not notice that its peer died")
    assert procs[0].returncode == 2, err[-2000:]
    assert "another worker of the cluster stopped" in err and "restart every worker" in err
    assert "Traceback" not in err
    procs[1].communicate()

    # Restart both with the same command: they resume and end with identical weights.
    procs = _start_workers(args, env)
    for p in procs:
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
    chief = json.loads((out / "results.json").read_text())
    other = json.loads((out / "worker-1" / "results.json").read_text())
    assert chief["replicas"] == 2 and chief["epochs_this_session"] < 4  # resumed, not restarted
    assert chief["test_accuracy"] == other["test_accuracy"]
    wa = keras.saving.load_model(out / "model.keras").get_weights()
    wb = keras.saving.load_model(out / "worker-1" / "model.keras").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(wa, wb, strict=True)), "the workers' weights differ"

    # The same recipe on one device, uninterrupted, gives the same weights up to float rounding.
    one = run_kzoo(
        *common,
        "--strategy",
        "one_device",
        "--set",
        "data.partial_batches=false",
        "--output",
        tmp_path / "one",
        timeout=600,
    )
    assert one.returncode == 0, one.stderr[-2000:]
    w1 = keras.saving.load_model(tmp_path / "one" / "model.keras").get_weights()
    assert max(float(np.abs(x - y).max()) for x, y in zip(wa, w1, strict=True)) < 1e-4  # measured here: ~2e-7
