/* The C API from a C99 program: open a registered model, inspect it, run it, and get clear
 * errors for a wrong id, wrong input sizes, a too-small output buffer and a digest mismatch.
 * Usage: tinyq_c_api_test SOURCE/models/registry.json   (writes scratch files in the cwd) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tinyq.h"

/* ONNX Runtime 1.30 (onnxruntime-node, CPU) outputs for these hand-picked feature rows. */
static const float kRows[3][6] = {{0.95f, 0.45f, 0.80f, 0.88f, 0.92f, 3.5f},
                                  {0.80f, 0.30f, 0.60f, 0.70f, 0.78f, 12.0f},
                                  {1.0f, 0.9f, 0.97f, 0.99f, 0.995f, 0.0f}};
static const float kOrtVmaf[3] = {79.9881287f, 45.8297882f, 96.2767029f};
/* Scores are on a 0..100 scale; fp32 summation order differs from ONNX Runtime's. */
static const float kVmafTolerance = 1e-3f;

static int failures = 0;

#define CHECK(cond, ...)                                   \
  do {                                                     \
    if (!(cond)) {                                         \
      fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                        \
      fprintf(stderr, "\n");                               \
      ++failures;                                          \
    }                                                      \
  } while (0)

static void test_open_and_run(const char* registry) {
  tinyq_session* s = NULL;
  tinyq_status st = tinyq_session_open(registry, "vmaf_tiny_v2", NULL, &s);
  CHECK(st == TINYQ_OK, "open: %s", tinyq_last_error());
  if (st != TINYQ_OK) return;
  CHECK(tinyq_session_verified(s) == 1, "digest not verified");
  CHECK(tinyq_session_is_int8(s) == 0, "fp32 entry loaded as int8");
  CHECK(strstr(tinyq_session_file(s), "vmaf_tiny_v2.onnx") != NULL, "file %s", tinyq_session_file(s));
  CHECK(strcmp(tinyq_session_sha256(s), "d7000bf5c5fd1ed39528546dd8464db44a13cb73cfed33fd8f134e5848b009a7") == 0, "sha256 %s",
        tinyq_session_sha256(s));

  CHECK(tinyq_session_num_inputs(s) == 1, "inputs");
  CHECK(tinyq_session_num_outputs(s) == 1, "outputs");
  {
    const char* name = NULL;
    tinyq_dtype dtype = TINYQ_UNDEFINED;
    size_t rank = 0;
    int64_t shape[TINYQ_MAX_RANK];
    CHECK(tinyq_session_input_info(s, 0, &name, &dtype, &rank, shape) == TINYQ_OK, "%s", tinyq_last_error());
    CHECK(name && strcmp(name, "features") == 0, "input name %s", name ? name : "(null)");
    CHECK(dtype == TINYQ_FLOAT32 && rank == 2 && shape[0] == -1 && shape[1] == 6, "input spec");
    CHECK(tinyq_session_output_info(s, 0, &name, &dtype, &rank, shape) == TINYQ_OK, "%s", tinyq_last_error());
    CHECK(name && strcmp(name, "vmaf") == 0, "output name %s", name ? name : "(null)");
    CHECK(tinyq_session_input_info(s, 1, &name, &dtype, &rank, shape) == TINYQ_INVALID_ARGUMENT, "index 1 accepted");
  }

  {
    int64_t in_shape[2] = {3, 6};
    float scores[3] = {0, 0, 0};
    int i;
    tinyq_tensor in = tinyq_tensor_make(TINYQ_FLOAT32, 2, in_shape, kRows, sizeof kRows);
    tinyq_tensor out = tinyq_tensor_make(TINYQ_FLOAT32, 0, NULL, NULL, 0);

    /* Sizes first: no buffer, so TINYQ_LIMIT with the shape filled in. */
    st = tinyq_session_run(s, &in, 1, &out, 1);
    CHECK(st == TINYQ_LIMIT, "run without a buffer: %s", tinyq_status_name(st));
    CHECK(strstr(tinyq_last_error(), "12 bytes") != NULL, "message: %s", tinyq_last_error());
    CHECK(out.rank == 1 && out.shape[0] == 3 && out.nbytes == sizeof scores, "output size rank %u", (unsigned)out.rank);

    out = tinyq_tensor_make(TINYQ_FLOAT32, 0, NULL, scores, sizeof scores);
    st = tinyq_session_run(s, &in, 1, &out, 1);
    CHECK(st == TINYQ_OK, "run: %s", tinyq_last_error());
    CHECK(out.dtype == TINYQ_FLOAT32 && out.rank == 1 && out.shape[0] == 3, "output shape");
    for (i = 0; i < 3; ++i)
      CHECK(fabsf(scores[i] - kOrtVmaf[i]) <= kVmafTolerance, "row %d: %.7g, ONNX Runtime %.7g", i, scores[i], kOrtVmaf[i]);

    /* Wrong byte count for the shape: named. */
    in.nbytes -= 4;
    st = tinyq_session_run(s, &in, 1, &out, 1);
    CHECK(st == TINYQ_INVALID_ARGUMENT, "short input: %s", tinyq_status_name(st));
    CHECK(strstr(tinyq_last_error(), "features") != NULL, "message: %s", tinyq_last_error());
    /* Wrong input count. */
    st = tinyq_session_run(s, NULL, 0, &out, 1);
    CHECK(st == TINYQ_INVALID_ARGUMENT, "no inputs: %s", tinyq_status_name(st));
  }
  tinyq_session_close(s);
}

static void test_bad_id(const char* registry) {
  tinyq_session* s = (tinyq_session*)&failures; /* must be reset to NULL */
  tinyq_status st = tinyq_session_open(registry, "no_such_model", NULL, &s);
  CHECK(st == TINYQ_NOT_FOUND, "status %s", tinyq_status_name(st));
  CHECK(s == NULL, "out not cleared");
  CHECK(strstr(tinyq_last_error(), "no_such_model") != NULL, "message: %s", tinyq_last_error());
}

/* Copies smoke_v0.onnx beside a registry that records a wrong digest. */
static int write_bad_registry(const char* registry) {
  char src[4096];
  const char* slash = strrchr(registry, '/');
  size_t dir_len = slash ? (size_t)(slash - registry) + 1 : 0;
  FILE* in;
  FILE* out;
  char buf[4096];
  size_t n;
  if (dir_len + 16 > sizeof src) return 0;
  memcpy(src, registry, dir_len);
  strcpy(src + dir_len, "smoke_v0.onnx");
  in = fopen(src, "rb");
  out = fopen("c_api_smoke.onnx", "wb");
  if (!in || !out) {
    if (in) fclose(in);
    if (out) fclose(out);
    return 0;
  }
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) fwrite(buf, 1, n, out);
  fclose(in);
  fclose(out);
  out = fopen("c_api_registry.json", "wb");
  if (!out) return 0;
  fputs("{\"schema_version\": 1, \"models\": [{\"id\": \"smoke\", \"kind\": \"fr\", \"onnx\": \"c_api_smoke.onnx\", "
        "\"sha256\": \"0000000000000000000000000000000000000000000000000000000000000000\"}]}\n",
        out);
  fclose(out);
  return 1;
}

static void test_digest_mismatch(const char* registry) {
  tinyq_session* s = NULL;
  tinyq_status st;
  CHECK(write_bad_registry(registry), "cannot write scratch files in the working directory");
  st = tinyq_session_open("c_api_registry.json", "smoke", NULL, &s);
  CHECK(st == TINYQ_INTEGRITY, "status %s: %s", tinyq_status_name(st), tinyq_last_error());
  CHECK(strstr(tinyq_last_error(), "c_api_smoke.onnx") != NULL, "message names the file: %s", tinyq_last_error());
  CHECK(strstr(tinyq_last_error(), "c83a5f217fa3736bf575c52f7f4c187a6201951e8ddccb51bdcdcc136108fbe0") != NULL,
        "message has the file's digest: %s", tinyq_last_error());
  CHECK(s == NULL, "a session came back");
  remove("c_api_smoke.onnx");
  remove("c_api_registry.json");
}

static void test_open_file_and_options(const char* registry) {
  char path[4096];
  const char* slash = strrchr(registry, '/');
  size_t dir_len = slash ? (size_t)(slash - registry) + 1 : 0;
  tinyq_session* s = NULL;
  tinyq_options o = tinyq_options_default();
  tinyq_status st;
  if (dir_len + 32 > sizeof path) return;
  memcpy(path, registry, dir_len);
  strcpy(path + dir_len, "smoke_v0.onnx");
  st = tinyq_session_open_file(path, &o, &s);
  CHECK(st == TINYQ_OK, "open_file: %s", tinyq_last_error());
  CHECK(s && tinyq_session_verified(s) == 0, "open_file claims a verified digest");
  tinyq_session_close(s);
  s = NULL;

  o.max_model_bytes = 100; /* smoke_v0.onnx is 252 bytes */
  st = tinyq_session_open(registry, "smoke_v0", &o, &s);
  CHECK(st == TINYQ_LIMIT, "size cap: %s: %s", tinyq_status_name(st), tinyq_last_error());

  o = tinyq_options_default();
  o.threads = 0;
  st = tinyq_session_open(registry, "smoke_v0", &o, &s);
  CHECK(st == TINYQ_INVALID_ARGUMENT, "threads 0: %s", tinyq_status_name(st));
  tinyq_session_close(NULL); /* a no-op */
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s REGISTRY.json\n", argv[0]);
    return 2;
  }
  test_open_and_run(argv[1]);
  test_bad_id(argv[1]);
  test_digest_mismatch(argv[1]);
  test_open_file_and_options(argv[1]);
  if (failures) {
    fprintf(stderr, "%d check(s) failed\n", failures);
    return 1;
  }
  printf("c_api: all checks passed\n");
  return 0;
}
