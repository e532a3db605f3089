"""kzoo export onnx / litert: every zoo model exported and run in the deployment runtime (onnxruntime, LiteRT's
interpreter, and OpenCV's ONNX importer where it takes the model), equal to Keras within 1e-5 of the largest
output; the CLI's checks and refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kzoo
from kzoo.cli import main

HERE = Path(__file__).parent
TOLERANCE = 1e-5
# OpenCV 4.14 reads these exports but computes them otherwise (onnxruntime agrees with Keras): Inception v3's
# 3x3 average pools with padding "same" do not count the padding (Keras' rule, ONNX's count_include_pad=0);
# OpenCV's importer counts it, about 30% off.
OPENCV_DIFFERS = {"inception_v3": "padded average pools: OpenCV counts the padding"}
BUILD = """
import gc, json, sys, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
import keras, kzoo
sys.path.insert(0, sys.argv[2])
from helpers import randomize
folder = Path(sys.argv[1])
for case in json.loads((folder / "cases.json").read_text()):
    params = {k: tuple(v) if k == "input_shape" else v for k, v in case["params"].items()}
    model = kzoo.load(case["name"], **params)
    randomize(model, seed=3)
    model.save(case["keras"])
    del model
    keras.backend.clear_session()
    gc.collect()
"""
LITERT = """
import gc, json, sys, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
import keras
from kzoo.saved import load_saved
from kzoo.deploy import export_litert
folder = Path(sys.argv[1])
for case in json.loads((folder / "cases.json").read_text()):
    out = folder / (case["name"] + ".tflite")
    doc = export_litert(load_saved(case["keras"]), out)
    out.unlink()
    print(json.dumps({"name": case["name"], **doc}), flush=True)
    keras.backend.clear_session()
    gc.collect()
"""
WORKER = """
import json, sys, warnings
warnings.filterwarnings("ignore")
from pathlib import Path
from kzoo.deploy import _export_onnx_here
folder = Path(sys.argv[1])
for case in json.loads((folder / "cases.json").read_text()):
    doc = _export_onnx_here({"model": case["keras"], "output": case["onnx"], "weights": None, "params": {},
                             "dynamic": False})
    print(json.dumps({"name": case["name"], **doc}), flush=True)
"""


def small_shape(name):
    from test_backends import small_params

    return small_params(name)


@pytest.fixture(scope="module")
def zoo_files(tmp_path_factory):
    """Every zoo model at a small input, with random weights, saved as .keras (what kzoo export reads); built in a
    process of its own, which then ends (the test's process would hold every model)."""
    folder = tmp_path_factory.mktemp("deploy")
    cases = []
    for name in kzoo.list_architectures():
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in small_shape(name).items()}
        files = {"keras": str(folder / f"{name}.keras"), "onnx": str(folder / f"{name}.onnx")}
        cases.append({"name": name, "params": params, **files})
    (folder / "cases.json").write_text(json.dumps(cases))
    done = subprocess.run(
        [sys.executable, "-c", BUILD, str(folder), str(HERE)], capture_output=True, text=True, timeout=1500
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return folder, cases


@pytest.mark.slow
def test_every_zoo_model_exports_to_onnx_equal_in_onnxruntime_and_where_it_can_in_opencv(zoo_files):
    import cv2

    folder, cases = zoo_files
    env = {**os.environ, "KERAS_BACKEND": "torch", "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(folder)], env=env, capture_output=True, text=True, timeout=1500
    )
    assert done.returncode == 0, done.stderr[-3000:]
    docs = {d["name"]: d for d in map(json.loads, done.stdout.strip().splitlines())}
    assert set(docs) == {c["name"] for c in cases}
    differences = {n: d["max_difference"] for n, d in docs.items()}
    print("onnxruntime:", json.dumps({n: f"{d:.1e}" for n, d in differences.items()}))
    assert all(d <= TOLERANCE for d in differences.values()), differences
    import onnxruntime

    opencv = {}
    for case in cases:
        shape = docs[case["name"]]["input_shape"]
        x = np.random.default_rng(5).standard_normal((1, *shape)).astype("float32")
        session = onnxruntime.InferenceSession(case["onnx"], providers=["CPUExecutionProvider"])
        references = session.run(None, {session.get_inputs()[0].name: x})
        try:
            net = cv2.dnn.readNetFromONNX(case["onnx"])
            net.setInput(x)
            outputs = net.forward(net.getUnconnectedOutLayersNames())
        except cv2.error:
            opencv[case["name"]] = None
            continue
        worst = 0.0
        for reference in references:  # OpenCV orders several outputs its own way: each matched by shape and value
            same = [o for o in outputs if o.shape == reference.shape]
            worst = max(worst, min(float(np.max(np.abs(o - reference)) / np.max(np.abs(reference))) for o in same))
        opencv[case["name"]] = worst
    print("OpenCV:", json.dumps({n: (f"{d:.1e}" if d is not None else "refused") for n, d in opencv.items()}))
    taken = {n: d for n, d in opencv.items() if d is not None and n not in OPENCV_DIFFERS}
    assert taken and all(d <= 1e-4 for d in taken.values()), taken


@pytest.mark.slow
def test_every_zoo_model_exports_to_litert_equal_in_its_interpreter(zoo_files, tmp_path):
    folder, cases = zoo_files
    done = subprocess.run(
        [sys.executable, "-c", LITERT, str(folder)],
        capture_output=True, text=True, timeout=1500, env={**os.environ, "KERAS_BACKEND": "tensorflow"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    docs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {d["name"] for d in docs} == {c["name"] for c in cases}
    worst = {d["name"]: d["max_difference"] for d in docs}
    print("LiteRT:", json.dumps({n: f"{d:.1e}" for n, d in worst.items()}))
    assert all(d <= TOLERANCE for d in worst.values()), worst


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small trained run of kzoo train (digits), with its class names and normalisation."""
    out = tmp_path_factory.mktemp("run") / "r"
    assert main(["train", "lenet5_modern", "--epochs", "1", "--output", str(out), "--set", "verbose=0"]) == 0
    return out


@pytest.mark.slow
def test_a_trained_run_exports_with_its_class_names_and_preparation(trained, tmp_path, capsys):
    import onnx
    import onnxruntime

    out = tmp_path / "digits.onnx"
    assert main(["export", "onnx", str(trained), "-o", str(out), "--dynamic-batch", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["max_difference"] <= TOLERANCE and doc["dynamic_batch"]
    meta = json.loads({p.key: p.value for p in onnx.load(out).metadata_props}["kzoo"])
    assert meta["class_names"] == [str(i) for i in range(10)] and meta["input"]["size"] == [32, 32]
    session = onnxruntime.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.run(None, {session.get_inputs()[0].name: np.zeros((5, 32, 32, 1), "float32")})[0].shape == (5, 10)
    assert main(["export", "litert", str(trained), "-o", str(tmp_path / "digits.tflite")]) == 0
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


@pytest.mark.parametrize(
    "argv,expect",
    [
        (["export", "onnx", "lenet5", "-o", "x.onx"], ".onnx"),
        (["export", "litert", "lenet5", "-o", "x.onnx"], ".tflite"),
        (["export", "onnx", "lenet5", "-o", "x.onnx", "--like", "a.prototxt"], "caffe"),
        (["export", "caffe", "lenet5", "-o", "x.caffemodel", "--dynamic-batch"], "onnx"),
        (["export", "litert", "lenet5", "-o", "x.tflite", "--dynamic-batch"], "ONNX"),
    ],
)
def test_export_refusals(argv, expect, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert expect in err and "Traceback" not in err and len(err.strip().splitlines()) <= 3
    assert not list(tmp_path.iterdir())


def test_a_missing_runtime_is_one_line(capsys, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "onnxscript" else real(name, *a))
    assert main(["export", "onnx", "lenet5", "-o", str(tmp_path / "x.onnx")]) == 2
    err = capsys.readouterr().err
    assert "onnxscript" in err and "kzoo[onnx]" in err and not list(tmp_path.iterdir())
