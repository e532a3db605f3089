"""Backups a killed run resumes from, written so that a kill or a full disk leaves the last good copy.

Keras' ``BackupAndRestore`` writes its weights file in place: a kill while it
is written leaves a truncated file that every later resume fails on, and
HDF5 on a full disk crashes the process. :class:`Backup` writes each epoch's
state into a new folder, renames the folder into place (atomic), then points
``latest.json`` at it (atomic) and removes the older one::

    backup/
      latest.json          {"epoch": 3, "folder": "e0003"}
      e0003/
        model.weights.h5   weights and optimizer state (Keras' save_weights)
        state.npz          seed generators, the callbacks' state, their best weights

Before writing it checks that the disk has room (a backup's size is known
after the first), so a full disk stops the run with one clear line.

State beyond the weights: the model's random seed generators (dropout) and
the state of the callbacks that keep some — kzoo's learning-rate controller
and Keras' ``EarlyStopping`` (its public ``wait``, ``best``, ``best_epoch``,
``best_weights``) — so a resumed run continues exactly as an uninterrupted one.
Resuming passes ``initial_epoch`` to ``fit`` (Keras' public way), so nothing
private of Keras is touched.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kzoo.errors import KzooError
from kzoo.files import check_space, human_bytes, is_stale, write_text_atomic

LATEST = "latest.json"


def seed_states(model: Any) -> list[Any]:
    """The state variables of the model's random seed generators (dropout, noise)."""
    return [v for v in model.variables if "seed_generator" in v.path]


def _state_of(cb: Any) -> tuple[dict[str, Any], list[np.ndarray] | None]:
    if isinstance(cb, keras.callbacks.EarlyStopping):
        state = {"wait": cb.wait, "best": cb.best, "best_epoch": cb.best_epoch, "stopped_epoch": cb.stopped_epoch}
        return state, cb.best_weights
    if hasattr(cb, "resume_state"):
        return cb.resume_state()
    return {}, None


def _restore(cb: Any, state: dict[str, Any], weights: list[np.ndarray] | None) -> None:
    if isinstance(cb, keras.callbacks.EarlyStopping):
        cb.wait, cb.best_epoch, cb.stopped_epoch = (
            int(state["wait"]),
            int(state["best_epoch"]),
            int(state["stopped_epoch"]),
        )
        cb.best = None if state["best"] is None else float(state["best"])
        cb.best_weights = weights
    elif hasattr(cb, "restore_state"):
        cb.restore_state(state, weights)


class Backup(keras.callbacks.Callback):
    """Save the training state after every epoch; :meth:`restore` it before ``fit``. Put it last in the list.

    ``stateful``: callbacks whose state is saved with the weights (see the module docstring).
    """

    def __init__(self, folder: str | Path, stateful: list[Any] = ()):
        super().__init__()
        self.folder = Path(folder)
        self.stateful = list(stateful)
        self.pending: dict[str, Any] | None = None  # restored callback state, applied at train begin
        self.size = 0
        self.stopped = False  # the backed-up run had stopped (early stopping, plateau): nothing left to fit

    # -- resuming -------------------------------------------------------------------------------------------
    def clean(self) -> None:
        """Remove the half-written backups of killed processes."""
        for tmp in self.folder.glob(".e*.tmp"):
            if is_stale(tmp):
                shutil.rmtree(tmp, ignore_errors=True)

    def latest(self) -> tuple[int, Path] | None:
        """(epochs done, folder) of the newest complete backup, or None."""
        try:
            info = json.loads((self.folder / LATEST).read_text())
            path = self.folder / info["folder"]
            if (path / "state.npz").is_file() and (path / "model.weights.h5").is_file():
                return int(info["epoch"]), path
        except (OSError, ValueError, KeyError, TypeError):
            pass
        done = sorted(p for p in self.folder.glob("e[0-9]*") if (p / "state.npz").is_file())
        return (int(done[-1].name[1:]), done[-1]) if done else None

    def restore(self, model: Any) -> int:
        """Load the newest backup into ``model`` (compiled); returns the epoch to resume at (0: none)."""
        self.clean()
        found = self.latest()
        if found is None:
            return 0
        epoch, path = found
        try:
            if model.optimizer is not None and not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            model.load_weights(path / "model.weights.h5")
            with np.load(path / "state.npz", allow_pickle=False) as data:
                seeds = [data[f"seed{i}"] for i in range(len(seed_states(model)))]
                meta = json.loads(str(data["meta"]))
                best = {k: [data[f"{k}_{j}"] for j in range(n)] for k, n in meta["weights"].items()}
        except Exception as exc:  # a backup from another model or damaged on disk: say so, start afresh
            aside = path.with_name(path.name + ".unreadable")
            shutil.rmtree(aside, ignore_errors=True)
            path.rename(aside)
            (self.folder / LATEST).unlink(missing_ok=True)
            print(
                f"kzoo: the backup {path} could not be read ({type(exc).__name__}); it was moved to {aside.name} "
                "and training starts from the first epoch",
                file=sys.stderr,
            )
            return 0
        for v, value in zip(seed_states(model), seeds, strict=True):
            v.assign(value)
        self.pending = {"states": meta["states"], "weights": best}
        self.stopped = bool(meta.get("stopped", False))
        self.size = _size(path)
        return epoch

    def on_train_begin(self, logs=None):
        if self.pending is None:
            return
        for i, cb in enumerate(self.stateful):  # after their own on_train_begin, which resets them
            _restore(cb, self.pending["states"][i], self.pending["weights"].get(str(i)))
        self.pending = None

    # -- saving ---------------------------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self.save(epoch + 1)

    def save(self, epoch: int) -> None:
        need = self.size or 12 * int(self.model.count_params()) + (1 << 16)
        check_space(
            self.folder, need, "the epoch's backup", "rerun the same command (the run resumes from its last backup)"
        )
        name = f"e{epoch:04d}"
        tmp = self.folder / f".{name}.{os.getpid()}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            self.model.save_weights(tmp / "model.weights.h5")
            self._save_state(tmp / "state.npz")
            final = self.folder / name
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            write_text_atomic(self.folder / LATEST, json.dumps({"epoch": epoch, "folder": name}) + "\n")
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise KzooError(
                f"could not write the backup of epoch {epoch} in {self.folder}: {exc.strerror or exc}",
                "free some space and rerun the same command: training resumes from the last good backup",
            ) from None
        self.size = _size(final)
        for old in self.folder.glob("e[0-9]*"):
            if old.name != name:
                shutil.rmtree(old, ignore_errors=True)

    def _save_state(self, path: Path) -> None:
        arrays: dict[str, Any] = {f"seed{i}": np.asarray(v) for i, v in enumerate(seed_states(self.model))}
        states, counts = [], {}
        for i, cb in enumerate(self.stateful):
            state, weights = _state_of(cb)
            states.append(state)
            if weights is not None:
                counts[str(i)] = len(weights)
                arrays.update({f"{i}_{j}": np.asarray(w) for j, w in enumerate(weights)})
        stopped = bool(getattr(self.model, "stop_training", False))
        arrays["meta"] = np.asarray(
            json.dumps({"states": states, "weights": counts, "stopped": stopped}, default=float)
        )
        np.savez(path, **arrays)

    def remove(self) -> None:
        """Delete the backup (the run finished and its results are written)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


__all__ = ["Backup", "human_bytes", "seed_states"]
