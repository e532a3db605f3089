"""``kzoo train``: architecture + recipe -> checks -> data -> model -> fit -> a run directory.

Every run writes a run directory::

    runs/lenet5-20261123-120000/
      run.json         the run's settings and status (what a rerun is compared with)
      model.keras      the trained model (best weights), normalisation and class names included
      best.keras       the best checkpoint during training
      recipe.yaml      the resolved recipe
      log.csv          per-epoch metrics, learning rate, momentum
      tensorboard/     TensorBoard logs
      results.json     test_accuracy, test_loss, epochs_run, why it stopped, class names, ...
      backup/          while it runs: what a killed run resumes from

Everything that can be checked is checked before anything heavy starts: the
recipe against itself and the model (before TensorFlow), then the data against
the recipe (before the model is built). Rerunning the same command resumes an
unfinished run and reports a finished one; other settings are refused.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import keras

from kzoo.builder import build_graph
from kzoo.errors import SpecError, printable
from kzoo.files import write_text_atomic
from kzoo.graph import Graph, analyse
from kzoo.graph.budget import check_training
from kzoo.keras.scores import is_logits
from kzoo.lang.resolve import Spec, load_spec, with_overrides
from kzoo.saved import save_atomic
from kzoo.tasks import Task, task_of
from kzoo.train.checks import (
    check_data,
    check_static,
    input_meta,
    preparation,
    settings,
    stopping,
    training_shape,
    warn_if_tiny,
)
from kzoo.train.data import Splits
from kzoo.train.optim import kernel_decay, make_optimizer
from kzoo.train.phase import evaluate_test, fit_phase
from kzoo.train.pipeline import metric, normalization
from kzoo.train.recipe import Recipe, dump, located, resolve_recipe
from kzoo.train.rundir import MODEL, RECIPE, RESULTS, RunDir
from kzoo.train.strategy import scope, start, worker
from kzoo.zoo import resolve_source


# -- resolution ---------------------------------------------------------------------------------------------------
def resolve(
    target: str | Path | Spec, recipe_file: str | None, sets: dict[str, Any] | None, params: dict[str, Any] | None
) -> tuple[Spec, Recipe, Graph]:
    """The architecture (read once; a loaded Spec is used as it is) and the recipe, checked against each other."""
    spec = target if isinstance(target, Spec) else load_spec(resolve_source(target), params, "--param")
    declared = list(spec.data.get("params") or {})
    if spec.model.task == "classification":  # other tasks train with their file's own recipe
        recipe_file = recipe_file or photos_default(sets)
    recipe, data = resolve_recipe(spec.data.get("train"), recipe_file, sets, declared)
    graph = analyse(spec)
    classes = task_of(graph).known_classes(recipe.data.source)
    if classes is not None:  # a built-in source: classes fixed from the data before TensorFlow starts
        graph = match_classes(spec, graph, classes, params)
    try:
        check_static(recipe, graph)
    except SpecError as exc:  # a field wrong for this model: at the recipe line (or --set) that gave it
        raise located(exc, data) from None
    return spec, recipe, graph


PHOTOS_RECIPE = "small_photos"


def photos_default(sets: dict[str, Any] | None) -> str | None:
    """The recipe a folder of photos trains with when none is given (recipes/small_photos.yaml), said on stderr."""
    source = (sets or {}).get("data.source")
    if not (isinstance(source, str) and source.startswith("folder:")):
        return None
    print(
        f"kzoo: note: a folder of photos trains with the recipe {PHOTOS_RECIPE} (Adam 1e-3, batch 16, 60 epochs, "
        "flips and shifts, patient early stopping); --recipe R replaces it, --set changes a field",
        file=sys.stderr,
    )
    return PHOTOS_RECIPE


def run_path(recipe: Recipe, name: str, output: str | None) -> Path:
    """The run directory: --output, the recipe's output, or runs/NAME-TIME; a non-chief worker's is inside it."""
    out = output or recipe.output
    path = Path(out) if out else Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if recipe.strategy == "multi_worker":
        # Every worker writes (saving is collective), but only the chief (worker 0, or the chief task) into
        # the run directory itself; the others into worker-N/ inside it, each with its own backup.
        kind, index, chief = worker(required=True)
        if not chief:
            path = path / f"{kind}-{index}"
    return path


def match_classes(spec: Spec, graph: Graph, classes: int, params: dict[str, Any] | None) -> Graph:
    """The graph with as many outputs as the data has classes (unless the user set classes): the same file,
    not read again, expanded once more with the data's class count."""
    declared = graph.meta["params"].get("classes")
    if declared is None or declared == classes:
        return graph
    if (params and "classes" in params) or "classes" in spec.overrides:
        raise SpecError(
            f"the data has {classes} classes but --param classes={declared} was given",
            hint="leave classes out: a model gets as many outputs as its data has classes",
        )
    return analyse(with_overrides(spec, {"classes": classes}, "the data's classes"))


# -- the model --------------------------------------------------------------------------------------------------
def prepare_model(graph: Graph, recipe: Recipe, splits: Splits) -> tuple[keras.Model, float]:
    """Build and compile the model: normalisation in front, weight decay, losses per output."""
    front = normalization(recipe, splits, graph.input_shape[-1])
    model = build_graph(graph, front=front, configure=kernel_decay(recipe.weight_decay))
    aux = float(graph.meta["params"].get("aux_weight", 0.3))
    return model, compile_model(model, recipe, aux_weight=aux, task=task_of(graph))


def compile_model(
    model: Any, recipe: Recipe, lr: float | None = None, aux_weight: float = 0.3, task: Task | None = None
) -> float:
    """Compile with the recipe's optimizer (at ``lr``, default the recipe's, batch-scaled) and the task's loss and
    metrics (kzoo.tasks; classification by default); returns the lr."""
    task = task or task_of("classification")
    if lr is None:
        lr = recipe.optimizer.lr
        if recipe.schedule.scale_batch:
            lr *= recipe.batch_size / recipe.schedule.scale_batch
    names = list(model.output_names)
    loss = {n: task.loss(recipe, is_logits(model, i), model) for i, n in enumerate(names)}
    metrics = task.metrics(int(model.outputs[0].shape[-1]), model)
    model.compile(
        optimizer=make_optimizer(recipe.optimizer, lr),
        loss=loss if len(names) > 1 else loss[names[0]],
        loss_weights={n: (1.0 if i == 0 else aux_weight) for i, n in enumerate(names)} if len(names) > 1 else None,
        metrics={names[0]: metrics} if len(names) > 1 else metrics,
        jit_compile=recipe.jit_compile,
    )
    return lr


# -- results ----------------------------------------------------------------------------------------------------
def write_results(run_dir: Path, results: dict[str, Any]) -> None:
    write_text_atomic(run_dir / RESULTS, json.dumps(results, indent=2, default=str) + "\n")
    print(
        printable(
            f"test accuracy {results['test_accuracy']:.4f}, "
            + (f"test mean IoU {results['test_mean_iou']:.4f}, " if "test_mean_iou" in results else "")
            + (
                f"test mAP@.5 {results['test_map50']:.4f}, mAP@[.5:.95] {results['test_map']:.4f}, "
                if "test_map50" in results
                else ""
            )
            + f"test loss {results['test_loss']:.4f} "
            f"after {results['epochs_run']} epochs ({results['wall_seconds']:.1f} s); model, logs and results in "
            f"{results['run_dir']}"
        )
    )
    if results.get("stopped"):
        print(f"stopped: {results['stopped']}")


def report_finished(run: RunDir) -> dict[str, Any]:
    results = dict(run.finished_results or {})
    print(
        printable(
            f"{run.path} holds a finished run (test accuracy {results.get('test_accuracy', float('nan')):.4f}); "
            "nothing to do (--overwrite trains it again)"
        )
    )
    return results


# -- the whole job ------------------------------------------------------------------------------------------------
def train(
    target: str | Path | Spec,
    recipe_file: str | None = None,
    sets: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    overwrite: bool = False,
    weights_from: Any = None,
) -> dict[str, Any]:
    """Train a zoo architecture (name, YAML path or loaded Spec) with a recipe; returns results.json's content.
    ``weights_from(model)``: gives the built model its starting weights (kzoo finetune --to), before fitting
    (a resumed run then takes its backup's)."""
    start_time = time.time()
    spec, recipe, graph = resolve(target, recipe_file, sets, params)
    with RunDir.open(run_path(recipe, graph.name, output)) as run:
        strategy = start(recipe)
        splits = task_of(graph).load_data(recipe.data, training_shape(recipe, graph))
        graph = match_classes(spec, graph, splits.classes, params)
        check_training(graph, recipe.batch_size)
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        check_data(recipe, splits, replicas)
        run.check("train", settings(recipe, graph, splits), overwrite)
        if run.finished_results is not None:
            return report_finished(run)
        warn_if_tiny(graph, splits)
        print(
            printable(
                f"kzoo train {graph.name} on {splits.source}: {splits.train_size} training images, {splits.classes} "
                f"classes; batch {recipe.batch_size} global = {recipe.batch_size // replicas} x {replicas} replica(s); "
                f"run directory {run.path}"
            )
        )
        print(printable(preparation(recipe, training_shape(recipe, graph), splits, graph.name)))
        plan = stopping(recipe, splits)
        if plan:
            print(plan)
        with scope(strategy):
            model, lr = prepare_model(graph, recipe, splits)
            if weights_from is not None:
                weights_from(model)
        meta = input_meta(recipe, graph, splits)
        run.started = True
        write_text_atomic(run.path / RECIPE, dump(recipe))
        phase, saver, test = fit_phase(
            model,
            recipe,
            splits,
            training_shape(recipe, graph),
            run.path,
            lr,
            meta=meta,
            replicas=replicas,
            strategy=strategy,
        )
        scores = {**evaluate_test(model, test), **task_of(graph).test_scores(model, splits, recipe.batch_size)}
        save_atomic(model, run.path / MODEL, graph=graph, **meta)
        results = {
            "architecture": graph.name,
            "data": splits.source,
            **scores,
            "epochs_run": phase.first_epoch + phase.epochs_run,
            "epochs_this_session": phase.epochs_run,
            "stopped": phase.stop_reason(),
            "wall_seconds": round(time.time() - start_time, 2),
            "seed": recipe.seed,
            "best_val_accuracy": phase.best(metric(model, "val_accuracy"), max),
            "best_val_loss": phase.best("val_loss", min),
            "lr_drops": [{"epoch": e, "learning_rate": v} for e, v in phase.controller.history],
            "stopped_on_plateau": phase.controller.stopped_for_plateau,
            "replicas": replicas,
            "global_batch": recipe.batch_size,
            "class_names": list(splits.class_names),
            "run_dir": str(run.path),
        }
        write_results(run.path, results)
        run.finish()
        saver.remove()
    return results
