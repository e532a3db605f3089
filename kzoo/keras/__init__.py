"""Custom Keras objects of kzoo (keras.ops only; registered under package "kzoo").

Importing this package registers every kzoo object a saved model can hold:
layers, initializers, activations and the variable-momentum SGD optimizer.
"""

from kzoo.keras import activations, initializers, layers, lenet  # noqa: F401
from kzoo.train import optim  # noqa: F401  (kzoo>SGD, saved with compiled models)

__all__ = ["activations", "initializers", "layers", "lenet", "optim"]
