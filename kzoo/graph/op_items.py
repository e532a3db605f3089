"""Op and activation items in expansion: an op's arguments merged from scoped defaults, then validated.

``defaults`` are looked up per op and merged, innermost last: the file's, the
enclosing lists', the block's, then the item's own arguments; expressions are
evaluated, initializers and activations become concrete :class:`FnRef` s, and
the op's ``Args`` schema validates the result, so that after expansion every
conv and dense node names its initializer and activation explicitly.
"""

from __future__ import annotations

from typing import Any

from kzoo.errors import Mark, SpecError, short
from kzoo.graph.names import Names
from kzoo.graph.node import Node
from kzoo.graph.scope import Scope, evaluated
from kzoo.lang.loader import At, YMap, mark_of
from kzoo.lang.validate import validate
from kzoo.ops import ACTIVATIONS, INITIALIZERS, OPS, FnRef

MAX_NODES = 20_000


class OpItems:
    """Turns op and activation items into nodes: named through ``names``, added to ``nodes``."""

    def __init__(self, names: Names, nodes: dict[str, Node]):
        self.names, self.nodes = names, nodes

    def arg_map(self, args: Any, primary: str | None, at: At, what: str) -> YMap:
        """An item's arguments as a mapping: ``dropout: 0.5`` is ``{rate: 0.5}`` (the op's ``primary``)."""
        if args is None:
            out = YMap()
            out.mark = at.mark()
            return out
        if isinstance(args, YMap):
            return args.copy()
        if primary is None:
            raise at.error(f"{what} takes a mapping of arguments, got {short(args)}")
        out = YMap()
        out.mark = at.mark()
        out.put(primary, args, at.mark())
        return out

    def activation_item(self, name: str, args: Any, at: At, scope: Scope, prev: Any) -> Any:
        """``relu`` as a layer: the op ``activation`` with ``fn: relu`` (named relu1, relu2 ...)."""
        args = self.arg_map(args, None, at, f"activation {name!r}")
        mark = args.mark or at.mark()
        fn_args = args.copy()  # the activation's own arguments, with their marks
        for k in ("name", "from"):
            fn_args.pop(k, None)
        fn_args.mark = mark
        fn = YMap()
        fn.mark = mark
        fn.put(name, fn_args, mark)
        spec = YMap()
        spec.mark = mark
        spec.put("fn", fn, mark)
        for k in ("name", "from"):
            if k in args:
                spec.take(args, k)
        return self.op_item("activation", spec, at, scope, prev, base=name)

    def op_item(
        self, op_name: str, args: Any, at: At, scope: Scope, prev: Any, base: str | None = None, inputs: Any = None
    ) -> str:
        """The node of an op item written ``at`` (``inputs``: a merge's, instead of ``from:`` or the previous)."""
        op, path = OPS.get(op_name), at.path
        args = self.arg_map(args, op.primary, at, f"op {op_name!r}")
        name_text, from_ = args.pop("name", None), args.pop("from", None)
        merged = YMap()
        merged.mark = at.mark(of_key=True)  # where the op's name is written
        for layer in [d[op_name] for d in scope.defaults if op_name in d] + [args]:
            for k in layer:
                merged.take(layer, k)
        values = {}
        for k, v in merged.items():
            values[k] = evaluated(v, scope.env, At(merged, k, f"{path}.{k}"))
            if op.Args.model_fields.get(k) is not None and op.Args.model_fields[k].annotation is FnRef:
                values[k] = self.fn_spec(k, values[k], merged, f"{path}.{k}")
        validated = validate(op.Args, values, merged, path, f"op {op_name!r}", merged.mark)
        seg = self.names.segment(scope, name_text, base or op_name, at.field(args, "name"))
        name = "_".join(scope.prefix + (seg,))
        if inputs is None:
            inputs = self.names.inputs(from_, scope, prev, at.field(args, "from"))
        self.check_arity(op, op_name, inputs, merged.mark, path)
        self.names.add_symbol(name, name, merged.mark, path)
        self.nodes[name] = Node(
            name, op_name, validated, inputs, merged.mark, path, scope=scope.prefix, block_level=scope.block_level
        )
        if len(self.nodes) > MAX_NODES:
            raise SpecError(f"the model has more than {MAX_NODES} layers", merged.mark, path, "check repeat counts")
        return name

    def check_arity(self, op: Any, op_name: str, inputs: list[Any], mark: Mark | None, path: str) -> None:
        n = len(inputs)
        if n < op.min_inputs or (op.max_inputs is not None and n > op.max_inputs):
            want = f"at least {op.min_inputs}" if op.max_inputs is None else f"exactly {op.max_inputs}"
            raise SpecError(
                f"op {op_name!r} takes {want} input(s), got {n}",
                mark,
                path,
                "a parallel needs two or more branches (an empty branch is the identity)"
                if op.max_inputs is None
                else "give one name in from:",
            )

    def fn_spec(self, field: str, value: Any, container: Any, path: str) -> FnRef:
        registry = INITIALIZERS if field.endswith("init") else ACTIVATIONS
        if isinstance(value, FnRef):
            return value
        if isinstance(value, str):
            name, args = value, {}
        elif isinstance(value, dict) and len(value) == 1:
            name, args = next(iter(value.items()))
            args = {} if args is None else args
        else:
            raise At(container, field, path).error(
                f"{field} must be a {registry.kind} name or {{name: {{args}}}}, got {value!r}",
                f"e.g. {field}: he_normal"
                if registry is INITIALIZERS
                else f"e.g. {field}: {{leaky_relu: {{beta: 0.1}}}}",
            )
        source = container.get(field)
        fn = registry.get(name, mark_of(container, field), path)
        if not isinstance(args, dict):
            raise At(container, field, path).error(f"arguments of {name} must be a mapping, got {args!r}")
        inner = source.get(name) if isinstance(source, YMap) and isinstance(source.get(name), YMap) else source
        checked = validate(
            fn.Args, args, inner, f"{path}.{name}", f"{registry.kind} {name!r}", mark_of(container, field)
        )
        return FnRef(name=name, args=checked.model_dump(exclude_none=True))
