"""Augmentation (kzoo.train.augment): colour PCA, elastic distortion, flips, crops and affine transforms, against
NumPy, SciPy and TensorFlow's own transforms."""

from __future__ import annotations

import numpy as np


def test_colour_pca_moves_pixels_along_the_principal_colours():
    import tensorflow as tf

    from kzoo.train.augment import colour_pca, pca_of_colours

    rng = np.random.default_rng(2)
    base = rng.normal(size=(500, 3)) @ np.array([[3.0, 0, 0], [1, 1, 0], [0, 0, 0.1]])
    values, vectors = pca_of_colours(base.reshape(10, 5, 10, 3).astype("float32"))
    np.testing.assert_allclose(vectors @ np.diag(values) @ vectors.T, np.cov(base, rowvar=False), rtol=1e-3, atol=1e-3)
    images = tf.zeros((4, 2, 2, 3))
    shifted = colour_pca(images, values, vectors, 0.1, tf.constant([1, 2], tf.int64)).numpy()
    assert np.allclose(shifted[:, 0, 0], shifted[:, 1, 1])  # one shift per image
    coeffs = shifted[:, 0, 0] @ vectors  # in the eigenbasis: alpha_i * lambda_i
    assert abs(coeffs[:, 0]).max() < 0.1 * values[0] * 5 and abs(coeffs).sum() > 0


def test_elastic_distortion_is_identity_without_displacement_and_moves_with_it():
    import tensorflow as tf

    from kzoo.train.augment import _bilinear, elastic

    images = tf.random.uniform((2, 16, 16, 1), seed=3)
    rows, cols = tf.meshgrid(tf.range(16.0), tf.range(16.0), indexing="ij")
    same = _bilinear(images, tf.stack([rows] * 2), tf.stack([cols] * 2))
    np.testing.assert_allclose(same.numpy(), images.numpy(), atol=1e-6)
    moved = elastic(images, alpha=8.0, sigma=2.0, seed=tf.constant([1, 1], tf.int64))
    assert moved.shape == images.shape and not np.allclose(moved.numpy(), images.numpy())


def test_displacement_field_is_the_uniform_draw_smoothed_as_scipy_does():
    import tensorflow as tf
    from scipy.ndimage import correlate1d

    from kzoo.train.augment import _gaussian_kernel, displacement

    seed = tf.constant([4, 5], tf.int64)
    field = displacement(3, 20, 12, alpha=6.0, sigma=2.5, seed=seed).numpy()
    raw = tf.random.stateless_uniform((3, 2, 20, 12), seed=seed, minval=-1.0, maxval=1.0).numpy()
    k = _gaussian_kernel(2.5)  # zero beyond the edges: TensorFlow's "SAME" convolution
    expected = 6.0 * correlate1d(correlate1d(raw, k, axis=2, mode="constant"), k, axis=3, mode="constant")
    np.testing.assert_allclose(field, expected, atol=1e-5)


def test_one_resampling_equals_tensorflows_affine_transform_and_then_the_distortion():
    import tensorflow as tf

    from kzoo.train.augment import affine_transforms, elastic
    from kzoo.train.recipe import AugmentSection

    images = tf.random.uniform((6, 24, 20, 3), seed=7)
    spec = AugmentSection(zoom=0.2, rotation=30, shift=0.2, flip="horizontal")
    transforms = affine_transforms(spec, 24, 20, 6, tf.constant([2, 3], tf.int64))
    reference = tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=transforms,
        output_shape=[24, 20],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    seed = tf.constant([1, 1], tf.int64)
    no_field = elastic(images, alpha=0.0, sigma=2.0, seed=seed, transforms=transforms)
    np.testing.assert_allclose(no_field.numpy(), reference.numpy(), atol=1e-5)  # fill included
    identity = tf.constant([[1.0, 0, 0, 0, 1, 0, 0, 0]] * 6)
    np.testing.assert_allclose(
        elastic(images, 4.0, 2.0, seed, identity).numpy(), elastic(images, 4.0, 2.0, seed).numpy(), atol=1e-6
    )


def _augment_once(spec, images, draw):
    import tensorflow as tf

    from kzoo.train.augment import make_augmenter

    augment = make_augmenter(spec, images.shape[1:], None, seed=3)
    out, _ = augment(tf.constant(images), tf.zeros(len(images), tf.int64), tf.constant(draw, tf.int64))
    return out.numpy()


def test_flips_mirror_exactly_and_are_drawn_per_image():
    from kzoo.train.recipe import AugmentSection

    images = np.random.default_rng(0).random((16, 9, 7, 3)).astype("float32")
    out = _augment_once(AugmentSection(flip="horizontal"), images, 11)
    same = [np.array_equal(o, i) for o, i in zip(out, images, strict=True)]
    mirrored = [np.allclose(o, i[:, ::-1], atol=1e-6) for o, i in zip(out, images, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True)) and any(same) and any(mirrored)


def test_crop_padding_is_an_integer_shift_with_zero_fill_like_pad_then_crop():
    from kzoo.train.recipe import AugmentSection

    images = np.random.default_rng(1).random((16, 10, 10, 1)).astype("float32") + 1.0
    out = _augment_once(AugmentSection(crop_padding=2), images, 5)
    shifts = set()
    for o, i in zip(out, images, strict=True):
        padded = np.pad(i, ((2, 2), (2, 2), (0, 0)))
        hits = [(dy, dx) for dy in range(5) for dx in range(5) if np.allclose(o, padded[dy : dy + 10, dx : dx + 10])]
        assert hits, "not a crop of the zero-padded image"
        shifts.add(hits[0])
    assert len(shifts) > 3  # drawn per image


def test_geometric_augmentation_is_repeatable_per_draw_and_keeps_the_centre_of_a_rotation():
    from kzoo.train.recipe import AugmentSection

    images = np.random.default_rng(2).random((8, 15, 15, 1)).astype("float32")
    spec = AugmentSection(zoom=0.1, shift=0.1, rotation=15, crop_padding=2, flip="both")
    a, b, c = (_augment_once(spec, images, d) for d in (4, 4, 5))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    rotated = _augment_once(AugmentSection(rotation=30), images, 9)
    np.testing.assert_allclose(rotated[:, 7, 7], images[:, 7, 7], atol=1e-5)  # the centre stays put
    assert not np.allclose(rotated, images)
