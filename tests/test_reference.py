"""The reference tables are drawn from the code: the README's generated regions and docs/reference.md equal what
kzoo.reference renders now (so a new op, initializer, activation or recipe field cannot go undocumented, and a
changed default cannot leave a stale table), and every field they render has a description of its own."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import BaseModel

from conftest import ROOT
from kzoo import reference
from kzoo.ops import OPS, FnRef
from kzoo.ops.functions import ACTIVATIONS, INITIALIZERS
from kzoo.train.recipe import Recipe

FIX = "run `python -m kzoo.reference` and commit what it writes"


def test_the_readme_tables_are_the_generated_ones():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert sorted(reference.regions(text)) == sorted(reference.TABLES)
    assert reference.fill(text) == text, FIX


def test_docs_reference_is_the_generated_page():
    assert (ROOT / "docs" / "reference.md").read_text(encoding="utf-8") == reference.reference_page(), FIX


def test_a_table_changes_with_the_registry(monkeypatch):
    """The check can fail: an entry registered now appears in the table (and so differs from the README's)."""
    from kzoo.ops.functions import FnArgs, FnDef

    before = reference.functions_table(ACTIVATIONS, "name")
    monkeypatch.setitem(ACTIVATIONS._items, "swish_test", FnDef("swish_test", FnArgs, lambda a: None, "x sigmoid(x)"))
    after = reference.functions_table(ACTIVATIONS, "name")
    assert "`swish_test` | x sigmoid(x)" in after and after != before


def _fields(model: type[BaseModel], prefix: str = ""):
    for name, info in model.model_fields.items():
        inner = [a for a in (info.annotation, *get_args(info.annotation)) if isinstance(a, type)]
        nested = next((a for a in inner if issubclass(a, BaseModel) and a is not FnRef), None)  # FnRef: a value
        if nested is not None:
            yield from _fields(nested, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", info


@pytest.mark.parametrize(
    "what, models",
    [("op", [(name, op.Args) for name, op in OPS.items()]), ("recipe", [("recipe", Recipe)])],
)
def test_every_field_is_described_once_beside_its_code(what, models):
    bare = [f"{owner}.{field}" for owner, model in models for field, info in _fields(model) if not info.description]
    assert not bare, f"{what} fields without a description: {bare}"


@pytest.mark.parametrize("registry", [INITIALIZERS, ACTIVATIONS])
def test_every_function_is_documented(registry):
    assert all(entry.doc for _, entry in registry.items())
