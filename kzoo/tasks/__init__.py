"""Tasks: what a model is for, one module per kind, registered like an op (:data:`TASKS`).

A task says, in one place, what the model's output must be (checked before
TensorFlow starts, at the file's line), which data sources give its targets and
how they are read, how targets follow geometric augmentation, its loss and
metrics, and how predictions are decoded, written and evaluated. An
architecture file declares its task (``task: segmentation``; default
``classification``); ``kzoo train``, ``evaluate``, ``predict`` and ``finetune``
ask the task instead of testing layer names or activations.

* ``classification`` (kzoo.tasks.classification): one class per image.
* ``segmentation`` (kzoo.tasks.segmentation): one class per pixel.
* ``detection`` (kzoo.tasks.detection): boxes with a class each (YOLO v1).

Adding a task is a new module registered with :func:`register_task`.
"""

from __future__ import annotations

from typing import Any

from kzoo.errors import Mark
from kzoo.registry import Registry
from kzoo.tasks.base import Task

TASKS: Registry[Task] = Registry("task")


def register_task(cls: type[Task]) -> type[Task]:
    """Class decorator: register one instance of a :class:`Task` subclass under its ``name``."""
    TASKS.register(cls.name, cls())
    return cls


def task_of(what: Any) -> Task:
    """The task of a Graph (its file's ``task:``), of saved metadata or Splits (their ``task``), or a task name."""
    mark = None
    if isinstance(what, str):
        name = what
    elif isinstance(what, dict):
        name = what.get("task") or "classification"
    elif hasattr(what, "meta"):
        name, mark = what.meta.get("task", "classification"), Mark(what.file)
    else:
        name = getattr(what, "task", "classification")
    return TASKS.get(name, mark, "task")


from kzoo.tasks import classification, detection, segmentation  # noqa: E402, F401  (registers the tasks)

__all__ = ["TASKS", "Task", "register_task", "task_of"]
