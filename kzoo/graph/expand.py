"""Expansion: a :class:`Spec` becomes a flat DAG of concrete :class:`Node` s.

Expressions are evaluated, scoped ``defaults`` applied, ``repeat`` unrolled,
blocks called, ``parallel`` branches merged, ``when`` items dropped and
``from:`` references resolved. Every node keeps the mark of the YAML item
it came from.

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

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kzoo.errors import Mark, SpecError, did_you_mean, short
from kzoo.graph.node import INPUT, Graph, Node, Ref
from kzoo.graph.scope_tools import copy_map, sub_path, toposort
from kzoo.ops import ACTIVATIONS, INITIALIZERS, OPS, FnSpec
from kzoo.spec.choices import allowed_values, is_allowed
from kzoo.spec.expr import is_expression, substitute
from kzoo.spec.loader import YMap, mark_of
from kzoo.spec.resolve import Spec
from kzoo.spec.schema import NAME
from kzoo.spec.validate import validate

MAX_REPEAT = 1000
MAX_NODES = 20_000
MAX_WORK = 200_000  # items visited and repeat iterations run while expanding (nested repeats multiply)
MAX_CALL_DEPTH = 32
REPEAT_KEYS = ("repeat", "var", "name", "layers", "defaults", "when")
PARALLEL_KEYS = ("parallel", "merge", "then", "name", "from", "defaults", "when")
BLOCK_KEYS = ("args", "defaults", "layers", "parallel", "merge", "then", "doc")
BODY_KEYS = ("defaults", "layers", "name")
HEAD_KEYS = ("from", "when", "layers", "defaults")
ARG_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "list": list, "dict": dict, "any": object}


@dataclass(frozen=True)
class Scope:
    prefix: tuple[str, ...]
    env: Mapping[str, Any]
    defaults: tuple[YMap, ...]
    calls: tuple[str, ...]
    path: str


class Expander:
    """Walks a spec once; :meth:`run` returns the graph (before shape inference)."""

    def __init__(self, spec: Spec):
        self.spec = spec
        self.data = spec.data
        self.nodes: dict[str, Node] = {}
        self.symbols: dict[str, tuple[Any, Mark | None]] = {INPUT: (INPUT, None)}
        self.counters: dict[tuple[tuple[str, ...], str], int] = {}
        self.blocks: YMap = self.data.get("blocks") or YMap()
        self.work = 0

    def tick(self, container: Any, key: Any, path: str) -> None:
        """Count one unit of expansion work; nested repeats that multiply past :data:`MAX_WORK` are an error."""
        self.work += 1
        if self.work > MAX_WORK:
            raise self.fail(
                f"expanding the file takes more than {MAX_WORK:,} steps",
                container,
                key,
                path,
                "nested repeat counts multiply; check them (even a repeat of nothing or of when: false items counts)",
            )

    # -- values -----------------------------------------------------------
    def value(self, value: Any, env: Mapping[str, Any], container: Any, key: Any, path: str) -> Any:
        """Evaluate expressions in a value (recursively through lists and maps)."""
        mark = mark_of(container, key)
        if isinstance(value, str):
            return substitute(value, env, mark, path)
        if isinstance(value, list):
            return [self.value(v, env, value, i, f"{path}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, dict):
            return {k: self.value(v, env, value, k, f"{path}.{k}") for k, v in value.items()}
        return value

    def fail(
        self, message: str, container: Any, key: Any, path: str, hint: str | None = None, of_key: bool = False
    ) -> SpecError:
        return SpecError(message, mark_of(container, key, of_key=of_key), path, hint)

    def check_keys(self, item: YMap, allowed: tuple[str, ...], what: str, path: str) -> None:
        for key in item:
            if key not in allowed:
                raise self.fail(
                    f"unknown key {key!r} in {what}", item, key, path, did_you_mean(key, allowed), of_key=True
                )

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

    def model_name(self, env: Mapping[str, Any]) -> str:
        """The file's ``name:``, which may hold expressions (``resnet${depth}``) so that a variant is named as such."""
        name = self.value(self.data["name"], env, self.data, "name", "name")
        if not isinstance(name, str) or not NAME.match(name):
            raise self.fail(
                f"the name must be letters, digits, '_', '.' or '-' (starting with a letter), got {short(name)}",
                self.data,
                "name",
                "name",
            )
        return name

    def input_shape(self, env: Mapping[str, Any]) -> tuple[int, ...]:
        shape = self.value(self.data["input"], env, self.data, "input", "input")
        for dim in shape:
            if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
                raise self.fail(
                    f"input dimensions must be positive integers, got {shape}",
                    self.data,
                    "input",
                    "input",
                    "input: [rows, cols, channels], e.g. [224, 224, 3]",
                )
        return tuple(shape)

    # -- scopes -----------------------------------------------------------
    def with_defaults(self, scope: Scope, defaults: Any, container: Any, key: str, path: str) -> Scope:
        if defaults is None:
            return scope
        if not isinstance(defaults, YMap):
            raise self.fail(
                "defaults must map op names to arguments", container, key, path, "defaults: {conv: {init: he_normal}}"
            )
        for op_name, args in defaults.items():
            if op_name not in OPS:
                raise self.fail(
                    f"defaults for unknown op {op_name!r}",
                    defaults,
                    op_name,
                    f"{path}.{op_name}",
                    did_you_mean(op_name, OPS.names()),
                    of_key=True,
                )
            if not isinstance(args, YMap):
                raise self.fail(
                    f"defaults for {op_name} must be a mapping of arguments", defaults, op_name, f"{path}.{op_name}"
                )
            for bad in ("name", "from"):
                if bad in args:
                    raise self.fail(f"{bad!r} cannot be a default", args, bad, f"{path}.{op_name}", of_key=True)
        return replace(scope, defaults=scope.defaults + (defaults,))

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
            out.append(Ref(text, scope.prefix, mark_of(container, key), path))
        return out

    # -- bodies and items -------------------------------------------------
    def body(self, value: Any, container: Any, key: Any, scope: Scope, prev: Any) -> Any:
        path = sub_path(scope.path, key)
        if value is None:
            return prev
        if isinstance(value, YMap):
            self.check_keys(value, BODY_KEYS, "a layer list", path)
            inner = self.with_defaults(scope, value.get("defaults"), value, "defaults", path + ".defaults")
            if "name" in value:
                seg = self.segment(inner, value["name"], "", value, "name", path + ".name")
                inner = replace(inner, prefix=inner.prefix + (seg,))
            out = self.body(value.get("layers"), value, "layers", replace(inner, path=path), prev)
            if "name" in value:
                self.add_symbol("_".join(inner.prefix), out, mark_of(value), path)
            return out
        if not isinstance(value, list):
            raise self.fail("expected a list of layers", container, key, path)
        inner = replace(scope, path=path)
        for i, item in enumerate(value):
            prev = self.item(item, value, i, inner, prev)
        return prev

    def item(self, item: Any, seq: Any, index: int, scope: Scope, prev: Any) -> Any:
        path = f"{scope.path}[{index}]"
        self.tick(seq, index, path)
        if isinstance(item, str):
            return self.call_or_op(item, None, seq, index, scope, prev, path)
        if not isinstance(item, YMap) or not item:
            raise self.fail("a layer is an op name or a mapping like {conv: {...}}", seq, index, path)
        if "when" in item:
            cond = self.value(item["when"], scope.env, item, "when", path + ".when")
            if not isinstance(cond, bool):
                raise self.fail(f"when: must be true or false, got {cond!r}", item, "when", path + ".when")
            if not cond:
                return prev
        if "repeat" in item:
            return self.repeat(item, scope, path, prev)
        if "parallel" in item:
            return self.parallel(item, scope, path, prev, PARALLEL_KEYS)
        if "layers" in item:  # an inline group: {when:, name:, defaults:, layers: [...]}
            group = copy_map(item)
            group.pop("when", None)
            return self.body(group, seq, index, scope, prev)
        keys = [k for k in item if k != "when"]
        if len(keys) != 1:
            raise self.fail(
                f"a layer item has one op or block name (plus when:), got {', '.join(map(str, keys))}",
                seq,
                index,
                path,
                "write each layer as its own list item",
            )
        key = keys[0]
        return self.call_or_op(key, item[key], item, key, scope, prev, f"{path}.{key}")

    def call_or_op(self, key: Any, args: Any, container: Any, ckey: Any, scope: Scope, prev: Any, path: str) -> Any:
        if isinstance(key, str) and key in self.blocks:
            return self.call(key, args, container, ckey, scope, prev, path)
        if isinstance(key, str) and key in OPS:
            return self.op_item(key, args, container, ckey, scope, prev, path)
        if isinstance(key, str) and key in ACTIVATIONS:
            return self.activation_item(key, args, container, ckey, scope, prev, path)
        known = OPS.names() + list(self.blocks) + ACTIVATIONS.names() + ["repeat", "parallel"]
        raise self.fail(f"unknown op or block {key!r}", container, ckey, path, did_you_mean(key, known), of_key=True)

    def arg_map(self, args: Any, primary: str | None, container: Any, key: Any, path: str, what: str) -> YMap:
        if args is None:
            out = YMap()
            out.mark = mark_of(container, key)
            return out
        if isinstance(args, YMap):
            return copy_map(args)
        if primary is None:
            raise self.fail(f"{what} takes a mapping of arguments, got {args!r}", container, key, path)
        out = YMap({primary: args})
        out.mark = mark_of(container, key)
        out.val_marks[primary] = mark_of(container, key)
        return out

    def activation_item(
        self, name: str, args: Any, container: Any, key: Any, scope: Scope, prev: Any, path: str
    ) -> Any:
        args = self.arg_map(args, None, container, key, path, f"activation {name!r}")
        spec = YMap({"fn": YMap({name: YMap({k: v for k, v in args.items() if k not in ("name", "from")})})})
        spec.mark = args.mark or mark_of(container, key)
        for k in ("name", "from"):
            if k in args:
                spec[k] = args[k]
                spec.val_marks[k] = args.val_marks.get(k)
        return self.op_item("activation", spec, container, key, scope, prev, path, base=name)

    def op_item(
        self,
        op_name: str,
        args: Any,
        container: Any,
        key: Any,
        scope: Scope,
        prev: Any,
        path: str,
        base: str | None = None,
        inputs: list[Any] | None = None,
    ) -> str:
        op = OPS.get(op_name)
        args = self.arg_map(args, op.primary, container, key, path, f"op {op_name!r}")
        name_text, from_ = args.pop("name", None), args.pop("from", None)
        merged = YMap()
        merged.mark = mark_of(container, key, of_key=True)  # where the op's name is written
        for layer in [d[op_name] for d in scope.defaults if op_name in d] + [args]:
            for k, v in layer.items():
                merged[k], merged.val_marks[k], merged.key_marks[k] = (
                    v,
                    mark_of(layer, k),
                    mark_of(layer, k, of_key=True),
                )
                if k in layer.raw:
                    merged.raw[k] = layer.raw[k]
        values = {}
        for k, v in merged.items():
            values[k] = self.value(v, scope.env, merged, k, f"{path}.{k}")
            if op.Args.model_fields.get(k) is not None and op.Args.model_fields[k].annotation is FnSpec:
                values[k] = self.fn_spec(k, values[k], merged, f"{path}.{k}")
        validated = validate(op.Args, values, merged, path, f"op {op_name!r}", merged.mark)
        seg = self.segment(scope, name_text, base or op_name, args, "name", f"{path}.name")
        name = "_".join(scope.prefix + (seg,))
        if inputs is None:
            inputs = self.inputs(from_, scope, prev, args, "from", f"{path}.from")
        self.check_arity(op, op_name, inputs, merged.mark, path)
        self.add_symbol(name, name, merged.mark, path)
        self.nodes[name] = Node(name, op_name, validated, inputs, merged.mark, path, scope=scope.prefix)
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

    def fn_spec(self, field: str, value: Any, container: Any, path: str) -> FnSpec:
        registry = INITIALIZERS if field.endswith("init") else ACTIVATIONS
        if isinstance(value, FnSpec):
            return value
        if isinstance(value, str):
            name, args = value, {}
        elif isinstance(value, dict) and len(value) == 1:
            name, args = next(iter(value.items()))
            args = {} if args is None else args
        else:
            raise self.fail(
                f"{field} must be a {registry.kind} name or {{name: {{args}}}}, got {value!r}",
                container,
                field,
                path,
                f"e.g. {field}: he_normal"
                if registry is INITIALIZERS
                else f"e.g. {field}: {{leaky_relu: {{beta: 0.1}}}}",
            )
        source = container.get(field)
        fn = registry.get(name, mark_of(container, field), path)
        if not isinstance(args, dict):
            raise self.fail(f"arguments of {name} must be a mapping, got {args!r}", container, field, path)
        inner = source.get(name) if isinstance(source, YMap) and isinstance(source.get(name), YMap) else source
        checked = validate(
            fn.Args, args, inner, f"{path}.{name}", f"{registry.kind} {name!r}", mark_of(container, field)
        )
        return FnSpec(name=name, args=checked.model_dump(exclude_none=True))

    # -- constructs -------------------------------------------------------
    def repeat(self, item: YMap, scope: Scope, path: str, prev: Any) -> Any:
        self.check_keys(item, REPEAT_KEYS, "a repeat", path)
        n = self.value(item["repeat"], scope.env, item, "repeat", path + ".repeat")
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX_REPEAT:
            raise self.fail(
                f"repeat must be a whole number from 0 to {MAX_REPEAT}, got {n!r}", item, "repeat", path + ".repeat"
            )
        var = item.get("var", "i")
        if not isinstance(var, str) or not var.isidentifier():
            raise self.fail(f"var must be a name, got {var!r}", item, "var", path + ".var")
        inner = self.with_defaults(scope, item.get("defaults"), item, "defaults", path + ".defaults")
        for i in range(n):
            self.tick(item, "repeat", path + ".repeat")
            it = replace(inner, env={**inner.env, var: i}, path=path)
            if "name" in item:
                seg = self.segment(it, item["name"], "", item, "name", path + ".name")
                it = replace(it, prefix=it.prefix + (seg,))
            prev = self.body(item.get("layers"), item, "layers", it, prev)
            if "name" in item:
                self.add_symbol("_".join(it.prefix), prev, mark_of(item), path)
        return prev

    def parallel(self, item: YMap, scope: Scope, path: str, prev: Any, allowed: tuple[str, ...]) -> Any:
        self.check_keys(item, allowed, "a parallel", path)
        inner = self.with_defaults(scope, item.get("defaults"), item, "defaults", path + ".defaults")
        named = "name" in item and "parallel" in allowed
        if named:
            seg = self.segment(inner, item["name"], "", item, "name", path + ".name")
            inner = replace(inner, prefix=inner.prefix + (seg,))
        inner = replace(inner, path=path)
        (x,) = self.inputs(item.get("from"), inner, prev, item, "from", path + ".from")
        branches = item["parallel"]
        if not isinstance(branches, list) or not branches:
            raise self.fail(
                "parallel: expects a list of branches (each a list of layers)", item, "parallel", path + ".parallel"
            )
        outs = [self.body(b, branches, j, replace(inner, path=path + ".parallel"), x) for j, b in enumerate(branches)]
        merge = item.get("merge")
        if merge is None:
            raise self.fail(
                "parallel: needs merge: add or merge: concat",
                item,
                "parallel",
                path,
                "the branches' outputs must be combined into one",
            )
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
        out = self.op_item(op_name, margs, mcont, mkey, inner, x, path + ".merge", inputs=outs)
        out = self.body(item.get("then"), item, "then", inner, out)
        if named:
            self.add_symbol("_".join(inner.prefix), out, mark_of(item), path)
        return out

    def call(self, block: str, args: Any, container: Any, key: Any, scope: Scope, prev: Any, path: str) -> Any:
        if block in scope.calls:
            chain = " -> ".join(scope.calls[scope.calls.index(block) :] + (block,))
            raise self.fail(
                f"block {block!r} calls itself: {chain}",
                container,
                key,
                path,
                "a block cannot contain itself; use repeat",
                of_key=True,
            )
        if len(scope.calls) >= MAX_CALL_DEPTH:
            raise self.fail(f"blocks nest more than {MAX_CALL_DEPTH} deep", container, key, path)
        bdef = self.blocks[block]
        args = self.arg_map(args, None, container, key, path, f"block {block!r}")
        name_text, from_ = args.pop("name", None), args.pop("from", None)
        bound = self.bind_args(block, bdef, args, scope, path)
        seg = self.segment(scope, name_text, block, args, "name", path + ".name")
        (x,) = self.inputs(from_, scope, prev, args, "from", path + ".from")
        inner = Scope(
            scope.prefix + (seg,), {**self.globals, **bound}, scope.defaults, scope.calls + (block,), f"blocks.{block}"
        )
        inner = self.with_defaults(inner, bdef.get("defaults"), bdef, "defaults", f"blocks.{block}.defaults")
        # `from: input` inside a block means the block's own input.
        self.add_symbol("_".join(inner.prefix + (INPUT,)), x, mark_of(container, key), path)
        if "parallel" in bdef:
            out = self.parallel(bdef, inner, f"blocks.{block}", x, BLOCK_KEYS)
        else:
            out = self.body(bdef.get("layers"), bdef, "layers", inner, x)
        self.add_symbol("_".join(inner.prefix), out, mark_of(container, key), path)
        return out

    def bind_args(self, block: str, bdef: YMap, args: YMap, scope: Scope, path: str) -> dict[str, Any]:
        declared = bdef.get("args") or YMap()
        bound: dict[str, Any] = {}
        for k, v in args.items():
            if k not in declared:
                raise self.fail(
                    f"block {block!r} has no argument {k!r}",
                    args,
                    k,
                    f"{path}.{k}",
                    did_you_mean(k, list(declared) + ["name", "from"]),
                    of_key=True,
                )
            bound[k] = self.value(v, scope.env, args, k, f"{path}.{k}")
        for k, decl in declared.items():
            required = isinstance(decl, str) and decl in ARG_TYPES
            if k not in bound:
                if required:
                    raise self.fail(f"block {block!r} needs argument {k!r} ({decl})", args, None, path)
                bound[k] = self.value(decl, self.globals, declared, k, f"blocks.{block}.args.{k}")
            if not _arg_ok(ARG_TYPES[decl] if required else _type_of(decl), bound[k]):
                raise self.fail(
                    f"argument {k!r} of block {block!r} expects {decl!r}-like values, got {bound[k]!r}",
                    args if k in args else declared,
                    k,
                    f"{path}.{k}",
                )
        return bound

    # -- the whole file ---------------------------------------------------
    def check_blocks(self) -> None:
        for name, bdef in self.blocks.items():
            where = f"blocks.{name}"
            if name in OPS or name in ACTIVATIONS or name in ("repeat", "parallel"):
                raise self.fail(
                    f"block name {name!r} is already an op or activation",
                    self.blocks,
                    name,
                    where,
                    "rename the block",
                    of_key=True,
                )
            if not isinstance(bdef, YMap):
                raise self.fail("a block is a mapping with args: and layers: (or parallel:)", self.blocks, name, where)
            self.check_keys(bdef, BLOCK_KEYS, "a block", where)
            if ("layers" in bdef) == ("parallel" in bdef):
                raise self.fail("a block has either layers: or parallel:", self.blocks, name, where)
            if "args" in bdef and not isinstance(bdef["args"], YMap):
                raise self.fail(
                    "args: maps argument names to a type (int, float, bool, str, list) or a default",
                    bdef,
                    "args",
                    where + ".args",
                )

    def heads(self, root: Scope) -> list[Any]:
        outs = []
        for name, head in (self.data.get("heads") or {}).items():
            where = f"heads.{name}"
            if not isinstance(head, YMap):
                raise self.fail("a head is a mapping with from: and layers:", self.data["heads"], name, where)
            self.check_keys(head, HEAD_KEYS, "a head", where)
            if "when" in head:
                cond = self.value(head["when"], root.env, head, "when", where + ".when")
                if not isinstance(cond, bool):
                    raise self.fail(f"when: must be true or false, got {cond!r}", head, "when", where + ".when")
                if not cond:
                    continue
            if "from" not in head:
                raise self.fail("a head needs from: (the layer it branches off)", self.data["heads"], name, where)
            scope = replace(root, prefix=(str(name),), path=where)
            scope = self.with_defaults(scope, head.get("defaults"), head, "defaults", where + ".defaults")
            (x,) = self.inputs(head["from"], root, INPUT, head, "from", where + ".from")
            out = self.body(head.get("layers"), head, "layers", scope, x)
            self.add_symbol(str(name), out, mark_of(head), where)
            outs.append(out)
        return outs

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

    def run(self) -> Graph:
        self.check_blocks()
        self.globals = self.global_env()
        shape = self.input_shape(self.globals)
        root = Scope((), self.globals, (), (), "")
        root = self.with_defaults(root, self.data.get("defaults"), self.data, "defaults", "defaults")
        main = self.body(self.data["layers"], self.data, "layers", root, INPUT)
        if main == INPUT:
            raise self.fail("the model has no layers", self.data, "layers", "layers")
        outputs = [main] + self.heads(root)
        if self.data.get("outputs") is not None:
            outs = self.data["outputs"]
            outputs = [Ref(str(o), (), mark_of(outs, i), f"outputs[{i}]") for i, o in enumerate(outs)]
        for node in self.nodes.values():
            node.inputs = [self.resolve(i) for i in node.inputs]
        outputs = [self.resolve(o) for o in outputs]
        if INPUT in outputs:
            raise self.fail("an output cannot be the input itself", self.data, "outputs", "outputs")
        nodes = toposort(self.nodes, outputs)
        graph = Graph(self.model_name(self.globals), shape, nodes, outputs, self.spec.file, self.meta())
        graph.symbols = {name: self.resolve(out) for name, (out, _) in self.symbols.items() if name != INPUT}
        graph.features = [self.feature(f, i) for i, f in enumerate(self.data.get("features") or [])]
        return graph

    def feature(self, name: Any, index: int) -> str:
        ref = Ref(str(name), (), mark_of(self.data["features"], index), f"features[{index}]")
        out = self.resolve(ref)
        if out == INPUT:
            raise SpecError("a feature cannot be the input itself", ref.mark, ref.path)
        return out

    def meta(self) -> dict[str, Any]:
        m = self.spec.model
        return {
            "paper": m.paper,
            "reference": m.reference,
            "params": dict(self.globals_public()),
            "keras_applications": m.keras_applications,
            "aliases": list(m.aliases),
        }

    def globals_public(self) -> dict[str, Any]:
        params = self.data.get("params") or {}
        return {k: self.globals[k] for k in params}


def _type_of(decl: Any) -> Any:
    if decl is None or is_expression(decl):
        return object
    if isinstance(decl, bool):
        return bool
    if isinstance(decl, float):
        return (int, float)
    return list if isinstance(decl, list) else dict if isinstance(decl, dict) else type(decl)


def _arg_ok(want: Any, value: Any) -> bool:
    if want is object:
        return True
    if want is bool or isinstance(value, bool):
        return want is bool and isinstance(value, bool)
    return isinstance(value, want)


def expand(spec: Spec) -> Graph:
    """Expand a validated spec into a graph (shapes not yet inferred)."""
    return Expander(spec).run()
