"""Where expansion is: the scope an item is expanded in (:class:`Scope`), and values evaluated at their place in
the document (:class:`kzoo.lang.loader.At`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kzoo.lang.expr import substitute
from kzoo.lang.loader import At, YMap


@dataclass(frozen=True)
class Scope:
    """Where an item is expanded: its name prefix, the values its expressions see, the defaults in force,
    the blocks being called (to refuse recursion) and its path in the document."""

    prefix: tuple[str, ...]
    env: Mapping[str, Any]
    defaults: tuple[YMap, ...]
    calls: tuple[str, ...]
    path: str
    entry: Any = None  # inside an unscoped block call: what `from: input` means (its input)
    block_level: int | None = None  # the prefix length of the outermost scoped block call it is inside


def evaluated(value: Any, env: Mapping[str, Any], at: At) -> Any:
    """``value`` (written ``at``) with its expressions evaluated over ``env``, through lists and mappings."""
    if isinstance(value, str):
        return substitute(value, env, at.mark(), at.path)
    if isinstance(value, list):
        return [evaluated(v, env, At(value, i, f"{at.path}[{i}]")) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: evaluated(v, env, At(value, k, f"{at.path}.{k}")) for k, v in value.items()}
    return value
