"""``kzoo study FILE.yaml``: a fixed, reported comparison of variants over seeds, each an ordinary ``kzoo train`` run.

A study file::

    name: init_plain                 # the report's name (and the default output folder, studies/NAME)
    description: why it is run
    architecture: vgg11              # every variant's, unless it names its own
    recipe: recipes/sgd.yaml         # optional base recipe (a file); `set:` overrides its fields
    data: mnist5000                  # the data source of every run
    seeds: [0, 1, 2]
    set: {epochs: 5}                 # recipe fields of every run
    param: {classes: 10}             # architecture params of every run
    baseline: he_relu                # the variant the others are compared with, seed by seed
    variants:
      he_relu: {param: {init: he_normal, activation: relu}}
      grid: {param: {init: [torch_legacy, glorot_uniform], activation: [tanh, relu]}}   # four variants

A list value in a variant's ``param:`` or ``set:`` is a grid axis: the variant expands into
one variant per combination, named ``grid-torch_legacy-tanh`` and so on (to give a param a
list value, write it inside a list: ``input: [[32, 32, 1]]``). Every variant x seed trains
into ``OUTPUT/runs/VARIANT/seedN`` through :func:`kzoo.train.train`, so a rerun continues
where it stopped (finished runs are read, an interrupted one resumes), several processes
can share ``OUTPUT`` (a run another process holds is left to it) and a failing variant is
reported while the others go on. ``ensembles: [VARIANT]`` also scores the variant's seeds'
models together (mean of their probabilities, and majority vote; :func:`kzoo.train.evaluate.evaluate`).
The report - ``study.json``, ``report.md``, ``curves.png``
and ``accuracy.png`` - gives each variant's test accuracy (mean and standard deviation over
the seeds that finished) and its paired difference to the baseline (over the seeds both
finished).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError, Mark, SpecError, clip, did_you_mean, short
from kzoo.files import write_text_atomic
from kzoo.lang.loader import YMap, load_file, mark_of

KEYS = {
    "name", "description", "architecture", "recipe", "data", "seeds", "set", "param", "baseline", "variants",
    "ensembles",
}  # fmt: skip
VARIANT_KEYS = {"architecture", "recipe", "set", "param", "description"}
MAX_RUNS = 1000


@dataclass
class Variant:
    name: str
    architecture: str
    recipe: str | None
    sets: dict[str, Any]
    params: dict[str, Any]
    mark: Mark | None = None


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


def _mapping(data: YMap, key: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, YMap):
        raise _fail(f"{key}: maps names to values", data, key)
    return {str(k): _plain(v) for k, v in value.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, YMap):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def load_study(path: str | Path) -> Study:
    """Read and check a study file: every variant's architecture, params and recipe, before anything trains."""
    path = Path(path)
    data = load_file(path, "study file")
    if not isinstance(data, YMap) or not data:
        raise SpecError("a study file is a mapping with variants: and seeds:", Mark(str(path), 1, 1))
    for key in data:
        if key not in KEYS:
            raise _fail(f"unknown key {short(key)} in a study", data, key, did_you_mean(key, KEYS), of_key=True)
    for key in ("variants", "seeds"):
        if key not in data:
            raise SpecError(f"a study needs {key}:", Mark(str(path), 1, 1), hint="see kzoo.study's documentation")
    seeds = data["seeds"]
    if not (isinstance(seeds, list) and seeds and all(type(s) is int and 0 <= s < 2**32 for s in seeds)):
        raise _fail("seeds: a list of whole numbers 0 .. 2^32-1", data, "seeds", hint="e.g. seeds: [0, 1, 2]")
    if len(set(seeds)) != len(seeds):
        raise _fail("seeds: each seed once", data, "seeds")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "_-." for c in name):
        raise _fail("name: letters, digits, '_', '-' and '.'", data, "name")
    common_sets, common_params = _mapping(data, "set"), _mapping(data, "param")
    if data.get("data") is not None:
        if not isinstance(data["data"], str):
            raise _fail("data: a data source (digits, mnist5000, npz:PATH, folder:PATH, tfds:NAME)", data, "data")
        common_sets = {"data.source": _source_relative(data["data"], path), **common_sets}
    variants_data = data["variants"]
    if not isinstance(variants_data, YMap) or not variants_data:
        raise _fail("variants: maps each variant's name to {architecture, param, set}", data, "variants")
    study = Study(name, str(path), data.get("description"), list(seeds), data.get("baseline"))
    for vname, vdata in variants_data.items():
        study.variants.extend(_variants(str(vname), vdata, variants_data, data, common_sets, common_params, path))
    names = [v.name for v in study.variants]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise _fail(f"two variants are named {duplicates[0]!r} (after expanding grids)", data, "variants")
    if study.baseline is not None and study.baseline not in names:
        raise _fail(
            f"baseline {short(study.baseline)} is no variant", data, "baseline", did_you_mean(study.baseline, names)
        )
    ensembles = data.get("ensembles") or []
    if not isinstance(ensembles, list) or not all(isinstance(e, str) for e in ensembles):
        raise _fail("ensembles: a list of variant names", data, "ensembles", hint="e.g. ensembles: [big_dropout]")
    for name_ in ensembles:
        if name_ not in names:
            raise _fail(f"ensembles: {short(name_)} is no variant", data, "ensembles", did_you_mean(name_, names))
    if ensembles and len(seeds) < 2:
        raise _fail("ensembles: an ensemble needs at least two seeds", data, "ensembles")
    study.ensembles = list(ensembles)
    if len(names) * len(seeds) > MAX_RUNS:
        raise _fail(f"{len(names)} variants x {len(seeds)} seeds is more than {MAX_RUNS} runs", data, "variants")
    for variant in study.variants:
        _check_variant(variant)
    return study


def _variants(name, vdata, container, data, common_sets, common_params, path) -> list[Variant]:
    if vdata is None:
        vdata = YMap()
    if not isinstance(vdata, YMap):
        raise _fail(f"variant {name!r}: a mapping of architecture, param, set", container, name)
    for key in vdata:
        if key not in VARIANT_KEYS:
            hint = did_you_mean(key, VARIANT_KEYS)
            raise _fail(f"unknown key {short(key)} in variant {name!r}", vdata, key, hint, of_key=True)
    architecture = vdata.get("architecture", data.get("architecture"))
    if not isinstance(architecture, str) or not architecture:
        raise _fail(f"variant {name!r} names no architecture", container, name, "give architecture: NAME|FILE")
    architecture = _relative(architecture, path)
    recipe = vdata.get("recipe", data.get("recipe"))
    if recipe is not None:
        if not isinstance(recipe, str):
            raise _fail("recipe: the path of a recipe file", vdata if "recipe" in vdata else data, "recipe")
        recipe = _relative(recipe, path, always=True)
    sets, params = _mapping(vdata, "set"), _mapping(vdata, "param")
    axes = [("set", k, v) for k, v in sets.items() if isinstance(v, list)]
    axes += [("param", k, v) for k, v in params.items() if isinstance(v, list)]
    for _, key, values in axes:
        if not values:
            raise _fail(
                f"variant {name!r}: {key} has an empty list of values", vdata, "param" if key in params else "set"
            )
    if isinstance(sets.get("data.source"), str):
        sets["data.source"] = _source_relative(sets["data.source"], path)
    out = []
    for combo in itertools.product(*[values for _, _, values in axes]) if axes else [()]:
        vsets, vparams = dict(sets), dict(params)
        for (section, key, _), value in zip(axes, combo, strict=True):
            (vsets if section == "set" else vparams)[key] = value
        suffix = "".join(f"-{_label(v)}" for v in combo)
        mark = mark_of(container, name, of_key=True)
        out.append(
            Variant(name + suffix, architecture, recipe, {**common_sets, **vsets}, {**common_params, **vparams}, mark)
        )
    return out


def _label(value: Any) -> str:
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


def _check_variant(variant: Variant) -> None:
    """What kzoo train would refuse, refused now (located at the variant) - nothing trains yet."""
    from kzoo.train.data import check_source
    from kzoo.train.fit import resolve

    try:
        _, recipe, _ = resolve(variant.architecture, variant.recipe, variant.sets, variant.params)
        check_source(recipe.data.source)
    except SpecError as exc:
        raise SpecError(f"variant {variant.name!r}: {exc.message}", variant.mark, hint=exc.hint) from None


# -- running ------------------------------------------------------------------------------------------------------
def run_dir(out: Path, variant: str, seed: int) -> Path:
    return out / "runs" / variant / f"seed{seed}"


def study(path: str | Path, output: str | None = None, only: list[str] | None = None) -> dict[str, Any]:
    """Run (or continue) a study and write its report; returns study.json's content."""
    import keras

    from kzoo.train import train

    plan = load_study(path)
    out = Path(output) if output else Path("studies") / plan.name
    variants = plan.variants
    if only:
        names = [v.name for v in plan.variants]
        unknown = [o for o in only if o not in names]
        if unknown:
            raise SpecError(
                f"--variant {unknown[0]!r} is no variant of {plan.name}", hint=did_you_mean(unknown[0], names)
            )
        variants = [v for v in plan.variants if v.name in only]
    total = len(variants) * len(plan.seeds)
    print(f"kzoo study {plan.name}: {len(variants)} variants x {len(plan.seeds)} seeds = {total} runs into {out}")
    status: dict[tuple[str, int], dict[str, Any]] = {}
    k = 0
    for variant in variants:
        for seed in plan.seeds:
            k += 1
            folder = run_dir(out, variant.name, seed)
            print(f"[{k}/{total}] {variant.name} seed {seed}: {folder}", flush=True)
            keras.backend.clear_session()
            try:
                results = train(
                    variant.architecture, variant.recipe, {**variant.sets, "seed": seed}, variant.params, str(folder)
                )
                status[(variant.name, seed)] = {"status": "finished", "test_accuracy": results.get("test_accuracy")}
            except KzooError as exc:
                state = "elsewhere" if "in use by another kzoo process" in exc.message else "failed"
                status[(variant.name, seed)] = {"status": state, "error": clip(exc.message)}
                print(f"kzoo: {variant.name} seed {seed} {state}: {clip(exc.message)}", file=sys.stderr, flush=True)
            except (OSError, ValueError, RuntimeError, ArithmeticError) as exc:
                message = clip(f"{type(exc).__name__}: {exc}")
                status[(variant.name, seed)] = {"status": "failed", "error": message}
                print(f"kzoo: {variant.name} seed {seed} failed: {message}", file=sys.stderr, flush=True)
    return report(plan, out, status)


def _curve(folder: Path, column: str) -> list[float]:
    log = folder / "log.csv"
    if not log.is_file():
        return []
    values = []
    with log.open(newline="") as f:
        for row in csv.DictReader(f):
            try:
                values.append(float(row.get(column, "nan")))
            except ValueError:
                values.append(float("nan"))
    return values


def _mean_std(values: list[float]) -> tuple[float | None, float | None]:
    if not values:
        return None, None
    mean = sum(values) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return mean, std


def report(plan: Study, out: Path, status: dict[tuple[str, int], dict[str, Any]] | None = None) -> dict[str, Any]:
    """Read every run's results (finished by this process or another) and write study.json, report.md and plots."""
    status = status or {}
    rows = []
    scores: dict[str, dict[int, float]] = {}
    for variant in plan.variants:
        scores[variant.name] = {}
        runs = []
        for seed in plan.seeds:
            folder = run_dir(out, variant.name, seed)
            results_file = folder / "results.json"
            state = status.get((variant.name, seed), {})
            entry = {"seed": seed, "run_dir": str(folder), "status": state.get("status", "not run")}
            if results_file.is_file():
                results = json.loads(results_file.read_text())
                entry.update(
                    status="finished", test_accuracy=results.get("test_accuracy"), epochs=results.get("epochs_run")
                )
                if isinstance(results.get("test_accuracy"), (int, float)):
                    scores[variant.name][seed] = float(results["test_accuracy"])
            elif "error" in state:
                entry["error"] = state["error"]
            runs.append(entry)
        mean, std = _mean_std(list(scores[variant.name].values()))
        rows.append({"variant": variant.name, "architecture": variant.architecture, "param": variant.params,
                     "set": {k: v for k, v in variant.sets.items() if k != "data.source"},
                     "finished": len(scores[variant.name]), "mean": mean, "std": std, "runs": runs})  # fmt: skip
    if plan.baseline is not None:
        base = scores[plan.baseline]
        for row in rows:
            paired = [
                scores[row["variant"]][s] - base[s] for s in plan.seeds if s in base and s in scores[row["variant"]]
            ]
            row["paired_difference"], row["paired_std"] = _mean_std(paired)
            row["paired_seeds"] = len(paired)
    failed = [f"{row['variant']} seed {r['seed']}: {r.get('error', '')}" for row in rows for r in row["runs"]
              if r["status"] == "failed"]  # fmt: skip
    ensembles = [_ensemble(plan, out, name, scores[name]) for name in plan.ensembles]
    doc = {
        "study": plan.name,
        "file": plan.file,
        "description": plan.description,
        "seeds": plan.seeds,
        "baseline": plan.baseline,
        "variants": rows,
        "ensembles": ensembles,
        "failed": failed,
        "complete": all(r["status"] == "finished" for row in rows for r in row["runs"]),
        "output": str(out),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "study.json", json.dumps(doc, indent=2, default=str) + "\n")
    write_text_atomic(out / "report.md", markdown(doc))
    doc["pictures"] = _plots(plan, out, rows)
    write_text_atomic(out / "study.json", json.dumps(doc, indent=2, default=str) + "\n")
    print(table(doc))
    if failed:
        print(f"kzoo: {len(failed)} run(s) failed (see {out / 'study.json'}); the others are reported", file=sys.stderr)
    return doc


def _ensemble(plan: Study, out: Path, name: str, finished: dict[int, float]) -> dict[str, Any]:
    """The finished seeds' models of a variant, scored together on their test split."""
    from kzoo.train.evaluate import evaluate

    seeds = sorted(finished)
    entry: dict[str, Any] = {"variant": name, "seeds": seeds}
    if len(seeds) < 2:
        return {**entry, "error": f"{len(seeds)} finished run(s): an ensemble needs two"}
    try:
        result = evaluate([str(run_dir(out, name, s)) for s in seeds])
    except (KzooError, OSError, ValueError) as exc:
        return {**entry, "error": clip(str(exc))}
    return {**entry, "mean_probability": result["mean_probability"], "majority_vote": result["majority_vote"],
            "members": result.get("members")}  # fmt: skip


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"


def table(doc: dict[str, Any]) -> str:
    """The report as a text table: test accuracy (%) mean ± std, and the paired difference to the baseline."""
    lines = [f"{'variant':<32} {'runs':>5} {'test accuracy %':>17} {'vs ' + str(doc['baseline'] or '-'):>22}"]
    for row in doc["variants"]:
        acc = f"{_pct(row['mean'])} ± {_pct(row['std'])}" if row["mean"] is not None else "-"
        diff = row.get("paired_difference")
        vs = f"{_pct(diff, True)} ± {_pct(row.get('paired_std'))}" if diff is not None else "-"
        lines.append(f"{row['variant']:<32} {row['finished']:>2}/{len(row['runs']):<2} {acc:>17} {vs:>22}")
    for ens in doc.get("ensembles", []):
        label = f"{ens['variant']} (ensemble)"
        value = _pct(ens.get("mean_probability")) if "error" not in ens else ens["error"]
        lines.append(f"{label:<32} {len(ens['seeds']):>2}    {value:>17}")
    return "\n".join(lines)


def markdown(doc: dict[str, Any]) -> str:
    base = doc["baseline"]
    lines = [f"# Study {doc['study']}", ""]
    if doc.get("description"):
        lines += [str(doc["description"]).strip(), ""]
    lines += [
        f"Seeds {', '.join(map(str, doc['seeds']))}; test accuracy in %, mean ± standard deviation over the seeds that "
        f"finished" + (f"; the paired difference to `{base}` over the seeds both finished." if base else "."),
        "",
        "| variant | runs | test accuracy | " + (f"difference to {base} |" if base else ""),
        "|---|---|---|" + ("---|" if base else ""),
    ]
    for row in doc["variants"]:
        acc = f"{_pct(row['mean'])} ± {_pct(row['std'])}" if row["mean"] is not None else "-"
        line = f"| {row['variant']} | {row['finished']}/{len(row['runs'])} | {acc} |"
        if base:
            diff = row.get("paired_difference")
            line += f" {_pct(diff, True)} ± {_pct(row.get('paired_std'))} |" if diff is not None else " - |"
        lines.append(line)
    for ens in doc.get("ensembles", []):
        if "error" in ens:
            lines.append(f"| {ens['variant']}, ensemble | - | {ens['error']} |" + (" |" if base else ""))
        else:
            lines.append(
                f"| {ens['variant']}, ensemble of seeds {', '.join(map(str, ens['seeds']))} (mean probability; "
                f"majority vote {_pct(ens['majority_vote'])}) | {len(ens['seeds'])} models | "
                f"{_pct(ens['mean_probability'])} |" + (" |" if base else "")
            )
    if doc["failed"]:
        lines += ["", "Failed runs:", ""] + [f"- {f}" for f in doc["failed"]]
    lines += ["", "![curves](curves.png)", "", "![accuracy](accuracy.png)", ""]
    return "\n".join(lines)


def _plots(plan: Study, out: Path, rows: list[dict[str, Any]]) -> list[str]:
    from kzoo.inspect.pictures import pyplot, save

    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for row in rows:
        for ax, column in zip(axes, ("val_accuracy", "loss"), strict=True):
            curves = [_curve(run_dir(out, row["variant"], s), column) for s in plan.seeds]
            curves = [c for c in curves if c]
            if not curves:
                continue
            n = min(len(c) for c in curves)
            mean = [sum(c[i] for c in curves) / len(curves) for i in range(n)]
            ax.plot(range(1, n + 1), mean, label=row["variant"])
    for ax, column in zip(axes, ("validation accuracy", "training loss"), strict=True):
        ax.set_xlabel("epoch")
        ax.set_ylabel(column + " (mean over seeds)")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.suptitle(f"study {plan.name}")
    written = [save(fig, out / "curves.png")]
    fig, ax = plt.subplots(figsize=(max(4, 0.6 * len(rows) + 2), 4))
    shown = [r for r in rows if r["mean"] is not None]
    ax.bar(range(len(shown)), [100 * r["mean"] for r in shown], yerr=[100 * (r["std"] or 0) for r in shown], capsize=3)
    ax.set_xticks(range(len(shown)), [r["variant"] for r in shown], rotation=45, ha="right", fontsize=7)
    ax.set_ylabel("test accuracy % (mean ± std over seeds)")
    if shown:
        low = min(100 * (r["mean"] - (r["std"] or 0)) for r in shown)
        ax.set_ylim(max(0, low - 2), 100)
    written.append(save(fig, out / "accuracy.png"))
    return written
