"""Naming and wiring in expansion: scope-path names, the symbol table, ``from:`` references.

Names are a function of the block path: an op named ``conv1`` inside the
call ``block2`` of a repeat named ``stage3`` is ``stage3_block2_conv1``. An
unnamed op is ``<op><k>`` (the k-th such op in its scope), an unnamed block
call ``<block><k>``; ``repeat``, ``parallel`` and bodies open a scope only
when they are given a ``name``.

``from: x`` looks ``x`` up in the current scope, then in each enclosing one,
so a block can say ``from: conv1`` and mean its own ``conv1``; a scope
name stands for the scope's last node.
"""

from __future__ import annotations

from typing import Any

from kzoo.errors import Mark, SpecError, did_you_mean
from kzoo.graph.node import INPUT, Ref
from kzoo.graph.scope import Scope, evaluated
from kzoo.lang.loader import At, mark_of


class Names:
    """The names of one expansion: the symbol table (name -> node or scope output, where it was written) and the
    counters of unnamed items; ``from:`` references resolved against it."""

    def __init__(self) -> None:
        self.symbols: dict[str, tuple[Any, Mark | None]] = {INPUT: (INPUT, None)}
        self.counters: dict[tuple[tuple[str, ...], str], int] = {}

    def segment(self, scope: Scope, explicit: Any, base: str, at: At) -> str:
        """A node's or scope's own name: the ``name:`` written ``at``, else ``base`` numbered in its scope."""
        if explicit is None:
            k = self.counters.get((scope.prefix, base), 0) + 1
            self.counters[(scope.prefix, base)] = k
            return f"{base}{k}"
        text = evaluated(explicit, scope.env, at)
        if isinstance(text, bool) or not isinstance(text, (str, int)) or not str(text):
            raise at.error(f"a name must be a string, got {text!r}")
        text = str(text)
        if not all(c.isalnum() or c in "_.-" for c in text):
            raise at.error(f"name {text!r} may hold only letters, digits, '_', '.' and '-'")
        return text

    def add_symbol(self, name: str, output: Any, mark: Mark | None, path: str) -> None:
        if name in self.symbols:
            first = self.symbols[name][1]
            raise SpecError(
                f"the name {name!r} is used twice",
                mark,
                path,
                f"first defined at {first}" if first else "'input' is reserved for the model input",
            )
        self.symbols[name] = (output, mark)

    def inputs(self, from_: Any, scope: Scope, prev: Any, at: At) -> list[Any]:
        """The inputs a ``from:`` written ``at`` names (none written: ``prev``, the previous layer)."""
        if from_ is None:
            return [prev]
        refs = from_ if isinstance(from_, list) else [from_]
        if not refs:
            raise at.error("from: needs at least one name")
        out = []
        for i, ref in enumerate(refs):
            listed = isinstance(from_, list)
            text = evaluated(ref, scope.env, At(refs, i, at.path) if listed else at)
            if not isinstance(text, str):
                raise at.error(f"from: expects layer names, got {text!r}")
            if text == INPUT and scope.entry is not None:  # inside an unscoped block call: the call's input
                out.append(scope.entry)
                continue
            out.append(Ref(text, scope.prefix, at.mark(), at.path))
        return out

    def resolve(self, ref: Any, seen: frozenset = frozenset()) -> str:
        if not isinstance(ref, Ref):
            return ref
        if ref in seen:
            raise SpecError(f"{ref.text!r} refers to itself", ref.mark, ref.path)
        for k in range(len(ref.scope), -1, -1):
            cand = "_".join(ref.scope[:k] + (ref.text,))
            if cand in self.symbols:
                return self.resolve(self.symbols[cand][0], seen | {ref})
        raise SpecError(
            f"undefined name {ref.text!r} in from:", ref.mark, ref.path, did_you_mean(ref.text, self.symbols)
        )

    def feature(self, features: Any, index: int) -> str:
        """The node ``features[index]`` names."""
        ref = Ref(str(features[index]), (), mark_of(features, index), f"features[{index}]")
        out = self.resolve(ref)
        if out == INPUT:
            raise SpecError("a feature cannot be the input itself", ref.mark, ref.path)
        return out
