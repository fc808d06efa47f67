/*
 * COnnxBridge: a thin C shim over Debian's libonnx (1.12) so Swift can call the
 * ONNX checker, shape inference and version converter without importing the
 * protobuf-generated C++ headers.
 *
 * Plain C99. All functions are thread-compatible, never throw and never abort
 * on bad input; failures are reported through the return code plus a
 * NUL-terminated message in err (truncated to err_len bytes; err may be NULL
 * or err_len 0 to discard it).
 *
 * Argument errors (bytes == NULL with len > 0, len > INT_MAX, out/out_len ==
 * NULL) are reported as SCT_ONNX_PARSE_ERROR with a message starting
 * "invalid argument:". bytes == NULL with len == 0 is treated as an empty
 * buffer (an empty ModelProto, which the checker rejects).
 */
#ifndef CONNXBRIDGE_H
#define CONNXBRIDGE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes */
#define SCT_ONNX_OK 0
#define SCT_ONNX_INVALID 1        /* model parsed but the checker/inference/converter rejected it; err holds why */
#define SCT_ONNX_PARSE_ERROR 2    /* bytes are not a ModelProto */
#define SCT_ONNX_NOT_APPLICABLE 3 /* IR version > 8 or an opset > 17 (or an unknown domain): libonnx 1.12 cannot judge it */

/* Checks a serialized ModelProto with onnx::checker::check_model; full_check!=0 also runs strict shape inference. err gets a NUL-terminated message (truncated to err_len). Never throws. */
int sct_onnx_check_model(const void *bytes, size_t len, int full_check, char *err, size_t err_len);

/* Runs onnx::shape_inference::InferShapes (non-strict). On success *out is a malloc'ed serialized ModelProto with value_info filled, *out_len its size; free with sct_onnx_free. */
int sct_onnx_infer_shapes(const void *bytes, size_t len, void **out, size_t *out_len, char *err, size_t err_len);

/* Converts the model to target_opset with onnx::version_conversion::ConvertVersion. Same ownership as above.
 * The model is run through onnx::checker::check_model first (the 1.12 converter is not robust against
 * malformed graphs) and then through non-strict shape inference (several adapters need intermediate
 * shapes), so the result carries value_info. A target_opset above sct_onnx_max_opset() is
 * SCT_ONNX_NOT_APPLICABLE; a conversion libonnx has no adapter for is SCT_ONNX_INVALID. */
int sct_onnx_convert_version(const void *bytes, size_t len, int target_opset, void **out, size_t *out_len, char *err, size_t err_len);

/* The highest opset / IR version this libonnx understands (17 and 8 on Debian 12), read from the library's schema registry / constants rather than hard-coded if possible. */
int sct_onnx_max_opset(void);
int sct_onnx_max_ir_version(void);

/* 1 when this libonnx's checker does not compare a tensor's raw_data length with dims x element size
 * (1.12 does not; newer releases do), else 0. A caller that has validated every payload length itself
 * may then hand the checker a copy whose large raw_data payloads are cut short (see
 * ModelFormat/ONNX/CheckerCopy.swift). Probed once with a tiny model; never throws. */
int sct_onnx_checker_ignores_raw_data_size(void);

void sct_onnx_free(void *p);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* CONNXBRIDGE_H */
