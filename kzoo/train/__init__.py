"""Training: recipes, data pipelines, augmentation, optimizers, callbacks, strategies."""

from kzoo.train.fit import train

__all__ = ["train"]
