"""Small helpers of expansion: the scope an item is expanded in, copying marked maps, paths, topological order."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kzoo.errors import SpecError
from kzoo.graph.node import INPUT, Node
from kzoo.lang.loader import YMap


@dataclass(frozen=True)
class Scope:
    """Where an item is expanded: its name prefix, the values its expressions see, the defaults in force,
    the blocks being called (to refuse recursion) and its path in the document."""

    prefix: tuple[str, ...]
    env: Mapping[str, Any]
    defaults: tuple[YMap, ...]
    calls: tuple[str, ...]
    path: str
    entry: Any = None  # inside an unscoped block call: what `from: input` means (its input)
    block_level: int | None = None  # the prefix length of the outermost scoped block call it is inside


def sub_path(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def toposort(nodes: dict[str, Node], outputs: list[str]) -> dict[str, Node]:
    """Nodes in dependency order; a cycle or a node no output uses is a SpecError."""
    used: set[str] = set()
    stack = list(outputs)
    while stack:
        name = stack.pop()
        if name in used or name == INPUT:
            continue
        used.add(name)
        stack.extend(nodes[name].inputs)
    for node in nodes.values():
        if node.name not in used:
            raise SpecError(
                f"layer {node.name!r} does not lead to any output",
                node.source,
                node.path,
                "connect it with from:, list it in outputs:, or remove it",
            )
    index = {name: i for i, name in enumerate(nodes)}
    waiting = {name: sum(1 for i in n.inputs if i != INPUT) for name, n in nodes.items()}
    users: dict[str, list[str]] = {}
    for node in nodes.values():
        for i in node.inputs:
            if i != INPUT:
                users.setdefault(i, []).append(node.name)
    ready = [index[n] for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    names = list(nodes)
    order: dict[str, Node] = {}
    while ready:  # Kahn's algorithm, keeping file order where the graph allows
        name = names[heapq.heappop(ready)]
        order[name] = nodes[name]
        for user in users.get(name, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, index[user])
    if len(order) < len(nodes):
        stuck = [n for n in nodes.values() if n.name not in order]
        raise SpecError(
            f"the layers form a cycle through {', '.join(n.name for n in stuck[:6])}",
            stuck[0].source,
            stuck[0].path,
            "a from: reference points forward to a layer that depends on this one",
        )
    return order
