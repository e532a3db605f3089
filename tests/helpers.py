"""Data the tests write: image folders and random weights (shared by tests in several folders)."""

from __future__ import annotations

import numpy as np


def write_digit_folder(root, digits=(5, 6, 7, 8, 9), per_class=30):
    """PNGs of scikit-learn's 8x8 digits (upsampled to 24x24), a sub-folder per class."""
    import tensorflow as tf
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    for d in digits:
        (root / str(d)).mkdir(parents=True)
        for i, row in enumerate(x[y == d][:per_class]):
            image = np.kron(row.reshape(8, 8) / 16 * 255, np.ones((3, 3))).astype("uint8")[..., None]
            (root / str(d) / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())


def write_image_folder(root, classes=("cat", "dog"), per_class=10, size=12):
    import tensorflow as tf

    rng = np.random.default_rng(1)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            image = rng.integers(0, 255, (size, size, 3), dtype="uint8")
            image[..., c % 3] = 255  # a colour per class
            (root / name / f"{i}.png").write_bytes(tf.io.encode_png(image).numpy())


def randomize(model, seed=0):
    """Give every weight a random value (moving variances positive), so the port is really tested."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        values = []
        for w in layer.weights:
            v = np.asarray(w)
            if "variance" in w.path:
                values.append(rng.uniform(0.5, 1.5, v.shape))
            elif "gamma" in w.path:
                values.append(rng.uniform(0.5, 1.5, v.shape))
            elif v.ndim >= 2:
                values.append(v * rng.uniform(0.8, 1.2, v.shape))
            else:
                values.append(rng.normal(0, 0.1, v.shape))
        if values:
            layer.set_weights([x.astype("float32") for x in values])


def caffe_definition(name):
    """A released Caffe network definition in ../shared/caffe (the test skips, saying why, where it is absent)."""
    from pathlib import Path

    import pytest

    path = Path(__file__).resolve().parents[2] / "shared" / "caffe" / name
    if not path.is_file():
        pytest.skip(f"{path} is absent (the authors' Caffe definitions live in ../shared/caffe)")
    return path


def opencv_forward(prototxt, caffemodel, x):
    """OpenCV's dnn (the independent Caffe runtime) on channels-last images ``x``: its output, channels last."""
    import cv2

    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(caffemodel))
    net.setInput(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    out = net.forward()
    return out.transpose(0, 2, 3, 1) if out.ndim == 4 else out


def relative_difference(a, b):
    """max |a - b| over max |a|: the difference relative to the output's scale."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64).reshape(np.shape(a))
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-12))


def write_coco(root, count=6, size=(40, 48), seed=0, split="train", name="annotations.json"):
    """A COCO folder of real digit scenes: images/*.png and a COCO JSON file beside them (category ids 1-10)."""
    import json

    from PIL import Image

    from kzoo.tasks import scenes

    made = scenes.make(split, count, size, seed=seed)
    (root / "images").mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for i, (image, found) in enumerate(zip(made.images, made.boxes, strict=True)):
        Image.fromarray((image * 255).astype("uint8")).save(root / "images" / f"s{i:03d}.png")
        images.append({"id": 100 + i, "file_name": f"s{i:03d}.png", "width": size[1], "height": size[0]})
        for cls, r0, c0, r1, c1 in found.tolist():
            annotations.append(
                {"id": len(annotations) + 1, "image_id": 100 + i, "category_id": cls,
                 "bbox": [c0, r0, c1 - c0, r1 - r0], "area": (c1 - c0) * (r1 - r0), "iscrowd": 0}
            )  # fmt: skip
    categories = [{"id": d + 1, "name": f"digit{d}"} for d in range(10)]
    doc = {"images": images, "annotations": annotations, "categories": categories}
    (root / name).write_text(json.dumps(doc, indent=1))
    return root / name, made


#: The top of a small architecture file (name t, a 32x32 RGB input); a test appends its layers: to it.
TINY_HEAD = """
name: t
input: [32, 32, 3]
"""


def layer_names(graph):
    """A graph's node names, in order."""
    return list(graph.nodes)
