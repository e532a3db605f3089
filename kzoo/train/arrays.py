"""Splits of (image, label) and the checks every array source passes: labels, pixels, classes.

Labels must be whole numbers 0..K-1 with every class in the training split (K >= 2);
images and labels must agree in number; pixels must be finite and in [0, 1] (uint8
0-255 and uint16 are scaled). Each check raises a SpecError naming the array, the
index and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import tensorflow as tf

from kzoo.errors import SpecError
from kzoo.train import images


@dataclass
class Splits:
    train: Any  # tf.data.Dataset of (image, label)
    val: Any
    test: Any
    classes: int
    class_names: list[str]
    train_size: int
    source: str
    val_size: int = -1  # -1: unknown (TFDS)
    test_size: int = -1
    source_channels: int | None = None  # 1 (grey) or 3 (colour) as the source holds its images; None: unknown
    task: str = "classification"  # what the targets are (kzoo.tasks): labels, or masks for segmentation


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


# -- arrays -----------------------------------------------------------------------------------------------------
def check_labels(y: np.ndarray, name: str, where: str) -> np.ndarray:
    """Labels as int32 (n,): whole, finite, non-negative numbers; a SpecError naming the first bad one."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        hint = "one-hot labels? store the class index: y.argmax(1)" if y.ndim == 2 else None
        raise SpecError(f"{where}: {name} must be one label per image, got shape {y.shape}", hint=hint)
    if y.dtype.kind not in "uif":
        raise SpecError(f"{where}: {name} must hold class numbers, got {y.dtype} values", hint="labels 0, 1, ... K-1")
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if bad.size:
            raise SpecError(
                f"{where}: {name}[{bad[0]}] is {y[bad[0]].item()!r}, not a whole number",
                hint="labels are class numbers 0..K-1",
            )
    negative = np.flatnonzero(y < 0)
    if negative.size:
        raise SpecError(f"{where}: {name}[{negative[0]}] is {y[negative[0]]}", hint="labels are class numbers 0..K-1")
    if y.size and y.max() > 1_000_000:
        raise SpecError(f"{where}: {name} holds the label {y.max()}", hint="labels are class numbers 0..K-1")
    return y.astype("int32")


def check_images(x: np.ndarray, name: str, where: str) -> np.ndarray:
    """Images as float32 in [0, 1] ((n, rows, cols) or (n, rows, cols, 1|3)); uint8 and uint16 are scaled."""
    x = np.asarray(x)
    if x.dtype.kind not in "uifb":
        raise SpecError(f"{where}: {name} must hold pixel numbers, got {x.dtype} values")
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or min(x.shape[1:3], default=0) < 1:
        raise SpecError(
            f"{where}: {name} must be images (n, rows, cols) or (n, rows, cols, 1 or 3), got shape {x.shape}",
            hint="flat vectors? reshape them: x.reshape(-1, 28, 28)",
        )
    if x.dtype == np.uint8:
        return x.astype("float32") / 255.0
    if x.dtype == np.uint16:
        return x.astype("float32") / 65535.0
    x = x.astype("float32")
    if x.size:
        finite = np.isfinite(x)
        if not finite.all():
            index = np.unravel_index(np.flatnonzero(~finite)[0], x.shape)[0]
            raise SpecError(
                f"{where}: {name}[{index}] holds {x[index][~finite[index]][0]} pixels", hint="fix or drop it"
            )
        low, high = float(x.min()), float(x.max())
        if low < 0 or high > 1:
            raise SpecError(
                f"{where}: {name} holds values from {low:g} to {high:g}; kzoo expects pixels in [0, 1]",
                hint="store uint8 (0-255, scaled for you) or divide by 255",
            )
    return x


def check_classes(parts: dict[str, tuple[Any, np.ndarray]], where: str, names: list[str] | None) -> int:
    """The number of classes: labels 0..K-1, K >= 2, each class in the training split, no unknown label elsewhere."""
    train = parts["train"][1]
    if train.size == 0:
        raise SpecError(f"{where}: no training images")
    k = int(max(int(y.max()) for _, y in parts.values() if y.size)) + 1
    if names is not None:
        if len(names) < k:
            raise SpecError(f"{where}: {len(names)} class names for labels up to {k - 1}")
        k = len(names)
    present = set(np.unique(train).tolist())
    missing = [c for c in range(k) if c not in present]
    if missing:
        first = int(min(present))
        hint = f"labels run from {first}: number the classes from 0 (subtract {first})" if first > 0 else None
        shown = ", ".join(map(str, missing[:8])) + (" ..." if len(missing) > 8 else "")
        raise SpecError(f"{where}: class {shown} has no training images (labels 0..{k - 1})", hint=hint)
    if k < 2:
        raise SpecError(f"{where}: every training image has the label {train[0]}", hint="a classifier needs 2 classes")
    return k


def from_arrays(x: np.ndarray, y: np.ndarray, size: tuple[int, int], channels: int, pad: int = 0) -> Any:

    x = x[..., None] if x.ndim == 3 else x
    return tf.data.Dataset.from_tensor_slices((images.prepare(x, size, channels, pad), np.asarray(y, "int32")))


def arrays_to_splits(
    parts: dict[str, tuple[np.ndarray, np.ndarray]],
    spec: Any,
    size: Any,
    channels: int,
    source: str,
    names: list[str] | None = None,
) -> Splits:
    classes = check_classes(parts, source, names)
    if "val" not in parts:
        x, y = parts["train"]
        val_idx, train_idx = stratified_split(y, (spec.validation_split,))
        parts = {**parts, "train": (x[train_idx], y[train_idx]), "val": (x[val_idx], y[val_idx])}
    ds = {k: from_arrays(*parts[k], size, channels, spec.pad) for k in ("train", "val", "test")}
    n = {k: len(parts[k][1]) for k in ("train", "val", "test")}
    names = names or [str(i) for i in range(classes)]
    x = parts["train"][0]
    held = 1 if x.ndim == 3 or x.shape[-1] == 1 else 3
    return Splits(ds["train"], ds["val"], ds["test"], classes, names, n["train"], source, n["val"], n["test"], held)
