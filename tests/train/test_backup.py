"""Backups (kzoo.train.backup): written atomically, restored before fit with the callbacks' state."""

from __future__ import annotations

import json

import keras
import numpy as np

from kzoo.train.backup import Backup
from kzoo.train.callbacks import LRDrop


def _model():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4), keras.layers.Dropout(0.5), keras.layers.Dense(2)]
    )
    model.compile("adam", "mse")
    model.fit(np.ones((8, 3)), np.zeros((8, 2)), verbose=0)
    return model


def test_a_backup_restores_weights_optimizer_and_callback_state(tmp_path):
    model = _model()
    early = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    early.set_model(model)
    early.on_train_begin()
    early.wait, early.best, early.best_epoch, early.best_weights = 2, 0.25, 4, model.get_weights()
    drop = LRDrop(0.1, monitor="val_loss")
    drop.drops, drop.history = 1, [(3, 0.01)]
    saver = Backup(tmp_path / "backup", [drop, early])
    saver.set_model(model)
    saver.save(5)
    assert json.loads((tmp_path / "backup" / "latest.json").read_text()) == {"epoch": 5, "folder": "e0005"}
    fresh = _model()
    early2 = keras.callbacks.EarlyStopping(patience=3, restore_best_weights=True)
    drop2 = LRDrop(0.1, monitor="val_loss")
    restorer = Backup(tmp_path / "backup", [drop2, early2])
    restorer.set_model(fresh)
    assert restorer.restore(fresh) == 5
    early2.set_model(fresh)
    early2.on_train_begin()  # resets it, as fit does ...
    restorer.on_train_begin()  # ... and the backup, last in the list, restores it
    assert (early2.wait, early2.best, early2.best_epoch) == (2, 0.25, 4) and drop2.drops == 1
    assert drop2.history == [(3, 0.01)]
    for a, b in zip(model.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert int(fresh.optimizer.iterations.numpy()) == int(model.optimizer.iterations.numpy())


def test_saving_keeps_one_backup_and_ignores_half_written_ones(tmp_path):
    model = _model()
    saver = Backup(tmp_path / "b")
    saver.set_model(model)
    saver.save(1)
    saver.save(2)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["e0002", "latest.json"]
    (tmp_path / "b" / "latest.json").unlink()  # killed between the rename and the pointer: still found
    (tmp_path / "b" / ".e0003.99999999.tmp").mkdir()  # a dead writer's half
    assert Backup(tmp_path / "b").restore(model) == 2
    assert not (tmp_path / "b" / ".e0003.99999999.tmp").exists()
