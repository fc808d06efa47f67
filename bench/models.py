"""The benchmark's model set: the reference CNNs of tools/make_models.py, channel-pruned MobileNetV2 /
ResNet-50 at ~50 % and ~70 % width with every pruned width odd (e.g. 37, 203), and two trained real-world
models (PP-OCR's text-direction classifier and text detector, from the pinned rapidocr_onnxruntime wheel
via tools/fetch_real_models.py) with their input fixed to one typical size.

Built with the same builders as tools/make_models.py (same seeds, same BN statistics), so the
pruned variants differ from the unpruned ones only in channel counts. MACs are the builders' count
(Conv + Gemm multiply-accumulates at batch 1)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import make_models as mm  # noqa: E402

SHAPE = [1, 3, 224, 224]
REAL_DIR = ROOT / "build" / "models" / "real"
# name -> (file in REAL_DIR, input shape): a 48×192 text line for the classifier, a 480×480 page crop for
# the detector (its input is dynamic; multiples of 32).
REAL = {
    "ppocr_cls": ("ch_ppocr_mobile_v2.0_cls_infer.onnx", [1, 3, 48, 192]),
    "ppocr_det": ("ch_PP-OCRv4_det_infer.onnx", [1, 3, 480, 480]),
}


def conv_gemm_macs(model) -> int:
    """Conv / ConvTranspose / Gemm / MatMul multiply-accumulates from onnx's inferred shapes."""
    import onnx
    from onnx import shape_inference

    m = shape_inference.infer_shapes(model)
    shapes = {}
    for v in list(m.graph.value_info) + list(m.graph.input) + list(m.graph.output):
        dims = [d.dim_value for d in v.type.tensor_type.shape.dim]
        if dims and all(d > 0 for d in dims):
            shapes[v.name] = dims
    for t in m.graph.initializer:
        shapes[t.name] = list(t.dims)
    total = 0
    for n in m.graph.node:
        if n.op_type in ("Conv", "ConvTranspose") and n.input[1] in shapes:
            w = shapes[n.input[1]]
            ref = shapes.get(n.output[0] if n.op_type == "Conv" else n.input[0])
            # Conv W is [M, C/group, k…]: each output element takes C/group·k MACs. ConvTranspose W is
            # [C, M/group, k…]: each input element feeds M/group·k outputs.
            if ref:
                total += int(np.prod(ref)) * w[1] * int(np.prod(w[2:]))
        elif n.op_type in ("Gemm", "MatMul") and n.input[0] in shapes and n.input[1] in shapes:
            a, b = shapes[n.input[0]], shapes[n.input[1]]
            trans_b = any(x.name == "transB" and x.i for x in n.attribute)
            cols = b[0] if (n.op_type == "Gemm" and trans_b) else b[-1]
            total += int(np.prod(a)) * cols
    return total


def _real_model(name: str, out: Path) -> dict:
    """Copies a fetched real model with its input fixed to the bench shape; returns its index entry."""
    import onnx

    file, shape = REAL[name]
    src = REAL_DIR / file
    if not src.exists():
        subprocess.run([sys.executable, str(ROOT / "tools" / "fetch_real_models.py"), "--out", str(REAL_DIR)], check=True)
    model = onnx.load(str(src))
    for d, v in zip(model.graph.input[0].type.tensor_type.shape.dim, shape):
        d.Clear()
        d.dim_value = v
    path = out / f"{name}.onnx"
    onnx.save(model, str(path))
    # Paddle's exporter stores weights as Constant nodes rather than initializers: count both.
    consts = [a.t for n in model.graph.node if n.op_type == "Constant" for a in n.attribute if a.name == "value"]
    params = sum(int(np.prod(t.dims)) for t in list(model.graph.initializer) + consts)
    return {"path": str(path), "macs": conv_gemm_macs(model), "params": params, "base": None, "shape": shape}


def _variants():
    """name -> (builder thunk, unpruned reference or None)."""
    w50, w70 = mm.width_fn(0.5, odd=True), mm.width_fn(0.7, odd=True)
    return {
        "mobilenet_v1": (lambda n: mm.build_mobilenet_v1(n), None),
        "mobilenet_v2": (lambda n: mm.build_mobilenet_v2(n), None),
        "resnet18": (lambda n: mm.build_resnet(n, [2, 2, 2, 2], False), None),
        "resnet50": (lambda n: mm.build_resnet(n, [3, 4, 6, 3], True), None),
        "mobilenet_v2_w70_odd": (lambda n: mm.build_mobilenet_v2(n, w70), "mobilenet_v2"),
        "mobilenet_v2_w50_odd": (lambda n: mm.build_mobilenet_v2(n, w50), "mobilenet_v2"),
        "resnet50_w70_odd": (lambda n: mm.build_resnet(n, [3, 4, 6, 3], True, w70), "resnet50"),
        "resnet50_w50_odd": (lambda n: mm.build_resnet(n, [3, 4, 6, 3], True, w50), "resnet50"),
    }


def ensure_models(out: Path, only: list[str] | None = None) -> dict:
    """Writes the models that are missing under `out`; returns name -> {path, macs, params, base}."""
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {}
    for name, (build, base) in _variants().items():
        if only and name not in only:
            continue
        path = out / f"{name}.onnx"
        if name in index and path.exists():
            continue
        b = build(name)
        model = b.finish(SHAPE, 1000)
        path.write_bytes(model.SerializeToString())
        index[name] = {"path": str(path), "macs": int(b.macs), "params": int(b.params), "base": base}
        index_path.write_text(json.dumps(index, indent=1))
    for name in REAL:
        if only and name not in only:
            continue
        if name in index and Path(index[name]["path"]).exists():
            continue
        index[name] = _real_model(name, out)
        index_path.write_text(json.dumps(index, indent=1))
    return {k: v for k, v in index.items() if not only or k in only}


if __name__ == "__main__":
    for k, v in ensure_models(Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench-models")).items():
        print(f"{k:<24} {v['macs'] / 1e9:6.3f} GMAC  {v['params'] / 1e6:6.2f} M params")
