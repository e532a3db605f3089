"""Recipes: layers of defaults, errors with locations, overrides."""

from __future__ import annotations

import pytest

from conftest import ROOT
from kzoo.errors import SpecError
from kzoo.lang.loader import load_file
from kzoo.train.recipe import Recipe, dump, parse_sets, resolve_recipe


def test_defaults_are_a_valid_recipe():
    recipe, _ = resolve_recipe()
    assert recipe == Recipe()
    assert recipe.data.source == "digits" and recipe.callbacks.early_stopping.plan(30, 270) == (10, 0)


def test_early_stopping_waits_longer_on_a_small_validation_set():
    """36 validation images: a third of the run's patience, no epoch of its first quarter judged; explicit values
    stay as given; an unknown validation size (TFDS) keeps the classic ten."""
    from kzoo.train.recipe import EarlyStoppingSection

    auto = EarlyStoppingSection()
    assert auto.plan(60, 36) == (20, 15) and auto.plan(30, 36) == (10, 7) and auto.plan(60, 200) == (10, 0)
    assert auto.plan(60, -1) == (10, 0)
    assert EarlyStoppingSection(patience=5, start_from_epoch=0).plan(60, 36) == (5, 0)
    with pytest.raises(ValueError):
        EarlyStoppingSection(patience=-3)


def test_layers_architecture_then_file_then_sets(write):
    arch = load_file(ROOT / "architectures" / "families" / "lenet.yaml")["train"]
    path = write("optimizer: {lr: 0.005}\nbatch_size: 64\n", "r.yaml")
    recipe, _ = resolve_recipe(arch, path, parse_sets(["batch_size=16", "schedule.plateau.patience=2"]))
    assert recipe.optimizer.name == "adam"  # from the architecture's train: section
    assert recipe.optimizer.lr == 0.005  # from the recipe file, merged key by key
    assert recipe.batch_size == 16 and recipe.schedule.plateau.patience == 2  # from --set
    assert recipe.data.pad == 4


def test_recipe_errors_name_file_line_and_column(write):
    path = write("optimizer:\n  name: sgd\n  momentun: 0.9\n", "r.yaml")
    with pytest.raises(SpecError, match="unknown key 'momentun'") as e:
        resolve_recipe(None, path)
    assert (e.value.file.endswith("r.yaml"), e.value.line, e.value.col) == (True, 3, 3)
    assert "momentum" in e.value.hint
    path = write("epochs: many\n", "r2.yaml")
    with pytest.raises(SpecError, match="invalid 'epochs'") as e:
        resolve_recipe(None, path)
    assert e.value.line == 1


def test_set_errors_point_at_the_flag():
    with pytest.raises(SpecError, match="optimizer.lr") as e:
        resolve_recipe(None, None, parse_sets(["optimizer.lr=-1"]))
    assert "--set optimizer.lr" in str(e.value)
    with pytest.raises(SpecError, match="unknown key 'epoch'"):
        resolve_recipe(None, None, parse_sets(["epoch=3"]))


@pytest.mark.parametrize("path", sorted((ROOT / "recipes").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_recipe_validates(path):
    recipe, _ = resolve_recipe(None, path)
    again, _ = resolve_recipe(None, None, None)
    assert recipe != again


def test_every_architecture_train_section_validates():
    for path in sorted((ROOT / "architectures").rglob("*.yaml")):
        section = load_file(path).get("train")
        if section is not None:
            resolve_recipe(section)


def test_dump_round_trips(write):
    recipe, _ = resolve_recipe(None, ROOT / "recipes" / "digits_sgd_ramp.yaml")
    again, _ = resolve_recipe(None, write(dump(recipe), "dumped.yaml"))
    assert again == recipe


def test_a_mapping_value_merges_key_by_key_with_later_dotted_keys():
    """set: {optimizer: {name: sgd, momentum: 0}, optimizer.lr: 0.01} - the mapping is not replaced by the
    dotted key that follows it (momentum stays 0), and the recipe's other optimizer fields stay too."""
    from kzoo.lang.loader import loads
    from kzoo.train.recipe import resolve_recipe

    base = loads("optimizer: {name: adam, lr: 0.5, beta_1: 0.8}\n", "train.yaml")
    recipe, _ = resolve_recipe(base, None, {"optimizer": {"name": "sgd", "momentum": 0.0}, "optimizer.lr": 0.01})
    assert (recipe.optimizer.name, recipe.optimizer.momentum, recipe.optimizer.lr) == ("sgd", 0.0, 0.01)
    assert recipe.optimizer.beta_1 == 0.8
    recipe, _ = resolve_recipe(None, None, {"callbacks": {"early_stopping": None}})
    assert recipe.callbacks.early_stopping is None and recipe.callbacks.checkpoint


@pytest.mark.parametrize("val, test", [(0.6, 0.6), (0.99, 0.15), (0.5, 0.5)])
def test_splits_that_hold_out_every_image_are_refused_at_the_data_section(write, val, test):
    path = write(f"data:\n  validation_split: {val}\n  test_split: {test}\n", "r.yaml")
    with pytest.raises(SpecError) as e:
        resolve_recipe(None, path)
    assert e.value.message.startswith(f"data: validation_split {val:g} and test_split {test:g} hold out every image")
    assert (e.value.line, e.value.path) == (2, "train.data") and "value error" not in str(e.value)
    resolve_recipe(None, None, parse_sets(["data.validation_split=0.5", "data.test_split=0.4"]))  # 10% trains
