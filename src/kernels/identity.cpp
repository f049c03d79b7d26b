// Identity: copies its input. (Graph-level aliasing may remove it; the kernel stays exact.)
#include <cstring>

#include "kernels/kernel.h"

namespace tinyq::kernels {

Result<std::unique_ptr<Kernel>> make_identity(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0)) return ctx.error("needs one input");
  const TensorInfo& x = ctx.input(0);
  if (!dtype_supported(x.dtype)) return ctx.unsupported(std::string("dtype ") + dtype_name(x.dtype));
  ctx.set_output(0, x.dtype, x.shape);
  const size_t bytes = static_cast<size_t>(shape_numel(x.shape)) * dtype_size(x.dtype);
  return make_kernel([bytes](const KernelArgs& a) { std::memcpy(a.outputs[0], a.inputs[0], bytes); });
}

}  // namespace tinyq::kernels
