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
  and scaled by α, resamples the image bilinearly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def pca_of_colours(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and eigenvectors (columns) of the RGB covariance of some images."""
    pixels = images.reshape(-1, images.shape[-1]).astype("float64")
    values, vectors = np.linalg.eigh(np.cov(pixels, rowvar=False))
    return values.clip(min=0).astype("float32"), vectors.astype("float32")


def colour_pca(images: Any, values: np.ndarray, vectors: np.ndarray, std: float, seed: Any) -> Any:
    import tensorflow as tf

    alpha = tf.random.stateless_normal((tf.shape(images)[0], 3), seed=seed, stddev=std)
    shift = tf.linalg.matvec(tf.constant(vectors), alpha * tf.constant(values))  # (batch, 3)
    return images + shift[:, None, None, :]


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype="float32")
    k = np.exp(-(x**2) / (2 * sigma**2))
    return k / k.sum()


def elastic(images: Any, alpha: float, sigma: float, seed: Any) -> Any:
    import tensorflow as tf

    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    field = tf.random.stateless_uniform(tf.stack([b, h, w, 2]), seed=seed, minval=-1.0, maxval=1.0)
    k = tf.constant(_gaussian_kernel(sigma))
    size = int(k.shape[0])
    kx = tf.tile(tf.reshape(k, (1, size, 1, 1)), (1, 1, 2, 1))
    ky = tf.tile(tf.reshape(k, (size, 1, 1, 1)), (1, 1, 2, 1))
    field = tf.nn.depthwise_conv2d(field, kx, (1, 1, 1, 1), "SAME")
    field = tf.nn.depthwise_conv2d(field, ky, (1, 1, 1, 1), "SAME") * alpha
    rows, cols = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
    r = tf.clip_by_value(rows[None] + field[..., 0], 0.0, tf.cast(h - 1, tf.float32))
    c = tf.clip_by_value(cols[None] + field[..., 1], 0.0, tf.cast(w - 1, tf.float32))
    return _bilinear(images, r, c)


def _bilinear(images: Any, r: Any, c: Any) -> Any:
    """Sample ``images`` at fractional (row, col) positions: one gather of the four neighbours."""
    import tensorflow as tf

    shape = tf.shape(images)
    b, h, w, ch = shape[0], shape[1], shape[2], shape[3]
    r0, c0 = tf.floor(r), tf.floor(c)
    fr, fc = (r - r0)[..., None], (c - c0)[..., None]
    r0i, c0i = tf.cast(r0, tf.int32), tf.cast(c0, tf.int32)
    r1i, c1i = tf.minimum(r0i + 1, h - 1), tf.minimum(c0i + 1, w - 1)
    base = (tf.range(b) * h * w)[:, None, None]
    index = tf.stack([base + r0i * w + c0i, base + r0i * w + c1i, base + r1i * w + c0i, base + r1i * w + c1i])
    v = tf.gather(tf.reshape(images, tf.stack([-1, ch])), index)
    top = v[0] * (1 - fc) + v[1] * fc
    bottom = v[2] * (1 - fc) + v[3] * fc
    return top * (1 - fr) + bottom * fr


def affine_transforms(spec: Any, rows: int, cols: int, batch: Any, seed: Any) -> Any:
    """Per-image transforms (batch, 8) for ImageProjectiveTransformV3: output pixel -> input pixel.

    About the image centre: input = z·R(θ)·F·(output − centre) + centre + d, with F the flips,
    z ~ U[1 − zoom, 1 + zoom], θ ~ U[±rotation°], d the shift (U[±shift·size]) plus the crop
    offset (an integer in [−crop_padding, crop_padding], as padding then a random crop gives).
    """
    import tensorflow as tf

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


def make_augmenter(spec: Any, image_shape: tuple[int, ...], sample: np.ndarray | None, seed: int) -> Callable | None:
    """A function (images, labels, draw) -> (images, labels) for training batches, or None; see :func:`apply`."""
    import tensorflow as tf

    if spec == type(spec)():  # nothing asked for
        return None
    rows, cols, channels = image_shape
    geometric = bool(spec.crop_padding or spec.flip != "none" or spec.zoom or spec.shift or spec.rotation)
    pca = None
    if spec.color_pca:
        if channels != 3 or sample is None:
            from kzoo.errors import SpecError

            raise SpecError("augment.color_pca needs RGB images", hint="set augment.color_pca: 0 for grey images")
        pca = pca_of_colours(sample)
    if not geometric and pca is None and spec.elastic is None:
        return None

    def augment(images, labels, draw):
        # `draw` is a per-batch random int64 from tf.data.Dataset.random (see `apply`): stateless
        # ops keyed by it stay repeatable however many batches are augmented in parallel.
        pair = tf.stack([tf.cast(seed, tf.int64), draw])
        if geometric:
            transforms = affine_transforms(spec, rows, cols, tf.shape(images)[0], pair + 3)
            images = tf.raw_ops.ImageProjectiveTransformV3(
                images=images,
                transforms=transforms,
                output_shape=tf.constant([rows, cols], tf.int32),
                fill_value=tf.constant(0.0, images.dtype),
                interpolation="BILINEAR",
                fill_mode="CONSTANT",
            )
        if pca is not None:
            images = colour_pca(images, *pca, spec.color_pca, pair)
        if spec.elastic is not None:
            images = elastic(images, spec.elastic.alpha, spec.elastic.sigma, pair + 7)
        return images, labels

    return augment


def apply(dataset: Any, augment: Callable, seed: Any) -> Any:
    """Augment a batched dataset in parallel, with a random draw per batch from ``seed``."""
    import tensorflow as tf

    draws = tf.data.Dataset.random(seed=seed)
    return tf.data.Dataset.zip(dataset, draws).map(
        lambda batch, draw: augment(*batch, draw), num_parallel_calls=tf.data.AUTOTUNE
    )
