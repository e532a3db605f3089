"""kzoo inspect: init statistics, filters, feature maps, occlusion, class visualisation, curves."""

from __future__ import annotations

import json

import numpy as np
import pytest

import kzoo
from conftest import run_kzoo
from kzoo.errors import SpecError
from kzoo.inspect import look
from kzoo.inspect.stats import init_report, layer_stats

PLAIN = """
name: plain
paper: none (a deep plain network for the init analysis)
input: [8, 8, 16]
params: {init: glorot_uniform, activation: tanh, classes: 10}
defaults:
  conv: {filters: 64, kernel: 3, padding: same, init: $init, activation: $activation}
layers:
  - repeat: 12
    layers:
      - conv: {}
  - flatten
  - dense: {units: $classes, activation: softmax, init: glorot_uniform}
"""


def _per_layer_ratio(values):
    """Geometric mean of the layer-to-layer ratio over the 12 conv layers."""
    v = np.asarray(values[:12], dtype="float64")
    return float(np.exp(np.mean(np.log(v[1:] / v[:-1]))))


@pytest.mark.parametrize(
    ("init", "activation", "shrinks"),
    [("torch_legacy", "tanh", True), ("glorot_uniform", "tanh", False), ("he_normal", "relu", False)],
)
def test_init_statistics_show_the_lectures_analysis(write, init, activation, shrinks):
    """Old U[-1/sqrt(n), 1/sqrt(n)] init + tanh: activations and gradients shrink layer after layer;
    Glorot with tanh and He with ReLU keep them about constant (Glorot & Bengio 2010, He et al. 2015)."""
    _, stats = init_report(str(write(PLAIN, "plain.yaml")), init, activation, batch=32)
    forward = _per_layer_ratio([s.act_std for s in stats])
    # backward: gradients shrink from the output towards the input, so read the ratio downwards
    backward = 1 / _per_layer_ratio([s.grad_std for s in stats])
    if shrinks:
        assert forward < 0.7 and backward < 0.7  # measured here: 0.54 and 0.55 per layer
        assert stats[11].act_std / stats[0].act_std < 0.01
    else:
        assert 0.85 < forward < 1.15 and 0.85 < backward < 1.15  # measured: 0.90-0.97


def test_init_overrides_need_a_declared_param(write):
    path = write(PLAIN.replace("activation: tanh, ", "").replace("$activation", "tanh"), "p.yaml")
    with pytest.raises(SpecError, match="no 'activation' param"):
        init_report(str(path), activation="relu")


# --- a small trained network: "is there a bright square?" -------------------------------------------

TINY = """
name: blobnet
paper: none (test network)
input: [24, 24, 1]
params: {classes: 2}
layers:
  - conv: {name: c1, filters: 8, kernel: 3, activation: relu, padding: same}
  - maxpool: {name: p1, pool: 2}
  - conv: {name: c2, filters: 16, kernel: 3, activation: relu, padding: same}
  - global_maxpool: {name: gp}
  - dense: {name: predictions, units: $classes, activation: softmax}
"""


def blob_images(n, seed):
    """Class 1: dim noise with a bright 6x6 square somewhere; class 0: the noise alone."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 0.3, (n, 24, 24, 1)).astype("float32")
    y = rng.integers(0, 2, n)
    for i in np.flatnonzero(y == 1):
        r, c = rng.integers(0, 18, 2)
        x[i, r : r + 6, c : c + 6] = 1.0
    return x, y


@pytest.fixture(scope="module")
def blobnet(tmp_path_factory):
    import keras

    from kzoo.saved import save_atomic

    root = tmp_path_factory.mktemp("blob")
    (root / "blobnet.yaml").write_text(TINY)
    keras.utils.set_random_seed(0)
    model = kzoo.build(root / "blobnet.yaml")
    model.compile(keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    x, y = blob_images(600, 0)
    run = root / "run"
    run.mkdir()
    model.fit(x, y, batch_size=32, epochs=6, verbose=0, callbacks=[keras.callbacks.CSVLogger(str(run / "log.csv"))])
    xt, yt = blob_images(200, 1)
    assert model.evaluate(xt, yt, verbose=0)[1] > 0.95  # it learnt the task
    save_atomic(model, run / "model.keras")
    image = np.random.default_rng(5).uniform(0, 0.3, (24, 24, 1)).astype("float32")
    image[4:10, 14:20] = 1.0  # the square: rows 4-9, cols 14-19
    return model, run, image


def test_filters_and_feature_maps_have_the_layer_shapes(blobnet):
    model, _, image = blobnet
    assert look.filters(model, "c1").shape == (8, 3, 3)
    assert look.filters(model, "c2", channel=7).shape == (16, 3, 3)
    maps = look.activations(model, image, "c2")
    assert maps.shape == (16, 12, 12)
    np.testing.assert_allclose(maps.max(axis=(1, 2)), look.activations(model, image, "gp")[:, 0, 0], rtol=1e-5)
    with pytest.raises(SpecError, match="did you mean 'c1'"):
        look.filters(model, "c11")
    with pytest.raises(SpecError, match="no 2-D convolution kernel"):
        look.filters(model, "predictions")


def test_occluding_the_object_lowers_its_class_probability(blobnet):
    model, _, image = blobnet
    result = look.occlusion(model, image, cls=1, size=8, stride=2)
    assert result["probability"] > 0.9
    grid = result["map"]
    rows, cols = np.array(result["rows"]), np.array(result["cols"])
    covers = (rows[:, None] <= 4) & (rows[:, None] + 8 >= 10) & (cols[None, :] <= 14) & (cols[None, :] + 8 >= 20)
    assert covers.any()
    assert grid[covers].max() < 0.5  # the square hidden: "no square"
    far = (rows[:, None] >= 12) & (cols[None, :] <= 6)
    assert grid[far].min() > 0.9  # hiding empty background changes nothing
    assert set(np.unique(result["top_class"][covers])) == {0}


def test_gradient_ascent_raises_the_target_logit(blobnet):
    model, _, _ = blobnet
    result = look.dream(model, 1, steps=60, seed=0)
    assert result["image"].shape == (24, 24, 1)
    assert 0 <= result["image"].min() and result["image"].max() <= 1
    assert result["score_end"] > result["score_start"] + 1.0


def test_layer_stats_measure_a_trained_model(blobnet):
    model, _, image = blobnet
    stats = layer_stats(model, np.stack([image] * 4))
    # every layer with weights and every pooling layer (a max pool changes the scale the inits keep)
    assert [s.layer for s in stats] == ["c1", "p1", "c2", "gp", "predictions"]
    assert stats[0].shape == (24, 24, 8) and 0 <= stats[0].zeros <= 1
    assert stats[1].shape == (12, 12, 8) and stats[3].shape == (16,)
    for s in stats:
        assert s.act_rms**2 == pytest.approx(s.act_std**2 + s.act_mean**2, rel=1e-6)  # E[a^2] = Var + mean^2


def _cli(*args, cwd):
    return run_kzoo("inspect", *args, cwd=cwd, timeout=600)


@pytest.mark.slow
def test_every_inspect_command_writes_its_picture_and_numbers(blobnet, tmp_path, write):
    import tensorflow as tf

    _, run, image = blobnet
    png = tmp_path / "square.png"
    png.write_bytes(tf.io.encode_png((image * 255).astype("uint8")).numpy())
    plain = write(PLAIN, "plain.yaml")
    commands = {
        "init": ["init", plain, "--init", "torch_legacy", "--batch", "8"],
        "filters": ["filters", run, "--layer", "c1"],
        "activations": ["activations", run, png, "--layer", "c2"],
        "occlusion": ["occlusion", run, png, "--class", "1", "--size", "8", "--stride", "4"],
        "dream": ["dream", run / "model.keras", "--class", "1", "--steps", "30"],
        "curves": ["curves", run],
    }
    for what, args in commands.items():
        out = tmp_path / f"{what}.png"
        result = _cli(*args, "-o", out, "--json", cwd=tmp_path)
        assert result.returncode == 0, (what, result.stderr[-2000:])
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", what
        data = json.loads(result.stdout)  # exactly one document; the "wrote" message goes to stderr
        assert f"wrote {out}" in result.stderr
        if what == "init":
            assert len(data) == 13 and data[11]["act_std"] < data[0]["act_std"] / 100
        if what == "occlusion":
            assert data["class"] == 1 and 0 <= data["lowest_at"]["row"] <= 6 and 10 <= data["lowest_at"]["col"] <= 16
        if what == "curves":
            assert len(data["loss"]) == 6 and data["loss"][-1] < data["loss"][0]
    svg = _cli("filters", run, "--layer", "c2", "-o", tmp_path / "f.svg", cwd=tmp_path)
    assert svg.returncode == 0 and (tmp_path / "f.svg").read_text().lstrip().startswith("<?xml")
    bad = _cli("filters", run, "--layer", "c3", cwd=tmp_path)
    assert bad.returncode == 2 and "no layer 'c3'" in bad.stderr and "Traceback" not in bad.stderr


def test_layer_stats_callback_logs_to_tensorboard(tmp_path, write):
    import keras
    import tensorflow as tf

    from kzoo.inspect.stats import layer_stats_callback

    model = kzoo.build(write(TINY, "blob.yaml"))
    model.compile("adam", "sparse_categorical_crossentropy")
    x, y = blob_images(64, 2)
    callback = layer_stats_callback(x[:16], str(tmp_path / "tb"), every=2)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])  # 4 steps: logged at 0 and 2
    seen: dict[str, list[int]] = {}
    for event_file in (tmp_path / "tb").glob("events.out.tfevents*"):
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                seen.setdefault(value.tag, []).append(event.step)
    assert seen["activation_std/c1"] == [0, 2] and seen["gradient_std/c2"] == [0, 2]
    assert "zeros/predictions" in seen and "gradient_std/predictions" not in seen
    assert keras.backend.backend() == "tensorflow"


def test_gradient_tools_say_they_need_tensorflow_under_jax(write):
    from conftest import run_python

    path = write(TINY, "blob.yaml")
    result = run_python(
        f"""
        import numpy as np, kzoo
        from kzoo.errors import KzooError
        from kzoo.inspect import look
        from kzoo.inspect.stats import layer_stats
        model = kzoo.build("{path}")
        for call in (lambda: layer_stats(model, np.zeros((2, 24, 24, 1), "float32")), lambda: look.dream(model, 1)):
            try:
                call()
            except KzooError as exc:
                print("refused:", exc)
        """,
        env={"KERAS_BACKEND": "jax"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.count("need the TensorFlow backend") == 2


@pytest.mark.slow
def test_he_relu_keeps_the_second_moment_from_conv_to_conv_and_max_pools_raise_it():
    """Why `kzoo inspect init vgg11 --init he_normal --activation relu` shows the std rising (0.81 -> 3.28 at
    224x224): He et al. keep E[a^2] from a conv layer's output to the next conv layer's output, and VGG's five
    2x2 max pools - which their derivation leaves out - raise it (the max of four ReLU outputs)."""
    _, stats = init_report("vgg11", "he_normal", "relu", params={"input": [64, 64, 3], "classes": 10}, batch=16)
    rms = {s.layer: s.act_rms for s in stats}
    after_pools = [("block1_pool", "block2_conv1"), ("block3_pool", "block4_conv1"), ("block4_pool", "block5_conv1")]
    for pool, nxt in after_pools:
        assert 0.85 < rms[nxt] / rms[pool] < 1.2, (pool, nxt)  # a conv + ReLU passes the second moment on
    for a, b in [("block3_conv1", "block3_conv2"), ("block4_conv1", "block4_conv2"), ("fc1", "fc2")]:
        assert 0.85 < rms[b] / rms[a] < 1.15, (a, b)
    pools = [("block1_conv1", "block1_pool"), ("block2_conv1", "block2_pool"), ("block3_conv2", "block3_pool")]
    for conv, pool in pools:
        assert rms[pool] / rms[conv] > 1.1, pool  # measured at 224x224: x1.75, x1.42, x1.26


def test_the_init_table_shows_a_vanishing_activation_as_a_number():
    from kzoo.inspect.stats import number

    assert number(3e-6).strip() == "3.00e-06" and number(-4.2e-9).strip() == "-4.20e-09"
    assert number(0.0).strip() == "0.0000" and number(0.5123).strip() == "0.5123" and len(number(2.5e7)) == 9


def test_inspect_init_takes_a_batch_that_fits():
    """VGG-11 at 224x224 with 64 images needed about 11 GB; the default batch keeps activations within 2 GB."""
    from kzoo.graph import analyse
    from kzoo.graph.budget import batch_within, example_bytes
    from kzoo.zoo import find

    vgg = analyse(find("vgg11"))
    batch = batch_within(vgg, 64)
    assert 2 <= batch < 64 and batch * example_bytes(vgg) * 3 <= 2 << 30
    assert batch_within(analyse(find("lenet5")), 64) == 64
