"""What users get: a wheel built from this tree, installed into a virtual environment of its own.

The wheel goes into a fresh venv with nothing editable in it; the dependencies
(TensorFlow, Keras, ...) are not downloaded again but read from this test's own
environment through a plain path entry, which adds no import hooks (an editable
install's finder, or a source checkout on sys.path, would hide a package the
wheel forgot: that is how a missing ``kzoo.train`` once went unnoticed). From
another directory it imports, lists, summarises, builds, trains one epoch and
reloads the trained model, and finds the README's paths and names (architectures/, recipes/, studies/, zoo
names) in the installed package.
"""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import pytest

from conftest import ROOT


def _wheel(tmp_path: Path) -> Path:
    out = tmp_path / "wheels"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (wheel,) = out.glob("kzoo-*.whl")
    return wheel


def _venv(tmp_path: Path, wheel: Path) -> Path:
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    here = [p for p in {sysconfig.get_paths()["purelib"], *site.getsitepackages()} if Path(p).is_dir()]
    # A plain path line: its own .pth files (the editable kzoo's finder among them) are not processed.
    (Path(purelib) / "zz_shared_dependencies.pth").write_text("\n".join(here) + "\n")
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    result = subprocess.run(  # --ignore-installed: the shared path shows pip the editable kzoo's metadata too
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed", str(wheel)],
        capture_output=True,
        text=True,
        timeout=600,
        env=clean,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return python


CHECK = """
import importlib.metadata, json, sys
from pathlib import Path
import kzoo
here = Path(kzoo.__file__).parent
assert "site-packages" in str(here) and str(here).startswith(sys.prefix), here
assert not any("editable" in type(f).__name__.lower() or "__editable__" in repr(f) for f in sys.meta_path)
for name in importlib.metadata.requires("kzoo"):
    if "extra ==" not in name:
        importlib.metadata.version(name.split(">")[0].split("<")[0].split("=")[0].split("[")[0].strip())
import kzoo.train, kzoo.inspect, kzoo.graph, kzoo.ops, kzoo.keras, kzoo.lang, kzoo.prediction  # the packages
import kzoo.tune, kzoo.cli
# the README's paths and names, from a folder that has none of them
assert kzoo.analyse("architectures/googlenet.yaml").name == kzoo.analyse("googlenet").name == "googlenet"
from kzoo.study import load_study
from kzoo.train.recipe import resolve_recipe
assert load_study("studies/mnist_ladder.yaml").name == load_study("mnist_ladder").name
assert resolve_recipe(None, "recipes/digits_sgd_ramp.yaml")[0] == resolve_recipe(None, "digits_sgd_ramp")[0]
from kzoo.pretrained import imagenet_categories  # package data
assert len(imagenet_categories()) == 1000
print(json.dumps({"names": kzoo.list_architectures(), "version": kzoo.__version__}))
"""


@pytest.mark.slow
def test_a_wheel_in_a_venv_of_its_own_imports_lists_summarises_builds_trains_and_reloads(tmp_path):
    python = _venv(tmp_path, _wheel(tmp_path))
    kzoo = python.parent / "kzoo"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KZOO_PATH")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"

    def run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
        result = subprocess.run(args, capture_output=True, text=True, cwd=elsewhere, env=env, timeout=timeout)
        assert result.returncode == 0, (args, result.stdout[-2000:], result.stderr[-3000:])
        return result

    info = json.loads(run(str(python), "-c", CHECK).stdout)
    assert {"lenet5", "resnet50", "googlenet", "vgg16"} <= set(info["names"])
    assert run(str(kzoo), "--version").stdout.strip() == f"kzoo {info['version']}"
    assert "resnet50" in run(str(kzoo), "list").stdout
    summary = json.loads(run(str(kzoo), "summary", "resnet50", "--json").stdout)
    assert summary["totals"]["params"] == 25_636_712  # keras.applications.ResNet50's count
    run(str(kzoo), "build", "lenet5", "-o", "lenet5.keras")
    run(str(kzoo), "train", "lenet5_modern", "--recipe", "recipes/digits_sgd_ramp.yaml", "--epochs", "1",
        "--set", "schedule.step_drops=[]", "--output", "run", "--set", "verbose=0")  # fmt: skip
    assert [r["release"] for r in json.loads(run(str(kzoo), "weights", "resnet18", "--json").stdout)] == [
        "torchvision",
        "timm",
    ]
    reload = textwrap.dedent(
        """
        import json, keras, kzoo
        model = keras.saving.load_model("run/model.keras")   # no custom_objects
        print(json.dumps({"classes": int(model.output_shape[-1]), "name": model.name}))
        """
    )
    assert json.loads(run(str(python), "-c", reload).stdout) == {"classes": 10, "name": "lenet5_modern"}
    assert (elsewhere / "lenet5.keras").is_file() and (elsewhere / "run" / "results.json").is_file()
