"""Models out to the runtimes they are deployed with: ONNX (onnxruntime, OpenCV) and LiteRT (TensorFlow Lite).

Both go through Keras' own ``model.export``. LiteRT needs the TensorFlow backend. ONNX
needs torch's exporter, because Keras' ONNX path on TensorFlow needs tf2onnx, which the
package registries here do not hold for TensorFlow 2.21. A model is therefore exported
by ``python -m kzoo.deploy`` in a process of its own under ``KERAS_BACKEND=torch``;
a ``.keras`` file is the same model on every backend (tests/test_backends.py).

The model is what ``kzoo predict`` runs: a ``.keras`` file or run directory (its
normalisation is inside it), ``NAME:RELEASE`` (the release's input transform put in
front), or an architecture with ``--weights``. The ONNX file carries the class names and
the input preparation in its metadata (``kzoo``, JSON), so a deployment needs nothing
else. Each export is checked before it is kept: the runtime (onnxruntime, LiteRT's
interpreter) runs it on a random batch, and its outputs must equal Keras' within 1e-4 of
the largest. Otherwise nothing is written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import KzooError, SpecError, clip
from kzoo.files import output_file

TOLERANCE = 1e-4  # relative to the largest output
NEEDS = {
    "onnx": (("torch", "torch"), ("onnx", "onnx"), ("onnxscript", "onnxscript"), ("onnxruntime", "onnxruntime")),
    "litert": (("ai_edge_litert", "ai-edge-litert"),),
}


def check_installed(fmt: str) -> None:
    """One line naming what a format's export needs and is not installed."""
    missing = [pip for module, pip in NEEDS[fmt] if importlib.util.find_spec(module) is None]
    if missing:
        raise KzooError(
            f"exporting to {fmt} needs {', '.join(missing)}, which is not installed",
            f"pip install 'kzoo[{fmt}]'",
        )


def open_model(model: str, weights: str | None = None, params: dict[str, Any] | None = None) -> Any:
    """The model to export: a saved model, ``NAME:RELEASE`` (with its input transform), or an architecture
    with ``weights``."""
    from kzoo.prediction import open_model as open_for_prediction

    target = Path(model)
    if target.is_dir() or target.suffix == ".keras" or (":" in model and not target.exists()):
        if params or weights:
            raise SpecError("--param and --weights are for an architecture, not a saved model or NAME:RELEASE")
        return open_for_prediction(model)
    from kzoo.zoo import load

    if not weights:
        print(f"kzoo: warning: {model} is exported with freshly initialised weights (no --weights)", file=sys.stderr)
    return load(model, weights=weights, **(params or {}))


def export(
    fmt: str,
    model: str,
    output: str | Path,
    weights: str | None = None,
    params: dict[str, Any] | None = None,
    dynamic_batch: bool = False,
) -> dict[str, Any]:
    """Export ``model`` to ``output`` (``fmt``: onnx or litert), checked in the runtime; what was written."""
    out = output_file(output, ({"onnx": ".onnx", "litert": ".tflite"}[fmt],), "-o")
    check_installed(fmt)
    if fmt == "litert":
        if dynamic_batch:
            raise SpecError("--dynamic-batch is for ONNX; a LiteRT model is resized by its interpreter")
        return export_litert(open_model(model, weights, params), out)
    request = {"model": model, "output": str(out), "weights": weights, "params": params or {}}
    request["dynamic"] = dynamic_batch
    env = {**os.environ, "KERAS_BACKEND": "torch"}
    done = subprocess.run(
        [sys.executable, "-m", "kzoo.deploy", json.dumps(request)], env=env, capture_output=True, text=True
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = clip(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}")
        raise KzooError(f"the ONNX export failed: {tail}", "rerun with --verbose, and please report it")
    doc = json.loads(lines[-1])
    if "error" in doc:
        raise KzooError(doc["error"], doc.get("hint"))
    for line in done.stderr.splitlines():
        if line.startswith("kzoo:"):
            print(line, file=sys.stderr)
    return doc


def _meta_of(model: Any) -> dict[str, Any]:
    from kzoo.saved import image_shape, meta

    info = {k: v for k, v in meta(model).items() if k in ("architecture", "class_names", "input", "trained_on")}
    info["input_shape"] = list(image_shape(model, "the model"))
    return info


def _difference(expected: list[np.ndarray], got: list[np.ndarray]) -> float:
    worst = 0.0
    for a, b in zip(expected, got, strict=True):
        worst = max(worst, float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(a))), 1e-12)))
    return worst


def _keras_outputs(model: Any, x: np.ndarray) -> list[np.ndarray]:
    import keras

    out = model(x, training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [np.asarray(keras.ops.convert_to_numpy(keras.ops.stop_gradient(o))) for o in out]


def _check(difference: float, fmt: str) -> None:
    if not difference <= TOLERANCE:
        raise KzooError(
            f"the {fmt} model computes other outputs than the Keras model (difference {difference:.2e}, "
            f"allowed {TOLERANCE:.0e}); nothing was written",
            "please report it, with the model",
        )


def export_litert(model: Any, out: Path) -> dict[str, Any]:
    """A LiteRT flatbuffer of ``model`` (TensorFlow backend), checked with LiteRT's interpreter."""
    import keras

    from kzoo.files import atomic_path

    if keras.backend.backend() != "tensorflow":
        raise KzooError(
            f"LiteRT export needs the TensorFlow backend, not {keras.backend.backend()}",
            "run it with KERAS_BACKEND=tensorflow",
        )
    from ai_edge_litert.interpreter import Interpreter

    info = _meta_of(model)
    x = np.random.default_rng(0).standard_normal((1, *info["input_shape"])).astype("float32")
    expected = _keras_outputs(model, x)
    with atomic_path(out) as tmp:
        model.export(str(tmp), format="litert", verbose=False)
        runner = Interpreter(model_path=str(tmp))
        runner.allocate_tensors()
        runner.set_tensor(runner.get_input_details()[0]["index"], x)
        runner.invoke()
        by_name = sorted(runner.get_output_details(), key=lambda d: d["index"])
        got = [runner.get_tensor(d["index"]) for d in by_name]
        got = _match_outputs(expected, got)
        difference = _difference(expected, got)
        _check(difference, "LiteRT")
    return {"format": "litert", "wrote": str(out), "max_difference": difference, "input_shape": info["input_shape"]}


def _match_outputs(expected: list[np.ndarray], got: list[np.ndarray]) -> list[np.ndarray]:
    """The runtime's outputs in the Keras model's order (matched by shape, then by closeness)."""
    if len(got) == 1:
        return got
    left, ordered = list(range(len(got))), []
    for e in expected:
        same = [i for i in left if got[i].shape == e.shape] or left
        best = min(same, key=lambda i: float(np.max(np.abs(got[i] - e))) if got[i].shape == e.shape else np.inf)
        left.remove(best)
        ordered.append(got[best])
    return ordered


def _export_onnx_here(request: dict[str, Any]) -> dict[str, Any]:
    """In the worker process (torch backend): export, add the metadata, run it in onnxruntime, keep it."""
    import onnx
    import onnxruntime

    from kzoo.files import atomic_path

    out = Path(request["output"])
    model = open_model(request["model"], request["weights"], request["params"])
    info = _meta_of(model)
    batch = 2 if request["dynamic"] else 1
    x = np.random.default_rng(0).standard_normal((batch, *info["input_shape"])).astype("float32")
    expected = _keras_outputs(model, x)
    with atomic_path(out) as tmp:
        model.export(str(tmp), format="onnx", verbose=False)
        proto = onnx.load(str(tmp))
        onnx.helper.set_model_props(proto, {"kzoo": json.dumps(info)})
        if not request["dynamic"]:
            for value in list(proto.graph.input) + list(proto.graph.output):
                dim = value.type.tensor_type.shape.dim
                if len(dim) and not dim[0].HasField("dim_value"):
                    dim[0].dim_value = 1  # a fixed batch of one, as most runtimes prefer
        onnx.save(proto, str(tmp))
        session = onnxruntime.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
        got = session.run(None, {session.get_inputs()[0].name: x})
        difference = _difference(expected, _match_outputs(expected, list(got)))
        _check(difference, "ONNX")
    return {
        "format": "onnx",
        "wrote": str(out),
        "max_difference": difference,
        "input_shape": info["input_shape"],
        "dynamic_batch": bool(request["dynamic"]),
        "metadata": sorted(info),
    }


def _worker(argv: list[str]) -> int:
    import warnings

    warnings.filterwarnings("ignore")  # torch's tracer warnings are about Keras' code, not the user's model
    try:
        doc = _export_onnx_here(json.loads(argv[0]))
    except KzooError as exc:
        first, _, _ = exc.format().partition("\n  hint: ")
        print(json.dumps({"error": first.removeprefix("error: "), "hint": exc.hint}))
        return 2
    except Exception as exc:  # the exporter's own failure: one line, named
        first = str(exc).strip().splitlines()
        reason = f"{type(exc).__name__}: {clip(first[0] if first else '')}"
        print(json.dumps({"error": f"ONNX cannot express this model ({reason})"}))
        return 2
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1:]))
