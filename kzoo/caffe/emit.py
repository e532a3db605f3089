"""Imported nodes as an architecture file a person can read.

One item per line, in the network's order: ``- conv: {name: conv2, filters: 256, kernel: 5, pad: 2}``.
``from:`` appears only where an item does not read the one before it. Arguments
equal to the op's default are left out; values most layers of one op share go to
``defaults:`` (a layer that differs says so). Repeated sub-graphs become blocks
(:mod:`kzoo.caffe.blocks`). The header says where the file came from.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from kzoo.caffe.blocks import Block, find_blocks
from kzoo.caffe.importer import Imported, KNode
from kzoo.caffe.yaml_text import MISSING, flow, op_default
from kzoo.version import __version__


def shared_defaults(nodes: list[KNode]) -> dict[str, dict[str, Any]]:
    """Per op, the argument values at least two thirds of its layers share (and at least two layers)."""
    out: dict[str, dict[str, Any]] = {}
    by_op: dict[str, list[KNode]] = {}
    for n in nodes:
        by_op.setdefault(n.op, []).append(n)
    for op, group in by_op.items():
        if len(group) < 2 or op == "activation":
            continue
        keys = {k for n in group for k in n.args}
        for key in sorted(keys):
            if key in ("filters", "units"):
                continue
            counts = Counter(flow(n.args[key]) for n in group if key in n.args)
            text, count = counts.most_common(1)[0]
            value = next(n.args[key] for n in group if key in n.args and flow(n.args[key]) == text)
            if count >= max(2, -(-2 * len(group) // 3)) and flow(op_default(op, key)) != text:
                out.setdefault(op, {})[key] = value
    return out


def item(node: KNode, previous: str | None, defaults: dict[str, dict[str, Any]]) -> str:
    """One node as one list item (without the leading dash)."""
    args: dict[str, Any] = {"name": node.name}
    if node.inputs != [previous]:
        args["from"] = node.inputs[0] if len(node.inputs) == 1 else list(node.inputs)
    mine = defaults.get(node.op, {})
    for key, value in node.args.items():
        base = mine[key] if key in mine else op_default(node.op, key)
        if base is MISSING or flow(base) != flow(value):
            args[key] = value
    for key in mine:
        if key not in node.args and op_default(node.op, key) is not MISSING:
            args[key] = op_default(node.op, key)  # this layer keeps the op's default, not the file's
    if node.op == "activation":
        fn = args.pop("fn")
        name = fn if isinstance(fn, str) else next(iter(fn))
        rest = {} if isinstance(fn, str) else {k: v for k, v in fn[name].items()}
        return f"{name}: {flow({**args, **rest})}"
    return f"{node.op}: {flow(args)}"


def header(imported: Imported, source: str, weights_file: str | None) -> list[str]:
    net = imported.net
    lines = [
        f"# {net.name}, imported from Caffe by kzoo {__version__} (kzoo import caffe {source}).",
        "# Names are Caffe's layer names; each line is one Caffe layer (activations and Scale folded into the",
        "# layer before them). Caffe's padding, rounding-up pooling and LRN are kept exactly (pad, ceil_mode,",
        "# alpha_mode: mean). Weights: kzoo.load(THIS_FILE, weights='NET.caffemodel') reads Caffe's directly",
    ]
    if weights_file:
        lines.append(f"# (converted here: weights='{weights_file}').")
    else:
        lines[-1] += "."
    return lines


def block_lines(block: Block, defaults: dict[str, dict[str, Any]]) -> list[str]:
    """A block's definition: unscoped, its arguments, its layers over ``${id}`` and ``$argument``."""
    kinds = {"int": int, "float": float, "bool": bool, "str": str}
    types = {"id": "str"}
    for arg in block.args:
        values = [call["args"][arg] for call in block.calls]
        kind = next((k for k, t in kinds.items() if all(type(v) is t for v in values)), "any")
        types[arg] = kind
    lines = [
        f"  {block.name}:",
        f"    doc: {flow(f'{len(block.calls)} calls: ' + ', '.join(str(c['id']) for c in block.calls))}",
        "    scoped: false            # the layers keep Caffe's names, made from the id",
        f"    args: {flow(types)}",
        "    layers:",
    ]
    previous = "input"
    for j, node in enumerate(block.nodes):
        args = dict(node.args)
        for arg, where in block.args.items():
            for jj, key in where:
                if jj == j:
                    args[key] = f"${arg}"
        templ = KNode(block.templates[j], node.op, args, block.inputs[j])
        lines.append(f"      - {item(templ, previous, defaults)}")
        previous = block.templates[j]
    return lines


def call_line(block: Block, index: int, previous: str) -> str:
    call = block.calls[index]
    args: dict[str, Any] = {"id": str(call["id"])}
    if call["entry"] != previous:
        args["from"] = call["entry"]
    args.update(call["args"])
    return f"{block.name}: {flow(args)}"


def emit(imported: Imported, name: str, source: str, weights_file: str | None = None) -> str:
    """The architecture file of an imported network."""
    channels, rows, cols = imported.net.input_shape  # type: ignore[misc]
    defaults = shared_defaults(imported.nodes)
    blocks, calls = find_blocks(imported.nodes)
    lines = header(imported, source, weights_file)
    lines.append(f"name: {flow(name)}")
    lines.append(f"description: {flow(f'Caffe network {imported.net.name!r} from {source}')}")
    lines.append(f"input: {flow([rows, cols, channels])}")
    if defaults:
        lines.append("defaults:")
        for op, args in defaults.items():
            lines.append(f"  {op}: {flow(args)}")
    if blocks:
        lines.append("blocks:")
        for block in blocks:
            lines.extend(block_lines(block, defaults))
    lines.append("layers:")
    previous, i = "input", 0
    nodes = imported.nodes
    while i < len(nodes):
        if i in calls:
            block, index = calls[i]
            lines.append(f"  - {call_line(block, index, previous)}")
            i += len(block.nodes)
            previous = nodes[i - 1].name
            continue
        lines.append(f"  - {item(nodes[i], previous, defaults)}")
        previous = nodes[i].name
        i += 1
    if imported.outputs != [nodes[-1].name]:
        lines.append(f"outputs: {flow(imported.outputs)}")
    lines.extend(caffe_names(nodes))
    return "\n".join(lines) + "\n"


def caffe_names(nodes: list[KNode]) -> list[str]:
    """A ``weights: {caffe: {names: ...}}`` section giving back the Caffe name of every layer whose kzoo name
    differs (``inception_3a/1x1``) and of the Scale folded into a batch norm, so that ``kzoo export caffe``
    writes the authors' names and their own prototxt runs with the exported weights."""
    import re

    rules = []
    for node in nodes:
        if node.caffe and node.caffe[0] != node.name:
            rules.append([re.escape(node.name), node.caffe[0]])
        if node.op == "batchnorm" and len(node.caffe) > 1:
            rules.append([re.escape(f"{node.name}_scale"), node.caffe[-1]])
    if not rules:
        return []
    note = "# kzoo name -> Caffe name: kzoo export caffe writes the Caffe ones"
    lines = ["weights:", f"  caffe:                    {note}", "    categories: null", "    names: ["]
    row = ""
    for rule in rules:  # a few pairs a line: a table, not the architecture
        cell = flow(rule)
        if row and len(row) + len(cell) > 100:
            lines.append(f"      {row.rstrip()}")
            row = ""
        row += f"{cell}, "
    lines.append(f"      {row.rstrip(', ')}]")
    return lines
