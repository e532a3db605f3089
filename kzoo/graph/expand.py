"""Expansion: a :class:`Spec` becomes a flat DAG of concrete :class:`Node` s.

Expressions are evaluated, scoped ``defaults`` applied, ``repeat`` unrolled,
blocks called (kzoo.graph.blocks; an item's key may be an expression
that names the block: ``"${kind}": {filters: 64}``), ``parallel`` branches merged, ``when`` items
dropped, op items validated (kzoo.graph.op_items) and ``from:`` references
resolved (kzoo.graph.names). Every node keeps the mark of the YAML item it came
from. The keys each construct takes are kzoo.lang.grammar's table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kzoo.errors import SpecError, did_you_mean, short
from kzoo.graph.backbone import attach
from kzoo.graph.blocks import Blocks
from kzoo.graph.header import input_shape, model_name
from kzoo.graph.names import Names
from kzoo.graph.node import INPUT, Graph, Node, Ref, toposort
from kzoo.graph.op_items import OpItems
from kzoo.graph.reach import unused_defaults
from kzoo.graph.scope import Scope, evaluated
from kzoo.lang.choices import allowed_values, is_allowed
from kzoo.lang.expr import is_expression, substitute
from kzoo.lang.grammar import check_document
from kzoo.lang.loader import At, YMap, mark_of, sub_path
from kzoo.lang.resolve import Spec
from kzoo.lang.weights import releases
from kzoo.ops import ACTIVATIONS, OPS

MAX_REPEAT = 1000
MAX_WORK = 200_000  # items visited and repeat iterations run while expanding (nested repeats multiply)


class Expander:
    """Walks a spec once; :meth:`run` returns the graph (before shape inference)."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.data = spec.data
        self.nodes: dict[str, Node] = {}
        self.names = Names()
        self.blocks = Blocks(self.data.get("blocks") or YMap(), self)
        self.ops = OpItems(self.names, self.nodes)
        self.work = 0
        self.depth = 0  # how deep a backbone this file is (kzoo.graph.backbone)

    def tick(self, container: Any, key: Any, path: str) -> None:
        """Count one unit of expansion work; nested repeats that multiply past :data:`MAX_WORK` are an error."""
        self.work += 1
        if self.work > MAX_WORK:
            hint = "nested repeat counts multiply; check them (even a repeat of nothing or of when: false items counts)"
            raise self.fail(f"expanding the file takes more than {MAX_WORK:,} steps", container, key, path, hint)

    # -- values -----------------------------------------------------------
    def value(self, value: Any, env: Mapping[str, Any], container: Any, key: Any, path: str) -> Any:
        """Evaluate expressions in a value (recursively through lists and maps)."""
        return evaluated(value, env, At(container, key, path))

    def fail(
        self, message: str, container: Any, key: Any, path: str, hint: str | None = None, of_key: bool = False
    ) -> SpecError:
        return At(container, key, path).error(message, hint, of_key)

    # -- globals ----------------------------------------------------------
    def global_env(self) -> dict[str, Any]:
        env: dict[str, Any] = {}
        tables = self.data.get("tables") or {}
        for name, table in tables.items():
            env[name] = table
        params = self.data.get("params") or {}
        for name, value in params.items():
            if name in env:
                raise self.fail(f"param {name!r} has the name of a table", params, name, f"params.{name}", of_key=True)
            env[name] = self.value(value, env, params, name, f"params.{name}")
        self.check_choices(env, params)
        return env

    def check_choices(self, env: dict[str, Any], params: Any) -> None:
        """A param that selects branches or table rows must take one of the values the file knows."""
        for name, allowed in allowed_values(self.data, self.spec.param_defaults or None).items():
            if name in env and not is_allowed(env[name], allowed):
                listed = ", ".join(map(repr, allowed))
                raise self.fail(
                    f"param {name!r} must be one of {listed}, got {short(env[name])}",
                    params,
                    name,
                    f"params.{name}",
                    did_you_mean(env[name], map(str, allowed)) if isinstance(env[name], str) else None,
                )

    # -- scopes -----------------------------------------------------------
    @staticmethod
    def with_defaults(scope: Scope, defaults: YMap | None) -> Scope:
        """``scope`` with a construct's ``defaults:`` in force, innermost last (their shape: the grammar pass)."""
        return scope if defaults is None else replace(scope, defaults=scope.defaults + (defaults,))

    # -- bodies and items -------------------------------------------------
    def body(self, value: Any, container: Any, key: Any, scope: Scope, prev: Any) -> Any:
        path = sub_path(scope.path, key)
        if value is None:
            return prev
        if isinstance(value, YMap):
            inner = self.with_defaults(scope, value.get("defaults"))
            if "name" in value:
                seg = self.names.segment(inner, value["name"], "", At(value, "name", path + ".name"))
                inner = replace(inner, prefix=inner.prefix + (seg,))
            out = self.body(value.get("layers"), value, "layers", replace(inner, path=path), prev)
            if "name" in value:
                self.names.add_symbol("_".join(inner.prefix), out, mark_of(value), path)
            return out
        inner = replace(scope, path=path)
        for i, item in enumerate(value):
            prev = self.item(item, value, i, inner, prev)
        return prev

    def item(self, item: Any, seq: Any, index: int, scope: Scope, prev: Any) -> Any:
        path = f"{scope.path}[{index}]"
        self.tick(seq, index, path)
        if isinstance(item, str):
            return self.call_or_op(item, None, At(seq, index, path), scope, prev)
        if "when" in item:
            cond = self.value(item["when"], scope.env, item, "when", path + ".when")
            if not isinstance(cond, bool):
                raise self.fail(f"when: must be true or false, got {cond!r}", item, "when", path + ".when")
            if not cond:
                return prev
        if "repeat" in item:
            return self.repeat(item, scope, path, prev)
        if "parallel" in item:
            return self.parallel(item, scope, path, prev, "parallel")
        if "layers" in item:  # an inline group: {when:, name:, defaults:, layers: [...]}
            group = item.copy()
            group.pop("when", None)
            return self.body(group, seq, index, scope, prev)
        (key,) = [k for k in item if k != "when"]  # one, as the grammar pass checked
        name = key
        if is_expression(key):  # a block (or op) chosen by an expression: "${kind}": {filters: 64}
            name = substitute(key, scope.env, mark_of(item, key, of_key=True), f"{path}.{key}")
            if not isinstance(name, str):
                raise self.fail(f"{key} names no op or block: {short(name)}", item, key, path, of_key=True)
        return self.call_or_op(name, item[key], At(item, key, f"{path}.{key}"), scope, prev)

    def call_or_op(self, name: Any, args: Any, at: At, scope: Scope, prev: Any) -> Any:
        """The item ``name: args`` written ``at``: a block call, an op or an activation layer."""
        if isinstance(name, str) and name in self.blocks.definitions:
            return self.blocks.call(name, args, at, scope, prev)
        if isinstance(name, str) and name in OPS:
            return self.ops.op_item(name, args, at, scope, prev)
        if isinstance(name, str) and name in ACTIVATIONS:
            return self.ops.activation_item(name, args, at, scope, prev)
        known = OPS.names() + list(self.blocks.definitions) + ACTIVATIONS.names() + ["repeat", "parallel"]
        raise at.error(f"unknown op or block {name!r}", did_you_mean(name, known), of_key=True)

    # -- constructs -------------------------------------------------------
    def repeat(self, item: YMap, scope: Scope, path: str, prev: Any) -> Any:
        n = self.value(item["repeat"], scope.env, item, "repeat", path + ".repeat")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_REPEAT:
            raise self.fail(
                f"repeat must be a whole number from 0 to {MAX_REPEAT}, got {n!r}", item, "repeat", path + ".repeat"
            )
        var = item.get("var", "i")
        inner = self.with_defaults(scope, item.get("defaults"))
        for i in range(n):
            self.tick(item, "repeat", path + ".repeat")
            it = replace(inner, env={**inner.env, var: i}, path=path)
            if "name" in item:
                seg = self.names.segment(it, item["name"], "", At(item, "name", path + ".name"))
                it = replace(it, prefix=it.prefix + (seg,))
            prev = self.body(item.get("layers"), item, "layers", it, prev)
            if "name" in item:
                self.names.add_symbol("_".join(it.prefix), prev, mark_of(item), path)
        return prev

    def parallel(self, item: YMap, scope: Scope, path: str, prev: Any, construct: str) -> Any:
        """A parallel item, or a block's parallel body (``construct`` "block": its name is the call's)."""
        inner = self.with_defaults(scope, item.get("defaults"))
        named = "name" in item and construct == "parallel"
        if named:
            seg = self.names.segment(inner, item["name"], "", At(item, "name", path + ".name"))
            inner = replace(inner, prefix=inner.prefix + (seg,))
        inner = replace(inner, path=path)
        (x,) = self.names.inputs(item.get("from"), inner, prev, At(item, "from", path + ".from"))
        branches = item["parallel"]
        outs = [self.body(b, branches, j, replace(inner, path=path + ".parallel"), x) for j, b in enumerate(branches)]
        out = self.merged(item, inner, x, outs, path)
        out = self.body(item.get("then"), item, "then", inner, out)
        if named:
            self.names.add_symbol("_".join(inner.prefix), out, mark_of(item), path)
        return out

    def merged(self, item: YMap, scope: Scope, prev: Any, outs: list[Any], path: str) -> Any:
        """The node merging ``outs`` by ``item``'s ``merge:`` (an op name, or ``{op: {args}}``)."""
        merge = item["merge"]
        if isinstance(merge, YMap) and len(merge) == 1:
            op_name, margs = next(iter(merge.items()))
            mcont, mkey = merge, op_name
        else:
            op_name, margs, mcont, mkey = merge, None, item, "merge"
        if not isinstance(op_name, str) or op_name not in OPS or OPS.get(op_name).max_inputs is not None:
            merges = [n for n, o in OPS.items() if o.max_inputs is None]
            raise self.fail(
                f"merge must be one of {', '.join(merges)}, got {op_name!r}",
                item,
                "merge",
                path + ".merge",
                did_you_mean(op_name, merges),
            )
        return self.ops.op_item(op_name, margs, At(mcont, mkey, path + ".merge"), scope, prev, inputs=outs)

    # -- the whole file ---------------------------------------------------
    def heads(self, root: Scope) -> list[Any]:
        outs = []
        for name, head in (self.data.get("heads") or {}).items():
            where = f"heads.{name}"
            if "when" in head:
                cond = self.value(head["when"], root.env, head, "when", where + ".when")
                if not isinstance(cond, bool):
                    raise self.fail(f"when: must be true or false, got {cond!r}", head, "when", where + ".when")
                if not cond:
                    continue
            scope = replace(root, prefix=(str(name),), path=where)
            scope = self.with_defaults(scope, head.get("defaults"))
            xs = self.names.inputs(head["from"], root, INPUT, At(head, "from", where + ".from"))
            if len(xs) > 1 and head.get("merge") is None:
                raise self.fail(
                    f"a head from {len(xs)} layers needs merge: (add, concat, ...)", head, "from", where + ".from"
                )
            x = self.merged(head, scope, xs[0], xs, where) if len(xs) > 1 else xs[0]
            out = self.body(head.get("layers"), head, "layers", scope, x)
            self.names.add_symbol(str(name), out, mark_of(head), where)
            outs.append(out)
        return outs

    def run(self) -> Graph:
        check_document(self.data)  # the grammar pass: every construct's keys and shapes, before any value
        self.globals = self.global_env()
        shape, example = input_shape(self.data, self.globals, self.spec.declared_input)
        start = INPUT if self.data.get("backbone") is None else attach(self, shape, self.depth)
        root = Scope((), self.globals, (), (), "")
        root = self.with_defaults(root, self.data.get("defaults"))
        main = self.body(self.data["layers"], self.data, "layers", root, start)
        if main == INPUT:
            raise self.fail("the model has no layers", self.data, "layers", "layers")
        outputs = [main] + self.heads(root)
        if self.data.get("outputs") is not None:
            outs = self.data["outputs"]
            outputs = [Ref(str(o), (), mark_of(outs, i), f"outputs[{i}]") for i, o in enumerate(outs)]
        for node in self.nodes.values():
            node.inputs = [self.names.resolve(i) for i in node.inputs]
        outputs = [self.names.resolve(o) for o in outputs]
        if INPUT in outputs:
            raise self.fail("an output cannot be the input itself", self.data, "outputs", "outputs")
        nodes = toposort(self.nodes, outputs)
        unused_defaults(self.data, lambda *a: self.fail(*a, of_key=True))
        graph = Graph(model_name(self.data, self.globals), shape, nodes, outputs, self.spec.file, self.meta())
        graph.example = example if example != shape else None
        graph.symbols = {
            name: self.names.resolve(out) for name, (out, _) in self.names.symbols.items() if name != INPUT
        }
        graph.features = [
            self.names.feature(self.data["features"], i) for i in range(len(self.data.get("features") or []))
        ]
        return graph

    def meta(self) -> dict[str, Any]:
        m = self.spec.model
        releases(self.data, self.globals_public(), self.spec.file)  # a mistake in weights: is located now
        return {
            "paper": m.paper,
            "reference": m.reference,
            "params": dict(self.globals_public()),
            "weights": dict(m.weights or {}),
            "aliases": list(m.aliases),
            "task": m.task,
        }

    def globals_public(self) -> dict[str, Any]:
        params = self.data.get("params") or {}
        return {k: self.globals[k] for k in params}


def expand(spec: Spec) -> Graph:
    """Expand a validated spec into a graph (shapes not yet inferred)."""
    return Expander(spec).run()
