"""Per-node time of Secateur and onnxruntime on one model, side by side (slowest Secateur nodes first).

    python bench/profile_compare.py MODEL.onnx [--threads 1] [--runs 50] [--top 30]

Secateur's figures come from `secateur bench --profile` (the CLI at build/bin/secateur or $SECATEUR_BIN),
onnxruntime's from its own profiler (enable_profiling; the `_kernel_time` events summed per node), both
over the same number of runs on one thread by default. `--evict-mb N` writes N MB of other memory before
every timed run in both engines (as other engines' runs do between Secateur's in make bench), so the
table shows which layers lose most when they start cold. Nodes are matched by name: both engines keep the
conv's name when they fuse an activation or BN into it, and onnxruntime's NCHWc variants (`…_nchwc`)
and its layout reorders are reported as such. This is a tool for finding where the time goes, not a
benchmark: profiling adds a little time per node in both engines, and the run-to-run noise of a shared
machine applies (make bench gives the comparable figures).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\s+([0-9.]+) ms\s+[0-9.]+ %\s+(\S+) \((\w+)\)$")


def secateur_profile(model: str, threads: int, runs: int, evict_mb: int) -> dict[str, tuple[str, float]]:
    cli = os.environ.get("SECATEUR_BIN", str(ROOT / "build" / "bin" / "secateur"))
    out = subprocess.run([cli, "bench", model, "--threads", str(threads), "--runs", str(runs), "--profile",
                          "--evict-mb", str(evict_mb)],
                         check=True, capture_output=True, text=True).stdout
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line)
        if m:
            rows[m.group(2)] = (m.group(3), float(m.group(1)))
    return rows


def ort_profile(model: str, threads: int, runs: int, evict_mb: int) -> dict[str, tuple[str, float]]:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        so.profile_file_prefix = str(Path(tmp) / "ort")
        sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        rng = np.random.default_rng(0)
        feeds = {}
        for i in sess.get_inputs():
            shape = [d if isinstance(d, int) else 1 for d in i.shape]
            feeds[i.name] = rng.standard_normal(shape).astype(np.float32)
        for _ in range(5):
            sess.run(None, feeds)
        # Warm-up events are in the file too: keep only the last `runs` runs of each node.
        # The same sweep as `secateur bench --evict-mb`: one byte written per 64-byte line.
        sweep = np.zeros(evict_mb << 20, dtype=np.uint8) if evict_mb > 0 else None
        for _ in range(runs):
            if sweep is not None:
                sweep[::64] += 1
            sess.run(None, feeds)
        events = json.loads(Path(sess.end_profiling()).read_text())
    per_node: dict[str, list[float]] = defaultdict(list)
    ops = {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            name = e["name"][: -len("_kernel_time")]
            per_node[name].append(e["dur"] / 1000.0)
            ops[name] = e.get("args", {}).get("op_name", "?")
    return {n: (ops[n], sum(v[-runs:]) / min(runs, len(v))) for n, v in per_node.items()}


def anchor_names(model: str) -> dict[str, str]:
    """Maps every node and tensor name of the model to the conv / GEMM its value comes from.

    onnxruntime names a fused node after the fused chain's last output (`features.2.expand_relu6_out`),
    Secateur after the chain's first node (`features.2.expand`): walking back from a tensor through
    BN, activations and residual adds to the nearest Conv / Gemm / MatMul joins the two."""
    import onnx

    graph = onnx.load(model, load_external_data=False).graph
    producer = {o: n for n in graph.node for o in n.output}
    anchors = {}
    for n in graph.node:
        node = n
        while node.op_type not in ("Conv", "ConvTranspose", "Gemm", "MatMul") and node.input and node.input[0] in producer:
            node = producer[node.input[0]]
        anchor = node.name if node.op_type in ("Conv", "ConvTranspose", "Gemm", "MatMul") else n.name
        anchors[n.name] = anchor
        for o in n.output:
            anchors[o] = anchor
    return anchors


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--evict-mb", type=int, default=0, help="MB of other memory written before every timed run")
    args = ap.parse_args()
    ours = secateur_profile(args.model, args.threads, args.runs, args.evict_mb)
    theirs = ort_profile(args.model, args.threads, args.runs, args.evict_mb)
    folded: dict[str, list] = defaultdict(lambda: ["", 0.0])
    to_node = anchor_names(args.model)
    for name, (op, ms) in theirs.items():
        base = re.sub(r"(_nchwc|_token_\d+)$", "", name)
        base = to_node.get(base, base)
        folded[base][0] = op if not folded[base][0] else folded[base][0]
        folded[base][1] += ms
    print(f"{'node':40} {'Secateur op':14} {'ms':>7}   {'ORT op':14} {'ms':>7}  ratio")
    for name, (op, ms) in sorted(ours.items(), key=lambda kv: -kv[1][1])[: args.top]:
        peer = folded.get(name)
        if peer:
            print(f"{name[:40]:40} {op:14} {ms:7.3f}   {peer[0]:14} {peer[1]:7.3f}  {ms / max(peer[1], 1e-6):5.2f}")
        else:
            print(f"{name[:40]:40} {op:14} {ms:7.3f}   {'(no match)':14}")
    matched = set(ours) & set(folded)
    unmatched = sorted(((n, v) for n, v in folded.items() if n not in matched), key=lambda kv: -kv[1][1])
    extra = sum(v[1] for _, v in unmatched)
    print(f"\ntotal: Secateur {sum(v[1] for v in ours.values()):.3f} ms, "
          f"onnxruntime {sum(v[1] for v in folded.values()):.3f} ms "
          f"(of which {extra:.3f} ms in nodes with no Secateur match)")
    for name, (op, ms) in unmatched[:10]:
        print(f"  onnxruntime only: {name[:50]} ({op}) {ms:.3f} ms")


if __name__ == "__main__":
    main()
