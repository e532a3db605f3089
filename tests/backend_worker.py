"""Run by tests/test_backends.py: under KERAS_BACKEND=tensorflow it writes the reference (each model's random
weights, inputs and outputs); under jax or torch (a process of its own, without TensorFlow) it compares.

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


def prepare(folder: Path) -> None:
    """Under TensorFlow: each case's model with seeded random weights, its weights, inputs and outputs (and input
    gradient, and .keras file), the reference the other backends are compared with."""
    import gc

    import tensorflow as tf

    sys.path.insert(0, str(Path(__file__).parent))
    from helpers import randomize

    for case in json.loads((folder / "cases.json").read_text()):
        stem = case["stem"]
        params = {k: tuple(v) if k == "input_shape" else v for k, v in case["params"].items()}
        model = kzoo.load(case["name"], **params)
        randomize(model, seed=len(case["name"]))
        model.save_weights(folder / f"{stem}.weights.h5")
        x = np.random.default_rng(1).standard_normal((2, *model.input_shape[1:])).astype("float32")
        np.save(folder / f"{stem}.x.npy", x)
        xt = tf.constant(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = model(xt, training=False)
            outs = out if isinstance(out, (list, tuple)) else [out]
            probe = np.random.default_rng(2).standard_normal(outs[0].shape).astype("float32")
            total = tf.reduce_sum(outs[0] * probe)  # not the plain sum: a softmax's sums to 1, its gradient to ~0
        arrays = {f"out{i}": o.numpy() for i, o in enumerate(outs)}
        if case["gradient"]:
            arrays["grad"] = tape.gradient(total, xt).numpy()
            np.save(folder / f"{stem}.probe.npy", probe)
        if case["saved"]:
            model.save(folder / f"{stem}.keras")
        np.savez(folder / f"{stem}.tensorflow.npz", **arrays)
        del model, tape
        keras.backend.clear_session()
        gc.collect()
        print(f"tensorflow {stem}", flush=True)


def main(folder: Path) -> None:
    backend = keras.backend.backend()
    if backend == "tensorflow":
        prepare(folder)
        return
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
        del model
        keras.backend.clear_session()
        print(f"{backend} {stem}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
