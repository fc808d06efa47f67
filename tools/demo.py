#!/usr/bin/env python3
"""`make demo`: the main job end to end on the built-in default model.

Builds (if needed) the project's MobileNetV2 with unfused BatchNorm, optimizes it with Secateur, prunes it
when the prune command is available, runs every variant in Secateur and onnxruntime on the same input,
checks the outputs agree, and prints one table: MACs, parameters, latency in both engines, max difference.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort


def sh(*args):
    """Runs the CLI; on failure prints its stderr and stops the demo."""
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"command failed: {' '.join(args)}\n{r.stderr}")
    return r.stdout


def ort_latency(path, x, runs, threads):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    for _ in range(5):
        s.run(None, {name: x})
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = s.run(None, {name: x})
        times.append((time.perf_counter() - t) * 1000)
    return float(np.median(times)), out[0]


def inspect(bin_, path):
    macs = params = "?"
    for line in sh(bin_, "inspect", path).splitlines():
        if line.startswith("MACs:"):
            macs = line.split()[1]
        if line.startswith("parameters:"):
            params = line.split()[1]
    return macs, params


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", default="build/bin/secateur")
    ap.add_argument("--models", default="build/models")
    ap.add_argument("--model", default="mobilenet_v2")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    original = os.path.join(a.models, a.model + ".onnx")
    work = tempfile.mkdtemp(prefix="secateur-demo-")
    variants = [("original", original)]

    print(f"== optimize {original}")
    optimized = os.path.join(work, a.model + ".opt.onnx")
    print(sh(a.bin, "optimize", original, "-o", optimized).rstrip())
    variants.append(("optimized", optimized))

    help_text = subprocess.run([a.bin, "--help"], capture_output=True, text=True).stdout
    if " prune" in help_text:
        # Prune the ORIGINAL (its BatchNorms let every candidate be recalibrated, which the optimized
        # graph, BN folded into the convs, no longer allows), then optimize the pruned model.
        pruned = os.path.join(work, a.model + ".pruned.onnx")
        pruned_opt = os.path.join(work, a.model + ".pruned.opt.onnx")
        print(f"\n== prune {original} to 50% MACs, then optimize")
        print(sh(a.bin, "prune", original, "-o", pruned, "--macs", "0.5", "--seed", "1").rstrip())
        print(sh(a.bin, "optimize", pruned, "-o", pruned_opt).rstrip())
        variants.append(("pruned 50%", pruned_opt))

    rows = []
    rng = np.random.default_rng(0)
    for label, path in variants:
        # The pruned model may take a smaller resolution: read each variant's own input shape.
        shape = [d if isinstance(d, int) and d > 0 else 1 for d in
                 ort.InferenceSession(path, providers=["CPUExecutionProvider"]).get_inputs()[0].shape]
        x = rng.standard_normal(shape).astype(np.float32)
        xin = os.path.join(work, "x.npy")
        np.save(xin, x)
        out = os.path.join(work, "out.npz")
        sh(a.bin, "run", path, "--input", f"input={xin}", "--output", out, "--threads", str(a.threads))
        ours = np.load(out)["logits"]
        bench = json.loads(sh(a.bin, "bench", path, "--runs", str(a.runs), "--threads", str(a.threads), "--json"))
        ort_ms, theirs = ort_latency(path, x, a.runs, a.threads)
        macs, params = inspect(a.bin, path)
        diff = float(np.max(np.abs(ours - theirs)))
        rows.append((label, macs, params, bench["median_ms"], ort_ms, diff))

    print(f"\n== {a.model}: Secateur vs onnxruntime {ort.__version__}, batch 1, {a.threads} thread(s), median of {a.runs} runs")
    header = f"{'variant':<12} {'MACs':>14} {'params':>10} {'secateur ms':>12} {'ort ms':>9} {'ratio':>6} {'max |diff|':>11}"
    print(header)
    print("-" * len(header))
    for label, macs, params, ms, ort_ms, diff in rows:
        print(f"{label:<12} {macs:>14} {params:>10} {ms:>12.2f} {ort_ms:>9.2f} {ms / ort_ms:>6.2f} {diff:>11.2e}")
    worst = max(r[5] for r in rows)
    print(f"\noutputs agree with onnxruntime (max |diff| {worst:.1e})" if worst < 1e-3 else
          f"\nWARNING: outputs differ from onnxruntime by {worst:.1e}")


if __name__ == "__main__":
    main()
