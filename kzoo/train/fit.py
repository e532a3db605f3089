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
from typing import TYPE_CHECKING, Any

from kzoo.errors import KzooError, SpecError
from kzoo.files import write_text_atomic
from kzoo.train.pipeline import metric
from kzoo.train.recipe import Recipe, dump, resolve_recipe
from kzoo.train.rundir import RunDir
from kzoo.train.strategy import scope, start, worker

if TYPE_CHECKING:
    import keras

    from kzoo.graph import Graph
    from kzoo.lang.resolve import Spec
    from kzoo.train.data import Splits

TINY_DATA = 5_000  # weights per training image above which training from scratch is warned about


# -- before TensorFlow ------------------------------------------------------------------------------------------
def resolve(
    target: str, recipe_file: str | None, sets: dict[str, Any] | None, params: dict[str, Any] | None
) -> tuple[Spec, Recipe, Graph]:
    """The architecture (read once) and the recipe, resolved and checked against each other."""
    from kzoo.graph import analyse
    from kzoo.lang.resolve import load_spec
    from kzoo.zoo import resolve_source

    spec = load_spec(resolve_source(target), params, "--param")
    declared = list(spec.data.get("params") or {})
    recipe, _ = resolve_recipe(spec.data.get("train"), recipe_file, sets, declared)
    graph = analyse(spec)
    check_static(recipe, graph)
    return spec, recipe, graph


def check_static(recipe: Recipe, graph: Graph) -> None:
    """What the recipe must satisfy for this model, known without data or TensorFlow."""
    from kzoo.graph.budget import check_training
    from kzoo.train.data import check_source

    check_source(recipe.data.source)
    shape = graph.input_shape
    if len(shape) != 3:
        raise SpecError(
            f"{graph.name} takes inputs of shape {shape}, not images", hint="kzoo train needs an image model"
        )
    rows, cols = shape[:2]
    d = recipe.data
    if d.image_size is not None and tuple(d.image_size) != (rows, cols):
        raise SpecError(
            f"data.image_size {d.image_size} differs from {graph.name}'s input {rows}x{cols}",
            path="data.image_size",
            hint=f"drop image_size (the model's input is used), or --param input=[{d.image_size[0]},{d.image_size[1]},"
            f"{shape[2]}]",
        )
    if min(rows, cols) - 2 * d.pad < 1:
        raise SpecError(
            f"data.pad {d.pad} leaves no image inside {rows}x{cols}",
            path="data.pad",
            hint=f"at most {(min(rows, cols) - 1) // 2}",
        )
    if recipe.augment.crop_padding > min(rows, cols) // 2:
        raise SpecError(
            f"augment.crop_padding {recipe.augment.crop_padding} is more than half the {rows}x{cols} input",
            path="augment.crop_padding",
            hint="a few pixels (4 for 32x32 images) is the usual padding",
        )
    check_training(graph, recipe.batch_size)


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


# -- after the data -----------------------------------------------------------------------------------------------
def match_classes(spec: Spec, graph: Graph, classes: int, params: dict[str, Any] | None) -> Graph:
    """The graph with as many outputs as the data has classes (unless the user set classes)."""
    from kzoo.graph import analyse
    from kzoo.lang.resolve import with_overrides

    declared = graph.meta["params"].get("classes")
    if declared is None or declared == classes:
        return graph
    if params and "classes" in params:
        raise SpecError(f"the data has {classes} classes but --param classes={declared} was given")
    return analyse(with_overrides(spec, {"classes": classes}, "the data's classes"))


def check_data(recipe: Recipe, splits: Splits, replicas: int) -> None:
    """The data against the recipe: the batch fits, validation and test images exist where they are needed."""
    if splits.train_size < recipe.batch_size:
        raise SpecError(
            f"batch_size {recipe.batch_size} is larger than the {splits.train_size} training images",
            path="batch_size",
            hint="use a smaller batch_size",
        )
    if recipe.batch_size % replicas:
        raise SpecError(
            f"batch_size {recipe.batch_size} does not split over {replicas} replicas",
            path="batch_size",
            hint=f"use a multiple of {replicas}",
        )
    c, s = recipe.callbacks, recipe.schedule
    watchers = [
        name
        for name, monitor in (
            ("callbacks.early_stopping", c.early_stopping.monitor if c.early_stopping else ""),
            ("schedule.plateau", s.plateau.monitor if s.plateau else ""),
            ("callbacks.checkpoint", "val_accuracy" if c.checkpoint else ""),
        )
        if monitor.startswith("val_")
    ]
    if splits.val_size == 0 and watchers:
        raise SpecError(
            f"{splits.source} leaves no validation images (data.validation_split is 0), but {watchers[0]} watches them",
            path="data.validation_split",
            hint=f"set data.validation_split above 0, or turn {watchers[0]} off (--set {watchers[0]}=null)",
        )
    if splits.test_size == 0:
        raise SpecError(
            f"{splits.source} leaves no test images (data.test_split is 0)",
            path="data.test_split",
            hint="set data.test_split above 0, or give the source a test split",
        )


def warn_if_tiny(graph: Graph, splits: Splits) -> None:
    weights = graph.totals()["trainable_params"]
    if weights > TINY_DATA * splits.train_size:
        print(
            f"kzoo: warning: {splits.train_size} training images for {weights:,} weights: trained from scratch, "
            f"{graph.name} will overfit; for a small photo set, fine-tune a pretrained network "
            f"(kzoo finetune --from resnet50:imagenet --data {splits.source}) or train a smaller one",
            file=sys.stderr,
        )


def settings(recipe: Recipe, graph: Graph, splits: Splits) -> dict[str, Any]:
    """What a rerun into the same directory must agree with to resume."""
    from kzoo.report import digest

    plain = recipe.model_dump(mode="json", exclude={"verbose", "output"})
    arch = {
        "name": graph.name,
        "params": graph.meta["params"],
        "input": list(graph.input_shape),
        "digest": digest(graph),
    }
    data = {"source": splits.source, "classes": splits.class_names, "train_images": splits.train_size}
    return json.loads(json.dumps({"recipe": plain, "architecture": arch, "data": data}, default=str))


def input_meta(recipe: Recipe, graph: Graph, splits: Splits) -> dict[str, Any]:
    """How images are prepared for the model, and its classes: saved inside model.keras for kzoo predict."""
    return {
        "class_names": list(splits.class_names),
        "input": {"size": list(graph.input_shape[:2]), "channels": graph.input_shape[2], "pad": recipe.data.pad},
        "trained_on": splits.source,
    }


# -- the model and the fit ----------------------------------------------------------------------------------------
def prepare_model(graph: Graph, recipe: Recipe, splits: Splits) -> tuple[keras.Model, float]:
    """Build and compile the model: normalisation in front, weight decay, losses per output."""
    from kzoo.builder import build_graph
    from kzoo.train.pipeline import normalization

    front = normalization(recipe, splits, graph.input_shape[-1])
    model = build_graph(graph, front=front, weight_decay=recipe.weight_decay)
    aux = float(graph.meta["params"].get("aux_weight", 0.3))
    return model, compile_model(model, recipe, aux_weight=aux)


def compile_model(model: Any, recipe: Recipe, lr: float | None = None, aux_weight: float = 0.3) -> float:
    """Compile with the recipe's optimizer (at ``lr``, default the recipe's, batch-scaled); returns the lr."""
    from kzoo.train.optim import make_optimizer

    if lr is None:
        lr = recipe.optimizer.lr
        if recipe.schedule.scale_batch:
            lr *= recipe.batch_size / recipe.schedule.scale_batch
    names = list(model.output_names)
    loss = {n: "sparse_categorical_crossentropy" for n in names}
    model.compile(
        optimizer=make_optimizer(recipe.optimizer, lr),
        loss=loss if len(names) > 1 else "sparse_categorical_crossentropy",
        loss_weights={n: (1.0 if i == 0 else aux_weight) for i, n in enumerate(names)} if len(names) > 1 else None,
        metrics={names[0]: ["accuracy"]} if len(names) > 1 else ["accuracy"],
        jit_compile=recipe.jit_compile,
    )
    return lr


class Phase:
    """One ``fit``: its callbacks, the epoch it resumed at, and why it stopped."""

    def __init__(
        self, history: Any, controller: Any, early: Any, nan: Any, first_epoch: int, epochs: int, rows: list[dict]
    ):
        self.history, self.controller, self.early, self.nan = history, controller, early, nan
        self.first_epoch, self.epochs, self.rows = first_epoch, epochs, rows

    def best(self, key: str, pick: Any) -> float:
        """The best value of a logged metric over every epoch of the run (a resumed one's too)."""
        values = [r[key] for r in self.rows if key in r] or self.history.history.get(key, [])
        return float(pick(values)) if values else float("nan")

    @property
    def epochs_run(self) -> int:
        return len(self.history.history.get("loss", []))

    def stop_reason(self) -> str:
        last = self.first_epoch + self.epochs_run
        if self.early is not None and self.early.stopped_epoch > 0:
            return (
                f"early stopping at epoch {self.early.stopped_epoch + 1}: {self.early.monitor} had not improved for "
                f"{self.early.patience} epochs; the weights of epoch {self.early.best_epoch + 1} are kept"
            )
        if self.controller.stopped_for_plateau:
            return (
                f"learning-rate drops exhausted at epoch {last}: {self.controller.monitor} stopped improving after "
                f"{self.controller.drops} drop(s); the best weights are kept"
            )
        return f"all {self.epochs} epochs run"


def fit_phase(
    model: Any,
    recipe: Recipe,
    splits: Splits,
    input_shape: tuple[int, ...],
    run_dir: Path,
    lr: float,
    backup: str = "backup",
    epochs: int | None = None,
    log_rows: list[dict] | None = None,
    meta: dict[str, Any] | None = None,
    replicas: int = 1,
    strategy: Any = None,
) -> tuple[Phase, Any, Any]:
    """``model.fit`` with the recipe's pipelines and callbacks, resumed from ``run_dir/backup`` if it holds one.

    Returns (the phase, its Backup, the test set). ``log_rows``: earlier rows of log.csv to continue (a second
    phase of fine-tuning); ``meta``: the class names and input preparation best.keras carries.
    """
    import tensorflow as tf

    from kzoo.train.backup import Backup
    from kzoo.train.callbacks import EpochLog, make_callbacks, read_rows
    from kzoo.train.pipeline import epoch_batches, keep_partial, pipelines

    if epochs is not None:
        recipe = recipe.model_copy(update={"epochs": epochs})
    partial = keep_partial(recipe, replicas)
    has_bn = any(type(layer).__name__ == "BatchNormalization" for layer in model.layers)
    steps, _ = epoch_batches(splits.train_size, recipe.batch_size, partial, has_bn)
    callbacks, stateful, drop, early, nan = make_callbacks(model, recipe, run_dir, steps, lr, meta)
    saver = Backup(run_dir / backup, stateful)
    with scope(strategy):
        first = saver.restore(model)
    rows = (log_rows or []) + (read_rows(run_dir / "log.csv", first + len(log_rows or [])) if first else [])
    epoch_log = EpochLog(run_dir / "log.csv", rows) if recipe.callbacks.csv else None
    if epoch_log is not None:
        callbacks.append(epoch_log)  # after the callbacks that add to the logs (learning rate, momentum)
    callbacks.append(saver)  # last: it saves the state the others reached this epoch
    finished = first >= recipe.epochs or saver.stopped
    if finished:
        print(f"kzoo: {run_dir}'s backup holds the whole run ({first} epochs); finishing it", file=sys.stderr)
    elif first:
        print(f"kzoo: resuming {run_dir} at epoch {first + 1} of {recipe.epochs}", file=sys.stderr)
    train_ds, val_ds, test_ds = pipelines(model, recipe, splits, input_shape, min(first, recipe.epochs), steps, partial)
    if finished:  # nothing to fit: the callbacks still restore the best weights they kept
        import keras

        history = keras.callbacks.History()
        history.set_model(model)
        done = keras.callbacks.CallbackList([*callbacks, history], model=model)
        done.on_train_begin()
        done.on_train_end()
        rows = epoch_log.rows if epoch_log is not None else []
        return Phase(history, drop, early, nan, first, recipe.epochs, rows), saver, test_ds
    if recipe.callbacks.layer_stats:
        from kzoo.train.layer_stats import layer_stats_callback

        sample = next(iter(splits.val.batch(64)))[0]  # a fixed batch: the statistics stay comparable
        callbacks.append(
            layer_stats_callback(sample, str(run_dir / "tensorboard" / "layers"), recipe.callbacks.layer_stats)
        )
    try:
        history = model.fit(
            train_ds,
            validation_data=val_ds,
            epochs=recipe.epochs,
            initial_epoch=first,
            callbacks=callbacks,
            verbose=recipe.verbose,
            steps_per_epoch=steps,
            shuffle=False,  # the pipeline itself shuffles every epoch
        )
    except (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.DeadlineExceededError) as exc:
        if recipe.strategy != "multi_worker":
            raise
        first_line = str(exc.message).strip().splitlines()
        raise KzooError(
            f"another worker of the cluster stopped ({type(exc).__name__}: {first_line[0] if first_line else exc}); "
            "restart every worker with the same command and --output: training resumes from the last "
            "completed epoch"
        ) from None
    if nan.message:
        raise KzooError(nan.message)
    done = (
        epoch_log.rows
        if epoch_log is not None
        else [{"epoch": first + i, **{k: v[i] for k, v in history.history.items()}} for i in range(len(history.epoch))]
    )
    return Phase(history, drop, early, nan, first, recipe.epochs, done), saver, test_ds


def evaluate_test(model: Any, test: Any) -> dict[str, float]:
    """Test accuracy and loss of the main output."""
    scores = model.evaluate(test, return_dict=True, verbose=0)
    return {"test_accuracy": float(scores[metric(model, "accuracy")]), "test_loss": float(scores["loss"])}


def write_results(run_dir: Path, results: dict[str, Any]) -> None:
    write_text_atomic(run_dir / "results.json", json.dumps(results, indent=2, default=str) + "\n")
    print(
        f"test accuracy {results['test_accuracy']:.4f}, test loss {results['test_loss']:.4f} "
        f"after {results['epochs_run']} epochs ({results['wall_seconds']:.1f} s); model, logs and results in "
        f"{results['run_dir']}"
    )
    if results.get("stopped"):
        print(f"stopped: {results['stopped']}")


def report_finished(run: RunDir) -> dict[str, Any]:
    results = dict(run.finished_results or {})
    print(
        f"{run.path} holds a finished run (test accuracy {results.get('test_accuracy', float('nan')):.4f}); "
        "nothing to do (--overwrite trains it again)"
    )
    return results


# -- the whole job ------------------------------------------------------------------------------------------------
def train(
    target: str,
    recipe_file: str | None = None,
    sets: dict[str, Any] | None = None,
    params: dict[str, Any] | None = None,
    output: str | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Train a zoo architecture (name or YAML path) with a recipe; returns results.json's content."""
    start_time = time.time()
    spec, recipe, graph = resolve(target, recipe_file, sets, params)
    with RunDir.open(run_path(recipe, graph.name, output)) as run:
        from kzoo.graph.budget import check_training
        from kzoo.train.data import load_data

        strategy = start(recipe)
        splits = load_data(recipe.data, graph.input_shape)
        graph = match_classes(spec, graph, splits.classes, params)
        check_training(graph, recipe.batch_size)
        replicas = strategy.num_replicas_in_sync if strategy is not None else 1
        check_data(recipe, splits, replicas)
        run.check("train", settings(recipe, graph, splits), overwrite)
        if run.finished_results is not None:
            return report_finished(run)
        warn_if_tiny(graph, splits)
        print(
            f"kzoo train {graph.name} on {splits.source}: {splits.train_size} training images, {splits.classes} "
            f"classes; batch {recipe.batch_size} global = {recipe.batch_size // replicas} x {replicas} replica(s); "
            f"run directory {run.path}"
        )
        with scope(strategy):
            model, lr = prepare_model(graph, recipe, splits)
        meta = input_meta(recipe, graph, splits)
        run.started = True
        write_text_atomic(run.path / "recipe.yaml", dump(recipe))
        phase, saver, test = fit_phase(
            model, recipe, splits, graph.input_shape, run.path, lr, meta=meta, replicas=replicas, strategy=strategy
        )
        scores = evaluate_test(model, test)
        from kzoo.builder import save_atomic

        save_atomic(model, run.path / "model.keras", graph=graph, **meta)
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
