"""kzoo: classic convolutional networks as short YAML files, built as Keras 3 models.

>>> import kzoo
>>> model = kzoo.load("resnet50", classes=10)
>>> model = kzoo.build("architectures/vgg16.yaml")

A lazy façade (PEP 562): ``import kzoo`` imports neither TensorFlow nor Keras
(validation and static analysis stay fast); each name below is imported from
its module the first time it is used. kzoo's custom Keras objects register the
moment Keras is imported (kzoo.hooks), so ``keras.saving.load_model`` reloads
kzoo models with no ``custom_objects``, whichever of the two is imported first. TensorFlow's start-up banners
(oneDNN, CUDA) are kept off the terminal when TensorFlow is imported after kzoo; ``KZOO_VERBOSE=1`` shows them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from typing import TYPE_CHECKING, Any

from kzoo.errors import KzooError, SpecError
from kzoo.hooks import on_import
from kzoo.version import __version__

#: public name -> the module that defines it (no name here may equal a submodule's: importing the
#: submodule would replace the attribute; hence kzoo/builder.py and kzoo/prediction.py)
LAZY_NAMES = {
    "analyse": "kzoo.zoo",
    "add_path": "kzoo.paths",
    "build": "kzoo.zoo",
    "find": "kzoo.zoo",
    "list_architectures": "kzoo.zoo",
    "list_weights": "kzoo.zoo",
    "load": "kzoo.zoo",
    "port_weights": "kzoo.transfer",
    "convolutionalise": "kzoo.convolutional",
    "finetune": "kzoo.train.finetune",
    "predict": "kzoo.prediction",
    "register_op": "kzoo.ops",
    "register_initializer": "kzoo.ops",
    "register_activation": "kzoo.ops",
}

UNCHECKED = {"register_op", "register_initializer", "register_activation"}  # decorators: their own checks

if TYPE_CHECKING:
    from kzoo.convolutional import convolutionalise
    from kzoo.ops import register_activation, register_initializer, register_op
    from kzoo.paths import add_path
    from kzoo.prediction import predict
    from kzoo.train.finetune import finetune
    from kzoo.transfer import port_weights
    from kzoo.zoo import analyse, build, find, list_architectures, list_weights, load


def __getattr__(name: str) -> Any:
    if name not in LAZY_NAMES:
        raise AttributeError(f"module 'kzoo' has no attribute {name!r}")
    value = getattr(importlib.import_module(LAZY_NAMES[name]), name)
    if name not in UNCHECKED:
        from kzoo.api import checked

        value = checked(value)  # every public function's arguments checked in one place (kzoo.api)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(LAZY_NAMES))


def _register_keras_objects(keras: Any) -> None:
    importlib.import_module("kzoo.keras")


def _keras_backend() -> str:
    """The backend Keras will use: KERAS_BACKEND, else keras.json's, else TensorFlow."""
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        import json

        with open(os.path.join(home, "keras.json"), encoding="utf-8") as f:
            return str(json.load(f).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


@contextlib.contextmanager
def _torch_dynamo_first() -> Any:
    """Under the torch backend, import torch._dynamo before TensorFlow: the other order crashes the process
    (a segmentation fault when torch._dynamo is imported after TensorFlow, as Keras' torch backend does)."""
    if _keras_backend() == "torch":
        with contextlib.suppress(ImportError):
            importlib.import_module("torch._dynamo")
    yield


on_import("keras", after=_register_keras_objects)
on_import("tensorflow", around=_torch_dynamo_first)
if not os.environ.get("KZOO_VERBOSE"):  # TensorFlow's start-up banners (written to fd 2 at import) stay hidden
    from kzoo import quiet

    quiet.install(set_level=False)

__all__ = [
    "KzooError",
    "SpecError",
    "__version__",
    "add_path",
    "analyse",
    "build",
    "convolutionalise",
    "find",
    "finetune",
    "list_architectures",
    "list_weights",
    "load",
    "port_weights",
    "predict",
    "register_activation",
    "register_initializer",
    "register_op",
]
