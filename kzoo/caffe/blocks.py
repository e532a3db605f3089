"""Repeated sub-graphs of an imported network found and written once, as blocks.

A *cut* is a node that every path from the input to the outputs crosses (no edge
jumps over it, in the network's order); between two cuts lies a *segment*. A
segment that branches (GoogLeNet's inception module, ResNet's residual unit,
SqueezeNet's fire module), with the activations that directly follow it, is a
candidate. Candidates of one structure - the same ops wired the same way - are one
block: arguments whose values differ between the calls become block arguments,
the others stay in the block; the layer names, which Caffe derives from an id
(``res2a_branch1``, ``bn2a_branch1``, ``res2a``), become templates over an ``id``
argument, and the block is unscoped (``scoped: false``) so every layer keeps its
Caffe name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from kzoo.caffe.importer import KNode
from kzoo.caffe.yaml_text import flow, op_default

MIN_CALLS = 2


@dataclass
class Block:
    """One block: its name, its layers (templates), its arguments and the calls of it."""

    name: str
    nodes: list[KNode]  # the first instance's nodes (their args are rewritten into templates)
    templates: list[str]  # each node's name template over ${id}
    inputs: list[list[str]]  # each node's inputs: "input" (the call's), or another node's template
    args: dict[str, list[tuple[int, str]]]  # block argument -> the (node index, op argument) it sets
    calls: list[dict[str, Any]] = field(default_factory=list)  # per call: id, argument values, its input


def _is_cut_list(nodes: list[KNode]) -> list[bool]:
    pos = {n.name: i for i, n in enumerate(nodes)}
    furthest = [-1] * len(nodes)  # furthest reader of each node
    for j, m in enumerate(nodes):
        for s in m.inputs:
            if s in pos:
                furthest[pos[s]] = max(furthest[pos[s]], j)
    flags, reach = [], -1
    for i in range(len(nodes)):
        # node i is a cut when no edge from a node before it lands after it
        flags.append(reach <= i)
        reach = max(reach, furthest[i])
    return flags


def segments(nodes: list[KNode]) -> list[tuple[int, int]]:
    """(start, end) of each segment: nodes start..end, end a cut, start just after the previous cut."""
    flags = _is_cut_list(nodes)
    out, start = [], 0
    for i, is_cut in enumerate(flags):
        if is_cut and i >= start:
            out.append((start, i))
            start = i + 1
    return out


def _branches(nodes: list[KNode], start: int, end: int) -> bool:
    for i in range(start, end + 1):
        n = nodes[i]
        want = nodes[i - 1].name if i > 0 else "input"
        if n.inputs != [want]:
            return True
    return False


def candidates(nodes: list[KNode]) -> list[tuple[int, int]]:
    """Segments that branch, each with the activations right after it."""
    segs = segments(nodes)
    out: list[tuple[int, int]] = []
    for start, end in segs:
        if out and start == out[-1][1] + 1 and end == start and nodes[start].op == "activation":
            out[-1] = (out[-1][0], end)  # ResNet's relu after the add
        elif end > start and _branches(nodes, start, end):
            out.append((start, end))
    return out


def _signature(nodes: list[KNode], start: int, end: int) -> tuple:
    names = {nodes[i].name: i - start for i in range(start, end + 1)}
    entry = nodes[start - 1].name if start > 0 else "input"
    sig = []
    for i in range(start, end + 1):
        n = nodes[i]
        refs = tuple(-1 if s == entry else names.get(s, "x") for s in n.inputs)
        sig.append((n.op, refs, _fn_name(n)))
    return tuple(sig)


def _fn_name(n: KNode) -> Any:
    return repr(n.args.get("fn")) if n.op == "activation" else None


def _ids(groups: list[list[str]]) -> list[str] | None:
    """The id of each instance: what its first layer's name has where the others' differ."""
    firsts = [g[0] for g in groups]
    prefix = os.path.commonprefix(firsts)
    suffix = os.path.commonprefix([f[::-1] for f in firsts])[::-1]
    ids = []
    for f in firsts:
        core = f[len(prefix) : len(f) - len(suffix)] if len(f) - len(suffix) >= len(prefix) else ""
        # widen to whole word-parts: res2a_branch1 / res3a_branch1 give "2" and "3"; the id is "2a", "3a"
        ids.append(core)
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        return None
    return ids


def _templates(names: list[str], id_: str) -> list[str] | None:
    out = []
    for name in names:
        if id_ not in name:
            return None
        out.append(name.replace(id_, "${id}", 1))
    return out


def _widen(groups: list[list[str]], ids: list[str]) -> list[str]:
    """Ids grown by the characters around them that still differ between instances (2 -> 2a)."""
    firsts = [g[0] for g in groups]
    starts = [f.index(i) for f, i in zip(firsts, ids, strict=True)]
    while True:
        grown = [f[s : s + len(i) + 1] for f, s, i in zip(firsts, starts, ids, strict=True)]
        if any(len(g) == len(i) for g, i in zip(grown, ids, strict=True)):
            return ids
        if not re.fullmatch(r"[0-9A-Za-z]+", "".join(g[-1] for g in grown)):
            return ids
        if len({g[-1] for g in grown}) == 1:
            return ids
        ids = grown


def find_blocks(nodes: list[KNode]) -> tuple[list[Block], dict[int, tuple[Block, int]]]:
    """The blocks of a network and, per node position starting a call, (block, call index)."""
    groups: dict[tuple, list[tuple[int, int]]] = {}
    for start, end in candidates(nodes):
        groups.setdefault(_signature(nodes, start, end), []).append((start, end))
    blocks: list[Block] = []
    calls: dict[int, tuple[Block, int]] = {}
    used_names: set[str] = set()
    claimed = {i for spans in groups.values() for s, e in spans for i in range(s, e + 1)}
    for k, spans in enumerate(groups.values()):
        if len(spans) < MIN_CALLS:
            continue
        spans = _with_heads(nodes, spans, claimed)
        block = _make_block(nodes, spans, k, used_names)
        if block is None:
            continue
        blocks.append(block)
        for c, (start, _) in enumerate(spans):
            calls[start] = (block, c)
    return blocks, calls


def _with_heads(nodes: list[KNode], spans: list[tuple[int, int]], claimed: set[int]) -> list[tuple[int, int]]:
    """Spans grown backwards by the single layer each instance starts with, where that layer is named after the
    instance too (SqueezeNet's fire2/squeeze1x1 before fire2's expand branches)."""
    flags = _is_cut_list(nodes)
    while True:
        heads = [s - 1 for s, _ in spans]
        if any(h < 0 or h in claimed or not flags[h] or (h > 0 and not flags[h - 1]) for h in heads):
            return spans
        if len({nodes[h].op for h in heads}) != 1 or any(nodes[h].inputs != [_before(nodes, h)] for h in heads):
            return spans
        grown = [(s - 1, e) for s, e in spans]
        if _naming(nodes, grown) is None:
            return spans
        claimed.update(heads)
        spans = grown


def _before(nodes: list[KNode], i: int) -> str:
    return nodes[i - 1].name if i > 0 else "input"


def _naming(nodes: list[KNode], spans: list[tuple[int, int]]) -> tuple[list[str], list[str]] | None:
    """Each instance's id and the layers' name templates, or None when the names follow no common pattern."""
    names = [[nodes[i].name for i in range(s, e + 1)] for s, e in spans]
    ids = _ids(names)
    if ids is None:
        return None
    ids = _widen(names, ids)
    templates = None
    for group, id_ in zip(names, ids, strict=True):
        t = _templates(group, id_)
        if t is None or (templates is not None and t != templates):
            return None
        templates = t
    return (ids, templates) if templates is not None else None


def _make_block(nodes: list[KNode], spans: list[tuple[int, int]], k: int, used: set[str]) -> Block | None:
    naming = _naming(nodes, spans)
    if naming is None:
        return None
    ids, templates = naming
    first_start, first_end = spans[0]
    size = first_end - first_start + 1
    inst = [[nodes[s + j] for j in range(size)] for s, _ in spans]
    # the values of each (node, argument) across the calls
    columns: dict[tuple[int, str], list[str]] = {}
    for j in range(size):
        keys = {key for row in inst for key in row[j].args}
        for key in keys:
            vals = [flow(row[j].args.get(key, op_default(row[j].op, key))) for row in inst]
            if len(set(vals)) > 1:
                columns[(j, key)] = vals
    args: dict[str, list[tuple[int, str]]] = {}
    by_values: dict[tuple[str, ...], str] = {}
    short = _short_names(templates)
    for (j, key), vals in sorted(columns.items()):
        same = by_values.get((key, *vals))
        if same is not None:
            args[same].append((j, key))
            continue
        arg = key if key not in args and sum(1 for jj, kk in columns if kk == key) == 1 else f"{key}_{short[j]}"
        arg = re.sub(r"[^0-9A-Za-z_]", "_", arg)
        args[arg] = [(j, key)]
        by_values[(key, *vals)] = arg
    kind = _kind_name(templates, used)
    entry_of = [nodes[s - 1].name if s > 0 else "input" for s, _ in spans]
    local = {nodes[first_start + j].name: templates[j] for j in range(size)}
    inputs = [["input" if i == entry_of[0] else local[i] for i in nodes[first_start + j].inputs] for j in range(size)]
    block = Block(kind, inst[0], templates, inputs, args)
    for c, row in enumerate(inst):
        values = {}
        for arg, where in args.items():
            j, key = where[0]
            values[arg] = row[j].args.get(key, op_default(row[j].op, key))
        block.calls.append({"id": ids[c], "args": values, "entry": entry_of[c]})
    return block


def _short_names(templates: list[str]) -> list[str]:
    """What tells a block's layers apart: the part of each name after the id (``inception_${id}_1x1`` -> 1x1)."""
    out = []
    for i, t in enumerate(templates):
        after = t.split("${id}", 1)[1].strip("_-.") if "${id}" in t else t
        out.append(after or t.split("${id}", 1)[0].strip("_-.") or f"layer{i}")
    return out


def _kind_name(templates: list[str], used: set[str]) -> str:
    """A block's name from its layers' (``res${id}_relu`` -> res), made unique (res, res_b, ...)."""
    base = re.sub(r"[^0-9a-z_]", "_", templates[-1].split("${id}")[0].lower()).strip("_")
    if not base or not base[0].isalpha():
        base = "unit"
    name, k = base, 0
    from kzoo.ops import ACTIVATIONS, OPS

    while name in used or name in OPS or name in ACTIVATIONS:
        k += 1
        name = f"{base}_{chr(ord('a') + k)}"
    used.add(name)
    return name
