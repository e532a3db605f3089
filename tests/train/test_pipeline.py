"""What a recipe adds to the model: weight decay per layer and global, the pixel scaling, the MAP loss's check."""

from __future__ import annotations

import numpy as np
import pytest

from kzoo.errors import SpecError


def test_weight_decay_per_layer_and_global(write):
    import keras

    from kzoo.builder import build_graph
    from kzoo.graph import analyse

    graph = analyse(
        write("""
name: wd
input: [8, 8, 1]
layers:
  - conv: {name: own, filters: 2, kernel: 3, weight_decay: 0.01}
  - flatten
  - dense: {name: other, units: 3}
""")
    )
    from kzoo.train.optim import kernel_decay

    model = build_graph(graph, configure=kernel_decay(0.002))
    assert model.get_layer("own").kernel_regularizer.get_config()["l2"] == pytest.approx(0.005)
    assert model.get_layer("other").kernel_regularizer.get_config()["l2"] == pytest.approx(0.001)
    w = model.get_layer("own").kernel
    model(np.zeros((1, 8, 8, 1), "float32"))
    penalty = float(sum(np.asarray(loss) for loss in model.losses))
    want = 0.005 * float(np.sum(np.asarray(w) ** 2)) + 0.001 * float(
        np.sum(np.asarray(model.get_layer("other").kernel) ** 2)
    )
    assert penalty == pytest.approx(want, rel=1e-5)
    assert build_graph(graph).get_layer("other").kernel_regularizer is None
    assert isinstance(model.get_layer("own").kernel_regularizer, keras.regularizers.L2)


def test_preprocess_scale_maps_background_and_foreground_as_lecun_et_al():
    from kzoo.train.pipeline import normalization
    from kzoo.train.recipe import PreprocessSection, Recipe

    recipe = Recipe(preprocess=PreprocessSection(scale=[-0.1, 1.175]))
    layer = normalization(recipe, None, 1)
    out = np.asarray(layer(np.array([[[[0.0]], [[1.0]], [[0.5]]]], "float32"))).reshape(-1)
    np.testing.assert_allclose(out, [-0.1, 1.175, 0.5375], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="background < foreground"):
        PreprocessSection(scale=[1.0, 0.0])


def test_loss_map_needs_an_output_with_a_rubbish_class():
    from kzoo.graph import analyse
    from kzoo.train.checks import check_static
    from kzoo.train.recipe import Recipe
    from kzoo.zoo import find

    check_static(Recipe(loss="map"), analyse(find("lenet5")))  # RBF units with map_softmax
    with pytest.raises(SpecError, match="rubbish class") as err:
        check_static(Recipe(loss="map"), analyse(find("lenet5"), {"output": "softmax"}))
    assert "loss=crossentropy" in err.value.hint
