#include "quant/row_outputs.h"

#include <cstring>

#include "gate/metrics.h"

namespace tinyq::quant {

Result<std::vector<float>> run_rows_flat(Session& session, const io::NamedArrays& set) {
  std::vector<const Tensor*> arrays;
  for (const auto& spec : session.inputs()) {
    const Tensor* found = nullptr;
    for (const auto& [name, t] : set)
      if (name == spec.name) found = &t;
    if (!found) return Status::not_found("no array for model input '" + spec.name + "'");
    if (found->rank() < 1 || found->dtype() != DType::kFloat32)
      return Status::invalid_argument("array '" + spec.name + "' is not float32 [N, ...]");
    if (!arrays.empty() && found->shape()[0] != arrays[0]->shape()[0])
      return Status::invalid_argument("array '" + spec.name + "' has a different row count");
    arrays.push_back(found);
  }
  const int64_t rows = arrays.empty() ? 0 : arrays[0]->shape()[0];
  std::vector<Tensor> row(arrays.size());
  for (size_t i = 0; i < arrays.size(); ++i) {
    Shape s = arrays[i]->shape();
    s[0] = 1;
    row[i] = Tensor(DType::kFloat32, s);
  }
  std::vector<float> out;
  for (int64_t r = 0; r < rows; ++r) {
    for (size_t i = 0; i < arrays.size(); ++i)
      std::memcpy(row[i].raw(), arrays[i]->data<float>() + r * row[i].numel(), row[i].nbytes());
    auto res = session.run(row);
    if (!res.is_ok()) return res.status().with_context("row " + std::to_string(r));
    for (const Tensor& t : *res) {
      if (t.dtype() != DType::kFloat32) return Status::invalid_argument("row " + std::to_string(r) + ": an output is not float32");
      out.insert(out.end(), t.data<float>(), t.data<float>() + t.numel());
    }
  }
  return out;
}

double plcc_drop(std::span<const float> a, std::span<const float> b) { return 1.0 - gate::plcc(a, b); }

}  // namespace tinyq::quant
