"""Detection data: images with boxes, from the built-in scenes, COCO JSON, YOLO's text labels, or TFDS.

Every source gives, per image, its boxes as an array (k, 5) of ``class, y0, x0, y1, x1``: the class an index
0..C-1, the corners fractions of the image's height and width (0 the top or left edge, 1 the bottom or right
one). Images are resized to the training size (stretched, as YOLO does), which leaves such boxes as they are.

* ``scenes`` — the built-in scenes of real digits (kzoo.tasks.scenes), each digit's tight box; 10 classes.
* ``coco:PATH.json`` — COCO's format: ``images`` (id, file_name, width, height), ``annotations`` (image_id,
  category_id, bbox [x, y, width, height] in pixels) and ``categories`` (id, name). Images are found beside the
  JSON file, in ``images/`` beside it, or, for COCO's own layout (``annotations/instances_val2017.json``), in
  ``val2017/`` beside ``annotations/``. Crowd annotations (``iscrowd: 1``) are left out, as COCO's evaluation
  leaves them out of what a detector must find.
* ``yolo:PATH`` — YOLO's layout: ``PATH/images/`` and ``PATH/labels/``, a ``STEM.txt`` per image with a line
  ``class x_centre y_centre width height`` per box (fractions of the image); an image without a label file
  holds no objects. ``train/``, ``val/``, ``test/`` folders may each hold both. Class names come from
  ``PATH/classes.txt`` (one per line) or ``PATH/data.yaml``'s ``names`` (else they are numbered).
* ``tfds:NAME`` — a TensorFlow Datasets set with an ``image`` and ``objects`` holding ``bbox`` and ``label``
  (voc, coco/2017).

Before training, every box is checked: it lies inside its image (a pixel's tolerance, then clipped), has a
positive size, and its class is known; every image exists. Errors name the file and line (YOLO), or the
annotation (COCO). A source without a split of its own is divided by ``data.validation_split`` and
``test_split`` in a fixed random order.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError

SOURCES = "scenes, coco:PATH.json, yolo:PATH (images/ and labels/) or tfds:NAME"
TOLERANCE = 1.0  # pixels a COCO box may pass its image's edge (rounding in the annotation) before it is an error
EMPTY = np.zeros((0, 5), "float32")


# -- COCO JSON --------------------------------------------------------------------------------------------------
def _coco_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON ({exc.msg})") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot be read ({exc})") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(data, dict) or not isinstance(data.get(key), list):
            raise SpecError(
                f"{path}: a COCO file has lists 'images', 'annotations' and 'categories'; {key!r} is missing",
                hint="COCO's format: https://cocodataset.org/#format-data (object detection)",
            )
    return data


def _image_root(path: Path, images: list[dict]) -> Path:
    """The folder COCO's file names are relative to."""
    candidates = [path.parent, path.parent / "images"]
    if path.parent.name == "annotations":  # COCO's layout: annotations/instances_val2017.json, val2017/
        candidates.append(path.parent.parent / path.stem.rpartition("_")[2])
    first = images[0].get("file_name") if images else None
    for root in candidates:
        if isinstance(first, str) and (root / first).is_file():
            return root
    raise SpecError(
        f"{path}: its first image {first!r} is in none of {', '.join(str(c) for c in candidates)}",
        hint="put the images beside the JSON file or in images/ beside it",
    )


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _field(path: Path, what: str, record: Any, key: str, kind: Any) -> Any:
    value = record.get(key) if isinstance(record, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise SpecError(f"{path}: {what} has no valid {key!r} (got {value!r})", hint="COCO's object detection format")
    return value


def coco_records(path: Path) -> tuple[list[tuple[Path, np.ndarray]], list[str]]:
    """[(image file, boxes)] of a COCO JSON file, in its images' order, and the class names (its categories in
    id order)."""
    data = _coco_json(path)
    cats = sorted(data["categories"], key=lambda c: _field(path, f"category {c!r}", c, "id", int))
    index = {c["id"]: i for i, c in enumerate(cats)}
    names = [str(_field(path, f"category {c['id']}", c, "name", str)) for c in cats]
    if len(index) != len(cats) or not cats:
        raise SpecError(f"{path}: categories need distinct ids (and there must be at least one)")
    if not data["images"]:
        raise SpecError(f"{path}: 'images' lists no images")
    root = _image_root(path, data["images"])
    images: dict[int, tuple[Path, float, float]] = {}
    for n, im in enumerate(data["images"]):
        what = f"images[{n}]"
        file = root / _field(path, what, im, "file_name", str)
        if not file.is_file():
            raise SpecError(f"{path}: {what} {file} does not exist", hint="each image in 'images' must be a file")
        width, height = im.get("width"), im.get("height")
        if not (_number(width) and _number(height) and width > 0 and height > 0):
            from PIL import Image

            with Image.open(file) as opened:
                width, height = opened.size
        key = _field(path, what, im, "id", int)
        if key in images:
            raise SpecError(f"{path}: {what} has the id {key} of an earlier image", hint="image ids are distinct")
        images[key] = (file, float(width), float(height))
    boxes: dict[int, list] = {k: [] for k in images}
    for n, ann in enumerate(data["annotations"]):
        what = f"annotations[{n}] (id {ann.get('id') if isinstance(ann, dict) else '?'})"
        image_id = _field(path, what, ann, "image_id", int)
        cat = _field(path, what, ann, "category_id", int)
        if image_id not in images:
            raise SpecError(f"{path}: {what} is of image {image_id}, which 'images' does not list")
        if cat not in index:
            raise SpecError(f"{path}: {what} has category {cat}, which 'categories' does not list")
        bbox = ann.get("bbox")
        if not (isinstance(bbox, list) and len(bbox) == 4 and all(_number(v) for v in bbox)):
            raise SpecError(f"{path}: {what}: bbox is [x, y, width, height] in pixels, got {bbox!r}")
        if ann.get("iscrowd"):
            continue
        file, width, height = images[image_id]
        x, y, w, h = (float(v) for v in bbox)
        if w <= 0 or h <= 0:
            raise SpecError(f"{path}: {what}: bbox {bbox} has no area", hint="width and height must be positive")
        if x < -TOLERANCE or y < -TOLERANCE or x + w > width + TOLERANCE or y + h > height + TOLERANCE:
            raise SpecError(
                f"{path}: {what}: bbox {bbox} leaves its {width:g}x{height:g} image {file.name}",
                hint="bbox is [x, y, width, height] from the top-left corner, in pixels",
            )
        corners = np.clip([y / height, x / width, (y + h) / height, (x + w) / width], 0.0, 1.0)
        boxes[image_id].append([index[cat], *corners])
    return [(images[k][0], _array(boxes[k])) for k in images], names


def _array(rows: list) -> np.ndarray:
    return np.array(rows, "float32").reshape(-1, 5)


# -- YOLO text labels -------------------------------------------------------------------------------------------
def read_labels(path: Path, classes: int | None) -> np.ndarray:
    """One YOLO label file as boxes (k, 5); a line that is not ``class xc yc w h`` inside the image is an error
    at its line."""
    if not path.is_file():
        return EMPTY
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig", errors="replace").splitlines(), 1):
        fields = line.split()
        if not fields:
            continue
        where = f"{path}:{number}"
        try:
            cls, xc, yc, w, h = int(fields[0]), *(float(v) for v in fields[1:])
            if not all(math.isfinite(v) for v in (xc, yc, w, h)):
                raise ValueError("not finite")
        except ValueError:
            raise SpecError(
                f"{where}: expected 'class x_centre y_centre width height', got {line.strip()!r}",
                hint="an integer class, then four fractions of the image's width and height",
            ) from None
        if cls < 0 or (classes is not None and cls >= classes):
            raise SpecError(f"{where}: class {cls}, but there are {classes} classes (0-{(classes or 1) - 1})")
        y0, x0, y1, x1 = yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2
        if w <= 0 or h <= 0 or min(y0, x0) < -1e-3 or max(y1, x1) > 1 + 1e-3:
            raise SpecError(
                f"{where}: box {line.strip()!r} is not inside the image",
                hint="x_centre, y_centre, width, height are fractions of the image (0-1), the box within it",
            )
        rows.append([cls, *np.clip([y0, x0, y1, x1], 0.0, 1.0)])
    return _array(rows)


def _yolo_names(root: Path) -> list[str] | None:
    if (root / "classes.txt").is_file():
        names = [n.strip() for n in (root / "classes.txt").read_text(encoding="utf-8").splitlines() if n.strip()]
        if not names or len(set(names)) != len(names):
            raise SpecError(f"{root / 'classes.txt'}: distinct class names, one per line")
        return names
    if (root / "data.yaml").is_file():
        import yaml

        try:
            data = yaml.safe_load((root / "data.yaml").read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
            raise SpecError(f"{root / 'data.yaml'}{where}: not valid YAML") from None
        names = data.get("names") if isinstance(data, dict) else None
        if isinstance(names, dict):
            names = [names[k] for k in sorted(names)]
        if not isinstance(names, list) or not names:
            raise SpecError(f"{root / 'data.yaml'}: 'names' lists the classes", hint="names: [cat, dog]")
        return [str(n) for n in names]
    return None


def yolo_lists(root: Path) -> tuple[dict[str, list], list[str] | None]:
    """{split: [(image, label file)]} of a YOLO folder (splits it has), and its class names."""
    from kzoo.train.images import list_images

    splits = {k: root / k for k in ("train", "val", "test") if (root / k / "images").is_dir()}
    folders = splits or {"train": root}
    lists = {}
    for split, folder in folders.items():
        if not (folder / "images").is_dir():
            raise SpecError(f"yolo: {folder} holds no images/ folder", path="data.source", hint=SOURCES)
        images = list_images(folder / "images")
        if not images:
            raise SpecError(f"yolo: {folder / 'images'} holds no images", path="data.source")
        labels = folder / "labels"
        lists[split] = [(i, labels / i.relative_to(folder / "images").with_suffix(".txt")) for i in images]
    return lists, _yolo_names(root)


# -- the splits -------------------------------------------------------------------------------------------------
def padded(boxes: list[np.ndarray], most: int) -> np.ndarray:
    """(n, most, 5) float32: each image's boxes, then rows of class -1 (no box)."""
    out = np.zeros((len(boxes), most, 5), "float32")
    out[:, :, 0] = -1
    for i, b in enumerate(boxes):
        out[i, : len(b)] = b[:most]
    return out


def file_dataset(records: list[tuple[Path, np.ndarray]], size: tuple[int, int], channels: int, most: int) -> Any:
    """(image, boxes) of files as a tf.data dataset, images prepared to ``size``, boxes padded to ``most``."""
    from kzoo.train.images import dataset

    return dataset([str(f) for f, _ in records], padded([b for _, b in records], most), size, channels)


def scene_records(split: str, count: int, size: tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The built-in scenes' images and their boxes (digit d is class d)."""
    from kzoo.tasks import scenes

    made = scenes.make(split, count, size)
    scale = np.array([size[0], size[1], size[0], size[1]], "float32")
    boxes = [_array([[b[0] - 1, *(b[1:] / scale)] for b in s]) for s in made.boxes]
    return made.images, boxes


SCENE_NAMES = [str(d) for d in range(10)]
TFDS_MOST = 100  # boxes kept per image of a TFDS set (COCO 2017 has at most 93, VOC at most 42)


def tfds_splits(name: str, spec: Any, size: tuple[int, int], channels: int) -> Any:
    """A TFDS set with an ``image`` and ``objects`` of ``bbox`` (fractions: ymin, xmin, ymax, xmax) and
    ``label``, as Splits of (image, boxes)."""
    import tensorflow as tf

    from kzoo.train.arrays import Splits
    from kzoo.train.data import tfds_plan
    from kzoo.train.images import prepare

    builder, plan = tfds_plan(name, spec)
    features = builder.info.features
    objects = features["objects"] if "objects" in features else None
    if "image" not in features or objects is None or "bbox" not in objects or "label" not in objects:
        raise SpecError(
            f"TFDS data set {name!r} has no image with objects' bbox and label (it has {', '.join(features)})",
            path="data.source",
            hint="a detection data set has image and objects: {bbox, label} (voc, coco/2017)",
        )
    names = list(objects["label"].names)

    def pair(example):
        image = tf.image.convert_image_dtype(example["image"], tf.float32)
        found = tf.concat(
            [
                tf.cast(example["objects"]["label"], tf.float32)[:, None],
                tf.cast(example["objects"]["bbox"], tf.float32),
            ],
            axis=1,
        )[:TFDS_MOST]
        fill = tf.tile(tf.constant([[-1.0, 0, 0, 0, 0]]), [TFDS_MOST - tf.shape(found)[0], 1])
        return prepare(image, size, channels), tf.ensure_shape(tf.concat([found, fill], 0), (TFDS_MOST, 5))

    ds = {k: builder.as_dataset(split=split).map(pair) for k, split in plan.items()}
    n = {k: int(ds[k].reduce(0, lambda c, _: c + 1).numpy()) for k in ds}
    return Splits(
        ds["train"], ds["val"], ds["test"], len(names), names, n["train"], f"tfds:{name}", n["val"], n["test"],
        task="detection",
    )  # fmt: skip


def load(spec: Any, size: tuple[int, int], channels: int) -> Any:
    """The Splits of a detection source (``task`` detection); targets are (most, 5) padded boxes."""
    import tensorflow as tf

    from kzoo.tasks.masks import divide
    from kzoo.train.arrays import Splits
    from kzoo.train.images import prepare

    kind, _, rest = spec.source.partition(":")
    if spec.source == "scenes":
        from kzoo.tasks import scenes

        n = scenes.counts(spec.validation_split, spec.test_split)
        made = {k: scene_records(k, n[k], size) for k in ("train", "val", "test")}
        most = max(len(b) for _, boxes in made.values() for b in boxes)
        ds = {
            k: tf.data.Dataset.from_tensor_slices((prepare(x[..., None], size, channels), padded(b, most)))
            for k, (x, b) in made.items()
        }
        return Splits(
            ds["train"], ds["val"], ds["test"], 10, list(SCENE_NAMES), n["train"], "scenes", n["val"], n["test"], 1,
            task="detection",
        )  # fmt: skip
    if kind == "tfds":
        return tfds_splits(rest, spec, size, channels)
    root = Path(rest).expanduser()
    if kind == "coco":
        records, names = coco_records(root)
        lists = {"train": records}
        source = f"coco:{root}"
    else:
        files, names = yolo_lists(root)
        lists = {k: [(i, read_labels(t, len(names) if names else None)) for i, t in v] for k, v in files.items()}
        source = f"yolo:{root}"
    if "test" not in lists:
        lists["test"], lists["train"] = divide(lists["train"], (spec.test_split,))
    if "val" not in lists:
        lists["val"], lists["train"] = divide(lists["train"], (spec.validation_split,))
    if names is None:
        top = max((int(b[:, 0].max()) for v in lists.values() for _, b in v if len(b)), default=0)
        names = [str(i) for i in range(max(top + 1, 1))]
    if not any(len(b) for _, b in lists["train"]):
        raise SpecError(f"{source}: the training images hold no boxes", hint="a detector learns from labelled objects")
    most = max(1, max(len(b) for v in lists.values() for _, b in v))
    ds = {k: file_dataset(lists[k], size, channels, most) for k in ("train", "val", "test")}
    from kzoo.train.images import colour_or_grey

    held = colour_or_grey([i for i, _ in lists["train"][:16]])
    return Splits(
        ds["train"], ds["val"], ds["test"], len(names), names, len(lists["train"]), source, len(lists["val"]),
        len(lists["test"]), held, task="detection",
    )  # fmt: skip
