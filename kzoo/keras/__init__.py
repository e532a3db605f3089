"""Custom Keras objects of kzoo (keras.ops only; registered under package "kzoo")."""

from kzoo.keras import activations, initializers, layers, lenet  # noqa: F401

__all__ = ["activations", "initializers", "layers", "lenet"]
