"""Optimizer passes: each test builds a graph containing the pattern, runs `secateur optimize`, checks the
pattern is gone, and compares outputs — optimized vs original in onnxruntime, and Secateur vs onnxruntime —
at rtol 1e-5 / atol 1e-6 on random inputs. Negative tests show a pass declining where folding is inexact."""
import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

RTOL, ATOL = 1e-5, 1e-6


def rng(seed=0):
    return np.random.default_rng(seed)


def const(name, arr):
    return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)


def bn_params(prefix, c, r, zero_mean=False):
    return [const(f"{prefix}_s", r.uniform(0.5, 1.5, c)), const(f"{prefix}_b", r.normal(0, 0.1, c)),
            const(f"{prefix}_m", np.zeros(c) if zero_mean else r.normal(0, 0.1, c)),
            const(f"{prefix}_v", r.uniform(0.5, 1.5, c))]


def model(nodes, inits, x_shape, y_name="y", opset=17):
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
                          [helper.make_tensor_value_info(y_name, TensorProto.FLOAT, None)], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    # The checker wants the output's shape: take it from onnxruntime's result on a random input.
    y = ort_run(m, np.zeros(x_shape, np.float32))
    out = m.graph.output[0].type.tensor_type
    for d in y.shape:
        out.shape.dim.add().dim_value = d
    onnx.checker.check_model(m, full_check=True)
    return m


def ort_run(m, x):
    s = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})[0]


def optimize(m, tmp_path, run_cli):
    src, dst = tmp_path / "in.onnx", tmp_path / "out.onnx"
    onnx.save(m, str(src))
    r = run_cli("optimize", src, "-o", dst)
    assert r.returncode == 0, r.stderr
    out = onnx.load(str(dst))
    onnx.checker.check_model(out, full_check=True)
    return out, r.stdout


def secateur_run(m, x, tmp_path, run_cli):
    path, xin, out = tmp_path / "run.onnx", tmp_path / "x.npy", tmp_path / "y.npz"
    onnx.save(m, str(path))
    np.save(xin, x)
    r = run_cli("run", path, "--input", f"x={xin}", "--output", out)
    assert r.returncode == 0, r.stderr
    return np.load(out)["y"]


def check(m, x_shape, tmp_path, run_cli, gone):
    x = rng(1).standard_normal(x_shape).astype(np.float32)
    opt, report = optimize(m, tmp_path, run_cli)
    ops = [n.op_type for n in opt.graph.node]
    for op in gone:
        assert op not in ops, f"{op} still present after optimize: {ops}\n{report}"
    want = ort_run(m, x)
    np.testing.assert_allclose(ort_run(opt, x), want, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(secateur_run(m, x, tmp_path, run_cli), want, rtol=1e-4, atol=1e-5)
    return opt, report


CONV_CASES = [  # (cin, cout, kernel, stride, pad, group, bias)
    (3, 13, 3, 1, 1, 1, True), (13, 37, 1, 1, 0, 1, False), (37, 37, 3, 2, 1, 37, True),
    (12, 18, 3, 1, 1, 3, False), (5, 7, 5, 2, 2, 1, True),
]


@pytest.mark.parametrize("cin,cout,k,s,p,g,bias", CONV_CASES)
def test_conv_bn_folds(cin, cout, k, s, p, g, bias, tmp_path, run_cli):
    r = rng(cin * 100 + cout)
    inits = [const("W", r.standard_normal((cout, cin // g, k, k)) * 0.3)] + bn_params("bn", cout, r)
    conv_in = ["x", "W"]
    if bias:
        inits.append(const("B", r.standard_normal(cout)))
        conv_in.append("B")
    nodes = [helper.make_node("Conv", conv_in, ["c"], kernel_shape=[k, k], strides=[s, s], pads=[p] * 4, group=g),
             helper.make_node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], epsilon=1e-3)]
    check(model(nodes, inits, [1, cin, 11, 11]), [1, cin, 11, 11], tmp_path, run_cli, gone=["BatchNormalization"])


@pytest.mark.parametrize("group", [1, 2])
def test_conv_transpose_bn_folds(group, tmp_path, run_cli):
    r = rng(7)
    inits = [const("W", r.standard_normal((6, 10 // group, 3, 3)) * 0.3)] + bn_params("bn", 10, r)
    nodes = [helper.make_node("ConvTranspose", ["x", "W"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1], group=group),
             helper.make_node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"])]
    check(model(nodes, inits, [1, 6, 5, 5]), [1, 6, 5, 5], tmp_path, run_cli, gone=["BatchNormalization"])


@pytest.mark.parametrize("trans_b", [0, 1])
def test_gemm_bn_folds(trans_b, tmp_path, run_cli):
    r = rng(3)
    w = r.standard_normal((37, 21) if trans_b else (21, 37)) * 0.3
    inits = [const("W", w), const("C", r.standard_normal(37))] + bn_params("bn", 37, r)
    nodes = [helper.make_node("Gemm", ["x", "W", "C"], ["c"], transB=trans_b, alpha=0.7, beta=1.3),
             helper.make_node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"])]
    check(model(nodes, inits, [4, 21]), [4, 21], tmp_path, run_cli, gone=["BatchNormalization"])


def test_mul_add_chain_folds_into_conv(tmp_path, run_cli):
    """How several exporters emit BN: Conv → Mul(per-channel) → Add(per-channel) → Sub → Div."""
    r = rng(4)
    c = 13
    inits = [const("W", r.standard_normal((c, 5, 3, 3)) * 0.3), const("m", r.uniform(0.5, 2, (c, 1, 1))),
             const("a", r.normal(0, 1, (1, c, 1, 1))), const("s", r.normal(0, 1, (c, 1, 1))),
             const("d", r.uniform(0.5, 2, (c, 1, 1)))]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("Mul", ["c", "m"], ["c1"]), helper.make_node("Add", ["a", "c1"], ["c2"]),
             helper.make_node("Sub", ["c2", "s"], ["c3"]), helper.make_node("Div", ["c3", "d"], ["y"])]
    check(model(nodes, inits, [1, 5, 9, 9]), [1, 5, 9, 9], tmp_path, run_cli, gone=["Mul", "Add", "Sub", "Div"])


def test_mabn_div_mul_add_form_folds(tmp_path, run_cli):
    """MABN inference form y = γ·x/√(v+ε) + β with no mean, written as Sqrt/Add on constants + Div/Mul/Add."""
    r = rng(5)
    c = 7
    inits = [const("W", r.standard_normal((c, 3, 3, 3)) * 0.3), const("v", r.uniform(0.5, 1.5, (c, 1, 1))),
             const("eps", [1e-5]), const("g", r.uniform(0.5, 1.5, (c, 1, 1))), const("b", r.normal(0, 0.1, (c, 1, 1)))]
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),
             helper.make_node("Add", ["v", "eps"], ["ve"]), helper.make_node("Sqrt", ["ve"], ["sd"]),
             helper.make_node("Div", ["c", "sd"], ["n"]), helper.make_node("Mul", ["n", "g"], ["ng"]),
             helper.make_node("Add", ["ng", "b"], ["y"])]
    check(model(nodes, inits, [1, 3, 8, 8]), [1, 3, 8, 8], tmp_path, run_cli, gone=["Div", "Mul", "Add", "Sqrt"])


def test_mabn_as_zero_mean_bn_folds(tmp_path, run_cli):
    r = rng(6)
    inits = [const("W", r.standard_normal((9, 4, 1, 1)))] + bn_params("bn", 9, r, zero_mean=True)
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"]),
             helper.make_node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"])]
    check(model(nodes, inits, [2, 4, 6, 6]), [2, 4, 6, 6], tmp_path, run_cli, gone=["BatchNormalization"])


@pytest.mark.parametrize("group", [1, 3])
def test_bn_before_unpadded_conv_folds(group, tmp_path, run_cli):
    r = rng(8)
    inits = bn_params("bn", 12, r) + [const("W", r.standard_normal((9, 12 // group, 3, 3)) * 0.3),
                                      const("B", r.standard_normal(9))]
    nodes = [helper.make_node("BatchNormalization", ["x", "bn_s", "bn_b", "bn_m", "bn_v"], ["n"]),
             helper.make_node("Conv", ["n", "W", "B"], ["y"], group=group)]
    check(model(nodes, inits, [1, 12, 7, 7]), [1, 12, 7, 7], tmp_path, run_cli, gone=["BatchNormalization"])


def test_bn_before_padded_conv_is_left_alone(tmp_path, run_cli):
    """Zero padding happens after the BN: folding it into the conv would not be exact, so the pass declines."""
    r = rng(9)
    inits = bn_params("bn", 6, r) + [const("W", r.standard_normal((4, 6, 3, 3)))]
    nodes = [helper.make_node("BatchNormalization", ["x", "bn_s", "bn_b", "bn_m", "bn_v"], ["n"]),
             helper.make_node("Conv", ["n", "W"], ["y"], pads=[1, 1, 1, 1])]
    opt, report = check(model(nodes, inits, [1, 6, 5, 5]), [1, 6, 5, 5], tmp_path, run_cli, gone=[])
    assert "BatchNormalization" in [n.op_type for n in opt.graph.node]
    assert "not be exact" in report


def test_shape_arithmetic_folds(tmp_path, run_cli):
    """Shape→Gather→Unsqueeze→Concat→Reshape on a static input becomes one Reshape with a constant shape."""
    idx = numpy_helper.from_array(np.array(0, dtype=np.int64), "i0")
    minus1 = numpy_helper.from_array(np.array([-1], dtype=np.int64), "m1")
    nodes = [helper.make_node("Relu", ["x"], ["r"]),
             helper.make_node("Shape", ["r"], ["s"]), helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
             helper.make_node("Unsqueeze", ["n", "ax"], ["nu"]),
             helper.make_node("Concat", ["nu", "m1"], ["shape"], axis=0),
             helper.make_node("Reshape", ["r", "shape"], ["y"])]
    ax = numpy_helper.from_array(np.array([0], dtype=np.int64), "ax")
    opt, _ = check(model(nodes, [idx, minus1, ax], [2, 3, 4, 5]), [2, 3, 4, 5], tmp_path, run_cli,
                   gone=["Shape", "Gather", "Unsqueeze", "Concat"])
    assert [n.op_type for n in opt.graph.node] == ["Relu", "Reshape"]


def test_identity_and_dropout_removed(tmp_path, run_cli):
    nodes = [helper.make_node("Identity", ["x"], ["a"]), helper.make_node("Dropout", ["a"], ["b"]),
             helper.make_node("Relu", ["b"], ["y"])]
    check(model(nodes, [], [3, 4]), [3, 4], tmp_path, run_cli, gone=["Identity", "Dropout"])


@pytest.mark.parametrize("name", ["mobilenet_v2", pytest.param("resnet50", marks=pytest.mark.slow)])
def test_project_models_lose_every_batchnorm(name, tmp_path, model_path, run_cli):
    src = model_path(name)
    m = onnx.load(str(src))
    assert "BatchNormalization" in [n.op_type for n in m.graph.node]
    opt, report = optimize(m, tmp_path, run_cli)
    assert "BatchNormalization" not in [n.op_type for n in opt.graph.node], report
    x = rng(2).standard_normal((1, 3, 224, 224)).astype(np.float32)
    a = ort.InferenceSession(str(src), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    b = ort.InferenceSession(opt.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"input": x})[0]
    np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)


def ln_nodes(pow_form=True):
    sq = (helper.make_node("Pow", ["d", "two"], ["d2"]) if pow_form else helper.make_node("Mul", ["d", "d"], ["d2"]))
    return [helper.make_node("ReduceMean", ["x"], ["m"], axes=[-1]), helper.make_node("Sub", ["x", "m"], ["d"]), sq,
            helper.make_node("ReduceMean", ["d2"], ["v"], axes=[-1]), helper.make_node("Add", ["v", "eps"], ["ve"]),
            helper.make_node("Sqrt", ["ve"], ["s"]), helper.make_node("Div", ["d", "s"], ["n"]),
            helper.make_node("Mul", ["n", "gamma"], ["ng"]), helper.make_node("Add", ["ng", "beta"], ["y"])]


@pytest.mark.parametrize("opset,pow_form", [(13, True), (17, True), (17, False)])
def test_decomposed_layernorm_fuses(opset, pow_form, tmp_path, run_cli):
    r = rng(11)
    inits = [const("two", 2.0), const("eps", [1e-5]), const("gamma", r.uniform(0.5, 1.5, 37)), const("beta", r.normal(0, 0.1, 37))]
    m = model(ln_nodes(pow_form), inits, [2, 5, 37], opset=opset)
    # From opset 17 the export keeps the fused ONNX op; before that it decomposes again (no ONNX op exists).
    gone = ["ReduceMean", "Sqrt", "Div"] if opset >= 17 else []
    opt, report = check(m, [2, 5, 37], tmp_path, run_cli, gone=gone)
    assert "1 decomposed LayerNormalization fused" in report
    if opset >= 17:
        assert [n.op_type for n in opt.graph.node] == ["LayerNormalization"]


def hardswish_nodes(form):
    if form == "clip_div":
        return [helper.make_node("Add", ["x", "three"], ["a"]), helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
                helper.make_node("Mul", ["x", "c"], ["m"]), helper.make_node("Div", ["m", "six"], ["y"])]
    if form == "div_first":
        return [helper.make_node("Add", ["x", "three"], ["a"]), helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
                helper.make_node("Div", ["c", "six"], ["d"]), helper.make_node("Mul", ["x", "d"], ["y"])]
    return [helper.make_node("HardSigmoid", ["x"], ["h"], alpha=1.0 / 6, beta=0.5), helper.make_node("Mul", ["x", "h"], ["y"])]


@pytest.mark.parametrize("form", ["clip_div", "div_first", "hardsigmoid"])
def test_hardswish_patterns_become_one_op(form, tmp_path, run_cli):
    inits = [const("three", 3.0), const("zero", 0.0), const("six", 6.0)]
    m = model(hardswish_nodes(form), inits, [1, 3, 8, 8], opset=14)
    opt, report = check(m, [1, 3, 8, 8], tmp_path, run_cli, gone=["Clip", "Div", "Add"])
    assert [n.op_type for n in opt.graph.node] == ["HardSwish"], report


@pytest.mark.parametrize("opset", [17, 20])
def test_gelu_with_erf_is_recognized(opset, tmp_path, run_cli):
    inits = [const("sqrt2", np.sqrt(2.0)), const("one", 1.0), const("half", 0.5)]
    nodes = [helper.make_node("Div", ["x", "sqrt2"], ["a"]), helper.make_node("Erf", ["a"], ["e"]),
             helper.make_node("Add", ["e", "one"], ["p"]), helper.make_node("Mul", ["x", "p"], ["q"]),
             helper.make_node("Mul", ["q", "half"], ["y"])]
    m = model(nodes, inits, [4, 33], opset=opset)
    opt, report = check(m, [4, 33], tmp_path, run_cli, gone=[])
    assert "1 Gelu recognized" in report
    if opset >= 20:
        assert [n.op_type for n in opt.graph.node] == ["Gelu"]


def test_silu_written_as_mul_sigmoid_is_recognized(tmp_path, run_cli):
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["s", "x"], ["y"])]
    opt, report = check(model(nodes, [], [3, 17]), [3, 17], tmp_path, run_cli, gone=[])
    assert "1 SiLU recognized" in report


@pytest.mark.parametrize("act", ["Relu", "Clip6", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh"])
def test_conv_residual_activation_fusion_matches(act, tmp_path, run_cli):
    """Conv + residual Add + activation runs as one FusedConv inside Secateur; export restores standard ops."""
    r = rng(12)
    inits = [const("W", r.standard_normal((13, 13, 3, 3)) * 0.2), const("B", r.standard_normal(13)),
             const("zero", 0.0), const("six", 6.0)]
    act_node = {"Relu": helper.make_node("Relu", ["s"], ["y"]), "Clip6": helper.make_node("Clip", ["s", "zero", "six"], ["y"]),
                "LeakyRelu": helper.make_node("LeakyRelu", ["s"], ["y"], alpha=0.1),
                "Sigmoid": helper.make_node("Sigmoid", ["s"], ["y"]),
                "HardSigmoid": helper.make_node("HardSigmoid", ["s"], ["y"]),
                "HardSwish": helper.make_node("HardSwish", ["s"], ["y"]), "Tanh": helper.make_node("Tanh", ["s"], ["y"])}[act]
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"], pads=[1, 1, 1, 1]), helper.make_node("Add", ["c", "x"], ["s"]), act_node]
    opt, report = check(model(nodes, inits, [1, 13, 9, 9]), [1, 13, 9, 9], tmp_path, run_cli, gone=[])
    assert "1 Conv and 0 Gemm fused (1 residual Add, 1 activations)" in report
