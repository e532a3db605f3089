"""Drawing what kzoo.inspect measures (matplotlib, written to PNG/SVG/PDF)."""

from __future__ import annotations

from typing import Any

import numpy as np

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
