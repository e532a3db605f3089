"""Keeping TensorFlow's native start-up chatter off the terminal.

TensorFlow writes its banners (the oneDNN notice, twice; "Could not find cuda
drivers"; a ``failed call to cuInit`` error on a CPU machine) straight to file
descriptor 2, before its logging is set up, so ``TF_CPP_MIN_LOG_LEVEL`` cannot
hide them. :func:`install` (called by the CLI unless ``--verbose``) makes the
import of ``tensorflow`` and its first device query run with descriptor 2
pointed at a temporary file; if the import fails, what it wrote is replayed.
Later native logs obey ``TF_CPP_MIN_LOG_LEVEL``, which :func:`install` sets to 3
when the user has not set it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from kzoo.hooks import on_import


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


def _probe_devices(tf) -> None:
    tf.config.list_physical_devices("GPU")  # the CUDA probe logs here


def install(set_level: bool = True) -> None:
    """Hide TensorFlow's start-up logs in this process (a no-op once TensorFlow is imported); with ``set_level``
    (the CLI) its later native logs too, unless the user set ``TF_CPP_MIN_LOG_LEVEL``. ``import kzoo`` calls it
    without ``set_level`` unless ``KZOO_VERBOSE`` is set."""
    if set_level:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:
        on_import("tensorflow", after=_probe_devices, around=native_stderr_captured)
