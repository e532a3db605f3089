"""Distribution strategies, precision, seeds: everything that must happen before the model is built.

``auto``: every GPU TensorFlow sees (MirroredStrategy over several; with one GPU
or none, no strategy at all: Keras' default placement); ``one_device`` and ``mirrored`` take the recipe's
``devices``, which must exist (a missing device would be ignored, or hang a
mirrored strategy); ``multi_worker`` reads TF_CONFIG; ``tpu`` needs a reachable
TPU; ``parameter_server`` is refused (Keras 3 does not support it). Under
another backend than TensorFlow only ``auto`` applies (keras.distribution
instead; see the README).
"""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, Any

import keras
import tensorflow as tf

from kzoo.errors import SpecError
from kzoo.train import compat

if TYPE_CHECKING:
    from kzoo.train.recipe import Recipe


def make_strategy(name: str, devices: list[str] | None = None) -> Any:
    """The tf.distribute strategy a recipe names (``auto``: every GPU TensorFlow sees, else the CPU)."""

    if keras.backend.backend() != "tensorflow":
        if name != "auto":
            raise SpecError(
                f"strategy {name!r} needs the TensorFlow backend",
                hint="under JAX, use keras.distribution (see the README)",
            )
        return None

    if name == "multi_worker":
        worker(required=True)

        # Before anything lists devices: collective ops must be configured before TF's context starts.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        compat.install()  # fit under a multi-worker strategy needs it with Keras 3.15 (see kzoo/train/compat.py)
        return strategy
    gpus = [d.name for d in tf.config.list_logical_devices("GPU")]
    check_devices(devices, tf)
    if name == "auto":
        # One device needs no tf.distribute strategy (Keras places the work on the GPU if there is one):
        # under OneDeviceStrategy Keras builds a distributed iterator for every epoch and every evaluation,
        # which measured here 0.3 s an epoch for LeNet-5 on the digits, more than the epoch's training.
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else None
    if name == "one_device":
        return tf.distribute.OneDeviceStrategy((devices or gpus or ["/cpu:0"])[0])
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(devices=devices)
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
            tf.config.experimental_connect_to_cluster(resolver)
            tf.tpu.experimental.initialize_tpu_system(resolver)
        except (ValueError, RuntimeError, tf.errors.OpError) as exc:
            first = str(exc).strip().splitlines()
            raise SpecError(
                f"strategy tpu: no TPU could be reached ({first[0] if first else type(exc).__name__})",
                hint="run on a TPU VM (or set TPU_NAME); elsewhere use auto",
            ) from None
        return tf.distribute.TPUStrategy(resolver)
    if name == "parameter_server":
        # Keras 3's fit has no ClusterCoordinator path: its maintainers call parameter-server training
        # unsupported (keras-team/keras#18624). Say so rather than start a run that cannot work.
        raise SpecError(
            "strategy parameter_server: Keras 3 does not support parameter-server training (keras-team/keras#18624)",
            hint="use strategy multi_worker (synchronous data parallelism over machines, TF_CONFIG)",
        )
    raise SpecError(f"unknown strategy {name!r}")


def worker(required: bool = False) -> tuple[str, int, bool] | None:
    """This process's (task type, index, is chief) in TF_CONFIG's cluster, or None without TF_CONFIG.

    The chief is the ``chief`` task, or worker 0 when the cluster has none (as in tf.distribute).
    """
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        if required:
            raise SpecError(
                "strategy multi_worker needs TF_CONFIG (the cluster and this worker's index)",
                hint='e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                '"task": {"type": "worker", "index": 0}}\' on the first machine, index 1 on the second',
            )
        return None
    try:
        config = json.loads(raw)
        task = config["task"]
        kind, index = str(task["type"]), int(task["index"])
        members = config["cluster"][kind]
        if not 0 <= index < len(members):
            raise IndexError(index)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise SpecError(
            f"TF_CONFIG is not a valid cluster description ({type(exc).__name__}: {exc})",
            hint='expected {"cluster": {"worker": ["host:port", ...]}, "task": {"type": "worker", "index": N}}',
        ) from None
    chief = kind == "chief" or (kind == "worker" and index == 0 and "chief" not in config["cluster"])
    return kind, index, chief


def check_devices(devices: list[str] | None, tf: Any) -> None:
    """Every device a recipe names must exist on this machine."""
    if not devices:
        return
    known = tf.config.list_logical_devices()
    names = {_short(d.name) for d in known}
    for d in devices:
        if not d.startswith("/job:") and _short(d) not in names:
            raise SpecError(
                f"device {d!r} does not exist on this machine",
                path="devices",
                hint="it has " + ", ".join(sorted(names)),
            )


def _short(name: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:0' and '/gpu:0' -> 'gpu:0'."""
    return name.split("/")[-1].lower().removeprefix("device:")


def start(recipe: Recipe) -> Any:
    """Precision policy, then the strategy, then seeds and determinism; returns the strategy (or None)."""

    keras.mixed_precision.set_global_policy(recipe.precision)  # before the strategy and the model
    # The strategy first: a multi-worker strategy must configure collective ops before TF's context starts.
    strategy = make_strategy(recipe.strategy, recipe.devices)
    keras.utils.set_random_seed(recipe.seed)
    if recipe.deterministic:
        tf.config.experimental.enable_op_determinism()
    return strategy


def scope(strategy: Any) -> Any:
    """The strategy's scope (model, optimizer and metrics are built in it), or a no-op."""
    return strategy.scope() if strategy is not None else contextlib.nullcontext()
