"""Run by tests/test_backends.py under KERAS_BACKEND=jax or torch (a process of its own, without TensorFlow).

``python backend_worker.py DIR``: for each case of DIR/cases.json, build the zoo model with the case's params,
load the weights TensorFlow saved, and write to DIR/BACKEND/NAME.npz its outputs on the saved inputs; where
asked, the gradient of its output weighted by a saved random probe with respect to the input, and the outputs
of the ``.keras`` file saved on TensorFlow, loaded here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import keras
import numpy as np

import kzoo


def outputs(model, x):
    out = model(x, training=False)
    out = out if isinstance(out, (list, tuple)) else [out]
    return [keras.ops.convert_to_numpy(keras.ops.stop_gradient(o)) for o in out]


def input_gradient(model, x, probe):
    """d sum(main output * probe) / d input, with the backend's own autodiff."""
    backend = keras.backend.backend()

    def total(inputs):
        out = model(inputs, training=False)
        out = out[0] if isinstance(out, (list, tuple)) else out
        return keras.ops.sum(out * keras.ops.convert_to_tensor(probe))

    if backend == "jax":
        import jax

        return np.asarray(jax.grad(total)(x))
    if backend == "torch":
        import torch

        xt = torch.tensor(x, requires_grad=True)
        total(xt).backward()
        return xt.grad.detach().numpy()
    raise SystemExit(f"no gradient for backend {backend}")


def main(folder: Path) -> None:
    backend = keras.backend.backend()
    out_dir = folder / backend
    out_dir.mkdir(exist_ok=True)
    for case in json.loads((folder / "cases.json").read_text()):
        stem = case["stem"]
        x = np.load(folder / f"{stem}.x.npy")
        params = {k: tuple(v) if k == "input_shape" else v for k, v in case["params"].items()}
        model = kzoo.load(case["name"], **params)
        model.load_weights(folder / f"{stem}.weights.h5")
        arrays = {f"out{i}": o for i, o in enumerate(outputs(model, x))}
        if case.get("gradient"):
            arrays["grad"] = input_gradient(model, x, np.load(folder / f"{stem}.probe.npy"))
        if case.get("saved"):
            again = keras.saving.load_model(folder / f"{stem}.keras")
            arrays.update({f"saved{i}": o for i, o in enumerate(outputs(again, x))})
        np.savez(out_dir / f"{stem}.npz", **arrays)
        print(f"{backend} {stem}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
