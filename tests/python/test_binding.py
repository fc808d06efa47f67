"""The Python binding (bindings/python/secateur) against onnxruntime.

Runs on models built here with onnx.helper, and on tools/make_models.py's models (tiny_cnn, …) and
tests/c/make_test_models.py's add.onnx. A model whose operators the library does not implement yet is
skipped (session creation fails with SCT_UNSUPPORTED); any other failure fails the test, so the whole
file runs once the kernels exist.

Environment: SECATEUR_LIBRARY selects the library (default: the in-tree build, see secateur/_capi.py).
"""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bindings" / "python"))

import secateur  # noqa: E402

RTOL, ATOL = 1e-4, 1e-5

DTYPES = [np.float32, np.float64, np.float16, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
          np.uint32, np.uint64, np.bool_]
ONNX_OF = {np.dtype(d): helper.np_dtype_to_tensor_dtype(np.dtype(d)) for d in DTYPES}


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def opset_model(graph) -> onnx.ModelProto:
    return helper.make_model(graph, ir_version=8, opset_imports=[helper.make_opsetid("", 17)])


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> Path:
    """plain.onnx (x[batch,3] -> x, constant c -> c, no nodes: onnxruntime runs it too), dtypes.onnx (one
    passthrough per dtype), and from tests/c/make_test_models.py passthrough.onnx (plain.onnx plus a dead
    node of a made-up op, which only the optimizer makes runnable) and add.onnx."""
    out = tmp_path_factory.mktemp("binding-models")
    subprocess.run([sys.executable, str(REPO / "tests/c/make_test_models.py"), str(out)], check=True)
    c = numpy_helper.from_array(np.array([1.5, -2.0], np.float32), "c")
    save(opset_model(helper.make_graph(
        [], "passthrough",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        outputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
                 helper.make_tensor_value_info("c", TensorProto.FLOAT, [2])],
        initializer=[c])), out / "plain.onnx")
    values = [helper.make_tensor_value_info(f"in_{np.dtype(d).name}", ONNX_OF[np.dtype(d)], [2, None])
              for d in DTYPES]
    save(opset_model(helper.make_graph([], "dtypes", inputs=values, outputs=values)), out / "dtypes.onnx")
    return out


@pytest.fixture(scope="module")
def zoo(tmp_path_factory):
    """tools/make_models.py's models, generated on first use into a temporary directory."""
    out = tmp_path_factory.mktemp("zoo")

    def get(name: str) -> Path:
        path = out / f"{name}.onnx"
        if not path.is_file():
            subprocess.run([sys.executable, str(REPO / "tools/make_models.py"), "--out", str(out), "--only", name],
                           check=True, cwd=REPO)
        return path

    return get


def session_or_skip(path, **kwargs) -> secateur.InferenceSession:
    try:
        return secateur.InferenceSession(path, **kwargs)
    except secateur.SecateurError as e:
        if e.status_name == "SCT_UNSUPPORTED":
            pytest.skip(f"not supported by this build yet: {e}")
        raise


def node_args(args) -> list[tuple]:
    return [(a.name, a.type, list(a.shape)) for a in args]


def random_feed(sess, rng) -> dict:
    feed = {}
    for i in sess.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        assert i.type == "tensor(float)", i
        feed[i.name] = rng.standard_normal(shape).astype(np.float32)
    return feed


# ---- metadata ----------------------------------------------------------------------------------------

def test_version_and_library():
    assert secateur.__version__.count(".") == 2
    assert Path(secateur.library_path).is_file()
    assert issubclass(secateur.SecateurError, RuntimeError)


def _widest_isa() -> str:
    flags = next((line.split() for line in open("/proc/cpuinfo") if line.startswith("flags")), [])
    return "avx512" if "avx512f" in flags else "avx2" if "avx2" in flags and "fma" in flags else "baseline"


@pytest.mark.parametrize("cap", [None, "avx2", "baseline"])
def test_kernel_isa_is_the_widest_the_cpu_has_unless_capped(zoo, cap):
    # Each case in a fresh process: the choice is made once per process, at the first kernel call.
    # A session runs first, so the variant reported is the one the kernels used.
    order = ["baseline", "avx2", "avx512"]
    widest = _widest_isa()
    expected = widest if cap is None else order[min(order.index(cap), order.index(widest))]
    env = {k: v for k, v in os.environ.items() if k != "SECATEUR_ISA"}
    if cap:
        env["SECATEUR_ISA"] = cap
    script = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); import secateur; "
              "s = secateur.InferenceSession(sys.argv[2]); "
              "s.run(None, {i.name: np.ones([d if isinstance(d, int) else 1 for d in i.shape], np.float32) "
              "for i in s.get_inputs()}); print(secateur.kernel_isa())")
    out = subprocess.run([sys.executable, "-c", script, str(REPO / "bindings" / "python"), str(zoo("tiny_cnn"))],
                         env=env, check=True, capture_output=True, text=True).stdout.strip()
    assert out == expected


def test_inputs_outputs_match_onnxruntime(models):
    path = models / "plain.onnx"
    ours, ref = secateur.InferenceSession(path), ort.InferenceSession(str(path))
    assert node_args(ours.get_inputs()) == node_args(ref.get_inputs())
    assert node_args(ours.get_outputs()) == node_args(ref.get_outputs())
    assert ours.get_inputs()[0].shape == ["batch", 3]


def test_types_and_unknown_dims_match_onnxruntime(models):
    path = models / "dtypes.onnx"
    ours, ref = secateur.InferenceSession(path), ort.InferenceSession(str(path))
    assert node_args(ours.get_inputs()) == node_args(ref.get_inputs())
    assert ours.get_inputs()[0].shape == [2, None]


# ---- running -----------------------------------------------------------------------------------------

def test_run_matches_onnxruntime(models):
    path = models / "plain.onnx"
    ours, ref = secateur.InferenceSession(path, threads=2), ort.InferenceSession(str(path))
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    got, want = ours.run(None, {"x": x}), ref.run(None, {"x": x})
    assert len(got) == len(want) == 2
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)
    (c,) = ours.run(["c"], {"x": x})
    np.testing.assert_array_equal(c, [1.5, -2.0])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_round_trips(models, dtype):
    path = models / "dtypes.onnx"
    ours, ref = secateur.InferenceSession(path), ort.InferenceSession(str(path))
    rng = np.random.default_rng(1)
    feed = {i.name: (rng.standard_normal((2, 4)) * 50).astype(np.dtype(i.name[3:])) for i in ours.get_inputs()}
    name = f"in_{np.dtype(dtype).name}"
    (got,) = ours.run([name], feed)
    (want,) = ref.run([name], feed)
    assert got.dtype == want.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got, want)


def test_non_contiguous_inputs_are_accepted(models):
    sess = secateur.InferenceSession(models / "plain.onnx")
    base = np.arange(24, dtype=np.float32).reshape(3, 8)
    x = base[:, ::3][:, :3]  # strided view, shape (3, 3)
    assert not x.flags.c_contiguous
    (got, _) = sess.run(None, {"x": x})
    np.testing.assert_array_equal(got, x)
    # A read-only array (over bytes) is read in place through another route to its address.
    frozen = np.frombuffer(np.arange(6, dtype=np.float32).tobytes(), np.float32).reshape(2, 3)
    assert not frozen.flags.writeable
    (got, _) = sess.run(None, {"x": frozen})
    np.testing.assert_array_equal(got, frozen)


def test_empty_tensors_round_trip(models):
    # A zero-row batch: the input wraps no bytes and the output is an empty array of the right shape.
    sess = secateur.InferenceSession(models / "plain.onnx")
    x = np.zeros((0, 3), np.float32)
    (got, c) = sess.run(None, {"x": x})
    want = ort.InferenceSession(str(models / "plain.onnx")).run(None, {"x": x})[0]
    assert got.shape == want.shape == (0, 3) and got.dtype == np.float32
    np.testing.assert_array_equal(c, [1.5, -2.0])


def test_outputs_own_their_memory(models):
    sess = secateur.InferenceSession(models / "plain.onnx")
    x = np.ones((2, 3), np.float32)
    y, c = sess.run(None, {"x": x})
    # No copy: a view of the library tensor, whose owner rides on the buffer at the end of the base chain.
    base = y
    while isinstance(base, np.ndarray):
        base = base.base
    assert type(getattr(base, "owner", None)).__name__ == "_TensorOwner"
    assert not np.shares_memory(y, x)  # a passed-through input is copied by the library, never aliased
    y[:] = 7
    c[:] = 7  # writing an output changes neither the input nor the model's constant
    np.testing.assert_array_equal(x, 1)
    _, c2 = sess.run(None, {"x": x})
    np.testing.assert_array_equal(c2, [1.5, -2.0])
    sess.close()
    gc.collect()
    np.testing.assert_array_equal(y, 7)  # outputs outlive their session


def test_outputs_are_freed_with_their_arrays(tmp_path):
    # Each run returns a 4 MiB output viewing library memory; dropping the array must free it (300 runs
    # that leaked would grow the process by 1.2 GiB).
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1024, 1024])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1024, 1024])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "relu.onnx")
    sess = secateur.InferenceSession(tmp_path / "relu.onnx", threads=1)
    a = np.ones((1024, 1024), np.float32)

    def resident_mib() -> float:
        return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20

    for _ in range(10):
        sess.run(None, {"x": a})
    before = resident_mib()
    for _ in range(300):
        out = sess.run(None, {"x": a})[0]
        assert out[5, 5] == 1.0
    del out
    gc.collect()
    assert resident_mib() - before < 64


def test_load_from_bytes(models):
    data = (models / "plain.onnx").read_bytes()
    sess = secateur.InferenceSession(data)
    assert [o.name for o in sess.get_outputs()] == ["x", "c"]
    sess = secateur.InferenceSession(bytearray(data), optimize=False)
    assert sess.run(["c"], {"x": np.zeros((1, 3), np.float32)})[0].tolist() == [1.5, -2.0]


def run_on_threads(work, count: int) -> None:
    """Runs work(0) … work(count - 1) on `count` threads at once and waits for all of them."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_runs_on_one_session(models):
    sess = secateur.InferenceSession(models / "plain.onnx", threads=1)
    errors = []

    def work(seed: int):
        rng = np.random.default_rng(seed)
        for _ in range(50):
            x = rng.standard_normal((4, 3)).astype(np.float32)
            (y,) = sess.run(["x"], {"x": x})
            if not np.array_equal(x, y):
                errors.append(seed)

    run_on_threads(work, 4)
    assert errors == []


def test_one_session_runs_changing_shapes(tmp_path):
    """A conv net with free batch and spatial dims, run on one session with the input shape changing
    from run to run (in turn, then from four threads at once): each conv keeps the shape it resolved
    last, and each run must still get its own (a stale one reads the wrong geometry)."""
    rng = np.random.default_rng(3)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5, "oh", "ow"])
    w1 = numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((8, 1, 3, 3)).astype(np.float32), "w2")
    w3 = numpy_helper.from_array(rng.standard_normal((5, 8, 1, 1)).astype(np.float32), "w3")
    nodes = [helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["a"], ["b"]),
             helper.make_node("Conv", ["b", "w2"], ["c"], pads=[1, 1, 1, 1], group=8),
             helper.make_node("Conv", ["c", "w3"], ["y"])]
    path = save(opset_model(helper.make_graph(nodes, "shapes", [x], [y], [w1, w2, w3])), tmp_path / "shapes.onnx")
    ref = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    sess = secateur.InferenceSession(path, threads=2)
    shapes = [(1, 3, 9, 9), (2, 3, 9, 9), (1, 3, 13, 11), (1, 3, 9, 9), (3, 3, 6, 17)]
    feeds = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    for f in feeds:
        (ours,) = sess.run(None, {"x": f})
        np.testing.assert_allclose(ours, ref.run(None, {"x": f})[0], rtol=RTOL, atol=ATOL)
    expected = [ref.run(None, {"x": f})[0] for f in feeds]
    errors = []

    def work(offset: int):
        for r in range(20):
            k = (r + offset) % len(feeds)
            (ours,) = sess.run(None, {"x": feeds[k]})
            if ours.shape != expected[k].shape or not np.allclose(ours, expected[k], rtol=RTOL, atol=ATOL):
                errors.append((offset, k))

    run_on_threads(work, 4)
    assert errors == []


# ---- errors ------------------------------------------------------------------------------------------

def expect_error(status: str, needle: str, fn, *args, **kwargs):
    with pytest.raises(secateur.SecateurError) as info:
        fn(*args, **kwargs)
    assert info.value.status_name == status, str(info.value)
    assert needle in str(info.value)


def test_errors_carry_the_library_message(models, tmp_path):
    path = models / "plain.onnx"
    sess = secateur.InferenceSession(path)
    x = np.zeros((2, 3), np.float32)
    expect_error("SCT_INVALID_ARGUMENT", "'nope' is not an input of this model (inputs: x)", sess.run, None, {"nope": x})
    expect_error("SCT_INVALID_ARGUMENT", "input 'x' was not given", sess.run, None, {})
    expect_error("SCT_INVALID_ARGUMENT", "input 'x': got float64, the model expects float32",
                 sess.run, None, {"x": x.astype(np.float64)})
    expect_error("SCT_INVALID_ARGUMENT", "input 'x': got shape [2, 4]", sess.run, None, {"x": np.zeros((2, 4), np.float32)})
    expect_error("SCT_INVALID_ARGUMENT", "'y' is not an output", sess.run, ["y"], {"x": x})
    expect_error("SCT_INVALID_ARGUMENT", "numpy dtype <U1 is not supported", sess.run, None, {"x": np.array(["a"])})
    expect_error("SCT_IO_ERROR", str(tmp_path / "missing.onnx"), secateur.InferenceSession, tmp_path / "missing.onnx")
    data = path.read_bytes()
    expect_error("SCT_INVALID_MODEL", "sct_model_load_memory", secateur.InferenceSession, data[: len(data) // 2])
    expect_error("SCT_INVALID_ARGUMENT", "threads is -3", secateur.InferenceSession, path, threads=-3)
    expect_error("SCT_UNSUPPORTED", "unused_node (Unused)", secateur.InferenceSession,
                 models / "passthrough.onnx", optimize=False)
    sess.close()
    expect_error("SCT_INVALID_ARGUMENT", "closed", sess.run, None, {"x": x})


# ---- optimizer ---------------------------------------------------------------------------------------

def test_optimize_writes_a_runnable_model(models, tmp_path):
    out = tmp_path / "optimized.onnx"
    report = secateur.optimize(models / "passthrough.onnx", out)
    assert "eliminate-dead-code: 1 nodes" in report
    model = onnx.load(str(out))
    onnx.checker.check_model(model)
    assert len(model.graph.node) == 0
    sess = secateur.InferenceSession(out, optimize=False)  # the dead custom op is gone
    (c,) = sess.run(["c"], {"x": np.zeros((1, 3), np.float32)})
    np.testing.assert_array_equal(c, [1.5, -2.0])
    np.testing.assert_array_equal(ort.InferenceSession(str(out)).run(["c"], {"x": np.zeros((1, 3), np.float32)})[0], c)


# ---- real operators (skipped until their kernels exist) ----------------------------------------------

@pytest.mark.parametrize("name", ["add", "tiny_cnn", "mobilenet_v2_odd"])
def test_models_match_onnxruntime(models, zoo, name):
    path = models / "add.onnx" if name == "add" else zoo(name)
    for optimize in (True, False):
        sess = session_or_skip(path, threads=2, optimize=optimize)
        ref = ort.InferenceSession(str(path))
        feed = random_feed(sess, np.random.default_rng(3))
        got, want = sess.run(None, feed), ref.run(None, feed)
        assert node_args(sess.get_outputs()) == node_args(ref.get_outputs())
        for g, w in zip(got, want):
            assert g.shape == w.shape and g.dtype == w.dtype
            np.testing.assert_allclose(g, w, rtol=RTOL, atol=ATOL, err_msg=f"{name} optimize={optimize}")


def test_prune_writes_a_smaller_model_onnxruntime_agrees_on(zoo, tmp_path):
    """secateur.prune: the pruned file passes onnx's full checker, has at most half the MACs' worth of
    weights removed as reported, and onnxruntime and Secateur agree on its outputs (rtol 1e-4)."""
    src = zoo("tiny_cnn")
    dst = tmp_path / "pruned.onnx"
    report = secateur.prune(src, dst, macs=0.5, seed=3)
    assert "MACs" in report
    model = onnx.load(str(dst))
    onnx.checker.check_model(model, full_check=True)
    params = lambda m: sum(int(np.prod(t.dims)) for t in m.graph.initializer)  # noqa: E731
    assert params(model) < params(onnx.load(str(src)))
    sess = secateur.InferenceSession(str(dst), threads=1)
    feed = random_feed(sess, np.random.default_rng(5))
    want = ort.InferenceSession(str(dst), providers=["CPUExecutionProvider"]).run(None, feed)
    for got, w in zip(sess.run(None, feed), want):
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)
    with pytest.raises(secateur.SecateurError, match="macs_fraction"):
        secateur.prune(src, tmp_path / "bad.onnx", macs=0)


def test_in_tree_library_newest_first(tmp_path, monkeypatch):
    """In a source checkout the binding tries the newer of build/lib and .build/release first: a
    `make cli` leaves the SwiftPM copy stale, and a fixed order loaded a day-old library."""
    from secateur import _capi

    (tmp_path / "include").mkdir()
    (tmp_path / "include" / "secateur.h").write_text("")
    (tmp_path / "Package.swift").write_text("")
    made = tmp_path / "build" / "lib" / "libsecateur.so"
    swiftpm = tmp_path / ".build" / "release" / "libsecateur.so"
    for p in (made, swiftpm):
        p.parent.mkdir(parents=True)
        p.write_bytes(b"")
    monkeypatch.setattr(_capi, "_REPO", tmp_path)
    monkeypatch.delenv("SECATEUR_LIBRARY", raising=False)
    import os
    os.utime(made, (1_000_000, 1_000_000))
    os.utime(swiftpm, (2_000_000, 2_000_000))
    assert _capi._candidates()[:2] == [swiftpm, made]
    os.utime(made, (3_000_000, 3_000_000))
    assert _capi._candidates()[:2] == [made, swiftpm]
