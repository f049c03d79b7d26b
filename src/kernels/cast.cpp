// Cast (to = attribute) and CastLike (to = input 1's dtype) between float32, float64, int8, int16,
// int32, int64, uint8, uint16 and bool. Float -> integer truncates toward zero as C++ and ONNX do;
// values outside the target range saturate and NaN becomes 0 (ONNX leaves both undefined), so
// every input has a defined result. One scalar loop serves as both reference and fast kernel: it
// is a plain conversion the compiler vectorises where the types allow.
#include <cstring>
#include <string>

#include "kernels/elementwise.h"

namespace tinyq::kernels {

namespace {

using KernelResult = Result<std::unique_ptr<Kernel>>;
constexpr unsigned kCastTypes = kNumericTypes | kBoolType;

template <typename From, typename To>
void cast_loop(const From* __restrict x, To* __restrict y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = convert_value<To>(x[i]);
}

KernelResult make_cast_to(PrepareContext& ctx, DType to) {
  if (!ctx.has_input(0)) return ctx.error("input 0 is required");
  const TensorInfo& x = ctx.input(0);
  const int64_t n = shape_numel(x.shape);
  const Status bad_from = unsupported_dtype(ctx, x.dtype);
  const Status bad_to = ctx.unsupported(std::string("cast to ") + dtype_name(to) + " is not supported");
  return visit_dtype<kCastTypes>(x.dtype, KernelResult(bad_from), [&](auto from_tag) -> KernelResult {
    using From = typename decltype(from_tag)::type;
    return visit_dtype<kCastTypes>(to, KernelResult(bad_to), [&](auto to_tag) -> KernelResult {
      using To = typename decltype(to_tag)::type;
      ctx.set_output(0, to, x.shape);
      if constexpr (std::is_same_v<From, To>) {
        const size_t bytes = static_cast<size_t>(n) * sizeof(To);
        return make_kernel([bytes](const KernelArgs& a) { std::memcpy(a.outputs[0], a.inputs[0], bytes); });
      } else {
        return make_kernel([n](const KernelArgs& a) {
          cast_loop(static_cast<const From*>(a.inputs[0]), static_cast<To*>(a.outputs[0]), n);
        });
      }
    });
  });
}

}  // namespace

// 'saturate' (opset 19) only affects float8 targets, which are unsupported anyway.
Result<std::unique_ptr<Kernel>> make_cast(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"to", "saturate"}));
  if (!ctx.has_attr("to")) return ctx.error("attribute 'to' is required");
  return make_cast_to(ctx, static_cast<DType>(ctx.attr_int("to", 0)));
}

Result<std::unique_ptr<Kernel>> make_cast_like(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"saturate"}));
  if (!ctx.has_input(1)) return ctx.error("input 1 (target_type) is required");
  return make_cast_to(ctx, ctx.input(1).dtype);
}

}  // namespace tinyq::kernels
