"""Validate a mapping against a pydantic model, reporting errors by YAML line.

Pydantic does the checking (types, ranges, unknown keys, defaults); this
module turns its first error into a :class:`SpecError` at the mark of the
offending key or value, with a 'did you mean' for unknown keys and a
'quote it' hint for YAML 1.1 booleans (``off``, ``yes``) where a string
was expected.
"""

from __future__ import annotations

from types import UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from kzoo.errors import Mark, SpecError, did_you_mean, short
from kzoo.lang.loader import mark_of, raw_of

M = TypeVar("M", bound=BaseModel)


def validate(
    model: type[M], data: dict[str, Any], source: Any, path: str, what: str, fallback: Mark | None = None
) -> M:
    """``model.model_validate(data)``; errors point into ``source`` (a YMap), else at ``fallback``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = to_spec_error(exc, model, source, path, what)
        if error.mark is None:
            error = SpecError(error.message, fallback or error.mark, error.path, error.hint)
        raise error from None


def _clean_loc(loc: tuple, source: Any) -> tuple:
    """Drop pydantic's union-member tags ('int', 'constrained-int', 'list[int]') from a location."""
    out, container = [], source
    for part in loc:
        present = (isinstance(container, dict) and part in container) or (
            isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)
        )
        if present:
            out.append(part)
            container = container[part]
        elif isinstance(part, str) and not part.isidentifier() or part in _TYPE_WORDS:
            continue
        else:
            out.append(part)
            container = None
    return tuple(out)


def _walk(source: Any, loc: tuple) -> tuple[Any, Any]:
    """The container and key in ``source`` that an error location points at."""
    container, key = source, None
    for part in loc:
        if key is not None:
            try:
                container = container[key]
            except (KeyError, IndexError, TypeError):
                break
        key = part
        if not isinstance(container, (dict, list)):
            break
    return container, key


def to_spec_error(exc: ValidationError, model: type[BaseModel], source: Any, path: str, what: str) -> SpecError:
    errors = exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo explains a 'missing'
    loc = _clean_loc(tuple(err["loc"]), source)
    container, key = _walk(source, loc)
    field = ".".join(str(p) for p in loc)
    where = f"{path}.{field}" if field else path
    kind = err["type"]
    if kind == "extra_forbidden":
        mark = mark_of(container, key, of_key=True)
        known = _nested(model, loc[:-1]).model_fields
        return SpecError(f"unknown key {short(key)} in {what}", mark, where, did_you_mean(key, known))
    mark = mark_of(container, key) if key is not None else mark_of(source)
    if kind == "missing":
        return SpecError(f"{what} needs {field!r}", mark_of(source), where, _describe(model, loc))
    value = err.get("input")
    raw = raw_of(container, key)
    if raw is not None and isinstance(value, bool):
        return SpecError(
            f"{field!r} in {what}: {raw!r} was read by YAML 1.1 as the boolean {value}",
            mark,
            where,
            f"quote it: '{raw}'",
        )
    if kind == "value_error":  # a validator of ours across fields: its own words say what is wrong
        return SpecError(f"{field or what}: {err['ctx']['error']}", mark, where)
    message = err["msg"][:1].lower() + err["msg"][1:]
    return SpecError(f"invalid {field!r} in {what}: {message}, got {short(value)}", mark, where, _describe(model, loc))


def _nested(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The (nested) model a location points into: Recipe, ('optimizer',) -> OptimizerSpec."""
    for part in loc:
        info = model.model_fields.get(part) if isinstance(part, str) else None
        inner = [a for a in (info.annotation, *get_args(info.annotation)) if isinstance(a, type)] if info else []
        nested = next((a for a in inner if issubclass(a, BaseModel)), None)
        if nested is None:
            return model
        model = nested
    return model


_TYPE_WORDS = {"int", "float", "str", "bool", "list", "dict", "none", "FnSpec", "function-after", "literal"}


def _describe(model: type[BaseModel], loc: tuple) -> str | None:
    info = None
    for part in loc:  # descend through nested models (recipe: optimizer.lr)
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        info = model.model_fields[part]
        inner = [a for a in (info.annotation, *get_args(info.annotation)) if isinstance(a, type)]
        nested = next((a for a in inner if issubclass(a, BaseModel)), None)
        if nested is None or part == loc[-1]:
            break
        model = nested
    if info is None:
        return None
    bits = ["expected " + type_text(info.annotation, info.metadata)]
    if info.description:
        bits.append(info.description)
    return "; ".join(bits)


def type_text(annotation: Any, metadata: list | tuple = ()) -> str:
    """A readable name of a type annotation: 'int >= 1 or list of 2 int >= 1'."""
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return type_text(args[0], args[1:])
    if origin in (Union, UnionType):
        return " or ".join(type_text(a) for a in args if a is not type(None)) + (
            " or null" if type(None) in args else ""
        )
    if origin is Literal:
        return "one of " + ", ".join(map(str, args))
    text = getattr(annotation, "__name__", str(annotation))
    if origin is list:
        text = "list of " + type_text(args[0]) if args else "list"
    lengths = {}
    for meta in metadata:
        for m in getattr(meta, "metadata", [meta]):
            for attr, sym in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<")):
                if getattr(m, attr, None) is not None:
                    text += f" {sym} {getattr(m, attr)}"
            for attr in ("min_length", "max_length"):
                if getattr(m, attr, None) is not None:
                    lengths[attr] = getattr(m, attr)
    if lengths and len(set(lengths.values())) == 1 and len(lengths) == 2:
        text = text.replace("list of", f"list of {lengths['min_length']}", 1)
    return text
