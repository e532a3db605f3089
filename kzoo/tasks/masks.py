"""Segmentation data: images with a class per pixel, from the built-in scenes, a folder, or PASCAL VOC's layout.

* ``scenes`` — kzoo.tasks.scenes: real MNIST digits on a canvas, 11 classes (background + 10 digits), made at
  the training size; ``data.validation_split`` and ``test_split`` divide its 3,000 scenes.
* ``folder:PATH`` — ``PATH/images/`` and ``PATH/masks/`` (a mask is the PNG with its image's stem), or
  ``train/``, ``val/``, ``test/`` folders each holding both; ``PATH/classes.txt`` names the classes, one per
  line (else they are numbered, as many as the largest index + 1).
* ``tfds:NAME`` — a TensorFlow Datasets set with an ``image`` and a ``segmentation_mask`` (or ``mask``) image
  feature (oxford_iiit_pet); its classes are numbered, as many as the largest index in training + 1.
* ``voc:PATH`` — PASCAL VOC's ``JPEGImages/``, ``SegmentationClass/`` and ``ImageSets/Segmentation/train.txt``
  and ``val.txt`` (VOC 2012's test masks are not public: val.txt is the test split here, and the validation
  images are held out of train.txt); its 21 classes.

A mask is a PNG of class indices: a palette image (VOC's) or a grey one; 255 marks pixels that count for
nothing (VOC's object borders). Before training, every mask is read and checked: it exists, is a palette or
grey image, has its image's size, and holds no index at or above the class count other than 255. Masks are
resized to the training size by nearest neighbour (images bilinearly), so no new class values appear.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError

IGNORE = 255
VOC_CLASSES = (
    "background aeroplane bicycle bird boat bottle bus car cat chair cow diningtable dog horse motorbike person "
    "pottedplant sheep sofa train tvmonitor"
).split()
MASK_MODES = {"P", "L", "1", "I", "I;16"}


def read_mask(path: str | Path) -> np.ndarray:
    """A mask file as (rows, cols) class indices; an RGB image, or one that cannot be read, is a SpecError."""
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: no such mask", hint="each image needs a mask PNG with its stem in masks/")
    try:
        with Image.open(path) as image:
            if image.mode not in MASK_MODES:
                raise SpecError(
                    f"{path}: a {image.mode} mask is not a palette or grey image of class indices",
                    hint="save masks as palette (mode P, as PASCAL VOC's) or greyscale PNGs whose values are classes",
                )
            return np.asarray(image).astype("int64")
    except (OSError, UnidentifiedImageError) as exc:
        raise SpecError(f"{path}: not a readable mask ({exc})") from None


def check_pair(image: Path, mask_file: Path, classes: int | None) -> int:
    """One image and its mask agree in size and the mask holds valid indices; returns the largest index."""
    from PIL import Image

    mask = read_mask(mask_file)
    try:
        with Image.open(image) as im:
            cols, rows = im.size
    except OSError as exc:
        raise SpecError(f"{image}: not a readable image ({exc})") from None
    if mask.shape != (rows, cols):
        raise SpecError(
            f"{mask_file}: the mask is {mask.shape[0]}x{mask.shape[1]} but its image {image.name} is {rows}x{cols}",
            hint="a mask has one class index per pixel of its image",
        )
    labelled = mask[mask != IGNORE]
    top = int(labelled.max()) if labelled.size else 0
    if labelled.size and labelled.min() < 0:
        raise SpecError(f"{mask_file}: negative class index {int(labelled.min())}")
    if classes is not None and top >= classes:
        r, c = np.argwhere((mask >= classes) & (mask != IGNORE))[0]
        raise SpecError(
            f"{mask_file}: pixel (row {r}, col {c}) has class {int(mask[r, c])}, but there are {classes} classes "
            f"(0-{classes - 1}; {IGNORE} = ignore)",
            hint="check the mask, or the class names in classes.txt",
        )
    return top


def _pairs(images_dir: Path, masks_dir: Path) -> list[tuple[Path, Path]]:
    from kzoo.train.images import list_images

    if not images_dir.is_dir() or not masks_dir.is_dir():
        raise SpecError(
            f"{images_dir.parent}: a segmentation folder holds images/ and masks/",
            hint="folder/images/a.jpg with folder/masks/a.png, ...",
        )
    pairs = []
    for image in list_images(images_dir):
        mask = masks_dir / image.relative_to(images_dir).with_suffix(".png")
        if not mask.is_file():
            raise SpecError(f"{image}: no mask {mask}", hint="each image needs a mask PNG with its stem")
        pairs.append((image, mask))
    if not pairs:
        raise SpecError(f"{images_dir}: no images")
    return pairs


def _class_names(root: Path) -> list[str] | None:
    names_file = root / "classes.txt"
    if not names_file.is_file():
        return None
    names = [n.strip() for n in names_file.read_text(encoding="utf-8").splitlines() if n.strip()]
    if len(names) < 2 or len(set(names)) != len(names):
        raise SpecError(f"{names_file}: at least two distinct class names, one per line")
    return names


def divide(pairs: list, fractions: tuple[float, ...]) -> list[list]:
    """Parts of ``pairs`` by ``fractions`` (the last part the rest), in a fixed random order."""
    order = np.random.default_rng(0).permutation(len(pairs))
    parts, start = [], 0
    for f in fractions:
        n = int(round(len(pairs) * f))
        parts.append([pairs[i] for i in order[start : start + n]])
        start += n
    parts.append([pairs[i] for i in order[start:]])
    return parts


def folder_lists(root: Path, spec: Any) -> tuple[dict[str, list], list[str] | None]:
    """{split: [(image, mask)]} of a segmentation folder, and its class names (None: numbered)."""
    splits = {k: root / k for k in ("train", "val", "test") if (root / k).is_dir()}
    if "train" in splits:
        lists = {k: _pairs(d / "images", d / "masks") for k, d in splits.items()}
    else:
        lists = {"train": _pairs(root / "images", root / "masks")}
    if "test" not in lists:
        lists["test"], lists["train"] = divide(lists["train"], (spec.test_split,))
    if "val" not in lists:
        lists["val"], lists["train"] = divide(lists["train"], (spec.validation_split,))
    return lists, _class_names(root)


def voc_lists(root: Path, spec: Any) -> tuple[dict[str, list], list[str]]:
    """PASCAL VOC's segmentation lists: train.txt (less the validation images) and val.txt as test."""
    sets = root / "ImageSets" / "Segmentation"
    lists = {}
    for split, file in (("train", "train.txt"), ("test", "val.txt")):
        if not (sets / file).is_file():
            raise SpecError(f"voc: {sets / file} is missing", hint="voc:PATH names VOC2012/ (JPEGImages/, ...)")
        stems = [s.strip() for s in (sets / file).read_text().splitlines() if s.strip()]
        lists[split] = [(root / "JPEGImages" / f"{s}.jpg", root / "SegmentationClass" / f"{s}.png") for s in stems]
        for image, _ in lists[split]:
            if not image.is_file():
                raise SpecError(f"{sets / file}: {image} is missing")
    lists["val"], lists["train"] = divide(lists["train"], (spec.validation_split,))
    return lists, list(VOC_CLASSES)


def check_lists(lists: dict[str, list], names: list[str] | None) -> int:
    """Every pair checked (sizes, indices); the class count."""
    classes = len(names) if names else None
    top = max(check_pair(image, mask, classes) for pairs in lists.values() for image, mask in pairs)
    return classes if classes is not None else max(top + 1, 2)


def file_dataset(pairs: list, size: tuple[int, int], channels: int) -> Any:
    """(image, mask) pairs of files as a tf.data dataset, prepared to ``size``."""
    import tensorflow as tf

    from kzoo.train.images import decode, prepare

    def read(image: Any, mask: Any) -> tuple[np.ndarray, np.ndarray]:
        text = lambda p: p.decode() if isinstance(p, bytes) else str(p)  # noqa: E731
        return decode(text(image), channels), read_mask(text(mask)).astype("int32")

    def load(image, mask):
        x, y = tf.numpy_function(read, [image, mask], (tf.uint8, tf.int32), stateful=False)
        x.set_shape([None, None, channels])
        y.set_shape([None, None])
        return prepare(tf.cast(x, tf.float32) / 255.0, size, channels), resize_mask(y, size)

    files = ([str(i) for i, _ in pairs], [str(m) for _, m in pairs])
    return tf.data.Dataset.from_tensor_slices(files).map(load, num_parallel_calls=tf.data.AUTOTUNE)


def resize_mask(mask: Any, size: tuple[int, int]) -> Any:
    """A (rows, cols) mask at ``size``, by nearest neighbour."""
    import tensorflow as tf

    resized = tf.image.resize(mask[..., None], size, method="nearest")[..., 0]
    return tf.cast(resized, tf.int32)


def array_dataset(x: np.ndarray, y: np.ndarray, size: tuple[int, int], channels: int) -> Any:
    import tensorflow as tf

    from kzoo.train.images import prepare

    x = x[..., None] if x.ndim == 3 else x
    masks = resize_mask(tf.constant(y.astype("int32")), size) if y.shape[1:] != tuple(size) else y.astype("int32")
    return tf.data.Dataset.from_tensor_slices((prepare(x, size, channels), masks))


MASK_FEATURES = ("segmentation_mask", "mask")


def tfds_splits(name: str, spec: Any, size: tuple[int, int], channels: int) -> tuple[dict[str, Any], int, int]:
    """A TFDS data set with an ``image`` and a ``segmentation_mask`` (or ``mask``) image feature, as
    oxford_iiit_pet has: its splits of (image, mask), its class count (the largest index in training + 1) and
    its training images, counted in the same pass."""
    import tensorflow as tf

    from kzoo.train.data import tfds_plan
    from kzoo.train.images import prepare

    builder, plan = tfds_plan(name, spec)
    features = builder.info.features
    key = next((k for k in MASK_FEATURES if k in features), None)
    if key is None or "image" not in features:
        raise SpecError(
            f"TFDS data set {name!r} has no image and segmentation mask (it has {', '.join(features)})",
            path="data.source",
            hint=f"a segmentation data set has an image and one of {', '.join(MASK_FEATURES)}",
        )

    def pair(example):
        image = tf.image.convert_image_dtype(example["image"], tf.float32)
        mask = tf.cast(example[key], tf.int32)
        return prepare(image, size, channels), resize_mask(mask[..., 0] if mask.shape.rank == 3 else mask, size)

    ds = {k: builder.as_dataset(split=split).map(pair) for k, split in plan.items()}

    def count_and_top(state, example):
        _, mask = example
        return state[0] + 1, tf.maximum(state[1], tf.reduce_max(tf.where(mask == IGNORE, 0, mask)))

    train_size, top = ds["train"].map(lambda x, m: (0, m)).reduce((tf.constant(0), tf.constant(0)), count_and_top)
    return ds, max(int(top) + 1, 2), int(train_size)


def load(spec: Any, size: tuple[int, int], channels: int) -> Any:
    """The Splits of a segmentation source (``task`` segmentation)."""
    from kzoo.tasks import scenes
    from kzoo.train.arrays import Splits

    kind, _, rest = spec.source.partition(":")
    if spec.source == "scenes":
        n = scenes.counts(spec.validation_split, spec.test_split)
        made = {k: scenes.make(k, n[k], size) for k in ("train", "val", "test")}
        ds = {k: array_dataset(s.images, s.masks, size, channels) for k, s in made.items()}
        return Splits(
            ds["train"], ds["val"], ds["test"], len(scenes.NAMES), list(scenes.NAMES), n["train"], "scenes",
            n["val"], n["test"], 1, task="segmentation",
        )  # fmt: skip
    if kind == "tfds":
        ds, classes, train_size = tfds_splits(rest, spec, size, channels)
        n = {"train": train_size, **{k: int(ds[k].reduce(0, lambda c, _: c + 1).numpy()) for k in ("val", "test")}}
        return Splits(
            ds["train"], ds["val"], ds["test"], classes, [str(i) for i in range(classes)], n["train"],
            spec.source, n["val"], n["test"], task="segmentation",
        )  # fmt: skip
    root = Path(rest).expanduser()
    lists, names = (voc_lists if kind == "voc" else folder_lists)(root, spec)
    classes = check_lists(lists, names)
    names = names or [str(i) for i in range(classes)]
    from kzoo.train.images import colour_or_grey

    ds = {k: file_dataset(lists[k], size, channels) for k in ("train", "val", "test")}
    n = {k: len(lists[k]) for k in ("train", "val", "test")}
    held = colour_or_grey([i for i, _ in lists["train"][:16]])
    return Splits(
        ds["train"], ds["val"], ds["test"], classes, names, n["train"], f"{kind}:{root}", n["val"], n["test"], held,
        task="segmentation",
    )  # fmt: skip
