"""Custom Keras objects of kzoo (keras.ops only; registered under package "kzoo").

Importing this package registers every kzoo object a saved model can hold:
layers, initializers, activations, losses, metrics and the variable-momentum SGD optimizer.
"""

from kzoo.keras import (  # noqa: F401
    activations,
    caffe,
    initializers,
    layers,
    lenet,
    losses,
    metrics,
    optimizers,
    resize,
)

__all__ = ["activations", "caffe", "initializers", "layers", "lenet", "losses", "metrics", "optimizers", "resize"]
