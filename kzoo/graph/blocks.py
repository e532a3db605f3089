"""Blocks in expansion: reusable, parametrised sub-graphs, their typed arguments and their calls.

``args:`` maps each argument to a type name (required: ``int``, ``float``,
``bool``, ``str``, ``list``, ``dict``, ``any``) or to a default value (whose type
the argument then takes). A call binds the arguments over the caller's scope and
expands the block's ``layers:`` or ``parallel:`` in a scope named after the call;
``from: input`` inside a block is the block's own input. ``scoped: false`` leaves the
layer names as the block writes them (no call-name prefix; a call then takes no
name): what a block needs whose layers follow another framework's naming
(``name: res${id}_branch1``). A block that calls itself, directly or through
others, is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kzoo.errors import did_you_mean
from kzoo.graph.node import INPUT
from kzoo.graph.scope import Scope
from kzoo.lang.expr import is_expression
from kzoo.lang.loader import At, YMap

if TYPE_CHECKING:
    from kzoo.graph.expand import Expander

MAX_CALL_DEPTH = 32
ARG_TYPES = {"int": int, "float": (int, float), "bool": bool, "str": str, "list": list, "dict": dict, "any": object}


class Blocks:
    """The file's ``blocks:``, checked and called. A call's body is expanded by the expander that owns them
    (``expander``: its ``body``, ``parallel`` and ``with_defaults``, which call back here for nested calls)."""

    def __init__(self, definitions: YMap, expander: Expander):
        self.definitions, self.ex = definitions, expander

    def call(self, block: str, args: Any, at: At, scope: Scope, prev: Any) -> Any:
        """A call of ``block`` with ``args``, written ``at``, expanded in a scope of its own."""
        path = at.path
        if block in scope.calls:
            chain = " -> ".join(scope.calls[scope.calls.index(block) :] + (block,))
            raise at.error(f"block {block!r} calls itself: {chain}", "a block cannot contain itself; use repeat", True)
        if len(scope.calls) >= MAX_CALL_DEPTH:
            raise at.error(f"blocks nest more than {MAX_CALL_DEPTH} deep")
        bdef = self.definitions[block]
        args = self.ex.ops.arg_map(args, None, at, f"block {block!r}")
        name_text, from_ = args.pop("name", None), args.pop("from", None)
        bound = self.bind_args(block, bdef, args, scope, path)
        scoped = bdef.get("scoped", True)
        if not scoped and name_text is not None:
            raise self.ex.fail(
                f"block {block!r} is unscoped (scoped: false): a call has no name",
                args,
                "name",
                path + ".name",
                "its layers name themselves, e.g. from an argument: name: res${id}_branch1",
                of_key=True,
            )
        (x,) = self.ex.names.inputs(from_, scope, prev, at.field(args, "from"))
        # Scoped: the call's name prefixes every layer name inside it. Unscoped: the layers keep the names they
        # give themselves (as Caffe's do), and `from: input` still means the call's input.
        prefix = (
            scope.prefix + (self.ex.names.segment(scope, name_text, block, at.field(args, "name")),)
            if scoped
            else scope.prefix
        )
        inner = Scope(
            prefix,
            {**self.ex.globals, **bound},
            scope.defaults,
            scope.calls + (block,),
            f"blocks.{block}",
            None if scoped else x,
            scope.block_level if scope.block_level is not None or not scoped else len(prefix),
        )
        inner = self.ex.with_defaults(inner, bdef.get("defaults"))
        if scoped:  # `from: input` inside a block means the block's own input.
            self.ex.names.add_symbol("_".join(inner.prefix + (INPUT,)), x, at.mark(), path)
        if "parallel" in bdef:
            out = self.ex.parallel(bdef, inner, f"blocks.{block}", x, "block")
        else:
            out = self.ex.body(bdef.get("layers"), bdef, "layers", inner, x)
        if scoped:
            self.ex.names.add_symbol("_".join(inner.prefix), out, at.mark(), path)
        return out

    def bind_args(self, block: str, bdef: YMap, args: YMap, scope: Scope, path: str) -> dict[str, Any]:
        declared = bdef.get("args") or YMap()
        bound: dict[str, Any] = {}
        for k, v in args.items():
            if k not in declared:
                raise self.ex.fail(
                    f"block {block!r} has no argument {k!r}",
                    args,
                    k,
                    f"{path}.{k}",
                    did_you_mean(k, list(declared) + ["name", "from"]),
                    of_key=True,
                )
            bound[k] = self.ex.value(v, scope.env, args, k, f"{path}.{k}")
        for k, decl in declared.items():
            required = isinstance(decl, str) and decl in ARG_TYPES
            if k not in bound:
                if required:
                    raise self.ex.fail(f"block {block!r} needs argument {k!r} ({decl})", args, None, path)
                bound[k] = self.ex.value(decl, self.ex.globals, declared, k, f"blocks.{block}.args.{k}")
            if not _arg_ok(ARG_TYPES[decl] if required else _type_of(decl), bound[k]):
                raise self.ex.fail(
                    f"argument {k!r} of block {block!r} expects {decl!r}-like values, got {bound[k]!r}",
                    args if k in args else declared,
                    k,
                    f"{path}.{k}",
                )
        return bound


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
