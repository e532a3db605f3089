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

import sys
from typing import Any

import keras
import numpy as np

from kzoo.builder import build_graph
from kzoo.errors import SpecError
from kzoo.graph import analyse
from kzoo.graph.budget import batch_within
from kzoo.inspect.pictures import pyplot, save
from kzoo.lang.resolve import load_with_extends
from kzoo.train.data import load_data
from kzoo.train.layer_stats import LayerStat, layer_stats, layer_stats_callback, probe_model, require_tensorflow
from kzoo.train.recipe import DataSection
from kzoo.zoo import resolve_source

__all__ = [
    "LayerStat",
    "init_report",
    "layer_stats",
    "layer_stats_callback",
    "plot_stats",
    "probe_model",
    "random_inputs",
    "require_tensorflow",
    "stats_table",
]


def random_inputs(shape: tuple[int, ...], batch: int = 64, seed: int = 0) -> np.ndarray:
    """Normalised random inputs: zero mean, unit variance per value."""
    return np.random.default_rng(seed).standard_normal((batch, *shape)).astype("float32")


def stats_table(stats: list[LayerStat]) -> str:
    lines = [
        f"{'layer':<28} {'type':<18} {'output':<16} {'act std':>9} {'act mean':>9} {'act rms':>9} {'zeros':>6} "
        f"{'grad std':>10}"
    ]
    for s in stats:
        shape = "x".join(map(str, s.shape))
        lines.append(
            f"{s.layer:<28} {s.kind:<18} {shape:<16} {number(s.act_std)} {number(s.act_mean)} {number(s.act_rms)} "
            f"{s.zeros:>6.2f} {'-' if s.grad_std is None else format(s.grad_std, '.3e'):>10}"
        )
    return "\n".join(lines)


def number(x: float, width: int = 9) -> str:
    """A statistic in ``width`` characters: fixed point, or scientific where fixed would show 0.0000 for a small
    nonzero value (the vanishing activations the table exists to show) or overflow for a large one."""
    if x == 0 or 1e-3 <= abs(x) < 1e4:
        return f"{x:>{width}.4f}"
    return f"{x:>{width}.2e}"


def plot_stats(stats: list[LayerStat], out: str, title: str = "") -> str:
    """Activation and gradient standard deviations per layer (log scale), as the lectures plot them."""

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


DEFAULT_BATCH = 64


def init_report(
    target: str,
    init: str | None = None,
    activation: str | None = None,
    params: dict[str, Any] | None = None,
    batch: int | None = None,
    data: str = "random",
    seed: int = 0,
) -> tuple[Any, list[LayerStat]]:
    """Build ``target`` freshly initialised (``init``/``activation`` override its params) and measure it.

    ``data``: ``random`` (standard normal inputs) or a data source of kzoo
    train (``digits``, ``folder:PATH`` ...), normalised per channel. ``batch`` None: 64 images, or fewer where
    their activations and gradients would pass 2 GB (VGG-11 at 224x224: 19), said on stderr.
    """

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
    if batch is None:
        batch = batch_within(graph, DEFAULT_BATCH)
        if batch < DEFAULT_BATCH:
            print(
                f"kzoo: note: a batch of {batch} images (of {DEFAULT_BATCH}) keeps {graph.name}'s activations and "
                "gradients within 2 GB; --batch N chooses",
                file=sys.stderr,
            )
    keras.utils.set_random_seed(seed)
    model = build_graph(graph)
    if data == "random":
        x = random_inputs(graph.example_shape, batch, seed)
    else:
        splits = load_data(DataSection(source=data), graph.example_shape)
        x = np.concatenate([b.numpy() for b, _ in splits.train.batch(batch).take(1)])
        x = (x - x.mean(axis=(0, 1, 2))) / (x.std(axis=(0, 1, 2)) + 1e-8)
    return model, layer_stats(model, x, seed=seed)
