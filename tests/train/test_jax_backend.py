"""The same YAML builds and trains under the JAX backend (as on the GPU machine)."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT, run_python

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None, reason="jax is not installed (pip install -e .[test] installs it)"
)


@pytest.mark.slow
def test_lenet5_resnet18_and_custom_layers_train_one_step_on_jax(tmp_path):
    custom = tmp_path / "custom.yaml"
    custom.write_text("""
name: custom
input: [16, 16, 3]
layers:
  - conv: {filters: 8, kernel: 3, init: torch_legacy, activation: lecun_tanh}
  - lrn: {n: 5}
  - l2pool: 2
  - conv: {filters: 4, kernel: 1, activation: {leaky_relu: {beta: 0.1}}}
  - global_avgpool
  - dense: {units: 3, activation: softmax}
""")
    result = run_python(
        f"""
        import numpy as np, keras, kzoo
        assert keras.backend.backend() == "jax", keras.backend.backend()
        for name, shape in [("lenet5", (32, 32, 1)), ("resnet18", (64, 64, 3)), ("{custom}", (16, 16, 3))]:
            m = kzoo.load(name, classes=3) if name != "{custom}" else kzoo.build(name)
            x = np.random.default_rng(0).normal(size=(4,) + tuple(m.input.shape[1:])).astype("float32")
            y = np.array([0, 1, 2, 0])
            out = np.asarray(m(x))
            assert out.shape == (4, 3) and np.isfinite(out).all()
            before = [np.array(w) for w in m.trainable_weights]
            m.compile(optimizer=keras.optimizers.SGD(0.01), loss="sparse_categorical_crossentropy")
            loss = m.train_on_batch(x, y)
            assert np.isfinite(loss)
            changed = sum(not np.allclose(a, np.asarray(b)) for a, b in zip(before, m.trainable_weights))
            assert changed > 0
            print(name, "ok", float(loss))
    """,
        env={"KERAS_BACKEND": "jax"},
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count(" ok ") == 3
