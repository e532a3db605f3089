"""A saved kzoo model reloads in a fresh process with no custom_objects."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import ROOT, run_python

CUSTOM = """
name: custom
paper: none (a test model holding every custom Keras object of kzoo)
input: [16, 16, 3]
layers:
  - conv: {filters: 8, kernel: 3, init: torch_legacy, activation: lecun_tanh}
  - lrn: {n: 3, alpha_mode: sum}
  - conv: {filters: 8, kernel: 3, activation: {leaky_relu: {beta: 0.2}}}
  - l2pool: 2
  - conv: {filters: 4, kernel: 1, activation: {elu: {alpha: 0.5}}}
  - activation: hard_tanh
  - flatten
  - dense: {units: 5, activation: softmax}
"""


@pytest.mark.slow
@pytest.mark.parametrize("order", ["import kzoo, keras", "import keras, kzoo"])
def test_reload_in_fresh_process(tmp_path, order):
    import kzoo

    spec = tmp_path / "custom.yaml"
    spec.write_text(CUSTOM)
    model = kzoo.build(spec)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, 3)).astype("float32")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", np.asarray(model(x)))
    model.save(tmp_path / "m.keras")
    result = run_python(
        f"""
        {order}
        import numpy as np
        m = keras.saving.load_model("{tmp_path / "m.keras"}")
        y = np.asarray(m(np.load("{tmp_path / "x.npy"}")))
        np.testing.assert_allclose(y, np.load("{tmp_path / "y.npy"}"), rtol=1e-6, atol=1e-7)
        act = m.get_layer("conv2").activation
        assert type(act).__name__ == "LeakyReLU" and act.beta == 0.2, act
        print("ok")
    """,
        cwd=tmp_path,
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


@pytest.mark.slow
def test_zoo_model_reloads(tmp_path):
    result = run_python(
        f"""
        import kzoo, keras, numpy as np
        for name, kwargs in [("googlenet", dict(classes=7, include_aux=False)), ("lenet5", {{}})]:
            m = kzoo.load(name, **kwargs)
            x = np.random.default_rng(0).normal(size=(1,) + tuple(m.input.shape[1:])).astype("float32")
            m.save("{tmp_path}/" + name + ".keras")
            again = keras.saving.load_model("{tmp_path}/" + name + ".keras")
            np.testing.assert_allclose(np.asarray(again(x)), np.asarray(m(x)), rtol=1e-5, atol=1e-6)
        print("ok")
    """,
        cwd=ROOT,
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
