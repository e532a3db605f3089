"""Detection through the command line: bad boxes refused before training (in-process, located), and a real run on
a COCO-JSON folder, evaluated by kzoo and by pycocotools on kzoo's predictions, and used on new images of other
sizes (slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import write_coco
from PIL import Image

from kzoo.tasks import scenes

SMALL = ["--param", "backbone=lenet5_modern", "--param", "head_convs=0", "--param", "fc_width=64"]


def _spoil(path, how):
    doc = json.loads(path.read_text())
    if how == "outside":
        doc["annotations"][4]["bbox"] = [30, 30, 30, 30]
        message = "annotations[4] (id 5): bbox [30, 30, 30, 30] leaves its 48x40 image"
    elif how == "category":
        doc["annotations"][0]["category_id"] = 42
        message = "annotations[0] (id 1) has category 42, which 'categories' does not list"
    elif how == "empty":
        doc["annotations"] = []
        message = "the training images hold no boxes"
    else:
        doc["images"][2]["file_name"] = "missing.png"
        message = "images[2]"
    path.write_text(json.dumps(doc))
    return message


@pytest.mark.parametrize("how", ["outside", "category", "image", "empty"])
def test_bad_coco_files_are_refused_before_training(tmp_path, run, how):
    path, _ = write_coco(tmp_path, count=8)
    message = _spoil(path, how)
    rc, out, err = run("train", "yolo_v1", *SMALL, "--param", "input=[40,48,1]", "--data", f"coco:{path}",
                       "--output", tmp_path / "run")  # fmt: skip
    assert rc != 0 and message in err and "Traceback" not in err
    assert not (tmp_path / "run" / "model.keras").exists()


def test_yolo_folders_with_bad_labels_are_refused_at_the_line(tmp_path, run):
    root = tmp_path / "set"
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    for i in range(4):
        Image.new("L", (30, 20)).save(root / "images" / f"a{i}.png")
        (root / "labels" / f"a{i}.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "labels" / "a2.txt").write_text("0 0.5 0.5 0.2 0.2\n0 0.95 0.5 0.2 0.2\n")
    rc, out, err = run("train", "yolo_v1", *SMALL, "--param", "input=[32,32,1]", "--data", f"yolo:{root}")
    assert rc != 0 and "a2.txt:2: box '0 0.95 0.5 0.2 0.2' is not inside the image" in err


def test_unknown_sources_and_thresholds_are_refused(tmp_path, run):
    rc, out, err = run("train", "yolo_v1", *SMALL, "--data", "coco:" + str(tmp_path / "none.json"))
    assert rc != 0 and "none.json no such file" in err
    rc, out, err = run("predict", "yolo_v1", str(tmp_path), "--score", "2")
    assert rc != 0 and "expected a number from 0 to 1" in err


@pytest.mark.slow
def test_a_coco_folder_trains_evaluates_as_pycocotools_and_predicts_other_sizes(tmp_path, run):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    from kzoo.tasks.boxes import coco_records
    from kzoo.tasks.masks import divide
    from kzoo.train.recipe import DataSection

    path, _ = write_coco(tmp_path / "coco", count=60)
    out = tmp_path / "run"
    rc, _, err = run("train", "yolo_v1", *SMALL, "--param", "input=[40,48,1]", "--data", f"coco:{path}",
                     "--set", "epochs=3", "--set", "batch_size=8", "--output", out)  # fmt: skip
    assert rc == 0, err
    results = json.loads((out / "results.json").read_text())
    assert 0.0 <= results["test_map50"] <= 1.0 and results["class_names"][0] == "digit0"

    rc, text, err = run("evaluate", out, "--json")
    assert rc == 0, err
    report = json.loads(text)
    records, _ = coco_records(path)
    test, _ = divide(records, (DataSection(source=f"coco:{path}").test_split,))
    assert report["task"] == "detection" and report["test_images"] == len(test) == 9
    scored = report["members"][0]
    assert list(scored["per_class"]) == [f"digit{d}" for d in range(10)]

    # pycocotools on kzoo's predictions of the same test images, in their own pixels, against the JSON file
    files = [str(f) for f, _ in test]
    rc, text, err = run("predict", out / "model.keras", *files, "--score", "0.001", "--json",
                        "--output", tmp_path / "pictures")  # fmt: skip
    assert rc == 0, err
    predictions = json.loads(text)["predictions"]
    gt = COCO(str(path))
    ids = {im["file_name"]: im["id"] for im in gt.dataset["images"]}
    category = {c["name"]: c["id"] for c in gt.dataset["categories"]}
    found = [
        {"image_id": ids[f.rsplit("/", 1)[1]], "category_id": category[b["class"]], "score": b["score"],
         "bbox": [b["box"][0], b["box"][1], b["box"][2] - b["box"][0], b["box"][3] - b["box"][1]]}
        for p, f in zip(predictions, files, strict=True) for b in p["boxes"]
    ]  # fmt: skip
    assert len(found) == scored["detections"] > 0
    reference = COCOeval(gt, gt.loadRes(found), "bbox")
    reference.params.imgIds = sorted(ids[f.rsplit("/", 1)[1]] for f in files)
    reference.evaluate()
    reference.accumulate()
    reference.summarize()
    assert scored["map"] == pytest.approx(reference.stats[0], abs=1e-9)
    assert scored["map50"] == pytest.approx(reference.stats[1], abs=1e-9)
    rc, text, _ = run("evaluate", out)
    assert f"mAP@.5 {scored['map50']:.4f}" in text and "digit3" in text

    # new images of other sizes: boxes in their own pixels, and an annotated copy of each
    made = scenes.make("test", 2, (70, 90), seed=5)
    new = []
    for i, image in enumerate(made.images):
        new.append(tmp_path / f"new{i}.png")
        Image.fromarray((image * 255).astype("uint8")).convert("RGB").save(new[-1])
    rc, text, err = run("predict", out / "model.keras", *new, "--score", "0.01", "--iou", "0.3", "--json",
                        "--output", tmp_path / "drawn")  # fmt: skip
    assert rc == 0, err
    for row in json.loads(text)["predictions"]:
        assert row["size"] == [70, 90]
        picture = np.asarray(Image.open(row["picture"]))
        assert picture.shape == (70, 90, 3)
        for b in row["boxes"]:
            x0, y0, x1, y1 = b["box"]
            assert 0 <= x0 <= x1 <= 90 and 0 <= y0 <= y1 <= 70 and b["score"] >= 0.01


@pytest.mark.slow
def test_a_study_starts_a_detector_from_its_own_classifier_variant(tmp_path, run):
    """yolo_scenes' shape, a run each: the classifier trains first, the detector starts from its seed's run."""
    from pathlib import Path

    import kzoo

    net = Path(kzoo.__file__).parent / "studies" / "nets" / "yolo_lenet.yaml"
    (tmp_path / "s.yaml").write_text(
        f"name: s\narchitecture: {net}\ndata: scenes\nseeds: [3]\nset: {{epochs: 1, verbose: 0}}\nbaseline: scratch\n"
        "variants:\n  classifier: {architecture: lenet5_modern, set: {data.source: scene_digits, data.pad: 2}}\n"
        "  scratch: {}\n  pretrained: {from: classifier}\n"
    )
    rc, out, err = run("study", tmp_path / "s.yaml", "--output", tmp_path / "out", "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["metric"] == "test mAP@.5" and not doc["failed"]
    rows = {r["variant"]: r for r in doc["variants"]}
    assert rows["classifier"]["metric"] == "test accuracy" and rows["classifier"]["mean"] > 0.5
    assert rows["classifier"]["paired_difference"] is None and rows["pretrained"]["paired_seeds"] == 1
    assert "kzoo finetune: 3 layers start from seed3" in err  # c1, c3 and c5 of the classifier's seed-3 run
    assert "classifier (test accuracy)" in (tmp_path / "out" / "report.md").read_text()
