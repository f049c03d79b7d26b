// Slice: takes [start, end) with a step along chosen axes. Starts/ends/axes are attributes before
// opset 10 and inputs (plus steps) from 10; out-of-range values are clamped as the spec says.
// Planned as a strided copy: a negative step is a negative source stride.
#include <algorithm>
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

struct SliceArgs {
  std::vector<int64_t> starts, ends, axes, steps;
};

Result<SliceArgs> slice_args(PrepareContext& ctx, int64_t rank) {
  SliceArgs s;
  bool has_axes = false;
  if (ctx.opset() < 10) {
    TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"starts", "ends", "axes"}));
    if (!ctx.has_attr("starts") || !ctx.has_attr("ends")) return ctx.error("attributes 'starts' and 'ends' are required");
    s.starts = ctx.attr_ints("starts");
    s.ends = ctx.attr_ints("ends");
    has_axes = ctx.has_attr("axes");
    s.axes = ctx.attr_ints("axes");
  } else {
    TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
    TINYQ_ASSIGN_OR_RETURN(s.starts, shape::const_ints(ctx, 1, "starts"));
    TINYQ_ASSIGN_OR_RETURN(s.ends, shape::const_ints(ctx, 2, "ends"));
    if (ctx.has_input(3)) {
      has_axes = true;
      TINYQ_ASSIGN_OR_RETURN(s.axes, shape::const_ints(ctx, 3, "axes"));
    }
    if (ctx.has_input(4)) {
      TINYQ_ASSIGN_OR_RETURN(s.steps, shape::const_ints(ctx, 4, "steps"));
    }
  }
  const size_t n = s.starts.size();
  if (s.ends.size() != n)
    return ctx.error("starts has " + std::to_string(n) + " values but ends has " + std::to_string(s.ends.size()));
  if (!has_axes) {
    for (size_t k = 0; k < n; ++k) s.axes.push_back(static_cast<int64_t>(k));
  }
  if (s.axes.size() != n)
    return ctx.error("starts has " + std::to_string(n) + " values but axes has " + std::to_string(s.axes.size()));
  if (s.steps.empty()) s.steps.assign(n, 1);
  if (s.steps.size() != n)
    return ctx.error("starts has " + std::to_string(n) + " values but steps has " + std::to_string(s.steps.size()));
  TINYQ_ASSIGN_OR_RETURN(s.axes, shape::normalize_axes(ctx, s.axes, rank, "axes"));
  return s;
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_slice(PrepareContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  const TensorInfo& x = ctx.input(0);
  TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, x.dtype, "input 0"));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  TINYQ_ASSIGN_OR_RETURN(SliceArgs s, slice_args(ctx, rank));

  const std::vector<int64_t> in_strides = shape::contiguous_strides(x.shape);
  Shape out = x.shape;
  std::vector<int64_t> src_strides = in_strides;
  int64_t base = 0;
  for (size_t k = 0; k < s.axes.size(); ++k) {
    const int64_t axis = s.axes[k];
    const int64_t dim = x.shape[axis];
    const int64_t step = s.steps[k];
    if (step == 0) return ctx.error("steps must not be 0 (axis " + std::to_string(axis) + ")");
    int64_t start = s.starts[k];
    int64_t end = s.ends[k];
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t count = 0;
    if (step > 0) {
      start = std::clamp(start, int64_t{0}, dim);
      end = std::clamp(end, int64_t{0}, dim);
      if (end > start) count = (end - start - 1) / step + 1;
    } else if (dim > 0) {
      start = std::clamp(start, int64_t{0}, dim - 1);
      end = std::clamp(end, int64_t{-1}, dim - 1);
      // -INT64_MIN overflows; any step longer than the dim takes one element anyway.
      const int64_t mag = step == INT64_MIN ? INT64_MAX : -step;
      if (start > end) count = (start - end - 1) / mag + 1;
    }
    out[axis] = count;
    if (count > 0) base += start * in_strides[axis];
    // Huge steps only ever take one element; a zero stride keeps the product from overflowing.
    src_strides[axis] = count > 1 ? in_strides[axis] * step : 0;
  }
  ctx.set_output(0, x.dtype, out);
  if (shape_numel(out) == 0) return make_kernel([](const KernelArgs&) {});
  TINYQ_ASSIGN_OR_RETURN(shape::StridedCopy plan,
                         shape::make_strided_copy(ctx, out, src_strides, base, dtype_size(x.dtype)));
  if (ctx.impl() == KernelImpl::kReference) {
    return make_kernel([plan](const KernelArgs& a) { shape::strided_copy_reference(plan, a.inputs[0], a.outputs[0]); });
  }
  return make_kernel([plan](const KernelArgs& a) { shape::strided_copy_fast(plan, a.inputs[0], a.outputs[0]); });
}

}  // namespace tinyq::kernels
