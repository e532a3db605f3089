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
from kzoo.graph.scope_tools import Scope
from kzoo.lang.loader import mark_of


class Naming:
    """The part of the expander that names nodes and resolves references (mixed into Expander)."""

    counters: dict[tuple[tuple[str, ...], str], int]
    symbols: dict[str, tuple[Any, Mark | None]]

    def segment(self, scope: Scope, explicit: Any, base: str, container: Any, key: Any, path: str) -> str:
        if explicit is None:
            k = self.counters.get((scope.prefix, base), 0) + 1
            self.counters[(scope.prefix, base)] = k
            return f"{base}{k}"
        text = self.value(explicit, scope.env, container, key, path)
        if isinstance(text, bool) or not isinstance(text, (str, int)) or not str(text):
            raise self.fail(f"a name must be a string, got {text!r}", container, key, path)
        text = str(text)
        if not all(c.isalnum() or c in "_.-" for c in text):
            raise self.fail(f"name {text!r} may hold only letters, digits, '_', '.' and '-'", container, key, path)
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

    def inputs(self, from_: Any, scope: Scope, prev: Any, container: Any, key: Any, path: str) -> list[Any]:
        if from_ is None:
            return [prev]
        refs = from_ if isinstance(from_, list) else [from_]
        if not refs:
            raise self.fail("from: needs at least one name", container, key, path)
        out = []
        for i, ref in enumerate(refs):
            text = self.value(
                ref,
                scope.env,
                refs if isinstance(from_, list) else container,
                i if isinstance(from_, list) else key,
                path,
            )
            if not isinstance(text, str):
                raise self.fail(f"from: expects layer names, got {text!r}", container, key, path)
            if text == INPUT and scope.entry is not None:  # inside an unscoped block call: the call's input
                out.append(scope.entry)
                continue
            out.append(Ref(text, scope.prefix, mark_of(container, key), path))
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

    def feature(self, name: Any, index: int) -> str:
        ref = Ref(str(name), (), mark_of(self.data["features"], index), f"features[{index}]")
        out = self.resolve(ref)
        if out == INPUT:
            raise SpecError("a feature cannot be the input itself", ref.mark, ref.path)
        return out
