"""Writing files so that nothing on disk is ever half-written: a temporary file beside the target, then a rename."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(out: str | Path) -> Iterator[Path]:
    """A temporary path beside ``out`` (same suffix, so writers that go by it still do): renamed onto ``out``
    when the block ends without an error, removed otherwise."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp{out.suffix}")
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(out: str | Path, text: str) -> Path:
    with atomic_path(out) as tmp:
        tmp.write_text(text)
    return Path(out)
