/* tinyq's C API (C99), for C hosts such as libvmaf.
 *
 * Conventions:
 * - Every function that can fail returns a tinyq_status; TINYQ_OK is 0. After a failure,
 *   tinyq_last_error() gives a message naming the file, model, input or field at fault. The
 *   message is per thread and stays valid until the next failing tinyq call on that thread.
 * - Handles are opaque. A session may be run from several threads at once, each call with its
 *   own tensors; opening and closing are not concurrent with use of the same handle.
 * - Tensors are contiguous, row-major, in host memory. tinyq never keeps a pointer the caller
 *   passed in after the call returns.
 *
 * Typical use:
 *
 *   tinyq_session* s = NULL;
 *   if (tinyq_session_open("models/registry.json", "vmaf_tiny_v2", NULL, &s) != TINYQ_OK) {
 *     fprintf(stderr, "%s\n", tinyq_last_error());
 *     return 1;
 *   }
 *   int64_t in_shape[2] = {n, 6};
 *   tinyq_tensor in = tinyq_tensor_make(TINYQ_FLOAT32, 2, in_shape, features, n * 6 * sizeof(float));
 *   tinyq_tensor out = tinyq_tensor_make(TINYQ_FLOAT32, 0, NULL, scores, n * sizeof(float));
 *   tinyq_status st = tinyq_session_run(s, &in, 1, &out, 1);   // out.rank, out.shape, out.nbytes set
 *   tinyq_session_close(s);
 */
#ifndef TINYQ_H_
#define TINYQ_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. Their values equal tinyq::StatusCode in C++. */
typedef enum tinyq_status {
  TINYQ_OK = 0,
  TINYQ_INVALID_ARGUMENT = 1, /* bad input from the caller: shape, dtype, name, NULL pointer */
  TINYQ_NOT_FOUND = 2,        /* a file, model id or tensor that does not exist */
  TINYQ_UNSUPPORTED = 3,      /* an op, attribute or dtype tinyq does not implement */
  TINYQ_IO_ERROR = 4,         /* a read that failed */
  TINYQ_CORRUPT = 5,          /* a file that exists but cannot be parsed */
  TINYQ_INTEGRITY = 6,        /* a digest mismatch or a path escaping the registry's folder */
  TINYQ_LIMIT = 7,            /* a size limit: model over the cap, output buffer too small */
  TINYQ_INTERNAL = 8          /* a broken invariant inside tinyq */
} tinyq_status;

/* Element types. Values equal ONNX TensorProto.DataType codes. */
typedef enum tinyq_dtype {
  TINYQ_UNDEFINED = 0,
  TINYQ_FLOAT32 = 1,
  TINYQ_UINT8 = 2,
  TINYQ_INT8 = 3,
  TINYQ_UINT16 = 4,
  TINYQ_INT16 = 5,
  TINYQ_INT32 = 6,
  TINYQ_INT64 = 7,
  TINYQ_BOOL = 9, /* one byte per element, 0 or 1 */
  TINYQ_FLOAT64 = 11
} tinyq_dtype;

/* Highest tensor rank the C API passes. */
#define TINYQ_MAX_RANK 8

/* A tensor crossing the API. For an input, `data` holds `nbytes` bytes (exactly the tensor's
 * size) and is only read. For an output, `data` is the caller's buffer of `capacity` bytes;
 * tinyq sets dtype, rank, shape and nbytes (the bytes the output needs), and writes the data
 * when it fits. */
typedef struct tinyq_tensor {
  tinyq_dtype dtype;
  size_t rank;
  int64_t shape[TINYQ_MAX_RANK];
  void* data;
  size_t nbytes;
  size_t capacity; /* outputs only */
} tinyq_tensor;

/* A tensor description built in one expression; `shape` may be NULL when rank is 0. For an
 * output pass the buffer and its size as data/nbytes: they become data/capacity. */
tinyq_tensor tinyq_tensor_make(tinyq_dtype dtype, size_t rank, const int64_t* shape, const void* data, size_t nbytes);

/* Load options. Start from tinyq_options_default() so fields added later get their defaults. */
typedef struct tinyq_options {
  int threads;               /* intra-op threads; 1 = the calling thread (default) */
  int allow_fp32_fallback;   /* nonzero: a missing int8 file loads fp32, with a warning */
  uint64_t max_model_bytes;  /* files over this are refused before reading; default 64 MiB */
  int reference_kernels;     /* nonzero: scalar reference kernels (testing) */
  /* Receives warnings (the fp32 fallback); NULL sends them to stderr. */
  void (*log)(void* user, const char* message);
  void* log_user;
} tinyq_options;

tinyq_options tinyq_options_default(void);

typedef struct tinyq_session tinyq_session;

/* Opens model `model_id` of the registry at `registry_path`: quant_mode picks the fp32 file or
 * <stem>.int8.onnx, whose bytes are read once, checked against the registry's sha256 and
 * parsed. `options` may be NULL. On failure *out is NULL. */
tinyq_status tinyq_session_open(const char* registry_path, const char* model_id, const tinyq_options* options,
                                tinyq_session** out);
/* Opens an .onnx file directly, with no registry and no digest check. */
tinyq_status tinyq_session_open_file(const char* onnx_path, const tinyq_options* options, tinyq_session** out);
/* Frees the session; NULL is a no-op. */
void tinyq_session_close(tinyq_session* session);

/* What was loaded: the file's path, its sha256 (64 hex digits; "" for open_file), whether the
 * digest was verified against a registry, and whether the int8 file was loaded. The strings
 * live as long as the session. */
const char* tinyq_session_file(const tinyq_session* session);
const char* tinyq_session_sha256(const tinyq_session* session);
int tinyq_session_verified(const tinyq_session* session);
int tinyq_session_is_int8(const tinyq_session* session);

/* Declared inputs and outputs. `shape` gets the declared dims, -1 for a symbolic one (such as
 * the batch); `name` lives as long as the session. */
size_t tinyq_session_num_inputs(const tinyq_session* session);
size_t tinyq_session_num_outputs(const tinyq_session* session);
tinyq_status tinyq_session_input_info(const tinyq_session* session, size_t index, const char** name, tinyq_dtype* dtype,
                                      size_t* rank, int64_t shape[TINYQ_MAX_RANK]);
tinyq_status tinyq_session_output_info(const tinyq_session* session, size_t index, const char** name, tinyq_dtype* dtype,
                                       size_t* rank, int64_t shape[TINYQ_MAX_RANK]);

/* Runs once. `inputs` are in declared order, `outputs` too (n_outputs must equal the model's).
 * Every output's dtype, rank, shape and nbytes are set even when its buffer is too small; then
 * the call fails with TINYQ_LIMIT and no output is written, so the caller can grow the buffers
 * and call again. Outputs with data = NULL and capacity = 0 thus learn their sizes (the call
 * returns TINYQ_LIMIT without running). */
tinyq_status tinyq_session_run(tinyq_session* session, const tinyq_tensor* inputs, size_t n_inputs, tinyq_tensor* outputs,
                               size_t n_outputs);

/* The message of the last failed call on this thread; "" when there was none. */
const char* tinyq_last_error(void);
/* "ok", "invalid argument", "not found", ... */
const char* tinyq_status_name(tinyq_status status);

#ifdef __cplusplus
}
#endif

#endif /* TINYQ_H_ */
