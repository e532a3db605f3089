"""The public Python functions check their arguments in one place (kzoo.api): a wrong one is a SpecError naming the
function, the argument and the value, raised before any work, never a raw TypeError from inside."""

from __future__ import annotations

import pytest

import kzoo
from kzoo.errors import SpecError

BAD_CALLS = [
    ("load", lambda: kzoo.load("resnet18", input_shape=3), "input_shape=3"),
    ("load", lambda: kzoo.load("resnet18", input_shape=(224, 224, 3, 1)), "input_shape="),
    ("load", lambda: kzoo.load("resnet18", input_shape=(0, 224, 3)), "input_shape[0]=0"),
    ("load", lambda: kzoo.load("resnet18", weights=5), "weights=5"),
    ("load", lambda: kzoo.load("lenet5", classes=0), "classes=0"),
    ("load", lambda: kzoo.load("lenet5", classes=True), "classes=True"),
    ("load", lambda: kzoo.load("lenet5", include_top="no"), "include_top='no'"),
    ("load", lambda: kzoo.load("resnet18", pooling="mean"), "pooling='mean'"),
    ("load", lambda: kzoo.load(5), "name=5"),
    ("load", lambda: kzoo.load(), "name is missing"),
    ("build", lambda: kzoo.build(3.5), "source=3.5"),
    ("analyse", lambda: kzoo.analyse(None), "source=None"),
    ("analyse", lambda: kzoo.analyse("lenet5", overrides=[1]), "overrides="),
    ("predict", lambda: kzoo.predict(model=5, images=["a.png"]), "model=5"),
    ("predict", lambda: kzoo.predict("m.keras", images=None), "images=None"),
    ("predict", lambda: kzoo.predict("m.keras", images=[]), "images=[]"),
    ("predict", lambda: kzoo.predict("m.keras", ["a.png"], top="three"), "top='three'"),
    ("predict", lambda: kzoo.predict("m.keras", ["a.png"], batch_size=0), "batch_size=0"),
    ("predict", lambda: kzoo.predict("m.keras", ["a.png"], tta=["flop"]), "tta[0]='flop'"),
    ("finetune", lambda: kzoo.finetune(3), "source=3"),
    ("finetune", lambda: kzoo.finetune("m.keras", classes=-1), "classes=-1"),
    ("port_weights", lambda: kzoo.port_weights(1, 2), "src=1"),
    ("list_weights", lambda: kzoo.list_weights(5), "name=5"),
    ("find", lambda: kzoo.find(None), "name=None"),
    ("add_path", lambda: kzoo.add_path(3), "folder=3"),
]


@pytest.mark.parametrize("fn,call,names", BAD_CALLS, ids=[f"{c[0]}-{i}" for i, c in enumerate(BAD_CALLS)])
def test_a_wrong_argument_is_named(fn, call, names):
    with pytest.raises(SpecError) as err:
        call()
    assert f"kzoo.{fn}()" in str(err.value) and names in str(err.value)


def test_a_single_path_is_one_image_not_its_characters(tmp_path):
    from helpers import write_image_folder

    write_image_folder(tmp_path / "imgs", per_class=1)
    model = kzoo.load("lenet5_modern", input_shape=(32, 32, 3), classes=2)
    one = next((tmp_path / "imgs" / "cat").iterdir())
    result = kzoo.predict(model, str(one), top=1)
    assert [p["file"] for p in result["predictions"]] == [str(one)]


def test_every_public_function_is_checked():
    for name in kzoo.LAZY_NAMES:
        if name not in kzoo.UNCHECKED:
            assert hasattr(getattr(kzoo, name), "__wrapped__"), name
