"""The plugin path: ops, initializers and activations registered by code or by the kzoo.plugins entry points."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from conftest import ROOT

PLUGIN = '''
import kzoo
from kzoo.ops import FnArgs, Op, OpArgs, Stats
from kzoo.ops.base import SameShape


@kzoo.register_op
class Halve(SameShape):
    """Halve the input (a plugin's op)."""

    name = "halve"

    def keras_layer(self, args, name):
        import keras

        return keras.layers.Rescaling(0.5, name=name)


kzoo.register_activation("plugin_square", FnArgs, lambda args: (lambda x: x * x), "x squared")
'''

ARCH = """
name: plugged
input: [4, 4, 1]
layers:
  - halve
  - conv: {filters: 2, kernel: 1, activation: plugin_square}
"""


def _run(tmp_path, code, entry_point=True):
    (tmp_path / "kzoo_test_plugin.py").write_text(PLUGIN)
    (tmp_path / "m.yaml").write_text(ARCH)
    if entry_point:  # a dist-info on the path declares the entry point, as an installed plugin does
        info = tmp_path / "kzoo_test_plugin-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kzoo-test-plugin\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("[kzoo.plugins]\nhalving = kzoo_test_plugin\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )


def test_an_entry_point_plugin_adds_an_op_and_an_activation(tmp_path):
    result = _run(
        tmp_path,
        """
        import kzoo, numpy as np
        graph = kzoo.analyse("m.yaml")          # the first registry lookup loads the plugins
        assert [n.op for n in graph.nodes.values()] == ["halve", "conv"]
        model = kzoo.build(graph)
        out = model(np.ones((1, 4, 4, 1), "float32"))
        assert float(np.min(out)) >= 0          # squared
        print("ok")
    """,
    )
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]


def test_without_the_plugin_the_op_is_an_unknown_name(tmp_path):
    result = _run(tmp_path, "import kzoo; kzoo.analyse('m.yaml')", entry_point=False)
    assert result.returncode != 0 and "unknown op or block 'halve'" in result.stderr


def test_registering_a_name_twice_raises():
    from kzoo.errors import KzooError
    from kzoo.ops import OPS, register_op
    from kzoo.ops.base import SameShape

    class Again(SameShape):
        name = "flatten"

    with pytest.raises(KzooError, match="op 'flatten' is already registered"):
        register_op(Again)
    assert type(OPS.get("flatten")).__name__ == "Flatten"


def test_a_broken_plugin_is_named(tmp_path):
    (tmp_path / "kzoo_test_plugin.py").write_text("raise ImportError('needs libfoo')\n")
    info = tmp_path / "broken-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[kzoo.plugins]\nbroken = kzoo_test_plugin\n")
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "kzoo.cli", "summary", "lenet5"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert result.returncode == 2 and "could not load kzoo plugin 'broken'" in result.stderr
    assert "Traceback" not in result.stderr
