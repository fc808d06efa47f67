"""One wrapper per engine with the same two calls, `Engine(path, threads)` and `engine.run(x)`.

- Secateur: the Python binding (bindings/python) over build/lib/libsecateur.so (env SECATEUR_LIBRARY).
- onnxruntime: default CPU provider, ORT_ENABLE_ALL, intra-op threads = the thread count, sequential.
- OpenVINO: CPU plugin, INFERENCE_PRECISION_HINT=f32, PERFORMANCE_HINT=LATENCY, NUM_STREAMS=1,
  INFERENCE_NUM_THREADS = the thread count.

`python engines.py ENGINE MODEL THREADS` is the isolated probe for session-creation time and peak RSS:
it imports the engine, records the process's peak RSS, creates the session (timed), runs once, and
prints JSON with the creation time and the peak RSS growth over the post-import baseline."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ENGINES = ("secateur", "onnxruntime", "openvino")


class Secateur:
    name = "secateur"

    def __init__(self, path: str, threads: int):
        sys.path.insert(0, str(ROOT / "bindings" / "python"))
        import secateur

        self.sess = secateur.InferenceSession(path, threads=threads)
        self.input = self.sess.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.sess.run(None, {self.input: x})[0]

    def kernels(self) -> set[str]:
        """The SIMD variant its kernels ran (the library reports its own dispatch)."""
        import secateur

        return {f"{secateur.kernel_isa()} variant"}

    @staticmethod
    def version() -> str:
        sys.path.insert(0, str(ROOT / "bindings" / "python"))
        import secateur

        return secateur.__version__


class OnnxRuntime:
    name = "onnxruntime"

    def __init__(self, path: str, threads: int):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        self.sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        self.input = self.sess.get_inputs()[0].name

    def run(self, x: np.ndarray) -> np.ndarray:
        return self.sess.run(None, {self.input: x})[0]

    def kernels(self) -> set[str]:
        """onnxruntime reports no kernel choice, and its MLAS has no switch: it picks its widest kernels from
        cpuid, which this names."""
        return {f"MLAS's {cpu_isa()} kernels"}

    @staticmethod
    def version() -> str:
        import onnxruntime as ort

        return ort.__version__


class OpenVINO:
    name = "openvino"

    def __init__(self, path: str, threads: int):
        import openvino as ov

        core = ov.Core()
        config = {
            "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY",
            "NUM_STREAMS": "1",
            "INFERENCE_NUM_THREADS": str(threads),
        }
        self.compiled = core.compile_model(core.read_model(path), "CPU", config)
        self.request = self.compiled.create_infer_request()

    def run(self, x: np.ndarray) -> np.ndarray:
        self.request.infer({0: x})
        return self.request.get_output_tensor(0).data

    def kernels(self) -> set[str]:
        """The primitive types the CPU plugin compiled its convolutions and matrix products to (e.g.
        brgconv_avx512_1x1_f32), from the compiled model's runtime info."""
        found = set()
        for op in self.compiled.get_runtime_model().get_ordered_ops():
            info = op.get_rt_info()
            if "layerType" in info and info["layerType"].astype(str) in ("Convolution", "FullyConnected", "MatMul"):
                found.add(info["primitiveType"].astype(str) if "primitiveType" in info else "unknown")
        return found

    @staticmethod
    def version() -> str:
        import openvino as ov

        return ov.get_version()


def cpu_isa() -> str:
    """The widest x86 vector ISA this CPU reports (/proc/cpuinfo flags): "AVX-512F", "AVX2+FMA" or "SSE"."""
    flags: set[str] = set()
    for line in open("/proc/cpuinfo"):
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    return "AVX-512F" if "avx512f" in flags else "AVX2+FMA" if {"avx2", "fma"} <= flags else "SSE"


def input_shape(path: str) -> list[int]:
    """The model's first input shape (every bench model has fixed dims)."""
    import onnx

    model = onnx.load(path, load_external_data=False)
    return [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]


def make(engine: str, path: str, threads: int):
    return {"secateur": Secateur, "onnxruntime": OnnxRuntime, "openvino": OpenVINO}[engine](path, threads)


def engine_class(engine: str):
    return {"secateur": Secateur, "onnxruntime": OnnxRuntime, "openvino": OpenVINO}[engine]


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _reset_peak() -> None:
    """Resets the kernel's peak-RSS mark (VmHWM) to the current RSS, so an import's transient peak does
    not hide the session's (Linux ≥ 4.0: write 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def probe(engine: str, path: str, threads: int) -> dict:
    """Session creation time and peak RSS growth, in a fresh process (see the module doc)."""
    cls = engine_class(engine)
    cls.version()  # import the engine first: its import cost is not the session's
    x = np.random.default_rng(0).standard_normal(input_shape(path), dtype=np.float32)
    _reset_peak()
    base = _status_mb("VmRSS")
    t0 = time.perf_counter()
    e = cls(path, threads)
    created = time.perf_counter() - t0
    e.run(x)
    peak = _status_mb("VmHWM")
    return {"create_ms": created * 1e3, "peak_rss_mb": peak - base, "process_peak_rss_mb": peak}


if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    print(json.dumps(probe(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
