// Reshape, Flatten, Squeeze, Unsqueeze: ops that keep the bytes and change only the shape. Each
// factory works out the new shape at plan time; the kernel is one memcpy.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

namespace {

// Sets output 0 to `shape` with input 0's dtype and returns the byte-copy kernel.
Result<std::unique_ptr<Kernel>> finish_view(PrepareContext& ctx, Shape shape) {
  const TensorInfo& x = ctx.input(0);
  TINYQ_RETURN_IF_ERROR(ctx.check_elements(shape, "output"));  // a hostile shape's product could overflow
  if (shape_numel(shape) != shape_numel(x.shape))
    return ctx.error("cannot reshape " + shape_str(x.shape) + " to " + shape_str(shape));
  ctx.set_output(0, x.dtype, std::move(shape));
  const size_t bytes = static_cast<size_t>(shape_numel(x.shape)) * dtype_size(x.dtype);
  return make_kernel([bytes](const KernelArgs& a) { std::memcpy(a.outputs[0], a.inputs[0], bytes); });
}

Status check_data(const PrepareContext& ctx) {
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  return shape::check_movable_dtype(ctx, ctx.input(0).dtype, "input 0");
}

// The axes of Squeeze/Unsqueeze: an attribute before opset 13, an optional input from 13.
Result<std::vector<int64_t>> axes_arg(PrepareContext& ctx, bool* given) {
  if (ctx.opset() < 13) {
    *given = ctx.has_attr("axes");
    return ctx.attr_ints("axes");
  }
  *given = ctx.has_input(1);
  if (!*given) return std::vector<int64_t>{};
  return shape::const_ints(ctx, 1, "axes");
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_reshape(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.opset() < 5 ? ctx.check_attrs({"shape", "consumed_inputs"})
                                        : ctx.check_attrs({"allowzero"}));
  TINYQ_RETURN_IF_ERROR(check_data(ctx));
  std::vector<int64_t> target;
  if (ctx.opset() < 5) {
    target = ctx.attr_ints("shape");
  } else {
    TINYQ_ASSIGN_OR_RETURN(target, shape::const_ints(ctx, 1, "shape"));
  }
  const bool allow_zero = ctx.opset() >= 14 && ctx.attr_int("allowzero", 0) != 0;
  const Shape& in = ctx.input(0).shape;
  Shape out(target.size());
  int infer = -1;
  int64_t known = 1;
  bool has_zero = false;
  for (size_t k = 0; k < target.size(); ++k) {
    int64_t d = target[k];
    if (d == -1) {
      if (infer >= 0) return ctx.error("shape " + shape_str(target) + " has more than one -1");
      infer = static_cast<int>(k);
      continue;
    }
    if (d < -1) return ctx.error("shape " + shape_str(target) + " has a negative dimension");
    if (d == 0) {
      has_zero = true;
      if (!allow_zero) {
        if (k >= in.size())
          return ctx.error("shape " + shape_str(target) + " copies dimension " + std::to_string(k) +
                           " (0) but the input " + shape_str(in) + " has rank " + std::to_string(in.size()));
        d = in[k];
      }
    }
    out[k] = d;
    if (__builtin_mul_overflow(known, d, &known)) return ctx.check_elements(out, "shape");  // kLimit: overflows int64
  }
  if (infer >= 0) {
    if (allow_zero && has_zero)
      return ctx.error("shape " + shape_str(target) + " has both -1 and 0 with allowzero=1");
    const int64_t total = shape_numel(in);
    if (known == 0 || total % known != 0)
      return ctx.error("cannot reshape " + shape_str(in) + " to " + shape_str(target));
    out[infer] = total / known;
  }
  return finish_view(ctx, std::move(out));
}

Result<std::unique_ptr<Kernel>> make_flatten(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"axis"}));
  TINYQ_RETURN_IF_ERROR(check_data(ctx));
  const Shape& in = ctx.input(0).shape;
  const int64_t rank = static_cast<int64_t>(in.size());
  TINYQ_ASSIGN_OR_RETURN(int64_t axis,
                         shape::normalize_axis(ctx, ctx.attr_int("axis", 1), rank, "axis", /*inclusive=*/true));
  int64_t outer = 1;
  for (int64_t k = 0; k < axis; ++k) outer *= in[k];
  int64_t inner = 1;
  for (int64_t k = axis; k < rank; ++k) inner *= in[k];
  return finish_view(ctx, {outer, inner});
}

Result<std::unique_ptr<Kernel>> make_squeeze(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.opset() < 13 ? ctx.check_attrs({"axes"}) : ctx.check_attrs({}));
  TINYQ_RETURN_IF_ERROR(check_data(ctx));
  const Shape& in = ctx.input(0).shape;
  bool given = false;
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> raw, axes_arg(ctx, &given));
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes,
                         shape::normalize_axes(ctx, raw, static_cast<int64_t>(in.size()), "axes"));
  std::vector<bool> drop(in.size(), false);
  // An empty axes list counts as absent, as in onnxruntime.
  if (axes.empty()) {
    for (size_t k = 0; k < in.size(); ++k) drop[k] = in[k] == 1;
  }
  for (int64_t a : axes) {
    if (in[a] != 1)
      return ctx.error("cannot squeeze axis " + std::to_string(a) + " of shape " + shape_str(in) +
                       ": its size is not 1");
    drop[a] = true;
  }
  Shape out;
  for (size_t k = 0; k < in.size(); ++k)
    if (!drop[k]) out.push_back(in[k]);
  return finish_view(ctx, std::move(out));
}

Result<std::unique_ptr<Kernel>> make_unsqueeze(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.opset() < 13 ? ctx.check_attrs({"axes"}) : ctx.check_attrs({}));
  TINYQ_RETURN_IF_ERROR(check_data(ctx));
  const Shape& in = ctx.input(0).shape;
  bool given = false;
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> raw, axes_arg(ctx, &given));
  if (!given) return ctx.error(ctx.opset() < 13 ? "attribute 'axes' is required" : "input 1 (axes) is required");
  const int64_t out_rank = static_cast<int64_t>(in.size() + raw.size());
  TINYQ_ASSIGN_OR_RETURN(std::vector<int64_t> axes, shape::normalize_axes(ctx, raw, out_rank, "axes"));
  std::vector<bool> inserted(static_cast<size_t>(out_rank), false);
  for (int64_t a : axes) inserted[a] = true;
  Shape out;
  size_t next = 0;
  for (int64_t k = 0; k < out_rank; ++k) out.push_back(inserted[k] ? 1 : in[next++]);
  return finish_view(ctx, std::move(out));
}

}  // namespace tinyq::kernels
