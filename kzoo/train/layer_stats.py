"""Layer statistics: how activations and gradients spread through a network, during training or at init.

Glorot & Bengio (2010) and He et al. (2015) chose their initialisations so that
the variance of the activations (forward) and of the back-propagated gradients
(backward) stays about constant from layer to layer. :func:`layer_stats` measures
both on a batch of inputs: for every layer with weights and every pooling layer, the standard deviation
(and mean, and fraction of zeros) of its output, and the standard deviation of
the gradient of the loss (cross-entropy against random labels) with respect to
that output. :func:`layer_stats_callback` logs the same to TensorBoard during
training (``callbacks.layer_stats: N``); ``kzoo inspect init`` prints and plots it.
Gradients come from TensorFlow's GradientTape (a clear error under another backend).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from kzoo.errors import KzooError
from kzoo.keras.scores import is_logits


@dataclass
class LayerStat:
    layer: str
    kind: str
    shape: tuple[int, ...]
    act_std: float
    act_mean: float
    act_rms: float  # sqrt(E[a^2]): the second moment He et al.'s derivation carries from layer to layer
    zeros: float  # fraction of exactly-zero outputs (dead ReLUs)
    grad_std: float | None  # None where no gradient reaches the output (e.g. a softmax the loss bypasses)

    def row(self) -> dict[str, Any]:
        return asdict(self)


def probed_layers(model: Any) -> list[Any]:
    """The layers whose outputs are measured: those with a kernel (conv, dense and kzoo's own) and the pooling
    layers, which change the scale too (a max pool raises it; the initialisations' derivations leave pools out)."""
    return [
        layer
        for layer in model.layers
        if (any(w.path.endswith(("kernel", "weights", "centers")) for w in layer.weights) or _is_pooling(layer))
        and not isinstance(layer.output, (list, tuple))
    ]


def _is_pooling(layer: Any) -> bool:
    return "Pooling" in type(layer).__name__


def probe_model(model: Any) -> tuple[list[Any], Any]:
    """The probed layers and a model returning their outputs, then the (first) output."""
    layers = probed_layers(model)
    return layers, keras.Model(model.input, [layer.output for layer in layers] + [model.outputs[0]])


def layer_stats(
    model: Any, x: Any, labels: Any = None, seed: int = 0, probe: tuple[list[Any], Any] | None = None
) -> list[LayerStat]:
    """Forward and backward statistics of every probed layer on the batch ``x`` (TensorFlow backend).

    ``labels`` default to random classes (at initialisation the labels carry no
    information; what matters is how the error signal spreads back). ``probe``:
    :func:`probe_model`'s result, for a caller that measures the same model often.
    """
    require_tensorflow("layer statistics")
    layers, probe = probe or probe_model(model)
    classes = int(model.outputs[0].shape[-1])
    if labels is None:
        labels = np.random.default_rng(seed).integers(0, classes, len(x))
    x = tf.convert_to_tensor(x)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=_is_logits(model))
    with tf.GradientTape() as tape:
        values = probe(x, training=False)
        acts, out = values[:-1], values[-1]
        loss = loss_fn(labels, out)
    grads = tape.gradient(loss, acts)
    stats = []
    for layer, a, g in zip(layers, acts, grads, strict=True):
        a = np.asarray(a, dtype="float64")
        g = None if g is None else np.asarray(g, dtype="float64")
        stats.append(
            LayerStat(
                layer.name,
                type(layer).__name__,
                tuple(int(d) for d in a.shape[1:]),
                float(a.std()),
                float(a.mean()),
                float(np.sqrt(np.mean(a**2))),
                float(np.mean(a == 0)),
                None if g is None else float(g.std() * len(x)),  # per example: the loss averages over the batch
            )
        )
    return stats


def require_tensorflow(what: str) -> None:
    """Gradients here come from TensorFlow's GradientTape: say so clearly under another backend."""
    if keras.backend.backend() != "tensorflow":
        raise KzooError(f"{what} need the TensorFlow backend (KERAS_BACKEND=tensorflow), not {keras.backend.backend()}")


def _is_logits(model: Any) -> bool:
    """True when the output holds logits (kzoo.score_kind); a diagnostic reads scores of any other kind as logits."""
    try:
        return is_logits(model)
    except KzooError:
        return True


def layer_stats_callback(x: Any, log_dir: str, every: int = 100) -> Any:
    """A Keras callback that logs :func:`layer_stats` on ``x`` to TensorBoard every ``every`` training steps."""

    class LayerStats(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.writer = tf.summary.create_file_writer(log_dir)
            self.step = 0
            self.probe = None  # built once, at the first measurement (the model is set by then)

        def on_train_batch_end(self, batch, logs=None):
            if self.step % every == 0:
                self.probe = self.probe or probe_model(self.model)
                with self.writer.as_default(step=self.step):
                    for s in layer_stats(self.model, x, probe=self.probe):
                        tf.summary.scalar(f"activation_std/{s.layer}", s.act_std)
                        if s.grad_std is not None:
                            tf.summary.scalar(f"gradient_std/{s.layer}", s.grad_std)
                        tf.summary.scalar(f"zeros/{s.layer}", s.zeros)
                self.writer.flush()
            self.step += 1

    return LayerStats()
