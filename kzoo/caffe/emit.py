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

import yaml

from kzoo.caffe.importer import Imported, KNode
from kzoo.ops import OPS
from kzoo.version import __version__

WIDTH = 118


def flow(value: Any) -> str:
    """``value`` as one line of flow-style YAML."""
    if value is _MISSING:
        return "<no default>"
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10**9, sort_keys=False).strip().removesuffix("...").strip()
    )


def op_default(op: str, key: str) -> Any:
    """The default of an op's argument as the YAML would write it (a missing marker when it has none)."""
    fields = OPS.get(op).Args.model_fields
    if key not in fields or fields[key].is_required():
        return _MISSING
    value = fields[key].get_default(call_default_factory=True)
    return value.to_yaml() if hasattr(value, "to_yaml") else value


_MISSING = object()
_ORDER = ("name", "from")


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
        if base is _MISSING or flow(base) != flow(value):
            args[key] = value
    for key in mine:
        if key not in node.args and op_default(node.op, key) is not _MISSING:
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


def emit(imported: Imported, name: str, source: str, weights_file: str | None = None) -> str:
    """The architecture file of an imported network."""
    channels, rows, cols = imported.net.input_shape  # type: ignore[misc]
    defaults = shared_defaults(imported.nodes)
    lines = header(imported, source, weights_file)
    lines.append(f"name: {flow(name)}")
    lines.append(f"description: {flow(f'Caffe network {imported.net.name!r} from {source}')}")
    lines.append(f"input: {flow([rows, cols, channels])}")
    if defaults:
        lines.append("defaults:")
        for op, args in defaults.items():
            lines.append(f"  {op}: {flow(args)}")
    lines.append("layers:")
    previous = "input"
    for node in imported.nodes:
        lines.append(f"  - {item(node, previous, defaults)}")
        previous = node.name
    if imported.outputs != [imported.nodes[-1].name]:
        lines.append(f"outputs: {flow(imported.outputs)}")
    return "\n".join(lines) + "\n"
