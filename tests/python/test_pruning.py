"""Pruning (`secateur prune`): every channel group of the project's models is prunable to arbitrary
widths (1, 7, 37), blocks can be dropped and the resolution changed; each result is checker-valid ONNX
that onnxruntime runs with the same outputs as Secateur. A concat + squeeze-excitation model is built here."""
import json
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

RTOL, ATOL = 1e-4, 1e-5
MODELS = ["tiny_cnn", "mobilenet_v1", "mobilenet_v2", "resnet18",
          pytest.param("resnet50", marks=pytest.mark.slow)]


def groups_and_blocks(run_cli, path, *extra):
    r = run_cli("prune", path, "--list", *extra)
    assert r.returncode == 0, r.stderr
    groups = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s+(g\d+)\s+(\d+)\s+(.*)", line)
        if m and "frozen" not in m.group(3):
            groups[m.group(1)] = int(m.group(2))
    blocks = re.findall(r"^\s+(b\d+)\s", r.stdout, re.M)
    return groups, blocks


def prune_spec(run_cli, tmp_path, path, spec, *extra):
    sp, out = tmp_path / "spec.json", tmp_path / "pruned.onnx"
    sp.write_text(json.dumps(spec))
    r = run_cli("prune", path, "--spec", sp, "-o", out, *extra)
    assert r.returncode == 0, r.stderr
    m = onnx.load(str(out))
    onnx.checker.check_model(m, full_check=True)
    return out, m


def compare_with_ort(run_cli, tmp_path, path):
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    x = np.random.default_rng(0).standard_normal(inp.shape).astype(np.float32)
    want = s.run(None, {inp.name: x})
    xin, out = tmp_path / "x.npy", tmp_path / "y.npz"
    np.save(xin, x)
    r = run_cli("run", path, "--input", f"{inp.name}={xin}", "--output", out)
    assert r.returncode == 0, r.stderr
    got = np.load(out)
    for o, w in zip(s.get_outputs(), want):
        np.testing.assert_allclose(got[o.name], w, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("width", [1, 7, 37])
def test_every_group_to_width(name, width, model_path, run_cli, tmp_path):
    path = model_path(name)
    groups, _ = groups_and_blocks(run_cli, path)
    assert groups, "no prunable group found"
    out, m = prune_spec(run_cli, tmp_path, path, {"widths": {g: min(c, width) for g, c in groups.items()}})
    compare_with_ort(run_cli, tmp_path, out)


@pytest.mark.parametrize("name", ["tiny_cnn", "mobilenet_v2", "resnet18", pytest.param("resnet50", marks=pytest.mark.slow)])
def test_drop_blocks_and_resolution(name, model_path, run_cli, tmp_path):
    path = model_path(name)
    _, blocks = groups_and_blocks(run_cli, path)
    assert blocks, "no removable block found"
    size = 48 if name == "tiny_cnn" else 160
    out, m = prune_spec(run_cli, tmp_path, path, {"drop_blocks": blocks[::2], "resolution": [size, size], "ratio": 0.6})
    dims = [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim]
    assert dims[2:] == [size, size]
    compare_with_ort(run_cli, tmp_path, out)


def test_drop_consecutive_blocks(model_path, run_cli, tmp_path):
    """Every removable block at once: consecutive blocks chain their shortcuts."""
    path = model_path("mobilenet_v2")
    _, blocks = groups_and_blocks(run_cli, path)
    out, m = prune_spec(run_cli, tmp_path, path, {"drop_blocks": blocks})
    assert not [n for n in m.graph.node if n.op_type == "Add"]
    compare_with_ort(run_cli, tmp_path, out)


def se_concat_model():
    """Conv → BN → Relu → [SE: GAP → Conv → Relu → Conv → Sigmoid → Mul] → Concat(with a second conv)
    → Conv → Split → (Relu, Sigmoid) → Concat (swapped) → GAP → Flatten → Gemm."""
    r = np.random.default_rng(1)
    def c(name, arr):
        return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)
    inits = [c("w1", r.normal(0, .3, (16, 3, 3, 3))), c("s", r.uniform(.5, 1.5, 16)), c("b", r.normal(0, .1, 16)),
             c("m", r.normal(0, .1, 16)), c("v", r.uniform(.5, 1.5, 16)),
             c("se1", r.normal(0, .3, (4, 16, 1, 1))), c("se1b", r.normal(0, .1, 4)),
             c("se2", r.normal(0, .3, (16, 4, 1, 1))), c("se2b", r.normal(0, .1, 16)),
             c("w2", r.normal(0, .3, (12, 3, 3, 3))), c("w3", r.normal(0, .2, (20, 28, 1, 1))),
             c("fc", r.normal(0, .2, (5, 20))), c("fcb", r.normal(0, .1, 5)),
             numpy_helper.from_array(np.array([10, 10], dtype=np.int64), "split")]
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["bn1"], name="bn1"),
             helper.make_node("Relu", ["bn1"], ["r1"], name="relu1"),
             helper.make_node("GlobalAveragePool", ["r1"], ["g1"], name="se_pool"),
             helper.make_node("Conv", ["g1", "se1", "se1b"], ["e1"], name="se_reduce"),
             helper.make_node("Relu", ["e1"], ["e2"], name="se_relu"),
             helper.make_node("Conv", ["e2", "se2", "se2b"], ["e3"], name="se_expand"),
             helper.make_node("Sigmoid", ["e3"], ["gate"], name="se_gate"),
             helper.make_node("Mul", ["r1", "gate"], ["se"], name="se_mul"),
             helper.make_node("Conv", ["x", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1]),
             helper.make_node("Concat", ["se", "c2"], ["cat"], name="concat", axis=1),
             helper.make_node("Conv", ["cat", "w3"], ["c3"], name="conv3"),
             helper.make_node("Split", ["c3", "split"], ["sa", "sb"], name="split", axis=1),
             helper.make_node("Relu", ["sa"], ["ra"], name="relu_a"),
             helper.make_node("Sigmoid", ["sb"], ["rb"], name="sigmoid_b"),
             helper.make_node("Concat", ["rb", "ra"], ["sum"], name="concat2", axis=1),
             helper.make_node("GlobalAveragePool", ["sum"], ["gp"], name="pool"),
             helper.make_node("Flatten", ["gp"], ["flat"], name="flatten"),
             helper.make_node("Gemm", ["flat", "fc", "fcb"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(nodes, "se_concat", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


@pytest.mark.parametrize("width", [1, 3, 7])
def test_concat_split_squeeze_excitation(width, run_cli, tmp_path):
    src = tmp_path / "se.onnx"
    onnx.save(se_concat_model(), str(src))
    groups, _ = groups_and_blocks(run_cli, src)
    # conv1 (+ SE expand, coupled through the Mul), SE reduce, conv2, and conv3 (cut by Split, its halves
    # concatenated back in swapped order) are all prunable.
    assert len(groups) >= 4, groups
    out, m = prune_spec(run_cli, tmp_path, src, {"widths": {g: min(c, width) for g, c in groups.items()}})
    compare_with_ort(run_cli, tmp_path, out)


def test_search_meets_macs_budget(model_path, run_cli, tmp_path):
    path, out, rep, svg = model_path("tiny_cnn"), tmp_path / "p.onnx", tmp_path / "r.json", tmp_path / "s.svg"
    r = run_cli("prune", path, "-o", out, "--macs", "0.5", "--seed", "1", "--population", "6", "--generations", "2",
                "--report", rep, "--svg", svg)
    assert r.returncode == 0, r.stderr
    report = json.loads(rep.read_text())
    assert report["budget_met"] and report["pruned"]["macs_fraction"] <= 0.505
    assert svg.read_text().startswith("<svg")
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    compare_with_ort(run_cli, tmp_path, out)
    # Deterministic for a seed.
    r2 = run_cli("prune", path, "-o", tmp_path / "p2.onnx", "--macs", "0.5", "--seed", "1", "--population", "6",
                 "--generations", "2", "--json")
    assert json.loads(r2.stdout)["spec"] == report["spec"]


def test_refuses_unknown_group(model_path, run_cli, tmp_path):
    sp = tmp_path / "s.json"
    sp.write_text(json.dumps({"widths": {"g999": 3}}))
    r = run_cli("prune", model_path("tiny_cnn"), "--spec", sp, "-o", tmp_path / "o.onnx")
    assert r.returncode != 0 and "g999" in r.stderr


PER_CHANNEL = {"BatchNormalization", "Relu", "Clip", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "MaxPool",
               "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Add", "Identity", "Flatten"}


def zero_at_consumers(model, producers, removed):
    """The original model with the `removed` channels of the values `producers` write zeroed where a
    Conv or Gemm reads them as input channels: the removed channels flow through per-channel ops (BN,
    activations, pools, depthwise convs, residual adds) and are cut at the first channel-mixing op."""
    m = onnx.ModelProto()
    m.CopyFrom(model)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in onnx.shape_inference.infer_shapes(m).graph.value_info}
    inits = {t.name: t for t in m.graph.initializer}
    carriers = {o for n in m.graph.node if n.name in producers for o in n.output[:1]}
    changed = True
    while changed:
        changed = False
        for n in m.graph.node:
            if not n.input or n.input[0] not in carriers or n.output[0] in carriers:
                continue
            depthwise = n.op_type == "Conv" and next((a.i for a in n.attribute if a.name == "group"), 1) > 1
            if n.op_type in PER_CHANNEL or depthwise:
                carriers.add(n.output[0])
                changed = True
    hit = 0
    for n in m.graph.node:
        depthwise = n.op_type == "Conv" and next((a.i for a in n.attribute if a.name == "group"), 1) > 1
        if n.op_type not in ("Conv", "Gemm") or depthwise or n.input[0] not in carriers:
            continue
        w = numpy_helper.to_array(inits[n.input[1]]).copy()
        if n.op_type == "Conv":
            w[:, removed] = 0
        else:
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            src = next(x for x in m.graph.node if x.output[0] == n.input[0])
            per = int(np.prod(shapes[src.input[0]][2:])) if src.op_type == "Flatten" else 1
            cols = [c * per + k for c in removed for k in range(per)]
            if trans_b:
                w[:, cols] = 0
            else:
                w[cols, :] = 0
        inits[n.input[1]].CopyFrom(numpy_helper.from_array(w, n.input[1]))
        hit += 1
    assert hit, f"no Conv/Gemm reads the channels of {producers}"
    return m


@pytest.mark.parametrize("name", ["tiny_cnn", "mobilenet_v2"])
def test_explicit_keep_equals_zeroed_channels(name, model_path, run_cli, tmp_path):
    """Maths check: pruning explicit channels (spec key `keep`) gives exactly the original model with
    those channels zeroed at their consumers (onnxruntime runs both; no BN recalibration)."""
    path = model_path(name)
    r = run_cli("prune", path, "--list")
    assert r.returncode == 0, r.stderr
    groups = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s+(g\d+)\s+(\d+)\s+(.*)", line)
        if m and "frozen" not in m.group(3):
            groups[m.group(1)] = (int(m.group(2)), [p.strip() for p in m.group(3).split(",")])
    rng = np.random.default_rng(3)
    for key, (channels, producers) in list(groups.items())[:6]:
        kept = sorted(rng.choice(channels, size=max(1, channels // 3), replace=False).tolist())
        removed = [c for c in range(channels) if c not in kept]
        out, _ = prune_spec(run_cli, tmp_path, path, {"keep": {key: kept}}, "--no-recalibrate")
        zeroed = zero_at_consumers(onnx.load(str(path)), set(producers), removed)
        feeds = {}
        for i in onnx.load(str(path)).graph.input[:1]:
            shape = [d.dim_value or 1 for d in i.type.tensor_type.shape.dim]
            feeds[i.name] = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
        want = ort.InferenceSession(zeroed.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)
        got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, feeds)
        for w, g in zip(want, got):
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{name} {key}")
        assert onnx.load(str(out)).graph.initializer  # checker-valid by prune_spec


def test_keep_rejects_bad_indices(model_path, run_cli, tmp_path):
    groups, _ = groups_and_blocks(run_cli, model_path("tiny_cnn"))
    key, channels = next(iter(groups.items()))
    for bad in ([channels], [0, 0], []):
        sp = tmp_path / "s.json"
        sp.write_text(json.dumps({"keep": {key: bad}}))
        r = run_cli("prune", model_path("tiny_cnn"), "--spec", sp, "-o", tmp_path / "o.onnx")
        assert r.returncode != 0 and "keep" in r.stderr, r.stderr


def test_prunes_optimized_bn_free_model(model_path, run_cli, tmp_path):
    """An optimized model (BN folded into Conv bias, activations fused then unfused on export) prunes too;
    there is no BN to recalibrate."""
    opt, out = tmp_path / "opt.onnx", tmp_path / "p.onnx"
    r = run_cli("optimize", model_path("tiny_cnn"), "-o", opt)
    assert r.returncode == 0, r.stderr
    assert not [n for n in onnx.load(str(opt)).graph.node if n.op_type == "BatchNormalization"]
    r = run_cli("prune", opt, "-o", out, "--macs", "0.5", "--seed", "1", "--population", "4", "--generations", "1")
    assert r.returncode == 0, r.stderr
    assert "BN recalibration off" in r.stdout
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    compare_with_ort(run_cli, tmp_path, out)


def test_unreachable_budget_returns_closest_candidate(model_path, run_cli, tmp_path):
    """Depth only at 10 %: dropping every removable block still leaves more MACs. The search does not
    fail: it returns the smallest candidate (every block dropped), says the budget is not reachable
    (text, JSON) and writes a model that runs."""
    path, out, rep = model_path("tiny_cnn"), tmp_path / "p.onnx", tmp_path / "r.json"
    _, blocks = groups_and_blocks(run_cli, path)
    r = run_cli("prune", path, "-o", out, "--macs", "0.1", "--dims", "depth", "--seed", "1", "--population", "4",
                "--generations", "1", "--report", rep)
    assert r.returncode == 0, r.stderr
    assert "budget not reachable" in r.stdout, r.stdout
    report = json.loads(rep.read_text())
    assert not report["budget_met"] and not report["budget_reachable"]
    assert report["budget_note"].startswith("budget not reachable with dims depth: smallest candidate is ")
    assert report["pruned"]["macs_fraction"] > 0.1
    assert report["removed_blocks"] == blocks
    assert f"{report['pruned']['macs_fraction'] * 100:.1f} % MACs" in report["budget_note"]
    onnx.checker.check_model(onnx.load(str(out)), full_check=True)
    compare_with_ort(run_cli, tmp_path, out)


def text_line_model(fixed_reshape=False):
    """A 24×96 (text-line shaped) input through convs striding the height only, like PP-OCR cls: the
    height reaching the final MaxPool (kernel 2) is 2, so every input height below 17 is invalid. Shape
    constants depend on the size: a channel shuffle (Reshape [1, 2, 4, h, w] → Transpose → Reshape
    [1, 8, h, w]) and a Reshape [1, 8, w] before averaging over the width; with `fixed_reshape`, a
    Reshape [1, 8·w] feeding a Gemm, which cannot follow a new size."""
    r = np.random.default_rng(2)
    def c(name, arr):
        return numpy_helper.from_array(np.asarray(arr, dtype=np.float32), name)
    def i64(name, v):
        return numpy_helper.from_array(np.array(v, dtype=np.int64), name)
    inits = [c("w0", r.normal(0, .3, (8, 3, 3, 3))), c("s", r.uniform(.5, 1.5, 8)), c("b", r.normal(0, .1, 8)),
             c("m", r.normal(0, .1, 8)), c("v", r.uniform(.5, 1.5, 8)),
             c("w1", r.normal(0, .3, (8, 8, 3, 3))), c("w2", r.normal(0, .3, (8, 8, 3, 3))),
             c("w3", r.normal(0, .2, (8, 8, 5, 5))),
             i64("shuf", [1, 2, 4, 6, 48]), i64("unshuf", [1, 8, 6, 48]),
             i64("rows", [1, 8 * 24] if fixed_reshape else [1, 8, 24]),
             c("fc", r.normal(0, .2, (5, 8 * 24 if fixed_reshape else 8))), c("fcb", r.normal(0, .1, 5))]
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], name="conv0", pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("BatchNormalization", ["c0", "s", "b", "m", "v"], ["bn0"], name="bn0"),
             helper.make_node("Relu", ["bn0"], ["r0"], name="relu0"),
             helper.make_node("Conv", ["r0", "w1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], strides=[2, 1]),
             helper.make_node("Reshape", ["c1", "shuf"], ["s5"], name="shuffle_split"),
             helper.make_node("Transpose", ["s5"], ["t5"], name="shuffle_swap", perm=[0, 2, 1, 3, 4]),
             helper.make_node("Reshape", ["t5", "unshuf"], ["sh"], name="shuffle_merge"),
             helper.make_node("Conv", ["sh", "w2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], strides=[2, 1]),
             helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
             helper.make_node("Conv", ["r2", "w3"], ["c3"], name="conv3", pads=[2, 2, 2, 2], strides=[2, 1]),
             helper.make_node("MaxPool", ["c3"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("Reshape", ["p", "rows"], ["rw"], name="rows")]
    if fixed_reshape:
        nodes.append(helper.make_node("Gemm", ["rw", "fc", "fcb"], ["y"], name="fc", transB=1))
    else:
        nodes += [helper.make_node("ReduceMean", ["rw"], ["avg"], name="avg", axes=[2], keepdims=0),
                  helper.make_node("Gemm", ["avg", "fc", "fcb"], ["y"], name="fc", transB=1)]
    g = helper.make_graph(nodes, "text_line", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 24, 96])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.checker.check_model(m, full_check=True)
    return m


def test_spatial_search_non_square_with_stride_limit(run_cli, tmp_path):
    """Spatial search on a 24×96 input whose strides reject heights below 17: the candidates keep the
    4:1 aspect, resolutions the graph rejects are reported (naming the node) instead of failing the
    search, the smallest valid height is reachable, and the size-dependent Reshapes are rewritten."""
    src, out, rep = tmp_path / "line.onnx", tmp_path / "p.onnx", tmp_path / "r.json"
    onnx.save(text_line_model(), str(src))
    r = run_cli("prune", src, "-o", out, "--macs", "0.8", "--dims", "spatial", "--seed", "1", "--population", "4",
                "--generations", "1", "--report", rep)
    assert r.returncode == 0, r.stderr
    report = json.loads(rep.read_text())
    assert report["budget_met"], report.get("budget_note")
    h, w = report["pruned"]["resolution"]
    assert 17 <= h < 24 and w == 4 * h, (h, w)
    assert report["pruned"]["macs_fraction"] <= 0.8 * 1.005
    rejected = report["rejected_resolutions"]
    assert rejected and all(x["resolution"][1] == 4 * x["resolution"][0] for x in rejected)
    assert "pool" in rejected[0]["reason"], rejected
    m = onnx.load(str(out))
    onnx.checker.check_model(m, full_check=True)
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim][2:] == [h, w]
    compare_with_ort(run_cli, tmp_path, out)


@pytest.mark.parametrize("size", [[20, 80], [17, 68]])
def test_spatial_spec_rewrites_size_dependent_reshapes(size, run_cli, tmp_path):
    src = tmp_path / "line.onnx"
    onnx.save(text_line_model(), str(src))
    out, m = prune_spec(run_cli, tmp_path, src, {"resolution": size})
    assert [d.dim_value for d in m.graph.input[0].type.tensor_type.shape.dim][2:] == size
    compare_with_ort(run_cli, tmp_path, out)


def test_spatial_unrewritable_reshape_names_the_node(run_cli, tmp_path):
    """A Gemm reading the flattened [1, 8·w] features cannot follow a new size (its Reshape becomes
    [1, -1], the Gemm's weight cannot): a spec asking for one is refused naming the node; the search reports every smaller resolution as rejected (naming it) and returns the
    original with "budget not reachable" instead of failing."""
    src, out, rep = tmp_path / "line.onnx", tmp_path / "p.onnx", tmp_path / "r.json"
    onnx.save(text_line_model(fixed_reshape=True), str(src))
    sp = tmp_path / "s.json"
    sp.write_text(json.dumps({"resolution": [20, 80]}))
    r = run_cli("prune", src, "--spec", sp, "-o", out)
    assert r.returncode != 0 and "fc (Gemm)" in r.stderr, r.stderr
    r = run_cli("prune", src, "-o", out, "--macs", "0.5", "--dims", "spatial", "--population", "2",
                "--generations", "1", "--report", rep)
    assert r.returncode == 0, r.stderr
    report = json.loads(rep.read_text())
    assert not report["budget_reachable"] and report["pruned"]["resolution"] == [24, 96]
    assert report["rejected_resolutions"] and any("fc (Gemm)" in x["reason"] for x in report["rejected_resolutions"])
    assert "rejected" in r.stdout and "budget not reachable" in r.stdout
