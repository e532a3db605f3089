"""Architecture diagrams: Graphviz DOT from the static graph, rendered by ``dot``.

Scopes (stages, blocks) are drawn as boxes around their layers; with
``depth=N`` every scope nested deeper than N levels collapses into one box, and
from ``depth=1`` on every block call does too
labelled with its output shape and parameter count, so ResNet-152 fits on a
page. Graphviz lays the graph out (no library draws a layered DAG as well);
kzoo only writes the DOT text.

    kzoo plot resnet50 -o resnet50.svg --depth 1
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

from kzoo.errors import KzooError
from kzoo.files import atomic_path, write_text_atomic
from kzoo.graph import INPUT, Graph
from kzoo.ops.base import pair

COLOURS = {
    "conv": "#cfe2ff",
    "partial_conv": "#cfe2ff",
    "dense": "#ffe0b3",
    "rbf": "#ffe0b3",
    "batchnorm": "#e2e3e5",
    "lrn": "#e2e3e5",
    "add": "#d1e7dd",
    "concat": "#d1e7dd",
}
POOLS = ("maxpool", "avgpool", "l2pool", "global_avgpool", "global_maxpool", "subsample")


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _quote(text: str) -> str:
    return '"' + text.replace('"', '\\"') + '"'


def _unit(node: Any, depth: int | None) -> tuple[str, ...]:
    """The box a node is drawn in: itself, or its collapsed scope - the scope ``depth + 1`` levels down, where a
    block call is one level wherever it sits (GoogLeNet's inceptions at the top, ResNet's blocks in stages):
    depth 1 draws every block as one box."""
    if depth is None:
        return (*node.scope, node.name)
    keep = depth + 1
    if depth >= 1 and node.block_level is not None:  # a block call counts as one level, wherever it sits
        keep = min(keep, node.block_level + depth - 1)
    return node.scope[:keep] if len(node.scope) >= keep else (*node.scope, node.name)


def _label(node: Any) -> str:
    short = node.name[len("_".join(node.scope)) + 1 :] if node.scope else node.name
    extra = ""
    if node.op in ("conv", "partial_conv"):
        (kr, kc), (sr, sc) = pair(node.args.kernel), pair(node.args.stride)
        extra = f" {kr}x{kc}" + (f"/{sr}" if (sr, sc) != (1, 1) else "")
    return f"{short}\\n{node.op}{extra}\\n{_shape(node.shape)}"


def to_dot(graph: Graph, depth: int | None = None) -> str:
    """The DOT text of a graph; ``depth`` collapses deeper scopes into boxes."""
    units: dict[tuple[str, ...], list[Any]] = {}
    for node in graph.nodes.values():
        units.setdefault(_unit(node, depth), []).append(node)
    unit_of = {node.name: _unit(node, depth) for node in graph.nodes.values()}
    ids = {u: f"n{i}" for i, u in enumerate(units)}
    lines = [
        f"digraph {_quote(graph.name)} {{",
        '  rankdir=TB; graph [fontname="Helvetica", fontsize=11]; node [shape=box, style="rounded,filled", '
        'fontname="Helvetica", fontsize=10, fillcolor="#ffffff"]; edge [color="#555555"];',
        f"  input [label={_quote('input ' + _shape(graph.input_shape))}, shape=ellipse];",
    ]
    tree: dict[tuple[str, ...], list[str]] = {}
    for unit, nodes in units.items():
        last = nodes[-1]
        if len(nodes) == 1 and unit[-1] == last.name:
            label, colour = _label(last), COLOURS.get(last.op, "#fff3cd" if last.op in POOLS else "#ffffff")
            parent = last.scope
        else:
            params = sum(n.stats.trainable + n.stats.non_trainable for n in nodes)
            label, colour = (
                f"{unit[-1]}\\n{len(nodes)} layers, {params:,} params\\n{_shape(last.shape)}",
                "#f8d7da",
            )
            parent = unit[:-1]
        tree.setdefault(parent, []).append(f"{ids[unit]} [label={_quote(label)}, fillcolor={_quote(colour)}];")
    lines += _clusters(tree, ())
    edges = set()
    for node in graph.nodes.values():
        for src in node.inputs:
            a = "input" if src == INPUT else ids[unit_of[src]]
            b = ids[unit_of[node.name]]
            if a != b:
                edges.add((a, b))
    lines += [f"  {a} -> {b};" for a, b in sorted(edges, key=lambda e: (int(e[1][1:]), e[0]))]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _clusters(tree: dict[tuple[str, ...], list[str]], prefix: tuple[str, ...], indent: str = "  ") -> list[str]:
    out = [indent + line for line in tree.get(prefix, [])]
    children = sorted(
        {key[: len(prefix) + 1] for key in tree if len(key) > len(prefix) and key[: len(prefix)] == prefix},
        key=lambda k: min(i for i, key in enumerate(tree) if key[: len(k)] == k),
    )
    for child in children:
        name = "_".join(child)
        style = 'style="rounded,dashed"; color="#999999";'
        out.append(f"{indent}subgraph {_quote('cluster_' + name)} {{ label={_quote(child[-1])}; {style}")
        out += _clusters(tree, child, indent + "  ")
        out.append(indent + "}")
    return out


def render(graph: Graph, out: str | Path, depth: int | None = None) -> Path:
    """Write a diagram: ``.dot`` as text, ``.svg``/``.png``/``.pdf`` through Graphviz's dot."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in ("dot", "svg", "png", "pdf"):
        raise KzooError(f"kzoo plot writes .svg, .png, .pdf or .dot files, got {out.name}")
    text = to_dot(graph, depth)
    with atomic_path(out) as tmp:
        if fmt == "dot":
            tmp.write_text(text)
        else:
            dot = shutil.which("dot")
            if dot is None:
                raise KzooError(
                    "drawing .svg/.png needs Graphviz's `dot` (apt-get install graphviz, "
                    "brew install graphviz), or write a .dot file"
                )
            done = subprocess.run([dot, f"-T{fmt}", "-o", str(tmp)], input=text, text=True, capture_output=True)
            if done.returncode != 0:
                raise KzooError(f"Graphviz failed: {done.stderr.strip()}")
    return out


def _madds(n: int) -> str:
    return f"{n / 1e9:.2f} G" if n >= 1e8 else f"{n / 1e6:.2f} M"


def gallery(folder: str | Path, fmt: str = "svg") -> Path:
    """Write ``zoo.md`` (a row per architecture) and a diagram of each into ``folder``."""
    from kzoo.graph import analyse
    from kzoo.report import zoo_rows
    from kzoo.zoo import find

    folder = Path(folder)
    rows = zoo_rows()
    lines = [
        "# The kzoo zoo",
        "",
        "Generated by `kzoo gallery docs` from the files in `architectures/`; do not edit by hand.",
        "Parameters and multiply-adds (conv and dense, one per weight per output position) are at each",
        "file's default input (its example size where it takes any size); diagrams collapse every block into one",
        "box (`kzoo plot NAME --depth 1`).",
        "",
        "| name | aliases | input | params | multiply-adds | paper |",
        "|---|---|---|---:|---:|---|",
    ]
    for r in rows:
        shape = "x".join(map(str, r["input_shape"]))
        if None in r["input_shape"]:  # any size: the counts are at the example size
            shape = "any size, " + "x".join(map(str, r["example_shape"]))
        aliases = ", ".join(f"`{a}`" for a in r["aliases"])
        lines.append(
            f"| [{r['name']}](#{r['name']}) | {aliases} | {shape} | {r['params']:,} | "
            f"{_madds(r['madds'])} | {r['paper'] or ''} |"
        )
    for r in rows:
        render(analyse(find(r["name"])), folder / "zoo" / f"{r['name']}.{fmt}", depth=1)
        lines += ["", f"## {r['name']}", "", f"![{r['name']}](zoo/{r['name']}.{fmt})"]
    out = folder / "zoo.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, "\n".join(lines) + "\n")
    return out
