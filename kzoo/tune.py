"""``kzoo tune``: hyperparameter search over recipe fields and architecture params, through KerasTuner.

A search space (kzoo.search_space: its schema) is YAML in the two namespaces of the
command line: ``set:`` holds recipe fields (dotted, as for ``--set``), ``param:``
architecture params (as for ``--param``); each value is a list of values or a range::

    set:
      optimizer.lr: {min: 1.0e-4, max: 0.1, log: true}  # a float range (log-uniform)
      weight_decay: [0, 1.0e-4, 5.0e-4]                  # a choice
      batch_size: [32, 64]
    param:
      init: [he_normal, glorot_uniform]
      depth: [18, 34]

A dimension is named as its flag (``--set optimizer.lr``, ``--param init``) in the
table, ``tune.json`` and KerasTuner's state; ``best_recipe.yaml`` is the best trial's
recipe, headed by its ``--param`` values.

KerasTuner's oracles (grid, random, Bayesian optimisation) pick the values;
each trial is a ``kzoo train`` run with its own run directory, scored by its
best validation accuracy (or ``--objective val_loss``). The search state lives
in the output directory, so rerunning the same command continues it.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
from keras_tuner.src import config as kt_config

from kzoo.errors import KzooError, SpecError, clip, did_you_mean, short
from kzoo.files import write_text_atomic
from kzoo.graph import analyse
from kzoo.lang.choices import allowed_values
from kzoo.lang.resolve import Spec, load_spec, with_overrides
from kzoo.search_space import Dimension, read_space
from kzoo.tasks import task_of
from kzoo.train.fit import train
from kzoo.train.recipe import resolve_recipe
from kzoo.train.rundir import RECIPE, RESULTS, RunDir
from kzoo.zoo import resolve_source


def load_space(path: str | Path, target: str | Spec, recipe_file: str | None = None) -> list[Dimension]:
    """Read and check a search space (errors carry the space file's line and column); ``target``: the
    architecture (a name, a file, or its loaded Spec, which is then not read again)."""
    dims = read_space(path)
    spec = target if isinstance(target, Spec) else load_spec(resolve_source(target))
    declared, arch_train = dict(spec.data.get("params") or {}), spec.data.get("train")
    for dim in dims:
        _check(dim, spec, declared, arch_train, recipe_file)
    return dims


def _check(dim: Dimension, spec: Spec, declared: dict, arch_train: Any, recipe_file: str | None) -> None:
    """Every value of the dimension is one the architecture or the recipe accepts (fails now, not in a trial)."""
    if dim.flag == "--param" and dim.key not in declared:
        raise SpecError(
            f"{Path(spec.file).stem} has no param {short(dim.key)}",
            dim.mark,
            hint=did_you_mean(dim.key, declared) or f"its params: {', '.join(sorted(declared))}",
        )
    if dim.flag == "--param" and dim.key == "classes":
        raise SpecError(
            "classes cannot be searched: a model gets as many outputs as its data has classes",
            dim.mark,
            hint="leave classes out of param:",
        )
    if dim.flag == "--param" and dim.values is None:
        allowed = allowed_values(spec.data, spec.param_defaults or None).get(dim.key)
        if allowed is not None:
            raise SpecError(
                f"{dim.name}: a range, but {dim.key} takes only {', '.join(map(repr, allowed))}",
                dim.mark,
                hint=f"give the values as a list: {dim.key}: [{', '.join(map(str, allowed))}]",
            )
    for sample in _samples(dim):
        try:
            if dim.flag == "--param":
                analyse(with_overrides(spec, {dim.key: sample}, "the search space"))
            else:
                recipe, _ = resolve_recipe(arch_train, recipe_file, {dim.key: sample}, list(declared))
                if dim.key in ("data.source", "data"):
                    task_of(spec.model.task).check_source(recipe.data.source)
        except SpecError as exc:
            raise SpecError(f"{dim.name} = {sample!r}: {exc.message}", dim.mark, hint=exc.hint) from None


def _samples(dim: Dimension) -> list[Any]:
    if dim.values is not None:
        return dim.values
    return [int(dim.low), int(dim.high)] if dim.is_int else [float(dim.low), float(dim.high)]


def hyperparameters(dims: list[Dimension], algorithm: str) -> Any:
    hp = kt.HyperParameters()
    for d in dims:
        if d.values is not None:
            mixed = {type(v) for v in d.values} == {int, float}  # KerasTuner's Choice takes one type
            values = [float(v) for v in d.values] if mixed else d.values
            hp.Choice(d.name, values, ordered=all(isinstance(v, (int, float)) for v in values))
            continue
        if algorithm == "grid" and d.step is None and not d.is_int:
            raise SpecError(f"{d.name}: grid search needs a list of values or a step", d.mark)
        sampling = "log" if d.log else "linear"
        if d.is_int:
            hp.Int(d.name, int(d.low), int(d.high), step=d.step or 1, sampling=sampling)
        else:
            hp.Float(d.name, float(d.low), float(d.high), step=d.step, sampling=sampling)
    return hp


def split_values(values: dict[str, Any], flag: str) -> dict[str, Any]:
    """The trial values of one namespace, by key: {"--set optimizer.lr": 0.1} -> {"optimizer.lr": 0.1}."""
    return {name.split(" ", 1)[1]: v for name, v in values.items() if name.split(" ", 1)[0] == flag}


def trial_number(trial: Any) -> int:
    """The number KerasTuner shows ("Running Trial #3") for a trial: its 0-based id plus one."""
    return int(trial.trial_id) + 1


def search_settings(
    target: str, space: str, dims: list[Dimension], recipe_file, sets, params, algorithm, objective, seed
):
    """What a rerun into the same search directory must agree with to continue the search."""
    return json.loads(
        json.dumps(
            {
                "target": str(target),
                "space": [{k: v for k, v in vars(d).items() if k != "mark"} for d in dims],
                "recipe": str(recipe_file) if recipe_file else None,
                "sets": sets or {},
                "params": params or {},
                "algorithm": algorithm,
                "objective": objective,
                "seed": seed,
            },
            default=str,
        )
    )


def tune(
    target: str,
    space: str,
    recipe_file: str | None = None,
    sets: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    algorithm: str = "random",
    trials: int = 10,
    objective: str = "val_accuracy",
    output: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Search; returns the trials sorted best first and where the best recipe was written.

    A trial that fails is reported in one line and the search goes on (KerasTuner stops after three
    failures in a row). Rerunning with the same settings continues the search; other settings are refused.
    """
    if algorithm not in ("grid", "random", "bayesian"):
        raise SpecError(f"unknown algorithm {algorithm!r}", hint="grid, random or bayesian")
    if objective not in ("val_accuracy", "val_loss"):
        raise SpecError(f"unknown objective {objective!r}", hint="val_accuracy or val_loss")
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise SpecError(f"trials must be a whole number >= 1, got {trials!r}")
    spec = load_spec(resolve_source(target), params, "--param")  # read once; each trial adds its values
    fixed, _ = resolve_recipe(spec.data.get("train"), recipe_file, sets, list(spec.data.get("params") or {}))
    task_of(spec.model.task).check_source(fixed.data.source)  # a missing data folder fails here, not in every trial
    dims = load_space(space, spec, recipe_file)
    out = Path(output or f"runs/tune-{Path(target).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    settings = search_settings(target, space, dims, recipe_file, sets, params, algorithm, objective, seed)
    direction = "max" if objective == "val_accuracy" else "min"
    oracle_cls = {
        "grid": kt.oracles.GridSearchOracle,
        "random": kt.oracles.RandomSearchOracle,
        "bayesian": kt.oracles.BayesianOptimizationOracle,
    }[algorithm]
    failures: dict[str, str] = {}

    class KzooTuner(kt.Tuner):
        """Each trial: one kzoo train run with the trial's values."""

        def run_trial(self, trial, *args, **kwargs):
            values = trial.hyperparameters.values
            trial_sets = {**(sets or {}), **split_values(values, "--set")}
            trial_params = split_values(values, "--param")
            keras.backend.clear_session()
            folder = out / "trials" / f"{trial_number(trial):02d}"
            try:
                trial_spec = with_overrides(spec, trial_params, "--param") if trial_params else spec
                results = train(trial_spec, recipe_file, trial_sets, None, str(folder))
            except Exception as exc:  # any failure is one line here; KerasTuner would keep its whole traceback
                message = exc.message if isinstance(exc, KzooError) else f"{type(exc).__name__}: {exc}"
                failures[trial.trial_id] = clip(message)
                print(f"kzoo: trial {trial_number(trial)} failed: {clip(message)}", file=sys.stderr)
                raise kt.errors.FailedTrialError(clip(message)) from None
            score = results["best_val_accuracy"] if objective == "val_accuracy" else results.get("best_val_loss")
            return {objective: float(score)}

        def on_trial_end(self, trial):
            if trial.trial_id in failures:  # KerasTuner would print the whole traceback it keeps as the message
                trial.message = failures[trial.trial_id]
            super().on_trial_end(trial)

    space_hp = hyperparameters(dims, algorithm)  # a grid without steps fails before anything is written
    with RunDir.open(out) as run:
        run.check("tune", settings)
        run.started = True
        oracle = oracle_cls(
            objective=kt.Objective(objective, direction),
            max_trials=trials,
            hyperparameters=space_hp,
            tune_new_entries=False,
            seed=seed,
        )
        tuner = KzooTuner(oracle=oracle, directory=str(out), project_name="keras_tuner", overwrite=False)
        debug, kt_config.DEBUG = kt_config.DEBUG, False  # else KerasTuner prints each failed trial's traceback
        try:
            tuner.search()
        except RuntimeError as exc:
            if "consecutive failures" not in str(exc):
                raise
            last = next(reversed(failures.values()), "")
            raise KzooError(
                f"the search stopped: {oracle.max_consecutive_failed_trials} trials in a row failed (the last: {last})",
                "fix what the trials share (the recipe, the space's ranges), then rerun to continue",
            ) from None
        finally:
            kt_config.DEBUG = debug
        summary = _summary(oracle, out, objective, direction, algorithm, failures)
        run.finish()
    return summary


def _summary(oracle: Any, out: Path, objective: str, direction: str, algorithm: str, failures: dict) -> dict:
    rows = []
    for trial in oracle.trials.values():
        run = out / "trials" / f"{trial_number(trial):02d}" / RESULTS
        if trial.score is None or not run.is_file():
            continue
        results = json.loads(run.read_text())
        rows.append(
            {
                "trial": trial_number(trial),
                "values": dict(trial.hyperparameters.values),
                objective: trial.score,
                "test_accuracy": results["test_accuracy"],
                "epochs_run": results["epochs_run"],
                "wall_seconds": results["wall_seconds"],
                "run_dir": str(run.parent),
            }
        )
    rows.sort(key=lambda r: r[objective], reverse=direction == "max")
    if not rows:
        raise SpecError("no trial finished", hint=f"see {out / 'trials'}")
    best = rows[0]
    best_params = split_values(best["values"], "--param")
    text = (Path(best["run_dir"]) / RECIPE).read_text()
    header = (
        f"# best of {len(rows)} trials ({algorithm} search, {objective} {best[objective]:.4f}), trial {best['trial']}\n"
    )
    if best_params:
        header += "# with architecture params: " + " ".join(f"--param {k}={v}" for k, v in best_params.items()) + "\n"
    write_text_atomic(out / "best_recipe.yaml", header + text)
    summary = {
        "objective": objective,
        "algorithm": algorithm,
        "trials": rows,
        "failed": [{"trial": int(t) + 1, "error": m} for t, m in failures.items()],
        "best_recipe": str(out / "best_recipe.yaml"),
    }
    write_text_atomic(out / "tune.json", json.dumps(summary, indent=2) + "\n")
    return summary


def trials_table(summary: dict[str, Any]) -> str:
    objective = summary["objective"]
    rows = summary["trials"]
    keys = sorted({k for r in rows for k in r["values"]})
    head = ["trial", *keys, objective, "test_acc", "epochs", "seconds"]
    body = [
        [r["trial"], *(_fmt(r["values"].get(k)) for k in keys), f"{r[objective]:.4f}", f"{r['test_accuracy']:.4f}"]
        + [str(r["epochs_run"]), f"{r['wall_seconds']:.0f}"]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True)) for line in [head, *body]]
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
