// The C API (include/tinyq.h) over the C++ one. No exception crosses the boundary: each entry
// point turns a failure into a status code and a per-thread message.
#include "tinyq.h"

#include <cstring>
#include <exception>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "tinyq/registry.h"
#include "tinyq/session.h"

struct tinyq_session {
  std::unique_ptr<tinyq::Session> session;
  std::string file;
  std::string sha256;
  bool verified = false;
  bool int8 = false;
};

namespace {

using tinyq::Status;

thread_local std::string g_last_error;

tinyq_status fail(const Status& s) {
  g_last_error = s.message();
  return static_cast<tinyq_status>(s.code());
}

tinyq_status fail(tinyq_status code, std::string msg) {
  g_last_error = std::move(msg);
  return code;
}

// Runs `body`, mapping escaped exceptions (allocation failure) to TINYQ_INTERNAL.
template <typename F>
tinyq_status guarded(F&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(TINYQ_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return fail(TINYQ_INTERNAL, std::string("unexpected error: ") + e.what());
  } catch (...) {
    return fail(TINYQ_INTERNAL, "unexpected error");
  }
}

Status to_loader_options(const tinyq_options* in, tinyq::LoaderOptions* out) {
  tinyq_options o = in ? *in : tinyq_options_default();
  if (o.threads < 1) return Status::invalid_argument("options.threads is " + std::to_string(o.threads) + "; it must be at least 1");
  out->session.threads = o.threads;
  out->session.reference_kernels = o.reference_kernels != 0;
  out->allow_fp32_fallback = o.allow_fp32_fallback != 0;
  out->max_model_bytes = o.max_model_bytes ? o.max_model_bytes : tinyq::kDefaultMaxModelBytes;
  if (o.log) {
    auto fn = o.log;
    void* user = o.log_user;
    out->log = [fn, user](const std::string& msg) { fn(user, msg.c_str()); };
  }
  return Status::ok();
}

tinyq_status spec_info(const std::vector<tinyq::TensorSpec>& specs, const char* what, size_t index, const char** name,
                       tinyq_dtype* dtype, size_t* rank, int64_t* shape) {
  if (index >= specs.size())
    return fail(TINYQ_INVALID_ARGUMENT, std::string(what) + " index " + std::to_string(index) + " is out of range (the model has " +
                                            std::to_string(specs.size()) + ")");
  const tinyq::TensorSpec& s = specs[index];
  if (s.dims.size() > TINYQ_MAX_RANK)
    return fail(TINYQ_UNSUPPORTED, std::string(what) + " '" + s.name + "' has rank " + std::to_string(s.dims.size()) +
                                       ", over the C API's TINYQ_MAX_RANK");
  if (name) *name = s.name.c_str();
  if (dtype) *dtype = static_cast<tinyq_dtype>(s.dtype);
  if (rank) *rank = s.dims.size();
  if (shape)
    for (size_t d = 0; d < s.dims.size(); ++d) shape[d] = s.dims[d] < 0 ? -1 : s.dims[d];
  return TINYQ_OK;
}

// Checks a caller's input tensor and views it without copying.
Status view_input(const tinyq_tensor& t, const tinyq::TensorSpec& spec, size_t index, tinyq::TensorView* out) {
  std::string where = "input " + std::to_string(index) + " ('" + spec.name + "')";
  auto dtype = static_cast<tinyq::DType>(t.dtype);
  if (!tinyq::dtype_supported(dtype)) return Status::invalid_argument(where + ": dtype " + std::to_string(t.dtype) + " is not supported");
  if (t.rank > TINYQ_MAX_RANK) return Status::invalid_argument(where + ": rank " + std::to_string(t.rank) + " is over TINYQ_MAX_RANK");
  uint64_t numel = 1;
  for (size_t d = 0; d < t.rank; ++d) {
    if (t.shape[d] < 0) return Status::invalid_argument(where + ": dimension " + std::to_string(d) + " is negative");
    uint64_t dim = static_cast<uint64_t>(t.shape[d]);
    if (dim != 0 && numel > std::numeric_limits<uint64_t>::max() / tinyq::dtype_size(dtype) / dim)
      return Status::invalid_argument(where + ": shape is too large");
    numel *= dim;
  }
  uint64_t bytes = numel * tinyq::dtype_size(dtype);
  if (bytes != t.nbytes)
    return Status::invalid_argument(where + ": shape and dtype need " + std::to_string(bytes) + " bytes but nbytes is " +
                                    std::to_string(t.nbytes));
  if (bytes > 0 && !t.data) return Status::invalid_argument(where + ": data is NULL");
  out->dtype = dtype;
  out->shape = std::span<const int64_t>(t.shape, t.rank);
  out->data = t.data;
  return Status::ok();
}

tinyq_status open_common(tinyq::Result<tinyq::LoadedModel> loaded, tinyq_session** out) {
  if (!loaded.is_ok()) return fail(loaded.status());
  auto s = std::make_unique<tinyq_session>();
  s->session = std::move(loaded->session);
  s->file = loaded->file;
  s->sha256 = loaded->sha256;
  s->verified = loaded->verified;
  s->int8 = loaded->int8;
  *out = s.release();
  return TINYQ_OK;
}

}  // namespace

extern "C" {

tinyq_tensor tinyq_tensor_make(tinyq_dtype dtype, size_t rank, const int64_t* shape, const void* data, size_t nbytes) {
  tinyq_tensor t;
  std::memset(&t, 0, sizeof t);
  t.dtype = dtype;
  t.rank = rank;
  // A rank over the limit is kept so tinyq_session_run reports it; only the first dims are copied.
  for (size_t d = 0; shape && d < rank && d < TINYQ_MAX_RANK; ++d) t.shape[d] = shape[d];
  t.data = const_cast<void*>(data);  // inputs are only read; see tinyq.h
  t.nbytes = nbytes;
  t.capacity = nbytes;
  return t;
}

tinyq_options tinyq_options_default(void) {
  tinyq_options o;
  std::memset(&o, 0, sizeof o);
  o.threads = 1;
  o.max_model_bytes = tinyq::kDefaultMaxModelBytes;
  return o;
}

tinyq_status tinyq_session_open(const char* registry_path, const char* model_id, const tinyq_options* options,
                                tinyq_session** out) {
  return guarded([&]() -> tinyq_status {
    if (!out) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_open: out is NULL");
    *out = nullptr;
    if (!registry_path || !model_id) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_open: registry_path and model_id must not be NULL");
    tinyq::LoaderOptions lo;
    if (Status st = to_loader_options(options, &lo); !st.is_ok()) return fail(st);
    return open_common(tinyq::open_registered(std::string(registry_path), std::string(model_id), lo), out);
  });
}

tinyq_status tinyq_session_open_file(const char* onnx_path, const tinyq_options* options, tinyq_session** out) {
  return guarded([&]() -> tinyq_status {
    if (!out) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_open_file: out is NULL");
    *out = nullptr;
    if (!onnx_path) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_open_file: onnx_path is NULL");
    tinyq::LoaderOptions lo;
    if (Status st = to_loader_options(options, &lo); !st.is_ok()) return fail(st);
    auto session = tinyq::Session::open(onnx_path, lo.session);
    if (!session.is_ok()) return fail(session.status());
    auto s = std::make_unique<tinyq_session>();
    s->session = std::move(session).value();
    s->file = onnx_path;
    *out = s.release();
    return TINYQ_OK;
  });
}

void tinyq_session_close(tinyq_session* session) { delete session; }

const char* tinyq_session_file(const tinyq_session* s) { return s ? s->file.c_str() : ""; }
const char* tinyq_session_sha256(const tinyq_session* s) { return s ? s->sha256.c_str() : ""; }
int tinyq_session_verified(const tinyq_session* s) { return s && s->verified; }
int tinyq_session_is_int8(const tinyq_session* s) { return s && s->int8; }

size_t tinyq_session_num_inputs(const tinyq_session* s) { return s ? s->session->inputs().size() : 0; }
size_t tinyq_session_num_outputs(const tinyq_session* s) { return s ? s->session->outputs().size() : 0; }

tinyq_status tinyq_session_input_info(const tinyq_session* s, size_t index, const char** name, tinyq_dtype* dtype, size_t* rank,
                                      int64_t shape[TINYQ_MAX_RANK]) {
  if (!s) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_input_info: session is NULL");
  return spec_info(s->session->inputs(), "input", index, name, dtype, rank, shape);
}

tinyq_status tinyq_session_output_info(const tinyq_session* s, size_t index, const char** name, tinyq_dtype* dtype, size_t* rank,
                                       int64_t shape[TINYQ_MAX_RANK]) {
  if (!s) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_output_info: session is NULL");
  return spec_info(s->session->outputs(), "output", index, name, dtype, rank, shape);
}

tinyq_status tinyq_session_run(tinyq_session* s, const tinyq_tensor* inputs, size_t n_inputs, tinyq_tensor* outputs,
                               size_t n_outputs) {
  return guarded([&]() -> tinyq_status {
    if (!s) return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_run: session is NULL");
    const auto& in_specs = s->session->inputs();
    const auto& out_specs = s->session->outputs();
    if (n_inputs != in_specs.size() || (n_inputs && !inputs))
      return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_run: the model has " + std::to_string(in_specs.size()) + " inputs, " +
                                              std::to_string(n_inputs) + " given");
    if (n_outputs != out_specs.size() || (n_outputs && !outputs))
      return fail(TINYQ_INVALID_ARGUMENT, "tinyq_session_run: the model has " + std::to_string(out_specs.size()) + " outputs, " +
                                              std::to_string(n_outputs) + " given");
    std::vector<tinyq::TensorView> views(n_inputs);
    for (size_t i = 0; i < n_inputs; ++i)
      if (Status st = view_input(inputs[i], in_specs[i], i, &views[i]); !st.is_ok()) return fail(st);
    auto produced = s->session->allocate_outputs(views);
    if (!produced.is_ok()) return fail(produced.status());
    std::string too_small;
    for (size_t i = 0; i < n_outputs; ++i) {
      const tinyq::Tensor& t = (*produced)[i];
      tinyq_tensor& o = outputs[i];
      if (t.shape().size() > TINYQ_MAX_RANK)
        return fail(TINYQ_UNSUPPORTED, "output '" + out_specs[i].name + "' has rank " + std::to_string(t.shape().size()) +
                                           ", over TINYQ_MAX_RANK");
      o.dtype = static_cast<tinyq_dtype>(t.dtype());
      o.rank = t.shape().size();
      for (size_t d = 0; d < o.rank; ++d) o.shape[d] = t.shape()[d];
      o.nbytes = t.nbytes();
      if (too_small.empty() && (o.capacity < o.nbytes || (o.nbytes > 0 && !o.data)))
        too_small = "output " + std::to_string(i) + " ('" + out_specs[i].name + "') needs " + std::to_string(o.nbytes) +
                    " bytes; its buffer has " + std::to_string(o.data ? o.capacity : 0);
    }
    if (!too_small.empty()) return fail(TINYQ_LIMIT, too_small);
    if (Status st = s->session->run_into(views, *produced); !st.is_ok()) return fail(st);
    for (size_t i = 0; i < n_outputs; ++i)
      if (outputs[i].nbytes) std::memcpy(outputs[i].data, (*produced)[i].raw(), outputs[i].nbytes);
    return TINYQ_OK;
  });
}

const char* tinyq_last_error(void) { return g_last_error.c_str(); }

const char* tinyq_status_name(tinyq_status status) { return tinyq::status_code_name(static_cast<tinyq::StatusCode>(status)); }

}  // extern "C"
