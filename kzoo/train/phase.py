"""One ``fit`` of a run: the recipe's pipelines and callbacks, resumed from its backup, and why it stopped.

:func:`fit_phase` restores the newest backup (weights, optimizer, seed generators,
the callbacks' state) before ``fit`` and passes Keras the epoch to continue at
(``initial_epoch``); a backup that holds the whole run (all epochs, or a run that
had stopped early) is finished without fitting. A training run is one phase;
fine-tuning has a head phase and an unfreezing phase, each with its own backup.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from kzoo.errors import KzooError
from kzoo.train.backup import Backup
from kzoo.train.callbacks import EpochLog, make_callbacks
from kzoo.train.layer_stats import layer_stats_callback
from kzoo.train.pipeline import epoch_batches, keep_partial, metric, pipelines
from kzoo.train.rundir import LOG, read_rows
from kzoo.train.strategy import scope

if TYPE_CHECKING:
    from kzoo.train.data import Splits
    from kzoo.train.recipe import Recipe


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
    if epochs is not None:
        recipe = recipe.model_copy(update={"epochs": epochs})
    partial = keep_partial(recipe, replicas)
    has_bn = any(type(layer).__name__ == "BatchNormalization" for layer in model.layers)
    steps, _ = epoch_batches(splits.train_size, recipe.batch_size, partial, has_bn)
    callbacks, stateful, drop, early, nan = make_callbacks(model, recipe, run_dir, steps, lr, meta, splits.val_size)
    saver = Backup(run_dir / backup, stateful)
    with scope(strategy):
        first = saver.restore(model)
    rows = (log_rows or []) + (read_rows(run_dir / LOG, first + len(log_rows or [])) if first else [])
    epoch_log = EpochLog(run_dir / LOG, rows) if recipe.callbacks.csv else None
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
        history = keras.callbacks.History()
        history.set_model(model)
        done = keras.callbacks.CallbackList([*callbacks, history], model=model)
        done.on_train_begin()
        done.on_train_end()
        rows = epoch_log.rows if epoch_log is not None else []
        return Phase(history, drop, early, nan, first, recipe.epochs, rows), saver, test_ds
    if recipe.callbacks.layer_stats:
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
            verbose=progress(recipe.verbose),
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
    """Test accuracy and loss of the main output, and its other metrics (``test_mean_iou`` of segmentation)."""
    scores = model.evaluate(test, return_dict=True, verbose=0)
    out = {"test_accuracy": float(scores[metric(model, "accuracy")]), "test_loss": float(scores["loss"])}
    if metric(model, "mean_iou") in scores:
        out["test_mean_iou"] = float(scores[metric(model, "mean_iou")])
    return out


def progress(verbose: int) -> int:
    """Keras' ``verbose`` for ``fit``: a progress bar (1) only on a terminal; into a file or a pipe, where the
    bar's carriage returns pile up, one line per epoch (2)."""
    if verbose == 1 and not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        return 2
    return verbose
