"""kzoo's Keras initializers (registered, so saved models reload).

The standard rules (LeCun, Glorot, He, orthogonal, variance scaling) are
Keras's own; kzoo adds only what Keras lacks.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops


@keras.saving.register_keras_serializable(package="kzoo")
class TorchLegacy(keras.initializers.VarianceScaling):
    """U[-1/sqrt(n_in), 1/sqrt(n_in)]: Var(w) = 1 / (3 n_in).

    The default of Lua Torch and early PyTorch ``nn.Linear``/``nn.Conv2d``
    (``reset_parameters``), kept to show the mistake the lectures warn about:
    with tanh, each layer multiplies the activation variance by about 1/3, so
    signals vanish in deep plain networks (Glorot & Bengio 2010, He et al.
    2015 derive the factor that keeps it at 1).

    Equal to ``variance_scaling(scale=1/3, mode=fan_in, distribution=uniform)``.

    YAML::

        conv: {filters: 64, kernel: 3, init: torch_legacy}
    """

    def __init__(self, seed=None):
        super().__init__(scale=1.0 / 3.0, mode="fan_in", distribution="uniform", seed=seed)

    def get_config(self):
        return {"seed": self.seed if isinstance(self.seed, (int, type(None))) else None}


# 7x12 bitmaps of the digits 0-9 (12 rows of 7 pixels), in the spirit of the
# stylised characters LeCun et al. 1998 (Section II.B) drew for the RBF
# prototypes of LeNet-5's output layer; '#' is +1, '.' is -1.
_DIGITS = """
..###.. ...#... ..###.. ..###.. .....#. ####### ..###.. ####### ..###.. ..###..
.#...#. ..##... .#...#. .#...#. ....##. #...... .#...#. ......# .#...#. .#...#.
#.....# .#.#... #.....# #.....# ...#.#. #...... #...... .....#. #.....# #.....#
#.....# ...#... ......# ......# ..#..#. #...... #...... .....#. #.....# #.....#
#.....# ...#... .....#. .....#. .#...#. #.###.. #...... ....#.. .#...#. #.....#
#.....# ...#... ....#.. ..###.. #....#. ##...#. #.###.. ....#.. ..###.. .#...##
#.....# ...#... ...#... .....#. ####### ......# ##...#. ...#... .#...#. ..###.#
#.....# ...#... ..#.... ......# .....#. ......# #.....# ...#... #.....# ......#
#.....# ...#... .#..... #.....# .....#. #.....# #.....# ..#.... #.....# ......#
.#...#. ...#... #...... .#...#. .....#. .#...#. .#...#. ..#.... .#...#. .#...#.
..###.. .#####. ####### ..###.. .....#. ..###.. ..###.. ..#.... ..###.. ..###..
....... ....... ....... ....... ....... ....... ....... ....... ....... .......
"""


def digit_bitmaps() -> np.ndarray:
    """The ten 7x12 digit bitmaps as an (84, 10) array of ±1."""
    rows = [line.split() for line in _DIGITS.strip().splitlines()]
    maps = np.array([[1.0 if ch == "#" else -1.0 for row in rows for ch in row[d]] for d in range(10)])
    return maps.T.astype("float32")


@keras.saving.register_keras_serializable(package="kzoo")
class DigitBitmaps(keras.initializers.Initializer):
    """The RBF prototypes of LeNet-5: ten 7x12 (84-pixel) ±1 digit bitmaps; shape must be (84, 10)."""

    def __call__(self, shape, dtype=None):
        if tuple(shape) != (84, 10):
            raise ValueError(f"digit_bitmaps fills an (84, 10) kernel; received shape={tuple(shape)}")
        return keras.ops.convert_to_tensor(digit_bitmaps(), dtype=dtype or "float32")

    def get_config(self):
        return {}


@keras.saving.register_keras_serializable(package="kzoo")
class RandomSign(keras.initializers.Initializer):
    """Each weight +1 or -1 with equal probability (mean 0, Var 1): random ±1 codes,
    as LeCun et al. 1998 suggest for RBF prototypes of classes without a bitmap."""

    def __init__(self, seed=None):
        self.seed = seed
        self._generator = keras.random.SeedGenerator(seed)

    def __call__(self, shape, dtype=None):
        u = keras.random.uniform(shape, seed=self._generator if self.seed is None else self.seed, dtype=dtype)
        return keras.ops.where(u < 0.5, -1.0, 1.0)

    def get_config(self):
        return {"seed": self.seed}


def bilinear_filter(size: int):
    """FCN's ``upsample_filt``: the (size, size) bilinear interpolation kernel (keras.ops)."""
    factor = (size + 1) // 2
    centre = factor - 1 if size % 2 == 1 else factor - 0.5
    ramp = 1.0 - ops.abs(ops.arange(size, dtype="float32") - centre) / factor
    return ops.outer(ramp, ramp)


@keras.saving.register_keras_serializable(package="kzoo")
class Bilinear(keras.initializers.Initializer):
    """Bilinear interpolation, FCN's initialisation of its upsampling layers (Long et al. 2015, Section 3.3).

    For a (k, k, out, in) ``Conv2DTranspose`` kernel (or a (k, k, in, out) convolution's), channel c of the output
    is channel c of the input interpolated bilinearly, and no other channel contributes: the kernel is zero except
    ``w[:, :, c, c]``, the filter of FCN's ``surgery.interp``. A stride-s transposed convolution of kernel 2s
    then upsamples s times. Needs as many output as input channels and a square kernel.
    """

    def __call__(self, shape, dtype=None):
        rows, cols, a, b = shape
        if rows != cols or a != b:
            raise ValueError(f"bilinear fills a (k, k, c, c) kernel; received shape={tuple(shape)}")
        eye = ops.eye(a, dtype="float32")
        kernel = bilinear_filter(rows)[:, :, None, None] * eye[None, None, :, :]
        return ops.cast(kernel, dtype or "float32")

    def get_config(self):
        return {}
