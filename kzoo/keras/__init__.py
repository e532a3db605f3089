"""Custom Keras objects of kzoo (keras.ops only; registered under package "kzoo").

Importing this package registers every kzoo object a saved model can hold:
layers, initializers, activations, losses and the variable-momentum SGD optimizer.
"""

from kzoo.keras import activations, caffe, initializers, layers, lenet, losses, optimizers  # noqa: F401

__all__ = ["activations", "caffe", "initializers", "layers", "lenet", "losses", "optimizers"]
