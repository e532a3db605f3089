"""Defaults that no layer can take: a ``defaults:`` entry is checked against every op item it reaches.

A default ``{op: {arg: value}}`` applies to the ``op`` items inside the construct that
declares it (the file, a layer list, a repeat, a parallel, a head or a block), and to the
items of every block called from there. An entry is useless when none of these items
leaves ``arg`` to the defaults, because each sets it itself or because there is no such
item at all (``defaults: {dense: {units: 256}}`` in a file whose dense layers all give
``units``): that is reported where the entry is written. Items are judged as written,
whatever their ``when:`` (a default used only by a head that a param switches off is
still used), and an item whose key is an expression reaches what it may name - the allowed values of the
param it is (``"${pooling}"``), else every block - so the check holds for every value of the params.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from kzoo.lang.choices import allowed_values
from kzoo.lang.expr import bare_name, is_expression
from kzoo.lang.loader import YMap
from kzoo.ops import ACTIVATIONS, OPS

Items = list[tuple[str, frozenset[str]]]  # (op name, the arguments the item sets itself)
BODY_KEYS = ("layers", "then")  # the keys of a construct that hold layer lists (``parallel`` holds a list of them)


def unused_defaults(data: YMap, fail: Callable[[str, Any, Any, str, str], Exception]) -> None:
    """Raise ``fail(message, container, key, path, hint)`` at the first defaults entry no item it reaches takes."""
    blocks = data.get("blocks") if isinstance(data.get("blocks"), dict) else {}
    reach = _Reach(blocks, allowed_values(data))
    top = [data.get("layers")] + [h.get("layers") for h in (data.get("heads") or {}).values() if isinstance(h, dict)]
    _judge(data.get("defaults"), reach.of_bodies(top), "defaults", fail)
    for where, construct in _constructs(data, blocks):
        _judge(construct.get("defaults"), reach.of_construct(construct), f"{where}.defaults", fail)


def _judge(defaults: Any, items: Items, path: str, fail: Callable[..., Exception]) -> None:
    if not isinstance(defaults, dict):
        return
    for op, args in defaults.items():
        if not isinstance(args, dict):
            continue
        taking = [explicit for name, explicit in items if name == op]
        for arg in args:
            if not any(arg not in explicit for explicit in taking):
                why = f"every {op} layer it reaches sets {arg} itself" if taking else f"it reaches no {op} layer"
                raise fail(
                    f"the default {op}.{arg} is used by no layer: {why}",
                    args,
                    arg,
                    f"{path}.{op}.{arg}",
                    "remove it, or set it where it applies (a default reaches the layers, heads and called blocks "
                    "inside the list that declares it)",
                )


def _constructs(data: YMap, blocks: dict) -> Iterator[tuple[str, YMap]]:
    """Every construct but the file itself that may declare defaults, with its path."""
    for name, head in (data.get("heads") or {}).items():
        if isinstance(head, YMap):
            yield f"heads.{name}", head
            yield from _inside(head, f"heads.{name}")
    yield from _inside_body(data.get("layers"), "layers")
    for name, block in blocks.items():
        if isinstance(block, YMap):
            yield f"blocks.{name}", block
            yield from _inside(block, f"blocks.{name}")


def _inside(construct: YMap, path: str) -> Iterator[tuple[str, YMap]]:
    for key in BODY_KEYS:
        yield from _inside_body(construct.get(key), f"{path}.{key}")
    branches = construct.get("parallel")
    if isinstance(branches, list):
        for j, branch in enumerate(branches):
            yield from _inside_body(branch, f"{path}.parallel[{j}]")


def _inside_body(body: Any, path: str) -> Iterator[tuple[str, YMap]]:
    if isinstance(body, YMap):  # {defaults, layers, name}
        yield path, body
        yield from _inside(body, path)
    elif isinstance(body, list):
        for i, item in enumerate(body):
            if isinstance(item, YMap) and any(k in item for k in ("repeat", "parallel", "layers")):
                yield f"{path}[{i}]", item
                yield from _inside(item, f"{path}[{i}]")


class _Reach:
    """The op items under a construct, through the blocks it calls (each block's items found once)."""

    def __init__(self, blocks: dict, choices: dict[str, list[Any]]):
        self.blocks, self.choices = blocks, choices
        self.done: dict[str, Items] = {}

    def of_construct(self, construct: YMap) -> Items:
        bodies = [construct.get(k) for k in BODY_KEYS]
        if isinstance(construct.get("parallel"), list):
            bodies += list(construct["parallel"])
        return self.of_bodies(bodies)

    def of_bodies(self, bodies: list[Any]) -> Items:
        out: Items = []
        for body in bodies:
            self.body(body, out)
        return out

    def body(self, body: Any, out: Items) -> None:
        if isinstance(body, YMap):
            out += self.of_construct(body)
        elif isinstance(body, list):
            for item in body:
                self.item(item, out)

    def item(self, item: Any, out: Items) -> None:
        if isinstance(item, str):
            self.named(item, None, out)
        elif isinstance(item, YMap):
            if any(k in item for k in ("repeat", "parallel", "layers")):
                out += self.of_construct(item)
                merge = item.get("merge")
                if isinstance(merge, str):
                    self.named(merge, None, out)
                elif isinstance(merge, YMap) and len(merge) == 1:
                    self.named(*next(iter(merge.items())), out)
                return
            keys = [k for k in item if k != "when"]
            if len(keys) == 1:
                self.named(keys[0], item[keys[0]], out)

    def named(self, key: Any, args: Any, out: Items) -> None:
        if not isinstance(key, str):
            return
        if is_expression(key):  # chosen by an expression: a param's allowed values (${pooling}), else any block
            param = bare_name(key)
            names = self.choices.get(param) if param else None
            for name in names if names is not None else list(self.blocks):
                if isinstance(name, str) and not is_expression(name):
                    self.named(name, args, out)
            return
        if key in self.blocks:
            if key not in self.done:
                self.done[key] = []  # a block that calls itself is expansion's error; stop here
                block = self.blocks[key]
                self.done[key] = self.of_construct(block) if isinstance(block, YMap) else []
            out += self.done[key]
        elif key in OPS:
            primary = OPS.get(key).primary
            explicit = set(args) if isinstance(args, dict) else ({primary} if args is not None and primary else set())
            out.append((key, frozenset(explicit)))
        elif key in ACTIVATIONS:
            out.append(("activation", frozenset({"fn"})))
