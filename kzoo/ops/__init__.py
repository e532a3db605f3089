"""The layer types of the language, one registry (:data:`OPS`)."""

from kzoo.ops import elementwise, lenet, merge, norm, pooling, resize, shaping, weighted  # noqa: F401  (registers the ops)
from kzoo.ops.base import OPS, FnRef, Op, OpArgs, ShapeError, Stats, Tensor, register_op
from kzoo.ops.functions import ACTIVATIONS, INITIALIZERS, FnArgs, register_activation, register_initializer

__all__ = [
    "OPS",
    "ACTIVATIONS",
    "INITIALIZERS",
    "FnArgs",
    "FnRef",
    "Op",
    "OpArgs",
    "ShapeError",
    "Stats",
    "Tensor",
    "register_activation",
    "register_initializer",
    "register_op",
]
