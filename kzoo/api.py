"""One argument check for the public Python functions (``kzoo.load``, ``kzoo.predict``, ...).

Each public function's annotations are its contract. :func:`checked` wraps it in
pydantic's ``validate_call``, and a wrong argument becomes a SpecError that names
the function, the argument, the value and what is expected, before the function
runs, instead of a TypeError or AttributeError from deep inside. The lazy façade
in ``kzoo/__init__.py`` wraps every public function this way, so the check lives
in one place. The types below are those the annotations use.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, Strict, ValidationError, validate_call

from kzoo.errors import SpecError, short

F = TypeVar("F", bound=Callable[..., Any])

Positive = Annotated[int, Strict(), Field(ge=1)]
StrictBool = Annotated[bool, Strict()]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
InputShape = Annotated[tuple[Positive | None, ...], Field(min_length=1, max_length=3)]


def _images(value: Any) -> list[str | Path]:
    """A file or folder, or a list of them (a single path is one image, never its characters)."""
    if isinstance(value, (str, Path)):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, (str, Path)) for v in value):
        return list(value)
    raise ValueError("expected an image file or folder, or a non-empty list of them")


def _model(value: Any) -> Any:
    """A saved model's path, ``NAME[:RELEASE]`` of the zoo, or a Keras model."""
    if isinstance(value, (str, Path)) and str(value):
        return value
    if hasattr(value, "inputs") and hasattr(value, "get_weights"):
        return value
    raise ValueError("expected a .keras file, a run directory, NAME[:RELEASE] of the zoo, or a Keras model")


def _keras_model(value: Any) -> Any:
    if hasattr(value, "layers") and hasattr(value, "get_weights"):
        return value
    raise ValueError("expected a Keras model")


def one_of(types: tuple[type, ...], expected: str) -> Any:
    """An annotation taking instances of ``types`` as they are (no conversion: a dataclass stays itself)."""

    def check(value: Any) -> Any:
        if isinstance(value, types):
            return value
        raise ValueError(f"expected {expected}")

    return Annotated[Any, AfterValidator(check)]


Images = Annotated[Any, BeforeValidator(_images)]
ModelLike = Annotated[Any, AfterValidator(_model)]
KerasModel = Annotated[Any, AfterValidator(_keras_model)]


def checked(fn: F) -> F:
    """``fn`` with its arguments checked against its annotations (a SpecError naming the argument if not)."""
    validated = validate_call(config=ConfigDict(arbitrary_types_allowed=True))(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return validated(*args, **kwargs)
        except ValidationError as exc:
            if exc.title != fn.__name__:  # a model validated inside the function: not an argument
                raise
            raise argument_error(fn, exc) from None

    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def argument_error(fn: Callable[..., Any], exc: ValidationError) -> SpecError:
    """The first wrong argument of a call to ``kzoo.NAME``, as one SpecError naming it, its value and its type."""
    name = fn.__name__
    errors = exc.errors(include_url=False)
    err = errors[0]
    names = list(inspect.signature(fn).parameters)
    loc = list(err["loc"])
    arg = names[loc[0]] if loc and isinstance(loc[0], int) and loc[0] < len(names) else str(loc[0] if loc else "?")
    if err["type"] == "missing_argument":
        return SpecError(f"kzoo.{name}(): the argument {arg} is missing", hint=f"help(kzoo.{name})")
    if err["type"] == "unexpected_keyword_argument":
        return SpecError(f"kzoo.{name}() takes no argument {arg}", hint=f"help(kzoo.{name})")
    if err["type"] == "unexpected_positional_argument":
        return SpecError(f"kzoo.{name}() takes fewer positional arguments", hint="pass the options by name")
    where = arg + "".join(f"[{p}]" for p in loc[1:] if isinstance(p, int))  # union members' tags left out
    annotation = fn.__annotations__.get(arg)
    if len([e for e in errors if e["loc"][:1] == err["loc"][:1]]) > 1 and isinstance(annotation, str):
        msg = f"expected {annotation}"  # a union: each member's complaint would be noise
    else:
        msg = str(err["msg"]).removeprefix("Value error, ")
        msg = msg[0].lower() + msg[1:]
    return SpecError(
        f"kzoo.{name}(): {where}={short(err['input'])} is not valid: {msg}",
        hint=f"help(kzoo.{name}) describes each argument",
    )
