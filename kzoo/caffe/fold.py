"""Imported Caffe layers folded into the kzoo layers that hold them: an activation into the conv or dense before
it (a final Softmax only into a dense), a BatchNorm's Scale into the batch norm; and a global pooling read only
as a vector gives a vector (``keepdims: false``), not a 1x1 map."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kzoo.caffe.importer import KNode


def fold(nodes: list[KNode]) -> list[KNode]:
    """The nodes with foldable layers merged into the one before them (``caffe`` lists every name merged)."""
    by_name = {n.name: n for n in nodes}
    readers = _readers(nodes)
    removed: set[str] = set()
    rename: dict[str, str] = {}
    for n in nodes:
        n.inputs = [rename.get(i, i) for i in n.inputs]
        if len(n.inputs) != 1:
            continue
        prev = by_name.get(n.inputs[0])
        if prev is None or prev.name in removed or len(readers.get(prev.name, [])) != 1 or not _merge(prev, n):
            continue
        prev.caffe.extend(n.caffe)
        removed.add(n.name)
        rename[n.name] = prev.name
        readers[prev.name] = readers.get(n.name, [])
    nodes = [n for n in nodes if n.name not in removed]
    for n in nodes:
        n.inputs = [rename.get(i, i) for i in n.inputs]
    readers = _readers(nodes)
    for n in nodes:
        if (
            n.op.startswith("global_")
            and readers.get(n.name)
            and all(r.op in ("flatten", "dense") for r in readers[n.name])
        ):
            n.args["keepdims"] = False
            n.image = False
    return nodes


def _merge(prev: KNode, n: KNode) -> bool:
    """Fold ``n`` into ``prev`` where one kzoo layer computes both; False where it cannot."""
    if n.op == "activation" and prev.op in ("conv", "dense") and "activation" not in prev.args:
        if n.args["fn"] == "softmax" and prev.op != "dense":
            return False
        prev.args["activation"] = n.args["fn"]
        return True
    if n.op == "scale" and prev.op == "batchnorm" and not prev.args["scale"]:
        prev.args["scale"] = True
        prev.args["center"] = n.args["bias"]
        return True
    return False


def _readers(nodes: list[KNode]) -> dict[str, list[KNode]]:
    readers: dict[str, list[KNode]] = {}
    for n in nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n)
    return readers
