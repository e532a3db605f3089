"""Post-import hooks: run code right after a third-party module is imported, or around its import.

Python has no post-import hook, so this is written by hand: a meta-path finder
that steps aside, lets the normal finders locate the module, and wraps its
loader's ``exec_module``. kzoo uses it twice: to register its custom Keras
objects the moment ``keras`` is imported (so ``keras.saving.load_model`` reloads
kzoo models after ``import kzoo`` in either order, with no ``custom_objects``),
and, in the CLI, to hide TensorFlow's start-up banners (:mod:`kzoo.quiet`).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from typing import Any


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, name: str, around: Callable[[], Any], after: Callable[[Any], None]):
        self.name, self.around, self.after = name, around, after

    def find_spec(self, name, path=None, target=None):  # noqa: D102
        if name != self.name:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_hook(module):
            with self.around():
                exec_module(module)
                self.after(module)

        spec.loader.exec_module = exec_and_hook  # type: ignore[method-assign]
        return spec


def on_import(
    name: str, after: Callable[[Any], None] = lambda module: None, around: Callable[[], Any] = contextlib.nullcontext
) -> None:
    """Call ``after(module)`` once ``name`` is imported (at once if it is already), the import inside ``around()``."""
    if name in sys.modules:
        after(sys.modules[name])
        return
    if not any(isinstance(f, _Hook) and f.name == name and f.after is after for f in sys.meta_path):
        sys.meta_path.insert(0, _Hook(name, around, after))
