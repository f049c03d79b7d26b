// Shape: the input's dims (optionally a [start, end) slice of them, opset 15) as an int64 vector.
// The values are fixed at plan time, so the kernel only writes them out.
#include <algorithm>
#include <cstring>
#include <string>

#include "kernels/kernel.h"

namespace tinyq::kernels {

Result<std::unique_ptr<Kernel>> make_shape(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.opset() < 15 ? ctx.check_attrs({}) : ctx.check_attrs({"start", "end"}));
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  // Only the shape is read, so any dtype the planner can describe is fine here.
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  // Out-of-range start/end are clamped, not rejected (spec, opset 15).
  auto clamp = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  const int64_t start = clamp(ctx.attr_int("start", 0));
  const int64_t end = clamp(ctx.attr_int("end", rank));
  std::vector<int64_t> dims;
  for (int64_t k = start; k < end; ++k) dims.push_back(in[k]);
  ctx.set_output(0, DType::kInt64, {static_cast<int64_t>(dims.size())});
  ctx.set_outputs_independent_of_input_values();
  return make_kernel([dims](const KernelArgs& a) {
    if (!dims.empty()) std::memcpy(a.outputs[0], dims.data(), dims.size() * sizeof(int64_t));
  });
}

}  // namespace tinyq::kernels
