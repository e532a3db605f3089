"""The training callbacks: the learning-rate controller, the momentum ramp, stopping on NaN, the progress bar."""

from __future__ import annotations

import pytest

from kzoo.train.callbacks import LRDrop, MomentumRamp, StopOnNaN


class FakeModel:
    def __init__(self):
        import keras

        self.optimizer = type("O", (), {})()
        self.optimizer.learning_rate = keras.Variable(1.0)
        self.optimizer.iterations = keras.Variable(0, dtype="int64")
        self.stop_training = False
        self.weights_now, self.restored = 0, None

    def get_weights(self):
        return self.weights_now

    def set_weights(self, w):
        self.restored = w


def test_lr_controller_composes_warmup_step_and_plateau_drops():
    drop = LRDrop(
        0.1,
        steps_per_epoch=10,
        warmup_epochs=1,
        step_drops=[5],
        step_factor=10,
        monitor="val_accuracy",
        patience=2,
        factor=10,
        max_drops=1,
    )
    model = FakeModel()
    drop.set_model(model)
    assert drop.current_lr(0, 0) == pytest.approx(0.01) and drop.current_lr(9, 0) == pytest.approx(0.1)
    assert drop.current_lr(50, 5) == pytest.approx(0.01)  # the step drop
    for epoch, acc in enumerate([0.5, 0.6, 0.6, 0.6]):  # plateau of 2 -> first drop
        model.weights_now = epoch
        drop.on_epoch_end(epoch, {"val_accuracy": acc})
    assert drop.drops == 1 and drop.current_lr(20, 2) == pytest.approx(0.01)
    for epoch, acc in enumerate([0.6, 0.6], start=4):  # second plateau after max_drops -> stop
        drop.on_epoch_end(epoch, {"val_accuracy": acc})
    assert model.stop_training and drop.stopped_for_plateau
    drop.on_train_end()
    assert model.restored == 1  # the weights of the best epoch


def test_momentum_ramp_is_smooth_from_start_to_end():
    ramp = MomentumRamp(0.5, 0.99, steps=100)
    values = [ramp.value(s) for s in range(0, 120, 10)]
    assert values[0] == 0.5 and values[-1] == pytest.approx(0.99) and values[5] == pytest.approx(0.745)
    assert all(b >= a for a, b in zip(values, values[1:], strict=False))


def test_stop_on_nan_names_the_learning_rate():
    model = FakeModel()
    stop = StopOnNaN()
    stop.set_model(model)
    stop.on_train_batch_end(3, {"loss": float("nan")})
    assert model.stop_training and "learning rate 1" in stop.message and "optimizer.lr=0.1" in stop.message


def test_a_progress_bar_only_on_a_terminal(monkeypatch):
    """Redirected to a file, Keras' bar would write its carriage returns there: one line per epoch instead."""
    import io

    from kzoo.train.phase import progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", io.StringIO())
    assert (progress(0), progress(1), progress(2)) == (0, 2, 2)
    monkeypatch.setattr("sys.stdout", Terminal())
    assert (progress(0), progress(1), progress(2)) == (0, 1, 2)
