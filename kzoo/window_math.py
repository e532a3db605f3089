"""Sliding-window arithmetic shared by the static rules (kzoo.ops) and the Keras layers (kzoo.keras)."""

from __future__ import annotations


def pooled_size(size: int, pool: int, stride: int, pad: int = 0, ceil_mode: bool = False) -> int:
    """Caffe's pooled length: (size + 2 pad - pool) / stride + 1, rounded up with ``ceil_mode`` (Caffe's rule,
    PyTorch's ``ceil_mode=True``), down without; a window may not start inside the trailing padding."""
    span = size + 2 * pad - pool
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def conv_size(size: int, kernel: int, stride: int, pad: int = 0, dilation: int = 1) -> int:
    """A convolution's output length on ``size`` padded with ``pad`` on both sides (rounded down, as Caffe)."""
    return (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
