"""kzoo: classic convolutional networks as short YAML files, built as Keras 3 models.

>>> import kzoo
>>> model = kzoo.load("resnet50", classes=10)
>>> model = kzoo.build("architectures/vgg16.yaml")

Importing kzoo does not import TensorFlow or Keras (validation and static
analysis stay fast); kzoo's custom Keras objects are registered the moment
Keras is imported, so ``keras.saving.load_model`` reloads kzoo models with
no ``custom_objects``.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

from kzoo.build import build
from kzoo.errors import KzooError, SpecError
from kzoo.graph import analyse
from kzoo.ops import register_activation, register_initializer, register_op
from kzoo.paths import add_path
from kzoo.predict import predict
from kzoo.train.finetune import finetune
from kzoo.transfer import port_weights
from kzoo.version import __version__
from kzoo.zoo import find, list_architectures, load


class _RegisterWhenKerasLoads(importlib.abc.MetaPathFinder):
    """Import ``kzoo.keras`` right after ``keras`` itself is imported.

    Written by hand because Python has no post-import hook: this finder
    steps aside, lets the normal finders locate keras, and wraps the
    loader so that kzoo's serializable objects register once keras exists.
    """

    def find_spec(self, name, path=None, target=None):  # noqa: D102
        if name != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec("keras")
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_and_register(module):
            exec_module(module)
            importlib.import_module("kzoo.keras")

        spec.loader.exec_module = exec_and_register  # type: ignore[method-assign]
        return spec


if "keras" in sys.modules:
    importlib.import_module("kzoo.keras")
elif not any(isinstance(f, _RegisterWhenKerasLoads) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterWhenKerasLoads())

__all__ = [
    "__version__",
    "KzooError",
    "SpecError",
    "add_path",
    "analyse",
    "build",
    "find",
    "finetune",
    "list_architectures",
    "load",
    "port_weights",
    "predict",
    "register_activation",
    "register_initializer",
    "register_op",
]
