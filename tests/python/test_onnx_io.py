"""ONNX export: every model Secateur writes passes onnx's full checker and onnxruntime gives the same
outputs on it as on the original (rtol 1e-4 / atol 1e-5: BatchNorm folding reorders float arithmetic)."""
import re

import numpy as np
import onnx
import onnxruntime as ort
import pytest

MODELS = ["tiny_cnn", "mobilenet_v2_odd", "resnet18"]


def ort_run(path, feeds):
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return s.run(None, feeds)


@pytest.mark.parametrize("name", MODELS)
def test_written_model_passes_full_check_and_matches(name, tmp_path, model_path, run_cli):
    src = str(model_path(name))
    out = tmp_path / f"{name}.out.onnx"
    r = run_cli("optimize", src, "-o", out)
    assert r.returncode == 0, r.stderr
    model = onnx.load(str(out))
    onnx.checker.check_model(model, full_check=True)
    x = np.random.default_rng(1).standard_normal(
        [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]).astype(np.float32)
    feeds = {model.graph.input[0].name: x}
    for a, b in zip(ort_run(src, feeds), ort_run(str(out), feeds)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_round_trip_keeps_every_field(tmp_path, run_cli):
    """A model with functions, metadata, symbolic dims and doc strings survives load → write unchanged
    (compared as parsed protos, so field order does not matter)."""
    from onnx import helper, TensorProto
    node = helper.make_node("Relu", ["x"], ["y"], name="r", doc_string="d")
    graph = helper.make_graph([node], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="p",
                          doc_string="model doc")
    helper.set_model_props(m, {"author": "secateur"})
    m.ir_version = 8
    src = tmp_path / "m.onnx"
    onnx.save(m, str(src))
    out = tmp_path / "o.onnx"
    r = run_cli("optimize", src, "-o", out)
    assert r.returncode == 0, r.stderr
    back = onnx.load(str(out))
    assert back == m, "written model differs from the original"


def test_bench_sweeps_caches_between_runs(model_path, run_cli):
    """`bench --evict-mb` (cold-cache latency) is accepted, sweeps before each timed run and still reports
    every run; a negative size means none."""
    src = model_path("tiny_cnn")
    r = run_cli("bench", src, "--runs", "3", "--warmup", "0", "--threads", "1", "--evict-mb", "8", "--json")
    assert r.returncode == 0, r.stderr
    assert '"runs": 3' in r.stdout
    r = run_cli("bench", src, "--runs", "1", "--warmup", "0", "--evict-mb=-5")
    assert r.returncode == 0 and "median" in r.stdout, r.stderr


def test_bench_reports_the_planned_arena(model_path, run_cli):
    """`bench` prints the arena a run uses (intermediates after reuse, plus scratch) and the intermediates'
    own total without reuse; both are positive for a conv net. (The planner's reuse itself is checked in
    Tests/RuntimeTests/SessionTests.swift.)"""
    r = run_cli("bench", model_path("tiny_cnn"), "--runs", "1", "--warmup", "0", "--threads", "1")
    assert r.returncode == 0, r.stderr
    m = re.search(r"arena ([0-9.]+) MB \(intermediates and scratch; the intermediates alone, unshared, ([0-9.]+) MB\)",
                  r.stdout)
    assert m, r.stdout
    assert float(m.group(1)) > 0 and float(m.group(2)) > 0
