"""kzoo predict: class names travel with the model; any image size and mode; a table or JSON."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from conftest import run_kzoo

COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


def colour_folder(root, per_class=12, size=16):
    rng = np.random.default_rng(0)
    for name, rgb in COLOURS.items():
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            noise = rng.integers(-25, 25, (size, size, 3))
            Image.fromarray(np.clip(np.array(rgb) + noise, 0, 255).astype("uint8")).save(root / name / f"{i}.png")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from kzoo.cli import main

    root = tmp_path_factory.mktemp("predict")
    colour_folder(root / "photos")
    recipe = {
        "epochs": 8,
        "batch_size": 8,
        "verbose": 0,
        "callbacks.tensorboard": False,
        "data.validation_split": 0.25,
        "data.test_split": 0.25,
        "optimizer.name": "adam",
        "optimizer.lr": 0.01,
    }
    sets = [x for k, v in recipe.items() for x in ("--set", f"{k}={json.dumps(v)}")]
    rc = main(
        [
            "train",
            "lenet5_modern",
            "--param",
            "input=[32,32,3]",
            "--data",
            f"folder:{root / 'photos'}",
            *sets,
            "--output",
            str(root / "run"),
        ]
    )
    assert rc == 0
    alone = root / "elsewhere" / "colours.keras"
    alone.parent.mkdir()
    shutil.copy(root / "run" / "model.keras", alone)  # the .keras file alone, far from its run directory
    return root, alone


@pytest.mark.slow
def test_predict_names_the_classes_from_the_saved_model_alone(trained, tmp_path):
    import kzoo

    root, alone = trained
    Image.new("RGB", (300, 200), COLOURS["red"]).save(tmp_path / "big_red.jpg")  # another size
    Image.new("RGBA", (8, 8), COLOURS["blue"] + (255,)).save(tmp_path / "blue_alpha.png")  # another mode
    Image.new("RGB", (40, 40), COLOURS["green"]).convert("P").save(tmp_path / "green.gif")  # a palette
    result = kzoo.predict(alone, [tmp_path], top=2)
    assert result["classes"] == ["blue", "green", "red"]  # the folder names, sorted
    best = {r["file"].rsplit("/", 1)[-1]: r["top"][0]["class"] for r in result["predictions"]}
    assert best == {"big_red.jpg": "red", "blue_alpha.png": "blue", "green.gif": "green"}
    assert all(len(r["top"]) == 2 and r["top"][0]["p"] >= r["top"][1]["p"] for r in result["predictions"])


@pytest.mark.slow
def test_predict_cli_table_and_json(trained, tmp_path):
    root, alone = trained
    Image.new("RGB", (16, 16), COLOURS["green"]).save(tmp_path / "g.png")
    table = run_kzoo("predict", root / "run", tmp_path / "g.png", "--top", "1")
    assert table.returncode == 0 and "green" in table.stdout and table.stdout.count("\n") == 1
    doc = run_kzoo("predict", alone, tmp_path, "--json", "--tta", "flip")
    assert doc.returncode == 0, doc.stderr[-2000:]
    data = json.loads(doc.stdout)  # exactly one JSON document on stdout
    assert data["predictions"][0]["top"][0]["class"] == "green" and data["tta"] == ["flip"]
    occlusion = run_kzoo(
        "inspect", "occlusion", alone, tmp_path / "g.png", "--class", "green", "--json", "-o", tmp_path / "o.png"
    )
    assert occlusion.returncode == 0 and json.loads(occlusion.stdout)["class_name"] == "green"
    assert json.loads((root / "run" / "results.json").read_text())["class_names"] == ["blue", "green", "red"]


@pytest.mark.slow
def test_class_names_survive_fine_tuning(trained, tmp_path):
    import kzoo

    root, alone = trained
    colour_folder(tmp_path / "two", per_class=10)
    shutil.rmtree(tmp_path / "two" / "blue")
    results = kzoo.finetune(
        str(alone),
        sets={
            "data.source": f"folder:{tmp_path / 'two'}",
            "epochs": 2,
            "verbose": 0,
            "callbacks.tensorboard": False,
            "batch_size": 4,
        },
        output=str(tmp_path / "ft"),
    )
    assert results["class_names"] == ["green", "red"]
    assert kzoo.predict(tmp_path / "ft" / "model.keras", [root / "photos" / "red" / "0.png"])["classes"] == [
        "green",
        "red",
    ]


def test_a_fifo_given_as_an_image_is_refused_at_once(tmp_path):
    """Pillow would block reading a named pipe that no one writes."""
    import os

    from kzoo.train.images import ImageError, decode

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    with pytest.raises(ImageError, match="not a regular file"):
        decode(fifo, 3)
