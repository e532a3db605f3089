"""The reference tables of the README and docs/reference.md, drawn from the registries and schemas.

Every op argument, initializer, activation and recipe field is described once, beside its code (the
``description`` of its pydantic field, the ``doc`` of its registry entry, the op's docstring); this module
renders those as Markdown. The README holds each compact table between ``<!-- reference:NAME -->`` and
``<!-- /reference:NAME -->``; docs/reference.md is written whole. ``python -m kzoo.reference`` rewrites both;
tests/test_reference.py fails when either differs from what the code says.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from kzoo.files import write_text_atomic
from kzoo.lang.validate import model_in, type_text
from kzoo.ops import OPS
from kzoo.ops.base import FnRef
from kzoo.ops.functions import ACTIVATIONS, INITIALIZERS
from kzoo.train.recipe import Recipe

ROOT = Path(__file__).resolve().parents[1]
_REGION = re.compile(r"(<!-- reference:(\w+) -->\n)(.*?)(<!-- /reference:\2 -->)", re.S)


def _default(info: Any) -> str | None:
    """A field's default as a user writes it (None: required, or no default worth showing)."""
    if info.is_required():
        return None
    value = info.get_default(call_default_factory=True)
    if isinstance(value, FnRef):
        value = value.to_yaml()
    if isinstance(value, BaseModel) or value is None or value == [] or value == {}:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value).replace('"', "")


def _cell(text: str) -> str:
    """Text for a table cell: reStructuredText's ``code`` as Markdown's, no bar or tag read as Markdown."""
    return re.sub(r"``([^`]+)``", r"`\1`", text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _section(model: type[BaseModel], field: str) -> type[BaseModel] | None:
    """The model a field's value is a section of (``optimizer`` -> OptimizerSection); an initializer or activation
    (FnRef) is a value, not a section."""
    nested, through = model_in(model.model_fields[field].annotation)
    return nested if nested is not FnRef and not through else None


def _args_line(model: type[BaseModel]) -> str:
    """``name`` (default), ... for every field of ``model``."""
    parts = []
    fields = sorted(model.model_fields.items(), key=lambda kv: not kv[1].is_required())  # required ones first
    for name, info in fields:
        default = _default(info)
        parts.append(f"`{name}`" + (f" ({_cell(str(default))})" if default is not None else ""))
    return ", ".join(parts)


def _function(entry: Any) -> str:
    names = list(entry.Args.model_fields)
    shown = [n for n in names if n != "seed"]
    return f"`{entry.name}({', '.join(shown)})`" if shown else f"`{entry.name}`"


def ops_table() -> str:
    rows = ["| op | what it is | arguments (defaults) |", "|---|---|---|"]
    for name, op in OPS.items():
        rows.append(f"| `{name}` | {_cell(op.summary())} | {_args_line(op.Args)} |")
    return "\n".join(rows) + "\n"


def functions_table(registry: Any, what: str) -> str:
    rows = [f"| {what} | what it is |", "|---|---|"]
    for _, entry in registry.items():
        rows.append(f"| {_function(entry)} | {_cell(entry.doc)} |")
    return "\n".join(rows) + "\n"


def recipe_table() -> str:
    rows = ["| field | what it is | its fields (defaults) |", "|---|---|---|"]
    for name, info in Recipe.model_fields.items():
        section = _section(Recipe, name)
        if section is not None:
            doc = (section.__doc__ or "").strip().splitlines()[0] if section.__doc__ else ""
            rows.append(f"| `{name}` | {_cell(info.description or doc)} | {_args_line(section)} |")
        else:
            default = _default(info)
            shown = f" (default {_cell(str(default))})" if default is not None else ""
            rows.append(f"| `{name}` | {_cell(info.description or '')}{shown} | |")
    return "\n".join(rows) + "\n"


def _argument_rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, info in sorted(model.model_fields.items(), key=lambda kv: not kv[1].is_required()):
        section = _section(model, name)
        if section is not None and prefix.count(".") < 3:
            rows += _argument_rows(section, f"{prefix}{name}.")
            continue
        default = _default(info)
        rows.append(
            f"| `{prefix}{name}` | {_cell(_type(info))} | "
            f"{_cell(str(default)) if default is not None else ('required' if info.is_required() else '')} | "
            f"{_cell(info.description or '')} |"
        )
    return rows


def _type(info: Any) -> str:
    if info.annotation is FnRef:
        return "a name, or {name: {argument: value}}"
    return type_text(info.annotation, info.metadata)


def reference_page() -> str:
    """docs/reference.md: every op's arguments, every initializer and activation, every recipe field."""
    out = [
        "# Reference",
        "",
        "Generated from the code by `python -m kzoo.reference` (tests/test_reference.py checks it): each op's",
        "argument schema, the initializer and activation registries and the recipe's schema. Plugins add to the",
        "registries; `kzoo schema` gives the JSON Schema editors use.",
        "",
        "## Ops",
        "",
        "Every op also takes `name` (the layer's name) and `from` (its input: a layer name, or a list of them).",
        "",
    ]
    header = ["| argument | type | default | meaning |", "|---|---|---|---|"]
    for name, op in OPS.items():
        out += [f"### `{name}`", "", _cell(op.summary()), ""]
        if op.primary:
            out += [f"`{name}: VALUE` sets `{op.primary}`.", ""]
        out += (header + _argument_rows(op.Args) + [""]) if op.Args.model_fields else ["No arguments.", ""]
    out += ["## Initializers (`init:`, `bias_init:`)", "", functions_table(INITIALIZERS, "name")]
    out += ["## Activations (`activation:`)", "", functions_table(ACTIVATIONS, "name")]
    out += ["## Recipe fields (`--set FIELD=VALUE`)", "", *header, *_argument_rows(Recipe), ""]
    return "\n".join(out).rstrip("\n") + "\n"


TABLES = {
    "ops": ops_table,
    "initializers": lambda: functions_table(INITIALIZERS, "name"),
    "activations": lambda: functions_table(ACTIVATIONS, "name"),
    "recipe": recipe_table,
}


def fill(text: str) -> str:
    """``text`` (the README) with every ``<!-- reference:NAME -->`` region regenerated."""

    def one(m: re.Match) -> str:
        if m.group(2) not in TABLES:
            raise KeyError(f"README names no reference table {m.group(2)!r}; known: {', '.join(TABLES)}")
        return m.group(1) + TABLES[m.group(2)]() + m.group(4)

    return _REGION.sub(one, text)


def regions(text: str) -> list[str]:
    """The names of the generated regions ``text`` holds."""
    return [m.group(2) for m in _REGION.finditer(text)]


def main(root: Path = ROOT) -> int:
    """Rewrite the README's tables and docs/reference.md; print what changed."""
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    for path, new in ((readme, fill(text)), (root / "docs" / "reference.md", reference_page())):
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if new != old:
            write_text_atomic(path, new)
            print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
