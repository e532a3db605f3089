"""The one registry type of kzoo.

Ops, initializers and activations each live in a :class:`Registry`.
Registering a name twice raises; looking up an unknown name raises a
:class:`~kzoo.errors.SpecError` that names the nearest known names.
Plugins register through the same objects, either directly
(``kzoo.register_op``) or from the ``kzoo.plugins`` entry-point group, which
is loaded once, the first time any registry is read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from kzoo.errors import KzooError, Mark, SpecError, did_you_mean

T = TypeVar("T")

ENTRY_POINT_GROUP = "kzoo.plugins"
_plugins_loaded = False


class Registry(Generic[T]):
    """A name → object map that refuses duplicates and explains misses."""

    def __init__(self, kind: str):
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, obj: T) -> T:
        if name in self._items:
            raise KzooError(f"{self.kind} {name!r} is already registered")
        self._items[name] = obj
        return obj

    def decorator(self, name: str) -> Callable[[T], T]:
        """``@REG.decorator("name")`` registers what it decorates."""
        return lambda obj: self.register(name, obj)

    def get(self, name: str, mark: Mark | None = None, path: str | None = None) -> T:
        load_plugins()
        if not isinstance(name, str) or name not in self._items:
            raise SpecError(
                f"unknown {self.kind} {name!r}",
                mark,
                path,
                did_you_mean(name, self._items),
            )
        return self._items[name]

    def __contains__(self, name: object) -> bool:
        load_plugins()
        return name in self._items

    def names(self) -> list[str]:
        load_plugins()
        return sorted(self._items)

    def items(self) -> Iterator[tuple[str, T]]:
        load_plugins()
        return iter(sorted(self._items.items()))


def load_plugins() -> None:
    """Import every ``kzoo.plugins`` entry point once.

    An entry point names a module (imported for its registrations) or a
    callable (called with no arguments).
    """
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not hide which one
            raise KzooError(f"could not load kzoo plugin {ep.name!r}: {exc}") from exc
        if callable(obj):
            obj()
