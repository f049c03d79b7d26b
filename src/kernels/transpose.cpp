// Transpose: output dim k is input dim perm[k] (default: reversed dims). Planned as a strided copy
// whose source strides are the input's strides permuted.
#include <string>

#include "kernels/kernel.h"
#include "kernels/shape_helpers.h"

namespace tinyq::kernels {

Result<std::unique_ptr<Kernel>> make_transpose(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"perm"}));
  if (!ctx.has_input(0)) return ctx.error("input 0 (data) is required");
  const TensorInfo& x = ctx.input(0);
  TINYQ_RETURN_IF_ERROR(shape::check_movable_dtype(ctx, x.dtype, "input 0"));
  const int64_t rank = static_cast<int64_t>(x.shape.size());
  std::vector<int64_t> perm = ctx.attr_ints("perm");
  if (!ctx.has_attr("perm")) {
    for (int64_t k = rank; k-- > 0;) perm.push_back(k);
  }
  if (static_cast<int64_t>(perm.size()) != rank)
    return ctx.error("perm " + shape_str(perm) + " does not match input rank " + std::to_string(rank));
  // Rejecting out-of-range and repeated entries is what makes perm a permutation.
  TINYQ_ASSIGN_OR_RETURN(perm, shape::normalize_axes(ctx, perm, rank, "perm"));

  const std::vector<int64_t> in_strides = shape::contiguous_strides(x.shape);
  Shape out(rank);
  std::vector<int64_t> src_strides(rank);
  for (int64_t k = 0; k < rank; ++k) {
    out[k] = x.shape[perm[k]];
    src_strides[k] = in_strides[perm[k]];
  }
  ctx.set_output(0, x.dtype, out);
  TINYQ_ASSIGN_OR_RETURN(shape::StridedCopy plan,
                         shape::make_strided_copy(ctx, out, src_strides, 0, dtype_size(x.dtype)));
  if (ctx.impl() == KernelImpl::kReference) {
    return make_kernel([plan](const KernelArgs& a) { shape::strided_copy_reference(plan, a.inputs[0], a.outputs[0]); });
  }
  return make_kernel([plan](const KernelArgs& a) { shape::strided_copy_fast(plan, a.inputs[0], a.outputs[0]); });
}

}  // namespace tinyq::kernels
