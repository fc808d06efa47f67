#!/usr/bin/env python3
"""Build Secateur's test/benchmark ONNX models from scratch.

Usage:
    python tools/make_models.py --out DIR [--only NAME ...]

Every model is generated with onnx.helper + numpy, so no network access or
pretrained weights are needed. Weights are random but deterministic: each
model gets its own RNG seeded from its name, so `--only X` writes exactly the
same bytes for X as a full run does.

BatchNormalization is deliberately left UNFUSED after every Conv: folding BN
into the conv is one of the runtime optimizer's jobs, so the models must give
it something to fold.
"""

from __future__ import annotations

import argparse
import math
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8
INPUT_NAME = "input"
OUTPUT_NAME = "logits"
BN_EPSILON = 1e-5

# The BN statistics below are random, so BN no longer normalises; on average it
# multiplies the activation variance by E[scale^2] * E[1/var]
# = 13/12 * ln(3) ~= 1.19. Dividing that out of the He init keeps the
# per-layer gain ~1 so activations neither explode nor vanish over 50 layers.
_BN_VARIANCE_GAIN = (13.0 / 12.0) * math.log(3.0)

# Residual branches are added onto the trunk, so trunk variance grows with
# every block. Damping the last conv of each branch (the role zero-init /
# Fixup plays in real training) keeps ResNet-50's trunk within a sane range.
RESIDUAL_BRANCH_GAIN = 0.25

WidthFn = Callable[[int], int]


# --------------------------------------------------------------------------
# Width helpers (the "--width-mult" knob used for the odd-width variants)
# --------------------------------------------------------------------------


def make_odd(n: int) -> int:
    """Round up to the next odd number (odd widths defeat SIMD-friendly tiling)."""
    return n if n % 2 == 1 else n + 1


def width_fn(mult: float = 1.0, odd: bool = False) -> WidthFn:
    """Map an original channel count to the variant's channel count.

    The mapping is a pure function of the original width, so any two tensors
    that must agree (residual Add operands, depthwise groups) still agree.
    """

    def fn(c: int) -> int:
        w = max(1, int(round(c * mult)))
        return make_odd(w) if odd else w

    return fn


IDENTITY_WIDTH = width_fn(1.0)
ODD_HALF_WIDTH = width_fn(0.5, odd=True)


# --------------------------------------------------------------------------
# Graph builder
# --------------------------------------------------------------------------


@dataclass
class GraphBuilder:
    """Accumulates nodes/initializers and tracks NCHW shapes for MAC counting."""

    name: str
    rng: np.random.Generator
    nodes: list = field(default_factory=list)
    initializers: list = field(default_factory=list)
    shapes: dict = field(default_factory=dict)  # tensor name -> (C, H, W) or (F,)
    macs: int = 0
    params: int = 0

    # -- low level -----------------------------------------------------------

    def add_initializer(self, name: str, array: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(array, name))
        self.params += int(array.size)
        return name

    def add_node(self, op: str, inputs: list, name: str, **attrs) -> str:
        # Output tensor gets a distinct name from the node so readers of
        # dumps never confuse the two namespaces.
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op, inputs, [out], name=name, **attrs))
        return out

    def normal(self, shape, std: float) -> np.ndarray:
        return (self.rng.standard_normal(shape) * std).astype(np.float32)

    def uniform(self, shape, lo: float, hi: float) -> np.ndarray:
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    # -- layers ----------------------------------------------------------------

    def conv(self, x: str, name: str, cout: int, k: int, stride: int = 1,
             groups: int = 1, bias: bool = False, gain: float = 1.0) -> str:
        cin, h, w = self.shapes[x]
        assert cin % groups == 0 and cout % groups == 0, (name, cin, cout, groups)
        pad = k // 2
        fan_in = (cin // groups) * k * k
        std = gain * math.sqrt(2.0 / fan_in / _BN_VARIANCE_GAIN)
        inputs = [x, self.add_initializer(f"{name}.weight",
                                          self.normal((cout, cin // groups, k, k), std))]
        if bias:
            inputs.append(self.add_initializer(f"{name}.bias", self.normal((cout,), 0.1)))
        out = self.add_node("Conv", inputs, name, kernel_shape=[k, k],
                            strides=[stride, stride], pads=[pad] * 4,
                            dilations=[1, 1], group=groups)
        ho = (h + 2 * pad - k) // stride + 1
        wo = (w + 2 * pad - k) // stride + 1
        self.shapes[out] = (cout, ho, wo)
        self.macs += cout * ho * wo * fan_in
        return out

    def batchnorm(self, x: str, name: str) -> str:
        c = self.shapes[x][0]
        inputs = [
            x,
            self.add_initializer(f"{name}.weight", self.uniform((c,), 0.5, 1.5)),
            self.add_initializer(f"{name}.bias", self.normal((c,), 0.1)),
            self.add_initializer(f"{name}.running_mean", self.normal((c,), 0.1)),
            self.add_initializer(f"{name}.running_var", self.uniform((c,), 0.5, 1.5)),
        ]
        out = self.add_node("BatchNormalization", inputs, name, epsilon=BN_EPSILON)
        self.shapes[out] = self.shapes[x]
        return out

    def relu(self, x: str, name: str) -> str:
        out = self.add_node("Relu", [x], name)
        self.shapes[out] = self.shapes[x]
        return out

    def relu6(self, x: str, name: str) -> str:
        # Opset-11+ Clip takes min/max as (shared, scalar) inputs, not attributes.
        if not any(t.name == "clip_min" for t in self.initializers):
            self.add_initializer("clip_min", np.array(0.0, dtype=np.float32))
            self.add_initializer("clip_max", np.array(6.0, dtype=np.float32))
        out = self.add_node("Clip", [x, "clip_min", "clip_max"], name)
        self.shapes[out] = self.shapes[x]
        return out

    def add(self, a: str, b: str, name: str) -> str:
        assert self.shapes[a] == self.shapes[b], (name, self.shapes[a], self.shapes[b])
        out = self.add_node("Add", [a, b], name)
        self.shapes[out] = self.shapes[a]
        return out

    def maxpool(self, x: str, name: str, k: int, stride: int, pad: int) -> str:
        c, h, w = self.shapes[x]
        out = self.add_node("MaxPool", [x], name, kernel_shape=[k, k],
                            strides=[stride, stride], pads=[pad] * 4)
        self.shapes[out] = (c, (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1)
        return out

    def global_avgpool_flatten(self, x: str, name: str) -> str:
        c = self.shapes[x][0]
        pooled = self.add_node("GlobalAveragePool", [x], f"{name}.gap")
        out = self.add_node("Flatten", [pooled], f"{name}.flatten", axis=1)
        self.shapes[out] = (c,)
        return out

    def gemm(self, x: str, name: str, nout: int) -> str:
        (nin,) = self.shapes[x]
        # torchvision-export layout: weight is [out, in] with transB=1.
        w = self.add_initializer(f"{name}.weight", self.normal((nout, nin), math.sqrt(1.0 / nin)))
        b = self.add_initializer(f"{name}.bias", self.normal((nout,), 0.01))
        out = self.add_node("Gemm", [x, w, b], name, alpha=1.0, beta=1.0, transB=1)
        self.shapes[out] = (nout,)
        self.macs += nin * nout
        return out

    # -- composites ------------------------------------------------------------

    def conv_bn(self, x: str, prefix: str, conv: str, bn: str, cout: int, k: int,
                stride: int = 1, groups: int = 1, gain: float = 1.0) -> str:
        y = self.conv(x, f"{prefix}{conv}", cout, k, stride, groups, gain=gain)
        return self.batchnorm(y, f"{prefix}{bn}")

    # -- finish ----------------------------------------------------------------

    def finish(self, input_shape: list, num_classes: int) -> onnx.ModelProto:
        # Rename the final tensor to the public output name.
        self.nodes[-1].output[0] = OUTPUT_NAME
        graph = helper.make_graph(
            self.nodes, self.name,
            inputs=[helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, input_shape)],
            outputs=[helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT,
                                                   [input_shape[0], num_classes])],
            initializer=self.initializers,
        )
        model = helper.make_model(graph, producer_name="secateur-make_models",
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        return model


def new_builder(name: str, channels: int, size: int) -> GraphBuilder:
    # crc32 (not hash()) so the seed is stable across processes.
    b = GraphBuilder(name=name, rng=np.random.default_rng(zlib.crc32(name.encode())))
    b.shapes[INPUT_NAME] = (channels, size, size)
    return b


# --------------------------------------------------------------------------
# Architectures
# --------------------------------------------------------------------------


def build_mobilenet_v1(name: str, W: WidthFn = IDENTITY_WIDTH) -> GraphBuilder:
    b = new_builder(name, 3, 224)
    x = b.relu(b.conv_bn(INPUT_NAME, "features.0.", "conv", "bn", W(32), 3, stride=2),
               "features.0.relu")
    # (out_channels, stride) of the 13 depthwise-separable blocks.
    blocks = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2),
              (512, 1), (512, 1), (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1)]
    for i, (cout, stride) in enumerate(blocks, start=1):
        p = f"features.{i}."
        cin = b.shapes[x][0]
        x = b.relu(b.conv_bn(x, p, "dw", "dw_bn", cin, 3, stride, groups=cin), p + "dw_relu")
        x = b.relu(b.conv_bn(x, p, "pw", "pw_bn", W(cout), 1), p + "pw_relu")
    x = b.global_avgpool_flatten(x, "pool")
    b.gemm(x, "classifier", 1000)
    return b


def build_mobilenet_v2(name: str, W: WidthFn = IDENTITY_WIDTH) -> GraphBuilder:
    b = new_builder(name, 3, 224)
    x = b.relu6(b.conv_bn(INPUT_NAME, "features.0.", "conv", "bn", W(32), 3, stride=2),
                "features.0.relu6")
    # torchvision's (expand t, out c, repeats n, first stride s).
    config = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    orig_in = 32  # residual decisions use the ORIGINAL widths, not the mapped ones
    idx = 1
    for t, c, n, s in config:
        for r in range(n):
            stride = s if r == 0 else 1
            p = f"features.{idx}."
            inp = x
            hidden = W(orig_in * t)
            if t != 1:
                x = b.relu6(b.conv_bn(x, p, "expand", "expand_bn", hidden, 1), p + "expand_relu6")
            x = b.relu6(b.conv_bn(x, p, "dw", "dw_bn", hidden, 3, stride, groups=hidden),
                        p + "dw_relu6")
            residual = stride == 1 and orig_in == c
            # Linear bottleneck: no activation after the projection.
            x = b.conv_bn(x, p, "project", "project_bn", W(c), 1,
                          gain=RESIDUAL_BRANCH_GAIN if residual else 1.0)
            if residual:
                x = b.add(inp, x, p + "add")
            orig_in = c
            idx += 1
    x = b.relu6(b.conv_bn(x, f"features.{idx}.", "conv", "bn", W(1280), 1),
                f"features.{idx}.relu6")
    x = b.global_avgpool_flatten(x, "pool")
    b.gemm(x, "classifier", 1000)
    return b


def _basic_block(b: GraphBuilder, x: str, p: str, planes: int, stride: int) -> str:
    identity = x
    y = b.relu(b.conv_bn(x, p, "conv1", "bn1", planes, 3, stride), p + "relu1")
    y = b.conv_bn(y, p, "conv2", "bn2", planes, 3, gain=RESIDUAL_BRANCH_GAIN)
    if stride != 1 or b.shapes[x][0] != planes:
        identity = b.conv_bn(x, p, "downsample.0", "downsample.1", planes, 1, stride)
    return b.relu(b.add(y, identity, p + "add"), p + "relu2")


def _bottleneck(b: GraphBuilder, x: str, p: str, planes: int, out: int, stride: int) -> str:
    # torchvision v1.5: the stride sits on the 3x3 conv, not the first 1x1.
    identity = x
    y = b.relu(b.conv_bn(x, p, "conv1", "bn1", planes, 1), p + "relu1")
    y = b.relu(b.conv_bn(y, p, "conv2", "bn2", planes, 3, stride), p + "relu2")
    y = b.conv_bn(y, p, "conv3", "bn3", out, 1, gain=RESIDUAL_BRANCH_GAIN)
    if stride != 1 or b.shapes[x][0] != out:
        identity = b.conv_bn(x, p, "downsample.0", "downsample.1", out, 1, stride)
    return b.relu(b.add(y, identity, p + "add"), p + "relu3")


def build_resnet(name: str, layers: list, bottleneck: bool,
                 W: WidthFn = IDENTITY_WIDTH) -> GraphBuilder:
    b = new_builder(name, 3, 224)
    x = b.relu(b.conv_bn(INPUT_NAME, "", "conv1", "bn1", W(64), 7, stride=2), "relu")
    x = b.maxpool(x, "maxpool", 3, 2, 1)
    for li, (planes, blocks) in enumerate(zip([64, 128, 256, 512], layers), start=1):
        for bi in range(blocks):
            stride = 2 if (li > 1 and bi == 0) else 1
            p = f"layer{li}.{bi}."
            if bottleneck:
                x = _bottleneck(b, x, p, W(planes), W(planes * 4), stride)
            else:
                x = _basic_block(b, x, p, W(planes), stride)
    x = b.global_avgpool_flatten(x, "pool")
    b.gemm(x, "fc", 1000)
    return b


def build_tiny_cnn(name: str) -> GraphBuilder:
    """Small, fast model for quick tests and the demo: covers every op family."""
    b = new_builder(name, 3, 64)
    x = b.relu(b.conv_bn(INPUT_NAME, "stem.", "conv", "bn", 13, 3), "stem.relu")  # 64x64
    x = b.maxpool(x, "pool1", 2, 2, 0)                                              # 32x32
    x = b.relu(b.conv_bn(x, "down.", "conv", "bn", 37, 3, stride=2), "down.relu")   # 16x16
    # One residual block so Add with a skip connection is exercised.
    y = b.relu(b.conv_bn(x, "res.", "conv1", "bn1", 37, 3), "res.relu1")
    y = b.conv_bn(y, "res.", "conv2", "bn2", 37, 3, gain=RESIDUAL_BRANCH_GAIN)
    x = b.relu(b.add(y, x, "res.add"), "res.relu2")
    # A biased 1x1 conv so Conv's optional B input is covered too.
    x = b.relu(b.conv(x, "head.conv", 29, 1, bias=True), "head.relu")
    x = b.global_avgpool_flatten(x, "pool")
    b.gemm(x, "fc", 10)
    return b


# name -> (builder thunk, input shape, number of classes)
MODELS: dict = {
    "mobilenet_v1": (lambda n: build_mobilenet_v1(n), [1, 3, 224, 224], 1000),
    "mobilenet_v2": (lambda n: build_mobilenet_v2(n), [1, 3, 224, 224], 1000),
    "resnet18": (lambda n: build_resnet(n, [2, 2, 2, 2], False), [1, 3, 224, 224], 1000),
    "resnet50": (lambda n: build_resnet(n, [3, 4, 6, 3], True), [1, 3, 224, 224], 1000),
    "mobilenet_v2_odd": (lambda n: build_mobilenet_v2(n, ODD_HALF_WIDTH), [1, 3, 224, 224], 1000),
    "resnet50_odd": (lambda n: build_resnet(n, [3, 4, 6, 3], True, ODD_HALF_WIDTH),
                     [1, 3, 224, 224], 1000),
    "tiny_cnn": (lambda n: build_tiny_cnn(n), [1, 3, 64, 64], 10),
}


# --------------------------------------------------------------------------
# Beyond CNNs (issue 9): a tiny transformer encoder and a stacked LSTM, built
# node by node with onnx.helper. Inputs: token ids (int64) / a float sequence.
# --------------------------------------------------------------------------

class SeqBuilder:
    """Minimal node/initializer collector for the sequence models."""

    def __init__(self, name: str):
        self.rng = np.random.default_rng(zlib.crc32(name.encode()))
        self.nodes: list = []
        self.initializers: list = []
        self.params = 0
        self.macs = 0
        self._n = 0

    def const(self, name: str, value: np.ndarray) -> str:
        self.initializers.append(numpy_helper.from_array(value, name))
        if value.dtype == np.float32:
            self.params += value.size
        return name

    def weight(self, name: str, shape: list, scale: float | None = None) -> str:
        scale = scale if scale is not None else 1.0 / math.sqrt(shape[0])
        return self.const(name, (self.rng.standard_normal(shape) * scale).astype(np.float32))

    def op(self, op_type: str, inputs: list, name: str, outputs: int = 1, **attrs) -> str | list:
        outs = [f"{name}.out{i}" if outputs > 1 else name for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=name, **attrs))
        return outs if outputs > 1 else outs[0]

    def linear(self, x: str, name: str, fan_in: int, fan_out: int, rows: int) -> str:
        w = self.weight(f"{name}.weight", [fan_in, fan_out])
        b = self.const(f"{name}.bias", (self.rng.standard_normal(fan_out) * 0.02).astype(np.float32))
        self.macs += rows * fan_in * fan_out
        return self.op("Add", [self.op("MatMul", [x, w], f"{name}.matmul"), b], f"{name}.add")

    def layer_norm(self, x: str, name: str, dim: int) -> str:
        g = self.const(f"{name}.scale", (1 + 0.1 * self.rng.standard_normal(dim)).astype(np.float32))
        b = self.const(f"{name}.bias", (0.1 * self.rng.standard_normal(dim)).astype(np.float32))
        return self.op("LayerNormalization", [x, g, b], name, axis=-1, epsilon=1e-5)

    def model(self, name: str, inputs: list, outputs: list) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="secateur-make-models")
        m.ir_version = IR_VERSION
        return m


def build_transformer_tiny(name: str, vocab: int = 64, seq: int = 16, dim: int = 32, heads: int = 4,
                           layers: int = 2, ffn: int = 64) -> tuple[onnx.ModelProto, SeqBuilder]:
    """Token + position embeddings, pre-LN encoder blocks (multi-head attention, GELU MLP), final LN."""
    b = SeqBuilder(name)
    head = dim // heads
    x = b.op("Gather", [b.weight("embed.tokens", [vocab, dim], 1.0), "input_ids"], "embed.gather", axis=0)
    x = b.op("Add", [x, b.weight("embed.positions", [seq, dim], 0.1)], "embed.add")
    split_shape = b.const("shape.split_heads", np.array([1, seq, heads, head], dtype=np.int64))
    merge_shape = b.const("shape.merge_heads", np.array([1, seq, dim], dtype=np.int64))
    scale = b.const("attn.scale", np.array(1.0 / math.sqrt(head), dtype=np.float32))
    half = b.const("gelu.half", np.array(0.5, dtype=np.float32))
    one = b.const("gelu.one", np.array(1.0, dtype=np.float32))
    rsqrt2 = b.const("gelu.rsqrt2", np.array(1.0 / math.sqrt(2.0), dtype=np.float32))
    for i in range(layers):
        p = f"block{i}"
        h = b.layer_norm(x, f"{p}.ln1", dim)
        qkv = []
        for part in ("q", "k", "v"):
            t = b.linear(h, f"{p}.attn.{part}", dim, dim, seq)
            t = b.op("Reshape", [t, split_shape], f"{p}.attn.{part}.split")
            perm = [0, 2, 3, 1] if part == "k" else [0, 2, 1, 3]
            qkv.append(b.op("Transpose", [t], f"{p}.attn.{part}.heads", perm=perm))
        scores = b.op("MatMul", [qkv[0], qkv[1]], f"{p}.attn.scores")
        scores = b.op("Mul", [scores, scale], f"{p}.attn.scale")
        probs = b.op("Softmax", [scores], f"{p}.attn.softmax", axis=-1)
        ctx = b.op("MatMul", [probs, qkv[2]], f"{p}.attn.context")
        b.macs += 2 * heads * seq * seq * head
        ctx = b.op("Transpose", [ctx], f"{p}.attn.merge", perm=[0, 2, 1, 3])
        ctx = b.op("Reshape", [ctx, merge_shape], f"{p}.attn.flatten")
        x = b.op("Add", [x, b.linear(ctx, f"{p}.attn.out", dim, dim, seq)], f"{p}.residual1")
        h = b.layer_norm(x, f"{p}.ln2", dim)
        h = b.linear(h, f"{p}.mlp.fc1", dim, ffn, seq)
        # GELU written out as x * 0.5 * (1 + erf(x / sqrt 2)), the form exporters emit.
        e = b.op("Erf", [b.op("Mul", [h, rsqrt2], f"{p}.mlp.gelu.div")], f"{p}.mlp.gelu.erf")
        e = b.op("Mul", [b.op("Add", [e, one], f"{p}.mlp.gelu.add"), half], f"{p}.mlp.gelu.half")
        h = b.op("Mul", [h, e], f"{p}.mlp.gelu")
        x = b.op("Add", [x, b.linear(h, f"{p}.mlp.fc2", ffn, dim, seq)], f"{p}.residual2")
    x = b.layer_norm(x, "final.ln", dim)
    b.op("Identity", [x], "hidden_states")
    model = b.model(name, [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, seq])],
                    [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, [1, seq, dim])])
    return model, b


def build_lstm_tiny(name: str, steps: int = 12, batch: int = 2, features: int = 16, hidden: int = 24,
                    classes: int = 5) -> tuple[onnx.ModelProto, SeqBuilder]:
    """Bidirectional LSTM -> forward LSTM over its concatenated outputs -> linear head on the last state."""
    b = SeqBuilder(name)

    def lstm(x: str, p: str, inp: int, dirs: int, direction: str) -> list:
        s = 1.0 / math.sqrt(hidden)
        w = b.weight(f"{p}.W", [dirs, 4 * hidden, inp], s)
        r = b.weight(f"{p}.R", [dirs, 4 * hidden, hidden], s)
        bias = b.weight(f"{p}.B", [dirs, 8 * hidden], 0.1)
        b.macs += steps * batch * dirs * 4 * hidden * (inp + hidden)
        return b.op("LSTM", [x, w, r, bias], p, outputs=3, hidden_size=hidden, direction=direction)

    y, _, _ = lstm("sequence", "lstm1", features, 2, "bidirectional")
    # Y is (steps, 2, batch, hidden): put both directions side by side per step.
    y = b.op("Transpose", [y], "lstm1.merge", perm=[0, 2, 1, 3])
    y = b.op("Reshape", [y, b.const("shape.merge", np.array([steps, batch, 2 * hidden], dtype=np.int64))],
             "lstm1.flatten")
    _, h, _ = lstm(y, "lstm2", 2 * hidden, 1, "forward")
    h = b.op("Squeeze", [h, b.const("axes.dir", np.array([0], dtype=np.int64))], "lstm2.last")
    b.linear(h, "head", hidden, classes, batch)
    b.op("Identity", ["head.add"], "logits")
    model = b.model(name, [helper.make_tensor_value_info("sequence", TensorProto.FLOAT, [steps, batch, features])],
                    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])])
    return model, b


# name -> builder returning (model, builder); inputs are not image tensors, so they stand apart from MODELS.
SEQUENCE_MODELS: dict = {
    "transformer_tiny": build_transformer_tiny,
    "lstm_tiny": build_lstm_tiny,
}


def build_model(name: str) -> tuple[onnx.ModelProto, GraphBuilder]:
    if name in SEQUENCE_MODELS:
        return SEQUENCE_MODELS[name](name)
    thunk, input_shape, num_classes = MODELS[name]
    b = thunk(name)
    return b.finish(input_shape, num_classes), b


def human(n: float) -> str:
    for unit in ["", "K", "M", "G"]:
        if abs(n) < 1000:
            return f"{n:.2f}{unit}" if unit else str(int(n))
        n /= 1000
    return f"{n:.2f}T"


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    parser.add_argument("--only", nargs="+", action="extend", choices=sorted([*MODELS, *SEQUENCE_MODELS]),
                        metavar="NAME",
                        help=f"build only these models (choices: {', '.join([*MODELS, *SEQUENCE_MODELS])})")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{'model':<18} {'params':>10} {'MACs':>10} {'nodes':>6}  file")
    for name in args.only or [*MODELS, *SEQUENCE_MODELS]:
        model, b = build_model(name)
        onnx.checker.check_model(model, full_check=True)
        path = args.out / f"{name}.onnx"
        path.write_bytes(model.SerializeToString())
        print(f"{name:<18} {human(b.params):>10} {human(b.macs):>10} "
              f"{len(b.nodes):>6}  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
