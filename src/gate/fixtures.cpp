// Fixture sets: the gate's real inputs, checked against the model before anything runs, so a
// set that does not fit is an error naming the array rather than a failure deep in a kernel.
#include <cmath>
#include <map>

#include "io/npy.h"
#include "tinyq/gate.h"

namespace tinyq {

namespace {

// The gate needs at least two rows: a correlation of one value is undefined.
constexpr int64_t kMinFixtureRows = 2;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Checks one input array against its declared spec: [N, ...] with ... equal to the spec's
// fixed dimensions after the batch one; the batch dimension itself must admit 1.
Status check_input_array(const std::string& where, const TensorSpec& spec, const Tensor& t) {
  if (t.dtype() != DType::kFloat32)
    return Status::invalid_argument(where + " is " + dtype_name(t.dtype()) + ", the model's input '" + spec.name +
                                    "' takes float32");
  if (spec.dtype != DType::kFloat32)
    return Status::unsupported("model input '" + spec.name + "' is " + dtype_name(spec.dtype) +
                               "; the gate feeds float32 fixtures only");
  if (t.rank() == 0) return Status::invalid_argument(where + " is a scalar; expected [N, ...] rows of input '" + spec.name + "'");
  if (spec.has_shape) {
    bool fits = t.rank() == static_cast<int64_t>(spec.dims.size());
    for (size_t d = 1; fits && d < spec.dims.size(); ++d)
      if (spec.dims[d] >= 0 && spec.dims[d] != t.shape()[d]) fits = false;
    if (!fits)
      return Status::invalid_argument(where + " has shape " + shape_str(t.shape()) + ", which does not fit the model's input '" +
                                      spec.name + "' " + spec.shape_string() + " as [N, ...] rows");
    if (!spec.dims.empty() && spec.dims[0] >= 0 && spec.dims[0] != 1)
      return Status::unsupported("model input '" + spec.name + "' " + spec.shape_string() +
                                 " has a fixed batch of " + std::to_string(spec.dims[0]) +
                                 "; the gate feeds one row at a time");
  }
  const float* v = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    if (!std::isfinite(v[i]))
      return Status::invalid_argument(where + " holds a non-finite value (" + std::to_string(v[i]) + ") at flat index " +
                                      std::to_string(i));
  return Status::ok();
}

}  // namespace

const Tensor* FixtureSet::label(std::string_view output) const {
  for (const auto& [name, t] : labels)
    if (name == output) return &t;
  return nullptr;
}

Result<FixtureSet> load_fixtures(const std::string& path, const Session& model) {
  auto read = io::read_npz(path);
  if (!read.is_ok()) return read.status().with_context("fixture set");
  std::map<std::string, Tensor> arrays;
  for (auto& [name, t] : *read) arrays[name] = std::move(t);

  FixtureSet out;
  out.file = path;
  out.rows = -1;
  for (const TensorSpec& spec : model.inputs()) {
    auto it = arrays.find(spec.name);
    if (it == arrays.end()) {
      std::string have;
      for (const auto& [name, t] : arrays) have += (have.empty() ? "" : ", ") + name;
      return Status::invalid_argument("fixture set '" + path + "' has no array for model input '" + spec.name + "' (" +
                                      dtype_name(spec.dtype) + spec.shape_string() + "); arrays: " + (have.empty() ? "none" : have));
    }
    const std::string where = "fixture array " + quoted(spec.name) + " in '" + path + "'";
    TINYQ_RETURN_IF_ERROR(check_input_array(where, spec, it->second));
    int64_t n = it->second.shape()[0];
    if (out.rows >= 0 && n != out.rows)
      return Status::invalid_argument(where + " has " + std::to_string(n) + " rows, '" + out.inputs[0].first + "' has " +
                                      std::to_string(out.rows));
    out.rows = n;
    out.inputs.emplace_back(spec.name, it->second);
  }
  if (out.inputs.empty()) return Status::invalid_argument("model '" + model.name() + "' has no inputs to feed fixtures to");
  if (out.rows < kMinFixtureRows)
    return Status::invalid_argument("fixture set '" + path + "' has " + std::to_string(out.rows) + " row(s); the gate needs at least " +
                                    std::to_string(kMinFixtureRows) + " to correlate");
  for (const TensorSpec& spec : model.outputs())
    if (auto it = arrays.find(spec.name); it != arrays.end()) out.labels.emplace_back(spec.name, it->second);
  return out;
}

}  // namespace tinyq
