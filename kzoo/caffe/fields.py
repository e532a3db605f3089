"""Unknown fields and runaway nesting in a ``.prototxt``, found before protobuf parses it.

Caffe refuses a field its ``caffe.proto`` does not declare (``strid: 2``), where a
lenient reader would import it as the default stride. kzoo's schema
(kzoo.caffe.schema) declares only the fields it reads, so the protobuf parser is told
to allow unknown ones; this module walks the text once, tracking the message each
block opens, and refuses a field that is neither in kzoo's schema nor in BVLC Caffe's
own declaration of that message (:data:`CAFFE_FIELDS`), at its line and column with a
did-you-mean. Blocks of messages kzoo does not model (``python_param``, ``loss_param``)
are skipped whole. Nesting deeper than :data:`MAX_DEPTH` is refused too (protobuf's
recursive parser would raise RecursionError).

Written by hand because protobuf's text parser stops at the first unknown field, and
allowing them all hides the typos.
"""

from __future__ import annotations

import re
from typing import Any

from kzoo.caffe.schema import message
from kzoo.errors import Mark, SpecError, did_you_mean, short

MAX_DEPTH = 64  # a real network nests 3 or 4 deep

# The field names BVLC Caffe's caffe.proto declares, per message kzoo models (those it does not model are skipped).
CAFFE_FIELDS: dict[str, set[str]] = {
    "NetParameter": set("name input input_shape input_dim force_backward state debug_info layer layers".split()),
    "LayerParameter": set(
        """name type bottom top phase loss_weight param blobs propagate_down include exclude transform_param
        loss_param accuracy_param argmax_param batch_norm_param bias_param clip_param concat_param
        contrastive_loss_param convolution_param crop_param data_param dropout_param dummy_data_param
        eltwise_param elu_param embed_param exp_param flatten_param hdf5_data_param hdf5_output_param
        hinge_loss_param image_data_param infogain_loss_param inner_product_param input_param log_param
        lrn_param memory_data_param mvn_param parameter_param pooling_param power_param prelu_param
        python_param recurrent_param reduction_param relu_param reshape_param scale_param sigmoid_param
        softmax_param spp_param slice_param swish_param tanh_param threshold_param tile_param
        window_data_param""".split()
    ),
    "V1LayerParameter": set(
        """bottom top name include exclude type layer param blob_share_mode blobs_lr weight_decay loss_weight
        accuracy_param argmax_param concat_param contrastive_loss_param convolution_param data_param
        dropout_param dummy_data_param eltwise_param exp_param hdf5_data_param hdf5_output_param
        hinge_loss_param image_data_param infogain_loss_param inner_product_param lrn_param
        memory_data_param mvn_param pooling_param power_param relu_param sigmoid_param softmax_param
        slice_param tanh_param threshold_param window_data_param transform_param loss_param blobs""".split()
    ),
    "ConvolutionParameter": set(
        """num_output bias_term pad kernel_size stride dilation pad_h pad_w kernel_h kernel_w stride_h stride_w
        group weight_filler bias_filler engine axis force_nd_im2col""".split()
    ),
    "PoolingParameter": set(
        """pool pad pad_h pad_w kernel_size kernel_h kernel_w stride stride_h stride_w engine global_pooling
        round_mode ceil_mode""".split()
    ),
    "InnerProductParameter": set("num_output bias_term weight_filler bias_filler axis transpose".split()),
    "LRNParameter": set("local_size alpha beta norm_region k engine".split()),
    "DropoutParameter": set("dropout_ratio scale_train".split()),
    "ReLUParameter": set("negative_slope engine".split()),
    "ConcatParameter": set("axis concat_dim".split()),
    "EltwiseParameter": set("operation coeff stable_prod_grad".split()),
    "SoftmaxParameter": set("engine axis".split()),
    "BatchNormParameter": set("use_global_stats moving_average_fraction eps".split()),
    "ScaleParameter": set("axis num_axes filler bias_term bias_filler".split()),
    "BiasParameter": set("axis num_axes filler".split()),
    "PowerParameter": set("power scale shift".split()),
    "InputParameter": {"shape"},
    "BlobShape": {"dim"},
    "BlobProto": set("shape data diff double_data double_diff num channels height width".split()),
    "FillerParameter": set("type value min max mean std sparse variance_norm".split()),
    "ParamSpec": set("name share_mode lr_mult decay_mult".split()),
    "NetStateRule": set("phase min_level max_level stage not_stage".split()),
    "TransformationParameter": set("scale mirror crop_size mean_file mean_value force_color force_gray".split()),
    "DataParameter": set(
        "source batch_size rand_skip backend scale mean_file crop_size mirror force_encoded_color prefetch".split()
    ),
    "FlattenParameter": set("axis end_axis".split()),
    "SigmoidParameter": {"engine"},
    "TanHParameter": {"engine"},
}

_TOKEN = re.compile(
    r"""(?P<space>[ \t\r\f\v]+)|(?P<newline>\n)|(?P<comment>\#[^\n]*)"""
    r"""|(?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
    r"""|(?P<name>[A-Za-z_][\w.]*)|(?P<number>[-+]?[\w.+-]+)|(?P<open>[{<\[])|(?P<close>[}>\]])|(?P<colon>:)"""
    r"""|(?P<sep>[,;])|(?P<other>.)"""
)


def check_text(text: str, file: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and fields Caffe does not declare, at their line and column."""
    stack: list[Any] = [message("NetParameter").DESCRIPTOR]  # None: a block kzoo does not model (skipped)
    line, start = 1, 0
    state, child = "name", None  # name | after_name | after_colon | list | after_string
    for m in _TOKEN.finditer(text):
        kind, value = m.lastgroup, m.group()
        if kind == "newline":
            line, start = line + 1, m.end()
            continue
        if kind in ("space", "comment") or (kind == "sep" and state != "list"):
            continue
        if kind == "other":
            return  # not text format (an unterminated string, a stray character): protobuf reports it, located
        mark = Mark(file, line, m.start() - start + 1)
        if kind == "open" and value in "{<" and state in ("after_name", "after_colon"):
            if len(stack) >= MAX_DEPTH:
                raise SpecError(f"blocks nest more than {MAX_DEPTH} deep", mark, hint="is this a Caffe network file?")
            stack.append(child)
            state = "name"
        elif kind == "close" and value in "}>" and state in ("name", "after_string"):
            if len(stack) > 1:
                stack.pop()
            state = "name"
        elif state == "list":
            state = "name" if kind == "close" and value == "]" else "list"
        elif state == "after_colon":
            state = "list" if kind == "open" and value == "[" else "after_string" if kind == "string" else "name"
        elif state == "after_name" and kind == "colon":
            state = "after_colon"
        elif state == "after_string" and kind == "string":
            state = "after_string"  # adjacent strings are one value
        elif kind == "name" and state in ("name", "after_string", "after_name"):
            child = _field(stack[-1], value, mark)
            state = "after_name"
        # anything else is a syntax error, which protobuf's parser reports at its line


def _field(descriptor: Any, name: str, mark: Mark) -> Any:
    """The message descriptor of field ``name`` of ``descriptor`` (None: not modelled); a SpecError if Caffe has
    no such field."""
    if descriptor is None:
        return None
    field = descriptor.fields_by_name.get(name)
    if field is not None:
        return field.message_type
    known = CAFFE_FIELDS.get(descriptor.name)
    if known is None or name in known:
        return None  # declared by Caffe, not modelled by kzoo: its block is skipped
    raise SpecError(
        f"unknown field {short(name)} in {descriptor.name} (Caffe refuses it too)",
        mark,
        hint=did_you_mean(name, sorted(known | set(descriptor.fields_by_name))),
    )
