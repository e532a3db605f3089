"""The schema of a study file, checked through kzoo.lang.validate like architecture files and recipes::

    name: init_plain                 # the output folder's name (default: the file's stem)
    description: ...
    architecture: lenet5_modern      # every variant's, unless it gives its own
    recipe: ../recipes/small.yaml    # likewise (relative to the study file)
    data: digits                     # the data source every variant trains on
    seeds: [0, 1, 2]                 # each variant trains once per seed
    set: {epochs: 5}                 # recipe fields for every variant (as kzoo train --set)
    param: {activation: relu}        # architecture params for every variant (as --param)
    baseline: relu                   # the variant the others are compared with, seed by seed
    ensembles: [relu]                # variants whose seeds' models are also averaged
    variants:
      relu: {}
      tanh: {param: {activation: tanh}}
      grid: {set: {optimizer.lr: [0.1, 0.01]}}   # a list of values: one variant per value (a grid axis)
      detector: {architecture: yolo_v1, from: relu}   # starts from the classifier variant relu trained

What pydantic checks here (types, unknown keys, required keys, ranges) is reported at the file's line and
column; what needs the variants together (names, the baseline, grids) is kzoo.study.plan's.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Seed = Annotated[int, Field(ge=0, lt=2**32)]


class VariantEntry(BaseModel):
    """One entry of ``variants:``; a list value in ``set`` or ``param`` makes it a grid."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True)
    architecture: str | None = Field(None, min_length=1, description="a zoo name or an architecture file")
    recipe: str | None = Field(None, min_length=1, description="a recipe file, relative to the study file")
    set: dict[str, Any] = Field(default_factory=dict, description="recipe fields (dotted), as kzoo train --set")
    param: dict[str, Any] = Field(default_factory=dict, description="architecture params, as kzoo train --param")
    description: str | None = Field(None, description="what the variant tests, for the report")
    start: str | None = Field(
        None,
        alias="from",
        min_length=1,
        description="the classifier a detector or segmenter starts from: an earlier variant, a run directory, a "
        ".keras file or NAME:RELEASE",
    )


class StudyFile(BaseModel):
    """A study: variants of an architecture and recipe, each trained once per seed."""

    model_config = ConfigDict(extra="forbid", strict=True)
    name: str | None = Field(None, description="the study's name: letters, digits, '_', '-', '.' (not first)")
    description: str | None = Field(None, description="what the study asks")
    architecture: str | None = Field(None, min_length=1, description="every variant's architecture by default")
    recipe: str | None = Field(None, min_length=1, description="every variant's recipe file by default")
    data: str | None = Field(
        None, description="the data source: digits, mnist5000, npz:PATH, folder:PATH, tfds:NAME, scene_digits ..."
    )
    seeds: list[Seed] = Field(min_length=1, description="the seeds each variant trains with, e.g. [0, 1, 2]")
    set: dict[str, Any] = Field(default_factory=dict, description="recipe fields for every variant")
    param: dict[str, Any] = Field(default_factory=dict, description="architecture params for every variant")
    baseline: str | None = Field(None, description="the variant the others are compared with, seed by seed")
    ensembles: list[str] = Field(default_factory=list, description="variants whose seeds' models are averaged")
    variants: dict[str, VariantEntry] = Field(min_length=1, description="variant name -> {architecture, set, ...}")
