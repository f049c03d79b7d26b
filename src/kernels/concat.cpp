// Concat: joins inputs along `axis`. Each input contributes one contiguous chunk per outer index
// (the product of the dims before axis), so the kernel is a sequence of memcpy calls.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

Result<std::unique_ptr<Kernel>> make_concat(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"axis"}));
  if (ctx.num_inputs() == 0 || !ctx.has_input(0)) return ctx.error("needs at least one input");
  // Opset 1 made axis optional (default 1); from opset 4 it is required.
  if (ctx.opset() >= 4 && !ctx.has_attr("axis")) return ctx.error("attribute 'axis' is required");
  const TensorInfo& first = ctx.input(0);
  TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, first.dtype, "input 0"));
  const int64_t rank = static_cast<int64_t>(first.shape.size());
  if (rank == 0) return ctx.error("inputs must have rank >= 1");
  TINYQ_ASSIGN_OR_RETURN(int64_t axis, shape::normalize_axis(ctx, ctx.attr_int("axis", 1), rank, "axis"));

  const size_t elem = dtype_size(first.dtype);
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= first.shape[k];
  int64_t inner = 1;
  for (int64_t k = axis + 1; k < rank; ++k) inner *= first.shape[k];
  Shape out = first.shape;
  out[axis] = 0;
  std::vector<size_t> chunk;  // bytes per outer index, per input
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) return ctx.error("input " + std::to_string(i) + " is missing");
    const TensorInfo& x = ctx.input(i);
    if (x.dtype != first.dtype)
      return ctx.error("input " + std::to_string(i) + " has dtype " + dtype_name(x.dtype) + ", input 0 has " +
                       dtype_name(first.dtype));
    bool same = static_cast<int64_t>(x.shape.size()) == rank;
    for (int64_t k = 0; same && k < rank; ++k) same = k == axis || x.shape[k] == first.shape[k];
    if (!same)
      return ctx.error("input " + std::to_string(i) + " has shape " + shape_str(x.shape) +
                       ", which does not match input 0 " + shape_str(first.shape) + " outside axis " +
                       std::to_string(axis));
    out[axis] += x.shape[axis];
    chunk.push_back(static_cast<size_t>(x.shape[axis] * inner) * elem);
  }
  ctx.set_output(0, first.dtype, out);
  return make_kernel([chunk, outer](const KernelArgs& a) {
    auto* dst = static_cast<uint8_t*>(a.outputs[0]);
    for (int64_t o = 0; o < outer; ++o) {
      for (size_t i = 0; i < chunk.size(); ++i) {
        if (chunk[i] == 0) continue;
        std::memcpy(dst, static_cast<const uint8_t*>(a.inputs[i]) + static_cast<size_t>(o) * chunk[i], chunk[i]);
        dst += chunk[i];
      }
    }
  });
}

}  // namespace tinyq::kernels
