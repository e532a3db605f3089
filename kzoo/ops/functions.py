"""Initializers and activations the language knows, with their arguments.

This module is the static catalogue (no Keras import): each entry declares
its argument schema and how to make the Keras object, which is imported
lazily. In YAML an initializer or activation is a name or a one-key mapping
with arguments::

    init: he_normal
    init: {variance_scaling: {scale: 2, mode: fan_in, distribution: truncated_normal}}
    activation: {leaky_relu: {beta: 0.1}}

Variance rules, with n_in = fan-in (kernel rows × cols × input channels) and
n_out = fan-out (kernel rows × cols × filters):

=================  ============================  ======================
name               distribution                  Var(w)
=================  ============================  ======================
lecun_normal       truncated normal              1 / n_in
lecun_uniform      U[-√(3/n_in), √(3/n_in)]      1 / n_in
glorot_normal      truncated normal              2 / (n_in + n_out)
glorot_uniform     U[-√(6/(n_in+n_out)), …]      2 / (n_in + n_out)
he_normal          truncated normal              2 / n_in
he_uniform         U[-√(6/n_in), √(6/n_in)]      2 / n_in
torch_legacy       U[-1/√n_in, 1/√n_in]          1 / (3 n_in)
variance_scaling   as its mode/distribution say  scale / n
=================  ============================  ======================

(The truncated normals are rescaled so their variance is exactly the rule.)

Caffe's fillers, by their Caffe names (``variance_norm``: fan_in, the default,
fan_out or average):

=========================  ================================================
xavier                     U[-√(3/n), √(3/n)]: lecun_uniform with fan_in,
                           variance_scaling(1, mode, uniform) otherwise
                           (not glorot_uniform, whatever its name suggests)
msra                       N(0, 2/n), not truncated: variance_scaling(2,
                           mode, untruncated_normal)
gaussian {std, mean}       N(mean, std²): random_normal
constant {value}           value (already Keras's ``constant``)
=========================  ================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kzoo.registry import Registry


class FnArgs(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, validate_default=True, frozen=True, allow_inf_nan=False)


class Seeded(FnArgs):
    seed: int | None = None


@dataclass(frozen=True)
class FnDef:
    """A registered initializer or activation."""

    name: str
    Args: type[FnArgs]
    make: Callable[[dict[str, Any]], Any]  # validated args -> Keras object or name
    doc: str


INITIALIZERS: Registry[FnDef] = Registry("initializer")
ACTIVATIONS: Registry[FnDef] = Registry("activation")


def register_initializer(name: str, args: type[FnArgs], make: Callable[[dict], Any], doc: str) -> FnDef:
    return INITIALIZERS.register(name, FnDef(name, args, make, doc))


def register_activation(name: str, args: type[FnArgs], make: Callable[[dict], Any], doc: str) -> FnDef:
    return ACTIVATIONS.register(name, FnDef(name, args, make, doc))


def _keras_init(class_name: str) -> Callable[[dict], Any]:
    def make(args: dict) -> Any:
        import keras

        return getattr(keras.initializers, class_name)(**args)

    return make


def _kzoo_obj(kind: str, class_name: str) -> Callable[[dict], Any]:
    """A maker of kzoo's own Keras object ``class_name`` from kzoo.keras.initializers or .activations."""

    def make(args: dict) -> Any:
        from kzoo.keras import activations, initializers  # Keras only when a layer is built

        return getattr(initializers if kind == "initializer" else activations, class_name)(**args)

    return make


class VarianceScalingArgs(Seeded):
    scale: float = Field(1.0, gt=0)
    mode: Literal["fan_in", "fan_out", "fan_avg"] = "fan_in"
    distribution: Literal["truncated_normal", "untruncated_normal", "uniform"] = "truncated_normal"


class OrthogonalArgs(Seeded):
    gain: float = 1.0


class ConstantArgs(FnArgs):
    value: float = 0.0


class NormalArgs(Seeded):
    mean: float = 0.0
    stddev: float = Field(0.05, gt=0)


class UniformArgs(Seeded):
    minval: float = -0.05
    maxval: float = 0.05


_BUILTIN_INITS = {
    "lecun_normal": ("LecunNormal", Seeded, "truncated normal, Var = 1/n_in (LeCun et al. 1998)"),
    "lecun_uniform": ("LecunUniform", Seeded, "U[-sqrt(3/n_in), sqrt(3/n_in)], Var = 1/n_in"),
    "glorot_normal": ("GlorotNormal", Seeded, "truncated normal, Var = 2/(n_in+n_out) (Glorot & Bengio 2010)"),
    "glorot_uniform": ("GlorotUniform", Seeded, "U[-sqrt(6/(n_in+n_out)), ...], Var = 2/(n_in+n_out)"),
    "he_normal": ("HeNormal", Seeded, "truncated normal, Var = 2/n_in (He et al. 2015)"),
    "he_uniform": ("HeUniform", Seeded, "U[-sqrt(6/n_in), sqrt(6/n_in)], Var = 2/n_in"),
    "orthogonal": ("Orthogonal", OrthogonalArgs, "a (gain-scaled) random orthogonal matrix (Saxe et al. 2014)"),
    "zeros": ("Zeros", FnArgs, "all weights 0"),
    "ones": ("Ones", FnArgs, "all weights 1"),
    "constant": ("Constant", ConstantArgs, "all weights equal to value"),
    "variance_scaling": ("VarianceScaling", VarianceScalingArgs, "Var = scale/n, n by mode"),
    "random_normal": ("RandomNormal", NormalArgs, "N(mean, stddev^2), e.g. VGG's N(0, 0.01^2)"),
    "random_uniform": ("RandomUniform", UniformArgs, "U[minval, maxval]"),
}

for _name, (_cls, _args, _doc) in _BUILTIN_INITS.items():
    register_initializer(_name, _args, _keras_init(_cls), _doc)


class CaffeVarianceArgs(Seeded):
    variance_norm: Literal["fan_in", "fan_out", "average"] = "fan_in"


class GaussianArgs(Seeded):
    std: float = Field(0.01, gt=0)
    mean: float = 0.0


_CAFFE_MODE = {"fan_in": "fan_in", "fan_out": "fan_out", "average": "fan_avg"}


def _caffe_variance(scale: float, distribution: str) -> Callable[[dict], Any]:
    def make(args: dict) -> Any:
        import keras

        mode = _CAFFE_MODE[args.get("variance_norm", "fan_in")]
        return keras.initializers.VarianceScaling(scale, mode, distribution, seed=args.get("seed"))

    return make


def _gaussian(args: dict) -> Any:
    import keras

    return keras.initializers.RandomNormal(args.get("mean", 0.0), args.get("std", 0.01), seed=args.get("seed"))


register_initializer(
    "xavier",
    CaffeVarianceArgs,
    _caffe_variance(1.0, "uniform"),
    "Caffe's xavier filler: U[-sqrt(3/n), sqrt(3/n)], n = fan_in by default (= lecun_uniform)",
)
register_initializer(
    "msra",
    CaffeVarianceArgs,
    _caffe_variance(2.0, "untruncated_normal"),
    "Caffe's msra filler: N(0, 2/n), n = fan_in by default (= variance_scaling(2, fan_in, untruncated_normal))",
)
register_initializer("gaussian", GaussianArgs, _gaussian, "Caffe's gaussian filler: N(mean, std^2) (= random_normal)")

register_initializer(
    "torch_legacy",
    Seeded,
    _kzoo_obj("initializer", "TorchLegacy"),
    "U[-1/sqrt(n_in), 1/sqrt(n_in)], Var = 1/(3 n_in): too small by a factor 3 for tanh",
)

register_initializer(
    "digit_bitmaps",
    FnArgs,
    _kzoo_obj("initializer", "DigitBitmaps"),
    "LeNet-5's RBF prototypes: ten 7x12 digit bitmaps of +-1 (an (84, 10) kernel only)",
)

register_initializer(
    "bilinear",
    FnArgs,
    _kzoo_obj("initializer", "Bilinear"),
    "bilinear interpolation, channel by channel: FCN's upsampling kernels (a (k, k, c, c) kernel only)",
)

register_initializer(
    "random_sign",
    Seeded,
    _kzoo_obj("initializer", "RandomSign"),
    "+1 or -1 with equal probability: Var = 1 (random RBF codes)",
)


class LeakyArgs(FnArgs):
    beta: float = Field(0.01, ge=0, le=1)  # Caffe's negative_slope may be any of these


class EluArgs(FnArgs):
    alpha: float = Field(1.0, gt=0)


class MapSoftmaxArgs(FnArgs):
    j: float = Field(1.0, ge=0, le=1000)  # the rubbish class's penalty (LeCun et al. 1998, Eq. 9)


def _name(keras_name: str) -> Callable[[dict], Any]:
    return lambda args: keras_name


_BUILTIN_ACTS = {
    "relu": "max(x, 0)",
    "sigmoid": "1 / (1 + exp(-x))",
    "tanh": "tanh(x)",
    "hard_tanh": "clip(x, -1, 1)",
    "softmax": "exp(x) / sum(exp(x)) over the last axis",
    "linear": "x (no activation)",
}
for _name_, _doc in _BUILTIN_ACTS.items():
    register_activation(_name_, FnArgs, _name(_name_), _doc)

register_activation("leaky_relu", LeakyArgs, _kzoo_obj("activation", "LeakyReLU"), "x if x > 0 else beta * x")
register_activation("elu", EluArgs, _kzoo_obj("activation", "ELU"), "x if x > 0 else alpha (exp(x) - 1)")
register_activation(
    "map_softmax",
    MapSoftmaxArgs,
    _kzoo_obj("activation", "MapSoftmax"),
    "exp(x_i) / (exp(-j) + sum_k exp(x_k)): a softmax with a rubbish class of penalty j (LeCun et al. 1998, Eq. 9)",
)
register_activation("lecun_tanh", FnArgs, _kzoo_obj("activation", "LecunTanh"), "1.7159 tanh(2x/3) (LeCun et al. 1998)")
