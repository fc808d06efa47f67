"""ctypes declarations for include/secateur.h, and where libsecateur.so is found.

Search order (the first that exists wins):
  1. the file named by the environment variable SECATEUR_LIBRARY;
  2. the in-tree build, when this package is imported from a source checkout (bindings/python inside the
     repository): the newer of <repo>/build/lib/libsecateur.so (`make lib`) and
     <repo>/.build/release/libsecateur.so (any `swift build` of every product). Checked in a fixed order,
     the SwiftPM copy won even when a day old: a `make cli` does not rebuild it, and a benchmark script
     run by hand timed yesterday's kernels;
  3. libsecateur.so next to this file (inside an installed wheel).

Implementation note: ctypes releases the GIL around every foreign call, so several Python threads can run
one session at once, as the C API allows; sct_last_error() is per OS thread, and is read on the thread
that made the failing call.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import POINTER, c_char, c_char_p, c_int32, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path

ABI_VERSION = 1  # SCT_ABI_VERSION of the header these declarations mirror

_HERE = Path(__file__).resolve().parent
_REPO = _HERE.parents[2]


def _candidates() -> list[Path]:
    found = []
    env = os.environ.get("SECATEUR_LIBRARY")
    if env:
        return [Path(env)]  # explicit: no fallback, so a wrong path is an error rather than a surprise
    if (_REPO / "Package.swift").is_file() and (_REPO / "include" / "secateur.h").is_file():
        in_tree = [p for p in (_REPO / "build" / "lib" / "libsecateur.so", _REPO / ".build" / "release" / "libsecateur.so")
                   if p.is_file()]
        found += sorted(in_tree, key=lambda p: p.stat().st_mtime, reverse=True)
    found.append(_HERE / "libsecateur.so")
    return found


def _load() -> ctypes.CDLL:
    tried = _candidates()
    for path in tried:
        if path.is_file():
            lib = ctypes.CDLL(str(path))
            break
    else:
        raise ImportError("secateur: libsecateur.so not found (tried " + ", ".join(map(str, tried))
                          + "); build it with `make lib` or set SECATEUR_LIBRARY")
    lib.sct_abi_version.restype = c_uint32
    lib.sct_abi_version.argtypes = []
    if lib.sct_abi_version() != ABI_VERSION:
        raise ImportError(f"secateur: {path} implements ABI {lib.sct_abi_version()}, this binding needs {ABI_VERSION}")
    lib.path = path
    return lib


class ValueInfo(ctypes.Structure):
    """sct_value_info."""

    _fields_ = [
        ("name", c_char_p),
        ("type", c_int32),
        ("rank", c_int32),
        ("dims", POINTER(c_int64)),
        ("dim_names", POINTER(c_char_p)),
    ]


_handle = c_void_p
_status = c_int32
_out_handle = POINTER(c_void_p)
_names = POINTER(c_char_p)
_handles = POINTER(c_void_p)

# name: (restype, argtypes), in header order
_PROTOTYPES = {
    "sct_version": (c_char_p, []),
    "sct_kernel_isa": (c_char_p, []),
    "sct_last_error": (c_char_p, []),
    "sct_status_name": (c_char_p, [c_int32]),
    "sct_memory_release": (None, [c_void_p]),
    "sct_type_name": (c_char_p, [c_int32]),
    "sct_model_load_file": (_status, [c_char_p, _out_handle]),
    "sct_model_load_memory": (_status, [c_void_p, c_size_t, _out_handle]),
    "sct_model_release": (None, [_handle]),
    "sct_model_save_file": (_status, [_handle, c_char_p]),
    "sct_model_save_memory": (_status, [_handle, POINTER(c_void_p), POINTER(c_size_t)]),
    "sct_model_input_count": (_status, [_handle, POINTER(c_size_t)]),
    "sct_model_output_count": (_status, [_handle, POINTER(c_size_t)]),
    "sct_model_input_info": (_status, [_handle, c_size_t, POINTER(ValueInfo)]),
    "sct_model_output_info": (_status, [_handle, c_size_t, POINTER(ValueInfo)]),
    "sct_model_optimize": (_status, [_handle, POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "sct_model_prune": (_status, [_handle, ctypes.c_double, ctypes.c_uint64, POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "sct_options_create": (_status, [_out_handle]),
    "sct_options_release": (None, [_handle]),
    "sct_options_set_threads": (_status, [_handle, c_int32]),
    "sct_options_set_optimize": (_status, [_handle, c_int32]),
    "sct_options_set_memory_limit": (_status, [_handle, c_uint64]),
    "sct_session_create": (_status, [_handle, _handle, _out_handle]),
    "sct_session_create_from_file": (_status, [c_char_p, _handle, _out_handle]),
    "sct_session_release": (None, [_handle]),
    "sct_session_input_count": (_status, [_handle, POINTER(c_size_t)]),
    "sct_session_output_count": (_status, [_handle, POINTER(c_size_t)]),
    "sct_session_input_info": (_status, [_handle, c_size_t, POINTER(ValueInfo)]),
    "sct_session_output_info": (_status, [_handle, c_size_t, POINTER(ValueInfo)]),
    "sct_session_run": (_status, [_handle, _names, _handles, c_size_t, _names, c_size_t, _handles]),
    "sct_session_run_into": (_status, [_handle, _names, _handles, c_size_t, _names, c_size_t, _handles]),
    "sct_tensor_create": (_status, [c_int32, POINTER(c_int64), c_size_t, c_void_p, c_size_t, _out_handle]),
    "sct_tensor_wrap": (_status, [c_int32, POINTER(c_int64), c_size_t, c_void_p, c_size_t, _out_handle]),
    "sct_tensor_release": (None, [_handle]),
    "sct_tensor_type": (_status, [_handle, POINTER(c_int32)]),
    "sct_tensor_shape": (_status, [_handle, POINTER(POINTER(c_int64)), POINTER(c_size_t)]),
    "sct_tensor_data": (_status, [_handle, POINTER(c_void_p)]),
    "sct_tensor_byte_size": (_status, [_handle, POINTER(c_size_t)]),
    "sct_tensor_element_count": (_status, [_handle, POINTER(c_size_t)]),
}

lib = _load()
for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

# sct_status values
OK, INVALID_ARGUMENT, INVALID_MODEL, UNSUPPORTED, IO_ERROR, OUT_OF_MEMORY, RUNTIME_ERROR = range(7)
