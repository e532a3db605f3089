"""Training: recipes, data pipelines, augmentation, optimizers, callbacks, strategies.

``from kzoo.train import train`` (lazily: importing this package, e.g. for kzoo.train.recipe,
does not import TensorFlow).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kzoo.train.fit import train


def __getattr__(name: str) -> Any:
    if name == "train":
        from kzoo.train.fit import train

        return train
    raise AttributeError(f"module 'kzoo.train' has no attribute {name!r}")


__all__ = ["train"]
