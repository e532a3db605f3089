"""Segmentation through the command line: bad masks refused before training (in-process, located), and a real
run on a folder of images and masks, evaluated and used on new images of other sizes (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from kzoo.tasks import dense, scenes


def palette_png(mask, path):
    """A palette PNG of class indices (Image.fromarray(..., "P") does not keep the values)."""
    image = Image.frombytes("P", (mask.shape[1], mask.shape[0]), np.ascontiguousarray(mask, "uint8").tobytes())
    image.putpalette(dense.palette().flatten().tolist())
    image.save(path)


def write_folder(root, count=40, size=(40, 48), seed=0, split="train"):
    """A segmentation folder of real digit scenes: images/*.jpg and masks/*.png (palette), plus classes.txt."""
    made = scenes.make(split, count, size, seed=seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    for i, (image, mask) in enumerate(zip(made.images, made.masks, strict=True)):
        Image.fromarray((image * 255).astype("uint8")).convert("RGB").save(root / "images" / f"s{i:03d}.jpg")
        palette_png(mask, root / "masks" / f"s{i:03d}.png")
    (root / "classes.txt").write_text("\n".join(scenes.NAMES) + "\n")
    return root


TRAIN = ["train", "unet", "--param", "width=4", "--param", "depth=2", "--set", "epochs=1"]


def _spoil(root, how):
    mask = root / "masks" / "s003.png"
    if how == "size":
        Image.new("P", (10, 10)).save(mask)
        return "s003.png: the mask is 10x10 but its image s003.jpg is 40x48"
    if how == "index":
        palette_png(np.full((40, 48), 11), mask)
        return "s003.png: pixel (row 0, col 0) has class 11, but there are 11 classes"
    if how == "missing":
        mask.unlink()
        return "s003.jpg: no mask"
    if how == "rgb":
        Image.new("RGB", (48, 40)).save(mask)
        return "s003.png: a RGB mask is not a palette or grey image"
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["size", "index", "missing", "rgb"])
def test_a_bad_mask_is_one_located_line_before_training(tmp_path, run, how):
    root = write_folder(tmp_path / "data", count=8)
    expected = _spoil(root, how)
    rc, out, err = run(*TRAIN, "--data", f"folder:{root}", "--output", tmp_path / "run")
    assert rc == 2 and "Traceback" not in err
    assert expected in err, err
    assert len(err.strip().splitlines()) <= 4
    assert not (tmp_path / "run" / "model.keras").exists()


@pytest.mark.parametrize(
    "sets, expected",
    [
        (["--data", "digits"], "unknown segmentation data source 'digits'"),
        (["--data", "voc:/no/such/VOC2012"], "voc: no such folder"),
        (["--set", "data.pad=2"], "data.pad is not used by segmentation"),
        (["--set", "augment.elastic={alpha: 8, sigma: 3}"], "augment.elastic does not move masks"),
    ],
)
def test_recipes_a_segmentation_model_cannot_train_with_are_refused_by_field(tmp_path, run, sets, expected):
    rc, _, err = run(*TRAIN, *sets, "--output", tmp_path / "run")
    assert rc == 2 and expected in err and "Traceback" not in err, err


@pytest.mark.slow
def test_train_evaluate_and_predict_masks_for_images_of_other_sizes(tmp_path, run):
    root = write_folder(tmp_path / "data", count=120)
    out = tmp_path / "run"
    rc, stdout, err = run(
        *TRAIN[:-1], "epochs=3", "--set", "data.image_size=[32,32]", "--data", f"folder:{root}", "--output", out
    )
    assert rc == 0, err
    results = json.loads((out / "results.json").read_text())
    assert results["class_names"] == scenes.NAMES and 0 < results["test_mean_iou"] <= 1
    assert "test mean IoU" in stdout
    rc, stdout, err = run("evaluate", out, "--json")
    assert rc == 0, err
    report = json.loads(stdout)
    # kzoo evaluate's confusion matrix gives Keras' MeanIoU of the same test split
    assert report["members"][0]["mean_iou"] == pytest.approx(results["test_mean_iou"], abs=1e-4)
    assert set(report["members"][0]["iou"]) == set(scenes.NAMES)
    new = tmp_path / "new"
    new.mkdir()
    sizes = [(57, 80), (30, 30)]
    for i, size in enumerate(sizes):
        image = scenes.make("test", 1, size, seed=9 + i).images[0]
        Image.fromarray((image * 255).astype("uint8")).save(new / f"n{i}.png")
    rc, stdout, err = run("predict", out, new, "--output", tmp_path / "masks", "--json")
    assert rc == 0, err
    rows = json.loads(stdout)["predictions"]
    for row, size in zip(rows, sizes, strict=True):
        with Image.open(row["mask"]) as mask:
            assert mask.mode == "P" and mask.size == (size[1], size[0])
        assert (
            row["size"] == list(size)
            and (tmp_path / "masks" / f"{row['file'].split('/')[-1][:-4]}_overlay.png").exists()
        )
    rc, _, err = run("finetune", "--from", out, "--data", "digits", "--output", tmp_path / "ft")
    assert rc == 2 and "is a segmentation model" in err, err


@pytest.mark.parametrize(
    "extra, expected",
    [
        (["--to", "vgg16"], "--to vgg16: expects a segmentation or detection file built on a backbone"),
        (["--to", "fcn8s", "--cut", "block3"], "--cut is for a new classifier head, not with --to"),
        (["--to", "fcn8s", "--classes", "3"], "--classes is for a new classifier head"),
    ],
)
def test_finetune_to_a_segmentation_file_refuses_what_it_cannot_do(tmp_path, run, extra, expected):
    rc, _, err = run("finetune", "--from", "vgg11", *extra, "--output", tmp_path / "ft")
    assert rc == 2 and expected in err and "Traceback" not in err, err


@pytest.mark.slow
def test_finetune_to_fcn_starts_from_the_classifiers_weights(tmp_path, run):
    """Long et al.'s central step from the command line: a digit classifier becomes FCN-8s's backbone."""
    import keras

    import kzoo  # noqa: F401  (registers kzoo's Keras objects)

    clf = tmp_path / "clf"
    thin = ["--param", "input=[32,32,1]", "--param", "widths=[8,8,16,16,16]"]
    rc, _, err = run("train", "vgg11", *thin, "--set", "epochs=1", "--set", "data.pad=0", "--output", clf)
    assert rc == 0, err
    fcn = tmp_path / "fcn"
    rc, stdout, err = run(
        "finetune", "--from", clf, "--to", "fcn8s", "--param", "fc_width=64", "--set", "epochs=1",
        "--set", "data.image_size=[32,32]", "--output", fcn,
    )  # fmt: skip
    assert rc == 0, err
    assert "8 layers start from clf" in err and "test mean IoU" in stdout
    before = keras.saving.load_model(clf / "model.keras").get_layer("block1_conv1").get_weights()[0]
    after = keras.saving.load_model(fcn / "model.keras").get_layer("block1_conv1").get_weights()[0]
    assert after.shape == before.shape == (3, 3, 1, 8)
    assert np.corrcoef(before.ravel(), after.ravel())[0, 1] > 0.9  # one epoch moved it a little, from there


def test_class_weights_of_the_wrong_length_are_refused_by_field(tmp_path, run):
    rc, _, err = run(*TRAIN, "--set", "class_weights=[1, 2]", "--output", tmp_path / "run")
    assert rc == 2 and "class_weights has 2 weights, but scenes has 11 classes" in err, err


@pytest.mark.slow
def test_balanced_class_weights_train(tmp_path, run):
    rc, stdout, err = run(*TRAIN, "--set", "class_weights=balanced", "--set", "data.image_size=[32,32]",
                          "--output", tmp_path / "run")  # fmt: skip
    assert rc == 0, err
    assert "class_weights: balanced" in (tmp_path / "run" / "recipe.yaml").read_text()
