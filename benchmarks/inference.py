"""Benchmark: ResNet-50 inference throughput on this CPU, Keras (TensorFlow, JAX, torch) against onnxruntime.

The model is exported once with ``kzoo export onnx`` (random weights). In a process
per Keras backend, the Keras model and an onnxruntime session on the exported file
are timed in turn (A, B, A, B, ...) at batch 1 and batch 32, and the ratio of their
images per second is reported. Run: python benchmarks/inference.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TIMER = r"""
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import numpy as np, keras, onnxruntime, kzoo
from kzoo.saved import load_saved
folder, rounds = sys.argv[1], int(sys.argv[2])
model = load_saved(f"{folder}/resnet50.keras")
session = onnxruntime.InferenceSession(f"{folder}/resnet50.onnx", providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
predict = model.predict_on_batch
out = {}
for batch in (1, 32):
    x = np.random.default_rng(0).standard_normal((batch, 224, 224, 3)).astype("float32")
    predict(x); session.run(None, {name: x})  # warm-up (compilation, allocation)
    keras_s, onnx_s = [], []
    for _ in range(rounds):  # in turn: A, B, A, B
        t = time.perf_counter(); predict(x); keras_s.append(time.perf_counter() - t)
        t = time.perf_counter(); session.run(None, {name: x}); onnx_s.append(time.perf_counter() - t)
    k, o = sorted(keras_s)[len(keras_s) // 2], sorted(onnx_s)[len(onnx_s) // 2]
    out[f"batch{batch}"] = {"keras_images_per_s": round(batch / k, 1), "onnxruntime_images_per_s": round(batch / o, 1),
                            "onnxruntime_over_keras": round(k / o, 2)}
print(json.dumps({"backend": keras.backend.backend(), **out}))
"""


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "kzoo.cli", "build", "resnet50", "-o", f"{tmp}/resnet50.keras"],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        subprocess.run(
            [sys.executable, "-m", "kzoo.cli", "export", "onnx", f"{tmp}/resnet50.keras", "-o", f"{tmp}/resnet50.onnx",
             "--dynamic-batch"],
            check=True, capture_output=True, env=env,
        )  # fmt: skip
        rows = []
        for backend in ("tensorflow", "jax", "torch"):
            start = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", TIMER, tmp, str(args.rounds)],
                capture_output=True, text=True, env={**env, "KERAS_BACKEND": backend},
            )  # fmt: skip
            if done.returncode != 0:
                raise SystemExit(done.stderr[-3000:])
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append({**row, "seconds": round(time.perf_counter() - start)})
    result = {"name": "inference_resnet50", "machine": os.cpu_count(), "rounds": args.rounds, "rows": rows}
    print(json.dumps(result, indent=2))
    path = Path(__file__).with_name("results.json")
    results = json.loads(path.read_text()) if path.exists() else {}
    results["inference_resnet50"] = result
    path.write_text(json.dumps(results, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main()
