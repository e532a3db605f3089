"""Init diagnostics: how activations and gradients spread through a freshly initialised network.

Glorot & Bengio (2010) and He et al. (2015) chose their initialisations so that
the variance of the activations (forward) and of the back-propagated gradients
(backward) stays about constant from layer to layer. :func:`layer_stats` measures
both on a batch of inputs: for every layer with weights, the standard deviation
(and mean, and fraction of zeros) of its output, and the standard deviation of
the gradient of the loss (cross-entropy against random labels) with respect to
that output. :class:`LayerStats` logs the same to TensorBoard during training.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass
class LayerStat:
    layer: str
    kind: str
    shape: tuple[int, ...]
    act_std: float
    act_mean: float
    zeros: float  # fraction of exactly-zero outputs (dead ReLUs)
    grad_std: float | None  # None where no gradient reaches the output (e.g. a softmax the loss bypasses)

    def row(self) -> dict[str, Any]:
        return asdict(self)


def probed_layers(model: Any) -> list[Any]:
    """The layers whose outputs are measured: those with a kernel (conv, dense and kzoo's own)."""
    return [
        layer
        for layer in model.layers
        if any(w.path.endswith(("kernel", "weights", "centers")) for w in layer.weights)
        and not isinstance(layer.output, (list, tuple))
    ]


def probe_model(model: Any) -> tuple[list[Any], Any]:
    """The probed layers and a model returning their outputs, then the (first) output."""
    import keras

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
    import keras
    import tensorflow as tf

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
                float(np.mean(a == 0)),
                None if g is None else float(g.std() * len(x)),  # per example: the loss averages over the batch
            )
        )
    return stats


def require_tensorflow(what: str) -> None:
    """Gradients here come from TensorFlow's GradientTape: say so clearly under another backend."""
    import keras

    from kzoo.errors import KzooError

    if keras.backend.backend() != "tensorflow":
        raise KzooError(f"{what} need the TensorFlow backend (KERAS_BACKEND=tensorflow), not {keras.backend.backend()}")


def _is_logits(model: Any) -> bool:
    """True when the output layer has no softmax (a 'linear' classifier activation)."""
    last = model.outputs[0]._keras_history.operation
    activation = getattr(last, "activation", None)
    name = getattr(activation, "__name__", str(activation))
    return "softmax" not in name and type(last).__name__ != "Softmax"


def random_inputs(shape: tuple[int, ...], batch: int = 64, seed: int = 0) -> np.ndarray:
    """Normalised random inputs: zero mean, unit variance per value."""
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype("float32")


def stats_table(stats: list[LayerStat]) -> str:
    lines = [f"{'layer':<28} {'type':<18} {'output':<16} {'act std':>9} {'act mean':>9} {'zeros':>6} {'grad std':>10}"]
    for s in stats:
        shape = "x".join(map(str, s.shape))
        lines.append(
            f"{s.layer:<28} {s.kind:<18} {shape:<16} {s.act_std:>9.4f} {s.act_mean:>9.4f} "
            f"{s.zeros:>6.2f} {'-' if s.grad_std is None else format(s.grad_std, '.3e'):>10}"
        )
    return "\n".join(lines)


def plot_stats(stats: list[LayerStat], out: str, title: str = "") -> str:
    """Activation and gradient standard deviations per layer (log scale), as the lectures plot them."""
    from kzoo.inspect.pictures import pyplot, save  # noqa: I001

    plt = pyplot()
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 0.35 * len(stats) + 2), 6), sharex=True)
    xs = np.arange(len(stats))
    top.semilogy(xs, [max(s.act_std, 1e-12) for s in stats], "o-")
    top.set_ylabel("activation std (forward)")
    grads = [np.nan if s.grad_std is None else max(s.grad_std, 1e-30) for s in stats]
    bottom.semilogy(xs, grads, "s-", color="C1")
    bottom.set_ylabel("gradient std (backward)")
    bottom.set_xticks(xs, [s.layer for s in stats], rotation=60, ha="right", fontsize=8)
    for ax in (top, bottom):
        ax.grid(alpha=0.3, which="both")
    top.set_title(title)
    fig.tight_layout()
    return save(fig, out)


def layer_stats_callback(x: Any, log_dir: str, every: int = 100) -> Any:
    """A Keras callback that logs :func:`layer_stats` on ``x`` to TensorBoard every ``every`` training steps."""
    import keras
    import tensorflow as tf

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


def init_report(
    target: str,
    init: str | None = None,
    activation: str | None = None,
    params: dict[str, Any] | None = None,
    batch: int = 64,
    data: str = "random",
    seed: int = 0,
) -> tuple[Any, list[LayerStat]]:
    """Build ``target`` freshly initialised (``init``/``activation`` override its params) and measure it.

    ``data``: ``random`` (standard normal inputs) or a data source of kzoo
    train (``digits``, ``folder:PATH`` ...), normalised per channel.
    """
    import keras

    from kzoo.build import build_graph
    from kzoo.errors import SpecError
    from kzoo.graph import analyse
    from kzoo.spec.resolve import load_with_extends
    from kzoo.zoo import resolve_source

    path = resolve_source(target)
    declared = dict(load_with_extends(path).get("params") or {})
    overrides = dict(params or {})
    for key, value in (("init", init), ("activation", activation)):
        if value is None:
            continue
        if key not in declared:
            raise SpecError(
                f"{path.stem} has no {key!r} param to override",
                hint=f"its params: {', '.join(sorted(declared)) or 'none'}; add {key}: to params and use ${key}",
            )
        overrides[key] = value
    graph = analyse(path, overrides, "--param")
    keras.utils.set_random_seed(seed)
    model = build_graph(graph)
    if data == "random":
        x = random_inputs(graph.input_shape, batch, seed)
    else:
        from kzoo.train.data import load_data
        from kzoo.train.recipe import DataSpec

        splits = load_data(DataSpec(source=data), graph.input_shape)
        x = np.concatenate([b.numpy() for b, _ in splits.train.batch(batch).take(1)])
        x = (x - x.mean(axis=(0, 1, 2))) / (x.std(axis=(0, 1, 2)) + 1e-8)
    return model, layer_stats(model, x, seed=seed)
