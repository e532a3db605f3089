"""The hostile-input suite's world and runner (imported by tests/test_hostile_*.py).

A case is a command line for ``kzoo.cli.main`` (run in-process: many cases, one
TensorFlow start) and a substring its error must hold (the file, field, value
or option that is wrong). Every case must: exit 2, print at most 4 lines on
stderr, no traceback, name what is wrong, take under 20 s, and leave nothing
half-written (no temporary file, no run directory it created).
"""

from __future__ import annotations

import os
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

TINY = """
name: tiny
paper: none (a small net for the hostile-input tests)
input: [8, 8, 1]
params: {classes: 10, act: relu, pool: max}
layers:
  - conv: {filters: 4, kernel: 3, padding: same, activation: $act}
  - when: "${pool == 'max'}"
    maxpool: 2
  - when: "${pool == 'avg'}"
    avgpool: 2
  - flatten
  - dense: {units: $classes, activation: softmax, name: predictions}
"""


@dataclass
class Case:
    id: str
    argv: str  # {w} is the world folder
    expect: str  # must appear in stderr (case-insensitive)

    def args(self, world: Path) -> list[str]:
        import shlex

        return [a.replace("{w}", str(world)) for a in shlex.split(self.argv)]


def cases(*rows: tuple[str, str, str]) -> list[Case]:
    return [Case(*r) for r in rows]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def arch(world: Path, name: str, body: str) -> None:
    """An architecture file: the tiny net's header with ``body`` as its layers (or a whole file)."""
    text = body if "input:" in body else f"name: {name}\ninput: [8, 8, 1]\nparams: {{classes: 10}}\nlayers:\n{body}"
    write(world / "a" / f"{name}.yaml", text)


def build_world(world: Path) -> Path:
    """Every file the cases refer to."""
    write(world / "tiny.yaml", TINY)
    write(world / "pool_typo_in_file.yaml", "extends: tiny.yaml\nparams: {pool: mean}\n")
    _architecture_files(world)
    _npz_files(world)
    _folders(world)
    _special_files(world)
    write(world / "space_ok.yaml", "set: {optimizer.lr: [0.001, 0.01]}\n")
    write(world / "recipe_ok.yaml", "epochs: 1\n")
    (world / "notrun").mkdir()
    (world / "notrun" / "mine.txt").write_text("a user's file\n")
    (world / "afile").write_text("not a folder\n")
    (world / "afile.keras").write_text("not a model\n")
    (world / "adir.yaml.keras").mkdir()
    _spaces(world)
    _caffe_files(world)
    return world


CAFFE_INPUT = 'input: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\n'


def _caffe_files(world: Path) -> None:
    """Caffe network definitions and weights files with one mistake each (for kzoo import/export caffe)."""
    nets = {
        "syntax": 'layer {\n  name: "c"\n  type: "Convolution\n}\n',
        "unbalanced": 'layer {\n  name: "c"\n',
        "unknown_type": CAFFE_INPUT
        + 'layer {\n  name: "up"\n  type: "Deconvolution"\n  bottom: "data"\n  top: "up"\n}\n',
        "no_kernel": CAFFE_INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
        "convolution_param { num_output: 4 } }\n",
        "no_output": CAFFE_INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
        "convolution_param { kernel_size: 3 } }\n",
        "stochastic": CAFFE_INPUT + 'layer { name: "p" type: "Pooling" bottom: "data" top: "p" '
        "pooling_param { pool: STOCHASTIC kernel_size: 2 } }\n",
        "bad_blob": CAFFE_INPUT + 'layer { name: "r" type: "ReLU" bottom: "dta" top: "r" }\n',
        "no_layers": 'name: "empty"\n',
        "no_input": 'layer { name: "r" type: "ReLU" bottom: "x" top: "r" }\n',
        "short_dims": 'input: "data"\ninput_dim: 3\ninput_dim: 8\n'
        'layer { name: "r" type: "ReLU" bottom: "data" top: "r" }\n',
        "duplicate": CAFFE_INPUT + 'layer { name: "r" type: "ReLU" bottom: "data" top: "data" }\n' * 2,
        "too_small": CAFFE_INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
        "convolution_param { num_output: 4 kernel_size: 11 } }\n",
        "even_lrn": CAFFE_INPUT
        + 'layer { name: "n" type: "LRN" bottom: "data" top: "n" lrn_param { local_size: 4 } }\n',
        "concat_axis": CAFFE_INPUT + 'layer { name: "c" type: "Concat" bottom: "data" bottom: "data" top: "c" '
        "concat_param { axis: 2 } }\n",
        "binary": "\x00\x01\x02 not text",
        "good": CAFFE_INPUT + 'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
        "convolution_param { num_output: 4 kernel_size: 3 } }\n",
        "train_val": 'layer { name: "d" type: "Data" top: "data" top: "label" }\n'
        'layer { name: "c" type: "Convolution" bottom: "data" top: "c"\n'
        "convolution_param { num_output: 4 kernel_size: 3 } }\n",
    }
    for name, text in nets.items():
        write(world / "caffe" / f"{name}.prototxt", text)
    (world / "caffe" / "garbage.caffemodel").write_bytes(b"\xff\xfe\xfd\xfc" * 64)
    (world / "caffe" / "empty.caffemodel").write_bytes(b"")
    (world / "caffe" / "text.caffemodel").write_text('name: "not binary"\n')


def _architecture_files(world: Path) -> None:
    bodies = {
        "typo_key": "  - conv: {filters: 2, kernal: 3}\n",
        "unknown_op": "  - convolution: {filters: 2, kernel: 3}\n",
        "filters_text": "  - conv: {filters: ten, kernel: 3}\n",
        "filters_zero": "  - conv: {filters: 0, kernel: 3}\n",
        "kernel_big": "  - conv: {filters: 2, kernel: 9}\n",
        "padding_bool": "  - conv: {filters: 2, kernel: 3, padding: no}\n",
        "stride_neg": "  - conv: {filters: 2, kernel: 3, stride: -1}\n",
        "init_nan": "  - conv: {filters: 2, kernel: 3, init: {constant: {value: .nan}}}\n",
        "init_inf": "  - dense: {units: 3, bias_init: {constant: {value: .inf}}}\n",
        "init_unknown": "  - conv: {filters: 2, kernel: 3, init: he_normall}\n",
        "init_args": "  - conv: {filters: 2, kernel: 3, init: {random_normal: {stdev: 1}}}\n",
        "leaky_beta": "  - conv: {filters: 2, kernel: 3, activation: {leaky_relu: {beta: 5}}}\n",
        "dropout_rate": "  - flatten\n  - dropout: 1.5\n",
        "conv_after_flatten": "  - flatten\n  - conv: {filters: 2, kernel: 3}\n",
        "expr_syntax": "  - conv: {filters: '${4 *}', kernel: 3}\n",
        "expr_undefined": "  - conv: {filters: '${widht}', kernel: 3}\n",
        "expr_import": "  - conv: {filters: \"${__import__('os').getpid()}\", kernel: 3}\n",
        "expr_attr": "  - conv: {filters: '${classes.real}', kernel: 3}\n",
        "expr_pow": "  - conv: {filters: '${10 ** 100000}', kernel: 3}\n",
        "expr_div0": "  - conv: {filters: '${classes / 0}', kernel: 3}\n",
        "expr_inf": "  - dense: {units: 3, weight_decay: '${1e308 * 10}'}\n",
        "expr_huge": "  - conv: {filters: '${" + "1+" * 200_000 + "1}', kernel: 3}\n",
        "expr_unterminated": "  - conv: {filters: '${classes', kernel: 3}\n",
        "repeat_nested": "  - repeat: 1000\n    layers:\n      - repeat: 1000\n        layers:\n"
        "          - repeat: 1000\n            layers: []\n",
        "repeat_when_false": "  - repeat: 1000\n    layers:\n      - repeat: 1000\n        layers:\n"
        "          - when: false\n            conv: {filters: 2, kernel: 1}\n",
        "repeat_negative": "  - repeat: -2\n    layers: [{conv: {filters: 2, kernel: 1}}]\n",
        "repeat_text": "  - repeat: many\n    layers: [{conv: {filters: 2, kernel: 1}}]\n",
        "repeat_huge": "  - repeat: 100000\n    layers: [{conv: {filters: 2, kernel: 1}}]\n",
        "when_text": "  - when: maybe\n    conv: {filters: 2, kernel: 1}\n",
        "from_undefined": "  - conv: {filters: 2, kernel: 1, from: nowhere}\n",
        "from_self": "  - conv: {name: a, filters: 2, kernel: 1, from: a}\n",
        "name_twice": "  - conv: {name: a, filters: 2, kernel: 1}\n  - conv: {name: a, filters: 2, kernel: 1}\n",
        "name_chars": "  - conv: {name: 'a b/c', filters: 2, kernel: 1}\n",
        "units_huge": "  - flatten\n  - dense: 1000000000000\n",
        "output_relu": "  - flatten\n  - dense: {units: 10, activation: relu}\n",
        "output_sigmoid_dropout": "  - flatten\n  - dense: {units: 10, activation: sigmoid}\n  - dropout: 0.5\n",
        "filters_huge": "  - conv: {filters: 1000000000, kernel: 3}\n",
        "parallel_no_merge": "  - parallel: [[{conv: {filters: 2, kernel: 1}}], []]\n",
        "merge_unknown": "  - parallel: [[{conv: {filters: 2, kernel: 1}}], []]\n    merge: multiply\n",
        "add_shapes": "  - parallel: [[{conv: {filters: 2, kernel: 1}}], [{conv: {filters: 3, kernel: 1}}]]\n"
        "    merge: add\n",
    }
    for name, body in bodies.items():
        arch(world, name, body)
    files = {
        "no_name": "input: [8, 8, 1]\nlayers: [flatten]\n",
        "bad_name": "name: 'my net!'\ninput: [8, 8, 1]\nlayers: [flatten]\n",
        "no_input": "name: x\nlayers: [flatten]\n",
        "input_negative": "name: x\ninput: [-8, 8, 1]\nlayers: [flatten]\n",
        "input_4d": "name: x\ninput: [8, 8, 1, 1]\nlayers: [flatten]\n",
        "input_text": "name: x\ninput: [eight, 8, 1]\nlayers: [flatten]\n",
        "top_typo": "name: x\ninput: [8, 8, 1]\nlayers: [flatten]\nlayerz: []\n",
        "no_layers": "name: x\ninput: [8, 8, 1]\nlayers: []\n",
        "dup_key": "name: x\nname: y\ninput: [8, 8, 1]\nlayers: [flatten]\n",
        "two_docs": "name: x\ninput: [8, 8, 1]\nlayers: [flatten]\n---\nname: y\n",
        "a_list": "- conv: {filters: 2, kernel: 3}\n",
        "a_scalar": "just some words\n",
        "tag_python": "name: x\ninput: [8, 8, 1]\nlayers: [!!python/object:os.system {}]\n",
        "tag_custom": "name: x\ninput: !shape [8, 8, 1]\nlayers: [flatten]\n",
        "yaml_syntax": "name: x\ninput: [8, 8, 1\nlayers: [flatten]\n",
        "tab_indent": "name: x\ninput: [8, 8, 1]\nlayers:\n\t- flatten\n",
        "yes_key": "name: x\ninput: [8, 8, 1]\nparams: {yes: 1}\nlayers: [flatten]\n",
        "block_recursive": "name: x\ninput: [8, 8, 1]\nblocks:\n  b: {layers: [b]}\nlayers: [b]\n",
        "block_unknown_arg": "name: x\ninput: [8, 8, 1]\nblocks:\n  b: {args: {f: int}, layers: [{conv: {filters: $f, "
        "kernel: 1}}]}\nlayers: [{b: {f: 2, g: 3}}]\n",
        "block_missing_arg": "name: x\ninput: [8, 8, 1]\nblocks:\n  b: {args: {f: int}, layers: [{conv: {filters: $f, "
        "kernel: 1}}]}\nlayers: [b]\n",
        "block_arg_type": "name: x\ninput: [8, 8, 1]\nblocks:\n  b: {args: {f: int}, layers: [{conv: {filters: $f, "
        "kernel: 1}}]}\nlayers: [{b: {f: two}}]\n",
        "extends_passwd": "extends: /etc/passwd\nname: x\n",
        "extends_outside": "extends: ../../../../../../etc/hosts.yaml\nname: x\n",
        "extends_missing": "extends: nothere.yaml\nname: x\n",
        "extends_number": "extends: 5\nname: x\n",
        "extends_txt": "extends: ../afile\nname: x\n",
        "extends_self": "extends: extends_self.yaml\nname: x\n",
        "extends_fifo": "extends: ../fifo.yaml\nname: x\n",
    }
    for name, text in files.items():
        write(world / "a" / f"{name}.yaml", text)
    alias = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i, prev in zip("bcdefghi", "abcdefgh", strict=True):
        alias += (
            f"{i}: &{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        )
    write(world / "a" / "alias_bomb.yaml", "name: x\ninput: [8, 8, 1]\nlayers: [flatten]\n" + alias)
    write(world / "a" / "deep.yaml", "name: x\ninput: [8, 8, 1]\nlayers: " + "[" * 2000 + "]" * 2000 + "\n")
    for name, char in (("nul", "\x00"), ("soh", "\x01"), ("esc", "\x1b"), ("del", "\x7f")):
        write(world / "a" / f"ctrl_{name}.yaml", f"name: x{char}\ninput: [8, 8, 1]\nlayers: [flatten]\n")
    (world / "a" / "latin1.yaml").write_bytes("name: caf\xe9\ninput: [8, 8, 1]\nlayers: [flatten]\n".encode("latin-1"))
    (world / "a" / "big.yaml").write_text("# " + "x" * 3_000_000 + "\nname: x\n")


def _npz_files(world: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (200, 8, 8), dtype="uint8")
    y = np.arange(200) % 10
    xt, yt = x[:40], y[:40]
    variants = {
        "labels_1_to_10": dict(x_train=x, y_train=y + 1, x_test=xt, y_test=yt + 1),
        "labels_float": dict(x_train=x, y_train=y + 0.5, x_test=xt, y_test=yt),
        "labels_short": dict(x_train=x, y_train=y[:150], x_test=xt, y_test=yt),
        "one_class": dict(x_train=x, y_train=np.zeros(200, int), x_test=xt, y_test=np.zeros(40, int)),
        "labels_negative": dict(x_train=x, y_train=np.where(y == 3, -1, y), x_test=xt, y_test=yt),
        "labels_nan": dict(x_train=x, y_train=np.where(y == 3, np.nan, y), x_test=xt, y_test=yt),
        "pixels_nan": dict(x_train=np.where(x > 250, np.nan, x / 255.0), y_train=y, x_test=xt, y_test=yt),
        "pixels_inf": dict(x_train=np.where(x > 250, np.inf, x / 255.0), y_train=y, x_test=xt, y_test=yt),
        "pixels_255_float": dict(x_train=x.astype("float32"), y_train=y, x_test=xt, y_test=yt),
        "flat_vectors": dict(x_train=x.reshape(200, 64), y_train=y, x_test=xt.reshape(40, 64), y_test=yt),
        "five_d": dict(x_train=x[:, None, :, :, None], y_train=y, x_test=xt, y_test=yt),
        "labels_text": dict(x_train=x, y_train=np.array([str(v) for v in y]), x_test=xt, y_test=yt),
        "no_test": dict(x_train=x, y_train=y),
        "one_hot": dict(x_train=x, y_train=np.eye(10)[y], x_test=xt, y_test=yt),
        "test_label_unknown": dict(x_train=x, y_train=y, x_test=xt, y_test=yt + 30),
        "names_wrong": dict(x_train=x, y_train=y, x_test=xt, y_test=yt, class_names=np.array(["a", "b"])),
        "val_only_x": dict(x_train=x, y_train=y, x_test=xt, y_test=yt, x_val=xt),
        "channels_4": dict(
            x_train=rng.integers(0, 255, (200, 8, 8, 4), dtype="uint8"), y_train=y, x_test=xt, y_test=yt
        ),
    }
    (world / "npz").mkdir()
    for name, arrays in variants.items():
        np.savez(world / "npz" / f"{name}.npz", **arrays)
    np.savez(
        world / "npz" / "pickled.npz",
        x_train=np.array([object()] * 3, dtype=object),
        y_train=y[:3],
        x_test=xt,
        y_test=yt,
    )
    (world / "npz" / "garbage.npz").write_bytes(os.urandom(2048))
    np.save(world / "npz" / "single.npy", x)
    os.replace(world / "npz" / "single.npy", world / "npz" / "single.npz")


def _folders(world: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(1)

    def png(path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype="uint8")).save(path)

    for folder, extra in (
        ("corrupt", "truncated"),
        ("empty_class", None),
        ("zero_byte", "zero"),
        ("fake", "fake"),
        ("one_class", None),
    ):
        classes = ("a",) if folder == "one_class" else ("a", "b")
        for c in classes:
            for i in range(6):
                png(world / "folders" / folder / c / f"{i}.png")
        if folder == "empty_class":
            (world / "folders" / folder / "c").mkdir()
        if extra == "truncated":
            good = (world / "folders" / folder / "a" / "0.png").read_bytes()
            (world / "folders" / folder / "b" / "bad.png").write_bytes(good[: len(good) // 2])
        if extra == "zero":
            (world / "folders" / folder / "b" / "empty.png").write_bytes(b"")
        if extra == "fake":
            (world / "folders" / folder / "b" / "notes.jpg").write_text("this is not a picture\n")
    (world / "folders" / "no_images" / "a").mkdir(parents=True)
    (world / "folders" / "no_images" / "b").mkdir(parents=True)
    (world / "folders" / "no_images" / "a" / "readme.txt").write_text("x")
    png(world / "images" / "one.png")
    (world / "images" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")


def _special_files(world: Path) -> None:
    os.mkfifo(world / "fifo.yaml")
    (world / "loop.yaml").symlink_to(world / "loop2.yaml")
    (world / "loop2.yaml").symlink_to(world / "loop.yaml")
    (world / "adir.yaml").mkdir()
    write(world / "a" / "loop_extends.yaml", "extends: ../loop.yaml\nname: x\n")


def check(world: Path, case: Case, run) -> None:
    """Run one case and assert everything the suite promises."""
    before = {p for p in world.rglob("*")}
    start = time.monotonic()
    rc, out, err = run(case.args(world))
    seconds = time.monotonic() - start
    lines = err.strip().splitlines()
    assert rc == 2, (case.id, rc, err[-2000:])
    assert "Traceback" not in err and "Traceback" not in out, (case.id, err[-3000:])
    assert 1 <= len(lines) <= 4, (case.id, err)
    assert case.expect.lower() in err.lower(), (case.id, case.expect, err)
    assert seconds < 20, (case.id, seconds)
    after = {p for p in world.rglob("*")}
    leftovers = [p for p in after - before if ".tmp" in p.name or p.name.endswith(".tmp")]
    assert not leftovers, (case.id, leftovers)
    created = [p for p in after - before if p.parent == world / "out"]
    assert not created, (case.id, "a failed run left", created)


def _spaces(world):
    spaces = {
        "param": "param: {actt: [relu, tanh]}\n",
        "range": "set: {optimizer.lr: {min: 0.1, max: 0.01}}\n",
        "empty": "set: {optimizer.lr: []}\n",
        "mixed": "set: {batch_size: [16, big]}\n",
        "log": "set: {optimizer.lr: {min: 0, max: 0.1, log: true}}\n",
        "grid": "set: {optimizer.lr: {min: 0.001, max: 0.1}}\n",
        "value": "set: {optimizer.lr: [0.01, -1.0]}\n",
        "field": "set: {optimizer.momentun: [0.9]}\n",
        "choice": "param: {pool: [max, median]}\n",
        "section": "sett: {epochs: [1]}\n",
        "old_form": "params.pool: [max]\n",
        "classes": "param: {classes: [10, 12]}\n",
    }
    for name, text in spaces.items():
        write(world / "s" / f"{name}.yaml", text)
