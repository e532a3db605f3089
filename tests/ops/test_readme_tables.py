"""The README's reference tables name every registered op, initializer and activation (a new one cannot go
undocumented), and nothing that is not registered."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kzoo.ops import OPS
from kzoo.ops.functions import ACTIVATIONS, INITIALIZERS

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    start = README.index(f"### {title}")
    return README[start : README.index("\n### ", start + 1)]


def _named(text: str) -> set[str]:
    """Names in backticks at the start of a table row or a list item, with or without (arguments)."""
    return set(re.findall(r"`([a-z_0-9]+)(?:\([^`]*\))?`", text))


@pytest.mark.parametrize(
    "title, registry",
    [
        ("Ops", OPS),
        ("Initializers (`init:`, `bias_init:`)", INITIALIZERS),
        ("Activations (`activation:`)", ACTIVATIONS),
    ],
)
def test_every_registered_name_is_in_the_readme_table(title, registry):
    text = _section(title)
    rows = "\n".join(line.split("|")[1] for line in text.splitlines() if line.startswith("| `"))
    listed = _named(rows) if rows else _named(text)
    missing = sorted(set(registry.names()) - listed)
    assert not missing, f"README's {title} does not list {missing}"
    if rows:  # a table: its first column names only registered entries
        assert listed <= set(registry.names()), sorted(listed - set(registry.names()))
