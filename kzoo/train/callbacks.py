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
  epochs, smoothly (half a cosine), through :class:`kzoo.train.optim.SGD`'s
  momentum variable.
* :class:`StopOnNaN` — stops at the first non-finite loss and says which
  learning rate it was.
"""

from __future__ import annotations

import math

import keras
import numpy as np


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
        self.history.append((epoch + 1, self.current_lr(0, epoch + 1)))

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class MomentumRamp(keras.callbacks.Callback):
    """Momentum from ``start`` to ``end`` over ``epochs`` (or ``steps``), by half a cosine.

    m(t) = start + (end − start) · (1 − cos(π t)) / 2,  t = min(1, step / ramp_steps).
    Needs :class:`kzoo.train.optim.SGD`, whose momentum is a variable.
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
            raise TypeError("MomentumRamp needs kzoo.train.optim.SGD, whose momentum is a keras.Variable")

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


def seed_states(model) -> list:
    """The state variables of the model's random seed generators (dropout, noise)."""
    return [v for v in model.variables if "seed_generator" in v.path]


class ResumeState(keras.callbacks.Callback):
    """What Keras' ``BackupAndRestore`` leaves out, saved beside its backup every epoch.

    ``BackupAndRestore`` restores the weights, the optimizer and the epoch, but
    not the state of the seed generators (a resumed run would drop other units
    than an uninterrupted one) nor kzoo's learning-rate controller. This
    callback writes both atomically to ``backup_dir/kzoo_state.npz`` at each
    epoch end and restores them when training starts again. Place it after
    ``BackupAndRestore``.
    """

    def __init__(self, backup_dir, controller: LRDrop | None = None):
        super().__init__()
        from pathlib import Path

        self.path = Path(backup_dir) / "kzoo_state.npz"
        self.controller = controller

    def on_train_begin(self, logs=None):
        if not self.path.is_file():
            return
        with np.load(self.path) as data:
            for i, v in enumerate(seed_states(self.model)):
                if f"seed{i}" in data:
                    v.assign(data[f"seed{i}"])
            if self.controller is not None:
                c = self.controller
                c.drops, c.wait = int(data["drops"]), int(data["wait"])
                c.best = None if np.isnan(data["best"]) else float(data["best"])

    def on_epoch_end(self, epoch, logs=None):
        from kzoo.files import atomic_path

        values = {f"seed{i}": np.asarray(v) for i, v in enumerate(seed_states(self.model))}
        c = self.controller
        if c is not None:
            values.update(drops=c.drops, wait=c.wait, best=np.nan if c.best is None else c.best)
        with atomic_path(self.path) as tmp:
            np.savez(tmp, epoch=epoch + 1, **values)
