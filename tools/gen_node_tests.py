#!/usr/bin/env python3
"""Write the ONNX backend *node* test cases to disk for Secateur's node-test runner.

Usage:
    python tools/gen_node_tests.py --out DIR

The cases come from the generators shipped in the pip `onnx` package (so the
set tracks the pinned onnx version in requirements-test.txt), laid out like
onnx's own backend test data:

    DIR/<case>/model.onnx
    DIR/<case>/tolerance.txt                  "rtol atol"
    DIR/<case>/test_data_set_<k>/input_<i>.pb  serialized TensorProto
    DIR/<case>/test_data_set_<k>/output_<i>.pb serialized TensorProto

A case whose inputs/outputs are not plain tensors (sequences, optionals,
maps) gets DIR/<case>/SKIPPED (the reason, one line per offending value)
*instead of* any test_data_set_<k> directory. model.onnx is still written so
loaders can be tested on it. Contract for the runner: a case directory has
either SKIPPED or test_data_set_* directories, never both.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

# Several generators compute expected outputs with deliberate overflow, NaN or
# divide-by-zero; the warnings are noise, not problems.
warnings.filterwarnings("ignore", category=RuntimeWarning)
np.seterr(all="ignore")

import onnx  # noqa: E402  (imported after silencing warnings on purpose)
from onnx import TensorProto, numpy_helper  # noqa: E402
from onnx.backend.test.case.node import collect_testcases  # noqa: E402

DEFAULT_RTOL = 1e-3
DEFAULT_ATOL = 1e-7


def non_tensor_reason(value: object, value_info: onnx.ValueInfoProto) -> str | None:
    """Return why `value` can't be written as a TensorProto, or None if it can."""
    kind = value_info.type.WhichOneof("value")
    if kind != "tensor_type":
        return f"graph declares {kind}"
    if isinstance(value, (np.ndarray, np.generic, TensorProto)):
        return None
    return f"value is a {type(value).__name__}"


def to_tensor_proto(value: object, name: str) -> TensorProto:
    """Serialize one plain value, named after the graph input/output it feeds."""
    if isinstance(value, TensorProto):
        # Exotic dtypes (float8, int4, ...) are pre-built TensorProtos.
        tensor = TensorProto()
        tensor.CopyFrom(value)
        tensor.name = name
        return tensor
    # np.asarray turns numpy scalars (np.float32(3)) into 0-d arrays.
    return numpy_helper.from_array(np.asarray(value), name)


def data_set_skip_reasons(case, k: int, inputs, outputs) -> list[str]:
    graph = case.model.graph
    reasons = []
    for role, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
        for i, value in enumerate(values):
            reason = non_tensor_reason(value, infos[i])
            if reason:
                reasons.append(f"test_data_set_{k} {role}_{i} ({infos[i].name!r}): {reason}")
    return reasons


def write_data_set(ds_dir: Path, case, inputs, outputs) -> None:
    graph = case.model.graph
    ds_dir.mkdir()
    for role, values, infos in (("input", inputs, graph.input), ("output", outputs, graph.output)):
        for i, value in enumerate(values):
            tensor = to_tensor_proto(value, infos[i].name)
            (ds_dir / f"{role}_{i}.pb").write_bytes(tensor.SerializeToString())


def write_case(out: Path, case) -> list[str]:
    """Write one case; return the skip reasons (empty if its data was written)."""
    case_dir = out / case.name
    # Start clean so a stale SKIPPED / data set from an older run can't linger.
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    (case_dir / "model.onnx").write_bytes(case.model.SerializeToString())
    rtol = DEFAULT_RTOL if case.rtol is None else case.rtol
    atol = DEFAULT_ATOL if case.atol is None else case.atol
    (case_dir / "tolerance.txt").write_text(f"{rtol!r} {atol!r}\n")

    data_sets = list(case.data_sets or [])
    reasons = [r for k, (ins, outs) in enumerate(data_sets)
               for r in data_set_skip_reasons(case, k, ins, outs)]
    if not data_sets:
        reasons = ["case has no data sets"]
    if reasons:
        (case_dir / "SKIPPED").write_text("\n".join(reasons) + "\n")
        return reasons
    for k, (ins, outs) in enumerate(data_sets):
        write_data_set(case_dir / f"test_data_set_{k}", case, ins, outs)
    return []


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="output directory")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    cases = collect_testcases(None)
    names = [c.name for c in cases]
    duplicates = [n for n, count in Counter(names).items() if count > 1]
    if duplicates:  # would silently overwrite each other on disk
        print(f"error: duplicate case names: {duplicates[:5]}", file=sys.stderr)
        return 1

    args.out.mkdir(parents=True, exist_ok=True)
    written_sets = 0
    skipped = Counter()  # first reason's kind -> count of cases
    for case in cases:
        reasons = write_case(args.out, case)
        if reasons:
            skipped[reasons[0].split(": ", 1)[-1]] += 1
        else:
            written_sets += len(case.data_sets)

    elapsed = time.perf_counter() - start
    print(f"onnx {onnx.__version__}: {len(cases)} node test cases -> {args.out}")
    print(f"  written: {len(cases) - sum(skipped.values())} cases, {written_sets} data sets")
    print(f"  skipped: {sum(skipped.values())} cases (see <case>/SKIPPED)")
    for reason, count in skipped.most_common():
        print(f"    {count:4d}  {reason}")
    print(f"  took {elapsed:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
