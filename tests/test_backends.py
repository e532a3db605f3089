"""Every zoo model computes the same on TensorFlow, JAX and PyTorch (Keras 3's three backends).

tests/backend_worker.py builds each model on TensorFlow with seeded random weights (moving variances
positive), at a small input where its file allows one, and writes its weights, inputs and outputs; then it
builds the same model under KERAS_BACKEND=jax and =torch, loads the weights and writes its outputs. Each
backend runs in a process of its own (the test's process would hold every model), without TensorFlow for
the other two. Outputs must agree within
1e-5 relative. A file of every custom op (Caffe's padding and rounding-up pooling, scale, bias, power, a
weighted sum, LRN in both modes and within channels, partial_conv, subsample, rbf) is compared too, with the
gradient of its output with respect to the input, and ``.keras`` files saved here are loaded there.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo.errors import KzooError

HERE = Path(__file__).parent
OUTPUT_TOLERANCE = 1e-5  # relative to the largest output
GRADIENT_TOLERANCE = 1e-4  # gradients sum many more terms
CUSTOM = """
name: custom_ops
input: [24, 24, 3]
layers:
  - conv: {filters: 6, kernel: 3, padding: valid, pad: 1, activation: tanh}
  - maxpool: {pool: 3, stride: 2, pad: 1, ceil_mode: true}
  - lrn: {n: 5, k: 2, alpha: 1.0e-2, beta: 0.75, alpha_mode: sum}
  - lrn: {n: 3, k: 1, alpha: 5.0e-2, beta: 0.75}
  - lrn: {n: 3, k: 1, alpha: 5.0e-2, beta: 0.75, region: within, name: within}
  - scale
  - bias
  - power: {power: 2, scale: 0.5, shift: 1, name: squared}
  - avgpool: {pool: 3, stride: 2, pad: 1, ceil_mode: true, name: main_pool}
  - conv: {filters: 6, kernel: 1, name: side, from: squared}
  - avgpool: {pool: 3, stride: 2, pad: 1, ceil_mode: true, name: side_pool}
  - add: {from: [main_pool, side_pool], coeffs: [1, -0.5], name: mixed}
  - partial_conv: {filters: 3, kernel: 3, table: [[0, 1], [1, 2, 3], [0, 4, 5]]}
  - subsample: {pool: 2, activation: lecun_tanh}
  - flatten
  - rbf: {units: 4, init: glorot_uniform}
"""


def small_params(name: str) -> dict:
    """Logits (a saturated softmax would hide differences), at the smallest of a few inputs the file takes (a
    quarter, a third, half its size), else its own."""
    graph = kzoo.analyse(name)
    params = {"classifier_activation": None} if "classifier_activation" in graph.meta["params"] else {}
    if "fc_width" in graph.meta["params"] and graph.meta["task"] == "detection":  # YOLO's 4,096-unit layer
        params.update(fc_width=64, head_width=32)
    rows, cols, channels = graph.example_shape  # an any-size file (FCN): its example size
    for k in (4, 3, 2):
        shape = [rows // k, cols // k, channels]
        try:
            kzoo.analyse(name, {"input": shape})
            return {**params, "input_shape": tuple(shape)}
        except KzooError:
            continue
    return params


def case(name: str, params: dict, gradient: bool = False, saved: bool = False) -> dict:
    """One model to compare (built by tests/backend_worker.py: under TensorFlow first, which writes the reference)."""
    params = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
    return {"name": name, "stem": Path(name).stem, "params": params, "gradient": gradient, "saved": saved}


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-12))


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    folder = tmp_path_factory.mktemp("backends")
    (folder / "custom_ops.yaml").write_text(CUSTOM)
    saved = {"lenet5", "alexnet", "googlenet", "vgg11_lrn", "inception_v3", "resnet50"}
    # Input gradients: of LeNet-5 and of the custom-op file, not of networks that max-pool after a ReLU. There
    # many windows hold equal zeros, and each backend hands such a tie's gradient to another position (JAX and
    # torch agree with each other, TensorFlow differs by 1-3% on GoogLeNet and Inception v3, depending on the
    # machine). The custom-op file uses tanh before its max pool: no ties.
    gradients = {"lenet5"}
    cases = [
        case(name, small_params(name), gradient=name in gradients, saved=name in saved)
        for name in kzoo.list_architectures()
    ]
    cases.append(case(str(folder / "custom_ops.yaml"), {}, gradient=True, saved=True))
    (folder / "cases.json").write_text(json.dumps(cases))
    for backend in ("tensorflow", "jax", "torch"):  # each in a process of its own: none holds 21 models at once
        env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(HERE.parent)}
        done = subprocess.run(
            [sys.executable, str(HERE / "backend_worker.py"), str(folder)],
            env=env,
            capture_output=True,
            text=True,
            timeout=1500,
        )
        assert done.returncode == 0, (backend, done.stderr[-3000:])
    return folder, cases


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_model_computes_the_same_on_each_backend(compared, backend):
    folder, cases = compared
    diffs, failed = {}, []
    for c in cases:
        ours = np.load(folder / f"{c['stem']}.tensorflow.npz")
        theirs = np.load(folder / backend / f"{c['stem']}.npz")
        for key in ours.files:
            tolerance = GRADIENT_TOLERANCE if key == "grad" else OUTPUT_TOLERANCE
            diffs[f"{c['stem']}.{key}"] = diff = relative(theirs[key], ours[key])
            if diff > tolerance:
                failed.append((c["stem"], key, diff))
            if c["saved"] and key.startswith("out"):  # the .keras file saved on TensorFlow, loaded here
                diffs[f"{c['stem']}.saved{key[3:]}"] = saved = relative(theirs["saved" + key[3:]], ours[key])
                if saved > OUTPUT_TOLERANCE:
                    failed.append((c["stem"], "saved", saved))
    print(backend, json.dumps({k: f"{v:.1e}" for k, v in sorted(diffs.items())}))
    assert not failed, (backend, failed)
    assert {c["stem"] for c in cases} >= set(kzoo.list_architectures()) | {"custom_ops"}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_train_resume_evaluate_predict_finetune_and_export_on_a_backend(backend, tmp_path):
    """The commands on another backend (tf.data still feeds them): a run killed during its second backup resumes,
    and its model is evaluated, predicted with, fine-tuned and exported to ONNX."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from conftest import ROOT, run_kzoo

    sys.path.insert(0, str(HERE / "hostile"))
    from test_hostile_faults import DIE_IN_BACKUP, FAST, TRAIN, killer

    env = {"KERAS_BACKEND": backend}
    out = tmp_path / "run"
    killed = subprocess.run(
        [sys.executable, "-c", killer(DIE_IN_BACKUP, [*TRAIN, "--output", str(out)])],
        capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=600,
    )  # fmt: skip
    assert killed.returncode == -9, killed.stderr[-2000:]
    resumed = run_kzoo(*TRAIN, "--output", out, env=env)
    assert resumed.returncode == 0 and "resuming" in resumed.stderr, resumed.stderr[-3000:]
    assert json.loads((out / "results.json").read_text())["epochs_run"] == 3
    evaluated = run_kzoo("evaluate", out, "--json", env=env)
    assert evaluated.returncode == 0 and json.loads(evaluated.stdout)["members"][0] > 0.5, evaluated.stderr[-2000:]
    digits = load_digits()
    Image.fromarray((np.kron(digits.images[0], np.ones((3, 3))) * 16).astype("uint8")).save(tmp_path / "zero.png")
    predicted = run_kzoo("predict", out, tmp_path / "zero.png", "--json", env=env)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert json.loads(predicted.stdout)["predictions"][0]["top"][0]["class"] == "0"
    tuned = run_kzoo("finetune", "--from", out, "--data", "digits", *FAST[:2], "--output", tmp_path / "ft", env=env)
    assert tuned.returncode == 0, tuned.stderr[-2000:]
    exported = run_kzoo("export", "onnx", tmp_path / "ft", "-o", tmp_path / "ft.onnx", env=env)
    assert exported.returncode == 0 and (tmp_path / "ft.onnx").is_file(), exported.stderr[-2000:]
