"""The layers of kzoo, lowest first; no module imports from a layer above its own (inside functions neither).

base (errors, files, registry, paths, hooks, quiet, version, windows, scores, api, saved_meta) -> keras -> ops
-> lang, search_space
-> graph -> builder, saved -> zoo, transfer, convolutional, pretrained, report, caffe -> train, tasks
-> inspect, tune, prediction, study, deploy, reference -> cli -> kzoo (façade)
"""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

from conftest import ROOT

LAYERS = [
    [
        "kzoo.errors",
        "kzoo.files",
        "kzoo.registry",
        "kzoo.paths",
        "kzoo.version",
        "kzoo.hooks",
        "kzoo.quiet",
        "kzoo.window_math",
        "kzoo.score_kind",
        "kzoo.api",
        "kzoo.saved_meta",
    ],
    ["kzoo.keras"],
    ["kzoo.ops"],
    ["kzoo.lang", "kzoo.search_space"],
    ["kzoo.graph"],
    ["kzoo.builder", "kzoo.saved"],
    ["kzoo.zoo", "kzoo.transfer", "kzoo.convolutional", "kzoo.pretrained", "kzoo.report", "kzoo.caffe"],
    ["kzoo.train", "kzoo.tasks"],
    ["kzoo.inspect", "kzoo.tune", "kzoo.prediction", "kzoo.study", "kzoo.deploy", "kzoo.reference"],
    ["kzoo.cli"],
]


def rank(module: str) -> int:
    if module == "kzoo":
        return len(LAYERS)  # the façade sits on top
    best = None
    for i, names in enumerate(LAYERS):
        for name in names:
            if module == name or module.startswith(name + "."):
                best = i
    assert best is not None, f"{module} is in no layer: add it to tests/test_layers.py's LAYERS"
    return best


def modules() -> dict[str, object]:
    out = {}
    for path in sorted((ROOT / "kzoo").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path, package: str) -> list[tuple[str, int]]:
    """(kzoo module imported, line) for every import in the file, functions and TYPE_CHECKING blocks included."""
    found, known = [], modules()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "kzoo"]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "kzoo":
            for a in node.names:  # `from kzoo import quiet` imports the module kzoo.quiet
                sub = f"{node.module}.{a.name}"
                found.append((sub if sub in known else node.module, node.lineno))
    return found


def test_every_module_is_in_a_layer():
    for name in modules():
        rank(name)


@pytest.mark.parametrize("name", sorted(modules()))
def test_no_module_imports_upward(name):
    path = modules()[name]
    own = rank(name)
    upward = [(m, line) for m, line in imports(path, name) if rank(m) > own]
    assert not upward, f"{name} (layer {own}) imports from a higher layer: {upward}"


def test_importing_kzoo_imports_neither_tensorflow_nor_keras():
    code = "import kzoo, sys; kzoo.list_architectures(); kzoo.analyse(kzoo.find('resnet50'))\n"
    code += "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'\n"
    code += "import keras; assert 'kzoo.keras' in sys.modules  # kzoo's objects register with keras\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_the_facade_exports_each_lazy_name_and_no_name_shadows_a_submodule():
    import kzoo

    assert sorted(kzoo.__all__[3:]) == sorted(kzoo.LAZY_NAMES)
    assert not set(kzoo.LAZY_NAMES) & {n.split(".")[1] for n in modules() if n.count(".") >= 1}
    for name in kzoo.LAZY_NAMES:
        assert callable(getattr(kzoo, name)), name


def test_no_module_is_longer_than_400_lines():
    """Small files, one concept each (STYLE.md): a module past 400 lines is split, not grown."""
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > 400}
    assert not long, long
