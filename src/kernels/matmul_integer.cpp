// MatMulInteger (opset 10): int32 Y = (A - a_zero_point) x (B - b_zero_point) with numpy matmul
// broadcasting; A and B are uint8 or int8 in any mix. Zero points are optional and may be run-time
// values (DynamicQuantizeLinear's output): a_zero_point scalar or per row of A ([M]),
// b_zero_point scalar or per column of B ([N]). Accumulation is exact int32 (no saturation).
// Unsupported: N-D (per-batch) zero points, depth K > int8_ref::kMaxExactDepth.
#include <cstdint>
#include <cstring>
#include <string>

#include "kernels/int8_ref.h"
#include "kernels/kernel.h"
#include "kernels/linalg_geometry.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

struct MatMulIntegerPlan {
  MatMulGeometry g;
  int64_t a_zp_count = 0, b_zp_count = 0;  // 0: omitted
  // Scratch: widened zero points of A then of B.
  size_t scratch_entries() const {
    return static_cast<size_t>(std::max<int64_t>(a_zp_count, 1) + std::max<int64_t>(b_zp_count, 1));
  }
};

template <typename TA, typename TB>
std::unique_ptr<Kernel> matmul_integer_kernel(const MatMulIntegerPlan& p) {
  return make_kernel(
      [p](const KernelArgs& a) {
        int32_t* zp = static_cast<int32_t*>(a.scratch);
        const int8_ref::ZeroPoints za = int8_ref::load_zero_points<TA>(p.a_zp_count ? a.inputs[2] : nullptr, p.a_zp_count, zp);
        const int8_ref::ZeroPoints zb =
            int8_ref::load_zero_points<TB>(p.b_zp_count ? a.inputs[3] : nullptr, p.b_zp_count, zp + std::max<int64_t>(p.a_zp_count, 1));
        const TA* av = static_cast<const TA*>(a.inputs[0]);
        const TB* bv = static_cast<const TB*>(a.inputs[1]);
        int32_t* y = static_cast<int32_t*>(a.outputs[0]);
        const MatMulGeometry& g = p.g;
        for (int64_t bi = 0; bi < g.batches(); ++bi)
          int8_ref::gemm_s32(g.m, g.n, g.k, av + g.a_offsets[bi], g.k, za, bv + g.b_offsets[bi], g.n, zb,
                             y + bi * g.m * g.n, g.n);
      },
      sizeof(int32_t) * p.scratch_entries());
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_matmul_integer(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs A and B");
  if (ctx.num_inputs() > 4) return ctx.error("takes at most 4 inputs");
  const DType ta = ctx.input(0).dtype, tb = ctx.input(1).dtype;
  if (!is_quant_type(ta) || !is_quant_type(tb))
    return ctx.unsupported(std::string("A ") + dtype_name(ta) + " and B " + dtype_name(tb) +
                           " (uint8 and int8 are supported)");
  MatMulIntegerPlan p;
  TINYQ_ASSIGN_OR_RETURN(p.g, read_matmul_geometry(ctx, ctx.input(0).shape, ctx.input(1).shape));
  // Per-row / per-column zero points only where A / B has a row / column dimension.
  const bool a_matrix = ctx.input(0).shape.size() >= 2, b_matrix = ctx.input(1).shape.size() >= 2;
  TINYQ_ASSIGN_OR_RETURN(p.a_zp_count, zero_point_input_count(ctx, "a", 2, ta, a_matrix ? p.g.m : 0));
  TINYQ_ASSIGN_OR_RETURN(p.b_zp_count, zero_point_input_count(ctx, "b", 3, tb, b_matrix ? p.g.n : 0));
  TINYQ_RETURN_IF_ERROR(int8_ref::check_depth(ctx, p.g.k));
  ctx.set_output(0, DType::kInt32, p.g.out_shape);
  if (shape_numel(p.g.out_shape) == 0) return make_kernel([](const KernelArgs&) {});
  return int8_ref::visit_int8_pair(ta, tb, [&](auto a, auto b) {
    return matmul_integer_kernel<decltype(a), decltype(b)>(p);
  });
}

}  // namespace tinyq::kernels
