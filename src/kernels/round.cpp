// Round (opset 11): float32/float64 to the nearest integer, ties to even. std::nearbyint rounds
// in the current mode, which tinyq never changes from the default round-to-nearest-even.
#include <cmath>

#include "kernels/elementwise.h"
#include "kernels/kernel.h"

namespace tinyq::kernels {

Result<std::unique_ptr<Kernel>> make_round(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0) || ctx.num_inputs() > 1) return ctx.error("needs exactly one input");
  const TensorInfo& x = ctx.input(0);
  ctx.set_output(0, x.dtype, x.shape);
  const int64_t n = shape_numel(x.shape);
  return visit_dtype<kFloatTypes>(x.dtype, Result<std::unique_ptr<Kernel>>(unsupported_dtype(ctx, x.dtype)), [&](auto tag) {
    using T = typename decltype(tag)::type;
    return Result<std::unique_ptr<Kernel>>(make_kernel([n](const KernelArgs& a) {
      const T* xv = static_cast<const T*>(a.inputs[0]);
      T* y = static_cast<T*>(a.outputs[0]);
      for (int64_t i = 0; i < n; ++i) y[i] = std::nearbyint(xv[i]);
    }));
  });
}

}  // namespace tinyq::kernels
