/*
 * secateur.h — the C interface of Secateur, an embeddable CPU inference runtime for ONNX models.
 *
 * This header is the whole contract: every function the library exports is declared and documented here.
 * It compiles as C99 and as C++ (the declarations are extern "C"). Link with -lsecateur.
 *
 * Usage (error handling shortened; every call returns an sct_status, see "Status and errors"):
 *
 *     sct_model *model = NULL;
 *     sct_session *session = NULL;
 *     if (sct_model_load_file("model.onnx", &model) != SCT_OK) {
 *         fprintf(stderr, "%s\n", sct_last_error());
 *         return 1;
 *     }
 *     sct_session_create(model, NULL, &session);      // NULL options: defaults
 *     sct_model_release(model);                        // the session keeps what it needs
 *
 *     float pixels[1 * 3 * 224 * 224] = {0};
 *     int64_t shape[4] = {1, 3, 224, 224};
 *     sct_tensor *input = NULL, *output = NULL;
 *     sct_tensor_wrap(SCT_TYPE_FLOAT, shape, 4, pixels, sizeof pixels, &input);   // borrows `pixels`
 *
 *     const char *input_names[] = {"input"};
 *     if (sct_session_run(session, input_names, (const sct_tensor *const *)&input, 1,
 *                         NULL, 1, &output) == SCT_OK) {   // NULL names: all outputs, in model order
 *         void *data; const int64_t *dims; size_t rank;
 *         sct_tensor_data(output, &data);
 *         sct_tensor_shape(output, &dims, &rank);
 *         // ... read rank dims and the floats at data ...
 *     }
 *     sct_tensor_release(output);                      // every _release accepts NULL
 *     sct_tensor_release(input);
 *     sct_session_release(session);
 *
 * Conventions, true of every function below unless its comment says otherwise:
 *   - Objects are opaque handles. What a *_create or *_load function returns, the caller frees with the
 *     matching *_release, exactly once; every *_release accepts NULL and does nothing with it.
 *   - A function returns SCT_OK or an error status; on error it has no effect except that any output
 *     handle pointer (sct_model **, sct_session **, sct_tensor **, …) is set to NULL when it was not NULL
 *     itself, and the calling thread's message (sct_last_error) is replaced.
 *   - Every pointer argument is checked: NULL (where NULL is not documented as allowed), or a handle of the
 *     wrong kind (a session passed as a tensor), fails with SCT_INVALID_ARGUMENT naming the argument. A
 *     dangling or foreign pointer cannot be detected and is undefined behaviour.
 *   - Strings are NUL-terminated UTF-8. The library keeps no pointer to a caller's argument after the call
 *     returns, except the memory wrapped by sct_tensor_wrap.
 *   - Sizes are size_t, dims are int64_t; element types are ONNX's TensorProto.DataType numbers (sct_type).
 *   - Threads: functions on different handles may always run concurrently. On one handle, functions that
 *     only read it (documented "Threads: any") may run concurrently with each other; a function documented
 *     "Threads: exclusive" must not run concurrently with any other use of that handle.
 */
#ifndef SECATEUR_H
#define SECATEUR_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define SCT_API extern __attribute__((visibility("default")))
#else
#define SCT_API extern
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------------ */
/* Version                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* The ABI revision this header describes. Compare with sct_abi_version() at startup: a library with a
 * different value was built for a different header and must not be used. */
#define SCT_ABI_VERSION 1

/* Returns the library version as "major.minor.patch", e.g. "0.1.0".
 * Ownership: static storage; never free it.  Threads: any.  Errors: none. */
SCT_API const char *sct_version(void);

/* Returns the ABI revision the library implements (SCT_ABI_VERSION of the header it was built with).
 * Threads: any.  Errors: none. */
SCT_API uint32_t sct_abi_version(void);

/* Returns the SIMD variant of the float kernels this process runs: "avx512" (AVX-512F), "avx2" (AVX2 and
 * FMA) or "baseline" (x86-64 SSE2). The library picks it once per process, at the first kernel call or
 * this call, from what the CPU and the OS support, so one build runs everywhere and uses the widest
 * vectors it may. The environment variable SECATEUR_ISA=avx2 or =baseline, read at that moment, caps the
 * choice (for testing a lower variant; it never raises it). Sessions of every variant give the same
 * results within float32 rounding.
 * Ownership: static storage; never free it.  Threads: any.  Errors: none. */
SCT_API const char *sct_kernel_isa(void);

/* ------------------------------------------------------------------------------------------------------ */
/* Status and errors                                                                                       */
/* ------------------------------------------------------------------------------------------------------ */

/* What every fallible function returns. The nonzero values equal the Swift SecateurError.Code raw values.
 * A NULL pointer argument is reported as SCT_INVALID_ARGUMENT (there is no separate NULL status). */
typedef enum sct_status {
    SCT_OK = 0,
    SCT_INVALID_ARGUMENT = 1, /* the caller passed something wrong: NULL, unknown name, wrong shape or type */
    SCT_INVALID_MODEL = 2,    /* the model bytes or graph are malformed */
    SCT_UNSUPPORTED = 3,      /* a valid model uses an operator, type or feature Secateur lacks */
    SCT_IO_ERROR = 4,         /* a file could not be read or written */
    SCT_OUT_OF_MEMORY = 5,    /* an allocation failed or the session's memory limit was hit */
    SCT_RUNTIME_ERROR = 6     /* a failure while running (e.g. a data-dependent index out of range) */
} sct_status;

/* Returns the calling thread's message for its most recent failed call, "" if none has failed. The message
 * starts with the function's name and names the input, output, node, operator or shape at fault, e.g.
 * "sct_session_run: input 'x': got float64, the model expects float32". Successful calls do not clear it,
 * so read it only after a call returned an error.
 * Ownership: owned by the library; valid until the next failing call on the same thread or the thread's
 * exit; never free it.  Threads: any (each thread has its own message).  Errors: none. */
SCT_API const char *sct_last_error(void);

/* Returns the enumerator's name, e.g. "SCT_INVALID_ARGUMENT"; "SCT_UNKNOWN_STATUS" for other values.
 * Ownership: static storage.  Threads: any.  Errors: none. */
SCT_API const char *sct_status_name(sct_status status);

/* Frees memory the library allocated and handed to the caller (so far: sct_model_save_memory's data).
 * Accepts NULL.  Threads: any. */
SCT_API void sct_memory_release(void *data);

/* ------------------------------------------------------------------------------------------------------ */
/* Element types                                                                                           */
/* ------------------------------------------------------------------------------------------------------ */

/* Tensor element types, numbered as ONNX TensorProto.DataType. Tensors of every type except
 * SCT_TYPE_UNDEFINED and SCT_TYPE_STRING can be created; which types a model accepts depends on its
 * operators. Sub-byte types (SCT_TYPE_INT4, …) are packed two or four to a byte, low bits first. */
typedef enum sct_type {
    SCT_TYPE_UNDEFINED = 0,
    SCT_TYPE_FLOAT = 1, /* float32 */
    SCT_TYPE_UINT8 = 2,
    SCT_TYPE_INT8 = 3,
    SCT_TYPE_UINT16 = 4,
    SCT_TYPE_INT16 = 5,
    SCT_TYPE_INT32 = 6,
    SCT_TYPE_INT64 = 7,
    SCT_TYPE_STRING = 8, /* appears in sct_value_info only; not usable through this API */
    SCT_TYPE_BOOL = 9,   /* one byte per element, 0 or 1 */
    SCT_TYPE_FLOAT16 = 10,
    SCT_TYPE_DOUBLE = 11,
    SCT_TYPE_UINT32 = 12,
    SCT_TYPE_UINT64 = 13,
    SCT_TYPE_COMPLEX64 = 14,
    SCT_TYPE_COMPLEX128 = 15,
    SCT_TYPE_BFLOAT16 = 16,
    SCT_TYPE_FLOAT8E4M3FN = 17,
    SCT_TYPE_FLOAT8E4M3FNUZ = 18,
    SCT_TYPE_FLOAT8E5M2 = 19,
    SCT_TYPE_FLOAT8E5M2FNUZ = 20,
    SCT_TYPE_UINT4 = 21,
    SCT_TYPE_INT4 = 22,
    SCT_TYPE_FLOAT4E2M1 = 23,
    SCT_TYPE_FLOAT8E8M0 = 24,
    SCT_TYPE_UINT2 = 25,
    SCT_TYPE_INT2 = 26
} sct_type;

/* Returns a short name for `type`: "float32", "int64", "float16", "bool", …; "unknown" for values that
 * are not ONNX element types.  Ownership: static storage.  Threads: any.  Errors: none. */
SCT_API const char *sct_type_name(sct_type type);

/* ------------------------------------------------------------------------------------------------------ */
/* Handles                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* A loaded ONNX model: its graph, weights and declared inputs/outputs. */
typedef struct sct_model sct_model;
/* Settings for sct_session_create (threads, optimization, memory limit). */
typedef struct sct_options sct_options;
/* A model compiled for running; runs may be issued from many threads at once. */
typedef struct sct_session sct_session;
/* A dense tensor: element type, shape and bytes, either owned by the library or borrowed from the caller. */
typedef struct sct_tensor sct_tensor;

/* Describes one graph input or output, as the model declares it.
 * All pointers are owned by the model or session they came from and stay valid until it is released
 * (for a model, also until sct_model_optimize rewrites it). Layout (LP64): 32 bytes, offsets 0/8/12/16/24. */
typedef struct sct_value_info {
    const char *name;              /* the input or output name */
    sct_type type;                 /* element type; SCT_TYPE_UNDEFINED when the value is not a tensor */
    int32_t rank;                  /* number of dims; -1 when the rank is unknown (then dims is NULL) */
    const int64_t *dims;           /* rank entries: a size >= 0, or -1 for a symbolic or unknown dim */
    const char *const *dim_names;  /* rank entries: the symbol of a symbolic dim (e.g. "batch"), else NULL */
} sct_value_info;

/* ------------------------------------------------------------------------------------------------------ */
/* Models                                                                                                  */
/* ------------------------------------------------------------------------------------------------------ */

/* Loads an ONNX model file, with external data read from files beside it (never from outside its folder),
 * and validates it (structure, types, and libonnx's checker for IR <= 8 / opset <= 17).
 * Ownership: `path` is read during the call; *model receives a new model, freed with sct_model_release.
 * Threads: any.
 * Errors: SCT_IO_ERROR (cannot read the file, which the message names), SCT_INVALID_MODEL (malformed; the
 * message names the field, node or tensor), SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_load_file(const char *path, sct_model **model);

/* Loads an ONNX model from `size` bytes at `data`; as sct_model_load_file but external data is an error.
 * Ownership: the bytes are copied; the caller may free `data` as soon as the call returns. *model receives
 * a new model, freed with sct_model_release.  Threads: any.
 * Errors: SCT_INVALID_MODEL (malformed or truncated bytes, or size 0), SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_load_memory(const void *data, size_t size, sct_model **model);

/* Frees a model. Sessions created from it are unaffected. Accepts NULL.
 * Threads: exclusive (no other call may be using the model). */
SCT_API void sct_model_release(sct_model *model);

/* Writes the model (as loaded, or as rewritten by sct_model_optimize) to an ONNX file, replacing it.
 * Ownership: `path` is read during the call.  Threads: any.
 * Errors: SCT_IO_ERROR (cannot write; the message names the path), SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_save_file(const sct_model *model, const char *path);

/* Serializes the model to ONNX bytes in memory.
 * Ownership: *data receives a library-allocated buffer of *size bytes; free it with sct_memory_release.
 * Threads: any.  Errors: SCT_OUT_OF_MEMORY, SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_save_memory(const sct_model *model, void **data, size_t *size);

/* Stores the number of graph inputs a caller must feed (initializers that are also listed as graph inputs
 * are not counted: they are overridable weights, not inputs).  Threads: any.
 * Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_input_count(const sct_model *model, size_t *count);

/* Stores the number of graph outputs.  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_output_count(const sct_model *model, size_t *count);

/* Describes input `index` (0 <= index < sct_model_input_count) in *info.
 * Ownership: the pointers written to *info belong to the model (see sct_value_info).  Threads: any.
 * Errors: SCT_INVALID_ARGUMENT (NULL, or index out of range; the message gives the count). */
SCT_API sct_status sct_model_input_info(const sct_model *model, size_t index, sct_value_info *info);

/* Describes output `index` (0 <= index < sct_model_output_count) in *info; as sct_model_input_info. */
SCT_API sct_status sct_model_output_info(const sct_model *model, size_t index, sct_value_info *info);

/* ------------------------------------------------------------------------------------------------------ */
/* Optimizer                                                                                               */
/* ------------------------------------------------------------------------------------------------------ */

/* Rewrites the model in place with the optimizer pipeline sessions run when optimization is on (as
 * `secateur optimize` does: inline functions, remove Identity/Dropout, fold constants, fold BatchNorm and
 * other affine ops into neighbouring Conv/Gemm, remove dead nodes). The result computes the same outputs
 * (up to float rounding) and can be saved with sct_model_save_file / sct_model_save_memory.
 * Report: one line per pass, "pass-name: what changed", lines separated by '\n'. Up to capacity-1 bytes
 * are copied to `report` and NUL-terminated (when capacity > 0); *length, if `length` is not NULL,
 * receives the full length without the NUL, so a caller can retry with a larger buffer. `report` may be
 * NULL when capacity is 0.
 * Ownership: `report` is the caller's. sct_value_info pointers previously obtained from this model become
 * invalid.  Threads: exclusive.
 * Errors: SCT_INVALID_MODEL or SCT_UNSUPPORTED when a pass cannot process the graph (the model is then
 * unchanged), SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_model_optimize(sct_model *model, char *report, size_t capacity, size_t *length);

/* Prunes the model in place with JointPruning, as `secateur prune --macs FRACTION --seed SEED` does: an
 * evolutionary search over input resolution, removable residual blocks and per-group channel widths picks
 * the candidate with the best output fidelity (on generated calibration inputs, BatchNorm statistics
 * recalibrated per candidate) whose MACs are at most `macs_fraction` of the original's. The result is a
 * smaller standard ONNX model; save it with sct_model_save_file. Deterministic for a given seed.
 * `macs_fraction` must lie in (0, 1]. Report: the text report (chosen resolution, removed blocks, widths,
 * MACs, parameters, fidelity), copied as for sct_model_optimize. The search runs models through the
 * library's own runtime, so it takes seconds to minutes depending on the model.
 * Ownership: `report` is the caller's. sct_value_info pointers previously obtained from this model become
 * invalid.  Threads: exclusive.
 * Errors: SCT_INVALID_ARGUMENT (NULL, fraction out of range), SCT_UNSUPPORTED (the graph has nothing the
 * analysis can prune, or an op it cannot run); the model is then unchanged. */
SCT_API sct_status sct_model_prune(sct_model *model, double macs_fraction, uint64_t seed,
                                   char *report, size_t capacity, size_t *length);

/* ------------------------------------------------------------------------------------------------------ */
/* Session options                                                                                         */
/* ------------------------------------------------------------------------------------------------------ */

/* Creates options with the defaults: threads 0 (one per core), optimization on, memory limit 8 GiB.
 * Ownership: *options receives a new object, freed with sct_options_release. sct_session_create copies
 * the settings, so the options may be released or changed right after.  Threads: any.
 * Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_options_create(sct_options **options);

/* Frees options. Accepts NULL.  Threads: exclusive. */
SCT_API void sct_options_release(sct_options *options);

/* Sets the number of threads one run uses (the calling thread counts as one): 0 = one per available core,
 * 1 = run on the calling thread only, up to 1024.  Threads: exclusive.
 * Errors: SCT_INVALID_ARGUMENT (NULL, or threads outside 0...1024). */
SCT_API sct_status sct_options_set_threads(sct_options *options, int32_t threads);

/* Turns graph optimization at session creation on (nonzero, the default) or off (0; for debugging or for
 * models already optimized with sct_model_optimize).  Threads: exclusive.
 * Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_options_set_optimize(sct_options *options, int32_t enabled);

/* Caps the memory one run may plan (intermediate arena + outputs + folded constants), in bytes; 0 restores
 * the default (8 GiB). A session or run that would exceed it fails with SCT_OUT_OF_MEMORY, naming the size.
 * Threads: exclusive.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_options_set_memory_limit(sct_options *options, uint64_t bytes);

/* ------------------------------------------------------------------------------------------------------ */
/* Sessions                                                                                                */
/* ------------------------------------------------------------------------------------------------------ */

/* Compiles `model` for running: optimizes a copy (unless disabled), checks every operator is supported,
 * folds constants and prepares weights.
 * Ownership: `model` and `options` are read during the call only (NULL options means defaults); the model
 * may be released right after. *session receives a new session, freed with sct_session_release.
 * Threads: any (the model is only read).
 * Errors: SCT_UNSUPPORTED (an operator, opset or type is not implemented; the message names node and op),
 * SCT_INVALID_MODEL (a node's inputs do not fit its operator; the message names node, op and shapes),
 * SCT_OUT_OF_MEMORY (over the memory limit), SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_session_create(const sct_model *model, const sct_options *options, sct_session **session);

/* Loads the model file at `path` and compiles it: sct_model_load_file + sct_session_create +
 * sct_model_release in one call, except that the session owns the model from the start, so each weight a
 * kernel prepacks is freed once packed instead of staying alive in the caller's model until the session
 * exists (on ResNet-50 that is ~90 MB less peak memory). Prefer it when the model is loaded only to run.
 * Ownership: `path` and `options` are read during the call only (NULL options means defaults). *session
 * receives a new session, freed with sct_session_release.  Threads: any.
 * Errors: those of sct_model_load_file and of sct_session_create. */
SCT_API sct_status sct_session_create_from_file(const char *path, const sct_options *options, sct_session **session);

/* Frees a session. Accepts NULL.  Threads: exclusive (no run may be in progress on it). */
SCT_API void sct_session_release(sct_session *session);

/* Stores the number of inputs a run must be given.  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_session_input_count(const sct_session *session, size_t *count);

/* Stores the number of outputs a run can return.  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_session_output_count(const sct_session *session, size_t *count);

/* Describes input `index` of the session in *info; pointers are owned by the session and valid until it is
 * released.  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL, or index out of range). */
SCT_API sct_status sct_session_input_info(const sct_session *session, size_t index, sct_value_info *info);

/* Describes output `index` of the session in *info; as sct_session_input_info. */
SCT_API sct_status sct_session_output_info(const sct_session *session, size_t index, sct_value_info *info);

/* Runs `session` on named inputs; writes one new tensor per requested output.
 * Inputs: input_names[i] names the graph input fed by inputs[i], for i < input_count; every input of the
 * session must be given exactly once, with its declared element type and rank and every fixed dim equal.
 * (Both arrays may be NULL when input_count is 0.)
 * Outputs: output_names lists the outputs wanted, in the order they are written to outputs[0 ..
 * output_count-1]; NULL means all outputs in declaration order, and then output_count must equal
 * sct_session_output_count.
 * Ownership: inputs are borrowed for the call; the caller frees each outputs[i] with sct_tensor_release.
 * Output tensors never share memory with inputs, the model, or each other. On error every outputs[i] is
 * set to NULL.
 * Threads: may be called on one session from many threads at once (input tensors may be shared between
 * concurrent runs: they are only read).
 * Errors: SCT_INVALID_ARGUMENT (NULL, unknown or repeated input name, missing input, wrong element type or
 * shape — the message names the input and both types/shapes — or unknown output name), SCT_UNSUPPORTED,
 * SCT_OUT_OF_MEMORY (over the memory limit for these input shapes), SCT_RUNTIME_ERROR (a kernel failed;
 * the message names node and op). */
SCT_API sct_status sct_session_run(sct_session *session,
                                   const char *const *input_names, const sct_tensor *const *inputs, size_t input_count,
                                   const char *const *output_names, size_t output_count, sct_tensor **outputs);

/* Runs `session` and writes the requested outputs into caller-provided tensors: with every output
 * requested, a run allocates no tensor memory in the steady state (the session reuses its planned
 * intermediate memory), which suits embedded callers.
 * Inputs and output_names: as for sct_session_run.
 * Outputs: outputs[i] receives output output_names[i]; it must have exactly the element type and shape the
 * run produces (see sct_session_output_info; for symbolic dims, the sizes these inputs imply), typically a
 * tensor from sct_tensor_wrap over the caller's buffer. It must not overlap any input or other output.
 * Ownership: all tensors stay the caller's; the library writes output bytes only.
 * Threads: may be called on one session from many threads at once, each with its own output tensors.
 * Errors: as sct_session_run, plus SCT_INVALID_ARGUMENT when an output tensor has the wrong type or shape
 * (the message names the output and gives both type/shape/byte counts; nothing is written when the shapes
 * are known before running) or overlaps another buffer. On error the contents of the output tensors are
 * unspecified. */
SCT_API sct_status sct_session_run_into(sct_session *session,
                                        const char *const *input_names, const sct_tensor *const *inputs, size_t input_count,
                                        const char *const *output_names, size_t output_count, sct_tensor *const *outputs);

/* ------------------------------------------------------------------------------------------------------ */
/* Tensors                                                                                                 */
/* ------------------------------------------------------------------------------------------------------ */

/* Creates a tensor of `type` and shape shape[0 .. rank-1] (rank 0: a scalar, and shape may be NULL),
 * holding a copy of `data`. `byte_size` must equal the bytes the shape needs (elements x element size,
 * packed for sub-byte types). With data NULL and byte_size 0 the tensor is zero-filled.
 * Ownership: `shape` and `data` are copied; *tensor receives a new tensor, freed with sct_tensor_release.
 * Threads: any.
 * Errors: SCT_INVALID_ARGUMENT (NULL, unknown type, negative dim, byte_size mismatch — the message gives
 * both sizes), SCT_UNSUPPORTED (SCT_TYPE_STRING), SCT_OUT_OF_MEMORY. */
SCT_API sct_status sct_tensor_create(sct_type type, const int64_t *shape, size_t rank,
                                     const void *data, size_t byte_size, sct_tensor **tensor);

/* Creates a tensor over the caller's memory without copying it (zero-copy inputs, and output buffers for
 * sct_session_run_into). `byte_size` is the size of the buffer at `data` and must be at least the bytes the
 * shape needs. `data` may be NULL only when the shape has no elements.
 * Ownership: `shape` is copied. `data` is borrowed: it must stay valid, and must not be written by the
 * caller while a run reads it, until sct_tensor_release returns for this tensor (and every run using it has
 * returned). The library writes to it only when the tensor is an output of sct_session_run_into.
 * Threads: any.  Errors: as sct_tensor_create, with "too small" instead of "mismatch". */
SCT_API sct_status sct_tensor_wrap(sct_type type, const int64_t *shape, size_t rank,
                                   void *data, size_t byte_size, sct_tensor **tensor);

/* Frees a tensor (for a wrapped tensor, not the caller's memory). Accepts NULL.
 * Threads: exclusive (no run may be using it). */
SCT_API void sct_tensor_release(sct_tensor *tensor);

/* Stores the element type.  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_tensor_type(const sct_tensor *tensor, sct_type *type);

/* Stores the rank and a pointer to the rank dims.
 * Ownership: *dims points into the tensor and is valid until it is released.  Threads: any.
 * Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_tensor_shape(const sct_tensor *tensor, const int64_t **dims, size_t *rank);

/* Stores a pointer to the tensor's bytes (row-major, ONNX layout), which the caller may read and write.
 * Ownership: for a wrapped tensor, the caller's own pointer; otherwise memory owned by the tensor, 64-byte
 * aligned and valid until it is released.  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_tensor_data(const sct_tensor *tensor, void **data);

/* Stores the number of bytes the data occupies (for a wrapped tensor: what the shape needs, not the
 * buffer size given).  Threads: any.  Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_tensor_byte_size(const sct_tensor *tensor, size_t *byte_size);

/* Stores the number of elements (the product of the dims; 1 for a scalar).  Threads: any.
 * Errors: SCT_INVALID_ARGUMENT (NULL). */
SCT_API sct_status sct_tensor_element_count(const sct_tensor *tensor, size_t *count);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* SECATEUR_H */
