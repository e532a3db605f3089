"""The file's header, evaluated before its layers: the model's name and its input shape (with the size analysed
when rows or cols take any size)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzoo.errors import KzooError, short
from kzoo.graph.scope import evaluated
from kzoo.lang.loader import At, YMap
from kzoo.lang.schema import NAME


def model_name(data: YMap, env: Mapping[str, Any]) -> str:
    """The file's ``name:``, which may hold expressions (``resnet${depth}``) so that a variant is named as such."""
    at = At(data, "name", "name")
    name = evaluated(data["name"], env, at)
    if not isinstance(name, str) or not NAME.match(name):
        raise at.error(f"the name must be letters, digits, '_', '.' or '-' (starting with a letter), got {short(name)}")
    return name


def input_shape(data: YMap, env: Mapping[str, Any], declared: Any) -> tuple[tuple[Any, ...], tuple[int, ...]]:
    """(the input shape, None where rows or cols take any size; the shape analysed: the example size there).
    ``declared``: the file's own ``input:`` before an override replaced it."""
    at = At(data, "input", "input")
    shape = evaluated(data["input"], env, at)
    free = len(shape) == 3 and shape[2] is not None
    for i, dim in enumerate(shape):
        if dim is None and free and i < 2:
            continue
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise at.error(
                f"input dimensions must be positive integers (rows and cols may be null: any size), got {shape}",
                "input: [rows, cols, channels], e.g. [224, 224, 3] or [null, null, 3]",
            )
    if None not in shape:
        return tuple(shape), tuple(shape)
    rows, cols = example_size(data, env, declared)
    return tuple(shape), (shape[0] or rows, shape[1] or cols, shape[2])


def example_size(data: YMap, env: Mapping[str, Any], declared: Any) -> tuple[int, int]:
    """The rows and cols analysed for an input of any size: ``example_size:``, else the file's own input size
    (before ``input_shape=`` replaced it), else 224x224."""
    if data.get("example_size") is not None:
        at = At(data, "example_size", "example_size")
        size = evaluated(data["example_size"], env, at)
        if not all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in size):
            raise at.error(
                f"example_size must be two positive integers, got {size}", "example_size: [rows, cols], e.g. [224, 224]"
            )
        return size[0], size[1]
    try:
        own = evaluated(declared, env, At(data, "input", "input")) if declared is not None else None
    except KzooError:
        own = None
    if isinstance(own, list) and len(own) == 3 and all(isinstance(d, int) and d >= 1 for d in own[:2]):
        return own[0], own[1]
    return 224, 224
