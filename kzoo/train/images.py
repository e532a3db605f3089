"""Image files: decoded with Pillow, prepared for a model exactly as training prepared its data.

Pillow reads what TensorFlow's decoder refuses (greyscale and 16-bit BMP, TIFF,
WebP, palette and CMYK images, 16-bit PNG); every image becomes uint8 with the
channels the model takes (grey or RGB; alpha dropped; EXIF rotation applied;
the first frame of an animation). :func:`prepare` — resize to the input less
twice ``pad``, then zero padding — is the one path from pixels to model input,
used for training data of every source and for ``kzoo predict``.

:func:`verify` decodes every file of a folder before training starts, so a
corrupt or truncated image is named at once rather than crashing mid-fit.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps, UnidentifiedImageError

from kzoo.errors import SpecError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
MAX_PIXELS = 50_000_000  # larger images are refused (Pillow's decompression-bomb bound is 89 M)


class ImageError(SpecError):
    """An image file that cannot be read."""


def decode(path: str | Path, channels: int) -> np.ndarray:
    """An image file as uint8 (rows, cols, channels), channels 1 (grey) or 3 (RGB); ImageError if unreadable."""

    path = Path(path)
    try:
        if path.exists() and not path.is_dir() and not path.is_file():  # Pillow would wait on a FIFO for ever
            raise ImageError(f"{path} is not a regular file (a pipe, device or socket)", hint="give an image file")
        with Image.open(path) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ImageError(f"{path}: {image.width}x{image.height} pixels is too large an image")
            image.seek(0)
            image = ImageOps.exif_transpose(image)
            array = _to_uint8(image, channels)
    except ImageError:
        raise
    except FileNotFoundError:
        raise ImageError(f"no such image: {path}") from None
    except IsADirectoryError:
        raise ImageError(f"{path} is a directory, not an image") from None
    except UnidentifiedImageError:
        raise ImageError(
            f"{path} is not an image file Pillow can read", hint="PNG, JPEG, BMP, GIF, TIFF, WebP"
        ) from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:  # truncated or corrupt data
        raise ImageError(f"{path}: a damaged image ({exc})") from None
    return array


def _to_uint8(image: Any, channels: int) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16-bit or float grey: scale to 0-255
        a = np.asarray(image, dtype="float64")
        high = 65535.0 if image.mode.startswith("I;16") or a.max() > 255 else 255.0
        a = np.clip(a / high * 255.0, 0, 255).astype("uint8")
        a = a[..., None]
        return np.repeat(a, 3, axis=-1) if channels == 3 else a
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    target = "L" if channels == 1 else "RGB"
    a = np.asarray(image.convert(target), dtype="uint8")
    return a[..., None] if a.ndim == 2 else a


def prepare(images: Any, size: Sequence[int], channels: int, pad: int = 0) -> Any:
    """Float images in [0, 1] (a batch or one) resized to ``size`` less ``2 * pad``, then zero-padded to ``size``."""

    images = tf.convert_to_tensor(images, tf.float32)
    if images.shape.rank == 2:
        images = images[..., None]
    if images.shape[-1] == 1 and channels == 3:
        images = tf.image.grayscale_to_rgb(images)
    elif images.shape[-1] == 3 and channels == 1:
        images = tf.image.rgb_to_grayscale(images)
    inner = (int(size[0]) - 2 * pad, int(size[1]) - 2 * pad)
    if tuple(images.shape[-3:-1]) != inner:
        images = tf.image.resize(images, inner)
    if pad:
        images = tf.pad(images, [[0, 0]] * (images.shape.rank - 3) + [[pad, pad], [pad, pad], [0, 0]])
    return images


def load(path: str | Path, size: Sequence[int], channels: int, pad: int = 0, resize: int | None = None) -> np.ndarray:
    """One image file as the model's input: float32 (rows, cols, channels) in [0, 1]. With ``resize``, as
    torchvision's evaluation transform prepares it: the shorter side resized to ``resize`` (Pillow's bilinear
    filter), then the centred ``size``."""
    array = decode(path, channels)
    if resize:
        array = resized_centre(array, resize, size)
    return np.asarray(prepare(array.astype("float32") / 255.0, size, channels, pad))


def resized_centre(array: np.ndarray, resize: int, size: Sequence[int]) -> np.ndarray:
    """``Resize(resize)`` then ``CenterCrop(size)`` as torchvision computes them on a Pillow image."""
    rows, cols = array.shape[:2]
    short, long = (rows, cols) if rows <= cols else (cols, rows)
    new_short, new_long = int(resize), int(resize * long / short)
    new_rows, new_cols = (new_short, new_long) if rows <= cols else (new_long, new_short)
    image = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    out = np.asarray(image.resize((new_cols, new_rows), Image.Resampling.BILINEAR))
    out = out[..., None] if out.ndim == 2 else out
    crop_rows, crop_cols = int(size[0]), int(size[1])
    if crop_rows > new_rows or crop_cols > new_cols:
        raise ImageError(f"a {new_rows}x{new_cols} image is smaller than the crop {crop_rows}x{crop_cols}")
    top, left = int(round((new_rows - crop_rows) / 2.0)), int(round((new_cols - crop_cols) / 2.0))
    return out[top : top + crop_rows, left : left + crop_cols]


GREY_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def colour_or_grey(files: Sequence[str | Path]) -> int | None:
    """3 when any of ``files`` is a colour image (by its mode, without decoding it), 1 when all are grey, None
    when none can be opened."""
    seen = None
    for f in files:
        try:
            with Image.open(f) as image:
                if image.mode not in GREY_MODES:
                    return 3
                seen = 1
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
    return seen


def list_images(folder: Path) -> list[Path]:
    """The image files under ``folder`` (recursively), sorted; hidden files skipped."""
    out = []
    for f in sorted(folder.rglob("*")):
        if f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".") and f.is_file():
            out.append(f)
    return out


def verify(files: Iterable[str | Path], channels: int) -> None:
    """Decode every file (in threads); an ImageError naming the first bad one (and how many more are bad)."""
    files = list(files)

    def check(f: str | Path) -> ImageError | None:
        try:
            decode(f, channels)
        except ImageError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        bad = [e for e in pool.map(check, files) if e is not None]
    if bad:
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise ImageError(f"{bad[0].message}{more}", hint="remove or replace the file, then run again")


def dataset(files: Sequence[str], labels: Any, size: Sequence[int], channels: int, pad: int = 0) -> Any:
    """A tf.data dataset of (image, target): each file decoded by Pillow, then :func:`prepare`'d. Integer labels
    become int32; other targets (a detector's padded boxes, float32) are kept as they are."""

    def read(path: Any) -> np.ndarray:
        return decode(path.decode() if isinstance(path, bytes) else str(path), channels)

    def load_one(path, label):
        image = tf.numpy_function(read, [path], tf.uint8, stateful=False)
        image.set_shape([None, None, channels])
        return prepare(tf.cast(image, tf.float32) / 255.0, size, channels, pad), label

    targets = np.asarray(labels)
    targets = targets.astype("int32") if targets.dtype.kind in "iub" or targets.size == 0 else targets
    return tf.data.Dataset.from_tensor_slices((list(map(str, files)), targets)).map(
        load_one, num_parallel_calls=tf.data.AUTOTUNE
    )
