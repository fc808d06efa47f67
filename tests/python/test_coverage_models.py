"""Beyond CNNs (issue 9): a transformer encoder and a stacked LSTM built by
tools/make_models.py must match onnxruntime through `secateur run`.

transformer_tiny: token/position embeddings (Gather), LayerNormalization,
multi-head attention from MatMul/Transpose/Softmax, erf-GELU MLP, residuals.
lstm_tiny: bidirectional LSTM feeding a forward LSTM, linear head on Y_h.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

RTOL = 1e-4
ATOL = 1e-5


def make_inputs(session: ort.InferenceSession, name: str) -> dict:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    inputs = {}
    for info in session.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in info.shape]
        if info.type == "tensor(int64)":
            inputs[info.name] = rng.integers(0, 64, size=shape, dtype=np.int64)
        else:
            inputs[info.name] = rng.standard_normal(shape).astype(np.float32)
    return inputs


@pytest.mark.parametrize("name", ["transformer_tiny", "lstm_tiny"])
def test_matches_onnxruntime(name: str, model_path, run_cli, tmp_path: Path) -> None:
    model = model_path(name)
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    inputs = make_inputs(session, name)
    names = [o.name for o in session.get_outputs()]
    expected = dict(zip(names, session.run(names, inputs)))

    args = []
    for key, value in inputs.items():
        path = tmp_path / f"{key}.npy"
        np.save(path, value)
        args += ["--input", f"{key}={path}"]
    out = tmp_path / "out.npz"
    result = run_cli("run", model, *args, "--output", out)
    assert result.returncode == 0, result.stderr
    got = np.load(out)
    for key, want in expected.items():
        assert got[key].shape == want.shape, key
        np.testing.assert_allclose(got[key], want, rtol=RTOL, atol=ATOL, err_msg=f"{name}: {key}")
