"""The tricks of the trade as Keras callbacks.

* :class:`LRDrop` — the one controller of the learning-rate variable: linear
  warm-up, drops at given epochs, and drops by ``factor`` (10) when the
  monitored metric stops improving for ``patience`` epochs; the plateau after
  ``max_drops`` drops ends training with the best weights restored. Keras'
  ``ReduceLROnPlateau`` cannot change an optimizer whose learning rate is a
  ``LearningRateSchedule`` (tensorflow/tensorflow#36612) and
  ``LearningRateScheduler`` overwrites any other change, so one callback
  owns the variable and composes all three.
* :class:`MomentumRamp` — momentum from ``start`` to ``end`` over the first
  epochs, smoothly (half a cosine), through :class:`kzoo.keras.optimizers.SGD`'s
  momentum variable.
* :class:`StopOnNaN` — stops at the first non-finite loss and says which
  learning rate it was.
* :class:`EpochLog` and :class:`BestCheckpoint` — Keras' CSVLogger and
  ModelCheckpoint, written atomically (a kill or a full disk leaves the last
  good copy; a resumed run keeps its earlier rows).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import keras
import numpy as np

from kzoo.files import write_text_atomic
from kzoo.saved import save_atomic
from kzoo.train.pipeline import metric
from kzoo.train.rundir import BEST


class LRDrop(keras.callbacks.Callback):
    """Warm-up, step drops and plateau drops of the learning rate, composed.

    lr(step) = base · min(1, (step + 1) / warmup_steps) / factor^(plateau drops) / step_factor^(step drops)

    Args:
        base_lr: the learning rate before any drop (after batch scaling).
        steps_per_epoch: batches per epoch (for warm-up in epochs).
        warmup_epochs: length of the linear warm-up (0: none).
        step_drops: epochs (0-based, at their start) where lr is divided by ``step_factor``.
        monitor, patience, factor, max_drops, min_delta: the plateau rule; ``monitor=None`` disables it.
    """

    def __init__(
        self,
        base_lr,
        steps_per_epoch=1,
        warmup_epochs=0.0,
        step_drops=(),
        step_factor=10.0,
        monitor="val_accuracy",
        patience=5,
        factor=10.0,
        max_drops=3,
        min_delta=0.0,
    ):
        super().__init__()
        self.base_lr, self.steps_per_epoch = float(base_lr), max(1, int(steps_per_epoch))
        self.warmup_steps = int(round(warmup_epochs * self.steps_per_epoch))
        self.step_drops, self.step_factor = sorted(step_drops), float(step_factor)
        self.monitor, self.patience, self.factor = monitor, int(patience), float(factor)
        self.max_drops, self.min_delta = int(max_drops), float(min_delta)
        self.drops, self.wait, self.best, self.best_weights = 0, 0, None, None
        self.epoch = 0
        self.history: list[tuple[int, float]] = []  # (epoch, new lr) of each plateau drop
        self.stopped_for_plateau = False

    def current_lr(self, step: int, epoch: int) -> float:
        lr = self.base_lr / self.factor**self.drops
        lr /= self.step_factor ** sum(1 for e in self.step_drops if epoch >= e)
        if self.warmup_steps and step < self.warmup_steps:
            lr *= (step + 1) / self.warmup_steps
        return lr

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.model.optimizer.learning_rate.assign(self.current_lr(step, self.epoch))

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return True
        if "acc" in self.monitor:
            return value > self.best + self.min_delta
        return value < self.best - self.min_delta

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["learning_rate"] = float(self.model.optimizer.learning_rate.numpy())
        if self.monitor is None or self.monitor not in logs:
            return
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.wait = value, 0
            self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait < self.patience:
            return
        self.wait = 0
        if self.drops >= self.max_drops:
            self.stopped_for_plateau = True
            self.model.stop_training = True
            return
        self.drops += 1
        self.history.append((epoch + 1, self.current_lr(self.warmup_steps, epoch + 1)))  # the lr after warm-up

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)

    def resume_state(self) -> tuple[dict, list | None]:
        """What :class:`kzoo.train.backup.Backup` saves of this controller."""
        state = {"drops": self.drops, "wait": self.wait, "best": self.best, "history": self.history}
        return {**state, "stopped_for_plateau": self.stopped_for_plateau}, self.best_weights

    def restore_state(self, state: dict, weights: list | None) -> None:
        self.drops, self.wait = int(state["drops"]), int(state["wait"])
        self.best = None if state["best"] is None else float(state["best"])
        self.history = [(int(e), float(v)) for e, v in state["history"]]
        self.stopped_for_plateau = bool(state["stopped_for_plateau"])
        self.best_weights = weights


class MomentumRamp(keras.callbacks.Callback):
    """Momentum from ``start`` to ``end`` over ``epochs`` (or ``steps``), by half a cosine.

    m(t) = start + (end − start) · (1 − cos(π t)) / 2,  t = min(1, step / ramp_steps).
    Needs :class:`kzoo.keras.optimizers.SGD`, whose momentum is a variable.
    """

    def __init__(self, start=0.5, end=0.9, epochs=10.0, steps_per_epoch=1, steps=None):
        super().__init__()
        self.start, self.end = float(start), float(end)
        self.ramp_steps = max(1, int(steps if steps is not None else round(epochs * steps_per_epoch)))

    def value(self, step: int) -> float:
        t = min(1.0, step / self.ramp_steps)
        return self.start + (self.end - self.start) * (1 - math.cos(math.pi * t)) / 2

    def on_train_begin(self, logs=None):
        if not hasattr(self.model.optimizer, "momentum_variable"):
            raise TypeError("MomentumRamp needs kzoo.keras.optimizers.SGD, whose momentum is a keras.Variable")

    def on_train_batch_begin(self, batch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        self.model.optimizer.momentum_variable.assign(self.value(step))

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["momentum"] = float(self.model.optimizer.momentum_variable.numpy())


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first NaN or infinite loss, naming the learning rate."""

    def __init__(self):
        super().__init__()
        self.message: str | None = None
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(float(loss)):
            lr = float(self.model.optimizer.learning_rate.numpy())
            self.message = (
                f"the loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1}, "
                f"with learning rate {lr:g}; try a smaller one (--set optimizer.lr={lr / 10:g})"
            )
            self.model.stop_training = True


class EpochLog(keras.callbacks.Callback):
    """Keras' CSVLogger, written whole and atomically each epoch, so a kill or a full disk never truncates it.

    ``rows``: the rows of epochs already done (a resumed run keeps them; a second phase continues them).
    The columns are ``epoch`` and the sorted metric names, as CSVLogger writes them; a missing value is NA.
    """

    def __init__(self, path, rows=()):
        super().__init__()

        self.path = Path(path)
        self.rows = [dict(r) for r in rows]

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
        self.write()

    def write(self):

        keys = sorted({k for r in self.rows for k in r if k != "epoch"})
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["epoch", *keys])
        for r in self.rows:
            writer.writerow([r["epoch"], *(r.get(k, "NA") for k in keys)])
        write_text_atomic(self.path, text.getvalue())


class BestCheckpoint(keras.callbacks.Callback):
    """Keras' ModelCheckpoint(save_best_only=True) as best.keras, with kzoo's metadata, written once.

    The best weights are kept in memory (and in each backup, so a resumed run keeps them) and saved when
    training ends: saving a .keras file at every improvement cost more than an epoch of a small model.
    """

    def __init__(self, path, monitor="val_accuracy", meta=None):
        super().__init__()
        self.path, self.monitor, self.meta = path, monitor, dict(meta or {})
        self.best, self.best_weights = None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not np.isfinite(value):
            return
        if self.best is None or (value > self.best if "acc" in self.monitor else value < self.best):
            self.best, self.best_weights = float(value), self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is None:
            return
        current = self.model.get_weights()
        self.model.set_weights(self.best_weights)
        try:
            save_atomic(self.model, self.path, **self.meta)
        finally:
            self.model.set_weights(current)

    def resume_state(self):
        return {"best": self.best}, self.best_weights

    def restore_state(self, state, weights):
        self.best, self.best_weights = state["best"], weights


def make_callbacks(model, recipe, run_dir, steps: int, lr: float, meta=None, val_size: int = -1):
    """The recipe's callbacks: (all of them, those whose state a backup keeps, the LR controller,
    early stopping or None, the NaN guard)."""

    s, c = recipe.schedule, recipe.callbacks
    plateau = s.plateau
    drop = LRDrop(
        lr,
        steps,
        s.warmup_epochs,
        s.step_drops,
        s.step_factor,
        monitor=metric(model, plateau.monitor) if plateau else None,
        patience=plateau.patience if plateau else 1,
        factor=plateau.factor if plateau else 10.0,
        max_drops=plateau.max_drops if plateau else 1,
        min_delta=plateau.min_delta if plateau else 0.0,
    )
    nan = StopOnNaN()
    callbacks = [drop, nan]
    stateful = [drop]
    if recipe.momentum_ramp:
        r = recipe.momentum_ramp
        callbacks.append(MomentumRamp(r.start, r.end, r.epochs, steps))
    early = None
    if c.early_stopping:
        patience, start = c.early_stopping.plan(recipe.epochs, val_size)
        early = keras.callbacks.EarlyStopping(
            metric(model, c.early_stopping.monitor),
            patience=patience,
            restore_best_weights=True,
            start_from_epoch=start,
        )
        callbacks.append(early)
        stateful.append(early)
    if c.checkpoint:
        best = BestCheckpoint(run_dir / BEST, metric(model, "val_accuracy"), meta)
        callbacks.append(best)
        stateful.append(best)
    if c.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), write_graph=False))
    return callbacks, stateful, drop, early, nan
