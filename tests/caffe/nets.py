"""Caffe network definitions the tests write (beside the released ones in ../shared/caffe)."""

# Every layer kind and option the importer supports that the released files do not use: kernel_h/w, pad_h/w,
# dilation, depthwise groups, no bias, AVE pooling with pad and rounding-up, global pooling, within-channel
# LRN, Scale alone, Power, Eltwise PROD / MAX / SUM with coefficients, Sigmoid, TanH, ELU, leaky ReLU,
# Split, Concat, Flatten then InnerProduct, Dropout, Softmax.
TRICKY = """
name: "tricky"
input: "data"
input_shape { dim: 1 dim: 3 dim: 23 dim: 21 }
layer { name: "c1" type: "Convolution" bottom: "data" top: "c1"
  convolution_param { num_output: 8 kernel_h: 3 kernel_w: 5 pad_h: 1 pad_w: 2 stride: 2 } }
layer { name: "r1" type: "ReLU" bottom: "c1" top: "c1" relu_param { negative_slope: 0.1 } }
layer { name: "split" type: "Split" bottom: "c1" top: "s1" top: "s2" }
layer { name: "dw" type: "Convolution" bottom: "s1" top: "dw"
  convolution_param { num_output: 8 group: 8 kernel_size: 3 pad: 2 dilation: 2 bias_term: false } }
layer { name: "e1" type: "ELU" bottom: "dw" top: "dw" elu_param { alpha: 0.5 } }
layer { name: "sc" type: "Scale" bottom: "s2" top: "sc" scale_param { bias_term: true } }
layer { name: "th" type: "TanH" bottom: "sc" top: "sc" }
layer { name: "prod" type: "Eltwise" bottom: "dw" bottom: "sc" top: "prod" eltwise_param { operation: PROD } }
layer { name: "mx" type: "Eltwise" bottom: "prod" bottom: "s2" top: "mx" eltwise_param { operation: MAX } }
layer { name: "sum" type: "Eltwise" bottom: "mx" bottom: "dw" top: "sum" eltwise_param { coeff: 1 coeff: -0.5 } }
layer { name: "sg" type: "Sigmoid" bottom: "sum" top: "sg" }
layer { name: "pw" type: "Power" bottom: "sg" top: "pw" power_param { power: 2 scale: 0.5 shift: 1 } }
layer { name: "lrn" type: "LRN" bottom: "pw" top: "lrn"
  lrn_param { local_size: 3 alpha: 0.5 beta: 0.75 norm_region: WITHIN_CHANNEL } }
layer { name: "ave" type: "Pooling" bottom: "lrn" top: "ave"
  pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 1 } }
layer { name: "cat" type: "Concat" bottom: "ave" bottom: "ave" top: "cat" }
layer { name: "g" type: "Pooling" bottom: "cat" top: "g" pooling_param { pool: MAX global_pooling: true } }
layer { name: "flat" type: "Flatten" bottom: "cat" top: "flat" }
layer { name: "fc" type: "InnerProduct" bottom: "flat" top: "fc" inner_product_param { num_output: 7 } }
layer { name: "drop" type: "Dropout" bottom: "fc" top: "fc" dropout_param { dropout_ratio: 0.3 } }
layer { name: "fc2" type: "InnerProduct" bottom: "g" top: "fc2" inner_product_param { num_output: 7 } }
layer { name: "both" type: "Eltwise" bottom: "fc" bottom: "fc2" top: "both" }
layer { name: "prob" type: "Softmax" bottom: "both" top: "prob" }
"""

# LeNet in the legacy V1 format, as a train_val file: data layers (TRAIN and TEST), a loss and an accuracy.
LENET_V1_TRAIN_VAL = """
name: "LeNet"
layers { name: "mnist" type: DATA top: "data" top: "label" include { phase: TRAIN } }
layers { name: "mnist" type: DATA top: "data" top: "label" include { phase: TEST } }
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" blobs_lr: 1 blobs_lr: 2
  convolution_param { num_output: 20 kernel_size: 5 stride: 1 weight_filler { type: "xavier" } } }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layers { name: "ip1" type: INNER_PRODUCT bottom: "pool1" top: "ip1" inner_product_param { num_output: 50 } }
layers { name: "relu1" type: RELU bottom: "ip1" top: "ip1" }
layers { name: "ip2" type: INNER_PRODUCT bottom: "ip1" top: "ip2" inner_product_param { num_output: 10 } }
layers { name: "accuracy" type: ACCURACY bottom: "ip2" bottom: "label" top: "accuracy" include { phase: TEST } }
layers { name: "loss" type: SOFTMAX_LOSS bottom: "ip2" bottom: "label" top: "loss" }
"""

# Caffe's Bias layer (OpenCV's dnn lacks it, so this one is checked statically and through export).
BIAS = """
input: "data" input_shape { dim: 1 dim: 3 dim: 5 dim: 5 }
layer { name: "b" type: "Bias" bottom: "data" top: "b" }
"""


def squeezenet_v11() -> str:
    """SqueezeNet v1.1's deploy definition (Iandola et al. 2016; DeepScale/SqueezeNet, SqueezeNet_v1.1), written
    out as its release lays it out: eight fire modules of squeeze1x1 -> expand1x1 | expand3x3 -> concat."""
    out = ['name: "SqueezeNet_v1.1"', 'input: "data"', "input_shape { dim: 1 dim: 3 dim: 227 dim: 227 }"]

    def conv(name, bottom, n, k, stride=1, pad=0):
        out.append(
            f'layer {{ name: "{name}" type: "Convolution" bottom: "{bottom}" top: "{name}" '
            f"convolution_param {{ num_output: {n} kernel_size: {k} stride: {stride} pad: {pad} "
            'weight_filler { type: "xavier" } } }'
        )
        relu = name.replace("/", "/relu_") if "/" in name else f"relu_{name}"
        out.append(f'layer {{ name: "{relu}" type: "ReLU" bottom: "{name}" top: "{name}" }}')

    def pool(name, bottom):
        out.append(
            f'layer {{ name: "{name}" type: "Pooling" bottom: "{bottom}" top: "{name}" '
            "pooling_param { pool: MAX kernel_size: 3 stride: 2 } }"
        )

    def fire(k, bottom, squeeze, expand):
        f = f"fire{k}"
        conv(f"{f}/squeeze1x1", bottom, squeeze, 1)
        conv(f"{f}/expand1x1", f"{f}/squeeze1x1", expand, 1)
        conv(f"{f}/expand3x3", f"{f}/squeeze1x1", expand, 3, pad=1)
        out.append(
            f'layer {{ name: "{f}/concat" type: "Concat" bottom: "{f}/expand1x1" bottom: "{f}/expand3x3" '
            f'top: "{f}/concat" }}'
        )
        return f"{f}/concat"

    conv("conv1", "data", 64, 3, stride=2)
    pool("pool1", "conv1")
    x = fire(3, fire(2, "pool1", 16, 64), 16, 64)
    pool("pool3", x)
    x = fire(5, fire(4, "pool3", 32, 128), 32, 128)
    pool("pool5", x)
    x = fire(9, fire(8, fire(7, fire(6, "pool5", 48, 192), 48, 192), 64, 256), 64, 256)
    out.append(
        f'layer {{ name: "drop9" type: "Dropout" bottom: "{x}" top: "{x}" dropout_param {{ dropout_ratio: 0.5 }} }}'
    )
    conv("conv10", x, 1000, 1)
    out.append('layer { name: "pool10" type: "Pooling" bottom: "conv10" top: "pool10"')
    out.append("  pooling_param { pool: AVE global_pooling: true } }")
    out.append('layer { name: "prob" type: "Softmax" bottom: "pool10" top: "prob" }')
    return "\n".join(out) + "\n"
