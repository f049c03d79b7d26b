#include <cstdio>
#include <cstdlib>
#include <optional>
#include <vector>

#include "fuzz_entries.h"
#include "tinyq/session.h"
#include "util/checked_numel.h"

namespace tinyq::fuzz {

namespace {

// Small enough that a hostile model hits a limit long before the fuzzer's 2 GiB RSS cap or its
// per-input timeout; big enough for every node-test model and the zoo's feature MLPs.
ResourceLimits fuzz_limits() {
  ResourceLimits l;
  l.max_model_bytes = uint64_t{4} << 20;
  l.max_tensor_elements = int64_t{1} << 18;
  l.max_nodes = 2000;
  l.max_session_bytes = uint64_t{64} << 20;
  return l;
}

// The fixed input shape for one declared input: symbolic dimensions at 1, an undeclared shape as
// a vector of one. Nullopt when the declared shape is itself over the limit (nothing to run).
std::optional<Tensor> zero_input(const TensorSpec& spec, int64_t max_elements) {
  if (!dtype_supported(spec.dtype)) return std::nullopt;
  Shape shape{1};
  if (spec.has_shape) {
    shape.clear();
    for (int64_t d : spec.dims) shape.push_back(d >= 0 ? d : 1);
  }
  if (!util::check_tensor_elements(shape, max_elements, spec.name).is_ok()) return std::nullopt;
  return Tensor(spec.dtype, shape);
}

// TINYQ_FUZZ_VERBOSE=1 prints how far each input got, to see what a corpus exercises.
void report(const char* stage, const Status& st) {
  static const bool verbose = std::getenv("TINYQ_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "  %s: %s\n", stage, st.is_ok() ? "ok" : st.to_string().c_str());
}

}  // namespace

int onnx_load(const uint8_t* data, size_t size) {
  SessionOptions options;
  options.limits = fuzz_limits();
  // No base folder: external data is refused rather than read from wherever the bytes point.
  auto session = Session::from_bytes(data, size, "", "fuzz.onnx", options);
  report("open", session.status());
  if (!session.is_ok()) return 0;
  std::vector<Tensor> inputs;
  for (const TensorSpec& spec : (*session)->inputs()) {
    std::optional<Tensor> t = zero_input(spec, options.limits.max_tensor_elements);
    if (!t) return 0;
    inputs.push_back(std::move(*t));
  }
  auto outputs = (*session)->run(inputs);
  report("run", outputs.status());
  return 0;
}

}  // namespace tinyq::fuzz
