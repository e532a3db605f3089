"""The item grammar of architecture files, in one table: what keys each construct takes, and their kinds.

Expansion checks an item's keys against it (:func:`check_keys` - unknown keys are
located errors with a did-you-mean) and kzoo.lang.schema builds the JSON Schema for
editors from it, so the two cannot drift apart. Key kinds: ``body`` (a layer list,
or ``{defaults, layers, name}``), ``defaults`` (op name -> arguments), ``when`` (a
boolean or an expression), ``count`` (a whole number or an expression), ``name`` (a
string, possibly with expressions), ``from`` (a layer name or a list of them),
``merge`` (``add``, ``concat`` or ``{op: {args}}``), ``args`` (argument -> type or default),
``branches`` (a list of bodies), ``text`` (documentation), ``flag`` (true or false).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kzoo.errors import Mark, SpecError, did_you_mean
from kzoo.lang.loader import At, mark_of, sub_path


@dataclass(frozen=True)
class Construct:
    """One construct of the language: its keys (name -> kind), the ones it requires, what it is."""

    keys: dict[str, str]
    required: tuple[str, ...]
    what: str


GRAMMAR: dict[str, Construct] = {
    "repeat": Construct(
        {"repeat": "count", "var": "name", "name": "name", "layers": "body", "defaults": "defaults", "when": "when"},
        ("repeat",),
        "a repeat",
    ),
    "parallel": Construct(
        {
            "parallel": "branches",
            "merge": "merge",
            "then": "body",
            "name": "name",
            "from": "from",
            "defaults": "defaults",
            "when": "when",
        },
        ("parallel",),
        "a parallel",
    ),
    "group": Construct(
        {"layers": "body", "name": "name", "defaults": "defaults", "when": "when"}, ("layers",), "an inline group"
    ),
    "body": Construct({"defaults": "defaults", "layers": "body", "name": "name"}, (), "a layer list"),
    "block": Construct(
        {
            "args": "args",
            "defaults": "defaults",
            "layers": "body",
            "parallel": "branches",
            "merge": "merge",
            "then": "body",
            "doc": "text",
            "scoped": "flag",
        },
        (),
        "a block",
    ),
    "head": Construct(
        {"from": "from", "merge": "merge", "when": "when", "layers": "body", "defaults": "defaults"},
        ("from",),
        "a head",
    ),
}


def check_keys(construct: str, item: dict, path: str, mark_of_key) -> None:
    """Every key of ``item`` is one ``construct`` takes, else a SpecError at the key's mark."""
    c = GRAMMAR[construct]
    for key in item:
        if key not in c.keys:
            mark: Mark | None = mark_of_key(key)
            raise SpecError(f"unknown key {key!r} in {c.what}", mark, path, did_you_mean(key, c.keys))


def _at(message: str, container: Any, key: Any, path: str, hint: str | None = None, of_key: bool = False) -> SpecError:
    return At(container, key, path).error(message, hint, of_key)


class _Shapes:
    """The grammar pass: every construct's keys (:data:`GRAMMAR`) and the shape each key's kind needs - a list of
    layers, a mapping of defaults, a non-empty list of branches - checked for the whole file before anything is
    expanded, whatever the params (an item under ``when: false`` is checked too). Expansion then reads values."""

    def document(self, data: Any) -> None:
        blocks = data.get("blocks")
        if isinstance(blocks, dict):
            for name, block in blocks.items():
                self.block(blocks, name, block)
        self.defaults(data.get("defaults"), data, "defaults", "defaults")
        self.body(data.get("layers"), data, "layers", "layers")
        heads = data.get("heads")
        if isinstance(heads, dict):
            for name, head in heads.items():
                self.head(heads, name, head)

    def keys(self, item: Any, construct: str, path: str) -> None:
        check_keys(construct, item, path, lambda key: mark_of(item, key, of_key=True))

    def block(self, blocks: Any, name: Any, block: Any) -> None:
        from kzoo.ops import ACTIVATIONS, OPS

        where = f"blocks.{name}"
        if name in OPS or name in ACTIVATIONS or name in ("repeat", "parallel"):
            raise _at(
                f"block name {name!r} is already an op or activation", blocks, name, where, "rename the block", True
            )
        if not isinstance(block, dict):
            raise _at("a block is a mapping with args: and layers: (or parallel:)", blocks, name, where)
        self.keys(block, "block", where)
        if ("layers" in block) == ("parallel" in block):
            raise _at("a block has either layers: or parallel:", blocks, name, where)
        if "args" in block and not isinstance(block["args"], dict):
            raise _at(
                "args: maps argument names to a type (int, float, bool, str, list) or a default",
                block,
                "args",
                where + ".args",
            )
        if "scoped" in block and not isinstance(block["scoped"], bool):
            raise _at("scoped: is true or false", block, "scoped", where + ".scoped")
        self.defaults(block.get("defaults"), block, "defaults", where + ".defaults")
        if "parallel" in block:
            self.branches(block, where)
        else:
            self.body(block.get("layers"), block, "layers", where + ".layers")

    def head(self, heads: Any, name: Any, head: Any) -> None:
        where = f"heads.{name}"
        if not isinstance(head, dict):
            raise _at("a head is a mapping with from: and layers:", heads, name, where)
        self.keys(head, "head", where)
        if "from" not in head:
            raise _at("a head needs from: (the layer it branches off)", heads, name, where)
        self.defaults(head.get("defaults"), head, "defaults", where + ".defaults")
        self.body(head.get("layers"), head, "layers", where + ".layers")

    def defaults(self, defaults: Any, container: Any, key: str, path: str) -> None:
        from kzoo.ops import OPS

        if defaults is None:
            return
        if not isinstance(defaults, dict):
            raise _at(
                "defaults must map op names to arguments", container, key, path, "defaults: {conv: {init: he_normal}}"
            )
        for op_name, args in defaults.items():
            if op_name not in OPS:
                hint = did_you_mean(op_name, OPS.names())
                raise _at(f"defaults for unknown op {op_name!r}", defaults, op_name, f"{path}.{op_name}", hint, True)
            if not isinstance(args, dict):
                raise _at(
                    f"defaults for {op_name} must be a mapping of arguments", defaults, op_name, f"{path}.{op_name}"
                )
            for bad in ("name", "from"):
                if bad in args:
                    raise _at(f"{bad!r} cannot be a default", args, bad, f"{path}.{op_name}", of_key=True)

    def body(self, value: Any, container: Any, key: Any, path: str) -> None:
        if value is None:
            return
        if isinstance(value, dict):
            self.keys(value, "body", path)
            self.defaults(value.get("defaults"), value, "defaults", path + ".defaults")
            self.body(value.get("layers"), value, "layers", sub_path(path, "layers"))
            return
        if not isinstance(value, list):
            raise _at("expected a list of layers", container, key, path)
        for i, item in enumerate(value):
            self.item(item, value, i, f"{path}[{i}]")

    def item(self, item: Any, seq: list, index: int, path: str) -> None:
        if isinstance(item, str):
            return
        if not isinstance(item, dict) or not item:
            raise _at("a layer is an op name or a mapping like {conv: {...}}", seq, index, path)
        construct = next((c for c in ("repeat", "parallel") if c in item), "group" if "layers" in item else None)
        if construct is None:
            keys = [k for k in item if k != "when"]
            if len(keys) != 1:
                raise _at(
                    f"a layer item has one op or block name (plus when:), got {', '.join(map(str, keys))}",
                    seq,
                    index,
                    path,
                    "write each layer as its own list item",
                )
            return
        self.keys(item, construct, path)
        self.defaults(item.get("defaults"), item, "defaults", path + ".defaults")
        if (
            construct == "repeat"
            and "var" in item
            and not (isinstance(item["var"], str) and item["var"].isidentifier())
        ):
            raise _at(f"var must be a name, got {item['var']!r}", item, "var", path + ".var")
        if construct == "parallel":
            self.branches(item, path)
        else:
            self.body(item.get("layers"), item, "layers", sub_path(path, "layers"))

    def branches(self, item: Any, path: str) -> None:
        """A parallel's (or a parallel block's) branches, merge and then."""
        branches = item["parallel"]
        if not isinstance(branches, list) or not branches:
            raise _at(
                "parallel: expects a list of branches (each a list of layers)", item, "parallel", path + ".parallel"
            )
        for j, branch in enumerate(branches):
            self.body(branch, branches, j, f"{path}.parallel[{j}]")
        if item.get("merge") is None:
            raise _at(
                "parallel: needs merge: add or merge: concat",
                item,
                "parallel",
                path,
                "the branches' outputs must be combined into one",
            )
        self.body(item.get("then"), item, "then", path + ".then")


def check_document(data: Any) -> None:
    """The grammar pass over a whole architecture file (``extends`` applied): see :class:`_Shapes`."""
    _Shapes().document(data)
