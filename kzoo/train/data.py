"""Data sources for training: built-in digits, ``npz:``, ``folder:`` and ``tfds:``.

Every source becomes three unbatched ``tf.data`` splits of (image, label),
images float32 in [0, 1], resized to the model's input. Sources without a
validation or test split are split deterministically (stratified, seed 0),
so the same command always trains and tests on the same images.

* ``digits`` — scikit-learn's 8x8 handwritten digits (1,797 images, shipped
  with the package: works offline), upsampled to the model's input.
* ``npz:PATH`` — arrays ``x_train, y_train, x_test, y_test`` and optionally
  ``x_val, y_val``: the layout of keras.datasets' ``mnist.npz``.
* ``folder:PATH`` — one sub-folder of images per class, or ``train/``,
  ``val/``, ``test/`` folders each holding such class folders.
* ``tfds:NAME`` — a TensorFlow Datasets data set in ``data_dir``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif"}


@dataclass
class Splits:
    train: Any  # tf.data.Dataset of (image, label)
    val: Any
    test: Any
    classes: int
    class_names: list[str]
    train_size: int
    source: str


def stratified_split(labels: np.ndarray, fractions: tuple[float, ...], seed: int = 0) -> list[np.ndarray]:
    """Indices of each part (last part = the rest), per class, in a fixed random order."""
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in range(len(fractions) + 1)]
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        start = 0
        for i, f in enumerate(fractions):
            n = int(round(f * len(idx)))
            parts[i].extend(idx[start : start + n])
            start += n
        parts[-1].extend(idx[start:])
    return [np.sort(np.asarray(p, dtype=int)) for p in parts]


def _prepare(images: Any, size: tuple[int, int], channels: int, pad: int = 0) -> Any:
    import tensorflow as tf

    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank == 2:
        images = images[..., None]
    if images.shape[-1] == 1 and channels == 3:
        images = tf.image.grayscale_to_rgb(images)
    elif images.shape[-1] == 3 and channels == 1:
        images = tf.image.rgb_to_grayscale(images)
    inner = (size[0] - 2 * pad, size[1] - 2 * pad)
    if tuple(images.shape[-3:-1]) != inner:
        images = tf.image.resize(images, inner)
    if pad:
        images = tf.pad(images, [[0, 0]] * (images.shape.rank - 3) + [[pad, pad], [pad, pad], [0, 0]])
    return images


def _from_arrays(x: np.ndarray, y: np.ndarray, size: tuple[int, int], channels: int, pad: int = 0) -> Any:
    import tensorflow as tf

    if x.ndim == 3:
        x = x[..., None]
    images = _prepare(x, size, channels, pad)
    return tf.data.Dataset.from_tensor_slices((images, np.asarray(y, "int32")))


def _arrays_to_splits(
    parts: dict[str, tuple[np.ndarray, np.ndarray]],
    spec: Any,
    size: Any,
    channels: int,
    source: str,
    names: list[str] | None = None,
) -> Splits:
    if "val" not in parts:
        x, y = parts["train"]
        val_idx, train_idx = stratified_split(y, (spec.validation_split,))
        parts = {**parts, "train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx])}
    labels = np.concatenate([parts[k][1] for k in ("train", "val", "test")])
    classes = int(labels.max()) + 1
    ds = {k: _from_arrays(*parts[k], size, channels, spec.pad) for k in ("train", "val", "test")}
    return Splits(
        ds["train"],
        ds["val"],
        ds["test"],
        classes,
        names or [str(i) for i in range(classes)],
        len(parts["train"][1]),
        source,
    )


def load_digits(spec: Any, size: tuple[int, int], channels: int) -> Splits:
    from sklearn.datasets import load_digits as sk_digits

    digits = sk_digits()
    x, y = digits.images.astype("float32") / 16.0, digits.target.astype("int32")
    test_idx, val_idx, train_idx = stratified_split(y, (spec.test_split, spec.validation_split))
    parts = {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])}
    return _arrays_to_splits(parts, spec, size, channels, "digits")


def load_npz(path: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    file = Path(path).expanduser()
    if not file.is_file():
        raise SpecError(f"npz: no such file {file}", hint="npz:PATH names a file with x_train, y_train, x_test, y_test")
    with np.load(file) as data:
        missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in data]
        if missing:
            raise SpecError(f"{file} lacks {', '.join(missing)}", hint=f"it holds {', '.join(data.files)}")
        arrays = {k: data[k] for k in data.files}
    scale = 255.0 if arrays["x_train"].dtype == np.uint8 else 1.0
    parts = {
        "train": (arrays["x_train"] / scale, arrays["y_train"]),
        "test": (arrays["x_test"] / scale, arrays["y_test"]),
    }
    if "x_val" in arrays and "y_val" in arrays:
        parts["val"] = (arrays["x_val"] / scale, arrays["y_val"])
    parts = {k: (x.astype("float32"), y.astype("int32").reshape(-1)) for k, (x, y) in parts.items()}
    return _arrays_to_splits(parts, spec, size, channels, f"npz:{file}")


def _list_images(folder: Path, names: list[str]) -> tuple[list[str], list[int]]:
    files, labels = [], []
    for label, name in enumerate(names):
        for f in sorted((folder / name).rglob("*")):
            if f.suffix.lower() in IMAGE_SUFFIXES:
                files.append(str(f))
                labels.append(label)
    return files, labels


def _image_dataset(files: list[str], labels: list[int], size: tuple[int, int], channels: int, pad: int = 0) -> Any:
    import tensorflow as tf

    def decode(path, label):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        return _prepare(tf.image.convert_image_dtype(image, tf.float32), size, channels, pad), label

    return tf.data.Dataset.from_tensor_slices((files, np.asarray(labels, "int32"))).map(
        decode, num_parallel_calls=tf.data.AUTOTUNE
    )


def load_folder(path: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    root = Path(path).expanduser()
    if not root.is_dir():
        raise SpecError(
            f"folder: no such folder {root}", hint="folder:PATH names a folder with one sub-folder per class"
        )
    split_dirs = {k: root / k for k in ("train", "val", "test") if (root / k).is_dir()}
    base = split_dirs.get("train", root)
    names = sorted(d.name for d in base.iterdir() if d.is_dir())
    if len(names) < 2:
        raise SpecError(
            f"{base} needs a sub-folder per class (found {len(names)})", hint="folder/cat/*.jpg, folder/dog/*.jpg, ..."
        )
    if "train" in split_dirs:
        lists = {k: _list_images(d, names) for k, d in split_dirs.items()}
    else:
        files, labels = _list_images(root, names)
        lists = {"train": (files, labels)}
    if "test" not in lists or "val" not in lists:
        files, labels = lists["train"]
        y = np.asarray(labels)
        fractions = tuple(f for k, f in (("test", spec.test_split), ("val", spec.validation_split)) if k not in lists)
        parts = stratified_split(y, fractions)
        keys = [k for k in ("test", "val") if k not in lists]
        for key, idx in zip(keys, parts[:-1], strict=True):
            lists[key] = ([files[i] for i in idx], [labels[i] for i in idx])
        lists["train"] = ([files[i] for i in parts[-1]], [labels[i] for i in parts[-1]])
    empty = [k for k, (f, _) in lists.items() if not f]
    if empty:
        raise SpecError(
            f"{root}: no images for the {', '.join(empty)} split",
            hint=f"images end in {', '.join(sorted(IMAGE_SUFFIXES))}",
        )
    ds = {k: _image_dataset(*lists[k], size, channels, spec.pad) for k in ("train", "val", "test")}
    return Splits(ds["train"], ds["val"], ds["test"], len(names), names, len(lists["train"][0]), f"folder:{root}")


def load_tfds(name: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise SpecError(
            "tfds: sources need tensorflow-datasets", hint="pip install tensorflow-datasets importlib_resources"
        ) from None
    data_dir = str(Path(spec.data_dir).expanduser()) if spec.data_dir else None
    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as exc:  # DatasetNotFoundError and friends
        raise SpecError(f"unknown TFDS data set {name!r}: {str(exc).splitlines()[0]}") from None
    if not builder.is_prepared():
        if not spec.download:
            raise SpecError(
                f"TFDS data set {name!r} is not prepared in {builder.data_dir}",
                hint=f"on a machine with internet: pip install tensorflow-datasets importlib_resources && "
                f"tfds build {name} --data_dir {data_dir or '~/tensorflow_datasets'}; or set data.download: true",
            )
        builder.download_and_prepare()
    available = set(builder.info.splits)
    train_split = "train"
    if "train" not in available:
        raise SpecError(f"TFDS data set {name!r} has no train split (it has {', '.join(sorted(available))})")
    val_split = "validation" if "validation" in available else None
    test_split = "test" if "test" in available else None
    pct = lambda f: int(round(f * 100))  # noqa: E731
    splits = {"train": train_split}
    cut = 0
    if test_split is None:
        cut += pct(spec.test_split)
        splits["test"] = f"train[:{cut}%]"
    if val_split is None:
        splits["val"] = f"train[{cut}%:{cut + pct(spec.validation_split)}%]"
        cut += pct(spec.validation_split)
    splits["train"] = f"train[{cut}%:]" if cut else "train"
    splits.setdefault("val", val_split)
    splits.setdefault("test", test_split)
    keys = builder.info.supervised_keys or ("image", "label")
    ds = {}
    for k, split in splits.items():
        d = builder.as_dataset(split=split, as_supervised=True)
        ds[k] = d.map(lambda x, y: (_prepare(_to_float(x), size, channels, spec.pad), y))
    classes = builder.info.features[keys[1]].num_classes
    names = list(builder.info.features[keys[1]].names)
    train_size = int(ds["train"].reduce(0, lambda n, _: n + 1).numpy())
    return Splits(ds["train"], ds["val"], ds["test"], classes, names, train_size, f"tfds:{name}")


def _to_float(x: Any) -> Any:
    import tensorflow as tf

    return tf.image.convert_image_dtype(x, tf.float32)


def load_data(spec: Any, input_shape: tuple[int, ...]) -> Splits:
    """The splits a recipe's ``data:`` names, resized to ``input_shape``."""
    size = tuple(spec.image_size) if spec.image_size else tuple(input_shape[:2])
    channels = input_shape[-1]
    source = spec.source
    kind, _, rest = source.partition(":")
    if source == "digits":
        return load_digits(spec, size, channels)
    loaders = {"npz": load_npz, "folder": load_folder, "tfds": load_tfds}
    if kind not in loaders or not rest:
        raise SpecError(f"unknown data source {source!r}", hint="digits, npz:PATH, folder:PATH or tfds:NAME")
    return loaders[kind](rest, spec, size, channels)
