"""Drawing what kzoo.inspect measures (matplotlib, written to PNG/SVG/PDF)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import numpy as np

from kzoo.errors import SpecError, clip, short
from kzoo.files import read_bytes
from kzoo.inspect.pictures import grid, normalise, pyplot, save, show_grid


def plot_filters(tiles: np.ndarray, out: str, title: str) -> str:
    return show_grid(grid(tiles), out, title)


def plot_activations(maps: np.ndarray, out: str, title: str) -> str:
    return show_grid(grid(maps), out, title)


def _show(ax: Any, image: np.ndarray) -> None:
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(np.clip(image, 0, 1))
    ax.set_axis_off()


def plot_occlusion(image: np.ndarray, result: dict[str, Any], out: str, class_names: list[str] | None = None) -> str:
    """The image, p(class) over occluder positions (Zeiler & Fergus Fig. 7 b), and the top class per position."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    _show(axes[0], image)
    cls = result["class"]
    label = class_names[cls] if class_names and 0 <= cls < len(class_names) else f"class {cls}"
    axes[0].set_title(f"input: p({label}) = {result['probability']:.3f}")
    rows, cols = image.shape[:2]
    size = result["size"]
    extent = (
        result["cols"][0] + size / 2 - result["stride"] / 2,
        result["cols"][-1] + size / 2 + result["stride"] / 2,
        result["rows"][-1] + size / 2 + result["stride"] / 2,
        result["rows"][0] + size / 2 - result["stride"] / 2,
    )
    heat = axes[1].imshow(result["map"], cmap="jet", vmin=0, vmax=1, extent=extent)
    axes[1].set_xlim(0, cols)
    axes[1].set_ylim(rows, 0)
    axes[1].set_title(f"p({label}) with a grey {size}x{size} square centred here")
    fig.colorbar(heat, ax=axes[1], fraction=0.046)
    top = result["top_class"]
    labels = np.unique(top)
    shown = axes[2].imshow(top, cmap="tab20", extent=extent, interpolation="nearest")
    axes[2].set_xlim(0, cols)
    axes[2].set_ylim(rows, 0)
    axes[2].set_title("most probable class per position")
    handles = [
        plt.Rectangle((0, 0), 1, 1, color=shown.cmap(shown.norm(c)))
        for c in labels  # one patch per class that occurs
    ]
    names = [class_names[c] if class_names and c < len(class_names) else str(c) for c in labels]
    axes[2].legend(handles, names, loc="upper right", fontsize=7, framealpha=0.7)
    fig.tight_layout()
    return save(fig, out)


def plot_dream(result: dict[str, Any], out: str) -> str:
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 4))
    image = result["image"]
    _show(left, normalise(image) if image.shape[-1] == 1 else image)
    left.set_title(f"class {result['class']}")
    right.plot(np.arange(len(result["trace"])) * 10, result["trace"], "o-", markersize=3)
    right.set_xlabel("step")
    right.set_ylabel("class score")
    right.grid(alpha=0.3)
    fig.tight_layout()
    return save(fig, out)


LOG_BYTES = 64 << 20  # a log.csv row is ~200 bytes an epoch


def read_log(run: str | Path) -> dict[str, list[float]]:
    """The per-epoch columns of a run directory's log.csv (or of such a file), refusing anything else."""
    path = Path(run)
    path = path / "log.csv" if path.is_dir() else path
    hint = "give a run directory of kzoo train (it holds log.csv)"
    if not path.exists():
        raise SpecError(f"no training log at {path}", hint=hint)
    try:
        text = read_bytes(path, "training log", LOG_BYTES, hint).decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(f"{path} is not a training log (not UTF-8 text)", hint=hint) from None
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text):
        raise SpecError(f"{path} is not a training log (it holds binary data)", hint=hint)
    reader = csv.DictReader(io.StringIO(text))
    try:
        rows, header = list(reader), set(reader.fieldnames or ())
    except csv.Error:
        raise SpecError(f"{path} is not a training log (not CSV text)", hint=hint) from None
    if "epoch" not in header or not header & {"loss", "accuracy"}:
        raise SpecError(f"{path} is not a training log: it has no epoch and loss columns", hint=hint)
    if not rows:
        raise SpecError(f"{path} holds no epochs yet")
    for line, row in enumerate(rows, start=2):  # CSVLogger writes numbers, "NA" where a value is missing
        bad = [k for k, v in row.items() if k is None or v is None or not _cell_ok(k, v)]
        if bad:
            column = bad[0] if bad[0] is not None else "(extra cells)"
            raise SpecError(
                f"{path}:{line}: {clip(column, 40)} is {short(row.get(column), 40)}, not a number",
                hint="a log.csv of kzoo train has one number per column and epoch",
            )
    return {k: [_number(r.get(k)) for r in rows] for k in reader.fieldnames if k != "epoch"}


def _cell_ok(column: str, text: str) -> bool:
    if column == "epoch":
        return text.strip().isdigit()
    if text.strip() in ("NA", ""):
        return True
    try:
        float(text)
        return True
    except ValueError:
        return False


def _number(text: str | None) -> float:
    """A CSV cell as a float; CSVLogger's "NA" (and anything else unreadable) is NaN."""
    try:
        return float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def plot_curves(log: dict[str, list[float]], out: str, title: str = "") -> str:
    """Loss and accuracy (training and validation) per epoch, and the learning rate."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for ax, key in zip(axes[:2], ("loss", "accuracy"), strict=True):
        for name, values in log.items():
            if name.endswith(key) and not name.startswith("lr"):
                ax.plot(np.arange(1, len(values) + 1), values, label=name)
        ax.set_title(key)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    lr = log.get("learning_rate") or log.get("lr")
    if lr:
        axes[2].semilogy(np.arange(1, len(lr) + 1), lr)
    axes[2].set_title("learning rate")
    axes[2].set_xlabel("epoch")
    axes[2].grid(alpha=0.3, which="both")
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, out)
