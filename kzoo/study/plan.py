"""A study file read and checked: its variants (grids expanded), seeds, baseline and ensembles, before anything
trains (:func:`load_study`); where each variant x seed trains (:func:`run_dir`)."""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kzoo.errors import Mark, SpecError, did_you_mean, short
from kzoo.lang.loader import YMap, load_file, mark_of
from kzoo.lang.validate import validate
from kzoo.paths import locate
from kzoo.study.schema import StudyFile, VariantEntry

MAX_RUNS = 1000


@dataclass
class Variant:
    name: str
    architecture: str
    recipe: str | None
    sets: dict[str, Any]
    params: dict[str, Any]
    mark: Mark | None = None
    start: str | None = None  # ``from:``: the classifier (an earlier variant, seed by seed, a run, a .keras file
    # or NAME:RELEASE) a detector or segmenter starts from, as kzoo finetune --from START --to ARCHITECTURE


@dataclass
class Study:
    name: str
    file: str
    description: str | None
    seeds: list[int]
    baseline: str | None
    variants: list[Variant] = field(default_factory=list)
    ensembles: list[str] = field(default_factory=list)


def _fail(message: str, data: Any, key: Any, hint: str | None = None, of_key: bool = False) -> SpecError:
    return SpecError(message, mark_of(data, key, of_key=of_key) if data is not None else None, hint=hint)


def _plain(value: Any) -> Any:
    """Plain dicts and lists (no marks), keys as strings: what a variant's sets and params are."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_study(path: str | Path, sets: dict[str, Any] | None = None, override_seeds: list[int] | None = None) -> Study:
    """Read and check a study file: every variant's architecture, params and recipe, before anything trains.

    ``sets`` (recipe fields: ``kzoo study --set epochs=2``) apply to every variant over the file's own;
    ``override_seeds`` (``--seeds 0,1``) replace the file's. ``path`` may name a study kzoo ships
    (``mnist_ladder``, ``studies/init_plain.yaml``)."""
    path = locate(path, "studies") or Path(path)
    data = load_file(path, "study file")
    if not isinstance(data, YMap) or not data:
        raise SpecError("a study file is a mapping with variants: and seeds:", Mark(str(path), 1, 1))
    plain = dict(data)
    if isinstance(data.get("variants"), YMap):  # a variant written `name:` with nothing is {}
        plain["variants"] = {k: YMap() if v is None else v for k, v in data["variants"].items()}
    model = validate(StudyFile, plain, data, "", "a study file", Mark(str(path), 1, 1))
    seeds = model.seeds if override_seeds is None else override_seeds
    if not (isinstance(seeds, list) and seeds and all(type(s) is int and 0 <= s < 2**32 for s in seeds)):
        raise _fail("seeds: a list of whole numbers 0 .. 2^32-1", data, "seeds", hint="e.g. seeds: [0, 1, 2]")
    if len(set(seeds)) != len(seeds):
        raise _fail("seeds: each seed once", data, "seeds")
    name = model.name if model.name is not None else path.stem
    if not _folder_name(name):
        hint = "it names the output folder"
        if "name" not in data:
            hint += f"; the file's stem {name!r} is the default: give name:"
        raise _fail("name: letters, digits, '_', '-' and '.', not first", data, "name", hint=hint)
    common_sets, common_params = _plain(model.set), _plain(model.param)
    if model.data is not None:
        common_sets = {"data.source": _source_relative(model.data, path), **common_sets}
    study = Study(name, str(path), model.description, list(seeds), model.baseline)
    for vname, entry in model.variants.items():
        runs = (len(study.variants), len(seeds))  # a grid is counted against MAX_RUNS before it is expanded
        where = (data["variants"], data["variants"][vname] or YMap())
        study.variants.extend(_variants(str(vname), entry, where, model, common_sets, common_params, path, runs))
    names = [v.name for v in study.variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(f"two variants are named {duplicates[0]!r} (after expanding grids)", data, "variants")
    if study.baseline is not None and study.baseline not in names:
        raise _fail(
            f"baseline {short(study.baseline)} is no variant", data, "baseline", did_you_mean(study.baseline, names)
        )
    ensembles = model.ensembles
    for name_ in ensembles:
        if name_ not in names:
            raise _fail(f"ensembles: {short(name_)} is no variant", data, "ensembles", did_you_mean(name_, names))
    if ensembles and len(seeds) < 2:
        raise _fail("ensembles: an ensemble needs at least two seeds", data, "ensembles")
    study.ensembles = list(ensembles)
    for k, variant in enumerate(study.variants):
        variant.sets = {**variant.sets, **(sets or {})}
        if variant.start in names and variant.start not in names[:k]:
            raise SpecError(
                f"variant {variant.name!r} starts from variant {variant.start!r}, which must come before it",
                variant.mark,
                hint="list the classifier's variant first: it trains first",
            )
        _check_variant(variant, variant.start in names)
    return study


def _folder_name(name: Any) -> bool:
    """A study's or variant's name becomes a folder: one plain path component, never '..' or hidden."""
    return isinstance(name, str) and bool(name) and name[0] != "." and all(c.isalnum() or c in "_-." for c in name)


def _variants(
    name: str,
    entry: VariantEntry,
    where: tuple[YMap, YMap],
    model: StudyFile,
    common_sets: dict[str, Any],
    common_params: dict[str, Any],
    path: Path,
    runs: tuple[int, int],
) -> list[Variant]:
    """The variants one entry of ``variants:`` stands for (a grid: one per combination of its list values);
    ``where``: the ``variants:`` mapping and the entry's own, for marks."""
    container, vdata = where
    if not _folder_name(name):
        raise _fail(
            f"variant {short(name)}: a name of letters, digits, '_', '-' and '.', not first",
            container,
            name,
            hint="it names the variant's folder under runs/",
            of_key=True,
        )
    architecture = entry.architecture or model.architecture
    if architecture is None:
        raise _fail(f"variant {name!r} names no architecture", container, name, "give architecture: NAME|FILE")
    architecture = _relative(architecture, path)
    recipe = entry.recipe or model.recipe
    if recipe is not None:
        recipe = _relative(recipe, path, always=True)
    sets, params = _plain(entry.set), _plain(entry.param)
    axes = [("set", k, v) for k, v in sets.items() if isinstance(v, list)]
    axes += [("param", k, v) for k, v in params.items() if isinstance(v, list)]
    for _, key, values in axes:
        if not values:
            raise _fail(
                f"variant {name!r}: {key} has an empty list of values", vdata, "param" if key in params else "set"
            )
    count = math.prod(len(values) for _, _, values in axes)
    earlier, seeds = runs
    if (earlier + count) * seeds > MAX_RUNS:
        raise _fail(
            f"variant {name!r} (its grid has {count:,} combinations) brings the study to {earlier + count:,} "
            f"variants x {seeds} seeds, more than {MAX_RUNS} runs",
            container,
            name,
            hint="fewer values per grid axis, or split the study",
            of_key=True,
        )
    if isinstance(sets.get("data.source"), str):
        sets["data.source"] = _source_relative(sets["data.source"], path)
    start = entry.start
    if start is not None:
        # as on the command line: relative to the current folder (else to the study file, where it is there)
        if not Path(start).exists() and (path.parent / start).exists():
            start = str(path.parent / start)
    out = []
    for combo in itertools.product(*[values for _, _, values in axes]) if axes else [()]:
        vsets, vparams = dict(sets), dict(params)
        for (section, key, _), value in zip(axes, combo, strict=True):
            (vsets if section == "set" else vparams)[key] = value
        suffix = "".join(f"-{_label(v)}" for v in combo)
        mark = mark_of(container, name, of_key=True)
        out.append(
            Variant(
                name + suffix, architecture, recipe, {**common_sets, **vsets}, {**common_params, **vparams}, mark, start
            )
        )
    return out


def _label(value: Any) -> str:
    """A grid value as part of a variant's name (a folder name too): [4, 8] -> 4x8, {a: 1} -> a.1."""
    if isinstance(value, list):
        return "x".join(_label(v) for v in value)
    if isinstance(value, dict):
        return "_".join(f"{_label(k)}.{_label(v)}" for k, v in value.items())
    text = json.dumps(value) if not isinstance(value, str) else value
    return "".join(c if c.isalnum() or c in "_.-" else "_" for c in text)


def _relative(target: str, study_file: Path, always: bool = False) -> str:
    """A path written in the study file is relative to it; a zoo name stays a name."""
    looks_like_file = always or target.endswith((".yaml", ".yml")) or "/" in target
    if looks_like_file and not Path(target).is_absolute():
        candidate = study_file.parent / target
        if candidate.exists() or not Path(target).exists():
            return str(candidate)
    return target


def _source_relative(source: str, study_file: Path) -> str:
    """``npz:PATH`` and ``folder:PATH`` written in a study file are relative to it."""
    kind, sep, rest = source.partition(":")
    if kind in ("npz", "folder") and sep and rest and not Path(rest).expanduser().is_absolute():
        return f"{kind}:{study_file.parent / rest}"
    return source


def _check_variant(variant: Variant, from_variant: bool = False) -> None:
    """What kzoo train would refuse, refused now (located at the variant) - nothing trains yet."""
    # Imported here: they import TensorFlow, and the study file's own mistakes are reported without it.
    from kzoo.train.fit import resolve

    try:  # resolve checks the recipe against the model, its data source by the model's task included
        if variant.start is not None:
            _check_start(variant, from_variant)
        resolve(variant.architecture, variant.recipe, variant.sets, variant.params)
    except SpecError as exc:
        # A mistake inside the variant's architecture or recipe file is reported at its own line; one in the
        # values the study gives (--param, --set) at the variant's line in the study file.
        in_file = (
            exc.mark is not None
            and exc.mark.line is not None
            and exc.mark.file != str(variant.mark.file if variant.mark else "")
        )
        where = exc.mark if in_file else variant.mark
        hint = (
            f"{exc.hint + '; ' if exc.hint else ''}variant {variant.name!r} is at {variant.mark}"
            if in_file
            else exc.hint
        )
        raise SpecError(
            f"variant {variant.name!r}: {exc.message}", where, exc.path if in_file else None, hint
        ) from None


def _check_start(variant: Variant, from_variant: bool) -> None:
    """``from:`` names an earlier variant, a run, a model file or a release, and the architecture takes a
    backbone."""
    from kzoo.train.dense_start import check_target

    check_target(variant.architecture)
    start = variant.start or ""
    if not from_variant and not Path(start).exists() and ":" not in start:
        raise SpecError(
            f"from: no run or model {start}",
            hint="name a variant of the study that trains the classifier (seed by seed), a run directory, a .keras "
            "file, or a release (NAME:imagenet)",
        )


def run_dir(out: Path, variant: str, seed: int) -> Path:
    return out / "runs" / variant / f"seed{seed}"
