"""The search space file of ``kzoo tune``: its schema, checked through kzoo.lang.validate like every other file
kind, and the dimensions it declares (no TensorFlow here).

The space is YAML in the two namespaces of the command line: ``set:`` holds recipe fields (dotted, as for
``--set``), ``param:`` architecture params (as for ``--param``); each value is a list of values or a range::

    set:
      optimizer.lr: {min: 1.0e-4, max: 0.1, log: true}  # a float range (log-uniform)
      weight_decay: [0, 1.0e-4, 5.0e-4]                  # a choice
    param:
      depth: [18, 34]

The schema checks the shape of each value at its line and column; what needs a dimension's values together
(at most :data:`MAX_VALUES`, one type, each once) is :func:`dimensions`'. Whether the architecture and the
recipe accept each value is kzoo.tune's check, by static analysis, before the first trial.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kzoo.errors import Mark, SpecError
from kzoo.lang.loader import YMap, load_file, mark_of
from kzoo.lang.validate import validate

SECTIONS = {"set": "--set", "param": "--param"}
MAX_VALUES = 256  # values of one dimension: each is checked (a param's by static analysis) before the first trial


class Range(BaseModel):
    """A numeric range: whole numbers where min, max (and step) are."""

    model_config = ConfigDict(extra="forbid", strict=True)
    min: int | float = Field(description="the smallest value")
    max: int | float = Field(description="the largest value")
    step: int | float | None = Field(None, gt=0, description="sample on a grid of this step (grid search needs it)")
    log: bool = Field(False, description="sample log-uniformly (min > 0)")

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.min >= self.max:
            raise ValueError(f"min and max must be numbers with min < max, got {self.min} and {self.max}")
        if self.log and self.min <= 0:
            raise ValueError(f"a log range needs min > 0, got {self.min}")
        return self


Values = list[int | float | str | bool]


class SearchSpace(BaseModel):
    """``set:`` (recipe fields) and ``param:`` (architecture params), each name -> a list of values or a range."""

    model_config = ConfigDict(extra="forbid", strict=True)
    set: dict[str, Values | Range] = Field(
        default_factory=dict, description="recipe fields (dotted, as --set): a list of values or {min, max}"
    )
    param: dict[str, Values | Range] = Field(
        default_factory=dict, description="architecture params (as --param): a list of values or {min, max}"
    )


@dataclass
class Dimension:
    name: str  # "--set optimizer.lr" or "--param depth": the flag that sets it
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    log: bool = False
    mark: Mark | None = None

    @property
    def flag(self) -> str:
        return self.name.split(" ", 1)[0]

    @property
    def key(self) -> str:
        return self.name.split(" ", 1)[1]

    @property
    def is_int(self) -> bool:
        return all(isinstance(v, int) and not isinstance(v, bool) for v in (self.low, self.high)) and (
            self.step is None or isinstance(self.step, int)
        )


def read_space(path: str | Path) -> list[Dimension]:
    """The dimensions a search space file declares, in order; errors at the file's line and column."""
    data = load_file(path, "search space")
    if not isinstance(data, YMap) or not data:
        raise SpecError(
            "a search space is a mapping: set: {FIELD: values} and param: {NAME: values}", Mark(str(path), 1, 1)
        )
    try:
        space = validate(SearchSpace, dict(data), data, "", "a search space", Mark(str(path), 1, 1))
    except SpecError as exc:
        key = exc.path.strip(".") if exc.path else ""
        if exc.message.startswith("unknown key") and key.startswith("params."):  # --param's dotted habit
            raise SpecError(
                exc.message, exc.mark, exc.path, f"write it under param: ({key.split('.', 1)[1]}: ...)"
            ) from None
        raise
    for section in SECTIONS:
        if section in data and not getattr(space, section):
            raise SpecError(f"{section}: maps names to values or ranges", mark_of(data, section), section)
    dims = []
    for section in data:  # in the file's order
        fields = data[section]
        for key, value in getattr(space, section).items():
            dim = _dimension(f"{SECTIONS[section]} {key}", value, mark_of(fields, key))
            dim.mark = mark_of(fields, key, of_key=True)
            dims.append(dim)
    return dims


def _dimension(name: str, value: list[Any] | Range, mark: Mark | None) -> Dimension:
    if isinstance(value, Range):
        return Dimension(name, low=value.min, high=value.max, step=value.step, log=value.log)
    if not value:
        raise SpecError(f"{name}: an empty list of values", mark)
    if len(value) > MAX_VALUES:
        raise SpecError(
            f"{name}: {len(value):,} values; a dimension takes at most {MAX_VALUES}",
            mark,
            hint="a search samples a few dozen trials: give a range {min, max} (with step) instead",
        )
    if len({json.dumps(v, sort_keys=True) for v in value}) != len(value):
        raise SpecError(f"{name}: a value is listed twice", mark)
    kinds = {type(v) for v in value}
    if len(kinds) > 1 and not kinds <= {int, float}:
        raise SpecError(f"{name}: values of one type only (got {', '.join(sorted(k.__name__ for k in kinds))})", mark)
    return Dimension(name, values=list(value))  # checked as written; KerasTuner gets one type (kzoo.tune)
