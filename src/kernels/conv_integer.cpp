// ConvInteger (opset 10): int32 Y = conv(X - x_zero_point, W - w_zero_point) with Conv's
// attributes (group, kernel_shape, strides, dilations, pads, auto_pad); X and W are uint8 or
// int8 in any mix. x_zero_point is a scalar, w_zero_point a scalar or one per output channel
// ([M]); both optional and possibly run-time values. Padding stands for x_zero_point (real 0).
// Accumulation is exact int32. Unsupported: depth C/group * kernel volume > kMaxExactDepth.
#include <cstdint>
#include <string>

#include "kernels/int8_ref.h"
#include "kernels/kernel.h"
#include "kernels/linalg_geometry.h"
#include "kernels/quant_params.h"

namespace tinyq::kernels {
namespace {

struct ConvIntegerPlan {
  ConvGeometry g;
  int64_t w_zp_count = 0;  // 0: omitted
  bool has_x_zp = false;
};

template <typename TX, typename TW>
std::unique_ptr<Kernel> conv_integer_kernel(const ConvIntegerPlan& p) {
  const size_t scratch = sizeof(int32_t) * static_cast<size_t>(std::max<int64_t>(p.w_zp_count, 1));
  return make_kernel(
      [p](const KernelArgs& a) {
        const int32_t x_zp = p.has_x_zp ? static_cast<int32_t>(*static_cast<const TX*>(a.inputs[2])) : 0;
        const int8_ref::ZeroPoints w_zp =
            int8_ref::load_zero_points<TW>(p.w_zp_count ? a.inputs[3] : nullptr, p.w_zp_count, static_cast<int32_t*>(a.scratch));
        int8_ref::conv_s32(p.g, static_cast<const TX*>(a.inputs[0]), x_zp, static_cast<const TW*>(a.inputs[1]), w_zp,
                           static_cast<int32_t*>(a.outputs[0]));
      },
      scratch);
}

}  // namespace

Result<std::unique_ptr<Kernel>> make_conv_integer(PrepareContext& ctx) {
  TINYQ_RETURN_IF_ERROR(ctx.check_attrs({"auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"}));
  if (!ctx.has_input(0) || !ctx.has_input(1)) return ctx.error("needs inputs x and w");
  if (ctx.num_inputs() > 4) return ctx.error("takes at most 4 inputs");
  const DType tx = ctx.input(0).dtype, tw = ctx.input(1).dtype;
  if (!is_quant_type(tx) || !is_quant_type(tw))
    return ctx.unsupported(std::string("x ") + dtype_name(tx) + " and w " + dtype_name(tw) +
                           " (uint8 and int8 are supported)");
  ConvIntegerPlan p;
  TINYQ_ASSIGN_OR_RETURN(p.g, read_conv_geometry(ctx, ctx.input(0).shape, ctx.input(1).shape));
  TINYQ_ASSIGN_OR_RETURN(const int64_t x_zp_count, zero_point_input_count(ctx, "x", 2, tx, 0));
  p.has_x_zp = x_zp_count > 0;
  TINYQ_ASSIGN_OR_RETURN(p.w_zp_count, zero_point_input_count(ctx, "w", 3, tw, p.g.c_out));
  TINYQ_RETURN_IF_ERROR(int8_ref::check_depth(ctx, p.g.depth()));
  ctx.set_output(0, DType::kInt32, p.g.out_shape);
  if (shape_numel(p.g.out_shape) == 0) return make_kernel([](const KernelArgs&) {});
  return int8_ref::visit_int8_pair(tx, tw, [&](auto x, auto w) {
    return conv_integer_kernel<decltype(x), decltype(w)>(p);
  });
}

}  // namespace tinyq::kernels
