// QLinearMatMul (opsets 10, 21): y = requantize((a - a_zp) x (b - b_zp)) with numpy matmul
// broadcasting; exact int32 accumulation, then int8_ref::requantize with multiplier
// a_scale * b_scale[j] / y_scale (float32). a, b and y are uint8 or int8 (y takes y_zero_point's
// type). Scales and zero points must be known at plan time (they are validated then).
// Quantisation: a and y per tensor; b per tensor or per column ([N]).
// Unsupported: per-row a/y parameters, float8 types, depth K > int8_ref::kMaxExactDepth.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "kernels/int8_ref.h"
#include "kernels/kernel.h"
#include "kernels/linalg_geometry.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

struct QLinearMatMulPlan {
  MatMulGeometry g;
  int32_t a_zp = 0, y_zp = 0;
  std::vector<int32_t> b_zp;       // 1 or N entries
  std::vector<float> multipliers;  // 1 or N entries
};

template <typename TA, typename TB, typename TY>
std::unique_ptr<Kernel> qlinear_matmul_kernel(QLinearMatMulPlan p) {
  const size_t scratch = sizeof(int32_t) * static_cast<size_t>(p.g.m * p.g.n);
  return make_kernel(
      [p = std::move(p)](const KernelArgs& a) {
        constexpr int32_t kMin = std::numeric_limits<TY>::min(), kMax = std::numeric_limits<TY>::max();
        const MatMulGeometry& g = p.g;
        const int64_t mult_stride = p.multipliers.size() > 1 ? 1 : 0;
        const int8_ref::ZeroPoints za{&p.a_zp, 0};
        const int8_ref::ZeroPoints zb{p.b_zp.data(), p.b_zp.size() > 1 ? 1 : 0};
        int32_t* acc = static_cast<int32_t*>(a.scratch);
        TY* y = static_cast<TY*>(a.outputs[0]);
        for (int64_t bi = 0; bi < g.batches(); ++bi) {
          int8_ref::gemm_s32(g.m, g.n, g.k, static_cast<const TA*>(a.inputs[0]) + g.a_offsets[bi], g.k, za,
                             static_cast<const TB*>(a.inputs[3]) + g.b_offsets[bi], g.n, zb, acc, g.n);
          TY* yb = y + bi * g.m * g.n;
          for (int64_t i = 0; i < g.m; ++i)
            for (int64_t j = 0; j < g.n; ++j)
              yb[i * g.n + j] = static_cast<TY>(
                  int8_ref::requantize(acc[i * g.n + j], p.multipliers[j * mult_stride], p.y_zp, kMin, kMax));
        }
      },
      scratch);
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_qlinear_matmul(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({}));
  for (int i = 0; i < 8; ++i)
    if (i != 2 && i != 5 && i != 7 && !ctx.has_input(i))
      return ctx.error("needs inputs a, a_scale, b, b_scale and y_scale (input " + std::to_string(i) + " is missing)");
  if (ctx.num_inputs() > 8) return ctx.error("takes at most 8 inputs");
  const DType ta = ctx.input(0).dtype, tb = ctx.input(3).dtype;
  const DType ty = ctx.has_input(7) ? ctx.input(7).dtype : ta;
  if (!is_quant_type(ta) || !is_quant_type(tb) || !is_quant_type(ty))
    return ctx.unsupported(std::string("a ") + dtype_name(ta) + ", b " + dtype_name(tb) + ", y " + dtype_name(ty) +
                           " (uint8 and int8 are supported)");
  QLinearMatMulPlan p;
  TINYQ_ASSIGN_OR_RETURN(p.g, read_matmul_geometry(ctx, ctx.input(0).shape, ctx.input(3).shape));
  TINYQ_RETURN_IF_ERROR(int8_ref::check_depth(ctx, p.g.k));
  TINYQ_ASSIGN_OR_RETURN(const QuantParams aq, read_quant_params(ctx, "a", 1, 2, ta, ctx.input(0).shape, -1));
  TINYQ_ASSIGN_OR_RETURN(const QuantParams bq, read_quant_params(ctx, "b", 4, 5, tb, ctx.input(3).shape, -1));
  TINYQ_ASSIGN_OR_RETURN(const QuantParams yq, read_quant_params(ctx, "y", 6, 7, ty, p.g.out_shape, -1));
  if (aq.per_axis() || yq.per_axis())
    return ctx.unsupported("per-row a or y quantisation (only b may be quantised per column)");
  if (bq.per_axis() && ctx.input(3).shape.size() < 2) return ctx.error("b_scale must be a scalar for a 1-D b");
  p.a_zp = aq.zero_point(0);
  p.y_zp = yq.zero_point(0);
  p.b_zp = bq.zero_points;
  for (size_t j = 0; j < bq.size(); ++j)
    p.multipliers.push_back(int8_ref::requant_multiplier(aq.scale(0), bq.scale(j), yq.scale(0)));
  ctx.set_output(0, ty, p.g.out_shape);
  if (shape_numel(p.g.out_shape) == 0) return make_kernel([](const KernelArgs&) {});
  return int8_ref::visit_int8_pair(ta, tb, [&](auto a, auto b) {
    using TA = decltype(a);
    using TB = decltype(b);
    return ty == DType::kUInt8 ? qlinear_matmul_kernel<TA, TB, uint8_t>(std::move(p))
                               : qlinear_matmul_kernel<TA, TB, int8_t>(std::move(p));
  });
}

}  // namespace tinyq::kernels
