"""Validate a mapping against a pydantic model, reporting errors by YAML line.

Pydantic does the checking (types, ranges, unknown keys, defaults); this
module turns its first error into a :class:`SpecError` at the mark of the
offending key or value, with a 'did you mean' for unknown keys and a
'quote it' hint for YAML 1.1 booleans (``off``, ``yes``) where a string
was expected.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from kzoo.errors import SpecError, did_you_mean
from kzoo.spec.loader import mark_of, raw_of

M = TypeVar("M", bound=BaseModel)


def validate(model: type[M], data: dict[str, Any], source: Any, path: str, what: str) -> M:
    """``model.model_validate(data)``; errors point into ``source`` (a YMap)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise to_spec_error(exc, model, source, path, what) from None


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
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and ("[" in p or p in _TYPE_WORDS)))
    container, key = _walk(source, loc)
    field = ".".join(str(p) for p in loc)
    where = f"{path}.{field}" if field else path
    kind = err["type"]
    if kind == "extra_forbidden":
        mark = mark_of(container, key, of_key=True)
        return SpecError(f"unknown key {key!r} in {what}", mark, where, did_you_mean(key, model.model_fields))
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
    return SpecError(f"invalid {field!r} in {what}: {err['msg'].lower()}, got {value!r}", mark, where, _describe(model, loc))


_TYPE_WORDS = {"int", "float", "str", "bool", "list", "dict", "none", "FnSpec", "function-after", "literal"}


def _describe(model: type[BaseModel], loc: tuple) -> str | None:
    if not loc or loc[0] not in model.model_fields:
        return None
    info = model.model_fields[loc[0]]
    text = str(info.annotation).replace("typing.", "")
    bits = [f"expected {text}"]
    if info.description:
        bits.append(info.description)
    for meta in info.metadata:
        bits.append(str(meta))
    return "; ".join(bits)

