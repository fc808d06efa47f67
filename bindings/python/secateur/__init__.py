"""Secateur: an embeddable CPU inference runtime for ONNX models — Python binding.

Pure Python over the C library (ctypes + numpy), shaped like onnxruntime's API::

    import numpy as np
    import secateur

    sess = secateur.InferenceSession("model.onnx", threads=4)
    x = sess.get_inputs()[0]                       # .name, .shape ([1, 3, 224, 224] or ['batch', 3, ...]), .type
    (logits,) = sess.run(None, {x.name: np.zeros((1, 3, 224, 224), np.float32)})
    report = secateur.optimize("model.onnx", "model.opt.onnx")

Errors from the library raise SecateurError (a RuntimeError) with the library's message, which names
the input, node, operator or shape at fault.
"""

from __future__ import annotations

from ._session import InferenceSession, NodeArg, SecateurError, optimize, prune

__all__ = ["InferenceSession", "NodeArg", "SecateurError", "optimize", "prune", "kernel_isa", "__version__",
           "library_path"]

from ._capi import lib as _lib

__version__: str = _lib.sct_version().decode()
library_path: str = str(_lib.path)


def kernel_isa() -> str:
    """The SIMD variant of the float kernels this process runs: "avx512", "avx2" or "baseline" — the widest
    the CPU supports, unless the environment variable SECATEUR_ISA (avx2 or baseline), read at the first
    kernel call, caps it."""
    return _lib.sct_kernel_isa().decode()
