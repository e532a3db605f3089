"""Reading Caffe files: located errors, the legacy format, train_val files, weights files (no TensorFlow)."""

from __future__ import annotations

import pytest
from helpers import caffe_definition
from nets import BIAS, LENET_V1_TRAIN_VAL, TRICKY

from kzoo.caffe.importer import convert
from kzoo.caffe.reader import read_net, read_weights
from kzoo.caffe.schema import message
from kzoo.errors import SpecError

RELEASED = [
    "bvlc_lenet.prototxt",
    "bvlc_cifar10_quick.prototxt",
    "bvlc_alexnet.prototxt",
    "bvlc_reference_caffenet.prototxt",
    "bvlc_googlenet.prototxt",
    "he_resnet50.prototxt",
]


@pytest.mark.parametrize("name", RELEASED)
def test_released_definitions_read(name):
    net = read_net(caffe_definition(name))
    assert net.input_shape[0] in (1, 3) and net.layers
    assert all(layer.mark.line for layer in net.layers)  # every layer knows its line


def test_inputs_given_every_way(tmp_path):
    base = 'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n'
    base += "convolution_param { num_output: 2 kernel_size: 1 } }\n"
    ways = {
        "dims": 'input: "data" input_dim: 1 input_dim: 3 input_dim: 9 input_dim: 7\n',
        "shape": 'input: "data" input_shape { dim: 1 dim: 3 dim: 9 dim: 7 }\n',
        "layer": 'layer { name: "data" type: "Input" top: "data"\n'
        "input_param { shape { dim: 1 dim: 3 dim: 9 dim: 7 } } }\n",
    }
    for way, head in ways.items():
        (tmp_path / f"{way}.prototxt").write_text(head + base)
        assert read_net(tmp_path / f"{way}.prototxt").input_shape == (3, 9, 7), way


def test_syntax_error_is_located(tmp_path):
    path = tmp_path / "bad.prototxt"
    path.write_text('name: "x"\nlayer {\n  name: "c"\n  type: "Convolution\n}\n')
    with pytest.raises(SpecError) as err:
        read_net(path)
    assert err.value.file == str(path) and err.value.line == 4


def test_unknown_field_in_a_known_place_is_located(tmp_path):
    path = tmp_path / "bad.prototxt"
    path.write_text('input: "data"\ninput_dim: 1\ninput_dim: 1\ninput_dim: 4\ninput_dim: 4\nlayer {\n  name "c"\n}\n')
    with pytest.raises(SpecError) as err:
        read_net(path)
    assert err.value.line == 7


def test_unsupported_layer_names_itself_and_lists_the_supported(tmp_path):
    path = tmp_path / "net.prototxt"
    path.write_text(
        'input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n'
        'layer {\n  name: "d"\n  type: "Deconvolution"\n  bottom: "data"\n  top: "d"\n}\n'
    )
    with pytest.raises(SpecError) as err:
        convert(read_net(path))
    text = err.value.format()
    assert err.value.line == 3 and "'d' (Deconvolution)" in text and "Convolution" in err.value.hint


def test_v1_train_val_needs_its_input_then_keeps_the_test_network(tmp_path):
    path = tmp_path / "lenet_train_val.prototxt"
    path.write_text(LENET_V1_TRAIN_VAL)
    with pytest.raises(SpecError, match="--input"):
        read_net(path)
    net = read_net(path, (28, 28, 1))
    assert [layer.type for layer in net.layers] == [
        "Convolution",
        "Pooling",
        "InnerProduct",
        "ReLU",
        "InnerProduct",
        "SoftmaxWithLoss",
    ]
    imported = convert(net)
    assert [n.op for n in imported.nodes] == ["conv", "maxpool", "flatten", "dense", "dense"]
    assert imported.nodes[-1].args["activation"] == "softmax" and imported.nodes[0].args["init"] == "xavier"


def test_duplicate_layer_names_are_refused(tmp_path):
    path = tmp_path / "net.prototxt"
    layer = 'layer { name: "c" type: "ReLU" bottom: "data" top: "data" }\n'
    path.write_text('input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n' + layer + layer)
    with pytest.raises(SpecError, match="two layers are named 'c'"):
        read_net(path)


def test_a_blob_nobody_wrote_is_located(tmp_path):
    path = tmp_path / "net.prototxt"
    path.write_text(
        'input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\n'
        'layer { name: "r" type: "ReLU" bottom: "dtaa" top: "r" }\n'
    )
    with pytest.raises(SpecError, match="'dtaa'") as err:
        convert(read_net(path))
    assert err.value.line == 2


def test_tricky_network_converts_every_kind(tmp_path):
    path = tmp_path / "tricky.prototxt"
    path.write_text(TRICKY)
    ops = [n.op for n in convert(read_net(path)).nodes]
    for op in ("conv", "scale", "multiply", "maximum", "add", "power", "lrn", "avgpool", "concat",
               "global_maxpool", "flatten", "dense"):  # fmt: skip
        assert op in ops, op


@pytest.mark.parametrize(
    "data, what",
    [(b"", "holds no layers"), (b"\xff\xff\xff\xff", "not a Caffe weights file"), (b"\x0a\x05ab", "truncated")],
)
def test_bad_weights_files_are_one_line_errors(tmp_path, data, what):
    path = tmp_path / "w.caffemodel"
    path.write_bytes(data)
    with pytest.raises(SpecError, match=what):
        read_weights(path)


def test_a_truncated_weights_file_is_refused(tmp_path):
    net = message("NetParameter")(name="n")
    layer = net.layer.add(name="c", type="Convolution")
    layer.blobs.add().data.extend([0.5] * 100)
    data = net.SerializeToString()
    path = tmp_path / "w.caffemodel"
    path.write_bytes(data[: len(data) - 37])
    with pytest.raises(SpecError, match="truncated"):
        read_weights(path)


def test_bias_layer_converts(tmp_path):
    path = tmp_path / "bias.prototxt"
    path.write_text(BIAS)
    assert [n.op for n in convert(read_net(path)).nodes] == ["bias"]


@pytest.mark.parametrize(
    ("transform", "shape", "assumed"),
    [
        ("transform_param { crop_size: 227 mean_value: 104 mean_value: 117 mean_value: 123 }", (3, 227, 227), False),
        ("transform_param { crop_size: 28 mean_value: 33 }", (1, 28, 28), False),
        ("transform_param { crop_size: 24 force_gray: true }", (1, 24, 24), False),
        ("transform_param { crop_size: 32 scale: 0.00390625 }", (3, 32, 32), True),
        ("data_param { crop_size: 40 }", (3, 40, 40), True),
    ],
)
def test_a_train_val_input_comes_from_its_data_layer(tmp_path, transform, shape, assumed):
    """crop_size gives the size; the mean values (one or three) or force_gray/force_color the channels; where
    nothing says, three channels are assumed and the net says so."""
    path = tmp_path / "train_val.prototxt"
    v1 = LENET_V1_TRAIN_VAL.replace("include { phase: TEST }", f"include {{ phase: TEST }} {transform}", 1)
    path.write_text(v1)
    net = read_net(path)
    assert net.input_shape == shape and bool(net.assumed) == assumed
    assert read_net(path, (20, 20, 1)).input_shape == (1, 20, 20)  # --input wins
    modern = tmp_path / "modern.prototxt"
    modern.write_text(
        f'layer {{ name: "d" type: "Data" top: "data" top: "label" {transform} }}\n'
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 '
        "kernel_size: 3 } }\n"
    )
    assert read_net(modern).input_shape == shape
