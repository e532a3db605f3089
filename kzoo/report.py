"""Summaries of analysed graphs: a table for people, a dict for scripts."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kzoo.graph import Graph, analyse
from kzoo.zoo import aliases, find, list_architectures


def layer_rows(graph: Graph) -> list[dict[str, Any]]:
    rows = []
    for node in graph.nodes.values():
        s = node.stats
        assert s is not None, "analyse() infers every node"
        rows.append(
            {
                "name": node.name,
                "op": node.op,
                "inputs": list(node.inputs),
                "output_shape": list(node.shape),
                "params": s.trainable + s.non_trainable,
                "trainable_params": s.trainable,
                "non_trainable_params": s.non_trainable,
                "madds": s.madds,
                "receptive_field": s.out.rf,
                "source": str(node.source) if node.source else None,
                "attrs": node.attrs(),
            }
        )
    return rows


def summary_dict(graph: Graph) -> dict[str, Any]:
    """Per-layer rows and totals (params, trainable params, multiply-adds, output shapes)."""
    return {
        "name": graph.name,
        "file": graph.file,
        "input_shape": list(graph.input_shape),
        "outputs": [{"name": o, "shape": list(graph.nodes[o].shape)} for o in graph.outputs],
        "example_shape": list(graph.example_shape) if graph.any_size else None,
        "layers": layer_rows(graph),
        "totals": graph.totals(),
        "params": graph.meta.get("params", {}),
        "paper": graph.meta.get("paper"),
    }


def _shape(shape: list[Any]) -> str:
    return "(" + ", ".join(map(str, shape)) + ")"


def summary_text(graph: Graph) -> str:
    rows = layer_rows(graph)
    width = max([len(r["name"]) for r in rows] + [5]) + 2
    head = f"{'layer':<{width}}{'op':<16}{'output shape':<18}{'params':>13}{'mult-adds':>16}{'RF':>6}"
    lines = [f"Model: {graph.name}   input {_shape(list(graph.input_shape))}   ({graph.file})", head, "-" * len(head)]
    for r in rows:
        rf = "all" if r["receptive_field"] is None else str(r["receptive_field"])
        lines.append(
            f"{r['name']:<{width}}{r['op']:<16}{_shape(r['output_shape']):<18}"
            f"{r['params']:>13,}{r['madds']:>16,}{rf:>6}"
        )
    t = graph.totals()
    lines += [
        "-" * len(head),
        f"Total params: {t['params']:,} (trainable {t['trainable_params']:,}, "
        f"non-trainable {t['non_trainable_params']:,})",
        f"Multiply-adds: {t['madds']:,} ({t['madds'] / 1e9:.2f} G){_at(graph)}   Layers: {t['layers']}",
        "Outputs: " + ", ".join(f"{o} {_shape(list(graph.nodes[o].shape))}" for o in graph.outputs),
    ]
    return "\n".join(lines)


def _at(graph: Graph) -> str:
    """For an input of any size: the size the multiply-adds are for, and their count per input pixel."""
    if not graph.any_size:
        return ""
    rows, cols = graph.example_shape[:2]
    return f" at {rows}x{cols}, {graph.totals()['madds'] / (rows * cols):,.0f} per input pixel"


def zoo_rows() -> list[dict[str, Any]]:
    """One row per zoo architecture: name, aliases, params, multiply-adds, paper."""

    by_name: dict[str, list[str]] = {}
    for alias, name in aliases().items():
        by_name.setdefault(name, []).append(alias)
    rows = []
    for name in list_architectures():
        graph = analyse(find(name))
        t = graph.totals()
        rows.append(
            {
                "name": name,
                "aliases": sorted(by_name.get(name, [])),
                "params": t["params"],
                "madds": t["madds"],
                "input_shape": list(graph.input_shape),
                "example_shape": list(graph.example_shape),
                "task": graph.meta.get("task", "classification"),
                "paper": graph.meta.get("paper"),
                "file": str(find(name)),
            }
        )
    return rows


def digest(graph: Graph) -> str:
    """A fingerprint of what a graph computes (layers, ops, arguments, wiring): equal graphs, equal digests."""

    rows = [(n.name, n.op, n.attrs(), list(n.inputs)) for n in graph.nodes.values()]
    text = json.dumps([list(graph.input_shape), rows, graph.outputs], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
