"""Every fast kernel path against onnxruntime, one geometry at a time.

Each family (depthwise conv, dense / grouped conv, max pooling, Gemm on a constant B) is one ONNX model holding many
independent cases — one input and one output per case, named after its geometry — so one `secateur run`
checks them all and a failure names the geometry. The cases sweep what the SIMD kernels special-case:
odd channel counts and widths (masked tails), strides, dilations, asymmetric pads, 1×1 / 3×3 / 5×5 /
7×7 windows, the Winograd 3×3 path (odd output sizes, several bands), ConvTranspose, planes small enough to share a vector across rows (7×7) and large enough to need several
staging bands, and the fused epilogues (bias, Relu, Clip, residual Add) the optimizer folds into a conv.

Tolerance: rtol 1e-4, atol 1e-5 against onnxruntime 1.32 with graph optimisations off (the literal
ONNX semantics), the same as the model-level differential tests.
"""

from __future__ import annotations

import zlib

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

RTOL = 1e-4
ATOL = 1e-5


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def out_size(n, k, s, d, pb, pe):
    return (n + pb + pe - d * (k - 1) - 1) // s + 1


class Family:
    """Accumulates independent single-op cases into one graph."""

    def __init__(self, name: str):
        self.name, self.nodes, self.inputs, self.outputs, self.inits = name, [], [], [], []
        self.feeds: dict[str, np.ndarray] = {}

    def add_input(self, case: str, shape) -> str:
        name = f"x_{case}"
        self.inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape)))
        self.feeds[name] = rng_for(name).standard_normal(shape).astype(np.float32)
        return name

    def add_init(self, name: str, value: np.ndarray) -> str:
        self.inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    def add_output(self, name: str) -> None:
        self.outputs.append(onnx.ValueInfoProto(name=name))  # type left to shape inference

    def conv(self, case, c, m, hw, k, s=(1, 1), d=(1, 1), pads=(0, 0, 0, 0), group=1,
             bias=True, act=None, residual=False, batch=1):
        x = self.add_input(case, (batch, c) + hw)
        r = rng_for("w_" + case)
        w = self.add_init(f"w_{case}", r.standard_normal((m, c // group) + k) * (1.0 / np.sqrt(c // group * k[0] * k[1])))
        ins = [x, w]
        if bias:
            ins.append(self.add_init(f"b_{case}", r.standard_normal(m)))
        y = f"conv_{case}"
        self.nodes.append(helper.make_node("Conv", ins, [y], kernel_shape=list(k), strides=list(s),
                                           dilations=list(d), pads=list(pads), group=group))
        if residual:
            oh = out_size(hw[0], k[0], s[0], d[0], pads[0], pads[2])
            ow = out_size(hw[1], k[1], s[1], d[1], pads[1], pads[3])
            skip = self.add_input(f"skip_{case}", (batch, m, oh, ow))
            self.nodes.append(helper.make_node("Add", [y, skip], [f"add_{case}"]))
            y = f"add_{case}"
        if act == "relu":
            self.nodes.append(helper.make_node("Relu", [y], [f"relu_{case}"]))
            y = f"relu_{case}"
        elif act == "clip":
            lo = self.add_init(f"lo_{case}", np.array(0.0))
            hi = self.add_init(f"hi_{case}", np.array(6.0))
            self.nodes.append(helper.make_node("Clip", [y, lo, hi], [f"clip_{case}"]))
            y = f"clip_{case}"
        elif act == "hardswish":
            self.nodes.append(helper.make_node("HardSwish", [y], [f"hswish_{case}"]))
            y = f"hswish_{case}"
        elif act == "hardsigmoid":
            self.nodes.append(helper.make_node("HardSigmoid", [y], [f"hsig_{case}"], alpha=0.3, beta=0.4))
            y = f"hsig_{case}"
        self.nodes.append(helper.make_node("Identity", [y], [f"y_{case}"]))
        self.add_output(f"y_{case}")

    def conv_transpose(self, case, c, m, hw, k, s=(1, 1), d=(1, 1), pads=(0, 0, 0, 0), group=1, out_pad=(0, 0)):
        x = self.add_input(case, (1, c) + hw)
        r = rng_for("w_" + case)
        w = self.add_init(f"w_{case}", r.standard_normal((c, m // group) + k) * 0.3)
        b = self.add_init(f"b_{case}", r.standard_normal(m))
        self.nodes.append(helper.make_node("ConvTranspose", [x, w, b], [f"y_{case}"], kernel_shape=list(k),
                                           strides=list(s), dilations=list(d), pads=list(pads), group=group,
                                           output_padding=list(out_pad)))
        self.add_output(f"y_{case}")

    def gemm(self, case, m, n, k, trans_a=0, trans_b=0, alpha=1.0, beta=1.0, c_shape=None, act=None):
        """Gemm with a constant B (an initializer: the packed B-panel path) and A from the input."""
        a = self.add_input(case, (k, m) if trans_a else (m, k))
        r = rng_for("w_" + case)
        b = self.add_init(f"w_{case}", r.standard_normal((n, k) if trans_b else (k, n)) / np.sqrt(k))
        ins = [a, b]
        if c_shape is not None:
            ins.append(self.add_init(f"c_{case}", r.standard_normal(c_shape)))
        y = f"gemm_{case}"
        self.nodes.append(helper.make_node("Gemm", ins, [y], transA=trans_a, transB=trans_b, alpha=alpha, beta=beta))
        if act == "relu":
            self.nodes.append(helper.make_node("Relu", [y], [f"relu_{case}"]))
            y = f"relu_{case}"
        self.nodes.append(helper.make_node("Identity", [y], [f"y_{case}"]))
        self.add_output(f"y_{case}")

    def matmul(self, case, a_shape, n):
        """MatMul with a constant 2-D B (the packed B-panel path): A's batch dims become rows."""
        a = self.add_input(case, a_shape)
        k = a_shape[-1]
        b = self.add_init(f"w_{case}", rng_for("w_" + case).standard_normal((k, n)) / np.sqrt(k))
        self.nodes.append(helper.make_node("MatMul", [a, b], [f"y_{case}"]))
        self.add_output(f"y_{case}")

    def maxpool(self, case, c, hw, k, s=(1, 1), d=(1, 1), pads=(0, 0, 0, 0), ceil=0):
        x = self.add_input(case, (1, c) + hw)
        self.nodes.append(helper.make_node("MaxPool", [x], [f"y_{case}"], kernel_shape=list(k), strides=list(s),
                                           dilations=list(d), pads=list(pads), ceil_mode=ceil))
        self.add_output(f"y_{case}")

    def global_pool(self, case, op, shape):
        x = self.add_input(case, shape)
        self.nodes.append(helper.make_node(op, [x], [f"y_{case}"]))
        self.add_output(f"y_{case}")

    def save(self, path):
        graph = helper.make_graph(self.nodes, self.name, self.inputs, self.outputs, self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])  # 14: HardSwish
        model.ir_version = 8
        # Output types come from onnx's shape inference (the cases only name their outputs).
        inferred = onnx.shape_inference.infer_shapes(model).graph
        types = {v.name: v.type for v in list(inferred.value_info) + list(inferred.output)}
        for out in model.graph.output:
            out.type.CopyFrom(types[out.name])
        onnx.checker.check_model(model)
        onnx.save(model, path)
        return path


def depthwise_family() -> Family:
    f = Family("depthwise")
    cases = [
        # (channels, H×W, kernel, strides, dilations, pads)
        (17, (7, 7), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),      # 7×7 plane: vectors span rows
        (5, (14, 14), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),
        (3, (13, 29), (3, 3), (2, 2), (1, 1), (0, 1, 1, 0)),     # odd, asymmetric pads
        (4, (23, 9), (5, 5), (1, 1), (1, 1), (2, 2, 2, 2)),
        (3, (19, 21), (3, 3), (1, 1), (2, 2), (2, 2, 2, 2)),     # dilation
        (2, (20, 31), (3, 3), (3, 2), (2, 1), (1, 0, 2, 3)),     # mixed strides / dilations
        (3, (15, 16), (1, 7), (1, 1), (1, 1), (0, 3, 0, 3)),     # 1×7
        (3, (16, 15), (7, 1), (2, 1), (1, 1), (3, 0, 3, 0)),     # 7×1, stride over rows only
        (2, (1, 1), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0)),       # single pixel
        (1, (1, 40), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),      # one row, pads above and below
        (2, (64, 600), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),    # wide: many staging bands + short last one
        (2, (61, 57), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),
        (1, (3, 5000), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),    # wider than the staging: fallback loop
        (2, (9, 301), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),     # wide stride-2 rows: many split vectors
        (2, (10, 17), (3, 3), (1, 3), (1, 1), (1, 2, 1, 2)),     # column stride 3: per-element gather
        # Stride-1 columns are read straight from the input (no staging), with per-call column masks.
        (3, (12, 20), (3, 3), (1, 1), (2, 1), (2, 1, 2, 1)),     # dilated rows only: the 3×3 direct path
        (3, (6, 45), (3, 3), (1, 1), (1, 1), (0, 1, 2, 1)),      # interior vectors between masked edges
        (2, (5, 40), (1, 9), (1, 1), (1, 1), (0, 4, 0, 4)),      # 9 taps wide: masks made per load
        (2, (4, 300), (3, 3), (2, 1), (1, 1), (1, 1, 1, 1)),     # rows wider than the mask table
        (1, (5, 1100), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),    # stride 2 past the mask table: staged
        (3, (11, 70), (3, 3), (2, 2), (1, 1), (1, 0, 1, 0)),     # stride 2 direct, pads on one side
        # Small same-size planes as flat vectors (AVX-512: ≤ 64 outputs; AVX2: ≤ 32), masks per tap.
        (11, (7, 7), (3, 3), (1, 1), (2, 2), (2, 2, 2, 2)),      # dilated
        (6, (4, 4), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),
        (5, (3, 3), (3, 3), (1, 1), (1, 1), (0, 0, 2, 2)),       # asymmetric pads, same size
        (9, (7, 7), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0)),       # 1 × 1 depthwise
        (4, (5, 8), (3, 1), (1, 1), (1, 1), (1, 0, 1, 0)),       # 3 × 1
        # Stride-2 columns, outputs ≤ 7 wide: two output rows per vector (AVX-512), one permute per tap.
        (7, (13, 13), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),     # odd input width, 7 × 7 out
        (3, (15, 15), (3, 3), (2, 2), (1, 1), (0, 0, 0, 0)),     # no pads: the last loaded column is past the row
        (3, (8, 14), (3, 3), (2, 2), (1, 1), (0, 0, 1, 1)),      # pads at the end only (TF "SAME")
        (4, (10, 8), (3, 3), (2, 2), (2, 1), (2, 1, 2, 1)),      # dilated rows, 5 × 4 out
        (3, (9, 6), (3, 3), (1, 2), (1, 1), (1, 0, 1, 1)),       # row stride 1, 9 rows: a single last row
        (2, (12, 3), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),      # 2 wide
        (2, (6, 1), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),       # 1 wide
        (3, (16, 16), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),     # 8 wide: one row per vector again
        # Stride-1 3×3 slides down the plane on AVX-512, in strips of 4 vectors past 64 columns.
        (3, (9, 150), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),     # 3 strips, the last one partial
        (2, (6, 70), (3, 3), (1, 1), (1, 1), (0, 2, 2, 0)),      # 2 strips, pads on one side per axis
        (3, (2, 30), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1)),      # 2 rows: the carried sums alone
        # AVX2 slides only rows of one or two vectors (7², 14²); these are two, the last partial.
        (3, (9, 13), (3, 3), (1, 1), (1, 1), (0, 1, 2, 1)),      # pads below only: the last rows read past the input
        (2, (14, 14), (3, 3), (1, 1), (1, 1), (1, 0, 1, 2)),     # pads on the right only
        # Stride-2 3×3 with outputs ≤ 4 vectors wide slide down the plane (each input row's taps once).
        (3, (23, 120), (3, 3), (2, 2), (1, 1), (0, 0, 1, 1)),    # 60 wide (4 AVX-512 vectors), odd height
        (2, (8, 40), (3, 3), (2, 2), (1, 1), (1, 2, 0, 1)),      # uneven pads: last row past the input
        (2, (5, 181), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1)),     # 91 wide: two strips (AVX-512), masked row ends
    ]
    for i, (c, hw, k, s, d, p) in enumerate(cases):
        tag = f"dw{i}_c{c}_{hw[0]}x{hw[1]}_k{k[0]}x{k[1]}_s{s[0]}{s[1]}_d{d[0]}{d[1]}"
        f.conv(tag, c, c, hw, k, s, d, p, group=c)
    # Fused epilogues on the depthwise path.
    f.conv("dw_relu6", 19, 19, (14, 14), (3, 3), pads=(1, 1, 1, 1), group=19, act="clip")
    # The MobileNetV3 activations run after the fused epilogue (CKernels' sct_hard_gate_f32): a plane of
    # 195 values (12 vectors + 3), and a residual before the gate.
    f.conv("dw_hardswish", 7, 7, (13, 15), (3, 3), pads=(1, 1, 1, 1), group=7, act="hardswish")
    f.conv("dw_residual_hardsigmoid", 6, 6, (9, 10), (3, 3), (2, 2), pads=(1, 1, 1, 1), group=6, residual=True,
           act="hardsigmoid")
    f.conv("dw_relu_nobias", 9, 9, (11, 13), (3, 3), (2, 2), pads=(1, 1, 1, 1), group=9, bias=False, act="relu")
    f.conv("dw_residual_relu", 7, 7, (9, 9), (3, 3), pads=(1, 1, 1, 1), group=7, residual=True, act="relu")
    f.conv("dw7x7_residual_clip", 13, 13, (7, 7), (3, 3), pads=(1, 1, 1, 1), group=13, residual=True, act="clip")
    # Flat planes go in pairs of channels; an odd count per batch item must not pair across items.
    f.conv("dw7x7_batch2_residual", 5, 5, (7, 7), (3, 3), pads=(1, 1, 1, 1), group=5, residual=True, batch=2)
    f.conv("dw_strips_residual_clip", 5, 5, (7, 100), (3, 3), pads=(1, 1, 1, 1), group=5, residual=True, act="clip")
    f.conv("dw_s2_strips_residual_clip", 3, 3, (6, 150), (3, 3), (2, 2), pads=(1, 1, 1, 1), group=3, residual=True,
           act="clip")
    f.conv("dw_s2_residual_clip", 6, 6, (21, 40), (3, 3), (2, 2), pads=(1, 1, 1, 1), group=6, residual=True, act="clip")
    f.conv("dw_s2_pairs_residual_clip", 9, 9, (14, 14), (3, 3), (2, 2), pads=(1, 1, 1, 1), group=9, residual=True,
           act="clip")
    f.conv("dw_s2_pairs_nobias_relu", 5, 5, (9, 10), (3, 3), (2, 2), pads=(1, 1, 1, 1), group=5, bias=False, act="relu")
    return f


def conv_family() -> Family:
    f = Family("conv")
    cases = [
        # (C, M, H×W, kernel, strides, dilations, pads, group)
        # ≤ 4 input channels, column stride 1 or 2: the direct stem kernel (sct_conv_direct_f32).
        (3, 17, (31, 29), (7, 7), (2, 2), (1, 1), (3, 3, 3, 3), 1),   # ResNet-style stem, 3 input channels
        (3, 13, (33, 35), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1),   # MobileNet-style stem, odd plane
        (1, 9, (20, 300), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),   # 1 channel, stride 1, rows in 3 passes
        (4, 8, (17, 19), (5, 5), (2, 2), (2, 1), (2, 1, 3, 2), 1),    # dilated rows, asymmetric pads
        (2, 6, (9, 270), (3, 3), (2, 2), (1, 1), (0, 0, 0, 0), 1),    # stride 2, no pads, 2 passes per row
        (4, 5, (12, 12), (6, 7), (1, 2), (1, 1), (1, 3, 2, 3), 1),    # 4 · 6 · 2 phase rows: the limit
        (17, 37, (14, 14), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),  # pointwise: direct GEMM
        (37, 7, (7, 7), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),     # N = 49
        (16, 33, (15, 15), (1, 1), (2, 2), (1, 1), (0, 0, 0, 0), 1),  # strided 1×1 (im2col path)
        (13, 21, (12, 17), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),
        (13, 9, (12, 17), (3, 3), (2, 2), (1, 1), (1, 0, 1, 1), 1),
        (6, 10, (16, 16), (5, 5), (1, 1), (2, 2), (4, 4, 4, 4), 1),   # dilated 5×5
        (8, 12, (10, 11), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 4),   # grouped, not depthwise
        (6, 6, (9, 9), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 3),      # 2 channels per group
        (300, 9, (5, 5), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),    # deep K: several k blocks
        (5, 131, (3, 70), (1, 1), (1, 1), (1, 1), (0, 0, 0, 0), 1),   # many rows, odd width
        # Implicit-im2col GEMM with K = C·9 past one k block (336 rows with AVX-512, 1024 with AVX2 at
        # this K): the gather resumes mid-channel at each block.
        (40, 14, (12, 13), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1),
        (120, 14, (12, 13), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1),
        (29, 11, (11, 12), (3, 3), (2, 2), (2, 2), (2, 1, 2, 1), 1),  # strided and dilated
        (5, 7, (13, 20), (3, 3), (1, 3), (1, 1), (1, 1, 1, 1), 1),    # column stride 3: per-element gather
        # 3×3 stride 1 with ≥ 8 channels in and out: the Winograd F(2×2, 3×3) path.
        (8, 8, (3, 3), (3, 3), (1, 1), (1, 1), (0, 0, 0, 0), 1),      # a single output pixel
        (9, 10, (41, 70), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),   # several bands, short last band
        (16, 12, (7, 8), (3, 3), (1, 1), (1, 1), (0, 1, 1, 0), 1),    # asymmetric pads, odd output
        (12, 8, (6, 5), (3, 3), (1, 1), (1, 1), (2, 2, 2, 2), 1),     # pads wider than the window's reach
        (33, 17, (15, 15), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),  # odd channel counts, odd plane
        # At 2 threads the layers above give each thread its own tile rows; here the transformed weights
        # outweigh the transformed input, so the phases are split among the threads instead.
        (64, 72, (6, 7), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 1),
    ]
    for i, (c, m, hw, k, s, d, p, g) in enumerate(cases):
        tag = f"conv{i}_c{c}_m{m}_{hw[0]}x{hw[1]}_k{k[0]}_s{s[0]}_d{d[0]}_g{g}"
        f.conv(tag, c, m, hw, k, s, d, p, group=g)
    f.conv("conv_relu", 11, 23, (13, 13), (3, 3), pads=(1, 1, 1, 1), act="relu")
    f.conv("stem_residual_clip", 3, 11, (15, 17), (3, 3), (2, 2), pads=(1, 1, 1, 1), residual=True, act="clip")
    f.conv("stem_relu_nobias", 3, 16, (24, 40), (3, 3), (2, 2), pads=(0, 1, 1, 0), bias=False, act="relu")
    f.conv("conv_clip_nobias", 11, 5, (8, 9), (1, 1), bias=False, act="clip")
    f.conv("conv_residual_relu", 13, 13, (10, 10), (3, 3), pads=(1, 1, 1, 1), residual=True, act="relu")
    f.conv("pointwise_residual", 24, 40, (7, 7), (1, 1), residual=True)
    # A last row block of at most MR / 4 rows takes the quarter-height tiles (m = 25: 24 + 1 with every
    # ISA's MR of 8, 6 and 4; m = 26: 2 rows with AVX-512), of at most MR / 2 the half-height ones (m = 27:
    # 3 rows with AVX-512 and AVX2), with the whole epilogue, on the GEMM and on the direct stem kernel.
    f.conv("pointwise_half_rows_residual_clip", 19, 25, (9, 11), (1, 1), residual=True, act="clip")
    f.conv("pointwise_quarter_rows2_residual", 13, 26, (9, 11), (1, 1), residual=True)
    f.conv("pointwise_half_rows3_relu", 19, 27, (9, 11), (1, 1), act="relu")
    f.conv("conv3x3_half_rows_relu", 7, 25, (10, 9), (3, 3), (2, 2), pads=(1, 1, 1, 1), act="relu")
    f.conv("stem_half_rows_residual", 3, 25, (20, 22), (3, 3), (2, 2), pads=(1, 1, 1, 1), residual=True)
    f.conv("stem_half_rows3_clip", 3, 27, (20, 22), (3, 3), (2, 2), pads=(1, 1, 1, 1), act="clip")
    # At most 3 · MR / 4 rows: the three-quarter-height tiles (m = 22: 16 + 6 with AVX-512, 18 + 4 with
    # AVX2; m = 21: 16 + 5), on the GEMM, the implicit-im2col GEMM and the direct stem kernel.
    f.conv("pointwise_threeq_rows6_residual_clip", 19, 22, (9, 11), (1, 1), residual=True, act="clip")
    f.conv("conv3x3_threeq_rows5_relu", 7, 21, (10, 9), (3, 3), (2, 2), pads=(1, 1, 1, 1), act="relu")
    f.conv("stem_threeq_rows_residual_clip", 3, 22, (20, 22), (3, 3), (2, 2), pads=(1, 1, 1, 1), residual=True,
           act="clip")
    # Narrow last column panels (n = 51: 48 + 3) with the whole epilogue, K over several k blocks (with
    # AVX-512 and AVX2; the baseline's blocks are longer).
    f.conv("pointwise_cols3_residual_clip", 1100, 13, (3, 17), (1, 1), residual=True, act="clip")
    f.conv("pointwise_cols2_relu", 33, 21, (5, 10), (1, 1), act="relu")
    f.conv("winograd_residual_clip", 9, 9, (11, 13), (3, 3), pads=(1, 1, 1, 1), residual=True, act="clip")
    # More output channels than columns (m = 107 > n = 42): at 2 threads, blocks of channels only, the
    # last one short (107 = 13 · 8 + 3), claimed from both ends; n = 100 = 2 · 48 + 4: the last column
    # tile takes the 4 past the last whole unit.
    f.conv("pointwise_channel_blocks_residual_clip", 24, 107, (6, 7), (1, 1), residual=True, act="clip")
    f.conv("pointwise_tile_remainder_relu", 17, 29, (10, 10), (1, 1), act="relu")
    f.conv("pointwise_residual_hardswish", 21, 19, (7, 11), (1, 1), residual=True, act="hardswish")
    f.conv("conv3x3_hardsigmoid", 5, 10, (9, 9), (3, 3), pads=(1, 1, 1, 1), act="hardsigmoid")
    f.conv("stem_hardswish", 3, 16, (24, 40), (3, 3), (2, 2), pads=(1, 1, 1, 1), act="hardswish")
    # k ≥ 48 with AVX-512: the GEMM reads x in place, every k at once; the last panel ends inside a
    # vector (masked loads: n = 210 = 4 · 48 + 18, n = 65 = 48 + 17) or is narrow (n = 49 = 48 + 1).
    f.conv("inplace_k96_tail18", 96, 37, (14, 15), (1, 1))
    f.conv("inplace_k50_half_rows_tail17_residual_clip", 50, 9, (5, 13), (1, 1), residual=True, act="clip")
    f.conv("inplace_k64_cols1_relu", 64, 23, (7, 7), (1, 1), act="relu")
    f.conv("inplace_winograd_k50", 50, 12, (9, 10), (3, 3), pads=(1, 1, 1, 1))
    f.conv("inplace_im2col_k64_strided_1x1", 64, 19, (11, 13), (1, 1), (2, 2))
    # At most 64 output channels with AVX-512: read in place at any k (k = 9 here), the last panel ending
    # inside a vector (n = 81 = 48 + 33), a half-height last row block (m = 41 = 5 · 8 + 1); and with
    # m = 61 = 7 · 8 + 5 (a full-height tile with 5 valid rows), k = 20, n = 143 = 2 · 48 + 47.
    f.conv("inplace_short_k9_m41_tail33_residual_clip", 9, 41, (9, 9), (1, 1), residual=True, act="clip")
    f.conv("inplace_short_k20_m61_tail47_residual_relu", 20, 61, (11, 13), (1, 1), residual=True, act="relu")
    # Gathered columns whose last tile would be narrow merge it into the one before: n = 49 = 48 + 1 as one
    # tile, split at 2 threads into a block of output channels per thread (m = 37: 4 · 8 + 5 rows for the
    # second); n = 196 = 4 · 48 + 4 as four tiles, the last 52 wide.
    f.conv("gathered_n49_channel_blocks_residual_relu", 24, 37, (14, 14), (3, 3), (2, 2), pads=(1, 1, 1, 1),
           residual=True, act="relu")
    f.conv("gathered_n196_merged_tail_residual_clip", 20, 19, (28, 28), (1, 1), (2, 2), residual=True, act="clip")
    # Strided 1 × 1 without pads: the input subsampled once per batch item (sct_conv_subsample_f32; stride-2
    # columns deinterleaved, 20 = 16 + 4 wide; other strides one by one), then the pointwise GEMM.
    f.conv("subsampled_s2_ow20_batch2_residual_relu", 13, 21, (17, 39), (1, 1), (2, 2), residual=True, act="relu",
           batch=2)
    f.conv("subsampled_s3x1_clip", 10, 9, (10, 11), (1, 1), (3, 1), act="clip")
    # ConvTranspose (sgemm + col2im): upsampling 2×2/2 as in PP-OCR's detector, overlapping taps, groups,
    # dilation, output padding.
    f.conv_transpose("convT_k2s2", 12, 7, (9, 11), (2, 2), (2, 2))
    f.conv_transpose("convT_k3s2_pad_outpad", 5, 6, (7, 8), (3, 3), (2, 2), pads=(1, 1, 1, 1), out_pad=(1, 1))
    f.conv_transpose("convT_group2_dil2", 4, 6, (6, 5), (3, 3), (1, 1), (2, 2), group=2)
    f.conv_transpose("convT_k4s3_asym", 3, 5, (5, 7), (4, 4), (3, 2), pads=(0, 1, 2, 0))
    return f


def maxpool_family() -> Family:
    f = Family("maxpool")
    cases = [
        # (C, H×W, kernel, strides, dilations, pads, ceil_mode)
        (3, (112, 112), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 0),   # ResNet's stem pool
        (5, (13, 17), (2, 2), (2, 2), (1, 1), (0, 0, 0, 0), 0),
        (5, (13, 17), (2, 2), (2, 2), (1, 1), (0, 0, 0, 0), 1),     # ceil mode: windows past the edge
        (2, (9, 9), (3, 3), (1, 1), (1, 1), (1, 1, 1, 1), 0),
        (2, (21, 19), (3, 3), (3, 2), (2, 2), (2, 1, 1, 2), 0),
        (1, (7, 300), (5, 5), (1, 1), (1, 1), (2, 2, 2, 2), 0),
        (2, (9, 150), (3, 3), (2, 2), (1, 1), (1, 1, 1, 1), 1),   # wide stride-2 rows, −∞ pads, ceil
    ]
    for i, (c, hw, k, s, d, p, ceil) in enumerate(cases):
        f.maxpool(f"pool{i}_{hw[0]}x{hw[1]}_k{k[0]}_s{s[0]}{s[1]}_d{d[0]}_ceil{ceil}", c, hw, k, s, d, p, ceil)
    # Float average pooling sums 32 values at a time, then 8, then one by one: planes of 49 = 32 + 8 + 1
    # (every 7 × 7 head), 143 = 4 · 32 + 8 + 7 in batch 2, 6 (below one vector) and exactly 64.
    for shape in [(1, 1024, 7, 7), (2, 5, 13, 11), (1, 3, 2, 3), (1, 4, 1, 64)]:
        f.global_pool("gap_" + "x".join(map(str, shape)), "GlobalAveragePool", shape)
    f.global_pool("gmp_2x5x13x11", "GlobalMaxPool", (2, 5, 13, 11))
    return f


def gemm_family() -> Family:
    """The B-panel GEMM (CKernels bgemm_body.h): the batch-1 classifier and a few rows of A, column counts
    that end mid-panel (1000, 37, 1) or fill one exactly (16, 32), odd k, both transposes, alpha / beta
    with C broadcast from a scalar, a row, a column or in full, and a fused Relu; MatMul on a constant B
    with 1-D, 2-D and batched A."""
    f = Family("gemm")
    f.gemm("classifier_1x1000x1280", 1, 1000, 1280, trans_b=1, c_shape=(1000,))
    f.gemm("classifier_relu_1x37x61", 1, 37, 61, trans_b=1, c_shape=(37,), act="relu")
    f.gemm("rows2_n16_k3", 2, 16, 3)
    f.gemm("rows5_n33_k17_transA", 5, 33, 17, trans_a=1, c_shape=(5, 33))
    f.gemm("rows7_n32_k64_both", 7, 32, 64, trans_a=1, trans_b=1, alpha=0.5, beta=2.0, c_shape=(7, 1))
    f.gemm("rows4_n1_k9_scalarC", 4, 1, 9, alpha=-1.5, beta=0.25, c_shape=())
    f.gemm("rows9_n19_k5_noC", 9, 19, 5, trans_b=1)
    # MatMul on a constant B: a batch-1 row, a 1-D A, batch dims flattened into rows, a wide layer.
    f.matmul("matmul_1x768_n1000", (1, 768), 1000)
    f.matmul("matmul_vec_k33_n17", (33,), 17)
    f.matmul("matmul_2x3x5_n31", (2, 3, 5), 31)
    f.matmul("matmul_1x70x96_n129", (1, 70, 96), 129)
    return f


FAMILIES = {"depthwise": depthwise_family, "conv": conv_family, "maxpool": maxpool_family, "gemm": gemm_family}


# SECATEUR_ISA caps the CPU dispatch (CKernels/dispatch.c), so the AVX2 and baseline variants are checked
# on an AVX-512 machine too ("native" = whatever this CPU has).
ISAS = ["native", "avx2", "baseline"]


@pytest.mark.parametrize("isa", ISAS)
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_kernel_paths_match_onnxruntime(family, threads, isa, run_cli, tmp_path):
    fam = FAMILIES[family]()
    model = fam.save(tmp_path / f"{family}.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    expected = dict(zip(names, session.run(names, fam.feeds)))

    args = []
    for i, (name, value) in enumerate(fam.feeds.items()):
        path = tmp_path / f"in_{i}.npy"
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    out = tmp_path / "out.npz"
    result = run_cli("run", model, *args, "--output", out, "--threads", threads,
                     env=None if isa == "native" else {"SECATEUR_ISA": isa})
    assert result.returncode == 0, result.stderr

    failures = []
    with np.load(out) as got:
        for name, want in expected.items():
            actual = got[name]
            if actual.shape != want.shape:
                failures.append(f"{name}: shape {actual.shape} != {want.shape}")
            elif not np.allclose(actual, want, rtol=RTOL, atol=ATOL):
                err = np.max(np.abs(actual - want))
                failures.append(f"{name}: max |diff| {err:.3g}")
    assert not failures, f"{family}, threads={threads}, isa={isa}:\n" + "\n".join(failures)
