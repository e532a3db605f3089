"""Compatibility shim: ``model.fit`` under ``tf.distribute.MultiWorkerMirroredStrategy``.

Why this exists (measured with Keras 3.15.1 and TensorFlow 2.21): ``fit`` under
a multi-worker strategy fails as shipped, in two places of
``keras/src/backend/tensorflow/trainer.py``:

1. ``TensorFlowTrainer._maybe_symbolic_build`` reduces the first distributed
   data batch with ``strategy.reduce("MEAN", batch, axis=None)`` only to learn
   its shapes; under a multi-worker strategy that cross-worker reduction fails
   with "Attempt to convert a value (PerReplica...)" (keras-team/keras#20585).
   The symbolic build needs nothing but the structure and shapes of a batch,
   so the shim gives it this worker's first local batch instead.
2. ``reduce_per_replica`` reduces the (scalar) metric values of every step with
   ``strategy.reduce("MEAN", v, axis=0)`` under a multi-worker strategy, which
   fails with "Invalid reduction dimension 0 for input with 0 dimensions". The
   values are already synchronised across replicas (metric variables aggregate
   by sum), so the shim reduces them with ``axis=None`` (the mean over
   replicas of scalars) and leaves batched values to ``axis=0`` as before.

No library offers this, so it is written here, in one place. It is installed by
:func:`install` only when kzoo creates a multi-worker strategy, and even then
both replacements hand every call that does not come from a multi-worker
strategy to the original Keras code unchanged. ``tests/test_compat.py`` pins
the source of what it replaces (:data:`PATCHED`): an upgrade of Keras that
changes either function fails that test loudly, so the shim is re-checked (and
dropped once upstream is fixed) rather than silently applied to new code.
"""

from __future__ import annotations

import hashlib
import inspect
import warnings
from typing import Any

#: Keras version the shim was written against, and sha256 of the source of each replaced function.
KERAS_VERSION = "3.15.1"
PATCHED = {
    "TensorFlowTrainer._maybe_symbolic_build": "92a504f5eba9b29f81f1bf26180bdd5bf5186b06b7bda426534b90d2d02bc1c2",
    "reduce_per_replica": "2e7d54b1e6edc29a8c6a7e6b66cd4c8be3ba7842412c93753ac3afe169fa7fb8",
}

_installed = False


def _targets() -> dict[str, Any]:
    from keras.src.backend.tensorflow import trainer

    return {
        "TensorFlowTrainer._maybe_symbolic_build": trainer.TensorFlowTrainer._maybe_symbolic_build,
        "reduce_per_replica": trainer.reduce_per_replica,
    }


def fingerprint(fn: Any) -> str:
    """sha256 of a function's source text (what an upgrade would change)."""
    return hashlib.sha256(inspect.getsource(inspect.unwrap(fn)).encode()).hexdigest()


def fingerprints() -> dict[str, str]:
    """Fingerprints of the functions the shim replaces, as the installed Keras has them."""
    return {name: fingerprint(fn) for name, fn in _originals().items()}


def _originals() -> dict[str, Any]:
    targets = _targets()
    return {name: getattr(fn, "__kzoo_original__", fn) for name, fn in targets.items()}


def is_multi_worker(strategy: Any) -> bool:
    import tensorflow as tf

    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(
        strategy.extended._in_multi_worker_mode()
    )


def install() -> None:
    """Install the shim (idempotent). Call only when a multi-worker strategy is used."""
    global _installed
    if _installed:
        return
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    changed = [name for name, digest in fingerprints().items() if digest != PATCHED[name]]
    if changed:
        warnings.warn(
            f"kzoo's multi-worker shim was written for Keras {KERAS_VERSION}; "
            f"{', '.join(changed)} changed since: check keras-team/keras#20585 and kzoo/train/compat.py",
            RuntimeWarning,
            stacklevel=2,
        )
    original_build = trainer.TensorFlowTrainer._maybe_symbolic_build
    original_reduce = trainer.reduce_per_replica

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if strategy is None or iterator is None or not is_multi_worker(strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, it in iterator:
            batch = next(it)
            # This worker's first local batch: only shapes and structure matter here.
            data_batch = tree.map_structure(
                lambda v: (
                    strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v
                ),
                batch,
            )
            break
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction):
        if not is_multi_worker(strategy) or reduction not in ("auto", "mean"):
            return original_reduce(values, strategy, reduction)

        def _reduce(v):
            if strategy.experimental_local_results(v)[0].shape.rank == 0:  # a scalar: axis=0 is invalid
                return strategy.reduce("MEAN", v, axis=None)
            return strategy.reduce("MEAN", v, axis=0)

        return tree.map_structure(_reduce, values)

    _maybe_symbolic_build.__kzoo_original__ = original_build
    reduce_per_replica.__kzoo_original__ = original_reduce
    trainer.TensorFlowTrainer._maybe_symbolic_build = _maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    _installed = True
