"""Differential tests: `secateur run` must agree with onnxruntime, and fail cleanly.

CLI contract under test:
    secateur run MODEL --input NAME=FILE.npy [--input ...] --output OUT.npz [--threads N]
writes every graph output into one .npz keyed by output name, and on failure
exits non-zero with the error on stderr.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

MODELS = [
    "tiny_cnn",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v2_odd",
    "resnet18",
    "resnet50_odd",
    pytest.param("resnet50", marks=pytest.mark.slow),
]

RTOL = 1e-4
ATOL = 1e-5

_reference_cache: dict[Path, tuple[dict, dict]] = {}


def seeded_rng(name: str) -> np.random.Generator:
    # crc32 rather than hash(): stable across processes, so failures reproduce.
    return np.random.default_rng(zlib.crc32(name.encode()))


def reference(model: Path) -> tuple[dict, dict]:
    """(inputs, expected outputs) for a model, computed once per session.

    onnxruntime runs the graph as written (no graph optimisations, e.g. no BN
    folding) on one thread, so the reference is the literal ONNX semantics.
    """
    if model not in _reference_cache:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.intra_op_num_threads = 1
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        rng = seeded_rng(model.stem)
        inputs = {}
        for info in session.get_inputs():
            assert info.type == "tensor(float)", f"{model.name}: unexpected {info.type}"
            # Symbolic dims (strings/None) become 1.
            shape = [d if isinstance(d, int) else 1 for d in info.shape]
            inputs[info.name] = rng.standard_normal(shape).astype(np.float32)
        names = [o.name for o in session.get_outputs()]
        outputs = dict(zip(names, session.run(names, inputs)))
        _reference_cache[model] = (inputs, outputs)
    return _reference_cache[model]


def input_args(tmp_path: Path, inputs: dict) -> list:
    """Save each input to .npy and return the matching `--input NAME=FILE` args."""
    args = []
    for i, (name, value) in enumerate(inputs.items()):
        path = tmp_path / f"input_{i}.npy"
        np.save(path, value)
        args += ["--input", f"{name}={path}"]
    return args


def describe(result) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


def assert_clean_failure(result) -> None:
    # A negative return code means the process died from a signal (crash,
    # fatalError trap, abort): that is a bug, not an error report.
    assert result.returncode > 0, "expected a non-zero exit, not a crash\n" + describe(result)
    assert result.stderr.strip(), "expected an error message on stderr\n" + describe(result)


# --------------------------------------------------------------------------
# Numerical agreement
# --------------------------------------------------------------------------


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("name", MODELS)
def test_matches_onnxruntime(name, threads, run_cli, model_path, tmp_path):
    model = model_path(name)
    inputs, expected = reference(model)
    out = tmp_path / "out.npz"

    result = run_cli("run", model, *input_args(tmp_path, inputs), "--output", out,
                     "--threads", threads)
    assert result.returncode == 0, describe(result)

    with np.load(out) as got:
        assert sorted(got.files) == sorted(expected), "npz must hold exactly the graph outputs"
        for key, want in expected.items():
            actual = got[key]
            assert actual.dtype == want.dtype, f"{key}: dtype {actual.dtype} != {want.dtype}"
            np.testing.assert_allclose(actual, want, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{name} output {key!r}, threads={threads}")


# --------------------------------------------------------------------------
# Error handling
# --------------------------------------------------------------------------


def truncate_invalid(data: bytes, cut: int) -> bytes:
    """Cut at or just before `cut` where the bytes are definitely not a valid ModelProto.

    Cutting exactly on a field boundary can leave a parseable (if incomplete)
    message, so step back until protobuf itself rejects the prefix.
    """
    for end in range(cut, max(cut - 64, 0), -1):
        try:
            onnx.ModelProto().ParseFromString(data[:end])
        except Exception:  # DecodeError's concrete type varies by protobuf backend
            return data[:end]
    raise AssertionError(f"no invalid truncation found near byte {cut}")


CORRUPTIONS = {
    # An empty file parses as an empty ModelProto (no graph): must still be rejected.
    "empty": lambda data: b"",
    "head": lambda data: truncate_invalid(data, 16),
    "half": lambda data: truncate_invalid(data, len(data) // 2),
    "tail": lambda data: truncate_invalid(data, len(data) - 1),
    "garbage": lambda data: seeded_rng("garbage").integers(0, 256, 4096, dtype=np.uint8).tobytes(),
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_corrupt_model_fails_cleanly(corruption, run_cli, model_path, tmp_path):
    model = model_path("tiny_cnn")
    inputs, _ = reference(model)
    bad = tmp_path / "corrupt.onnx"
    bad.write_bytes(CORRUPTIONS[corruption](model.read_bytes()))

    result = run_cli("run", bad, *input_args(tmp_path, inputs), "--output", tmp_path / "out.npz")
    assert_clean_failure(result)


@pytest.mark.parametrize("shape", [(1, 3, 32, 32), (1, 4, 64, 64), (3, 64, 64)],
                         ids=["spatial", "channels", "rank"])
def test_wrong_input_shape_names_the_input(shape, run_cli, model_path, tmp_path):
    # "input" is too common a word to prove the message names the input, so
    # rename the graph input to something distinctive first.
    distinctive = "image_tensor_in"
    model = onnx.load(str(model_path("tiny_cnn")))
    old = model.graph.input[0].name
    model.graph.input[0].name = distinctive
    for node in model.graph.node:
        node.input[:] = [distinctive if i == old else i for i in node.input]
    renamed = tmp_path / "renamed.onnx"
    onnx.save(model, str(renamed))

    x = seeded_rng("shape").standard_normal(shape).astype(np.float32)
    result = run_cli("run", renamed, *input_args(tmp_path, {distinctive: x}),
                     "--output", tmp_path / "out.npz")
    assert_clean_failure(result)
    assert distinctive in result.stderr, "error should name the offending input\n" + describe(result)


# --------------------------------------------------------------------------
# inspect
# --------------------------------------------------------------------------


def test_inspect_prints_op_histogram(run_cli, model_path):
    result = run_cli("inspect", model_path("tiny_cnn"))
    assert result.returncode == 0, describe(result)
    assert "Conv" in result.stdout, "op histogram should list Conv\n" + describe(result)
