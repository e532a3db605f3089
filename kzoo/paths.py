"""Where files are looked for: architectures (the package's own, ``KZOO_PATH``, plugins' folders), and the
recipes and studies kzoo ships.

Below the language and the zoo (both use it): ``extends:`` may name a file in
any of these folders, and the zoo finds names in them. :func:`locate` makes the
README's paths (``architectures/vgg16.yaml``, ``recipes/digits_sgd_ramp.yaml``)
and bare names (``--recipe digits_sgd_ramp``) work after ``pip install``, from
any folder: a path that exists is taken as it is; otherwise the file kzoo ships.
"""

from __future__ import annotations

import os
from pathlib import Path

_extra_paths: list[Path] = []
PACKAGE = Path(__file__).resolve().parent
#: the kinds of file kzoo ships, each in a folder of the package (a source checkout links them at its top)
SHIPPED = ("architectures", "recipes", "studies")


def shipped(kind: str) -> Path:
    """The package's folder of ``kind`` (architectures, recipes, studies)."""
    return PACKAGE / kind


def shipped_names(kind: str) -> list[str]:
    """The names of the YAML files kzoo ships of ``kind`` (not the families or nets they use)."""
    return sorted(p.stem for p in shipped(kind).glob("*.yaml"))


def locate(text: str | Path, kind: str) -> Path | None:
    """The file a user named: the path as given when it exists; else, for ``KIND/REST`` (the README's paths)
    or a bare ``NAME`` / ``NAME.yaml``, the file kzoo ships; None when neither exists."""
    path = Path(text)
    try:
        if path.exists():
            return path
    except OSError:  # a name too long, a loop: the reader says what is wrong
        return None
    parts = path.parts
    if len(parts) > 1 and parts[0] == kind:
        candidate = shipped(kind).joinpath(*parts[1:])
    elif len(parts) == 1 and path.suffix in ("", ".yaml", ".yml"):
        candidate = shipped(kind) / (path.name if path.suffix else f"{path.name}.yaml")
    else:
        return None
    return candidate if candidate.is_file() else None


def architecture_files() -> dict[str, Path]:
    """name -> file of every architecture in :func:`architecture_dirs` (the first folder holding a name wins)."""
    files: dict[str, Path] = {}
    for d in architecture_dirs():
        for f in sorted(d.glob("*.yaml")):
            files.setdefault(f.stem, f)
    return files


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
