#!/usr/bin/env python3
"""Write the tiny ONNX models the C API and Python binding tests run.

Usage:
    python tests/c/make_test_models.py OUT_DIR

passthrough.onnx  Runs with no operator kernels at all, so the C ABI can be tested on its own:
                  graph input x: float32[batch, 3] is also graph output x, initializer c: float32[2]
                  = [1.5, -2] is graph output c, and one node of a made-up domain
                  (test.secateur::Unused) computes a value nothing reads. The default optimizer removes
                  that node (eliminate-dead-code); with optimization off, session creation must fail
                  with SCT_UNSUPPORTED naming the node and op.
add.onnx          y = Add(Add(x, c), c) with x: float32[batch, 2], c = [1.5, -2]: needs the Add kernel;
                  the intermediate gives the memory limit something to refuse;
                  tests run it only when the library supports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8


def passthrough() -> onnx.ModelProto:
    c = numpy_helper.from_array(np.array([1.5, -2.0], dtype=np.float32), "c")
    unused = helper.make_node("Unused", ["x"], ["dead"], name="unused_node", domain="test.secateur")
    graph = helper.make_graph(
        [unused], "passthrough",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        outputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
                 helper.make_tensor_value_info("c", TensorProto.FLOAT, [2])],
        initializer=[c])
    return helper.make_model(graph, ir_version=IR_VERSION,
                             opset_imports=[helper.make_opsetid("", OPSET), helper.make_opsetid("test.secateur", 1)])


def add() -> onnx.ModelProto:
    c = numpy_helper.from_array(np.array([1.5, -2.0], dtype=np.float32), "c")
    first = helper.make_node("Add", ["x", "c"], ["t"], name="add_node")
    second = helper.make_node("Add", ["t", "c"], ["y"], name="add_again")
    graph = helper.make_graph(
        [first, second], "add",
        inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2])],
        outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        initializer=[c])
    model = helper.make_model(graph, ir_version=IR_VERSION, opset_imports=[helper.make_opsetid("", OPSET)])
    onnx.checker.check_model(model, full_check=True)
    return model


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, make in (("passthrough", passthrough), ("add", add)):
        onnx.save(make(), str(out / f"{name}.onnx"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
