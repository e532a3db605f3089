"""Pictures: matplotlib set up for files (no display), atomic saving, image grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib
import matplotlib.pyplot as plt
import numpy as np

from kzoo.errors import KzooError
from kzoo.files import atomic_path

FORMATS = (".png", ".svg", ".pdf", ".jpg")


def pyplot() -> Any:

    matplotlib.use("Agg")  # files only; no display needed

    return plt


def save(fig: Any, out: str | Path) -> str:
    """Save ``fig`` to ``out`` (format from the suffix) through a temporary file, then close it."""
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise KzooError(f"the picture must end in one of {', '.join(FORMATS)}, got {out}")
    try:
        with atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=120, bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return str(out)


def normalise(a: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] (a constant array becomes 0.5)."""
    a = np.asarray(a, dtype="float64")
    lo, hi = a.min(), a.max()
    return np.full_like(a, 0.5) if hi - lo < 1e-12 else (a - lo) / (hi - lo)


def grid(tiles: np.ndarray, pad: int = 1) -> np.ndarray:
    """(n, h, w[, 3]) tiles, each scaled to [0, 1], in a near-square grid with ``pad`` pixels of white between."""
    n, h, w = tiles.shape[:3]
    colour = tiles.ndim == 4
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    shape = (rows * (h + pad) + pad, cols * (w + pad) + pad) + ((3,) if colour else ())
    out = np.ones(shape)
    for i in range(n):
        r, c = divmod(i, cols)
        out[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = normalise(
            tiles[i]
        )
    return out


def show_grid(image: np.ndarray, out: str | Path, title: str) -> str:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 6 * image.shape[0] / image.shape[1] + 0.4))
    ax.imshow(image, cmap=None if image.ndim == 3 else "gray", interpolation="nearest", vmin=0, vmax=1)
    ax.set_axis_off()
    ax.set_title(title, fontsize=10)
    return save(fig, out)
