"""Segmentation: the FCN and U-Net files against the papers' counts, backbones, the task's checks, masks and their
augmentation, the built-in scenes, and the scores against Keras' MeanIoU and hand-counted confusion matrices."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

import kzoo
from kzoo.tasks import TASKS, dense, scenes, task_of
from kzoo.tasks.masks import IGNORE


# -- the zoo: counts worked out by hand -------------------------------------------------------------------------
def _conv(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


VGG16_CONVS = sum(
    _conv(3, a, b)
    for a, b in [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256), (256, 256), (256, 256), (256, 512)]
    + [(512, 512)] * 5
)  # 14,714,688: keras.applications' VGG16(include_top=False)
# The released voc-fcn*s prototxts: fc6 7x7x512 -> 4096, fc7 1x1 4096 -> 4096, score_fr 1x1 4096 -> 21, the
# score_pool4 / score_pool3 1x1 convs, and Deconvolution layers without bias (upscore2, upscore_pool4: 4x4;
# the final upscore: 64x64 (32s), 32x32 (16s), 16x16 (8s)), 21 -> 21 channels.
FC = _conv(7, 512, 4096) + _conv(1, 4096, 4096) + _conv(1, 4096, 21)
UP2 = _conv(4, 21, 21, bias=False)
PAPER = {
    "fcn32s": VGG16_CONVS + FC + _conv(64, 21, 21, False),
    "fcn16s": VGG16_CONVS + FC + UP2 + _conv(1, 512, 21) + _conv(32, 21, 21, False),
    "fcn8s": VGG16_CONVS + FC + 2 * UP2 + _conv(1, 512, 21) + _conv(1, 256, 21) + _conv(16, 21, 21, False),
}


@pytest.mark.parametrize("name", sorted(PAPER))
def test_fcn_parameter_counts_equal_the_released_prototxts(name):
    assert VGG16_CONVS == 14_714_688
    graph = kzoo.analyse(name)
    assert graph.totals()["params"] == PAPER[name]
    assert graph.meta["task"] == "segmentation" and graph.input_shape == (None, None, 3)
    assert PAPER["fcn8s"] == 134_489_759  # "134M" (Long et al. 2015, Table 1)


def test_unet_count_is_figure_1s():
    """Figure 1 of Ronneberger et al.: 1 input channel, 2 classes, 64-1024 channels, 2x2 up-convolutions."""
    widths = [64, 128, 256, 512, 1024]
    down = sum(_conv(3, a, b) + _conv(3, b, b) for a, b in zip([1] + widths[:-1], widths, strict=True))
    up = sum(_conv(2, b, a) + _conv(3, 2 * a, a) + _conv(3, a, a) for a, b in zip(widths[:-1], widths[1:], strict=True))
    graph = kzoo.analyse("unet", {"input": [None, None, 1]})
    assert graph.totals()["params"] == down + up + _conv(1, 64, 2) == 31_030_658


@pytest.mark.parametrize("backbone", ["resnet18", "resnet50", "vgg11", "googlenet"])
def test_fcn_heads_go_on_any_backbone_and_keep_its_layer_names(backbone):
    graph = kzoo.analyse("fcn8s", {"backbone": backbone, "classes": 5})
    own = kzoo.analyse(backbone, {"include_top": False})
    assert graph.name == f"fcn8s_{backbone}"
    assert set(own.nodes) < set(graph.nodes)  # the backbone's names: its weights port, its layers freeze by them
    skips = {n: graph.nodes[n].inputs for n in ("score_pool4", "score_pool3")}
    assert skips == {"score_pool4": [own.features[-2]], "score_pool3": [own.features[-3]]}
    assert graph.nodes[graph.outputs[0]].shape == (None, None, 5)


@pytest.mark.parametrize("size", [(64, 64), (97, 131), (33, 40)])
def test_an_fcn_predicts_at_the_size_of_any_input(size):
    model = kzoo.load("fcn8s", backbone="resnet18", classes=3, backbone_params={"include_top": False, "depth": 18})
    x = np.random.default_rng(0).random((1, *size, 3), "float32")
    assert model(x).shape == (1, *size, 3)
    np.testing.assert_allclose(np.asarray(model(x)).sum(-1), 1.0, atol=1e-5)


def test_backbone_mistakes_are_located(write):
    text = """
        name: seg
        input: [null, null, 3]
        params: {b: resnet1}
        backbone: {name: $b, params: {include_top: false}}
        layers:
          - conv: {filters: 2, kernel: 1, name: {n}}
    """
    with pytest.raises(kzoo.SpecError, match="unknown architecture 'resnet1'") as e:
        kzoo.analyse(write(text.replace("{n}", "s")))
    assert (e.value.mark.line, e.value.mark.col) == (5, 11) and "resnet18" in e.value.hint
    with pytest.raises(kzoo.SpecError, match="'conv1_conv' is used twice") as e:
        kzoo.analyse(write(text.replace("{n}", "conv1_conv")), {"b": "resnet18"})
    assert e.value.mark.line == 7
    with pytest.raises(kzoo.SpecError, match="backbone: expects a name") as e:
        kzoo.analyse(write(text.replace("$b", "[1]")))


def test_crop_and_upsample_mistakes_are_located(write):
    crop = """
        name: c
        input: [16, 16, 3]
        layers:
          - conv: {name: a, filters: 2, kernel: 3}
          - crop: {from: [a, input], offset: 1}
    """
    with pytest.raises(kzoo.SpecError, match="does not fit in 14x14") as e:
        kzoo.analyse(write(crop))
    assert (e.value.mark.line, e.value.mark.col) == (6, 5)
    with pytest.raises(kzoo.SpecError, match="needs filters equal to the input's channels"):
        kzoo.analyse(write(crop.replace("crop: {from: [a, input], offset: 1}", "conv_transpose: {filters: 3, "
                                        "kernel: 4, stride: 2, init: bilinear}")))  # fmt: skip
    with pytest.raises(kzoo.SpecError, match="upsample needs factor"):
        kzoo.analyse(write(crop.replace("crop: {from: [a, input], offset: 1}", "upsample: {}")))


def test_a_segmentation_file_must_end_at_the_input_size(write):
    from kzoo.train.recipe import Recipe

    text = """
        name: s
        input: [32, 32, 3]
        task: segmentation
        layers:
          - conv: {filters: 4, kernel: 3, stride: 2, padding: same}
          - conv: {name: scores, filters: 3, kernel: 1, activation: softmax}
    """
    graph = kzoo.analyse(write(text))
    with pytest.raises(kzoo.SpecError, match=r"at the input's size 32x32; s's 'scores' is \(16, 16, 3\)") as e:
        task_of(graph).check_outputs(Recipe(), graph)
    assert (e.value.mark.line, e.value.mark.col) == (7, 5)
    with pytest.raises(kzoo.SpecError, match="unknown task 'segmentaton'") as e:
        task_of(kzoo.analyse(write(text.replace("task: segmentation", "task: segmentaton"))))
    assert e.value.path == "task" and "segmentation" in e.value.hint


def test_every_task_is_registered_and_files_name_one():
    assert set(TASKS.names()) >= {"classification", "segmentation"}
    for name in kzoo.list_architectures():
        assert kzoo.analyse(name).meta["task"] in TASKS


# -- scores -----------------------------------------------------------------------------------------------------
def test_scores_equal_keras_mean_iou_and_a_hand_counted_confusion_matrix():
    import keras

    from kzoo.keras.metrics import PixelAccuracy

    labels = np.array([[[0, 0, 1, 1], [2, 2, IGNORE, 1], [0, 2, 2, IGNORE]]])
    predicted = np.array([[[0, 1, 1, 1], [2, 0, 2, 1], [0, 2, 1, 0]]])
    # by hand: rows are labels, columns predictions (the two 255 pixels left out)
    hand = np.array([[2, 1, 0], [0, 3, 0], [1, 1, 2]])
    assert np.array_equal(dense.confusion(labels, predicted, 3), hand)
    s = dense.scores(hand, ["bg", "a", "b"])
    assert s["pixel_accuracy"] == pytest.approx(7 / 10)
    assert s["iou"] == pytest.approx({"bg": 2 / 4, "a": 3 / 5, "b": 2 / 4})
    probs = np.eye(3, dtype="float32")[predicted]
    reference = keras.metrics.MeanIoU(3, ignore_class=IGNORE, sparse_y_pred=False)
    reference.update_state(labels, probs)
    assert s["mean_iou"] == pytest.approx(float(reference.result()))
    ours = PixelAccuracy(IGNORE)
    ours.update_state(labels, probs)
    assert float(ours.result()) == pytest.approx(0.7)
    again = keras.metrics.deserialize(keras.metrics.serialize(ours))
    assert type(again) is PixelAccuracy and again.ignore_class == IGNORE
    assert dense.scores(np.zeros((2, 2), "int64"), ["x", "y"])["iou"] == {"x": None, "y": None}


def test_the_loss_ignores_pixels_labelled_255():
    from kzoo.train.recipe import Recipe

    loss = TASKS.get("segmentation").loss(Recipe(), logits=False)
    probs = np.full((1, 2, 2, 3), 1 / 3, "float32")
    probs[0, 0, 0] = [0.98, 0.01, 0.01]
    some = np.array([[[0, IGNORE], [IGNORE, IGNORE]]])
    assert float(loss(some, probs)) == pytest.approx(-np.log(0.98), rel=1e-4)


# -- masks follow their images ----------------------------------------------------------------------------------
def test_geometric_augmentation_moves_masks_with_their_images_and_ignores_what_comes_in():
    import tensorflow as tf

    from kzoo.train.augment import make_augmenter
    from kzoo.train.recipe import AugmentSection

    rng = np.random.default_rng(1)
    masks = rng.integers(0, 5, (8, 12, 12)).astype("int32")
    images = (masks[..., None] / 4.0).astype("float32")  # the mask, as an image (whole-pixel moves: exact)
    augment = make_augmenter(
        AugmentSection(flip="horizontal", crop_padding=3), (12, 12, 1), None, 3, TASKS.get("segmentation").follow
    )
    moved_images, moved_masks = augment(tf.constant(images), tf.constant(masks), tf.constant(5, tf.int64))
    moved_images, moved_masks = np.asarray(moved_images)[..., 0], np.asarray(moved_masks)
    inside = moved_masks != IGNORE
    np.testing.assert_allclose(moved_images[inside], moved_masks[inside] / 4.0, atol=1e-6)  # same geometry
    assert (~inside).any() and inside.mean() > 0.5
    assert np.all(moved_images[~inside] == 0)
    assert set(np.unique(moved_masks)) <= {0, 1, 2, 3, 4, IGNORE}  # nearest neighbour: no new classes


# -- the built-in scenes ----------------------------------------------------------------------------------------
def test_scenes_are_real_digits_fixed_by_seed_with_test_digits_apart():
    a, b = scenes.make("train", 20, (48, 40)), scenes.make("train", 20, (48, 40))
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert a.images.shape == (20, 48, 40) and a.masks.max() <= 10 and (a.masks > 0).any()
    for mask, boxes in zip(a.masks, a.boxes, strict=True):
        for cls, r0, c0, r1, c1 in boxes:
            assert 0 <= r0 < r1 <= 48 and 0 <= c0 < c1 <= 40
            assert (mask[r0:r1, c0:c1] == cls).any()
    x, y = scenes.digits()
    train, test = scenes.digit_split(y)
    assert not set(train) & set(test) and len(test) == 1000 and len(x) == 5000
    assert np.bincount(y[test]).tolist() == [100] * 10


# -- predict writes masks ---------------------------------------------------------------------------------------
def test_predicted_masks_are_palette_pngs_at_each_images_own_size(tmp_path):
    from kzoo.saved import set_meta

    model = kzoo.load("unet", width=4, depth=2, classes=3)
    set_meta(model, {"task": "segmentation", "class_names": ["bg", "a", "b"], "input": {"size": [32, 32],
                                                                                          "channels": 3}})  # fmt: skip
    files = []
    for i, size in enumerate([(20, 30), (50, 41)]):
        files.append(tmp_path / f"im{i}.png")
        Image.fromarray(np.random.default_rng(i).integers(0, 255, (*size, 3)).astype("uint8")).save(files[-1])
    result = kzoo.predict(model, files, output=tmp_path / "out")
    for f, row in zip(files, result["predictions"], strict=True):
        with Image.open(row["mask"]) as mask, Image.open(f) as image:
            assert mask.mode == "P" and mask.size == image.size
        assert sum(row["fractions"].values()) == pytest.approx(1.0)
        assert set(row["fractions"]) <= {"bg", "a", "b"}
    assert not list((tmp_path / "out").glob("*.tmp*"))


def test_convolutionalising_a_classifier_keeps_what_it_computes():
    """Long et al. 2015, Section 3.1: fc1 and fc2 as 7x7 and 1x1 convolutions compute, at the centre of a 224x224
    input's 7x7 map, exactly what the classifier's dense layers compute on it."""
    import keras

    thin = {"widths": [8, 8, 8, 8, 8]}
    vgg = kzoo.load("vgg11", classes=4, **thin)
    for layer in vgg.layers:  # other weights than the FCN's own initialisation
        if layer.weights:
            layer.set_weights([np.random.default_rng(1).normal(0, 0.05, w.shape) for w in layer.get_weights()])
    fcn = kzoo.load("fcn8s", backbone="vgg11", classes=3, backbone_params={"include_top": False, **thin})
    taken = kzoo.convolutionalise(vgg, fcn)
    assert taken["fc6"] == "fc1" and taken["fc7"] == "fc2" and taken["block5_conv2"] == "block5_conv2"
    assert "score_fr" not in taken  # other classes: it keeps its start
    x = np.random.default_rng(2).random((2, 224, 224, 3), "float32")
    dense = keras.Model(vgg.input, vgg.get_layer("fc2").output)(x)
    conv = keras.Model(fcn.input, fcn.get_layer("fc7").output)(x)
    assert conv.shape[1:3] == (7, 7)
    np.testing.assert_allclose(np.asarray(conv)[:, 3, 3], np.asarray(dense), rtol=1e-4, atol=1e-5)
    with pytest.raises(kzoo.KzooError, match="no layer of"):
        kzoo.convolutionalise(kzoo.load("lenet5"), kzoo.load("unet", width=4, depth=1))


def test_a_pascal_voc_tree_loads_with_its_21_classes_and_val_as_test(tmp_path):
    from test_segmentation_cli import palette_png

    from kzoo.train.recipe import DataSection

    root = tmp_path / "VOC2012"
    for d in ("JPEGImages", "SegmentationClass", "ImageSets/Segmentation"):
        (root / d).mkdir(parents=True)
    made = scenes.make("train", 12, (30, 36))
    stems = [f"2007_{i:06d}" for i in range(12)]
    for stem, image, mask in zip(stems, made.images, made.masks, strict=True):
        Image.fromarray((image * 255).astype("uint8")).convert("RGB").save(root / "JPEGImages" / f"{stem}.jpg")
        mask = mask.copy()
        mask[0, :] = IGNORE  # VOC's borders
        palette_png(mask, root / "SegmentationClass" / f"{stem}.png")
    (root / "ImageSets/Segmentation/train.txt").write_text("\n".join(stems[:9]) + "\n")
    (root / "ImageSets/Segmentation/val.txt").write_text("\n".join(stems[9:]) + "\n")
    splits = TASKS.get("segmentation").load_data(DataSection(source=f"voc:{root}", validation_split=0.2), (32, 32, 3))
    assert splits.classes == 21 and splits.class_names[15] == "person" and splits.task == "segmentation"
    assert (splits.train_size, splits.val_size, splits.test_size) == (7, 2, 3)
    image, mask = next(iter(splits.test))
    assert image.shape == (32, 32, 3) and mask.shape == (32, 32)
    assert set(np.unique(np.asarray(mask))) <= set(range(11)) | {IGNORE}
    (root / "JPEGImages" / f"{stems[10]}.jpg").unlink()
    with pytest.raises(kzoo.SpecError, match=f"val.txt: .*{stems[10]}.jpg is missing"):
        TASKS.get("segmentation").load_data(DataSection(source=f"voc:{root}"), (32, 32, 3))


def test_class_weights_balanced_are_median_frequency_and_ignored_pixels_weigh_nothing():
    import tensorflow as tf

    from kzoo.train.arrays import Splits
    from kzoo.train.pipeline import class_weights, weighted
    from kzoo.train.recipe import Recipe

    masks = np.array([[[0, 0, 0, 0], [0, 0, 1, 1], [2, IGNORE, IGNORE, 0]]] * 2, "int32")  # 7 x 0, 2 x 1, 1 x 2
    data = tf.data.Dataset.from_tensor_slices((np.zeros((2, 3, 4, 1), "float32"), masks))
    splits = Splits(data, data, data, 4, list("abcd"), 2, "test", 2, 2, task="segmentation")
    w = class_weights(Recipe(class_weights="balanced"), splits)
    freq = np.array([7, 2, 1]) / 10
    np.testing.assert_allclose(w, [*(np.median(freq) / freq), 0.0], rtol=1e-6)  # class d never appears: 0
    assert class_weights(Recipe(), splits) is None
    _, _, pixel = next(iter(weighted(data.batch(2), np.array([1.0, 2.0, 3.0, 4.0], "float32"))))
    expected = np.array([[1, 1, 1, 1], [1, 1, 2, 2], [3, 0, 0, 1]], "float32")
    np.testing.assert_array_equal(np.asarray(pixel)[0], expected)


def test_a_tfds_segmentation_set_built_offline(tmp_path):
    """A TFDS data set with an image and a segmentation_mask feature (oxford_iiit_pet's layout), generated here."""
    tfds = pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets comes with the test extras")

    from kzoo.train.recipe import DataSection

    class KzooTinyMasks(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 3)),
                    "segmentation_mask": tfds.features.Image(shape=(8, 8, 1)),
                }
            )
            return tfds.core.DatasetInfo(builder=self, features=features)

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(20), "test": self._generate_examples(5)}

        def _generate_examples(self, n):
            for i in range(n):
                mask = np.zeros((8, 8, 1), np.uint8)
                mask[: 2 + i % 5, :, 0] = 1 + i % 2  # classes 0, 1, 2
                yield i, {"image": np.repeat(mask * 100, 3, -1), "segmentation_mask": mask}

    KzooTinyMasks(data_dir=str(tmp_path)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
    spec = DataSection(source="tfds:kzoo_tiny_masks", data_dir=str(tmp_path), validation_split=0.25)
    splits = TASKS.get("segmentation").load_data(spec, (16, 16, 3))
    assert splits.classes == 3 and (splits.train_size, splits.val_size, splits.test_size) == (15, 5, 5)
    image, mask = next(iter(splits.test))
    assert image.shape == (16, 16, 3) and mask.shape == (16, 16)
    np.testing.assert_array_equal(np.asarray(mask)[::2, ::2] > 0, np.asarray(image)[::2, ::2, 0] > 0.2)
