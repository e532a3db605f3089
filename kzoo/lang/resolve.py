"""From a file to a validated :class:`Spec`: ``extends``, overrides, schema.

``extends: other.yaml`` (relative to the file) loads the other file first;
this file's mappings are merged into it key by key, recursively (so a
variant can change one param or one default), while lists and scalars
replace. ``aliases`` is never inherited; ``weights`` is inherited whole and
replaced whole (a file that declares releases declares all of its own). ``weights: FILE.yaml`` reads
the releases from a releases file beside it (``releases:``, and the ``tables:`` they look up).

Overrides (``--set depth=101``, ``kzoo.load("resnet", depth=101)``) may
only name params the file declares, with a value of the declared type;
the special key ``input`` replaces the input shape.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kzoo.errors import Mark, SpecError, clip, did_you_mean, short
from kzoo.files import article
from kzoo.lang.loader import YMap, from_plain, load_file, loads, mark_of
from kzoo.lang.schema import ArchitectureFile, ReleasesFile
from kzoo.lang.validate import validate

MAX_EXTENDS = 16
NOT_INHERITED = ("aliases", "extends")
REPLACED_WHOLE = ("weights",)
EXAMPLES = {"extends": "extends: families/resnet.yaml", "weights": "weights: weights/resnet.yaml"}


@dataclass
class Spec:
    """A validated architecture file: its data (with marks) and where it came from."""

    file: str
    data: YMap
    model: ArchitectureFile
    overrides: dict[str, Any] = field(default_factory=dict)
    param_defaults: dict[str, Any] = field(default_factory=dict)  # as the base-most file declares them
    declared_input: Any = None  # the file's own ``input:`` before an override replaced it

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
        out.take(over, key, merge(base[key], value) if key in base else copy.deepcopy(value))
    out.mark = over.mark
    return out


def _real(path: Path, mark: Mark | None) -> Path:
    try:
        return path.resolve()
    except (RuntimeError, OSError):  # Python 3.11 raises RuntimeError for a symlink loop
        raise SpecError(f"{path}: a symbolic link loop", mark, hint="the link points back at itself") from None


def _inside(path: Path, folders: list[Path]) -> bool:
    return any(path == f or f in path.parents for f in folders)


def find_file(data: YMap, path: Path, root: Path, key: str = "extends") -> Path:
    """The file ``data``'s ``extends:`` (or ``weights:``) names: a ``.yaml`` path relative to ``path``'s folder that
    stays inside the folder of the file the user named (``root``) or the current folder, or a file of the zoo's
    folders (``families/resnet.yaml``). Absolute paths, other suffixes and paths that climb out are refused."""
    from kzoo.paths import architecture_dirs

    named = data.get(key)
    mark = mark_of(data, key)
    example = EXAMPLES[key]
    if not isinstance(named, str) or not named.strip():
        raise SpecError(f"{key} must be the path of a .yaml file", mark, key, f"e.g. {example}")
    if not named.endswith((".yaml", ".yml")):
        raise SpecError(f"{key}: {named!r} is not a .yaml file", mark, key, f"e.g. {example}")
    if Path(named).is_absolute():
        raise SpecError(
            f"{key}: {named!r} is an absolute path",
            mark,
            key,
            f"write it relative to this file (or name a zoo file: {example.split(': ')[1]})",
        )
    zoo = [_real(d, mark) for d in architecture_dirs()]
    allowed = [_real(root, mark), _real(Path.cwd(), mark), *zoo]
    candidates = [path.parent / named] + [d / named for d in zoo]
    for cand in candidates:
        real = _real(cand, mark)
        if _inside(real, allowed) and real.exists():
            return real  # reading it refuses a directory, a pipe or a device
    real = _real(path.parent / named, mark)
    if real.exists() and not _inside(real, allowed):
        raise SpecError(
            f"{key}: {named!r} lies outside {root}",
            mark,
            key,
            "a file may name files under its own folder, the current folder, or the zoo's (families/...)",
        )
    raise SpecError(
        f"{key}: no such file {named}",
        mark,
        key,
        f"paths are relative to {path.parent} or to the zoo's folder",
    )


def load_releases(data: YMap, path: Path, root: Path) -> None:
    """``weights: FILE.yaml``: the releases that file declares (its ``releases:``) become this file's ``weights:``,
    and the tables they look up (its ``tables:``) join this file's tables; in place."""
    if not isinstance(data.get("weights"), str):
        return
    file = find_file(data, path, root, "weights")
    loaded = load_file(file, "releases file")
    where = mark_of(loaded) or Mark(str(file), 1, 1)
    if not isinstance(loaded, YMap):
        raise SpecError(
            "a releases file is a mapping with releases: (name -> release) and, if they use any, tables:",
            where,
            hint="see kzoo/architectures/weights/resnet.yaml",
        )
    validate(ReleasesFile, dict(loaded), loaded, "", "a releases file", where)  # each release: kzoo.lang.weights
    tables = loaded.get("tables")
    if tables is not None:
        own = data.get("tables")
        if not isinstance(own, YMap):
            data.take(loaded, "tables")
        else:
            for name in tables:
                if name in own:
                    raise SpecError(
                        f"table {name!r} is declared in both {path.name} and {file.name}",
                        mark_of(tables, name, of_key=True),
                        f"tables.{name}",
                        "rename one of them",
                    )
                own.take(tables, name)
    data.put("weights", loaded["releases"], mark_of(loaded, "releases"), mark_of(data, "weights", of_key=True))


def load_with_extends(path: Path, chain: tuple[str, ...] = (), root: Path | None = None) -> YMap:
    """Load ``path`` and everything it extends, merged."""
    key = str(_real(path, Mark(str(path))))
    root = root if root is not None else _real(path, None).parent
    if key in chain:
        raise SpecError(f"{path} extends itself through {' -> '.join(chain + (key,))}", Mark(str(path)))
    if len(chain) >= MAX_EXTENDS:
        raise SpecError(f"more than {MAX_EXTENDS} levels of extends", Mark(str(path)))
    data = load_file(path, "architecture file")
    if not isinstance(data, YMap):
        raise SpecError(
            "an architecture file must be a mapping (name:, input:, layers: ...)", mark_of(data) or Mark(str(path))
        )
    load_releases(data, path, root)
    own = dict(data.get("params") or {}) if isinstance(data.get("params"), dict) else {}
    if data.get("extends") is None:
        data.param_defaults = own
        return data
    parent_path = find_file(data, path, root)
    try:
        base = load_with_extends(parent_path, chain + (key,), root)
    except SpecError as exc:
        if exc.message.startswith("an architecture file must be a mapping"):  # the parent is not a kzoo file
            raise SpecError(
                f"extends: {data['extends']} is not an architecture file: {exc.message}",
                mark_of(data, "extends"),
                "extends",
                exc.hint,
            ) from None
        raise
    for k in NOT_INHERITED:
        base.pop(k, None)
    for k in REPLACED_WHOLE:
        if k in data:
            base.pop(k, None)
    merged = merge(base, data)
    merged.param_defaults = {**own, **getattr(base, "param_defaults", {})}  # the base-most declaration wins
    return merged


def parse_override(text: str, flag: str = "--param") -> tuple[str, Any]:
    """``key=value`` from the command line; the value is read as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        example = "depth=101" if flag == "--param" else "optimizer.lr=0.1"
        raise SpecError(f"{flag} expects KEY=VALUE, got {short(text)}", hint=f"for example {flag} {example}")
    data = loads(f"v: {value}" if value.strip() else "v: null", f"{flag} {clip(key.strip(), 60)}")
    return key.strip(), data["v"]


def _type_ok(default: Any, value: Any) -> bool:
    if isinstance(default, str) and default.startswith("$"):
        return True  # a default taken from another param (conv1_bias: $conv_bias) takes that param's values
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if default is None:
        return True
    if isinstance(default, (list, tuple)):  # a list from YAML (YSeq), Python or a study file alike
        return isinstance(value, (list, tuple))
    if isinstance(default, dict):
        return isinstance(value, dict)
    return isinstance(value, type(default))


def _type_name(value: Any) -> str:
    """A value's type as a user writes it (a list, not a YSeq)."""
    if isinstance(value, (list, tuple)):
        return "list"
    return "mapping" if isinstance(value, dict) else type(value).__name__


def apply_overrides(data: YMap, overrides: Mapping[str, Any], origin: str, file: str = "the file") -> None:
    params = data.get("params")
    if params is None:
        params = YMap()
        data["params"] = params
    for key, value in overrides.items():
        mark = Mark(origin)
        if key == "input":
            data.put("input", from_plain(value, mark), mark)
            continue
        if not isinstance(params, dict) or key not in params:
            known = list(params) if isinstance(params, dict) else []
            raise SpecError(
                f"{file} has no param {short(key)}", mark, f"params.{key}", did_you_mean(key, known + ["input"])
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise SpecError(f"param {key!r} must be a finite number, got {value}", mark, f"params.{key}")
        if not _type_ok(params[key], value):
            raise SpecError(
                f"param {key!r} expects {article(_type_name(params[key]))} like {short(params[key])}, "
                f"got {short(value)}",
                mark,
                f"params.{key}",
            )
        params.put(key, from_plain(value, mark), mark)  # Python's lists and dicts as the loader's, marked


def load_spec(path: str | Path, overrides: Mapping[str, Any] | None = None, origin: str = "override") -> Spec:
    """Load, merge ``extends``, apply overrides and validate one file."""
    path = Path(path)
    data = load_with_extends(path)
    declared = data.get("input")
    if overrides:
        apply_overrides(data, overrides, origin, path.stem)
    defaults = dict(getattr(data, "param_defaults", {}))
    model = validate(ArchitectureFile, dict(data), data, "", "an architecture file", Mark(str(path), 1, 1))
    return Spec(str(path), data, model, dict(overrides or {}), defaults, declared)


def with_overrides(spec: Spec, overrides: Mapping[str, Any], origin: str) -> Spec:
    """The same file with more overrides (``classes`` from the data), without reading it again."""
    data = copy.deepcopy(spec.data)
    apply_overrides(data, overrides, origin, Path(spec.file).stem)
    model = validate(ArchitectureFile, dict(data), data, "", "an architecture file", Mark(spec.file, 1, 1))
    overridden = {**spec.overrides, **overrides}
    return Spec(spec.file, data, model, overridden, dict(spec.param_defaults), spec.declared_input)
