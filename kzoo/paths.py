"""Where architecture files are looked for: the package's own, ``KZOO_PATH``, and plugins' folders.

Below the language and the zoo (both use it): ``extends:`` may name a file in
any of these folders, and the zoo finds names in them.
"""

from __future__ import annotations

import os
from pathlib import Path

_extra_paths: list[Path] = []


def add_path(folder: str | Path) -> None:
    """Let the zoo find the YAML files in ``folder`` (for plugins)."""
    _extra_paths.append(Path(folder))


def architecture_dirs() -> list[Path]:
    """The folders searched for architecture files, first match wins."""
    here = Path(__file__).resolve().parent
    dirs = [here / "architectures"]  # installed with the package (a source checkout links architectures/ to it)
    dirs += [Path(p) for p in os.environ.get("KZOO_PATH", "").split(os.pathsep) if p]
    dirs += _extra_paths
    seen, out = set(), []
    for d in dirs:
        try:
            real = d.resolve()
            ok = d.is_dir()
        except (OSError, RuntimeError):  # a broken KZOO_PATH entry (a symlink loop) is skipped
            continue
        if ok and real not in seen:
            seen.add(real)
            out.append(d)
    return out
