"""Where expansion is: the scope an item is expanded in (:class:`Scope`) and the place of a value in the document
(:class:`At`), passed as one object instead of a container, a key and a path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kzoo.errors import Mark, SpecError
from kzoo.lang.expr import substitute
from kzoo.lang.loader import YMap, mark_of


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


def sub_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


@dataclass(frozen=True)
class At:
    """A value's place in the document: the mapping or list that holds it, its key there, and its path
    (``layers[3].conv``) for messages."""

    container: Any
    key: Any
    path: str

    def mark(self, of_key: bool = False) -> Mark | None:
        return mark_of(self.container, self.key, of_key=of_key)

    def error(self, message: str, hint: str | None = None, of_key: bool = False) -> SpecError:
        """A SpecError located here (at the key itself with ``of_key``)."""
        return SpecError(message, self.mark(of_key), self.path, hint)

    def field(self, container: Any, key: str) -> At:
        """The place of ``container[key]``, a field of the value here (``name``, ``from``)."""
        return At(container, key, f"{self.path}.{key}")


def evaluated(value: Any, env: Mapping[str, Any], at: At) -> Any:
    """``value`` (written ``at``) with its expressions evaluated over ``env``, through lists and mappings."""
    if isinstance(value, str):
        return substitute(value, env, at.mark(), at.path)
    if isinstance(value, list):
        return [evaluated(v, env, At(value, i, f"{at.path}[{i}]")) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: evaluated(v, env, At(value, k, f"{at.path}.{k}")) for k, v in value.items()}
    return value
