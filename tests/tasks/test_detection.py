"""Detection: YOLO v1's file against Figure 3's count, its head on other backbones, the loss term by term, decoding
and NMS against TensorFlow's, boxes following augmentation against a transformed picture of them, the data
sources' checks, and COCO's evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import write_coco

import kzoo
from kzoo.errors import KzooError, SpecError
from kzoo.tasks import TASKS, boxes, cocoeval, yolo


# -- the zoo: counts worked out by hand -------------------------------------------------------------------------
def _conv(k, cin, cout):
    return k * k * cin * cout + cout


# Figure 3 of Redmon et al. (and darknet's yolo.cfg of 2015: the same layers, pad = size / 2): [kernel, in, out]
FIRST_20 = (
    [(7, 3, 64), (3, 64, 192), (1, 192, 128), (3, 128, 256), (1, 256, 256), (3, 256, 512)]
    + [(1, 512, 256), (3, 256, 512)] * 4
    + [(1, 512, 512), (3, 512, 1024)]
    + [(1, 1024, 512), (3, 512, 1024)] * 2
)
ADDED_4 = [(3, 1024, 1024)] * 4  # the second strides 2: 14x14 -> 7x7
FC = 7 * 7 * 1024 * 4096 + 4096 + 4096 * (7 * 7 * 30) + 7 * 7 * 30  # 4096 units, then the 7x7x30 output


def test_yolo_v1_is_figure_3s_network():
    assert len(FIRST_20) == 20 and len(FIRST_20 + ADDED_4) == 24
    paper = sum(_conv(*c) for c in FIRST_20 + ADDED_4) + FC
    graph = kzoo.analyse("yolo_v1")
    assert graph.totals()["params"] == paper == 271_703_550
    assert graph.nodes[graph.outputs[0]].shape == (7, 7, 30)
    assert graph.input_shape == (448, 448, 3) and graph.meta["task"] == "detection"
    convs = [n for n in graph.nodes.values() if n.op == "conv"]
    assert len(convs) == 24 and sum(n.op == "dense" for n in graph.nodes.values()) == 2
    assert all(n.args.activation.name == "leaky_relu" and n.args.activation.args["beta"] == 0.1 for n in convs)


def test_yolo_darknet_is_the_pretraining_network():
    """Section 2.2: the first 20 convolutional layers, average pooling and a fully connected layer, at 224x224."""
    graph = kzoo.analyse("yolo_darknet")
    assert graph.totals()["params"] == sum(_conv(*c) for c in FIRST_20) + 1024 * 1000 + 1000
    assert graph.input_shape == (224, 224, 3)


@pytest.mark.parametrize("backbone", ["resnet18", "vgg11", "googlenet"])
def test_the_head_goes_on_any_backbone_with_s_b_and_c_as_params(backbone):
    params = {"backbone": backbone, "grid": 5, "boxes": 3, "classes": 4, "head_width": 64, "fc_width": 128}
    graph = kzoo.analyse("yolo_v1", params)
    own = kzoo.analyse(backbone, {"include_top": False})
    assert graph.name == f"yolo_v1_{backbone}"
    assert set(own.nodes) < set(graph.nodes)
    assert graph.nodes[graph.outputs[0]].shape == (5, 5, 3 * 5 + 4)


def test_a_small_detector_builds_and_matches_keras():
    params = {"backbone": "lenet5_modern", "input": [64, 64, 1], "head_convs": 0, "fc_width": 64, "classes": 10}
    graph = kzoo.analyse("yolo_v1", params)
    model = kzoo.load("yolo_v1", **params)
    assert tuple(model.outputs[0].shape[1:]) == (7, 7, 20)
    assert model.count_params() == graph.totals()["params"]


def test_output_shape_is_checked_at_its_line(write):
    from kzoo.train.checks import check_static
    from kzoo.train.recipe import Recipe

    path = write(
        "name: bad\ninput: [32, 32, 1]\ntask: detection\nparams: {boxes: 2}\n"
        "layers:\n  - flatten\n  - dense: {units: 7}\n"
    )
    with pytest.raises(SpecError) as err:
        check_static(Recipe.model_validate({"data": {"source": "scenes"}}), kzoo.analyse(path))
    assert "(S, S, 10 + C)" in err.value.message and err.value.mark.line == 7


# -- the loss, term by term -------------------------------------------------------------------------------------
S, B, C = 4, 2, 3
TRUTH = np.array([[[1, 0.1, 0.3, 0.5, 0.6], [-1, 0, 0, 0, 0]]], "float32")  # centre (0.3, 0.45): cell (1, 1)


def _perfect():
    pred = np.zeros((1, S, S, 5 * B + C), "float32")
    # predictor 0 of cell (1, 1): x, y within the cell, sqrt w, sqrt h, confidence 1 (= its IoU)
    pred[0, 1, 1, :5] = [0.45 * S - 1, 0.3 * S - 1, np.sqrt(0.3), np.sqrt(0.4), 1.0]
    pred[0, 1, 1, 5 * B + 1] = 1.0
    return pred


def _loss(pred):
    return float(yolo.YoloLoss(B)(TRUTH, pred))


def test_a_perfect_prediction_costs_nothing():
    assert _loss(_perfect()) == pytest.approx(0.0, abs=1e-6)


def test_no_object_confidences_weigh_lambda_noobj():
    pred = _perfect()
    pred[0, 3, 3, [4, 9]] = 1.0  # both predictors of an empty cell say "object"
    pred[0, 1, 1, 9] = 0.6  # the object cell's other predictor is not responsible either
    assert _loss(pred) == pytest.approx(0.5 * (1 + 1 + 0.36))


def test_classes_cost_their_squared_error():
    pred = _perfect()
    pred[0, 1, 1, 5 * B + 1], pred[0, 1, 1, 5 * B + 2] = 0.0, 1.0
    assert _loss(pred) == pytest.approx(2.0)


def test_coordinates_weigh_lambda_coord_and_the_confidence_targets_the_iou():
    pred = _perfect()
    pred[0, 1, 1, 0] += 0.2  # the centre moves 0.2 cell = 0.05 of the image to the right
    # the box [0.3, 0.6] x [0.1, 0.5] against [0.35, 0.65]: IoU = 0.25 / 0.35
    iou = 0.25 / 0.35
    assert _loss(pred) == pytest.approx(5 * 0.2**2 + (1 - iou) ** 2, rel=1e-5)
    pred = _perfect()
    pred[0, 1, 1, 2] = np.sqrt(0.3) + 0.1  # sqrt w off by 0.1: the paper's square roots
    w = (np.sqrt(0.3) + 0.1) ** 2
    iou = min(w, 0.3) / max(w, 0.3)  # same centre, same height
    assert _loss(pred) == pytest.approx(5 * 0.1**2 + (1 - iou) ** 2, rel=1e-5)


def test_the_predictor_with_the_larger_iou_is_responsible():
    pred = _perfect()
    pred[0, 1, 1, 5:10] = pred[0, 1, 1, 0:5]
    pred[0, 1, 1, 7] = np.sqrt(0.1)  # predictor 1 is narrower: lower IoU, so predictor 0 stays responsible
    pred[0, 1, 1, 9] = 0.0
    assert _loss(pred) == pytest.approx(0.0, abs=1e-6)
    pred[0, 1, 1, 2] = np.sqrt(0.05)  # now predictor 0 is the worse: predictor 1 is responsible
    iou1 = 0.1 / 0.3
    expected = 5 * (np.sqrt(0.1) - np.sqrt(0.3)) ** 2 + (0 - iou1) ** 2 + 0.5 * 1.0**2
    assert _loss(pred) == pytest.approx(expected, rel=1e-5)


def test_the_loss_and_metric_reload_after_import_kzoo():
    import keras

    for obj in (yolo.YoloLoss(3, lambda_coord=4.0), yolo.CellAccuracy(3)):
        again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(obj))
        assert type(again) is type(obj) and again.boxes == 3
    assert again.name == "accuracy"


def test_cell_accuracy_counts_found_and_empty_cells():
    m = yolo.CellAccuracy(B)
    m.update_state(TRUTH, _perfect())
    assert float(m.result()) == 1.0
    pred = _perfect()
    pred[0, 1, 1, 4] = 0.3  # the object's cell is missed
    pred[0, 0, 0, 9] = 0.9  # and an empty cell claims one
    m.reset_state()
    m.update_state(TRUTH, pred)
    assert float(m.result()) == pytest.approx(14 / 16)


# -- decoding and non-maximum suppression -----------------------------------------------------------------------
def test_decoding_gives_the_boxes_and_class_specific_scores():
    pred = _perfect()
    pred[0, 1, 1, 4] = 0.8
    pred[0, 1, 1, 5 * B :] = [0.1, 0.7, 0.2]
    (found,) = yolo.decode(pred, B, score=0.1)
    by_class = {int(r[0]): r for r in found}
    assert sorted(by_class) == [1, 2]  # 0.8 x 0.1 is under the threshold
    np.testing.assert_allclose(by_class[1][1], 0.8 * 0.7, rtol=1e-6)
    np.testing.assert_allclose(by_class[1][2:], [0.1, 0.3, 0.5, 0.6], atol=1e-6)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_keeps_what_tensorflows_keeps(seed, threshold):
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    n = 60
    corner = rng.uniform(0, 0.7, (n, 2))
    size = rng.uniform(0.05, 0.3, (n, 2))
    found = np.column_stack([rng.integers(0, 3, n), rng.uniform(0.01, 1, n), corner, corner + size]).astype("float32")
    kept = yolo.nms(found, threshold)
    for c in range(3):
        mine = found[found[:, 0] == c]
        index = tf.image.non_max_suppression(mine[:, 2:], mine[:, 1], 100, iou_threshold=threshold).numpy()
        np.testing.assert_array_equal(kept[kept[:, 0] == c], mine[index])
    assert np.all(np.diff(kept[:, 1]) <= 0)  # best first


# -- augmentation moves the boxes -------------------------------------------------------------------------------
def _picture_box(box, transform, size=(40, 50)):
    """The tight box of a filled rectangle after TensorFlow resampled it (the reference for follow_boxes)."""
    import tensorflow as tf

    rows, cols = size
    image = np.zeros((1, rows, cols, 1), "float32")
    y0, x0, y1, x1 = (int(round(v * s)) for v, s in zip(box, (rows, cols, rows, cols), strict=True))
    image[0, y0:y1, x0:x1] = 1.0
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=image, transforms=transform, output_shape=[rows, cols], fill_value=0.0,
        interpolation="NEAREST", fill_mode="CONSTANT",
    ).numpy()[0, ..., 0]  # fmt: skip
    r, c = np.nonzero(out > 0.5)
    return np.array([r.min() / rows, c.min() / cols, (r.max() + 1) / rows, (c.max() + 1) / cols])


@pytest.mark.parametrize(
    "flip, zoom, shift",
    [("horizontal", 0.0, 0.0), ("vertical", 0.0, 0.0), ("none", 0.2, 0.0), ("none", 0.0, 0.1), ("both", 0.15, 0.1)],
)
def test_boxes_follow_the_affine_augmentation(flip, zoom, shift):
    import tensorflow as tf

    from kzoo.train.augment import affine_transforms
    from kzoo.train.recipe import AugmentSection

    spec = AugmentSection(flip=flip, zoom=zoom, shift=shift)
    rows, cols = 40, 50
    box = [0.3, 0.3, 0.6, 0.7]
    for seed in range(6):
        t = affine_transforms(spec, rows, cols, tf.constant(1), tf.constant([seed, 7], tf.int64))
        moved = yolo.follow_boxes(tf.constant([[[2.0, *box]]]), t, rows, cols).numpy()[0, 0]
        assert moved[0] == 2.0
        np.testing.assert_allclose(moved[1:], _picture_box(box, t.numpy()), atol=1.01 / min(rows, cols))


def test_boxes_leaving_the_image_are_clipped_or_dropped():
    import tensorflow as tf

    # a shift of 20 columns to the right: input x = output x - 20
    shift = tf.constant([[1.0, 0.0, -20.0, 0.0, 1.0, 0.0, 0.0, 0.0]])
    targets = tf.constant(
        [[[0, 0.1, 0.1, 0.3, 0.3], [1, 0.1, 0.5, 0.3, 0.9], [2, 0.5, 0.85, 0.7, 0.95], [-1, 0, 0, 0, 0]]]
    )
    moved = yolo.follow_boxes(targets, shift, 50, 50).numpy()[0]
    np.testing.assert_allclose(moved[0], [0, 0.1, 0.5, 0.3, 0.7], atol=1e-6)  # moved
    np.testing.assert_allclose(moved[1], [1, 0.1, 0.9, 0.3, 1.0], atol=1e-6)  # clipped: a quarter stays in
    assert moved[2, 0] == -1 and moved[3, 0] == -1  # left the image; padding stays padding


# -- data sources -----------------------------------------------------------------------------------------------
def test_coco_records_are_read_as_fractions(tmp_path):
    path, made = write_coco(tmp_path)
    records, names = boxes.coco_records(path)
    assert names == [f"digit{d}" for d in range(10)] and len(records) == 6
    file, found = records[0]
    assert file == tmp_path / "images" / "s000.png"
    expected = [[c - 1, r0 / 40, c0 / 48, r1 / 40, c1 / 48] for c, r0, c0, r1, c1 in made.boxes[0].tolist()]
    np.testing.assert_allclose(found, expected, rtol=1e-6)


@pytest.mark.parametrize(
    "spoil, message",
    [
        (
            lambda d: d["annotations"][2].update(bbox=[40, 5, 20, 10]),
            "annotations[2] (id 3): bbox [40, 5, 20, 10] leaves",
        ),
        (lambda d: d["annotations"][1].update(category_id=77), "annotations[1] (id 2) has category 77"),
        (lambda d: d["annotations"][0].update(image_id=5), "is of image 5, which 'images' does not list"),
        (lambda d: d["annotations"][0].update(bbox=[1, 2, 0, 3]), "has no area"),
        (lambda d: d["images"][1].update(file_name="gone.png"), "images[1]"),
        (lambda d: d.pop("categories"), "'categories' is missing"),
        (lambda d: d["annotations"][1].update(bbox=[1, 2, float("nan"), 3]), "bbox is [x, y, width, height]"),
        (lambda d: d["annotations"][1].update(bbox=[1, 2, True, 3]), "bbox is [x, y, width, height]"),
        (lambda d: d["images"][1].update(id=100), "has the id 100 of an earlier image"),
        (lambda d: d.update(images=[]), "'images' lists no images"),
    ],
)
def test_coco_errors_are_located(tmp_path, spoil, message):
    path, _ = write_coco(tmp_path)
    doc = json.loads(path.read_text())
    spoil(doc)
    path.write_text(json.dumps(doc))
    with pytest.raises(SpecError) as err:
        boxes.coco_records(path)
    assert message in err.value.message and str(path) in err.value.message


def test_coco_json_errors_give_line_and_column(tmp_path):
    path = tmp_path / "a.json"
    path.write_text('{"images": [],\n  "annotations": [,]}')
    with pytest.raises(SpecError, match=r"a.json:2:19: not valid JSON"):
        boxes.coco_records(path)


def test_yolo_labels_are_checked_at_their_line(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("3 0.5 0.5 0.2 0.4\n\n1 0.1 0.2 0.4 0.2\n")
    with pytest.raises(SpecError, match=r"a.txt:3: box '1 0.1 0.2 0.4 0.2' is not inside the image"):
        boxes.read_labels(path, 5)
    path.write_text("3 0.5 0.5 0.2\n")
    with pytest.raises(SpecError, match=r"a.txt:1: expected 'class x_centre y_centre width height'"):
        boxes.read_labels(path, 5)
    for bad in ("3 nan 0.5 0.2 0.4", "3 0.5 0.5 inf 0.4", "3 0.5 0.5 0.2 0.4 0.9"):
        path.write_text(bad + "\n")
        with pytest.raises(SpecError, match=r"a.txt:1: expected 'class x_centre"):
            boxes.read_labels(path, 5)
    path.write_text("7 0.5 0.5 0.2 0.2\n")
    with pytest.raises(SpecError, match=r"a.txt:1: class 7, but there are 5 classes"):
        boxes.read_labels(path, 5)
    path.write_text("3 0.5 0.5 0.2 0.4\n")
    np.testing.assert_allclose(boxes.read_labels(path, 5), [[3, 0.3, 0.4, 0.7, 0.6]], rtol=1e-6)
    path.write_text("\ufeff3 0.5 0.5 0.2 0.4\n")  # a byte-order mark (Windows' editors) is not part of the class
    np.testing.assert_allclose(boxes.read_labels(path, 5), [[3, 0.3, 0.4, 0.7, 0.6]], rtol=1e-6)
    assert boxes.read_labels(tmp_path / "none.txt", 5).shape == (0, 5)  # no label file: no objects


def test_detection_sources_are_checked_before_tensorflow(tmp_path):
    task = TASKS.get("detection")
    for bad, message in [
        ("digits", "unknown detection data source"),
        ("coco:" + str(tmp_path / "no.json"), "no.json no such file"),
        ("coco:" + str(tmp_path), "is a folder, not a JSON file"),
        ("yolo:" + str(tmp_path / "none"), "yolo: no such folder"),
    ]:
        with pytest.raises(SpecError, match=message):
            task.check_source(bad)
    task.check_source("scenes")
    assert task.known_classes("scenes") == 10


# -- COCO's evaluation ------------------------------------------------------------------------------------------
def test_cocoeval_scores_perfect_and_empty_detections():
    truth = [np.array([[0, 0.1, 0.1, 0.4, 0.5], [1, 0.5, 0.5, 0.9, 0.8]], "float32"), np.zeros((0, 5), "float32")]
    perfect = [np.column_stack([t[:, :1], np.ones(len(t)), t[:, 1:]]) for t in truth]
    scores = cocoeval.evaluate(truth, perfect, ["a", "b", "c"], (64, 64))
    assert scores["map"] == pytest.approx(1.0) and scores["map50"] == pytest.approx(1.0)
    assert scores["per_class"]["a"] == pytest.approx(1.0) and scores["per_class"]["c"] is None
    nothing = cocoeval.evaluate(truth, [np.zeros((0, 6))] * 2, ["a", "b", "c"], (64, 64))
    assert nothing["map"] == 0.0 and nothing["detections"] == 0


def test_cocoeval_equals_pycocotools_on_its_own_files(tmp_path):
    """The records kzoo hands pycocotools, written out and read back by pycocotools' own loaders."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(3)
    truth, found = [], []
    for _ in range(8):
        k = int(rng.integers(1, 4))
        corner = rng.uniform(0, 0.6, (k, 2))
        t = np.column_stack([rng.integers(0, 3, k), corner, corner + rng.uniform(0.1, 0.4, (k, 2))])
        jitter = t[:, 1:] + rng.normal(0, 0.03, (k, 4))
        truth.append(t.astype("float32"))
        found.append(np.column_stack([t[:, :1], rng.uniform(0.2, 1, k), jitter]).astype("float32"))
    mine = cocoeval.evaluate(truth, found, ["a", "b", "c"], (60, 80))
    (tmp_path / "gt.json").write_text(json.dumps(cocoeval.ground_truth(truth, ["a", "b", "c"], (60, 80))))
    (tmp_path / "dt.json").write_text(json.dumps(cocoeval.results(found, (60, 80))))
    gt = COCO(str(tmp_path / "gt.json"))
    run = COCOeval(gt, gt.loadRes(str(tmp_path / "dt.json")), "bbox")
    run.evaluate()
    run.accumulate()
    run.summarize()
    assert [mine[k] for k in cocoeval.STATS] == pytest.approx(list(run.stats))
    assert 0.2 < mine["map"] < 1.0


def test_a_detector_without_boxes_param_is_refused():
    from kzoo.tasks.detection import boxes_of

    with pytest.raises(KzooError, match="param boxes"):
        boxes_of({}, "net")


def test_a_tfds_detection_set_built_offline(tmp_path):
    """A TFDS data set with an image and objects of bbox and label (voc's and coco's layout), generated here."""
    tfds = pytest.importorskip("tensorflow_datasets", reason="tensorflow-datasets comes with the test extras")

    from kzoo.train.recipe import DataSection

    class KzooTinyBoxes(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            objects = tfds.features.Sequence(
                {"bbox": tfds.features.BBoxFeature(), "label": tfds.features.ClassLabel(names=["ring", "dot"])}
            )
            features = tfds.features.FeaturesDict({"image": tfds.features.Image(shape=(10, 10, 3)), "objects": objects})
            return tfds.core.DatasetInfo(builder=self, features=features)

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(20), "test": self._generate_examples(4)}

        def _generate_examples(self, n):
            for i in range(n):
                image = np.zeros((10, 10, 3), np.uint8)
                image[2:6, 1 + i % 4 : 5 + i % 4] = 200
                box = tfds.features.BBox(ymin=0.2, xmin=(1 + i % 4) / 10, ymax=0.6, xmax=(5 + i % 4) / 10)
                yield i, {"image": image, "objects": {"bbox": [box] * (1 + i % 2), "label": [i % 2] * (1 + i % 2)}}

    KzooTinyBoxes(data_dir=str(tmp_path)).download_and_prepare(
        download_config=tfds.download.DownloadConfig(try_download_gcs=False)
    )
    spec = DataSection(source="tfds:kzoo_tiny_boxes", data_dir=str(tmp_path), validation_split=0.25)
    splits = TASKS.get("detection").load_data(spec, (20, 20, 3))
    assert splits.class_names == ["ring", "dot"] and (splits.train_size, splits.val_size, splits.test_size) == (
        15,
        5,
        4,
    )
    for image, found in splits.test:
        assert image.shape == (20, 20, 3) and found.shape == (boxes.TFDS_MOST, 5)
        found = np.asarray(found)
        kept = found[found[:, 0] >= 0]
        assert len(kept) == 1 + kept[0, 0] and set(kept[:, 0]) == {kept[0, 0]}  # label i % 2, 1 + i % 2 boxes
        np.testing.assert_allclose(kept[:, [1, 3]], [[0.2, 0.6]] * len(kept), atol=1e-6)
        np.testing.assert_allclose(kept[:, 4] - kept[:, 2], 0.4, atol=1e-6)
        x0 = float(kept[0, 2])  # the box is where the picture's bright square is
        assert np.asarray(image)[8, int(round(x0 * 20)) + 1, 0] > 0.5 > np.asarray(image)[1, 0, 0]
