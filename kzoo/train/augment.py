"""On-the-fly augmentation of training batches in tf.data.

Crop (pad and crop back), flip, zoom, shift and rotation are one affine map
per image, drawn from a stateless random seed and applied in a single
resampling by TensorFlow's ``ImageProjectiveTransformV3`` (the op Keras'
RandomCrop/RandomFlip/RandomZoom/RandomTranslation/RandomRotation use one by
one, with the same ranges). Written here instead of stacking those layers
because the layers keep a random state of their own, which a resumed run
cannot restore, and each resamples the whole batch again (five passes instead
of one). Two more are written here because no library we depend on has them:

* AlexNet's colour PCA (Krizhevsky et al. 2012, Section 4.1): to every pixel
  add Σ_i α_i λ_i p_i, with p_i, λ_i the eigenvectors and eigenvalues of the
  training set's 3x3 RGB covariance and α_i ~ N(0, σ²) drawn once per image.
* Elastic distortion (Simard, Steinkraus & Platt 2003, Section 2): a random
  displacement field, uniform in [-1, 1], smoothed by a Gaussian of width σ
  and scaled by α, resamples the image bilinearly - in the same resampling as
  the affine map when both are asked for (one gather instead of two passes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from kzoo.errors import SpecError


def pca_of_colours(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors (columns) of the RGB covariance of some images."""
    pixels = images.reshape(-1, images.shape[-1]).astype("float64")
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    return values.clip(min=0).astype("float32"), vectors.astype("float32")


def colour_pca(images: Any, values: np.ndarray, vectors: np.ndarray, std: float, seed: Any) -> Any:

    alpha = tf.random.stateless_normal((tf.shape(images)[0], 3), seed=seed, stddev=std)
    shift = tf.linalg.matvec(tf.constant(vectors), alpha * tf.constant(values))  # (batch, 3)
    return images + shift[:, None, None, :]


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype="float32")
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def _smoothing_matrix(n: int, sigma: float) -> np.ndarray:
    """(n, n) matrix G with G @ v = v filtered by the Gaussian, zero beyond the ends ("SAME" convolution).

    Smoothing a field as G_rows @ field @ G_cols.T is two small matrix products, several times cheaper
    on the CPU than two depthwise convolutions with a 6σ+1 tap kernel, and gives the same numbers.
    """
    k = _gaussian_kernel(sigma)
    radius = len(k) // 2
    offsets = np.arange(n)[None, :] - np.arange(n)[:, None] + radius  # G[i, j] = k[j - i + radius]
    inside = (offsets >= 0) & (offsets < len(k))
    return np.where(inside, k[offsets.clip(0, len(k) - 1)], 0.0).astype("float32")


def displacement(batch: Any, rows: int, cols: int, alpha: float, sigma: float, seed: Any) -> Any:
    """Simard et al.'s random displacement fields, (batch, 2, rows, cols): U[-1, 1], Gaussian-smoothed, times α."""

    field = tf.random.stateless_uniform(tf.stack([batch, 2, rows, cols]), seed=seed, minval=-1.0, maxval=1.0)
    g_rows = tf.constant(_smoothing_matrix(rows, sigma))
    g_cols = tf.constant(_smoothing_matrix(cols, sigma).T * np.float32(alpha))
    return tf.matmul(tf.matmul(g_rows, field), g_cols)


def elastic(images: Any, alpha: float, sigma: float, seed: Any, transforms: Any = None) -> Any:
    """Elastic distortion of a batch; with ``transforms`` (as for ImageProjectiveTransformV3) the affine map too.

    Output pixel p samples the input at T(p + d(p)), d the displacement field and T the affine map
    (the identity without ``transforms``), in one bilinear resampling; outside the image reads 0,
    as ImageProjectiveTransformV3's constant fill does. The same as transforming first and
    distorting after, but one pass over the pixels instead of two.
    """

    h, w = int(images.shape[1]), int(images.shape[2])
    d = displacement(tf.shape(images)[0], h, w, alpha, sigma, seed)
    rows, cols = np.meshgrid(np.arange(h, dtype="float32"), np.arange(w, dtype="float32"), indexing="ij")
    r, c = rows + d[:, 0], cols + d[:, 1]
    if transforms is not None:  # input (x, y) = (a0 x + a1 y + a2, a3 x + a4 y + a5), x the column
        t = transforms[:, :, None, None]
        r, c = t[:, 3] * c + t[:, 4] * r + t[:, 5], t[:, 0] * c + t[:, 1] * r + t[:, 2]
    return _bilinear(images, r, c)


def _bilinear(images: Any, r: Any, c: Any) -> Any:
    """Sample ``images`` at fractional (row, col) positions, 0 outside: one gather of the four neighbours."""

    h, w = int(images.shape[1]), int(images.shape[2])
    # A border of zeros, so every neighbour of a position outside the image reads 0.
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    r = tf.clip_by_value(r + 1.0, 0.0, h + 1.0)
    c = tf.clip_by_value(c + 1.0, 0.0, w + 1.0)
    r0, c0 = tf.floor(r), tf.floor(c)
    fr, fc = (r - r0)[..., None], (c - c0)[..., None]
    r0i, c0i = tf.cast(r0, tf.int32), tf.cast(c0, tf.int32)
    r1i, c1i = tf.minimum(r0i + 1, h + 1), tf.minimum(c0i + 1, w + 1)
    wp = w + 2
    base = (tf.range(tf.shape(images)[0]) * (h + 2) * wp)[:, None, None]
    index = tf.stack([base + r0i * wp + c0i, base + r0i * wp + c1i, base + r1i * wp + c0i, base + r1i * wp + c1i])
    v = tf.gather(tf.reshape(padded, (-1, images.shape[3])), index)
    top = v[0] + (v[1] - v[0]) * fc
    bottom = v[2] + (v[3] - v[2]) * fc
    return top + (bottom - top) * fr


def affine_transforms(spec: Any, rows: int, cols: int, batch: Any, seed: Any) -> Any:
    """Per-image transforms (batch, 8) for ImageProjectiveTransformV3: output pixel -> input pixel.

    About the image centre: input = z·R(θ)·F·(output − centre) + centre + d, with F the flips,
    z ~ U[1 − zoom, 1 + zoom], θ ~ U[±rotation°], d the shift (U[±shift·size]) plus the crop
    offset (an integer in [−crop_padding, crop_padding], as padding then a random crop gives).
    """

    u = tf.random.stateless_uniform(tf.stack([batch, 8]), seed=seed, minval=-1.0, maxval=1.0)
    one = tf.ones_like(u[:, 0])
    fx = tf.where(u[:, 0] < 0, -one, one) if spec.flip in ("horizontal", "both") else one
    fy = tf.where(u[:, 1] < 0, -one, one) if spec.flip in ("vertical", "both") else one
    z = 1.0 + spec.zoom * u[:, 2]
    theta = u[:, 3] * (spec.rotation * np.pi / 180.0)
    p = float(spec.crop_padding)
    dx = spec.shift * cols * u[:, 4] + tf.round(u[:, 6] * p)
    dy = spec.shift * rows * u[:, 5] + tf.round(u[:, 7] * p)
    cos, sin = tf.cos(theta) * z, tf.sin(theta) * z
    a00, a01, a10, a11 = cos * fx, -sin * fy, sin * fx, cos * fy
    cx, cy = (cols - 1) / 2.0, (rows - 1) / 2.0
    zero = tf.zeros_like(z)
    return tf.stack(
        [a00, a01, cx - a00 * cx - a01 * cy + dx, a10, a11, cy - a10 * cx - a11 * cy + dy, zero, zero], axis=1
    )


def make_augmenter(
    spec: Any, image_shape: tuple[int, ...], sample: np.ndarray | None, seed: int, follow: Callable | None = None
) -> Callable | None:
    """A function (images, labels, draw) -> (images, labels) for training batches, or None; see :func:`apply`.
    ``follow(labels, transforms, rows, cols)`` moves targets with the affine map (a task's: masks); without it
    labels are left alone. Elastic distortion moves images only."""

    if spec == type(spec)():  # nothing asked for
        return None
    rows, cols, channels = image_shape
    geometric = bool(spec.crop_padding or spec.flip != "none" or spec.zoom or spec.shift or spec.rotation)
    pca = None
    if spec.color_pca:
        if channels != 3 or sample is None:
            raise SpecError("augment.color_pca needs RGB images", hint="set augment.color_pca: 0 for grey images")
        pca = pca_of_colours(sample)
    if not geometric and pca is None and spec.elastic is None:
        return None

    def augment(images, labels, draw):
        # `draw` is a random int64 per chunk from tf.data.Dataset.random (see `apply`): stateless
        # ops keyed by it stay repeatable however many chunks are augmented in parallel.
        pair = tf.stack([tf.cast(seed, tf.int64), draw])
        transforms = affine_transforms(spec, rows, cols, tf.shape(images)[0], pair + 3) if geometric else None
        if spec.elastic is not None:  # affine map and distortion in one resampling
            images = elastic(images, spec.elastic.alpha, spec.elastic.sigma, pair + 7, transforms)
        elif geometric:
            images = tf.raw_ops.ImageProjectiveTransformV3(
                images=images,
                transforms=transforms,
                output_shape=tf.constant([rows, cols], tf.int32),
                fill_value=tf.constant(0.0, images.dtype),
                interpolation="BILINEAR",
                fill_mode="CONSTANT",
            )
        if geometric and follow is not None:
            labels = follow(labels, transforms, rows, cols)
        if pca is not None:  # a colour shift per image: the same before or after resampling, fill included
            images = colour_pca(images, *pca, spec.color_pca, pair)
        return images, labels

    return augment


# Values (images x pixels x channels) augmented per call. Each TensorFlow op costs a fixed overhead per
# call, which dominates for small images: augmenting several batches at once and cutting them back into
# batches measured 1.5x the training steps/s of LeNet-5 on 32x32 images with the full augmentation.
CHUNK_VALUES = 2**20


def apply(dataset: Any, augment: Callable, seed: Any, batch_size: int, drop_remainder: bool = True) -> Any:
    """Batches of ``batch_size`` from an unbatched dataset, augmented in parallel.

    Images are augmented in chunks of several batches (up to :data:`CHUNK_VALUES` values), each
    chunk with a random draw from ``seed`` (a Python or tensor int); a last partial batch is dropped
    unless ``drop_remainder`` is false.
    """

    size = int(np.prod(dataset.element_spec[0].shape))
    chunk = batch_size * max(1, CHUNK_VALUES // (batch_size * size))
    draws = tf.data.Dataset.random(seed=seed)
    chunks = tf.data.Dataset.zip(dataset.batch(chunk), draws)
    augmented = chunks.map(lambda batch, draw: augment(*batch, draw), num_parallel_calls=tf.data.AUTOTUNE)
    return augmented.rebatch(batch_size, drop_remainder=drop_remainder)
