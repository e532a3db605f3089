"""Keeping TensorFlow's native start-up chatter off the terminal.

TensorFlow writes its banners (the oneDNN notice, twice; "Could not find cuda
drivers"; a ``failed call to cuInit`` error on a CPU machine) straight to file
descriptor 2, before its logging is set up, so ``TF_CPP_MIN_LOG_LEVEL`` cannot
hide them. :func:`install` (called by the CLI unless ``--verbose``) makes the
import of ``tensorflow`` and its first device query run with descriptor 2
pointed at a temporary file; if the import fails, what it wrote is replayed.
Later native logs obey ``TF_CPP_MIN_LOG_LEVEL``, which :func:`install` sets to 3
when the user has not set it. Written by hand: Python has no post-import hook.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def native_stderr_captured() -> Iterator[None]:
    """Point file descriptor 2 at a temporary file; replay its content if the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            tmp.seek(0)
            sys.stderr.write(tmp.read().decode("utf-8", "replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):  # noqa: D102
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_quietly(module):
            with native_stderr_captured():
                exec_module(module)
                module.config.list_physical_devices("GPU")  # the CUDA probe logs here

        spec.loader.exec_module = exec_quietly  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Hide TensorFlow's start-up logs in this process (a no-op once TensorFlow is imported)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules or any(isinstance(f, _QuietTensorFlow) for f in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietTensorFlow())
