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
        elif isinstance(part, str) and (not part.isidentifier() or part[:1].isupper()) or part in _TYPE_WORDS:
            continue  # a union member's tag: 'list[int]', 'constrained-int', a model's name
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
    errors = [e for e in exc.errors() if not _other_branch(e, source)] or exc.errors()
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])  # a typo explains a 'missing'
    loc = _clean_loc(tuple(err["loc"]), source)
    container, key = _walk(source, loc)
    field = ".".join(str(p) for p in loc)
    where = f"{path}.{field}" if field else path
    kind = err["type"]
    if kind == "extra_forbidden":
        mark = mark_of(container, key, of_key=True)
        known = _known(_nested(model, loc[:-1]))
        return SpecError(f"unknown key {short(key)} in {what}", mark, where, did_you_mean(key, known))
    mark = mark_of(container, key) if key is not None else mark_of(source)
    if kind == "missing":  # at the mapping that lacks the key
        mark = mark_of(*_walk(source, loc[:-1])) if len(loc) > 1 else None
        return SpecError(f"{what} needs {field!r}", mark or mark_of(source), where, _describe(model, loc))
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


def _field(model: type[BaseModel], part: Any) -> Any:
    """The field a location part names: by its name or its alias (``from`` for ``start``)."""
    if not isinstance(part, str):
        return None
    return model.model_fields.get(part) or next((f for f in model.model_fields.values() if f.alias == part), None)


def model_in(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """(the model an annotation holds, whether it is reached through a mapping's values or a list's items)."""
    for a in (annotation, *get_args(annotation)):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a, False
        if get_origin(a) in (dict, list):
            inner, _ = model_in(get_args(a)[-1]) if get_args(a) else (None, False)
            if inner is not None:
                return inner, True
    return None, False


def _other_branch(error: dict, source: Any) -> bool:
    """Whether an error only says the input is not the shape of one member of a union (a list where the
    value is a mapping matched the other member): the member the input's shape chose explains it better."""
    loc = tuple(error["loc"])  # the member's tag, last, is what cleaning drops
    return bool(loc) and error["type"].endswith("_type") and _clean_loc(loc, source) == _clean_loc(loc[:-1], source)


def _nested(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The (nested) model a location points into: Recipe, ('optimizer',) -> OptimizerSection; StudyFile,
    ('variants', 'a') -> VariantEntry."""
    parts = list(loc)
    while parts:
        info = _field(model, parts.pop(0))
        nested, through = model_in(info.annotation) if info else (None, False)
        if nested is None:
            return model
        if through:
            if not parts:
                return model
            parts.pop(0)  # the mapping's key or the list's index
        model = nested
    return model


def _known(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


_TYPE_WORDS = {
    "int",
    "float",
    "str",
    "bool",
    "list",
    "dict",
    "none",
    "function-after",
    "literal",
}  # models: capitalised


def _describe(model: type[BaseModel], loc: tuple) -> str | None:
    """The expected type and the description of the field a location points at (or of the field whose
    list or plain mapping holds it)."""
    info, parts = None, list(loc)
    while parts:  # descend through nested models (recipe: optimizer.lr; study: variants.a.set)
        info = _field(model, parts.pop(0))
        if info is None:
            return None
        nested, through = model_in(info.annotation)
        if nested is None or not parts:
            break
        if through:
            parts.pop(0)
            if not parts:  # a value of the mapping (or an item of the list) itself
                value = get_args(info.annotation)[-1] if get_args(info.annotation) else info.annotation
                return f"expected {type_text(value)}" + (f"; {info.description}" if info.description else "")
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
