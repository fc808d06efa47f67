#!/usr/bin/env python3
"""Check that include/secateur.h and the C API the library really exports never drift apart.

Usage:
    python3 tools/check_capi_header.py [--build-dir .build/release] [--lib PATH/libsecateur.so]

Three checks, each printing what differs:
  1. Prototypes: the Swift compiler writes a C header for every `@c` function in Sources/CAPI
     (`swiftc -typecheck -emit-clang-header-path`). Each function must be declared in include/secateur.h
     with the same parameter and return types, once handle types (sct_model *, …) are read as the
     `void *` Swift's OpaquePointer becomes, and enums as the int32_t Swift passes.
  2. Exports: the `sct_*` symbols the shared library defines (nm -D) equal the functions the header
     declares. `sct_onnx_*` are the libonnx shim's internal symbols (Sources/COnnxBridge) and are ignored.
  3. Language modes: the header compiles alone as C99 and as C++11 with warnings as errors.
Both type lists come from clang's AST dump, so spelling differences (`char const *` vs `const char *`)
do not matter. Exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SWIFT_BIN = Path("/opt/swift/usr/bin")


def tool(name: str) -> str:
    found = shutil.which(name) or (str(SWIFT_BIN / name) if (SWIFT_BIN / name).exists() else None)
    if not found:
        sys.exit(f"check_capi_header: {name} not found")
    return found


def run(cmd: list[str]) -> str:
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    if p.returncode != 0:
        sys.exit(f"check_capi_header: command failed: {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p.stdout


def swift_generated_header(build_dir: Path, out: Path) -> None:
    """Typechecks Sources/CAPI against the built modules and writes Swift's C header for it."""
    openblas = subprocess.run(["pkg-config", "--cflags-only-I", "openblas"], capture_output=True,
                              text=True).stdout.split()
    cmd = [tool("swiftc"), "-typecheck", "-parse-as-library", "-module-name", "CAPI",
           *sorted(glob.glob(str(REPO / "Sources/CAPI/*.swift"))),
           "-I", str(build_dir / "Modules"),
           *[a for c_target in ("COnnxBridge", "CKernels")  # every C target the Swift modules import
             for a in ("-Xcc", f"-fmodule-map-file={build_dir / (c_target + '.build/module.modulemap')}",
                       "-Xcc", f"-I{REPO / 'Sources' / c_target / 'include'}")],
           "-Xcc", f"-fmodule-map-file={REPO / 'Sources/COpenBLAS/module.modulemap'}",
           *[a for flag in openblas for a in ("-Xcc", flag)],
           "-emit-clang-header-path", str(out)]
    run(cmd)


DECL = re.compile(r"FunctionDecl .* (sct_\w+) '([^']*)'")


def prototypes(header: Path) -> dict[str, str]:
    """Function name -> type as clang spells it, for every sct_ function the header declares for C."""
    out = run([tool("clang"), "-fsyntax-only", "-x", "c", "-std=c99", "-Xclang", "-ast-dump",
               "-Xclang", "-ast-dump-filter", "-Xclang", "sct_", str(header)])
    return {m.group(1): m.group(2) for m in map(DECL.search, out.splitlines()) if m}


HANDLE = re.compile(r"(const )?(struct )?sct_(model|session|tensor|options|value_info) \*")


def normalize(t: str) -> str:
    t = t.replace("_Nullable", "").replace("_Nonnull", "")
    t = HANDLE.sub("void *", t)
    t = re.sub(r"\b(enum )?sct_(status|type)\b", "int32_t", t)
    t = re.sub(r"\s*\*\s*", "*", t)
    return re.sub(r"\s+", " ", t).strip()


def exported(lib: Path) -> set[str]:
    out = run(["nm", "-D", "--defined-only", str(lib)])
    names = {line.split()[-1] for line in out.splitlines() if line.split()}
    return {n for n in names if n.startswith("sct_") and not n.startswith("sct_onnx_")}


def compiles(header: Path) -> list[str]:
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for lang, std, compiler in (("c", "c99", "cc"), ("c++", "c++11", "c++")):
            src = Path(tmp) / ("t.c" if lang == "c" else "t.cpp")
            src.write_text('#include "secateur.h"\nint main(void) { return sct_abi_version() == SCT_ABI_VERSION ? 0 : 1; }\n')
            p = subprocess.run([compiler, f"-std={std}", "-pedantic", "-Wall", "-Wextra", "-Werror",
                                f"-I{header.parent}", "-fsyntax-only", str(src)], capture_output=True, text=True)
            if p.returncode != 0:
                problems.append(f"header does not compile as {std}:\n{p.stderr}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build-dir", default=".build/release")
    ap.add_argument("--lib", default=None, help="shared library (default BUILD_DIR/libsecateur.so)")
    args = ap.parse_args()
    build_dir = (REPO / args.build_dir).resolve()
    lib = Path(args.lib).resolve() if args.lib else build_dir / "libsecateur.so"
    header = REPO / "include/secateur.h"

    problems: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        gen = Path(tmp) / "CAPI-Swift.h"
        swift_generated_header(build_dir, gen)
        swift = {k: normalize(v) for k, v in prototypes(gen).items()}
    declared = {k: normalize(v) for k, v in prototypes(header).items()}

    for name in sorted(swift.keys() - declared.keys()):
        problems.append(f"{name}: exported by Sources/CAPI (@c) but not declared in include/secateur.h")
    for name in sorted(declared.keys() - swift.keys()):
        problems.append(f"{name}: declared in include/secateur.h but not implemented with @c in Sources/CAPI")
    for name in sorted(swift.keys() & declared.keys()):
        if swift[name] != declared[name]:
            problems.append(f"{name}: header says '{declared[name]}', Swift implements '{swift[name]}'")

    if lib.exists():
        symbols = exported(lib)
        for name in sorted(symbols - declared.keys()):
            problems.append(f"{name}: exported by {lib.name} but not declared in the header")
        for name in sorted(declared.keys() - symbols):
            problems.append(f"{name}: declared in the header but not exported by {lib.name}")
    else:
        problems.append(f"{lib} does not exist: build it first (make lib)")

    problems += compiles(header)

    for p in problems:
        print(f"check_capi_header: {p}", file=sys.stderr)
    if not problems:
        print(f"check_capi_header: {len(declared)} functions; header, Swift @c and {lib.name} agree; C99 and C++11 compile")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
