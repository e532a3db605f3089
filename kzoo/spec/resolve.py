"""From a file to a validated :class:`Spec`: ``extends``, overrides, schema.

``extends: other.yaml`` (relative to the file) loads the other file first;
this file's mappings are merged into it key by key, recursively (so a
variant can change one param or one default), while lists and scalars
replace. ``aliases`` is never inherited.

Overrides (``--set depth=101``, ``kzoo.load("resnet", depth=101)``) may
only name params the file declares, with a value of the declared type;
the special key ``input`` replaces the input shape.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kzoo.errors import Mark, SpecError, did_you_mean
from kzoo.spec.loader import YMap, YSeq, load_file, loads, mark_of
from kzoo.spec.schema import ArchitectureFile
from kzoo.spec.validate import validate

MAX_EXTENDS = 16
NOT_INHERITED = ("aliases", "extends", "keras_applications")


@dataclass
class Spec:
    """A validated architecture file: its data (with marks) and where it came from."""

    file: str
    data: YMap
    model: ArchitectureFile
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.model.name

    def mark(self, key: str) -> Mark | None:
        return mark_of(self.data, key)


def merge(base: Any, over: Any) -> Any:
    """``over`` merged into ``base``: mappings recursively, the rest replaced."""
    if not (isinstance(base, YMap) and isinstance(over, YMap)):
        return copy.deepcopy(over)
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = merge(base[key], value) if key in base else copy.deepcopy(value)
        out.key_marks[key] = over.key_marks.get(key)
        out.val_marks[key] = over.val_marks.get(key)
        if key in over.raw:
            out.raw[key] = over.raw[key]
    out.mark = over.mark
    return out


def load_with_extends(path: Path, chain: tuple[str, ...] = ()) -> YMap:
    """Load ``path`` and everything it extends, merged."""
    key = str(path.resolve())
    if key in chain:
        raise SpecError(f"{path} extends itself through {' -> '.join(chain + (key,))}", Mark(str(path)))
    if len(chain) >= MAX_EXTENDS:
        raise SpecError(f"more than {MAX_EXTENDS} levels of extends", Mark(str(path)))
    data = load_file(path)
    if not isinstance(data, YMap):
        raise SpecError(
            "an architecture file must be a mapping (name:, input:, layers: ...)", mark_of(data) or Mark(str(path))
        )
    parent = data.get("extends")
    if parent is None:
        return data
    if not isinstance(parent, str):
        raise SpecError("extends must be a file path", mark_of(data, "extends"), "extends")
    parent_path = (path.parent / parent).resolve()
    if not parent_path.is_file():
        raise SpecError(
            f"extends: no such file {parent}",
            mark_of(data, "extends"),
            "extends",
            f"paths are relative to {path.parent}",
        )
    base = load_with_extends(parent_path, chain + (key,))
    for k in NOT_INHERITED:
        base.pop(k, None)
    return merge(base, data)


def parse_override(text: str) -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise SpecError(f"--set expects key=value, got {text!r}", hint="for example --set depth=101")
    data = loads(f"v: {value}" if value.strip() else "v: null", f"--set {key.strip()}")
    return key.strip(), data["v"]


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if default is None or isinstance(default, str) and default.startswith("$"):
        return True
    return isinstance(value, type(default))


def apply_overrides(data: YMap, overrides: Mapping[str, Any], origin: str) -> None:
    params = data.get("params")
    if params is None:
        params = YMap()
        data["params"] = params
    for key, value in overrides.items():
        mark = Mark(origin)
        if key == "input":
            data["input"] = YSeq(value) if isinstance(value, (list, tuple)) else value
            data.val_marks["input"] = mark
            continue
        if not isinstance(params, dict) or key not in params:
            known = list(params) if isinstance(params, dict) else []
            raise SpecError(
                f"{data.get('name')} has no param {key!r}", mark, f"params.{key}", did_you_mean(key, known + ["input"])
            )
        if not _type_ok(params[key], value):
            raise SpecError(
                f"param {key!r} expects a {type(params[key]).__name__} like {params[key]!r}, got {value!r}",
                mark,
                f"params.{key}",
            )
        params[key] = value
        params.val_marks[key] = mark


def load_spec(path: str | Path, overrides: Mapping[str, Any] | None = None, origin: str = "override") -> Spec:
    """Load, merge ``extends``, apply overrides and validate one file."""
    path = Path(path)
    data = load_with_extends(path)
    if overrides:
        apply_overrides(data, overrides, origin)
    model = validate(ArchitectureFile, dict(data), data, "", "an architecture file", Mark(str(path), 1, 1))
    return Spec(str(path), data, model, dict(overrides or {}))
