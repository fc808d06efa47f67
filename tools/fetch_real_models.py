#!/usr/bin/env python3
"""Fetches the trained CNNs the pruning table uses: PP-OCR models shipped in the PyPI wheel
rapidocr_onnxruntime==1.4.4 (pinned). Writes build/models/real/{ch_ppocr_mobile_v2.0_cls_infer,ch_PP-OCRv4_det_infer}.onnx.

    python tools/fetch_real_models.py [--out build/models/real]
"""
import argparse
import glob
import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "rapidocr_onnxruntime==1.4.4"
MEMBERS = ["rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx",
           "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="build/models/real")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    targets = [os.path.join(a.out, os.path.basename(m)) for m in MEMBERS]
    if all(os.path.isfile(t) for t in targets):
        return 0
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, "-m", "pip", "download", PACKAGE, "--no-deps", "-d", d, "-q"], check=True)
        wheel = glob.glob(os.path.join(d, "*.whl"))[0]
        with zipfile.ZipFile(wheel) as z:
            for m, t in zip(MEMBERS, targets):
                data = z.read(m)
                with open(t, "wb") as f:
                    f.write(data)
                print(f"{t}  {len(data)} bytes  sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
