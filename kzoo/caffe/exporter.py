"""A Keras model as a Caffe network: ``NetParameter`` layers and their blobs.

Each Keras layer becomes the Caffe layer(s) that compute the same thing, named
after it (its top blob too); activations inside a conv or dense become an
in-place layer after it. Where Keras and Caffe differ, the export makes Caffe
compute what Keras does:

- ``padding: same`` with more padding after than before (stride 2, even kernels):
  Caffe pads symmetrically, so the kernel grows by the difference, its leading
  rows/cols zero;
- pooling: Caffe rounds the pooled size up; where Keras rounds down and the sizes
  differ, the rows and cols no window of Keras reads are cut first;
- zero padding (``ZeroPadding2D``) and those cuts are depthwise convolutions with
  one tap (Caffe has no pad or crop layer that takes one input);
- a dense layer after a flatten reads Caffe's channel-first order: its rows are
  permuted;
- ``Normalization`` is a Scale (1/std, -mean/std), ``Rescaling`` a Power,
  ``lecun_tanh`` Power-TanH-Power.

A layer Caffe cannot express is a KzooError naming it.
"""

from __future__ import annotations

from typing import Any

import keras

from kzoo.caffe.export_layers import export_layer
from kzoo.caffe.export_net import DATA, Export, inputs
from kzoo.errors import KzooError


def export_model(model: Any) -> Export:
    """The Caffe network and blobs of a Keras model (a KzooError for a layer Caffe cannot express)."""
    if len(model.inputs) != 1:
        raise KzooError("a Caffe network of kzoo's has one input", f"the model has {len(model.inputs)}")
    ex = Export(model.name)
    shape = model.inputs[0].shape[1:]
    if len(shape) != 3 or None in shape:
        raise KzooError(f"Caffe export needs an image input of known size, got {tuple(shape)}")
    ex.net.input.append(DATA)
    ex.net.input_shape.add().dim.extend([1, shape[2], shape[0], shape[1]])
    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    bottoms = {layer.name: inputs(layer) for layer in layers}
    for layer in layers:
        for i in bottoms[layer.name]:
            ex.consumers.setdefault(i, []).append(layer)
    ex.by_name = {layer.name: layer for layer in layers}
    for layer in layers:
        export_layer(ex, layer, bottoms[layer.name])
    return ex


def rename_like(ex: Export, reference: Any, names: Any = None) -> None:
    """Name the exported layers as a reference network (a :class:`~kzoo.caffe.reader.Net`) names them, so that
    the weights file runs with the reference's own prototxt: each kzoo layer takes the Caffe name it came from
    (``conv1_7x7_s2`` -> ``conv1/7x7_s2``) and a batch norm's Scale the name of the Scale that follows it there."""
    from kzoo.caffe.importer import kzoo_name

    index = {kzoo_name(layer.name): layer.name for layer in reference.layers}
    by_top = {layer.proto.top[0]: layer for layer in reference.layers if len(layer.proto.top)}
    scale_of = {}
    for layer in reference.layers:
        if layer.type == "Scale" and len(layer.proto.bottom) == 1:
            src = by_top.get(layer.proto.bottom[0])
            for cand in reference.layers:  # in-place: the BatchNorm wrote the blob the Scale reads
                if cand.type == "BatchNorm" and len(cand.proto.top) and cand.proto.top[0] == layer.proto.bottom[0]:
                    src = cand
            if src is not None and src.type == "BatchNorm":
                scale_of[src.name] = layer.name
    renamed = {}
    names = names or (lambda name: name)
    for proto in ex.net.layer:
        new = index.get(kzoo_name(names(proto.name)))
        if new is None and proto.type == "Scale" and proto.name.endswith("_scale"):
            bn = index.get(kzoo_name(names(proto.name[: -len("_scale")])))
            new = scale_of.get(bn) if bn else None
        if new is not None and new != proto.name:
            renamed[proto.name] = new
    for proto in ex.net.layer:
        if proto.name in renamed:
            if proto.name in ex.blobs:
                ex.blobs[renamed[proto.name]] = ex.blobs.pop(proto.name)
            proto.name = renamed[proto.name]


WEIGHTED = {"Convolution", "Deconvolution", "InnerProduct", "BatchNorm", "Scale", "Bias", "PReLU", "Embed"}


def model_layers(ex: Export, model: Any) -> list[Any]:
    """The exported layers that hold the model's own weights (a batch norm's Scale too), not those the export
    adds for Caffe's sake (an identity convolution that pads, for one)."""
    weighted = {layer.name for layer in model.layers if layer.weights}
    return [p for p in ex.net.layer if p.name in weighted or p.name.removesuffix("_scale") in weighted]


def check_like(ex: Export, reference: Any, ours: list[Any]) -> None:
    """After :func:`rename_like`: the reference must be this network. Each layer with weights is matched by name,
    kind and shape (outputs and kernel size), and the reference has no weighted layer the model leaves empty;
    else a SpecError at the reference layer (a file of another network, or of other widths, is no reference)."""
    from kzoo.errors import SpecError

    where = reference.file
    theirs = {layer.name: layer for layer in reference.layers if layer.type in WEIGHTED}
    ours = [proto for proto in ours if ex.blobs.get(proto.name)]
    for proto in ours:
        layer = theirs.get(proto.name)
        if layer is None:
            raise SpecError(
                f"--like {where}: it has no layer {proto.name!r} for the model's {proto.type} weights",
                hint="give the prototxt of this network (the one it was imported from or declares)",
            )
        if layer.type != proto.type:
            raise layer.fail(f"it is a {layer.type} there, and the model's layer is a {proto.type}")
        kernel = ex.blobs[proto.name][0].shape
        param = {"Convolution": "convolution_param", "InnerProduct": "inner_product_param"}.get(proto.type)
        if param is not None:
            given = getattr(layer.proto, param)
            if given.num_output != kernel[0]:
                raise layer.fail(f"num_output is {given.num_output} there, and the model's layer has {kernel[0]}")
        if proto.type == "Convolution":
            mine = tuple(kernel[2:])
            want = _kernel_of(layer.proto.convolution_param)
            if want is not None and want != mine:
                raise layer.fail(f"the kernel is {want[0]}x{want[1]} there, and the model's is {mine[0]}x{mine[1]}")
    names = {proto.name for proto in ours}
    extra = [layer for name, layer in theirs.items() if name not in names]
    if extra:
        raise extra[0].fail(
            f"the model has no weights for it ({len(extra)} such layer(s) in --like {where})",
            hint="give the prototxt of this network, not of a larger or other one",
        )


def _kernel_of(param: Any) -> tuple[int, int] | None:
    if param.kernel_h or param.kernel_w:
        return int(param.kernel_h), int(param.kernel_w)
    sizes = list(param.kernel_size)
    if not sizes:
        return None
    return (int(sizes[0]), int(sizes[-1]))


def rename_declared(ex: Export, names: Any) -> None:
    """Name the exported layers by a file's ``weights.caffe.names`` rules (kzoo name -> Caffe name)."""
    if names is None:
        return
    for proto in ex.net.layer:
        new = names(proto.name)
        if new != proto.name:
            if proto.name in ex.blobs:
                ex.blobs[new] = ex.blobs.pop(proto.name)
            proto.name = new
