"""The benchmark's model set: the six reference CNNs of tools/make_models.py plus channel-pruned
MobileNetV2 / ResNet-50 at ~50 % and ~70 % width with every pruned width odd (e.g. 37, 203).

Built with the same builders as tools/make_models.py (same seeds, same BN statistics), so the
pruned variants differ from the unpruned ones only in channel counts. MACs are the builders' count
(Conv + Gemm multiply-accumulates at batch 1)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import make_models as mm  # noqa: E402

SHAPE = [1, 3, 224, 224]


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
    return {k: v for k, v in index.items() if not only or k in only}


if __name__ == "__main__":
    for k, v in ensure_models(Path(sys.argv[1] if len(sys.argv) > 1 else "build/bench-models")).items():
        print(f"{k:<24} {v['macs'] / 1e9:6.3f} GMAC  {v['params'] / 1e6:6.2f} M params")
