"""InferenceSession, NodeArg, SecateurError and optimize() over the C API."""

from __future__ import annotations

import ctypes
import math
import os
import weakref
from ctypes import byref, c_char_p, c_int32, c_int64, c_size_t, c_void_p
from typing import Iterable, Mapping, Sequence

import numpy as np

from . import _capi
from ._capi import lib

# sct_type <-> numpy dtype, and onnxruntime's type strings
_NUMPY_OF_TYPE = {
    1: np.dtype(np.float32), 2: np.dtype(np.uint8), 3: np.dtype(np.int8), 4: np.dtype(np.uint16),
    5: np.dtype(np.int16), 6: np.dtype(np.int32), 7: np.dtype(np.int64), 9: np.dtype(np.bool_),
    10: np.dtype(np.float16), 11: np.dtype(np.float64), 12: np.dtype(np.uint32), 13: np.dtype(np.uint64),
    14: np.dtype(np.complex64), 15: np.dtype(np.complex128),
}
_TYPE_OF_NUMPY = {dtype: t for t, dtype in _NUMPY_OF_TYPE.items()}
_ORT_TYPE_NAMES = {
    0: "undefined", 1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    8: "string", 9: "bool", 10: "float16", 11: "double", 12: "uint32", 13: "uint64", 14: "complex64",
    15: "complex128", 16: "bfloat16", 17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2",
    20: "float8e5m2fnuz", 21: "uint4", 22: "int4", 23: "float4e2m1", 24: "float8e8m0", 25: "uint2", 26: "int2",
}


class SecateurError(RuntimeError):
    """A failed library call. `status` is the sct_status value, `status_name` its enumerator's name, and
    the message is the library's (it names the input, node, op or shape at fault)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.status_name = lib.sct_status_name(status).decode()


def _check(status: int) -> None:
    if status != _capi.OK:
        raise SecateurError(status, lib.sct_last_error().decode(errors="replace"))


class NodeArg:
    """A graph input or output, as onnxruntime.NodeArg: `name`, `type` ('tensor(float)'), and `shape`, a list
    of ints for fixed dims, the symbol's name (str) for symbolic dims and None for unknown ones (the shape is
    None when even the rank is unknown)."""

    def __init__(self, info: _capi.ValueInfo):
        self.name: str = info.name.decode()
        self.type: str = f"tensor({_ORT_TYPE_NAMES.get(info.type, 'undefined')})"
        self.shape: list | None = None
        if info.rank >= 0:
            self.shape = []
            for i in range(info.rank):
                d = info.dims[i]
                symbol = info.dim_names[i]
                self.shape.append(int(d) if d >= 0 else (symbol.decode() if symbol else None))

    def __repr__(self) -> str:
        return f"NodeArg(name={self.name!r}, type={self.type!r}, shape={self.shape!r})"


class _TensorOwner:
    """Releases a library-allocated output tensor when the numpy array viewing its memory is gone: it hangs
    off the ctypes buffer the array was made from (the array's `base`), so no bytes are copied."""

    __slots__ = ("_handle",)

    def __init__(self, handle: int):
        self._handle = handle

    def __del__(self):
        lib.sct_tensor_release(self._handle)


def _to_numpy(handle: int) -> np.ndarray:
    """Wraps an output tensor in an ndarray without copying; the tensor is freed with the array."""
    try:
        t, rank, data = c_int32(), c_size_t(), c_void_p()
        dims = ctypes.POINTER(c_int64)()
        _check(lib.sct_tensor_type(handle, byref(t)))
        _check(lib.sct_tensor_shape(handle, byref(dims), byref(rank)))
        _check(lib.sct_tensor_data(handle, byref(data)))
        dtype = _NUMPY_OF_TYPE.get(t.value)
        if dtype is None:
            raise SecateurError(_capi.UNSUPPORTED,
                                f"output element type {lib.sct_type_name(t.value).decode()} has no numpy dtype")
        shape = tuple(dims[i] for i in range(rank.value))
        nbytes = dtype.itemsize * math.prod(shape)
        if nbytes > 0 and not data.value:
            raise SecateurError(_capi.RUNTIME_ERROR, f"output of shape {shape} has no data")
    except BaseException:
        lib.sct_tensor_release(handle)
        raise
    if nbytes == 0:  # nothing to view (and no buffer to view it through)
        lib.sct_tensor_release(handle)
        return np.empty(shape, dtype)
    # A ctypes array over the tensor's bytes, carrying the tensor's owner: np.frombuffer keeps it as the
    # array's base, so the tensor lives as long as the array. (An object with __array_interface__ took
    # 2.8 µs per output through np.asarray; this 0.7.) Past this point the owner alone releases the tensor.
    buffer = (ctypes.c_byte * nbytes).from_address(data.value)
    buffer.owner = _TensorOwner(handle)
    return np.frombuffer(buffer, dtype).reshape(shape)


def _address(a: np.ndarray) -> int:
    """The address of a contiguous array's first byte (ndarray.ctypes.data costs 1.1 µs; this 0.3 when the
    array is writable)."""
    if a.flags.writeable:
        return ctypes.addressof(ctypes.c_byte.from_buffer(a))
    return a.ctypes.data


def _load_model(path_or_bytes) -> int:
    model = c_void_p()
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        buf = bytes(path_or_bytes) if not isinstance(path_or_bytes, bytes) else path_or_bytes
        _check(lib.sct_model_load_memory(buf, len(buf), byref(model)))
    else:
        _check(lib.sct_model_load_file(os.fsencode(path_or_bytes), byref(model)))
    return model.value


def _value_infos(session: int, count_fn, info_fn) -> list[NodeArg]:
    n = c_size_t()
    _check(count_fn(session, byref(n)))
    out = []
    for i in range(n.value):
        info = _capi.ValueInfo()
        _check(info_fn(session, i, byref(info)))
        out.append(NodeArg(info))
    return out


class InferenceSession:
    """A compiled model, run on numpy arrays; modelled on onnxruntime.InferenceSession.

    - path_or_bytes: a model file path (str or os.PathLike) or the model's bytes.
    - threads: threads one run uses (0 = one per core).
    - optimize: run the graph optimizer when the session is created.
    - memory_limit: cap in bytes on the memory one run may plan (0 = library default, 8 GiB).

    `run` may be called from several Python threads at once (the library releases the GIL while it runs).
    """

    def __init__(self, path_or_bytes, threads: int = 0, optimize: bool = True, memory_limit: int = 0,
                 providers: Iterable[str] | None = None):
        del providers  # accepted for onnxruntime compatibility; Secateur has one CPU provider
        from_file = not isinstance(path_or_bytes, (bytes, bytearray, memoryview))
        # A path goes straight to sct_session_create_from_file: the session owns the model, so weights are
        # freed as they are packed (less peak memory than loading a model handle first).
        model = None if from_file else _load_model(path_or_bytes)
        options = c_void_p()
        session = c_void_p()
        try:
            _check(lib.sct_options_create(byref(options)))
            _check(lib.sct_options_set_threads(options, int(threads)))
            _check(lib.sct_options_set_optimize(options, 1 if optimize else 0))
            _check(lib.sct_options_set_memory_limit(options, int(memory_limit)))
            if from_file:
                _check(lib.sct_session_create_from_file(os.fsencode(path_or_bytes), options, byref(session)))
            else:
                _check(lib.sct_session_create(model, options, byref(session)))
        finally:
            lib.sct_options_release(options)
            if model is not None:
                lib.sct_model_release(model)
        self._session = session.value
        self._release = weakref.finalize(self, lib.sct_session_release, self._session)
        self._inputs = _value_infos(self._session, lib.sct_session_input_count, lib.sct_session_input_info)
        self._outputs = _value_infos(self._session, lib.sct_session_output_count, lib.sct_session_output_info)
        self._output_names = [o.name for o in self._outputs]
        # Encoded name arrays by name tuple, made once: building them took ~2 µs of every run. Only ever
        # read by the library, so runs on several threads share them.
        self._name_arrays: dict[tuple, ctypes.Array] = {}

    def _names_array(self, names: tuple) -> ctypes.Array:
        cached = self._name_arrays.get(names)
        if cached is None:
            cached = (c_char_p * max(len(names), 1))(*[str(n).encode() for n in names])
            if len(self._name_arrays) < 64:  # feeds with ever-new names do not grow it without bound
                self._name_arrays[names] = cached
        return cached

    def get_inputs(self) -> list[NodeArg]:
        return list(self._inputs)

    def get_outputs(self) -> list[NodeArg]:
        return list(self._outputs)

    def get_providers(self) -> list[str]:
        return ["CPUExecutionProvider"]

    def run(self, output_names: Sequence[str] | None, input_feed: Mapping[str, object],
            run_options: object = None) -> list[np.ndarray]:
        """Runs the model: `input_feed` maps input names to arrays (any supported dtype; non-contiguous
        arrays are made C-contiguous, contiguous ones are passed without copying). Returns the named
        outputs, or all outputs when `output_names` is None, as numpy arrays that view the library's
        output memory directly (no copy; the memory is freed when the array is)."""
        del run_options
        if not self._release.alive:
            raise SecateurError(_capi.INVALID_ARGUMENT, "run: the session is closed")
        names = self._output_names if output_names is None else list(output_names)
        arrays, tensors = [], []
        try:
            for name, value in input_feed.items():
                a = np.ascontiguousarray(value)
                if not a.dtype.isnative:
                    a = a.astype(a.dtype.newbyteorder("="))  # the library reads native byte order
                t = _TYPE_OF_NUMPY.get(a.dtype)
                if t is None:
                    raise SecateurError(_capi.INVALID_ARGUMENT,
                                        f"input '{name}': numpy dtype {a.dtype} is not supported")
                shape = (c_int64 * max(a.ndim, 1))(*a.shape)
                handle = c_void_p()
                _check(lib.sct_tensor_wrap(t, shape, a.ndim, _address(a) if a.size else None, a.nbytes,
                                           byref(handle)))
                arrays.append(a)
                tensors.append(handle.value)
            in_names = self._names_array(tuple(input_feed.keys()))
            in_tensors = (c_void_p * max(len(arrays), 1))(*tensors)
            out_names = self._names_array(tuple(names))
            outputs = (c_void_p * max(len(names), 1))()
            _check(lib.sct_session_run(self._session, in_names, in_tensors, len(tensors), out_names, len(names),
                                       outputs))
        finally:
            for handle in tensors:
                lib.sct_tensor_release(handle)
        results = []
        try:
            for i in range(len(names)):
                handle, outputs[i] = outputs[i], None  # _to_numpy owns it from here, even when it fails
                results.append(_to_numpy(handle))
        finally:
            for i in range(len(names)):
                if outputs[i]:
                    lib.sct_tensor_release(outputs[i])
        return results

    def close(self) -> None:
        """Frees the session now (it is also freed when garbage-collected). Arrays already returned stay valid."""
        self._release()

    def __enter__(self) -> InferenceSession:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def optimize(in_path, out_path) -> str:
    """Loads `in_path`, runs the default optimizer pipeline, writes the result to `out_path`, and returns the
    report: one "pass-name: what changed" line per pass."""
    capacity = 1 << 16
    while True:
        model = c_void_p()
        _check(lib.sct_model_load_file(os.fsencode(in_path), byref(model)))
        try:
            report = ctypes.create_string_buffer(capacity)
            length = c_size_t()
            _check(lib.sct_model_optimize(model, report, capacity, byref(length)))
            if length.value < capacity:
                _check(lib.sct_model_save_file(model, os.fsencode(out_path)))
                return report.value.decode(errors="replace")
        finally:
            lib.sct_model_release(model)
        capacity = length.value + 1  # the report did not fit: rewrite a fresh copy with room for all of it


def prune(in_path, out_path, macs=0.5, seed=0) -> str:
    """Loads `in_path`, prunes it with JointPruning to at most `macs` of its MACs (channel, depth and
    resolution searched jointly; deterministic for a seed), writes the result to `out_path`, and returns
    the text report."""
    model = c_void_p()
    _check(lib.sct_model_load_file(os.fsencode(in_path), byref(model)))
    try:
        capacity = 1 << 16
        report = ctypes.create_string_buffer(capacity)
        length = c_size_t()
        _check(lib.sct_model_prune(model, float(macs), int(seed), report, capacity, byref(length)))
        _check(lib.sct_model_save_file(model, os.fsencode(out_path)))
        return report.value.decode(errors="replace")
    finally:
        lib.sct_model_release(model)
