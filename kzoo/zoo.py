"""Finding architectures by name, and ``load()``.

Search order: the architectures installed with kzoo, then each folder of
``KZOO_PATH`` (separated like ``PATH``), then folders added by plugins
(:func:`add_path`). A name is a file's stem (``resnet50`` →
``resnet50.yaml``) or one of the ``aliases:`` a file declares
(``resnet`` → ``resnet50``). Family files in ``families/`` are not listed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kzoo.errors import SpecError, did_you_mean
from kzoo.spec.loader import load_file

_extra_paths: list[Path] = []


def add_path(folder: str | Path) -> None:
    """Let the zoo find the YAML files in ``folder`` (for plugins)."""
    _extra_paths.append(Path(folder))


def architecture_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    dirs = [here / "architectures", here.parent / "architectures"]  # installed wheel, source checkout
    dirs += [Path(p) for p in os.environ.get("KZOO_PATH", "").split(os.pathsep) if p]
    dirs += _extra_paths
    seen, out = set(), []
    for d in dirs:
        if d.is_dir() and d.resolve() not in seen:
            seen.add(d.resolve())
            out.append(d)
    return out


def _files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for d in architecture_dirs():
        for f in sorted(d.glob("*.yaml")):
            files.setdefault(f.stem, f)
    return files


def aliases() -> dict[str, str]:
    """alias → architecture name, from every file's ``aliases:``."""
    out: dict[str, str] = {}
    for name, path in _files().items():
        data = load_file(path)
        for alias in (data.get("aliases") or []) if isinstance(data, dict) else []:
            if alias in out and out[alias] != name:
                raise SpecError(f"alias {alias!r} is claimed by both {out[alias]} and {name}", hint=str(path))
            out[str(alias)] = name
    return out


def list_architectures() -> list[str]:
    """Every architecture name the zoo knows, sorted."""
    return sorted(_files())


def find(name: str) -> Path:
    """The file of an architecture name or alias; a SpecError names near misses."""
    files = _files()
    if name in files:
        return files[name]
    table = aliases()
    if name in table:
        return files[table[name]]
    raise SpecError(f"unknown architecture {name!r}", hint=did_you_mean(name, list(files) + list(table)))


def resolve_source(target: str | Path) -> Path:
    """A path to a YAML file, or the file of a zoo name."""
    text = str(target)
    if text.endswith((".yaml", ".yml")) or os.sep in text or Path(text).is_file():
        return Path(text)
    return find(text)


def load(name: str, *, input_shape: Any = None, **params: Any) -> Any:
    """Build a zoo architecture as a Keras model.

    ``params`` override the file's ``params`` (``depth=101``, ``classes=10``);
    ``input_shape`` replaces its input (rows, cols, channels).

    >>> model = kzoo.load("resnet", depth=101, classes=10)
    """
    from kzoo.build import build

    overrides = dict(params)
    if input_shape is not None:
        overrides["input"] = list(input_shape)
    return build(resolve_source(name), overrides)
