"""kzoo/train/compat.py: the multi-worker shim, and TF_CONFIG handling.

The two-worker end-to-end run is in test_train_e2e.py; here: what the shim
replaces is pinned, it is installed only by a multi-worker strategy, and it
leaves every other strategy on Keras' own code.
"""

from __future__ import annotations

import json

import pytest

from conftest import run_python
from kzoo.errors import SpecError
from kzoo.train import compat
from kzoo.train.fit import worker


def test_what_the_shim_replaces_is_unchanged_in_the_installed_keras():
    import keras

    now = compat.fingerprints()
    changed = [name for name, digest in now.items() if digest != compat.PATCHED[name]]
    assert not changed, (
        f"Keras {keras.__version__} changed {changed}, which kzoo/train/compat.py replaces under "
        f"MultiWorkerMirroredStrategy (written for Keras {compat.KERAS_VERSION}). Read the new code: if "
        "keras-team/keras#20585 is fixed, drop the shim; otherwise port it and update PATCHED."
    )


def test_the_shim_is_installed_only_by_a_multi_worker_strategy_and_delegates_otherwise():
    result = run_python("""
        import numpy as np, tensorflow as tf, keras
        from keras.src.backend.tensorflow import trainer
        import kzoo.train.compat as compat
        from kzoo.train.strategy import make_strategy
        before = (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica)

        def fit(strategy):
            keras.utils.set_random_seed(0)
            x = np.random.RandomState(0).rand(64, 8).astype("float32"); y = (x.sum(1) > 4).astype("int32")
            with strategy.scope():
                m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(2)])
                m.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            h = m.fit(x, y, batch_size=16, epochs=2, verbose=0, shuffle=False)
            return m.get_weights(), h.history

        make_strategy("mirrored")
        assert (trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica) == before
        w0, h0 = fit(tf.distribute.MirroredStrategy(["/cpu:0"]))
        compat.install(); compat.install()  # idempotent
        assert trainer.reduce_per_replica is not before[1]
        assert trainer.reduce_per_replica.__kzoo_original__ is before[1]
        w1, h1 = fit(tf.distribute.MirroredStrategy(["/cpu:0"]))
        assert h0 == h1 and all(np.array_equal(a, b) for a, b in zip(w0, w1))
        print("ok")
    """)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def _config(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("TF_CONFIG", raising=False)
    else:
        monkeypatch.setenv("TF_CONFIG", value if isinstance(value, str) else json.dumps(value))


def test_tf_config_names_the_chief(monkeypatch):
    cluster = {"worker": ["a:1", "b:1"]}
    _config(monkeypatch, {"cluster": cluster, "task": {"type": "worker", "index": 0}})
    assert worker() == ("worker", 0, True)
    _config(monkeypatch, {"cluster": cluster, "task": {"type": "worker", "index": 1}})
    assert worker() == ("worker", 1, False)
    with_chief = {"chief": ["c:1"], **cluster}
    _config(monkeypatch, {"cluster": with_chief, "task": {"type": "worker", "index": 0}})
    assert worker() == ("worker", 0, False)
    _config(monkeypatch, {"cluster": with_chief, "task": {"type": "chief", "index": 0}})
    assert worker() == ("chief", 0, True)
    _config(monkeypatch, None)
    assert worker() is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "{not json",
        {"cluster": {"worker": ["a:1"]}},
        {"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}},
        {"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}},
    ],
)
def test_a_missing_or_malformed_tf_config_is_a_clear_error(monkeypatch, value):
    _config(monkeypatch, value)
    with pytest.raises(SpecError) as err:
        worker(required=True)
    text = str(err.value)
    assert "TF_CONFIG" in text and "cluster" in text


def test_strategies_that_cannot_run_here_say_why():
    result = run_python("""
        from kzoo.errors import SpecError
        from kzoo.train.strategy import make_strategy
        for name in ("parameter_server", "tpu"):
            try:
                make_strategy(name)
            except SpecError as exc:
                print(name, "|", str(exc).replace(chr(10), " "))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = dict(line.split(" | ", 1) for line in result.stdout.strip().splitlines())
    assert "keras-team/keras#18624" in lines["parameter_server"] and "multi_worker" in lines["parameter_server"]
    assert "no TPU could be reached" in lines["tpu"]
