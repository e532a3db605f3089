"""The schema of ``kzoo.json``, the metadata kzoo keeps inside a saved ``.keras`` file, and its check against the
model it came with.

A saved model is a file from anywhere, so its metadata is validated when it is read:
the types (class names are a list of distinct strings, the input size two positive
integers, ...), then agreement with the model itself (as many class names as the
model has outputs, the size and channels its input takes, padding that leaves an
image). Anything wrong is a SpecError naming the file, the field and what was
expected, never a TypeError later in predict, evaluate or finetune. Fields this
version does not know are kept (a newer kzoo may write more).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError, field_validator

from kzoo.errors import SpecError, short

Size = Annotated[StrictInt, Field(ge=1)]
HINT = "the model's kzoo.json is damaged or was edited; save the model again with kzoo"


class InputMeta(BaseModel):
    """How images are prepared for the model."""

    model_config = ConfigDict(extra="allow", strict=True)
    size: Annotated[list[Size], Field(min_length=2, max_length=2)]
    channels: Literal[1, 3]
    pad: Annotated[StrictInt, Field(ge=0)] = 0
    resize: Size | None = None
    crop: Size | None = None


class SavedMeta(BaseModel):
    """The whole ``kzoo.json``."""

    model_config = ConfigDict(extra="allow", strict=True)
    kzoo: StrictInt = 1
    architecture: StrictStr | None = None
    file: StrictStr | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    class_names: Annotated[list[StrictStr], Field(min_length=1)] | None = None
    input: InputMeta | None = None
    trained_on: StrictStr | None = None
    task: StrictStr = "classification"  # what the model is for (kzoo.tasks)

    @field_validator("class_names")
    @classmethod
    def _distinct(cls, names: list[str] | None) -> list[str] | None:
        if names is not None:
            repeated = sorted(n for n, count in Counter(names).items() if count > 1)
            if repeated:
                raise ValueError(f"class names must be distinct; repeated: {', '.join(map(repr, repeated[:5]))}")
            if any(not n.strip() for n in names):
                raise ValueError("class names must not be empty")
        return names


def parse(data: Any, file: str | Path) -> dict[str, Any]:
    """``data`` (kzoo.json's content) validated; a SpecError naming ``file`` and the field if it is wrong."""
    if not isinstance(data, dict):
        raise SpecError(f"{file}: kzoo.json must hold a mapping, got {type(data).__name__}", hint=HINT)
    try:
        return SavedMeta.model_validate(data).model_dump(exclude_none=True)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in err["loc"]) or "(top)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SpecError(f"{file}: kzoo.json: {field}={short(err['input'])}: {msg}", hint=HINT) from None


def check_against(model: Any, info: dict[str, Any], file: str | Path) -> None:
    """The metadata must describe ``model``: its class count, its input's size and channels."""
    names = info.get("class_names")
    outputs = getattr(model, "outputs", None) or []
    if names is not None and outputs and len(outputs[0].shape) == 2:
        units = outputs[0].shape[-1]
        if units is not None and len(names) != units:
            raise SpecError(
                f"{file}: kzoo.json names {len(names)} classes, and the model has {units} outputs", hint=HINT
            )
    spec = info.get("input")
    inputs = getattr(model, "inputs", None) or []
    if spec is None or len(inputs) != 1 or len(inputs[0].shape) != 4:
        return
    rows, cols, channels = inputs[0].shape[1:]
    size = spec["size"]
    if (rows is not None and rows != size[0]) or (cols is not None and cols != size[1]):
        raise SpecError(f"{file}: kzoo.json: input.size {size} differs from the model's input {rows}x{cols}", hint=HINT)
    if channels is not None and channels != spec["channels"]:
        raise SpecError(
            f"{file}: kzoo.json: input.channels {spec['channels']} differs from the model's {channels}", hint=HINT
        )
    if 2 * spec["pad"] >= min(size):
        raise SpecError(f"{file}: kzoo.json: input.pad {spec['pad']} leaves no image inside {size}", hint=HINT)
