"""Input pipelines: the training stream over all epochs, validation and test batches, normalisation.

The training set is one stream over all epochs (``Dataset.range(epochs).flat_map``),
each epoch shuffled and augmented with seeds derived from (seed, epoch): a run
resumed at epoch k sees exactly the batches an uninterrupted run saw from
epoch k on. A last partial batch is kept on one replica (a small folder of
photos loses nothing) and dropped when several replicas share a batch; a
remainder of one image is dropped when the model has batch normalisation
(a batch of one has no variance to normalise by).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import keras
import numpy as np
import tensorflow as tf

from kzoo.tasks import task_of
from kzoo.train.augment import apply, make_augmenter

if TYPE_CHECKING:
    from kzoo.train.data import Splits
    from kzoo.train.recipe import Recipe


def channel_stats(dataset: Any, channels: int) -> tuple[list[float], list[float]]:
    """Per-channel mean and variance of a dataset of (image, label)."""
    total, total_sq, count = np.zeros(channels), np.zeros(channels), 0
    for images, _ in dataset.batch(256):
        x = images.numpy().reshape(-1, channels).astype("float64")
        total += x.sum(0)
        total_sq += (x**2).sum(0)
        count += len(x)
    mean = total / max(count, 1)
    var = np.maximum(total_sq / max(count, 1) - mean**2, 1e-12)
    return mean.tolist(), var.tolist()


def sample(dataset: Any, n: int = 2000) -> np.ndarray:
    """Up to ``n`` images of a dataset, as one array (the colour-PCA sample)."""
    return np.concatenate([x.numpy() for x, _ in dataset.take(n).batch(500)])


def normalization(recipe: Recipe, splits: Splits, channels: int) -> Any:
    """The recipe's input layer: a fixed scaling (``preprocess.scale``), else per-channel normalisation from the
    training split, else None."""

    if recipe.preprocess.scale is not None:  # x' = low + (high - low) x, as a Normalization of mean and variance
        low, high = recipe.preprocess.scale
        mean, var = -low / (high - low), 1.0 / (high - low) ** 2
        mean, var = [mean] * channels, [var] * channels
        return keras.layers.Normalization(axis=-1, mean=mean, variance=var, name="normalization")
    if not recipe.preprocess.normalize:
        return None
    mean, var = channel_stats(splits.train, channels)
    return keras.layers.Normalization(axis=-1, mean=mean, variance=var, name="normalization")


@contextlib.contextmanager
def _tensor_seeds_allowed(seed: int) -> Iterator[None]:
    """Trace the per-epoch datasets with no global TensorFlow seed, then set it again.

    ``Dataset.shuffle(seed=tensor)`` (the epoch's seed, inside ``flat_map``) fails in TensorFlow 2.21 when
    the global seed is 0: ``random_seed.get_seed`` compares the pair (global, op seed) with (0, 0), which
    turns the symbolic op seed into a Python bool. Without a global seed the pair starts with TensorFlow's
    fixed default graph seed, so the shuffles stay a function of (recipe seed, epoch) alone.
    """

    tf.random.set_seed(None)
    try:
        yield
    finally:
        tf.random.set_seed(seed)


def class_weights(recipe: Recipe, splits: Splits) -> np.ndarray | None:
    """The loss's weight of each class: the recipe's list, or ``balanced``: median frequency over frequency
    (Eigen & Fergus 2015), counted over the training targets (labels, or the labelled pixels of masks); a class
    absent from training weighs 0. None: every class weighs 1."""
    given = recipe.class_weights
    if given is None:
        return None
    if given != "balanced":
        return np.asarray(given, "float32")
    counts = np.zeros(splits.classes)
    for _, targets in splits.train.batch(512):
        values = np.asarray(targets).ravel()
        values = values[(values >= 0) & (values < splits.classes)]  # 255: ignored pixels
        counts += np.bincount(values, minlength=splits.classes)
    freq = counts / max(counts.sum(), 1)
    present = freq > 0
    return np.where(present, np.median(freq[present]) / np.where(present, freq, 1), 0.0).astype("float32")


def weighted(dataset: Any, weights: np.ndarray) -> Any:
    """(x, y) batches as (x, y, w): w the weight of each target's class (0 for a target outside 0..K-1: 255)."""
    table = tf.constant(weights, tf.float32)

    def weigh(x, y):
        labels = tf.cast(y, tf.int32)
        inside = (labels >= 0) & (labels < len(weights))
        w = tf.gather(table, tf.clip_by_value(labels, 0, len(weights) - 1))
        return x, y, tf.where(inside, w, 0.0)

    return dataset.map(weigh)


def keep_partial(recipe: Recipe, replicas: int) -> bool:
    """Whether the last partial batch of an epoch is trained on (the recipe's choice, else: on one replica)."""
    choice = recipe.data.partial_batches
    return replicas == 1 if choice is None else bool(choice)


def epoch_batches(train_size: int, batch_size: int, partial: bool, has_batchnorm: bool) -> tuple[int, bool]:
    """(batches per epoch, whether the last one is partial)."""
    whole, rest = divmod(train_size, batch_size)
    use_rest = partial and rest > 0 and not (rest == 1 and has_batchnorm)
    return whole + int(use_rest), use_rest


def pipelines(
    model: Any,
    recipe: Recipe,
    splits: Splits,
    input_shape: tuple[int, ...],
    first_epoch: int,
    steps: int,
    partial: bool,
) -> tuple[Any, Any, Any]:
    """Batched train (``steps`` batches an epoch, from ``first_epoch`` on), validation and test datasets."""

    names = list(model.output_names)

    def fan(x, y):  # one label per output (auxiliary heads train on the same labels)
        return (x, {n: y for n in names}) if len(names) > 1 else (x, y)

    base = splits.train.cache() if recipe.data.cache else splits.train
    pca_sample = sample(splits.train) if recipe.augment.color_pca else None
    augment = make_augmenter(recipe.augment, input_shape, pca_sample, recipe.seed, task_of(splits).follow)

    def epoch(e: Any) -> Any:
        seed = tf.cast(e, tf.int64) + recipe.seed * 1_000_003
        d = base.shuffle(recipe.data.shuffle_buffer, seed=seed, reshuffle_each_iteration=False)
        if augment is not None:
            d = apply(d, augment, seed, recipe.batch_size, drop_remainder=not partial)
        else:
            d = d.batch(recipe.batch_size, drop_remainder=not partial)
        return d.take(steps)

    with _tensor_seeds_allowed(recipe.seed):
        train = tf.data.Dataset.range(first_epoch, recipe.epochs).flat_map(epoch)
    train = train.map(fan)
    weights = class_weights(recipe, splits)
    if weights is not None:  # one output (kzoo train checks): the weights go with its targets
        train = weighted(train, weights)
    train = train.prefetch(tf.data.AUTOTUNE)
    val = splits.val.batch(recipe.batch_size).map(fan).cache().prefetch(tf.data.AUTOTUNE)
    test = splits.test.batch(recipe.batch_size).map(fan).prefetch(tf.data.AUTOTUNE)
    return train, val, test


def metric(model: Any, name: str) -> str:
    """The log key of a main-output metric (``val_accuracy`` -> ``val_predictions_accuracy`` with heads)."""
    names = list(model.output_names)
    if len(names) == 1 or name in ("loss", "val_loss"):
        return name
    prefix = "val_" if name.startswith("val_") else ""
    return f"{prefix}{names[0]}_{name[len(prefix) :]}"
