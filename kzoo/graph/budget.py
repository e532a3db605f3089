"""Memory a model needs, known before anything is allocated.

Static analysis knows every layer's parameters and output size, so a model
whose weights cannot fit in memory (10^9 filters, 10^12 units), or a training
batch whose activations cannot (a 100000x100000 input), is refused here, naming
the largest layer, the bytes needed and the memory available, instead of
dying after a while in TensorFlow's out-of-memory traceback.

Estimates (float32): weights 4 bytes each; training keeps each weight, its
gradient and up to two optimizer slots (4 copies), and each layer's output
for the backward pass plus its gradient (2 copies per example).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kzoo.errors import SpecError
from kzoo.files import human_bytes
from kzoo.graph.node import Graph

BYTES = 4
USABLE = 0.8  # of the available memory a model may take


def available_memory() -> int:
    """Bytes this process may still allocate: MemAvailable, capped by a cgroup limit where there is one."""
    limits = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        cap = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if cap != "max":
            limits.append(int(cap) - used)
    except (OSError, ValueError):
        pass
    if not limits:
        try:
            limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
        except (ValueError, OSError, AttributeError):
            return 1 << 62
    return max(0, min(limits))


def _elements(shape: tuple[int, ...]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _refuse(graph: Graph, need: int, doing: str, size: Any, hint: str) -> None:
    """A SpecError at the node of largest ``size`` when ``need`` bytes exceed what may be allocated."""
    have = available_memory()
    if need <= have * USABLE:
        return
    node = max(graph.nodes.values(), key=size)
    raise SpecError(
        f"{doing} needs about {human_bytes(need)}, and {human_bytes(have)} of memory is available",
        node.source,
        node.path,
        hint.format(name=node.name, size=size(node), shape="x".join(map(str, node.stats.out.shape))),
    )


def check_weights(graph: Graph, what: str = "build", copies: int = 1) -> None:
    """Refuse a model whose weights (``copies`` of them) cannot fit in memory."""
    params = graph.totals()["params"]
    _refuse(
        graph,
        params * BYTES * copies,
        f"{graph.name} has {params:,} weights: to {what} it",
        lambda n: n.stats.trainable + n.stats.non_trainable,
        "its largest layer is {name!r} with {size:,} weights; use fewer filters or units, or a smaller input",
    )


def example_bytes(graph: Graph) -> int:
    """The bytes of one example's activations through the whole graph (input included), in float32."""
    return (sum(_elements(n.stats.out.shape) for n in graph.nodes.values()) + _elements(graph.example_shape)) * BYTES


def batch_within(graph: Graph, largest: int, budget: int = 2 << 30, copies: int = 3) -> int:
    """The largest batch up to ``largest`` whose activations (``copies``: forward, gradients, work) fit ``budget``
    bytes (and a quarter of the available memory); at least 2."""
    per = max(1, example_bytes(graph) * copies)
    room = min(budget, available_memory() // 4)
    return max(2, min(largest, room // per))


def check_training(graph: Graph, batch_size: int) -> None:
    """Refuse a training run whose weights, optimizer state and batch activations cannot fit in memory."""
    check_weights(graph, "train", copies=4)
    per_example = sum(_elements(n.stats.out.shape) for n in graph.nodes.values()) + _elements(graph.example_shape)
    _refuse(
        graph,
        graph.totals()["params"] * BYTES * 4 + per_example * BYTES * 2 * batch_size,
        f"training {graph.name} with batches of {batch_size} (weights, optimizer state and activations)",
        lambda n: _elements(n.stats.out.shape),
        "the largest output is {name!r} ({shape} per image); use a smaller input or batch size",
    )
